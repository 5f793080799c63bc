"""``elforge errata``: advisories for the rebuild's own packages, from Red Hat's CSAF, checked
by dnf on repositories built here with rpmbuild at the unfixed and fixed versions."""

from __future__ import annotations

import gzip
import hashlib
import json
import shutil
import sqlite3
import subprocess
from pathlib import Path
from typing import Any

import pytest
from errata_fixtures import build_rpms, dnf, modules_yaml
from secfix import csaf_advisory, write_json

from elforge.rpm.updateinfo import read_updateinfo
from elforge.security.sources import load_source
from helpers import TESTDATA, require_tool, run_cli

CSAF = TESTDATA / "security" / "redhat-csaf"
pytestmark = pytest.mark.system


def _init(tmp_path: Path) -> Path:
    ws = tmp_path / "ws"
    assert run_cli("init", str(ws)).exit_code == 0
    return ws


def _publish(rpms: list[Path], folder: Path, ws: Path, *extra: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for rpm in rpms:
        shutil.copy2(rpm, folder / rpm.name)
    res = run_cli(
        "-q", "publish", str(folder), str(ws / "repos"), "-w", str(ws), *extra, "-f", "json"
    )
    assert res.exit_code == 0, res.stderr


def _generate(ws: Path, *refs: Path) -> tuple[dict[str, Any], str]:
    args = [a for r in refs for a in ("--reference", str(r))]
    res = run_cli("errata", "generate", "-w", str(ws), *args, "-f", "json")
    assert res.exit_code == 0, res.stderr
    doc = json.loads(res.stdout)
    assert doc["schema"] == "elforge.errata/1"
    return doc, res.stderr


def _by_id(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {a["id"]: a for a in doc["advisories"]}


def _bad_inputs(folder: Path) -> Path:
    """A CSAF with a broken product tree, and an advisory for a package the rebuild lacks."""
    broken = json.loads((CSAF / "rhsa-2024_0811.json").read_text())
    broken["document"]["tracking"]["id"] = "RHSA-2099:0001"
    broken["product_tree"]["relationships"] = "not a list"
    write_json(folder / "broken.json", broken)
    lacking = csaf_advisory(
        "RHSA-2024:4242", "2024-05-01T00:00:00Z", cves={"CVE-2024-4242": "Important"},
        packages=["zzz-absent-0:1.0-2.el9.x86_64"], product="BaseOS-9.4.0.Z.MAIN",
    )  # fmt: skip
    write_json(folder / "lacking.json", lacking)
    hostile = json.loads((CSAF / "rhsa-2024_0811.json").read_text())
    hostile["document"]["tracking"]["id"] = "RHSA-2024:0811/../../../evil"
    write_json(folder / "hostile.json", hostile)
    return folder


def test_generate_pending_then_published_from_red_hat_csaf(tmp_path: Path) -> None:
    ws = _init(tmp_path)
    extra = _bad_inputs(tmp_path / "extra")
    unfixed = build_rpms(tmp_path / "b", "sudo", "1.9.5p2", "9", subpackages=("python-plugin",))
    _publish(unfixed, tmp_path / "in", ws)
    doc, stderr = _generate(ws, CSAF, extra)
    got = _by_id(doc)
    assert got["FLSA-2024:0811"]["status"] == "pending"
    assert got["FLSA-2024:0811"]["reason"] == (
        "sudo.x86_64: published 1.9.5p2-9.el9_3 < fix 1.9.5p2-10.el9_3; "
        "sudo-python-plugin.x86_64: published 1.9.5p2-9.el9_3 < fix 1.9.5p2-10.el9_3"
    )
    # EL8 fixes, EL9 EUS-only fixes and packages the rebuild lacks do not apply
    assert got["FLSA-2023:7025"]["reason"] == "the fix is for EL8; the rebuild is EL9"
    assert got["FLSA-2025:23414"]["reason"] == "the fix is only for extended-support streams"
    assert got["FLSA-2024:4242"]["status"] == "not_applicable"
    assert "publishes none of the fixed packages (zzz-absent)" in got["FLSA-2024:4242"]["reason"]
    assert got["FLSA-2024:9371"]["reason"].endswith("(python3.9)")  # a source-only CSAF
    # the broken product tree: one line naming the file, and everything else went on
    bad = [line for line in stderr.splitlines() if "broken.json" in line]
    assert bad == [f"warning: {extra / 'broken.json'} [RHSA-2099:0001]: malformed product_tree "
                   "relationships: not a list of objects"]  # fmt: skip
    assert "FLSA-2099:0001" not in got
    # an id that would become a path downstream: refused, named, the rest went on
    (hostile,) = [line for line in stderr.splitlines() if "hostile.json" in line]
    assert hostile.endswith("'RHSA-2024:0811/../../../evil' is not a plain advisory id; skipped")
    assert len(doc["errors"]) == 2 and not any("evil" in a for a in got)

    fixed = build_rpms(tmp_path / "b", "sudo", "1.9.5p2", "10", subpackages=("python-plugin",))
    _publish(unfixed + fixed, tmp_path / "in", ws)
    doc, _ = _generate(ws, CSAF, extra)
    adv = _by_id(doc)["FLSA-2024:0811"]
    assert adv["status"] == "published" and doc["changed"] == ["FLSA-2024:0811"]
    assert adv["type"] == "security" and adv["severity"] == "Moderate"
    assert adv["cves"] == ["CVE-2023-28486", "CVE-2023-28487", "CVE-2023-42465"]
    assert adv["references"][0] == {
        "url": "https://access.redhat.com/errata/RHSA-2024:0811", "type": "erratum",
        "id": "RHSA-2024:0811",
    }  # fmt: skip
    repo = ws / "repos"
    for pkg in adv["packages"]:  # file and checksum as published, checked independently
        assert pkg["release"] == "10.el9_3"
        path = repo / pkg["filename"]
        assert pkg["checksum"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert sorted(p["nevra"] for p in adv["packages"]) == [
        "sudo-1.9.5p2-10.el9_3.x86_64", "sudo-python-plugin-1.9.5p2-10.el9_3.x86_64",
    ]  # fmt: skip
    assert adv["issued_source"] == "file-time" and adv["issued"]
    # rerun: nothing changes in the store
    rows = sqlite3.connect(ws / ".elforge" / "state.db").execute("SELECT * FROM errata").fetchall()
    again, _ = _generate(ws, CSAF, extra)
    assert again["changed"] == [] and _by_id(again)["FLSA-2024:0811"]["issued"] == adv["issued"]
    rows2 = sqlite3.connect(ws / ".elforge" / "state.db").execute("SELECT * FROM errata").fetchall()
    assert [r[:-1] for r in rows2] == [r[:-1] for r in rows]  # all but the modified stamp


def test_newer_build_replacing_the_fix_sets_updated(tmp_path: Path) -> None:
    ws = _init(tmp_path)
    fixed = build_rpms(tmp_path / "b", "sudo", "1.9.5p2", "10", subpackages=("python-plugin",))
    _publish(fixed, tmp_path / "in1", ws)
    first = _by_id(_generate(ws, CSAF / "rhsa-2024_0811.json")[0])["FLSA-2024:0811"]
    newer = build_rpms(tmp_path / "b", "sudo", "1.9.5p2", "11", subpackages=("python-plugin",))
    # keep one build: the newer one replaces the fix (the default keeps three for downgrades)
    _publish(newer, tmp_path / "in2", ws, "--keep", "1")
    doc, _ = _generate(ws, CSAF / "rhsa-2024_0811.json")
    second = _by_id(doc)["FLSA-2024:0811"]
    assert doc["changed"] == ["FLSA-2024:0811"]
    assert second["issued"] == first["issued"] and second["updated"] is not None
    assert {p["release"] for p in second["packages"]} == {"11.el9_3"}


def _synthetic_multilib_and_module(tmp_path: Path) -> tuple[list[Path], Path, Path]:
    """libtally for x86_64 and i686 (multilib) and a modular tally-tools in stream tally:2."""
    rpms = build_rpms(tmp_path / "m", "libtally", "2.0", "3")
    rpms += build_rpms(tmp_path / "m", "libtally", "2.0", "3", target="i686")
    tools = build_rpms(
        tmp_path / "m", "tally-tools", "2.0", "3.module+el9.3.0+12+abcdef12", dist="%{nil}"
    )
    modules = modules_yaml(
        tmp_path / "modules.yaml", "tally", "2", 9030020231201,
        ["tally-tools-0:2.0-3.module+el9.3.0+12+abcdef12.x86_64"],
    )  # fmt: skip
    pkgs = [
        "libtally-0:2.0-3.el9_3.x86_64", "libtally-0:2.0-3.el9_3.i686",
        "tally-tools-0:2.0-3.module+el9.3.0+1500+deadbeef.x86_64::tally:2",
    ]  # fmt: skip
    advisory = csaf_advisory(
        "RHSA-2024:5555", "2024-06-01T00:00:00Z", cves={"CVE-2024-5555": "Important"},
        packages=pkgs, product="AppStream-9.4.0.Z.MAIN",
    )  # fmt: skip
    return rpms + tools, modules, write_json(tmp_path / "refs" / "rhsa-2024_5555.json", advisory)


def test_updateinfo_keeps_multilib_and_module_packages(tmp_path: Path) -> None:
    ws = _init(tmp_path)
    rpms, modules, ref = _synthetic_multilib_and_module(tmp_path)
    _publish(rpms, tmp_path / "in", ws, "--modules", str(modules))
    adv = _by_id(_generate(ws, ref)[0])["FLSA-2024:5555"]
    assert adv["status"] == "published", adv["reason"]
    _publish(rpms, tmp_path / "in", ws, "--modules", str(modules))  # merges the advisory
    info = read_updateinfo(next((ws / "repos" / "repodata").glob("*updateinfo.xml.gz")))
    (update,) = info.updates
    packages = {(p.name, p.arch) for p in update.packages}
    assert packages == {("libtally", "x86_64"), ("libtally", "i686"), ("tally-tools", "x86_64")}
    modular = [c for c in update.collections if c.module is not None]
    assert [(c.module.name, c.module.stream, c.module.version) for c in modular if c.module] == [
        ("tally", "2", "9030020231201")
    ]
    assert [p.name for p in modular[0].packages] == ["tally-tools"]


@pytest.mark.slow
def test_dnf_lists_shows_and_resolves_the_advisory(tmp_path: Path) -> None:
    ws = _init(tmp_path)
    unfixed = build_rpms(tmp_path / "b", "sudo", "1.9.5p2", "9", subpackages=("python-plugin",))
    fixed = build_rpms(tmp_path / "b", "sudo", "1.9.5p2", "10", subpackages=("python-plugin",))
    _publish(fixed, tmp_path / "in", ws)
    _generate(ws, CSAF)
    _publish(fixed, tmp_path / "in", ws)  # now with the advisory in updateinfo
    old_repo = tmp_path / "old"
    assert (
        run_cli("-q", "publish", str(unfixed[0].parent), str(old_repo), "-o", "/dev/null").exit_code
        == 0
    )
    root = tmp_path / "root"
    done = dnf(root, "install", "sudo", "sudo-python-plugin", repos={"old": old_repo})
    assert done.returncode == 0, done.stderr
    repo = {"r": ws / "repos"}
    listed = dnf(root, "updateinfo", "list", "--security", repos=repo)
    assert listed.returncode == 0, listed.stderr
    lines = sorted(" ".join(ln.split()) for ln in listed.stdout.splitlines() if "FLSA" in ln)
    assert lines == [
        "FLSA-2024:0811 Moderate/Sec. sudo-1.9.5p2-10.el9_3.x86_64",
        "FLSA-2024:0811 Moderate/Sec. sudo-python-plugin-1.9.5p2-10.el9_3.x86_64",
    ]
    shown = dnf(root, "updateinfo", "info", "FLSA-2024:0811", repos=repo)
    assert "Update ID: FLSA-2024:0811" in shown.stdout and "CVE-2023-42465" in shown.stdout
    assert "Severity: Moderate" in shown.stdout
    upgrade = dnf(root, "upgrade", "--advisory", "FLSA-2024:0811", "--assumeno", repos=repo)
    assert "Operation aborted" in upgrade.stdout + upgrade.stderr  # resolved, then declined
    table = " ".join(upgrade.stdout.split())
    assert "sudo x86_64 1.9.5p2-10.el9_3 r" in table
    assert "sudo-python-plugin x86_64 1.9.5p2-10.el9_3 r" in table


def test_export_osv_layout_and_oval_that_oscap_validates(tmp_path: Path) -> None:
    require_tool("oscap")
    ws = _init(tmp_path)
    rpms, modules, ref = _synthetic_multilib_and_module(tmp_path)
    rpms += build_rpms(tmp_path / "b", "sudo", "1.9.5p2", "10", subpackages=("python-plugin",))
    _publish(rpms, tmp_path / "in", ws, "--modules", str(modules))
    _generate(ws, CSAF, ref)
    res = run_cli("errata", "export", "-w", str(ws), "--osv", str(tmp_path / "osv"),
                  "--oval", str(tmp_path / "oval.xml"), "-f", "json")  # fmt: skip
    assert res.exit_code == 0, res.stderr
    doc = json.loads(res.stdout)
    assert doc["schema"] == "elforge.errata-export/1" and doc["osv_files"] == 2
    # AlmaLinux's layout: advisories/<name><major>/<ID>.json, here for workspace "ws", EL9
    files = sorted(
        p.relative_to(tmp_path / "osv").as_posix() for p in (tmp_path / "osv").rglob("*.json")
    )
    assert files == ["advisories/ws9/FLSA-2024:0811.json", "advisories/ws9/FLSA-2024:5555.json"]
    alma = sorted((TESTDATA / "security" / "almalinux-osv" / "almalinux8").glob("ALSA-*.json"))[0]
    assert alma.parent.name == "almalinux8" and ":" in alma.name  # the same naming
    feed = load_source(tmp_path / "osv")  # our OSV reader, which reads AlmaLinux's records
    assert feed.errors == []
    back = feed.advisories["FLSA-2024:5555"]
    assert back.related_advisories == ("RHSA-2024:5555",)
    assert {(p.name, p.evr, p.module) for p in back.packages} == {
        ("libtally", "2.0-3.el9_3", None),
        ("tally-tools", "2.0-3.module+el9.3.0+12+abcdef12", "tally:2"),
    }
    checked = subprocess.run(["oscap", "oval", "validate", str(tmp_path / "oval.xml")],
                             capture_output=True, text=True, check=False)  # fmt: skip
    assert checked.returncode == 0, checked.stdout + checked.stderr
    text = (tmp_path / "oval.xml").read_text()
    assert text.count("<definition ") == 2 and text.count("<linux-def:rpminfo_test ") == 4
    assert "sudo-python-plugin is earlier than 0:1.9.5p2-10.el9_3" in text


def test_export_needs_a_target(tmp_path: Path) -> None:
    ws = _init(tmp_path)
    res = run_cli("errata", "export", "-w", str(ws))
    assert res.exit_code == 2 and "--osv" in res.stderr


def test_updateinfo_gz_is_valid_for_createrepo(tmp_path: Path) -> None:
    """The merged updateinfo is what repomd.xml names, gzip'd and readable."""
    ws = _init(tmp_path)
    fixed = build_rpms(tmp_path / "b", "sudo", "1.9.5p2", "10")
    _publish(fixed, tmp_path / "in", ws)
    _generate(ws, CSAF / "rhsa-2024_0811.json")
    _publish(fixed, tmp_path / "in", ws)
    repomd = (ws / "repos" / "repodata" / "repomd.xml").read_text()
    assert 'type="updateinfo"' in repomd
    path = next((ws / "repos" / "repodata").glob("*-updateinfo.xml.gz"))
    assert b"<id>FLSA-2024:0811</id>" in gzip.decompress(path.read_bytes())


def test_almalinux_osv_reference_matches_a_module_stream(tmp_path: Path) -> None:
    """An OSV record as the reference: its fixes name no stream, only a modular release."""
    ws = _init(tmp_path)
    config = (ws / "elforge.toml").read_text().replace('dist = ".el9"', 'dist = ".el8"')
    (ws / "elforge.toml").write_text(config)
    release = "142.module_el8.9.0+3746+91b8233a"
    rpms = build_rpms(
        tmp_path / "m", "ruby", "3.1.4", release, dist="%{nil}", subpackages=("libs",)
    )
    modules = modules_yaml(
        tmp_path / "modules.yaml", "ruby", "3.1", 8090020240115,
        [f"ruby-0:3.1.4-{release}.x86_64", f"ruby-libs-0:3.1.4-{release}.x86_64"],
    )  # fmt: skip
    _publish(rpms, tmp_path / "in", ws, "--modules", str(modules))
    osv = TESTDATA / "security" / "almalinux-osv" / "almalinux8" / "ALSA-2024:1431.json"
    adv = _by_id(_generate(ws, osv)[0])["FLSA-2024:1431"]
    assert adv["status"] == "published", adv["reason"]
    assert [(p["nevra"], p["module"]) for p in adv["packages"]] == [
        (f"ruby-3.1.4-{release}.x86_64", "ruby:3.1:8090020240115:9edba152:x86_64"),
        (f"ruby-libs-3.1.4-{release}.x86_64", "ruby:3.1:8090020240115:9edba152:x86_64"),
    ]
    assert "CVE-2023-28755" in adv["cves"] and adv["severity"] == "Moderate"


def test_since_leaves_out_older_reference_advisories(tmp_path: Path) -> None:
    ws = _init(tmp_path)
    _publish(build_rpms(tmp_path / "b", "sudo", "1.9.5p2", "10"), tmp_path / "in", ws)
    res = run_cli("errata", "generate", "-w", str(ws), "--reference", str(CSAF),
                  "--since", "2024-03-01", "-f", "json")  # fmt: skip
    assert res.exit_code == 0, res.stderr
    ids = sorted(a["reference_id"] for a in json.loads(res.stdout)["advisories"])
    assert ids == ["RHSA-2024:1431", "RHSA-2024:6163", "RHSA-2024:9371", "RHSA-2025:23414"]
    bad = run_cli(
        "errata", "generate", "-w", str(ws), "--reference", str(CSAF), "--since", "03/01/2024"
    )
    assert bad.exit_code == 1 and bad.stderr.count("\n") == 1 and "--since" in bad.stderr
