"""Shared fixtures: where the third-party test data lives, and a CLI runner."""

from __future__ import annotations

import functools
import http.server
import io
import os
import shutil
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager, redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TESTDATA = Path(os.environ.get("ELFORGE_TESTDATA", ROOT.parent / "shared" / "testdata"))


@pytest.fixture(scope="session")
def testdata() -> Path:
    """../shared/testdata, read in place. Missing data is an error, not a skip."""
    if not (TESTDATA / "MANIFEST.tsv").is_file():
        pytest.fail(f"test data not found at {TESTDATA} (set ELFORGE_TESTDATA)")
    return TESTDATA


def require_tool(*names: str) -> None:
    """Fail (not skip) when a system tool that `make test` installs is missing."""
    for name in names:
        if shutil.which(name) is None:
            pytest.fail(f"{name} is not installed; run scripts/install-system-deps.sh")


@pytest.fixture
def gnupg_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A private GNUPGHOME whose gpg-agent is stopped when the test ends."""
    home = tmp_path / "gnupg"
    home.mkdir(mode=0o700)
    monkeypatch.setenv("GNUPGHOME", str(home))
    yield home
    subprocess.run(["gpgconf", "--kill", "gpg-agent"], check=False, capture_output=True)


@contextmanager
def serve_directory(directory: Path) -> Iterator[str]:
    """Serve ``directory`` over HTTP on 127.0.0.1 (a free port); yield the base URL."""

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(Quiet, directory=str(directory))
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@dataclass
class CliResult:
    exit_code: int
    stdout: str
    stderr: str


def run_cli(*args: str) -> CliResult:
    """Run the elforge CLI in-process, capturing its output and exit code."""
    from elforge.cli import common
    from elforge.cli.main import main

    out, err = io.StringIO(), io.StringIO()
    saved = (common.OPTIONS.quiet, common.OPTIONS.verbose, common.OPTIONS.debug)
    old_console_file = common.stderr.file
    common.stderr.file = err
    try:
        with redirect_stdout(out), redirect_stderr(err):
            code = main(list(args))
    finally:
        common.stderr.file = old_console_file
        common.OPTIONS.quiet, common.OPTIONS.verbose, common.OPTIONS.debug = saved
    return CliResult(code, out.getvalue(), err.getvalue())
