"""System tools the tests drive."""

from __future__ import annotations

import shutil

import pytest


def require_tool(*names: str) -> None:
    """Fail (not skip) when a system tool that `make test` installs is missing."""
    for name in names:
        if shutil.which(name) is None:
            pytest.fail(f"{name} is not installed; run scripts/install-system-deps.sh")
