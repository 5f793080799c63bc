"""Rocky Linux / OpenELA srpmproc directive files translated into elforge actions.

A patch repository holds ``ROCKY/CFG/*.cfg`` (older) or ``PATCHES/*.cfg`` files in protobuf
text format (message ``srpmproc.Cfg``). srpmproc applies the ``main`` branch's files, then the
release branch's; within each file the directives run in a fixed order: replace, delete,
add, patch, lookaside, spec_change. Paths in directives are relative to the patch
repository root. See docs/patching.md for each mapping and where we are stricter.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from elforge.errors import ConfigError
from elforge.patching.config import PatchConfig, build_config
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
        if "with_lookaside" in r:
            raise ConfigError(
                f"{where}: with_lookaside needs srpmproc's blob storage; not supported",
                subject=path,
            )
        d: dict[str, Any] = {"action": "replace_source", "file": file, "reason": _reason(where)}
        if "with_file" in r:
            d["with_file"] = r["with_file"]
        elif "with_inline" in r:
            d["with_inline"] = r["with_inline"]
        else:
            raise ConfigError(f"{where}: give with_file or with_inline", subject=path)
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
        if "lookaside" in r:
            raise ConfigError(
                f"{where}: add from lookaside needs srpmproc's blob storage; not supported",
                subject=path,
            )
        file = _need(r, "file", where, path)
        act(
            {
                "action": "add_source",
                "source": file,
                "name": r.get("name") or file.rsplit("/", 1)[-1],
                "spec": False,
                "reason": _reason(where),
            },
            r,
        )
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
        if r.get("from_patch_tree"):
            raise ConfigError(f"{where}: from_patch_tree is not supported", subject=path)
        d = {
            "action": "lookaside",
            "files": [_with_prefix(f) for f in _need(r, "file", where, path)],
            "tar": r.get("tar", False),
            "expect": ">=1",
            "reason": _reason(where),
        }
        if r.get("archive_name"):
            d["archive_name"] = r["archive_name"]
        act(d, r)
    sc = cfg.get("spec_change")
    if sc:
        out.extend(_translate_spec_change(sc, path, f"{label} spec_change"))
    return out


def _translate_spec_change(sc: dict[str, Any], path: Path, label: str) -> list[dict[str, Any]]:
    """srpmproc does spec_change in one pass over the original spec; we run search and replace
    first (it sees only upstream lines there too), then file tags, appends, new fields and the
    changelog last (its EVR includes the appended release)."""
    out: list[dict[str, Any]] = []

    def act(d: dict[str, Any], msg: dict[str, Any]) -> None:
        d["origin"] = FORMAT
        if "__expect__" in msg:
            d["expect"] = msg["__expect__"]
        out.append(d)

    for i, s in enumerate(sc.get("search_and_replace", [])):
        where = f"{label} search_and_replace {i}"
        d: dict[str, Any] = {
            "action": "replace",
            "files": ["spec"],
            "find": _need(s, "find", where, path),
            "replace": s.get("replace", ""),
            "per_line": s.get("n", 0),
            "include_comments": True,
            "include_changelog": True,
            "expect": ">=1",  # stricter than srpmproc: matching nothing is drift
            "reason": _reason(where),
        }
        if "field" in s:
            d.update(match="field", field=s["field"])
        elif s.get("starts_with"):
            d["match"] = "starts_with"
        elif s.get("ends_with"):
            d["match"] = "ends_with"
        elif s.get("any"):
            d["match"] = "line"
        else:
            raise ConfigError(
                f"{where}: set one of field, any, starts_with, ends_with", subject=path
            )
        act(d, s)
    for i, f in enumerate(sc.get("file", [])):
        where = f"{label} file {i}"
        name = _need(f, "name", where, path)
        ftype = f.get("type", "Unknown")
        if ftype not in ("Source", "Patch"):
            raise ConfigError(f"{where}: type must be Source or Patch", subject=path)
        if f.get("add"):
            if ftype == "Patch":
                d = {
                    "action": "add_patch",
                    "name": name,
                    "strip": f.get("n_path", 0),
                    "wire": "prep-bottom" if f.get("add_to_prep") else "none",
                    "reason": _reason(where),
                }
            else:
                d = {"action": "add_source", "name": name, "reason": _reason(where)}
        elif f.get("delete"):
            d = {
                "action": "remove_patch" if ftype == "Patch" else "remove_source",
                "file": name,
                "spec": True,
                "unwire": False,
                "delete_file": False,
                "reason": _reason(where),
            }
        else:
            raise ConfigError(f"{where}: set add or delete", subject=path)
        act(d, f)
    for i, a in enumerate(sc.get("append", [])):
        where = f"{label} append {i}"
        field = _need(a, "field", where, path)
        value = a.get("value", "")
        if field.startswith("%"):
            d = {
                "action": "add_line",
                "section": field.lstrip("%"),
                "location": "bottom",
                "content": value,
                "reason": _reason(where),
            }
        elif field == "Release":
            d = {
                "action": "release_suffix",
                "suffix": value,
                "number": "none",
                "reason": _reason(where),
            }
        else:
            d = {
                "action": "replace",
                "files": ["spec"],
                "match": "field",
                "field": field,
                "regex": True,
                "find": r"\Z",
                "replace": value.replace("\\", "\\\\"),
                "per_line": 1,
                "expect": ">=1",
                "reason": _reason(where),
            }
        act(d, a)
    for i, n in enumerate(sc.get("new_field", [])):
        where = f"{label} new_field {i}"
        act(
            {
                "action": "add_tag",
                "tag": _need(n, "key", where, path),
                "value": n.get("value", ""),
                "reason": _reason(where),
            },
            n,
        )
    for i, c in enumerate(sc.get("changelog", [])):
        where = f"{label} changelog {i}"
        act(
            {
                "action": "changelog",
                "author": f"{_need(c, 'author_name', where, path)} <{c.get('author_email', '')}>",
                "text": list(c.get("message", [])),
                "reason": _reason(where),
            },
            c,
        )
    return out


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
    for label, file, text in sources:
        cfg = parse_text(text, file, SCHEMA, "Cfg")
        try:
            actions.extend(translate_cfg(cfg, file, label))
        except ConfigError:
            raise
    return build_config({"actions": actions}, path=path, base_dir=root, fmt=FORMAT)
