"""The pipeline on the bundled example: results, incrementality, crash safety, the lock, Dask."""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from engine_fixtures import (  # noqa: F401 - fixtures are registered by import
    baseline_fixture,
    example_workspace,
    fingerprint,
    reference_rpms_fixture,
)
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError, ProgrammingError

from elforge.engine.lock import WorkspaceLock, WorkspaceLocked
from elforge.engine.pipeline import RunOptions, run_pipeline
from elforge.workspace.workspace import Workspace
from helpers import run_cli

pytestmark = [pytest.mark.system, pytest.mark.slow]
ELFORGE = Path(sys.executable).parent / "elforge"


def _rows(ws: Workspace, table: str) -> int:
    with sqlite3.connect(ws.state_dir / "state.db") as db:
        return int(db.execute(f"SELECT count(*) FROM {table}").fetchone()[0])


def test_run_summary_on_the_example(baseline: tuple[Workspace, dict[str, Any]]) -> None:
    ws, summary = baseline
    assert summary["schema"] == "elforge.run/1"
    assert summary["packages_total"] == 9
    counts = summary["counts"]
    assert counts["imported"] == 9
    assert counts["failed"] == 0
    rows = {row["name"]: row for row in summary["packages"]}
    # packages without a patch config are rebuilt unchanged
    for name in ("acme-docs", "libgreet", "libcheer", "cheer", "acme-docgen", "acme-fmt"):
        assert rows[name]["patch"] == "identical" and rows[name]["build"] == "built"
    assert rows["libgreet"]["nvr"] == "libgreet-1.2-3.el9"
    # debranded, and the vendor patch that removes a symbol
    for name, nvr in (
        ("acme-release", "acme-release-9.4-1.el9.forge.1"),
        ("libtally", "libtally-2.0-1.el9.forge.1"),
    ):
        assert rows[name]["patch"] == "patched" and rows[name]["build"] == "built"
        assert rows[name]["nvr"] == nvr
    # the drifted config stops the chain: nothing undebranded is built
    motd = rows["acme-motd"]
    assert motd["patch"] == "drifted" and motd["build"] is None
    assert "Welcome to Acme Enterprise Linux Server" in motd["error"]
    assert counts == {
        "imported": 9,
        "identical": 6,
        "patched": 2,
        "drifted": 1,
        "failed": 0,
        "built": 8,
        "skipped": 0,
    }
    # ABI against the reference binaries: the vendor patch removed tally_reset on purpose
    assert summary["abi"] == {"identical": 6, "compatible": 1, "incompatible": 1}
    assert rows["libtally"]["abi_verdict"] == "incompatible"
    assert "tally_reset@@TALLY_1.0" in rows["libtally"]["error"]
    assert rows["libgreet"]["abi_verdict"] == "identical"
    abi_reports = sorted(p.name for p in (ws.root / "reports" / "abi").glob("*.json"))
    assert "libtally.x86_64.json" in abi_reports and "greet.x86_64.json" in abi_reports
    report = Path(summary["report"])
    assert json.loads(report.read_text())["schema"] == "elforge.run/1"
    assert report.with_suffix(".html").is_file()
    assert summary["publish"]["status"] == "published"
    published = summary["publish"]["output"]["repos"]
    repos = {r["name"]: Path(r["path"]) for r in published if r["kind"] == "binary"}
    assert sorted(repos) == ["AppStream", "BaseOS"]
    # the source RPMs as EL lays them out: BaseOS/Source, AppStream/Source
    sources = {r["name"]: r["packages"] for r in published if r["kind"] == "source"}
    assert sources == {"AppStream/Source": 3, "BaseOS/Source": 5}
    assert summary["publish"]["output"]["sources"] == 8
    for repo in repos.values():
        assert (repo / "repodata" / "repomd.xml").is_file()
    placed = {p.name for repo in repos.values() for p in (repo / "Packages").glob("*.rpm")}
    assert len(placed) == summary["publish"]["output"]["packages"] == 12
    assert "libtally-devel-2.0-1.el9.forge.1.x86_64.rpm" in {
        p.name for p in (repos["AppStream"] / "Packages").glob("*.rpm")
    }


