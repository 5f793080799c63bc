"""Every command that reads RPMs checks their digests, and with ``--keyring`` their
signatures, before it reads a member: librpm's ``rpmkeys --checksig`` is the oracle."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from helpers import require_tool, run_cli
from helpers.tampered import KEY, SIGNED, altered_rpm

pytestmark = pytest.mark.system


def _commands(rpm: Path, tmp_path: Path) -> dict[str, list[str]]:
    """Each RPM-reading command with ``rpm`` where it takes a package (the pristine package
    on the other side where it compares two)."""
    side = tmp_path / "side"
    side.mkdir(exist_ok=True)
    return {
        "abi diff": ["abi", "diff", str(SIGNED), str(rpm), "--no-cache"],
        "kabi diff": ["kabi", "diff", str(rpm), str(SIGNED)],
        "kabi check": ["kabi", "check", "--kernel", str(SIGNED), "--kmod", str(rpm)],
        "appcheck": ["appcheck", str(rpm), "--against", str(side)],
        "profile create": ["profile", "create", str(rpm.parent), "-o", str(tmp_path / "p.gz")],
        "install-check": ["repo", "install-check", str(rpm), "--against", str(side)],
    }


def _oracle_refuses(rpm: Path, tmp_path: Path, key: Path | None) -> None:
    require_tool("rpmkeys")
    db = tmp_path / "rpmdb"
    db.mkdir(exist_ok=True)
    if key is not None:
        subprocess.run(["rpmkeys", "--dbpath", str(db), "--import", str(key)], check=True)
    done = subprocess.run(["rpmkeys", "--dbpath", str(db), "--checksig", str(rpm)],
                          capture_output=True, text=True, check=False)  # fmt: skip
    assert done.returncode != 0, done.stdout


@pytest.mark.parametrize(("where", "needle"), [("header", "signature check failed"),
                                               ("payload", "payload digest mismatch")])  # fmt: skip
def test_every_rpm_reader_refuses_a_tampered_package(
    tmp_path: Path, where: str, needle: str
) -> None:
    rpm = altered_rpm(tmp_path / "tampered", where)
    key = KEY if where == "header" else None  # a payload edit needs no key to be caught
    _oracle_refuses(rpm, tmp_path, key)
    for name, args in _commands(rpm, tmp_path).items():
        r = run_cli(*args, *(["--keyring", str(key)] if key else []))
        errors = [ln for ln in r.stderr.splitlines() if ln.startswith("error")]
        assert r.exit_code == 1 and len(errors) == 1, (name, r)
        assert str(rpm) in errors[0] and needle in errors[0], (name, errors)


def test_abi_compare_reports_the_tampered_pair_and_goes_on(tmp_path: Path) -> None:
    ref, cand = tmp_path / "ref", tmp_path / "cand"
    ref.mkdir()
    (ref / SIGNED.name).symlink_to(SIGNED)
    rpm = altered_rpm(cand, "header")
    r = run_cli("abi", "compare", "--reference", str(ref), "--candidate", str(cand), "-j", "1",
                "--no-cache", "--keyring", str(KEY), "-f", "json")  # fmt: skip
    assert r.exit_code & 1, r
    errors = [e for p in json.loads(r.stdout)["packages"] for e in p.get("errors", [])]
    assert len(errors) == 1 and str(rpm) in errors[0] and "signature check failed" in errors[0]


def test_the_pristine_signed_package_passes_the_same_checks(tmp_path: Path) -> None:
    r = run_cli("abi", "diff", str(SIGNED), str(SIGNED), "--no-cache", "--keyring", str(KEY))
    assert r.exit_code == 0, r
    r = run_cli("profile", "create", str(SIGNED), "-o", str(tmp_path / "p.gz"),
                "--keyring", str(KEY))  # fmt: skip
    assert r.exit_code == 0, r
