"""updateinfo.xml reading: date variants, real samples, broken files, compression, writing."""

from __future__ import annotations

import bz2
import gzip
import lzma
from datetime import UTC, datetime
from pathlib import Path

import pytest
import zstandard

from elforge.errors import FormatError
from elforge.rpm.updateinfo import (
    parse_date,
    parse_updateinfo,
    read_updateinfo,
    write_updateinfo,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1357948800", datetime(2013, 1, 12, tzinfo=UTC)),
        ("2012-12-12", datetime(2012, 12, 12, tzinfo=UTC)),
        ("2012-01-27 16:08:06", datetime(2012, 1, 27, 16, 8, 6, tzinfo=UTC)),
        ("2013-01-27 16:08:05 UTC", datetime(2013, 1, 27, 16, 8, 5, tzinfo=UTC)),
        ("2018-01-11 21:05", datetime(2018, 1, 11, 21, 5, tzinfo=UTC)),
        ("2024-09-03T17:57:24+00:00", datetime(2024, 9, 3, 17, 57, 24, tzinfo=UTC)),
        ("2024-01-02T00:00:00Z", datetime(2024, 1, 2, tzinfo=UTC)),
        ("2023-03-31T12:10:39+03:00", datetime(2023, 3, 31, 9, 10, 39, tzinfo=UTC)),
        ("2024-06-14T14:02:44.124064Z", datetime(2024, 6, 14, 14, 2, 44, 124064, tzinfo=UTC)),
        ("2024-08-22T19:20:09.516938+00:00", datetime(2024, 8, 22, 19, 20, 9, 516938, tzinfo=UTC)),
        ("2020-05-01 10:00:00 -0500", datetime(2020, 5, 1, 15, 0, tzinfo=UTC)),
    ],
)
def test_date_variants(text: str, expected: datetime) -> None:
    assert parse_date(text) == expected


@pytest.mark.parametrize("text", ["12/12/2012", "yesterday", "2012-13-01", "2012-12-12 25:00:00"])
def test_unknown_or_invalid_dates_are_clear_errors(text: str) -> None:
    with pytest.raises(FormatError) as exc:
        parse_date(text, subject="feed.xml")
    assert "feed.xml" in str(exc.value)
    assert repr(text) in str(exc.value)


def test_createrepo_c_samples(testdata: Path) -> None:
    one = read_updateinfo(testdata / "repodata/updateinfo-samples/updateinfo_01.xml")
    assert not one.errors
    (u,) = one.updates
    assert u.id == "foobarupdate_1" and u.type == "enhancement" and u.reboot_suggested
    assert u.issued == datetime(2012, 12, 12, tzinfo=UTC)
    (pkg,) = u.packages
    assert pkg.nevra == "bar-2.0.1-3.noarch" and pkg.sum_type == "sha256"
    assert pkg.reboot_suggested
    three = read_updateinfo(testdata / "repodata/updateinfo-samples/updateinfo_03.xml")
    assert not three.errors
    assert [x.id for x in three.updates] == [f"RHEA-2012:{n:04d}" for n in range(55, 61)]
    bear = three.updates[2]
    assert bear.updated == datetime(2013, 1, 27, 16, 8, 5, tzinfo=UTC)  # "... UTC" variant
    kangaroo = three.updates[4]
    assert [c.module.name for c in kangaroo.collections if c.module] == ["kangaroo", "duck"]


def test_rocky_fixtures_gz_and_broken(testdata: Path) -> None:
    base = testdata / "repodata/rocky8-fixtures"
    happy = read_updateinfo(base / "happy/BaseOS/x86_64/os/repodata/updateinfo.xml.gz")
    assert not happy.errors
    ids = [u.id for u in happy.updates]
    assert "RLSA-2021:2575" in ids and "RLBA-2021:2580" in ids
    lz4 = next(u for u in happy.updates if u.id == "RLSA-2021:2575")
    assert lz4.cves == ("CVE-2021-3520",) and lz4.severity == "Moderate"
    appstream = read_updateinfo(base / "happy/AppStream/x86_64/os/repodata/updateinfo.xml.gz")
    assert appstream.updates[0].packages[0].release == "2.module+el8.4.0+404+316a0dc5"
    broken = read_updateinfo(
        base / "updateinfo_invalid/BaseOS/x86_64/os/repodata/updateinfo.xml.gz"
    )
    assert broken.errors and "malformed XML" in str(broken.errors[0])
    assert "updateinfo.xml.gz" in str(broken.errors[0])


UPDATE = """<update from="x" status="final" type="security" version="1">
<id>{id}</id><title>Important: t</title><issued date="{date}"/>
<references><reference href="https://x/{id}" id="CVE-2024-0001" type="cve"/></references>
<pkglist><collection short="c"><name>c</name>
<package name="foo" version="1.0" release="2.el9" epoch="0" arch="x86_64">
<filename>f</filename></package>
</collection></pkglist></update>"""


def test_one_bad_update_does_not_stop_the_file() -> None:
    doc = "<updates>{}{}{}</updates>".format(
        UPDATE.format(id="A-1", date="2024-01-01 00:00:00"),
        UPDATE.format(id="A-2", date="the second of May"),
        UPDATE.format(id="A-3", date="1704067200"),
    )
    info = parse_updateinfo(doc.encode(), Path("u.xml"))
    assert [u.id for u in info.updates] == ["A-1", "A-3"]
    (err,) = info.errors
    assert "A-2" in str(err) and "unknown date format" in str(err)


def test_truncated_file_keeps_updates_before_the_break() -> None:
    doc = "<updates>" + UPDATE.format(id="A-1", date="2024-01-01") + "<update><id>A-2</i"
    info = parse_updateinfo(doc.encode(), Path("t.xml"))
    assert [u.id for u in info.updates] == ["A-1"]
    assert len(info.errors) == 1 and "malformed XML" in str(info.errors[0])


def test_not_updateinfo() -> None:
    info = parse_updateinfo(b"<repomd/>", Path("r.xml"))
    assert not info.updates and "root element is <repomd>" in str(info.errors[0])


@pytest.mark.parametrize(
    "compress",
    [gzip.compress, lzma.compress, bz2.compress, zstandard.ZstdCompressor().compress],
)
def test_compressed(compress: object, tmp_path: Path) -> None:
    doc = ("<updates>" + UPDATE.format(id="Z-1", date="2024-01-01") + "</updates>").encode()
    path = tmp_path / "updateinfo.xml.any"
    path.write_bytes(compress(doc))  # type: ignore[operator]
    assert [u.id for u in read_updateinfo(path).updates] == ["Z-1"]


def test_write_read_round_trip(testdata: Path) -> None:
    three = read_updateinfo(testdata / "repodata/updateinfo-samples/updateinfo_03.xml")
    again = parse_updateinfo(write_updateinfo(three.updates).encode(), Path("w.xml"))
    assert not again.errors
    assert again.updates == three.updates
