from __future__ import annotations

from pathlib import Path

from elforge import __version__
from helpers import run_cli


def test_version() -> None:
    r = run_cli("--version")
    assert r.exit_code == 0 and __version__ in r.stdout


def test_vercmp_pair() -> None:
    assert run_cli("vercmp", "1.0~rc1", "1.0").stdout.strip() == "-1"
    assert run_cli("vercmp", "1:1.0-1", "2.0-1").stdout.strip() == "1"


def test_vercmp_batch(tmp_path: Path) -> None:
    f = tmp_path / "pairs.tsv"
    f.write_text("# comment\n1.0\t1.0\n1.0^1\t1.0\n\n2\t10\n")
    r = run_cli("vercmp", "--batch", str(f))
    assert r.exit_code == 0 and r.stdout.split() == ["0", "1", "-1"]


def test_vercmp_batch_bad_line_names_file(tmp_path: Path) -> None:
    f = tmp_path / "pairs.tsv"
    f.write_text("1.0 1.0\n")
    r = run_cli("vercmp", "--batch", str(f))
    assert r.exit_code == 1
    assert str(f) in r.stderr and "line 1" in r.stderr


def test_usage_error_exits_2() -> None:
    assert run_cli("vercmp").exit_code == 2
