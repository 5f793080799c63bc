"""elforge's native patch-config format: pydantic models and the YAML loader.

One YAML file per package holds an ordered list of actions. Every action says how many
places it must change (``expect``) and why it exists (``reason``); a config that does not
validate is one :class:`ConfigError` naming the file, the action index and the key.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, field_validator

from elforge.errors import ConfigError, FormatError, bounded, shown
from elforge.yamlsafe import load_no_alias

Category = Literal["branding", "certificates", "os-detection", "arch-enablement", "bugfix", "other"]

_RANGE = re.compile(r"^\s*(\d+)\s*\.\.\s*(\d+)\s*$")
_ATLEAST = re.compile(r"^\s*>=\s*(\d+)\s*$")
_EXACT = re.compile(r"^\s*(\d+)\s*$")


@dataclass(frozen=True)
class Expect:
    """How many places an action must change: exactly N, at least N, or A..B."""

    low: int
    high: int | None  # None: no upper bound

    @classmethod
    def parse(cls, value: int | str) -> Expect:
        if isinstance(value, bool):
            raise ValueError("expect must be N, '>=N' or 'A..B'")
        if isinstance(value, int):
            if value < 0:
                raise ValueError("expect must not be negative")
            return cls(value, value)
        if m := _EXACT.match(value):
            return cls(int(m[1]), int(m[1]))
        if m := _ATLEAST.match(value):
            return cls(int(m[1]), None)
        if m := _RANGE.match(value):
            low, high = int(m[1]), int(m[2])
            if low > high:
                raise ValueError(f"empty range {shown(value)}")
            return cls(low, high)
        raise ValueError(f"expect must be N, '>=N' or 'A..B', got {shown(value)}")

    def accepts(self, n: int) -> bool:
        return n >= self.low and (self.high is None or n <= self.high)

    def __str__(self) -> str:
        if self.high is None:
            return f">={self.low}"
        if self.low == self.high:
            return str(self.low)
        return f"{self.low}..{self.high}"


class Reason(BaseModel):
    model_config = ConfigDict(extra="forbid")
    category: Category
    text: str = ""


class _Action(BaseModel):
    model_config = ConfigDict(extra="forbid")
    expect: int | str = 1
    reason: Reason
    # where the action came from: "elforge", "autopatch" or "srpmproc" (set by readers)
    origin: Literal["elforge", "autopatch", "srpmproc"] = "elforge"

    @field_validator("expect")
    @classmethod
    def _check_expect(cls, v: int | str) -> int | str:
        Expect.parse(v)
        return v

    @property
    def expectation(self) -> Expect:
        return Expect.parse(self.expect)


class Replace(_Action):
    action: Literal["replace"]
    files: list[str]
    find: str
    replace: str
    regex: bool = False
    # per-line matching modes srpmproc's search_and_replace needs; "text" is a plain search
    match: Literal["text", "field", "starts_with", "ends_with", "line"] = "text"
    field: str | None = None  # for match: field (a spec tag such as Release)
    count: int = -1  # at most this many replacements per file (-1: all)
    per_line: int = -1  # at most this many per line (srpmproc's n)
    include_comments: bool = False
    include_changelog: bool = False

    @field_validator("find")
    @classmethod
    def _nonempty(cls, v: str) -> str:
        if v == "":
            raise ValueError("find must not be empty")
        return v


class DeleteLine(_Action):
    action: Literal["delete_line"]
    files: list[str]
    lines: list[str]
    include_comments: bool = False


class AddLine(_Action):
    action: Literal["add_line"]
    file: str = "spec"
    section: str  # preamble, prep, build, install, files, post, ..., description
    location: Literal["top", "bottom"] = "bottom"
    content: str
    subpackage: str | None = None


class AddPatch(_Action):
    action: Literal["add_patch"]
    # relative to the config's base folder; None: the file 'name' is already in the tree
    patch: str | None = None
    name: str | None = None  # file name in the tree (default: the patch's own name)
    number: int | Literal["auto"] = "auto"
    strip: int = 1
    spec: bool = True  # add the PatchN: tag
    wire: Literal["auto", "none", "prep-bottom"] = "auto"
    backup: str | None = None  # -b suffix on a %patch line


class AddSource(_Action):
    action: Literal["add_source"]
    source: str | None = None  # relative to the config's base folder; None: 'name' in tree
    # or a blob of the lookaside store by its digest (srpmproc's add { lookaside }): the
    # file then goes to the lookaside too, as srpmproc does not commit it
    lookaside: str | None = None
    name: str | None = None
    number: int | Literal["auto"] = "auto"
    spec: bool = True


class RemoveSource(_Action):
    action: Literal["remove_source", "remove_patch"]
    file: str  # file name (searched in the tree) or tree-relative path
    spec: bool = True  # drop its SourceN:/PatchN: tag
    unwire: bool = True  # and the %prep line that applies it
    delete_file: bool = True


class ReplaceSource(_Action):
    action: Literal["replace_source"]
    file: str  # tree-relative path, or a file name found in the tree
    with_file: str | None = None  # relative to the config's base folder
    with_inline: str | None = None
    with_lookaside: str | None = None  # a blob of the lookaside store, by its digest


class ApplyDiff(_Action):
    action: Literal["apply_diff"]
    diff: str  # relative to the config's base folder
    strip: int = 1
    # srpmproc's non-strict mode: paths outside SOURCES/ and SPECS/ are taken under SOURCES/
    sources_prefix: bool = False


class ReleaseSuffix(_Action):
    action: Literal["release_suffix"]
    suffix: str  # ".exl" (auto-numbered) or ".exl.1"
    number: int | Literal["auto", "none"] = "auto"
    start: int = 1  # first iteration when numbering automatically


class AddTag(_Action):
    action: Literal["add_tag"]
    tag: str  # e.g. Provides, Obsoletes (not Source/Patch: use add_source/add_patch)
    value: str


class Changelog(_Action):
    action: Literal["changelog"]
    author: str
    text: str | list[str]
    date: str | None = None  # "Thu Nov 26 2026"; default: today (or SOURCE_DATE_EPOCH)
    dist: str | None = None  # %{dist} used when evaluating the EVR; default: the spec's own


class RunScript(_Action):
    action: Literal["run_script"]
    script: str  # relative to the config's base folder
    cwd: Literal["tree", "config"] = "tree"


class LookasideStore(_Action):
    action: Literal["lookaside"]
    files: list[str]
    tar: bool = False
    archive_name: str | None = None
    # srpmproc: the files come from the patch repository (the config's folder), not the tree
    from_patch_tree: bool = False
    keep_files: bool = False  # with tar: the packed files stay in the tree (srpmproc does)


class SpecFileOp(BaseModel):
    """srpmproc's FileOperation: add or delete a SourceN:/PatchN: tag (never the file)."""

    model_config = ConfigDict(extra="forbid")
    name: str
    type: Literal["Source", "Patch"]
    mode: Literal["add", "delete"]
    add_to_prep: bool = False  # Patch only: a "%patch -PN" line at the end of %prep
    n_path: int = 0  # its -pN (0: none)
    expect: str = "1"


