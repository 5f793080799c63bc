"""srpmproc's ``spec_change``, byte for byte: one pass over the spec that rewrites it the way
srpmproc (rocky-linux/srpmproc, ``pkg/directives/spec_change.go``) does.

The facts it follows (our own code, written from srpmproc's behaviour):

- Every line that starts with ``Word:`` is a field line. It is rewritten as
  ``Field:<spaces>value`` where ``value`` is the text after the first colon, trimmed, and
  ``spaces`` is ``longest + 8 - len(Field)`` blanks (``longest``: the longest field name of the
  spec) — the auto-alignment — or one blank with ``disable_auto_align``. A field line whose
  value ends up empty is dropped.
- ``search_and_replace`` with ``any``/``starts_with``/``ends_with`` applies to every line (the
  prefix/suffix test on the trimmed line), ``field`` to the value of that field; ``n`` is Go's
  ``strings.Replace`` count (``-1`` all, ``0`` none).
- ``append`` to a field adds the value to its lines (to ``Release``: also to the changelog
  version); to a section (``%build``) adds a line before the line that precedes the next of
  %description/%prep/%build/%install/%files/%changelog, else after the next blank line.
- ``file`` delete drops the ``SourceN:``/``PatchN:`` line whose value is the name; add writes
  ``SourceN:``/``PatchN:`` (N = last seen + 1) at the first non-field line after the last
  Source (Patch) line; a Patch with ``add_to_prep`` also appends ``%patch -PN [-pM]`` to %prep.
- ``new_field`` goes after the last line of that key, else (key absent) after the Patch block
  when the following line starts a section; ``changelog`` entries go right after
  ``%changelog`` (which is created after the Patch block when the spec has none), dated
  ``Mon Jan 02 2006``-style, versioned with the import name's version-release.

Where srpmproc depends on Go map order (several new fields at one place) we use the config's.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

from elforge.errors import ConfigError, ElforgeError
from elforge.patching.config import Expect, SpecAppend, SrpmprocSpecChange
from elforge.patching.context import ActionContext, Drift, Step
from elforge.patching.release_actions import changelog_date
from elforge.patching.spec import query_evr

FIELD_LINE = re.compile(r"^[a-zA-Z0-9]+:")
SECTIONS = ("%description", "%prep", "%build", "%install", "%files", "%changelog")
_NUMBER = re.compile(r"^[+-]?\d+$")


@dataclass
class SpecPass:
    """One run of the pass over ``text`` (the spec as srpmproc reads it)."""

    text: str
    op: SrpmprocSpecChange
    version: str
    date: str
    hits: Counter[str] = field(default_factory=Counter)  # op label -> places changed

    def __post_init__(self) -> None:
        self.lines = self.text.split("\n")
        self.out: list[str] = []
        self.future: dict[int, list[str]] = {}
        self.appends: list[tuple[str, SpecAppend]] = [
            (f"append {i}", a) for i, a in enumerate(self.op.append)
        ]
        self.longest = 0
        self.last = {"Source": "", "Patch": ""}
        self.num = {"Source": 0, "Patch": 0}
        self.has_patch = False
        self.in_field = ""
        self.in_section = ""
        self.new_fields: dict[str, dict[str, int]] = {}

    # -- helpers -----------------------------------------------------------------------------

    def spaces(self, name_length: int) -> str:
        if self.op.disable_auto_align:
            return " "
        return " " * max(0, self.longest + 8 - name_length)

    def tag(self, name: str, value: str) -> str:
        return f"{name}:{self.spaces(len(name))}{value}"

    def replace(self, label: str, text: str, find: str, new: str, n: int) -> str:
        count = text.count(find) if find else len(text) + 1
        done = count if n < 0 else min(n, count)
        if done:
            self.hits[label] += done
            return text.replace(find, new, n if n >= 0 else -1)
        return text

    def line_replace(self, line: str) -> str:
        for i, s in enumerate(self.op.search_and_replace):
            label = f"search_and_replace {i}"
            trimmed = line.strip()
            if (
                s.identifier == "any"
                or (s.identifier == "starts_with" and trimmed.startswith(s.find))
                or (s.identifier == "ends_with" and trimmed.endswith(s.find))
            ):
                line = self.replace(label, line, s.find, s.replace, s.n)
        return line

    # -- the pass ----------------------------------------------------------------------------

    def run(self) -> str:
        self.scan()
        for index, line in enumerate(self.lines):
            self.out.extend(self.future.get(index, ()))
            if FIELD_LINE.match(line):
                self.field_line(line)
            else:
                self.other_line(index, line)
        return "\n".join(self.out)

    def scan(self) -> None:
        """Longest field name, last Source/Patch field, and where new fields' keys are."""
        keys = [nf.key for nf in self.op.new_field]
        for index, line in enumerate(self.lines):
            if not FIELD_LINE.match(line):
                continue
            name = line.split(":", 1)[0].strip()
            self.longest = max(self.longest, len(name))
            if name.startswith("Source"):
                self.last["Source"] = name
            elif name.startswith("Patch"):
                self.last["Patch"] = name
                self.has_patch = True
            elif name in keys:
                for nf in self.op.new_field:
                    if nf.key == name:
                        self.new_fields.setdefault(name, {})[nf.value] = index
        for nf in self.op.new_field:
            # an absent key keeps its first value only (as srpmproc's map does)
            self.new_fields.setdefault(nf.key, {nf.value: 0})
        for key in dict.fromkeys(keys):
            for value, index in self.new_fields[key].items():
                if index != 0:  # srpmproc's "absent" marker is line 0
                    self.future.setdefault(index + 1, []).append(self.tag(key, value))
                    self.hit_new_field(key, value)

    def hit_new_field(self, key: str, value: str) -> None:
        for i, nf in enumerate(self.op.new_field):
            if (nf.key, nf.value) == (key, value):
                self.hits[f"new_field {i}"] += 1

    def field_line(self, line: str) -> None:
        line = self.line_replace(line)
        name, _, rest = line.partition(":")
        name, value = name.strip(), rest.strip()
        if name == self.last["Source"]:
            self.in_field = "Source"
        elif name == self.last["Patch"]:
            self.in_field = "Patch"
        if name == "Version" and not self.version:
            self.version = value
        for i, s in enumerate(self.op.search_and_replace):
            if s.identifier == "field" and s.field == name:
                value = self.replace(f"search_and_replace {i}", value, s.find, s.replace, s.n)
        for label, a in self.appends:
            if a.field == name:
                value += a.value
                self.hits[label] += 1
                if name == "Release":
                    self.version += a.value
        spaces = self.spaces(len(name))
        value = self.file_tag(name, value, "Source")
        value = self.file_tag(name, value, "Patch")
        if value != "":
            self.out.append(f"{name}:{spaces}{value}")

    def file_tag(self, name: str, value: str, kind: str) -> str:
        """Drop a deleted file's tag; remember the last SourceN/PatchN number."""
        if not name.startswith(kind):
            return value
        for i, f in enumerate(self.op.file):
            if f.type == kind and f.mode == "delete" and f.name == value:
                value = ""
                self.hits[f"file {i}"] += 1
        if name != kind:
            number = name.split(kind)[1]
            if not _NUMBER.match(number):
                raise ConfigError(f"srpmproc cannot number the field {name!r} (INVALID_NUM)")
            self.num[kind] = int(number)
        return value

    def add_tags(self, kind: str) -> bool:
        """At the first non-field line after the last ``kind`` line: the added tags."""
        if self.in_field != kind:
            return False
        for i, f in enumerate(self.op.file):
            if f.type != kind or f.mode != "add":
                continue
            number = self.num[kind] + 1
            self.out.append(self.tag(f"{kind}{number}", f.name))
            self.hits[f"file {i}"] += 1
            if kind == "Patch" and f.add_to_prep:
                value = f"%patch -P{number}" + (f" -p{f.n_path}" if f.n_path > 0 else "")
                self.appends.append((f"prep {i}", SpecAppend(field="%prep", value=value)))
            self.num[kind] += 1
        self.in_field = ""
        return True

    def other_line(self, index: int, line: str) -> None:
        prefix = line.strip()  # the section test looks at the line as read
        if self.add_tags("Source") and not self.has_patch:
            self.out.append("")
            self.in_field = "Patch"
        if self.add_tags("Patch"):
            self.absent_new_fields(index)
            if "%changelog" not in self.text:
                self.out += ["", "%changelog"]
                self.in_section = "%changelog"
        if self.in_section == "%changelog":
            self.changelog_entries()
            self.in_section = ""
        else:
            line = self.line_replace(line)
        if prefix.startswith("%"):
            self.in_section = prefix
            for label, a in self.appends:
                if a.field == prefix:
                    self.schedule_append(index, label, a.value)
        self.out.append(line)

    def absent_new_fields(self, index: int) -> None:
        following = self.lines[index + 1] if index + 1 < len(self.lines) else None
        if following is not None and not following.strip().startswith("%"):
            return
        added = []
        for key in dict.fromkeys(nf.key for nf in self.op.new_field):
            for value, where in self.new_fields[key].items():
                if where == 0:
                    added.append(self.tag(key, value))
                    self.hit_new_field(key, value)
        if added:
            self.out += ["", *added]

    def schedule_append(self, index: int, label: str, value: str) -> None:
        """Before the line that precedes the next main section; else after the next blank."""
        rest = self.lines[index + 1 :]
        at = next((index + i for i, x in enumerate(rest) if x.strip() in SECTIONS), 0)
        if at:
            self.future.setdefault(at, []).append(value)
        else:
            blank = next((index + i + 2 for i, x in enumerate(rest) if x.strip() == ""), 0)
            if not blank:
                return
            self.future.setdefault(blank, []).append(value)
        self.hits[label] += 1

    def changelog_entries(self) -> None:
        for i, entry in enumerate(self.op.changelog):
            self.out.append(
                f"* {self.date} {entry.author_name} <{entry.author_email}> - {self.version}"
            )
            self.out += [f"- {m}" for m in entry.message]
            self.out.append("")
            self.hits[f"changelog {i}"] += 1


