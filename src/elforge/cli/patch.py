"""``elforge patch``: debrand package trees with patch configs; report, ledger."""

from __future__ import annotations

import sys
from dataclasses import replace
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from elforge.cli.common import OPTIONS, FormatOption, OutputOption, emit, info, progress, stderr
from elforge.errors import ConfigError
from elforge.patching import apply_config
from elforge.patching.batch import (
    PatchSettings,
    package_trees,
    patch_repositories,
    patch_trees,
)
from elforge.patching.gitrepo import is_repo
from elforge.patching.ledger import ledger_document, load_outcomes, render_ledger, rows_for
from elforge.patching.outcome import PatchOutcome
from elforge.patching.report import outcome_document, report_document
from elforge.report.render import OutputFormat

app = typer.Typer(
    help="Debrand package trees with patch configs (elforge, autopatch or srpmproc format).",
    no_args_is_help=False,
)

EXIT_FAILED = 1
EXIT_DRIFTED = 4

ConfigFormat = Annotated[
    str,
    typer.Option("--config-format", help="auto, elforge, autopatch or srpmproc (auto detects it)."),
]
NoApplyCheckOption = Annotated[
    bool, typer.Option("--no-apply-check", help="Do not rpmbuild -bp to check added patches.")
]
AllowScriptsOption = Annotated[
    bool, typer.Option("--allow-scripts", help="Let configs that allow it run scripts.")
]


def _exit_code(outcomes: list[PatchOutcome]) -> int:
    statuses = {o.status for o in outcomes}
    if "failed" in statuses:
        return EXIT_FAILED
    if "drifted" in statuses:
        return EXIT_DRIFTED
    return 0


def _print_problems(outcomes: list[PatchOutcome]) -> None:
    """Errors always, one unwrapped line each; drift (with its excerpt) unless --quiet."""
    for o in outcomes:
        for d in o.diagnostics:
            if d.kind == "error":
                stderr.print(f"error: {d.file}: {d.problem}", markup=False, soft_wrap=True)
            elif not OPTIONS.quiet:
                stderr.print(f"drift: {o.package}: {d.line()}", markup=False, soft_wrap=True)


@app.callback(invoke_without_command=True)
def patch(
    ctx: typer.Context,
    packages: Annotated[
        Path | None,
        typer.Option(
            "--packages", help="Folder of package trees (default: the workspace's git/ folder)."
        ),
    ] = None,
    configs: Annotated[
        Path | None,
        typer.Option("--configs", help="Patch-config folder (default: the workspace's)."),
    ] = None,
    branch: Annotated[
        str | None,
        typer.Option("--branch", help="Patched branch to commit to (default: the workspace's)."),
    ] = None,
    upstream: Annotated[
        str | None,
        typer.Option("--upstream", help="Upstream branch or ref to patch (default: HEAD)."),
    ] = None,
    release: Annotated[
        str | None, typer.Option("--release", help="Release folder/branch of the configs.")
    ] = None,
    config_format: ConfigFormat = "auto",
    report: Annotated[
        bool,
        typer.Option("--report", help="Only classify (dry run): identical/patched/drifted/failed."),
    ] = False,
    no_apply_check: NoApplyCheckOption = False,
    allow_scripts: AllowScriptsOption = False,
    fmt: FormatOption = OutputFormat.text,
    output: OutputOption = None,
) -> None:
    """Patch every package of the workspace (or --packages): commit git trees to --branch
    and tag changed/BRANCH/NVR; plain folders are patched in place. --report only classifies."""
    if ctx.invoked_subcommand is not None:
        return
    dist = None
    if packages is None or configs is None or branch is None:
        from elforge.workspace.workspace import Workspace

        try:
            ws = Workspace.open()
        except Exception as exc:
            raise ConfigError(
                "no workspace here: give --packages, --configs and --branch, "
                f"or run inside a workspace ({exc})"
            ) from None
        patch_opts = ws.options.patch
        packages = packages or ws.git_dir
        if configs is None:
            if patch_opts.configs is None:
                raise ConfigError("[patch] configs is not set", subject=ws.root / "elforge.toml")
            configs = patch_opts.configs
        branch = branch or patch_opts.branch
        dist = patch_opts.settings.dist
        if config_format == "auto":
            config_format = patch_opts.settings.config_format
        allow_scripts = allow_scripts and patch_opts.settings.allow_scripts
    if not packages.is_dir():
        raise ConfigError("no such folder", subject=packages)
    trees = package_trees(packages)
    # git repositories get the commit workflow; plain folders are patched in place
    repos = [] if report else [t for t in trees if is_repo(t)]
    plain = [t for t in trees if t not in repos]
    outcomes: list[PatchOutcome] = []
    settings = PatchSettings(
        config_format=config_format,
        release=release,
        dist=dist,
        apply_check=not no_apply_check,
        allow_scripts=allow_scripts,
    )
    if repos:
        pairs = patch_repositories(
            repos,
            configs,
            settings,
            branch=branch,
            upstream_ref=upstream or "HEAD",
            progress=progress(),
        )
        outcomes += [o for o, _ in pairs]
        for o, c in pairs:
            if c is not None and c.tag:
                info(f"{o.package}: {c.note}, tagged {c.tag}")
    if plain:
        outcomes += patch_trees(
            plain,
            configs,
            replace(settings, apply_check=settings.apply_check and not report),
            dry_run=report,
            progress=progress(),
        )
    _print_problems(outcomes)
    emit(report_document(outcomes), fmt, output)
    raise typer.Exit(0 if report else _exit_code(outcomes))


