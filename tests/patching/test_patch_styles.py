"""add_patch and remove_patch in every patch-apply style a spec can use."""

from __future__ import annotations

from pathlib import Path

import pytest
from patchkit import config, demo_spec, fixed_date, write_tree  # noqa: F401 (autouse fixture)

from elforge.patching import apply_config

NEW = "--- a/demo.c\n+++ b/demo.c\n@@ -1 +1 @@\n-old\n+new\n"
R = "reason: {category: bugfix, text: test}"

# (style, Patch tags, %prep, expected tags after, expected %prep after)
STYLES = [
    (
        "patchN",
        "Patch0:         fix.patch\n",
        "%prep\n%setup -q\n%patch0 -p1\n",
        "Patch0:         fix.patch\nPatch1:         new.patch\n",
        "%prep\n%setup -q\n%patch0 -p1\n%patch1 -p1\n",
    ),
    (
        "patch-P",
        "Patch0:         fix.patch\n",
        "%prep\n%setup -q\n%patch -P 0 -p1\n",
        "Patch0:         fix.patch\nPatch1:         new.patch\n",
        "%prep\n%setup -q\n%patch -P 0 -p1\n%patch -P 1 -p1\n",
    ),
    (
        "patch-bare-number",
        "Patch0:         fix.patch\n",
        "%prep\n%setup -q\n%patch 0 -p1\n",
        "Patch0:         fix.patch\nPatch1:         new.patch\n",
        "%prep\n%setup -q\n%patch 0 -p1\n%patch 1 -p1\n",
    ),
    (
        "autosetup",
        "Patch0:         fix.patch\n",
        "%prep\n%autosetup -p1\n",
        "Patch0:         fix.patch\nPatch1:         new.patch\n",
        "%prep\n%autosetup -p1\n",
    ),
    (
        "autopatch",
        "Patch0:         fix.patch\n",
        "%prep\n%setup -q\n%autopatch -p1\n",
        "Patch0:         fix.patch\nPatch1:         new.patch\n",
        "%prep\n%setup -q\n%autopatch -p1\n",
    ),
    (
        "autosetup-N-without-autopatch",
        "",
        "%prep\n%autosetup -N\n",
        "Source1:        demo.conf\nPatch0:         new.patch\n",
        "%prep\n%autosetup -N\n%patch -P 0 -p1\n",
    ),
    (
        "kernel-ApplyOptionalPatch",
        "Patch999999:    linux-kernel-test.patch\n",
        "%prep\n%setup -q\n  ApplyOptionalPatch linux-kernel-test.patch\n",
        "Patch999999:    linux-kernel-test.patch\nPatch1000000:   new.patch\n",
        "%prep\n%setup -q\n  ApplyOptionalPatch linux-kernel-test.patch\n"
        "  ApplyOptionalPatch new.patch\n",
    ),
    (
        "setup-only",
        "",
        "%prep\n%setup -q\n",
        "Source1:        demo.conf\nPatch0:         new.patch\n",
        "%prep\n%setup -q\n%patch -P 0 -p1\n",
    ),
]


def _spec_parts(tags: str, prep: str) -> str:
    return demo_spec(patches=tags, prep=prep)


@pytest.mark.parametrize(("tags", "prep", "tags_after", "prep_after"), [s[1:] for s in STYLES],
                         ids=[s[0] for s in STYLES])  # fmt: skip
def test_add_patch_wires_in_style(
    tmp_path: Path, tags: str, prep: str, tags_after: str, prep_after: str
) -> None:
    tree = write_tree(tmp_path / "tree", {"demo.spec": _spec_parts(tags, prep), "fix.patch": NEW})
    write_tree(tmp_path / "cfg", {"files/new.patch": NEW})
    cfg = config(
        tmp_path / "cfg/demo.yaml",
        f"actions:\n  - action: add_patch\n    patch: files/new.patch\n    {R}\n",
    )
    outcome = apply_config(tree, cfg, apply_check=False)
    assert outcome.status == "patched", outcome.to_json()
    expected = _spec_parts(tags, prep)
    if tags:
        expected = expected.replace(tags, tags_after, 1)
    else:
        expected = expected.replace("Source1:        demo.conf\n", tags_after, 1)
    expected = expected.replace(prep, prep_after, 1)
    assert (tree / "demo.spec").read_text() == expected
    assert (tree / "new.patch").read_text() == NEW


