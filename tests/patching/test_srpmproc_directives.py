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
          file { name: "fix.patch" type: Patch delete: true }
          # elforge-expect: 0..1
          search_and_replace { starts_with: true find: "License:" replace: "License: " n: 1 }
          disable_auto_align: true
        }
        patch { file: "p.diff" }
        add { file: "files/k" name: "KEY" }
        delete { file: "SOURCES/old" }
        replace { file: "demo.conf" with_inline: "x" }
        lookaside { file: ["a.txt"] tar: true archive_name: "bundle" }
        """,
    )
    actions = load_srpmproc(tmp_path / "repo").actions
    assert [a.action for a in actions] == [
        "replace_source", "remove_source", "add_source", "apply_diff", "lookaside",
        "srpmproc_spec_change",
    ]  # fmt: skip
    assert actions[0].file == "SOURCES/demo.conf"  # type: ignore[union-attr]
    assert actions[4].archive_name == "bundle.tar.gz"  # type: ignore[union-attr]
    assert actions[4].keep_files and actions[4].files == ["SOURCES/a.txt"]  # type: ignore[union-attr]
    sc = actions[5]
    assert sc.disable_auto_align  # type: ignore[union-attr]
    assert [(s.identifier, s.n, s.expect) for s in sc.search_and_replace] == [  # type: ignore[union-attr]
        ("starts_with", 1, "0..1")
    ]
    assert [(f.name, f.type, f.mode) for f in sc.file] == [("fix.patch", "Patch", "delete")]  # type: ignore[union-attr]
    assert all(a.origin == "srpmproc" for a in actions)


def test_empty_spec_change_still_aligns(tmp_path: Path) -> None:
    """srpmproc re-aligns every field line whenever spec_change is present, even empty:
    the demo spec is already aligned its way (longest field 7, values at column 17)."""
    config(tmp_path / "repo/PATCHES/x.cfg", "spec_change { }\n")
    tree = _exploded(tmp_path)
    assert apply_config(tree, tmp_path / "repo", apply_check=False).status == "identical"
    spec = tree / "SPECS/demo.spec"
    spec.write_text(demo_spec().replace("Name:           demo", "Name: demo"))
    assert apply_config(tree, tmp_path / "repo", apply_check=False).status == "patched"
    assert spec.read_text() == demo_spec()


def test_lookaside_tar_is_deterministic(tmp_path: Path) -> None:
    digests = []
    for run in ("a", "b"):
        tree = _exploded(tmp_path / run)
        write_tree(tree / "SOURCES/extra", {"one.txt": "1\n", "two.txt": "2\n"})
        config(
            tmp_path / run / "repo/PATCHES/x.cfg",
            'lookaside { file: ["extra/one.txt", "extra/two.txt"] tar: true '
            'archive_name: "extra" }\n',
        )
        outcome = apply_config(tree, tmp_path / run / "repo", apply_check=False)
        assert outcome.status == "patched", outcome.to_json()["diagnostics"]
        stored = tree / ".elforge-lookaside/extra.tar.gz"  # srpmproc adds .tar.gz
        digests.append(hashlib.sha256(stored.read_bytes()).hexdigest())
        meta = (tree / ".demo.metadata").read_text().splitlines()
        assert meta[-1] == f"{digests[-1]} SOURCES/extra.tar.gz"
        assert (tree / "SOURCES/extra/one.txt").exists()  # srpmproc keeps packed files in git
    assert digests[0] == digests[1]


def test_lookaside_from_patch_tree(tmp_path: Path) -> None:
    tree = _exploded(tmp_path)
    config(tmp_path / "repo/PATCHES/x.cfg",
           'lookaside { file: ["blobs/logo.png"] from_patch_tree: true }\n')  # fmt: skip
    write_tree(tmp_path / "repo/blobs", {"logo.png": "PNG\n"})
    outcome = apply_config(tree, tmp_path / "repo", apply_check=False)
    assert outcome.status == "patched", outcome.to_json()["diagnostics"]
    digest = hashlib.sha256(b"PNG\n").hexdigest()
    assert (tree / ".demo.metadata").read_text().splitlines()[-1] == f"{digest} SOURCES/logo.png"
    assert (tree / ".elforge-lookaside/logo.png").read_text() == "PNG\n"


def test_lookaside_blobs_for_replace_and_add(tmp_path: Path) -> None:
    """with_lookaside and add { lookaside } read blobs by digest from the lookaside store
    (the workspace's <hashtype>/<digest> folder), checked against their digest."""
    store = tmp_path / "store"
    blobs = {"conf": b"vendor=Example\n", "key": b"KEY\n"}
    digest = {n: hashlib.sha256(c).hexdigest() for n, c in blobs.items()}
    for name, content in blobs.items():
        write_tree(store / "sha256", {digest[name]: content.decode()})
    config(
        tmp_path / "repo/PATCHES/x.cfg",
        f'replace {{ file: "demo.conf" with_lookaside: "{digest["conf"]}" }}\n'
        f'add {{ lookaside: "{digest["key"]}" name: "RPM-GPG-KEY-example" }}\n',
    )
    tree = _exploded(tmp_path)
    outcome = apply_config(tree, tmp_path / "repo", apply_check=False, lookaside_store=store)
    assert outcome.status == "patched", outcome.to_json()["diagnostics"]
    assert (tree / "SOURCES/demo.conf").read_text() == "vendor=Example\n"
    # the added blob is a lookaside source, as srpmproc keeps it out of git
    meta = (tree / ".demo.metadata").read_text().splitlines()
    assert meta[-1] == f"{digest['key']} SOURCES/RPM-GPG-KEY-example"
    assert not (tree / "SOURCES/RPM-GPG-KEY-example").exists()
    # a damaged store is refused, naming the blob
    (store / "sha256" / digest["conf"]).write_text("tampered\n")
    outcome = apply_config(_exploded(tmp_path / "again"), tmp_path / "repo", apply_check=False,
                           lookaside_store=store)  # fmt: skip
    assert outcome.status == "failed"
    assert "does not match its digest" in outcome.to_json()["diagnostics"][0]["problem"]
