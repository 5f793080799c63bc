"""Added and removed ``symbol@version`` lists are complete: readelf is the oracle.

Every new ``name@version`` an application can bind to is added, whether or not it is an alias
of a symbol the old library already had (libabigail folds some such aliases into their group
and does not list them; elforge lists them and names the aliases only as presentation).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from abi_synthetic import build_lib, build_rpm
from abipkgdiff_oracle import run_abipkgdiff
from readelf_oracle import exported_ids, unpack
from test_abipkgdiff_agreement import _pairs

from elforge.abi.diff import DiffOptions, PackageSet, compare_packages
from elforge.abi.model import EXIT_ABI_CHANGE, EXIT_INCOMPATIBLE
from helpers import TESTDATA, require_tool, run_cli

pytestmark = [pytest.mark.system]

# a libxcrypt 4.1 -> 4.4 in miniature: the new library gains xcrypt@XCRYPT_2.0 and
# xcrypt_r@XCRYPT_2.0 as aliases of crypt/crypt_r (already exported twice each), a new alias
# of a new function, and new functions in new version nodes
_XCRYPT_C = """
static char buf[64];
char *x_crypt(const char *k, const char *s) { (void)k; (void)s; return buf; }
extern __typeof(x_crypt) x_crypt_g __attribute__((alias("x_crypt")));
extern __typeof(x_crypt) x_fcrypt __attribute__((alias("x_crypt")));
__asm__(".symver x_crypt, crypt@@XCRYPT_2.0");
__asm__(".symver x_crypt_g, crypt@GLIBC_2.2.5");
__asm__(".symver x_fcrypt, fcrypt@GLIBC_2.2.5");
char *x_crypt_r(const char *k, const char *s, void *d) { (void)k; (void)s; return d; }
extern __typeof(x_crypt_r) x_crypt_r_g __attribute__((alias("x_crypt_r")));
__asm__(".symver x_crypt_r, crypt_r@@XCRYPT_2.0");
__asm__(".symver x_crypt_r_g, crypt_r@GLIBC_2.2.5");
char *crypt_rn(const char *k, const char *s, void *d, int n)
{ (void)k; (void)s; (void)n; return d; }
#ifdef NEW
extern __typeof(x_crypt) x_xcrypt __attribute__((alias("x_crypt")));
__asm__(".symver x_xcrypt, xcrypt@XCRYPT_2.0");
extern __typeof(x_crypt_r) x_xcrypt_r __attribute__((alias("x_crypt_r")));
__asm__(".symver x_xcrypt_r, xcrypt_r@XCRYPT_2.0");
char *crypt_ra(const char *k, const char *s, void **d, int *n)
{ (void)k; (void)s; (void)n; return *d; }
extern __typeof(crypt_ra) crypt_ra_alias __attribute__((alias("crypt_ra")));
int crypt_checksalt(const char *s) { (void)s; return 0; }
const char *crypt_preferred_method(void) { return "$y$"; }
int crypt_gensalt_count = 3;
#endif
"""
_XCRYPT_MAP = """
GLIBC_2.2.5 { global: crypt; crypt_r; fcrypt; local: *; };
XCRYPT_2.0 { global: crypt; crypt_r; crypt_rn; crypt_ra; crypt_ra_alias; xcrypt; xcrypt_r;
             crypt_gensalt_count; } GLIBC_2.2.5;