def test_add_patch_given_number_with_backup(tmp_path: Path) -> None:
    spec = _spec_parts("Patch0:         fix.patch\n", "%prep\n%setup -q\n%patch0 -p1 -b .fix\n")
    tree = write_tree(tmp_path / "tree", {"demo.spec": spec, "fix.patch": NEW})
    write_tree(tmp_path / "cfg", {"files/new.patch": NEW})
    cfg = config(
        tmp_path / "cfg/demo.yaml",
        f"actions:\n  - action: add_patch\n    patch: files/new.patch\n    number: 1000\n"
        f"    backup: .new\n    strip: 0\n    {R}\n",
    )
    assert apply_config(tree, cfg, apply_check=False).status == "patched"
    text = (tree / "demo.spec").read_text()
    assert "Patch0:         fix.patch\nPatch1000:      new.patch\n" in text
    assert "%patch0 -p1 -b .fix\n%patch1000 -p0 -b .new\n" in text


def test_add_patch_prep_bottom(tmp_path: Path) -> None:
    """srpmproc's add_to_prep: the apply line goes at the end of %prep, whatever the style."""
    spec = _spec_parts("Patch0:         fix.patch\n", "%prep\n%setup -q\n%patch0 -p1\necho done\n")
    tree = write_tree(tmp_path / "tree", {"demo.spec": spec, "fix.patch": NEW, "new.patch": NEW})
    cfg = config(
        tmp_path / "cfg/demo.yaml",
        f"actions:\n  - action: add_patch\n    name: new.patch\n    wire: prep-bottom\n"
        f"    strip: 1\n    {R}\n",
    )
    assert apply_config(tree, cfg, apply_check=False).status == "patched"
    assert "%patch0 -p1\necho done\n%patch1 -p1\n\n%description" in (tree / "demo.spec").read_text()


@pytest.mark.parametrize(
    "prep",
    ["%prep\n%setup -q\n%patch0 -p1\n", "%prep\n%setup -q\n%patch -P 0 -p1\n",
     "%prep\n%setup -q\n%patch 0 -p1\n"],
    ids=["patchN", "patch-P", "patch-bare"],
)  # fmt: skip
def test_remove_patch_unwires(tmp_path: Path, prep: str) -> None:
    spec = _spec_parts("Patch0:         fix.patch\n", prep)
    tree = write_tree(tmp_path / "tree", {"demo.spec": spec, "fix.patch": NEW})
    cfg = config(
        tmp_path / "cfg/demo.yaml",
        f"actions:\n  - action: remove_patch\n    file: fix.patch\n    {R}\n",
    )
    assert apply_config(tree, cfg, apply_check=False).status == "patched"
    assert (tree / "demo.spec").read_text() == _spec_parts("", "%prep\n%setup -q\n")
    assert not (tree / "fix.patch").exists()


def test_remove_kernel_patch_unwires(tmp_path: Path) -> None:
    spec = _spec_parts(
        "Patch1:         a.patch\n", "%prep\n%setup -q\nApplyOptionalPatch a.patch\necho ok\n"
    )
    tree = write_tree(tmp_path / "tree", {"demo.spec": spec, "a.patch": NEW})
    cfg = config(
        tmp_path / "cfg/demo.yaml",
        f"actions:\n  - action: remove_patch\n    file: a.patch\n    {R}\n",
    )
    assert apply_config(tree, cfg, apply_check=False).status == "patched"
    assert (tree / "demo.spec").read_text() == _spec_parts("", "%prep\n%setup -q\necho ok\n")
