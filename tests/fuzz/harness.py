"""The fuzz harness: every parser of input written by others, a fixed seed corpus from
../shared/testdata, and mutations (bytes, and values for JSON/YAML).

A run passes when each input either parses or raises an ``ElforgeError`` whose message is one
line; anything else escaping a parser (``KeyError``, ``UnicodeDecodeError``, ``OSError``…) is
an unhandled exception. Shared by ``test_fuzz.py`` (bounded, in CI) and ``run.py`` (5,000
inputs, counts printed).
"""

from __future__ import annotations

import copy
import gzip
import json
import lzma
import random
import shutil
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import zstandard

from elforge.errors import ElforgeError
from helpers.data import ROOT, TESTDATA

MAX_SEED = 256 << 10  # seeds are kept small so each parse stays fast
PATCH_DATA = ROOT / "tests" / "patching" / "data"


@dataclass(frozen=True)
class Target:
    """One parser: the file name it reads, its seeds, and the call."""

    name: str
    suffix: str
    seeds: Callable[[], list[bytes]]
    parse: Callable[[Path], object]
    structured: bool = False  # JSON: mutate values too


def _files(pattern: str, root: Path = TESTDATA) -> list[bytes]:
    found = sorted(p for p in root.glob(pattern) if p.is_file() and p.stat().st_size <= MAX_SEED)
    return [p.read_bytes() for p in found[:40]]


def _decompressed(pattern: str) -> list[bytes]:
    out = []
    for p in sorted(TESTDATA.glob(pattern)):
        raw = p.read_bytes()
        if p.suffix == ".gz":
            raw = gzip.decompress(raw)
        elif p.suffix == ".xz":
            raw = lzma.decompress(raw)
        elif p.suffix == ".zst":
            raw = zstandard.ZstdDecompressor().decompress(raw, max_output_size=64 << 20)
        out.append(raw[:MAX_SEED])
    return out


def _drain_rpm(path: Path) -> object:
    from elforge.rpm.header import read_header
    from elforge.rpm.payload import Limits, iter_members

    header = read_header(path)
    for _member, reader in iter_members(path, limits=Limits(max_total=64 << 20)):
        if reader is not None:
            reader.drain()
    return header


def _primary(path: Path) -> object:
    from elforge.rpm.repodata import iter_primary

    return list(iter_primary(path))


def _patch_config(path: Path) -> object:
    from elforge.patching.loading import load_config

    return load_config(path, package="bash", config_format="elforge")


def _srpmproc(path: Path) -> object:
    from elforge.patching.loading import load_config

    return load_config(path, package="bash", config_format="srpmproc")


def _autopatch(path: Path) -> object:
    from elforge.patching.loading import load_config

    return load_config(path, package="bash", config_format="autopatch")


def _sources(path: Path) -> object:
    from elforge.sources.metadata import parse_sources_file

    return parse_sources_file(path.read_bytes().decode("utf-8", "replace"), subject=str(path))


def _suppressions(path: Path) -> object:
    from elforge.abi.suppressions import load_suppressions

    return load_suppressions([path], default=False)


def _imported(module: str, name: str) -> Callable[[Path], object]:
    def call(path: Path) -> object:
        import importlib

        return getattr(importlib.import_module(module), name)(path)

    return call


TARGETS = [
    Target("rpm", ".rpm", lambda: _files("rpms/**/*.rpm"), _drain_rpm),
    Target(
        "repomd",
        ".xml",
        lambda: _files("repodata/**/repomd.xml"),
        _imported("elforge.rpm.repodata", "parse_repomd"),
    ),
    Target("primary", ".xml", lambda: _decompressed("repodata/**/*primary.xml.*"), _primary),
    Target(
        "updateinfo",
        ".xml",
        lambda: (
            _files("repodata/updateinfo-samples/*.xml")
            + _decompressed("repodata/rocky8-fixtures/happy/**/updateinfo.xml.gz")
        ),
        _imported("elforge.rpm.updateinfo", "read_updateinfo"),
    ),
    Target(
        "modules",
        ".yaml",
        lambda: _decompressed("repodata/rocky8-fixtures/**/modules.yaml.xz"),
        _imported("elforge.rpm.modules", "read_modules"),
    ),
    Target(
        "osv",
        ".json",
        lambda: (
            _files("security/rocky-osv/*.json") + _files("security/almalinux-osv/**/*.json")[:10]
        ),
        _imported("elforge.security.osv", "read_osv"),
        structured=True,
    ),
    Target(
        "csaf",
        ".json",
        lambda: _files("security/redhat-csaf/**/*.json"),
        _imported("elforge.security.csaf", "read_csaf"),
        structured=True,
    ),
    Target(
        "hydra",
        ".json",
        lambda: _files("security/redhat-hydra/*.json"),
        _imported("elforge.security.hydra", "read_hydra"),
        structured=True,
    ),
    Target("patch-config", ".yaml", lambda: _files("elforge/**/*.yaml", PATCH_DATA), _patch_config),
    Target("srpmproc", ".cfg", lambda: _files("srpmproc/**/*.cfg", PATCH_DATA), _srpmproc),
    Target("autopatch", ".yaml", lambda: _files("autopatch/**/*.yaml", PATCH_DATA), _autopatch),
    Target(
        "elf",
        ".so",
        lambda: _files("abi/ctf/**/*.so"),
        _imported("elforge.elf.reader", "read_elf_file"),
    ),
    Target(
        "wheel",
        ".whl",
        lambda: _files("wheels/bundled/*.whl"),
        _imported("elforge.compat.trees", "read_wheel"),
    ),
    Target(
        "wheel-policy",
        ".json",
        lambda: _files("wheels/policy/*.json"),
        _imported("elforge.compat.auditwheel", "read_policies"),
        structured=True,
    ),
    Target(
        "kabi-stablelist",
        "",
        lambda: _files("kabi/*/Module.kabi_x86_64"),
        _imported("elforge.kabi.stablelist", "read_stablelists"),
    ),
    Target(
        "sources-file",
        "",
        lambda: _files("distgit/*/*sources") + _files("distgit/*/.*.metadata"),
        _sources,
    ),
    Target(
        "suppressions",
        ".abignore",
        lambda: _files("abi/**/*.abignore") + _files("abi/**/*.suppr"),
        _suppressions,
    ),
]


