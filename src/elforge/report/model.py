"""The shape every report takes before it is rendered: one model, many renderings.

Domain modules build a :class:`ReportDocument`; its ``data`` is the JSON contract
(carrying ``"schema": "elforge.<kind>/<version>"``), and text, SARIF, JUnit and HTML are
made from the same document.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any


class Severity(IntEnum):
    """Result levels, after rpminspect: ordered so that ``max()`` gives the worst."""

    OK = 0
    INFO = 1
    VERIFY = 2
    BAD = 3

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True)
class Finding:
    """One thing a check found about one exactly named subject, with a remedy hint."""

    severity: Severity
    code: str  # stable rule id, e.g. "abi.symbol-removed"
    subject: str  # NEVRA, file path in the package, SONAME or symbol@VERSION
    message: str
    remedy: str = ""
    layer: str = ""  # e.g. package, elf, type, kabi, closure
    location: str = ""  # file the finding is about, when there is one

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "severity": self.severity.name,
            "code": self.code,
            "subject": self.subject,
            "message": self.message,
        }
        if self.remedy:
            out["remedy"] = self.remedy
        if self.layer:
            out["layer"] = self.layer
        if self.location:
            out["location"] = self.location
        return out


@dataclass
class Table:
    """A table for the text and HTML renderings."""

    title: str
    columns: list[str]
    rows: list[list[Any]] = field(default_factory=list)


@dataclass
class ReportDocument:
    """A rendered-anywhere report.

    ``data`` is the JSON document; ``summary`` holds headline figures, ``tables`` the detail
    that text and HTML show, ``findings`` what SARIF and JUnit are made of.
    """

    schema: str
    title: str
    data: dict[str, Any]
    findings: list[Finding] = field(default_factory=list)
    summary: list[tuple[str, Any]] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    cases: list[tuple[str, list[Finding]]] | None = None  # JUnit test cases; default per subject

    def __post_init__(self) -> None:
        self.data = {"schema": self.schema, **{k: v for k, v in self.data.items() if k != "schema"}}

    @property
    def worst(self) -> Severity:
        return max((f.severity for f in self.findings), default=Severity.OK)
