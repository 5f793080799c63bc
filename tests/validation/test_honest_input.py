"""Bad input at each format boundary: one line naming the file, the others go on, and input
that could not be read never passes as empty."""

from __future__ import annotations

import gzip
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from elforge.errors import FormatError
from elforge.rpm.repodata import iter_primary
from helpers import TESTDATA, run_cli

SEC = TESTDATA / "security"
ELFORGE = Path(sys.executable).parent / "elforge"


def test_a_type_confused_osv_record_is_a_warning_not_an_aborted_folder(tmp_path: Path) -> None:
    folder = tmp_path / "osv"
    shutil.copytree(SEC / "rocky-osv", folder)
    bad = folder / "RLSA-9999_0001.json"
    record = json.loads((folder / "RLSA-2024_3671.json").read_text())
    record["id"] = "RLSA-9999:0001"
    record["references"] = [7, "x"]  # type confusion deep in the record
    bad.write_text(json.dumps(record))
    r = run_cli("security", "parity", "--reference", str(SEC / "redhat-csaf"),
                "--rebuild", str(folder), "-f", "json")  # fmt: skip
    assert r.exit_code == 8, r.stderr  # the check ran: Rocky's feed misses some CVEs
    warnings = [line for line in r.stderr.splitlines() if "RLSA-9999_0001.json" in line]
    assert len(warnings) == 1 and "malformed advisory" in warnings[0], r.stderr
    doc = json.loads(r.stdout)
    assert doc["schema"] == "elforge.security-parity/1"


def test_an_unreadable_only_reference_fails(tmp_path: Path) -> None:
    broken = tmp_path / "ref.json"
    broken.write_text((SEC / "redhat-csaf" / "rhsa-2024_1431.json").read_text()[:500])
    r = run_cli("security", "parity", "--reference", str(broken),
                "--rebuild", str(SEC / "rocky-osv"))  # fmt: skip
    errors = [line for line in r.stderr.splitlines() if line.startswith("error")]
    assert r.exit_code == 1 and len(errors) == 1, r.stderr
    assert str(broken) in errors[0] and "nothing could be read" in errors[0]


def _primary_with(tmp_path: Path, old: bytes, new: bytes) -> Path:
    (src,) = (TESTDATA / "repodata/cs9-appstream-2024/repodata").glob("*-primary.xml.gz")
    xml = gzip.decompress(src.read_bytes())
    assert old in xml
    out = tmp_path / "primary.xml.gz"
    out.write_bytes(gzip.compress(xml.replace(old, new, 1)))
    return out


def test_garbage_flags_in_primary_is_one_line(tmp_path: Path) -> None:
    primary = _primary_with(tmp_path, b'flags="EQ"', b'flags="nan"')
    with pytest.raises(FormatError) as exc:
        list(iter_primary(primary))
    assert str(primary) in str(exc.value) and "flags='nan'" in str(exc.value)


def test_createrepo_c_noise_stays_off_the_terminal(tmp_path: Path) -> None:
    primary = _primary_with(tmp_path, b"</package>", b"</pakage>")
    probe = ("import sys; from pathlib import Path; from elforge.rpm.repodata import iter_primary\n"
             "try:\n    list(iter_primary(Path(sys.argv[1])))\n"
             "except Exception as e:\n    print(type(e).__name__, e)\n")  # fmt: skip
    done = subprocess.run([sys.executable, "-c", probe, str(primary)],
                          capture_output=True, text=True, check=False)  # fmt: skip
    assert done.stderr == "", done.stderr
    assert done.stdout.startswith("FormatError") and len(done.stdout.strip().splitlines()) == 1


def test_an_xml_declaration_naming_a_bogus_encoding_is_one_error(tmp_path: Path) -> None:
    from elforge.rpm.updateinfo import read_updateinfo

    path = tmp_path / "updateinfo.xml"
    path.write_bytes(b'<?xml version="1.0" encoding="UTF--18"?>\n<updates></updates>\n')
    info = read_updateinfo(path)
    assert info.errors and "malformed XML: unknown encoding" in str(info.errors[0])
    assert str(path) in str(info.errors[0])


@pytest.mark.parametrize(
    "command",
    [
        ("rpm", "info", "{trunc}"),
        ("rpm", "extract", "{flip}", "{tmp}/out"),
        ("abi", "diff", "{trunc}", "{flip}", "--no-cache"),
        ("kabi", "diff", "{trunc}", "{trunc}"),
        ("repo", "diff", "{repo}", "{repo}"),
    ],
    ids=["rpm-info", "rpm-extract", "abi-diff", "kabi-diff", "repo-diff"],
)
def test_tool_messages_never_add_lines(command: tuple[str, ...], tmp_path: Path) -> None:
    """librpm, createrepo_c and GLib print their own lines; the user sees one."""
    signed = TESTDATA / "rpms" / "signed" / "bash-5.1.8-9.el9.x86_64.rpm"
    trunc = tmp_path / "trunc.rpm"
    trunc.write_bytes(signed.read_bytes()[:3000])
    flip = tmp_path / "flip.rpm"
    data = bytearray(signed.read_bytes())
    data[200] ^= 0xFF
    flip.write_bytes(bytes(data))
    repo = tmp_path / "repo"
    (repo / "repodata").mkdir(parents=True)
    (repo / "repodata" / "repomd.xml").write_text('<repomd><data type="primary"></data>')
    names = {"trunc": trunc, "flip": flip, "repo": repo, "tmp": tmp_path}
    argv = [part.format(**names) for part in command]
    done = subprocess.run([ELFORGE, *argv], capture_output=True, text=True, check=False)
    assert done.returncode == 1, done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
