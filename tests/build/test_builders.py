"""Builders on real package trees: the bundled example, exploded layout, failures, timeouts."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest

from elforge.build.artifacts import ArtifactStore
from elforge.build.builders import BuildOptions, build_tree, check_builder, find_spec
from elforge.build.hashing import lookaside_hashes, tree_hash
from elforge.engine.example import materialize_upstream
from elforge.errors import FormatError, ToolError
from helpers import require_tool

pytestmark = pytest.mark.system


@pytest.fixture(scope="module")
def upstream(tmp_path_factory: pytest.TempPathFactory) -> Path:
    dest = tmp_path_factory.mktemp("upstream")
    materialize_upstream(dest)
    return dest


def test_distgit_tree_builds_srpm_and_rpms_into_the_artifact_store(
    upstream: Path, tmp_path: Path
) -> None:
    require_tool("rpmbuild")
    store = ArtifactStore(tmp_path / "artifacts")
    result = build_tree(
        "libgreet", upstream / "libgreet", store, tmp_path / "logs", BuildOptions(dist=".el9")
    )
    assert result.status == "built", result.error
    assert result.nvr == "libgreet-1.2-3.el9"
    assert result.srpm is not None and result.srpm.filename == "libgreet-1.2-3.el9.src.rpm"
    names = sorted(r.nevra.rsplit("-", 2)[0] for r in result.rpms)
    assert names == ["greet", "libgreet", "libgreet-devel"]
    for built in [result.srpm, *result.rpms]:
        path = Path(built.path)
        assert path == tmp_path / "artifacts" / "sha256" / built.sha256[:2] / built.sha256
        assert hashlib.sha256(path.read_bytes()).hexdigest() == built.sha256
    assert result.inputs["tree"] == tree_hash(upstream / "libgreet")
    assert result.inputs["macros"]["dist"] == ".el9"
    assert "rpmbuild --rebuild" in result.command
    assert result.buildroot and result.buildroot_note
    assert Path(str(result.log_path)).read_text().count("$ rpmbuild") == 2
    # the input hash is a function of the inputs: same tree and options, same key
    again = build_tree(
        "libgreet", upstream / "libgreet", store, tmp_path / "logs", BuildOptions(dist=".el9")
    )
    assert again.input_hash == result.input_hash
    other = build_tree(
        "libgreet", upstream / "libgreet", store, tmp_path / "logs", BuildOptions(dist=".el9_4")
    )
    assert other.input_hash != result.input_hash and other.nvr == "libgreet-1.2-3.el9_4"


def test_exploded_tree_builds(upstream: Path, tmp_path: Path) -> None:
    require_tool("rpmbuild")
    tree = tmp_path / "acme-docs"
    (tree / "SPECS").mkdir(parents=True)
    (tree / "SOURCES").mkdir()
    shutil.copy(upstream / "acme-docs" / "acme-docs.spec", tree / "SPECS")
    shutil.copy(upstream / "acme-docs" / "acme-docs-1.0.tar.gz", tree / "SOURCES")
    tarball = (tree / "SOURCES" / "acme-docs-1.0.tar.gz").read_bytes()
    sha = hashlib.sha256(tarball).hexdigest()
    (tree / ".acme-docs.metadata").write_text(f"{sha} SOURCES/acme-docs-1.0.tar.gz\n")
    assert find_spec(tree).layout == "exploded"
    result = build_tree(
        "acme-docs",
        tree,
        ArtifactStore(tmp_path / "a"),
        tmp_path / "logs",
        BuildOptions(dist=".el9"),
    )
    assert result.status == "built", result.error
    assert [r.filename for r in result.rpms] == ["acme-docs-1.0-2.el9.noarch.rpm"]
    assert result.inputs["lookaside"] == [
        {"file": "acme-docs-1.0.tar.gz", "hashtype": "sha256", "hash": sha}
    ]


def _write_spec(tree: Path, build_section: str) -> None:
    tree.mkdir(parents=True)
    (tree / "broken.spec").write_text(
        "Name: broken\nVersion: 1\nRelease: 1\nSummary: s\nLicense: MIT\nBuildArch: noarch\n"
        f"%description\nd\n%build\n{build_section}\n%files\n%changelog\n"
    )


def test_failed_build_keeps_its_log_and_does_not_raise(tmp_path: Path) -> None:
    require_tool("rpmbuild")
    _write_spec(tmp_path / "broken", "echo compiler-says-no >&2\nexit 3")
    result = build_tree(
        "broken",
        tmp_path / "broken",
        ArtifactStore(tmp_path / "a"),
        tmp_path / "logs",
        BuildOptions(),
    )
    assert result.status == "failed"
    assert result.error and "rpmbuild failed" in result.error
    assert "compiler-says-no" in Path(str(result.log_path)).read_text()
    assert not (tmp_path / "a" / "sha256").exists() or not any((tmp_path / "a").rglob("*.rpm"))


def test_build_timeout_kills_the_build(tmp_path: Path) -> None:
    require_tool("rpmbuild")
    _write_spec(tmp_path / "slow", "sleep 60")
    result = build_tree(
        "slow",
        tmp_path / "slow",
        ArtifactStore(tmp_path / "a"),
        tmp_path / "logs",
        BuildOptions(timeout=2),
    )
    assert result.status == "failed"
    assert result.error == "timed out after 2 s"
    assert result.duration < 30


def test_arch_is_passed_as_target(upstream: Path, tmp_path: Path) -> None:
    require_tool("rpmbuild")
    result = build_tree(
        "acme-motd",
        upstream / "acme-motd",
        ArtifactStore(tmp_path / "a"),
        tmp_path / "logs",
        BuildOptions(arch="x86_64"),
    )
    assert result.status == "built", result.error
    assert "--target x86_64" in result.command
    assert result.inputs["arch"] == "x86_64"


def test_tree_without_spec_is_a_clear_failure(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(FormatError, match=r"no \.spec file"):
        find_spec(tmp_path / "empty")
    result = build_tree(
        "empty",
        tmp_path / "empty",
        ArtifactStore(tmp_path / "a"),
        tmp_path / "logs",
        BuildOptions(),
    )
    assert result.status == "failed" and "no .spec file" in str(result.error)


def test_mock_requested_but_absent_is_a_tool_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(ToolError, match="mock is not installed"):
        check_builder(BuildOptions(builder="mock", mock_config="fedora-40-x86_64"))


def test_tree_hash_covers_content_and_names_but_not_git(tmp_path: Path) -> None:
    (tmp_path / "t").mkdir()
    (tmp_path / "t" / "a.spec").write_text("x")
    first = tree_hash(tmp_path / "t")
    (tmp_path / "t" / ".git").mkdir()
    (tmp_path / "t" / ".git" / "HEAD").write_text("ref")
    assert tree_hash(tmp_path / "t") == first
    (tmp_path / "t" / "a.spec").write_text("y")
    assert tree_hash(tmp_path / "t") != first


def test_lookaside_hashes_read_both_sources_forms(tmp_path: Path) -> None:
    (tmp_path / "sources").write_text(
        "SHA512 (bash-5.1.tar.gz) = " + "ab" * 64 + "\n" + "0" * 32 + "  old.tar.gz\n"
    )
    assert lookaside_hashes(tmp_path) == [
        {"file": "bash-5.1.tar.gz", "hashtype": "sha512", "hash": "ab" * 64},
        {"file": "old.tar.gz", "hashtype": "md5", "hash": "0" * 32},
    ]


def test_cli_build_tree_json_and_missing_mock(upstream: Path, tmp_path: Path) -> None:
    require_tool("rpmbuild")
    from helpers import run_cli

    result = run_cli(
        "build",
        "--tree",
        str(upstream / "acme-docs"),
        "--tree",
        str(upstream / "acme-motd"),
        "--artifacts",
        str(tmp_path / "art"),
        "--dist",
        ".el9",
        "--format",
        "json",
    )
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["schema"] == "elforge.build/1"
    assert data["counts"] == {"built": 2}
    assert sorted(b["nvr"] for b in data["builds"]) == [
        "acme-docs-1.0-2.el9",
        "acme-motd-9.4-2.el9",
    ]
    result = run_cli(
        "build",
        "--tree",
        str(upstream / "acme-docs"),
        "--builder",
        "mock",
        "--mock-config",
        "fedora-40-x86_64",
    )
    if shutil.which("mock") is None:
        assert result.exit_code == 1 and "mock is not installed" in result.stderr
