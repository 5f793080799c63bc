"""The ``elforge`` command: global options, error handling and the command tree."""

from __future__ import annotations

import importlib
import sys
import traceback
from typing import Annotated

import typer
from typer.core import TyperGroup

from elforge import __version__
from elforge.cli.common import OPTIONS, stderr
from elforge.cli.helptext import readable_help
from elforge.errors import ElforgeError, bounded
from elforge.logs import configure_logging, level_for

# Command name -> (module, attribute). Modules load only when their command runs (or for
# --help), so `elforge vercmp` does not pay for matplotlib, Dask or SQLAlchemy.
COMMANDS: dict[str, tuple[str, str]] = {
    "init": ("elforge.cli.workspace", "init"),
    "vercmp": ("elforge.cli.vercmp", "vercmp"),
    "rpm": ("elforge.cli.rpm", "app"),
    "import": ("elforge.cli.sources", "import_"),
    "sbom": ("elforge.cli.sources", "sbom"),
    "patch": ("elforge.cli.patch", "app"),
    "scan": ("elforge.cli.scan", "scan"),
    "abi": ("elforge.cli.abi", "app"),
    "kabi": ("elforge.cli.kabi", "app"),
    "security": ("elforge.cli.security", "app"),
    "run": ("elforge.cli.run", "run"),
    "status": ("elforge.cli.run", "status"),
    "build": ("elforge.cli.run", "build"),
    "profile": ("elforge.cli.profile", "app"),
    "appcheck": ("elforge.cli.appcheck", "appcheck"),
    "repo": ("elforge.cli.repo", "app"),
    "publish": ("elforge.cli.repo", "publish"),
    "errata": ("elforge.cli.errata", "app"),
    "watch": ("elforge.cli.watch", "watch"),
    "serve": ("elforge.cli.serve", "serve"),
    "report": ("elforge.cli.serve", "report"),
    "plan": ("elforge.cli.plan", "plan"),
}


class LazyGroup(TyperGroup):
    """The root group: resolves subcommands from COMMANDS on first use."""

    def list_commands(self, ctx: typer.Context) -> list[str]:  # type: ignore[override]
        return sorted(set(super().list_commands(ctx)) | COMMANDS.keys())

    def get_command(self, ctx: typer.Context, cmd_name: str):  # type: ignore[no-untyped-def,override]
        command = super().get_command(ctx, cmd_name)
        if command is not None or cmd_name not in COMMANDS:
            return command
        module, attr = COMMANDS[cmd_name]
        target = getattr(importlib.import_module(module), attr)
        if not isinstance(target, typer.Typer):
            single = typer.Typer()
            single.command(cmd_name)(target)
            target = single
        target._add_completion = False  # completion belongs to the root only
        command = typer.main.get_command(target)
        command.name = cmd_name
        readable_help(command, ctx)
        self.add_command(command, cmd_name)
        return command

    def format_help(self, ctx, formatter):  # type: ignore[no-untyped-def]
        readable_help(self, ctx)
        super().format_help(ctx, formatter)


app = typer.Typer(
    cls=LazyGroup,
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
    verbose: Annotated[
        bool,
        typer.Option("--verbose", "-v", help="Log each external command and its duration."),
    ] = False,
    debug: Annotated[
        bool,
        typer.Option("--debug", help="Log every step and command line; full tracebacks."),
    ] = False,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version."),
    ] = False,
) -> None:
    OPTIONS.quiet, OPTIONS.verbose, OPTIONS.debug = quiet, verbose, debug
    configure_logging(level_for(quiet=quiet, verbose=verbose, debug=debug))


# Global flags a user may also put after the subcommand (``elforge run -w WS -v``).
GLOBAL_FLAGS = frozenset({"-q", "--quiet", "-v", "--verbose", "--debug"})


def hoist_global_flags(argv: list[str]) -> list[str]:
    """Move the global flags to the front, where the root group parses them; nothing after
    a ``--`` is touched (it belongs to the subcommand's arguments)."""
    end = argv.index("--") if "--" in argv else len(argv)
    flags = [a for a in argv[:end] if a in GLOBAL_FLAGS]
    rest = [a for a in argv[:end] if a not in GLOBAL_FLAGS]
    return [*flags, *rest, *argv[end:]]


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; an expected error is one line on stderr and exit code 1."""
    argv = hoist_global_flags(sys.argv[1:] if argv is None else list(argv))
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
                f"error: {type(exc).__name__}: {bounded(str(exc), 300)} "
                "(rerun with --debug for the traceback)",
                markup=False,
                style="red",
            )
        return 1
    return rc if isinstance(rc, int) else 0


def entry() -> None:
    sys.exit(main())
