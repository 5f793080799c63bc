"""``elforge serve`` over HTTP: the JSON API against the commands that wrote the store.

The oracles are the CLI's own documents: ``elforge status --format json`` for each package's
stage states, and the ``elforge security parity`` report for the per-CVE states.
"""

from __future__ import annotations

import html
import json
import re
import time
from pathlib import Path

import httpx
import pytest
from web_fixtures import Served, start_webinject_run

from helpers import run_cli

pytestmark = [pytest.mark.system, pytest.mark.slow]


def _get(served: Served, path: str) -> httpx.Response:
    response = httpx.get(served.url + path, timeout=30)
    assert response.status_code == 200, (path, response.text[:500])
    return response


def test_packages_match_elforge_status(served: Served) -> None:
    status = run_cli("status", "-w", str(served.root), "--format", "json")
    assert status.exit_code == 0, status.stderr
    expected = {
        p["name"]: {s: v["status"] for s, v in p["stages"].items()}
        for p in json.loads(status.stdout)["packages"]
    }
    api = _get(served, "/api/packages?per_page=500").json()
    assert api["total"] == len(expected) == 12  # the 9 example packages and 3 of the tests
    got = {p["name"]: p["stages"] for p in api["packages"]}
    assert got == expected
    nvrs = {p["name"]: p["nvr"] for p in json.loads(status.stdout)["packages"]}
    assert {p["name"]: p["nvr"] for p in api["packages"]} == nvrs


def test_filter_sort_and_page_on_the_server(served: Served) -> None:
    drifted = _get(served, "/api/packages?stage=patch&state=drifted").json()
    assert sorted(p["name"] for p in drifted["packages"]) == ["acme-motd", "webdrift"]
    bad = _get(served, "/api/packages?problems=true").json()
    assert {"libtally", "cxxdemo", "acme-motd", "webdrift"} == {p["name"] for p in bad["packages"]}
    by_name = _get(served, "/api/packages?name=greet").json()
    assert [p["name"] for p in by_name["packages"]] == ["libgreet"]
    desc = _get(served, "/api/packages?sort=name&order=desc&per_page=3&page=2").json()
    names = sorted((p["name"] for p in _get(served, "/api/packages").json()["packages"]),
                   reverse=True)  # fmt: skip
    assert [p["name"] for p in desc["packages"]] == names[3:6]
    assert (desc["total"], desc["offset"], desc["limit"]) == (12, 3, 3)
    # a LIKE wildcard is a character to search for, not a pattern
    assert _get(served, "/api/packages?name=%25").json()["total"] == 0
    assert httpx.get(served.url + "/api/packages?per_page=100000").status_code == 422


def test_package_detail_drift_and_demangled_abi(served: Served) -> None:
    drift = _get(served, "/api/packages/acme-motd").json()
    diag = drift["patch"]["diagnostics"][0]
    assert "Welcome to Acme Enterprise Linux Server" in diag["problem"]
    assert "Welcome to Acme Enterprise Server" in diag["did_you_mean"]
    cxx = _get(served, "/api/packages/cxxdemo").json()
    finding = next(f for p in cxx["pairs"] for f in p["findings"] if f["severity"] == "BAD")
    assert finding["subject"].startswith("_ZN4demo3subEii")
    assert finding["readable_subject"].startswith("demo::sub(int, int)")
    assert [s["stage"] for s in cxx["record"]["latest"]] == ["import", "patch", "build", "verify"]
    assert all(re.fullmatch(r"[0-9a-f]{64}", s["input_hash"]) for s in cxx["record"]["latest"])
    report = cxx["pairs"][0]["report"]
    full = _get(served, "/" + report).json()
    assert full["schema"] == "elforge.abi-diff/1" and full["verdict"] == "incompatible"
    page = _get(served, "/packages/cxxdemo").text
    assert "demo::sub(int, int)" in page and f'href="/{report}"' in page
    assert httpx.get(served.url + "/api/packages/no-such-package").status_code == 404


def test_report_files_stay_inside_reports(served: Served) -> None:
    for path in ("/reports/../elforge.toml", "/reports/%2e%2e/elforge.toml",
                 "/reports/..%2f.elforge/state.db"):  # fmt: skip
        url = httpx.URL(served.url + path)
        response = httpx.Client().send(httpx.Request("GET", url))
        assert response.status_code == 404, path


def test_sbom_of_an_imported_package(served: Served) -> None:
    sbom = _get(served, "/api/packages/libgreet/sbom?format=cyclonedx").json()
    assert sbom["bomFormat"] == "CycloneDX"
    spdx = _get(served, "/api/packages/libgreet/sbom?format=spdx").json()
    assert spdx["spdxVersion"].startswith("SPDX-")


def test_security_parity_matches_the_parity_command(served: Served, tmp_path: Path) -> None:
    parity_json = served.root.parent / "parity.json"
    expected = {c["cve"]: c["state"] for c in json.loads(parity_json.read_text())["cves"]}
    api = _get(served, "/api/security").json()
    assert {c["cve"]: c["state"] for c in api["cves"]} == expected
    assert api["plot"]["points"] and api["median_lag"] is not None
    page = _get(served, "/security").text
    assert '<svg class="lagplot"' in page and "<circle" in page


