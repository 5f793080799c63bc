"""Import an auditwheel policy (manylinux/musllinux ``policy.json``) as a version profile.

A policy names the libraries a wheel may take from the system (``lib_whitelist``), the
version tags of each prefix the system offers per architecture (``symbol_versions``, e.g.
``GLIBC`` → ``2.2.5 … 2.17``) and symbols that must not be used although their library is
allowed (``blacklist``). Checks against the resulting profile work at version-tag level.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from elforge.compat.platform import split_version_node, version_key
from elforge.compat.profile import KIND_VERSIONS, TRACKED_PREFIXES, Profile, VersionPolicy
from elforge.errors import FormatError
from elforge.jsonfile import read_json


def read_policies(path: Path) -> list[dict[str, Any]]:
    doc = read_json(path)
    if not isinstance(doc, list) or not all(isinstance(p, dict) and "name" in p for p in doc):
        raise FormatError("not an auditwheel policy file (a list of named policies)", subject=path)
    return doc


def policy_names(path: Path) -> list[str]:
    """The policy names of a file, oldest (highest priority) first, ``linux`` excluded."""
    pols = [p for p in read_policies(path) if p.get("symbol_versions")]
    return [p["name"] for p in sorted(pols, key=lambda p: -int(p.get("priority", 0)))]


def import_policy(path: Path, name: str) -> Profile:
    """The profile of policy ``name`` (or one of its aliases, e.g. ``manylinux2014``)."""
    for pol in read_policies(path):
        if name == pol["name"] or name in pol.get("aliases", ()):
            break
    else:
        raise FormatError(f"no policy named {name!r}", subject=path)
    try:
        symbol_versions = {
            str(arch): {
                str(prefix): frozenset(f"{prefix}_{v}" for v in versions)
                for prefix, versions in prefixes.items()
            }
            for arch, prefixes in pol["symbol_versions"].items()
        }
        policy = VersionPolicy(
            libraries=frozenset(str(x) for x in pol["lib_whitelist"]),
            symbol_versions=symbol_versions,
            blacklist={str(k): frozenset(v) for k, v in pol.get("blacklist", {}).items()},
        )
    except (KeyError, TypeError, AttributeError) as exc:
        raise FormatError(f"policy {name!r} is malformed: {exc}", subject=path) from exc
    return Profile(
        name=str(pol["name"]),
        kind=KIND_VERSIONS,
        source=f"{path}#{pol['name']}",
        arches=tuple(sorted(symbol_versions)),
        highest=_highest(symbol_versions),
        policy=policy,
        priority=int(pol.get("priority", 0)),
    )


def _highest(symbol_versions: dict[str, dict[str, frozenset[str]]]) -> dict[str, str]:
    """The highest GLIBC, GLIBCXX and CXXABI tag the policy allows on any architecture."""
    best: dict[str, str] = {}
    for prefixes in symbol_versions.values():
        for prefix in TRACKED_PREFIXES:
            for node in prefixes.get(prefix, ()):
                number = split_version_node(node)[1]
                if prefix not in best or version_key(number) > version_key(best[prefix]):
                    best[prefix] = number
    return best
