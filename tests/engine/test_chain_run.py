"""``elforge run`` as a chain build: waves, the buildroot repository, what is not built."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from engine_fixtures import (  # noqa: F401 - fixtures are registered by import
    baseline_fixture,
    example_workspace,
    reference_rpms_fixture,
)

from elforge.workspace.workspace import Workspace
from helpers import run_cli

pytestmark = [pytest.mark.system, pytest.mark.slow]


def _requires(rpm: Path) -> set[str]:
    result = run_cli("rpm", "info", str(rpm), "--format", "json")
    assert result.exit_code == 0, result.stderr
    return {d["name"] for d in json.loads(result.stdout)["packages"][0]["requires"]}


def test_run_builds_the_program_against_both_libraries_of_earlier_waves(
    baseline: tuple[Workspace, dict[str, Any]],
) -> None:
    ws, summary = baseline
    assert summary["plan"]["waves"][2] == ["cheer"]
    rows = {row["name"]: row for row in summary["packages"]}
    assert all(rows[n]["build"] == "built" for n in ("libgreet", "libcheer", "cheer"))
    repo = ws.root / "buildroot"
    assert (repo / "repodata" / "repomd.xml").is_file()
    cheer = repo / "Packages" / "cheer-1.0-1.el9.x86_64.rpm"
    requires = _requires(cheer)
    assert {"libcheer.so.1()(64bit)", "libgreet.so.1()(64bit)"} <= requires
    assert "libgreet.so.1(GREET_1.1)(64bit)" in requires  # greet_shout, from the -devel header
    assert "libgreet.so.1(GREET_1.0)(64bit)" in _requires(
        repo / "Packages" / "libcheer-1.0-1.el9.x86_64.rpm"
    )


def _set_build_key(ws: Path, key: str, value: str) -> None:
    config = ws / "elforge.toml"
    config.write_text(re.sub(rf"(?m)^{key} = .*$", f"{key} = {value}", config.read_text()))


def test_cycles_and_unresolved_are_not_built_and_a_changed_library_rebuilds_its_users(
    reference_rpms: Path, tmp_path: Path
) -> None:
    ws = example_workspace(tmp_path / "ws", reference_rpms)
    _set_build_key(ws.root, "bootstrap", "[]")
    needy = ws.root / "upstream" / "needy"
    needy.mkdir()
    (needy / "needy.spec").write_text(
        "Name: needy\nVersion: 1\nRelease: 1\nSummary: s\nLicense: MIT\nBuildArch: noarch\n"
        "BuildRequires: libtally-devel >= 7\n%description\nd\n%files\n"
    )
    with (ws.root / "elforge.toml").open("a") as fh:
        fh.write('\n[[packages]]\nname = "needy"\nurl = "upstream/needy"\n')
    stages = ("--stages", "import,patch,build")
    first = run_cli("run", "-w", str(ws.root), *stages, "--format", "json")
    assert first.exit_code == 3, first.stderr
    rows = {r["name"]: r for r in json.loads(first.stdout)["packages"]}
    for name in ("acme-docgen", "acme-fmt"):
        assert rows[name]["build"] == "failed"
        assert "acme-docgen <-> acme-fmt" in rows[name]["error"]
    assert rows["needy"]["build"] == "failed" and "libtally-devel >= 7" in rows["needy"]["error"]
    assert all(rows[n]["build"] == "built" for n in ("libgreet", "libcheer", "cheer"))
    # a new libgreet release rebuilds libgreet and what builds against it, nothing else
    spec = ws.root / "upstream" / "libgreet" / "libgreet.spec"
    spec.write_text(spec.read_text().replace("Release:        3%", "Release:        4%"))
    second = run_cli("run", "-w", str(ws.root), *stages, "--format", "json")
    rows = {r["name"]: r for r in json.loads(second.stdout)["packages"]}
    rebuilt = {n for n, r in rows.items() if r["build"] == "built" and "build" not in r["reused"]}
    assert rebuilt == {"libgreet", "libcheer", "cheer"}
    assert rows["libgreet"]["nvr"] == "libgreet-1.2-4.el9"
    third = run_cli("run", "-w", str(ws.root), *stages, "--format", "json")
    assert json.loads(third.stdout)["counts"]["built"] == 0  # nothing changed: all reused
