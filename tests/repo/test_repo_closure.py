"""Closure and install-check with rpm semantics, checked against dnf's own solver.

The oracle is dnf itself (Debian's python3-dnf, under the system Python): a hawkey Goal per
package over the same repository gives the uninstallable set, and ``dnf repoclosure`` the
requirements nothing provides. Repositories are built here with rpmbuild and createrepo_c.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from repo_helpers import (  # noqa: F401
    BROKEN,
    GOOD,
    Spec,
    build_rpm,
    built_rpms_fixture,
    createrepo,
    dnf_repoclosure,
    dnf_uninstallable,
    serve,
    small_repo_fixture,
)

from elforge.repo.closure import check_closure
from elforge.repo.installcheck import install_check
from helpers import run_cli

pytestmark = pytest.mark.system
CS9 = "repodata/cs9-appstream-2024"

# One case per rule of rpm and dnf that a closure check must get right.
SEMANTICS = [
    Spec("words", arch="noarch", files=["/usr/share/dict/words"]),  # in filelists only
    Spec("needs-words", requires=["/usr/share/dict/words"]),
    Spec("needs-no-file", requires=["/usr/share/nothing/here"]),
    Spec("wants-release-less", requires=["base-libs = 1.0"]),  # rpm: matches 1.0-1
    Spec("tool-ng", version="2.0", obsoletes=["tool < 2.0"]),
    Spec("wants-tool-and-ng", requires=["tool = 1.0-1", "tool-ng"]),  # obsoleted pair
    Spec("rich-or", requires=["(app-data or missing-thing)"]),
    Spec("rich-and", requires=["(app-data and missing-thing)"]),
    Spec("rich-if", requires=["(missing-thing if tool)"]),  # only when tool is installed
    Spec("multi", arch="x86_64"),
    Spec("multi", arch="i686"),
    Spec("multi-devel", arch="i686", requires=["multi(x86-32)"]),  # lock-step with x86_64
    Spec("lonely", version="1.0", arch="x86_64"),
    Spec("lonely", version="2.0", arch="i686"),  # no x86_64 2.0, but none in its reach
    Spec("lonely-devel", arch="i686", requires=["lonely(x86-32)"]),
    Spec("kernel-core", version="1.0", provides=["installonlypkg(kernel)"]),
    Spec("kernel-core", version="2.0", provides=["installonlypkg(kernel)"]),
    Spec("wants-two-kernels", requires=["kernel-core = 1.0-1", "kernel-core = 2.0-1"]),
]


@pytest.fixture(scope="session", name="semantics_repo")
def semantics_repo_fixture(
    tmp_path_factory: pytest.TempPathFactory, built_rpms: dict[str, Path]
) -> Path:
    """A createrepo_c repository of the small distribution plus SEMANTICS."""
    top = tmp_path_factory.mktemp("semantics")
    repo = top / "repo"
    repo.mkdir()
    for rpm in built_rpms.values():
        shutil.copy(rpm, repo)
    for spec in SEMANTICS:
        shutil.copy(build_rpm(spec, top / "build"), repo)
    return createrepo(repo)


def _copy_repo(src: Path, dest: Path, names: list[str]) -> Path:
    dest.mkdir()
    for rpm in src.glob("*.rpm"):
        if rpm.name.rsplit("-", 2)[0] in names:
            shutil.copy(rpm, dest)
    return createrepo(dest)


def test_rpm_semantics_agree_with_dnf(semantics_repo: Path, tmp_path: Path) -> None:
    result = check_closure([semantics_repo], modules=False)
    checked, expected = dnf_uninstallable([semantics_repo], [], tmp_path / "dnf")
    assert result.checked == checked == len(GOOD + BROKEN + SEMANTICS)
    assert set(result.uninstallable) == expected
    broken = {u.rsplit("-", 2)[0] for u in expected}
    assert broken == {
        "needs-missing",
        "needs-broken",
        "wants-new-base",
        "conflicts-base",
        "needs-no-file",
        "wants-tool-and-ng",
        "rich-and",
    }  # multi-devel and lonely-devel install: lock-step, no x86_64 in reach
    assert result.filelists_loaded == [str(semantics_repo)]  # read: primary lacks the path
    # dnf repoclosure's direct unresolved requirements are elforge's own root causes; its
    # provider lookup does not solve rich dependencies: it flags the conditional one (which
    # installs) and passes the conjunction with a missing half (which the solver refuses)
    direct = dnf_repoclosure(semantics_repo, [], tmp_path / "repoclosure")
    assert direct.pop("rich-if-1.0-1.x86_64") == {"(missing-thing if tool)"}
    ours = {
        p.package: {p.root_requirement}
        for p in result.problems
        if p.kind == "nothing-provides" and p.root_package == p.package
    }
    assert ours.pop("rich-and-1.0-1.x86_64") == {"(app-data and missing-thing)"}
    assert ours == direct and len(direct) == 3


def test_root_causes_are_grouped(semantics_repo: Path) -> None:
    result = check_closure([semantics_repo], modules=False)
    causes = {c["cause"]: c for c in result.root_causes()}
    missing = causes["nothing provides libmissing.so.7()(64bit)"]
    assert missing["needed_by"] == ["needs-missing-1.0-1.x86_64"]
    assert missing["affects"] == ["needs-broken-1.0-1.x86_64", "needs-missing-1.0-1.x86_64"]
    by_pkg = {p.package: p for p in result.problems}
    fallout = by_pkg["needs-broken-1.0-1.x86_64"]
    assert fallout.requirement == "needs-missing"  # its own requirement...
    assert fallout.reason == (  # ...and the root cause
        "nothing provides libmissing.so.7()(64bit) needed by needs-missing-1.0-1.x86_64"
    )
    assert by_pkg["wants-new-base-1.0-1.x86_64"].requirement == "base-libs >= 2.0"
    assert by_pkg["conflicts-base-1.0-1.x86_64"].kind == "conflicts"


def test_built_repo_over_http_agrees_with_dnf(small_repo: Path, tmp_path: Path) -> None:
    with serve(small_repo) as (url, _log):
        result = check_closure([url], cache_dir=tmp_path / "cache", modules=False)
    _, expected = dnf_uninstallable([small_repo], [], tmp_path / "dnf")
    assert set(result.uninstallable) == expected and len(expected) == 4


def test_extra_repo_satisfies_without_being_checked(
    tmp_path: Path, built_rpms: dict[str, Path]
) -> None:
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
    checked, expected = dnf_uninstallable([apps], [base], tmp_path / "dnf")
    assert with_base.checked == checked == 4  # base-libs only satisfies, it is not checked
    assert set(with_base.uninstallable) == expected


def _corrupt_filelists(repo: Path) -> Path:
    (path,) = (repo / "repodata").glob("*-filelists.xml.gz")
    path.write_bytes(b"\x1f\x8b not gzip at all")
    return path


def test_filelists_read_only_when_a_file_requirement_needs_them(
    semantics_repo: Path, tmp_path: Path
) -> None:
    """primary.xml lists /etc and *bin/ files only: tool's /usr/bin/basetool needs no
    filelists, so a corrupt one is never read."""
    repo = _copy_repo(semantics_repo, tmp_path / "r", ["base-libs", "tool"])
    _corrupt_filelists(repo)
    result = check_closure([repo], modules=False)
    assert result.closed and result.filelists_loaded == result.filelists_errors == []


def test_corrupt_or_missing_filelists_is_one_clear_line(
    semantics_repo: Path, tmp_path: Path
) -> None:
    repo = _copy_repo(semantics_repo, tmp_path / "r", ["words", "needs-words", "app-data"])
    assert check_closure([repo], modules=False).closed
    bad = _corrupt_filelists(repo)
    out = tmp_path / "c.json"
    r = run_cli("repo", "closure", str(repo), "--no-modules", "--format", "json", "-o", str(out))
    assert r.exit_code == 4
    (line,) = [x for x in r.stderr.splitlines() if "filelists unreadable" in x]
    assert bad.name in line and "size" in line
    doc = json.loads(out.read_text())
    assert doc["uninstallable"] == ["needs-words-1.0-1.x86_64"]  # the others go on
    bad.unlink()
    result = check_closure([repo], modules=False)
    assert result.uninstallable == ["needs-words-1.0-1.x86_64"]
    (error,) = result.filelists_errors
    assert "filelists file named in repomd.xml is missing" in error


def test_install_check_reads_target_filelists_and_rpm_files(
    semantics_repo: Path, tmp_path: Path
) -> None:
    target = _copy_repo(semantics_repo, tmp_path / "t", ["words", "base-libs"])
    (needs_words,) = semantics_repo.glob("needs-words-*.rpm")
    assert install_check([needs_words], [target]).installable
    (needs_no_file,) = semantics_repo.glob("needs-no-file-*.rpm")
    bad = install_check([needs_no_file], [target])
    assert not bad.installable and "nothing provides /usr/share/nothing/here" in bad.explain()
    # a file of a command-line RPM outside primary's subset satisfies its companion
    (words,) = semantics_repo.glob("words-*.rpm")
    base_only = _copy_repo(semantics_repo, tmp_path / "b", ["base-libs"])
    assert install_check([needs_words, words], [base_only]).installable
    _corrupt_filelists(target)  # needed again: one error, decided on primary's files
    broken = install_check([needs_words], [target])
    assert not broken.installable and len(broken.filelists_errors) == 1


@pytest.mark.slow
def test_cs9_appstream_agrees_with_dnf(testdata: Path, tmp_path: Path) -> None:
    """17,649 packages without their BaseOS: nearly all uninstallable, the set equal to dnf's,
    the causes grouped. The snapshot's filelists is an empty placeholder whose checksum fails:
    reported once, decided on primary's files as dnf does with that empty file."""
    result = check_closure([testdata / CS9], modules=False, cache_dir=tmp_path / "cache")
    checked, expected = dnf_uninstallable([testdata / CS9], [], tmp_path / "dnf")
    assert result.checked == checked == 17649
    assert set(result.uninstallable) == expected and len(expected) > 16000
    (error,) = result.filelists_errors
    assert "-filelists.xml.gz: decompressed sha256" in error
    causes = {c["cause"]: c for c in result.root_causes()}
    assert len(causes["nothing provides /bin/sh"]["affects"]) > 500  # one group, not 500
    assert len(result.root_causes()[0]["affects"]) > 1000  # rtld(GNU_HASH), BaseOS's glibc
    assert len(causes) < len(result.uninstallable) / 10


@pytest.mark.slow
def test_cs9_appstream_with_modular_filtering_agrees_with_dnf(
    testdata: Path, tmp_path: Path
) -> None:
    """The default mode: dnf's modular filtering (EL9 has no default streams, so every
    modular package is hidden) and the same uninstallable set."""
    result = check_closure([testdata / CS9], cache_dir=tmp_path / "cache")
    checked, expected = dnf_uninstallable([testdata / CS9], [], tmp_path / "dnf", modules=True)
    assert result.checked == checked == 17649 - len(result.filtered)
    assert set(result.uninstallable) == expected


def test_cs9_modular_filtering(testdata: Path, tmp_path: Path) -> None:
    """EL9 has no default streams: every modular package is hidden unless enabled, and an
    enabled stream hides the non-modular packages of the same names."""
    from elforge.repo.pool import (
        apply_modular_filtering,
        load_pool,
        read_module_index,
        solvable_label,
    )

    loaded = load_pool([testdata / CS9], cache_dir=tmp_path)
    index = read_module_index(loaded)
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
    assert doc["schema"] == "elforge.repo-closure/2"
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
