"""Security parity: every reference CVE fix, checked against the rebuild, one state per CVE.

For each reference advisory and each CVE it fixes, the state is

- ``fixed``: the rebuild carries the fix — its repositories ship every fixed package at
  or above the reference build (rpmvercmp after release normalisation), or, without
  repositories, a rebuild advisory for the reference lists the CVE (or ships builds at or
  above the reference's for the packages);
- ``not_shipped``: the fix does not apply to the rebuild: another major release, an
  extended-support-only stream (EUS/E4S/AUS/TUS/ELS), packages the repositories do not
  carry at all, or a reference statement of ``known_not_affected``;
- ``under_investigation``: the reference has no fix yet (VEX/Security Data API
  ``under_investigation`` or ``known_affected``);
- ``missing``: everything else — the goal is zero.

A CVE's overall state is ``missing`` if any applicable reference fix is missing, else
``fixed`` if any fix is fixed, else ``under_investigation``, else ``not_shipped``.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from elforge.errors import FormatError
from elforge.report.model import Finding, ReportDocument, Severity, Table
from elforge.security.mapping import index_by_reference, is_rebuild_only, reference_ids
from elforge.security.model import Advisory, CveStatement, FixedPackage
from elforge.security.shipped import Shipped
from elforge.security.sources import Feed
from elforge.security.versions import dist_major, package_covers, same_stream

SCHEMA = "elforge.security-parity/1"
STATES = ("fixed", "under_investigation", "not_shipped", "missing")
# Extended-support-only streams: CSAF products such as "AppStream-9.0.0.Z.EUS" or
# "6Server-ELS.EXTENSION" (but not "AppStream-9.4.0.Z.MAIN.EUS", the main stream), and CPEs
# such as cpe:/a:redhat:rhel_eus:8.6 (Security Data API).
_EXTENDED = re.compile(r"\.Z\.(?:EUS|E4S|AUS|TUS)$|-ELS\b|rhel_(?:eus|aus|tus|e4s|els)")
_PRODUCT_MAJOR = re.compile(r"(?:enterprise_linux|rhel_\w+|^[A-Za-z]+-?)[:_-]?(\d+)")


@dataclass
class CveResult:
    cve: str
    reference_id: str | None
    state: str
    reason: str
    rebuild_ids: tuple[str, ...] = ()
    evidence: tuple[str, ...] = ()
    severity: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "cve": self.cve,
            "reference_id": self.reference_id,
            "state": self.state,
            "reason": self.reason,
            "rebuild_ids": list(self.rebuild_ids),
            "evidence": list(self.evidence),
            "severity": self.severity,
        }


@dataclass
class ParityResult:
    rows: list[CveResult]
    cve_states: dict[str, CveResult]
    rebuild_majors: set[int]
    mapped: dict[str, list[str]]  # reference id -> rebuild ids
    rebuild_only: list[str]
    unmatched_rebuild: list[str]  # rebuild advisories whose reference was not given
    unlisted: list[
        tuple[str, str, str]
    ]  # (reference id, rebuild id, cve) not in the rebuild's list
    errors: list[FormatError] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        out = dict.fromkeys(STATES, 0)
        for r in self.cve_states.values():
            out[r.state] += 1
        return out


def _package_major(pkg: FixedPackage) -> int | None:
    major = dist_major(pkg.release)
    if major is None and pkg.product:
        m = _PRODUCT_MAJOR.search(pkg.product)
        major = int(m.group(1)) if m else None
    return major


def applicable_fixes(pkgs: tuple[FixedPackage, ...], majors: set[int]) -> list[FixedPackage]:
    """The fixes that apply to a rebuild of ``majors``: same major, not extended-support only."""
    out = [p for p in pkgs if _package_major(p) in majors] if majors else list(pkgs)
    return [p for p in out if not _EXTENDED.search(p.product or "")]


def not_applicable_reason(pkgs: tuple[FixedPackage, ...], majors: set[int]) -> str:
    """Why none of ``pkgs`` applies: another major release, or extended-support streams."""
    if all(_EXTENDED.search(p.product or "") for p in pkgs):
        return "the fix is only for extended-support streams"
    where = sorted({str(_package_major(p)) for p in pkgs})
    mine = "/".join(str(m) for m in sorted(majors))
    return f"the fix is for EL{'/'.join(where)}; the rebuild is EL{mine}"


def rebuild_majors(rebuild: Feed, shipped: Shipped | None) -> set[int]:
    """The major releases the rebuild covers: from its repos, else its advisories."""
    if shipped is not None and len(shipped):
        return shipped.majors()
    # Count advisories per major: a feed for EL8 has a few records that also name EL9/EL10
    # packages; a major counts when at least a tenth of the advisories carry it.
    seen: Counter[int] = Counter()
    for adv in rebuild.advisories.values():
        mine: set[int] = set()
        for eco in adv.ecosystems:
            m = re.search(r":(\d+)$", eco)
            if m:
                mine.add(int(m.group(1)))
        for p in adv.packages:
            major = dist_major(p.release)
            if major is not None:
                mine.add(major)
        seen.update(mine)
    total = len(rebuild.advisories)
    return {m for m, n in seen.items() if n * 10 >= total}


def _binary(packages: tuple[FixedPackage, ...]) -> list[FixedPackage]:
    """The packages to look for in a repository: binaries; sources when that is all there is."""
    binaries = [p for p in packages if p.arch not in ("src", "nosrc")]
    return binaries or list(packages)


def _check_shipped(fixes: list[FixedPackage], shipped: Shipped) -> tuple[str, str, list[str]]:
    """(state, reason, evidence) for reference fixes against what the repositories ship."""
    present = [f for f in fixes if f.name in shipped.packages]
    if not present:
        names = ", ".join(sorted({f.name for f in fixes})[:5])
        return "not_shipped", f"the repositories ship none of the fixed packages ({names})", []
    evidence: list[str] = []
    lacking: list[str] = []
    seen: set[tuple[str, str]] = set()
    for fix in present:
        if (fix.name, fix.evr) in seen:
            continue
        seen.add((fix.name, fix.evr))
        builds = shipped.packages[fix.name]
        if fix.module:  # several streams share the name: compare within the fix's series
            builds = [b for b in builds if same_stream(b.version, fix.version)] or builds
        best = [b for b in builds if package_covers(b, fix)]
        if best:
            evidence.append(f"ships {best[0].name}-{best[0].evr} >= {fix.evr}")
        else:
            newest = max(builds, key=lambda b: (b.epoch, b.version, b.release))
            lacking.append(f"{fix.name}: ships {newest.evr} < {fix.evr}")
    if lacking:
        return "missing", "; ".join(lacking[:3]), evidence
    return "fixed", "the repositories ship the fixed builds", evidence


def _check_advisories(
    cve: str, fixes: list[FixedPackage], rebuilds: list[Advisory]
) -> tuple[str, str, list[str], bool]:
    """(state, reason, evidence, listed) from the rebuild's advisories alone."""
    if not rebuilds:
        return "missing", "no rebuild advisory for the reference advisory", [], False
    listed = any(cve in r.cves for r in rebuilds)
    evidence = [f"{r.id} lists {cve}" for r in rebuilds if cve in r.cves]
    if listed:
        return "fixed", f"{rebuilds[0].id} lists the CVE", evidence, True
    by_name: dict[str, list[FixedPackage]] = {}
    for r in rebuilds:
        for p in r.packages:
            by_name.setdefault(p.name, []).append(p)
    covered = [f for f in fixes if any(package_covers(b, f) for b in by_name.get(f.name, []))]
    if fixes and len({f.name for f in covered}) == len({f.name for f in fixes}):
        return "fixed", "the rebuild advisory ships the fixed builds but omits the CVE", [], False
    return "missing", f"{rebuilds[0].id} does not list the CVE", [], False


