"""Every command that writes, run after a real `elforge run` in the order a user runs them,
writes inside its workspace (or the folder it was given) and leaves the upstream alone."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from elforge.engine.example import create_example_workspace
from helpers import TESTDATA, require_tool, run_cli

pytestmark = [pytest.mark.system, pytest.mark.slow]

Snapshot = dict[str, tuple[str, int, int]]


def snapshot(root: Path, skip: Path | None = None) -> Snapshot:
    """Every entry under ``root`` (links not followed): kind, size and mtime."""
    seen: Snapshot = {}
    for folder, dirs, files in os.walk(root):
        here = Path(folder)
        if skip is not None and here == skip:
            dirs[:] = []
            continue
        for name in [*dirs, *files]:
            path = here / name
            st = path.lstat()
            kind = "link" if path.is_symlink() else "dir" if path.is_dir() else "file"
            size = 0 if kind == "dir" else st.st_size
            mtime = 0 if kind == "dir" else st.st_mtime_ns
            seen[str(path.relative_to(root))] = (kind, size, mtime)
    return seen


def test_writing_commands_after_a_real_run_stay_inside_their_roots(tmp_path: Path) -> None:
    require_tool("rpmbuild", "createrepo_c")
    ws = create_example_workspace(tmp_path / "ws")
    outside = tmp_path / "outside"  # a neighbour the commands have no business touching
    outside.mkdir()
    (outside / "secret").write_text("TOP-SECRET\n")
    os.symlink(outside / "secret", outside / "link-to-secret")
    export = ws / "exports"  # where the user asks the export to go: inside the workspace
    csaf = str(TESTDATA / "security" / "redhat-csaf")

    before_outside = snapshot(tmp_path, skip=ws)
    before_upstream = snapshot(ws / "upstream")

    run = run_cli("run", "-w", str(ws), "--format", "json")
    assert run.exit_code == 3, run.stderr  # acme-motd drifts on purpose
    assert json.loads(run.stdout)["publish"]["status"] == "published"
    steps = [
        (("import", "--all", "-w", str(ws)), {0}),
        (("patch", "-w", str(ws)), {4}),  # acme-motd's config drifted
        (("build", "-w", str(ws)), {3}),  # acme-motd is not built (drift)
        (("publish", "-w", str(ws)), {0}),
        (("errata", "generate", "-w", str(ws), "--reference", csaf), {0}),
        (("errata", "export", "-w", str(ws), "--osv", str(export / "osv"),
          "--oval", str(export / "oval.xml")), {0}),
        (("run", "-w", str(ws)), {3}),
    ]  # fmt: skip
    for argv, codes in steps:
        r = run_cli(*argv)
        assert r.exit_code in codes, (argv, r.exit_code, r.stderr)

    assert snapshot(tmp_path, skip=ws) == before_outside, "a command wrote outside the workspace"
    assert snapshot(ws / "upstream") == before_upstream, "the upstream folders are data"
    assert (outside / "secret").read_text() == "TOP-SECRET\n"
    # nothing the commands made inside the workspace points out of it
    for path in ws.rglob("*"):
        if path.is_symlink():
            target = (path.parent / os.readlink(path)).resolve()
            assert target.is_relative_to(ws.resolve()), f"{path} -> {target}"
