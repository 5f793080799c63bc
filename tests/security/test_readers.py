"""Every provided advisory file parses; bad inputs give clear errors and the rest goes on."""

from __future__ import annotations

import json
import re
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest

from elforge.errors import FormatError
from elforge.security.csaf import advisory_from_csaf, read_csaf, statements
from elforge.security.hydra import read_hydra
from elforge.security.mapping import index_by_reference, is_rebuild_only, reference_ids
from elforge.security.osv import read_osv
from elforge.security.sources import load_source

EL8 = "security/almalinux-osv/almalinux8"


@pytest.fixture(scope="module")
def el8(testdata: Path):  # type: ignore[no-untyped-def]
    return load_source(testdata / EL8)


def test_every_csaf_file_parses(testdata: Path) -> None:
    files = sorted((testdata / "security/redhat-csaf").rglob("*.json"))
    assert len(files) == 7
    for path in files:
        doc = read_csaf(path)
        adv = advisory_from_csaf(doc)
        assert adv.id.startswith("RHSA-") and adv.cves and adv.packages, path
        assert adv.issued is not None and adv.severity in ("Moderate", "Important")
        assert statements(doc)


def test_csaf_product_id_spellings(testdata: Path) -> None:
    base = testdata / "security/redhat-csaf"
    # name-epoch:version-release.arch
    py = advisory_from_csaf(read_csaf(base / "2024/rhsa-2024_6163.json"))
    src = [p for p in py.packages if p.arch == "src"]
    assert {str(p) for p in src} == {"python3.9-3.9.18-3.el9_4.5.src"}
    assert {p.product for p in src} == {
        "AppStream-9.4.0.Z.MAIN.EUS", "BaseOS-9.4.0.Z.MAIN.EUS", "CRB-9.4.0.Z.MAIN.EUS"
    }  # fmt: skip
    assert py.issued == datetime(2024, 9, 3, 17, 57, 24, tzinfo=UTC)  # vendor_fix date
    # name-version-release.arch.rpm-module:stream (2023)
    old = advisory_from_csaf(read_csaf(base / "rhsa-2023_3821.json"))
    ruby = next(p for p in old.packages if p.name == "ruby" and p.arch == "x86_64")
    assert ruby.release == "139.module+el8.8.0+18745+f1bef313" and ruby.module == "ruby:2.7"
    # name-epoch:version-release.arch::module:stream (2024)
    new = advisory_from_csaf(read_csaf(base / "rhsa-2024_1431.json"))
    ruby = next(p for p in new.packages if p.name == "ruby" and p.arch == "x86_64")
    assert (ruby.version, ruby.module) == ("3.1.4", "ruby:3.1")
    # epoch 32, known_not_affected beside fixed
    bind = read_csaf(base / "2025/rhsa-2025_23414.json")
    adv = advisory_from_csaf(bind)
    assert {p.epoch for p in adv.packages if p.name == "bind"} == {32}
    kinds = {s.status for s in statements(bind)}
    assert kinds == {"fixed", "known_not_affected"}


def test_hydra_records(testdata: Path) -> None:
    rec = read_hydra(testdata / "security/redhat-hydra/cve-2024-8088.json")
    assert rec.severity == "Moderate" and len(rec.statements) == 4
    assert {s.advisory for s in rec.statements} == {"RHSA-2024:6163", "RHSA-2024:9371"}
    bind = read_hydra(testdata / "security/redhat-hydra/cve-2021-25220.json")
    fixed = next(s for s in bind.statements if s.advisory == "RHSA-2022:7790")
    assert fixed.fixed is not None and fixed.fixed.evr == "32:9.11.36-5.el8"


def test_rocky_osv(testdata: Path) -> None:
    files = sorted((testdata / "security/rocky-osv").glob("*.json"))
    for path in files:
        adv = read_osv(path)
        assert adv.id.startswith("RLSA-") and adv.cves and adv.packages
        assert all(p.product and p.product.startswith("Rocky Linux:") for p in adv.packages)
    ruby = read_osv(testdata / "security/rocky-osv/RLSA-2024_3671.json")
    assert ruby.severity == "Moderate"
    assert ruby.packages[0].evr == "3.3.1-2.module+el9.4.0+20787+4c237fd3"
    assert reference_ids(ruby) == ["RHSA-2024:3671"]  # by number: RLSA -> RHSA


