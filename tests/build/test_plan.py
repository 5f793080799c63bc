"""``elforge plan`` on the bundled example and on broken input; librpm against rpmspec."""

from __future__ import annotations

import json
import random
import re
import subprocess
from pathlib import Path

import pytest

from elforge.build.graph import strongly_connected, waves
from elforge.build.plan import PlanPackage, PlanSettings, make_plan
from elforge.build.specdeps import SpecDepsCache, SpecQuery, read_spec_deps
from elforge.engine.example import create_example_workspace
from helpers import TESTDATA, require_tool, run_cli, serve_directory

CS9_APPSTREAM = TESTDATA / "repodata" / "cs9-appstream-2024"
EXAMPLE_WAVES = [
    ["acme-docgen", "acme-docs", "acme-motd", "acme-release", "libgreet", "libtally"],
    ["acme-fmt", "libcheer"],
    ["cheer"],
]


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    return create_example_workspace(tmp_path / "ws")


def _plan_json(ws: Path) -> dict:
    result = run_cli("plan", "-w", str(ws), "--format", "json")
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def _set_build_keys(ws: Path, **keys: str) -> None:
    """Rewrite ``[build]`` keys of the workspace's elforge.toml (values as TOML text)."""
    config = ws / "elforge.toml"
    text = config.read_text()
    for key, value in keys.items():
        text, count = re.subn(rf"(?m)^{key} = .*$", f"{key} = {value}", text)
        if not count:
            text = text.replace("[build]\n", f"[build]\n{key} = {value}\n")
    config.write_text(text)


def _add_package(ws: Path, name: str, spec_body: str) -> None:
    tree = ws / "upstream" / name
    tree.mkdir(parents=True)
    (tree / f"{name}.spec").write_text(spec_body)
    with (ws / "elforge.toml").open("a") as fh:
        fh.write(f'\n[[packages]]\nname = "{name}"\nurl = "upstream/{name}"\n')


def _spec(name: str, *buildrequires: str, extra: str = "") -> str:
    brs = "".join(f"BuildRequires: {b}\n" for b in buildrequires)
    return (
        f"Name: {name}\nVersion: 1\nRelease: 1\nSummary: s\nLicense: MIT\nBuildArch: noarch\n"
        f"{brs}{extra}\n%description\nd\n%files\n"
    )


def test_example_plan_waves_and_the_bootstrapped_cycle(workspace: Path) -> None:
    require_tool("rpmspec")
    doc = _plan_json(workspace)
    assert doc["schema"] == "elforge.plan/1"
    assert doc["waves"] == EXAMPLE_WAVES
    assert doc["cycles"] == [] and doc["unresolved"] == [] and doc["errors"] == []
    assert doc["bootstrap"] == [
        {"cycle": ["acme-docgen", "acme-fmt"], "order": ["acme-docgen", "acme-fmt"]}
    ]
    # without the bootstrap entry the cycle is reported and its packages are left out
    _set_build_keys(workspace, bootstrap="[]")
    doc = _plan_json(workspace)
    assert doc["cycles"] == [["acme-docgen", "acme-fmt"]]
    assert [n for w in doc["waves"] for n in w if n.startswith("acme-docgen")] == []
    assert doc["waves"][1] == ["libcheer"]
    text = run_cli("plan", "-w", str(workspace))
    assert "acme-docgen acme-fmt" in text.stdout and "cycle" in text.stdout
    strict = run_cli("plan", "-w", str(workspace), "--strict", "-f", "json")
    assert strict.exit_code == 3


