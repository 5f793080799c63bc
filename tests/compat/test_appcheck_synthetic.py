"""appcheck and profiles on synthetic distributions built with gcc and rpmbuild."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from compat_builds import (
    Distros,
    build_dso,
    build_rpm,
    distros_fixture,  # noqa: F401  (registers the "distros" fixture)
    gcc,
)

from elforge.compat.profile import load
from elforge.elf.reader import read_elf_file
from helpers import require_tool, run_cli

pytestmark = [pytest.mark.system, pytest.mark.slow]


@pytest.fixture(scope="session")
def profiles(distros: Distros) -> tuple[Path, Path]:
    old = distros.work / "old.json"
    new = distros.work / "new.json"
    for src, out, name in ((distros.old_dir, old, "old"), (distros.new_dir, new, "new")):
        r = run_cli("-q", "profile", "create", str(src), "-o", str(out), "--name", name,
                    "--format", "json")  # fmt: skip
        assert r.exit_code == 0, r.stderr
        assert json.loads(r.stdout)["libraries"] == 2
    return old, new


def appcheck_json(*args: str) -> tuple[int, dict]:
    r = run_cli("-q", "appcheck", *args, "--format", "json")
    assert r.exit_code in (0, 8), r.stderr
    return r.exit_code, json.loads(r.stdout)


def test_binaries_bind_the_versions_we_chose(distros: Distros) -> None:
    old = {(s.name, s.version) for s in read_elf_file(distros.app_old).symbols if not s.defined}
    new = {(s.name, s.version) for s in read_elf_file(distros.app_new).symbols if not s.defined}
    assert ("memcpy", "GLIBC_2.2.5") in old and ("x_one", "LIBX_1.0") in old
    assert ("memcpy", "GLIBC_2.14") in new and ("x_two", "LIBX_2.0") in new


def test_profile_content(profiles: tuple[Path, Path]) -> None:
    old, new = (load(p) for p in profiles)
    libx = new.find("x86_64", "libx.so.1")
    assert libx is not None
    assert libx.package == "libx-2.0-1.x86_64"
    assert libx.paths == ("/usr/lib64/libx.so.1.0", "/usr/lib64/libx.so.1")
    assert libx.versions == ("LIBX_1.0", "LIBX_2.0")
    assert libx.defines("x_two", "LIBX_2.0") and not libx.defines("x_two", "LIBX_1.0")
    old_libx = old.find("x86_64", "libx.so.1")
    assert old_libx is not None and "LIBX_2.0" not in old_libx.versions
    assert new.highest == {"GLIBC": "2.14"} and old.highest == {"GLIBC": "2.2.5"}
    assert old.arches == ("x86_64",)


def test_old_binary_runs_on_old(distros: Distros, profiles: tuple[Path, Path]) -> None:
    code, doc = appcheck_json(str(distros.app_old), "--against", str(profiles[0]))
    assert code == 0
    assert doc["schema"] == "elforge.appcheck/1"
    assert doc["compatible"] is True
    target = doc["targets"][0]
    assert target["compatible"] is True
    # the weak __cxa_finalize reference gcc adds is INFO, not a failure
    assert target["missing"] == []
    weak = [f for f in target["findings"] if f["subject"] == "__cxa_finalize@GLIBC_2.2.5"]
    assert weak[0]["severity"] == "INFO"
    assert target["system_libraries"]["libx.so.1"] == ["LIBX_1.0"]


def test_new_binary_needs_new_and_names_the_symbols(
    distros: Distros, profiles: tuple[Path, Path]
) -> None:
    old, new = profiles
    code, doc = appcheck_json(str(distros.app_new), "--against", str(old), "--against", str(new))
    assert code == 0
    assert doc["oldest_compatible"] == "new"
    assert [a["compatible"] for a in doc["against"]] == [False, True]
    pushed = {(m["library"], m["symbol"], m["version"]) for m in doc["pushed_by"]["missing"]}
    assert pushed == {("libc.so.6", "memcpy", "GLIBC_2.14"), ("libx.so.1", "x_two", "LIBX_2.0")}
    by_symbol = {m["symbol"]: m for m in doc["pushed_by"]["missing"]}
    assert by_symbol["x_two"]["package"] == "libx-1.0-1.x86_64"
    assert by_symbol["x_two"]["provided_by"] == [{"profile": "new", "package": "libx-2.0-1.x86_64"}]
    text = run_cli("-q", "appcheck", str(distros.app_new), "-a", str(old), "-a", str(new))
    assert "needs new: " in text.stdout
    assert "memcpy@GLIBC_2.14 in libc.so.6" in text.stdout
    assert "x_two@LIBX_2.0 in libx.so.1" in text.stdout


def test_new_binary_against_old_only_is_incompatible(
    distros: Distros, profiles: tuple[Path, Path]
) -> None:
    code, doc = appcheck_json(str(distros.app_new), "--against", str(profiles[0]))
    assert code == 8
    assert doc["compatible"] is False
    missing = {(m["symbol"], m["version"], m["reason"]) for m in doc["targets"][0]["missing"]
               }  # fmt: skip
    assert missing == {("memcpy", "GLIBC_2.14", "version-missing"),
                       ("x_two", "LIBX_2.0", "version-missing")}  # fmt: skip


def test_directory_and_rpm_sources_work_directly(distros: Distros) -> None:
    code, doc = appcheck_json(str(distros.app_new), "--against", str(distros.new_dir))
    assert code == 0 and doc["compatible"] is True


def test_installed_root_profile_matches_rpm_profile(
    distros: Distros, profiles: tuple[Path, Path], tmp_path: Path
) -> None:
    root = tmp_path / "root"
    (root / "usr/lib64").mkdir(parents=True)
    shutil.copy2(distros.old_libx, root / "usr/lib64/libx.so.1.0")
    os.symlink("libx.so.1.0", root / "usr/lib64/libx.so.1")
    shutil.copy2(distros.old_libc, root / "usr/lib64/libc.so.6")
    out = tmp_path / "root.json"
    assert run_cli("-q", "profile", "create", str(root), "-o", str(out)).exit_code == 0
    from_root, from_rpms = load(out), load(profiles[0])
    assert {(x.soname, x.paths, tuple(sorted(x.symbols.items()))) for x in from_root.libraries} == {
        (x.soname, x.paths, tuple(sorted(x.symbols.items()))) for x in from_rpms.libraries
    }
    code, _ = appcheck_json(str(distros.app_new), "--against", str(root))
    assert code == 8


def test_profile_diff(profiles: tuple[Path, Path]) -> None:
    old, new = profiles
    r = run_cli("-q", "profile", "diff", str(old), str(new), "--format", "json")
    assert r.exit_code == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["schema"] == "elforge.profile-diff/1" and doc["superset"] is True
    r = run_cli("-q", "profile", "diff", str(new), str(old), "--format", "json")
    assert r.exit_code == 8
    doc = json.loads(r.stdout)
    assert doc["superset"] is False
    assert {(m["library"], m["version"]) for m in doc["missing_versions"]} == {
        ("libx.so.1", "LIBX_2.0"), ("libc.so.6", "GLIBC_2.14")}  # fmt: skip
    assert {(m["library"], m["symbol"], m["version"]) for m in doc["missing_symbols"]} == {
        ("libx.so.1", "x_two", "LIBX_2.0"), ("libc.so.6", "memcpy", "GLIBC_2.14")}  # fmt: skip
    text = run_cli("-q", "profile", "diff", str(new), str(old))
    assert "NOT a superset" in text.stdout


def test_bundle_resolution_honours_runpath_origin(
    distros: Distros, profiles: tuple[Path, Path], tmp_path: Path
) -> None:
    """A library shipped with the application is found through $ORIGIN; without the
    RUNPATH it must come from the system, which lacks it."""
    bundle = tmp_path / "bundle"
    (bundle / "lib").mkdir(parents=True)
    (bundle / "bin").mkdir()
    build_dso(bundle / "lib", "libbundled.so.1", "libbundled.so.1",
              "int y(void) { return 3; }\n", "BUNDLED_1 { global: y; local: *; };\n")  # fmt: skip
    src = "int y(void);\nint use(void) { return y(); }\n"
    lib = bundle / "lib"
    gcc(bundle / "bin" / "plugin.so", src, "-shared", "-nostdlib", f"-L{lib}", "-l:libbundled.so.1",
        "-Wl,-rpath,$ORIGIN/../lib", "-Wl,--enable-new-dtags")  # fmt: skip
    assert read_elf_file(bundle / "bin" / "plugin.so").runpath == ("$ORIGIN/../lib",)
    code, doc = appcheck_json(str(bundle), "--against", str(profiles[0]))
    assert code == 0, doc
    assert doc["targets"][0]["bundled_libraries"] == ["libbundled.so.1"]

    gcc(bundle / "bin" / "plugin.so", src, "-shared", "-nostdlib", f"-L{lib}", "-l:libbundled.so.1")
    code, doc = appcheck_json(str(bundle), "--against", str(profiles[0]))
    assert code == 8
    assert {(m["library"], m["reason"]) for m in doc["targets"][0]["missing"]} == {
        ("libbundled.so.1", "library-missing")
    }


def test_rpm_target_ships_its_own_library(distros: Distros, profiles: tuple[Path, Path]) -> None:
    """An RPM that installs libx.so.1 itself satisfies its own DT_NEEDED."""
    rpm = next(distros.new_dir.glob("libx-*.rpm"))
    code, doc = appcheck_json(str(rpm), "--against", str(profiles[0]))
    assert code == 0
    assert doc["targets"][0]["kind"] == "rpm"


def test_executable_interpreter_and_start_symbols(
    distros: Distros, profiles: tuple[Path, Path]
) -> None:
    code, doc = appcheck_json(str(distros.exe), "--against", str(profiles[1]))
    assert code == 8
    codes = {f["code"] for f in doc["targets"][0]["findings"]}
    assert "appcheck.interpreter-unknown" in codes  # the synthetic distro has no ld.so
    missing = {(m["symbol"], m["library"]) for m in doc["targets"][0]["missing"]}
    assert ("__libc_start_main", "libc.so.6") in missing


@pytest.mark.parametrize("fmt", ["text", "json", "sarif", "junit", "html"])
def test_every_format(distros: Distros, profiles: tuple[Path, Path], fmt: str,
                      tmp_path: Path) -> None:  # fmt: skip
    out = tmp_path / f"report.{fmt}"
    r = run_cli("-q", "appcheck", str(distros.app_new), "-a", str(profiles[0]), "-a",
                str(profiles[1]), "--format", fmt, "-o", str(out))  # fmt: skip
    assert r.exit_code == 0, r.stderr
    assert "x_two" in out.read_text()
    r = run_cli("-q", "profile", "diff", str(profiles[1]), str(profiles[0]), "--format", fmt)
    assert r.exit_code == 8 and "x_two" in r.stdout


def test_repository_with_several_builds_keeps_the_newest(distros: Distros, tmp_path: Path) -> None:
    repo = tmp_path / "repo" / "Packages"
    repo.mkdir(parents=True)
    for rpm in [*distros.old_dir.glob("*.rpm"), *distros.new_dir.glob("*.rpm")]:
        shutil.copy2(rpm, repo / rpm.name)
    out = tmp_path / "repo.json"
    assert run_cli("-q", "profile", "create", str(repo.parent), "-o", str(out)).exit_code == 0
    libx = load(out).find("x86_64", "libx.so.1")
    assert libx is not None and libx.package == "libx-2.0-1.x86_64"
    assert "LIBX_2.0" in libx.versions


def test_ld_so_conf_directories_are_in_the_default_path(distros: Distros, tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "etc/ld.so.conf.d").mkdir(parents=True)
    (root / "usr/lib64").mkdir(parents=True)
    (root / "opt/xlib").mkdir(parents=True)
    (root / "etc/ld.so.conf.d/xlib.conf").write_text("# private libraries\n/opt/xlib\n")
    shutil.copy2(distros.new_libx, root / "opt/xlib/libx.so.1")
    shutil.copy2(distros.old_libc, root / "usr/lib64/libc.so.6")
    out = tmp_path / "root.json"
    assert run_cli("-q", "profile", "create", str(root), "-o", str(out)).exit_code == 0
    libx = load(out).find("x86_64", "libx.so.1")
    assert libx is not None and libx.paths == ("/opt/xlib/libx.so.1",) and libx.default_path


def test_rpm_target_against_a_repository_gets_the_install_check(
    distros: Distros, tmp_path: Path
) -> None:
    """An RPM needing package libx: installable from the new repository (createrepo_c), not
    from one without libx — reported as libsolv words it, and the verdict is incompatible."""
    require_tool("createrepo_c")
    app_rpm = build_rpm(tmp_path, "app", "1.0", {"/usr/lib64/libapp.so": distros.app_old}, {},
                        requires=("libx >= 1.0",))  # fmt: skip
    repo = tmp_path / "repo"
    shutil.copytree(distros.new_dir, repo)
    subprocess.run(["createrepo_c", "-q", str(repo)], check=True, capture_output=True)
    code, doc = appcheck_json(str(app_rpm), "--against", str(repo))
    assert code == 0, doc
    check = doc["targets"][0]["install_check"]
    assert check["installable"] is True and check["repository"] == str(repo)

    bare = tmp_path / "bare"
    bare.mkdir()
    for rpm in repo.glob("fakelibc-*.rpm"):
        shutil.copy2(rpm, bare / rpm.name)
    subprocess.run(["createrepo_c", "-q", str(bare)], check=True, capture_output=True)
    code, doc = appcheck_json(str(app_rpm), "--against", str(bare))
    assert code == 8
    target = doc["targets"][0]
    assert target["install_check"]["installable"] is False
    problem = next(f for f in target["findings"] if f["code"] == "appcheck.not-installable")
    assert "nothing provides libx >= 1.0" in problem["message"]
