"""updateinfo.xml: read (tolerantly) and write the advisory metadata of a dnf repository.

Producers disagree on dates: createrepo_c and Red Hat write ``YYYY-MM-DD HH:MM:SS``, some
append `` UTC``, Amazon drops the seconds, Pulp and Fedora's bodhi have written epoch seconds
and ISO 8601, and old errata tools wrote a bare day.  :func:`parse_date` takes them all and
says so precisely when it meets something else.

Reading is per update: one broken update (a date nobody writes, a package without a name)
is recorded as an error and the rest of the file is still read; a file whose XML breaks
off midway keeps the updates that came before the break.
"""

from __future__ import annotations

import bz2
import gzip
import lzma
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from io import BytesIO
from pathlib import Path
from typing import IO
from xml.sax.saxutils import escape, quoteattr

from elforge.errors import FormatError, bounded

# Formats are tried in order; each regex anchors the whole string.
_EPOCH = re.compile(r"^\d{9,11}(?:\.\d+)?$")
_DAY = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_SPACED = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?"
    r"\s*(Z|UTC|GMT|[+-]\d{2}:?\d{2})?$",
    re.IGNORECASE,
)


def parse_date(text: str, *, subject: str | Path | None = None) -> datetime:
    """An aware UTC datetime from any date form that updateinfo, OSV or CSAF producers use.

    Accepted: epoch seconds (``1357948800``), ``YYYY-MM-DD``, ``YYYY-MM-DD HH:MM[:SS]``,
    the same followed by `` UTC``/``GMT``/``Z`` or an offset, and ISO 8601 with ``T``,
    fractions and offsets.  A time without a zone is taken as UTC, which is what every
    producer we know means.
    """
    raw = text.strip()
    if not raw:
        raise FormatError("empty date", subject=subject)
    if len(raw) >= 20 and raw[10] == "T":  # ISO 8601 with a zone, the common case: fast path
        try:
            value = datetime.fromisoformat(raw)
        except ValueError:
            pass
        else:
            if value.tzinfo is not None:
                return value.astimezone(UTC)
    if _EPOCH.match(raw):
        return datetime.fromtimestamp(float(raw), tz=UTC)
    m = _DAY.match(raw)
    if m:
        try:
            return datetime(int(m[1]), int(m[2]), int(m[3]), tzinfo=UTC)
        except ValueError as exc:
            raise FormatError(f"invalid date {raw!r}: {exc}", subject=subject) from None
    m = _SPACED.match(raw)
    if m:
        year, month, day, hour, minute, second, frac, zone = m.groups()
        micro = int((frac or "0").ljust(6, "0")[:6])
        try:
            value = datetime(
                int(year), int(month), int(day), int(hour), int(minute), int(second or 0), micro
            )
        except ValueError as exc:
            raise FormatError(f"invalid date {raw!r}: {exc}", subject=subject) from None
        offset = timedelta(0)
        if zone and zone[0] in "+-":
            digits = zone[1:].replace(":", "")
            offset = timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
            if zone[0] == "-":
                offset = -offset
        return (value - offset).replace(tzinfo=UTC)
    raise FormatError(
        f"unknown date format {raw!r} (expected epoch seconds, YYYY-MM-DD, "
        "'YYYY-MM-DD HH:MM:SS' with optional UTC, or ISO 8601)",
        subject=subject,
    )


def format_date(value: datetime) -> str:
    """The form createrepo_c writes: ``YYYY-MM-DD HH:MM:SS`` in UTC."""
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


@dataclass(frozen=True)
class UpdateReference:
    href: str
    id: str | None = None
    type: str | None = None
    title: str | None = None


@dataclass(frozen=True)
class UpdateModule:
    name: str
    stream: str
    version: str
    context: str
    arch: str

    def __str__(self) -> str:
        return f"{self.name}:{self.stream}:{self.version}:{self.context}:{self.arch}"


class NevraLabels:
    """``evr`` and ``nevra`` labels for a record with name, epoch, version, release, arch."""

    __slots__ = ()
    name: str
    epoch: int
    version: str
    release: str
    arch: str

    @property
    def evr(self) -> str:
        return (f"{self.epoch}:" if self.epoch else "") + f"{self.version}-{self.release}"

    @property
    def nevra(self) -> str:
        epoch = f"{self.epoch}:" if self.epoch else ""
        return f"{self.name}-{epoch}{self.version}-{self.release}.{self.arch}"


@dataclass(frozen=True)
class UpdatePackage(NevraLabels):
    name: str
    epoch: int
    version: str
    release: str
    arch: str
    src: str | None = None
    filename: str | None = None
    sum_type: str | None = None
    sum: str | None = None
    reboot_suggested: bool = False


@dataclass(frozen=True)
class UpdateCollection:
    short: str | None
    name: str | None
    module: UpdateModule | None
    packages: tuple[UpdatePackage, ...]