class SpecSearchReplace(BaseModel):
    """srpmproc's SearchAndReplaceOperation (``n``: Go's strings.Replace count; 0 = none)."""

    model_config = ConfigDict(extra="forbid")
    identifier: Literal["field", "any", "starts_with", "ends_with"]
    field: str = ""
    find: str
    replace: str = ""
    n: int = 0
    expect: str = ">=1"  # stricter than srpmproc: replacing nothing is drift


class SpecAppend(BaseModel):
    model_config = ConfigDict(extra="forbid")
    field: str  # a tag such as Release, or a section line such as %build
    value: str = ""
    expect: str = ">=1"  # a field may have several lines (subpackages)


class SpecNewField(BaseModel):
    model_config = ConfigDict(extra="forbid")
    key: str
    value: str = ""
    expect: str = "1"


class SpecChangelogEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")
    author_name: str = ""
    author_email: str = ""
    message: list[str] = Field(default_factory=list)


class SrpmprocSpecChange(_Action):
    """srpmproc's spec_change, done the way srpmproc does it: one pass that also re-aligns
    every ``Field:`` line (``disable_auto_align``: one space). See srpmproc_spec.py."""

    action: Literal["srpmproc_spec_change"]
    file: list[SpecFileOp] = Field(default_factory=list)
    changelog: list[SpecChangelogEntry] = Field(default_factory=list)
    search_and_replace: list[SpecSearchReplace] = Field(default_factory=list)
    append: list[SpecAppend] = Field(default_factory=list)
    new_field: list[SpecNewField] = Field(default_factory=list)
    disable_auto_align: bool = False
    date: str | None = None  # changelog date; default: today (or SOURCE_DATE_EPOCH)
    version: str | None = None  # changelog version; default: the import name's, see docs


Action = Annotated[
    Replace
    | DeleteLine
    | AddLine
    | AddPatch
    | AddSource
    | RemoveSource
    | ReplaceSource
    | ApplyDiff
    | ReleaseSuffix
    | AddTag
    | Changelog
    | RunScript
    | LookasideStore
    | SrpmprocSpecChange,
    Field(discriminator="action"),
]

ACTION_NAMES = (
    "replace",
    "delete_line",
    "add_line",
    "add_patch",
    "add_source",
    "remove_source",
    "remove_patch",
    "replace_source",
    "apply_diff",
    "release_suffix",
    "add_tag",
    "changelog",
    "run_script",
    "lookaside",
    "srpmproc_spec_change",
)

# actions whose change count depends on the upstream: the native format wants their
# ``expect`` written out; the others change exactly one thing and default to 1
VARIABLE_COUNT = ("replace", "delete_line", "apply_diff", "run_script", "lookaside")

_ACTION_ADAPTER: TypeAdapter[Any] = TypeAdapter(Action)


class ConfigNotice(BaseModel):
    """Something in a config the reader skipped (e.g. a srpmproc field elforge does not know):
    reported as a finding to verify, while the rest of the config applies."""

    model_config = ConfigDict(extra="forbid")
    file: str
    line: int
    problem: str