def test_all_el8_records_parse(el8) -> None:  # type: ignore[no-untyped-def]
    assert el8.files_read == 3237
    assert len(el8.advisories) == 3237
    assert el8.errors == []
    kinds = {a.kind for a in el8.advisories.values()}
    assert kinds == {"security", "bugfix", "enhancement"}
    alsa = el8.advisories["ALSA-2024:0003"]
    assert alsa.severity == "Important" and "CVE-2023-6856" in alsa.cves
    assert alsa.packages[0].evr == "115.6.0-1.el8_9.alma"
    assert alsa.related_advisories == ("RHSA-2024:0003",)


def test_every_referenced_rhsa_is_mapped(el8, testdata: Path) -> None:  # type: ignore[no-untyped-def]
    referenced: set[str] = set()
    for path in (testdata / EL8).glob("*.json"):
        doc = json.loads(path.read_bytes())
        for ref in doc["references"]:
            referenced.update(
                f"{m[0]}-{m[1]}:{m[2]}" for m in re.findall(r"(RH[SBE]A)-(\d{4}):(\d+)", ref["url"])
            )
    assert len(referenced) >= 1600
    index = index_by_reference(el8.advisories.values())
    unmapped = sorted(r for r in referenced if r not in index)
    assert unmapped == []
    for ref in referenced:  # the mapped rebuild advisory carries the same number
        assert any(a.number == ref.split("-", 1)[1] for a in index[ref])


def test_rebuild_only_advisories(el8) -> None:  # type: ignore[no-untyped-def]
    only = sorted(a.id for a in el8.advisories.values() if is_rebuild_only(a))
    assert only == [
        "ALSA-2025:A001", "ALSA-2025:A004", "ALSA-2026:A001",
        "ALSA-2026:A004", "ALSA-2026:A007", "ALSA-2026:A008",
    ]  # fmt: skip


def test_repositories_and_broken_fixtures(testdata: Path) -> None:
    feed = load_source(testdata / "repodata/rocky8-fixtures")
    assert {"RLSA-2021:1979", "RLSA-2021:2575", "RLBA-2021:2580"} <= set(feed.advisories)
    messages = [str(e) for e in feed.errors]
    assert any("repomd_invalid" in m and "no updateinfo" in m for m in messages)
    assert any("no_updateinfo_field" in m for m in messages)
    assert any("updateinfo_invalid" in m and "malformed XML" in m for m in messages)
    rlba = feed.advisories["RLBA-2021:2580"]
    assert rlba.kind == "bugfix" and rlba.related_advisories == ("RHBA-2021:2580",)


def test_bad_inputs_are_reported_and_the_rest_is_read(testdata: Path, tmp_path: Path) -> None:
    feed_dir = tmp_path / "feed"
    feed_dir.mkdir()
    for name in ("ALSA-2024:0003.json", "ALBA-2019:0973.json"):
        shutil.copy(testdata / EL8 / name, feed_dir / name)
    (feed_dir / "broken.json").write_text('{"id": "ALSA-2024:9999", "affected": [', "utf-8")
    (feed_dir / "no-published.json").write_text(
        json.dumps({"id": "ALSA-2024:9998", "affected": []}), "utf-8"
    )
    (feed_dir / "odd-date.json").write_text(
        json.dumps({"id": "ALSA-2024:9997", "affected": [], "published": "03/01/2024"}), "utf-8"
    )
    (feed_dir / "csaf-no-id.json").write_text(json.dumps({"document": {}}), "utf-8")
    (feed_dir / "something.json").write_text("[1, 2]", "utf-8")
    feed = load_source(feed_dir)
    assert sorted(feed.advisories) == ["ALBA-2019:0973", "ALSA-2024:0003"]
    errors = {Path(e.subject or "").name.split(" ")[0]: e.problem for e in feed.errors}
    assert errors["broken.json"].startswith("invalid JSON")
    assert errors["no-published.json"] == "missing field 'published'"
    assert "unknown date format '03/01/2024'" in errors["odd-date.json"]
    assert errors["csaf-no-id.json"] == "missing field 'document.tracking.id'"
    assert "not an object" in errors["something.json"]


def test_single_file_errors_raise(tmp_path: Path) -> None:
    bad = tmp_path / "x.json"
    bad.write_text("{", "utf-8")
    for reader in (read_osv, read_csaf, read_hydra):
        with pytest.raises(FormatError, match="invalid JSON"):
            reader(bad)  # type: ignore[operator]