@cache
def seeds(target: Target) -> tuple[bytes, ...]:
    found = tuple(target.seeds())
    if not found:
        raise AssertionError(f"fuzz target {target.name}: no seed found under {TESTDATA}")
    return found


# ------------------------------------------------------------------------------ mutations

INTERESTING = [
    b"\x00",
    b"\xff" * 8,
    b"nan",
    b"-1",
    b"99999999999999999999",
    b"\xc3\x28",
    b"A" * 300,
    b"../../x",
    b"%{",
    b"\n",
    b"<",
    b'"',
    b"{}",
    b"[]",
]
JSON_VALUES: list[Any] = [
    None,
    True,
    0,
    -1,
    2**70,
    1.5,
    float("nan"),
    "",
    "x" * 300,
    "\udcff",
    [],
    {},
    [None],
    {"a": None},
]


def _mutate_bytes(data: bytes, rnd: random.Random) -> bytes:
    buf = bytearray(data)
    for _ in range(rnd.randint(1, 8)):
        op = rnd.randrange(6)
        at = rnd.randrange(len(buf) + 1)
        if op == 0 and buf:
            buf[min(at, len(buf) - 1)] ^= 1 << rnd.randrange(8)
        elif op == 1:
            buf[at:at] = rnd.choice(INTERESTING)
        elif op == 2:
            del buf[at : at + rnd.randint(1, 64)]
        elif op == 3 and buf:
            start = rnd.randrange(len(buf))
            buf[at:at] = buf[start : start + rnd.randint(1, 256)]
        elif op == 4:
            del buf[rnd.randrange(len(buf) + 1) :]
        elif op == 5 and buf:
            buf[min(at, len(buf) - 1)] = rnd.randrange(256)
    return bytes(buf)


def _nodes(doc: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [path]
    if isinstance(doc, dict):
        for k, v in doc.items():
            out.extend(_nodes(v, (*path, k)))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            out.extend(_nodes(v, (*path, i)))
    return out


def _mutate_json(data: bytes, rnd: random.Random) -> bytes:
    try:
        doc = json.loads(data)
    except ValueError:
        return _mutate_bytes(data, rnd)
    nodes = _nodes(doc)
    for _ in range(rnd.randint(1, 4)):
        where = rnd.choice(nodes)
        if not where:
            doc = copy.deepcopy(rnd.choice(JSON_VALUES))
            break
        parent = doc
        try:
            for key in where[:-1]:
                parent = parent[key]
            parent[where[-1]] = copy.deepcopy(rnd.choice(JSON_VALUES))
        except (KeyError, IndexError, TypeError):
            continue
    return json.dumps(doc).encode("utf-8", "surrogatepass")


def mutate(target: Target, data: bytes, rnd: random.Random) -> bytes:
    if target.structured and rnd.random() < 0.6:
        return _mutate_json(data, rnd)
    return _mutate_bytes(data, rnd)


# ------------------------------------------------------------------------------- running


@dataclass
class Tally:
    """What a run saw: per outcome, and the first example of each kind of failure."""

    outcomes: Counter[str] = field(default_factory=Counter)
    unhandled: Counter[str] = field(default_factory=Counter)
    examples: dict[str, str] = field(default_factory=dict)


def run_one(target: Target, data: bytes, workdir: Path) -> tuple[str, str]:
    """("ok" | "error" | "multi-line" | "unhandled", detail) for one input."""
    case = workdir / f"input{target.suffix}"
    if case.is_dir():
        shutil.rmtree(case)
    case.write_bytes(data)
    try:
        target.parse(case)
    except ElforgeError as exc:
        text = str(exc)
        if "\n" in text or "\r" in text or len(text) > 1200:
            return "multi-line", text[:300]
        return "error", text[:200]
    except RecursionError as exc:
        return "unhandled", f"RecursionError: {str(exc)[:200]}"
    except Exception as exc:  # the finding: anything else escaping a parser
        return "unhandled", f"{type(exc).__name__}: {str(exc)[:200]}"
    return "ok", ""


def fuzz_input(target: Target, rnd: random.Random) -> bytes:
    return mutate(target, rnd.choice(seeds(target)), rnd)
