"""Poll each package's upstream for its current state, cheaply and in parallel.

What identifies an upstream's state (the *token*):

- git (dist-git branches and tags, exploded-tree repositories): the commit the configured
  branch or tag points at, from ``git ls-remote`` (no clone, no fetch);
- an SRPM over http(s) (a lookaside or vault listing): the server's ``ETag``, else
  ``Last-Modified`` and ``Content-Length``, from one ``HEAD``;
- a local SRPM file: its size and modification time;
- a local folder (the example's "local" upstream mode): the content hash of the tree.

Polls run on a bounded thread pool; an upstream that cannot be reached is one error line
for that package and the others go on.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from elforge.errors import ElforgeError, FetchError
from elforge.proc import run_command
from elforge.sources.local import local_folder
from elforge.workspace.config import PackageEntry


@dataclass(frozen=True)
class UpstreamState:
    """One package's upstream as one poll saw it; ``token`` is None when the poll failed."""

    package: str
    url: str
    ref: str | None
    kind: str  # git, srpm-http, srpm-file, folder
    token: str | None
    error: str | None = None
    time: datetime | None = None  # the state's own time when the upstream tells it


def _local_path(url: str, root: Path) -> Path | None:
    if url.startswith(("http:", "https:", "ssh:", "git@", "git:")):
        return None
    path = Path(url.removeprefix("file://"))
    return path if path.is_absolute() else root / path


def upstream_kind(entry: PackageEntry, root: Path) -> str:
    """How ``entry``'s upstream is polled (see the module docs)."""
    url = entry.url
    srpm = entry.layout == "srpm" or url.split("?", 1)[0].endswith(".src.rpm")
    local = _local_path(url, root)
    if srpm:
        return "srpm-file" if local is not None else "srpm-http"
    # the importer's own test, so a cycle polls the upstream the way the import reads it
    return "folder" if local_folder(url, root) is not None else "git"


def _poll_git(entry: PackageEntry, branch: str, timeout: float) -> tuple[str, datetime | None]:
    refs = [f"refs/heads/{branch}", f"refs/tags/{branch}^{{}}", f"refs/tags/{branch}"]
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C"}
    env.setdefault("GIT_SSH_COMMAND", "ssh -o BatchMode=yes")
    try:
        proc = run_command(
            ["git", "ls-remote", "--", entry.url, *refs],
            capture_output=True, text=True, timeout=timeout, env=env, check=False,
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        raise FetchError(
            f"git ls-remote timed out after {timeout:.0f}s", subject=entry.name
        ) from None
    if proc.returncode != 0:
        lines = [ln.strip() for ln in proc.stderr.splitlines() if ln.strip()]
        first = next((ln for ln in lines if ln.startswith("fatal:")), lines[0] if lines else "")
        raise FetchError(f"cannot reach upstream: {first[:200]}", subject=entry.name)
    found: dict[str, str] = {}
    for line in proc.stdout.splitlines():
        sha, sep, name = line.partition("\t")
        if sep:
            found[name.strip()] = sha.strip()
    for ref in refs:
        if ref in found:
            return found[ref], None
    raise FetchError(f"no branch or tag {branch!r} upstream", subject=entry.name)


def _poll_http(entry: PackageEntry, timeout: float) -> tuple[str, datetime | None]:
    import httpx

    try:
        resp = httpx.head(entry.url, follow_redirects=True, timeout=timeout)
    except httpx.HTTPError as exc:
        raise FetchError(
            f"HEAD {entry.url} failed: {type(exc).__name__}", subject=entry.name
        ) from None
    if resp.status_code >= 400:
        raise FetchError(f"HEAD {entry.url}: HTTP {resp.status_code}", subject=entry.name)
    etag = resp.headers.get("etag")
    modified = resp.headers.get("last-modified")
    when = None
    if modified:
        from email.utils import parsedate_to_datetime

        try:
            when = parsedate_to_datetime(modified).astimezone(UTC)
        except (TypeError, ValueError):
            when = None
    token = etag or f"{modified}|{resp.headers.get('content-length')}"
    return token[:128], when


def _poll_file(path: Path, name: str) -> tuple[str, datetime | None]:
    try:
        st = path.stat()
    except OSError as exc:
        raise FetchError(f"cannot stat {path}: {exc.strerror}", subject=name) from None
    return f"{st.st_size}:{st.st_mtime_ns}", datetime.fromtimestamp(st.st_mtime, tz=UTC)


def _poll_folder(path: Path, name: str) -> tuple[str, datetime | None]:
    from elforge.build.hashing import tree_hash

    if not path.is_dir():
        raise FetchError(f"upstream folder {path} does not exist", subject=name)
    newest = max((p.stat().st_mtime for p in path.rglob("*") if p.is_file()), default=0.0)
    return tree_hash(path), datetime.fromtimestamp(newest, tz=UTC) if newest else None


def poll_one(entry: PackageEntry, root: Path, default_branch: str, timeout: float) -> UpstreamState:
    """The upstream state of one package; a failure is recorded in ``error``, never raised."""
    kind = upstream_kind(entry, root)
    branch = entry.branch or default_branch
    ref = branch if kind == "git" else None
    try:
        if kind == "git":
            token, when = _poll_git(entry, branch, timeout)
        elif kind == "srpm-http":
            token, when = _poll_http(entry, timeout)
        else:
            local = _local_path(entry.url, root)
            assert local is not None
            token, when = (_poll_file if kind == "srpm-file" else _poll_folder)(local, entry.name)
    except ElforgeError as exc:
        return UpstreamState(entry.name, entry.url, ref, kind, None, exc.problem[:300])
    except OSError as exc:
        return UpstreamState(
            entry.name, entry.url, ref, kind, None, f"{type(exc).__name__}: {exc}"[:300]
        )
    return UpstreamState(entry.name, entry.url, ref, kind, token, None, when)


def poll_all(
    entries: Iterable[PackageEntry],
    root: Path,
    default_branch: str,
    *,
    jobs: int = 16,
    timeout: float = 60,
) -> list[UpstreamState]:
    """Poll every upstream, at most ``jobs`` at once; results in the entries' order."""
    items = list(entries)
    workers = max(1, min(jobs, len(items), (os.cpu_count() or 2) * 16))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="watch-poll") as pool:
        return list(pool.map(lambda e: poll_one(e, root, default_branch, timeout), items))
