"""``elforge run``: every package through import → patch → build → verify, then publish.

The coordinating process (this module) takes the workspace lock, reads what the store knows,
sends one task per package to the executor, writes each package's results in one transaction
as they come back, runs the publish stage over all built packages, and returns the run
summary (``elforge.run/1``). Killing it at any point loses at most the packages in flight:
everything recorded stays, and a rerun reuses it by input hash.

Publish runs once over all packages rather than per package, because a repository's
metadata covers all of them.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from elforge.build.builders import check_builder
from elforge.build.hashing import inputs_hash
from elforge.engine import record
from elforge.engine.executors import Executor, make_executor
from elforge.engine.lock import WorkspaceLock
from elforge.engine.stages import (
    DEFAULT_STAGES,
    build_options,
    patching_engine,
    run_package,
    try_reuse,
)
from elforge.errors import ConfigError, ElforgeError
from elforge.report.model import Finding, ReportDocument, Severity, Table
from elforge.report.render import render_html, render_json
from elforge.rpm.header import read_header
from elforge.rpm.nevra import NEVRA
from elforge.store.db import open_store
from elforge.workspace.workspace import Workspace

ALL_STAGES = ("import", "patch", "build", "verify", "publish")
SCHEMA = "elforge.run/1"


class RunObserver(Protocol):
    """What the CLI's progress display is told; the engine itself never prints."""

    def start(self, packages: list[str], stages: list[str]) -> None: ...

    def package_done(self, name: str, outcomes: dict[str, dict[str, Any]]) -> None: ...

    def stage_done(self, stage: str, outcome: dict[str, Any]) -> None: ...

    def finish(self) -> None: ...


class SilentObserver:
    def start(self, packages: list[str], stages: list[str]) -> None:
        pass

    def package_done(self, name: str, outcomes: dict[str, dict[str, Any]]) -> None:
        pass

    def stage_done(self, stage: str, outcome: dict[str, Any]) -> None:
        pass

    def finish(self) -> None:
        pass


@dataclass
class RunOptions:
    stages: list[str] = field(default_factory=lambda: list(ALL_STAGES))
    packages: list[str] | None = None  # None: every package in elforge.toml
    jobs: int | None = None
    executor: str | None = None  # "local" or "dask"; default from [executor]
    scheduler: Any = None  # address or a distributed cluster object
    arch: str | None = None
    timeout: int | None = None
    builder: str | None = None
    retry_failed: bool = False


def stage_status() -> dict[str, str]:
    """Which implementation each stage has in this build (the demo prints it)."""
    return {
        "import": "local folders; git and SRPM upstreams via elforge.sources",
        "patch": "elforge.patching" if patching_engine() else "no engine (configs not applied)",
        "build": "elforge.build (rpmbuild/mock)",
        "verify": "elforge.abi (package and ELF-symbol layers; types with debuginfo)",
        "publish": "elforge.repo (publish_repo)",
    }


def _settings(ws: Workspace, opts: RunOptions) -> dict[str, Any]:
    cfg = ws.config
    build = cfg.build.model_dump()
    if opts.arch:
        build["arch"] = opts.arch
    if opts.timeout:
        build["timeout"] = opts.timeout
    if opts.builder:
        build["builder"] = opts.builder
    configs = cfg.patch.configs
    if configs and not Path(configs).is_absolute():
        configs = str(ws.root / configs)
    return {
        "dist": cfg.workspace.dist,
        "release_branch": cfg.workspace.release_branch,
        "patched_branch": cfg.workspace.patched_branch,
        "patch_configs": configs,
        "patch_format": cfg.patch.format,
        "allow_scripts": cfg.patch.allow_scripts,
        "build": build,
        "stablelist": _workspace_path(ws, cfg.verify.stablelist),
    }


def _workspace_path(ws: Workspace, value: str | None) -> str | None:
    """A config path as an absolute path (relative ones are relative to the workspace)."""
    if not value:
        return None
    return str(Path(value) if Path(value).is_absolute() else ws.root / value)


