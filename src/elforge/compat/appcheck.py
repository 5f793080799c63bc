"""``elforge appcheck``: check targets against one or more profiles and answer with the oldest
profile that works, naming the symbols that push the answer up.

Profiles are taken in the order given (oldest first); when every profile carries an
auditwheel priority they are ordered by it instead, highest (oldest) first, as auditwheel does.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from elforge.compat.profile import Profile
from elforge.compat.resolver import Missing, TargetResult, check_tree
from elforge.compat.trees import Tree, read_target
from elforge.errors import ElforgeError
from elforge.report.model import Finding, ReportDocument, Severity, Table

SCHEMA = "elforge.appcheck/1"


@dataclass
class Verdict:
    profiles: list[Profile]
    results: dict[str, list[TargetResult]]  # profile label -> one result per target
    labels: list[str]
    chosen: str  # the oldest label that works, else the last
    oldest: str | None
    pushed_by: list[Missing] = field(default_factory=list)
    pushed_findings: list[Finding] = field(default_factory=list)  # e.g. machine, ISA level
    previous: str | None = None
    target_errors: dict[str, str] = field(default_factory=dict)

    @property
    def compatible(self) -> bool:
        return self.oldest is not None


def order_profiles(profiles: list[Profile]) -> list[Profile]:
    if len(profiles) > 1 and all(p.priority is not None for p in profiles):
        return sorted(profiles, key=lambda p: -(p.priority or 0))
    return list(profiles)


def labels_for(profiles: list[Profile]) -> list[str]:
    out: list[str] = []
    for p in profiles:
        label = p.name
        n = 2
        while label in out:
            label = f"{p.name}#{n}"
            n += 1
        out.append(label)
    return out


def read_targets(paths: list[Path]) -> tuple[list[Tree], dict[str, str]]:
    """Read every target; one that cannot be read is recorded and the others go on."""
    trees: list[Tree] = []
    errors: dict[str, str] = {}
    for path in paths:
        try:
            trees.append(read_target(path))
        except ElforgeError as exc:
            errors[str(path)] = str(exc)
            trees.append(Tree(str(path), "unreadable"))
    return trees, errors


def run_appcheck(
    targets: list[Path],
    profiles: list[Profile],
    *,
    advance: Callable[[str], None] | None = None,
    repositories: dict[str, Path] | None = None,
) -> Verdict:
    """Check ``targets`` against each profile. ``repositories`` maps a profile name to the
    repository it was made from: RPM targets then also get libsolv's install check there."""
    profiles = order_profiles(profiles)
    labels = labels_for(profiles)
    trees, errors = read_targets(targets)
    results: dict[str, list[TargetResult]] = {}
    for label, profile in zip(labels, profiles, strict=True):
        row = []
        for tree in trees:
            if tree.name in errors:
                row.append(TargetResult(tree.name, tree.kind, error=errors[tree.name]))
            else:
                row.append(check_tree(tree, profile))
        repo = (repositories or {}).get(profile.name)
        rpms = [Path(t.name) for t in trees if t.kind == "rpm" and t.name not in errors]
        if repo is not None and rpms:
            from elforge.compat.repocheck import install_check_findings

            _ok, found, doc = install_check_findings(rpms, repo)
            for r in row:
                if r.kind == "rpm":
                    r.findings += found
                    r.install_check = doc
        results[label] = row
        if advance is not None:
            advance(label)
    works = [label for label in labels if all(r.compatible for r in results[label])]
    oldest = works[0] if works else None
    chosen = oldest or labels[-1]
    verdict = Verdict(profiles, results, labels, chosen, oldest, target_errors=errors)
    idx = labels.index(chosen)
    if oldest is not None and idx > 0:
        verdict.previous = labels[idx - 1]
        verdict.pushed_by = [m for r in results[labels[idx - 1]] for m in r.missing if m.blocking]
        verdict.pushed_findings = [
            f
            for r in results[labels[idx - 1]]
            for f in r.findings
            if f.severity is Severity.BAD
            and not f.code.endswith("-missing")
            and f.code != "appcheck.blacklisted"
        ]
    _fill_provided_by(verdict)
    return verdict


def _fill_provided_by(verdict: Verdict) -> None:
    """For what the chosen (or previous) profile misses, name a profile and package that has it."""
    by_label = dict(zip(verdict.labels, verdict.profiles, strict=True))
    wanted = list(verdict.pushed_by)
    for r in verdict.results[verdict.chosen]:
        wanted += r.missing
    for m in wanted:
        if m.provided_by:
            continue
        for label in verdict.labels:
            prof = by_label[label]
            if prof.policy is not None:
                # any architecture: the version tag is what matters at this level
                if (
                    m.version
                    and m.library in prof.policy.libraries
                    and any(m.version in pre.get(m.version.partition("_")[0], ())
                            for pre in prof.policy.symbol_versions.values())
                ):  # fmt: skip
                    m.provided_by.append({"profile": label, "package": None})
                continue
            for lib in prof.libraries:
                if m.library and lib.soname != m.library:
                    continue
                if m.symbol is None and m.version is None:
                    hit = True
                elif m.symbol is None:
                    hit = m.version in lib.versions
                else:
                    hit = lib.defines(m.symbol, m.version)
                if hit:
                    m.provided_by.append({"profile": label, "package": lib.package})
                    break


