"""Added patches are checked with patch --fuzz=0 against rpmbuild -bp prepped sources."""

from __future__ import annotations

import tarfile
from pathlib import Path

import pytest
from patchkit import config, fixed_date, write_tree  # noqa: F401

from elforge.patching import apply_config
from helpers import require_tool

SPEC = """\
Name:           hello
Version:        1.0
Release:        1%{?dist}
Summary:        hello
License:        MIT
Source0:        hello-1.0.tar.gz
Patch0:         greet.patch

%description
hello

%prep
%autosetup -p1

%build

%install

%files

%changelog
"""
HELLO = 'int main(void)\n{\n    const char *greeting = "hello";\n    return 0;\n}\n'
UPSTREAM_PATCH = """\
--- a/hello.c
+++ b/hello.c
@@ -1,5 +1,5 @@
 int main(void)
 {
-    const char *greeting = "hello";
+    const char *greeting = "hello, world";
     return 0;
 }
"""
GOOD = """\
--- a/hello.c
+++ b/hello.c
@@ -2,4 +2,4 @@
 {
     const char *greeting = "hello, world";
-    return 0;
+    return greeting[0] == 'h' ? 0 : 1;
 }
"""
STALE = GOOD.replace('"hello, world"', '"hello"')
R = "reason: {category: bugfix, text: test}"


def _package(tmp_path: Path, with_tarball: bool = True) -> Path:
    tree = write_tree(tmp_path / "hello", {"hello.spec": SPEC, "greet.patch": UPSTREAM_PATCH})
    if with_tarball:
        src = write_tree(tmp_path / "src/hello-1.0", {"hello.c": HELLO})
        with tarfile.open(tree / "hello-1.0.tar.gz", "w:gz") as tar:
            tar.add(src, arcname="hello-1.0")
    return tree


def _config(tmp_path: Path, patch: str) -> Path:
    write_tree(tmp_path / "cfg", {"files/vendor.patch": patch})
    return config(
        tmp_path / "cfg/hello.yaml",
        f"actions:\n  - action: add_patch\n    patch: files/vendor.patch\n    {R}\n",
    )


@pytest.mark.system
@pytest.mark.slow
def test_added_patch_applies_on_prepped_sources(tmp_path: Path) -> None:
    require_tool("rpmbuild", "patch")
    tree = _package(tmp_path)
    outcome = apply_config(tree, _config(tmp_path, GOOD))
    assert outcome.status == "patched", outcome.to_json()["diagnostics"]
    assert "Patch1:         vendor.patch\n" in (tree / "hello.spec").read_text()


@pytest.mark.system
@pytest.mark.slow
def test_stale_patch_is_drift_with_nearest_upstream_text(tmp_path: Path) -> None:
    require_tool("rpmbuild", "patch")
    tree = _package(tmp_path)
    outcome = apply_config(tree, _config(tmp_path, STALE))
    assert outcome.status == "drifted"
    (diag,) = outcome.diagnostics
    assert diag.action == "add_patch" and diag.file == "hello.c"
    assert "vendor.patch: hunk #1" in diag.problem and "fuzz 0" in diag.problem
    assert 'const char *greeting = "hello, world";' in diag.nearest
    assert "Patch1" not in (tree / "hello.spec").read_text()  # left at upstream


@pytest.mark.system
def test_apply_check_without_sources_fails_clearly(tmp_path: Path) -> None:
    require_tool("rpmbuild")
    tree = _package(tmp_path, with_tarball=False)
    outcome = apply_config(tree, _config(tmp_path, GOOD))
    assert outcome.status == "failed"
    assert "--no-apply-check" in outcome.diagnostics[0].problem
    assert apply_config(tree, _config(tmp_path, GOOD), apply_check=False).status == "patched"
