"""``make demo``: the whole pipeline on the bundled example, in ``demo-workspace/``.

1. creates the workspace from ``examples/el-mini`` (upstream trees with generated tarballs,
   patch configs, ``elforge.toml``);
2. builds the "reference" binaries from the unmodified upstream, as the fictional reference
   vendor (Acme Enterprise Linux) ships them;
3. runs ``elforge run``: import → patch → build → verify per package, then publish, with
   whatever stage implementations this build has (printed first);
4. prints the summary table and the report files, and writes ``demo-workspace/summary.json``.
"""

from __future__ import annotations

import json
import shutil
import sys
import time
from pathlib import Path

from rich.console import Console

from elforge.build.builders import BuildOptions
from elforge.engine.example import REFERENCE_MACROS, create_example_workspace
from elforge.engine.pipeline import run_pipeline, stage_status, summary_document
from elforge.engine.reference import build_reference
from elforge.report.render import render_text
from elforge.workspace.workspace import Workspace

ROOT = Path(__file__).resolve().parents[2]


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
        BuildOptions(dist=ws.config.workspace.dist, macros=REFERENCE_MACROS),
    )
    rpms = sorted(p.name for p in (dest / "reference").glob("*.rpm"))
    failed = [r.package for r in results if r.status != "built"]
    out.print(
        f"[bold]2. reference[/bold] built {len(rpms)} RPMs of the reference vendor from "
        f"the unmodified upstream in {time.monotonic() - t0:.1f} s"
        + (f" (FAILED: {', '.join(failed)})" if failed else "")
    )

    out.print("[bold]3. elforge run[/bold]")
    observer = RichRunObserver() if out.is_terminal else None
    summary = run_pipeline(ws, observer=observer)
    (dest / "summary.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    sys.stdout.write(render_text(summary_document(summary), color=out.is_terminal))

    report = Path(summary["report"])
    files = [report, report.with_suffix(".html"), dest / "summary.json"]
    files += sorted((dest / "reports").glob("*")) if (dest / "reports").is_dir() else []
    seen: list[Path] = []
    for f in files:
        if f.is_file() and f not in seen:
            seen.append(f)
    out.print("[bold]4. reports written[/bold]")
    for f in seen:
        out.print(f"     {f.relative_to(dest.parent)}", markup=False)
    if summary.get("publish") and summary["publish"].get("output"):
        out.print(f"     repository: {summary['publish']['output'].get('repo')}", markup=False)
    out.print(f"demo finished in {time.monotonic() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