def index_reference(ws: Workspace) -> dict[str, list[dict[str, Any]]]:
    """Reference binary RPMs (``[verify] reference`` folders), grouped by source package."""
    files: list[Path] = []
    for entry in ws.config.verify.reference:
        folder = Path(entry) if Path(entry).is_absolute() else ws.root / entry
        if not folder.is_dir():
            raise ConfigError("reference folder does not exist", subject=folder)
        files += sorted(p for p in folder.rglob("*.rpm") if not p.name.endswith(".src.rpm"))
    if not files:
        return {}
    grouped: dict[str, list[dict[str, Any]]] = {}
    for path in files:
        header = read_header(path, digest=True)  # FormatError names a broken reference RPM
        source = NEVRA.parse_filename(header.sourcerpm or path.name).name
        grouped.setdefault(source, []).append(
            {
                "path": str(path),
                "filename": path.name,
                "sha256": header.sha256,
                "nevra": str(header.nevra),
            }
        )
    return grouped


def publish(
    ws: Workspace, results: dict[str, dict[str, Any]], previous: dict[str, Any] | None
) -> dict[str, Any]:
    """Publish every built binary RPM with ``elforge.repo.publish_repo``.

    The repositories go to ``[publish] dest`` (default ``repos/``), split by ``[publish]
    layout`` or ``reference`` when given; the publisher itself is incremental and writes the
    metadata atomically. Its input is a folder of hard links named like the RPMs (the artifact
    store names files by hash).
    """
    from elforge.repo.publish import publish_repo

    started = time.monotonic()
    rpms = sorted(
        (
            f
            for res in results.values()
            for f in res["outcomes"].get("build", {}).get("output", {}).get("rpms", [])
            if res["outcomes"].get("build", {}).get("status") == "built"
        ),
        key=lambda f: f["filename"],
    )
    cfg = ws.config.publish
    dest = ws.root / cfg.dest
    key = inputs_hash(
        {
            "stage": "publish",
            "rpms": [(f["filename"], f["sha256"]) for f in rpms],
            "config": cfg.model_dump(),
        }
    )
    base = {"stage": "publish", "input_hash": key, "reused": False, "error": None}
    if (
        previous
        and previous["input_hash"] == key
        and previous["status"] == "published"
        and all(
            (Path(r["path"]) / "repodata" / "repomd.xml").is_file()
            for r in previous["output"].get("repos", [])
        )
    ):
        return {**previous, "stage": "publish", "reused": True, "duration": 0.0}
    if not rpms:
        return {
            **base,
            "status": "skipped",
            "output": {},
            "error": "nothing built",
            "duration": 0.0,
        }
    links = ws.state_dir / "publish-input"
    shutil.rmtree(links, ignore_errors=True)
    links.mkdir(parents=True)
    for f in rpms:
        os.link(f["path"], links / f["filename"])

    def rel(path: str | None) -> Path | None:
        return ws.root / path if path else None

    try:
        result = publish_repo(
            sorted(links.iterdir()),
            dest,
            layout=cfg.layout or None,
            reference=cfg.reference or None,
            updateinfo=rel(cfg.updateinfo),
            modules=rel(cfg.modules),
            sign_key=cfg.sign_key,
        )
    except Exception as exc:  # recorded as a failed publish; the run's results stand
        detail = str(exc) if isinstance(exc, ElforgeError) else f"{type(exc).__name__}: {exc}"
        return {
            **base,
            "status": "failed",
            "output": {},
            "error": detail,
            "duration": round(time.monotonic() - started, 3),
        }
    finally:
        shutil.rmtree(links, ignore_errors=True)
    published: dict[str, Any] = result.to_json()
    repos = [{**r, "path": str(Path(r["path"]).resolve())} for r in published.get("repos", [])]
    output = {
        "dest": str(dest),
        "repos": repos,
        "repo": repos[0]["path"] if repos else None,
        "packages": sum(r["packages"] for r in repos),
        "unplaced": published.get("unplaced", []),
        "failed": published.get("failed", []),
        "signed": published.get("signed", 0),
        "publisher": "elforge.repo",
    }
    failed = published.get("failed", [])
    status, error = "published", None
    if failed:
        status = "failed"
        error = "; ".join(f"{x['rpm']}: {x['error']}" for x in failed)[:2000]
    return {
        **base,
        "status": status,
        "output": output,
        "error": error,
        "duration": round(time.monotonic() - started, 3),
    }


