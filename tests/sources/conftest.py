"""Fixtures for the import tests (helpers live in importfixtures.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from importfixtures import Lookaside, serve

from elforge.workspace.workspace import Workspace


@pytest.fixture
def lookaside(tmp_path: Path) -> Iterator[Lookaside]:
    """A real HTTP server on loopback (port 0) serving generated lookaside blobs."""
    yield from serve(tmp_path)


@pytest.fixture
def workspace(tmp_path: Path) -> Workspace:
    return Workspace.init(tmp_path / "ws")