def compute_parity(reference: Feed, rebuild: Feed, shipped: Shipped | None = None) -> ParityResult:
    """Check every CVE the reference fixes (or states) against the rebuild."""
    majors = rebuild_majors(rebuild, shipped)
    by_ref = index_by_reference(rebuild.advisories.values())
    rows: list[CveResult] = []
    unlisted: list[tuple[str, str, str]] = []

    # Reference fixes: advisories, plus fixed statements whose advisory we do not hold.
    fixes: dict[str, tuple[Advisory | None, dict[str, list[FixedPackage]]]] = {}
    for ref_adv in reference.advisories.values():
        per_cve = {cve: list(ref_adv.packages) for cve in ref_adv.cves}
        fixes[ref_adv.id] = (ref_adv, per_cve)
    for st in reference.statements:
        if st.status != "fixed" or not st.advisory or st.advisory in reference.advisories:
            continue
        _adv, per_cve = fixes.setdefault(st.advisory, (None, {}))
        per_cve.setdefault(st.cve, [])
        if st.fixed is not None:
            per_cve[st.cve].append(st.fixed)

    for ref_id, (adv, per_cve) in sorted(fixes.items()):
        rebuilds = by_ref.get(ref_id, [])
        rebuild_ids = tuple(r.id for r in rebuilds)
        for cve, pkgs in per_cve.items():
            severity = adv.severity if adv else None
            applicable = applicable_fixes(tuple(pkgs), majors)
            if pkgs and not applicable:
                reason = not_applicable_reason(tuple(pkgs), majors)
                rows.append(
                    CveResult(cve, ref_id, "not_shipped", reason, rebuild_ids, (), severity)
                )
                continue
            targets = _binary(tuple(applicable))
            if shipped is not None and len(shipped):
                state, reason, evidence = _check_shipped(targets, shipped)
                listed = any(cve in r.cves for r in rebuilds)
            else:
                state, reason, evidence, listed = _check_advisories(cve, targets, rebuilds)
            if rebuilds and not listed:
                unlisted.append((ref_id, rebuilds[0].id, cve))
            rows.append(
                CveResult(cve, ref_id, state, reason, rebuild_ids, tuple(evidence), severity)
            )

    # CVEs the reference has not fixed (yet), or says do not affect it.
    pending: dict[str, CveStatement] = {}
    not_affected: dict[str, CveStatement] = {}
    for st in reference.statements:
        if st.status in ("under_investigation", "known_affected"):
            pending.setdefault(st.cve, st)
        elif st.status == "known_not_affected":
            not_affected.setdefault(st.cve, st)

    cve_states: dict[str, CveResult] = {}
    for row in rows:
        cur = cve_states.get(row.cve)
        cve_states[row.cve] = row if cur is None else _worse(cur, row)
    for cve, st in pending.items():
        if cve not in cve_states or cve_states[cve].state == "not_shipped":
            cve_states[cve] = CveResult(
                cve, None, "under_investigation",
                f"reference: {st.status} for {st.component or st.product}", (), (), st.severity,
            )  # fmt: skip
    for cve, st in not_affected.items():
        if cve not in cve_states:
            reason = f"reference: known_not_affected ({st.component or st.product})"
            cve_states[cve] = CveResult(cve, None, "not_shipped", reason, (), (), st.severity)

    known_refs = set(fixes)
    rebuild_only = sorted(a.id for a in rebuild.advisories.values() if is_rebuild_only(a))
    unmatched = sorted(
        a.id
        for a in rebuild.advisories.values()
        if not is_rebuild_only(a) and not (set(reference_ids(a)) & known_refs)
    )
    return ParityResult(
        rows=rows,
        cve_states=dict(sorted(cve_states.items())),
        rebuild_majors=majors,
        mapped={r: [a.id for a in by_ref.get(r, [])] for r in sorted(known_refs)},
        rebuild_only=rebuild_only,
        unmatched_rebuild=unmatched,
        unlisted=unlisted,
        errors=list(reference.errors) + list(rebuild.errors),
    )