def _package_row(name: str, outcomes: dict[str, dict[str, Any]]) -> dict[str, Any]:
    def status(stage: str) -> str | None:
        return outcomes[stage]["status"] if stage in outcomes else None

    nvr = None
    for stage in ("build", "patch", "import"):
        nvr = nvr or (outcomes.get(stage, {}).get("output") or {}).get("nvr")
    errors = [
        f"{o['stage']}: {o['error']}"
        for o in outcomes.values()
        if o.get("error") and o["status"] in ("failed", "drifted", "skipped")
    ]
    verify = outcomes.get("verify", {})
    problems = [
        p
        for pair in (verify.get("output") or {}).get("pairs", [])
        for p in pair.get("problems", [])
    ]
    missing = (verify.get("output") or {}).get("missing_binaries", [])
    if not errors and (problems or missing):
        errors = [f"verify: {problems[0]}" if problems else f"verify: missing {missing[0]}"]
    return {
        "name": name,
        "nvr": nvr,
        "import": status("import"),
        "patch": status("patch"),
        "build": status("build"),
        "verify": status("verify"),
        "abi_verdict": (verify.get("output") or {}).get("verdict"),
        "reused": sorted(s for s, o in outcomes.items() if o.get("reused")),
        "error": errors[0] if errors else None,
    }


def summarize(
    results: dict[str, dict[str, Any]],
    publish_outcome: dict[str, Any] | None,
    *,
    run_id: int,
    executor: str,
    stages: list[str],
    duration: float,
    report: str | None,
) -> dict[str, Any]:
    rows = [_package_row(name, results[name]["outcomes"]) for name in sorted(results)]
    counts = Counter[str]()
    abi = Counter[str]()
    for row in rows:
        counts["imported"] += row["import"] == "imported"
        for status in ("identical", "patched", "drifted"):
            counts[status] += row["patch"] == status
        counts["failed"] += any(row[s] == "failed" for s in ("import", "patch", "build", "verify"))
        counts["built"] += row["build"] == "built"
        counts["skipped"] += any(row[s] == "skipped" for s in ("patch", "build"))
        if row["verify"]:
            abi[row["abi_verdict"] or row["verify"]] += 1
    reused = Counter(s for row in rows for s in row["reused"])
    return {
        "schema": SCHEMA,
        "run_id": run_id,
        "executor": executor,
        "stages": stages,
        "stage_implementations": {s: v for s, v in stage_status().items() if s in stages},
        "packages_total": len(rows),
        "counts": {
            k: counts[k]
            for k in ("imported", "identical", "patched", "drifted", "failed", "built", "skipped")
        },
        "abi": dict(sorted(abi.items())),
        "reused": dict(sorted(reused.items())),
        "publish": (
            {k: publish_outcome.get(k) for k in ("status", "output", "error", "reused")}
            if publish_outcome
            else None
        ),
        "packages": rows,
        "duration": round(duration, 2),
        "report": report,
    }


def summary_document(summary: dict[str, Any]) -> ReportDocument:
    findings = []
    for row in summary["packages"]:
        if row["abi_verdict"] == "incompatible":
            findings.append(
                Finding(
                    Severity.BAD,
                    "run.abi-incompatible",
                    row["nvr"] or row["name"],
                    "not ABI-compatible with the reference: "
                    + (row["error"] or "").removeprefix("verify: "),
                    remedy="see its reports under reports/abi/ ('elforge report -o FILE.html' "
                    "links each package to them)",
                    layer="abi",
                )
            )
        elif row["error"]:
            severity = Severity.BAD if "failed" in row.values() else Severity.VERIFY
            findings.append(
                Finding(
                    severity, "run.package-stopped", row["name"], row["error"], layer="pipeline"
                )
            )
    counts = summary["counts"]
    table = Table(
        "Packages",
        ["package", "nvr", "import", "patch", "build", "verify/ABI", "reused", "problem"],
    )
    for row in summary["packages"]:
        table.rows.append(
            [
                row["name"],
                row["nvr"] or "",
                row["import"] or "-",
                row["patch"] or "-",
                row["build"] or "-",
                row["abi_verdict"] or row["verify"] or "-",
                ",".join(row["reused"]),
                row["error"] or "",  # in full: text and HTML wrap long cells
            ]
        )
    headline = [
        ("packages", summary["packages_total"]),
        *counts.items(),
        *((f"ABI {k}", v) for k, v in summary["abi"].items()),
        ("executor", summary["executor"]),
        ("duration", f"{summary['duration']} s"),
    ]
    if summary.get("report"):
        headline.append(("report", summary["report"]))
    return ReportDocument(
        SCHEMA, "elforge run", summary, findings=findings, summary=headline, tables=[table]
    )


