"""Polling each kind of upstream, the webhook's retries, and advisory id schemes."""

from __future__ import annotations

import socket
import subprocess
from pathlib import Path

import pytest

from elforge.errors import ConfigError
from elforge.security.errata import rebuild_id
from elforge.watch.poll import poll_all
from elforge.watch.webhook import deliver
from elforge.workspace.config import PackageEntry
from helpers import require_tool, serve_directory


def _bare_repo(root: Path) -> tuple[Path, str]:
    require_tool("git")
    work = root / "work"
    work.mkdir(parents=True)
    env = ["-c", "user.name=t", "-c", "user.email=t@example.org"]
    subprocess.run(["git", "init", "-q", "-b", "c9", str(work)], check=True)
    (work / "x.spec").write_text("Name: x\n")
    subprocess.run(["git", "-C", str(work), "add", "-A"], check=True)
    subprocess.run(["git", *env, "-C", str(work), "commit", "-qm", "x"], check=True)
    subprocess.run(["git", "-C", str(work), "tag", "imports/c9/x-1-1"], check=True)
    subprocess.run(["git", "clone", "-q", "--bare", str(work), str(root / "x.git")], check=True)
    head = subprocess.run(["git", "-C", str(work), "rev-parse", "HEAD"], check=True,
                          capture_output=True, text=True).stdout.strip()  # fmt: skip
    return root / "x.git", head


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_every_kind_of_upstream_and_one_line_per_failure(tmp_path: Path) -> None:
    bare, head = _bare_repo(tmp_path / "git")
    (tmp_path / "srpms").mkdir()
    srpm = tmp_path / "srpms" / "x-1-1.el9.src.rpm"
    srpm.write_bytes(b"not really an rpm, only polled")
    folder = tmp_path / "tree"
    folder.mkdir()
    (folder / "x.spec").write_text("Name: x\n")
    with serve_directory(tmp_path / "srpms") as base:
        entries = [
            PackageEntry(name="branch", url=f"file://{bare}", layout="distgit"),
            PackageEntry(name="tag", url=f"file://{bare}", branch="imports/c9/x-1-1"),
            PackageEntry(name="http", url=f"{base}/x-1-1.el9.src.rpm", layout="srpm"),
            PackageEntry(name="file", url=str(srpm), layout="srpm"),
            PackageEntry(name="folder", url=str(folder)),
            PackageEntry(name="nobranch", url=f"file://{bare}", branch="c10"),
            PackageEntry(name="http404", url=f"{base}/gone.src.rpm", layout="srpm"),
            PackageEntry(name="refused", url=f"http://127.0.0.1:{_free_port()}/x.src.rpm"),
        ]
        states = {s.package: s for s in poll_all(entries, tmp_path, "c9", jobs=4, timeout=10)}
    assert [s.package for s in states.values()] == [e.name for e in entries]  # entry order
    assert states["branch"].token == head and states["branch"].kind == "git"
    assert states["tag"].token == head
    assert states["http"].kind == "srpm-http" and states["http"].token
    assert states["http"].time is not None  # Last-Modified
    assert states["file"].kind == "srpm-file" and states["file"].token
    assert states["folder"].kind == "folder" and len(states["folder"].token or "") == 64
    assert states["nobranch"].error == "no branch or tag 'c10' upstream"
    assert states["http404"].error and states["http404"].error.endswith("HTTP 404")
    assert states["refused"].error and "ConnectError" in states["refused"].error
    for name in ("nobranch", "http404", "refused"):
        assert states[name].token is None and "\n" not in (states[name].error or "")


def test_webhook_gives_up_after_the_attempts_with_the_last_error() -> None:
    waits: list[float] = []
    url = f"http://127.0.0.1:{_free_port()}/hook"
    got = deliver(url, {"event_id": "e1"}, attempts=4, backoff=0.5, timeout=2, sleep=waits.append)
    assert not got.delivered and got.attempts == 4 and got.status is None
    assert got.error and got.error.startswith("ConnectError")
    assert waits == [0.5, 1.0, 2.0]  # exponential, bounded by the attempts


@pytest.mark.parametrize(
    ("reference", "scheme", "expected"),
    [
        ("RHSA-2024:0811", "FL{type}-{year}:{serial}", "FLSA-2024:0811"),
        ("RHBA-2021:2580", "FL{type}-{year}:{serial}", "FLBA-2021:2580"),
        ("RHSA-2024:0811", "FORGE-{type}-{number}", "FORGE-SA-2024:0811"),
    ],
)
def test_id_scheme(reference: str, scheme: str, expected: str) -> None:
    assert rebuild_id(reference, "security", scheme) == expected


def test_bad_id_scheme_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match=r"id_scheme 'FL\{kind\}': 'kind'"):
        rebuild_id("RHSA-2024:0811", "security", "FL{kind}")
