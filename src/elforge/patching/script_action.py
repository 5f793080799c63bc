"""run_script: a config's script, only when both the config and the command line allow it,
run under bubblewrap with no network and only the package tree writable."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

from elforge.errors import ConfigError, ToolError
from elforge.patching.config import RunScript
from elforge.patching.context import ActionContext, Drift, Step
from elforge.proc import run_command


def _snapshot(tree: Path) -> dict[str, str]:
    out = {}
    for p in tree.rglob("*"):
        rel = p.relative_to(tree)
        if rel.parts[0] == ".git" or p.is_dir():
            continue
        data = p.readlink().as_posix().encode() if p.is_symlink() else p.read_bytes()
        out[rel.as_posix()] = hashlib.sha256(data).hexdigest()
    return out


def sandbox_command(script: Path, tree: Path, cwd: Path) -> list[str]:
    """bwrap: the whole system read-only, a private /tmp, the tree writable, no network."""
    return [
        "bwrap",
        "--ro-bind", "/", "/",
        "--dev", "/dev",
        "--proc", "/proc",
        "--tmpfs", "/tmp",
        "--ro-bind", str(script), str(script),
        "--bind", str(tree), str(tree),
        "--unshare-all",
        "--die-with-parent",
        "--new-session",
        "--clearenv",
        "--setenv", "PATH", "/usr/sbin:/usr/bin:/sbin:/bin",
        "--setenv", "HOME", str(tree),
        "--setenv", "LC_ALL", "C.UTF-8",
        "--chdir", str(cwd),
        "bash", str(script),
    ]  # fmt: skip


def run_script(action: RunScript, ctx: ActionContext) -> Step:
    if not ctx.config_allows_scripts:
        raise ConfigError(
            f"run_script '{action.script}' refused: the config does not set allow_scripts"
        )
    if not ctx.allow_scripts:
        raise ConfigError(
            f"run_script '{action.script}' refused: pass --allow-scripts to run config scripts"
        )
    if shutil.which("bwrap") is None:
        raise ToolError("bwrap (bubblewrap) is not installed; scripts only run sandboxed")
    script = ctx.config_file(action.script, what="script").resolve()
    tree = ctx.tree.resolve()
    cwd = tree if action.cwd == "tree" else script.parent
    before = _snapshot(tree)
    res = run_command(
        sandbox_command(script, tree, cwd), capture_output=True, text=True, timeout=600, check=False
    )
    if res.returncode != 0:
        tail = (res.stderr or res.stdout).strip().splitlines()[-3:]
        raise Drift(f"script exited with {res.returncode}: {' | '.join(tail)}", file=action.script)
    after = _snapshot(tree)
    changed = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
    return Step(changed=len(changed), files=changed)
