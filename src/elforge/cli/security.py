"""``elforge security``: parity, lag, export and kernel fix candidates."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from elforge.cli.common import FormatOption, OutputOption, emit, info, progress
from elforge.errors import ConfigError
from elforge.report.model import ReportDocument
from elforge.report.render import OutputFormat
from elforge.security.firstseen import FirstSeen, read_first_seen_csv, read_first_seen_git
from elforge.security.parity import ParityResult
from elforge.security.sources import Feed, load_sources

app = typer.Typer(
    name="security",
    help="Security parity with the reference: per-CVE states, fix lag, advisory export.",
    no_args_is_help=True,
)

WorkspaceOption = Annotated[
    Path | None,
    typer.Option("--workspace", "-w", help="Also store the parsed advisories in this workspace."),
]


def _persist(
    workspace: Path | None,
    feeds: list[Feed],
    first_seen: FirstSeen | None,
    parity: tuple[ParityResult, list[Path], list[Path]] | None = None,
) -> None:
    """The feeds' advisories (and a parity result with its reference and rebuild sources)
    in the workspace's store, opened once."""
    if workspace is None:
        return
    from elforge.security.persist import save_advisories, save_parity
    from elforge.store.db import masked_url, open_store
    from elforge.workspace.workspace import Workspace

    ws = Workspace.open(workspace)
    with open_store(ws.store_url) as store:
        n = sum(
            save_advisories(store, f.advisories.values(), first_seen=first_seen or f.first_seen)
            for f in feeds
        )
        info(f"stored {n} advisories in {masked_url(ws.store_url)}")
        if parity is not None:
            result, reference, rebuild = parity
            save_parity(
                store,
                result,
                reference=", ".join(map(str, reference)),
                rebuild=", ".join(map(str, rebuild)),
            )


def _report_errors(feed: Feed) -> None:
    for err in feed.errors[:20]:
        info(f"warning: {err}")
    if len(feed.errors) > 20:
        info(f"warning: … and {len(feed.errors) - 20} more input errors (see the report)")


EXIT_CVE_MISSING = 8  # like every "incompatible" verdict (docs/exit-codes.md)


@app.command("parity")
def parity(
    reference: Annotated[
        list[Path],
        typer.Option(
            "--reference",
            help="Reference advisories: CSAF/VEX/OSV folder, updateinfo, "
            "repository, Security Data API records (repeatable).",
        ),
    ],
    rebuild: Annotated[
        list[Path],
        typer.Option(
            "--rebuild",
            help="The rebuild's advisories (OSV folder, updateinfo, "
            "repository, git repository; repeatable).",
        ),
    ],
    repo: Annotated[
        list[Path] | None,
        typer.Option(
            "--repo",
            help="What the rebuild ships: a dnf repository, a folder of RPMs, "
            "an updateinfo or a NEVRA list (repeatable).",
        ),
    ] = None,
    workspace: WorkspaceOption = None,
    fmt: FormatOption = OutputFormat.text,
    output: OutputOption = None,
) -> None:
    """Per reference CVE: fixed, under_investigation, not_shipped or missing in the rebuild.
    Exit 0 when no reference CVE is missing, 8 when one is."""
    from elforge.security.parity import compute_parity, parity_document
    from elforge.security.shipped import load_shipped

    ref_feed = load_sources(reference, progress=progress())
    rebuild_feed = load_sources(rebuild, progress=progress())
    _report_errors(ref_feed)
    _report_errors(rebuild_feed)
    shipped = load_shipped(repo) if repo else None
    result = compute_parity(ref_feed, rebuild_feed, shipped)
    _persist(workspace, [ref_feed, rebuild_feed], None, (result, reference, rebuild))
    doc = parity_document(
        result,
        reference=", ".join(map(str, reference)),
        rebuild=", ".join(map(str, rebuild)),
        repos=[str(r) for r in repo or []],
    )
    emit(doc, fmt, output)
    if result.counts()["missing"]:  # a CI gate: some reference fix is not in the rebuild
        raise typer.Exit(EXIT_CVE_MISSING)


