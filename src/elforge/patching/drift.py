"""Drift diagnostics: when an action no longer fits the new upstream, say where it nearly does.

The "did you mean" excerpt is the upstream text most similar to what the action looked for
(difflib ratios over same-sized windows), with a line of context each side.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Diagnostic:
    """One problem with one action on one file."""

    action_index: int
    action: str
    file: str
    problem: str
    nearest: str = ""  # excerpt of the closest upstream text
    kind: str = "drift"  # drift | error | unknown-field (a config field skipped: verify)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "action_index": self.action_index,
            "action": self.action,
            "file": self.file,
            "kind": self.kind,
            "problem": self.problem,
        }
        if self.nearest:
            out["did_you_mean"] = self.nearest
        return out

    def line(self) -> str:
        if self.action_index < 0:  # about the config or the tree as a whole, not one action
            text = f"{self.action} {self.file}: {self.problem}"
        else:
            text = f"action {self.action_index} ({self.action}) on {self.file}: {self.problem}"
        if self.nearest:
            text += "\n    did you mean:\n" + "\n".join(
                "      " + x for x in self.nearest.splitlines()
            )
        return text


@dataclass
class _Best:
    score: float = 0.0
    start: int = -1
    span: int = 1
    snippet: str = ""
    extra: list[str] = field(default_factory=list)


def _best_window(needle: str, line: str) -> tuple[float, str]:
    """Best ratio of ``needle`` against any same-length window of ``line``."""
    if not line.strip():
        return 0.0, ""
    n = len(needle)
    if len(line) <= n + 4:
        return difflib.SequenceMatcher(None, needle, line).ratio(), line
    best, best_s = 0.0, ""
    step = max(1, n // 8)
    for i in range(0, len(line) - n + 1, step):
        window = line[i : i + n]
        sm = difflib.SequenceMatcher(None, needle, window)
        if sm.quick_ratio() <= best:
            continue
        r = sm.ratio()
        if r > best:
            best, best_s = r, window
    return best, best_s


def nearest_match(needle: str, text: str, *, cutoff: float = 0.3) -> str:
    """An excerpt (numbered lines with context) of where ``text`` comes closest to ``needle``."""
    lines = text.splitlines()
    want = needle.strip("\n").splitlines() or [needle]
    k = len(want)
    best = _Best()
    if k == 1:
        target = want[0].strip()
        for i, line in enumerate(lines):
            score, _ = _best_window(target, line)
            if score > best.score:
                best = _Best(score, i, 1)
    else:
        joined = "\n".join(w.strip() for w in want)
        for i in range(0, max(0, len(lines) - k + 1)):
            window = "\n".join(x.strip() for x in lines[i : i + k])
            sm = difflib.SequenceMatcher(None, joined, window)
            if sm.quick_ratio() <= best.score:
                continue
            score = sm.ratio()
            if score > best.score:
                best = _Best(score, i, k)
    if best.start < 0 or best.score < cutoff:
        return ""
    lo, hi = max(0, best.start - 1), min(len(lines), best.start + best.span + 1)
    out = []
    for j in range(lo, hi):
        mark = ">" if best.start <= j < best.start + best.span else " "
        out.append(f"{mark}{j + 1:5d}: {lines[j]}")
    return "\n".join(out)


def nearest_name(name: str, candidates: list[str]) -> str:
    """The closest file names in the tree, for a file an action could not find."""
    base = name.rsplit("/", 1)[-1]
    by_base = {c.rsplit("/", 1)[-1]: c for c in candidates}
    close = difflib.get_close_matches(base, list(by_base), n=3, cutoff=0.5)
    return "\n".join(by_base[c] for c in close)
