"""Run the elforge CLI in-process, as a user's shell would, and capture what it says."""

from __future__ import annotations

import io
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass


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
