"""The ledger (Markdown, JSON, HTML) and the branding scanner (trees and RPM payloads)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from patchkit import DATA, config, copy_tree, fixed_date, write_tree  # noqa: F401

from helpers import require_tool, run_cli


def _packages(testdata: Path, tmp_path: Path) -> Path:
    pkgs = tmp_path / "pkgs"
    copy_tree(testdata / "distgit/centos-release-c8", pkgs / "centos-release")
    copy_tree(testdata / "distgit/openela-bash-el8", pkgs / "bash")
    return pkgs


@pytest.mark.system
def test_ledger_markdown_json_html(testdata: Path, tmp_path: Path) -> None:
    pkgs = _packages(testdata, tmp_path)
    args = ["patch", "ledger", "--packages", str(pkgs), "--configs", str(DATA / "elforge"),
            "--release", "el8"]  # fmt: skip
    md = run_cli(*args)
    assert md.exit_code == 0, md.stderr
    assert "2 modified package(s), 13 action(s)" in md.stdout
    assert (
        "| centos-release | centos-release-8.0-0.1905.0.5.el8 | patched | 4 | remove_source |"
        " elforge | certificates | the reference's testing key is not ours | 1 |" in md.stdout
    )
    data = json.loads(run_cli(*args, "-f", "json").stdout)
    assert data["schema"] == "elforge.ledger/1" and data["packages"] == 2
    assert {r["package"] for r in data["rows"]} == {"bash", "centos-release"}
    out = tmp_path / "ledger.html"
    assert run_cli(*args, "-f", "html", "-o", str(out)).exit_code == 0
    page = out.read_text()
    assert page.startswith("<!DOCTYPE html>") and "the reference&#x27;s testing key" in page


def test_ledger_from_saved_results(tmp_path: Path) -> None:
    tree = write_tree(tmp_path / "t", {"demo.spec": "Name: demo\nVersion: 1\nRelease: 1\n"})
    cfg = config(
        tmp_path / "c/demo.yaml",
        "actions:\n  - action: release_suffix\n    suffix: .exl\n"
        "    reason: {category: branding, text: 'mark <it>'}\n",
    )
    saved = tmp_path / "r.json"
    r = run_cli("patch", "apply", "--tree", str(tree), "--config", str(cfg), "-f", "json",
                "-o", str(saved))  # fmt: skip
    assert r.exit_code == 0
    md = run_cli("patch", "ledger", str(saved))
    assert (
        "| demo |  | patched | 0 | release_suffix | elforge | branding | mark <it> | 1 |"
        in md.stdout
    )
    html = run_cli("patch", "ledger", str(saved), "-f", "html").stdout
    assert "mark &lt;it&gt;" in html


def test_scan_tree_patterns_and_allow_list(testdata: Path, tmp_path: Path) -> None:
    tree = testdata / "distgit/centos-release-c8"
    r = run_cli("scan", str(tree), "-f", "json")
    assert r.exit_code == 4
    doc = json.loads(r.stdout)
    assert doc["schema"] == "elforge.scan/1" and doc["needing_config"] == ["centos-release"]
    patterns = {h["pattern"] for h in doc["hits"]}
    assert {"vendor-name", "release-file", "vendor-url"} <= patterns
    assert not any(h["file"].endswith(".spec") and h["line"] > 215 for h in doc["hits"])
    allow = tmp_path / "allow.yaml"
    allow.write_text("allow:\n  - package: centos-release\n    why: testing\n")
    r = run_cli("scan", str(tree), "--allow", str(allow), "-f", "json")
    assert r.exit_code == 0
    assert all(h["allowed"] for h in json.loads(r.stdout)["hits"])


@pytest.mark.system
def test_scan_after_debranding_finds_less(testdata: Path, tmp_path: Path) -> None:
    tree = copy_tree(testdata / "distgit/centos-release-c8", tmp_path / "cr")
    before = json.loads(run_cli("scan", str(tree), "-f", "json").stdout)["hits"]
    assert run_cli("patch", "apply", "--tree", str(tree), "--config", str(DATA / "elforge"),
                   "--no-apply-check").exit_code == 0  # fmt: skip
    after = json.loads(run_cli("scan", str(tree), "-f", "json").stdout)["hits"]
    assert len(after) < len(before)
    assert not any("mirrorlist.centos.org" in h["excerpt"] for h in after)
    assert not any("CentOS Linux" in h["excerpt"] for h in after if h["kind"] == "spec")


def test_scan_bad_patterns_file(tmp_path: Path) -> None:
    bad = tmp_path / "p.yaml"
    bad.write_text("patterns:\n  - id: x\n    regex: '(open'\n")
    r = run_cli("scan", str(tmp_path), "--patterns", str(bad))
    # the root error handler may wrap the line on a narrow terminal: compare unwrapped
    assert r.exit_code == 1 and f"error: {bad}: key 'patterns.0.regex'" in " ".join(
        r.stderr.split()
    )


@pytest.mark.system
@pytest.mark.slow
def test_scan_rpm_payload(tmp_path: Path) -> None:
    require_tool("rpmbuild", "rpm2cpio")
    spec = tmp_path / "brand.spec"
    spec.write_text(
        "Name: brandtest\nVersion: 1\nRelease: 1\nSummary: t\nLicense: MIT\nBuildArch: noarch\n"
        "%description\nt\n%install\nmkdir -p %{buildroot}/etc\n"
        "echo 'Red Hat Enterprise Linux release 9' > %{buildroot}/etc/brand-release\n"
        "printf 'bin\\000ary see /etc/redhat-release\\000' > %{buildroot}/etc/blob\n"
        "%files\n/etc/brand-release\n/etc/blob\n"
    )
    top = tmp_path / "top"
    subprocess.run(
        ["rpmbuild", "-bb", "--define", f"_topdir {top}", str(spec)],
        check=True, capture_output=True,
    )  # fmt: skip
    (rpm,) = (top / "RPMS/noarch").glob("*.rpm")
    doc = json.loads(run_cli("scan", str(rpm), "-f", "json").stdout)
    hits = {(h["file"], h["pattern"]) for h in doc["hits"]}
    assert ("/etc/brand-release", "vendor-name") in hits
    assert ("/etc/blob", "release-file") in hits
    assert doc["needing_config"] == ["brandtest"]


def test_scan_real_rpms_every_compressor(testdata: Path) -> None:
    folder = testdata / "rpms/payload-variants"
    doc = json.loads(run_cli("scan", str(folder), "-f", "json").stdout)
    assert doc["errors"] == []
    assert sorted(doc["scanned"]) == sorted(p.name for p in folder.rglob("*.rpm"))