_RANK = {"missing": 3, "fixed": 2, "under_investigation": 1, "not_shipped": 0}


def _worse(a: CveResult, b: CveResult) -> CveResult:
    return a if _RANK[a.state] >= _RANK[b.state] else b


def parity_document(
    result: ParityResult, *, reference: str, rebuild: str, repos: list[str]
) -> ReportDocument:
    """The ``elforge.security-parity/1`` report."""
    findings: list[Finding] = [
        Finding(Severity.BAD, "security.bad-input", e.subject or "input", e.problem, layer="input")
        for e in result.errors
    ]
    for r in result.cve_states.values():
        if r.state == "missing":
            findings.append(
                Finding(
                    Severity.BAD,
                    "security.cve-missing",
                    r.cve,
                    f"{r.reference_id}: {r.reason}",
                    remedy="rebuild and publish the reference fix",
                    layer="advisory",
                )
            )
    for ref_id, rebuild_id, cve in result.unlisted:
        findings.append(
            Finding(
                Severity.VERIFY,
                "security.cve-not-listed",
                cve,
                f"{ref_id} fixes {cve} but {rebuild_id} does not list it",
                remedy=f"add {cve} to {rebuild_id}",
                layer="advisory",
            )
        )
    for adv_id in result.rebuild_only:
        findings.append(
            Finding(
                Severity.INFO,
                "security.rebuild-only",
                adv_id,
                "advisory of the rebuild's own, with no reference counterpart",
            )
        )
    counts = result.counts()
    data: dict[str, Any] = {
        "reference": reference,
        "rebuild": rebuild,
        "repos": repos,
        "rebuild_majors": sorted(result.rebuild_majors),
        "cves": [r.to_json() for r in result.cve_states.values()],
        "advisories": [
            {
                "reference_id": ref_id,
                "rebuild_ids": result.mapped.get(ref_id, []),
                "cves": [r.to_json() for r in result.rows if r.reference_id == ref_id],
            }
            for ref_id in result.mapped
        ],
        "rebuild_only": result.rebuild_only,
        "unmatched_rebuild": result.unmatched_rebuild,
        "summary": {
            "cves": len(result.cve_states),
            **counts,
            "reference_advisories": len(result.mapped),
            "mapped": sum(1 for v in result.mapped.values() if v),
            "rebuild_only": len(result.rebuild_only),
            "unmatched_rebuild": len(result.unmatched_rebuild),
            "cves_not_listed": len(result.unlisted),
        },
        "errors": [str(e) for e in result.errors],
    }
    table = Table(
        "Reference CVEs",
        ["CVE", "state", "reference", "rebuild", "reason"],
        [
            [r.cve, r.state, r.reference_id or "", ", ".join(r.rebuild_ids), r.reason]
            for r in result.cve_states.values()
        ],
    )
    summary: list[tuple[str, Any]] = [("reference CVEs", len(result.cve_states))]
    summary += [(state, n) for state, n in counts.items()]
    summary += [
        ("reference advisories", len(result.mapped)),
        ("mapped to a rebuild advisory", data["summary"]["mapped"]),
        ("rebuild-only advisories", len(result.rebuild_only)),
    ]
    return ReportDocument(
        schema=SCHEMA,
        title="Security parity",
        data=data,
        findings=findings,
        summary=summary,
        tables=[table],
    )
