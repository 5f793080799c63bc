"""Damaged RPMs (random byte changes in the headers and the payload): one FormatError or a
correct result, never another exception, never a write outside the target."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from elforge.errors import FormatError
from elforge.rpm.header import read_header
from elforge.rpm.payload import extract

BASE = "rpms/payload-variants/payload-test-0.1-w9.gzdio.x86_64.rpm"


@pytest.mark.parametrize("region", ["headers", "payload"])
def test_random_damage(region: str, testdata: Path, tmp_path: Path) -> None:
    base = (testdata / BASE).read_bytes()
    payload_start = read_header(testdata / BASE).header_end
    lo, hi = (96, payload_start) if region == "headers" else (payload_start, len(base))
    rng = random.Random(f"elforge-{region}")
    refused = 0
    for i in range(150):
        data = bytearray(base)
        for _ in range(rng.randint(1, 6)):
            data[rng.randrange(lo, hi)] = rng.randrange(256)
        rpm = tmp_path / f"damaged{i}.rpm"
        rpm.write_bytes(bytes(data))
        dest = tmp_path / "out" / str(i)
        try:
            read_header(rpm)
            extract(rpm, dest)
        except FormatError as exc:  # UnsafePayloadError is one too
            refused += 1
            assert str(exc).startswith(f"{rpm}: ") and "\n" not in str(exc)
        rpm.unlink()
    assert refused > 0
    assert {p.name for p in tmp_path.iterdir()} <= {"out"}
