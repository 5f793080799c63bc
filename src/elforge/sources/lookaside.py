"""Downloading lookaside blobs from URL templates, verified while they stream.

A template names a blob with ``{name}``, ``{filename}``, ``{hashtype}``, ``{hash}`` and
``{branch}``, for example::

    https://sources.stream.centos.org/sources/rpms/{name}/{filename}/{hashtype}/{hash}/{filename}
    https://git.centos.org/sources/{name}/{branch}/{hash}
    https://mirror.example/lookaside/{hash}

Templates are tried in order; the first that answers with content of the right hash wins.
"""

from __future__ import annotations

import functools
import ssl
import string
import uuid
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

import httpx

from elforge.errors import ChecksumError, ConfigError, FetchError
from elforge.sources.metadata import SourceEntry, hasher

FIELDS = frozenset({"name", "filename", "hashtype", "hash", "branch"})
TIMEOUT = httpx.Timeout(30.0, connect=10.0)


@functools.cache
def _ssl_context() -> ssl.SSLContext:
    # building a context reads the whole CA bundle (~0.1 s): once per process is enough
    return httpx.create_ssl_context()


def http_client() -> httpx.Client:
    """An HTTP client for lookaside and SRPM downloads (redirects followed, timeouts set)."""
    return httpx.Client(timeout=TIMEOUT, follow_redirects=True, verify=_ssl_context())


def check_template(template: str) -> str:
    """Refuse a template with an unknown or malformed field."""
    try:
        names = {f for _, f, _, _ in string.Formatter().parse(template) if f is not None}
    except ValueError as exc:
        raise ConfigError(f"malformed lookaside template: {exc}", subject=template) from None
    unknown = names - FIELDS
    if unknown:
        raise ConfigError(
            f"unknown field(s) {', '.join(sorted(unknown))} in lookaside template "
            f"(known: {', '.join(sorted(FIELDS))})",
            subject=template,
        )
    if urlsplit(template).scheme not in ("http", "https", "file"):
        raise ConfigError("lookaside template must be an http, https or file URL", subject=template)
    return template


def expand(template: str, entry: SourceEntry, *, name: str, branch: str) -> str:
    return template.format(
        name=quote(name, safe=""),
        filename=quote(entry.file, safe=""),
        hashtype=entry.hashtype,
        hash=entry.hash,
        branch=quote(branch, safe=""),
    )


@dataclass(frozen=True)
class Fetched:
    path: Path
    url: str


def _download(url: str, dest: Path, entry: SourceEntry, client: httpx.Client) -> str:
    """Stream ``url`` into ``dest``; return the digest. FetchError on any transport failure."""
    h = hasher(entry.hashtype)
    parts = urlsplit(url)
    if parts.scheme == "file":
        src = Path(unquote(parts.path))
        try:
            with src.open("rb") as fin, dest.open("wb") as fout:
                while chunk := fin.read(1 << 20):
                    h.update(chunk)
                    fout.write(chunk)
        except OSError as exc:
            raise FetchError(f"{url}: {exc.strerror or exc}", subject=entry.file) from None
        return h.hexdigest()
    try:
        with client.stream("GET", url) as resp:
            if resp.status_code != 200:
                raise FetchError(f"{url}: HTTP {resp.status_code}", subject=entry.file)
            with dest.open("wb") as fout:
                for chunk in resp.iter_bytes(1 << 20):
                    h.update(chunk)
                    fout.write(chunk)
    except httpx.HTTPError as exc:
        raise FetchError(f"{url}: {exc}", subject=entry.file) from None
    return h.hexdigest()


def fetch(
    entry: SourceEntry,
    templates: list[str],
    *,
    name: str,
    branch: str,
    staging: Path,
    client: httpx.Client,
) -> Fetched:
    """Download ``entry`` through the first template that serves the right content.

    The file lands in ``staging``; the caller moves it into the blob store. A wrong hash
    from one template is remembered and the next template tried: a mirror may be stale.
    Errors name the file and every URL tried.
    """
    if not templates:
        raise ConfigError(
            f"{entry.file}: no lookaside template configured ([sources] lookaside or --lookaside)",
            subject=name,
        )
    problems: list[str] = []
    mismatch = False
    for template in templates:
        url = expand(template, entry, name=name, branch=branch)
        # unique per attempt: the same content may be listed under two file names
        dest = staging / f"{entry.hashtype}-{entry.hash}-{uuid.uuid4().hex[:12]}"
        try:
            digest = _download(url, dest, entry, client)
        except FetchError as exc:
            dest.unlink(missing_ok=True)
            problems.append(exc.problem)
            continue
        if digest == entry.hash:
            return Fetched(dest, url)
        dest.unlink(missing_ok=True)
        mismatch = True
        problems.append(f"{url}: {entry.hashtype} is {digest}, expected {entry.hash}")
    message = f"{entry.file}: " + "; ".join(problems)
    if mismatch:
        raise ChecksumError(message, subject=name)
    raise FetchError(message, subject=name)
