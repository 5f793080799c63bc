"""File actions: add, remove or replace sources and patches, keeping the spec and the
lookaside metadata in step; store files in the lookaside (srpmproc's ``lookaside``).
"""

from __future__ import annotations

import gzip
import io
import os
import re
import tarfile
from pathlib import Path

from elforge import pathsafe
from elforge.errors import ConfigError
from elforge.patching import lookaside
from elforge.patching.config import (
    AddPatch,
    AddSource,
    AddTag,
    LookasideStore,
    RemoveSource,
    ReplaceSource,
)
from elforge.patching.context import ActionContext, AddedPatch, Drift, Step, safe_relative
from elforge.patching.diffs import check_paths
from elforge.patching.drift import nearest_name
from elforge.patching.spec import (
    insert_tag,
    next_number,
    read_lines,
    remove_tag,
    sections,
    unwire_patch,
    wire_patch,
    write_lines,
)


def _copy_in(ctx: ActionContext, src: Path, name: str) -> Path:
    safe_relative(name, what="target name")
    dest = ctx.sources / name.rsplit("/", 1)[-1]
    return ctx.write(dest, pathsafe.read_nofollow(src))


def _in_tree(ctx: ActionContext, name: str) -> Path:
    path = ctx.find_in_tree(name)
    if path is None:
        raise Drift(
            f"file '{name}' is not in the tree",
            file=name,
            nearest=nearest_name(name, ctx.tree_files()),
        )
    return path


def run_add_patch(action: AddPatch, ctx: ActionContext, index: int) -> Step:
    if action.patch is None:
        assert action.name is not None
        dest = _in_tree(ctx, action.name)
        step = Step(changed=1)
    else:
        src = ctx.config_file(action.patch, what="patch")
        check_paths(src, pathsafe.read_nofollow(src).decode(errors="replace"), action.strip)
        dest = _copy_in(ctx, src, action.name or src.name)
        step = Step(changed=1, files=[ctx.rel(dest)])
    check_paths(dest, pathsafe.read_nofollow(dest).decode(errors="replace"), action.strip)
    if action.spec:
        spec = ctx.spec
        lines, nl = read_lines(spec)
        number = next_number(lines, "patch") if action.number == "auto" else action.number
        lines = insert_tag(lines, "patch", number, dest.name)
        lines, how = wire_patch(lines, number, dest.name, action.strip, action.backup, action.wire)
        write_lines(spec, lines, nl)
        step.files.append(ctx.rel(spec))
        step.note = f"Patch{number}: {dest.name}, {how}"
    ctx.added_patches.append(AddedPatch(index, dest, action.strip))
    return step


def _lookaside_dir(ctx: ActionContext) -> Path:
    """The tree's ``.elforge-lookaside/`` (which the import stage's cache picks up)."""
    store = pathsafe.inside(ctx.tree, ".elforge-lookaside")
    store.mkdir(exist_ok=True)
    return store


def _move_to_lookaside(ctx: ActionContext, path: Path, store: Path) -> None:
    """Record ``path``'s digest in the lookaside metadata and move its content out of git."""
    lookaside.record(ctx.tree, ctx.rel(path), path)
    os.replace(path, pathsafe.inside(store, path.name, subject=ctx.tree))


def run_add_source(action: AddSource, ctx: ActionContext) -> Step:
    if action.lookaside is not None:
        # srpmproc: SOURCES/<name or digest>, kept out of git (lookaside) like the tarballs
        dest = _copy_in(ctx, ctx.blob(action.lookaside), action.name or action.lookaside)
        step = Step(changed=1, files=[ctx.rel(dest)])
        meta = lookaside.metadata_file(ctx.tree)
        if meta is not None:
            _move_to_lookaside(ctx, dest, _lookaside_dir(ctx))
            step.files.append(ctx.rel(meta))
    elif action.source is None:
        assert action.name is not None
        dest = _in_tree(ctx, action.name)
        step = Step(changed=1)
    else:
        src = ctx.config_file(action.source, what="source")
        dest = _copy_in(ctx, src, action.name or src.name)
        step = Step(changed=1, files=[ctx.rel(dest)])
    if action.spec:
        spec = ctx.spec
        lines, nl = read_lines(spec)
        number = next_number(lines, "source") if action.number == "auto" else action.number
        lines = insert_tag(lines, "source", number, dest.name)
        write_lines(spec, lines, nl)
        step.files.append(ctx.rel(spec))
        step.note = f"Source{number}: {dest.name}"
    return step


def run_remove_source(action: RemoveSource, ctx: ActionContext) -> Step:
    step = Step()
    name = action.file.rsplit("/", 1)[-1]
    if action.delete_file:
        path = ctx.find_in_tree(action.file)
        in_meta = lookaside.find(ctx.tree, name) is not None
        if path is None and not in_meta:
            raise Drift(
                f"file '{action.file}' not found in the tree or its lookaside metadata",
                file=action.file,
                nearest=nearest_name(action.file, ctx.tree_files()),
            )
        if path is not None:
            path.unlink()
            step.files.append(ctx.rel(path))
        if lookaside.remove(ctx.tree, name):
            meta = lookaside.metadata_file(ctx.tree)
            assert meta is not None
            step.files.append(ctx.rel(meta))
        step.changed += 1
    if action.spec:
        spec = ctx.spec
        lines, nl = read_lines(spec)
        kind = "patch" if action.action == "remove_patch" else "source"
        new, number = remove_tag(lines, kind, name)
        if number is None:
            other = "source" if kind == "patch" else "patch"
            new, number = remove_tag(lines, other, name)
            kind = other
        if number is None:
            raise Drift(f"no Source/Patch tag names '{name}' in the spec", file=ctx.rel(spec))
        if kind == "patch" and action.unwire:
            new = unwire_patch(new, number, name)
        write_lines(spec, new, nl)
        step.files.append(ctx.rel(spec))
        step.changed = max(step.changed, 1)
        step.note = f"dropped {kind.capitalize()}{number}"
    return step


