"""Branding scanner: leftover reference branding in specs, sources and built payloads.

Patterns and an allow-list come from YAML (defaults: ``branding-default.yaml``). Specs are
scanned up to %changelog (history names people, not products); text sources line by line;
RPM payloads file by file through :mod:`elforge.rpm.payload` (streamed, never
extracted). The result lists every hit and the packages that still need a patch config.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from elforge.errors import ConfigError, FormatError, ToolError
from elforge.patching.config import load_yaml
from elforge.patching.spec import changelog_index
from elforge.report.model import Finding, ReportDocument, Severity, Table
from elforge.rpm.header import read_header
from elforge.rpm.payload import iter_members

SCHEMA = "elforge.scan/1"
MAX_MEMBER = 64 << 20  # bytes scanned per payload member; larger ones are cut off


class Pattern(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str
    regex: str
    description: str = ""

    @field_validator("regex")
    @classmethod
    def _compiles(cls, v: str) -> str:
        try:
            re.compile(v)
        except re.error as exc:
            raise ValueError(f"regular expression does not compile: {exc}") from None
        return v


class Allow(BaseModel):
    """An accepted hit: every given field must match (globs for package and file)."""

    model_config = ConfigDict(extra="forbid")
    pattern: str | None = None
    package: str = "*"
    file: str = "*"
    text: str | None = None  # a regex the matched line must contain
    why: str = ""


class ScanRules(BaseModel):
    model_config = ConfigDict(extra="forbid")
    patterns: list[Pattern]
    allow: list[Allow] = Field(default_factory=list)

    def allowed(self, hit: Hit) -> bool:
        for a in self.allow:
            if a.pattern is not None and a.pattern != hit.pattern:
                continue
            if not fnmatch.fnmatchcase(hit.package, a.package):
                continue
            if not fnmatch.fnmatchcase(hit.file, a.file):
                continue
            if a.text is not None and not re.search(a.text, hit.excerpt):
                continue
            return True
        return False


def load_rules(patterns: Path | None = None, allow: Path | None = None) -> ScanRules:
    if patterns is None:
        text = resources.files("elforge.patching").joinpath("branding-default.yaml").read_text()
        import yaml

        data: Any = yaml.safe_load(text)
        source: Path | str = "branding-default.yaml"
    else:
        data, source = load_yaml(patterns), patterns
    try:
        rules = ScanRules.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        key = ".".join(str(p) for p in err["loc"])
        raise ConfigError(f"key '{key}': {err['msg']}", subject=source) from None
    if allow is not None:
        extra = load_yaml(allow)
        items = extra.get("allow") if isinstance(extra, dict) else extra
        try:
            rules.allow += [Allow.model_validate(a) for a in items or []]
        except ValidationError as exc:
            err = exc.errors()[0]
            key = ".".join(str(p) for p in err["loc"])
            raise ConfigError(f"key '{key}': {err['msg']}", subject=allow) from None
    return rules


@dataclass
class Hit:
    package: str
    kind: str  # spec | source | payload
    file: str
    line: int
    pattern: str
    excerpt: str
    allowed: bool = False


@dataclass
class ScanResult:
    hits: list[Hit] = field(default_factory=list)
    scanned: list[str] = field(default_factory=list)  # packages / RPMs looked at
    errors: list[tuple[str, str]] = field(default_factory=list)

    @property
    def needing_config(self) -> list[str]:
        return sorted({h.package for h in self.hits if not h.allowed})


def _scan_text(
    rules: ScanRules, compiled: list[tuple[str, re.Pattern[str]]], package: str, kind: str,
    file: str, lines: list[str], offset: int = 0,
) -> list[Hit]:  # fmt: skip
    hits = []
    for n, line in enumerate(lines, 1 + offset):
        for pid, rx in compiled:
            if rx.search(line):
                h = Hit(package, kind, file, n, pid, line.strip()[:200])
                h.allowed = rules.allowed(h)
                hits.append(h)
    return hits


def _is_text(data: bytes) -> bool:
    return b"\0" not in data[:8192]


def scan_tree(tree: Path, rules: ScanRules, result: ScanResult) -> None:
    """A package tree: its spec (up to %changelog) and its text sources and patches."""
    from elforge.patching.engine import package_name

    package = package_name(tree)
    result.scanned.append(package)
    compiled = [(p.id, re.compile(p.regex)) for p in rules.patterns]
    for path in sorted(tree.rglob("*")):
        rel = path.relative_to(tree)
        if rel.parts[0].startswith(".") or not path.is_file() or path.is_symlink():
            continue
        data = path.read_bytes()
        if not _is_text(data):
            continue
        lines = data.decode("utf-8", errors="replace").splitlines()
        if path.suffix == ".spec":
            lines = lines[: changelog_index(lines)]
            result.hits += _scan_text(rules, compiled, package, "spec", rel.as_posix(), lines)
        else:
            result.hits += _scan_text(rules, compiled, package, "source", rel.as_posix(), lines)


def scan_rpm(rpm: Path, rules: ScanRules, result: ScanResult) -> None:
    """A built RPM's payload, streamed by elforge.rpm.payload (nothing is extracted):
    text members line by line, binaries as bytes, at most MAX_MEMBER bytes each."""
    package = read_header(rpm).nevra.name
    result.scanned.append(rpm.name)
    compiled = [(p.id, re.compile(p.regex)) for p in rules.patterns]
    bcompiled = [(p.id, re.compile(p.regex.encode())) for p in rules.patterns]
    for member, reader in iter_members(rpm):
        if reader is None or not member.is_reg:
            continue
        data = reader.read(MAX_MEMBER)
        reader.drain()
        name = "/" + member.path.lstrip("/")
        if _is_text(data):
            lines = data.decode("utf-8", errors="replace").splitlines()
            result.hits += _scan_text(rules, compiled, package, "payload", name, lines)
            continue
        for pid, rx in bcompiled:
            m = rx.search(data)
            if m:
                excerpt = m[0].decode("utf-8", errors="replace")
                h = Hit(package, "payload", name, 0, pid, excerpt)
                h.allowed = rules.allowed(h)
                result.hits.append(h)


def scan_paths(paths: list[Path], rules: ScanRules) -> ScanResult:
    """Package trees, folders of trees, RPM files or folders of RPMs; errors per item."""
    from elforge.patching.batch import package_trees

    result = ScanResult()
    for path in paths:
        try:
            if path.is_file() and path.suffix == ".rpm":
                scan_rpm(path, rules, result)
            elif path.is_dir() and (any(path.glob("*.spec")) or (path / "SPECS").is_dir()):
                scan_tree(path, rules, result)
            elif path.is_dir():
                rpms = sorted(path.rglob("*.rpm"))
                for tree in package_trees(path):
                    scan_tree(tree, rules, result)
                for rpm in rpms:
                    try:
                        scan_rpm(rpm, rules, result)
                    except (FormatError, ToolError) as exc:
                        result.errors.append((str(rpm), exc.problem))
            else:
                raise FormatError("not a package tree, an RPM or a folder", subject=path)
        except (FormatError, ToolError) as exc:
            result.errors.append((exc.subject or str(path), exc.problem))
    return result


def scan_document(result: ScanResult) -> ReportDocument:
    findings = [
        Finding(
            Severity.INFO if h.allowed else Severity.VERIFY,
            f"branding.{h.pattern}",
            h.package,
            f"{h.kind} {h.file}" + (f":{h.line}" if h.line else "") + f": {h.excerpt}"
            + (" (allowed)" if h.allowed else ""),
            remedy="" if h.allowed else "add a patch-config action or an allow-list entry",
            layer=h.kind,
            location=h.file,
        )
        for h in result.hits
    ]  # fmt: skip
    findings += [Finding(Severity.BAD, "branding.error", s, p) for s, p in result.errors]
    return ReportDocument(
        schema=SCHEMA,
        title="elforge scan: leftover reference branding",
        data={
            "scanned": result.scanned,
            "needing_config": result.needing_config,
            "hits": [h.__dict__ for h in result.hits],
            "errors": [{"subject": s, "problem": p} for s, p in result.errors],
        },
        findings=findings,
        summary=[
            ("scanned", len(result.scanned)),
            ("hits", sum(1 for h in result.hits if not h.allowed)),
            ("allowed", sum(1 for h in result.hits if h.allowed)),
            ("packages needing a config", ", ".join(result.needing_config) or "none"),
        ],
        tables=[
            Table(
                "Packages needing a config",
                ["package", "hits"],
                [
                    [p, sum(1 for h in result.hits if h.package == p and not h.allowed)]
                    for p in result.needing_config
                ],
            )
        ],
    )
