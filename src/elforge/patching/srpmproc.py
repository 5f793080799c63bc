"""Rocky Linux / OpenELA srpmproc directive files translated into elforge actions.

A patch repository holds ``ROCKY/CFG/*.cfg`` (older) or ``PATCHES/*.cfg`` files in protobuf
text format (message ``srpmproc.Cfg``, every field of its published ``cfg.proto``). srpmproc
applies the ``main`` branch's files, then the release branch's; within each file the
directives run in a fixed order: replace, delete, add, patch, lookaside, spec_change. Paths in
directives are relative to the patch repository root. A field we do not know is skipped and
reported (a finding to verify naming file, line and field); the rest applies. See
docs/patching.md for each mapping and where we are stricter.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from elforge.errors import ConfigError
from elforge.patching.config import ConfigNotice, PatchConfig, build_config
from elforge.patching.prototext import FieldSpec, Schema, parse_text
from elforge.proc import run_command

FORMAT = "srpmproc"
CFG_DIRS = ("PATCHES", "ROCKY/CFG")

S = FieldSpec
SCHEMA: Schema = {
    "Cfg": {
        "replace": S("message", True, "Replace"),
        "delete": S("message", True, "Delete"),
        "add": S("message", True, "Add"),
        "lookaside": S("message", True, "Lookaside"),
        "spec_change": S("message", False, "SpecChange"),
        "patch": S("message", True, "Patch"),
    },
    "Replace": {
        "file": S("string"),
        "with_file": S("string", oneof="replacing"),
        "with_inline": S("string", oneof="replacing"),
        "with_lookaside": S("string", oneof="replacing"),
    },
    "Delete": {"file": S("string")},
    "Add": {
        "file": S("string", oneof="source"),
        "lookaside": S("string", oneof="source"),
        "name": S("string"),
    },
    "Lookaside": {
        "file": S("string", True),
        "tar": S("bool"),
        "archive_name": S("string"),
        "from_patch_tree": S("bool"),
    },
    "SpecChange": {
        "file": S("message", True, "FileOperation"),
        "changelog": S("message", True, "ChangelogOperation"),
        "search_and_replace": S("message", True, "SearchAndReplaceOperation"),
        "append": S("message", True, "AppendOperation"),
        "new_field": S("message", True, "NewFieldOperation"),
        "disable_auto_align": S("bool"),
    },
    "FileOperation": {
        "name": S("string"),
        "type": S("enum", enum=("Unknown", "Source", "Patch")),
        "add": S("bool", oneof="mode"),
        "delete": S("bool", oneof="mode"),
        "add_to_prep": S("bool"),
        "n_path": S("int"),
    },
    "ChangelogOperation": {
        "author_name": S("string"),
        "author_email": S("string"),
        "message": S("string", True),
    },
    "SearchAndReplaceOperation": {
        "field": S("string", oneof="identifier"),
        "any": S("bool", oneof="identifier"),
        "starts_with": S("bool", oneof="identifier"),
        "ends_with": S("bool", oneof="identifier"),
        "find": S("string"),
        "replace": S("string"),
        "n": S("int"),
    },
    "AppendOperation": {"field": S("string"), "value": S("string")},
    "NewFieldOperation": {"key": S("string"), "value": S("string")},
    "Patch": {"file": S("string"), "strict": S("bool")},
}


def _reason(text: str) -> dict[str, str]:
    return {"category": "other", "text": text}


def _with_prefix(file: str) -> str:
    """srpmproc's checkAddPrefix: a bare name means SOURCES/<name>."""
    return file if file.startswith(("SOURCES/", "SPECS/")) else f"SOURCES/{file}"


def _need(msg: dict[str, Any], key: str, where: str, path: Path) -> Any:
    if key not in msg or msg[key] in ("", None):
        raise ConfigError(f"{where}: missing '{key}'", subject=path)
    return msg[key]


