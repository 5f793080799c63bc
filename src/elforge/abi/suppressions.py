"""libabigail suppression specifications, read in their own format and applied to ELF findings.

The files are passed unchanged to ``abidiff`` for the type layer; here the
``[suppress_function]``, ``[suppress_variable]`` and ``[suppress_file]`` sections are also
applied to the ELF layer (symbol added/removed/changed, version nodes, whole binaries).
Properties understood for symbols: ``name``, ``name_regexp``, ``name_not_regexp``,
``symbol_name``, ``symbol_name_regexp``, ``symbol_name_not_regexp``, ``symbol_version``,
``symbol_version_regexp``, ``change_kind``, ``file_name_regexp``, ``file_name_not_regexp``,
``soname_regexp``, ``soname_not_regexp``. Type-only properties (``type_name``, ``parameter``,
``return_type_name``…) cannot match an ELF symbol: a section that uses them is left to abidiff.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from elforge.elf.reader import Symbol
from elforge.errors import FormatError, format_boundary

# properties that only make sense against DWARF types: such a rule never suppresses ELF facts
_TYPE_ONLY = {
    "parameter",
    "return_type_name",
    "return_type_regexp",
    "type_name",
    "type_name_regexp",
    "type_kind",
    "source_location_not_in",
    "source_location_not_regexp",
    "accessed_through",
    "has_data_member_inserted_at",
    "has_data_member_inserted_between",
    "allow_other_aliases",
}
_KNOWN_SECTIONS = {"suppress_function", "suppress_variable", "suppress_file", "suppress_type"}


@dataclass
class SuppressionRule:
    section: str
    props: dict[str, str] = field(default_factory=dict)
    origin: str = ""

    @property
    def label(self) -> str:
        return self.props.get("label", "")

    def _re(self, key: str) -> re.Pattern[str] | None:
        v = self.props.get(key)
        return re.compile(v) if v is not None else None

    def applies_to_file(self, path: str, soname: str | None) -> bool:
        """Whether the rule's file/soname scope covers this binary."""
        base = path.rsplit("/", 1)[-1]
        fre, fnre = self._re("file_name_regexp"), self._re("file_name_not_regexp")
        if fre and not fre.search(base):
            return False
        if fnre and fnre.search(base):
            return False
        sre, snre = self._re("soname_regexp"), self._re("soname_not_regexp")
        if sre and not (soname and sre.search(soname)):
            return False
        return not (snre and soname and snre.search(soname))

    def suppresses_file(self, path: str, soname: str | None) -> bool:
        return self.section == "suppress_file" and self.applies_to_file(path, soname)

    def suppresses_symbol(self, sym: Symbol, change: str, path: str, soname: str | None) -> bool:
        """``change`` is "added", "deleted" or "changed"."""
        if self.section not in ("suppress_function", "suppress_variable"):
            return False
        if any(k in self.props for k in _TYPE_ONLY):
            return False
        is_fn = sym.type in ("FUNC", "IFUNC")
        if (self.section == "suppress_function") != is_fn:
            return False
        kind = self.props.get("change_kind", "all").strip()
        if kind != "all":
            wanted = {k.strip() for k in kind.split(",")}
            noun = "function" if is_fn else "variable"
            if change == "changed":
                if not ({"function-subtype-change", "variable-subtype-change"} & wanted):
                    return False
            elif f"{change}-{noun}" not in wanted:
                return False
        if not self.applies_to_file(path, soname):
            return False
        matched_any = False
        for key, value in (("name", sym.name), ("symbol_name", sym.name)):
            if key in self.props:
                matched_any = True
                if self.props[key] != value:
                    return False
        for key, value in (("name_regexp", sym.name), ("symbol_name_regexp", sym.name)):
            rx = self._re(key)
            if rx is not None:
                matched_any = True
                if not rx.search(value):
                    return False
        for key in ("name_not_regexp", "symbol_name_not_regexp"):
            rx = self._re(key)
            if rx is not None:
                matched_any = True
                if rx.search(sym.name):
                    return False
        if "symbol_version" in self.props:
            matched_any = True
            if (sym.version or "") != self.props["symbol_version"]:
                return False
        rx = self._re("symbol_version_regexp")
        if rx is not None:
            matched_any = True
            if not rx.search(sym.version or ""):
                return False
        return matched_any

    def suppresses_version_node(self, version: str, path: str, soname: str | None) -> bool:
        """A rule that only names a version (``symbol_version[_regexp]``) covers the node too."""
        if self.section not in ("suppress_function", "suppress_variable"):
            return False
        keys = set(self.props) - {
            "label",
            "change_kind",
            "file_name_regexp",
            "file_name_not_regexp",
            "soname_regexp",
            "soname_not_regexp",
        }
        if not keys or not keys <= {"symbol_version", "symbol_version_regexp"}:
            return False
        if not self.applies_to_file(path, soname):
            return False
        if "symbol_version" in self.props and self.props["symbol_version"] != version:
            return False
        rx = self._re("symbol_version_regexp")
        return not (rx is not None and not rx.search(version))


