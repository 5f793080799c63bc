"""With a repository key, repomd.xml.asc must verify; gpg --verify is the oracle."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from helpers import TESTDATA, require_tool, run_cli

pytestmark = pytest.mark.system


def _gpg(*args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(["gpg", "--batch", "--no-tty", *args], capture_output=True, check=False)


def _key(name: str, out: Path) -> Path:
    _gpg("--passphrase", "", "--quick-gen-key", f"{name} <{name}@example.invalid>", "ed25519",
         "sign", "never")  # fmt: skip
    out.write_bytes(_gpg("--armor", "--export", f"{name}@example.invalid").stdout)
    return out


@pytest.fixture
def signed_repo(tmp_path: Path, gnupg_home: Path) -> tuple[Path, Path]:
    require_tool("createrepo_c", "gpg")
    repo = tmp_path / "repo"
    repo.mkdir()
    for rpm in sorted((TESTDATA / "rpms" / "payload-variants").glob("payload-test-*.rpm"))[:2]:
        shutil.copy(rpm, repo)
    subprocess.run(["createrepo_c", "-q", str(repo)], check=True)
    key = _key("repo", tmp_path / "repo-key.asc")
    repomd = repo / "repodata" / "repomd.xml"
    done = _gpg("--local-user", "repo@example.invalid", "--armor", "--detach-sign", str(repomd))
    assert done.returncode == 0, done.stderr
    return repo, key


def _diff(repo: Path, key: Path) -> tuple[int, list[str]]:
    r = run_cli("repo", "diff", str(repo), str(repo), "--reference-key", str(key),
                "--candidate-key", str(key))  # fmt: skip
    return r.exit_code, [line for line in r.stderr.splitlines() if line.startswith("error")]


def test_a_signed_repository_verifies(signed_repo: tuple[Path, Path]) -> None:
    repo, key = signed_repo
    repomd = repo / "repodata" / "repomd.xml"
    assert _gpg("--verify", f"{repomd}.asc", str(repomd)).returncode == 0  # oracle
    code, errors = _diff(repo, key)
    assert code == 0, errors


def test_a_changed_repomd_is_refused(signed_repo: tuple[Path, Path]) -> None:
    repo, key = signed_repo
    repomd = repo / "repodata" / "repomd.xml"
    repomd.write_text(repomd.read_text().replace("<revision>", "<revision>9"))
    assert _gpg("--verify", f"{repomd}.asc", str(repomd)).returncode != 0  # oracle
    code, errors = _diff(repo, key)
    assert code == 1 and len(errors) == 1 and "signature check failed: BADSIG" in errors[0]


def test_a_missing_signature_or_another_key_is_refused(
    signed_repo: tuple[Path, Path], tmp_path: Path
) -> None:
    repo, _key_file = signed_repo
    other = _key("other", tmp_path / "other-key.asc")
    code, errors = _diff(repo, other)
    assert code == 1 and len(errors) == 1 and "signature check failed" in errors[0]
    (repo / "repodata" / "repomd.xml.asc").unlink()
    code, errors = _diff(repo, _key_file)
    assert code == 1 and len(errors) == 1 and "no repomd.xml.asc" in errors[0]


def _repo_commands(repo: Path, key: Path, cache: Path) -> dict[str, list[str]]:
    """Every other command that reads a repository's metadata, given a repository key."""
    rpm = next(repo.glob("*.rpm"))
    return {
        "closure": ["repo", "closure", str(repo), "--key", str(key)],
        "install-check": ["repo", "install-check", str(rpm), "--against", str(repo),
                          "--key", str(key)],
        "abi compare": ["abi", "compare", "--reference", str(repo), "--candidate", str(repo),
                        "--reference-key", str(key), "--candidate-key", str(key), "-j", "1",
                        "--cache-dir", str(cache)],
    }  # fmt: skip


def test_every_repository_reader_checks_repomd_with_a_key(
    signed_repo: tuple[Path, Path], tmp_path: Path
) -> None:
    repo, key = signed_repo
    for name, args in _repo_commands(repo, key, tmp_path / "cache").items():
        r = run_cli(*args)
        assert not [ln for ln in r.stderr.splitlines() if ln.startswith("error")], (name, r)
    repomd = repo / "repodata" / "repomd.xml"
    repomd.write_text(repomd.read_text().replace("<revision>", "<revision>9"))
    assert _gpg("--verify", f"{repomd}.asc", str(repomd)).returncode != 0  # oracle
    for name, args in _repo_commands(repo, key, tmp_path / "cache").items():
        r = run_cli(*args)
        errors = [ln for ln in r.stderr.splitlines() if ln.startswith("error")]
        assert r.exit_code == 1 and len(errors) == 1, (name, r)
        assert "signature check failed: BADSIG" in errors[0], (name, errors)