class PatchConfig(BaseModel):
    """A package's translated config: what the engine runs, whatever format it came from."""

    model_config = ConfigDict(extra="forbid")
    package: str | None = None
    allow_scripts: bool = False
    actions: list[Action] = Field(default_factory=list)
    # not from YAML: set by the loader
    format: str = "elforge"
    path: str = ""
    base_dir: str = ""
    notices: list[ConfigNotice] = Field(default_factory=list)


def explain_action_error(exc: ValidationError, index: int, action: Any) -> str:
    """One line for the first problem of action ``index``: the key and what is wrong."""
    name = action.get("action") if isinstance(action, dict) else None
    known = isinstance(name, str) and name in ACTION_NAMES
    label = f"action {index}" + (f" ({name})" if known else "")
    parts = []
    for err in exc.errors():
        loc = [str(p) for p in err["loc"]]
        # the discriminator tag is the first location element for union members
        if loc and loc[0] in ACTION_NAMES:
            loc = loc[1:]
        key = ".".join(loc) or "action"
        if err["type"] == "union_tag_invalid":
            parts.append(
                f"unknown action {shown(err.get('input', {}).get('action'))}"
                f" (known: {', '.join(ACTION_NAMES)})"
                if isinstance(err.get("input"), dict)
                else f"unknown action (known: {', '.join(ACTION_NAMES)})"
            )
        elif err["type"] == "union_tag_not_found":
            parts.append("missing key 'action'")
        elif err["type"] == "extra_forbidden":
            parts.append(f"unknown key '{key}'")
        elif err["type"] == "missing":
            parts.append(f"missing key '{key}'")
        else:
            parts.append(f"key '{key}': {bounded(err['msg'])} (got {shown(err.get('input'))})")
    return f"{label}: " + "; ".join(parts)


def build_config(data: Any, *, path: Path, base_dir: Path, fmt: str = "elforge") -> PatchConfig:
    """Validate a parsed native document (or a reader's translation) into a PatchConfig."""
    if not isinstance(data, dict):
        raise ConfigError("expected a mapping with 'actions'", subject=path)
    unknown = set(data) - {"package", "allow_scripts", "actions"}
    if unknown:
        raise ConfigError(f"unknown top-level key '{sorted(unknown)[0]}'", subject=path)
    raw_actions = data.get("actions") or []
    if not isinstance(raw_actions, list):
        raise ConfigError("key 'actions': expected a list", subject=path)
    actions = []
    for index, raw in enumerate(raw_actions):
        if not isinstance(raw, dict):
            raise ConfigError(f"action {index}: expected a mapping", subject=path)
        if fmt == "elforge" and raw.get("action") in VARIABLE_COUNT and "expect" not in raw:
            raise ConfigError(
                f"action {index} ({raw['action']}): missing key 'expect' "
                "(this action changes a variable number of places: say how many)",
                subject=path,
            )
        try:
            actions.append(_ACTION_ADAPTER.validate_python(raw))
        except ValidationError as exc:
            raise ConfigError(explain_action_error(exc, index, raw), subject=path) from None
    package = data.get("package")
    if package is not None and not isinstance(package, str):
        raise ConfigError(f"key 'package': expected a string, got {shown(package)}", subject=path)
    allow = data.get("allow_scripts", False)
    if not isinstance(allow, bool):
        raise ConfigError(
            f"key 'allow_scripts': expected true or false, got {shown(allow)}", subject=path
        )
    for index, action in enumerate(actions):
        if isinstance(action, Replace) and action.regex:
            try:
                re.compile(action.find, re.MULTILINE)
            except re.error as exc:
                raise ConfigError(
                    f"action {index} (replace): key 'find': "
                    f"regular expression does not compile: {exc}",
                    subject=path,
                ) from None
        if isinstance(action, AddPatch | AddSource):
            given = action.patch if isinstance(action, AddPatch) else action.source
            if isinstance(action, AddSource) and action.lookaside and not action.name:
                given = action.lookaside
            if given is None and not action.name:
                raise ConfigError(
                    f"action {index} ({action.action}): "
                    "give the file to add or its 'name' in the tree",
                    subject=path,
                )
        if isinstance(action, ReplaceSource) and (
            [action.with_file, action.with_inline, action.with_lookaside].count(None) != 2
        ):
            raise ConfigError(
                f"action {index} (replace_source): "
                "give exactly one of 'with_file', 'with_inline' and 'with_lookaside'",
                subject=path,
            )
    return PatchConfig(
        package=package,
        allow_scripts=allow,
        actions=actions,
        format=fmt,
        path=str(path),
        base_dir=str(base_dir),
    )


def load_yaml(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError("no such file", subject=path) from None
    except UnicodeDecodeError:
        raise ConfigError("not UTF-8 text", subject=path) from None
    try:
        return load_no_alias(text, subject=path)
    except FormatError as exc:
        raise ConfigError(exc.problem, subject=path) from None


def load_native(path: Path) -> PatchConfig:
    """Read one elforge YAML config; files it names are relative to its folder."""
    return build_config(load_yaml(path), path=path, base_dir=path.parent)
