"""``elforge security …`` end to end, every output format, workspace storage."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from secfix import git_commit, osv_record, write_json
from sqlalchemy import select

from elforge.rpm.updateinfo import read_updateinfo
from elforge.security.osv import read_osv
from elforge.store.db import open_store
from elforge.store.models import Advisory as AdvisoryRow
from elforge.workspace.workspace import Workspace
from helpers import run_cli

SEC = "security"


def _flat(text: str) -> str:
    """A message without whitespace: the terminal renderer wraps long lines, even mid-word."""
    return "".join(text.split())


@pytest.mark.slow
def test_lag_el8_json_and_plot(testdata: Path, tmp_path: Path) -> None:
    out = tmp_path / "lag.json"
    r = run_cli(
        "security", "lag",
        "--rebuild", str(testdata / SEC / "almalinux-osv/almalinux8"),
        "--first-seen", str(testdata / SEC / "almalinux-osv/first-seen-almalinux8.csv"),
        "--reference", str(testdata / SEC / "redhat-csaf"),
        "--plot", str(tmp_path / "lag"),
        "--format", "json", "-o", str(out),
    )  # fmt: skip
    assert r.exit_code == 0, r.stderr
    doc = json.loads(out.read_text("utf-8"))
    assert doc["schema"] == "elforge.security-lag/1"
    assert len(doc["advisories"]) == 2040
    assert set(doc["summary"]["by_year"]) == {"2023", "2024", "2025", "2026"}
    assert (tmp_path / "lag.png").is_file() and (tmp_path / "lag.svg").is_file()


def test_lag_needs_first_seen(tmp_path: Path) -> None:
    write_json(tmp_path / "f" / "ALSA-2024:0001.json", osv_record(
        "ALSA-2024:0001", "2024-01-01T00:00:00Z", cves=[], packages={"a": "1-1.el8"}))  # fmt: skip
    r = run_cli("security", "lag", "--rebuild", str(tmp_path / "f"))
    assert r.exit_code == 1 and "nofirst-seentimes" in _flat(r.stderr)


@pytest.mark.parametrize("fmt", ["text", "json", "sarif", "junit", "html"])
def test_lag_every_format_from_git(tmp_path: Path, fmt: str) -> None:
    repo = tmp_path / "feed"
    repo.mkdir()
    (repo / "README").write_text("feed\n", "utf-8")
    git_commit(repo, "start the feed", "2023-12-01T00:00:00+00:00")
    write_json(repo / "ALSA-2024:0001.json", osv_record(
        "ALSA-2024:0001", "2024-01-01T00:00:00Z", cves=["CVE-2024-0001"],
        packages={"a": "1-1.el8"}))  # fmt: skip
    git_commit(repo, "add", "2024-01-03T12:00:00+00:00")
    r = run_cli("security", "lag", "--rebuild", str(repo), "--git", str(repo), "--format", fmt)
    assert r.exit_code == 0, r.stderr
    if fmt == "json":
        doc = json.loads(r.stdout)
        assert doc["advisories"][0]["lag_days"] == 2.5
        assert doc["summary"]["by_year"]["2024"] == {
            "count": 1, "median_days": 2.5, "p90_days": 2.5
        }  # fmt: skip
    elif fmt == "text":
        assert "Lag by year" in r.stdout
    else:
        assert r.stdout.strip()


def test_parity_cli_with_workspace(testdata: Path, tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    assert run_cli("init", str(ws)).exit_code == 0
    r = run_cli(
        "security", "parity",
        "--reference", str(testdata / SEC / "redhat-csaf"),
        "--reference", str(testdata / SEC / "redhat-hydra"),
        "--rebuild", str(testdata / SEC / "rocky-osv"),
        "--workspace", str(ws), "--format", "json",
    )  # fmt: skip
    doc = json.loads(r.stdout)
    assert r.exit_code == 8, r.stderr  # CVE-2024-8088 is missing: the CI gate
    assert any(c["state"] == "missing" for c in doc["cves"])
    assert doc["schema"] == "elforge.security-parity/1"
    assert doc["rebuild_majors"] == [8, 9]
    assert {c["state"] for c in doc["cves"]} <= {"fixed", "under_investigation", "not_shipped",
                                                 "missing"}  # fmt: skip
    store = open_store(Workspace.open(ws).store_url)
    try:
        with store.session() as s:
            rows = {(a.source, a.advisory_id): a for a in s.scalars(select(AdvisoryRow))}
    finally:
        store.close()
    assert ("csaf", "RHSA-2024:6163") in rows and ("osv", "RLSA-2024:3671") in rows
    assert rows[("osv", "RLSA-2024:3671")].cves == [
        "CVE-2024-27280", "CVE-2024-27281", "CVE-2024-27282"
    ]  # fmt: skip
    # a second run updates the rows instead of failing on the unique constraint
    again = run_cli("security", "parity", "--reference", str(testdata / SEC / "redhat-csaf"),
                    "--rebuild", str(testdata / SEC / "rocky-osv"), "--workspace", str(ws),
                    "--format", "json")  # fmt: skip
    assert again.exit_code == 8, again.stderr


def test_parity_reports_bad_input_and_goes_on(testdata: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad"
    write_json(bad / "ALSA-2024:6163.json", osv_record(
        "ALSA-2024:6163", "2024-09-03T00:00:00Z", cves=["CVE-2024-8088"],
        packages={"python3.9": "3.9.18-3.el9_4.5.alma.1"}, ecosystem="AlmaLinux:9"))  # fmt: skip
    (bad / "oops.json").write_text("{not json", "utf-8")
    r = run_cli("security", "parity", "--reference", str(testdata / SEC / "redhat-csaf/2024"),
                "--rebuild", str(bad), "--format", "json")  # fmt: skip
    assert r.exit_code == 8  # the bad file is reported, and the missing CVE still gates
    assert "oops.json:invalidJSON" in _flat(r.stderr)
    doc = json.loads(r.stdout)
    assert any("oops.json" in e for e in doc["errors"])
    states = {c["cve"]: c["state"] for c in doc["cves"]}
    assert states == {"CVE-2024-8088": "missing"}  # 6163 rebuilt, 9371 (9.5) not


def test_export_round_trip(testdata: Path, tmp_path: Path) -> None:
    r = run_cli(
        "security", "export", "--rebuild", str(testdata / SEC / "rocky-osv"),
        "--updateinfo", str(tmp_path / "updateinfo.xml"), "--osv", str(tmp_path / "osv"),
        "--format", "json",
    )  # fmt: skip
    assert r.exit_code == 0, r.stderr
    assert json.loads(r.stdout)["advisories"] == 3
    info = read_updateinfo(tmp_path / "updateinfo.xml")
    assert not info.errors
    ruby = next(u for u in info.updates if u.id == "RLSA-2024:3671")
    assert ruby.cves == ("CVE-2024-27280", "CVE-2024-27281", "CVE-2024-27282")
    assert ruby.severity == "Moderate"
    back = read_osv(tmp_path / "osv" / "RLSA-2024:3671.json")
    assert back.cves == ruby.cves
    assert {p.evr for p in back.packages} == {p.evr for p in ruby.packages}


def test_kernel_candidates_cli(tmp_path: Path) -> None:
    from test_kernel import CHANGELOG, FIX_MAIN, vulns_tree

    vulns = vulns_tree(tmp_path / "vulns")
    log = tmp_path / "changelog.txt"
    log.write_text(CHANGELOG, "utf-8")
    r = run_cli("security", "kernel-candidates", "CVE-2024-1086", "--vulns", str(vulns),
                "--changelog", str(log), "--format", "json")  # fmt: skip
    assert r.exit_code == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["schema"] == "elforge.kernel-candidates/1"
    assert doc["candidates"][0]["commit"] == FIX_MAIN and doc["candidates"][0]["evidence"]
    missing = run_cli("security", "kernel-candidates", "CVE-2024-0002", "--vulns", str(vulns),
                      "--format", "sarif")  # fmt: skip
    assert missing.exit_code == 0 and "security.kernel-no-candidate" in missing.stdout


@pytest.mark.parametrize("fmt", ["text", "sarif", "junit", "html"])
def test_parity_every_format(testdata: Path, fmt: str) -> None:
    r = run_cli("security", "parity", "--reference", str(testdata / SEC / "redhat-csaf"),
                "--rebuild", str(testdata / SEC / "rocky-osv"), "--format", fmt)  # fmt: skip
    assert r.exit_code == 8, r.stderr
    assert "CVE-2024-8088" in r.stdout  # python3.9 (EL9): no RLSA for RHSA-2024:6163 here


def test_lag_stores_first_seen(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    assert run_cli("init", str(ws)).exit_code == 0
    repo = tmp_path / "feed"
    write_json(repo / "ALSA-2024:0001.json", osv_record(
        "ALSA-2024:0001", "2024-01-01T00:00:00Z", cves=["CVE-2024-0001"],
        packages={"a": "1-1.el8"}))  # fmt: skip
    git_commit(repo, "add", "2024-01-03T12:00:00+00:00")
    r = run_cli("security", "lag", "--rebuild", str(repo), "--workspace", str(ws), "-f", "json")
    assert r.exit_code == 0, r.stderr
    store = open_store(Workspace.open(ws).store_url)
    try:
        with store.session() as s:
            row = s.scalars(select(AdvisoryRow)).one()
    finally:
        store.close()
    assert row.advisory_id == "ALSA-2024:0001" and row.kind == "security"
    assert row.first_seen is not None and row.first_seen.replace(tzinfo=None).isoformat() == (
        "2024-01-03T12:00:00"
    )
