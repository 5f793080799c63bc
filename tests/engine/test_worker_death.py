"""``kill -9`` of a run takes its pool workers and builds down with it; a rerun reaps leftovers."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from engine_fixtures import (  # noqa: F401 - fixtures are registered by import
    example_workspace,
    reference_rpms_fixture,
)

from elforge.engine.lock import WorkspaceLock

pytestmark = [pytest.mark.system]
ELFORGE = Path(sys.executable).parent / "elforge"


def _processes() -> dict[int, tuple[int, str, str]]:
    """pid -> (parent pid, state, command line) for every live process."""
    out: dict[int, tuple[int, str, str]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        out[int(entry.name)] = (int(fields[1]), fields[0], cmd)
    return out


def _descendants(root: int) -> dict[int, str]:
    procs = _processes()
    found, frontier = {}, [root]
    while frontier:
        parent = frontier.pop()
        for pid, (ppid, _, cmd) in procs.items():
            if ppid == parent and pid not in found:
                found[pid] = cmd
                frontier.append(pid)
    return found


def _alive(pids: set[int]) -> dict[int, str]:
    procs = _processes()
    return {p: procs[p][2] for p in pids if p in procs and procs[p][1] != "Z"}


@pytest.mark.slow
def test_kill_9_of_run_takes_workers_and_builds_down(reference_rpms: Path, tmp_path: Path) -> None:
    ws = example_workspace(tmp_path / "ws", reference_rpms, jobs=2)
    spec = ws.root / "upstream" / "acme-docs" / "acme-docs.spec"  # a long build to land in
    spec.write_text(spec.read_text().replace("%build\n", "%build\nsleep 97\n", 1))
    proc = subprocess.Popen([ELFORGE, "-q", "run", "-w", str(ws.root)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    family: dict[int, str] = {}
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            family = _descendants(proc.pid)
            if any(cmd.startswith("sleep 97") for cmd in family.values()):
                break
            time.sleep(0.05)
        else:
            pytest.fail("the build script was never seen under the run")
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        family.update(_descendants(proc.pid))
        time.sleep(2)
        assert _alive(set(family)) == {}, "outlived the coordinator"
    finally:
        for pid in _alive(set(family)):
            os.kill(pid, signal.SIGKILL)


HOLDER = """
import subprocess, sys, time
from pathlib import Path
from elforge.engine.lock import WorkspaceLock
WorkspaceLock(Path(sys.argv[1])).acquire()
child = subprocess.Popen(["sleep", "300"], start_new_session=True)  # a build's grandchild
print(child.pid, flush=True)
time.sleep(300)
"""


def test_a_rerun_reaps_what_a_killed_run_left_behind(tmp_path: Path) -> None:
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(tmp_path)],
                              stdout=subprocess.PIPE, text=True)  # fmt: skip
    assert holder.stdout is not None
    leftover = int(holder.stdout.readline())
    try:
        holder.kill()
        holder.wait()
        assert _alive({leftover}), "the detached child should have survived the holder"
        with WorkspaceLock(tmp_path):
            assert _alive({leftover}) == {}, "the next lock holder did not reap the leftover"
    finally:
        if _alive({leftover}):
            os.kill(leftover, signal.SIGKILL)


def _environ(pid: int) -> dict[str, str]:
    try:
        raw = Path(f"/proc/{pid}/environ").read_bytes()
    except OSError:
        return {}
    pairs = (item.decode(errors="replace").partition("=") for item in raw.split(b"\0") if item)
    return {k: v for k, _, v in pairs}


@pytest.mark.slow
def test_dask_builds_carry_the_run_token_and_die_with_the_coordinator(
    reference_rpms: Path, tmp_path: Path
) -> None:
    """A real LocalCluster: the build a worker starts for ``elforge run --scheduler`` carries
    the run's token (a rerun on this host can reap it); ``kill -9`` of the coordinator gets
    the task cancelled and its build killed, while the worker itself stays up."""
    from distributed import LocalCluster

    ws = example_workspace(tmp_path / "ws", reference_rpms, jobs=2)
    spec = ws.root / "upstream" / "acme-docs" / "acme-docs.spec"
    spec.write_text(spec.read_text().replace("%build\n", "%build\nsleep 98\n", 1))
    with LocalCluster(n_workers=1, processes=True, threads_per_worker=2, dashboard_address=None,
                      host="127.0.0.1") as cluster:  # fmt: skip
        workers = {w.pid for w in cluster.workers.values()}  # type: ignore[attr-defined]
        proc = subprocess.Popen([ELFORGE, "-q", "run", "-w", str(ws.root), "--scheduler",
                                 cluster.scheduler_address],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
        build: int | None = None
        try:
            deadline = time.monotonic() + 150
            while build is None and time.monotonic() < deadline and proc.poll() is None:
                build = next((p for p, (_pp, _s, cmd) in _processes().items()
                              if cmd.startswith("sleep 98")), None)  # fmt: skip
                time.sleep(0.05)
            assert build is not None, "the build script was never seen on the worker"
            lock = (ws.state_dir / "run.lock").read_text()
            assert f"token {_environ(build)['ELFORGE_RUN']}," in lock
            assert build not in _descendants(proc.pid), "the build runs under the worker"
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
            deadline = time.monotonic() + 30
            while _alive({build}) and time.monotonic() < deadline:
                time.sleep(0.1)
            assert _alive({build}) == {}, "the build outlived the coordinator by 30 s"
            assert _alive(workers) and len(_alive(workers)) == len(workers)
        finally:
            if proc.poll() is None:
                proc.kill()
            if build is not None and _alive({build}):
                os.kill(build, signal.SIGKILL)