@dataclass
class Suppressions:
    rules: list[SuppressionRule] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)  # handed to abidiff as --suppressions

    def file_suppressed(self, path: str, soname: str | None) -> bool:
        return any(r.suppresses_file(path, soname) for r in self.rules)

    def symbol_suppressed(self, sym: Symbol, change: str, path: str, soname: str | None) -> bool:
        return any(r.suppresses_symbol(sym, change, path, soname) for r in self.rules)

    def version_node_suppressed(self, version: str, path: str, soname: str | None) -> bool:
        return any(r.suppresses_version_node(version, path, soname) for r in self.rules)

    def __bool__(self) -> bool:
        return bool(self.rules)


def parse_suppressions(text: str, origin: str = "<string>") -> list[SuppressionRule]:
    """Parse libabigail's INI-like format; FormatError naming ``origin`` when malformed."""
    rules: list[SuppressionRule] = []
    current: SuppressionRule | None = None
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            if not line.endswith("]"):
                raise FormatError(f"line {lineno}: unterminated section header", subject=origin)
            section = line[1:-1].strip()
            if section not in _KNOWN_SECTIONS:
                raise FormatError(f"line {lineno}: unknown section [{section}]", subject=origin)
            current = SuppressionRule(section, origin=origin)
            rules.append(current)
            continue
        key, sep, value = line.partition("=")
        if not sep:
            raise FormatError(f"line {lineno}: expected 'property = value'", subject=origin)
        if current is None:
            raise FormatError(f"line {lineno}: property outside a section", subject=origin)
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] == '"':
            value = value[1:-1]
        key = key.strip()
        if key.endswith("regexp"):
            try:
                re.compile(value)
            except re.error as exc:
                raise FormatError(
                    f"line {lineno}: bad regular expression: {exc}", subject=origin
                ) from exc
        current.props[key] = value
    return rules


def load_suppressions(paths: list[Path], *, default: bool = True) -> Suppressions:
    sup = Suppressions()
    if default:
        text = resources.files("elforge.abi").joinpath("default.abignore").read_text("utf-8")
        sup.rules.extend(parse_suppressions(text, "elforge default suppressions"))
    for p in paths:
        try:
            text = p.read_text(encoding="utf-8")
        except OSError as exc:
            raise FormatError(f"cannot read suppression file: {exc.strerror}", subject=p) from exc
        except UnicodeDecodeError as exc:
            raise FormatError(f"not valid UTF-8 (byte {exc.start})", subject=p) from None
        with format_boundary(p, "suppression file"):
            sup.rules.extend(parse_suppressions(text, str(p)))
        sup.files.append(p)
    return sup


def default_suppression_file() -> Path:
    return Path(str(resources.files("elforge.abi").joinpath("default.abignore")))
