"""Keep C libraries' own messages off the terminal while they parse input from others.

librpm, createrepo_c (GLib) and libsolv print warnings and errors straight to file
descriptor 2, several lines per problem, beside the one line elforge reports. During a call
wrapped in :func:`captured_stderr`, descriptor 2 points to a temporary file; what the library
said is handed back, so the caller can fold it into its single error line.
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager


class Captured:
    """What a library printed during the call (filled when the ``with`` block ends)."""

    def __init__(self) -> None:
        self.text = ""

    def first_line(self) -> str:
        lines = [line.strip() for line in self.text.splitlines() if line.strip()]
        return lines[0][:200] if lines else ""


@contextmanager
def captured_stderr() -> Iterator[Captured]:
    captured = Captured()
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as sink:
        os.dup2(sink.fileno(), 2)
        try:
            yield captured
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            sink.seek(0)
            captured.text = sink.read(64 << 10).decode("utf-8", "replace")
