"""Fixtures for the patching tests."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _fixed_date(monkeypatch: pytest.MonkeyPatch) -> None:
    """Changelog entries carry a date: pin it (2023-11-14) so trees compare."""
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
