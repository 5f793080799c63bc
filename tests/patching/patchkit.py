"""Helpers for the patching tests: build trees from dicts, snapshot trees, write configs."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parent / "data"


def write_tree(root: Path, files: dict[str, str]) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for rel, text in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text, encoding="utf-8")
    return root


def snapshot(root: Path) -> dict[str, str]:
    out = {}
    for p in sorted(root.rglob("*")):
        rel = p.relative_to(root)
        if p.is_file() and rel.parts[0] != ".git":
            out[rel.as_posix()] = p.read_text(encoding="utf-8", errors="replace")
    return out


def copy_tree(src: Path, dest: Path) -> Path:
    shutil.copytree(src, dest, ignore=shutil.ignore_patterns(".git"))
    return dest


def config(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return path


BASE_CONF = "vendor=CentOS Linux\nurl=https://www.centos.org/\n"

SPEC_HEAD = """\
Name:           demo
Version:        1.0
Release:        3%{?dist}
Summary:        A demo package by CentOS Linux
License:        MIT
Source0:        demo-1.0.tar.gz
Source1:        demo.conf
"""

SPEC_TAIL = """\

%description
Demo for CentOS Linux.

%build
echo build

%install
mkdir -p %{buildroot}/etc
# CentOS Linux keeps its config here
install -m 644 %{SOURCE1} %{buildroot}/etc/demo.conf

%files
/etc/demo.conf

%changelog
* Mon Jan 01 2024 Packager <p@example.invalid> - 1.0-3
- Built for CentOS Linux
"""


def demo_spec(
    patches: str = "Patch0:         fix.patch\n", prep: str = "%prep\n%setup -q\n%patch0 -p1\n"
) -> str:
    return SPEC_HEAD + patches + "\n" + prep + SPEC_TAIL


@pytest.fixture(autouse=True)
def fixed_date(monkeypatch: pytest.MonkeyPatch) -> None:
    """Changelog entries carry a date: pin it (2023-11-14) so trees compare.
    Autouse in every test module that imports it."""
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