def translate_cfg(cfg: dict[str, Any], path: Path, label: str) -> list[dict[str, Any]]:
    """One directive file → native actions, in srpmproc's fixed order."""
    out: list[dict[str, Any]] = []

    def act(d: dict[str, Any], msg: dict[str, Any] | None = None) -> None:
        d["origin"] = FORMAT
        if msg is not None and "__expect__" in msg:
            d["expect"] = msg["__expect__"]
        out.append(d)

    for i, r in enumerate(cfg.get("replace", [])):
        where = f"{label} replace {i}"
        file = _with_prefix(_need(r, "file", where, path))
        d: dict[str, Any] = {"action": "replace_source", "file": file, "reason": _reason(where)}
        given = [k for k in ("with_file", "with_inline", "with_lookaside") if k in r]
        if not given:
            raise ConfigError(
                f"{where}: give with_file, with_inline or with_lookaside", subject=path
            )
        d[given[0]] = r[given[0]]
        act(d, r)
    for i, r in enumerate(cfg.get("delete", [])):
        where = f"{label} delete {i}"
        act(
            {
                "action": "remove_source",
                "file": _need(r, "file", where, path),
                "spec": False,
                "reason": _reason(where),
            },
            r,
        )
    for i, r in enumerate(cfg.get("add", [])):
        where = f"{label} add {i}"
        if "lookaside" in r:  # a blob of the lookaside store, by its digest
            source = {"lookaside": r["lookaside"], "name": r.get("name") or r["lookaside"]}
        else:
            file = _need(r, "file", where, path)
            source = {"source": file, "name": r.get("name") or file.rsplit("/", 1)[-1]}
        act({"action": "add_source", **source, "spec": False, "reason": _reason(where)}, r)
    for i, r in enumerate(cfg.get("patch", [])):
        where = f"{label} patch {i}"
        act(
            {
                "action": "apply_diff",
                "diff": _need(r, "file", where, path),
                "strip": 1,
                "sources_prefix": not r.get("strict", False),
                "expect": ">=1",
                "reason": _reason(where),
            },
            r,
        )
    for i, r in enumerate(cfg.get("lookaside", [])):
        where = f"{label} lookaside {i}"
        tar = r.get("tar", False)
        patch_tree = r.get("from_patch_tree", False)
        files = _need(r, "file", where, path)
        d = {
            "action": "lookaside",
            # srpmproc reads them under SOURCES/ of the tree, or as given in the patch tree
            "files": list(files) if patch_tree else [_with_prefix(f) for f in files],
            "tar": tar,
            "from_patch_tree": patch_tree,
            "keep_files": tar,  # srpmproc leaves the packed files in git
            "expect": ">=1",
            "reason": _reason(where),
        }
        if tar:
            # srpmproc writes SOURCES/<archive_name>.tar.gz
            d["archive_name"] = f"{_need(r, 'archive_name', where, path)}.tar.gz"
        act(d, r)
    sc = cfg.get("spec_change")
    if sc is not None:  # even an empty block: srpmproc then still re-aligns the fields
        act(_translate_spec_change(sc, path, f"{label} spec_change"))
    return out


def _op_expect(msg: dict[str, Any], default: str) -> dict[str, str]:
    return {"expect": msg.get("__expect__", default)}


def _translate_spec_change(sc: dict[str, Any], path: Path, label: str) -> dict[str, Any]:
    """spec_change is one action, done as srpmproc does it (srpmproc_spec.py): one pass over
    the spec that also re-aligns every field line. Each operation must change something
    (srpmproc accepts one that does not) unless its ``# elforge-expect`` says otherwise."""
    files = []
    for i, f in enumerate(sc.get("file", [])):
        where = f"{label} file {i}"
        ftype = f.get("type", "Unknown")
        if ftype not in ("Source", "Patch"):
            raise ConfigError(f"{where}: type must be Source or Patch", subject=path)
        if not (f.get("add") or f.get("delete")):
            raise ConfigError(f"{where}: set add or delete", subject=path)
        files.append({"name": _need(f, "name", where, path), "type": ftype,
                      "mode": "add" if f.get("add") else "delete",
                      "add_to_prep": f.get("add_to_prep", False), "n_path": f.get("n_path", 0),
                      **_op_expect(f, "1")})  # fmt: skip
    sar = []
    for i, s in enumerate(sc.get("search_and_replace", [])):
        where = f"{label} search_and_replace {i}"
        kind = next((k for k in ("field", "any", "starts_with", "ends_with") if s.get(k)), None)
        if kind is None:
            raise ConfigError(f"{where}: set one of field, any, starts_with, ends_with",
                              subject=path)  # fmt: skip
        sar.append({"identifier": kind, "field": s.get("field", ""), "find": s.get("find", ""),
                    "replace": s.get("replace", ""), "n": s.get("n", 0),
                    **_op_expect(s, ">=1")})  # fmt: skip
    appends = [
        {"field": _need(a, "field", f"{label} append {i}", path), "value": a.get("value", ""),
         **_op_expect(a, ">=1")}
        for i, a in enumerate(sc.get("append", []))
    ]  # fmt: skip
    new_fields = [
        {"key": _need(n, "key", f"{label} new_field {i}", path), "value": n.get("value", ""),
         **_op_expect(n, "1")}
        for i, n in enumerate(sc.get("new_field", []))
    ]  # fmt: skip
    changelog = [
        {"author_name": c.get("author_name", ""), "author_email": c.get("author_email", ""),
         "message": list(c.get("message", []))}
        for c in sc.get("changelog", [])
    ]  # fmt: skip
    return {
        "action": "srpmproc_spec_change",
        "file": files,
        "changelog": changelog,
        "search_and_replace": sar,
        "append": appends,
        "new_field": new_fields,
        "disable_auto_align": sc.get("disable_auto_align", False),
        "expect": sc.get("__expect__", "0..1"),  # the pass may find the spec as it wants it
        "reason": _reason(label),
    }


