from __future__ import annotations

import pytest

from elforge.errors import FormatError
from elforge.rpm.nevra import EVR, NEVRA


@pytest.mark.parametrize(
    ("label", "expected"),
    [
        ("bash-5.1.8-9.el9.x86_64", ("bash", 0, "5.1.8", "9.el9", "x86_64")),
        ("perl-4:5.32.1-480.el9.noarch", ("perl", 4, "5.32.1", "480.el9", "noarch")),
        ("4:perl-5.32.1-480.el9.noarch", ("perl", 4, "5.32.1", "480.el9", "noarch")),
        (
            "python3.11-libs-3.11.7-1.el9.i686.rpm",
            ("python3.11-libs", 0, "3.11.7", "1.el9", "i686"),
        ),
        ("glibc-2.34-100.el9_4.2.src", ("glibc", 0, "2.34", "100.el9_4.2", "src")),
    ],
)
def test_parse(label: str, expected: tuple[str, int, str, str, str]) -> None:
    n = NEVRA.parse(label)
    assert (n.name, n.epoch, n.version, n.release, n.arch) == expected


def test_roundtrip_and_filename() -> None:
    n = NEVRA.parse_filename("/srv/repo/Packages/b/bash-5.1.8-9.el9.src.rpm")
    assert n.is_source and n.filename == "bash-5.1.8-9.el9.src.rpm" and n.nvr == "bash-5.1.8-9.el9"
    assert str(NEVRA.parse("perl-4:5.32.1-480.el9.noarch")) == "perl-4:5.32.1-480.el9.noarch"


@pytest.mark.parametrize(
    "bad", ["bash", "bash-5.1.x86_64", "bash-1-2", "foo.rpm", "x-a:1-2.noarch"]
)
def test_malformed_is_refused(bad: str) -> None:
    with pytest.raises(FormatError):
        NEVRA.parse(bad)


def test_evr_parse() -> None:
    assert EVR.parse("1:2.3-4") == EVR(1, "2.3", "4")
    assert EVR.parse("2.3").release is None
    with pytest.raises(FormatError):
        EVR.parse("x:1")