def _missing_text(m: Missing) -> str:
    if m.symbol is None and m.version is None:
        return f"{m.library} (library)"
    where = f" in {m.library}" if m.library else ""
    return f"{m.label}{where}"


def build_report(verdict: Verdict) -> ReportDocument:
    chosen_results = verdict.results[verdict.chosen]
    single = len(verdict.labels) == 1
    data: dict[str, Any] = {
        "compatible": verdict.compatible,
        "against": [
            {
                "name": label,
                "kind": p.kind,
                "source": p.source,
                "compatible": all(r.compatible for r in verdict.results[label]),
            }
            for label, p in zip(verdict.labels, verdict.profiles, strict=True)
        ],
        "oldest_compatible": verdict.oldest,
        "checked_against": verdict.chosen,
        "pushed_by": None,
        "targets": [r.to_json() for r in chosen_results],
    }
    if verdict.previous is not None:
        data["pushed_by"] = {
            "previous": verdict.previous,
            "missing": [m.to_json() for m in verdict.pushed_by],
            "findings": [f.to_json() for f in verdict.pushed_findings],
        }
    if not single:
        data["results"] = {
            label: [
                {"file": r.target, "compatible": r.compatible,
                 "missing": [m.to_json() for m in r.missing]}
                for r in verdict.results[label]
            ]
            for label in verdict.labels
        }  # fmt: skip
    findings: list[Finding] = []
    for r in chosen_results:
        if r.error is not None:
            problem = r.error.removeprefix(f"{r.target}: ")  # the subject names the file
            findings.append(Finding(Severity.BAD, "appcheck.bad-input", r.target, problem))
        findings += [
            Finding(f.severity, f.code, f.subject, f.message, f.remedy, f.layer,
                    f"{r.target}:{f.location}" if f.location else r.target)
            for f in r.findings
        ]  # fmt: skip
    summary: list[tuple[str, Any]] = []
    if verdict.oldest is None:
        answer = "incompatible with " + (
            verdict.chosen if single else f"every profile ({', '.join(verdict.labels)})"
        )
    elif single:
        answer = f"compatible with {verdict.oldest}"
    else:
        answer = f"oldest that works: {verdict.oldest}"
    summary.append(("verdict", answer))
    if verdict.previous is not None:
        names = sorted({_missing_text(m) for m in verdict.pushed_by})
        names += sorted({f"{f.subject}: {f.message}" for f in verdict.pushed_findings})
        shown = ", ".join(names[:10]) + (f" and {len(names) - 10} more" if len(names) > 10 else "")
        summary.append(("why", f"needs {verdict.oldest}: {shown}"))
        findings.append(
            Finding(Severity.INFO, "appcheck.needs", verdict.oldest or "",
                    f"not {verdict.previous}: needs {shown}")
        )  # fmt: skip
    summary.append(("targets", len(chosen_results)))
    targets = Table(f"Targets against {verdict.chosen}",
                    ["target", "kind", "ELF files", "compatible", "missing"])  # fmt: skip
    columns = ["target", "file", "library", "symbol", "version", "package", "provided by"]
    missing = Table(f"Missing on {verdict.chosen}", columns)
    for r in chosen_results:
        targets.rows.append([r.target, r.kind, r.files, "yes" if r.compatible else "NO",
                             len(r.missing)])  # fmt: skip
        for m in r.missing:
            prov = ", ".join(f"{p['profile']} ({p['package']})" if p.get("package")
                             else str(p["profile"]) for p in m.provided_by)  # fmt: skip
            missing.rows.append([r.target, m.file, m.library or "?", m.symbol or "-",
                                 m.version or "-", m.package or "-", prov or "-"])  # fmt: skip
    tables = [targets, missing]
    if not single:
        per = Table("Profiles", ["profile", "compatible", "missing"])
        for label in verdict.labels:
            rs = verdict.results[label]
            per.rows.append([label, "yes" if all(r.compatible for r in rs) else "NO",
                             sum(len(r.missing) for r in rs)])  # fmt: skip
        tables.insert(0, per)
    title = "elforge appcheck: " + ", ".join(Path(r.target).name for r in chosen_results)
    return ReportDocument(SCHEMA, title, data, findings=findings, summary=summary, tables=tables)
