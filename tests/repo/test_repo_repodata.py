"""rpm-md metadata reading: real repositories, the URL path over loopback HTTP, bad input."""

from __future__ import annotations

import gzip
import re
import shutil
import socket
from collections import Counter
from pathlib import Path

import pytest
from repo_helpers import built_rpms_fixture, serve, small_repo_fixture  # noqa: F401

from elforge.errors import ChecksumError, FetchError, FormatError
from elforge.rpm.nevra import NEVRA
from elforge.rpm.repodata import Repository

pytestmark = pytest.mark.system

CS9 = "repodata/cs9-appstream-2024"


@pytest.mark.slow
def test_cs9_appstream_primary(testdata: Path, tmp_path: Path) -> None:
    repo = Repository(testdata / CS9, cache_dir=tmp_path)
    assert repo.repomd.revision == "9-stream"
    assert {r.type for r in repo.repomd.records} >= {"primary", "filelists", "modules"}
    pkgs = repo.packages()
    assert len(pkgs) == 17649
    assert Counter(p.arch for p in pkgs) == {"x86_64": 9263, "noarch": 5697, "i686": 2689}
    ds = next(p for p in pkgs if p.nevra == NEVRA("389-ds-base", 0, "2.5.1", "1.el9", "x86_64"))
    assert ds.pkgid == "d906a4edec477483b2c11176dabfe62a73031b88ae1be5862ff5f8ed15c62ec2"
    assert ds.location_href == "Packages/389-ds-base-2.5.1-1.el9.x86_64.rpm"
    assert ds.source_name == "389-ds-base"
    assert "libc.so.6(GLIBC_2.34)(64bit)" in {d.name for d in ds.requires}
    nss = [d for d in ds.requires if d.name == "nss"]
    assert {str(d) for d in nss} == {"nss >= 3.67.0-7", "nss >= 3.90.0"}
    assert any(d.pre for d in ds.requires if d.name == "/bin/sh")
    assert "/etc/dirsrv/config/certmap.conf" in ds.files  # primary's file subset
    # the filelists of this snapshot is an empty placeholder: its open-checksum says so
    with pytest.raises(ChecksumError, match=r"-filelists\.xml\.gz: decompressed sha256"):
        repo.packages(files=True)


def test_osbuild_custom_zstd_metadata(testdata: Path) -> None:
    repo = Repository(testdata / "repodata/osbuild-custom")
    (pkg,) = repo.packages(files=True)
    assert str(pkg.nevra) == "pkg-with-no-deps-1.0.0-0.noarch"
    assert [str(d) for d in pkg.provides] == ["pkg-with-no-deps", "pkg-with-no-deps = 1.0.0-0"]
    assert repo.changelogs() == {pkg.pkgid: ()}
    assert repo.modules() is None and repo.updateinfo_path() is None


def test_rocky8_fixtures_are_trimmed_and_caught(testdata: Path) -> None:
    """The Rocky fixtures were cut down after repomd.xml was written: verification says so."""
    happy = testdata / "repodata/rocky8-fixtures/happy/AppStream/x86_64/os"
    repo = Repository(happy)
    with pytest.raises(ChecksumError, match=r"modules\.yaml\.xz: size 756 differs from 63000"):
        repo.modules()
    with pytest.raises(ChecksumError, match=r"updateinfo\.xml\.gz"):
        repo.updateinfo_path()
    # read as-is, knowingly unverified
    loose = Repository(happy, verify=False)
    modules = loose.modules()
    assert modules is not None and modules.stream_names() == {"squid:4"}
    assert modules.default_stream("squid") == "4"
    path = loose.updateinfo_path()
    assert path is not None
    with gzip.open(path) as fh:
        assert fh.read().startswith(b"<updates>")
    with pytest.raises(FormatError, match=r"primary file named in repomd\.xml is missing"):
        loose.packages()


def test_rocky8_broken_repomd_variants(testdata: Path) -> None:
    base = testdata / "repodata/rocky8-fixtures"
    empty = Repository(base / "repomd_invalid/BaseOS/x86_64/os")
    assert empty.repomd.records == ()
    with pytest.raises(FormatError, match=r"repomd\.xml has no 'primary' record"):
        empty.packages()
    no_ui = Repository(base / "no_updateinfo_field/BaseOS/x86_64/os")
    assert no_ui.updateinfo_path() is None
    broken_ui = Repository(base / "updateinfo_invalid/BaseOS/x86_64/os")
    with pytest.raises(ChecksumError):
        broken_ui.updateinfo_path()


