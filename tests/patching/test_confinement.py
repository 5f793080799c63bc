"""Every patch action over a tree (and a config folder) full of hostile links: nothing outside
the tree changes, no secret is read into it, and each refusal is one line."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from patchkit import config, demo_spec, fixed_date, write_tree  # noqa: F401 (autouse fixture)

from helpers import run_cli

R = "reason: {category: other, text: test}"
SECRET = "TOP-SECRET-7f3a9c"


def _outside(tmp_path: Path) -> Path:
    out = write_tree(tmp_path / "outside", {
        "secret.txt": SECRET + "\n",
        "victim.txt": "victim CentOS Linux\n",
        "victim.spec": demo_spec(),
        "victimdir/keep.txt": "keep\n",
    })  # fmt: skip
    return out


def _state(root: Path) -> dict[str, tuple[str, bytes]]:
    """Everything under ``root``, links by their target (so a replaced link shows)."""
    found = {}
    for base, dirs, files in os.walk(root):
        for name in dirs + files:
            p = Path(base, name)
            rel = p.relative_to(root).as_posix()
            if p.is_symlink():
                found[rel] = ("link", os.readlink(p).encode())
            elif p.is_file():
                found[rel] = ("file", p.read_bytes())
            else:
                found[rel] = ("dir", b"")
    return found


def _hostile_tree(root: Path, outside: Path) -> Path:
    """A demo package whose tree holds links out: absolute, ../.., a chain, a folder, a secret."""
    write_tree(root, {"demo.spec": demo_spec(), "fix.patch": "x\n", "sources": ""})
    depth = "../" * len(root.relative_to(outside.parent).parts)
    links = {
        "demo.conf": str(outside / "victim.txt"),
        "up.conf": f"{depth}outside/victim.txt",
        "chain1.conf": "chain2.conf",
        "chain2.conf": str(outside / "victim.txt"),
        "docs": str(outside / "victimdir"),
        "leak.txt": str(outside / "secret.txt"),
        ".elforge-lookaside": str(outside / "victimdir"),
    }
    for name, target in links.items():
        os.symlink(target, root / name)
    return root


def _config_dir(root: Path, outside: Path) -> Path:
    write_tree(
        root,
        {"files/ok.txt": "fine\n", "files/ok.patch": "--- a/x\n+++ b/x\n@@ -1 +1 @@\n-a\n+b\n"},
    )
    os.symlink(outside / "secret.txt", root / "files" / "repl.txt")
    os.symlink(outside / "victimdir", root / "files" / "sub")
    return root


LINK_DIFF = """\
diff --git a/evil b/evil
new file mode 120000
index 0000000..1111111
--- /dev/null
+++ b/evil
@@ -0,0 +1 @@
+{target}
\\ No newline at end of file
"""

CASES = {
    "replace-glob": "  - action: replace\n    files: ['*']\n    find: victim\n"
    "    replace: PWNED\n    expect: '>=0'\n",
    "delete-line": "  - action: delete_line\n    files: ['*.conf']\n"
    "    lines: ['victim CentOS Linux']\n"
    "    expect: '>=0'\n",
    "replace-source-inline": "  - action: replace_source\n    file: demo.conf\n"
    "    with_inline: PWNED\n",
    "replace-source-dir": "  - action: replace_source\n    file: docs/keep.txt\n"
    "    with_inline: PWNED\n",
    "replace-source-from-link": "  - action: replace_source\n    file: fix.patch\n"
    "    with_file: files/repl.txt\n",
    "add-source-from-link": "  - action: add_source\n    source: files/repl.txt\n    spec: false\n",
    "add-source-through-config-dir-link": "  - action: add_source\n    source: files/sub/keep.txt\n"
    "    spec: false\n",
    "add-source-onto-link": "  - action: add_source\n    source: files/ok.txt\n"
    "    name: demo.conf\n    spec: false\n",
    "add-patch-onto-link": "  - action: add_patch\n    patch: files/ok.patch\n"
    "    name: leak.txt\n    spec: false\n    strip: 1\n",
    "lookaside-into-link": "  - action: lookaside\n    files: [fix.patch]\n    expect: '>=0'\n",
    "diff-link-out": "  - action: apply_diff\n    diff: files/link.diff\n    expect: '>=0'\n"
    "  - action: replace_source\n    file: evil\n    with_inline: PWNED\n",
    "diff-through-link": "  - action: apply_diff\n    diff: files/through.diff\n"
    "    expect: '>=0'\n",
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_no_action_escapes_the_tree_or_reads_a_secret(tmp_path: Path, case: str) -> None:
    outside = _outside(tmp_path)
    tree = _hostile_tree(tmp_path / "work" / "tree", outside)
    cfg_dir = _config_dir(tmp_path / "cfg", outside)
    (cfg_dir / "files" / "link.diff").write_text(LINK_DIFF.format(target=outside / "victim.txt"))
    (cfg_dir / "files" / "through.diff").write_text(
        "--- a/docs/keep.txt\n+++ b/docs/keep.txt\n@@ -1 +1 @@\n-keep\n+PWNED\n"
    )
    body = "\n".join(f"{line}\n    {R}" if line.startswith("  - ") else line
                     for line in CASES[case].splitlines())  # fmt: skip
    cfg = config(cfg_dir / "demo.yaml", "actions:\n" + body + "\n")
    before = _state(outside)
    r = run_cli("patch", "apply", "--tree", str(tree), "--config", str(cfg),
                "--no-apply-check", "-f", "json")  # fmt: skip
    assert _state(outside) == before, f"{case}: something outside the tree changed"
    for p in tree.rglob("*"):
        if p.is_file() and not p.is_symlink():
            assert SECRET not in p.read_text(errors="replace"), f"{case}: secret copied into {p}"
    errors = [line for line in r.stderr.splitlines() if line.startswith("error:")]
    assert all(len(e) < 400 for e in errors), errors
    assert "rerun with --debug" not in r.stderr and r.exit_code in (0, 1, 4), r.stderr