def run_replace_source(action: ReplaceSource, ctx: ActionContext) -> Step:
    path = ctx.find_in_tree(action.file)
    if path is None:
        raise Drift(
            f"file '{action.file}' to replace not found",
            file=action.file,
            nearest=nearest_name(action.file, ctx.tree_files()),
        )
    if action.with_file is not None:
        ctx.write(path, ctx.config_bytes(action.with_file, what="replacement"))
    elif action.with_lookaside is not None:
        ctx.write(path, ctx.blob(action.with_lookaside).read_bytes())
    else:
        ctx.write(path, (action.with_inline or "").encode())
    step = Step(changed=1, files=[ctx.rel(path)])
    if lookaside.find(ctx.tree, path.name) is not None:
        lookaside.record(ctx.tree, ctx.rel(path), path)
        meta = lookaside.metadata_file(ctx.tree)
        assert meta is not None
        step.files.append(ctx.rel(meta))
    return step


def _deterministic_tar(paths: list[Path], root: Path) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for p in sorted(paths):
            info = tar.gettarinfo(str(p), arcname=p.relative_to(root).as_posix())
            info.mtime, info.uid, info.gid, info.uname, info.gname = 0, 0, 0, "", ""
            with p.open("rb") as fh:
                tar.addfile(info, fh)
    raw = io.BytesIO()
    with gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as gz:
        gz.write(buf.getvalue())
    return raw.getvalue()


def _lookaside_inputs(action: LookasideStore, ctx: ActionContext) -> list[Path]:
    """The files to store: in the tree, or (``from_patch_tree``) in the config's folder."""
    paths = []
    for name in action.files:
        if action.from_patch_tree:
            paths.append(ctx.config_file(name, what="lookaside file"))
            continue
        p = ctx.find_in_tree(name)
        if p is None:
            raise Drift(
                f"file '{name}' not found",
                file=name,
                nearest=nearest_name(name, ctx.tree_files()),
            )
        paths.append(p)
    return paths


def run_lookaside(action: LookasideStore, ctx: ActionContext) -> Step:
    """Move files out of git into the lookaside: record their digest, keep the content in
    ``.elforge-lookaside/`` (which the import stage's cache picks up)."""
    meta = lookaside.metadata_file(ctx.tree)
    if meta is None:
        raise ConfigError("the tree has no lookaside metadata file (sources or .NAME.metadata)")
    paths = _lookaside_inputs(action, ctx)
    store = _lookaside_dir(ctx)
    step = Step()
    if action.tar:
        if not action.archive_name:
            raise ConfigError("lookaside with tar needs archive_name")
        base = ctx.base_dir if action.from_patch_tree else ctx.sources
        archive = ctx.write(ctx.sources / action.archive_name, _deterministic_tar(paths, base))
        for p in paths if not (action.keep_files or action.from_patch_tree) else []:
            p.unlink()
            step.files.append(ctx.rel(p))
        paths = [archive]
    elif action.from_patch_tree:  # srpmproc copies them into SOURCES/ first
        copies = []
        for p in paths:
            copies.append(ctx.write(ctx.sources / p.name, pathsafe.read_nofollow(p)))
        paths = copies
    for p in paths:
        _move_to_lookaside(ctx, p, store)
        step.files.append(ctx.rel(p))
        step.changed += 1
    step.files.append(ctx.rel(meta))
    return step


def run_add_tag(action: AddTag, ctx: ActionContext) -> Step:
    """``Tag: value`` after the last line of the same tag in the main preamble, else at its end."""
    if action.tag.lower().startswith(("source", "patch")):
        raise ConfigError("add_tag cannot add Source/Patch tags: use add_source or add_patch")
    spec = ctx.spec
    lines, nl = read_lines(spec)
    pre = sections(lines)[0]
    label = action.tag + ":"
    pos = None
    for i in range(pre.start, pre.end):
        if lines[i].lower().startswith(action.tag.lower() + ":") or re.match(
            re.escape(action.tag) + r"\s*:", lines[i], re.I
        ):
            pos = i + 1
            ref = lines[i]
            col = len(ref) - len(ref[ref.index(":") + 1 :].lstrip())
            label = label.ljust(max(col, len(label) + 1))
    if pos is None:
        end = pre.end
        while end > pre.start and not lines[end - 1].strip():
            end -= 1
        pos = end
        label += " "
    lines[pos:pos] = [label + action.value]
    write_lines(spec, lines, nl)
    return Step(changed=1, files=[ctx.rel(spec)])