def test_updateinfo_sample_added_to_a_built_repo(
    testdata: Path, small_repo: Path, tmp_path: Path
) -> None:
    """createrepo_c's updateinfo samples, added with modifyrepo_c: the path comes back verified."""
    import subprocess

    sample = testdata / "repodata/updateinfo-samples/updateinfo_03.xml"
    shutil.copy(sample, tmp_path / "updateinfo.xml")
    subprocess.run(
        ["modifyrepo_c", str(tmp_path / "updateinfo.xml"), str(small_repo / "repodata")],
        check=True,
        capture_output=True,
    )
    path = Repository(small_repo).updateinfo_path()
    assert path is not None
    with gzip.open(path) as fh:
        assert fh.read() == sample.read_bytes()


def test_url_path_matches_local_and_caches(small_repo: Path, tmp_path: Path) -> None:
    local = Repository(small_repo).packages(files=True)
    with serve(small_repo) as (url, log):
        remote = Repository(url, cache_dir=tmp_path / "cache")
        assert remote.packages(files=True) == local
        fetched = [p for p in log if "primary" in p or "filelists" in p]
        assert len(fetched) == 2
        log.clear()
        again = Repository(url + "/", cache_dir=tmp_path / "cache")
        assert again.packages() == Repository(small_repo).packages()
        assert not [p for p in log if "primary" in p]  # served from the cache
        pkg = next(p for p in local if p.name == "app")
        got = again.fetch_package(pkg, dest=tmp_path / "dl")
        assert got.read_bytes() == (small_repo / pkg.location_href).read_bytes()


def test_fetch_package_refuses_a_corrupted_file(small_repo: Path, tmp_path: Path) -> None:
    pkg = next(p for p in Repository(small_repo).packages() if p.name == "tool")
    victim = small_repo / pkg.location_href
    data = bytearray(victim.read_bytes())
    data[-10] ^= 0xFF
    victim.write_bytes(bytes(data))
    with serve(small_repo) as (url, _log):
        repo = Repository(url, cache_dir=tmp_path / "cache")
        with pytest.raises(ChecksumError, match=re.escape(pkg.location_href)):
            repo.fetch_package(pkg)
        assert not list((tmp_path / "cache" / "packages").iterdir())  # bad copy not kept
    with pytest.raises(ChecksumError, match=re.escape(str(victim))):
        Repository(small_repo).fetch_package(pkg)


def test_repomd_checksum_mismatch(small_repo: Path) -> None:
    repomd = small_repo / "repodata/repomd.xml"
    text = repomd.read_text()
    rec = Repository(small_repo).record("primary")
    assert rec is not None and rec.checksum
    bad = f'<checksum type="sha256">{"0" * 64}</checksum>'
    repomd.write_text(text.replace(f'<checksum type="sha256">{rec.checksum}</checksum>', bad))
    with pytest.raises(ChecksumError, match=r"-primary\.xml\.gz: sha256 .* differs from 0{64}"):
        Repository(small_repo).packages()


def test_open_checksum_mismatch(small_repo: Path) -> None:
    rec = Repository(small_repo).record("filelists")
    assert rec is not None and rec.open_checksum
    repomd = small_repo / "repodata/repomd.xml"
    repomd.write_text(repomd.read_text().replace(rec.open_checksum, "f" * 64))
    with pytest.raises(ChecksumError, match="differs from open-checksum"):
        Repository(small_repo).packages(files=True)


def test_truncated_primary(small_repo: Path) -> None:
    rec = Repository(small_repo).record("primary")
    assert rec is not None
    primary = small_repo / rec.location_href
    primary.write_bytes(primary.read_bytes()[: (rec.size or 0) // 2])
    with pytest.raises(ChecksumError, match=rf"{re.escape(primary.name)}: size \d+ differs"):
        Repository(small_repo).packages()
    with pytest.raises(FormatError, match=re.escape(primary.name)):
        Repository(small_repo, verify=False).packages()


def test_unreachable_url_names_it(tmp_path: Path) -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}/repo"
    with pytest.raises(FetchError, match=re.escape(f"{url}/repodata/repomd.xml: cannot fetch")):
        Repository(url, cache_dir=tmp_path)


def test_http_404_names_the_url(tmp_path: Path) -> None:
    with serve(tmp_path) as (url, _log), pytest.raises(FetchError, match="HTTP 404"):
        Repository(url + "/nothing", cache_dir=tmp_path / "c")


def test_not_a_repository(tmp_path: Path) -> None:
    with pytest.raises(FormatError, match=r"no repodata/repomd\.xml"):
        Repository(tmp_path)
    (tmp_path / "repodata").mkdir()
    (tmp_path / "repodata/repomd.xml").write_text("<repomd><data type=")
    with pytest.raises(FormatError, match=r"not a valid repomd\.xml"):
        Repository(tmp_path)
