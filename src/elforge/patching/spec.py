"""Spec-file editing that makes the minimal change: sections, tags, patch wiring, release.

A spec is handled as a list of lines (without newlines). Functions here find things and
return new line lists; they never evaluate macros except :func:`query_evr`, which asks
``rpmspec`` for the evaluated epoch, version and release.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from elforge.errors import FormatError, ToolError
from elforge.proc import run_command

SECTION_NAMES = (
    "package",
    "description",
    "prep",
    "generate_buildrequires",
    "conf",
    "build",
    "install",
    "check",
    "clean",
    "files",
    "changelog",
    "pre",
    "post",
    "preun",
    "postun",
    "pretrans",
    "posttrans",
    "preuntrans",
    "postuntrans",
    "verifyscript",
    "triggerprein",
    "triggerin",
    "triggerun",
    "triggerpostun",
    "filetriggerin",
    "filetriggerun",
    "filetriggerpostun",
    "transfiletriggerin",
    "transfiletriggerun",
    "transfiletriggerpostun",
    "sepolicy",
)
_SECTION_RE = re.compile(r"^%(" + "|".join(SECTION_NAMES) + r")(?=\s|$)(.*)$")
_TAG_RE = re.compile(r"^(Source|Patch)(\d*)(\s*:\s*)(\S.*?)\s*$", re.IGNORECASE)
_RELEASE_RE = re.compile(r"^(Release\s*:\s*)(.*?)(\s*)$", re.IGNORECASE)
_PATCH_NUM_RE = re.compile(r"^%patch(\d+)\b")
_PATCH_P_RE = re.compile(r"^%patch\b.*?-P\s*(\d+)")
_PATCH_BARE_RE = re.compile(r"^%patch\s+(?:-\S+\s+)*(\d+)\b")
_KERNEL_RE = re.compile(r"^\s*(ApplyOptionalPatch|ApplyPatch)\s+(\S+)")


def find_spec(tree: Path) -> Path:
    """The one spec of a package tree: at the root (dist-git) or under SPECS/ (exploded)."""
    specs = sorted(tree.glob("*.spec")) + sorted((tree / "SPECS").glob("*.spec"))
    if not specs:
        raise FormatError("no .spec file at the top or under SPECS/", subject=tree)
    if len(specs) > 1:
        names = ", ".join(str(p.relative_to(tree)) for p in specs)
        raise FormatError(f"more than one spec file: {names}", subject=tree)
    return specs[0]


def sources_dir(tree: Path) -> Path:
    """Where sources and patches live: SOURCES/ in the exploded layout, else the root."""
    return tree / "SOURCES" if (tree / "SPECS").is_dir() else tree


def read_lines(path: Path) -> tuple[list[str], bool]:
    """A text file as lines, and whether it ended with a newline."""
    text = path.read_text(encoding="utf-8", errors="surrogateescape")
    return text.split("\n")[:-1] if text.endswith("\n") else text.split("\n"), text.endswith("\n")


def write_lines(path: Path, lines: list[str], trailing_newline: bool = True) -> None:
    text = "\n".join(lines) + ("\n" if trailing_newline else "")
    path.write_text(text, encoding="utf-8", errors="surrogateescape")


def is_comment(line: str) -> bool:
    return line.lstrip().startswith("#")


def changelog_index(lines: list[str]) -> int:
    """Index of the %changelog line, or len(lines) when there is none."""
    for i, line in enumerate(lines):
        if line.rstrip() == "%changelog" or line.startswith("%changelog "):
            return i
    return len(lines)


@dataclass(frozen=True)
class Section:
    name: str  # "preamble" for the main preamble
    args: str  # the header's arguments, e.g. "-n foo" or "devel"
    start: int  # header line (or 0 for the preamble)
    end: int  # first line after the section


def sections(lines: list[str]) -> list[Section]:
    """The spec's sections in order, the main preamble first."""
    heads: list[tuple[int, str, str]] = []
    for i, line in enumerate(lines):
        m = _SECTION_RE.match(line)
        if m:
            heads.append((i, m[1], m[2].strip()))
            if m[1] == "changelog":
                break
    out = [Section("preamble", "", 0, heads[0][0] if heads else len(lines))]
    for k, (i, name, args) in enumerate(heads):
        end = heads[k + 1][0] if k + 1 < len(heads) else len(lines)
        out.append(Section(name, args, i, end))
    return out


def _subpackage_of(args: str) -> str | None:
    """The subpackage a section header names: '-n foo' → 'foo', 'devel' → 'devel'."""
    words = [w for w in args.split() if not w.startswith("-") or w == "-n"]
    if not words:
        return None
    if words[0] == "-n" and len(words) > 1:
        return words[1]
    return None if words[0] == "-n" else words[0]


