"""srpmproc directives beyond the real-tree fixtures: each maps to the documented action."""

from __future__ import annotations

import hashlib
from pathlib import Path

from patchkit import BASE_CONF, config, demo_spec, fixed_date, write_tree  # noqa: F401

from elforge.patching import apply_config
from elforge.patching.srpmproc import load_srpmproc


def _exploded(tmp_path: Path) -> Path:
    return write_tree(
        tmp_path / "tree",
        {
            "SPECS/demo.spec": demo_spec(),
            "SOURCES/demo.conf": BASE_CONF,
            "SOURCES/fix.patch": "x\n",
            ".demo.metadata": f"{'ab' * 32} SOURCES/demo-1.0.tar.gz\n",
        },
    )


def test_translation_order_and_mapping(tmp_path: Path) -> None:
    config(
        tmp_path / "repo/PATCHES/x.cfg",
        """
        spec_change {
          changelog { author_name: "A" author_email: "a@example.invalid" message: "m" }
          new_field { key: "Provides" value: "example-demo" }
          append { field: "Summary" value: " (rebuilt)" }
          append { field: "%build" value: "echo vendor" }
          file { name: "fix.patch" type: Patch delete: true }
          search_and_replace { starts_with: true find: "License:" replace: "License: " n: 1 }
        }
        patch { file: "p.diff" }
        add { file: "files/k" name: "KEY" }
        delete { file: "SOURCES/old" }
        replace { file: "demo.conf" with_inline: "x" }
        """,
    )
    actions = load_srpmproc(tmp_path / "repo").actions
    assert [a.action for a in actions] == [
        "replace_source", "remove_source", "add_source", "apply_diff",
        "replace", "remove_patch", "replace", "add_line", "add_tag", "changelog",
    ]  # fmt: skip
    assert actions[0].file == "SOURCES/demo.conf"  # type: ignore[union-attr]
    assert all(a.origin == "srpmproc" for a in actions)


def test_spec_change_effects(tmp_path: Path) -> None:
    tree = _exploded(tmp_path)
    config(
        tmp_path / "repo/PATCHES/x.cfg",
        """
        replace { file: "demo.conf" with_inline: "vendor=Example\\n" }
        spec_change {
          file { name: "fix.patch" type: Patch delete: true }
          search_and_replace { ends_with: true find: "%patch0 -p1" replace: "" n: -1 }
          append { field: "Summary" value: " (rebuilt)" }
          append { field: "%build" value: "echo vendor" }
          new_field { key: "Provides" value: "example-demo" }
        }
        """,
    )
    outcome = apply_config(tree, tmp_path / "repo", apply_check=False)
    assert outcome.status == "patched", outcome.to_json()["diagnostics"]
    spec = (tree / "SPECS/demo.spec").read_text()
    expected = (
        demo_spec()
        .replace("Patch0:         fix.patch\n", "Provides: example-demo\n")
        .replace("%patch0 -p1\n", "\n")
        .replace("by CentOS Linux\n", "by CentOS Linux (rebuilt)\n")
        .replace("%build\necho build\n", "%build\necho build\necho vendor\n")
    )
    assert spec == expected
    assert (tree / "SOURCES/demo.conf").read_text() == "vendor=Example\n"


def test_lookaside_tar_is_deterministic(tmp_path: Path) -> None:
    digests = []
    for run in ("a", "b"):
        tree = _exploded(tmp_path / run)
        write_tree(tree / "SOURCES/extra", {"one.txt": "1\n", "two.txt": "2\n"})
        config(
            tmp_path / run / "repo/PATCHES/x.cfg",
            'lookaside { file: ["extra/one.txt", "extra/two.txt"] tar: true '
            'archive_name: "extra.tar.gz" }\n',
        )
        outcome = apply_config(tree, tmp_path / run / "repo", apply_check=False)
        assert outcome.status == "patched", outcome.to_json()["diagnostics"]
        stored = tree / ".elforge-lookaside/extra.tar.gz"
        digests.append(hashlib.sha256(stored.read_bytes()).hexdigest())
        meta = (tree / ".demo.metadata").read_text().splitlines()
        assert meta[-1] == f"{digests[-1]} SOURCES/extra.tar.gz"
        assert not (tree / "SOURCES/extra/one.txt").exists()
    assert digests[0] == digests[1]
