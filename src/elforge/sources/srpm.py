"""Source RPMs as an upstream: fetched, signature-checked, unpacked to internal form.

The signature is checked by ``rpmkeys --checksig`` against a private keyring: a temporary
rpm database holding only the keys the workspace names, so the host's trusted keys never
vouch for a source package.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import httpx

from elforge.errors import FetchError, FormatError, ToolError, UnsafePayloadError
from elforge.proc import run_command
from elforge.sources.layout import Layout, NormalisedTree, write_internal_metadata
from elforge.sources.metadata import SourceEntry, check_file_name

_SIG_LINE = re.compile(r"Signature, key ID (?P<key>[0-9a-fA-F]+): (?P<status>.+)$")
# Files of a source RPM that go to the lookaside store rather than into git.
_ARCHIVE_SUFFIXES = (
    ".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tar.xz", ".txz", ".tar.zst", ".tar.lz",
    ".zip", ".gz", ".bz2", ".xz", ".zst", ".lz", ".7z", ".jar", ".gem", ".crate", ".whl",
    ".rpm", ".iso", ".img", ".bin",
)  # fmt: skip
LOOKASIDE_MIN_SIZE = 1 << 20


def is_srpm_location(url: str) -> bool:
    return url.endswith(".rpm") and not url.endswith(".git")


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
        return run_command(
            ["rpmkeys", *args], capture_output=True, text=True, timeout=120, check=False
        )
    except FileNotFoundError:
        raise ToolError("rpmkeys is not installed", subject=subject) from None


def fetch_srpm(url: str, staging: Path, *, subject: str, client: httpx.Client) -> Path:
    """A local path to the SRPM at ``url`` (a path, file:// URL or http(s) URL)."""
    parts = urlsplit(url)
    if parts.scheme in ("http", "https"):
        name = Path(unquote(parts.path)).name or "download.src.rpm"
        dest = staging / check_file_name(name, subject=url, line=1)
        try:
            with client.stream("GET", url) as resp:
                if resp.status_code != 200:
                    raise FetchError(f"{url}: HTTP {resp.status_code}", subject=subject)
                with dest.open("wb") as fh:
                    for chunk in resp.iter_bytes(1 << 20):
                        fh.write(chunk)
        except httpx.HTTPError as exc:
            raise FetchError(f"{url}: {exc}", subject=subject) from None
        return dest
    path = Path(unquote(parts.path)) if parts.scheme == "file" else Path(url)
    if not path.is_file():
        raise FetchError(f"{path}: no such source RPM", subject=subject)
    return path


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def _goes_to_lookaside(path: Path) -> bool:
    return path.name.endswith(_ARCHIVE_SUFFIXES) or path.stat().st_size >= LOOKASIDE_MIN_SIZE


def unpack_srpm(
    rpm: Path, out: Path, staging: Path, *, name: str, info: dict[str, Any]
) -> tuple[NormalisedTree, dict[str, Path]]:
    """Unpack ``rpm`` into internal form at ``out``.

    Archives (and anything of 1 MiB or more) become lookaside entries (sha256), staged in
    ``staging``; the rest goes to SOURCES/. Returns the tree and the staged blob per file.
    """
    from elforge.rpm.payload import extract  # the rpmcore payload reader (never writes outside)

    raw = staging / "srpm-payload"
    raw.mkdir()
    try:
        members = extract(rpm, raw)
    except (FormatError, UnsafePayloadError) as exc:
        raise FormatError(f"{rpm.name}: {exc.problem}", subject=name) from None
    files = []
    for member in members:
        rel = member.path.removeprefix("./").lstrip("/")
        if member.is_dir:
            continue
        if "/" in rel.strip("/") or not member.is_reg:
            raise FormatError(
                f"{rpm.name}: unexpected member {member.path!r} (source RPMs are flat)",
                subject=name,
            )
        files.append(raw / rel)
    specs = [p for p in files if p.name.endswith(".spec")]
    if len(specs) != 1:
        raise FormatError(f"{rpm.name}: expected one spec, found {len(specs)}", subject=name)
    (out / "SPECS").mkdir(parents=True)
    (out / "SOURCES").mkdir()
    shutil.copyfile(specs[0], out / "SPECS" / specs[0].name)
    entries: list[SourceEntry] = []
    staged: dict[str, Path] = {}
    for path in sorted(files):
        if path == specs[0]:
            continue
        check_file_name(path.name, subject=f"{name}: {rpm.name}", line=0)
        if _goes_to_lookaside(path):
            entries.append(SourceEntry(path.name, "sha256", sha256_file(path)))
            staged[path.name] = path
        else:
            shutil.copyfile(path, out / "SOURCES" / path.name)
    full = {**info, "layout": str(Layout.srpm), "metadata": None}
    write_internal_metadata(out, name, entries, None, full)
    tree = NormalisedTree(out, out / "SPECS" / specs[0].name, entries, Layout.srpm, None, full)
    return tree, staged
