"""CVE records of Red Hat's Security Data API (``/hydra/rest/securitydata/cve/CVE-….json``).

Each record lists ``affected_release`` (product, advisory, release date, fixed package
``name-epoch:version-release``) and ``package_state`` (unfixed products with a
``fix_state`` such as ``Affected``, ``Under investigation``, ``Not affected``,
``Will not fix``, ``Out of support scope``).  Both become :class:`CveStatement`s in CSAF's
status vocabulary.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from elforge.errors import FormatError, format_boundary
from elforge.jsonfile import read_json
from elforge.rpm.nevra import NEVRA
from elforge.rpm.updateinfo import parse_date
from elforge.security.model import CveStatement, FixedPackage, severity_from_text

_FIX_STATES = {
    "affected": "known_affected",
    "fix deferred": "known_affected",
    "will not fix": "known_affected",
    "out of support scope": "known_affected",
    "under investigation": "under_investigation",
    "not affected": "known_not_affected",
}


@dataclass
class HydraCve:
    cve: str
    severity: str | None
    public_date: datetime | None
    statements: list[CveStatement]
    path: Path | None = None


def _fixed_package(text: str, product: str) -> FixedPackage | None:
    """``python3.9-0:3.9.18-3.el9_4.5`` (no arch) into a FixedPackage."""
    try:
        n = NEVRA.from_nevr(text, "")
    except FormatError:
        return None
    return FixedPackage(n.name, n.epoch, n.version, n.release, None, product)


def parse_hydra(doc: Any, path: Path | None = None) -> HydraCve:
    subject = str(path) if path else "<hydra>"
    if not isinstance(doc, dict):
        raise FormatError("Security Data API record is not a JSON object", subject=subject)
    name = doc.get("name")
    if not isinstance(name, str) or not name.startswith("CVE-"):
        raise FormatError("missing field 'name' (the CVE id)", subject=subject)
    subject = f"{subject} [{name}]"
    severity = severity_from_text(doc.get("threat_severity"))
    public = doc.get("public_date")
    out: list[CveStatement] = []
    for rel in doc.get("affected_release") or []:
        product = str(rel.get("cpe") or rel.get("product_name") or "")
        date = rel.get("release_date")
        pkg = _fixed_package(str(rel.get("package") or ""), product)
        out.append(
            CveStatement(
                cve=name,
                product=product,
                component=pkg.name if pkg else rel.get("package"),
                status="fixed",
                advisory=rel.get("advisory"),
                date=parse_date(str(date), subject=subject) if date else None,
                fixed=pkg,
                severity=severity,
            )
        )
    for state in doc.get("package_state") or []:
        fix_state = str(state.get("fix_state", "")).strip().lower()
        status = _FIX_STATES.get(fix_state)
        if status is None:
            raise FormatError(f"unknown fix_state {state.get('fix_state')!r}", subject=subject)
        out.append(
            CveStatement(
                cve=name,
                product=str(state.get("cpe") or state.get("product_name") or ""),
                component=state.get("package_name"),
                status=status,
                severity=severity,
            )
        )
    return HydraCve(
        cve=name,
        severity=severity,
        public_date=parse_date(str(public), subject=subject) if public else None,
        statements=out,
        path=path,
    )


def read_hydra(path: Path) -> HydraCve:
    doc = read_json(path)
    with format_boundary(path, "Security Data API record"):
        return parse_hydra(doc, path)
