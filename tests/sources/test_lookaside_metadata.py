from __future__ import annotations

from pathlib import Path

import pytest

from elforge.errors import ConfigError, FormatError
from elforge.sources.layout import Layout, detect_layout, normalise_git_tree
from elforge.sources.lookaside import check_template, expand
from elforge.sources.metadata import (
    SourceEntry,
    parse_metadata_file,
    parse_sources_file,
    render_metadata,
)

MD5 = "a" * 32
SHA512 = "b" * 128


def test_sources_file_both_forms() -> None:
    text = f"{MD5}  bash-5.1.tar.gz\nSHA512 (bash-5.1.tar.gz.sig) = {SHA512.upper()}\n\n"
    assert parse_sources_file(text, subject="bash: sources") == [
        SourceEntry("bash-5.1.tar.gz", "md5", MD5),
        SourceEntry("bash-5.1.tar.gz.sig", "sha512", SHA512),
    ]


def test_sources_file_name_with_spaces_in_bsd_form() -> None:
    text = f"SHA512 (my file.tar.gz) = {SHA512}\n"
    assert parse_sources_file(text, subject="s")[0].file == "my file.tar.gz"


@pytest.mark.parametrize(
    "line",
    [
        f"{MD5}  ../etc/passwd",
        f"{MD5}  sub/file.tar.gz",
        f"{MD5}  /abs.tar.gz",
        f"SHA512 (../x.tar.gz) = {SHA512}",
        f"SHA512 (a/b) = {SHA512}",
        f"{MD5}  ..",
    ],
)
def test_sources_file_refuses_paths(line: str) -> None:
    with pytest.raises(FormatError, match=r"line 1: unsafe file name") as exc:
        parse_sources_file(line + "\n", subject="bash: sources")
    assert "bash: sources" in str(exc.value)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("justonefield\n", "expected 'HASH  FILE'"),
        (f"{'z' * 32}  f.tar.gz\n", "not hexadecimal"),
        (f"{'a' * 33}  f.tar.gz\n", "length 33"),
        (f"SHA256 (f.tar.gz) = {SHA512}\n", "wrong length"),
        (f"CRC32 (f.tar.gz) = {MD5}\n", "unknown hash type"),
        (f"{MD5}  f.tar.gz\n{MD5}  f.tar.gz\n", "listed twice"),
    ],
)
def test_sources_file_malformed(text: str, problem: str) -> None:
    with pytest.raises(FormatError, match=problem):
        parse_sources_file(text, subject="p: sources")


@pytest.mark.parametrize(
    ("length", "hashtype"), [(32, "md5"), (40, "sha1"), (64, "sha256"), (128, "sha512")]
)
def test_metadata_hash_type_from_length(length: int, hashtype: str) -> None:
    entries = parse_metadata_file(f"{'c' * length} SOURCES/x.tar.xz\n", subject="m")
    assert entries == [SourceEntry("x.tar.xz", hashtype, "c" * length)]


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (f"{MD5}\n", "expected 'HASH SOURCES/FILE'"),
        (f"{MD5} SOURCES/a b\n", "expected 'HASH SOURCES/FILE'"),
        (f"{MD5} SPECS/x.spec\n", "not under SOURCES/"),
        (f"{MD5} SOURCES/../x\n", "unsafe file name"),
        (f"{MD5} SOURCES/sub/x\n", "unsafe file name"),
        (f"{'c' * 50} SOURCES/x\n", "length 50"),
    ],
)
def test_metadata_malformed(text: str, problem: str) -> None:
    with pytest.raises(FormatError, match=problem) as exc:
        parse_metadata_file(text, subject="bash: .bash.metadata")
    assert str(exc.value).startswith("bash: .bash.metadata: line 1")


def test_real_openela_metadata_parses(testdata: Path) -> None:
    text = (testdata / "distgit/openela-bash-el9/.bash.metadata").read_text()
    (entry,) = parse_metadata_file(text, subject="bash")
    assert entry.file == "bash-5.1.tar.gz" and entry.hashtype == "sha256"
    assert render_metadata([entry]) == text
    assert parse_metadata_file("", subject="empty") == []


def test_detect_layout(testdata: Path, tmp_path: Path) -> None:
    assert detect_layout(testdata / "distgit/openela-bash-el8", subject="b") is Layout.exploded
    (tmp_path / "x.spec").write_text("Name: x\n")
    assert detect_layout(tmp_path, subject="x") is Layout.distgit
    with pytest.raises(FormatError, match="neither"):
        detect_layout(tmp_path / "nothing", subject="x")


def test_normalise_exploded_keeps_original_metadata(testdata: Path, tmp_path: Path) -> None:
    tree = normalise_git_tree(
        testdata / "distgit/openela-bash-el9", tmp_path / "out", name="bash",
        layout=Layout.auto, info={"upstream": {"url": "u"}},
    )  # fmt: skip
    assert tree.layout is Layout.exploded and tree.spec.name == "bash.spec"
    assert (tmp_path / "out/.elforge/upstream/.bash.metadata").read_bytes() == (
        testdata / "distgit/openela-bash-el9/.bash.metadata"
    ).read_bytes()
    assert (tmp_path / "out/SOURCES/bash-5.1-patch-1.patch").is_file()
    assert not (tmp_path / "out/.gitignore").exists()


def test_templates() -> None:
    entry = SourceEntry("a b.tar.gz", "sha512", SHA512)
    t = check_template("https://l.example/{name}/{filename}/{hashtype}/{hash}/{branch}")
    assert expand(t, entry, name="bash", branch="c9") == (
        f"https://l.example/bash/a%20b.tar.gz/sha512/{SHA512}/c9"
    )
    with pytest.raises(ConfigError, match="unknown field"):
        check_template("https://l.example/{nmae}")
    with pytest.raises(ConfigError, match="http, https or file"):
        check_template("ftp://l.example/{hash}")
