"""``elforge publish`` checks what it is given before writing anything: repository names
are names (#17.3), advisories and modules files are parsed (#17.12), and a signing key added
later signs what is already published (#17.12)."""

from __future__ import annotations

import gzip
import json
import shutil
import subprocess
from pathlib import Path

import pytest
from repo_helpers import built_rpms_fixture  # noqa: F401

from elforge.rpm.header import read_header
from elforge.rpm.repodata import Repository
from helpers import require_tool, run_cli

pytestmark = pytest.mark.system
KEY = "elforge publish test <publish@example.org>"


def _tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def _assert_refused(published: tuple[Path, Path], option: str, bad: Path) -> None:
    """Publishing with ``option bad`` is one error line naming ``bad``; nothing changes."""
    src, dest = published
    before = _tree(dest.parent)
    r = run_cli("publish", str(src), str(dest), option, str(bad))
    assert r.exit_code == 1, bad
    assert len(r.stderr.strip().splitlines()) == 1 and str(bad) in r.stderr, r.stderr
    assert _tree(dest.parent) == before


@pytest.fixture(name="published")
def published_fixture(tmp_path: Path, built_rpms: dict[str, Path]) -> tuple[Path, Path]:
    """A folder of two RPMs, published once into DEST (which then holds them)."""
    src = tmp_path / "rpms"
    src.mkdir()
    for name in ("base-libs", "tool"):
        shutil.copy(built_rpms[name], src)
    dest = tmp_path / "dest"
    r = run_cli("publish", str(src), str(dest))
    assert r.exit_code == 0, r.stderr
    return src, dest


@pytest.mark.parametrize("name", ["../../x", "ABSOLUTE", "a/b", "..", ".hidden", "x" * 300, "a\nb"])
def test_bad_reference_name_writes_nothing(
    published: tuple[Path, Path], tmp_path: Path, name: str
) -> None:
    src, dest = published
    outside = tmp_path / "outside"
    name = str(outside) if name == "ABSOLUTE" else name
    before = _tree(dest.parent)
    r = run_cli("publish", str(src), str(dest), "--reference", f"{name}={dest}")
    assert r.exit_code == 1
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "is not a name" in lines[0] and "--reference" in lines[0]
    assert len(lines[0]) < 300  # a long name is not echoed whole
    assert _tree(dest.parent) == before  # nothing written, nothing deleted
    assert not outside.exists()


@pytest.mark.parametrize("name", ["../escape", "/abs/repo", "Base/OS"])
def test_bad_layout_name_writes_nothing(
    published: tuple[Path, Path], tmp_path: Path, name: str
) -> None:
    src, dest = published
    layout = tmp_path / "layout.json"
    layout.write_text(json.dumps({name: ["tool"], "BaseOS": ["base-libs"]}))
    before = _tree(dest.parent)
    r = run_cli("publish", str(src), str(dest), "--layout", str(layout))
    assert r.exit_code == 1 and str(layout) in r.stderr and "is not a name" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    assert _tree(dest.parent) == before


def test_bad_layout_name_in_workspace_config(tmp_path: Path, built_rpms: dict[str, Path]) -> None:
    ws = tmp_path / "ws"
    assert run_cli("init", str(ws)).exit_code == 0
    with (ws / "elforge.toml").open("a") as fh:
        fh.write('\n[publish]\nlayout = { "../../outside" = ["tool"] }\n')
    src = tmp_path / "rpms"
    src.mkdir()
    shutil.copy(built_rpms["tool"], src)
    r = run_cli("publish", str(src), "-w", str(ws))
    assert r.exit_code == 1 and "is not a name" in r.stderr
    assert not (tmp_path / "outside").exists() and not (ws / "repos").exists()


def test_good_names_are_accepted(published: tuple[Path, Path], tmp_path: Path) -> None:
    src, _dest = published
    layout = tmp_path / "layout.toml"
    layout.write_text('"Base_OS-9.4+x" = ["tool", "base-libs"]\n')
    r = run_cli("publish", str(src), str(tmp_path / "other"), "--layout", str(layout))
    assert r.exit_code == 0, r.stderr
    assert len(Repository(tmp_path / "other" / "Base_OS-9.4+x").packages()) == 2