def import_version(evr: str) -> str:
    """srpmproc's changelog version: the import name's version-release up to ``.el`` (else
    ``.module``), i.e. without the dist; empty when neither is there."""
    vr = evr.split(":", 1)[-1]
    for cut in (".el", ".module"):
        if cut in vr:
            return vr.split(cut, 1)[0]
    return ""


def _checks(action: SrpmprocSpecChange) -> list[tuple[str, str]]:
    """(op label, expectation) of every operation, in config order."""
    out = [(f"file {i}", f.expect) for i, f in enumerate(action.file)]
    out += [(f"search_and_replace {i}", s.expect) for i, s in enumerate(action.search_and_replace)]
    out += [(f"append {i}", a.expect) for i, a in enumerate(action.append)]
    out += [(f"new_field {i}", n.expect) for i, n in enumerate(action.new_field)]
    return out


def run_srpmproc_spec_change(action: SrpmprocSpecChange, ctx: ActionContext) -> Step:
    """Rewrite the spec as srpmproc's spec_change does; an operation that changed nothing
    (srpmproc accepts that silently) is drift unless its expectation allows it."""
    spec = ctx.spec
    text = spec.read_text(encoding="utf-8", errors="surrogateescape")
    version = action.version
    if version is None:
        try:  # the import name has the upstream dist; ".el" stands in when we do not know it
            version = import_version(query_evr(spec, dist=ctx.dist or ".el", sourcedir=ctx.sources))
        except ElforgeError:
            version = ""  # srpmproc then takes the Version field
    done = SpecPass(text, action, version, changelog_date(action.date))
    new = done.run()
    misses = []
    for label, expect in _checks(action):
        if not Expect.parse(expect).accepts(done.hits[label]):
            misses.append(f"{label} changed {done.hits[label]} place(s), expected {expect}")
    if misses:
        raise Drift("spec_change: " + "; ".join(misses), file=ctx.rel(spec))
    if new == text:
        return Step(note="spec already as srpmproc writes it")
    spec.write_text(new, encoding="utf-8", errors="surrogateescape")
    return Step(changed=1, files=[ctx.rel(spec)], note=f"changelog version {done.version}")
