"""``make demo``: the whole pipeline on the bundled example, in ``demo-workspace/``.

1. creates the workspace from ``examples/el-mini`` (upstream trees with generated tarballs,
   patch configs, ``elforge.toml``);
2. builds the "reference" binaries from the unmodified upstream, as the fictional reference
   vendor (Acme Enterprise Linux) ships them;
3. runs ``elforge run``: import → patch → build → verify per package, then publish, with
   whatever stage implementations this build has (printed first);
4. prints the summary table and the report files, and writes ``demo-workspace/summary.json``;
5. writes the single-file HTML report (``demo-workspace/report.html``) and prints the
   ``elforge serve`` command that shows the dashboard for the workspace.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from pathlib import Path

from rich.console import Console

from elforge.build.builders import BuildOptions
from elforge.cli.main import main as cli_main
from elforge.engine.example import EXAMPLE_BOOTSTRAP, REFERENCE_MACROS, create_example_workspace
from elforge.engine.pipeline import run_pipeline, stage_status, summary_document
from elforge.engine.planning import plan_workspace
from elforge.engine.reference import build_reference
from elforge.report.render import render_text
from elforge.workspace.workspace import Workspace

ROOT = Path(__file__).resolve().parents[2]


def _testdata() -> Path | None:
    for cand in (
        os.environ.get("ELFORGE_TESTDATA"),
        ROOT.parent / "shared" / "testdata",
        ROOT.parent.parent / "shared" / "testdata",
    ):
        if cand and (Path(cand) / "abi").is_dir():
            return Path(cand)
    return None


def _nss_abi_diff(dest: Path) -> str | None:
    """``elforge abi diff`` of two real nss builds from the test data, when it is there."""
    td = _testdata()
    if td is None:
        return None
    nss = td / "abi" / "pkgdiff" / "nss"
    old, new = nss / "nss-3.23.0-1.0.fc23.x86_64.rpm", nss / "nss-3.24.0-1.0.fc23.x86_64.rpm"
    if not (old.is_file() and new.is_file()):
        return None
    report = dest / "reports" / "abi-nss-3.23-to-3.24.json"
    argv = [
        "-q",
        "abi",
        "diff",
        str(old),
        str(new),
        "--cache-dir",
        str(dest / ".elforge" / "cache" / "abi"),
        "--format",
        "json",
        "-o",
        str(report),
    ]
    rc = cli_main(argv)
    verdict = json.loads(report.read_text())["verdict"] if report.is_file() else "error"
    return f"elforge abi diff {old.name} {new.name}: {verdict} (exit bits {rc})"


def _print_plan(out: Console, ws: Workspace) -> None:
    """``elforge plan``: the build waves from BuildRequires, and the cycle bootstrap breaks."""
    plan = plan_workspace(ws)
    out.print("[bold]   elforge plan[/bold] (build order from BuildRequires)")
    for i, wave in enumerate(plan.waves, start=1):
        out.print(f"     wave {i}: {' '.join(wave)}", markup=False)
    for broken in plan.bootstrapped:
        out.print(
            f"     cycle {' <-> '.join(broken.cycle)}: resolved by [build] bootstrap, "
            f"{broken.order[0]} built first --with bootstrap",
            markup=False,
        )
    for cycle in plan.cycles:
        out.print(f"     cycle {' <-> '.join(cycle)}: not built (no bootstrap entry)", markup=False)


def main(argv: list[str] | None = None) -> int:
    from elforge.cli.run import RichRunObserver

    args = sys.argv[1:] if argv is None else argv
    dest = Path(args[0]) if args else ROOT / "demo-workspace"
    out = Console(highlight=False)
    started = time.monotonic()
    if dest.exists():
        shutil.rmtree(dest)
    create_example_workspace(dest, jobs=2)
    ws = Workspace.open(dest)
    out.print(
        f"[bold]1. workspace[/bold] {dest} from examples/el-mini "
        f"({len(ws.config.packages)} packages)"
    )
    out.print("[bold]   stage implementations in this build:[/bold]")
    for stage, impl in stage_status().items():
        out.print(f"     {stage:<8} {impl}", markup=False)

    t0 = time.monotonic()
    results = build_reference(
        dest / "upstream",
        dest / "reference",
        BuildOptions(dist=ws.options.dist, macros=REFERENCE_MACROS),
        bootstrap=EXAMPLE_BOOTSTRAP,
    )
    rpms = sorted(p.name for p in (dest / "reference").glob("*.rpm"))
    failed = [r.package for r in results if r.status != "built"]
    out.print(
        f"[bold]2. reference[/bold] built {len(rpms)} RPMs of the reference vendor from "
        f"the unmodified upstream in {time.monotonic() - t0:.1f} s"
        + (f" (FAILED: {', '.join(failed)})" if failed else "")
    )

    _print_plan(out, ws)
    out.print("[bold]3. elforge run[/bold] (wave by wave, each against the earlier waves' RPMs)")
    observer = RichRunObserver() if out.is_terminal else None
    summary = run_pipeline(ws, observer=observer)
    (dest / "summary.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    sys.stdout.write(render_text(summary_document(summary), color=out.is_terminal))

    nss = _nss_abi_diff(dest)
    if nss is not None:
        out.print(f"[bold]   real-world ABI check[/bold] {nss}", markup=True)
    report = Path(summary["report"])
    files = [report, report.with_suffix(".html"), dest / "summary.json"]
    files += sorted((dest / "reports").rglob("*.json")) if (dest / "reports").is_dir() else []
    seen: list[Path] = []
    for f in files:
        if f.is_file() and f not in seen:
            seen.append(f)
    out.print("[bold]4. reports written[/bold]")
    for f in seen:
        out.print(f"     {f.relative_to(dest.parent)}", markup=False)
    for repo in ((summary.get("publish") or {}).get("output") or {}).get("repos", []):
        out.print(
            f"     repository {repo['name']}: {repo['path']} ({repo['packages']} packages)",
            markup=False,
        )
    _site_report(out, ws, dest)
    out.print(f"demo finished in {time.monotonic() - started:.1f} s")
    return 0


def _site_report(out: Console, ws: Workspace, dest: Path) -> None:
    """The single-file report, and the command that serves the dashboard for the workspace."""
    from elforge.web.sitereport import write_report

    report = write_report(ws, dest / "report.html")
    out.print("[bold]5. browse the results[/bold]")
    # soft_wrap: a path or command to copy is never broken across lines
    where = dest.relative_to(Path.cwd()) if dest.is_relative_to(Path.cwd()) else dest
    for line in (
        f"     single-file report (works offline): {report}",
        f"     dashboard and JSON API: elforge serve -w {where}",
    ):
        out.print(line, markup=False, soft_wrap=True)
    out.print("     (then open http://127.0.0.1:8000/)", markup=False)


if __name__ == "__main__":
    sys.exit(main())
