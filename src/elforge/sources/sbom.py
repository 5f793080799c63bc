"""Software bills of materials for imported source packages: CycloneDX 1.6 or SPDX 2.3 JSON.

The SBOM describes the newest import of a package as the store recorded it: the package
(purl ``pkg:rpm/<workspace>/<name>@<version>-<release>?arch=src``), where it came from
(upstream URL and commit, SRPM digest and signing key) and every file of the imported tree
with its hash and origin URL.
"""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from cyclonedx.model import (
    ExternalReference,
    ExternalReferenceType,
    HashAlgorithm,
    HashType,
    Property,
    XsUri,
)
from cyclonedx.model.bom import Bom
from cyclonedx.model.component import Component, ComponentType
from cyclonedx.output.json import JsonV1Dot6
from packageurl import PackageURL

from elforge import __version__
from elforge.errors import ElforgeError
from elforge.sources.model import ImportResult, SourceRecord

_CDX_HASH = {
    "md5": HashAlgorithm.MD5,
    "sha1": HashAlgorithm.SHA_1,
    "sha256": HashAlgorithm.SHA_256,
    "sha512": HashAlgorithm.SHA_512,
}
_SPDX_HASH = {"md5": "MD5", "sha1": "SHA1", "sha256": "SHA256", "sha512": "SHA512"}


class SbomFormat(StrEnum):
    cyclonedx = "cyclonedx"
    spdx = "spdx"


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9.+-]+", "-", text.lower()).strip("-") or "elforge"


def _version_release(result: ImportResult) -> str | None:
    if not result.nvr:
        return None
    return result.nvr.removeprefix(f"{result.package}-")


def package_purl(result: ImportResult, namespace: str) -> PackageURL:
    return PackageURL(
        type="rpm",
        namespace=_slug(namespace),
        name=result.package,
        version=_version_release(result),
        qualifiers={"arch": "src"},
    )


def _is_url(text: str) -> bool:
    return bool(re.match(r"^[a-z][a-z0-9+.-]*://", text))


def _provenance_props(result: ImportResult) -> list[tuple[str, str]]:
    props = [
        ("elforge:upstream:url", result.upstream_url),
        ("elforge:upstream:commit", result.upstream_commit),
        ("elforge:upstream:srpm-sha256", result.srpm_sha256),
        ("elforge:upstream:signing-key", result.signing_key),
        ("elforge:import:branch", result.branch),
        ("elforge:import:layout", result.layout),
        ("elforge:import:tag", result.tag),
        ("elforge:import:mirror-commit", result.mirror_commit),
    ]
    return [(k, v) for k, v in props if v]


def cyclonedx_sbom(result: ImportResult, *, namespace: str) -> str:
    """A CycloneDX 1.6 JSON document for ``result``."""
    root = Component(
        name=result.package,
        version=_version_release(result),
        type=ComponentType.APPLICATION,
        bom_ref=f"srpm:{result.nvr or result.package}",
        purl=package_purl(result, namespace),
        description=f"source package {result.nvr} imported by elforge",
        properties=[Property(name=k, value=v) for k, v in _provenance_props(result)],
        external_references=_vcs_reference(result),
    )
    bom = Bom()
    bom.metadata.component = root
    bom.metadata.timestamp = datetime.now(UTC)
    files = [_cdx_file(rec, i) for i, rec in enumerate(result.sources)]
    for comp in files:
        bom.components.add(comp)
    bom.register_dependency(root, files)
    return JsonV1Dot6(bom).output_as_string(indent=2)


def _vcs_reference(result: ImportResult) -> list[ExternalReference]:
    if result.upstream_commit and _is_url(result.upstream_url):
        return [ExternalReference(type=ExternalReferenceType.VCS, url=XsUri(result.upstream_url),
                                  comment=f"commit {result.upstream_commit}")]  # fmt: skip
    if result.srpm_sha256 and _is_url(result.upstream_url):
        return [ExternalReference(
            type=ExternalReferenceType.DISTRIBUTION, url=XsUri(result.upstream_url),
            hashes=[HashType(alg=HashAlgorithm.SHA_256, content=result.srpm_sha256)],
        )]  # fmt: skip
    return []


