"""The rebuild's advisories in the forms their readers take: updateinfo (dnf), OSV (scanners
reading AlmaLinux's osv-database layout) and OVAL definitions (OpenSCAP).

- updateinfo: one ``<update>`` per published advisory; one collection per module stream
  (with its ``<module>``) plus one for non-modular packages; every arch, multilib
  included, with file name and checksum.
- OSV: ``DIR/advisories/<folder>/<ID>.json`` like ``AlmaLinux/osv-database``
  (``advisories/almalinux8/ALSA-2024:1431.json``): one ECOSYSTEM range per package name
  (``introduced`` 0, ``fixed`` the published EVR), CVEs in ``related``, the reference
  advisory as an ``ADVISORY`` reference, modules in ``database_specific``.
- OVAL 5.11: one ``patch`` definition per advisory, criteria OR over one rpminfo test per
  package name ("installed and earlier than the fixed EVR").
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from elforge.errors import ConfigError
from elforge.rpm.updateinfo import (
    UpdateCollection,
    UpdatePackage,
    UpdateRecord,
    UpdateReference,
)
from elforge.security.errata import Erratum, ErratumPackage
from elforge.security.osv import osv_record

_SAFE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$")


def _collections(e: Erratum) -> tuple[UpdateCollection, ...]:
    groups: dict[str, list[ErratumPackage]] = {}
    for p in e.packages:
        groups.setdefault(str(p.module) if p.module else "", []).append(p)
    out = []
    for key in sorted(groups):
        pkgs = groups[key]
        module = pkgs[0].module
        short = f"{module.name}:{module.stream}" if module else "packages"
        out.append(
            UpdateCollection(
                short=short,
                name=short,
                module=module,
                packages=tuple(
                    UpdatePackage(
                        name=p.name,
                        epoch=p.epoch,
                        version=p.version,
                        release=p.release,
                        arch=p.arch,
                        src=p.sourcerpm,
                        filename=p.filename.rsplit("/", 1)[-1],
                        sum_type=p.checksum_type,
                        sum=p.checksum,
                    )
                    for p in sorted(pkgs, key=lambda p: (p.name, p.arch))
                ),
            )
        )
    return tuple(out)


def to_update_record(e: Erratum, issuer: str) -> UpdateRecord:
    """The ``<update>`` dnf reads for a published advisory."""
    refs = [
        UpdateReference(r.url, r.id or e.reference_id, r.type or "other") for r in e.references[:1]
    ]
    refs += [
        UpdateReference(f"https://www.cve.org/CVERecord?id={cve}", cve, "cve", cve)
        for cve in e.cves
    ]
    return UpdateRecord(
        id=e.id,
        type=e.type,
        status="final",
        from_=issuer,
        version="1",
        title=e.title or f"{e.id}: update",
        issued=e.issued,
        updated=e.updated or e.issued,
        severity=e.severity,
        summary=e.title,
        description=e.description or f"Rebuild of {e.reference_id}.",
        release="0",
        references=tuple(refs),
        collections=_collections(e),
    )


def updates_for_export(errata: Iterable[Erratum], issuer: str) -> list[UpdateRecord]:
    return [to_update_record(e, issuer) for e in errata if e.status == "published"]


def to_osv(e: Erratum, ecosystem: str) -> dict[str, Any]:
    """An OSV 1.6 record in the shape of AlmaLinux's osv-database."""
    affected: list[dict[str, Any]] = []
    seen: set[str] = set()
    for p in sorted(e.packages, key=lambda p: (p.name, p.arch)):
        if p.name in seen:
            continue
        seen.add(p.name)
        entry: dict[str, Any] = {
            "package": {"ecosystem": ecosystem, "name": p.name},
            "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": p.evr}]}],
        }
        if p.module:
            entry["ranges"][0]["database_specific"] = {
                "module": f"{p.module.name}:{p.module.stream}"
            }
        affected.append(entry)
    refs = [{"type": "ADVISORY", "url": e.references[0].url}] if e.references else []
    refs += [{"type": "WEB", "url": r.url} for r in e.references[1:] if r.url]
    out = osv_record(e, affected, refs)
    out["database_specific"] = {"severity": e.severity, "reference": e.reference_id}
    return out


def write_osv(errata: Iterable[Erratum], dest: Path, *, folder: str, ecosystem: str) -> list[Path]:
    """``dest/advisories/<folder>/<ID>.json`` per published advisory (atomic writes)."""
    if not _SAFE_ID.match(folder) or ":" in folder:
        raise ConfigError(
            f"OSV folder name {folder[:80]!r} is not a plain name", subject="[errata] osv_folder"
        )
    out_dir = dest / "advisories" / folder
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for e in errata:
        if e.status != "published":
            continue
        if not _SAFE_ID.match(e.id):
            raise ConfigError(
                f"advisory id {e.id[:80]!r} is not usable as a file name", subject=e.id
            )
        path = out_dir / f"{e.id}.json"
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_text(json.dumps(to_osv(e, ecosystem), indent=2) + "\n", encoding="utf-8")
        os.replace(tmp, path)
        written.append(path)
    return written


