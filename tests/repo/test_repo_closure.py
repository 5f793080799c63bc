"""Closure with libsolv, checked against libsolv's own installcheck on the same metadata."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
from repo_helpers import (  # noqa: F401
    built_rpms_fixture,
    debian_neutral_copy,
    serve,
    small_repo_fixture,
    write_stub_base,
)

from elforge.repo.closure import check_closure
from elforge.rpm.repodata import Repository
from helpers import require_tool, run_cli

pytestmark = pytest.mark.system
CS9 = "repodata/cs9-appstream-2024"


def installcheck(arch: str, checked: list[Path], nocheck: list[Path]) -> set[str]:
    require_tool("installcheck")
    args = ["installcheck", arch, *map(str, checked)]
    for path in nocheck:
        args += ["--nocheck", str(path)]
    out = subprocess.run(args, capture_output=True, text=True, check=False).stdout
    return {m.group(1) for m in re.finditer(r"^can't install (.*):$", out, re.M)}


def test_built_repo_over_http_agrees_with_installcheck(small_repo: Path, tmp_path: Path) -> None:
    with serve(small_repo) as (url, _log):
        result = check_closure([url], cache_dir=tmp_path / "cache", modules=False)
        primary = Repository(url, cache_dir=tmp_path / "cache").primary_path()
    expected = installcheck("x86_64", [primary], [])
    assert set(result.uninstallable) == expected
    assert expected == {
        "needs-missing-1.0-1.x86_64",
        "needs-broken-1.0-1.x86_64",
        "wants-new-base-1.0-1.x86_64",
        "conflicts-base-1.0-1.x86_64",
    }
    by_pkg = {p.package: p for p in result.problems}
    root = by_pkg["needs-missing-1.0-1.x86_64"]
    assert root.kind == "nothing-provides"
    assert root.requirement == "libmissing.so.7()(64bit)"
    fallout = by_pkg["needs-broken-1.0-1.x86_64"]
    assert fallout.requirement == "needs-missing"  # its own requirement...
    assert fallout.root_package == "needs-missing-1.0-1.x86_64"  # ...and the root cause
    assert fallout.reason == (
        "nothing provides libmissing.so.7()(64bit) needed by needs-missing-1.0-1.x86_64"
    )
    assert by_pkg["wants-new-base-1.0-1.x86_64"].requirement == "base-libs >= 2.0"
    assert by_pkg["conflicts-base-1.0-1.x86_64"].kind == "conflicts"
    causes = {c["package"]: c["affects"] for c in result.root_causes()}
    assert causes["needs-missing-1.0-1.x86_64"] == [
        "needs-broken-1.0-1.x86_64",
        "needs-missing-1.0-1.x86_64",
    ]


def test_extra_repo_satisfies_without_being_checked(
    tmp_path: Path, built_rpms: dict[str, Path]
) -> None:
    import shutil

    from repo_helpers import createrepo

    base, apps = tmp_path / "base", tmp_path / "apps"
    base.mkdir()
    apps.mkdir()
    shutil.copy(built_rpms["base-libs"], base)
    for name in ("app", "app-data", "tool", "needs-missing"):
        shutil.copy(built_rpms[name], apps)
    createrepo(base)
    createrepo(apps)
    alone = check_closure([apps], modules=False)
    assert "app-1.0-1.x86_64" in alone.uninstallable
    with_base = check_closure([apps], [base], modules=False)
    assert with_base.uninstallable == ["needs-missing-1.0-1.x86_64"]
    assert with_base.checked == 4  # base-libs only satisfies, it is not checked
    expected = installcheck(
        "x86_64", [Repository(apps).primary_path()], [Repository(base).primary_path()]
    )
    assert set(with_base.uninstallable) == expected


@pytest.mark.slow
def test_cs9_appstream_agrees_with_installcheck(testdata: Path, tmp_path: Path) -> None:
    """17,649 packages plus a synthetic base: the sets of uninstallable packages are equal.

    Debian's installcheck is built with Debian dependency rules, so both tools read the
    same rpm/Debian-neutral copy of the metadata (see debian_neutral_copy)."""
    original = Repository(testdata / CS9, cache_dir=tmp_path / "cache")
    neutral_primary = debian_neutral_copy(original.primary_path(), tmp_path / "neutral")
    packages = Repository(tmp_path / "neutral").packages()
    stub_primary, withheld = write_stub_base(packages, tmp_path / "base", withhold_every=10)
    assert len(withheld) > 20
    result = check_closure([tmp_path / "neutral"], [tmp_path / "base"], modules=False)
    expected = installcheck("x86_64", [neutral_primary], [stub_primary])
    assert 100 < len(expected) < 5000  # real, partial breakage
    assert set(result.uninstallable) == expected
    roots = {p.root_requirement for p in result.problems if p.kind == "nothing-provides"}
    assert roots <= set(withheld)


def test_cs9_modular_filtering(testdata: Path, tmp_path: Path) -> None:
    """EL9 has no default streams: every modular package is hidden unless enabled, and an
    enabled stream hides the non-modular packages of the same names."""
    from elforge.repo.pool import apply_modular_filtering, load_pool, solvable_label

    loaded = load_pool([testdata / CS9], cache_dir=tmp_path)
    index = loaded.modules
    assert index is not None
    artifacts = {a for s in index.streams for a in s.artifacts}
    apply_modular_filtering(loaded)
    hidden = {str(solvable_label(loaded.pool.solvables[i])) for i in loaded.filtered}
    in_repo = {
        f"{s.name}-{s.evr if ':' in s.evr else '0:' + s.evr}.{s.arch}"
        for s in loaded.pool.solvables_iter()
    }
    modular_present = artifacts & in_repo
    assert len(hidden) == len(modular_present) > 100
    assert any(h.startswith("nodejs-1:20.") for h in hidden)

    loaded = load_pool([testdata / CS9], cache_dir=tmp_path)
    apply_modular_filtering(loaded, enabled=["nodejs:20"])
    shown = {
        str(solvable_label(s)) for s in loaded.pool.solvables_iter() if s.id not in loaded.filtered
    }
    nodejs = {n for n in shown if n.startswith("nodejs-1:")}
    assert nodejs and all(n.startswith("nodejs-1:20.") for n in nodejs)  # non-modular 16 hidden
    assert loaded.active_streams == {("nodejs", "20")}


def test_unknown_module_stream_is_an_error(testdata: Path, tmp_path: Path) -> None:
    r = run_cli(
        "repo",
        "closure",
        str(testdata / CS9),
        "--module",
        "nodejs:99",
        "--cache-dir",
        str(tmp_path),
    )
    assert r.exit_code == 1 and "module stream nodejs:99 is not in modules.yaml" in r.stderr


def test_cli_closure_json_and_exit_code(small_repo: Path, tmp_path: Path) -> None:
    out = tmp_path / "closure.json"
    r = run_cli(
        "repo", "closure", str(small_repo), "--no-modules", "--format", "json", "-o", str(out)
    )
    assert r.exit_code == 4
    doc = json.loads(out.read_text())
    assert doc["schema"] == "elforge.repo-closure/1"
    assert "needs-broken-1.0-1.x86_64" in doc["uninstallable"]
    assert {"package", "requirement", "reason"} <= set(doc["problems"][0])
    closed = tmp_path / "closed"
    closed.mkdir()
    for name in ("base-libs", "app", "app-data", "tool"):
        src = small_repo / f"{name}-1.0-1.x86_64.rpm"
        (closed / src.name).write_bytes(src.read_bytes())
    from repo_helpers import createrepo

    createrepo(closed)
    assert run_cli("repo", "closure", str(closed), "--format", "json").exit_code == 0


def _primary(packages: list[tuple[str, str, str]]) -> str:
    """Hand-written primary.xml: (name, arch, format body) per package."""
    body = "".join(
        f'<package type="rpm"><name>{n}</name><arch>{a}</arch>'
        f'<version epoch="0" ver="1" rel="1"/><checksum type="sha256" pkgid="YES">{i:064x}'
        f'</checksum><location href="{n}.rpm"/><format>{f}</format></package>'
        for i, (n, a, f) in enumerate(packages)
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?><metadata '
        'xmlns="http://linux.duke.edu/metadata/common" '
        f'xmlns:rpm="http://linux.duke.edu/metadata/rpm" packages="{len(packages)}">'
        f"{body}</metadata>"
    )


def test_rpm_in_pool_installs_along_and_locks_multilib(tmp_path: Path) -> None:
    """installcheck's rules when the pool has rpm.<arch>: rpm is installed with every
    package, and secondary-arch packages with a main-arch namesake are not checked."""
    from repo_helpers import _write_repo

    def req(dep: str) -> str:
        return f'<rpm:requires><rpm:entry name="{dep}"/></rpm:requires>'

    pkgs = [
        ("foo", "x86_64", ""),
        ("foo", "i686", req("libmissing32.so")),
        ("breaker", "x86_64", '<rpm:conflicts><rpm:entry name="rpm"/></rpm:conflicts>'),
    ]
    _write_repo(tmp_path / "without", _primary(pkgs), "x")
    _write_repo(tmp_path / "with", _primary([*pkgs, ("rpm", "x86_64", "")]), "x")
    without = check_closure([tmp_path / "without"], modules=False)
    assert without.uninstallable == ["foo-1-1.i686"]
    with_rpm = check_closure([tmp_path / "with"], modules=False)
    assert with_rpm.uninstallable == ["breaker-1-1.x86_64"]
    assert with_rpm.problems[0].kind == "conflicts"
    assert with_rpm.checked == 3  # foo.i686 is locked out, not checked


def test_filelists_satisfy_file_requirements(tmp_path: Path, small_repo: Path) -> None:
    """primary.xml lists only /etc and bin files; --filelists brings the rest."""
    from repo_helpers import Spec, build_rpm, createrepo

    rpm = build_rpm(Spec("needs-file", requires=["/usr/share/app-data/app-data.txt"]), tmp_path)
    (small_repo / rpm.name).write_bytes(rpm.read_bytes())
    createrepo(small_repo)
    plain = check_closure([small_repo], modules=False)
    assert "needs-file-1.0-1.x86_64" in plain.uninstallable
    full = check_closure([small_repo], modules=False, filelists=True)
    assert "needs-file-1.0-1.x86_64" not in full.uninstallable