@dataclass(frozen=True)
class UpdateRecord:
    """One ``<update>``: an advisory as a repository publishes it."""

    id: str
    type: str  # security, bugfix, enhancement, newpackage
    status: str | None = None
    from_: str | None = None
    version: str | None = None
    title: str | None = None
    issued: datetime | None = None
    updated: datetime | None = None
    severity: str | None = None
    summary: str | None = None
    description: str | None = None
    solution: str | None = None
    rights: str | None = None
    release: str | None = None
    pushcount: str | None = None
    reboot_suggested: bool = False
    references: tuple[UpdateReference, ...] = ()
    collections: tuple[UpdateCollection, ...] = ()

    @property
    def packages(self) -> tuple[UpdatePackage, ...]:
        return tuple(p for c in self.collections for p in c.packages)

    @property
    def cves(self) -> tuple[str, ...]:
        seen: dict[str, None] = {}
        for ref in self.references:
            if (ref.type or "").lower() == "cve" and ref.id:
                seen.setdefault(ref.id.strip(), None)
        return tuple(seen)


@dataclass
class UpdateInfo:
    """What one updateinfo file yielded: the updates read and the errors met on the way."""

    path: Path | None
    updates: list[UpdateRecord] = field(default_factory=list)
    errors: list[FormatError] = field(default_factory=list)


def _open_compressed(data: bytes) -> bytes:
    """Undo gzip, xz/lzma, bzip2 or zstd by magic bytes; plain XML passes through."""
    if data[:2] == b"\x1f\x8b":
        return gzip.decompress(data)
    if data[:6] == b"\xfd7zXZ\x00" or data[:3] == b"\x5d\x00\x00":
        return lzma.decompress(data)
    if data[:3] == b"BZh":
        return bz2.decompress(data)
    if data[:4] == b"\x28\xb5\x2f\xfd":
        import zstandard

        return zstandard.ZstdDecompressor().decompressobj().decompress(data)
    return data


def _text(elem: ET.Element, tag: str) -> str | None:
    child = elem.find(tag)
    if child is None or child.text is None:
        return None
    return child.text.strip() or None


def _flag(elem: ET.Element | None) -> bool:
    """``<reboot_suggested/>``, ``True``, ``1`` all mean yes; ``False``/``0`` mean no."""
    if elem is None:
        return False
    text = (elem.text or "").strip().lower()
    return text not in ("false", "0", "no")


def _date_attr(update: ET.Element, tag: str, subject: str) -> datetime | None:
    elem = update.find(tag)
    if elem is None:
        return None
    value = elem.get("date")
    if value is None or not value.strip():
        return None
    return parse_date(value, subject=subject)


def _package(elem: ET.Element, subject: str) -> UpdatePackage:
    name = elem.get("name")
    version = elem.get("version")
    release = elem.get("release")
    if not name or not version or release is None:
        raise FormatError("package without name, version or release", subject=subject)
    epoch_text = (elem.get("epoch") or "0").strip() or "0"
    if not epoch_text.isdigit():
        raise FormatError(f"package {name}: epoch {epoch_text!r} is not a number", subject=subject)
    sum_elem = elem.find("sum")
    return UpdatePackage(
        name=name,
        epoch=int(epoch_text),
        version=version,
        release=release,
        arch=elem.get("arch") or "noarch",
        src=elem.get("src"),
        filename=_text(elem, "filename"),
        sum_type=sum_elem.get("type") if sum_elem is not None else None,
        sum=(sum_elem.text or "").strip() or None if sum_elem is not None else None,
        reboot_suggested=elem.find("reboot_suggested") is not None,
    )


def _update(elem: ET.Element, path: Path | str) -> UpdateRecord:
    ident = _text(elem, "id")
    if not ident:
        raise FormatError("update without <id>", subject=path)
    subject = f"{path} [{ident}]"
    collections = []
    for coll in elem.iterfind("pkglist/collection"):
        mod_elem = coll.find("module")
        module = None
        if mod_elem is not None:
            module = UpdateModule(
                name=mod_elem.get("name", ""),
                stream=mod_elem.get("stream", ""),
                version=mod_elem.get("version", ""),
                context=mod_elem.get("context", ""),
                arch=mod_elem.get("arch", ""),
            )
        packages = tuple(_package(p, subject) for p in coll.iterfind("package"))
        name = _text(coll, "name")
        collections.append(UpdateCollection(coll.get("short"), name, module, packages))
    references = tuple(
        UpdateReference(
            href=r.get("href", ""), id=r.get("id"), type=r.get("type"), title=r.get("title")
        )
        for r in elem.iterfind("references/reference")
    )
    return UpdateRecord(
        id=ident,
        type=(elem.get("type") or "").strip() or "unknown",
        status=elem.get("status"),
        from_=elem.get("from"),
        version=elem.get("version"),
        title=_text(elem, "title"),
        issued=_date_attr(elem, "issued", subject),
        updated=_date_attr(elem, "updated", subject),
        severity=_text(elem, "severity"),
        summary=_text(elem, "summary"),
        description=_text(elem, "description"),
        solution=_text(elem, "solution"),
        rights=_text(elem, "rights"),
        release=_text(elem, "release"),
        pushcount=_text(elem, "pushcount"),
        reboot_suggested=_flag(elem.find("reboot_suggested")),
        references=references,
        collections=tuple(collections),
    )


