"""AlmaLinux autopatch ``config.yaml`` translated into elforge actions.

The format: optional ``parameters``, then ``actions``: an ordered list of single-key
mappings (``replace``, ``delete_line``, ``modify_release``, ``changelog_entry``,
``add_files``, ``delete_files``, ``run_script``, ``add_line``), each holding a list of
entries. Files for ``add_files`` live under ``files/``, scripts under ``scripts/``, next to
the config. See docs/patching.md for each mapping and where we are stricter.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from elforge.errors import ConfigError
from elforge.patching.config import PatchConfig, build_config, load_yaml

FORMAT = "autopatch"

_PARAMETERS: dict[str, type | tuple[type, ...]] = {
    "insert_almalinux_line": bool,
    "custom_target_branch": str,
    "pre_clean": bool,
    "ignore_version_macros": bool,
    "ignore_release_macros": bool,
    "tag_prefix": str,
    "el_version": (str, int),
}

# entry keys and types, required keys, per autopatch action
_ENTRIES: dict[str, tuple[dict[str, type | tuple[type, ...]], set[str]]] = {
    "replace": (
        {"target": str, "find": str, "rfind": str, "replace": str, "count": int},
        {"target", "replace"},
    ),
    "delete_line": ({"target": str, "lines": list}, {"target", "lines"}),
    "modify_release": (
        {"suffix": str, "enabled": bool, "auto_increment": bool},
        {"suffix"},
    ),
    "changelog_entry": ({"name": str, "email": str, "line": list}, {"name", "email", "line"}),
    "add_files": (
        {
            "type": str,
            "name": str,
            "number": (int, str),
            "modify_spec": bool,
            "insert_almalinux_line": bool,
            "no_backup": bool,
        },
        {"type", "name"},
    ),
    "delete_files": ({"file_name": str}, {"file_name"}),
    "run_script": ({"script": str, "cwd": str}, {"script"}),
    "add_line": (
        {"target": str, "section": str, "location": str, "content": str, "subpackage": str},
        {"target", "section", "location", "content"},
    ),
}


def _reason(text: str) -> dict[str, str]:
    return {"category": "other", "text": text}


def looks_like_autopatch(data: Any) -> bool:
    """autopatch's actions are single-key mappings; ours carry an 'action' key."""
    if not isinstance(data, dict) or not isinstance(data.get("actions"), list):
        return False
    items = data["actions"]
    return bool(items) and all(
        isinstance(a, dict) and len(a) == 1 and "action" not in a for a in items
    )


def _check_entry(path: Path, where: str, kind: str, entry: Any) -> dict[str, Any]:
    allowed, required = _ENTRIES[kind]
    if not isinstance(entry, dict):
        raise ConfigError(f"{where}: expected a mapping", subject=path)
    for key, value in entry.items():
        if key not in allowed:
            raise ConfigError(f"{where}: unknown key '{key}' for {kind}", subject=path)
        want = allowed[key]
        if (
            isinstance(value, bool)
            and want is not bool
            and bool not in (want if isinstance(want, tuple) else (want,))
        ):
            raise ConfigError(f"{where}: key '{key}': wrong type bool", subject=path)
        if not isinstance(value, want):
            names = want.__name__ if isinstance(want, type) else "/".join(t.__name__ for t in want)
            raise ConfigError(
                f"{where}: key '{key}': expected {names}, got {type(value).__name__}",
                subject=path,
            )
    for key in sorted(required - set(entry)):
        raise ConfigError(f"{where}: missing key '{key}'", subject=path)
    return entry


def _target(value: str) -> list[str]:
    return ["spec"] if value == "spec" else [value]


def translate(data: Any, path: Path) -> dict[str, Any]:
    """autopatch document → the native document (a dict that build_config validates)."""
    if not isinstance(data, dict):
        raise ConfigError("expected a mapping with 'actions'", subject=path)
    unknown = set(data) - {"parameters", "actions"}
    if unknown:
        raise ConfigError(f"unknown top-level key '{sorted(unknown)[0]}'", subject=path)
    params = data.get("parameters") or {}
    if not isinstance(params, dict):
        raise ConfigError("key 'parameters': expected a mapping", subject=path)
    for key, value in params.items():
        if key not in _PARAMETERS:
            raise ConfigError(f"parameters: unknown key '{key}'", subject=path)
        if not isinstance(value, _PARAMETERS[key]):
            raise ConfigError(f"parameters: key '{key}': wrong type", subject=path)
    for key in ("ignore_version_macros", "ignore_release_macros"):
        if params.get(key):
            raise ConfigError(
                f"parameters: '{key}' is not supported: elforge always evaluates the EVR",
                subject=path,
            )
    blocks = data.get("actions")
    if not isinstance(blocks, list):
        raise ConfigError("key 'actions': expected a list", subject=path)
    out: list[dict[str, Any]] = []
    scripts = False
    for bi, block in enumerate(blocks):
        if not isinstance(block, dict) or len(block) != 1:
            raise ConfigError(f"action {bi}: expected a single-key mapping", subject=path)
        ((kind, entries),) = block.items()
        if kind not in _ENTRIES:
            raise ConfigError(
                f"action {bi}: unknown action '{kind}' (known: {', '.join(_ENTRIES)})",
                subject=path,
            )
        if not isinstance(entries, list):
            raise ConfigError(f"action {bi} ({kind}): expected a list of entries", subject=path)
        for ei, raw in enumerate(entries):
            where = f"action {bi} ({kind}) entry {ei}"
            e = _check_entry(path, where, kind, raw)
            translated = _translate_entry(kind, e, where, path, params)
            scripts = scripts or kind == "run_script"
            for t in translated:
                t["origin"] = FORMAT
            out.extend(translated)
    # an autopatch config that lists run_script asks for it: that is the config's consent
    return {"actions": out, "allow_scripts": scripts}


