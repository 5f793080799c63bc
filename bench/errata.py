"""Benchmark: ``errata generate`` at feed scale, and a ``watch`` cycle over 1,000 upstreams.

1. The 1,603 Red Hat advisories the AlmaLinux 8 OSV feed rebuilds (1,601 RHSA + 2 RHBA,
   found the way parity maps them: the ALSA's ADVISORY reference, else the same number),
   each carrying the fixed EVRs the feed states, against a synthetic published repository
   of 10,000 packages (primary.xml written with createrepo_c's bindings: every fixed
   package name at its fix EVR, one in ten one release behind so that advisories go
   pending, the rest filler). Target: under 10 s from reading primary.xml to the stored
   advisories. Anchor: createrepo_c parsing that primary.xml with a no-op callback.
2. ``watch``: 1,000 local bare git upstreams (file:// URLs) with no change, polled with
   ``git ls-remote`` on a pool of 16, plus the store look-up of the last states. Target:
   under 30 s per cycle. Anchor: the same polls one at a time (jobs=1), run once.

    .venv/bin/python bench/errata.py [--repeat N]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
TESTDATA = Path(os.environ.get("ELFORGE_TESTDATA", ROOT.parent / "shared" / "testdata"))
if not (TESTDATA / "MANIFEST.tsv").is_file():  # a worktree sits one level deeper
    TESTDATA = ROOT.parent.parent / "shared" / "testdata"
FEED = TESTDATA / "security" / "almalinux-osv" / "almalinux8"
PACKAGES = 10_000
UPSTREAMS = 1_000


def _median(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), result


def reference_advisories() -> list[Any]:
    """The Red Hat advisories the AlmaLinux 8 feed rebuilds, with the feed's fixed EVRs."""
    from dataclasses import replace

    from elforge.security.mapping import is_reference_id
    from elforge.security.sources import load_source

    feed = load_source(FEED)
    out: dict[str, Any] = {}
    for adv in feed.advisories.values():  # the ADVISORY references, as parity reads them
        for ref in adv.related_advisories:
            if is_reference_id(ref) and ref not in out:
                out[ref] = replace(adv, id=ref, source="reference", related_advisories=())
    return list(out.values())


def write_repository(dest: Path, refs: list[Any]) -> int:
    """A 10,000-package repository: fix EVRs, one in ten behind, filler to the count."""
    import createrepo_c as cr

    from elforge.security.versions import evr_covers

    newest: dict[str, tuple[int, str, str]] = {}
    for adv in refs:
        for p in adv.packages:
            evr = (p.epoch, p.version, p.release)
            if p.name not in newest or evr_covers(evr, newest[p.name]):
                newest[p.name] = evr
    rows = []
    for i, (name, (epoch, version, release)) in enumerate(sorted(newest.items())):
        if i % 10 == 0:  # behind the fix: those advisories stay pending
            release = "0.1"
        rows.append((name, epoch, version, release))
    rows += [(f"filler-{n:05d}", 0, "1.0", "1.el8") for n in range(PACKAGES - len(rows))]
    (dest / "repodata").mkdir(parents=True)
    primary = cr.PrimaryXmlFile(str(dest / "repodata" / "primary.xml.gz"), cr.GZ_COMPRESSION)
    primary.set_num_of_pkgs(len(rows))
    for n, (name, epoch, version, release) in enumerate(rows):
        pkg = cr.Package()
        pkg.name, pkg.epoch, pkg.version, pkg.release, pkg.arch = (
            name,
            str(epoch),
            version,
            release,
            "x86_64",
        )
        pkg.location_href = f"Packages/{name}-{version}-{release}.x86_64.rpm"
        pkg.pkgId, pkg.checksum_type, pkg.time_file = f"{n:064x}", "sha256", 1_700_000_000 + n
        pkg.rpm_sourcerpm = f"{name}-{version}-{release}.src.rpm"
        primary.add_pkg(pkg)
    primary.close()
    repomd = cr.Repomd()
    record = cr.RepomdRecord("primary", str(dest / "repodata" / "primary.xml.gz"))
    record.fill(cr.SHA256)
    repomd.set_record(record)
    (dest / "repodata" / "repomd.xml").write_text(repomd.xml_dump())
    return len(rows)


