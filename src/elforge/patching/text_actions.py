"""Text actions: replace (literal or regex), delete lines, add lines to a spec section.

In a spec these stop at %changelog and leave comment lines alone, unless the action asks
otherwise or its own text is a comment.
"""

from __future__ import annotations

import re

from elforge.patching.config import AddLine, DeleteLine, Replace
from elforge.patching.context import ActionContext, Drift, Step
from elforge.patching.drift import nearest_match
from elforge.patching.spec import (
    changelog_index,
    find_section,
    is_comment,
    last_content_line,
    read_lines,
    write_lines,
)

_UNLIMITED = 1 << 30


def _limit(n: int) -> int:
    return _UNLIMITED if n < 0 else n


def _sub_literal(text: str, find: str, repl: str, limit: int) -> tuple[str, int]:
    n = min(text.count(find), limit)
    return (text.replace(find, repl, n), n) if n else (text, 0)


def _sub(action: Replace, text: str, limit: int) -> tuple[str, int]:
    if limit <= 0:
        return text, 0
    if action.regex:
        return re.subn(action.find, action.replace, text, count=limit, flags=re.MULTILINE)
    return _sub_literal(text, action.find, action.replace, limit)


def _replace_line(action: Replace, line: str, budget: int) -> tuple[str, int]:
    limit = min(budget, _limit(action.per_line))
    if action.match == "field":
        m = re.match(r"^(\s*" + re.escape(action.field or "") + r"\s*:)(.*)$", line, re.I)
        if not m:
            return line, 0
        value, n = _sub(action, m[2], limit)
        return m[1] + value, n
    if action.match == "starts_with" and not line.strip().startswith(action.find):
        return line, 0
    if action.match == "ends_with" and not line.strip().endswith(action.find):
        return line, 0
    return _sub(action, line, limit)


def run_replace(action: Replace, ctx: ActionContext) -> Step:
    step = Step()
    targets = ctx.resolve_targets(action.files)
    if not targets:
        raise Drift(
            f"no file matches {action.files}",
            file=", ".join(action.files),
        )
    for path in targets:
        rel = ctx.rel(path)
        lines, nl = read_lines(path)
        spec_mode = path.suffix == ".spec"
        stop = len(lines) if not spec_mode or action.include_changelog else changelog_index(lines)
        skip_comments = (
            spec_mode and not action.include_comments and not action.find.lstrip().startswith("#")
        )
        budget = _limit(action.count)
        changes = 0
        if "\n" in action.find:
            region, n = _sub(action, "\n".join(lines[:stop]), budget)
            lines = region.split("\n") + lines[stop:]
            changes = n
        else:
            for i in range(stop):
                if budget - changes <= 0:
                    break
                if skip_comments and is_comment(lines[i]):
                    continue
                new, n = _replace_line(action, lines[i], budget - changes)
                if n:
                    lines[i] = new
                    changes += n
        if changes:
            write_lines(path, lines, nl)
            step.files.append(rel)
            step.changed += changes
        else:
            text = "\n".join(read_lines(path)[0][:stop])
            step.misses.append(
                (rel, f"'{_short(action.find)}' not found", nearest_match(action.find, text))
            )
    return step


def run_delete_line(action: DeleteLine, ctx: ActionContext) -> Step:
    step = Step()
    targets = ctx.resolve_targets(action.files)
    if not targets:
        raise Drift(f"no file matches {action.files}", file=", ".join(action.files))
    for path in targets:
        rel = ctx.rel(path)
        lines, nl = read_lines(path)
        spec_mode = path.suffix == ".spec"
        stop = changelog_index(lines) if spec_mode else len(lines)
        removed = 0
        for item in action.lines:
            block = [x.strip() for x in item.strip("\n").split("\n")]
            skip_comments = (
                spec_mode and not action.include_comments and not block[0].startswith("#")
            )
            i = 0
            while i + len(block) <= stop:
                window = lines[i : i + len(block)]
                if (skip_comments and is_comment(window[0])) or [
                    w.strip() for w in window
                ] != block:
                    i += 1
                    continue
                del lines[i : i + len(block)]
                stop -= len(block)
                removed += 1
        if removed:
            write_lines(path, lines, nl)
            step.files.append(rel)
            step.changed += removed
        else:
            text = "\n".join(lines[:stop])
            first = action.lines[0] if action.lines else ""
            step.misses.append(
                (rel, f"line '{_short(first)}' not found", nearest_match(first, text))
            )
    return step


def run_add_line(action: AddLine, ctx: ActionContext) -> Step:
    path = ctx.spec if action.file == "spec" else ctx.find_in_tree(action.file)
    if path is None:
        raise Drift(f"file '{action.file}' not found", file=action.file)
    rel = ctx.rel(path)
    lines, nl = read_lines(path)
    sec = find_section(lines, action.section, action.subpackage)
    if sec is None:
        where = f"%{action.section.lstrip('%')}" + (
            f" of subpackage {action.subpackage}" if action.subpackage else ""
        )
        raise Drift(f"section {where} not found", file=rel)
    content = action.content.rstrip("\n").split("\n")
    if action.location == "top":
        pos = sec.start + (0 if sec.name == "preamble" else 1)
    else:
        pos = last_content_line(lines, sec) + 1
        if sec.name == "preamble" and pos == 1 and not lines[0].strip():
            pos = 0
    lines[pos:pos] = content
    write_lines(path, lines, nl)
    return Step(changed=1, files=[rel])


def _short(text: str, width: int = 60) -> str:
    one = text.strip().replace("\n", "⏎")
    return one if len(one) <= width else one[: width - 1] + "…"
