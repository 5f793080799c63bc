"""YAML alias bombs in configs are refused at once, and no error echoes an unbounded value."""

from __future__ import annotations

import resource
import subprocess
import sys
from pathlib import Path

from helpers import run_cli

ELFORGE = Path(sys.executable).parent / "elforge"

# The billion-laughs shape in 464 bytes: 9 levels of 9 aliases, 9**9 strings once expanded,
# given to a key that echoes its wrong-typed value.
BOMB = "".join(
    [
        "actions:\n  - action: release_suffix\n    expect: 1\n",
        "    reason: {category: other, text: t}\n",
        "    a: &a [lol,lol,lol,lol,lol,lol,lol,lol,lol]\n",
        *(f"    {c}: &{c} [{','.join(['*' + chr(ord(c) - 1)] * 9)}]\n" for c in "bcdefghi"),
        "    suffix: *i\n",
    ]
)


def _limit_memory() -> None:  # pragma: no cover - runs in the child
    resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))


def _run_limited(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([ELFORGE, *args], capture_output=True, text=True, timeout=60,
                          preexec_fn=_limit_memory, check=False)  # fmt: skip


def _tree(tmp_path: Path) -> Path:
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "demo.spec").write_text("Name: demo\nVersion: 1\nRelease: 1\nSummary: d\n")
    return tree


def test_an_alias_bomb_in_a_patch_config_is_refused_quickly(tmp_path: Path) -> None:
    cfg = tmp_path / "demo.yaml"
    cfg.write_text(BOMB)
    assert len(cfg.read_bytes()) < 600
    r = _run_limited("patch", "apply", "--tree", str(_tree(tmp_path)), "--config", str(cfg))
    lines = r.stderr.strip().splitlines()
    assert r.returncode == 1 and len(lines) == 1, r.stderr[:2000]
    assert str(cfg) in lines[0] and "alias" in lines[0] and len(lines[0]) < 400


def test_a_huge_value_is_not_echoed(tmp_path: Path) -> None:
    cfg = tmp_path / "demo.yaml"
    cfg.write_text(
        "actions:\n  - action: release_suffix\n    suffix: .x\n    expect: " + "9" * 100_000 + "x\n"
        "    reason: {category: other, text: t}\n"
    )
    r = run_cli("patch", "apply", "--tree", str(_tree(tmp_path)), "--config", str(cfg))
    errors = [line for line in r.stderr.splitlines() if line.startswith("error")]
    assert r.exit_code == 1 and len(errors) == 1, r.stderr[:2000]
    assert "expect" in errors[0] and len(errors[0]) < 600


def test_an_alias_bomb_in_modules_yaml_is_refused() -> None:
    import pytest

    from elforge.errors import FormatError
    from elforge.rpm.modules import parse_modules_yaml

    text = "---\ndocument: modulemd\nversion: 2\ndata:\n  name: &n x\n  stream: *n\n"
    with pytest.raises(FormatError, match="YAML alias at line 6: not allowed"):
        parse_modules_yaml(text, subject="modules.yaml")