@app.command("lag")
def lag(
    rebuild: Annotated[
        Path | None,
        typer.Option("--rebuild", help="The rebuild's advisories (OSV folder or git repo)."),
    ] = None,
    own: Annotated[
        bool,
        typer.Option(
            "--own",
            help="The rebuild's own lag, upstream commit to published package, from what "
            "'elforge watch' recorded in the workspace (-w).",
        ),
    ] = False,
    first_seen_csv: Annotated[
        Path | None,
        typer.Option("--first-seen", help="CSV of first-seen times (file,first_seen)."),
    ] = None,
    git: Annotated[
        Path | None,
        typer.Option(
            "--git",
            help="Git repository of the rebuild's OSV feed: first-seen "
            "= commit time of the commit that first added each record.",
        ),
    ] = None,
    reference: Annotated[
        list[Path] | None,
        typer.Option("--reference", help="Reference advisories for exact fix dates (CSAF…)."),
    ] = None,
    plot: Annotated[
        Path | None,
        typer.Option("--plot", help="Write the lag plot to STEM.png and STEM.svg."),
    ] = None,
    bulk_threshold: Annotated[
        int,
        typer.Option(
            "--bulk-threshold",
            min=2,
            help="Records sharing one first-seen time from this many on are a bulk "
            "import and left out of the statistics.",
        ),
    ] = 100,
    include_bulk: Annotated[
        bool, typer.Option("--include-bulk", help="Count bulk imports in the statistics.")
    ] = False,
    all_kinds: Annotated[
        bool, typer.Option("--all-kinds", help="Bug fix and enhancement advisories too.")
    ] = False,
    workspace: WorkspaceOption = None,
    fmt: FormatOption = OutputFormat.text,
    output: OutputOption = None,
) -> None:
    """Rebuild first-available time minus the reference fix date, per advisory and CVE."""
    from elforge.security.lag import compute_lag, lag_document

    if own:
        emit(_own_lag(workspace), fmt, output)
        return
    if rebuild is None:
        raise typer.BadParameter("give --rebuild SRC, or --own with --workspace")
    if first_seen_csv is not None and git is not None:
        raise typer.BadParameter("give --first-seen or --git, not both")
    feed = load_sources([rebuild], progress=progress())
    _report_errors(feed)
    if first_seen_csv is not None:
        first_seen = read_first_seen_csv(first_seen_csv)
    elif git is not None:
        first_seen = read_first_seen_git(git)
    elif feed.first_seen is not None:
        first_seen = feed.first_seen
    else:
        raise ConfigError(
            "no first-seen times: give --first-seen CSV or --git REPO (or a git --rebuild)",
            subject=rebuild,
        )
    ref_feed = load_sources(reference, progress=progress()) if reference else None
    if ref_feed is not None:
        _report_errors(ref_feed)
    report = compute_lag(
        feed,
        first_seen,
        ref_feed,
        kinds=() if all_kinds else ("security",),
        bulk_threshold=bulk_threshold,
        include_bulk=include_bulk,
    )
    if plot is not None:
        from elforge.security.plot import plot_lag

        for path in plot_lag(report, plot):
            info(f"wrote plot {path}")
    _persist(workspace, [feed], first_seen)
    doc = lag_document(
        report,
        rebuild=str(rebuild),
        reference=", ".join(map(str, reference)) if reference else None,
    )
    emit(doc, fmt, output)


def _own_lag(workspace: Path | None) -> ReportDocument:
    from elforge.security.own_lag import own_lag_document
    from elforge.store.db import open_store
    from elforge.watch.timeline import timeline
    from elforge.workspace.workspace import Workspace

    ws = Workspace.open(workspace)
    with open_store(ws.store_url) as store:
        return own_lag_document(timeline(store))


@app.command("export")
def export(
    rebuild: Annotated[list[Path], typer.Option("--rebuild", help="The rebuild's advisories.")],
    updateinfo: Annotated[
        Path | None, typer.Option("--updateinfo", help="Write updateinfo.xml here.")
    ] = None,
    osv_dir: Annotated[
        Path | None, typer.Option("--osv", help="Write one OSV JSON file per advisory here.")
    ] = None,
    ecosystem: Annotated[
        str, typer.Option("--ecosystem", help="OSV ecosystem for packages that name none.")
    ] = "AlmaLinux:8",
    fmt: FormatOption = OutputFormat.text,
    output: OutputOption = None,
) -> None:
    """Write the rebuild's advisories as updateinfo.xml and OSV."""
    from elforge.security.export import export_advisories, export_document

    if updateinfo is None and osv_dir is None:
        raise typer.BadParameter("give --updateinfo FILE and/or --osv DIR")
    feed = load_sources(rebuild, progress=progress())
    _report_errors(feed)
    result = export_advisories(
        feed.advisories.values(), updateinfo=updateinfo, osv_dir=osv_dir, ecosystem=ecosystem
    )
    doc = export_document(
        result, rebuild=", ".join(map(str, rebuild)), errors=[str(e) for e in feed.errors]
    )
    emit(doc, fmt, output)


@app.command("kernel-candidates")
def kernel_candidates(
    cve: Annotated[str, typer.Argument(help="The CVE, e.g. CVE-2024-1086.")],
    vulns: Annotated[
        Path, typer.Option("--vulns", help="Checkout of the kernel CNA's vulns repository.")
    ],
    changelog: Annotated[
        Path | None,
        typer.Option(
            "--changelog",
            help="Kernel changelog: rpm -q --changelog output, a %changelog, or the kernel RPM.",
        ),
    ] = None,
    base: Annotated[
        str | None,
        typer.Option("--base", help="The rebuild's kernel series (e.g. 5.14) to favour."),
    ] = None,
    fmt: FormatOption = OutputFormat.text,
    output: OutputOption = None,
) -> None:
    """Rank candidate upstream fix commits for a kernel CVE, with evidence."""
    from elforge.security.kernel import kernel_document, rank_candidates

    if not vulns.is_dir():
        raise ConfigError("not a folder", subject=vulns)
    text = None
    if changelog is not None and changelog.name.endswith(".rpm"):
        from elforge.rpm.header import read_header
        from elforge.security.kernel import changelog_from_header

        text = changelog_from_header(read_header(changelog).changelog)
    elif changelog is not None:
        try:
            text = changelog.read_text(encoding="utf-8", errors="replace")
        except OSError as exc:
            raise ConfigError(f"cannot read: {exc.strerror}", subject=changelog) from None
    result = rank_candidates(cve.strip().upper(), vulns, changelog=text, base=base)
    emit(
        kernel_document(result, vulns=str(vulns), changelog=str(changelog) if changelog else None),
        fmt,
        output,
    )
