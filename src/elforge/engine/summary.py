"""The run summary (``elforge.run/1``): one row per package, counts, and its report."""

from __future__ import annotations

import functools
import textwrap
from collections import Counter
from collections.abc import Mapping
from typing import Any

from elforge.engine.protocol import PackageResult, StageOutcome
from elforge.report.model import Finding, ReportDocument, Severity, Table

SCHEMA = "elforge.run/1"
CHAIN_STAGES = ("import", "patch", "build", "verify")
PROBLEM_WIDTH = 300  # characters of a problem shown in a table; the JSON has it whole


def drift_hint(patch_output: Mapping[str, Any] | None) -> str | None:
    """The first "did you mean" excerpt of a drifted patch (what the action nearly matched)."""
    result = (patch_output or {}).get("result") or {}
    for diagnostic in result.get("diagnostics", []):
        if diagnostic.get("did_you_mean"):
            return str(diagnostic["did_you_mean"])[:2000]
    return None


def with_hint(message: str, hint: str | None) -> str:
    """A problem followed by its "did you mean" excerpt, as ``patch apply`` prints it."""
    if not hint:
        return message
    return message + "\n    did you mean:\n" + "\n".join("      " + x for x in hint.splitlines())


def package_row(result: PackageResult) -> dict[str, Any]:
    """One package's line of the summary."""
    outcomes = result.outcomes

    def status(stage: str) -> str | None:
        return outcomes[stage].status if stage in outcomes else None

    nvr = next(
        (o.nvr for s in ("build", "patch", "import") if (o := outcomes.get(s)) and o.nvr), None
    )
    errors = [f"{o.stage}: {o.error}" for o in outcomes.values() if o.error and o.stops_chain]
    verify = outcomes.get("verify")
    verify_out = verify.output if verify is not None else {}
    problems = [p for pair in verify_out.get("pairs", []) for p in pair.get("problems", [])]
    missing = verify_out.get("missing_binaries", [])
    if not errors and (problems or missing):
        errors = [f"verify: {problems[0]}" if problems else f"verify: missing {missing[0]}"]
    return {
        "name": result.package,
        "nvr": nvr,
        **{stage: status(stage) for stage in CHAIN_STAGES},
        "abi_verdict": verify_out.get("verdict"),
        "reused": sorted(s for s, o in outcomes.items() if o.reused),
        "error": errors[0] if errors else None,
        "did_you_mean": drift_hint(patch.output) if (patch := outcomes.get("patch")) else None,
    }


COUNTED = ("imported", "identical", "patched", "drifted", "failed", "built", "skipped")


def _seen(row: dict[str, Any], fresh_only: bool, stage: str, status: str) -> bool:
    return row[stage] == status and not (fresh_only and stage in row["reused"])


def _status_counts(rows: list[dict[str, Any]], *, fresh_only: bool) -> dict[str, int]:
    """Packages per outcome; ``fresh_only`` counts only stages that did work in this run."""
    counts = Counter[str]()
    for row in rows:
        seen = functools.partial(_seen, row, fresh_only)
        counts["imported"] += seen("import", "imported")
        for status in ("identical", "patched", "drifted"):
            counts[status] += seen("patch", status)
        counts["failed"] += any(seen(s, "failed") for s in CHAIN_STAGES)
        counts["built"] += seen("build", "built")
        counts["skipped"] += any(seen(s, "skipped") for s in ("patch", "build"))
    return {k: counts[k] for k in COUNTED}


def summarize(
    results: list[PackageResult],
    publish: StageOutcome | None,
    *,
    run_id: int,
    executor: str,
    stages: list[str],
    implementations: dict[str, str],
    duration: float,
) -> dict[str, Any]:
    """The ``elforge.run/1`` document. ``counts`` is the work done in this run, ``reused``
    the stages served from earlier runs, ``totals`` the packages' state either way."""
    rows = [package_row(r) for r in sorted(results, key=lambda r: r.package)]
    abi = Counter(row["abi_verdict"] or row["verify"] for row in rows if row["verify"])
    reused = Counter(s for row in rows for s in row["reused"])
    return {
        "schema": SCHEMA,
        "run_id": run_id,
        "executor": executor,
        "stages": stages,
        "stage_implementations": implementations,
        "packages_total": len(rows),
        "counts": _status_counts(rows, fresh_only=True),
        "reused": dict(sorted(reused.items())),
        "totals": _status_counts(rows, fresh_only=False),
        "abi": dict(sorted(abi.items())),
        "publish": _publish_summary(publish),
        "packages": rows,
        "duration": round(duration, 2),
        "report": None,
    }


def _publish_summary(publish: StageOutcome | None) -> dict[str, Any] | None:
    if publish is None:
        return None
    return {
        "status": publish.status,
        "output": dict(publish.output),
        "error": publish.error,
        "reused": publish.reused,
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
                    remedy="see the package's report in reports/abi/",
                    layer="abi",
                )
            )
        elif row["error"]:
            severity = Severity.BAD if "failed" in row.values() else Severity.VERIFY
            message = with_hint(row["error"], row.get("did_you_mean"))
            findings.append(
                Finding(severity, "run.package-stopped", row["name"], message, layer="pipeline")
            )
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
                problem_text(row["error"]),
            ]
        )
    return ReportDocument(
        SCHEMA,
        "elforge run",
        summary,
        findings=findings,
        summary=headline(summary),
        tables=[table],
    )


def problem_text(error: str | None) -> str:
    """A problem for a table cell: bounded, cut between words (the renderer wraps it)."""
    return textwrap.shorten(error, PROBLEM_WIDTH, placeholder=" …") if error else ""


def _listing(counts: dict[str, int]) -> str:
    shown = [f"{k} {v}" for k, v in counts.items() if v]
    return ", ".join(shown) or "nothing"


def headline(summary: dict[str, Any]) -> list[tuple[str, Any]]:
    """Work done in this run and work reused from earlier runs, on separate lines."""
    out: list[tuple[str, Any]] = [
        ("packages", summary["packages_total"]),
        ("done in this run", _listing(summary["counts"])),
        ("reused from earlier runs", _listing(summary["reused"])),
        *((f"ABI {k}", v) for k, v in summary["abi"].items()),
    ]
    publish = summary.get("publish")
    if publish is not None:
        out.append(("publish", publish_line(publish)))
    out += [("executor", summary["executor"]), ("duration", f"{summary['duration']} s")]
    if summary.get("report"):
        out.append(("report", summary["report"]))
    return out


def publish_line(publish: dict[str, Any]) -> str:
    """What the publish stage did, in one line (item: ``run`` says where the repos are)."""
    out = publish.get("output") or {}
    if publish["status"] == "published":
        repos = ", ".join(f"{r['name']} ({r['packages']})" for r in out.get("repos", []))
        verb = "reused" if publish.get("reused") else "published"
        return f"{verb} {out.get('packages', 0)} packages to {out.get('dest')}: {repos}"
    return f"{publish['status']}: {publish.get('error') or ''}".strip().rstrip(":")
