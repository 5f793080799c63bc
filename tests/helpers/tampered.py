"""A signed real package and copies of it altered the way an attacker would."""

from __future__ import annotations

import hashlib
from pathlib import Path

from helpers.data import TESTDATA

SIGNED = TESTDATA / "rpms" / "signed" / "bash-5.1.8-9.el9.x86_64.rpm"
KEY = TESTDATA / "rpms" / "keys" / "RPM-GPG-KEY-AlmaLinux-9"


def altered_rpm(dest: Path, where: str) -> Path:
    """The signed package with one byte of its header or payload changed, written in
    ``dest`` under its own name; a header edit comes with its SHA256/SHA1 digests
    recomputed, so only the signature catches it."""
    from elforge.rpm.structure import read_structure

    dest.mkdir(parents=True, exist_ok=True)
    rpm = dest / SIGNED.name
    data = bytearray(SIGNED.read_bytes())
    s = read_structure(SIGNED)
    if where == "header":
        at = data.index(b"The GNU Bourne Again shell", s.header_start)
        assert at < s.payload_offset
        old = bytes(data[s.header_start : s.payload_offset])
        data[at + 4 : at + 7] = b"gnu"  # same length, still a valid header
        new = bytes(data[s.header_start : s.payload_offset])
        for algorithm in ("sha256", "sha1"):
            before = hashlib.new(algorithm, old).hexdigest().encode()
            after = hashlib.new(algorithm, new).hexdigest().encode()
            at = data.index(before, 0, s.header_start)
            data[at : at + len(after)] = after
    else:
        data[s.payload_offset + 4096] ^= 0x01
    rpm.write_bytes(bytes(data))
    return rpm
