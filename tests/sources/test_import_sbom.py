"""SBOMs of real imports validate against the CycloneDX 1.6 JSON schema and SPDX 2.3."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator
from importfixtures import Lookaside, exploded_repo, serve, tarball
from spdx_tools.spdx.parser.jsonlikedict.json_like_dict_parser import JsonLikeDictParser
from spdx_tools.spdx.validation.document_validator import validate_full_spdx_document

from elforge.sources.importer import ImportOptions, import_package
from elforge.sources.model import ImportResult, SourceRecord
from elforge.sources.sbom import SbomFormat, make_sbom
from elforge.workspace.config import PackageEntry
from elforge.workspace.workspace import Workspace
from helpers import require_tool, run_cli

pytestmark = [pytest.mark.system, pytest.mark.slow]


@pytest.fixture
def imported(testdata: Path, tmp_path: Path) -> Iterator[tuple[Workspace, str, Lookaside]]:
    require_tool("git", "rpmspec")
    for lookaside in serve(tmp_path):
        h = lookaside.add("bash", "c8", "bash-4.4.tar.gz", tarball("bash-4.4", "x"), "sha512")
        repo, commit = exploded_repo(
            testdata / "distgit/openela-bash-el8", tmp_path / "up", name="bash", branch="c8",
            blobs={"bash-4.4.tar.gz": h},
        )  # fmt: skip
        ws = Workspace.init(tmp_path / "ws")
        entry = PackageEntry(name="bash", url=repo.as_uri(), branch="c8")
        r = import_package(ws, entry, options=ImportOptions(lookaside=tuple(lookaside.templates)))
        assert r.status == "imported", r.error
        yield ws, commit, lookaside


def test_cyclonedx_validates(imported: tuple[Workspace, str, Lookaside], tmp_path: Path) -> None:
    ws, commit, lookaside = imported
    out = tmp_path / "bash.cdx.json"
    r = run_cli("sbom", "bash", "-w", str(ws.root), "-o", str(out))
    assert r.exit_code == 0, r.stderr
    text = out.read_text()
    error = JsonStrictValidator(SchemaVersion.V1_6).validate_str(text)
    assert error is None, error
    doc = json.loads(text)
    root = doc["metadata"]["component"]
    assert root["name"] == "bash" and root["version"] == "4.4.20-4.el9"
    assert root["purl"] == "pkg:rpm/ws/bash@4.4.20-4.el9?arch=src"
    props = {p["name"]: p["value"] for p in root["properties"]}
    assert props["elforge:upstream:commit"] == commit
    assert props["elforge:import:tag"] == "imports/c8/bash-4.4.20-4.el9"
    tar = next(c for c in doc["components"] if c["name"] == "SOURCES/bash-4.4.tar.gz")
    assert tar["hashes"][0]["alg"] == "SHA-512"
    assert tar["externalReferences"][0]["url"].startswith(lookaside.base)
    assert any(c["name"] == "SPECS/bash.spec" for c in doc["components"])
    # every file is a dependency of the source package
    (dep,) = [d for d in doc["dependencies"] if d["ref"] == root["bom-ref"]]
    assert len(dep["dependsOn"]) == len(doc["components"])


def test_spdx_validates(imported: tuple[Workspace, str, Lookaside]) -> None:
    ws, commit, _ = imported
    r = run_cli("sbom", "bash", "--format", "spdx", "-w", str(ws.root))
    assert r.exit_code == 0, r.stderr
    data = json.loads(r.stdout)
    document = JsonLikeDictParser().parse(data)
    messages = validate_full_spdx_document(document)
    assert messages == [], [m.validation_message for m in messages]
    root = data["packages"][0]
    assert root["versionInfo"] == "4.4.20-4.el9"
    # a file:// upstream is no SPDX download location: NOASSERTION, the URL in sourceInfo
    assert root["downloadLocation"] == "NOASSERTION"
    assert f"elforge:upstream:commit={commit}" in root["sourceInfo"]
    assert len(data["relationships"]) == len(data["packages"])


def test_spdx_public_locations_validate() -> None:
    sha = "1" * 40
    url = "https://git.centos.org/rpms/bash.git"
    result = ImportResult(
        "bash", "c9", "imported", url, nvr="bash-5.1.8-6.el9", upstream_commit=sha,
        layout="exploded", tag="imports/c9/bash-5.1.8-6.el9",
        sources=[
            SourceRecord("SOURCES/bash-5.1.tar.gz", "sha256", "2" * 64,
                         "https://git.centos.org/sources/bash/c9/" + "2" * 64),
            SourceRecord("SPECS/bash.spec", "sha256", "3" * 64, f"{url}@{sha}#SPECS/bash.spec",
                         "git"),
            SourceRecord("SOURCES/x.tar.gz", "md5", "4" * 32, "http://127.0.0.1:8080/x"),
        ],
    )  # fmt: skip
    data = json.loads(make_sbom(result, SbomFormat.spdx, namespace="AlmaLinux"))
    assert validate_full_spdx_document(JsonLikeDictParser().parse(data)) == []
    locations = [p["downloadLocation"] for p in data["packages"]]
    assert locations == [
        f"git+{url}@{sha}",
        "https://git.centos.org/sources/bash/c9/" + "2" * 64,
        f"git+{url}@{sha}#SPECS/bash.spec",
        "NOASSERTION",
    ]
    assert data["packages"][0]["externalRefs"][0]["referenceLocator"] == (
        "pkg:rpm/almalinux/bash@5.1.8-6.el9?arch=src"
    )
    cdx = make_sbom(result, SbomFormat.cyclonedx, namespace="AlmaLinux")
    assert JsonStrictValidator(SchemaVersion.V1_6).validate_str(cdx) is None


def test_sbom_of_unknown_package(tmp_path: Path) -> None:
    ws = Workspace.init(tmp_path / "ws")
    r = run_cli("sbom", "nothing", "-w", str(ws.root))
    assert r.exit_code == 1 and "nothing: no successful import recorded" in r.stderr
