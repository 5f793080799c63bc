"""Release normalisation: a table of real-world releases, and every release of real metadata."""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path

import pytest

from elforge.rpm.nevra import EVR, NEVRA
from elforge.rpm.release import (
    normalize_release,
    parse_release,
    same_build,
    strip_dist,
    vendor_suffix,
)

# release, normalize_release, strip_dist, vendor_suffix
TABLE = [
    # RHEL / CentOS Stream dist tags
    ("9.el9", "9", "9", None),
    ("9.el9_4", "9", "9", None),
    ("1.el8_10", "1", "1", None),
    ("0.1.rc1.el9", "0.1.rc1", "0.1.rc1", None),
    ("1.2.el9", "1.2", "1.2", None),
    ("1.fc40", "1", "1", None),
    ("1", "1", "1", None),
    # RHEL z-stream counters after the dist tag (glibc-2.28-251.el8_10.40)
    ("251.el8_10.40", "251.40", "251.40", None),
    ("129.el8_10.29", "129.29", "129.29", None),
    ("20.el8_5.1", "20.1", "20.1", None),
    # AlmaLinux
    ("9.el9_4.alma.1", "9", "9.alma.1", ".alma.1"),
    ("21.el8_10.alma.1", "21", "21.alma.1", ".alma.1"),
    ("15.el8.alma", "15", "15.alma", ".alma"),
    ("12.el8_7.alma", "12", "12.alma", ".alma"),
    ("1.el10.alma.1", "1", "1.alma.1", ".alma.1"),
    ("251.el8_10.40.alma.1", "251.40", "251.40.alma.1", ".alma.1"),
    # Rocky Linux
    ("4.el8.rocky", "4", "4.rocky", ".rocky"),
    ("1.el9.rocky.0.2", "1", "1.rocky.0.2", ".rocky.0.2"),
    ("2.el9_4.rocky.0.1", "2", "2.rocky.0.1", ".rocky.0.1"),
    # Oracle Linux: ".0.1" in front of the dist tag, or after it
    ("236.0.1.el8", "236", "236.0.1", ".0.1"),
    ("513.5.1.0.1.el8_9", "513.5.1", "513.5.1.0.1", ".0.1"),
    ("5.el9_4.0.1", "5", "5.0.1", ".0.1"),
    # CentOS 7
    ("3.el7.centos", "3", "3.centos", ".centos"),
    # modules: stream version kept, build id and context hash dropped
    ("1.module+el8.8.0+18745+f1bef313", "1.module_el8.8.0", "1", None),
    ("1.module_el8.8.0+3609+204d4ab0", "1.module_el8.8.0", "1", None),
    ("1.module+el9.4.0+20787+4c237fd3", "1.module_el9.4.0", "1", None),
    ("0.25.20130910svn.module_el8.6.0+2786+d7c38b21", "0.25.20130910svn.module_el8.6.0",
     "0.25.20130910svn", None),
    ("1.module_el8.10.0+3844+20e075e5.alma.2", "1.module_el8.10.0", "1.alma.2", ".alma.2"),
    ("1.module_el8.10.0+3783+2756348e.alma", "1.module_el8.10.0", "1.alma", ".alma"),
    # CentOS Stream 9 modules carry no minor version
    ("8.module_el9+1086+80da4ced", "8.module_el9", "8", None),
    ("1.Final.module_el9+1108+b05fe5f3", "1.Final.module_el9", "1.Final", None),
    # an unknown word after the dist tag is kept: it may be a real difference
    ("3.el9.hotfix", "3.hotfix", "3.hotfix", None),
]  # fmt: skip


@pytest.mark.parametrize(("release", "normal", "stripped", "vendor"), TABLE)
def test_release_table(release: str, normal: str, stripped: str, vendor: str | None) -> None:
    assert normalize_release(release) == normal
    assert strip_dist(release) == stripped
    assert vendor_suffix(release) == vendor


def test_parse_parts() -> None:
    p = parse_release("9.el9_4.alma.1")
    assert (p.base, p.dist, p.major, p.minor, p.respin, p.vendor) == (
        "9", "el9_4", 9, 4, "", ".alma.1",
    )  # fmt: skip
    m = parse_release("1.module+el8.8.0+18745+f1bef313")
    assert (m.dist, m.major, m.minor, m.module_stream) == (
        "module+el8.8.0+18745+f1bef313", 8, 8, "el8.8.0",
    )  # fmt: skip


