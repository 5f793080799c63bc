"""docs/exit-codes.md against the real commands: every command has a row, and the codes a few
commands really return (run through the CLI on real inputs) are the documented ones."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from repo_helpers import built_rpms_fixture, createrepo, small_repo_fixture  # noqa: F401

from helpers import ROOT, run_cli

pytestmark = pytest.mark.system
SEC = "security"
UNIVERSAL = {0, 1, 2, 130}  # success, error, usage, aborted: every command


def documented() -> dict[str, set[int]]:
    """command -> the exit codes its row of the table names (plus the universal ones)."""
    rows: dict[str, set[int]] = {}
    for line in (ROOT / "docs/exit-codes.md").read_text(encoding="utf-8").splitlines():
        m = re.match(r"\| `([a-z -]+)` \| (.*) \|$", line)
        if m:
            rows[m.group(1)] = UNIVERSAL | {int(c) for c in re.findall(r"`(\d+)`", m.group(2))}
    return rows


def every_command() -> set[str]:
    import typer

    from elforge.cli.main import app

    group = typer.main.get_command(app)
    out: set[str] = set()
    ctx = typer.Context(group)
    for name in group.list_commands(ctx):  # type: ignore[attr-defined]
        command = group.get_command(ctx, name)  # type: ignore[attr-defined]
        subs = getattr(command, "commands", {})
        out.update(f"{name} {sub}" for sub in subs)
        if not subs or getattr(command, "invoke_without_command", False):
            out.add(name)  # a command, or a group that runs on its own (patch)
    return out


def test_every_command_has_a_row() -> None:
    assert set(documented()) == every_command()


def _check(command: str, args: list[str], expected: int) -> None:
    r = run_cli(*args)
    assert r.exit_code == expected, (args, r.stderr[-500:])
    assert expected in documented()[command], f"{command} exits {expected}: not in the table"


def test_repo_commands_exit_as_documented(
    small_repo: Path, built_rpms: dict[str, Path], tmp_path: Path
) -> None:
    _check("repo closure", ["repo", "closure", str(small_repo), "--no-modules"], 4)
    partial = tmp_path / "partial"
    partial.mkdir()
    for name in ("base-libs", "app", "app-data", "tool"):
        shutil.copy(built_rpms[name], partial)
    createrepo(partial)
    _check("repo closure", ["repo", "closure", str(partial)], 0)
    _check("repo diff", ["repo", "diff", str(small_repo), str(partial)], 8)  # 4 missing
    _check("repo diff", ["repo", "diff", str(partial), str(small_repo)], 0)  # only extras
    needs = str(built_rpms["needs-missing"])
    _check("repo install-check", ["repo", "install-check", needs, "--against", str(partial)], 4)
    app = str(built_rpms["app"])
    _check("repo install-check", ["repo", "install-check", app, "--against", str(partial)], 0)


def test_security_parity_gate(testdata: Path) -> None:
    csaf, alma = testdata / SEC / "redhat-csaf", testdata / SEC / "almalinux-osv/almalinux8"
    args = ["security", "parity", "--rebuild", str(alma), "--reference"]
    _check("security parity", [*args, str(csaf / "rhsa-2023_3821.json")], 0)  # fixed
    _check("security parity", [*args, str(csaf / "rhsa-2024_0811.json")], 8)  # missing


def test_general_codes(tmp_path: Path) -> None:
    _check("vercmp", ["vercmp", "1.0", "2.0"], 0)
    _check("vercmp", ["vercmp", "1.0"], 2)  # usage
    not_rpm = tmp_path / "x.rpm"
    not_rpm.write_bytes(b"not an rpm")
    _check("rpm info", ["rpm", "info", str(not_rpm)], 1)
