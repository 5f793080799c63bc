"""modules.yaml: modulemd v2 stream documents and modulemd-defaults v1 documents.

Every scalar is read as a string (YAML would turn stream ``10.10`` into the float 10.1 and
``8`` into an int), then checked. A broken document raises FormatError naming the file, the
document number and the missing or malformed key.
"""

from __future__ import annotations

import lzma
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
import zstandard

from elforge.errors import FormatError
from elforge.rpm.nevra import NEVRA
from elforge.rpm.remote import open_decompressed
from elforge.yamlsafe import has_alias, yaml_problem

try:
    _Loader: Any = yaml.CBaseLoader
except AttributeError:  # pragma: no cover - libyaml missing
    _Loader = yaml.BaseLoader

# Document types a repository may carry that do not affect which packages are visible.
IGNORED_DOCUMENTS = frozenset({"modulemd-obsoletes", "modulemd-translations", "modulemd-packager"})


@dataclass(frozen=True)
class ModuleStream:
    """One modulemd v2 document: a build (version, context) of one stream for one arch."""

    name: str
    stream: str
    version: int
    context: str
    arch: str
    summary: str
    artifacts: tuple[str, ...]  # "name-epoch:version-release.arch"
    profiles: dict[str, tuple[str, ...]] = field(default_factory=dict)
    requires: tuple[dict[str, tuple[str, ...]], ...] = ()  # runtime module dependencies

    @property
    def name_stream(self) -> str:
        return f"{self.name}:{self.stream}"

    @property
    def nsvca(self) -> str:
        return f"{self.name}:{self.stream}:{self.version}:{self.context}:{self.arch}"

    def artifact_nevras(self) -> list[NEVRA]:
        return [NEVRA.parse(a) for a in self.artifacts]