def test_librpm_reads_what_rpmspec_reads(workspace: Path) -> None:
    """Differential: BuildRequires and Provides of every example spec, librpm vs rpmspec."""
    require_tool("rpmspec")
    specs = sorted((workspace / "upstream").glob("*/*.spec"))
    macros = (("dist", ".el9"), ("_with_bootstrap", "1"))
    queries = [SpecQuery(s.parent.name, s, s.parent, macros) for s in specs]
    read = read_spec_deps(queries, SpecDepsCache(None), jobs=2)
    assert read.errors == {} and len(read.deps) == len(specs) == 9
    for spec in specs:
        define = ["--define", "dist .el9", "--define", "_with_bootstrap 1"]

        def rpmspec(*args: str, spec: Path = spec, define: list[str] = define) -> list[str]:
            out = subprocess.run(
                ["rpmspec", "-q", *define, *args, str(spec)], capture_output=True, text=True
            )
            assert out.returncode == 0, out.stderr
            return sorted(filter(None, out.stdout.splitlines()))

        deps = read.deps[spec.parent.name]
        assert sorted(deps.buildrequires) == rpmspec("--buildrequires")
        provides = sorted({p for b in deps.binaries for p in b.provides})
        assert provides == sorted(set(rpmspec("--provides")))
        names = sorted(b.name for b in deps.binaries)
        assert names == rpmspec("--qf", "%{NAME}\n")


def test_versions_rich_deps_externals_and_unresolved(workspace: Path) -> None:
    require_tool("rpmspec")
    _add_package(workspace, "needs-new-greet", _spec("needs-new-greet", "libgreet-devel >= 9"))
    _add_package(workspace, "rich", _spec("rich", "(libtally-devel or nothing-at-all)"))
    _add_package(workspace, "from-appstream", _spec("from-appstream", "atk-devel >= 2"))
    alsa = _spec("alsa-lib", extra="%package devel\nSummary: d\n%description devel\nd\n")
    _add_package(workspace, "alsa-lib", alsa + "%files devel\n")
    _add_package(workspace, "uses-alsa", _spec("uses-alsa", "pkgconfig(alsa) >= 1.2"))
    _set_build_keys(workspace, buildroot_repos=f'["{CS9_APPSTREAM}"]')
    doc = _plan_json(workspace)
    assert doc["unresolved"] == [
        {"package": "needs-new-greet", "requirement": "libgreet-devel >= 9"}
    ]
    assert "rich" in doc["waves"][1]  # after libtally
    assert "from-appstream" in doc["waves"][0]  # met by the external repository only
    assert doc["errors"] == []
    # pkgconfig(alsa) is made at build time; the external alsa-lib-devel provides it, and
    # the release builds alsa-lib-devel itself: uses-alsa waits for the release's alsa-lib
    assert "alsa-lib" in doc["waves"][0] and "uses-alsa" in doc["waves"][1]


