"""Kernel fix candidates from a vulns-repository tree and a changelog."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from secfix import write_json

from elforge.errors import FormatError
from elforge.security.kernel import changelog_hits, rank_candidates, read_vulns_record
from helpers import require_tool, run_cli

INTRO = "1" * 40
FIX_510 = "a" * 40
FIX_61 = "b" * 40
FIX_MAIN = "c" * 40
TITLE = "netfilter: nf_tables: reject QUEUE/DROP verdict parameters"


def vulns_tree(root: Path) -> Path:
    """A vulns checkout laid out as the kernel CNA publishes it (CVE JSON 5 + .sha1)."""
    record = {
        "dataType": "CVE_RECORD",
        "dataVersion": "5.1",
        "cveMetadata": {"cveId": "CVE-2024-1086", "state": "PUBLISHED"},
        "containers": {
            "cna": {
                "title": TITLE,
                "affected": [
                    {
                        "product": "Linux",
                        "vendor": "Linux",
                        "defaultStatus": "unaffected",
                        "repo": "https://git.kernel.org/pub/scm/linux/kernel/git/stable/linux.git",
                        "programFiles": ["net/netfilter/nf_tables_api.c"],
                        "versions": [
                            {"version": INTRO, "lessThan": FIX_510, "status": "affected",
                             "versionType": "git"},
                            {"version": INTRO, "lessThan": FIX_61, "status": "affected",
                             "versionType": "git"},
                            {"version": INTRO, "lessThan": FIX_MAIN, "status": "affected",
                             "versionType": "git"},
                        ],
                    },
                    {
                        "product": "Linux",
                        "vendor": "Linux",
                        "defaultStatus": "affected",
                        "versions": [
                            {"version": "3.15", "status": "affected"},
                            {"version": "0", "lessThan": "3.15", "status": "unaffected",
                             "versionType": "semver"},
                            {"version": "5.10.209", "lessThanOrEqual": "5.10.*",
                             "status": "unaffected", "versionType": "semver"},
                            {"version": "6.1.75", "lessThanOrEqual": "6.1.*",
                             "status": "unaffected", "versionType": "semver"},
                            {"version": "6.8", "lessThanOrEqual": "*", "status": "unaffected",
                             "versionType": "original_commit_for_fix"},
                        ],
                    },
                ],
                "references": [
                    {"url": f"https://git.kernel.org/stable/c/{c}"}
                    for c in (FIX_510, FIX_61, FIX_MAIN)
                ],
            }
        },
    }  # fmt: skip
    path = write_json(root / "cve" / "published" / "2024" / "CVE-2024-1086.json", record)
    path.with_suffix(".sha1").write_text(FIX_MAIN + "\n", "utf-8")
    return root


CHANGELOG = f"""* Tue Feb 13 2024 Someone <s@example.org> [4.18.0-513.18.1.el8_9]
- {TITLE} (Florian Westphal) [RHEL-20980] {{CVE-2024-1086}}
- tls: fix race between tx work scheduling and socket close (S D) [RHEL-1] \
{{CVE-2024-26585, CVE-2024-26583}}
- something else entirely (Dev) [RHEL-2]
"""


def test_read_record(tmp_path: Path) -> None:
    title, cands = read_vulns_record(vulns_tree(tmp_path) / "cve/published/2024/CVE-2024-1086.json")
    assert title == TITLE
    assert [(c.commit[0], c.branch, c.fixed_in) for c in cands] == [
        ("a", "5.10", "5.10.209"), ("b", "6.1", "6.1.75"), ("c", "mainline", "6.8")
    ]  # fmt: skip
    assert all(c.introduced_by == INTRO for c in cands)


def test_ranking_with_changelog_and_base(tmp_path: Path) -> None:
    vulns = vulns_tree(tmp_path)
    result = rank_candidates("CVE-2024-1086", vulns, changelog=CHANGELOG, base="6.1.0")
    first, second, third = result.candidates
    assert first.commit == FIX_MAIN and first.score == 90  # mainline + changelog subject
    assert second.commit == FIX_61 and second.score == 90 - 0  # stable + base + subject
    assert third.commit == FIX_510 and third.score == 60
    assert any("changelog line 2 carries CVE-2024-1086" in e for e in first.evidence)
    assert any("matches the rebuild's kernel series" in e for e in second.evidence)


def test_changelog_only_candidates(tmp_path: Path) -> None:
    vulns = tmp_path / "vulns"
    vulns.mkdir()
    text = (
        "- fix (A) [RHEL-3] {CVE-2024-9999}\n"
        "- backport commit 0123456789abcdef (B) {CVE-2024-9999}\n"
    )
    result = rank_candidates("CVE-2024-9999", vulns, changelog=text)
    assert result.record is None
    assert [c.commit for c in result.candidates] == ["0123456789abcdef", ""]
    hits = changelog_hits(CHANGELOG, "CVE-2024-26583")
    assert [h.subject for h in hits] == [
        "tls: fix race between tx work scheduling and socket close"
    ]


def test_bad_record(tmp_path: Path) -> None:
    bad = write_json(tmp_path / "cve/published/2024/CVE-2024-0001.json", {"cveMetadata": {}})
    with pytest.raises(FormatError, match=r"containers\.cna"):
        read_vulns_record(bad)


@pytest.mark.system
def test_changelog_from_a_kernel_rpm(tmp_path: Path) -> None:
    """--changelog also takes the RPM itself: its header's changelog is read."""
    require_tool("rpmbuild")
    spec = tmp_path / "kernel.spec"
    spec.write_text(
        "Name: kernel\nVersion: 4.18.0\nRelease: 513.18.1.el8_9\nSummary: k\nLicense: GPLv2\n"
        "BuildArch: noarch\n%description\nk\n%files\n%changelog\n"
        "* Tue Feb 13 2024 Someone <s@example.org> - 4.18.0-513.18.1.el8_9\n"
        f"- {TITLE} (Florian Westphal) [RHEL-20980] {{CVE-2024-1086}}\n",
        "utf-8",
    )
    top = tmp_path / "rpmbuild"
    subprocess.run(["rpmbuild", "-bb", "--define", f"_topdir {top}", str(spec)],
                   check=True, capture_output=True)  # fmt: skip
    (rpm,) = (top / "RPMS").rglob("*.rpm")
    vulns = vulns_tree(tmp_path / "vulns")
    r = run_cli("security", "kernel-candidates", "CVE-2024-1086", "--vulns", str(vulns),
                "--changelog", str(rpm), "--format", "json")  # fmt: skip
    assert r.exit_code == 0, r.stderr
    best = json.loads(r.stdout)["candidates"][0]
    assert best["commit"] == FIX_MAIN and best["score"] == 90
    assert any("carries CVE-2024-1086 with the fix's subject" in e for e in best["evidence"])
