"""Is this RPM the one its builder (and signer) made? Header and payload digests, and with a
keyring the OpenPGP signature.

The digests are checked as rpm does: the signature header's SHA256 (or SHA1) over the main
header's bytes (by ``read_structure``), and the main header's PAYLOADDIGEST over the
compressed payload (MD5 over both for packages older than rpm 4.14 that have nothing else).
A header edited after signing whose digests were recomputed passes them: only the signature
catches it, so pass a keyring wherever packages come from others. Signatures are checked by
librpm's own ``rpmkeys --checksig`` against a private key database holding only the given
keyring, so a package is trusted only for keys the caller named.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import tempfile
from pathlib import Path

from elforge.errors import ChecksumError, ConfigError, ToolError, bounded
from elforge.rpm.structure import RpmStructure, read_structure

SIGTAG_SHA1 = 269
SIGTAG_SHA256 = 273
SIGTAG_MD5 = 1004
TAG_PAYLOADDIGEST = 5092
TAG_PAYLOADDIGESTALGO = 5093
_ALGORITHMS = {1: "md5", 2: "sha1", 8: "sha256", 9: "sha384", 10: "sha512", 11: "sha224"}
CHUNK = 1 << 20


def _hash_range(path: Path, start: int, end: int | None, algorithm: str) -> str:
    h = hashlib.new(algorithm)
    with path.open("rb") as f:
        f.seek(start)
        left = None if end is None else end - start
        while left is None or left > 0:
            block = f.read(CHUNK if left is None else min(CHUNK, left))
            if not block:
                break
            h.update(block)
            if left is not None:
                left -= len(block)
    return h.hexdigest()


def verify_digests(path: Path, structure: RpmStructure | None = None) -> None:
    """Refuse an RPM whose header or payload does not match its recorded digests.

    ``read_structure`` checks the header digest (SHA256, else SHA1) as it reads the header;
    the payload digest (or, for old packages, the MD5 over both) is checked here.
    """
    s = structure or read_structure(path)
    sig, start, end = s.signature, s.header_start, s.payload_offset
    payload = s.header.strings(TAG_PAYLOADDIGEST) if TAG_PAYLOADDIGEST in s.header else ()
    if payload:
        algorithm = _ALGORITHMS.get(s.header.first_int(TAG_PAYLOADDIGESTALGO) or 8, "sha256")
        if _hash_range(path, end, None, algorithm) != payload[0].strip().lower():
            raise ChecksumError("payload digest mismatch: the payload was changed", subject=path)
    elif SIGTAG_MD5 in sig and not (SIGTAG_SHA256 in sig or SIGTAG_SHA1 in sig):
        md5 = sig.binary(SIGTAG_MD5) or b""
        if _hash_range(path, start, None, "md5") != md5.hex():
            raise ChecksumError("MD5 digest mismatch (header and payload)", subject=path)


def verify_signature(path: Path, keyring: Path) -> str:
    """Check the RPM's signatures against ``keyring`` only; the verified line of rpmkeys."""
    rpmkeys = shutil.which("rpmkeys")
    if rpmkeys is None:
        raise ToolError("rpmkeys (rpm) is needed to check signatures", subject=keyring)
    with tempfile.TemporaryDirectory(prefix="elforge-keys-") as db:
        imported = subprocess.run([rpmkeys, "--dbpath", db, "--import", str(keyring)],
                                  capture_output=True, text=True, check=False)  # fmt: skip
        if imported.returncode != 0:
            why = (imported.stderr.strip().splitlines() or ["rpmkeys --import failed"])[0]
            raise ConfigError(
                f"not a usable OpenPGP key file: {bounded(why, 200)}", subject=keyring
            )
        checked = subprocess.run([rpmkeys, "--dbpath", db, "--checksig", "-v", str(path)],
                                 capture_output=True, text=True, check=False)  # fmt: skip
    lines = [line.strip() for line in checked.stdout.splitlines()[1:] if line.strip()]
    signatures = [line for line in lines if "Signature" in line]
    bad = [line for line in lines if not line.endswith(": OK")]
    if checked.returncode != 0 or bad:
        first = bad[0] if bad else (checked.stderr.strip().splitlines() or ["failed"])[0]
        raise ChecksumError(f"signature check failed: {bounded(first, 200)}", subject=path)
    if not signatures:
        raise ChecksumError("not signed (a keyring was given)", subject=path)
    return signatures[0]


def verify_rpm(path: Path, keyring: Path | None = None) -> None:
    """Digests always; the signature too when a keyring is given."""
    verify_digests(path)
    if keyring is not None:
        verify_signature(path, keyring)
