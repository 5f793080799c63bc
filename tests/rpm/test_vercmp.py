"""rpmvercmp must agree with librpm exactly: a differential test against python3-rpm."""

from __future__ import annotations

import json
import random
import subprocess

import pytest

from elforge.rpm.nevra import EVR
from elforge.rpm.vercmp import evrcmp, rpmvercmp

ORACLE = """
import json, sys, rpm
pairs = json.load(sys.stdin)
out = []
for a, b in pairs:
    out.append(rpm.labelCompare(tuple(a), tuple(b)))
json.dump(out, sys.stdout)
"""

KNOWN = [
    ("1.0", "1.0", 0), ("1.0", "2.0", -1), ("2.0.1", "2.0", 1), ("1.0a", "1.0", 1),
    ("1.0~rc1", "1.0", -1), ("1.0~rc1", "1.0~rc2", -1), ("1.0~~", "1.0~", -1),
    ("1.0^", "1.0", 1), ("1.0^git1", "1.0", 1), ("1.0^git1", "1.0.1", -1),
    ("1.0^git1~pre", "1.0^git1", -1), ("001", "1", 0), ("1.01", "1.1", 0),
    ("a", "1", -1), ("1.a", "1.1", -1), ("1_0", "1.0", 0), ("fc4", "fc.4", 0),
    ("5.5p1", "5.5p10", -1), ("xyz10", "xyz10.1", -1), ("", "", 0),
]  # fmt: skip


@pytest.mark.parametrize(("a", "b", "expected"), KNOWN)
def test_known_cases(a: str, b: str, expected: int) -> None:
    assert rpmvercmp(a, b) == expected
    assert rpmvercmp(b, a) == -expected


def test_evr_epoch_and_missing_release() -> None:
    assert evrcmp((1, "1.0", "1"), (None, "9.0", "9")) == 1
    assert evrcmp((0, "1.0", None), (0, "1.0", "5")) == 0
    assert EVR.parse("2:1.0-3") > EVR.parse("1:9.9-9")


_ALPHABET = "0123456789" * 3 + "abcxyzAZ" + ".-_+~^" + "00"


def _random_version(rng: random.Random) -> str:
    # librpm refuses empty versions in labelCompare; everything else goes
    return "".join(rng.choice(_ALPHABET) for _ in range(rng.randint(1, 12))).strip("-") or "0"


def _random_evr(rng: random.Random) -> tuple[str, str, str]:
    epoch = str(rng.choice([0, 0, 0, 1, 2, 10]))
    return (epoch, _random_version(rng), _random_version(rng))


@pytest.mark.system
def test_differential_against_librpm() -> None:
    """100,000 random EVR pairs (digits, letters, separators, ~, ^, leading zeros, epochs)."""
    rng = random.Random(20261126)
    pairs = []
    for i in range(100_000):
        a = _random_evr(rng)
        # a quarter of the pairs share a prefix so that deep segments get compared
        b = (a[0], a[1] + _random_version(rng)[:2], a[2]) if i % 4 == 0 else _random_evr(rng)
        pairs.append((a, b))
    proc = subprocess.run(
        ["/usr/bin/python3", "-c", ORACLE],
        input=json.dumps(pairs),
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, f"librpm oracle failed (python3-rpm installed?): {proc.stderr}"
    expected = json.loads(proc.stdout)
    disagreements = [
        (a, b, want, evrcmp(a, b)) for (a, b), want in zip(pairs, expected, strict=True)
        if evrcmp(a, b) != want
    ]  # fmt: skip
    assert disagreements == [], f"{len(disagreements)} disagreements, first: {disagreements[:5]}"
