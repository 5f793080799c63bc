"""Every external command elforge runs goes through here, so each is logged once.

:func:`run_command` is ``subprocess.run`` and :class:`LoggedPopen` is ``subprocess.Popen``
(same arguments, same exceptions); both log the command line when it starts (DEBUG) and its
exit status and duration when it ends (INFO, so ``--verbose`` shows what ran and how long it
took). A non-zero exit is often an answer (``rpm -q``, ``git ls-remote``), not a failure:
the caller decides, so it is logged at INFO too; only a timeout is a WARNING.
"""

from __future__ import annotations

import contextvars
import logging
import os
import select
import shlex
import subprocess
import time
from collections.abc import Sequence
from os import PathLike
from typing import Any

log = logging.getLogger(__name__)

Argv = Sequence[str | PathLike[str]]
_SHOWN = 400  # characters of a command line in the log: argv can hold whole file lists


# Variables every child started in this context carries on top of the environment: a task on
# a Dask worker sets the run token here (the worker's own environment is not the coordinator's,
# and must not carry it: a rerun kills whatever does).
CHILD_ENV: contextvars.ContextVar[dict[str, str] | None] = contextvars.ContextVar(
    "child_env", default=None
)


def _with_child_env(kwargs: dict[str, Any]) -> dict[str, Any]:
    extra = CHILD_ENV.get()
    if extra:
        base = kwargs.get("env")
        kwargs["env"] = {**(os.environ if base is None else base), **extra}
    return kwargs


def describe(argv: Argv) -> str:
    text = shlex.join(str(a) for a in argv).replace("\n", "\\n")  # one log line a command
    return text if len(text) <= _SHOWN else text[:_SHOWN] + f"... ({len(argv)} arguments)"


def _finished(argv: Argv, returncode: int, started: float) -> None:
    seconds = time.monotonic() - started
    log.info("ran %s (exit %d, %.2f s)", describe(argv), returncode, seconds)


def run_command(argv: Argv, **kwargs: Any) -> subprocess.CompletedProcess[Any]:
    """``subprocess.run(argv, **kwargs)``, logged; ``check`` defaults to False."""
    kwargs.setdefault("check", False)
    log.debug("run %s", describe(argv))
    started = time.monotonic()
    try:
        proc = subprocess.run(argv, **_with_child_env(kwargs))
    except subprocess.TimeoutExpired:
        log.warning("timed out %s (after %.2f s)", describe(argv), time.monotonic() - started)
        raise
    except subprocess.CalledProcessError as exc:
        _finished(argv, exc.returncode, started)
        raise
    except OSError as exc:
        log.info("could not run %s: %s", describe(argv), exc)
        raise
    _finished(argv, proc.returncode, started)
    return proc


class LoggedPopen(subprocess.Popen[Any]):
    """``subprocess.Popen`` that logs its start, and its exit and duration when reaped."""

    def __init__(self, argv: Argv, *, shown: Argv | None = None, **kwargs: Any) -> None:
        """``shown``: the command to log when ``argv`` only wraps it (a guardian shell)."""
        logged = argv if shown is None else shown
        log.debug("start %s", describe(logged))
        self._logged_argv = logged
        self._started = time.monotonic()
        self._reported = False
        try:
            super().__init__(argv, **_with_child_env(kwargs))
        except OSError as exc:
            log.info("could not run %s: %s", describe(logged), exc)
            raise

    def wait(self, timeout: float | None = None) -> int:
        if timeout is not None and self.returncode is None:
            _exited_within(self, timeout)
        rc = super().wait()
        if not self._reported:
            self._reported = True
            _finished(self._logged_argv, rc, self._started)
        return rc


def _exited_within(proc: subprocess.Popen[Any], timeout: float) -> None:
    """Block until ``proc`` exits or ``timeout`` passes (then ``TimeoutExpired``).

    ``Popen.wait(timeout)`` polls with sleeps of up to 50 ms, which a short build pays on
    every command; a pidfd wakes the waiter the moment the process exits."""
    try:
        fd = os.pidfd_open(proc.pid)
    except (AttributeError, OSError):  # no pidfd (old kernel): the polling wait
        subprocess.Popen.wait(proc, timeout)
        return
    try:
        ready, _, _ = select.select([fd], [], [], max(0.0, timeout))
    finally:
        os.close(fd)
    if not ready:
        raise subprocess.TimeoutExpired(proc.args, timeout)