def _translate_entry(
    kind: str, e: dict[str, Any], where: str, path: Path, params: dict[str, Any]
) -> list[dict[str, Any]]:
    if kind == "replace":
        if ("find" in e) == ("rfind" in e):
            raise ConfigError(f"{where}: give exactly one of 'find' and 'rfind'", subject=path)
        count = e.get("count", -1)
        return [
            {
                "action": "replace",
                "files": _target(e["target"]),
                "find": e.get("find", e.get("rfind")),
                "replace": e["replace"],
                "regex": "rfind" in e,
                "count": count,
                "expect": ">=1",
                "reason": _reason("autopatch replace"),
            }
        ]
    if kind == "delete_line":
        return [
            {
                "action": "delete_line",
                "files": _target(e["target"]),
                "lines": [str(item)],
                "expect": ">=1",
                "reason": _reason("autopatch delete_line"),
            }
            for item in e["lines"]
        ]
    if kind == "modify_release":
        if not e.get("enabled", True):
            return []
        suffix = e["suffix"]
        if e.get("auto_increment"):
            m = re.match(r"^(.*?)\.?(\d+)$", suffix)
            if not m:
                raise ConfigError(
                    f"{where}: auto_increment needs a suffix ending with a number", subject=path
                )
            return [
                {
                    "action": "release_suffix",
                    "suffix": m[1],
                    "number": "auto",
                    "start": int(m[2]),
                    "reason": _reason("autopatch modify_release"),
                }
            ]
        return [
            {
                "action": "release_suffix",
                "suffix": suffix,
                "number": "none",
                "reason": _reason("autopatch modify_release"),
            }
        ]
    if kind == "changelog_entry":
        return [
            {
                "action": "changelog",
                "author": f"{e['name']} <{e['email']}>",
                "text": [str(x) for x in e["line"]],
                "reason": _reason("autopatch changelog_entry"),
            }
        ]
    if kind == "add_files":
        ftype = e["type"]
        if ftype not in ("patch", "source"):
            raise ConfigError(f"{where}: key 'type' must be patch or source", subject=path)
        number = e.get("number", "Latest")
        if isinstance(number, str):
            if number != "Latest":
                raise ConfigError(
                    f"{where}: key 'number' must be an integer or 'Latest'", subject=path
                )
            number = "auto"
        name = e["name"]
        common = {
            "name": name.rsplit("/", 1)[-1],
            "number": number,
            "spec": e.get("modify_spec", True),
            "reason": _reason(f"autopatch add_files {name}"),
        }
        if ftype == "patch":
            stem = name.rsplit("/", 1)[-1].rsplit(".", 1)[0]
            return [
                {
                    "action": "add_patch",
                    "patch": f"files/{name}",
                    "backup": None if e.get("no_backup") else f".{stem}",
                    **common,
                }
            ]
        return [{"action": "add_source", "source": f"files/{name}", **common}]
    if kind == "delete_files":
        return [
            {
                "action": "remove_source",
                "file": e["file_name"],
                "spec": False,
                "reason": _reason("autopatch delete_files"),
            }
        ]
    if kind == "run_script":
        cwd = e.get("cwd", "rpms")
        if cwd not in ("rpms", "autopatch"):
            raise ConfigError(f"{where}: key 'cwd' must be rpms or autopatch", subject=path)
        return [
            {
                "action": "run_script",
                "script": f"scripts/{e['script']}",
                "cwd": "tree" if cwd == "rpms" else "config",
                "expect": ">=0",
                "reason": _reason("autopatch run_script"),
            }
        ]
    if kind == "add_line":
        if e["target"] != "spec":
            raise ConfigError(f"{where}: key 'target' must be 'spec'", subject=path)
        if e["location"] not in ("top", "bottom"):
            raise ConfigError(f"{where}: key 'location' must be top or bottom", subject=path)
        out: dict[str, Any] = {
            "action": "add_line",
            "section": e["section"],
            "location": e["location"],
            "content": e["content"],
            "reason": _reason("autopatch add_line"),
        }
        if "subpackage" in e:
            out["subpackage"] = e["subpackage"]
        return [out]
    raise AssertionError(kind)


def load_autopatch(path: Path) -> PatchConfig:
    """Read an autopatch config.yaml (``files/`` and ``scripts/`` beside it)."""
    native = translate(load_yaml(path), path)
    return build_config(native, path=path, base_dir=path.parent, fmt=FORMAT)
