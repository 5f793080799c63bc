"""``elforge watch --once``: a commit to one upstream rebuilds exactly that package, publishes
it with its advisory, records the timeline and notifies a webhook that fails twice first."""

from __future__ import annotations

import http.server
import json
import os
import sqlite3
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from helpers import TESTDATA, require_tool, run_cli

pytestmark = [pytest.mark.system, pytest.mark.slow]
SPEC = """\
Name: {name}
Version: 1.9.5p2
Release: {release}%{{?dist}}
Summary: watch test package
License: MIT
BuildArch: x86_64
%description
test
%install
mkdir -p %{{buildroot}}/usr/share/{name}
echo {release} > %{{buildroot}}/usr/share/{name}/v
%files
/usr/share/{name}/v
"""
GIT_ENV = {
    **os.environ,
    "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.org",
    "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.org",
}  # fmt: skip


def _git(*args: str, cwd: Path) -> str:
    return subprocess.run(["git", *args], cwd=cwd, env=GIT_ENV, check=True,
                          capture_output=True, text=True).stdout  # fmt: skip


def _upstream(root: Path, name: str) -> tuple[Path, Path]:
    """A dist-git style work tree and the bare repository it pushes to (served as file://)."""
    work, bare = root / f"work-{name}", root / f"{name}.git"
    work.mkdir(parents=True)
    _git("init", "-q", "-b", "c9", cwd=work)
    (work / f"{name}.spec").write_text(SPEC.format(name=name, release=9))
    _git("add", "-A", cwd=work)
    _git("commit", "-qm", "import", cwd=work)
    _git("clone", "-q", "--bare", str(work), str(bare), cwd=root)
    _git("remote", "add", "origin", str(bare), cwd=work)
    return work, bare


@contextmanager
def flaky_receiver(failures: int) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """A loopback webhook that answers 503 ``failures`` times, then 204; records each POST."""
    seen: list[dict[str, Any]] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            seen.append({"header": self.headers.get("X-Elforge-Event"), "body": json.loads(body)})
            self.send_response(503 if len(seen) <= failures else 204)
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hook", seen
    finally:
        server.shutdown()
        server.server_close()


def _workspace(tmp_path: Path, upstreams: dict[str, str]) -> Path:
    ws = tmp_path / "ws"
    assert run_cli("init", str(ws)).exit_code == 0
    config = (ws / "elforge.toml").read_text().replace('dist = ".el9"', 'dist = ".el9_3"')
    csaf = TESTDATA / "security" / "redhat-csaf" / "rhsa-2024_0811.json"
    config += f'\n[errata]\nreference = ["{csaf}"]\n\n[watch]\nwebhook_backoff = 0.05\n'
    for name, url in upstreams.items():
        config += f'\n[[packages]]\nname = "{name}"\nurl = "{url}"\nlayout = "distgit"\n'
    (ws / "elforge.toml").write_text(config)
    return ws


def _watch_once(ws: Path) -> tuple[dict[str, Any], str]:
    res = run_cli("watch", "--once", "-w", str(ws), "-f", "json")
    assert res.exit_code == 0, res.stderr
    doc = json.loads(res.stdout)
    assert doc["schema"] == "elforge.watch/1"
    return doc, res.stderr


def _builds(ws: Path) -> dict[str, int]:
    with sqlite3.connect(ws / ".elforge" / "state.db") as db:
        rows = db.execute("SELECT p.name, count(*) FROM builds b JOIN packages p "
                          "ON p.id = b.package_id GROUP BY p.name").fetchall()  # fmt: skip
    return dict(rows)


