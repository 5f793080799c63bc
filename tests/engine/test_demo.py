"""``make demo`` end to end, into a temporary folder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from elforge import demo

pytestmark = [pytest.mark.system, pytest.mark.slow]


def test_demo_runs_the_pipeline_and_writes_summary_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dest = tmp_path / "demo-workspace"
    assert demo.main([str(dest)]) == 0
    summary = json.loads((dest / "summary.json").read_text())
    assert summary["schema"] == "elforge.run/1"
    assert summary["packages_total"] == 9 and summary["counts"]["imported"] == 9
    assert len(list((dest / "reference").glob("*.rpm"))) == 13
    out = capsys.readouterr().out
    assert "stage implementations in this build" in out
    assert "reports written" in out and "summary.json" in out
    assert "wave 3: cheer" in out
    assert "cycle acme-docgen <-> acme-fmt" in out and "bootstrap" in out
    assert Path(summary["report"]).is_file()
    assert f"elforge serve -w {dest}" in out
    report = (dest / "report.html").read_text(encoding="utf-8")
    assert 'id="pkg-libtally-abi"' in report and "<script" not in report
