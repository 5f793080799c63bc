"""The dashboard's small parts: demangling (binutils c++filt), the bind check, the token,
confined file reads and the lag plot's geometry."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from elforge.errors import ConfigError
from elforge.web import files
from elforge.web.demangle import demangle, mangled_in, readable
from elforge.web.runs import token_matches
from elforge.web.security import CveParity, lag_plot
from elforge.web.server import check_bind, is_loopback
from helpers import require_tool


def test_demangle_names_inside_findings() -> None:
    require_tool("c++filt")
    message = (
        "exported function _ZN4demo3subEii@@DEMO_1.0 was removed; "
        "_ZNSt6vectorIiSaIiEE9push_backERKi kept"
    )
    names = demangle(mangled_in([message, "plain_c_symbol", "_Zbogus"]))
    assert names["_ZN4demo3subEii"] == "demo::sub(int, int)"
    assert "push_back(int const&)" in names["_ZNSt6vectorIiSaIiEE9push_backERKi"]
    assert "_Zbogus" not in names  # not a valid mangling: shown as it is
    text = readable(message, names)
    assert text.startswith("exported function demo::sub(int, int)@@DEMO_1.0 was removed")


@pytest.mark.parametrize(
    ("host", "loopback"),
    [("127.0.0.1", True), ("127.8.9.10", True), ("::1", True), ("localhost", True),
     ("0.0.0.0", False), ("192.168.1.5", False), ("::", False), ("example.org", False)],
)  # fmt: skip
def test_loopback_addresses(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def test_bind_needs_allow_remote_and_a_token(tmp_path: Path) -> None:
    config = tmp_path / "elforge.toml"
    check_bind("127.0.0.1", allow_remote=False, token=None, config=config)
    with pytest.raises(ConfigError, match="--allow-remote"):
        check_bind("0.0.0.0", allow_remote=False, token="t" * 20, config=config)
    with pytest.raises(ConfigError, match="token"):
        check_bind("0.0.0.0", allow_remote=True, token=None, config=config)
    check_bind("0.0.0.0", allow_remote=True, token="t" * 20, config=config)
    with pytest.raises(ConfigError, match="shorter") as err:
        check_bind("127.0.0.1", allow_remote=False, token="secret-ish", config=config)
    assert "secret-ish" not in str(err.value)


def test_bearer_token() -> None:
    token = "k" * 24
    assert token_matches(token, f"Bearer {token}")
    assert not token_matches(token, f"bearer {token}")
    assert not token_matches(token, "Bearer " + "k" * 23)
    assert not token_matches(None, f"Bearer {token}")
    assert not token_matches(token, None)


def test_reads_stay_inside_the_workspace(tmp_path: Path) -> None:
    root, outside = tmp_path / "ws", tmp_path / "secret"
    (root / "logs").mkdir(parents=True)
    outside.write_text("not yours")
    os.symlink(outside, root / "logs" / "link.log")
    (root / "logs" / "build.log").write_text("x" * 100_000)
    assert files.log_tail(root, str(root / "logs" / "link.log")) is None
    assert files.log_tail(root, str(root / "logs" / ".." / ".." / "secret")) is None
    tail = files.log_tail(root, str(root / "logs" / "build.log"))
    assert tail is not None and tail.truncated and len(tail.text) == files.LOG_TAIL_BYTES
    assert files.relative(root, root / "logs" / "build.log") == "logs/build.log"
    assert files.report_findings(root, str(outside)) == []


def test_lag_plot_geometry() -> None:
    base = datetime(2023, 3, 1, tzinfo=UTC)
    cves = [
        CveParity(f"CVE-2023-{i:04d}", "fixed", "RHSA-2023:1", base + timedelta(days=400 * (i % 2)),
                  None, ["ALSA-2023:1"], None, lag)
        for i, lag in enumerate([0.0, 0.5, 3.0, 30.0, 300.0])
    ] + [CveParity("CVE-2024-9", "missing", "RHSA-2024:2", base, None, [], None, None)]  # fmt: skip
    plot = lag_plot(cves)
    assert plot is not None
    assert [t.label for t in plot.x_ticks] == ["2023", "2024"]
    assert len(plot.points) == 5  # the missing CVE has no lag to draw
    ys = {p.label.split(":")[0]: p.y for p in plot.points}
    assert ys["CVE-2023-0004"] < ys["CVE-2023-0003"] < ys["CVE-2023-0002"]  # longer lag: higher
    assert all(plot.left <= p.x <= plot.width and 0 <= p.y <= plot.bottom for p in plot.points)
    assert lag_plot([cves[-1]]) is None
