"""Where tasks run: a local process pool (default) or a Dask distributed cluster.

Both take the task function and a list of :class:`PackageSpec` and yield ``(spec, result)`` pairs
as tasks finish, in completion order; a task that raised yields its exception instead, so
one broken package never stops the others. Dask workers must see the workspace at the same
path (same host, or a shared file system).

Dask workers are long-lived services that outlive any coordinator, so a task there runs
under :func:`_dask_task`: every process it starts carries the run's token (``ELFORGE_RUN``,
so a rerun on the same host reaps a killed run's builds, as with the local pool) and a task
tag (``ELFORGE_TASK``); a watcher thread kills the tagged processes as soon as the worker
marks the task cancelled, which the scheduler does when the coordinator closes its client or
its connection drops (``kill -9`` included). The worker and scheduler processes stay up.
"""

from __future__ import annotations

import multiprocessing
import os
import secrets
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from typing import Any, Protocol

from elforge.engine.lock import TOKEN_VAR, reap_leftovers
from elforge.engine.protocol import PackageResult, PackageSpec
from elforge.engine.stages import worker_init
from elforge.errors import ConfigError, ToolError
from elforge.logs import current_level
from elforge.proc import CHILD_ENV

Task = Callable[[PackageSpec], PackageResult]
Yielded = tuple[PackageSpec, PackageResult | BaseException]


def _die_with_coordinator(coordinator: int, log_level: int) -> None:  # pragma: no cover
    """Log like the coordinator, arm the parent-death signal, then catch a coordinator that
    died before it was armed (runs in the pool's workers)."""
    worker_init(log_level)
    if os.getppid() != coordinator:
        os._exit(1)


class Executor(Protocol):
    description: str

    def run(self, fn: Task, items: Iterable[PackageSpec]) -> Iterator[Yielded]: ...

    def close(self) -> None: ...


class LocalExecutor:
    """A process pool; workers are spawned (no inherited locks or state) and die with us."""

    def __init__(self, jobs: int = 2) -> None:
        self.jobs = max(1, jobs)
        self.description = f"local ({self.jobs} processes)"
        self._pool: ProcessPoolExecutor | None = None

    def run(self, fn: Task, items: Iterable[PackageSpec]) -> Iterator[Yielded]:
        if self._pool is None:  # processes start at the first submit, one per task up to jobs
            self._pool = ProcessPoolExecutor(
                max_workers=self.jobs,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_die_with_coordinator,
                initargs=(os.getpid(), current_level()),
            )
        pending: dict[Future[PackageResult], PackageSpec] = {
            self._pool.submit(fn, item): item for item in items
        }
        while pending:
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for fut in done:
                item = pending.pop(fut)
                exc = fut.exception()
                yield item, (exc if exc is not None else fut.result())

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


TASK_VAR = "ELFORGE_TASK"
_GONE = ("cancelled", "released", "forgotten", "error", "memory")


def _dask_task(fn: Task, item: PackageSpec, run_token: str | None) -> PackageResult:
    """On a Dask worker: run ``fn(item)`` with its processes tagged, and kill them when the
    worker cancels the task (the coordinator went away) while they still run."""
    tag = secrets.token_hex(8)
    env = {TASK_VAR: tag, **({TOKEN_VAR: run_token} if run_token else {})}
    done = threading.Event()
    watcher = threading.Thread(
        target=_kill_when_cancelled, args=(_current_task(), tag, done), daemon=True
    )
    watcher.start()
    context = CHILD_ENV.set(env)
    try:
        return fn(item)
    finally:
        CHILD_ENV.reset(context)
        done.set()


def _current_task() -> tuple[Any, Any] | None:
    """(worker, task key) of the task running in this thread, when on a Dask worker."""
    try:
        from distributed import get_worker

        worker = get_worker()
        return worker, worker.get_current_task()
    except (ImportError, ValueError):
        return None


def _kill_when_cancelled(task: tuple[Any, Any] | None, tag: str, done: threading.Event) -> None:
    if task is None:
        return
    worker, key = task
    while not done.wait(0.5):
        state = getattr(worker.state.tasks.get(key), "state", None)
        if state is None or state in _GONE:
            reap_leftovers(tag, var=TASK_VAR)
            return


class DaskExecutor:
    """Tasks on a Dask distributed scheduler (``tcp://HOST:PORT``) or a given cluster."""

    def __init__(self, scheduler: Any) -> None:
        try:
            from distributed import Client
        except ImportError:  # pragma: no cover - distributed is a dependency
            raise ToolError(
                "the dask executor needs the 'distributed' package", subject="dask"
            ) from None
        try:
            self._client = Client(scheduler, timeout="20s", set_as_default=False)
        except (OSError, TimeoutError) as exc:
            raise ConfigError(
                f"cannot reach the Dask scheduler: {exc}", subject=str(scheduler)
            ) from None
        address = getattr(self._client.scheduler, "address", None) or str(scheduler)
        workers = len(self._client.scheduler_info().get("workers", {}))
        self.description = f"dask ({address}, {workers} workers)"

    def run(self, fn: Task, items: Iterable[PackageSpec]) -> Iterator[Yielded]:
        from distributed import as_completed

        token = os.environ.get(TOKEN_VAR)  # set by the workspace lock
        futures = {
            self._client.submit(_dask_task, fn, item, token, pure=False): item for item in items
        }
        if not futures:
            return
        for fut in as_completed(list(futures), loop=self._client.loop):
            item = futures[fut]
            try:
                yield item, fut.result()
            except Exception as exc:  # a task that raised, or a worker that died
                yield item, exc
            finally:
                fut.release()

    def close(self) -> None:
        self._client.close()


def make_executor(kind: str, *, jobs: int, scheduler: Any = None) -> Executor:
    if scheduler is not None or kind == "dask":
        if scheduler is None:
            raise ConfigError(
                "the dask executor needs a scheduler address (--scheduler "
                "tcp://HOST:PORT or [executor] scheduler)",
                subject="executor",
            )
        return DaskExecutor(scheduler)
    return LocalExecutor(jobs)