def bench_generate(work: Path, repeat: int) -> list[tuple[str, float]]:
    import createrepo_c as cr

    from elforge.security.errata import ErrataSettings, generate
    from elforge.security.errata_store import PublishTimes, date_erratum, save_errata
    from elforge.security.published import read_published
    from elforge.store.db import open_store

    refs = reference_advisories()
    count = write_repository(work / "repo", refs)
    primary = str(work / "repo" / "repodata" / "primary.xml.gz")
    anchor, _ = _median(
        lambda: cr.xml_parse_primary(primary, pkgcb=lambda p: True, do_files=False), repeat
    )
    read_t, index = _median(lambda: read_published([work / "repo"]), repeat)
    settings = ErrataSettings(majors=frozenset({8}))
    gen_t, result = _median(lambda: generate(refs, index, settings), repeat)

    def end_to_end(n: list[int] = [0]) -> Any:  # noqa: B006 - a fresh store per run
        n[0] += 1
        store = open_store(f"sqlite:///{work / f'state-{n[0]}.db'}")
        try:
            res = generate(refs, read_published([work / "repo"]), settings)
            times = PublishTimes(store)
            return save_errata(store, [date_erratum(e, times) for e in res.errata])
        finally:
            store.close()

    e2e_t, _ = _median(end_to_end, repeat)
    counts = result.counts()
    print(
        f"reference advisories: {len(refs)}; published packages: {count}; "
        f"published {counts['published']}, pending {counts['pending']}, "
        f"not applicable {counts['not_applicable']}"
    )
    return [
        ("anchor: createrepo_c parse of primary.xml", anchor),
        ("read_published (10,000 packages)", read_t),
        ("generate (1,603 advisories)", gen_t),
        ("end to end: read, generate, date, store", e2e_t),
    ]


def make_upstreams(root: Path) -> list[str]:
    """1,000 bare repositories with one commit on branch c8 (one made, then copied)."""
    seed = root / "seed"
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "b",
        "GIT_AUTHOR_EMAIL": "b@x",
        "GIT_COMMITTER_NAME": "b",
        "GIT_COMMITTER_EMAIL": "b@x",
    }
    subprocess.run(["git", "init", "-q", "-b", "c8", str(seed)], check=True, env=env)
    (seed / "p.spec").write_text("Name: p\n")
    subprocess.run(["git", "-C", str(seed), "add", "-A"], check=True, env=env)
    subprocess.run(["git", "-C", str(seed), "commit", "-qm", "x"], check=True, env=env)
    subprocess.run(
        ["git", "clone", "-q", "--bare", str(seed), str(root / "bare")], check=True, env=env
    )
    urls = []
    for i in range(UPSTREAMS):
        dest = root / f"pkg{i:04d}.git"
        shutil.copytree(root / "bare", dest)
        urls.append(f"file://{dest}")
    return urls


def bench_watch(work: Path, repeat: int) -> list[tuple[str, float]]:
    from elforge.store.db import open_store
    from elforge.watch.cycle import WatchOptions, run_cycle
    from elforge.watch.poll import poll_all
    from elforge.watch.timeline import last_seen, record_noticed, record_outcome
    from elforge.workspace.config import PackageEntry
    from elforge.workspace.workspace import Workspace

    urls = make_upstreams(work / "up")
    ws = Workspace.init(work / "ws")
    toml = (ws.root / "elforge.toml").read_text()
    toml += "".join(
        f'\n[[packages]]\nname = "pkg{i:04d}"\nurl = "{u}"\nlayout = "distgit"\n'
        for i, u in enumerate(urls)
    )
    (ws.root / "elforge.toml").write_text(
        toml.replace('release_branch = "c9"', 'release_branch = "c8"')
    )
    ws = Workspace.open(ws.root)
    entries: list[PackageEntry] = list(ws.config.packages)
    store = open_store(ws.store_url)
    try:
        seed = poll_all(entries, ws.root, "c8", jobs=16)
        assert all(s.token for s in seed), [s.error for s in seed if s.error][:3]
        for state in seed:  # the state a previous cycle left: everything seen and published
            eid = record_noticed(store, state, None)
            record_outcome(
                store,
                eid,
                status="published",
                nvr=None,
                commit_time=None,
                published=None,
                detail={},
            )
        t0 = time.perf_counter()
        poll_all(entries, ws.root, "c8", jobs=1)
        serial = time.perf_counter() - t0
        pool_t, _ = _median(lambda: poll_all(entries, ws.root, "c8", jobs=16), repeat)
        seen_t, seen = _median(lambda: last_seen(store, [e.name for e in entries]), repeat)
        cycle_t, report = _median(lambda: run_cycle(ws, store, WatchOptions(jobs=16)), repeat)
        assert report.events == [] and report.unchanged == UPSTREAMS and len(seen) == UPSTREAMS
    finally:
        store.close()
    print(
        f"watch: {UPSTREAMS} file:// upstreams, no change; cycle found "
        f"{report.unchanged} unchanged, {len(report.events)} changed, {len(report.errors)} errors"
    )
    return [
        ("anchor: 1,000 ls-remote polls one at a time", serial),
        ("poll_all, 16 at once", pool_t),
        ("last_seen from the store (1,000 packages)", seen_t),
        ("watch cycle (poll + store, no change)", cycle_t),
    ]


def _table(rows: list[tuple[str, float]]) -> None:
    base = rows[0][1]
    print(f"{'step':44} {'median s':>9} {'x anchor':>9}")
    for name, t in rows:
        print(f"{name:44} {t:9.3f} {t / base:9.2f}")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    if not FEED.is_dir():
        print(f"test data not found at {FEED} (set ELFORGE_TESTDATA)", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory(prefix="bench-errata-") as tmp:
        work = Path(tmp)
        _table(bench_generate(work / "gen", args.repeat))
        print()
        _table(bench_watch(work / "watch", args.repeat))
    return 0


if __name__ == "__main__":
    sys.exit(main())