XCRYPT_4.3 { global: crypt_checksalt; } XCRYPT_2.0;
XCRYPT_4.4 { global: crypt_preferred_method; } XCRYPT_4.3;
"""
_XCRYPT_ADDED = {
    "xcrypt@XCRYPT_2.0", "xcrypt_r@XCRYPT_2.0", "crypt_ra@@XCRYPT_2.0",
    "crypt_ra_alias@@XCRYPT_2.0", "crypt_gensalt_count@@XCRYPT_2.0",
    "crypt_checksalt@@XCRYPT_4.3", "crypt_preferred_method@@XCRYPT_4.4",
}  # fmt: skip


def _xcrypt_pair(tmp_path: Path) -> tuple[Path, Path]:
    rpms = []
    for tag, version, flags in (("old", "4.1", ()), ("new", "4.4", ("-DNEW",))):
        lib = build_lib(tmp_path / tag, source=_XCRYPT_C, header="", cflags=flags,
                        version_script=_XCRYPT_MAP, soname="libcrypt.so.1")  # fmt: skip
        main, _ = build_rpm(tmp_path / tag, "libxcrypt", version, "1",
                            {"/usr/lib64/libcrypt.so.1": lib},
                            provides=("libcrypt.so.1()(64bit)",))  # fmt: skip
        rpms.append(main)
    return rpms[0], rpms[1]


def test_new_aliases_are_added_as_readelf_shows(tmp_path: Path) -> None:
    require_tool("abipkgdiff")
    old, new = _xcrypt_pair(tmp_path)
    old_ids = exported_ids(unpack(old, tmp_path / "x-old") / "usr/lib64/libcrypt.so.1")
    new_ids = exported_ids(unpack(new, tmp_path / "x-new") / "usr/lib64/libcrypt.so.1")
    assert new_ids - old_ids == _XCRYPT_ADDED  # the pair is what it claims to be

    out = tmp_path / "diff.json"
    res = run_cli("abi", "diff", str(old), str(new), "--no-default-suppression",
                  "--format", "json", "-o", str(out))  # fmt: skip
    doc = json.loads(out.read_text())
    (lib,) = doc["binaries"]
    added = {s["id"]: s for s in lib["added_symbols"]}
    assert set(added) == new_ids - old_ids
    assert {s["id"] for s in lib["removed_symbols"]} == old_ids - new_ids == set()
    # the aliases are named (presentation), the entry is there all the same
    assert added["xcrypt@XCRYPT_2.0"]["detail"] == (
        "aliases crypt@@XCRYPT_2.0, crypt@GLIBC_2.2.5, fcrypt@GLIBC_2.2.5"
    )
    assert added["crypt_ra_alias@@XCRYPT_2.0"]["detail"] == "aliases crypt_ra@@XCRYPT_2.0"
    assert "detail" not in added["crypt_checksalt@@XCRYPT_4.3"]

    theirs = run_abipkgdiff(old, new, "--no-default-suppression")
    report = theirs.binaries["libcrypt.so.1"]
    assert report.added <= set(added) and not report.removed
    # what abipkgdiff folds into an alias group is still listed by us, with its aliases
    assert all("detail" in added[i] for i in set(added) - report.added)
    # exit bits agree: an ABI change (4), nothing incompatible (8)
    mask = EXIT_ABI_CHANGE | EXIT_INCOMPATIBLE
    assert res.exit_code & mask == theirs.exit_code & mask == EXIT_ABI_CHANGE, res.stderr


@pytest.mark.slow
@pytest.mark.parametrize(("pkg1", "pkg2"), _pairs())
def test_symbol_lists_match_readelf_on_real_pairs(tmp_path: Path, pkg1: str, pkg2: str) -> None:
    """Every binary pair elforge compares in the default mode (all DSOs and executables):
    added and removed ids equal the difference of readelf's exported sets."""
    p1, p2 = TESTDATA / "abi" / pkg1, TESTDATA / "abi" / pkg2
    ours = compare_packages(
        PackageSet(p1), PackageSet(p2),
        DiffOptions(default_suppressions=False, types="off", abignore=False),
    )  # fmt: skip
    assert not ours.errors
    root1, root2 = unpack(p1, tmp_path / "old"), unpack(p2, tmp_path / "new")
    for b in ours.binaries:
        old_ids = exported_ids(root1 / b.old_path.lstrip("/"))
        new_ids = exported_ids(root2 / b.path.lstrip("/"))
        assert {s.id for s in b.added_symbols} == new_ids - old_ids, b.path
        assert {s.id for s in b.removed_symbols} == old_ids - new_ids, b.path
