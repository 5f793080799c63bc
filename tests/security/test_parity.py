"""Per-CVE parity states against advisories and against what repositories ship."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from secfix import csaf_advisory, osv_record, write_json

from elforge.security.parity import compute_parity, parity_document
from elforge.security.shipped import load_shipped
from elforge.security.sources import load_source, load_sources
from elforge.security.versions import dist_major, evr_covers, normalize_release
from helpers import require_tool


@pytest.mark.parametrize(
    ("release", "normal"),
    [  # the contract's normalisation (elforge.rpm.release), as parity uses it
        ("1.el8_9.alma", "1"),
        ("9.el9_4.alma.1", "9"),
        ("2.module+el8.4.0+404+316a0dc5", "2.module_el8.4.0"),
        ("3.el9_4.5", "3.5"),
    ],
)
def test_normalize_release(release: str, normal: str) -> None:
    assert normalize_release(release) == normal


def test_evr_covers() -> None:
    # Rocky's module build counter (404) against Red Hat's (10521): the same build
    assert evr_covers((0, "1.0.1", "2.module+el8.4.0+404+316a0dc5"),
                      (0, "1.0.1", "2.module+el8.4.0+10521+a3a6e4b9"))  # fmt: skip
    assert evr_covers((0, "3.9.18", "3.el9_4.5.alma.1"), (0, "3.9.18", "3.el9_4.5"))
    assert not evr_covers((0, "3.9.18", "3.el9_4.4"), (0, "3.9.18", "3.el9_4.5"))
    assert evr_covers((32, "9.11.36", "5.el8"), (32, "9.11.36", "5.el8"))
    assert not evr_covers((0, "10", "1.el8"), (1, "9", "1.el8"))  # the epoch wins
    assert dist_major("139.module+el8.8.0+18745+f1bef313") == 8 and dist_major("1.fc40") is None


@pytest.fixture(scope="module")
def real_parity(testdata: Path):  # type: ignore[no-untyped-def]
    ref = load_sources([testdata / "security/redhat-csaf", testdata / "security/redhat-hydra"])
    rebuild = load_source(testdata / "security/almalinux-osv/almalinux8")
    return compute_parity(ref, rebuild)


def test_real_el8_parity(real_parity) -> None:  # type: ignore[no-untyped-def]
    r = real_parity
    assert r.rebuild_majors == {8}
    states = {c: s.state for c, s in r.cve_states.items()}
    # ruby module fixes: rebuilt as ALSA-2023:7025 / ALSA-2024:1431 with the same CVEs
    assert states["CVE-2023-36617"] == "fixed"
    assert states["CVE-2022-28739"] == "fixed"
    # python3.9 is EL9 only; RHSA-2025:23414 is RHEL 6 ELS only
    assert states["CVE-2024-8088"] == "not_shipped"
    assert states["CVE-2025-40778"] == "not_shipped"
    # sudo RHSA-2024:0811 has an EL8.9 build but the feed has no ALSA-2024:0811
    assert states["CVE-2023-42465"] == "missing"
    assert r.cve_states["CVE-2023-42465"].reference_id == "RHSA-2024:0811"
    # bind (Security Data API): EL8 fixes rebuilt, EUS/AUS/TUS/E4S and EL7/EL9 not shipped
    rows = {row.reference_id: row.state for row in r.rows if row.cve == "CVE-2021-25220"}
    assert rows["RHSA-2022:7790"] == "fixed" and rows["RHSA-2023:0402"] == "not_shipped"
    assert rows["RHSA-2024:2720"] == "not_shipped" and rows["RHSA-2022:8068"] == "not_shipped"
    assert r.mapped["RHSA-2023:7025"] == ["ALSA-2023:7025"]
    assert len(r.rebuild_only) == 6
    doc = parity_document(r, reference="rh", rebuild="alma", repos=[])
    assert doc.data["schema"] == "elforge.security-parity/1"
    summary = doc.data["summary"]
    assert summary["missing"] == 3 and summary["cves"] == sum(
        summary[k] for k in ("fixed", "under_investigation", "not_shipped", "missing")
    )
    assert {f.subject for f in doc.findings if f.code == "security.cve-missing"} == {
        "CVE-2023-28486", "CVE-2023-28487", "CVE-2023-42465"
    }  # fmt: skip


def _synthetic(tmp_path: Path) -> tuple[Path, Path]:
    ref = tmp_path / "ref"
    write_json(ref / "a.json", csaf_advisory(
        "RHSA-2024:1000", "2024-05-01T10:00:00+00:00",
        cves={"CVE-2024-1000": "Important", "CVE-2024-1001": "Moderate"},
        packages=["foo-0:1.0-2.el8_10.src", "foo-0:1.0-2.el8_10.x86_64",
                  "foo-libs-0:1.0-2.el8_10.x86_64"]))  # fmt: skip
    write_json(ref / "b.json", csaf_advisory(
        "RHSA-2024:1001", "2024-05-02T10:00:00+00:00", cves={"CVE-2024-2000": "Low"},
        packages=["bar-1:2.0-1.el8_10.x86_64"]))  # fmt: skip
    write_json(ref / "c.json", csaf_advisory(
        "RHSA-2024:1002", "2024-05-03T10:00:00+00:00", cves={"CVE-2024-3000": "Low"},
        packages=["qux-0:3.0-1.el8_10.x86_64"]))  # fmt: skip
    # a VEX document: one CVE without a fix yet, one that does not affect the product
    write_json(ref / "vex1.json", csaf_advisory(
        "CVE-2024-4000", "2024-05-04T00:00:00+00:00", cves={"CVE-2024-4000": "Moderate"},
        packages=["red_hat_enterprise_linux_8:kernel"], product="red_hat_enterprise_linux_8",
        status="under_investigation", category="csaf_vex"))  # fmt: skip
    write_json(ref / "vex2.json", csaf_advisory(
        "CVE-2024-5000", "2024-05-04T00:00:00+00:00", cves={"CVE-2024-5000": "Low"},
        packages=["red_hat_enterprise_linux_8:openssl"], product="red_hat_enterprise_linux_8",
        status="known_not_affected", category="csaf_vex"))  # fmt: skip
    rebuild = tmp_path / "rebuild"
    # rebuilds RHSA-2024:1000 but lists only one of its two CVEs
    write_json(rebuild / "ALSA-2024:1000.json", osv_record(
        "ALSA-2024:1000", "2024-05-01T00:00:00Z", cves=["CVE-2024-1000"],
        packages={"foo": "1.0-2.el8_10.alma", "foo-libs": "1.0-2.el8_10.alma"}))  # fmt: skip
    write_json(
        rebuild / "ALSA-2025:A002.json",
        osv_record(
            "ALSA-2025:A002", "2025-01-01T00:00:00Z", cves=[], packages={"open-vm-tools": "1-1.el8"}
        ),
    )
    return ref, rebuild


def test_states_from_advisories_and_vex(tmp_path: Path) -> None:
    ref, rebuild = _synthetic(tmp_path)
    r = compute_parity(load_source(ref), load_source(rebuild))
    states = {c: (s.state, s.reason) for c, s in r.cve_states.items()}
    assert states["CVE-2024-1000"][0] == "fixed"
    assert states["CVE-2024-1001"] == (
        "fixed", "the rebuild advisory ships the fixed builds but omits the CVE"
    )  # fmt: skip
    assert r.unlisted == [("RHSA-2024:1000", "ALSA-2024:1000", "CVE-2024-1001")]
    assert states["CVE-2024-2000"][0] == "missing"
    assert states["CVE-2024-4000"][0] == "under_investigation"
    assert states["CVE-2024-5000"][0] == "not_shipped"
    assert r.rebuild_only == ["ALSA-2025:A002"]
    doc = parity_document(r, reference="r", rebuild="b", repos=[])
    codes = {f.code for f in doc.findings}
    assert {"security.cve-missing", "security.cve-not-listed", "security.rebuild-only"} <= codes


def test_states_against_shipped_packages(tmp_path: Path) -> None:
    ref, rebuild = _synthetic(tmp_path)
    ships = tmp_path / "ships.txt"
    ships.write_text(
        "# what the rebuild's repositories hold\n"
        "foo-1.0-2.el8_10.alma.x86_64\nfoo-libs-1.0-1.el8.x86_64\n"
        "bar-1:2.0-1.el8_10.alma.1.x86_64\nbar-1:1.9-1.el8.x86_64\n",
        "utf-8",
    )
    r = compute_parity(load_source(ref), load_source(rebuild), load_shipped([ships]))
    states = {c: s for c, s in r.cve_states.items()}
    # foo-libs ships an older build: the reference fix is missing although ALSA lists the CVE
    assert states["CVE-2024-1000"].state == "missing"
    assert "foo-libs: ships 1.0-1.el8 < 1.0-2.el8_10" in states["CVE-2024-1000"].reason
    assert states["CVE-2024-2000"].state == "fixed"  # repo has bar without an advisory
    assert states["CVE-2024-2000"].evidence == (
        "ships bar-1:2.0-1.el8_10.alma.1 >= 1:2.0-1.el8_10",
    )
    assert states["CVE-2024-3000"].state == "not_shipped"  # qux is not in the repositories


@pytest.mark.system
def test_shipped_from_a_real_repository(tmp_path: Path) -> None:
    """Build two tiny RPMs, make a repository with createrepo_c and read its primary.xml."""
    require_tool("rpmbuild", "createrepo_c")
    top = tmp_path / "rpmbuild"
    spec = tmp_path / "foo.spec"
    spec.write_text(
        "Name: foo\nVersion: 1.0\nRelease: 2.el8_10.alma\nSummary: t\nLicense: MIT\n"
        "BuildArch: noarch\n%description\nt\n%package libs\nSummary: l\n%description libs\nl\n"
        "%files\n%files libs\n",
        "utf-8",
    )
    subprocess.run(
        ["rpmbuild", "-bb", "--define", f"_topdir {top}", str(spec)],
        check=True, capture_output=True,
    )  # fmt: skip
    repo = tmp_path / "repo"
    repo.mkdir()
    for rpm in (top / "RPMS").rglob("*.rpm"):
        shutil.copy(rpm, repo / rpm.name)
    subprocess.run(["createrepo_c", "-q", str(repo)], check=True)
    shipped = load_shipped([repo])
    assert sorted(shipped.packages) == ["foo", "foo-libs"]
    assert shipped.packages["foo"][0].release == "2.el8_10.alma"
    assert shipped.majors() == {8}
    from_rpms = load_shipped([top / "RPMS"])  # a plain folder of RPMs: headers
    assert sorted(str(p) for v in from_rpms.packages.values() for p in v) == [
        "foo-1.0-2.el8_10.alma.noarch", "foo-libs-1.0-2.el8_10.alma.noarch"
    ]  # fmt: skip
    ref, rebuild = _synthetic(tmp_path)
    r = compute_parity(load_source(ref), load_source(rebuild), shipped)
    assert r.cve_states["CVE-2024-1000"].state == "fixed"
    assert r.cve_states["CVE-2024-2000"].state == "not_shipped"