def iter_updates(stream: IO[bytes], path: Path | str) -> Iterator[UpdateRecord | FormatError]:
    """Stream the updates of an (uncompressed) updateinfo document.

    Yields an :class:`UpdateRecord` per good update and a :class:`FormatError` per bad one;
    broken XML ends the stream with one error naming the line.
    """
    depth = 0
    seen_root = False
    try:
        for event, elem in ET.iterparse(stream, events=("start", "end")):
            if event == "start":
                if not seen_root:
                    seen_root = True
                    if elem.tag != "updates":
                        yield FormatError(
                            f"not updateinfo: root element is <{elem.tag}>", subject=path
                        )
                        return
                depth += 1
                continue
            depth -= 1
            if depth == 1 and elem.tag == "update":
                try:
                    yield _update(elem, path)
                except FormatError as exc:
                    yield exc
                elem.clear()
    except ET.ParseError as exc:
        yield FormatError(f"malformed XML: {exc}", subject=path)
    except (LookupError, UnicodeError) as exc:  # an XML declaration naming a bogus encoding
        yield FormatError(f"malformed XML: {bounded(str(exc), 120)}", subject=path)
    if not seen_root:
        yield FormatError("empty document", subject=path)


def read_updateinfo(path: Path) -> UpdateInfo:
    """Read ``updateinfo.xml`` (plain, .gz, .xz, .bz2 or .zst), keeping per-update errors."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise FormatError(f"cannot read: {exc.strerror}", subject=path) from None
    return parse_updateinfo(raw, path)


def parse_updateinfo(data: bytes, path: Path | str = "<updateinfo>") -> UpdateInfo:
    """Parse updateinfo bytes (compressed or not)."""
    try:
        plain = _open_compressed(data)
    except (OSError, EOFError, lzma.LZMAError, ValueError) as exc:
        raise FormatError(f"cannot decompress: {exc}", subject=path) from None
    except Exception as exc:  # zstandard raises its own error type
        raise FormatError(f"cannot decompress: {exc}", subject=path) from None
    result = UpdateInfo(Path(path) if isinstance(path, Path) else None)
    for item in iter_updates(BytesIO(plain), path):
        if isinstance(item, FormatError):
            result.errors.append(item)
        else:
            result.updates.append(item)
    return result


# -- writing -------------------------------------------------------------------------------


def _elem(tag: str, text: str | None, indent: str) -> str:
    if text is None:
        return ""
    return f"{indent}<{tag}>{escape(text)}</{tag}>\n"


def _attrs(**values: str | None) -> str:
    return "".join(f" {k.rstrip('_')}={quoteattr(v)}" for k, v in values.items() if v is not None)


def write_updateinfo(updates: Iterable[UpdateRecord]) -> str:
    """Serialise updates as createrepo_c lays out updateinfo.xml (dates in UTC)."""
    out = ['<?xml version="1.0" encoding="UTF-8"?>\n<updates>\n']
    for u in updates:
        out.append(
            f"  <update{_attrs(from_=u.from_, status=u.status, type=u.type, version=u.version)}>\n"
        )
        out.append(_elem("id", u.id, "    "))
        out.append(_elem("title", u.title, "    "))
        if u.issued is not None:
            out.append(f"    <issued date={quoteattr(format_date(u.issued))}/>\n")
        if u.updated is not None:
            out.append(f"    <updated date={quoteattr(format_date(u.updated))}/>\n")
        for tag, value in (
            ("rights", u.rights),
            ("release", u.release),
            ("pushcount", u.pushcount),
            ("severity", u.severity),
            ("summary", u.summary),
            ("description", u.description),
            ("solution", u.solution),
        ):
            out.append(_elem(tag, value, "    "))
        if u.reboot_suggested:
            out.append("    <reboot_suggested>True</reboot_suggested>\n")
        out.append("    <references>\n")
        for r in u.references:
            out.append(
                f"      <reference{_attrs(href=r.href, id=r.id, type=r.type, title=r.title)}/>\n"
            )
        out.append("    </references>\n    <pkglist>\n")
        for c in u.collections:
            out.append(f"      <collection{_attrs(short=c.short)}>\n")
            out.append(_elem("name", c.name, "        "))
            if c.module is not None:
                m = c.module
                attrs = _attrs(
                    name=m.name, stream=m.stream, version=m.version, context=m.context, arch=m.arch
                )
                out.append(f"        <module{attrs}/>\n")
            for p in c.packages:
                attrs = _attrs(
                    name=p.name,
                    version=p.version,
                    release=p.release,
                    epoch=str(p.epoch),
                    arch=p.arch,
                    src=p.src,
                )
                out.append(f"        <package{attrs}>\n")
                out.append(_elem("filename", p.filename, "          "))
                if p.sum is not None:
                    out.append(f"          <sum type={quoteattr(p.sum_type or 'sha256')}>")
                    out.append(f"{escape(p.sum)}</sum>\n")
                if p.reboot_suggested:
                    out.append("          <reboot_suggested/>\n")
                out.append("        </package>\n")
            out.append("      </collection>\n")
        out.append("    </pkglist>\n  </update>\n")
    out.append("</updates>\n")
    return "".join(out)