@app.command("apply")
def apply(
    tree: Annotated[Path, typer.Option("--tree", help="The package tree to patch.")],
    config: Annotated[
        Path, typer.Option("--config", help="Config file or patch repository folder.")
    ],
    config_format: ConfigFormat = "auto",
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Report what would change; leave the tree.")
    ] = False,
    no_apply_check: NoApplyCheckOption = False,
    allow_scripts: AllowScriptsOption = False,
    release: Annotated[
        str | None, typer.Option("--release", help="Release folder/branch of the configs.")
    ] = None,
    fmt: FormatOption = OutputFormat.text,
    output: OutputOption = None,
) -> None:
    """Apply one package's config to its tree. Exit 0 identical/patched, 4 drifted, 1 failed."""
    if not tree.is_dir():
        raise ConfigError("no such folder", subject=tree)
    outcome = apply_config(
        tree,
        config,
        config_format=config_format,
        dry_run=dry_run,
        apply_check=not no_apply_check,
        allow_scripts=allow_scripts,
        release=release,
    )
    _print_problems([outcome])
    emit(outcome_document(outcome), fmt, output)
    raise typer.Exit(_exit_code([outcome]))


class LedgerFormat(StrEnum):
    markdown = "markdown"
    text = "text"
    json = "json"
    html = "html"


@app.command("ledger")
def ledger(
    results: Annotated[
        list[Path] | None,
        typer.Argument(help="Saved elforge.patch/1 or patch-report JSON files."),
    ] = None,
    packages: Annotated[
        Path | None, typer.Option("--packages", help="Folder of package trees (dry run).")
    ] = None,
    configs: Annotated[
        Path | None, typer.Option("--configs", help="Patch-config folder (with --packages).")
    ] = None,
    release: Annotated[str | None, typer.Option("--release")] = None,
    fmt: Annotated[
        LedgerFormat, typer.Option("--format", "-f", help="markdown, json or html.")
    ] = LedgerFormat.markdown,
    output: OutputOption = None,
) -> None:
    """The ledger of modified packages, actions and reasons, generated from configs or results."""
    outcomes: list[PatchOutcome] = []
    for path in results or []:
        outcomes += load_outcomes(path)
    if packages is not None:
        if configs is None:
            raise ConfigError("--packages needs --configs")
        from elforge.patching.spec import find_spec, query_evr

        trees = package_trees(packages)
        upstream: dict[str, str] = {}
        for tree in trees:
            try:
                spec = find_spec(tree)
                upstream[str(tree)] = f"{spec.stem}-{query_evr(spec).split(':', 1)[-1]}"
            except Exception:  # the ledger still lists the package, without its NVR
                pass
        settings = PatchSettings(release=release, apply_check=False)
        fresh = patch_trees(trees, configs, settings, dry_run=True, progress=progress())
        for o in fresh:
            o.upstream = o.upstream or upstream.get(o.tree, "")
        outcomes += fresh
    if not outcomes:
        raise ConfigError("give result files or --packages with --configs")
    rows = rows_for(outcomes)
    if fmt is LedgerFormat.text:
        emit(ledger_document(rows), OutputFormat.text, output)
        return
    text = render_ledger(rows, fmt.value)
    if output is not None:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(text, encoding="utf-8")
        info(f"wrote {fmt.value} ledger to {output}")
    else:
        sys.stdout.write(text)
