"""``elforge repo``: closure, parity diff and install-check of rpm-md repositories,
and ``elforge publish``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from elforge.cli.common import FormatOption, OutputOption, emit, info, progress
from elforge.report.render import OutputFormat

app = typer.Typer(
    name="repo",
    help="Check repositories: dependency closure, parity with the reference, install-check.",
    no_args_is_help=True,
)

CacheOption = Annotated[
    Path | None,
    typer.Option("--cache-dir", help="Where downloaded metadata is cached (default ~/.cache)."),
]


@app.command("closure")
def closure(
    repos: Annotated[list[str], typer.Argument(help="Repositories to check (paths or URLs).")],
    extra: Annotated[
        list[str] | None,
        typer.Option("--extra", help="Repository that only satisfies dependencies (repeat)."),
    ] = None,
    arch: Annotated[str, typer.Option("--arch", help="Target architecture.")] = "x86_64",
    no_modules: Annotated[
        bool, typer.Option("--no-modules", help="Turn modular filtering off.")
    ] = False,
    module: Annotated[
        list[str] | None,
        typer.Option("--module", help="Enable a module stream NAME:STREAM (repeat)."),
    ] = None,
    filelists: Annotated[
        bool, typer.Option("--filelists", help="Also load filelists for file requirements.")
    ] = False,
    cache_dir: CacheOption = None,
    fmt: FormatOption = OutputFormat.text,
    output: OutputOption = None,
) -> None:
    """Is every package installable from these repositories? Exit 0 only when closed."""
    from elforge.repo.closure import check_closure

    result = check_closure(
        repos,
        extra or [],
        arch,
        modules=not no_modules,
        enable=module or [],
        filelists=filelists,
        cache_dir=cache_dir,
        progress=progress(),
    )
    emit(result.to_document(), fmt, output)
    if not result.closed:
        info(f"{len(result.uninstallable)} of {result.checked} packages cannot be installed")
        raise typer.Exit(4)


@app.command("diff")
def diff(
    reference: Annotated[str, typer.Argument(help="Reference repository (path or URL).")],
    candidate: Annotated[str, typer.Argument(help="Rebuild repository (path or URL).")],
    cache_dir: CacheOption = None,
    fmt: FormatOption = OutputFormat.text,
    output: OutputOption = None,
) -> None:
    """Distribution parity: identical, modified, newer, older, missing and extra packages."""
    from elforge.repo.diff import diff_repos

    emit(diff_repos(reference, candidate, cache_dir=cache_dir).to_document(), fmt, output)


@app.command("install-check")
def install_check(
    rpms: Annotated[list[Path], typer.Argument(help="RPM files to install.")],
    against: Annotated[list[str], typer.Option("--against", help="Target repository (repeat).")],
    arch: Annotated[str, typer.Option("--arch", help="Target architecture.")] = "x86_64",
    cache_dir: CacheOption = None,
    fmt: FormatOption = OutputFormat.text,
    output: OutputOption = None,
) -> None:
    """Can these RPMs be installed on the target? Exit 0 when they can."""
    from elforge.repo.installcheck import install_check as run

    result = run(rpms, against, arch=arch, cache_dir=cache_dir)
    emit(result.to_document(), fmt, output)
    if not result.installable:
        raise typer.Exit(4)


def publish(
    source: Annotated[
        Path | None,
        typer.Argument(help="Folder of RPMs, searched recursively (default: workspace artifacts)."),
    ] = None,
    dest: Annotated[
        Path | None,
        typer.Argument(help="Folder for the repositories (default: [publish] dest)."),
    ] = None,
    workspace: Annotated[
        Path | None,
        typer.Option("--workspace", "-w", help="Take defaults from this workspace's [publish]."),
    ] = None,
    layout: Annotated[
        Path | None,
        typer.Option("--layout", help="TOML or JSON: repository name -> package names."),
    ] = None,
    reference: Annotated[
        list[str] | None,
        typer.Option("--reference", help="NAME=REPO: split like this reference repo (repeat)."),
    ] = None,
    advisories: Annotated[
        Path | None, typer.Option("--advisories", help="updateinfo.xml to publish with.")
    ] = None,
    modules: Annotated[
        Path | None, typer.Option("--modules", help="modules.yaml to carry over.")
    ] = None,
    sign_key: Annotated[
        str | None, typer.Option("--sign-key", help="Sign RPMs with rpmsign and this key.")
    ] = None,
    fmt: FormatOption = OutputFormat.text,
    output: OutputOption = None,
) -> None:
    """Publish createrepo_c repositories from a folder of RPMs (incremental)."""
    from elforge.repo.publish import load_layout, publish_repo
    from elforge.workspace.workspace import Workspace

    split: dict[str, list[str]] | None = None
    refs: dict[str, str] = {}
    if workspace is not None:
        ws = Workspace.open(workspace)
        opts = ws.options.publish
        source = source or ws.artifacts_dir
        dest = dest or opts.dest
        split = dict(opts.layout) or None
        refs = dict(opts.reference)
        sign_key = sign_key or opts.sign_key
        advisories = advisories or opts.updateinfo
        modules = modules or opts.modules
    if source is None or dest is None:
        raise typer.BadParameter("give SOURCE and DEST, or --workspace DIR")
    if layout:
        split = load_layout(layout)
    for spec in reference or []:
        name, sep, repo = spec.partition("=")
        if not sep:
            raise typer.BadParameter(f"--reference {spec!r}: expected NAME=REPO")
        refs[name] = repo
    result = publish_repo(
        sorted(source.rglob("*.rpm")),
        dest,
        layout=split,
        reference=refs or None,
        updateinfo=advisories,
        modules=modules,
        sign_key=sign_key,
        progress=progress(),
    )
    emit(result.to_document(), fmt, output)
    if result.failed:
        raise typer.Exit(1)
