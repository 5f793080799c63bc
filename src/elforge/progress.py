"""Progress reporting that domain code can call without knowing about terminals.

Domain functions accept a :class:`Progress`; the CLI passes a Rich progress bar, tests and
library callers get :data:`NO_PROGRESS`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Protocol, TypeVar

T = TypeVar("T")


class Progress(Protocol):
    def start(self, description: str, total: int | None) -> None: ...

    def advance(self, amount: int = 1, *, note: str = "") -> None: ...

    def finish(self) -> None: ...


class NoProgress:
    def start(self, description: str, total: int | None) -> None:
        pass

    def advance(self, amount: int = 1, *, note: str = "") -> None:
        pass

    def finish(self) -> None:
        pass


NO_PROGRESS: Progress = NoProgress()


def tracked(
    items: Iterable[T], progress: Progress, description: str, total: int | None = None
) -> Iterator[T]:
    """Yield ``items`` while advancing ``progress`` one step per item."""
    if total is None and hasattr(items, "__len__"):
        total = len(items)  # type: ignore[arg-type]
    progress.start(description, total)
    try:
        for item in items:
            yield item
            progress.advance()
    finally:
        progress.finish()
