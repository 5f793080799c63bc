"""The error types every layer raises: each names the file (or subject) and the problem."""

from __future__ import annotations

import reprlib
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

SHOWN_CHARS = 80  # the most of a value from someone else's file an error ever echoes
MESSAGE_CHARS = 1000  # and the most any one error line says

_REPR = reprlib.Repr()
_REPR.maxstring = _REPR.maxother = SHOWN_CHARS
_REPR.maxlevel, _REPR.maxlist, _REPR.maxtuple, _REPR.maxdict = 3, 6, 6, 6


def shown(value: object) -> str:
    """``repr`` of a value for an error message, bounded however large or deep the value."""
    text = _REPR.repr(value)
    return text if len(text) <= SHOWN_CHARS + 20 else text[: SHOWN_CHARS + 17] + "..."


def bounded(text: str, limit: int = MESSAGE_CHARS) -> str:
    """One line of at most ``limit`` characters: newlines folded, the rest cut with '…'."""
    line = " ".join(text.split("\n")).replace("\r", " ")
    return line if len(line) <= limit else line[: limit - 1] + "…"


class ElforgeError(Exception):
    """Base class: an expected failure that the CLI reports as one clear line."""

    def __init__(self, message: str, *, subject: str | Path | None = None) -> None:
        self.subject = str(subject) if subject is not None else None
        self.problem = bounded(message)
        super().__init__(f"{self.subject}: {self.problem}" if self.subject else self.problem)


class FormatError(ElforgeError):
    """Malformed input: an RPM, ELF, spec, config, metadata file or advisory."""


class UnsafePayloadError(FormatError):
    """A payload member that would escape the target directory or is otherwise refused."""


class ChecksumError(ElforgeError):
    """Content whose digest does not match what its metadata promised."""


class FetchError(ElforgeError):
    """A remote that could not be reached or answered with an error."""


class ConfigError(ElforgeError):
    """A workspace or patch configuration that does not validate."""


class ToolError(ElforgeError):
    """An external tool (rpmbuild, abidiff, git…) that is missing or failed."""


class StoreError(ElforgeError):
    """The state database cannot be opened, migrated or written (corrupt, read-only, full)."""


# What a parser raises when a file has the wrong shape: a value of the wrong type where a
# mapping or a list was expected, a missing key, bytes that are not text, a damaged stream.
MALFORMED = (AttributeError, TypeError, LookupError, ValueError, RecursionError, zlib.error,
             EOFError)  # fmt: skip


@contextmanager
def format_boundary(subject: str | Path, what: str = "content") -> Iterator[None]:
    """Where a file enters a parser: malformed input becomes one FormatError naming the file.

    Parsers validate what they can; this catches the rest (type confusion deep in a record)
    so one bad file is one line, and the caller's loop goes on with the next file.
    """
    try:
        yield
    except ElforgeError:
        raise
    except UnicodeDecodeError as exc:
        raise FormatError(f"not valid UTF-8 (byte {exc.start})", subject=subject) from None
    except MALFORMED as exc:
        raise FormatError(
            f"malformed {what} ({type(exc).__name__}: {bounded(str(exc), 160)})", subject=subject
        ) from None
    except OSError as exc:
        raise FormatError(f"cannot read: {exc.strerror or exc}", subject=subject) from None
