"""A small reader for the protobuf text format, checked against a declared schema.

srpmproc's directive files are protobuf text (``field: value``, ``message { ... }``,
``field: [a, b]``, ``#`` comments). Rather than generating protobuf classes we parse the text
into plain dicts and validate every field name and type against :data:`Schema` entries, so a
typo is an error naming the file, the line and the field.

A comment ``# elforge-expect: SPEC`` right before a message attaches ``SPEC`` to it (as the
key ``__expect__``): that is how a directive file allows an elforge expectation without
leaving the protobuf format.

Syntax errors name the line and the column. A field the schema does not know is an error,
or, when the caller passes a list for ``unknown``, skipped (its value, however nested) and
recorded there as (line, message) so that the rest of the file still applies.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from elforge.errors import ConfigError


@dataclass(frozen=True)
class FieldSpec:
    kind: str  # string | bool | int | enum | message
    repeated: bool = False
    message: str = ""  # message type name, for kind == "message"
    enum: tuple[str, ...] = ()
    oneof: str = ""  # oneof group name: at most one of the group may be set


Schema = dict[str, dict[str, FieldSpec]]

_TOKEN = re.compile(
    r"""
    (?P<ws>[ \t\r\n]+|\#[^\n]*)
  | (?P<str>"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*')
  | (?P<num>[-+]?(?:0[xX][0-9a-fA-F]+|\d+(?:\.\d*)?(?:[eE][-+]?\d+)?))
  | (?P<ident>[A-Za-z_][A-Za-z0-9_.]*)
  | (?P<punct>[{}<>\[\]:,;])
    """,
    re.VERBOSE,
)
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", '"': '"', "'": "'", "a": "\a",
            "b": "\b", "f": "\f", "v": "\v", "?": "?"}  # fmt: skip


@dataclass
class _Tok:
    kind: str
    text: str
    line: int
    col: int = 1


_CLOSERS = {"{": "}", "<": ">", "[": "]"}


def _unquote(raw: str, path: Path, where: str) -> str:
    """A quoted protobuf string: escapes give bytes, and the bytes are UTF-8 text."""
    body = raw[1:-1]
    out = bytearray()
    i = 0
    while i < len(body):
        c = body[i]
        if c != "\\":
            out += c.encode("utf-8")
            i += 1
            continue
        nxt = body[i + 1]
        if nxt in _ESCAPES:
            out += _ESCAPES[nxt].encode()
            i += 2
        elif nxt in "xX":
            m = re.match(r"[0-9a-fA-F]{1,2}", body[i + 2 :])
            if not m:
                raise ConfigError(f"{where}: bad \\x escape", subject=path)
            out.append(int(m[0], 16))
            i += 2 + len(m[0])
        elif nxt in "01234567":
            m = re.match(r"[0-7]{1,3}", body[i + 1 :])
            assert m is not None
            out.append(int(m[0], 8) & 0xFF)
            i += 1 + len(m[0])
        elif nxt in "uU":
            width = 4 if nxt == "u" else 8
            digits = body[i + 2 : i + 2 + width]
            if not re.fullmatch(f"[0-9a-fA-F]{{{width}}}", digits):
                raise ConfigError(f"{where}: bad \\{nxt} escape", subject=path)
            out += chr(int(digits, 16)).encode("utf-8")
            i += 2 + width
        else:
            raise ConfigError(f"{where}: unknown escape \\{nxt}", subject=path)
    return out.decode("utf-8", errors="replace")


def _tokens(text: str, path: Path) -> list[_Tok]:
    toks: list[_Tok] = []
    pos, line, line_start = 0, 1, 0
    while pos < len(text):
        col = pos - line_start + 1
        m = _TOKEN.match(text, pos)
        if not m:
            raise ConfigError(
                f"line {line}, column {col}: unexpected character {text[pos]!r}", subject=path
            )
        kind = m.lastgroup or ""
        raw = m[0]
        if kind == "ws":
            if raw.startswith("#"):
                toks.append(_Tok("comment", raw[1:].strip(), line, col))
        else:
            toks.append(_Tok(kind, raw, line, col))
        if "\n" in raw:
            line += raw.count("\n")
            line_start = pos + raw.rindex("\n") + 1
        pos = m.end()
    toks.append(_Tok("eof", "", line, len(text) - line_start + 1))
    return toks


class _Parser:
    def __init__(
        self, text: str, path: Path, schema: Schema, unknown: list[tuple[int, str]] | None
    ) -> None:
        self.toks = _tokens(text, path)
        self.i = 0
        self.path = path
        self.schema = schema
        self.unknown = unknown
        self.pending_expect: str | None = None

    def err(self, msg: str, tok: _Tok | None = None) -> ConfigError:
        tok = tok or self.peek()
        return ConfigError(f"line {tok.line}, column {tok.col}: {msg}", subject=self.path)

    def skip_unknown(self, tok: _Tok, type_name: str) -> None:
        """Skip an unknown field's value (scalar, list or message, nested to any depth)."""
        assert self.unknown is not None
        self.unknown.append((tok.line, f"unknown field '{tok.text}' in {type_name} (skipped)"))
        nxt = self.peek()
        if nxt.kind == "punct" and nxt.text == ":":
            self.take()
            nxt = self.peek()
        if nxt.kind == "punct" and nxt.text in _CLOSERS:
            stack = [_CLOSERS[self.take().text]]
            while stack:
                t = self.take()
                if t.kind == "eof":
                    raise self.err(f"'{tok.text}' is not closed", t)
                if t.kind == "punct" and t.text in _CLOSERS:
                    stack.append(_CLOSERS[t.text])
                elif t.kind == "punct" and t.text == stack[-1]:
                    stack.pop()
        elif nxt.kind == "str":
            while self.peek().kind == "str":
                self.take()
        elif nxt.kind in ("num", "ident"):
            self.take()
        else:
            raise self.err(f"expected a value for '{tok.text}', found {nxt.text!r}", nxt)
        sep = self.peek()
        if sep.kind == "punct" and sep.text in ",;":
            self.take()

    def peek(self) -> _Tok:
        while self.toks[self.i].kind == "comment":
            c = self.toks[self.i].text
            if c.startswith("elforge-expect:"):
                self.pending_expect = c.split(":", 1)[1].strip()
            self.i += 1
        return self.toks[self.i]

    def take(self) -> _Tok:
        tok = self.peek()
        self.i += 1
        return tok

    def expect_punct(self, text: str) -> None:
        tok = self.take()
        if tok.kind != "punct" or tok.text != text:
            raise self.err(f"expected '{text}', found {tok.text or 'end of file'!r}", tok)

    def message(self, type_name: str, close: str | None) -> dict[str, Any]:
        fields = self.schema[type_name]
        out: dict[str, Any] = {}
        oneofs: dict[str, str] = {}
        while True:
            tok = self.peek()
            if close is None and tok.kind == "eof":
                return out
            if tok.kind == "punct" and tok.text == close:
                self.take()
                return out
            if tok.kind != "ident":
                raise self.err(f"expected a field name, found {tok.text or 'end of file'!r}")
            self.take()
            name = tok.text
            spec = fields.get(name)
            if spec is None and self.unknown is not None:
                self.skip_unknown(tok, type_name)
                continue
            if spec is None:
                known = ", ".join(fields)
                raise self.err(f"unknown field '{name}' in {type_name} (known: {known})", tok)
            if spec.oneof:
                prior = oneofs.get(spec.oneof)
                if prior is not None and prior != name:
                    raise self.err(f"'{name}' and '{prior}' are alternatives (set only one)", tok)
                oneofs[spec.oneof] = name
            nxt = self.peek()
            has_colon = nxt.kind == "punct" and nxt.text == ":"
            if has_colon:
                self.take()
            elif spec.kind != "message":
                raise self.err(f"expected ':' after '{name}'")
            nxt = self.peek()
            if nxt.kind == "punct" and nxt.text == "[":
                if not spec.repeated:
                    raise self.err(f"'{name}' is not a repeated field", nxt)
                self.take()
                values = []
                if not (self.peek().kind == "punct" and self.peek().text == "]"):
                    while True:
                        values.append(self.value(name, spec))
                        sep = self.take()
                        if sep.kind == "punct" and sep.text == "]":
                            break
                        if not (sep.kind == "punct" and sep.text == ","):
                            raise self.err("expected ',' or ']' in a list", sep)
                else:
                    self.take()
                out.setdefault(name, []).extend(values)
            else:
                value = self.value(name, spec)
                if spec.repeated:
                    out.setdefault(name, []).append(value)
                elif name in out:
                    raise self.err(f"'{name}' set twice (it is not repeated)", tok)
                else:
                    out[name] = value
            sep = self.peek()
            if sep.kind == "punct" and sep.text in ",;":
                self.take()

    def value(self, name: str, spec: FieldSpec) -> Any:
        tok = self.peek()
        if spec.kind == "message":
            if tok.kind != "punct" or tok.text not in "{<":
                raise self.err(f"'{name}' is a message: expected '{{'", tok)
            expect = self.pending_expect
            self.pending_expect = None
            self.take()
            msg = self.message(spec.message, "}" if tok.text == "{" else ">")
            if expect is not None:
                msg["__expect__"] = expect
            return msg
        self.take()
        if spec.kind == "string":
            if tok.kind != "str":
                raise self.err(f"'{name}' must be a quoted string, found {tok.text!r}", tok)
            parts = [_unquote(tok.text, self.path, f"line {tok.line}, column {tok.col}")]
            while self.peek().kind == "str":  # adjacent strings concatenate
                t = self.take()
                parts.append(_unquote(t.text, self.path, f"line {t.line}, column {t.col}"))
            return "".join(parts)
        if spec.kind == "bool":
            if tok.text in ("true", "True", "t", "1"):
                return True
            if tok.text in ("false", "False", "f", "0"):
                return False
            raise self.err(f"'{name}' must be true or false, found {tok.text!r}", tok)
        if spec.kind == "int":
            if tok.kind != "num" or not re.fullmatch(r"[-+]?\d+", tok.text):
                raise self.err(f"'{name}' must be an integer, found {tok.text!r}", tok)
            return int(tok.text)
        if spec.kind == "enum":
            if tok.kind == "ident" and tok.text in spec.enum:
                return tok.text
            if tok.kind == "num" and tok.text.isdigit() and int(tok.text) < len(spec.enum):
                return spec.enum[int(tok.text)]
            raise self.err(
                f"'{name}' must be one of {', '.join(spec.enum)}, found {tok.text!r}", tok
            )
        raise AssertionError(spec.kind)


def parse_text(
    text: str,
    path: Path,
    schema: Schema,
    root: str,
    unknown: list[tuple[int, str]] | None = None,
) -> dict[str, Any]:
    """Parse protobuf text into dicts, validating against ``schema`` from message ``root``;
    with ``unknown``, unknown fields are skipped and recorded there instead of refused."""
    return _Parser(text, path, schema, unknown).message(root, None)
