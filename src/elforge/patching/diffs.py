"""Unified diffs: read their file names and hunks, refuse unsafe paths, run GNU patch.

Patches run with ``--fuzz=0``: a hunk that needs fuzz is drift, not a success.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from elforge.errors import ConfigError, ToolError
from elforge.patching.drift import nearest_match
from elforge.proc import run_command

_HUNK = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")
_FAILED = re.compile(r"Hunk #(\d+) FAILED")
_FILE = re.compile(r"^(?:patching|checking) file (.+)$")


@dataclass
class Hunk:
    old_start: int
    lines: list[str] = field(default_factory=list)

    @property
    def old_text(self) -> str:
        """The lines the hunk expects to find (context and removed lines)."""
        return "\n".join(x[1:] for x in self.lines if x[:1] in (" ", "-"))


@dataclass
class FilePatch:
    old: str
    new: str
    hunks: list[Hunk] = field(default_factory=list)


def _name(raw: str) -> str:
    name = raw.split("\t", 1)[0].strip()
    if name.startswith('"') and name.endswith('"'):
        name = name[1:-1]
    return name


def parse_diff(text: str) -> list[FilePatch]:
    files: list[FilePatch] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("--- ") and i + 1 < len(lines) and lines[i + 1].startswith("+++ "):
            files.append(FilePatch(_name(line[4:]), _name(lines[i + 1][4:])))
            i += 2
            continue
        m = _HUNK.match(line)
        if m and files:
            hunk = Hunk(int(m[1]))
            old_left = int(m[2]) if m[2] is not None else 1
            new_left = int(m[4]) if m[4] is not None else 1
            i += 1
            while i < len(lines) and (old_left > 0 or new_left > 0):
                h = lines[i]
                if h.startswith("\\"):
                    i += 1
                    continue
                tag = h[:1] or " "
                if tag == " ":
                    old_left -= 1
                    new_left -= 1
                elif tag == "-":
                    old_left -= 1
                elif tag == "+":
                    new_left -= 1
                else:
                    break
                hunk.lines.append(h if h else " ")
                i += 1
            files[-1].hunks.append(hunk)
            continue
        i += 1
    return files


def stripped(name: str, strip: int) -> str | None:
    if name == "/dev/null":
        return None
    parts = PurePosixPath(name).parts
    return "/".join(parts[strip:]) if len(parts) > strip else None


def check_paths(path: Path, text: str, strip: int) -> list[FilePatch]:
    """Parse a diff and refuse absolute or '..' paths (after stripping ``strip`` parts)."""
    files = parse_diff(text)
    if not files:
        raise ConfigError("not a unified diff (no ---/+++ file headers)", subject=path)
    for fp in files:
        for raw in (fp.old, fp.new):
            if raw == "/dev/null":
                continue
            parts = PurePosixPath(raw).parts
            if (raw.startswith("/") and strip == 0) or ".." in parts:
                raise ConfigError(
                    f"diff touches '{raw}', outside the tree ('..' or absolute path)", subject=path
                )
    return files


def run_patch(diff: Path, cwd: Path, strip: int, *, dry_run: bool) -> tuple[bool, str]:
    cmd = [
        "patch",
        f"-p{strip}",
        "--fuzz=0",
        "--batch",
        "--forward",
        "--no-backup-if-mismatch",
        "-r",
        "-",
        "-i",
        str(diff),
    ]
    if dry_run:
        cmd.insert(1, "--dry-run")
    try:
        res = run_command(cmd, cwd=cwd, capture_output=True, text=True, timeout=300, check=False)
    except FileNotFoundError:
        raise ToolError("GNU patch is not installed") from None
    return res.returncode == 0, (res.stdout + res.stderr).strip()


def failure_excerpt(
    files: list[FilePatch], output: str, base: Path, strip: int
) -> tuple[str, str, str]:
    """(file, problem, nearest match) for the first hunk GNU patch rejected."""
    current = None
    for line in output.splitlines():
        if m := _FILE.match(line.strip()):
            current = m[1].strip()
        elif (m := _FAILED.search(line)) and current is not None:
            number = int(m[1])
            for fp in files:
                if current in (stripped(fp.new, strip), stripped(fp.old, strip)) and number <= len(
                    fp.hunks
                ):
                    hunk = fp.hunks[number - 1]
                    target = base / current
                    text = (
                        target.read_text(encoding="utf-8", errors="replace")
                        if target.is_file()
                        else ""
                    )
                    wanted = hunk.old_text
                    near = nearest_match(wanted, text, cutoff=0.3) if text else ""
                    return (
                        current,
                        f"hunk #{number} (at line {hunk.old_start}) does not apply with fuzz 0",
                        near,
                    )
            return current, f"hunk #{number} does not apply with fuzz 0", ""
        elif "can't find file to patch" in line or "No such file" in line:
            return current or "?", "file to patch not found", ""
    last = output.strip().splitlines()[-1] if output.strip() else "patch failed"
    return current or "?", last, ""
