"""Benchmark: importing the OpenELA bash el9 tree through git and a loopback HTTP lookaside.

Anchor: what a minimal script does for the same job, measured in the same run: a shallow
``git clone`` of the upstream plus one ``curl``-like HTTP download of the lookaside blob.
Measured against it: a first ``import_package`` into a workspace whose store exists (clone,
normalise, rpmspec, download and verify, write the mirror, record provenance), a no-op
rerun (``git ls-remote`` and a look at the mirror), and ``checkout_tree``.

Run: ``python bench/import.py [--repeat N]``; prints medians in ms and ratios to the anchor.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import io
import os
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from elforge.sources.importer import ImportOptions, checkout_tree, import_package
from elforge.store.db import Store, open_store
from elforge.workspace.config import PackageEntry
from elforge.workspace.workspace import Workspace

ROOT = Path(__file__).resolve().parent.parent
TESTDATA = Path(os.environ.get("ELFORGE_TESTDATA", ROOT.parent / "shared" / "testdata"))
GIT_ENV = {**os.environ, "GIT_AUTHOR_NAME": "b", "GIT_AUTHOR_EMAIL": "b@b",
           "GIT_COMMITTER_NAME": "b", "GIT_COMMITTER_EMAIL": "b@b",
           "GIT_CONFIG_NOSYSTEM": "1"}  # fmt: skip


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


def _tarball(size: int) -> bytes:
    buf = io.BytesIO()
    payload = os.urandom(size)  # incompressible: the download and hash dominate
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        info = tarfile.TarInfo("bash-5.1/blob")
        info.size = len(payload)
        tar.addfile(info, io.BytesIO(payload))
    return buf.getvalue()


def _median_ms(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--blob-mib", type=int, default=8, help="size of the lookaside blob")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="elforge-bench-") as tmp_s:
        tmp = Path(tmp_s)
        blob = _tarball(args.blob_mib << 20)
        digest = hashlib.sha256(blob).hexdigest()
        served = tmp / "srv" / "bash" / "c9" / digest
        served.parent.mkdir(parents=True)
        served.write_bytes(blob)
        repo = tmp / "bash"
        shutil.copytree(TESTDATA / "distgit/openela-bash-el9", repo)
        for p in [repo, *repo.rglob("*")]:
            p.chmod(0o755 if p.is_dir() else 0o644)
        (repo / ".bash.metadata").write_text(f"{digest} SOURCES/bash-5.1.tar.gz\n")
        for cmd in (["git", "init", "-q", "-b", "c9"], ["git", "add", "-A"],
                    ["git", "commit", "-q", "-m", "x"]):  # fmt: skip
            subprocess.run(cmd, cwd=repo, env=GIT_ENV, check=True)
        handler = functools.partial(_Quiet, directory=str(tmp / "srv"))
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        base = f"http://127.0.0.1:{server.server_address[1]}"
        template = f"{base}/{{name}}/{{branch}}/{{hash}}"
        entry = PackageEntry(name="bash", url=repo.as_uri(), branch="c9")
        opts = ImportOptions(lookaside=(template,))
        counter = iter(range(1_000_000))

        def anchor() -> None:
            dest = tmp / f"anchor-{next(counter)}"
            subprocess.run(["git", "clone", "-q", "--depth", "1", "-b", "c9", repo.as_uri(),
                            str(dest)], check=True, env=GIT_ENV)  # fmt: skip
            with urllib.request.urlopen(f"{base}/bash/c9/{digest}") as resp:
                (dest / "SOURCES/bash-5.1.tar.gz").write_bytes(resp.read())
            shutil.rmtree(dest)

        fresh: list[tuple[Workspace, Store]] = []
        for _ in range(args.repeat):  # workspaces with a migrated store, made untimed
            w = Workspace.init(tmp / f"ws-{next(counter)}")
            fresh.append((w, open_store(w.store_url)))

        def first_import() -> None:
            w, store = fresh.pop()
            r = import_package(w, entry, options=opts, store=store)
            assert r.status == "imported", r.error

        ws = Workspace.init(tmp / "ws-noop")
        ws_store = open_store(ws.store_url)
        assert import_package(ws, entry, options=opts, store=ws_store).status == "imported"

        def noop() -> None:
            r = import_package(ws, entry, options=opts, store=ws_store)
            assert r.status == "unchanged"

        def checkout() -> None:
            dest = checkout_tree(ws, "bash", "c9", tmp / f"co-{next(counter)}")
            shutil.rmtree(dest)

        rows = [
            ("anchor: git clone --depth 1 + HTTP GET", _median_ms(anchor, args.repeat)),
            ("import_package, first import", _median_ms(first_import, args.repeat)),
            ("import_package, unchanged rerun", _median_ms(noop, args.repeat)),
            ("checkout_tree (verifies the blob)", _median_ms(checkout, args.repeat)),
        ]
        server.shutdown()
    anchor_ms = rows[0][1]
    print(f"bash el9, {args.blob_mib} MiB lookaside blob, median of {args.repeat} runs")
    for label, ms in rows:
        print(f"{label:42s} {ms:9.1f} ms  {ms / anchor_ms:6.2f}x anchor")
    return 0


if __name__ == "__main__":
    sys.exit(main())
