"""``rpm info`` and ``rpm extract`` verify digests and, with ``--keyring``, the signature;
librpm's ``rpmkeys --checksig`` is the oracle: whatever it calls BAD, we refuse."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from helpers import TESTDATA, require_tool, run_cli
from helpers.tampered import KEY, SIGNED, altered_rpm

pytestmark = pytest.mark.system


def _oracle(rpm: Path, tmp_path: Path, key: Path | None = None) -> tuple[bool, str]:
    """rpmkeys --checksig with a private key database: (all OK, its report)."""
    require_tool("rpmkeys")
    db = tmp_path / f"rpmdb-{key.name if key else 'empty'}"
    db.mkdir(exist_ok=True)
    if key is not None:
        subprocess.run(["rpmkeys", "--dbpath", str(db), "--import", str(key)], check=True)
    done = subprocess.run(["rpmkeys", "--dbpath", str(db), "--checksig", "-v", str(rpm)],
                          capture_output=True, text=True, check=False)  # fmt: skip
    return done.returncode == 0 and "BAD" not in done.stdout, done.stdout


def _altered(tmp_path: Path, where: str) -> Path:
    return altered_rpm(tmp_path / where, where)


def _one_error(r_stderr: str, rpm: Path, needle: str) -> None:
    errors = [line for line in r_stderr.splitlines() if line.startswith("error")]
    assert len(errors) == 1 and str(rpm) in errors[0] and needle in errors[0], r_stderr


def test_a_header_altered_after_signing_is_refused_with_a_keyring(tmp_path: Path) -> None:
    rpm = _altered(tmp_path, "header")
    ok, report = _oracle(rpm, tmp_path, KEY)
    assert not ok and "Header SHA256 digest: OK" in report, report  # only the signature fails
    r = run_cli("rpm", "info", str(rpm), "--keyring", str(KEY))
    assert r.exit_code == 1
    _one_error(r.stderr, rpm, "signature check failed")
    r = run_cli("rpm", "extract", str(rpm), str(tmp_path / "out"), "--keyring", str(KEY))
    assert r.exit_code == 1
    _one_error(r.stderr, rpm, "signature check failed")
    assert not (tmp_path / "out" / "usr").exists()


def test_an_altered_payload_is_refused_like_rpmkeys_does(tmp_path: Path) -> None:
    rpm = _altered(tmp_path, "payload")
    ok, report = _oracle(rpm, tmp_path)
    assert not ok and "Payload SHA256 digest: BAD" in report, report
    for args in (("info", str(rpm)), ("extract", str(rpm), str(tmp_path / "out"))):
        r = run_cli("rpm", *args)
        assert r.exit_code == 1
        _one_error(r.stderr, rpm, "payload digest mismatch")
    assert not (tmp_path / "out" / "usr").exists()


def test_the_pristine_package_passes_digests_and_its_signature(tmp_path: Path) -> None:
    ok, report = _oracle(SIGNED, tmp_path, KEY)
    assert ok, report
    r = run_cli("rpm", "info", str(SIGNED), "--keyring", str(KEY))
    assert r.exit_code == 0, r.stderr
    r = run_cli("rpm", "extract", str(SIGNED), str(tmp_path / "out"), "--keyring", str(KEY))
    assert r.exit_code == 0, r.stderr


def test_a_signature_by_another_key_is_refused(tmp_path: Path, gnupg_home: Path) -> None:
    require_tool("gpg")
    subprocess.run(["gpg", "--batch", "--passphrase", "", "--quick-gen-key",
                    "Other <other@example.invalid>", "ed25519", "sign", "never"],
                   check=True, capture_output=True)  # fmt: skip
    other = tmp_path / "other.asc"
    other.write_bytes(subprocess.run(["gpg", "--armor", "--export"], check=True,
                                     capture_output=True).stdout)  # fmt: skip
    ok, report = _oracle(SIGNED, tmp_path, other)
    assert not ok, report
    r = run_cli("rpm", "info", str(SIGNED), "--keyring", str(other))
    assert r.exit_code == 1
    _one_error(r.stderr, SIGNED, "signature check failed")
    unsigned = next((TESTDATA / "rpms" / "payload-variants").glob("payload-test-*gzdio*.rpm"))
    copy = shutil.copy(unsigned, tmp_path / unsigned.name)
    r = run_cli("rpm", "info", str(copy), "--keyring", str(KEY))
    assert r.exit_code == 1
    _one_error(r.stderr, Path(copy), "not signed")