def find_section(lines: list[str], name: str, subpackage: str | None = None) -> Section | None:
    """The section called ``name`` (of ``subpackage``, or of the main package)."""
    name = name.lstrip("%")
    if name in ("global", "preamble"):
        if subpackage is None:
            return sections(lines)[0]
        name = "package"
    for sec in sections(lines)[1:]:
        if sec.name != name:
            continue
        sub = _subpackage_of(sec.args)
        if subpackage is None and sub is None:
            return sec
        if subpackage is not None and sub is not None:
            short = subpackage.split("-", 1)[1] if "-" in subpackage else subpackage
            if sub in (subpackage, short):
                return sec
    return None


def last_content_line(lines: list[str], sec: Section) -> int:
    """Index of the last non-blank line of a section (the header when it is empty)."""
    for i in range(sec.end - 1, sec.start, -1):
        if lines[i].strip():
            return i
    return sec.start


@dataclass(frozen=True)
class Tag:
    kind: str  # "source" or "patch"
    number: int
    value: str
    index: int


def tags(lines: list[str]) -> list[Tag]:
    """SourceN:/PatchN: lines before %changelog (a tag without a number is number 0)."""
    out = []
    for i, line in enumerate(lines[: changelog_index(lines)]):
        m = _TAG_RE.match(line)
        if m:
            out.append(Tag(m[1].lower(), int(m[2] or 0), m[4], i))
    return out


def next_number(lines: list[str], kind: str) -> int:
    nums = [t.number for t in tags(lines) if t.kind == kind]
    return max(nums) + 1 if nums else 0


def insert_tag(lines: list[str], kind: str, number: int, value: str) -> list[str]:
    """Add ``SourceN: value`` or ``PatchN: value`` after the last tag of that kind."""
    existing = tags(lines)
    if any(t.kind == kind and t.number == number for t in existing):
        raise FormatError(f"{kind.capitalize()}{number} is already defined in the spec")
    same = [t for t in existing if t.kind == kind]
    anchor = same[-1] if same else (existing[-1] if existing else None)
    label = f"{kind.capitalize()}{number}:"
    if anchor is not None:
        ref = lines[anchor.index]
        col = ref.find(anchor.value, ref.find(":"))
        new = label.ljust(max(col, len(label) + 1)) + value
        pos = anchor.index + 1
    else:
        pre = sections(lines)[0]
        pos = last_content_line(lines, pre) + 1 if pre.end > 0 else 0
        new = f"{label} {value}"
    return [*lines[:pos], new, *lines[pos:]]


def remove_tag(lines: list[str], kind: str, value: str) -> tuple[list[str], int | None]:
    """Drop the tag line whose value (or its basename) is ``value``; return its number."""
    for t in tags(lines):
        if t.kind == kind and (t.value == value or t.value.rsplit("/", 1)[-1] == value):
            return [*lines[: t.index], *lines[t.index + 1 :]], t.number
    return lines, None


@dataclass(frozen=True)
class PatchStyle:
    """How the spec applies patches."""

    kind: str  # autosetup | autopatch | patchN | patch-P | patch-bare | kernel | setup | none
    anchor: int | None  # line after which a new apply line goes
    template: str = ""  # for kernel: the macro name

    @property
    def automatic(self) -> bool:
        return self.kind in ("autosetup", "autopatch")


def patch_style(lines: list[str]) -> PatchStyle:
    """Detect the patch-apply style of %prep (or the kernel's ApplyOptionalPatch)."""
    prep = find_section(lines, "prep")
    if prep is None:
        return PatchStyle("none", None)
    body = range(prep.start + 1, prep.end)
    last_patch: tuple[int, str] | None = None
    kernel: tuple[int, str] | None = None
    setup: int | None = None
    for i in body:
        line = lines[i].strip()
        if line.startswith("%autosetup") and not re.search(r"(^|\s)-N(\s|$)", line):
            return PatchStyle("autosetup", i)
        if line.startswith("%autopatch"):
            return PatchStyle("autopatch", i)
        if _PATCH_NUM_RE.match(line):
            last_patch = (i, "patchN")
        elif _PATCH_P_RE.match(line):
            last_patch = (i, "patch-P")
        elif _PATCH_BARE_RE.match(line):
            last_patch = (i, "patch-bare")
        elif m := _KERNEL_RE.match(lines[i]):
            kernel = (i, m[1])
        elif line.startswith(("%setup", "%autosetup")):
            setup = i
    if kernel is not None:
        return PatchStyle("kernel", kernel[0], kernel[1])
    if last_patch is not None:
        return PatchStyle(last_patch[1], last_patch[0])
    if setup is not None:
        return PatchStyle("setup", setup)
    return PatchStyle("none", last_content_line(lines, prep))