def cfg_files(root: Path) -> list[Path]:
    for sub in CFG_DIRS:
        found = sorted((root / sub).glob("*.cfg"))
        if found:
            return found
    return []


def is_patch_repo(root: Path) -> bool:
    return root.is_dir() and bool(cfg_files(root))


def _git(root: Path, *args: str) -> str | None:
    res = run_command(["git", "-C", str(root), *args], capture_output=True, text=True, check=False)
    return res.stdout if res.returncode == 0 else None


def _git_sources(root: Path, release: str | None) -> list[tuple[str, Path, str]] | None:
    """(label, path, text) of every cfg on the main branch, then the release branch."""
    top = _git(root, "rev-parse", "--show-toplevel")
    if top is None or Path(top.strip()).resolve() != root.resolve():
        return None  # not a patch repository of its own (maybe a folder inside another repo)
    branches = ["main"] + ([release] if release else [])
    out: list[tuple[str, Path, str]] = []
    seen_branch = False
    for branch in branches:
        if _git(root, "rev-parse", "--verify", "-q", f"refs/heads/{branch}") is None:
            continue
        seen_branch = True
        for sub in CFG_DIRS:
            listing = _git(root, "ls-tree", "--name-only", f"{branch}:{sub}")
            if not listing:
                continue
            for name in sorted(n for n in listing.splitlines() if n.endswith(".cfg")):
                text = _git(root, "show", f"{branch}:{sub}/{name}")
                if text is not None:
                    out.append((f"{branch}:{sub}/{name}", root / sub / name, text))
            break
    return out if seen_branch else None


def load_srpmproc(path: Path, *, release: str | None = None) -> PatchConfig:
    """Read a patch repository (folder or git repository with main/release branches) or a
    single .cfg file; with_file, add and patch paths are relative to the repository root."""
    actions: list[dict[str, Any]] = []
    if path.is_file():
        root = path.parent.parent if path.parent.name in ("PATCHES", "CFG") else path.parent
        if path.parent.name == "CFG" and path.parent.parent.name == "ROCKY":
            root = path.parent.parent.parent
        sources = [(path.name, path, path.read_text(encoding="utf-8"))]
    else:
        root = path
        from_git = _git_sources(root, release)
        if from_git is not None:
            sources = from_git
        else:
            files = cfg_files(root)
            if not files:
                raise ConfigError("no PATCHES/*.cfg or ROCKY/CFG/*.cfg here", subject=path)
            sources = [(f.relative_to(root).as_posix(), f, f.read_text(encoding="utf-8"))
                       for f in files]  # fmt: skip
    notices = []
    for label, file, text in sources:
        unknown: list[tuple[int, str]] = []
        cfg = parse_text(text, file, SCHEMA, "Cfg", unknown)
        notices += [ConfigNotice(file=label, line=line, problem=problem)
                    for line, problem in unknown]  # fmt: skip
        actions.extend(translate_cfg(cfg, file, label))
    config = build_config({"actions": actions}, path=path, base_dir=root, fmt=FORMAT)
    config.notices = notices
    return config
