"""A demo-like workspace for the dashboard tests, made by the real commands, and a live server.

The bundled example plus three packages of our own (``data/``): ``webinject`` carries
``<script>`` in its RPM Summary, its changelog and its patch config's search string and
reason; ``webdrift``'s config no longer fits (drift, with "did you mean"); ``cxxdemo`` is a C++
library whose patch hides ``demo::sub`` (an ABI finding with a mangled name). The reference
vendor's binaries are built from the unmodified upstream with rpmbuild, then ``elforge run``,
``elforge security lag`` and ``elforge security parity`` fill the store.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from elforge.build.builders import BuildOptions
from elforge.engine.example import REFERENCE_MACROS, create_example_workspace, materialize_upstream
from elforge.engine.reference import build_reference
from helpers import TESTDATA, require_tool, run_cli

DATA = Path(__file__).with_name("data")
ELFORGE = Path(sys.executable).parent / "elforge"
TOKEN = "web-test-token-0123456789abcdef"
EXTRA = ("webinject", "webdrift", "cxxdemo")
SECURITY = TESTDATA / "security"


@dataclass(frozen=True)
class Served:
    root: Path
    url: str
    token: str


def _add_packages(root: Path) -> None:
    for name in EXTRA:
        shutil.copytree(DATA / "upstream" / name, root / "upstream" / name)
        shutil.copyfile(
            DATA / "patches" / f"{name}.yaml", root / "patches" / "common" / f"{name}.yaml"
        )
    entries = "".join(
        f'\n[[packages]]\nname = "{n}"\nurl = "upstream/{n}"\nlayout = "distgit"\n' for n in EXTRA
    )
    config = root / "elforge.toml"
    config.write_text(config.read_text() + entries + f'\n[serve]\ntoken = "{TOKEN}"\n')


def _reference(root: Path, scratch: Path) -> None:
    """The reference vendor's RPMs: every package built from the unmodified upstream."""
    upstream = scratch / "upstream"
    materialize_upstream(upstream)
    for name in EXTRA:
        shutil.copytree(DATA / "upstream" / name, upstream / name)
    results = build_reference(
        upstream, scratch / "rpms", BuildOptions(dist=".el9", macros=REFERENCE_MACROS)
    )
    assert all(r.status == "built" for r in results), [r.error for r in results]
    for rpm in (scratch / "rpms").glob("*.rpm"):
        shutil.copyfile(rpm, root / "reference" / rpm.name)


def make_workspace(dest: Path) -> Path:
    require_tool("rpmbuild", "createrepo_c", "g++", "c++filt")
    root = create_example_workspace(dest / "ws")
    _add_packages(root)
    _reference(root, dest / "reference-build")
    ran = run_cli("-q", "run", "-w", str(root))
    assert ran.exit_code in (0, 3), ran.stderr  # 3: some package drifted or broke ABI
    alma = SECURITY / "almalinux-osv"
    lag = run_cli("-q", "security", "lag", "--rebuild", str(alma / "almalinux8"),
                  "--first-seen", str(alma / "first-seen-almalinux8.csv"),
                  "-w", str(root), "-f", "json", "-o", str(dest / "lag.json"))  # fmt: skip
    assert lag.exit_code == 0, lag.stderr
    parity = run_cli("-q", "security", "parity", "--reference", str(SECURITY / "redhat-csaf"),
                     "--rebuild", str(SECURITY / "rocky-osv"), "-w", str(root),
                     "-f", "json", "-o", str(dest / "parity.json"))  # fmt: skip
    assert parity.exit_code in (0, 1, 4, 8), parity.stderr
    assert (dest / "parity.json").is_file(), parity.stderr
    return root


@pytest.fixture(scope="session", name="web_workspace")
def web_workspace_fixture(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_workspace(tmp_path_factory.mktemp("web"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(root: Path, log: Path) -> tuple[subprocess.Popen[bytes], str]:
    """``elforge serve`` on a free loopback port; returns once it answers."""
    port = free_port()
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [str(ELFORGE), "serve", "-w", str(root), "--port", str(port)],
            stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"elforge serve exited: {log.read_text()}")
        try:
            if httpx.get(url + "/api/runs", timeout=2).status_code == 200:
                return proc, url
        except httpx.TransportError:
            time.sleep(0.1)
    proc.kill()
    pytest.fail(f"elforge serve did not answer: {log.read_text()}")


def stop_server(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def start_webinject_run(served: Served, note: str) -> httpx.Response:
    """``POST /api/runs`` for webinject after changing its upstream (its build sleeps 3 s, so
    the run is seen while it runs)."""
    notes = served.root / "upstream" / "webinject" / "notes.txt"
    notes.write_text(notes.read_text() + note + "\n")
    auth = {"Authorization": f"Bearer {served.token}"}
    return httpx.post(
        served.url + "/api/runs", json={"packages": ["webinject"]}, headers=auth, timeout=60
    )


@pytest.fixture(scope="session", name="served")
def served_fixture(
    web_workspace: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Served]:
    log = tmp_path_factory.mktemp("serve-log") / "serve.log"
    proc, url = start_server(web_workspace, log)
    try:
        yield Served(web_workspace, url, TOKEN)
    finally:
        stop_server(proc)
