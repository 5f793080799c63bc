"""Benchmark: ``elforge serve`` on a store with 10,000 synthetic packages and 20 runs.

The store is filled through the store models (``elforge.store.models``): per package an
import, patch, build and verify outcome (a tenth of them with an older outcome too, as a rerun
leaves), patch results with ledger reasons, verify outputs with ABI pairs; 20 pipeline runs.
``elforge serve`` runs as its own process (uvicorn, loopback); httpx sends the requests one at
a time over a kept-alive connection. Targets (issue 16): the ``/api/packages`` and
``/packages`` pages p95 under 100 ms, the overview under 300 ms. The anchor, measured in the
same run, is the server's floor: a static file from the same process.

    python bench/web.py [--packages 10000] [--requests 60]
"""

from __future__ import annotations

import argparse
import random
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

import httpx  # noqa: E402

from elforge.store.db import open_store  # noqa: E402
from elforge.store.models import Package, PatchResult, PipelineRun, StageRun  # noqa: E402
from elforge.workspace.workspace import Workspace  # noqa: E402

BIN = Path(sys.executable).parent
T0 = datetime(2026, 1, 1, tzinfo=UTC)
PATCH_STATES = ["identical"] * 70 + ["patched"] * 22 + ["drifted"] * 5 + ["failed"] * 3
VERDICTS = ["identical"] * 80 + ["compatible"] * 17 + ["incompatible"] * 3
REASONS = ["branding", "bugfix", "os-detection", "security"]


def _stage(pkg: Package, stage: str, status: str, output: dict[str, Any], when: datetime,
           run: int, *, error: str | None = None, key: str = "") -> StageRun:  # fmt: skip
    return StageRun(
        package_id=pkg.id, subject=pkg.name, stage=stage, status=status, output=output,
        input_hash=(key or f"{stage}-{pkg.name}").ljust(64, "0")[:64], error=error,
        duration=0.5, run_id=run, created=when, updated=when,
    )  # fmt: skip


def _outcomes(pkg: Package, i: int, rng: random.Random, run: int) -> list[Any]:
    nvr = f"{pkg.name}-1.{i % 50}-{i % 7}.el9"
    when = T0 + timedelta(seconds=i)
    patch = rng.choice(PATCH_STATES)
    actions = [{"index": 0, "action": "replace", "ok": patch != "drifted",
                "reason": {"category": rng.choice(REASONS), "text": "product name"}}]  # fmt: skip
    rows: list[Any] = [
        _stage(
            pkg, "import", "imported", {"nvr": nvr, "tree": f"/nonexistent/{pkg.name}"}, when, run
        ),
    ]
    error = "action 0 (replace) on x.spec: 'Acme' not found" if patch == "drifted" else None
    result = {"actions": actions if patch != "identical" else [], "diagnostics": []}
    rows.append(_stage(pkg, "patch", "failed" if patch == "failed" else patch,
                       {"nvr": nvr, "result": result}, when, run, error=error))  # fmt: skip
    rows.append(PatchResult(package_id=pkg.id, branch="a9", nvr=nvr, status=patch,
                            input_hash=f"p{i}".ljust(64, "0"), actions=actions))  # fmt: skip
    if patch in ("identical", "patched"):
        verdict = rng.choice(VERDICTS)
        rows.append(_stage(pkg, "build", "built", {"nvr": nvr, "rpms": []}, when, run))
        pairs = [{"name": pkg.name, "arch": "x86_64", "verdict": verdict,
                  "problems": ["sym@V: removed"] if verdict == "incompatible" else []}]  # fmt: skip
        rows.append(_stage(pkg, "verify", verdict, {"verdict": verdict, "pairs": pairs}, when, run))
    if i % 10 == 0:  # an older outcome of the same stage, as a rerun with new inputs leaves
        rows.append(_stage(pkg, "import", "failed", {}, when - timedelta(days=1), max(run - 1, 1),
                           error="fetch failed", key=f"old-import-{pkg.name}"))  # fmt: skip
    return rows


