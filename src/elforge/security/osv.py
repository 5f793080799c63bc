"""OSV records (https://ossf.github.io/osv-schema/) as AlmaLinux and Rocky Linux publish them.

What we read: ``id``, ``aliases``, ``related`` (both carry CVE ids in these feeds),
``published``/``modified``, ``summary`` (whose ``Important:`` prefix is the severity when
there is no ``severity`` entry), ``affected[].package`` (ecosystem ``AlmaLinux:8``,
``Rocky Linux:9``; name) with ``ECOSYSTEM`` ranges whose ``fixed`` event is the first
fixed ``[epoch:]version-release``, and ``references`` (the ``ADVISORY`` one names the
Red Hat advisory the record rebuilds).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from elforge.errors import FormatError, format_boundary
from elforge.jsonfile import read_json
from elforge.rpm.updateinfo import parse_date
from elforge.security.model import (
    Advisory,
    FixedPackage,
    Reference,
    advisory_ids_in,
    cves_in,
    kind_from_id,
    severity_from_text,
)


def _evr(text: str, subject: str) -> tuple[int, str, str]:
    hit = _EVR_CACHE.get(text)
    if hit is not None:
        return hit
    if len(_EVR_CACHE) > 65536:
        _EVR_CACHE.clear()
    _EVR_CACHE[text] = value = _parse_evr(text, subject)
    return value


# A record lists the same fixed EVR for every subpackage: parse each string once.
_EVR_CACHE: dict[str, tuple[int, str, str]] = {}


def _parse_evr(text: str, subject: str) -> tuple[int, str, str]:
    epoch = 0
    if ":" in text:
        e, _, text = text.partition(":")
        if not e.isdigit():
            raise FormatError(f"fixed version has a bad epoch {e!r}", subject=subject)
        epoch = int(e)
    version, sep, release = text.rpartition("-")
    if not sep or not version or not release:
        raise FormatError(f"fixed version {text!r} is not version-release", subject=subject)
    return epoch, version, release


def _packages(doc: dict[str, Any], subject: str) -> list[FixedPackage]:
    out: list[FixedPackage] = []
    affected = doc.get("affected", [])
    if not isinstance(affected, list):
        raise FormatError("'affected' is not a list", subject=subject)
    for entry in affected:
        pkg = entry.get("package") if isinstance(entry, dict) else None
        if not isinstance(pkg, dict) or not pkg.get("name"):
            raise FormatError("affected entry without package name", subject=subject)
        ecosystem = pkg.get("ecosystem")
        for rng in entry.get("ranges", []) or []:
            if rng.get("type") != "ECOSYSTEM":
                continue  # GIT/SEMVER ranges do not carry rpm versions
            for event in rng.get("events", []) or []:
                fixed = event.get("fixed")
                if fixed:
                    epoch, version, release = _evr(str(fixed), subject)
                    module = None
                    spec = rng.get("database_specific") or {}
                    if isinstance(spec, dict) and spec.get("module"):
                        module = str(spec["module"])
                    out.append(
                        FixedPackage(pkg["name"], epoch, version, release, None, ecosystem, module)
                    )
    return out


def advisory_from_osv(doc: Any, path: Path | None = None) -> Advisory:
    """Turn one parsed OSV document into an :class:`Advisory`; FormatError on bad input."""
    subject = str(path) if path else "<osv>"
    if not isinstance(doc, dict):
        raise FormatError("OSV record is not a JSON object", subject=subject)
    ident = doc.get("id")
    if not isinstance(ident, str) or not ident:
        raise FormatError("OSV record without 'id'", subject=subject)
    subject = f"{subject} [{ident}]" if path else ident
    for required in ("affected", "published"):
        if required not in doc:
            raise FormatError(f"missing field {required!r}", subject=subject)
    published = parse_date(str(doc["published"]), subject=subject)
    modified = parse_date(str(doc["modified"]), subject=subject) if doc.get("modified") else None
    ids: dict[str, None] = {}
    for key in ("aliases", "related"):
        for alias in doc.get(key) or []:
            for cve in cves_in(str(alias)):
                ids.setdefault(cve, None)
    references: list[Reference] = []
    related: dict[str, None] = {}
    for ref in doc.get("references") or []:
        url = str(ref.get("url", ""))
        rtype = ref.get("type")
        references.append(Reference(url, rtype))
        if rtype == "ADVISORY":
            for other in advisory_ids_in(url):
                if other != ident:
                    related.setdefault(other, None)
    severity = None
    for sev in doc.get("severity") or []:
        if isinstance(sev, dict) and sev.get("type") == "Ubuntu":
            severity = severity_from_text(str(sev.get("score")))
    severity = severity or severity_from_text(doc.get("summary"))
    spec = doc.get("database_specific")
    if severity is None and isinstance(spec, dict):
        severity = severity_from_text(spec.get("severity"))
    packages = _packages(doc, subject)
    ecosystems = tuple(dict.fromkeys(p.product for p in packages if p.product))
    return Advisory(
        id=ident,
        source="osv",
        kind=kind_from_id(ident),
        severity=severity,
        title=doc.get("summary"),
        issued=published,
        updated=modified,
        cves=tuple(ids),
        packages=tuple(packages),
        references=tuple(references),
        related_advisories=tuple(related),
        ecosystems=ecosystems,
        description=doc.get("details"),
        path=path,
        raw={"aliases": doc.get("aliases") or [], "related": doc.get("related") or []},
    )


def read_osv(path: Path) -> Advisory:
    """Read one OSV JSON file."""
    doc = read_json(path)
    with format_boundary(path, "OSV record"):
        return advisory_from_osv(doc, path)


def advisory_to_osv(adv: Advisory, *, ecosystem: str) -> dict[str, Any]:
    """An OSV record for ``adv`` (export): one ECOSYSTEM range per fixed package name."""
    affected = []
    seen: set[tuple[str, str]] = set()
    for pkg in adv.packages:
        if pkg.arch in ("src", "nosrc") or (pkg.name, pkg.evr) in seen:
            continue
        seen.add((pkg.name, pkg.evr))
        affected.append(
            {
                "package": {"ecosystem": pkg.product or ecosystem, "name": pkg.name},
                "ranges": [
                    {
                        "type": "ECOSYSTEM",
                        "events": [{"introduced": "0"}, {"fixed": pkg.evr}],
                    }
                ],
            }
        )
    refs = [{"type": r.type or "WEB", "url": r.url} for r in adv.references if r.url]
    out = osv_record(adv, affected, refs)
    if adv.severity:
        out["database_specific"] = {"severity": adv.severity}
    return out


class OsvSubject(Protocol):
    """What an exported OSV record is made from (an Advisory, or the rebuild's Erratum)."""

    @property
    def id(self) -> str: ...
    @property
    def title(self) -> str | None: ...
    @property
    def description(self) -> str | None: ...
    @property
    def issued(self) -> datetime | None: ...
    @property
    def updated(self) -> datetime | None: ...
    @property
    def cves(self) -> Sequence[str]: ...


def osv_record(
    adv: OsvSubject, affected: list[dict[str, Any]], references: list[dict[str, str]]
) -> dict[str, Any]:
    """The OSV 1.6 fields every exported record has."""
    return {
        "schema_version": "1.6.0",
        "id": adv.id,
        "summary": adv.title or adv.id,
        "details": adv.description or "",
        "published": osv_time(adv.issued),
        "modified": osv_time(adv.updated or adv.issued),
        "related": list(adv.cves),
        "affected": affected,
        "references": references,
    }


def osv_time(value: Any) -> str | None:
    """OSV's timestamp form, ``2024-02-14T00:54:45Z`` (None stays None)."""
    if value is None:
        return None
    return str(value.strftime("%Y-%m-%dT%H:%M:%SZ"))