def test_rerun_reuses_everything_and_adds_no_rows(reference_rpms: Path, tmp_path: Path) -> None:
    ws = example_workspace(tmp_path / "ws", reference_rpms)
    first = run_pipeline(ws)
    tables = ("stage_runs", "builds", "artifacts", "upstream_imports", "patch_results")
    before = {t: _rows(ws, t) for t in tables}
    second = run_pipeline(ws)
    assert {t: _rows(ws, t) for t in tables} == before
    assert second["reused"]["import"] == 9
    assert second["reused"].get("build", 0) == first["counts"]["built"]
    assert second["publish"]["reused"] is True
    # an upstream change rebuilds that package only
    spec = ws.root / "upstream" / "acme-docs" / "acme-docs.spec"
    spec.write_text(spec.read_text().replace("Release:        2", "Release:        3"))
    third = run_pipeline(ws)
    docs = next(p for p in third["packages"] if p["name"] == "acme-docs")
    assert docs["nvr"] == "acme-docs-1.0-3.el9" and docs["reused"] == []
    assert third["reused"]["import"] == 8
    assert _rows(ws, "builds") == before["builds"] + 1
    assert third["publish"]["reused"] is False


def _count(url: str, sql: str) -> int:
    """One number from the store, or 0 while its tables do not exist yet."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(text(sql)).scalar_one())
    except (OperationalError, ProgrammingError):
        return 0
    finally:
        engine.dispose()


DONE_SUBJECTS = "SELECT count(DISTINCT subject) FROM stage_runs WHERE subject != '*'"


def test_kill_9_mid_run_then_rerun_matches_an_uninterrupted_run(
    baseline: tuple[Workspace, dict[str, Any]],
    reference_rpms: Path,
    tmp_path: Path,
    store_url: str,
) -> None:
    ws = example_workspace(tmp_path / "ws", reference_rpms, jobs=1, store_url=store_url)
    proc = subprocess.Popen(
        [ELFORGE, "-q", "run", "-w", str(ws.root)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    killed_after = None
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        done = _count(store_url, DONE_SUBJECTS)
        if done >= 1:
            os.kill(proc.pid, signal.SIGKILL)
            killed_after = done
            break
        time.sleep(0.02)
    proc.wait()
    if killed_after is None:
        pytest.fail(f"the run ended before it could be killed: {proc.stderr.read()!r}")  # type: ignore[union-attr]
    assert proc.returncode == -signal.SIGKILL
    recorded = _count(store_url, DONE_SUBJECTS)
    unfinished = _count(store_url, "SELECT count(*) FROM pipeline_runs WHERE finished IS NULL")
    assert 1 <= recorded < 9, "kill -9 was meant to land mid-run"
    assert unfinished == 1
    # the lock died with the process: the rerun is not refused, and finishes the rest
    rerun = subprocess.run(
        [ELFORGE, "-q", "run", "-w", str(ws.root), "--format", "json"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert rerun.returncode in (0, 3), rerun.stderr
    summary = json.loads(rerun.stdout)
    assert summary["reused"]["import"] == recorded
    assert fingerprint(ws) == fingerprint(baseline[0])
    # the packages' state equals the uninterrupted run's; only the rest was done again
    assert summary["totals"] == baseline[1]["counts"]
    assert summary["counts"]["imported"] == 9 - recorded


def test_a_second_concurrent_run_is_refused(reference_rpms: Path, tmp_path: Path) -> None:
    ws = example_workspace(tmp_path / "ws", reference_rpms)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from pathlib import Path; "
            "from elforge.engine.lock import WorkspaceLock; "
            "lock = WorkspaceLock(Path(sys.argv[1])); lock.acquire(); print('held', flush=True); "
            "time.sleep(60)",
            str(ws.state_dir),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        result = run_cli("run", "-w", str(ws.root))
        assert result.exit_code == 1
        assert "another elforge run holds this workspace" in result.stderr
        assert f"pid {holder.pid}" in result.stderr
        with pytest.raises(WorkspaceLocked):
            WorkspaceLock(ws.state_dir).acquire()
    finally:
        holder.kill()
        holder.wait()
    with WorkspaceLock(ws.state_dir):  # released when the holder died
        pass


def test_dask_local_cluster_gives_the_same_results(
    baseline: tuple[Workspace, dict[str, Any]], reference_rpms: Path, tmp_path: Path
) -> None:
    from distributed import LocalCluster

    ws = example_workspace(tmp_path / "ws", reference_rpms)
    with LocalCluster(
        n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None, host="127.0.0.1"
    ) as cluster:
        summary = run_pipeline(ws, RunOptions(scheduler=cluster.scheduler_address))
    assert summary["executor"].startswith("dask (tcp://127.0.0.1:")
    assert "2 workers" in summary["executor"]
    assert summary["counts"] == baseline[1]["counts"]
    assert fingerprint(ws) == fingerprint(baseline[0])


def test_stage_subset_and_unknown_stage(reference_rpms: Path, tmp_path: Path) -> None:
    ws = example_workspace(tmp_path / "ws", reference_rpms)
    result = run_cli("run", "-w", str(ws.root), "--stages", "import,frobnicate")
    assert result.exit_code == 1 and "unknown stage(s) frobnicate" in result.stderr
    result = run_cli(
        "run", "-w", str(ws.root), "--stages", "import", "-p", "acme-docs", "--format", "json"
    )
    assert result.exit_code == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["packages_total"] == 1 and summary["counts"]["imported"] == 1
    assert summary["packages"][0]["build"] is None
    status = run_cli("status", "-w", str(ws.root), "--format", "json")
    data = json.loads(status.stdout)
    assert data["schema"] == "elforge.status/1"
    docs = next(p for p in data["packages"] if p["name"] == "acme-docs")
    assert docs["stages"]["import"]["status"] == "imported"
    assert data["last_run"]["status"] == "finished"


def test_git_upstream_goes_through_the_importer(reference_rpms: Path, tmp_path: Path) -> None:
    """A git URL is imported by elforge.sources (mirror + provenance), then built; a rerun
    reuses it and the importer's provenance row is not duplicated."""
    ws = example_workspace(tmp_path / "ws", reference_rpms)
    upstream = tmp_path / "acme-docs.git-src"
    shutil.copytree(ws.root / "upstream" / "acme-docs", upstream)
    git = ["git", "-C", str(upstream), "-c", "user.email=t@example.invalid", "-c", "user.name=t"]
    subprocess.run(["git", "init", "-q", "-b", "c9", str(upstream)], check=True)
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-qm", "import"], check=True)
    config = (ws.root / "elforge.toml").read_text()
    config = config.replace(
        'url = "upstream/acme-docs"\nlayout = "distgit"',
        f'url = "file://{upstream}"\nbranch = "c9"',
    )
    (ws.root / "elforge.toml").write_text(config)
    ws = Workspace.open(ws.root)
    first = run_pipeline(ws, RunOptions(packages=["acme-docs"]))
    row = first["packages"][0]
    assert (row["import"], row["patch"], row["build"]) == ("imported", "identical", "built")
    assert row["nvr"] == "acme-docs-1.0-2.el9" and row["abi_verdict"] == "identical"
    assert (ws.root / "git" / "acme-docs.git").is_dir()
    second = run_pipeline(ws, RunOptions(packages=["acme-docs"]))
    assert second["packages"][0]["reused"][:2] == ["build", "import"]
    assert _rows(ws, "upstream_imports") == 1


