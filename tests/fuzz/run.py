"""Run the fuzz harness over N inputs (default 5,000) and print what escaped.

    .venv/bin/python tests/fuzz/run.py [--inputs N] [--seed S] [--target NAME]

Deterministic for a given seed: input i of target t is mutated with Random(f"{seed}-{t}-{i}").
Prints per target: inputs, parsed, clean one-line errors, multi-line errors, unhandled
exceptions, hangs (over 20 s), and one example of each kind of failure.
"""

from __future__ import annotations

import argparse
import random
import signal
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/: helpers, fuzz

from fuzz.harness import TARGETS, fuzz_input, run_one


class Hang(Exception):
    pass


def _alarm(_signum: int, _frame: Any) -> None:
    raise Hang


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--inputs", type=int, default=5000)
    ap.add_argument("--seed", default="0")
    ap.add_argument("--target", action="append", help="only these targets")
    args = ap.parse_args()
    targets = [t for t in TARGETS if not args.target or t.name in args.target]
    signal.signal(signal.SIGALRM, _alarm)
    totals: Counter[str] = Counter()
    examples: dict[str, str] = {}
    heads = ("inputs", "ok", "error", "multi", "unhand")
    print(f"{'target':<16} " + " ".join(f"{h:>6}" for h in heads) + f" {'hang':>5}")
    with tempfile.TemporaryDirectory(prefix="elforge-fuzz-") as tmp:
        for t_index, target in enumerate(targets):
            n = args.inputs // len(targets) + (t_index < args.inputs % len(targets))
            counts: Counter[str] = Counter()
            for i in range(n):
                data = fuzz_input(target, random.Random(f"{args.seed}-{target.name}-{i}"))
                signal.alarm(20)
                try:
                    outcome, detail = run_one(target, data, Path(tmp))
                except Hang:
                    outcome, detail = "hang", "over 20 s"
                finally:
                    signal.alarm(0)
                counts[outcome] += 1
                if outcome in ("multi-line", "unhandled", "hang"):
                    key = f"{target.name} {outcome}: {detail.split(':')[0]}"
                    examples.setdefault(key, f"input {i}: {detail}")
            totals.update(counts)
            print(
                f"{target.name:<16} {n:>6} {counts['ok']:>6} {counts['error']:>6} "
                f"{counts['multi-line']:>6} {counts['unhandled']:>6} {counts['hang']:>5}"
            )
    print(
        f"{'total':<16} {sum(totals.values()):>6} {totals['ok']:>6} {totals['error']:>6} "
        f"{totals['multi-line']:>6} {totals['unhandled']:>6} {totals['hang']:>5}"
    )
    for key, example in sorted(examples.items()):
        print(f"  {key}\n    {example}")
    return 1 if totals["multi-line"] or totals["unhandled"] or totals["hang"] else 0


if __name__ == "__main__":
    sys.exit(main())
