"""Shared fixtures. Helper functions live in the ``helpers`` package (tests/helpers/)."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from helpers.data import TESTDATA


@pytest.fixture(scope="session")
def testdata() -> Path:
    """../shared/testdata, read in place. Missing data is an error, not a skip."""
    if not (TESTDATA / "MANIFEST.tsv").is_file():
        pytest.fail(f"test data not found at {TESTDATA} (set ELFORGE_TESTDATA)")
    return TESTDATA


@pytest.fixture
def gnupg_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A private GNUPGHOME whose gpg-agent is stopped when the test ends."""
    home = tmp_path / "gnupg"
    home.mkdir(mode=0o700)
    monkeypatch.setenv("GNUPGHOME", str(home))
    yield home
    subprocess.run(["gpgconf", "--kill", "gpg-agent"], check=False, capture_output=True)
