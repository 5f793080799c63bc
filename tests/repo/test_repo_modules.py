"""modules.yaml: the CentOS Stream 9 and Rocky 8 documents, and broken ones."""

from __future__ import annotations

from pathlib import Path

import pytest

from elforge.errors import FormatError
from elforge.rpm.modules import parse_modules_yaml, read_modules
from elforge.rpm.repodata import Repository

STREAM = """\
---
document: modulemd
version: 2
data:
  name: demo
  stream: "10.10"
  version: 9010020220101000000
  context: abcd1234
  arch: x86_64
  summary: demo
  profiles:
    common:
      rpms: [demo]
  artifacts:
    rpms:
    - demo-0:1.0-1.module_el9+1+abcd1234.x86_64
...
"""


def test_cs9_modules(testdata: Path) -> None:
    index = Repository(testdata / "repodata/cs9-appstream-2024").modules()
    assert index is not None
    assert len(index.streams) == 31
    assert index.modules() == {
        "mariadb",
        "maven",
        "nginx",
        "nodejs",
        "php",
        "postgresql",
        "redis",
        "ruby",
    }
    # streams stay strings: "10.11" is not the float 10.11, "3.1" is not 3.10
    assert {"mariadb:10.11", "nodejs:18", "nodejs:20", "ruby:3.1", "ruby:3.3"} <= (
        index.stream_names()
    )
    # EL9 ships defaults without a default stream: nothing is active until enabled
    assert index.default_stream("nodejs") is None
    assert index.defaults["nodejs"].profiles["20"] == ("common",)
    assert index.active_streams() == set()
    assert index.active_streams(enabled=["nodejs:20"]) == {("nodejs", "20")}
    nodejs20 = [s for s in index.streams if s.name_stream == "nodejs:20"]
    assert nodejs20 and all(s.arch == "x86_64" and s.version > 0 for s in nodejs20)
    assert any(a.startswith("nodejs-1:20.") for s in nodejs20 for a in s.artifacts)
    for s in index.streams:
        assert all(n.name for n in s.artifact_nevras())


def test_rocky8_defaults_pick_a_stream(testdata: Path) -> None:
    path = testdata / "repodata/rocky8-fixtures/happy/AppStream/x86_64/os/repodata/modules.yaml.xz"
    index = read_modules(path)
    (squid,) = index.streams
    assert squid.nsvca == "squid:4:8050020211109223548:b4937e53:x86_64"
    assert squid.profiles == {"common": ("squid",)}
    assert squid.requires == ({"platform": ("el8",)},)
    assert "squid-7:4.15-1.module+el8.5.0+705+218dec94.x86_64" in squid.artifacts
    assert index.active_streams() == {("squid", "4")}
    assert index.active_streams(disabled=["squid"]) == set()
    assert index.active_streams(enabled=["squid:5"]) == {("squid", "5")}


def test_stream_value_kept_verbatim() -> None:
    (s,) = parse_modules_yaml(STREAM).streams
    assert s.stream == "10.10" and s.version == 9010020220101000000


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (STREAM.replace("  name: demo\n", ""), r"document 1 \(modulemd\): data.name is missing"),
        (STREAM.replace("version: 2", "version: 3"), "unsupported modulemd version '3'"),
        (STREAM.replace("9010020220101000000", "soon"), "data.version 'soon' is not a number"),
        (STREAM.replace("- demo-0:1.0", "- demo"), "artifact .* is not a NEVRA"),
        (STREAM.replace("document: modulemd", "document: nonsense"), "unknown document type"),
        (STREAM.replace("  arch: x86_64\n", "  arch: [x86_64\n"), "not valid YAML at line"),
        ("--- [1, 2]\n", "document 1 is not a mapping"),
        ("---\ndocument: modulemd-defaults\nversion: 1\ndata:\n  stream: x\n", "data.module"),
    ],
)
def test_broken_documents_are_named(text: str, message: str) -> None:
    with pytest.raises(FormatError, match=message) as info:
        parse_modules_yaml(text, subject="broken.yaml")
    assert str(info.value).startswith("broken.yaml: ")


def test_unreadable_compressed_file(tmp_path: Path) -> None:
    bad = tmp_path / "modules.yaml.xz"
    bad.write_bytes(b"\xfd7zXZ\x00garbage")
    with pytest.raises(FormatError, match=r"modules\.yaml\.xz: cannot read"):
        read_modules(bad)
