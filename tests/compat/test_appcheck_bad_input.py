"""Bad input: one clear error naming the file; batch work records it and goes on."""

from __future__ import annotations

import gzip
import json
import zipfile
from pathlib import Path

import pytest
from compat_builds import LIBX_C, LIBX_OLD_MAP, build_dso

from elforge.compat.auditwheel import import_policy
from elforge.compat.profile import load
from elforge.compat.trees import read_wheel, wheel_member_problem
from elforge.errors import FormatError, UnsafePayloadError
from helpers import run_cli


@pytest.fixture(scope="module")
def profile(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small hand-written plain-JSON profile (load reads plain JSON as well)."""
    path = tmp_path_factory.mktemp("bad") / "tiny.json"
    path.write_text(json.dumps({
        "schema": "elforge.profile/1", "name": "tiny", "kind": "symbols",
        "arches": ["x86_64"], "packages": ["tiny-1-1.x86_64"],
        "libraries": [{"soname": "libc.so.6", "arch": "x86_64", "package": 0,
                       "paths": ["/usr/lib64/libc.so.6"],
                       "versions": ["GLIBC_2.2.5"], "symbols": {"GLIBC_2.2.5": "memcpy"}}],
    }))  # fmt: skip
    return path


def test_non_elf_target(tmp_path: Path, profile: Path) -> None:
    target = tmp_path / "notes.txt"
    target.write_text("hello, not an ELF file\n")
    r = run_cli("-q", "appcheck", str(target), "--against", str(profile), "--format", "json")
    assert r.exit_code == 1
    doc = json.loads(r.stdout)
    assert doc["targets"][0]["error"] == f"{target}: not an ELF file, RPM, wheel or directory"


def test_truncated_elf_target_and_in_a_directory(tmp_path: Path, profile: Path) -> None:
    lib = build_dso(tmp_path, "libx.so.1", "libx.so.1", LIBX_C, LIBX_OLD_MAP)
    cut = tmp_path / "cut" / "libcut.so"
    cut.parent.mkdir()
    cut.write_bytes(lib.read_bytes()[:200])
    r = run_cli("-q", "appcheck", str(cut), str(lib), "--against", str(profile),
                "--format", "json")  # fmt: skip
    assert r.exit_code == 1  # an unreadable target: not a verdict
    doc = json.loads(r.stdout)
    first, second = doc["targets"]
    assert first["error"].startswith(f"{cut}: ") and "truncated" in first["error"]
    assert "error" not in second and second["elf_files"] == 1  # the batch went on
    # inside a directory the broken file is a finding of that target
    r = run_cli("-q", "appcheck", str(cut.parent), "--against", str(profile), "--format", "json")
    assert r.exit_code == 8
    finding = json.loads(r.stdout)["targets"][0]["findings"][0]
    assert finding["code"] == "appcheck.bad-elf" and finding["subject"] == "libcut.so"


@pytest.mark.parametrize("member", ["../evil.so", "pkg/../../evil.so", "/etc/evil.so"])
def test_wheel_with_unsafe_member_names_is_refused(tmp_path: Path, profile: Path,
                                                   member: str) -> None:  # fmt: skip
    wheel = tmp_path / "evil-1.0-cp311-cp311-linux_x86_64.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        zf.writestr("evil/__init__.py", "")
        zf.writestr(member, b"\x7fELF" + b"\0" * 60)
    assert wheel_member_problem(member) is not None
    with pytest.raises(UnsafePayloadError) as err:
        read_wheel(wheel)
    assert str(wheel) in str(err.value) and repr(member) in str(err.value)
    r = run_cli("-q", "appcheck", str(wheel), "--against", str(profile), "--format", "json")
    assert r.exit_code == 1
    assert "refused" in json.loads(r.stdout)["targets"][0]["error"]


def test_not_a_zip_wheel(tmp_path: Path, testdata: Path) -> None:
    wheel = tmp_path / "broken-1.0-cp311-cp311-linux_x86_64.whl"
    wheel.write_bytes(b"PK\x03\x04 truncated")
    with pytest.raises(FormatError, match="not a wheel"):
        read_wheel(wheel)
    # against an auditwheel policy, next to a good wheel: one line names it, the other goes on
    policy = tmp_path / "m.json"
    r = run_cli("-q", "profile", "import-auditwheel",
                str(testdata / "wheels/policy/manylinux-policy.json"), "--policy",
                "manylinux_2_17", "-o", str(policy))  # fmt: skip
    assert r.exit_code == 0, r.stderr
    good = testdata / "wheels/bundled/glibc/testsimple-0.0.1-cp313-cp313-linux_x86_64.whl"
    r = run_cli("-q", "appcheck", str(wheel), str(good), "--against", str(policy))
    assert r.exit_code == 1
    text = " ".join(r.stdout.split())  # the console wraps long lines
    assert text.count("not a wheel") == 1, r.stdout
    assert f"BAD {wheel}: not a wheel (zip): File is not a zip file" in text, r.stdout
    doc = json.loads(run_cli("-q", "appcheck", str(wheel), str(good), "--against", str(policy),
                             "--format", "json").stdout)  # fmt: skip
    assert doc["targets"][1]["compatible"] is True


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        pytest.param(b"\x00garbage\xff", "not a profile", id="binary-garbage"),
        pytest.param(
            gzip.compress(b'{"schema": "elforge.profile/1", "name": "x"', mtime=0)[:-6],
            "not a profile",
            id="truncated-gzip",
        ),
        pytest.param(
            json.dumps({"schema": "elforge.appcheck/1"}).encode(),
            "not an elforge.profile/1",
            id="wrong-schema",
        ),
        pytest.param(
            json.dumps(
                {
                    "schema": "elforge.profile/1",
                    "name": "x",
                    "kind": "symbols",
                    "libraries": [{"soname": "a"}],
                }
            ).encode(),
            "malformed profile",
            id="library-without-symbols",
        ),
        pytest.param(
            json.dumps(
                {"schema": "elforge.profile/1", "name": "x", "kind": "versions", "libraries": []}
            ).encode(),
            "needs a 'policy'",
            id="versions-without-policy",
        ),
    ],
)
def test_malformed_profile(tmp_path: Path, content: bytes, problem: str) -> None:
    bad = tmp_path / "bad.json"
    bad.write_bytes(content)
    with pytest.raises(FormatError, match=problem) as err:
        load(bad)
    assert err.value.subject == str(bad)
    target = tmp_path / "t.so"
    target.write_bytes(b"\x7fELF")
    r = run_cli("appcheck", str(target), "--against", str(bad))
    assert r.exit_code == 1
    message = r.stderr.replace("\n", "")  # the console wraps long lines
    assert message.startswith(f"error: {bad}: ") and problem in message


def test_unknown_policy_and_bad_policy_file(tmp_path: Path, testdata: Path) -> None:
    policy_file = testdata / "wheels" / "policy" / "manylinux-policy.json"
    with pytest.raises(FormatError, match="no policy named 'manylinux_9_99'"):
        import_policy(policy_file, "manylinux_9_99")
    bad = tmp_path / "policy.json"
    bad.write_text('{"not": "a list"}')
    r = run_cli("profile", "import-auditwheel", str(bad), "--policy", "x", "-o",
                str(tmp_path / "out.json"))  # fmt: skip
    assert r.exit_code == 1 and f"error: {bad}: not an auditwheel policy file" in r.stderr.replace(
        "\n", ""
    )


def test_profile_create_refuses_what_it_cannot_read(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    r = run_cli("profile", "create", str(empty), "-o", str(tmp_path / "p.json"))
    assert (
        r.exit_code == 1
        and f"error: {empty}: no RPMs and not an installed root" in r.stderr.replace("\n", "")
    )
    # an RPM that is not one is recorded, the others still profiled
    junk = tmp_path / "rpms"
    junk.mkdir()
    (junk / "broken-1-1.x86_64.rpm").write_bytes(b"\xed\xab\xee\xdb not really")
    r = run_cli("-q", "profile", "create", str(junk), "-o", str(tmp_path / "p.json"),
                "--format", "json")  # fmt: skip
    assert r.exit_code == 0, r.stderr
    problems = json.loads(r.stdout)["problems"]
    assert problems[0]["file"].endswith("broken-1-1.x86_64.rpm")


def test_debug_files_are_not_checked_or_profiled(tmp_path: Path, profile: Path) -> None:
    """Separate debug files (NOBITS sections, so 'truncated' to a plain reader) are skipped."""
    lib = build_dso(tmp_path, "libx.so.1", "libx.so.1", LIBX_C, LIBX_OLD_MAP)
    tree = tmp_path / "pkg" / "usr/lib/debug/usr/lib64"
    tree.mkdir(parents=True)
    (tree / "libx.so.1-1.0.debug").write_bytes(lib.read_bytes()[:300])
    r = run_cli("-q", "appcheck", str(tmp_path / "pkg"), "--against", str(profile), "-f", "json")
    assert r.exit_code == 0, r.stdout
    assert json.loads(r.stdout)["targets"][0]["elf_files"] == 0
