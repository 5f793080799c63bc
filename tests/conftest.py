"""Shared fixtures. Helper functions live in the ``helpers`` package (tests/helpers/)."""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from helpers.data import TESTDATA
from helpers.postgres import PostgresServer, start_postgres


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


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """Debian's PostgreSQL, a private cluster started for this session and stopped after it."""
    server = start_postgres()
    yield server
    server.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def store_backend(request: pytest.FixtureRequest) -> str:
    """Run a store test on both back ends; the PostgreSQL one starts the session's cluster."""
    return str(request.param)


@pytest.fixture
def new_store_url(
    store_backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> Callable[[], str]:
    """Makes fresh, empty stores of the parametrised back end; returns their URLs."""
    if store_backend == "sqlite":
        count = iter(range(1_000_000))
        return lambda: f"sqlite:///{tmp_path / 'stores' / str(next(count)) / 'state.db'}"
    server: PostgresServer = request.getfixturevalue("postgres")
    return server.new_database


@pytest.fixture
def store_url(new_store_url: Callable[[], str]) -> str:
    """A fresh, empty store of the parametrised back end."""
    return new_store_url()
