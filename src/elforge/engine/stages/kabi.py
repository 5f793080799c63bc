"""The kABI half of verify: only for packages whose reference provides ``kernel(sym)``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from elforge.engine.stages.common import write_atomic


def kernel_abi_pair(
    ws: Path, pkey: tuple[str, str], ref: Path, cand: Path, stablelist: Path | None
) -> dict[str, Any] | None:
    """The rebuilt kernel's provides compared with the reference kernel's
    (``elforge.kabi.diff_symbol_sets``); a removed or CRC-changed stablelisted symbol is
    incompatible. Without a configured stablelist every reference symbol counts as one.
    None when the reference package is not a kernel."""
    from elforge.kabi.diff import diff_symbol_sets
    from elforge.kabi.ksym import ksym_deps
    from elforge.kabi.load import read_kernel_rpm
    from elforge.kabi.stablelist import Stablelist, read_stablelists
    from elforge.report.render import render_json
    from elforge.rpm.header import read_header

    header = read_header(ref)
    if not ksym_deps(header.provides):
        return None
    old = read_kernel_rpm(ref, header=header)
    new = read_kernel_rpm(cand)
    lists = read_stablelists(stablelist) if stablelist else None
    if lists is None:  # no stablelist: the reference's whole kABI is what we promise
        lists = {old.arch: Stablelist(str(ref), old.arch, frozenset(old.symbols))}
    result = diff_symbol_sets(
        {old.arch: old},
        {new.arch: new},
        stablelists=lists,
        stablelist_source=str(stablelist or ref),
        old_source=str(ref),
        new_source=str(cand),
    )
    report = ws / "reports" / "kabi" / f"{pkey[0]}.{pkey[1]}.json"
    write_atomic(report, render_json(result.document()))
    bad = [f"{f.subject}: {f.message}" for f in result.findings if f.severity.name == "BAD"]
    verdict = "incompatible" if bad else ("compatible" if result.findings else "identical")
    return {
        "verdict": verdict,
        "removed": result.removed,
        "crc_changed": result.crc_changed,
        "added": len(result.added),
        "report": str(report),
        "problems": bad[:5],
    }
