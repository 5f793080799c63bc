"""Verdicts on real wheels agree with ``auditwheel show`` using the imported policies."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from wheel_builds import build_wheels

from elforge.compat.appcheck import Verdict, run_appcheck
from elforge.compat.auditwheel import import_policy, policy_names
from elforge.compat.profile import Profile, load, save
from elforge.compat.resolver import Missing
from elforge.compat.wheelpolicy import WHEEL_ARCHES

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


def test_testdata_has_wheels(testdata: Path) -> None:
    assert len(wheels(testdata)) >= 10


BUILT = ["libpython", "blacklisted", "fpectl", "ucs2", "isa-v3", "bundled-version",
         "other-arch", "purelib"]  # fmt: skip


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return build_wheels(tmp_path_factory.mktemp("wheels"))


def our_view(verdict: Verdict, arch: str) -> dict[str, Any]:
    """elforge's verdict in the shape of ``auditwheel show --json`` (the fields it decides)."""
    labels = verdict.labels  # oldest (highest priority) first
    newest = verdict.results[labels[-1]][0]

    def has(label: str, code: str) -> bool:
        return any(f.code == code for f in verdict.results[label][0].findings)

    def reasons(label: str, *wanted: str) -> list[Missing]:
        return [m for m in verdict.results[label][0].missing if m.reason in wanted]

    fits = [label for label in labels if not has(label, "appcheck.machine")]  # policy has arch
    sym_ok = [label for label in fits if not reasons(label, "version-missing")]
    upgrades: dict[str, Any] = {}
    chosen = labels.index(verdict.oldest) if verdict.oldest else len(labels)
    for label in labels[:chosen]:
        entry: dict[str, Any] = {}
        libs = sorted({m.library for m in reasons(label, "library-missing", "libpython")})
        if libs:
            entry["libs_to_eliminate"] = libs
        banned: dict[str, set[str]] = {}
        for m in reasons(label, "blacklisted"):
            banned.setdefault(m.library, set()).add(m.symbol or "")
        if banned:
            entry["blacklisted_symbols"] = {k: sorted(v) for k, v in sorted(banned.items())}
        if entry:
            upgrades[f"{label}_{arch}"] = entry
    return {
        "overall_tag": f"{verdict.oldest or 'linux'}_{arch}",
        "sym_tag": f"{sym_ok[0] if sym_ok else 'linux'}_{arch}",
        "pyfpe": has(labels[-1], "appcheck.python-fpectl"),
        "ucs2": has(labels[-1], "appcheck.python-ucs2"),
        "unsupported_isa": has(labels[-1], "appcheck.isa-level"),
        "versioned_symbols": {k: sorted(v) for k, v in sorted(newest.system_libraries.items())},
        "external_libs": sorted({m.library for m in reasons(labels[-1], "library-missing",
                                                            "libpython")}),
        "policy_upgrades": upgrades,
    }  # fmt: skip


def their_view(doc: dict[str, Any]) -> dict[str, Any]:
    keys = ("overall_tag", "sym_tag", "pyfpe", "ucs2", "unsupported_isa", "versioned_symbols",
            "policy_upgrades")  # fmt: skip
    return {**{k: doc[k] for k in keys}, "external_libs": sorted(doc["external_libs"])}


def _same_as_auditwheel(wheel: Path, manylinux: list[Profile]) -> None:
    expected = auditwheel_show(wheel)
    verdict = run_appcheck([wheel], manylinux)
    newest = verdict.results[verdict.labels[-1]][0]
    if expected is None:
        # auditwheel refuses it: not a platform wheel (armv5l, mips64) or an invalid one
        assert verdict.oldest is None, wheel.name
        assert {f.code for f in newest.findings} & {"appcheck.machine", "appcheck.purelib"}
        return
    arch = next(a for a in WHEEL_ARCHES if expected["overall_tag"].endswith("_" + a))
    assert our_view(verdict, arch) == their_view(expected), wheel.name


@pytest.mark.parametrize("index", range(11))
def test_same_verdict_as_auditwheel(testdata: Path, manylinux: list[Profile], index: int) -> None:
    _same_as_auditwheel(wheels(testdata)[index], manylinux)


@pytest.mark.system
@pytest.mark.parametrize("name", BUILT)
def test_same_verdict_as_auditwheel_on_built_wheels(
    built: dict[str, Path], manylinux: list[Profile], name: str
) -> None:
    _same_as_auditwheel(built[name], manylinux)


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