def _write_reports(ws: Workspace, summary: dict[str, Any]) -> str:
    reports = ws.root / "reports"
    reports.mkdir(exist_ok=True)
    path = reports / f"run-{summary['run_id']}.json"
    summary["report"] = str(path)
    doc = summary_document(summary)
    for target, text in ((path, render_json(doc)), (path.with_suffix(".html"), render_html(doc))):
        tmp = target.with_name(f".{target.name}.tmp")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, target)
    return str(path)


def run_pipeline(
    ws: Workspace, opts: RunOptions | None = None, observer: RunObserver | None = None
) -> dict[str, Any]:
    """Run the pipeline over the workspace's packages and return the ``elforge.run/1`` dict."""
    opts = opts or RunOptions()
    observer = observer or SilentObserver()
    unknown = [s for s in opts.stages if s not in ALL_STAGES]
    if unknown:
        raise ConfigError(
            f"unknown stage(s) {', '.join(unknown)}; known: {', '.join(ALL_STAGES)}",
            subject="--stages",
        )
    stages = [s for s in ALL_STAGES if s in opts.stages]
    chain = [s for s in stages if s != "publish"]
    for needed, by in (("import", "patch"), ("import", "build"), ("build", "verify")):
        if by in chain and needed not in chain:
            chain.insert(chain.index(by), needed)  # a later stage needs its inputs
    entries = ws.config.packages
    if opts.packages:
        missing = sorted(set(opts.packages) - {p.name for p in entries})
        if missing:
            raise ConfigError(f"not in elforge.toml: {', '.join(missing)}", subject=ws.root)
        entries = [p for p in entries if p.name in opts.packages]
    settings = _settings(ws, opts)
    if "build" in chain:
        check_builder(build_options(settings))
    started = time.monotonic()
    with WorkspaceLock(ws.state_dir):
        store = open_store(ws.store_url)
        kind = opts.executor or ws.config.executor.kind
        scheduler = opts.scheduler or (ws.config.executor.scheduler if kind == "dask" else None)
        executor: Executor = make_executor(
            kind, jobs=opts.jobs or ws.config.executor.jobs, scheduler=scheduler
        )
        try:
            run_id = record.start_run(store, executor.description, stages)
            names = [p.name for p in entries]
            previous = record.latest_outcomes(store, [*names, record.GLOBAL])
            reference = index_reference(ws) if "verify" in chain else {}
            specs: list[dict[str, Any]] = [
                {
                    "workspace": str(ws.root),
                    "package": p.model_dump(),
                    "settings": settings,
                    "stages": [(s, DEFAULT_STAGES[s]) for s in chain],
                    "previous": previous.get(p.name, {}),
                    "reference": reference.get(p.name, []),
                    "retry_failed": opts.retry_failed,
                }
                for p in entries
            ]
            observer.start(names, stages)
            results: dict[str, dict[str, Any]] = {}
            # packages whose stages are all reusable are settled here, without a task
            todo = []
            for spec in specs:
                done = try_reuse(spec)
                if done is None:
                    todo.append(spec)
                    continue
                record.record_package(store, run_id, ws.config.workspace.patched_branch, done)
                results[spec["package"]["name"]] = done
                observer.package_done(spec["package"]["name"], done["outcomes"])
            for spec, res in executor.run(run_package, todo):
                name = spec["package"]["name"]
                if isinstance(res, BaseException):  # the task itself died (worker lost…)
                    res = {
                        "package": name,
                        "outcomes": {
                            chain[0]: {
                                "stage": chain[0],
                                "status": "failed",
                                "input_hash": "",
                                "output": {},
                                "error": f"task failed: {type(res).__name__}: {res}",
                                "reused": False,
                                "duration": 0.0,
                            }
                        },
                    }
                record.record_package(store, run_id, ws.config.workspace.patched_branch, res)
                results[name] = res
                observer.package_done(name, res["outcomes"])
            publish_outcome = None
            if "publish" in stages:
                publish_outcome = publish(ws, results, previous[record.GLOBAL].get("publish"))
                record.record_global(store, run_id, publish_outcome)
                observer.stage_done("publish", publish_outcome)
            observer.finish()
            summary = summarize(
                results,
                publish_outcome,
                run_id=run_id,
                executor=executor.description,
                stages=stages,
                duration=time.monotonic() - started,
                report=None,
            )
            _write_reports(ws, summary)
            record.finish_run(store, run_id, summary)
            return summary
        finally:
            executor.close()
            store.close()


def dump(summary: dict[str, Any], path: Path) -> None:
    path.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
