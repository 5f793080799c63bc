"""The error types every layer raises: each names the file (or subject) and the problem."""

from __future__ import annotations

from pathlib import Path


class ElforgeError(Exception):
    """Base class: an expected failure that the CLI reports as one clear line."""

    def __init__(self, message: str, *, subject: str | Path | None = None) -> None:
        self.subject = str(subject) if subject is not None else None
        self.problem = message
        super().__init__(f"{self.subject}: {message}" if self.subject else message)


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