def test_a_failing_build_is_recorded_and_the_others_go_on(
    reference_rpms: Path, tmp_path: Path
) -> None:
    ws = example_workspace(tmp_path / "ws", reference_rpms)
    broken = ws.root / "upstream" / "broken"
    broken.mkdir()
    (broken / "broken.spec").write_text(
        "Name: broken\nVersion: 1\nRelease: 1\nSummary: s\nLicense: MIT\nBuildArch: noarch\n"
        "%description\nd\n%build\necho the-compiler-says-no\nexit 1\n%files\n%changelog\n"
    )
    with (ws.root / "elforge.toml").open("a") as fh:
        fh.write('\n[[packages]]\nname = "broken"\nurl = "upstream/broken"\n')
    ws = Workspace.open(ws.root)
    only = ["broken", "acme-docs"]
    result = run_cli(
        "run", "-w", str(ws.root), "-p", "broken", "-p", "acme-docs", "--format", "json"
    )
    assert result.exit_code == 3
    summary = json.loads(result.stdout)
    rows = {r["name"]: r for r in summary["packages"]}
    assert rows["broken"]["build"] == "failed" and rows["acme-docs"]["build"] == "built"
    assert summary["counts"]["failed"] == 1 and summary["counts"]["built"] == 1
    log = next((ws.root / "logs" / "build").glob("broken-*.log"))
    assert "the-compiler-says-no" in log.read_text()
    builds = _rows(ws, "builds")
    again = run_pipeline(ws, RunOptions(packages=only))
    assert "build" in next(r for r in again["packages"] if r["name"] == "broken")["reused"]
    assert _rows(ws, "builds") == builds
    # fixed upstream with the same inputs is not possible; --retry-failed runs it again
    retried = run_pipeline(ws, RunOptions(packages=only, retry_failed=True))
    assert next(r for r in retried["packages"] if r["name"] == "broken")["reused"] == [
        "import",
        "patch",
    ]
