"""Fuzz every parser from a fixed seed corpus: only ElforgeError escapes, in one line.

Bounded for CI: a fixed number of derandomized examples per parser, each under a deadline.
``tests/fuzz/run.py`` runs the same harness over 5,000 inputs and prints the counts.
"""

from __future__ import annotations

import random
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fuzz.harness import TARGETS, Target, fuzz_input, run_one, seeds


@pytest.mark.parametrize("target", TARGETS, ids=[t.name for t in TARGETS])
def test_only_one_line_elforge_errors_escape(target: Target, tmp_path: Path) -> None:
    assert seeds(target), f"no seeds for {target.name}"

    @settings(
        max_examples=20,
        deadline=timedelta(seconds=10),
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(st.randoms(use_true_random=False))
    def check(rnd: random.Random) -> None:
        outcome, detail = run_one(target, fuzz_input(target, rnd), tmp_path)
        assert outcome in ("ok", "error"), f"{target.name}: {outcome}: {detail}"

    check()


def test_the_seeds_themselves_parse(tmp_path: Path) -> None:
    """The corpus is real data: most seeds parse cleanly (the harness calls the parsers)."""
    parsed = 0
    for target in TARGETS:
        for data in seeds(target):
            outcome, detail = run_one(target, data, tmp_path)
            assert outcome in ("ok", "error"), f"{target.name}: {detail}"
            parsed += outcome == "ok"
    assert parsed >= len(TARGETS)
