"""When each rebuild advisory first became available: a CSV, or an OSV feed's git history.

The rebuild's own ``issued``/``published`` copy the reference date, so they cannot measure
lag.  What can is the moment a record first appeared in the rebuild's public feed: the
commit time of the commit that first added the file (``git log --diff-filter=A``), or a
CSV computed the same way (``file,first_seen`` with ISO 8601 times; ``#`` lines are comments).

Keys are the file's base name without ``.json`` (``ALSA-2024:0003``), which is also the
record id in AlmaLinux's and Rocky's feeds.
"""

from __future__ import annotations

import csv
import shutil
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from elforge.errors import FormatError, ToolError
from elforge.proc import run_command
from elforge.rpm.updateinfo import parse_date


@dataclass
class FirstSeen:
    """First-seen times keyed by record id, with where they came from."""

    times: dict[str, datetime] = field(default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)  # record id -> path as the source named it
    source: str = ""
    history_start: datetime | None = None  # the first commit (git) or earliest time (CSV)
    errors: list[FormatError] = field(default_factory=list)

    def batch_sizes(self) -> Counter[datetime]:
        """How many records share each first-seen time (a bulk import shows as a big batch)."""
        return Counter(self.times.values())


def record_key(name: str) -> str:
    base = name.rsplit("/", 1)[-1]
    return base[:-5] if base.endswith(".json") else base


def read_first_seen_csv(path: Path) -> FirstSeen:
    """Read ``file,first_seen`` rows; a bad row is an error and the rest still count."""
    result = FirstSeen(source=str(path))
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise FormatError(f"cannot read: {exc.strerror}", subject=path) from None
    rows = csv.reader(line for line in text.splitlines() if not line.startswith("#"))
    header = next(rows, None)
    if header is None:
        raise FormatError("empty CSV", subject=path)
    cols = [h.strip().lower() for h in header]
    if "first_seen" not in cols or not ({"file", "id"} & set(cols)):
        raise FormatError("expected a header with 'file' (or 'id') and 'first_seen'", subject=path)
    key_col = cols.index("file") if "file" in cols else cols.index("id")
    time_col = cols.index("first_seen")
    for lineno, row in enumerate(rows, 2):
        if not row:
            continue
        try:
            when = parse_date(row[time_col], subject=f"{path}:{lineno}")
        except (FormatError, IndexError) as exc:
            err = exc if isinstance(exc, FormatError) else FormatError("short row", subject=path)
            result.errors.append(err)
            continue
        key = record_key(row[key_col].strip())
        result.times[key] = when
        result.files[key] = row[key_col].strip()
    if result.times:
        result.history_start = min(result.times.values())
    return result


def read_first_seen_git(repo: Path, *, under: str | None = None) -> FirstSeen:
    """First-add commit time of every ``*.json`` file in ``repo``'s history.

    Uses the committer time (when the commit entered the published history), follows
    no renames (a record moved later keeps the time it first appeared under its name).
    """
    git = shutil.which("git")
    if git is None:
        raise ToolError("git is not installed", subject=repo)
    args = [
        git, "-C", str(repo), "log", "--reverse", "--no-renames", "--diff-filter=A",
        "--format=%x00%cI", "--name-only",
    ]  # fmt: skip
    if under:
        args += ["--", under]
    proc = run_command(args, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise ToolError(f"git log failed: {proc.stderr.strip()}", subject=repo)
    result = FirstSeen(source=f"git:{repo}")
    when: datetime | None = None
    for line in proc.stdout.splitlines():
        if line.startswith("\x00"):
            when = parse_date(line[1:], subject=repo)
            if result.history_start is None:
                result.history_start = when
            continue
        name = line.strip()
        if not name or not name.endswith(".json") or when is None:
            continue
        key = record_key(name)
        if key not in result.times:  # --reverse: the first time we meet it is the first add
            result.times[key] = when
            result.files[key] = name
    first = run_command(
        [git, "-C", str(repo), "log", "--reverse", "--format=%cI", "--max-parents=0"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if first.returncode == 0 and first.stdout.strip():
        result.history_start = parse_date(first.stdout.split()[0], subject=repo)
    return result


def is_git_repo(path: Path) -> bool:
    return (path / ".git").exists()
