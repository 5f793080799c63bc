"""Verdicts on real wheels agree with ``auditwheel show`` using the imported policies."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from elforge.compat.appcheck import run_appcheck
from elforge.compat.auditwheel import import_policy, policy_names
from elforge.compat.profile import Profile, load, save

pytestmark = pytest.mark.slow

AUDITWHEEL = Path(sys.executable).with_name("auditwheel")


def wheels(testdata: Path) -> list[Path]:
    return sorted((testdata / "wheels" / "bundled").rglob("*.whl"))


@pytest.fixture(scope="module")
def manylinux(testdata: Path, tmp_path_factory: pytest.TempPathFactory) -> list[Profile]:
    """Every manylinux policy, imported and round-tripped through the profile file format."""
    policy_file = testdata / "wheels" / "policy" / "manylinux-policy.json"
    out = tmp_path_factory.mktemp("policies")
    profiles = []
    for name in policy_names(policy_file):
        save(import_policy(policy_file, name), out / f"{name}.json")
        profiles.append(load(out / f"{name}.json"))
    return profiles


def auditwheel_show(wheel: Path) -> dict | None:
    """auditwheel's JSON verdict, or None when it refuses the wheel (not a platform wheel)."""
    proc = subprocess.run([str(AUDITWHEEL), "show", "--json", str(wheel)],
                          capture_output=True, text=True, check=False)  # fmt: skip
    doc = json.loads(proc.stdout) if proc.stdout.strip() else {}
    if proc.returncode != 0 or "error" in doc:
        return None
    return doc


def strip_arch(tag: str) -> str | None:
    """``manylinux_2_17_aarch64`` → ``manylinux_2_17``; ``linux_x86_64`` → None."""
    m = re.match(r"(manylinux_\d+_\d+)_", tag)
    return m.group(1) if m else None


def test_testdata_has_wheels(testdata: Path) -> None:
    assert len(wheels(testdata)) >= 10


@pytest.mark.parametrize("index", range(11))
def test_same_verdict_as_auditwheel(testdata: Path, manylinux: list[Profile], index: int) -> None:
    wheel = wheels(testdata)[index]
    expected = auditwheel_show(wheel)
    verdict = run_appcheck([wheel], manylinux)
    newest = verdict.results[verdict.labels[-1]][0]
    if expected is None:
        # auditwheel refuses wheels of architectures without a policy (armv5l, mips64)
        assert verdict.oldest is None, wheel.name
        assert any(f.code == "appcheck.machine" for f in newest.findings)
        return
    # the platform tag: the oldest policy that works
    assert verdict.oldest == strip_arch(expected["overall_tag"]), wheel.name
    # the minimal glibc (symbol-version) requirement alone
    sym_ok = [
        label for label in verdict.labels
        if not any(m.reason == "version-missing" for r in verdict.results[label] for m in r.missing)
        and not any(f.code == "appcheck.machine" for r in verdict.results[label]
                    for f in r.findings)
    ]  # fmt: skip
    assert sym_ok[0] == strip_arch(expected["sym_tag"]), wheel.name
    # the same libraries named, with the same versions
    assert {k: sorted(v) for k, v in newest.system_libraries.items()} == {
        k: sorted(v) for k, v in expected["versioned_symbols"].items()
    }
    external = {m.library for m in newest.missing if m.reason == "library-missing"}
    assert external == set(expected["external_libs"]), wheel.name
    codes = {f.code for f in newest.findings}
    assert ("appcheck.python-ucs2" in codes) == expected["ucs2"], wheel.name
    assert ("appcheck.python-fpectl" in codes) == expected["pyfpe"], wheel.name


def test_cli_names_the_blacklisted_symbols(testdata: Path, tmp_path: Path) -> None:
    from helpers import run_cli

    policy_file = testdata / "wheels" / "policy" / "manylinux-policy.json"
    args = []
    for name in ("manylinux_2_5", "manylinux2010"):  # an alias works as well
        out = tmp_path / f"{name}.json"
        r = run_cli("-q", "profile", "import-auditwheel", str(policy_file), "--policy", name,
                    "-o", str(out), "--format", "json")  # fmt: skip
        assert r.exit_code == 0, r.stderr
        assert json.loads(r.stdout)["kind"] == "versions"
        args += ["--against", str(out)]
    wheel = testdata / "wheels/bundled/testzlib-0.0.1-cp310-cp310-linux_x86_64.whl"
    r = run_cli("-q", "appcheck", str(wheel), *args, "--format", "json")
    assert r.exit_code == 8
    doc = json.loads(r.stdout)
    assert doc["checked_against"] == "manylinux_2_12"
    found = {(m["library"], m["symbol"], m["reason"]) for m in doc["targets"][0]["missing"]}
    assert found == {
        ("libz.so.1", "zcalloc", "blacklisted"),
        ("libz.so.1", "zcfree", "blacklisted"),
    }
    # against manylinux_2_5 the ZLIB_1.2.0 version tag is also too new
    first = doc["results"]["manylinux_2_5"][0]["missing"]
    assert ("libz.so.1", "ZLIB_1.2.0") in {(m["library"], m["version"]) for m in first}
