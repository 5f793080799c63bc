"""Test collection is deterministic: pytest-xdist aborts a run ("Different tests were collected
between gw0 and gw1") when two workers collect different ids, e.g. an id built from
``gzip.compress(...)`` output (which embeds the time) or from a set's hash order."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from helpers import ROOT

pytestmark = pytest.mark.slow


def _collect(hash_seed: str) -> list[str]:
    env = {**os.environ, "PYTHONHASHSEED": hash_seed}
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", "tests"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    return [line for line in proc.stdout.splitlines() if "::" in line]


def test_two_collections_give_the_same_ids() -> None:
    # two collections a second or more apart, with different hash seeds, as two workers are
    first = _collect("1")
    second = _collect("2")
    assert len(first) > 800
    assert first == second, sorted(set(first) ^ set(second))[:10]
    unreadable = [i for i in first if "\\x" in i]
    assert not unreadable, f"test ids made from raw bytes: {unreadable[:5]}"