def fill_store(ws: Workspace, count: int, runs: int) -> None:
    rng = random.Random(16)
    store = open_store(ws.store_url)
    try:
        with store.session() as s, s.begin():
            for r in range(runs):
                started = T0 + timedelta(hours=r)
                s.add(
                    PipelineRun(
                        started=started,
                        finished=started + timedelta(minutes=30),
                        status="finished",
                        executor="local (2 processes)",
                        stages=["import", "patch", "build", "verify", "publish"],
                        summary={"packages_total": count, "counts": {"identical": count}},
                    )
                )
        with store.session() as s, s.begin():
            pkgs = [Package(name=f"pkg-{i:05d}") for i in range(count)]
            s.add_all(pkgs)
            s.flush()
            for i, pkg in enumerate(pkgs):
                s.add_all(_outcomes(pkg, i, rng, runs))
    finally:
        store.close()


def measure(client: httpx.Client, path: str, n: int) -> list[float]:
    for _ in range(5):
        client.get(path).raise_for_status()
    times = []
    for _ in range(n):
        start = time.perf_counter()
        response = client.get(path)
        times.append((time.perf_counter() - start) * 1000)
        response.raise_for_status()
    return times


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1]


CASES = [
    ("anchor: static file", "/static/style.css", None),
    ("/api/packages page 1", "/api/packages", 100),
    ("/api/packages page 100 by NVR", "/api/packages?sort=nvr&page=100", 100),
    ("/api/packages patch=drifted", "/api/packages?stage=patch&state=drifted", 100),
    ("/api/packages name~'pkg-0123'", "/api/packages?name=pkg-0123", 100),
    ("/packages page 1", "/packages", 100),
    ("/packages failed, newest first", "/packages?category=failed&sort=updated&order=desc", 100),
    ("/ overview", "/", 300),
    ("/api/overview", "/api/overview", 300),
]


def after_writes(ws: Workspace, client: httpx.Client, n: int) -> list[float]:
    """``/api/packages`` right after the engine-like write of one package's new outcome: the
    read model catches up with that package before answering."""
    store = open_store(ws.store_url)
    times = []
    try:
        for i in range(n):
            with store.session() as s, s.begin():
                pkg = s.get(Package, 1 + (i * 37) % 1000)
                assert pkg is not None
                s.add(_stage(pkg, "verify", "compatible", {"verdict": "compatible"},
                             datetime.now(UTC), 1, key=f"rewrite-{i}"))  # fmt: skip
            start = time.perf_counter()
            client.get("/api/packages").raise_for_status()
            times.append((time.perf_counter() - start) * 1000)
    finally:
        store.close()
    return times


def _serve(root: Path, port: int) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen([str(BIN / "elforge"), "serve", "-w", str(root), "--port", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    for _ in range(300):
        try:
            httpx.get(f"http://127.0.0.1:{port}/static/app.js", timeout=1)
            return proc
        except httpx.TransportError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("elforge serve did not start")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--packages", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--requests", type=int, default=60)
    parser.add_argument("--port", type=int, default=18_765)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="elforge-bench-web-") as tmp:
        ws = Workspace.init(Path(tmp) / "ws")
        start = time.monotonic()
        fill_store(ws, args.packages, args.runs)
        print(f"store: {args.packages} packages, {args.runs} runs, filled in "
              f"{time.monotonic() - start:.1f} s ({ws.store_url})")  # fmt: skip
        start = time.monotonic()
        proc = _serve(ws.root, args.port)
        print(f"server answering after {time.monotonic() - start:.1f} s "
              "(includes the read model's first load)")  # fmt: skip
        failed = []
        try:
            with httpx.Client(base_url=f"http://127.0.0.1:{args.port}", timeout=30) as client:
                anchor = None
                print(f"{'request':<34} {'median ms':>10} {'p95 ms':>8} {'x anchor':>9} target")
                for label, path, target in CASES:
                    times = measure(client, path, args.requests)
                    med, top = statistics.median(times), p95(times)
                    anchor = anchor or med
                    verdict = "" if target is None else (
                        f"p95 < {target} ms: {'ok' if top < target else 'MISSED'}")  # fmt: skip
                    if target is not None and top >= target:
                        failed.append(label)
                    print(f"{label:<34} {med:>10.1f} {top:>8.1f} {med / anchor:>9.1f} {verdict}")
                times = after_writes(ws, client, 20)
                med = statistics.median(times)
                label = "/api/packages after a write"
                print(f"{label:<34} {med:>10.1f} {p95(times):>8.1f} {med / (anchor or 1):>9.1f}")
        finally:
            proc.terminate()
            proc.wait(timeout=10)
    print("all targets met" if not failed else f"targets missed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
