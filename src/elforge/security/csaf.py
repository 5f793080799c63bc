"""Red Hat CSAF 2.0 advisories and VEX documents.

A CSAF document names products twice: the product tree lists platforms
(``AppStream-9.4.0.Z.MAIN.EUS``, with a CPE) and package builds
(``python3.9-0:3.9.18-3.el9_4.5.src``, with a purl), and
``relationships`` join them into the full product ids that ``product_status`` and
``remediations`` use (``AppStream-9.4.0.Z.MAIN.EUS:python3.9-0:3.9.18-3.el9_4.5.src``).
Red Hat has spelled the package part three ways over the years, all read here:

- ``name-epoch:version-release.arch`` (current);
- ``name-version-release.arch.rpm-module:stream`` (2023 modular advisories);
- ``name-epoch:version-release.arch::module:stream`` (2024 on, modular);

and VEX files name unfixed components without a version (``red_hat_enterprise_linux_8:kernel``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlparse

from elforge.errors import FormatError, format_boundary
from elforge.jsonfile import read_json
from elforge.rpm.nevra import KNOWN_ARCHES, NEVRA
from elforge.rpm.updateinfo import parse_date
from elforge.security.model import (
    Advisory,
    CveStatement,
    FixedPackage,
    Reference,
    advisory_ids_in,
    kind_from_id,
    severity_from_text,
)

STATUSES = ("fixed", "known_affected", "known_not_affected", "under_investigation")
# CSAF also has first_affected/last_affected/first_fixed/recommended: fold them in.
_STATUS_ALIASES = {
    "first_fixed": "fixed",
    "recommended": "fixed",
    "first_affected": "known_affected",
    "last_affected": "known_affected",
}
_OLD_MODULE = re.compile(r"\.rpm-([^:]+:[^:]+)$")


@dataclass(frozen=True)
class CsafProduct:
    """A full product id resolved into its platform and (when it has one) package build."""

    product_id: str
    platform: str | None
    component: str  # the package name
    package: FixedPackage | None  # None for version-less VEX components


@dataclass(frozen=True)
class CsafRemediation:
    category: str  # vendor_fix, workaround, mitigation, none_available, no_fix_planned
    date: datetime | None
    url: str | None
    product_ids: tuple[str, ...]
    details: str | None = None


@dataclass(frozen=True)
class CsafVulnerability:
    cve: str
    severity: str | None
    release_date: datetime | None
    product_status: dict[str, tuple[str, ...]]
    remediations: tuple[CsafRemediation, ...]


@dataclass
class CsafDocument:
    id: str
    category: str  # csaf_security_advisory, csaf_vex, ...
    title: str | None
    severity: str | None
    initial_release: datetime | None
    current_release: datetime | None
    vulnerabilities: list[CsafVulnerability]
    products: dict[str, CsafProduct]
    references: tuple[Reference, ...] = ()
    path: Path | None = None
    notes: dict[str, str] = field(default_factory=dict)

    @property
    def is_vex(self) -> bool:
        return self.category == "csaf_vex"


def _package_from_reference(ref: str, purl: str | None) -> tuple[str, FixedPackage | None]:
    """(component name, package build) for a product_reference such as ``bind-32:9.8.2-…x86_64``."""
    text, module = ref, None
    if "::" in text:
        text, module = text.split("::", 1)
    else:
        m = _OLD_MODULE.search(text)
        if m:
            module, text = m.group(1), text[: m.start()]
    if text.endswith(".rpm"):
        text = text[:-4]
    _head, dot, arch = text.rpartition(".")
    if dot and arch in KNOWN_ARCHES:
        try:
            n = NEVRA.parse(text)
        except FormatError:
            n = None
        if n is not None:
            return n.name, FixedPackage(n.name, n.epoch, n.version, n.release, n.arch, None, module)
    if purl:
        pkg = _package_from_purl(purl, module)
        if pkg is not None:
            return pkg.name, pkg
    return text, None


def _package_from_purl(purl: str, module: str | None) -> FixedPackage | None:
    """``pkg:rpm/redhat/bind@9.8.2-0.68.rc1.el6_10.17?arch=src&epoch=32``."""
    if not purl.startswith("pkg:rpm/"):
        return None
    parsed = urlparse(purl)
    path = unquote(parsed.path)
    if "@" not in path:
        return None
    name = path.rsplit("/", 1)[-1].split("@", 1)[0]
    vr = path.split("@", 1)[1]
    version, sep, release = vr.rpartition("-")
    if not sep:
        return None
    qs = parse_qs(parsed.query)
    epoch = int(qs.get("epoch", ["0"])[0] or 0)
    arch = qs.get("arch", [None])[0]
    if module is None and qs.get("rpmmod"):
        module = ":".join(qs["rpmmod"][0].split(":")[:2])
    return FixedPackage(name, epoch, version, release, arch, None, module)


def _list_of_objects(value: Any, where: str, subject: str) -> list[dict[str, Any]]:
    """``value`` as a list of JSON objects; a broken product tree is one clear error."""
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(x, dict) for x in value):
        raise FormatError(f"malformed {where}: not a list of objects", subject=subject)
    return value


def _walk_branches(
    branches: Any, purls: dict[str, str], platforms: dict[str, str], subject: str, depth: int = 0
) -> None:
    if depth > 32:  # Red Hat nests four levels; anything this deep is hostile
        raise FormatError("malformed product_tree: branches nested too deep", subject=subject)
    for branch in _list_of_objects(branches, "product_tree branches", subject):
        product = branch.get("product")
        if isinstance(product, dict) and product.get("product_id"):
            helper = product.get("product_identification_helper") or {}
            if isinstance(helper, dict) and isinstance(helper.get("purl"), str):
                purls[str(product["product_id"])] = helper["purl"]
            if branch.get("category") == "product_name":
                platforms[product["product_id"]] = str(product.get("name") or product["product_id"])
        _walk_branches(branch.get("branches"), purls, platforms, subject, depth + 1)


def _products(tree: Any, subject: str) -> dict[str, CsafProduct]:
    if not isinstance(tree, dict):
        raise FormatError("malformed product_tree: not an object", subject=subject)
    purls: dict[str, str] = {}
    platforms: dict[str, str] = {}
    _walk_branches(tree.get("branches"), purls, platforms, subject)
    out: dict[str, CsafProduct] = {}
    for rel in _list_of_objects(tree.get("relationships"), "product_tree relationships", subject):
        full_name = rel.get("full_product_name")
        full = full_name.get("product_id") if isinstance(full_name, dict) else None
        ref = rel.get("product_reference")
        platform = rel.get("relates_to_product_reference")
        if not full or not ref:
            continue
        if not all(isinstance(x, str) for x in (full, ref, platform or "")):
            raise FormatError(
                "malformed product_tree: a relationship id is not a string", subject=subject
            )
        name, pkg = _package_from_reference(ref, purls.get(ref))
        if pkg is not None and platform:
            pkg = FixedPackage(
                pkg.name, pkg.epoch, pkg.version, pkg.release, pkg.arch, platform, pkg.module
            )
        out[full] = CsafProduct(full, platform, name, pkg)
    return out


def _date(value: Any, subject: str) -> datetime | None:
    if value in (None, ""):
        return None
    return parse_date(str(value), subject=subject)


def parse_csaf(doc: Any, path: Path | None = None) -> CsafDocument:
    """Parse a CSAF 2.0 document (advisory or VEX)."""
    subject = str(path) if path else "<csaf>"
    if not isinstance(doc, dict) or not isinstance(doc.get("document"), dict):
        raise FormatError("not a CSAF document (no 'document' object)", subject=subject)
    meta = doc["document"]
    tracking = meta.get("tracking")
    if not isinstance(tracking, dict) or not tracking.get("id"):
        raise FormatError("missing field 'document.tracking.id'", subject=subject)
    ident = str(tracking["id"])
    subject = f"{subject} [{ident}]"
    products = _products(doc.get("product_tree") or {}, subject)
    vulns: list[CsafVulnerability] = []
    for i, v in enumerate(_list_of_objects(doc.get("vulnerabilities"), "vulnerabilities", subject)):
        if not isinstance(v.get("product_status") or {}, dict):
            raise FormatError(
                f"vulnerability #{i}: product_status is not an object", subject=subject
            )
        cve = v.get("cve")
        if not cve:
            raise FormatError(f"vulnerability #{i} without 'cve'", subject=subject)
        status: dict[str, list[str]] = {}
        for key, ids in (v.get("product_status") or {}).items():
            status.setdefault(_STATUS_ALIASES.get(key, key), []).extend(ids or [])
        rems = tuple(
            CsafRemediation(
                category=str(r.get("category", "")),
                date=_date(r.get("date"), subject),
                url=r.get("url"),
                product_ids=tuple(r.get("product_ids") or ()),
                details=r.get("details"),
            )
            for r in v.get("remediations") or []
        )
        severity = None
        for threat in v.get("threats") or []:
            if threat.get("category") == "impact":
                severity = severity_from_text(threat.get("details"))
        vulns.append(
            CsafVulnerability(
                cve=str(cve),
                severity=severity,
                release_date=_date(v.get("release_date"), subject),
                product_status={k: tuple(x) for k, x in status.items()},
                remediations=rems,
            )
        )
    refs = tuple(
        Reference(str(r.get("url", "")), r.get("category"), r.get("summary"))
        for r in meta.get("references") or []
    )
    notes = {
        str(n.get("category")): str(n.get("text", ""))
        for n in meta.get("notes") or []
        if isinstance(n, dict)
    }
    return CsafDocument(
        id=ident,
        category=str(meta.get("category", "")),
        title=meta.get("title"),
        severity=severity_from_text((meta.get("aggregate_severity") or {}).get("text")),
        initial_release=_date(tracking.get("initial_release_date"), subject),
        current_release=_date(tracking.get("current_release_date"), subject),
        vulnerabilities=vulns,
        products=products,
        references=refs,
        path=path,
        notes=notes,
    )


def read_csaf(path: Path) -> CsafDocument:
    doc = read_json(path)
    with format_boundary(path, "CSAF document"):
        return parse_csaf(doc, path)


def _product(doc: CsafDocument, pid: str) -> CsafProduct:
    known = doc.products.get(pid)
    if known is not None:
        return known
    platform, sep, rest = pid.partition(":")
    if not sep:
        return CsafProduct(pid, pid, "", None)
    name, pkg = _package_from_reference(rest, None)
    return CsafProduct(pid, platform, name, pkg)


def fix_date(doc: CsafDocument) -> datetime | None:
    """When the reference fixed: the earliest vendor_fix date, else the initial release."""
    dates = [
        r.date
        for v in doc.vulnerabilities
        for r in v.remediations
        if r.category == "vendor_fix" and r.date is not None
    ]
    return min(dates) if dates else doc.initial_release


def advisory_from_csaf(doc: CsafDocument) -> Advisory:
    """The advisory a CSAF security advisory describes: its CVEs and the builds it fixes."""
    packages: dict[tuple[str, str, str | None, str | None], FixedPackage] = {}
    for v in doc.vulnerabilities:
        for pid in v.product_status.get("fixed", ()):
            product = _product(doc, pid)
            if product.package is not None:
                p = product.package
                packages.setdefault((p.name, p.evr, p.arch, p.product), p)
    cves = tuple(dict.fromkeys(v.cve for v in doc.vulnerabilities))
    related: dict[str, None] = {}
    for v in doc.vulnerabilities:
        for r in v.remediations:
            for other in advisory_ids_in(r.url or ""):
                if other != doc.id:
                    related.setdefault(other, None)
    platforms = tuple(dict.fromkeys(p.product for p in packages.values() if p.product))
    return Advisory(
        id=doc.id,
        source="csaf",
        kind=kind_from_id(doc.id) if not doc.is_vex else "vex",
        severity=doc.severity,
        title=doc.title,
        issued=fix_date(doc),
        updated=doc.current_release,
        cves=cves,
        packages=tuple(packages.values()),
        references=doc.references,
        related_advisories=tuple(related),
        ecosystems=platforms,
        description=doc.notes.get("general"),
        path=doc.path,
    )


def statements(doc: CsafDocument) -> list[CveStatement]:
    """Per CVE and product, what the document says: VEX's view, also for advisories."""
    out: list[CveStatement] = []
    for v in doc.vulnerabilities:
        fix_by_pid: dict[str, CsafRemediation] = {}
        for r in v.remediations:
            if r.category == "vendor_fix":
                for pid in r.product_ids:
                    fix_by_pid.setdefault(pid, r)
        for status, pids in v.product_status.items():
            if status not in STATUSES:
                continue
            for pid in pids:
                product = _product(doc, pid)
                rem = fix_by_pid.get(pid)
                advisory = None
                if rem is not None:
                    ids = advisory_ids_in(rem.url or "")
                    advisory = ids[0] if ids else None
                if advisory is None and status == "fixed" and not doc.is_vex:
                    advisory = doc.id
                out.append(
                    CveStatement(
                        cve=v.cve,
                        product=product.platform or pid,
                        component=product.component or None,
                        status=status,
                        advisory=advisory,
                        date=rem.date if rem is not None else None,
                        fixed=product.package if status == "fixed" else None,
                        severity=v.severity,
                    )
                )
    return out
