"""Release bookkeeping: the vendor release suffix and the changelog entry."""

from __future__ import annotations

import os
import re
import time

from elforge.patching.config import Changelog, ReleaseSuffix
from elforge.patching.context import ActionContext, Step
from elforge.patching.spec import (
    add_release_suffix,
    changelog_index,
    query_evr,
    read_lines,
    release_value,
    set_release,
    uses_autochangelog,
    write_lines,
)


def run_release_suffix(action: ReleaseSuffix, ctx: ActionContext) -> Step:
    spec = ctx.spec
    lines, nl = read_lines(spec)
    value = release_value(lines)
    if action.number == "none":
        if value.endswith(action.suffix):
            return Step(note=f"Release already ends with {action.suffix}")
        new = add_release_suffix(value, action.suffix)
    else:
        # a re-run on an already suffixed tree bumps the iteration instead of stacking
        m = re.search(re.escape(action.suffix) + r"\.(\d+)$", value)
        if m and action.number == "auto":
            new = value[: m.start()] + f"{action.suffix}.{int(m[1]) + 1}"
        else:
            if action.number == "auto":
                n = max(ctx.release_number_hint or 0, action.start)
            else:
                n = action.number
            new = add_release_suffix(value, f"{action.suffix}.{n}")
    write_lines(spec, set_release(lines, new), nl)
    return Step(changed=1, files=[ctx.rel(spec)], note=f"Release: {new}")


def changelog_date(explicit: str | None) -> str:
    if explicit:
        return explicit
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    t = time.gmtime(int(epoch)) if epoch and epoch.isdigit() else time.gmtime()
    return time.strftime("%a %b %d %Y", t)


def run_changelog(action: Changelog, ctx: ActionContext) -> Step:
    spec = ctx.spec
    lines, nl = read_lines(spec)
    texts = [action.text] if isinstance(action.text, str) else list(action.text)
    texts = [t for chunk in texts for t in chunk.strip("\n").split("\n")]
    ctx.commit_lines.extend(texts)
    if uses_autochangelog(lines):
        return Step(changed=1, note="spec uses %autochangelog: the lines go to the commit message")
    evr = query_evr(spec, dist=action.dist or ctx.dist, sourcedir=ctx.sources)
    entry = [f"* {changelog_date(action.date)} {action.author} - {evr}"]
    # continuation lines (indented) and lines that already carry their dash stay as written
    entry += [t if t.startswith(("-", " ", "\t")) else f"- {t}" for t in texts]
    entry.append("")
    at = changelog_index(lines)
    if at == len(lines):
        lines += ["", "%changelog", *entry]
    else:
        lines[at + 1 : at + 1] = entry
    write_lines(spec, lines, nl)
    return Step(changed=1, files=[ctx.rel(spec)], note=f"entry for {evr}")
