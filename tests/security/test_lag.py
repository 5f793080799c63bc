"""First-seen times (CSV and git history) and the lag computed from them."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from secfix import csaf_advisory, git_commit, osv_record, write_json

from elforge.security.firstseen import read_first_seen_csv, read_first_seen_git
from elforge.security.lag import compute_lag, lag_document, stats
from elforge.security.plot import plot_lag
from elforge.security.sources import load_source, load_sources

EL8 = "security/almalinux-osv"


@pytest.fixture
def git_feed(tmp_path: Path) -> Path:
    """A feed kept in git: three commits, one of which backfills an old record."""
    repo = tmp_path / "osv"
    adv = repo / "advisories" / "almalinux8"
    write_json(adv / "ALSA-2024:0001.json", osv_record(
        "ALSA-2024:0001", "2024-01-10T00:00:00Z", cves=["CVE-2024-0001"],
        packages={"foo": "1.0-2.el8_9.alma"}, reference="RHSA-2024:0001"))  # fmt: skip
    git_commit(repo, "first", "2024-01-01T00:00:00+00:00")
    write_json(adv / "ALSA-2024:0002.json", osv_record(
        "ALSA-2024:0002", "2024-02-01T00:00:00Z", cves=["CVE-2024-0002", "CVE-2024-0001"],
        packages={"bar": "2.0-1.el8_9"}, severity="Moderate"))  # fmt: skip
    git_commit(repo, "second", "2024-02-03T12:00:00+02:00")
    # an old record added late: before the history started
    write_json(adv / "ALSA-2023:0100.json", osv_record(
        "ALSA-2023:0100", "2023-06-01T00:00:00Z", cves=["CVE-2023-0100"],
        packages={"baz": "1-1.el8"}))  # fmt: skip
    # touching an existing record later must not move its first-seen time
    write_json(adv / "ALSA-2024:0001.json", osv_record(
        "ALSA-2024:0001", "2024-01-10T00:00:00Z", cves=["CVE-2024-0001"],
        packages={"foo": "1.0-3.el8_9.alma"}, reference="RHSA-2024:0001"))  # fmt: skip
    git_commit(repo, "third", "2024-03-01T00:00:00+00:00")
    return repo


def test_first_seen_from_git(git_feed: Path) -> None:
    fs = read_first_seen_git(git_feed)
    assert fs.times == {
        "ALSA-2024:0001": datetime(2024, 1, 1, tzinfo=UTC),
        "ALSA-2024:0002": datetime(2024, 2, 3, 10, 0, tzinfo=UTC),
        "ALSA-2023:0100": datetime(2024, 3, 1, tzinfo=UTC),
    }
    assert fs.history_start == datetime(2024, 1, 1, tzinfo=UTC)


def test_lag_from_git_feed(git_feed: Path, tmp_path: Path) -> None:
    feed = load_source(git_feed)  # a git --rebuild brings its own history
    assert feed.first_seen is not None
    ref = tmp_path / "ref"
    write_json(ref / "rhsa-2024_0002.json", csaf_advisory(
        "RHSA-2024:0002", "2024-01-31T18:00:00+00:00", cves={"CVE-2024-0002": "Moderate"},
        packages=["bar-0:2.0-1.el8_9.x86_64"], severity="Moderate"))  # fmt: skip
    report = compute_lag(feed, feed.first_seen, load_source(ref))
    by_id = {e.id: e for e in report.entries}
    one = by_id["ALSA-2024:0001"]
    # published copies the reference date; available is the first commit, so lag < 0 is real
    assert one.reference_date_source == "rebuild-copy" and one.status == "measured"
    assert one.lag_days == -9.0
    two = by_id["ALSA-2024:0002"]
    assert two.reference_date == datetime(2024, 1, 31, 18, tzinfo=UTC)
    assert two.reference_date_source == "reference"
    assert two.lag_days == 2.67  # 2024-02-03T10:00Z - 2024-01-31T18:00Z = 2 d 16 h
    assert by_id["ALSA-2023:0100"].status == "before_history"
    assert report.by_year["2024"].count == 2
    assert set(report.by_severity) == {"Important", "Moderate"}
    cves = {c.cve: c for c in report.cves}
    # CVE-2024-0001 is in both advisories: the earliest availability counts
    assert cves["CVE-2024-0001"].advisory == "ALSA-2024:0001"
    assert cves["CVE-2024-0002"].lag_days == 2.67


def test_first_seen_csv(testdata: Path, tmp_path: Path) -> None:
    fs = read_first_seen_csv(testdata / EL8 / "first-seen-almalinux8.csv")
    assert len(fs.times) == 3238 and not fs.errors
    assert fs.times["ALBA-2019:0973"] == datetime(2023, 3, 31, 9, 10, 39, tzinfo=UTC)
    bad = tmp_path / "fs.csv"
    bad.write_text("file,first_seen\na/ALSA-1:1.json,2024-01-01\na/ALSA-1:2.json,soon\n", "utf-8")
    fs = read_first_seen_csv(bad)
    assert list(fs.times) == ["ALSA-1:1"]
    assert len(fs.errors) == 1 and "fs.csv:3" in str(fs.errors[0])


def test_stats() -> None:
    assert stats([]).count == 0 and stats([]).median_days is None
    assert stats([5.0]).p90_days == 5.0
    s = stats([float(x) for x in range(1, 11)])
    assert (s.count, s.median_days, s.p90_days) == (10, 5.5, 9.1)


def test_bulk_imports_are_left_out(tmp_path: Path) -> None:
    repo = tmp_path / "feed"
    for i in range(12):  # one commit adding twelve records fixed months apart
        write_json(repo / f"ALSA-2024:{i:04d}.json", osv_record(
            f"ALSA-2024:{i:04d}", f"2024-{i + 1:02d}-01T00:00:00Z", cves=[f"CVE-2024-{i:04d}"],
            packages={"p": "1-1.el8"}))  # fmt: skip
    write_json(repo / "seed.json", {"not": "an advisory"})
    git_commit(repo, "import", "2025-01-01T00:00:00+00:00")
    # the history starts earlier than the fixes
    feed = load_source(repo)
    assert feed.first_seen is not None and len(feed.errors) == 1  # seed.json is reported
    feed.first_seen.history_start = datetime(2023, 1, 1, tzinfo=UTC)
    report = compute_lag(feed, feed.first_seen)
    assert report.excluded == {"bulk_import": 12} and report.overall.count == 0
    report = compute_lag(feed, feed.first_seen, include_bulk=True)
    assert report.overall.count == 12


@pytest.mark.slow
def test_el8_lag_table_and_plot(testdata: Path, tmp_path: Path) -> None:
    feed = load_source(testdata / EL8 / "almalinux8")
    fs = read_first_seen_csv(testdata / EL8 / "first-seen-almalinux8.csv")
    ref = load_sources([testdata / "security/redhat-csaf", testdata / "security/redhat-hydra"])
    report = compute_lag(feed, fs, ref)
    assert len(report.entries) == 2040  # the ALSA records
    assert set(report.by_year) == {"2023", "2024", "2025", "2026"}
    assert report.overall.count > 1000
    assert 0 < (report.overall.median_days or 0) < (report.overall.p90_days or 0)
    assert report.excluded["rebuild_only"] == 6
    assert report.unknown_first_seen == ["ALEA-2021:4152"]  # in the CSV, not in the feed
    exact = [e for e in report.entries if e.reference_date_source == "reference"]
    assert {e.id for e in exact} == {
        "ALSA-2023:3821", "ALSA-2023:7025", "ALSA-2024:1431",  # CSAF vendor_fix dates
        "ALSA-2022:7643", "ALSA-2022:7790",  # Security Data API release dates (bind)
    }  # fmt: skip
    bind = next(e for e in exact if e.id == "ALSA-2022:7790")
    assert bind.reference_date == datetime(2022, 11, 8, tzinfo=UTC)
    doc = lag_document(report, rebuild="el8", reference="csaf")
    assert doc.data["schema"] == "elforge.security-lag/1"
    entry = doc.data["advisories"][0]
    assert {"id", "reference_id", "reference_date", "available", "lag_days"} <= set(entry)
    assert set(doc.data["summary"]["by_year"]["2024"]) == {"count", "median_days", "p90_days"}
    png, svg = plot_lag(report, tmp_path / "plots" / "lag")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert b"<svg" in svg.read_bytes()[:2000]
