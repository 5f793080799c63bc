"""``elforge patch`` in a workspace finds the workspace's packages as ``elforge run`` does,
and ``patch ledger`` works from a workspace, from ``--packages DIR --configs DIR`` and says
what is wrong when a folder holds no package (#14.5)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from elforge.build.hashing import tree_hash
from elforge.engine.example import create_example_workspace
from helpers import require_tool, run_cli

pytestmark = [pytest.mark.system, pytest.mark.slow]


def test_patch_in_a_workspace_then_ledger(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    require_tool("rpmbuild", "rpmspec")
    ws = create_example_workspace(tmp_path / "ws")
    upstream_hashes = {p.name: tree_hash(p) for p in (ws / "upstream").iterdir()}
    monkeypatch.chdir(ws)
    assert "no patch results recorded" in run_cli("patch", "ledger").stderr
    r = run_cli("patch", "--format", "json")
    assert r.exit_code == 4, r.stderr  # acme-motd's config drifted
    doc = json.loads(r.stdout)
    statuses = {p["package"]: p["status"] for p in doc["packages"]}
    assert statuses == {
        "acme-docgen": "identical",
        "acme-docs": "identical",
        "acme-fmt": "identical",
        "cheer": "identical",
        "libcheer": "identical",
        "acme-motd": "drifted",
        "acme-release": "patched",
        "libgreet": "identical",
        "libtally": "patched",
    }
    patched = {p["package"]: Path(p["tree"]) for p in doc["packages"]}
    assert patched["acme-release"].parent == ws / "trees" / "acme-release"
    assert patched["acme-release"].name.startswith("patched-")
    assert "Forge Linux" in (patched["acme-release"] / "acme-release.spec").read_text()
    # the upstream folders are data: never patched in place
    assert {p.name: tree_hash(p) for p in (ws / "upstream").iterdir()} == upstream_hashes
    # the ledger from what was recorded: the three packages a config changed
    ledger = run_cli("patch", "ledger", "--format", "json")
    assert ledger.exit_code == 0, ledger.stderr
    rows = json.loads(ledger.stdout)["rows"]
    assert {r["package"] for r in rows} == {"acme-motd", "acme-release", "libtally"}
    assert all(r["upstream"] for r in rows)
    # the same from the folders, as documented, with and without --configs
    for extra in (["--configs", str(ws / "patches")], []):
        by_folder = run_cli(
            "patch", "ledger", "--packages", str(ws / "upstream"), *extra, "--format", "json"
        )
        assert by_folder.exit_code == 0, by_folder.stderr
        assert {r["package"] for r in json.loads(by_folder.stdout)["rows"]} == {
            "acme-motd",
            "acme-release",
            "libtally",
        }
    # from another folder, with -w
    monkeypatch.chdir(tmp_path)
    again = run_cli("patch", "-w", str(ws), "--report", "--format", "json")
    assert again.exit_code == 0 and len(json.loads(again.stdout)["packages"]) == 9


def test_ledger_of_a_folder_without_packages_says_so(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    (tmp_path / "configs").mkdir()
    r = run_cli("patch", "ledger", "--packages", str(empty), "--configs", str(tmp_path / "configs"))
    assert r.exit_code == 1
    assert r.stderr.strip() == (
        f"error: {empty}: no package trees here "
        "(expected a folder per package with NAME.spec or SPECS/*.spec)"
    )


def test_patch_outside_a_workspace_says_what_to_give(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    r = run_cli("patch")
    assert r.exit_code == 1 and "no workspace here" in r.stderr and "--packages" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
