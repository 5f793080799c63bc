"""The protobuf text-format reader used for srpmproc directive files."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from elforge.errors import ConfigError
from elforge.patching.prototext import parse_text
from elforge.patching.srpmproc import SCHEMA

P = Path("x.cfg")


def test_messages_lists_strings_enums_and_comments() -> None:
    text = r"""
    # a comment
    replace { file: "a.conf" with_inline: "line1\nline2 \"q\" \x41\101\u00e9" }
    replace < file: 'b' with_file: "files/" "b" >
    spec_change {
      file: { name: "x.patch" type: Patch add: true add_to_prep: true n_path: 1 }
      changelog { author_name: "A" author_email: "a@b" message: ["one", "two"] message: "three" }
      search_and_replace { any: true find: "x" replace: "y" n: -1 };
    }
    """
    cfg = parse_text(text, P, SCHEMA, "Cfg")
    assert cfg["replace"][0] == {"file": "a.conf", "with_inline": 'line1\nline2 "q" AAé'}
    assert cfg["replace"][1] == {"file": "b", "with_file": "files/b"}
    sc = cfg["spec_change"]
    assert sc["file"][0] == {"name": "x.patch", "type": "Patch", "add": True, "add_to_prep": True,
                             "n_path": 1}  # fmt: skip
    assert sc["changelog"][0]["message"] == ["one", "two", "three"]
    assert sc["search_and_replace"][0]["n"] == -1


def test_expect_annotation_attaches_to_next_message() -> None:
    text = (
        'spec_change {\n  # elforge-expect: 0..1\n  search_and_replace { any: true find: "a" }\n}\n'
    )
    cfg = parse_text(text, P, SCHEMA, "Cfg")
    assert cfg["spec_change"]["search_and_replace"][0]["__expect__"] == "0..1"


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ('replace { file: "a" with_file: "b" with_inline: "c" }', "are alternatives"),
        ('replace { fil: "a" }', "line 1, column 11: unknown field 'fil' in Replace"),
        ("replace { file: 3 }", "'file' must be a quoted string"),
        ("spec_change { file { type: Bogus } }", "'type' must be one of Unknown, Source, Patch"),
        ("patch { strict: maybe }", "'strict' must be true or false"),
        ('replace { file: "a"', "expected a field name, found 'end of file'"),
        ("spec_change { } spec_change { }", "'spec_change' set twice"),
        ('delete { file: "unterminated }', "unexpected character"),
    ],
)
def test_errors_name_line_and_field(text: str, needle: str) -> None:
    with pytest.raises(ConfigError) as exc:
        parse_text(text, P, SCHEMA, "Cfg")
    assert needle in str(exc.value)
    assert re.match(r"x\.cfg: line \d+, column \d+: ", str(exc.value)), str(exc.value)
