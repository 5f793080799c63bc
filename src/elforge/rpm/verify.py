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
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from elforge.errors import ChecksumError, FormatError, ToolError, bounded
from elforge.proc import run_command
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


_SIG_LINE = re.compile(r"Signature, key ID (?P<key>[0-9a-fA-F]+): (?P<status>.+)$")


@dataclass(frozen=True)
class SignatureCheck:
    signed: bool
    key_id: str | None  # hex key id of the signature that verified
    detail: str


def check_signature(rpm: Path, keys: list[Path], *, subject: str) -> SignatureCheck:
    """Verify ``rpm``'s digests and signature against exactly ``keys``.

    Returns ``signed=False`` for a package with intact digests but no signature; raises
    FormatError for a bad digest or a signature made by a key not in ``keys``.
    """
    with tempfile.TemporaryDirectory(prefix="elforge-rpmdb-") as dbpath:
        for key in keys:
            proc = _rpmkeys("--dbpath", dbpath, "--import", str(key), subject=subject)
            if proc.returncode != 0:
                raise FormatError(
                    f"{key}: rpmkeys cannot import this key: {proc.stderr.strip()}",
                    subject=subject,
                )
        proc = _rpmkeys("--dbpath", dbpath, "--checksig", "-v", str(rpm), subject=subject)
    verdicts = [m for line in proc.stdout.splitlines() if (m := _SIG_LINE.search(line.strip()))]
    bad = [m for m in verdicts if m["status"].strip() != "OK"]
    if bad:
        m = bad[0]
        reason = {"NOKEY": "signed by a key that is not configured"}.get(
            m["status"].strip(), m["status"].strip()
        )
        raise FormatError(f"{rpm.name}: signature key ID {m['key']}: {reason}", subject=subject)
    if proc.returncode != 0:
        lines = [ln.strip() for ln in proc.stdout.splitlines()[1:] if "OK" not in ln]
        raise FormatError(
            f"{rpm.name}: rpmkeys --checksig failed: {'; '.join(lines) or proc.stderr.strip()}",
            subject=subject,
        )
    if not verdicts:
        return SignatureCheck(False, None, "no signature")
    return SignatureCheck(True, verdicts[0]["key"].lower(), "signature OK")


def _rpmkeys(*args: str, subject: str) -> subprocess.CompletedProcess[str]:
    try:
        return run_command(["rpmkeys", *args], capture_output=True, text=True, timeout=120)
    except FileNotFoundError:
        raise ToolError("rpmkeys is not installed", subject=subject) from None


def verify_signature(path: Path, keyring: Path) -> SignatureCheck:
    """Check the RPM's signatures against ``keyring`` only; unsigned is refused too."""
    try:
        check = check_signature(path, [keyring], subject=str(path))
    except FormatError as exc:
        raise ChecksumError(f"signature check failed: {exc.problem}", subject=path) from None
    if not check.signed:
        raise ChecksumError("not signed (a keyring was given)", subject=path)
    return check


def verify_rpm(path: Path, keyring: Path | None = None) -> None:
    """Digests always; the signature too when a keyring is given."""
    verify_digests(path)
    if keyring is not None:
        verify_signature(path, keyring)


def verify_rpms(paths: Iterable[Path], keyring: Path | None = None) -> None:
    """Verify every RPM file among ``paths`` (directories, tarballs, symvers files and the
    like are left to their readers); the first that fails raises ChecksumError naming it.

    The one check every command that reads packages runs before it reads a member.
    """
    for path in paths:
        if path.is_file() and path.name.endswith(".rpm"):
            verify_rpm(path, keyring)


def verify_detached(data: Path, signature: bytes, keyring: Path, *, subject: str | Path) -> None:
    """Check an armored detached signature (``repomd.xml.asc``) over ``data`` against only the
    keys in ``keyring``, with gpg in a throw-away home; refused unless gpg reports VALIDSIG."""
    gpg = shutil.which("gpg")
    if gpg is None:
        raise ToolError("gpg is needed to check repository signatures", subject=keyring)
    with tempfile.TemporaryDirectory(prefix="elforge-gpg-") as home:
        os.chmod(home, 0o700)
        base = [gpg, "--homedir", home, "--batch", "--no-tty", "--quiet"]
        try:
            if _run(*base, "--import", str(keyring)).returncode != 0:
                raise FormatError("gpg cannot import this key file", subject=keyring)
            asc = Path(home) / "signature.asc"
            asc.write_bytes(signature)
            checked = _run(*base, "--status-fd", "1", "--verify", str(asc), str(data))
        finally:
            _run("gpgconf", "--homedir", home, "--kill", "all")
    status = [line[9:] for line in checked.stdout.splitlines() if line.startswith("[GNUPG:] ")]
    if not any(line.startswith("VALIDSIG ") for line in status):
        why = next(
            (line for line in status if line.split(" ")[0] in _BAD_STATUS), "no valid signature"
        )
        raise ChecksumError(f"signature check failed: {bounded(why, 120)}", subject=subject)


def _run(*argv: str) -> subprocess.CompletedProcess[str]:
    return run_command(list(argv), capture_output=True, text=True, timeout=60)


_BAD_STATUS = ("BADSIG", "ERRSIG", "NO_PUBKEY", "EXPKEYSIG", "REVKEYSIG", "NODATA")
