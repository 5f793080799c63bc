"""``elforge report -o FILE.html``: the workspace's state as one self-contained HTML file.

The same queries and templates as the dashboard, rendered once: the overview, every package
with links to its patch, ABI and kABI sections, the security parity and the lag plot as inline
SVG. No script and no external asset, so the file works offline and can be mailed; links to
the full ABI reports are relative to where the file is written.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from contextlib import closing
from pathlib import Path

from elforge.store.db import open_store
from elforge.web import queries
from elforge.web.details import PackageDetail, package_detail
from elforge.web.readmodel import ReadModel
from elforge.web.render import inline_stylesheet, render
from elforge.web.security import security_view
from elforge.workspace.workspace import Workspace

# Above this many packages, only those with something to read (a patch, a problem, an ABI
# difference) get a detail section; the table still lists every package.
ALL_DETAILS_UP_TO = 2000


def _worth_detail(row: queries.PackageRow, total: int) -> bool:
    if total <= ALL_DETAILS_UP_TO:
        return True
    return row.category != "identical" or row.stages.get("verify") not in (None, "identical")


def _linker(root: Path, out_dir: Path) -> Callable[[str], str | None]:
    def link_for(relative: str) -> str | None:
        return Path(os.path.relpath(root / relative, out_dir)).as_posix()

    return link_for


def report_html(ws: Workspace, out_dir: Path) -> str:
    root = ws.root.resolve()
    with closing(open_store(ws.store_url)) as store, closing(ReadModel(store)) as model:
        overview = queries.overview(model)
        rows = queries.all_packages(model)
        details: dict[str, PackageDetail] = {}
        for row in rows:
            record = (
                queries.package_record(store, row.name) if _worth_detail(row, len(rows)) else None
            )
            if record is not None:
                details[row.name] = package_detail(root, record)
        security = security_view(queries.advisories(store), queries.stored_parity(store))
        runs = queries.recent_runs(model, limit=20)
    return render(
        "report.html.j2",
        workspace=ws.config.workspace.name,
        root=str(root),
        css=inline_stylesheet(),
        overview=overview,
        packages=rows,
        details=details,
        sec=security,
        runs=runs,
        link_for=_linker(root, out_dir.resolve()),
    )


def write_report(ws: Workspace, output: Path) -> Path:
    """Render and write atomically (a reader never sees half a report)."""
    output.parent.mkdir(parents=True, exist_ok=True)
    text = report_html(ws, output.parent)
    tmp = output.with_name(f".{output.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, output)
    return output
