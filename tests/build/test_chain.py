"""Per-build roots and chain builds: the example's library chain, unmet and broken input."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from elforge.build.artifacts import ArtifactStore
from elforge.build.builders import BuildOptions, build_tree
from elforge.build.chain import build_waves, ensure_repository, plan_trees, with_root
from elforge.build.plan import DEFAULT_HOST_PROVIDES, PlanSettings
from elforge.build.rootbuild import RootOptions, UnmetBuildRequires, root_environment, select_root
from elforge.engine.example import EXAMPLE_BOOTSTRAP, REFERENCE_MACROS, materialize_upstream
from elforge.engine.reference import build_reference
from elforge.rpm.header import read_header
from helpers import TESTDATA, require_tool

pytestmark = pytest.mark.system
CS9 = TESTDATA / "repodata" / "cs9-appstream-2024"


def _spec(name: str, *buildrequires: str) -> str:
    brs = "".join(f"BuildRequires: {b}\n" for b in buildrequires)
    return (
        f"Name: {name}\nVersion: 1\nRelease: 1\nSummary: s\nLicense: MIT\nBuildArch: noarch\n"
        f"{brs}\n%description\nd\n%install\nmkdir -p %{{buildroot}}/usr/share/{name}\n"
        f"%files\n/usr/share/{name}\n"
    )


def _tree(root: Path, name: str, *buildrequires: str) -> Path:
    tree = root / name
    tree.mkdir(parents=True)
    (tree / f"{name}.spec").write_text(_spec(name, *buildrequires))
    return tree


@pytest.mark.slow
def test_example_chain_links_the_program_against_both_earlier_libraries(tmp_path: Path) -> None:
    require_tool("rpmbuild")
    require_tool("createrepo_c")
    materialize_upstream(tmp_path / "upstream")
    results = build_reference(
        tmp_path / "upstream",
        tmp_path / "rpms",
        BuildOptions(dist=".el9", macros=REFERENCE_MACROS),
        bootstrap=EXAMPLE_BOOTSTRAP,
    )
    by_name = {r.package: r for r in results}
    assert all(r.status == "built" for r in results), [r.error for r in results]
    assert len(results) == 9
    cheer = read_header(tmp_path / "rpms" / "cheer-1.0-1.el9.x86_64.rpm")
    requires = {str(d) for d in cheer.requires}
    assert {"libgreet.so.1()(64bit)", "libcheer.so.1()(64bit)"} <= requires
    assert "libcheer.so.1(CHEER_1.0)(64bit)" in requires
    libcheer = read_header(tmp_path / "rpms" / "libcheer-1.0-1.el9.x86_64.rpm")
    assert "libgreet.so.1(GREET_1.0)(64bit)" in {str(d) for d in libcheer.requires}
    # each build's root held exactly what it asked for, from the earlier waves
    assert by_name["cheer"].buildroot == [
        "libcheer-0:1.0-1.el9.x86_64",
        "libcheer-devel-0:1.0-1.el9.x86_64",
        "libgreet-0:1.2-3.el9.x86_64",
        "libgreet-devel-0:1.2-3.el9.x86_64",
        "host:gcc",
        "host:make",
    ]
    assert by_name["libgreet"].buildroot == []
    assert "--nodeps" in by_name["cheer"].command and "bwrap" in by_name["cheer"].command
    log = Path(str(by_name["cheer"].log_path)).read_text()
    assert "/usr/include/cheer.h" in log  # the recorded file list of the root
    # the cycle's bootstrap entry was built --with bootstrap, the other against it
    assert by_name["acme-docgen"].inputs["macros"]["_with_bootstrap"] == "1"
    assert by_name["acme-fmt"].buildroot == ["acme-docgen-0:0.9-1.el9.noarch"]


def test_unmet_buildrequires_are_named_and_nothing_is_built(tmp_path: Path) -> None:
    require_tool("rpmbuild")
    require_tool("createrepo_c")
    repo = tmp_path / "buildroot"
    ensure_repository(repo)
    opts = RootOptions((str(repo),), ("gcc",))
    with pytest.raises(UnmetBuildRequires) as err:
        select_root(["gcc", "missing-devel >= 2", "(nope or nada)"], opts)
    assert "missing-devel >= 2, (nope or nada)" in str(err.value)
    assert "gcc" not in str(err.value).split("unmet BuildRequires:")[1].split("(in")[0]
    tree = _tree(tmp_path / "src", "needy", "missing-devel")
    result = build_tree(
        "needy",
        tree,
        ArtifactStore(tmp_path / "artifacts"),
        tmp_path / "logs",
        BuildOptions(dist=".el9", root=opts),
    )
    assert result.status == "failed" and "missing-devel" in str(result.error)
    assert "rpmbuild --rebuild" not in Path(str(result.log_path)).read_text()


def test_a_broken_external_repository_fails_only_the_builds_that_need_it(tmp_path: Path) -> None:
    require_tool("rpmbuild")
    require_tool("createrepo_c")
    broken = tmp_path / "broken-repo"
    shutil.copytree(CS9, broken)
    primary = next((broken / "repodata").glob("*primary.xml.gz"))
    primary.write_bytes(primary.read_bytes()[:-64] + b"\0" * 64)
    trees = {
        "plain": _tree(tmp_path / "src", "plain", "make"),
        "external": _tree(tmp_path / "src", "external", "atk-devel"),
        "later": _tree(tmp_path / "src", "later", "plain"),
    }
    repo = tmp_path / "buildroot"
    settings = PlanSettings(macros=(("dist", ".el9"),), buildroot_repos=(str(broken),), jobs=1)
    plan = plan_trees(trees, settings)
    assert {u.package for u in plan.unresolved} == {"external"}
    opts = with_root(BuildOptions(dist=".el9"), repo, [str(broken)], DEFAULT_HOST_PROVIDES)
    store = ArtifactStore(tmp_path / "artifacts")
    outcome = build_waves(
        trees,
        plan,
        opts,
        repo,
        lambda name, tree, o: build_tree(name, tree, store, tmp_path / "logs", o),
        jobs=2,
    )
    status = {r.package: r.status for r in outcome.results}
    assert status == {"plain": "built", "later": "built"}
    reason = outcome.not_built["external"]
    assert "atk-devel" in reason and "unusable" in reason and "primary.xml.gz" in reason
    # the same build made to need it: one clear error naming the repository's bad file
    forced = build_tree("external", trees["external"], store, tmp_path / "logs", opts)
    assert forced.status == "failed"
    assert "atk-devel" in str(forced.error) and "primary.xml.gz" in str(forced.error)


def test_root_environment_points_the_toolchain_at_the_root(tmp_path: Path) -> None:
    env = root_environment(tmp_path, {"PATH": "/usr/bin"})
    assert env["CPATH"] == f"{tmp_path}/usr/include"
    assert env["LIBRARY_PATH"].split(":")[0] == f"{tmp_path}/usr/lib64"
    assert f"-Wl,-rpath-link,{tmp_path}/usr/lib64" in env["LDFLAGS"]
    assert env["PKG_CONFIG_SYSROOT_DIR"] == str(tmp_path)
    assert env["PATH"].startswith(f"{tmp_path}/usr/bin:")