def test_runs_and_openapi(served: Served) -> None:
    runs = _get(served, "/api/runs").json()
    assert runs and runs[0]["status"] == "finished"
    run = _get(served, f"/api/runs/{runs[-1]['id']}").json()
    assert run["run"]["recorded"] == 12 and len(run["packages"]) == 12
    schema = _get(served, "/openapi.json").json()
    for path in ("/api/packages", "/api/packages/{name}", "/api/runs", "/api/runs/{run_id}",
                 "/api/security", "/api/overview"):  # fmt: skip
        assert path in schema["paths"], path
    assert "post" in schema["paths"]["/api/runs"]


def test_headers_forbid_inline_script(served: Served) -> None:
    for path in ("/", "/packages", "/packages/webinject", "/security", "/runs", "/runs/1"):
        response = _get(served, path)
        csp = response.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp
        assert response.headers["x-content-type-options"] == "nosniff"
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", response.text), path
        assert " on" + "click=" not in response.text and "javascript:" not in response.text


def test_starting_a_run_needs_the_token(served: Served) -> None:
    url = served.url + "/api/runs"
    assert httpx.post(url, json={}).status_code == 401
    wrong = httpx.post(url, json={}, headers={"Authorization": "Bearer " + "x" * 32})
    assert wrong.status_code == 401
    unknown = httpx.post(url, json={"packages": ["nope"]},
                         headers={"Authorization": f"Bearer {served.token}"})  # fmt: skip
    assert unknown.status_code == 422


def test_serve_refuses_a_public_address_without_allow_remote_and_token(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    assert run_cli("init", str(ws)).exit_code == 0
    public = run_cli("serve", "-w", str(ws), "--host", "0.0.0.0", "--port", "1")
    assert public.exit_code == 1 and "--allow-remote" in public.stderr
    no_token = run_cli("serve", "-w", str(ws), "--host", "0.0.0.0", "--allow-remote")
    assert no_token.exit_code == 1 and "[serve] token" in no_token.stderr
    (ws / "elforge.toml").write_text(
        (ws / "elforge.toml").read_text() + '[serve]\ntoken = "short"\n'
    )
    short = run_cli("serve", "-w", str(ws))
    assert short.exit_code == 1 and "shorter than 16" in short.stderr
    assert "short" not in short.stderr.replace("shorter", "")  # the secret is never echoed


def _first_progress_event(served: Served, run_id: int) -> dict[str, object]:
    with httpx.stream("GET", f"{served.url}/api/runs/{run_id}/events", timeout=30) as events:
        kind = ""
        for line in events.iter_lines():
            if line.startswith("event: "):
                kind = line.removeprefix("event: ")
            elif line.startswith("data: ") and kind == "progress":
                event: dict[str, object] = json.loads(line.removeprefix("data: "))
                return event
    raise AssertionError("no progress event")


def test_a_running_run_shows_how_many_packages_it_will_do(served: Served) -> None:
    started = start_webinject_run(served, "planned count")
    assert started.status_code == 202, started.text
    run_id = started.json()["run_id"]
    early = _get(served, f"/api/runs/{run_id}").json()["run"]
    assert early["finished"] is None, "the run ended before it could be seen running"
    assert (early["recorded"], early["total"]) == (0, 1)
    assert 'id="run-total"> of 1</span>' in _get(served, f"/runs/{run_id}").text
    event = _first_progress_event(served, run_id)
    run = event["run"]
    assert isinstance(run, dict) and run["total"] == 1
    deadline = time.monotonic() + 120
    while _get(served, f"/api/runs/{run_id}").json()["run"]["finished"] is None:
        assert time.monotonic() < deadline, "the run did not finish"
        time.sleep(0.5)


def test_stored_closure_check_on_the_overview(served: Served, tmp_path: Path) -> None:
    assert _get(served, "/api/overview").json()["closure"] is None
    repo = served.root / "repos" / "AppStream"  # alone: its BaseOS requirements are missing
    report = tmp_path / "closure.json"
    ran = run_cli("-q", "repo", "closure", str(repo), "-w", str(served.root),
                  "-f", "json", "-o", str(report))  # fmt: skip
    assert ran.exit_code == 4, ran.stderr
    doc = json.loads(report.read_text())
    assert len(doc["root_causes"]) >= 2
    closure = _get(served, "/api/overview").json()["closure"]
    assert closure["repos"] == doc["repos"] and closure["checked"] == doc["checked"]
    assert closure["uninstallable"] == len(doc["uninstallable"])
    expected = [(g["cause"], len(g["affects"])) for g in doc["root_causes"][:5]]
    assert [(g["cause"], g["affects"]) for g in closure["groups"]] == expected
    assert closure["group_count"] == len(doc["root_causes"])
    page = _get(served, "/").text
    assert f'id="closure-uninstallable">{len(doc["uninstallable"])}<' in page
    for cause, _ in expected:
        assert html.escape(cause, quote=False) in page