def _cdx_file(rec: SourceRecord, index: int) -> Component:
    refs = []
    if _is_url(rec.origin):
        kind = (
            ExternalReferenceType.VCS if rec.kind == "git" else ExternalReferenceType.DISTRIBUTION
        )
        refs.append(ExternalReference(type=kind, url=XsUri(rec.origin)))
    return Component(
        name=rec.file,
        type=ComponentType.FILE,
        bom_ref=f"file-{index}:{rec.file}",
        hashes=[HashType(alg=_CDX_HASH[rec.hashtype], content=rec.hash)],
        external_references=refs,
        properties=[Property(name="elforge:source:kind", value=rec.kind),
                    Property(name="elforge:source:origin", value=rec.origin)],
    )  # fmt: skip


# SPDX 2.3 section 7.7: a download location is a public URL (optionally "vcs+"), with a
# host name; local paths and bare addresses are recorded in the comment instead.
_SPDX_LOCATION = re.compile(
    r"^((git|hg|svn|bzr)\+)?(https?|ftp|sftp|ssh|git|svn)://([^/@\s]+@)?"
    r"[a-z0-9]+([-.][a-z0-9]+)*\.[a-z]{2,5}(:[0-9]{1,5})?(/\S*)?$",
    re.IGNORECASE,
)


def _spdx_location(origin: str, kind: str) -> str:
    location = f"git+{origin}" if kind == "git" and not origin.startswith("git+") else origin
    return location if _SPDX_LOCATION.match(location) else "NOASSERTION"


def spdx_sbom(result: ImportResult, *, namespace: str) -> str:
    """An SPDX 2.3 JSON document for ``result``: the package and one package per file."""
    root_id = "SPDXRef-Package-source"
    root: dict[str, Any] = {
        "SPDXID": root_id,
        "name": result.package,
        "downloadLocation": _spdx_location(
            f"{result.upstream_url}@{result.upstream_commit}"
            if result.upstream_commit
            else result.upstream_url,
            "git" if result.upstream_commit else "srpm",
        ),
        "filesAnalyzed": False,
        "primaryPackagePurpose": "SOURCE",
        "externalRefs": [
            {
                "referenceCategory": "PACKAGE-MANAGER",
                "referenceType": "purl",
                "referenceLocator": package_purl(result, namespace).to_string(),
            }
        ],
        "sourceInfo": "; ".join(f"{k}={v}" for k, v in _provenance_props(result)),
    }
    if version := _version_release(result):
        root["versionInfo"] = version
    if result.srpm_sha256:
        root["checksums"] = [{"algorithm": "SHA256", "checksumValue": result.srpm_sha256}]
    packages = [root]
    relationships = [
        {"spdxElementId": "SPDXRef-DOCUMENT", "relationshipType": "DESCRIBES",
         "relatedSpdxElement": root_id},
    ]  # fmt: skip
    for i, rec in enumerate(result.sources):
        spdx_id = f"SPDXRef-Source-{i}"
        packages.append(
            {
                "SPDXID": spdx_id,
                "name": rec.file,
                "downloadLocation": _spdx_location(rec.origin, rec.kind),
                "filesAnalyzed": False,
                "primaryPackagePurpose": "SOURCE",
                "checksums": [{"algorithm": _SPDX_HASH[rec.hashtype], "checksumValue": rec.hash}],
                "sourceInfo": f"{rec.kind} file, origin {rec.origin}",
            }
        )
        relationships.append(
            {"spdxElementId": root_id, "relationshipType": "CONTAINS",
             "relatedSpdxElement": spdx_id}
        )  # fmt: skip
    doc = {
        "spdxVersion": "SPDX-2.3",
        "dataLicense": "CC0-1.0",
        "SPDXID": "SPDXRef-DOCUMENT",
        "name": f"{result.nvr or result.package} sources",
        "documentNamespace": f"https://elforge.invalid/spdx/{_slug(namespace)}/"
        f"{result.nvr or result.package}-{uuid.uuid4()}",
        "creationInfo": {
            "created": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "creators": [f"Tool: elforge-{__version__}"],
        },
        "packages": packages,
        "relationships": relationships,
    }
    return json.dumps(doc, indent=2) + "\n"


def make_sbom(result: ImportResult, fmt: SbomFormat, *, namespace: str) -> str:
    if result.status == "failed" or not result.nvr:
        raise ElforgeError("no successful import to describe", subject=result.package)
    if fmt is SbomFormat.cyclonedx:
        return cyclonedx_sbom(result, namespace=namespace)
    return spdx_sbom(result, namespace=namespace)
