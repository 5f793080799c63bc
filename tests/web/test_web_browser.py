"""The dashboard in a real browser: Debian's headless Chromium driven by Playwright.

Screenshots go to the test's tmp folder (kept by pytest for the last runs) and, when
``ELFORGE_TEST_ARTIFACTS`` names a folder, there too (CI keeps that folder).
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright
from web_fixtures import Served, start_webinject_run

from helpers import require_tool, run_cli

pytestmark = [pytest.mark.system, pytest.mark.slow]

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    require_tool("chromium")
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser: Browser, tmp_path: Path) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    tab.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    tab.on("dialog", lambda dialog: errors.append(f"a script ran: {dialog.message}"))
    yield tab
    context.close()
    assert not errors, errors  # no CSP violation, no script error, no injected alert


def shot(page: Page, tmp_path: Path, name: str) -> Path:
    path = tmp_path / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    keep = os.environ.get("ELFORGE_TEST_ARTIFACTS")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, Path(keep) / path.name)
    return path


def test_dashboard_filter_open_package(served: Served, page: Page, tmp_path: Path) -> None:
    page.goto(served.url + "/")
    expect(page.locator("#package-count")).to_have_text("12")
    expect(page.locator("svg.split rect").first).to_be_visible()
    shot(page, tmp_path, "overview")
    page.goto(served.url + "/packages")
    expect(page.locator("#package-table tbody tr")).to_have_count(12)
    page.select_option("#filter-category", "drifted")  # the page script submits on change
    page.wait_for_url("**/packages?*category=drifted*")
    expect(page.locator("#package-table tbody tr")).to_have_count(2)
    page.fill("#filter-name", "motd")  # typing filters too (debounced submit)
    page.wait_for_url("**name=motd*")
    rows = page.locator("#package-table tbody tr")
    expect(rows).to_have_count(1)
    shot(page, tmp_path, "packages-filtered")
    rows.first.locator("a").click()
    page.wait_for_url("**/packages/acme-motd")
    expect(page.locator(".drift")).to_contain_text("Welcome to Acme Enterprise Linux Server")
    expect(page.locator("pre.did-you-mean")).to_contain_text("Welcome to Acme Enterprise Server")
    shot(page, tmp_path, "package-drift")


def test_abi_finding_demangled(served: Served, page: Page, tmp_path: Path) -> None:
    page.goto(served.url + "/packages/cxxdemo#pkg-abi")
    finding = page.locator("#pkg-abi table.findings tbody tr").first
    expect(finding.locator(".demangled")).to_have_text("demo::sub(int, int)")
    expect(finding.locator("code.mangled")).to_contain_text("_ZN4demo3subEii")
    shot(page, tmp_path, "package-abi")
    page.goto(served.url + "/packages/webinject")
    expect(page.locator(".summary").first).to_contain_text('<script>alert("summary")</script>')
    expect(page.locator("pre.changelog").last).to_contain_text(
        '<script>alert("changelog")</script>'
    )
    shot(page, tmp_path, "package-untrusted-text")


def test_lag_plot_is_drawn(served: Served, page: Page, tmp_path: Path) -> None:
    page.goto(served.url + "/security")
    plot = page.locator("svg#lag-plot")
    expect(plot).to_be_visible()
    box = plot.bounding_box()
    assert box is not None and box["width"] > 300 and box["height"] > 150
    assert page.locator("svg#lag-plot circle").count() > 100
    expect(page.locator("#parity-table tbody tr").first).to_contain_text("CVE-")
    shot(page, tmp_path, "security")


def test_run_progress_updates_live(served: Served, page: Page, tmp_path: Path) -> None:
    before = httpx.get(served.url + "/api/packages?name=webinject", timeout=30).json()
    started = start_webinject_run(served, "one more line")
    assert started.status_code == 202, started.text
    run_id = started.json()["run_id"]
    page.goto(served.url + started.json()["url"])
    run = page.locator("#run")
    assert run.get_attribute("data-finished") == "no", "the run ended before the page loaded"
    expect(page.locator("#run-finished")).to_have_text("in progress")
    expect(page.locator("#run-total")).to_have_text(" of 1")  # planned when the run started
    shot(page, tmp_path, "run-in-progress")
    expect(page.locator("#run-status")).to_have_text("finished", timeout=120_000)
    expect(page.locator("#run-recorded")).to_have_text("1")
    expect(page.locator("#run-packages tbody tr")).to_have_count(1)
    expect(page.locator("#run-packages tbody tr").first).to_contain_text("webinject")
    shot(page, tmp_path, "run-finished")
    detail = httpx.get(f"{served.url}/api/runs/{run_id}", timeout=30).json()
    assert detail["run"]["status"] == "finished" and detail["run"]["total"] == 1
    # the package table follows the store: webinject's new outcomes are there
    after = httpx.get(served.url + "/api/packages?name=webinject", timeout=30).json()
    assert after["packages"][0]["updated"] > before["packages"][0]["updated"]
    status = run_cli("status", "-w", str(served.root), "--format", "json")
    expected = {p["name"]: {s: v["status"] for s, v in p["stages"].items()}
                for p in json.loads(status.stdout)["packages"]}  # fmt: skip
    table = httpx.get(served.url + "/api/packages?per_page=500", timeout=30).json()
    assert {p["name"]: p["stages"] for p in table["packages"]} == expected
