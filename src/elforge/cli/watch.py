"""``elforge watch``: poll upstreams, rebuild what changed, publish, write errata, notify."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from elforge.cli.common import FormatOption, OutputOption, emit, info
from elforge.errors import ConfigError, ElforgeError
from elforge.report.model import Finding, ReportDocument, Severity, Table
from elforge.report.render import OutputFormat

if TYPE_CHECKING:
    from elforge.watch.cycle import WatchOptions
    from elforge.workspace.workspace import Workspace

_DURATION = re.compile(r"^(\d+(?:\.\d+)?)([smh]?)$")


def parse_interval(text: str) -> float:
    """Seconds from ``90``, ``90s``, ``10m`` or ``1h``."""
    m = _DURATION.match(text.strip())
    if not m:
        raise ConfigError(
            f"not a duration: {text[:40]!r} (e.g. 30s, 10m, 1h)", subject="--interval"
        )
    return float(m.group(1)) * {"": 1, "s": 1, "m": 60, "h": 3600}[m.group(2)]


def _document(data: dict[str, Any]) -> ReportDocument:
    findings = [Finding(Severity.BAD, "watch.error", e.split(":", 1)[0], e, layer="upstream")
                for e in data["errors"]]  # fmt: skip
    table = Table(
        "Changed upstreams",
        ["package", "old nvr", "new nvr", "build", "published", "advisories", "problem"],
        [[e["package"], e["old_nvr"] or "", e["new_nvr"] or "", e["stages"].get("build") or "",
          e["published"] or "", ", ".join(e["advisories"]), (e["error"] or "")[:60]]
         for e in data["events"]],
    )  # fmt: skip
    summary = [("polled", data["polled"]), ("unchanged", data["unchanged"]),
               ("changed", len(data["events"])), ("errors", len(data["errors"])),
               ("duration", f"{data['duration']} s")]  # fmt: skip
    return ReportDocument(data["schema"], "elforge watch", data, findings, summary, [table])


def watch(
    interval: Annotated[
        str | None,
        typer.Option("--interval", help="Time between polls (default [watch] interval)."),
    ] = None,
    once: Annotated[bool, typer.Option("--once", help="One cycle, then exit.")] = False,
    reference: Annotated[
        list[Path] | None,
        typer.Option(
            "--reference", help="Reference advisories for errata (default [errata] reference)."
        ),
    ] = None,
    jobs: Annotated[
        int | None, typer.Option("--jobs", "-j", help="Upstreams polled at once.")
    ] = None,
    workspace: Annotated[
        Path | None, typer.Option("--workspace", "-w", help="Workspace (default: here or above).")
    ] = None,
    fmt: FormatOption = OutputFormat.text,
    output: OutputOption = None,
) -> None:
    """Poll each package's upstream; rebuild, publish and write errata for what changed."""
    from elforge.watch.cycle import WatchOptions
    from elforge.workspace.workspace import Workspace

    ws = Workspace.open(workspace)
    cfg = ws.config.watch
    pause = parse_interval(interval or cfg.interval)
    opts = WatchOptions(
        jobs=jobs or cfg.jobs, timeout=cfg.timeout, references=list(reference or []),
        webhook=cfg.webhook, attempts=cfg.webhook_attempts, backoff=cfg.webhook_backoff,
    )  # fmt: skip
    while True:
        try:
            _one_cycle(ws, opts, fmt, output)
        except ElforgeError as exc:
            if once:
                raise
            info(f"error: {exc} (next cycle in {pause:.0f} s)")  # a daemon keeps going
        if once:
            return
        time.sleep(pause)


def _one_cycle(ws: Workspace, opts: WatchOptions, fmt: OutputFormat, output: Path | None) -> None:
    from elforge.store.db import open_store
    from elforge.watch.cycle import run_cycle

    store = open_store(ws.store_url)
    try:
        report = run_cycle(ws, store, opts)
    finally:
        store.close()
    for err in report.errors:
        info(f"warning: {err}")
    emit(_document(report.to_json()), fmt, output)