def test_truncated_advisories_publish_nothing(
    published: tuple[Path, Path], tmp_path: Path, testdata: Path
) -> None:
    src, dest = published
    good = (testdata / "repodata/updateinfo-samples/updateinfo_01.xml").read_bytes()
    for name, data in (
        ("cut.xml", good[: len(good) // 2]),
        ("cut.xml.gz", gzip.compress(good, mtime=0)[:-40]),
        ("other.xml", b"<repomd/>"),
    ):
        bad = tmp_path / name
        bad.write_bytes(data)
        _assert_refused(published, "--advisories", bad)
        assert Repository(dest).updateinfo_path() is None
    # the whole file publishes, and what dnf reads back is that document
    whole = tmp_path / "whole.xml.gz"
    whole.write_bytes(gzip.compress(good, mtime=0))
    r = run_cli("publish", str(src), str(dest), "--advisories", str(whole))
    assert r.exit_code == 0, r.stderr
    shipped = Repository(dest).updateinfo_path()
    assert shipped is not None and gzip.decompress(shipped.read_bytes()) == good


def test_invalid_modules_publish_nothing(published: tuple[Path, Path], tmp_path: Path) -> None:
    _src, dest = published
    cases = {
        "broken.yaml": "document: modulemd\nversion: 2\ndata: [unclosed\n",
        "wrong.yaml": "document: modulemd\nversion: 2\ndata:\n  name: x\n  version: nan\n",
        "list.yaml": "- just\n- a list\n",
    }
    for name, text in cases.items():
        bad = tmp_path / name
        bad.write_text(text)
        _assert_refused(published, "--modules", bad)
        assert Repository(dest).modules() is None


def test_sign_key_added_later_signs_what_is_published(
    published: tuple[Path, Path], gnupg_home: Path
) -> None:
    require_tool("gpg", "rpmsign")
    subprocess.run(
        ["gpg", "--batch", "--passphrase", "", "--quick-gen-key", KEY, "rsa2048", "sign", "never"],
        check=True,
        capture_output=True,
    )
    src, dest = published
    files = sorted((dest / "Packages").glob("*.rpm"))
    assert files and all(read_header(f).signature_key_id is None for f in files)
    r = run_cli("publish", str(src), str(dest), "--sign-key", KEY, "--format", "json")
    assert r.exit_code == 0, r.stderr
    assert json.loads(r.stdout)["signed"] == len(files)
    assert all(read_header(f).signature_key_id for f in files)
    # the metadata describes the signed files, and repomd.xml carries a detached signature
    repo = Repository(dest)
    assert {repo.fetch_package(p).name for p in repo.packages()} == {f.name for f in files}
    repomd = dest / "repodata" / "repomd.xml"
    proc = subprocess.run(
        ["gpg", "--batch", "--verify", f"{repomd}.asc", str(repomd)],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0 and "Good signature" in proc.stderr, proc.stderr
    again = run_cli("publish", str(src), str(dest), "--sign-key", KEY, "--format", "json")
    doc = json.loads(again.stdout)
    assert doc["signed"] == 0 and doc["repos"][0]["unchanged"]


def test_debuginfo_goes_to_the_debug_tree(tmp_path: Path) -> None:
    """-debuginfo/-debugsource packages are published in debug/ARCH/, as EL lays it out."""
    from repo_helpers import Spec, build_rpm

    src = tmp_path / "rpms"
    src.mkdir()
    for spec in (Spec("tool"), Spec("tool-debuginfo"), Spec("tool-debugsource")):
        shutil.copy(build_rpm(spec, tmp_path / "build"), src)
    dest = tmp_path / "dest"
    r = run_cli("publish", str(src), str(dest), "--format", "json")
    assert r.exit_code == 0, r.stderr
    kinds = {x["name"]: (x["kind"], x["packages"]) for x in json.loads(r.stdout)["repos"]}
    assert kinds == {".": ("binary", 1), "debug/x86_64": ("debug", 2)}
    assert [p.name for p in Repository(dest).packages()] == ["tool"]
    debug = Repository(dest / "debug" / "x86_64")
    assert sorted(p.name for p in debug.packages()) == ["tool-debuginfo", "tool-debugsource"]


def test_a_source_rpm_follows_its_binaries(tmp_path: Path) -> None:
    """An SRPM whose name the layout does not list goes where its binaries went."""
    from repo_helpers import Spec, build_rpm

    from elforge.repo.publish import publish_repo
    from elforge.repo.publish_inputs import PublishInput

    top = tmp_path / "build"
    app = build_rpm(Spec("app"), top)
    other = build_rpm(Spec("other"), top)
    build_rpm(Spec("appsrc"), top)  # writes SPECS/appsrc-1.0-1.spec, built again as an SRPM
    spec = top / "SPECS" / "appsrc-1.0-1.spec"
    subprocess.run(
        ["rpmbuild", "-bs", "--quiet", "--define", f"_topdir {top}", str(spec)],
        check=True,
        capture_output=True,
    )
    srpm = top / "SRPMS" / "appsrc-1.0-1.src.rpm"
    result = publish_repo(
        [
            PublishInput(app, app.name, source="appsrc"),
            PublishInput(other, other.name, source="other"),
            PublishInput(srpm, srpm.name, source="appsrc"),
        ],
        tmp_path / "dest",
        layout={"BaseOS": ["other"], "AppStream": ["app"]},
    )
    assert result.unplaced == []
    placed = Repository(tmp_path / "dest" / "AppStream" / "Source").packages()
    assert [(p.name, p.arch) for p in placed] == [("appsrc", "src")]
    assert not (tmp_path / "dest" / "BaseOS" / "Source").exists()
