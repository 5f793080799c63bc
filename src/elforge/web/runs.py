"""Starting a run over HTTP (``POST /api/runs``) and following one (server-sent events).

A run started here is the ordinary ``elforge run`` command in its own process (same lock, same
store, same reports); the server waits until the run has recorded itself in the store and
answers with its id. Progress is what the engine records: the packages whose outcomes a run
has written, polled from the store. A package whose outcomes were all reused writes nothing
new, so it shows in the totals once the run's summary is written.
"""

from __future__ import annotations

import hmac
import json
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import asdict, dataclass
from pathlib import Path

import anyio

from elforge.proc import LoggedPopen
from elforge.store.db import Store
from elforge.web import queries
from elforge.web.readmodel import ReadModel

RUN_STAGES = ("import", "patch", "build", "verify", "publish")
MIN_TOKEN_LENGTH = 16
START_WAIT_SECONDS = 20.0


@dataclass(frozen=True)
class StartedRun:
    run_id: int | None
    pid: int
    log: str
    error: str | None  # the command's last line when it stopped before recording a run


def token_matches(configured: str | None, header: str | None) -> bool:
    """True when ``header`` is ``Bearer <configured token>`` (constant-time comparison)."""
    if not configured or not header or not header.startswith("Bearer "):
        return False
    return hmac.compare_digest(header.removeprefix("Bearer ").encode(), configured.encode())


def start_run(store: Store, workspace: Path, packages: list[str], stages: list[str]) -> StartedRun:
    """Start ``elforge run`` for the workspace in its own session; wait for its run id."""
    before = queries.latest_run_id(store) or 0
    logs = workspace / ".elforge" / "serve"
    logs.mkdir(parents=True, exist_ok=True)
    log = logs / f"run-{time.strftime('%Y%m%dT%H%M%S', time.gmtime())}-{time.monotonic_ns()}.log"
    argv = [sys.executable, "-m", "elforge", "-q", "run", "-w", str(workspace)]
    if stages:
        argv += ["--stages", ",".join(stages)]
    for name in packages:
        argv += ["--package", name]
    with log.open("wb") as out:
        proc = LoggedPopen(
            argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True,
        )  # fmt: skip
    deadline = time.monotonic() + START_WAIT_SECONDS
    while time.monotonic() < deadline:
        newest = queries.latest_run_id(store) or 0
        if newest > before:
            return StartedRun(newest, proc.pid, str(log), None)
        if proc.poll() is not None and proc.returncode not in (0, None):
            lines = log.read_text(encoding="utf-8", errors="replace").strip().splitlines()
            return StartedRun(None, proc.pid, str(log), (lines[-1] if lines else "failed")[:500])
        time.sleep(0.1)
    return StartedRun(None, proc.pid, str(log), None)


async def progress_events(
    model: ReadModel, run_id: int, *, interval: float = 0.5
) -> AsyncIterator[str]:
    """Server-sent events: the run's progress whenever it changes, until it has finished.

    The store is read in a worker thread; waiting between polls holds no thread.
    """
    last = ""
    idle = 0
    while True:
        detail = await anyio.to_thread.run_sync(queries.run_detail, model, run_id)
        if detail is None:
            yield "event: gone\ndata: {}\n\n"
            return
        payload = json.dumps(asdict(detail), default=str, sort_keys=True)
        if payload != last:
            last = payload
            yield f"event: progress\ndata: {payload}\n\n"
        else:
            idle += 1
            if idle % 30 == 0:
                yield ": keep-alive\n\n"
        if detail.run.finished is not None:
            yield "event: finished\ndata: {}\n\n"
            return
        await anyio.sleep(interval)
