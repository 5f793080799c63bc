"""Render a :class:`ReportDocument` as text, JSON, SARIF 2.1.0, JUnit XML or HTML."""

from __future__ import annotations

import functools
import html
import io
import json
from collections import defaultdict
from enum import StrEnum
from typing import Any

from rich.console import Console
from rich.table import Table as RichTable

from elforge import __version__
from elforge.report.model import Finding, ReportDocument, Severity


class OutputFormat(StrEnum):
    text = "text"
    json = "json"
    sarif = "sarif"
    junit = "junit"
    html = "html"


_SEVERITY_STYLE = {
    Severity.OK: "green",
    Severity.INFO: "cyan",
    Severity.VERIFY: "yellow",
    Severity.BAD: "bold red",
}
_SARIF_LEVEL = {Severity.OK: "none", Severity.INFO: "note", Severity.VERIFY: "warning",
                Severity.BAD: "error"}  # fmt: skip


def render(doc: ReportDocument, fmt: OutputFormat | str, *, color: bool = False) -> str:
    fmt = OutputFormat(fmt)
    if fmt is OutputFormat.json:
        return render_json(doc)
    if fmt is OutputFormat.sarif:
        return render_sarif(doc)
    if fmt is OutputFormat.junit:
        return render_junit(doc)
    if fmt is OutputFormat.html:
        return render_html(doc)
    return render_text(doc, color=color)


def render_json(doc: ReportDocument) -> str:
    return json.dumps(doc.data, indent=2, sort_keys=False, default=str) + "\n"


def render_text(doc: ReportDocument, *, color: bool = False, width: int = 120) -> str:
    buf = io.StringIO()
    console = Console(file=buf, force_terminal=color, no_color=not color, width=width,
                      highlight=False)  # fmt: skip
    console.print(f"[bold]{doc.title}[/bold]", markup=True)
    for label, value in doc.summary:
        console.print(f"  {label}: {value}", markup=False)
    for table in doc.tables:
        if not table.rows:
            continue
        rt = RichTable(title=table.title, title_justify="left", show_lines=False)
        for col in table.columns:
            rt.add_column(col, overflow="fold")
        for row in table.rows:
            rt.add_row(*(str(c) for c in row))
        console.print(rt)
    shown = [f for f in doc.findings if f.severity > Severity.OK]
    if shown:
        console.print("[bold]Findings[/bold]", markup=True)
        for f in sorted(shown, key=lambda f: (-f.severity, f.subject, f.code)):
            style = _SEVERITY_STYLE[f.severity]
            console.print(f"  [{style}]{f.severity.name:<6}[/{style}] ", end="", markup=True)
            console.print(f"{f.subject}: {f.message}", markup=False)
            if f.remedy:
                console.print(f"         remedy: {f.remedy}", markup=False)
    return buf.getvalue()


def render_sarif(doc: ReportDocument) -> str:
    rules: dict[str, dict[str, Any]] = {}
    results = []
    for f in doc.findings:
        if f.severity is Severity.OK:
            continue
        rules.setdefault(
            f.code,
            {"id": f.code, "shortDescription": {"text": f.code},
             "help": {"text": f.remedy or f.message}},
        )  # fmt: skip
        result: dict[str, Any] = {
            "ruleId": f.code,
            "level": _SARIF_LEVEL[f.severity],
            "message": {"text": f"{f.subject}: {f.message}"},
            "properties": {"severity": f.severity.name, "subject": f.subject, "layer": f.layer},
        }
        if f.location:
            result["locations"] = [{"physicalLocation": {"artifactLocation": {"uri": f.location}}}]
        results.append(result)
    sarif = {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [
            {
                "tool": {"driver": {"name": "elforge", "version": __version__,
                                    "informationUri": "https://example.invalid/elforge",
                                    "rules": list(rules.values())}},
                "results": results,
                "properties": {"schema": doc.schema, "title": doc.title},
            }
        ],
    }  # fmt: skip
    return json.dumps(sarif, indent=2) + "\n"


def xml_escape(text: str) -> str:
    return html.escape(text, quote=False)


def quoteattr(text: str) -> str:
    """An XML attribute value with its quotes (html.escape's entities are valid XML)."""
    return f'"{html.escape(text, quote=True)}"'


def render_junit(doc: ReportDocument) -> str:
    cases = doc.cases
    if cases is None:
        grouped: dict[str, list[Finding]] = defaultdict(list)
        for f in doc.findings:
            grouped[f.subject].append(f)
        cases = sorted(grouped.items())
    failures = sum(1 for _, fs in cases if any(f.severity is Severity.BAD for f in fs))
    out = ['<?xml version="1.0" encoding="UTF-8"?>']
    out.append(
        f'<testsuites name={quoteattr(doc.title)} tests="{len(cases)}" failures="{failures}">'
    )
    out.append(
        f'  <testsuite name={quoteattr(doc.schema)} tests="{len(cases)}" failures="{failures}">'
    )
    for name, fs in cases:
        out.append(f"    <testcase classname={quoteattr(doc.schema)} name={quoteattr(name)}>")
        bad = [f for f in fs if f.severity is Severity.BAD]
        if bad:
            text = "\n".join(f"{f.code}: {f.message}" for f in bad)
            out.append(
                f"      <failure message={quoteattr(bad[0].message)} type={quoteattr(bad[0].code)}>"
                f"{xml_escape(text)}</failure>"
            )
        other = [f for f in fs if Severity.OK < f.severity < Severity.BAD]
        if other:
            text = "\n".join(f"{f.severity.name} {f.code}: {f.message}" for f in other)
            out.append(f"      <system-out>{xml_escape(text)}</system-out>")
        out.append("    </testcase>")
    out.append("  </testsuite>")
    out.append("</testsuites>")
    return "\n".join(out) + "\n"


@functools.cache
def _templates() -> Any:
    # jinja2 loads only when HTML is asked for: every CLI call imports this module
    from jinja2 import Environment, PackageLoader, select_autoescape

    return Environment(
        loader=PackageLoader("elforge.report", "templates"),
        autoescape=select_autoescape(["html", "j2"], default=True),
    )


def render_html(doc: ReportDocument) -> str:
    template = _templates().get_template("report.html.j2")
    findings = sorted(doc.findings, key=lambda f: (-f.severity, f.subject, f.code))
    return template.render(
        doc=doc,
        findings=[f for f in findings if f.severity > Severity.OK],
        version=__version__,
        data_json=json.dumps(doc.data, indent=2, default=str),
    )
