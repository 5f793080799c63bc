"""Helpers shared by the test modules: import them from here, never from conftest."""

from helpers.cli import CliResult, run_cli
from helpers.data import ROOT, TESTDATA
from helpers.http import serve_directory
from helpers.tools import require_tool

__all__ = ["ROOT", "TESTDATA", "CliResult", "require_tool", "run_cli", "serve_directory"]
