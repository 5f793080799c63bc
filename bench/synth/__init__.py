"""A synthetic release for the benchmarks: N source packages of small C libraries.

Every package ``spNNNNN`` builds ``libspNNNNN.so.1`` with one function in the version node
``SPNNNNN_1.0`` and a ``-devel`` subpackage. Packages sit on levels 0..depth-1; a package on
level L > 0 BuildRequires the ``-devel`` of one package on level L-1 and of up to two more on
lower levels, links against them and calls them, so the build order is a DAG of the given
depth. ``cycles`` pairs of packages on the top level BuildRequire each other (a
``%bcond_with bootstrap`` drops the edge), and nothing depends on them.

The sources are written by the spec's ``%build`` (no tarball), so a tree is just a spec.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

SPEC = """\
%bcond_with bootstrap
Name:           {name}
Version:        1.0
Release:        1%{{?dist}}
Summary:        Synthetic library {name}
License:        MIT
BuildRequires:  gcc
BuildRequires:  make
{buildrequires}
%description
Synthetic C library {name} on level {level}.

%package devel
Summary:        Development files for {name}
Requires:       %{{name}}%{{?_isa}} = %{{version}}-%{{release}}

%description devel
Header and link for {name}.

%prep

%build
cat > {name}.h <<'END'
int {name}_value(void);
END
cat > {name}.map <<'END'
{node} {{ global: {name}_value; local: *; }};
END
cat > {name}.c <<'END'
{includes}
int {name}_value(void) {{ return {level}{calls}; }}
END
gcc %{{optflags}} -fPIC -shared $LDFLAGS -Wl,-soname,lib{name}.so.1 \\
    -Wl,--version-script,{name}.map -o lib{name}.so.1 {name}.c {libs}

%install
install -D -m 0755 lib{name}.so.1 %{{buildroot}}%{{_libdir}}/lib{name}.so.1
ln -s lib{name}.so.1 %{{buildroot}}%{{_libdir}}/lib{name}.so
install -D -m 0644 {name}.h %{{buildroot}}%{{_includedir}}/{name}.h

%files
%{{_libdir}}/lib{name}.so.1

%files devel
%{{_libdir}}/lib{name}.so
%{{_includedir}}/{name}.h

%changelog
* Mon Jun 03 2024 Synthetic <synthetic@example.invalid> - 1.0-1
- generated
"""


@dataclass(frozen=True)
class SyntheticRelease:
    names: list[str]
    needs: dict[str, list[str]]  # package -> packages whose -devel it BuildRequires
    cycles: list[tuple[str, str]]
    depth: int


def _levels(n: int, depth: int) -> list[int]:
    """Levels for n packages, wider at the bottom (more libraries than programs)."""
    weights = [depth - i for i in range(depth)]
    total = sum(weights)
    levels: list[int] = []
    for level, weight in enumerate(weights):
        count = max(1, round(n * weight / total))
        levels += [level] * min(count, n - len(levels))
    return levels + [depth - 1] * (n - len(levels))


def plan_release(n: int, *, depth: int = 8, cycles: int = 3, seed: int = 15) -> SyntheticRelease:
    """Who needs whom (deterministic for a seed)."""
    rng = random.Random(seed)
    depth = max(1, min(depth, n))
    levels = _levels(n, depth)
    names = [f"sp{i:05d}" for i in range(n)]
    by_level: dict[int, list[str]] = {}
    for name, level in zip(names, levels, strict=True):
        by_level.setdefault(level, []).append(name)
    top = by_level.get(depth - 1, [])
    pairs = [(top[2 * i], top[2 * i + 1]) for i in range(min(cycles, len(top) // 2))]
    in_cycle = {x for pair in pairs for x in pair}
    needs: dict[str, list[str]] = {}
    for name, level in zip(names, levels, strict=True):
        deps: set[str] = set()
        if level > 0:
            deps.add(rng.choice([p for p in by_level[level - 1] if p not in in_cycle]))
            lower = [p for lv in range(level) for p in by_level[lv] if p not in in_cycle]
            deps.update(rng.sample(lower, min(len(lower), rng.randint(0, 2))))
        needs[name] = sorted(deps)
    return SyntheticRelease(names, needs, pairs, depth)


def write_spec(dest: Path, name: str, needs: list[str], level: int, partner: str | None) -> Path:
    brs = "".join(f"BuildRequires:  {dep}-devel\n" for dep in needs)
    if partner:
        brs += f"%if %{{without bootstrap}}\nBuildRequires:  {partner}-devel\n%endif\n"
    text = SPEC.format(
        name=name,
        level=level,
        node=name.upper() + "_1.0",
        buildrequires=brs,
        includes="\n".join(f"#include <{dep}.h>" for dep in needs),
        calls="".join(f" + {dep}_value()" for dep in needs),
        libs=" ".join(f"-l{dep}" for dep in needs),
    )
    tree = dest / name
    tree.mkdir(parents=True, exist_ok=True)
    spec = tree / f"{name}.spec"
    spec.write_text(text, encoding="utf-8")
    return spec


def generate_release(dest: Path, n: int, *, depth: int = 8, cycles: int = 3) -> SyntheticRelease:
    """Write one dist-git tree (just a spec) per package under ``dest``."""
    release = plan_release(n, depth=depth, cycles=cycles)
    partner = {a: b for a, b in release.cycles} | {b: a for a, b in release.cycles}
    level_of: dict[str, int] = {}
    for name in release.names:
        deps = release.needs[name]
        level_of[name] = 1 + max((level_of[d] for d in deps), default=-1)
        write_spec(dest, name, deps, level_of[name], partner.get(name))
    return release
