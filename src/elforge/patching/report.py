"""Report documents for patch outcomes: one package (``elforge.patch/1``) and the
classification of many (``elforge.patch-report/1``)."""

from __future__ import annotations

from collections import Counter

from elforge.patching.outcome import STATUSES, PatchOutcome
from elforge.report.model import Finding, ReportDocument, Severity, Table

REPORT_SCHEMA = "elforge.patch-report/1"

_REMEDY = {
    "drift": "update the action to the new upstream text (see the nearest match), or widen expect",
    "error": "fix the config or the tree and rerun",
    "unknown-field": "elforge skipped this field (the rest of the config applied): check by "
    "hand what it should change",
}


def findings_for(outcome: PatchOutcome) -> list[Finding]:
    out = []
    for d in outcome.diagnostics:
        message = d.line()
        out.append(
            Finding(
                severity=Severity.BAD if d.kind == "error" else Severity.VERIFY,
                code=f"patch.{d.kind}",
                subject=outcome.package,
                message=message,
                remedy=_REMEDY.get(d.kind, ""),
                layer="patch",
                location=d.file,
            )
        )
    if not out:
        out.append(Finding(Severity.OK, f"patch.{outcome.status}", outcome.package, outcome.status))
    return out


def _action_rows(outcome: PatchOutcome) -> list[list[object]]:
    return [
        [
            a.index,
            a.action,
            a.source,
            a.expected,
            a.changed,
            "ok" if a.ok else "DRIFT",
            a.category,
            ", ".join(a.files),
        ]
        for a in outcome.actions
    ]


_COLUMNS = ["#", "action", "source", "expected", "changed", "result", "category", "files"]


def outcome_document(outcome: PatchOutcome) -> ReportDocument:
    return ReportDocument(
        schema=outcome.to_json()["schema"],
        title=f"elforge patch: {outcome.package} {outcome.status}",
        data=outcome.to_json(),
        findings=findings_for(outcome),
        summary=[
            ("package", outcome.package),
            ("status", outcome.status),
            ("config", f"{outcome.config} ({outcome.config_format or 'none'})"),
        ],
        tables=[Table("Actions", _COLUMNS, _action_rows(outcome))],
    )


def classification(outcomes: list[PatchOutcome]) -> dict[str, dict[str, float | int]]:
    counts = Counter(o.status for o in outcomes)
    total = len(outcomes)
    return {
        s: {
            "count": counts.get(s, 0),
            "percent": round(100 * counts.get(s, 0) / total, 1) if total else 0.0,
        }
        for s in STATUSES
    }


def report_document(
    outcomes: list[PatchOutcome], *, title: str = "elforge patch report"
) -> ReportDocument:
    classes = classification(outcomes)
    findings = [f for o in outcomes for f in findings_for(o)]
    rows = [
        [o.package, o.status, o.config_format or "-", sum(1 for a in o.actions if a.changed),
         len(o.diagnostics)]
        for o in outcomes
    ]  # fmt: skip
    return ReportDocument(
        schema=REPORT_SCHEMA,
        title=title,
        data={
            "total": len(outcomes),
            "classification": classes,
            "packages": [o.to_json() for o in outcomes],
        },
        findings=findings,
        summary=[("packages", len(outcomes))]
        + [(s, f"{c['count']} ({c['percent']}%)") for s, c in classes.items()],
        tables=[
            Table(
                "Packages", ["package", "status", "format", "actions changed", "diagnostics"], rows
            )
        ],
        cases=[(o.package, findings_for(o)) for o in outcomes],
    )