def test_watch_once_rebuilds_the_changed_package_and_notifies(tmp_path: Path) -> None:
    require_tool("git", "rpmbuild")
    sudo_work, sudo_bare = _upstream(tmp_path / "up", "sudo")
    _other_work, other_bare = _upstream(tmp_path / "up", "other")
    ws = _workspace(tmp_path, {
        "sudo": f"file://{sudo_bare}", "other": f"file://{other_bare}",
        "gone": f"file://{tmp_path / 'up' / 'gone.git'}",
    })  # fmt: skip
    first, stderr = _watch_once(ws)
    assert sorted(first["changed"]) == ["other", "sudo"]
    # the unreachable upstream: one clear line, and the others were built
    gone = [line for line in stderr.splitlines() if "gone" in line]
    assert len(gone) == 1 and "cannot reach upstream" in gone[0] and "gone.git" in gone[0]
    assert _builds(ws) == {"other": 1, "sudo": 1}
    assert [e["stages"]["build"] for e in first["events"]] == ["built", "built"]

    # the fix lands upstream; the webhook is switched on and fails twice before accepting
    (sudo_work / "sudo.spec").write_text(SPEC.format(name="sudo", release=10))
    _git("commit", "-qam", "fix CVE-2023-42465", cwd=sudo_work)
    _git("push", "-q", "origin", "c9", cwd=sudo_work)
    commit_time = int(_git("log", "-1", "--format=%ct", cwd=sudo_work))
    with flaky_receiver(failures=2) as (url, seen):
        config = (ws / "elforge.toml").read_text()
        (ws / "elforge.toml").write_text(
            config.replace("[watch]\n", f'[watch]\nwebhook = "{url}"\n')
        )
        second, _ = _watch_once(ws)
    assert second["changed"] == ["sudo"] and second["unchanged"] == 1
    assert _builds(ws) == {"other": 1, "sudo": 2}  # exactly the changed package was rebuilt
    (event,) = second["events"]
    assert (
        event["old_nvr"] == "sudo-1.9.5p2-9.el9_3" and event["new_nvr"] == "sudo-1.9.5p2-10.el9_3"
    )
    assert event["advisories"] == ["FLSA-2024:0811"]
    assert event["stages"] == {"import": "imported", "patch": "identical", "build": "built",
                               "verify": "no-reference"}  # fmt: skip
    assert len(seen) == 3 and {s["header"] for s in seen} == {event["event_id"]}
    assert {s["body"]["event_id"] for s in seen} == {event["event_id"]}
    assert seen[-1]["body"]["schema"] == "elforge.watch-event/1"
    assert second["deliveries"] == [{"event_id": event["event_id"], "url": url, "attempts": 3,
                                     "delivered": True, "status": 204, "error": None}]  # fmt: skip
    # both packages still published, the advisory in updateinfo, the timeline in the store
    published = sorted(p.name for p in (ws / "repos" / "Packages").glob("*.rpm"))
    assert published == [  # the older sudo stays published ([publish] keep) for downgrades
        "other-1.9.5p2-9.el9_3.x86_64.rpm",
        "sudo-1.9.5p2-10.el9_3.x86_64.rpm",
        "sudo-1.9.5p2-9.el9_3.x86_64.rpm",
    ]
    with sqlite3.connect(ws / ".elforge" / "state.db") as db:
        status, issued_source = db.execute(
            "SELECT status, issued_source FROM errata WHERE advisory_id = 'FLSA-2024:0811'"
        ).fetchone()
        (row,) = db.execute(
            "SELECT strftime('%s', commit_time), noticed, published, status "
            "FROM upstream_events WHERE nvr = 'sudo-1.9.5p2-10.el9_3'"
        ).fetchall()
    assert (status, issued_source) == ("published", "watch")
    assert int(row[0]) == commit_time and row[1] <= row[2] and row[3] == "published"
    # nothing changed upstream: nothing is rebuilt, nothing is sent
    third, _ = _watch_once(ws)
    assert third["changed"] == [] and third["unchanged"] == 2 and _builds(ws)["sudo"] == 2
    # security lag --own: upstream commit to published package, from that timeline
    res = run_cli("security", "lag", "--own", "-w", str(ws), "-f", "json")
    assert res.exit_code == 0, res.stderr
    lag = json.loads(res.stdout)
    assert lag["schema"] == "elforge.rebuild-lag/1" and lag["summary"]["changes"] == 3
    (fix,) = [e for e in lag["entries"] if e["nvr"] == "sudo-1.9.5p2-10.el9_3"]
    assert fix["commit_time"].startswith(
        datetime.fromtimestamp(commit_time, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S")
    )
    assert 0 <= fix["commit_to_notice_hours"] <= fix["commit_to_publish_hours"] < 1
