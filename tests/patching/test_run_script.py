"""run_script: only with both consents; sandboxed by bubblewrap (no network, tree-only writes)."""

from __future__ import annotations

from pathlib import Path

import pytest
from patchkit import config, demo_spec, fixed_date, snapshot, write_tree  # noqa: F401

from elforge.patching import apply_config
from helpers import require_tool

R = "reason: {category: other, text: test}"


def _setup(tmp_path: Path, script: str) -> tuple[Path, Path]:
    tree = write_tree(tmp_path / "tree", {"demo.spec": demo_spec()})
    write_tree(tmp_path / "cfg", {"scripts/s.sh": script})
    cfg = config(
        tmp_path / "cfg/demo.yaml",
        f"allow_scripts: true\nactions:\n  - action: run_script\n    script: scripts/s.sh\n"
        f"    expect: '>=1'\n    {R}\n",
    )
    return tree, cfg


@pytest.mark.system
def test_script_edits_tree_without_network(tmp_path: Path) -> None:
    require_tool("bwrap")
    script = (
        "set -e\n"
        "ln -s demo.spec link.spec\n"
        "if (exec 3<>/dev/tcp/1.1.1.1/53) 2>/dev/null; then echo online > net.txt;"
        " else echo offline > net.txt; fi\n"
    )
    tree, cfg = _setup(tmp_path, script)
    outcome = apply_config(tree, cfg, allow_scripts=True, apply_check=False)
    assert outcome.status == "patched", outcome.to_json()["diagnostics"]
    assert outcome.actions[0].files == ["link.spec", "net.txt"]
    assert (tree / "net.txt").read_text() == "offline\n"
    assert (tree / "link.spec").is_symlink()


@pytest.mark.system
def test_script_cannot_write_outside_tree(tmp_path: Path) -> None:
    require_tool("bwrap")
    outside = tmp_path / "outside.txt"  # under /tmp: the sandbox has its own empty /tmp
    var_tmp = Path("/var/tmp") / f"elforge-sandbox-{tmp_path.name}"  # read-only there
    tree, cfg = _setup(tmp_path, f"set -e\necho x > {outside}\necho y > {var_tmp}\n")
    before = snapshot(tree)
    outcome = apply_config(tree, cfg, allow_scripts=True, apply_check=False)
    assert outcome.status == "drifted"
    assert "script exited with" in outcome.diagnostics[0].problem
    assert not outside.exists() and not var_tmp.exists()
    assert snapshot(tree) == before
