"""Untrusted text shows as text: ``<script>`` from an RPM Summary (a real RPM built by
rpmbuild), a changelog entry and a patch config's search string and reason, in the dashboard
and in the single-file report (``elforge report``), which also has to work offline."""

from __future__ import annotations

import html
import re
from pathlib import Path

import httpx
import pytest
from markupsafe import escape
from web_fixtures import Served

from helpers import run_cli

pytestmark = [pytest.mark.system, pytest.mark.slow]

INJECTED = {
    "summary": '<script>alert("summary")</script>',
    "changelog": '<script>alert("changelog")</script>',
    "search string": "<script>alert('config')</script>",
    "reason": "<script>alert('reason')</script>",
    "drifted search string": "<script>alert('drift')</script>",
}
RAW_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)


def _escaped(text: str) -> str:
    return str(escape(text))  # what Jinja's autoescape writes


def _check(page: str, where: str, keys: tuple[str, ...]) -> None:
    assert not RAW_SCRIPT.search(page), f"{where}: a script element"
    for key in keys:
        assert INJECTED[key] not in page, f"{where}: raw {key}"
        assert _escaped(INJECTED[key]) in page, f"{where}: {key} not shown as text"


def test_dashboard_escapes_package_text(served: Served) -> None:
    page = httpx.get(served.url + "/packages/webinject", timeout=30).text
    _check(page, "/packages/webinject", ("summary", "changelog", "search string", "reason"))
    drift = httpx.get(served.url + "/packages/webdrift", timeout=30).text
    _check(drift, "/packages/webdrift", ("drifted search string",))
    table = httpx.get(served.url + "/packages?problems=1", timeout=30).text
    _check(table, "/packages", ("drifted search string",))


def test_api_returns_the_text_unchanged(served: Served) -> None:
    data = httpx.get(served.url + "/api/packages/webinject", timeout=30).json()
    assert data["rpms"][0]["summary"].startswith(INJECTED["summary"])
    assert INJECTED["changelog"] in data["rpms"][0]["changelog"][0]["text"]


def test_single_file_report(served: Served, tmp_path: Path) -> None:
    out = tmp_path / "out" / "report.html"
    result = run_cli("report", "-w", str(served.root), "-o", str(out))
    assert result.exit_code == 0, result.stderr
    text = out.read_text(encoding="utf-8")
    _check(text, "report", tuple(INJECTED))
    # offline: no script, no stylesheet or image from anywhere else
    assert "<script" not in text.lower()
    assert not re.search(r"""(?:src|href)=["']?(?:https?:)?//""", text)
    assert '<svg class="lagplot"' in text and "<circle" in text
    # links between the package table and each package's patch, ABI and kABI sections
    for anchor in ("pkg-libtally", "pkg-libtally-abi", "pkg-libtally-kabi", "pkg-acme-motd-patch"):
        assert f'id="{anchor}"' in text and f'href="#{anchor}"' in text, anchor
    # the ABI report link is relative to the file and points at the real report
    link = re.search(r'href="([^"]+libtally\.x86_64\.json)"', text)
    assert link and (out.parent / link.group(1)).resolve().is_file()
    # the full problem text, not cut at a column width, here and in the run's own report
    full = "Welcome to Acme Enterprise Linux Server' not found"
    assert full in html.unescape(text)
    run_report = (served.root / "reports" / "run-1.html").read_text(encoding="utf-8")
    assert full in html.unescape(run_report)