@dataclass(frozen=True)
class ModuleDefaults:
    """A modulemd-defaults document: the default stream (if any) and default profiles."""

    module: str
    stream: str | None
    profiles: dict[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class ModuleIndex:
    streams: tuple[ModuleStream, ...]
    defaults: dict[str, ModuleDefaults]

    def modules(self) -> set[str]:
        return {s.name for s in self.streams}

    def stream_names(self) -> set[str]:
        return {s.name_stream for s in self.streams}

    def default_stream(self, module: str) -> str | None:
        d = self.defaults.get(module)
        return d.stream if d else None

    def active_streams(
        self, enabled: Iterable[str] = (), disabled: Iterable[str] = ()
    ) -> set[tuple[str, str]]:
        """(module, stream) pairs that are active: enabled ones, else the default stream.

        ``enabled`` holds ``name:stream``; ``disabled`` holds module names. Enabling a stream
        replaces the module's default stream, as dnf does.
        """
        chosen: dict[str, str] = {}
        for module, d in self.defaults.items():
            if d.stream:
                chosen[module] = d.stream
        for spec in enabled:
            name, sep, stream = spec.partition(":")
            if not sep or not name or not stream:
                raise FormatError(f"module stream {spec!r} is not NAME:STREAM")
            chosen[name] = stream
        for name in disabled:
            chosen.pop(name, None)
        return set(chosen.items())

    def merged(self, other: ModuleIndex) -> ModuleIndex:
        return ModuleIndex(self.streams + other.streams, {**self.defaults, **other.defaults})


def _text(value: Any, where: str, key: str, subject: str | Path) -> str:
    if not isinstance(value, str) or not value:
        raise FormatError(f"{where}: {key} is missing or not a string", subject=subject)
    return value


def _str_list(value: Any, where: str, key: str, subject: str | Path) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise FormatError(f"{where}: {key} is not a list of strings", subject=subject)
    return tuple(value)


def _profiles(value: Any, where: str, subject: str | Path) -> dict[str, tuple[str, ...]]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise FormatError(f"{where}: profiles is not a mapping", subject=subject)
    out: dict[str, tuple[str, ...]] = {}
    for name, body in value.items():
        if isinstance(body, list):  # modulemd-defaults: stream -> [profile, ...]
            out[str(name)] = _str_list(body, where, f"profiles.{name}", subject)
        elif isinstance(body, dict):  # modulemd: profile -> {rpms: [...]}
            out[str(name)] = _str_list(body.get("rpms"), where, f"profiles.{name}.rpms", subject)
        else:
            raise FormatError(f"{where}: profile {name!r} is malformed", subject=subject)
    return out


def _stream(data: dict[str, Any], where: str, subject: str | Path) -> ModuleStream:
    version = _text(data.get("version"), where, "data.version", subject)
    if not version.isdigit():
        raise FormatError(f"{where}: data.version {version!r} is not a number", subject=subject)
    artifacts_block = data.get("artifacts") or {}
    if not isinstance(artifacts_block, dict):
        raise FormatError(f"{where}: data.artifacts is not a mapping", subject=subject)
    artifacts = _str_list(artifacts_block.get("rpms"), where, "data.artifacts.rpms", subject)
    for art in artifacts:
        try:
            NEVRA.parse(art)
        except FormatError:
            raise FormatError(
                f"{where}: artifact {art!r} is not a NEVRA", subject=subject
            ) from None
    requires: list[dict[str, tuple[str, ...]]] = []
    for dep in data.get("dependencies") or []:
        if not isinstance(dep, dict):
            raise FormatError(f"{where}: data.dependencies entry is malformed", subject=subject)
        req = dep.get("requires") or {}
        if not isinstance(req, dict):
            raise FormatError(f"{where}: dependencies.requires is malformed", subject=subject)
        requires.append({k: _str_list(v, where, f"requires.{k}", subject) for k, v in req.items()})
    return ModuleStream(
        name=_text(data.get("name"), where, "data.name", subject),
        stream=_text(data.get("stream"), where, "data.stream", subject),
        version=int(version),
        context=_text(data.get("context"), where, "data.context", subject),
        arch=_text(data.get("arch"), where, "data.arch", subject),
        summary=str(data.get("summary") or ""),
        artifacts=artifacts,
        profiles=_profiles(data.get("profiles"), where, subject),
        requires=tuple(requires),
    )


def _defaults(data: dict[str, Any], where: str, subject: str | Path) -> ModuleDefaults:
    stream = data.get("stream")
    if stream is not None and not isinstance(stream, str):
        raise FormatError(f"{where}: data.stream is not a string", subject=subject)
    return ModuleDefaults(
        module=_text(data.get("module"), where, "data.module", subject),
        stream=stream or None,
        profiles=_profiles(data.get("profiles"), where, subject),
    )


def parse_modules_yaml(text: str | bytes, *, subject: str | Path = "modules.yaml") -> ModuleIndex:
    """Parse the documents of a modules.yaml stream."""
    streams: list[ModuleStream] = []
    defaults: dict[str, ModuleDefaults] = {}
    try:
        if (line := has_alias(text)) is not None:  # an alias bomb expands on first walk
            raise FormatError(f"YAML alias at line {line}: not allowed", subject=subject)
        documents = list(yaml.load_all(text, Loader=_Loader))
    except yaml.YAMLError as exc:
        raise FormatError(yaml_problem(exc), subject=subject) from None
    for number, doc in enumerate(documents, 1):
        if doc is None:
            continue
        if not isinstance(doc, dict):
            raise FormatError(f"document {number} is not a mapping", subject=subject)
        kind = doc.get("document")
        version = doc.get("version")
        where = f"document {number} ({kind})"
        data = doc.get("data")
        if kind in IGNORED_DOCUMENTS:
            continue
        if not isinstance(data, dict):
            raise FormatError(f"{where}: no data mapping", subject=subject)
        if kind == "modulemd":
            if version != "2":
                raise FormatError(
                    f"{where}: unsupported modulemd version {version!r} "
                    "(repositories carry version 2)",
                    subject=subject,
                )
            streams.append(_stream(data, where, subject))
        elif kind == "modulemd-defaults":
            if version != "1":
                raise FormatError(
                    f"{where}: unsupported defaults version {version!r}", subject=subject
                )
            d = _defaults(data, where, subject)
            defaults[d.module] = d
        else:
            raise FormatError(f"document {number}: unknown document type {kind!r}", subject=subject)
    return ModuleIndex(tuple(streams), defaults)


def read_modules(path: Path, *, subject: str | Path | None = None) -> ModuleIndex:
    """Read a modules.yaml file (plain, gz, xz, bz2 or zst)."""
    try:
        with open_decompressed(path) as stream:
            raw = stream.read()
    except (OSError, EOFError, ValueError, lzma.LZMAError, zstandard.ZstdError) as exc:
        raise FormatError(f"cannot read: {exc}", subject=subject or path) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise FormatError("not UTF-8 text", subject=subject or path) from None
    return parse_modules_yaml(text, subject=subject or path)
