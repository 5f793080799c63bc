"""``elforge repo``: closure, parity diff and install-check of rpm-md repositories,
and ``elforge publish``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from elforge.cli.common import (
    CandidateKeyOption,
    FormatOption,
    KeyringOption,
    OutputOption,
    ReferenceKeyOption,
    RepoKeyOption,
    emit,
    info,
    progress,
)
from elforge.report.render import OutputFormat

if TYPE_CHECKING:
    from elforge.engine.stages.publish import PublishSelection
    from elforge.repo.closure import ClosureResult
    from elforge.rpm.updateinfo import UpdateRecord
    from elforge.workspace.options import PublishOptions
    from elforge.workspace.workspace import Workspace

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
    cache_dir: CacheOption = None,
    key: RepoKeyOption = None,
    workspace: Annotated[
        Path | None,
        typer.Option("--workspace", "-w", help="Also keep the result in this workspace's store."),
    ] = None,
    fmt: FormatOption = OutputFormat.text,
    output: OutputOption = None,
) -> None:
    """Is every package installable from these repositories? Exit 0 only when closed."""
    from elforge.repo.closure import check_closure
    from elforge.rpm.repodata import Repository
    from elforge.workspace.workspace import Workspace

    def opened(location: str) -> Repository:
        return Repository(location, cache_dir=cache_dir, key=key)

    store_url = Workspace.open(workspace).store_url if workspace is not None else None
    result = check_closure(
        [opened(r) for r in repos],
        [opened(r) for r in extra or []],
        arch,
        modules=not no_modules,
        enable=module or [],
        cache_dir=cache_dir,
        progress=progress(),
    )
    if store_url is not None:  # the workspace was checked before the long part
        _keep_closure(store_url, result)
    emit(result.to_document(), fmt, output)
    for error in result.filelists_errors:
        info(f"filelists unreadable, file requirements checked against primary only: {error}")
    if not result.closed:
        info(f"{len(result.uninstallable)} of {result.checked} packages cannot be installed")
        raise typer.Exit(4)


def _keep_closure(store_url: str, result: ClosureResult) -> None:
    from elforge.repo.closure_store import save_closure
    from elforge.store.db import open_store

    with open_store(store_url) as store:
        save_closure(store, result)


@app.command("diff")
def diff(
    reference: Annotated[str, typer.Argument(help="Reference repository (path or URL).")],
    candidate: Annotated[str, typer.Argument(help="Rebuild repository (path or URL).")],
    cache_dir: CacheOption = None,
    reference_key: ReferenceKeyOption = None,
    candidate_key: CandidateKeyOption = None,
    fmt: FormatOption = OutputFormat.text,
    output: OutputOption = None,
) -> None:
    """Distribution parity: identical, modified, newer, older, missing and extra packages.
    Exit 0 when nothing is missing, 8 when a reference package is missing or lost a soname."""
    from elforge.repo.diff import diff_repos
    from elforge.rpm.repodata import Repository

    ref = Repository(reference, cache_dir=cache_dir, key=reference_key)
    cand = Repository(candidate, cache_dir=cache_dir, key=candidate_key)
    result = diff_repos(ref, cand, cache_dir=cache_dir)
    emit(result.to_document(), fmt, output)
    for error in result.filelists_errors:
        info(f"filelists unreadable, file requirements compared on primary only: {error}")
    if result.incompatible:
        raise typer.Exit(8)


@app.command("install-check")
def install_check(
    rpms: Annotated[list[Path], typer.Argument(help="RPM files to install.")],
    against: Annotated[list[str], typer.Option("--against", help="Target repository (repeat).")],
    arch: Annotated[str, typer.Option("--arch", help="Target architecture.")] = "x86_64",
    cache_dir: CacheOption = None,
    keyring: KeyringOption = None,
    key: RepoKeyOption = None,
    fmt: FormatOption = OutputFormat.text,
    output: OutputOption = None,
) -> None:
    """Can these RPMs be installed on the target? Exit 0 when they can. The RPMs' digests
    (and with --keyring their signatures) are checked first."""
    from elforge.repo.installcheck import install_check as run
    from elforge.rpm.repodata import Repository
    from elforge.rpm.verify import verify_rpms

    verify_rpms(rpms, keyring)
    repositories = [Repository(a, cache_dir=cache_dir, key=key) for a in against]
    result = run(rpms, repositories, arch=arch, cache_dir=cache_dir)
    emit(result.to_document(), fmt, output)
    for error in result.filelists_errors:
        info(f"filelists unreadable, file requirements checked against primary only: {error}")
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
        typer.Option(
            "--reference",
            metavar="NAME=REPO",
            help="Split like this reference repository, into a repository NAME (repeat).",
        ),
    ] = None,
    advisories: Annotated[
        Path | None, typer.Option("--advisories", help="updateinfo.xml to publish with.")
    ] = None,
    modules: Annotated[
        Path | None, typer.Option("--modules", help="modules.yaml to carry over.")
    ] = None,
    sign_key: Annotated[
        str | None,
        typer.Option("--sign-key", help="Sign RPMs (rpmsign) and repomd.xml (gpg) with KEY."),
    ] = None,
    keep: Annotated[
        int | None,
        typer.Option("--keep", min=1, help="Builds of each package kept (default: 3)."),
    ] = None,
    allow_empty: Annotated[
        bool,
        typer.Option("--allow-empty", help="Allow replacing a repository with an empty one."),
    ] = False,
    fmt: FormatOption = OutputFormat.text,
    output: OutputOption = None,
) -> None:
    """Publish createrepo_c repositories from a folder of RPMs (incremental)."""
    from elforge.engine.stages.publish import publish_settings
    from elforge.repo.publish import publish
    from elforge.repo.publish_inputs import PublishInput
    from elforge.workspace.workspace import Workspace

    ws = Workspace.open(workspace) if workspace is not None else None
    opts = _publish_options(ws, dest, layout, reference or [], advisories, modules, sign_key, keep)
    selection = _workspace_selection(ws) if ws is not None and source is None else None
    if source is not None:
        rpms = [PublishInput.of(p) for p in sorted(source.rglob("*.rpm"))]
    elif selection is not None:
        rpms = selection.inputs
    else:
        raise typer.BadParameter("give SOURCE and DEST, or --workspace DIR")
    errata: list[UpdateRecord] = []
    if ws is not None:  # the workspace's own advisories (elforge errata generate)
        from elforge.security.errata_workspace import stored_updates

        errata = stored_updates(ws)
    settings = publish_settings(opts, allow_empty=allow_empty, errata=errata)
    result = publish(rpms, opts.dest, settings=settings, progress=progress())
    if selection is not None:
        result.failed += [(m, "artifact file missing from the store") for m in selection.missing]
    emit(result.to_document(), fmt, output)
    if result.failed:
        raise typer.Exit(1)


def _publish_options(
    ws: Workspace | None,
    dest: Path | None,
    layout: Path | None,
    reference: list[str],
    advisories: Path | None,
    modules: Path | None,
    sign_key: str | None,
    keep: int | None,
) -> PublishOptions:
    """The workspace's ``[publish]`` options (or none) with the command line's on top."""
    from elforge.repo.publish import load_layout
    from elforge.workspace.options import PublishOptions

    base = ws.options.publish if ws is not None else None
    target = dest or (base.dest if base else None)
    if target is None:
        raise typer.BadParameter("give SOURCE and DEST, or --workspace DIR")
    refs = dict(base.reference) if base else {}
    for spec in reference:
        name, sep, repo = spec.partition("=")
        if not sep:
            raise typer.BadParameter(f"--reference {spec[:100]!r}: expected NAME=REPO")
        refs[name] = repo
    return PublishOptions(
        dest=target,
        layout=load_layout(layout) if layout else dict(base.layout) if base else {},
        reference=refs,
        updateinfo=advisories or (base.updateinfo if base else None),
        modules=modules or (base.modules if base else None),
        sign_key=sign_key or (base.sign_key if base else None),
        keep=keep or (base.keep if base else 3),
    )


def _workspace_selection(ws: Workspace) -> PublishSelection:
    """The workspace's builds to publish: the store's artifact rows (files named by hash)."""
    from elforge.engine.stages.publish import select_artifacts
    from elforge.store.db import open_store

    with open_store(ws.store_url) as store:
        selection = select_artifacts(store, [p.name for p in ws.config.packages])
    if selection.unbuilt:
        info(f"not built yet, not published: {', '.join(selection.unbuilt)}")
    return selection