def apply_line(
    style: PatchStyle, number: int, filename: str, strip: int, backup: str | None
) -> str:
    """The %prep line that applies patch ``number`` in the spec's own style."""
    if style.kind == "kernel":
        return f"{style.template} {filename}"
    opts = f" -p{strip}" + (f" -b {backup}" if backup else "")
    if style.kind == "patchN":
        return f"%patch{number}{opts}"
    if style.kind == "patch-bare":
        return f"%patch {number}{opts}"
    return f"%patch -P {number}{opts}"


def wire_patch(
    lines: list[str],
    number: int,
    filename: str,
    strip: int,
    backup: str | None,
    mode: str,
) -> tuple[list[str], str]:
    """Make %prep apply a new patch; return the lines and what was done (for the report)."""
    if mode == "none":
        return lines, "not wired (wire: none)"
    prep = find_section(lines, "prep")
    if prep is None:
        raise FormatError("the spec has no %prep section to apply the patch in")
    if mode == "prep-bottom":
        new = f"%patch{number}" + (f" -p{strip}" if strip > 0 else "")
        pos = last_content_line(lines, prep) + 1
        return [*lines[:pos], new, *lines[pos:]], "appended to the end of %prep"
    style = patch_style(lines)
    if style.automatic:
        return lines, f"applied by %{style.kind}"
    new = apply_line(style, number, filename, strip, backup)
    indent = ""
    if style.anchor is not None and style.kind == "kernel":
        anchor_line = lines[style.anchor]
        indent = anchor_line[: len(anchor_line) - len(anchor_line.lstrip())]
    pos = (style.anchor if style.anchor is not None else prep.start) + 1
    return [*lines[:pos], indent + new, *lines[pos:]], f"wired with '{new}'"


def unwire_patch(lines: list[str], number: int, filename: str) -> list[str]:
    """Remove the %prep line that applies patch ``number`` (or file ``filename``)."""
    prep = find_section(lines, "prep")
    if prep is None:
        return lines
    out = list(lines)
    for i in range(prep.end - 1, prep.start, -1):
        line = lines[i].strip()
        m = _PATCH_NUM_RE.match(line) or _PATCH_P_RE.match(line) or _PATCH_BARE_RE.match(line)
        k = _KERNEL_RE.match(lines[i])
        if (m and int(m[1]) == number) or (k and k[2] == filename):
            del out[i]
    return out


# --- release --------------------------------------------------------------------------

_AUTORELEASE_RE = re.compile(r"^%(?:\{autorelease(?P<args1>[^}]*)\}|autorelease(?P<args2>.*))$")


def release_index(lines: list[str]) -> int:
    pre = sections(lines)[0]
    for i in range(pre.start, pre.end):
        if _RELEASE_RE.match(lines[i]) and not is_comment(lines[i]):
            return i
    raise FormatError("no Release: tag in the main preamble")


def release_value(lines: list[str]) -> str:
    m = _RELEASE_RE.match(lines[release_index(lines)])
    assert m is not None
    return m[2]


def set_release(lines: list[str], value: str) -> list[str]:
    i = release_index(lines)
    m = _RELEASE_RE.match(lines[i])
    assert m is not None
    out = list(lines)
    out[i] = m[1] + value
    return out


def add_release_suffix(value: str, suffix: str) -> str:
    """Append ``suffix`` to a Release value; %autorelease becomes %{autorelease ARGS}SUFFIX."""
    m = _AUTORELEASE_RE.match(value.strip())
    if m:
        args = (m["args1"] or m["args2"] or "").strip()
        return "%{autorelease" + (f" {args}" if args else "") + "}" + suffix
    return value + suffix


# --- evaluation ------------------------------------------------------------------------


def query_evr(spec: Path, *, dist: str | None = None, sourcedir: Path | None = None) -> str:
    """The spec's evaluated [epoch:]version-release, from ``rpmspec -q --srpm``."""
    cmd = ["rpmspec", "-q", "--srpm", "--qf", "%{epoch}:%{version}-%{release}\\n"]
    if dist is not None:
        cmd += ["--define", f"dist {dist}"]
    if sourcedir is not None:
        cmd += ["--define", f"_sourcedir {sourcedir}"]
    cmd.append(str(spec))
    try:
        res = run_command(cmd, capture_output=True, text=True, timeout=120, check=False)
    except FileNotFoundError:
        raise ToolError("rpmspec is not installed", subject=spec) from None
    if res.returncode != 0:
        msg = res.stderr.strip().splitlines()
        raise FormatError(f"rpmspec cannot parse it: {msg[-1] if msg else 'failed'}", subject=spec)
    first = res.stdout.strip().splitlines()[0]
    epoch, _, vr = first.partition(":")
    return vr if epoch in ("(none)", "0", "") else f"{epoch}:{vr}"


def uses_autochangelog(lines: list[str]) -> bool:
    i = changelog_index(lines)
    return any(line.strip() in ("%autochangelog", "%{autochangelog}") for line in lines[i:])
