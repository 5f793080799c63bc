"""Logging set-up: one logger per module (``logging.getLogger(__name__)``), one handler.

``-q`` shows errors only, the default warnings, ``--verbose`` adds INFO (every external
command with its duration, stage results) and ``--debug`` adds DEBUG (command lines as they
start, stage decisions). Messages go to standard error, so reports on standard output stay
clean. Pool workers call :func:`configure_logging` with the coordinator's level.
"""

from __future__ import annotations

import logging
import sys

FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"
_HANDLER_NAME = "elforge"


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is when a record is emitted (tests redirect it)."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self) -> object:
        return sys.stderr

    @stream.setter
    def stream(self, value: object) -> None:
        pass


def level_for(*, quiet: bool = False, verbose: bool = False, debug: bool = False) -> int:
    if debug:
        return logging.DEBUG
    if verbose:
        return logging.INFO
    return logging.ERROR if quiet else logging.WARNING


def configure_logging(level: int) -> None:
    """Send the ``elforge`` loggers to standard error at ``level`` (idempotent)."""
    root = logging.getLogger("elforge")
    root.setLevel(level)
    for handler in root.handlers:
        if handler.get_name() == _HANDLER_NAME:
            handler.setLevel(level)
            return
    handler = _StderrHandler()
    handler.set_name(_HANDLER_NAME)
    handler.setFormatter(logging.Formatter(FORMAT, datefmt="%H:%M:%S"))
    handler.setLevel(level)
    root.addHandler(handler)
    root.propagate = False


def current_level() -> int:
    return logging.getLogger("elforge").getEffectiveLevel()