# reference, candidate, same build?
SAME = [
    ("bash-5.1.8-9.el9.x86_64", "bash-5.1.8-9.el9_4.alma.1.x86_64", True),
    ("bash-5.1.8-9.el9_4.x86_64", "bash-5.1.8-9.el9.aarch64", True),  # arch not compared
    ("glibc-2.28-251.el8_10.40.x86_64", "glibc-2.28-251.el8_10.40.alma.1.x86_64", True),
    ("glibc-2.28-251.el8_10.40.x86_64", "glibc-2.28-251.el8_10.38.x86_64", False),
    ("glibc-2.28-251.el8_10.40.x86_64", "glibc-2.28-251.el8_10.x86_64", False),
    ("glibc-2.28-236.el8.x86_64", "glibc-2.28-236.0.1.el8.x86_64", True),
    ("shim-15.8-1.el9.x86_64", "shim-15.8-1.el9.rocky.0.2.x86_64", True),
    ("bash-5.1.8-9.el9.x86_64", "bash-5.1.8-9.el8.x86_64", False),  # other major release
    ("bash-5.1.8-9.el9.x86_64", "bash-5.1.8-10.el9.x86_64", False),
    ("bash-5.1.8-9.el9.x86_64", "bash-5.1.9-9.el9.x86_64", False),
    ("bash-5.1.8-9.el9.x86_64", "bash-1:5.1.8-9.el9.x86_64", False),  # epoch
    ("bash-5.1.8-9.el9.x86_64", "zsh-5.1.8-9.el9.x86_64", False),
    ("nodejs-18.14.2-2.module+el8.8.0+18745+f1bef313.x86_64",
     "nodejs-18.14.2-2.module_el8.8.0+3609+204d4ab0.x86_64", True),
    ("nodejs-18.14.2-2.module+el8.8.0+18745+f1bef313.x86_64",
     "nodejs-18.14.2-2.module_el8.9.0+3627+db8ec155.x86_64", False),  # other stream version
    ("nodejs-18.14.2-2.module+el8.8.0+18745+f1bef313.x86_64",
     "nodejs-18.14.2-2.module_el8.8.0+3609+204d4ab0.alma.1.x86_64", True),
    ("nodejs-18.14.2-2.module+el9.1.0+18745+f1bef313.x86_64",
     "nodejs-18.14.2-2.module_el9+1086+80da4ced.x86_64", True),  # Stream: no stream version
    ("nodejs-18.14.2-2.module+el9.1.0+18745+f1bef313.x86_64",
     "nodejs-18.14.2-2.el9.x86_64", False),  # modular and non-modular
]  # fmt: skip


@pytest.mark.parametrize(("ref", "cand", "expected"), SAME)
def test_same_build(ref: str, cand: str, expected: bool) -> None:
    a, b = NEVRA.parse(ref), NEVRA.parse(cand)
    assert same_build(a, b) is expected
    assert same_build(b, a) is expected
    assert same_build(a.evr, b.evr) is (expected or a.name != b.name)


def test_same_build_without_release() -> None:
    assert same_build(EVR.parse("1.0"), EVR.parse("1.0"))
    assert not same_build(EVR.parse("1.0"), EVR.parse("1.0-1.el9"))


_DIST_TOKEN = re.compile(r"(^|\.)(el\d+(_\d+)?|module[+_]el)")


def _osv_releases(testdata: Path) -> list[str]:
    releases = set()
    for path in sorted((testdata / "security/almalinux-osv/almalinux8").glob("*.json")):
        doc = json.loads(path.read_text())
        for affected in doc.get("affected", []):
            for rng in affected.get("ranges", []):
                for event in rng.get("events", []):
                    fixed = event.get("fixed")
                    if fixed and "-" in fixed:
                        releases.add(EVR.parse(fixed).release or "")
    return sorted(r for r in releases if r)


def test_almalinux_osv_releases(testdata: Path) -> None:
    """Every fixed release of AlmaLinux 8's advisories: suffixes found, dist tags removed."""
    releases = _osv_releases(testdata)
    assert len(releases) > 1000
    alma = [r for r in releases if ".alma" in r]
    assert len(alma) > 50
    for release in releases:
        normal = normalize_release(release)
        assert ".alma" not in normal and not _DIST_TOKEN.search(normal.replace(".module_el", "")), (
            release
        )
        if ".alma" in release:
            assert (vendor_suffix(release) or "").startswith(".alma"), release
            # the same release without AlmaLinux's suffix is the same upstream build
            upstream = release[: release.index(".alma")]
            assert same_build(EVR(0, "1", release), EVR(0, "1", upstream)), release


def test_centos_stream_releases(testdata: Path) -> None:
    """Every release of CentOS Stream 9 AppStream: no vendor suffix; a rebuild's is ignored."""
    primary = next((testdata / "repodata/cs9-appstream-2024/repodata").glob("*-primary.xml.gz"))
    xml = gzip.decompress(primary.read_bytes()).decode()
    releases = set(re.findall(r'<version epoch="\d+" ver="[^"]*" rel="([^"]+)"', xml))
    assert len(releases) > 300  # distinct releases of 17,649 packages
    without_dist = [r for r in releases if parse_release(r).dist is None]
    assert any("module_el9+" in r for r in releases)
    assert len(without_dist) < len(releases) // 100  # nearly everything carries .el9
    for release in releases:
        assert vendor_suffix(release) is None, release
        if parse_release(release).dist is None:
            continue  # a vendor suffix is only recognised after a dist tag
        for suffix in (".alma.1", ".rocky.0.2"):
            assert normalize_release(release + suffix) == normalize_release(release)
            assert same_build(EVR(0, "1", release), EVR(0, "1", release + suffix)), release
