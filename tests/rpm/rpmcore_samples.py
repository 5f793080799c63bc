"""The real RPMs of the shared test data that the rpm format tests run over."""

from __future__ import annotations

from pathlib import Path

from helpers import TESTDATA


def rpm_files(*folders: str) -> list[Path]:
    """Every ``*.rpm`` under the given test data folders (recursively), sorted."""
    found: list[Path] = []
    for folder in folders:
        found.extend(sorted((TESTDATA / folder).glob("**/*.rpm")))
    return found


def rpm_id(path: Path) -> str:
    return str(path.relative_to(TESTDATA))


HEADER_RPMS = rpm_files("rpms", "abi")
PAYLOAD_RPMS = rpm_files("rpms/payload-variants", "rpms/signed", "abi")
