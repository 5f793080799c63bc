"""The verify stage: the rebuilt binary RPMs against the reference vendor's, pair by pair.

Pairs come from ``elforge.abi.compare.pair_trees`` (by binary package name and arch, each
with its debuginfo and devel package), the same pairing ``elforge abi compare`` uses; each
pair is compared in every layer by ``elforge.abi.compare_packages`` and its
``elforge.abi-diff/1`` report goes to ``reports/abi/``. A reference binary package the
rebuild lacks makes the package incompatible. The package's verdict is the worst pair's.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from elforge.engine.protocol import ArtifactRef, Context, PackageSpec, StageInputs, StageOutcome
from elforge.engine.stages.common import path_digest, write_atomic
from elforge.engine.stages.kabi import kernel_abi_pair
from elforge.errors import ElforgeError

if TYPE_CHECKING:
    from elforge.abi import DiffOptions
    from elforge.abi.compare import PairTask

VERDICT_ORDER = {"identical": 0, "compatible": 1, "incompatible": 2, "error": 3}


def worst(verdicts: list[str]) -> str:
    return max(verdicts, key=VERDICT_ORDER.__getitem__, default="identical")


def stage_verify(spec: PackageSpec, ctx: Context) -> StageOutcome:
    started = time.monotonic()
    reference, candidate = spec.reference, ctx["build"].rpms
    stablelist = spec.settings.verify.stablelist
    inputs = StageInputs(
        "verify",
        {
            "reference": sorted(r.sha256 for r in reference),
            "candidate": sorted(c.sha256 for c in candidate),
            "stablelist": path_digest(stablelist) if stablelist else None,
        },
    )
    reused = spec.reuse(inputs, lambda prev: True)
    if reused:
        return reused
    if not reference:
        return inputs.outcome("no-reference", {"verdict": None}, started=started)
    spec.needs_work()
    output, errors = compare_with_reference(spec.workspace, reference, candidate, stablelist)
    if output["verdict"] == "error":
        return inputs.outcome("failed", output, error="; ".join(errors), started=started)
    return inputs.outcome(output["verdict"], output, started=started)


def compare_with_reference(
    ws: Path,
    reference: tuple[ArtifactRef, ...],
    candidate: tuple[ArtifactRef, ...],
    stablelist: Path | None,
) -> tuple[dict[str, Any], list[str]]:
    """The verify stage's record and the errors met on the way."""
    from elforge.abi import DiffOptions
    from elforge.abi.compare import pair_trees, scan_files
    from elforge.abi.snapshot import SnapshotCache

    pairing = pair_trees(
        scan_files("reference", [Path(r.path) for r in reference]),
        scan_files("candidate", [Path(c.path) for c in candidate]),
    )
    by_path = {Path(a.path): a for a in (*reference, *candidate)}
    options = DiffOptions(cache=SnapshotCache(ws / ".elforge" / "cache" / "abi"))
    errors = list(pairing.errors)
    pairs: list[dict[str, Any]] = []
    for task in pairing.pairs:
        pair = _compare_pair(ws, task, options, by_path, stablelist, errors)
        pairs.append(pair)
    verdict = worst([p["verdict"] for p in pairs])
    if pairing.missing and VERDICT_ORDER[verdict] < VERDICT_ORDER["incompatible"]:
        verdict = "incompatible"
    output = {
        "verdict": verdict,
        "reference": ", ".join(sorted(r.filename for r in reference)),
        "candidate": ", ".join(sorted(c.filename for c in candidate)),
        "pairs": pairs,
        "missing_binaries": [f"{p.name}.{p.arch}" for p in pairing.missing],
        "extra_binaries": [f"{p.name}.{p.arch}" for p in pairing.extra],
    }
    return output, errors


def _compare_pair(
    ws: Path,
    task: PairTask,
    options: DiffOptions,
    by_path: dict[Path, ArtifactRef],
    stablelist: Path | None,
    errors: list[str],
) -> dict[str, Any]:
    """One pair in every ABI layer, plus the kABI layer for kernel packages."""
    from elforge.abi import compare_packages
    from elforge.report.render import render_json

    name, arch = task.name, task.arch
    try:
        result = compare_packages(task.old, task.new, options)
    except ElforgeError as exc:
        errors.append(str(exc))
        return {"name": name, "arch": arch, "verdict": "error", "error": str(exc)}
    report = ws / "reports" / "abi" / f"{name}.{arch}.json"
    write_atomic(report, render_json(result.to_document()))
    counts = result.counts()
    bad = [f"{f.subject}: {f.message}" for f in result.all_findings() if f.severity.name == "BAD"]
    ref, cand = by_path[task.old.main], by_path[task.new.main]
    pair: dict[str, Any] = {
        "name": name,
        "arch": arch,
        "reference": ref.nevra,
        "candidate": cand.nevra,
        "verdict": result.verdict.value,
        "exit_code": result.exit_code,
        "bad": counts.get("BAD", 0),
        "verify": counts.get("VERIFY", 0),
        "report": str(report),
        "problems": bad[:5],
    }
    try:
        kabi = kernel_abi_pair(ws, (name, arch), task.old.main, task.new.main, stablelist)
    except ElforgeError as exc:
        kabi = {"verdict": "error", "error": str(exc)}
        errors.append(str(exc))
    if kabi is not None:
        pair["kabi"] = kabi
        pair["verdict"] = worst([pair["verdict"], kabi["verdict"]])
        pair["problems"] = (pair["problems"] + kabi.get("problems", []))[:5]
    return pair