# -- OVAL -----------------------------------------------------------------------------------

_OVAL_NS = (
    'xmlns="http://oval.mitre.org/XMLSchema/oval-definitions-5" '
    'xmlns:oval="http://oval.mitre.org/XMLSchema/oval-common-5" '
    'xmlns:linux-def="http://oval.mitre.org/XMLSchema/oval-definitions-5#linux"'
)


@dataclass
class _OvalParts:
    definitions: list[str]
    tests: list[str]
    objects: list[str]
    states: list[str]
    object_ids: dict[str, str]


def _definition_number(e: Erratum, fallback: int) -> int:
    digits = re.sub(r"\D", "", e.id.split("-", 1)[-1])
    return int(digits) if digits and digits != "0" else fallback


def _oval_definition(e: Erratum, ns: str, number: int, parts: _OvalParts) -> None:
    criteria = []
    evr_by_name: dict[str, str] = {}
    for p in e.packages:
        evr_by_name.setdefault(p.name, f"{p.epoch}:{p.version}-{p.release}")
    for i, (name, evr) in enumerate(sorted(evr_by_name.items()), 1):
        test_id = f"oval:{ns}:tst:{number}{i:03d}"
        state_id = f"oval:{ns}:ste:{number}{i:03d}"
        obj_id = parts.object_ids.get(name)
        if obj_id is None:
            obj_id = parts.object_ids[name] = f"oval:{ns}:obj:{len(parts.object_ids) + 1}"
            parts.objects.append(
                f'    <linux-def:rpminfo_object id="{obj_id}" version="1">'
                f"<linux-def:name>{escape(name)}</linux-def:name></linux-def:rpminfo_object>\n"
            )
        comment = quoteattr(f"{name} is earlier than {evr}")
        parts.tests.append(
            f'    <linux-def:rpminfo_test id="{test_id}" version="1" check="at least one" '
            f'check_existence="at_least_one_exists" comment={comment}>'
            f'<linux-def:object object_ref="{obj_id}"/><linux-def:state state_ref="{state_id}"/>'
            "</linux-def:rpminfo_test>\n"
        )
        parts.states.append(
            f'    <linux-def:rpminfo_state id="{state_id}" version="1">'
            '<linux-def:evr datatype="evr_string" operation="less than">'
            f"{escape(evr)}</linux-def:evr>"
            "</linux-def:rpminfo_state>\n"
        )
        criteria.append(f'        <criterion test_ref="{test_id}" comment={comment}/>\n')
    refs = [
        f'        <reference source="{escape(e.id.split("-")[0])}" ref_id={quoteattr(e.id)}/>\n'
    ]
    refs += [
        f'        <reference source="CVE" ref_id={quoteattr(c)} '
        f"ref_url={quoteattr('https://www.cve.org/CVERecord?id=' + c)}/>\n"
        for c in e.cves
    ]
    severity = (
        f"        <advisory><severity>{escape(e.severity)}</severity></advisory>\n"
        if e.severity
        else ""
    )
    parts.definitions.append(
        f'    <definition id="oval:{ns}:def:{number}" version="1" class="patch">\n'
        f"      <metadata>\n        <title>{escape(e.title or e.id)}</title>\n"
        f'        <affected family="unix"/>\n{"".join(refs)}'
        f"        <description>{escape(e.description or e.reference_id)}</description>\n"
        f"{severity}      </metadata>\n"
        f'      <criteria operator="OR">\n{"".join(criteria)}      </criteria>\n'
        "    </definition>\n"
    )


def write_oval(errata: Iterable[Erratum], dest: Path, *, namespace: str, product: str) -> int:
    """OVAL 5.11 definitions for the published advisories; returns how many."""
    if not re.fullmatch(r"[A-Za-z0-9_.-]{1,64}", namespace):
        raise ConfigError(
            f"OVAL namespace {namespace[:80]!r} is not [A-Za-z0-9_.-]+", subject="oval"
        )
    parts = _OvalParts([], [], [], [], {})
    numbers: set[int] = set()
    for i, e in enumerate(
        sorted((e for e in errata if e.status == "published" and e.packages), key=lambda e: e.id), 1
    ):
        number = _definition_number(e, i)
        while number in numbers:
            number += 1
        numbers.add(number)
        _oval_definition(e, namespace, number, parts)
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S")
    text = (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<oval_definitions {_OVAL_NS}>\n'
        f"  <generator>\n    <oval:product_name>{escape(product)}</oval:product_name>\n"
        f"    <oval:schema_version>5.11</oval:schema_version>\n"
        f"    <oval:timestamp>{now}</oval:timestamp>\n  </generator>\n"
        + _section("definitions", parts.definitions)
        + _section("tests", parts.tests)
        + _section("objects", parts.objects)
        + _section("states", parts.states)
        + "</oval_definitions>\n"
    )
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, dest)
    return len(parts.definitions)


def _section(tag: str, items: list[str]) -> str:
    return f"  <{tag}>\n{''.join(items)}  </{tag}>\n" if items else ""