def test_broken_specs_and_repositories_are_one_error_each(workspace: Path) -> None:
    require_tool("rpmspec")
    _add_package(workspace, "broken", "Name: broken\n%if\nthis is not a spec\n")
    _add_package(workspace, "macro", _spec("macro", "lib%{undefined_macro_here}-devel"))
    _add_package(workspace, "leading", _spec("leading", "%{undefined_leading}-devel"))
    _add_package(workspace, "user", _spec("user", "broken"))
    corrupt = workspace / "corrupt-repo"
    subprocess.run(["cp", "-r", str(CS9_APPSTREAM), str(corrupt)], check=True)
    primary = next((corrupt / "repodata").glob("*primary.xml.gz"))
    data = bytearray(primary.read_bytes())
    data[len(data) // 2] ^= 0xFF
    primary.write_bytes(bytes(data))
    with serve_directory(workspace / "upstream") as url:
        unreachable = f"{url}/no-such-repo"
        _set_build_keys(workspace, buildroot_repos=f'["{corrupt}", "{unreachable}"]')
        doc = _plan_json(workspace)
    errors = {e["subject"]: e["error"] for e in doc["errors"]}
    assert set(errors) >= {"broken", "macro", "leading", str(corrupt), unreachable}, errors
    assert "broken.spec" in errors["broken"]
    assert "undefined_macro_here" in errors["macro"] and "does not expand" in errors["macro"]
    assert "%{undefined_leading}-devel" in errors["leading"]  # rpm's own error line
    assert "differs from" in errors[str(corrupt)] and "primary.xml.gz" in errors[str(corrupt)]
    assert all(len(e) < 600 for e in errors.values())
    assert {"package": "user", "requirement": "broken"} in doc["unresolved"]
    assert doc["waves"] == EXAMPLE_WAVES  # the rest is planned as before


def test_second_plan_reads_the_cache(workspace: Path) -> None:
    require_tool("rpmspec")
    from elforge.engine.planning import plan_workspace
    from elforge.workspace.workspace import Workspace

    ws = Workspace.open(workspace)
    first = plan_workspace(ws)
    assert first.parsed == 9 + 2  # two bootstrap entries are also read --with bootstrap
    again = plan_workspace(ws)
    assert again.parsed == 0 and again.waves == first.waves
    spec = workspace / "upstream" / "cheer" / "cheer.spec"
    spec.write_text(spec.read_text().replace("BuildRequires:  libcheer-devel\n", ""))
    changed = plan_workspace(ws)
    assert changed.parsed == 1 and "cheer" in changed.waves[1] and len(changed.waves) == 2


def test_graph_layers_respect_every_edge_and_find_every_cycle() -> None:
    rng = random.Random(15)
    for _ in range(50):
        n = rng.randint(1, 60)
        nodes = [f"p{i}" for i in range(n)]
        graph = {a: {b for b in nodes if b < a and rng.random() < 0.1} for a in nodes}
        layers, blocked = waves(graph)
        assert blocked == {} and strongly_connected(graph) == []
        where = {x: i for i, layer in enumerate(layers) for x in layer}
        assert set(where) == set(nodes)
        for a, needs in graph.items():
            assert all(where[b] < where[a] for b in needs)
            if where[a] > 0:
                assert any(where[b] == where[a] - 1 for b in needs)  # placed as early as can be
        a, b = rng.sample(nodes, 2) if n > 1 else (nodes[0], nodes[0])
        graph[a].add(b)
        graph[b].add(a)
        cycles = strongly_connected(graph)
        assert any(a in c and b in c for c in cycles)
    assert strongly_connected({"x": {"x"}}) == [["x"]]


def test_make_plan_without_a_workspace(tmp_path: Path) -> None:
    require_tool("rpmspec")
    for name, brs in (("a", ["b"]), ("b", []), ("c", ["a", "b"])):
        (tmp_path / f"{name}.spec").write_text(_spec(name, *brs))
    packages = [PlanPackage(n, tmp_path / f"{n}.spec", tmp_path) for n in "abc"]
    plan = make_plan(packages, PlanSettings(jobs=1))
    assert plan.waves == (("b",), ("a",), ("c",))
    assert plan.needs["c"] == ("a", "b")


def test_srpm_upstreams_are_planned_from_the_spec_inside(workspace: Path) -> None:
    require_tool("rpmbuild")
    tree = workspace / "upstream" / "libcheer"
    subprocess.run(
        ["rpmbuild", "-bs", "--define", f"_topdir {workspace / 'top'}",
         "--define", f"_sourcedir {tree}", str(tree / "libcheer.spec")],
        check=True, capture_output=True,
    )  # fmt: skip
    srpm = next((workspace / "top" / "SRPMS").glob("*.src.rpm"))
    config = workspace / "elforge.toml"
    text = config.read_text().replace('url = "upstream/libcheer"', f'url = "{srpm}"')
    bad = workspace / "bad.src.rpm"
    bad.write_bytes(b"\xed\xab\xee\xdb" + b"\0" * 200)
    config.write_text(text + f'\n[[packages]]\nname = "bad"\nurl = "{bad}"\n')
    doc = _plan_json(workspace)
    assert "libcheer" in doc["waves"][1] and "cheer" in doc["waves"][2]
    assert [e["subject"] for e in doc["errors"]] == ["bad"]
    assert "bad.src.rpm" in doc["errors"][0]["error"]


def test_a_spec_that_kills_its_parser_is_one_error_and_runs_sandboxed(workspace: Path) -> None:
    require_tool("rpmspec")
    require_tool("bwrap")
    marker = workspace / "written-by-spec"
    _add_package(workspace, "killer", _spec("killer", extra="%(kill -9 $PPID)\n"))
    _add_package(workspace, "writer", _spec("writer", extra=f"%(touch {marker})\n"))
    doc = _plan_json(workspace)
    errors = {e["subject"]: e["error"] for e in doc["errors"]}
    assert "killer" in errors and "parser died" in errors["killer"]
    assert "writer" in doc["waves"][0] and not marker.exists()  # read-only outside
    assert doc["waves"][1:] == EXAMPLE_WAVES[1:]
