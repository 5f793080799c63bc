"""The ``elforge`` command: global options, error handling and the command tree."""

from __future__ import annotations

import sys
import traceback
from typing import Annotated

import typer

from elforge import __version__
from elforge.cli import abi as abi_cmd
from elforge.cli import appcheck as appcheck_cmd
from elforge.cli import kabi as kabi_cmd
from elforge.cli import patch as patch_cmd
from elforge.cli import profile as profile_cmd
from elforge.cli import rpm as rpm_cmd
from elforge.cli import scan as scan_cmd
from elforge.cli import security as security_cmd
from elforge.cli import sources as sources_cmd
from elforge.cli import vercmp as vercmp_cmd
from elforge.cli import workspace as workspace_cmd
from elforge.cli.common import OPTIONS, stderr
from elforge.errors import ElforgeError

app = typer.Typer(
    name="elforge",
    help="Rebuild an Enterprise Linux from public sources and prove it binary-compatible.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"elforge {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Only errors and results.")] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Say more.")] = False,
    debug: Annotated[
        bool, typer.Option("--debug", help="Show the full traceback of an error.")
    ] = False,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version."),
    ] = False,
) -> None:
    OPTIONS.quiet, OPTIONS.verbose, OPTIONS.debug = quiet, verbose, debug


app.command("init")(workspace_cmd.init)
app.command("vercmp")(vercmp_cmd.vercmp)
app.add_typer(abi_cmd.app, name="abi")
app.add_typer(profile_cmd.app, name="profile")
app.command("appcheck")(appcheck_cmd.appcheck)
app.add_typer(rpm_cmd.app, name="rpm")
app.add_typer(kabi_cmd.app, name="kabi")
app.add_typer(security_cmd.app)
app.add_typer(patch_cmd.app, name="patch")
app.command("scan")(scan_cmd.scan)
app.command("import")(sources_cmd.import_)
app.command("sbom")(sources_cmd.sbom)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; an expected error is one line on stderr and exit code 1."""
    try:
        rc = app(args=argv, standalone_mode=False)
    except typer.Exit as exc:
        return exc.exit_code
    except typer.Abort:
        stderr.print("aborted", markup=False)
        return 130
    except ElforgeError as exc:
        if OPTIONS.debug:
            traceback.print_exc()
        stderr.print(f"error: {exc}", markup=False, style="red")
        return 1
    except typer.TyperException as exc:  # usage errors: typer's click reports them itself
        show = getattr(exc, "show", None)
        if show is not None:
            show()
        return int(getattr(exc, "exit_code", 2))
    except Exception as exc:  # the unexpected: still one line unless --debug
        if OPTIONS.debug:
            traceback.print_exc()
        else:
            stderr.print(
                f"error: {type(exc).__name__}: {exc} (rerun with --debug for the traceback)",
                markup=False,
                style="red",
            )
        return 1
    return rc if isinstance(rc, int) else 0


def entry() -> None:
    sys.exit(main())
