"""The dashboard's upstream watch and errata: ``elforge watch --once`` rebuilds a package whose
fix for RHSA-2024:0811 landed upstream and publishes FLSA-2024:0811; ``elforge errata
generate`` decides the other reference advisories. The oracles are those commands' JSON."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from web_fixtures import start_server, stop_server

from helpers import TESTDATA, require_tool, run_cli

pytestmark = [pytest.mark.system, pytest.mark.slow]
CSAF = TESTDATA / "security" / "redhat-csaf"
SPEC = """\
Name: sudo
Version: 1.9.5p2
Release: 10%{?dist}
Summary: web watch test package
License: MIT
BuildArch: x86_64
%description
test
%install
mkdir -p %{buildroot}/usr/share/sudo
echo 10 > %{buildroot}/usr/share/sudo/v
%files
/usr/share/sudo/v
"""


def _json(*args: str) -> dict[str, Any]:
    res = run_cli(*args, "-f", "json")
    assert res.exit_code == 0, res.stderr
    doc: dict[str, Any] = json.loads(res.stdout)
    return doc


@pytest.fixture(scope="module", name="watched")
def watched_fixture(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    require_tool("rpmbuild", "createrepo_c")
    tmp = tmp_path_factory.mktemp("web-watch")
    ws = tmp / "ws"
    assert run_cli("init", str(ws)).exit_code == 0
    (ws / "upstream" / "sudo").mkdir(parents=True)
    (ws / "upstream" / "sudo" / "sudo.spec").write_text(SPEC)
    config = (ws / "elforge.toml").read_text().replace('dist = ".el9"', 'dist = ".el9_3"')
    config += f'\n[errata]\nreference = ["{CSAF / "rhsa-2024_0811.json"}"]\n'
    config += '\n[[packages]]\nname = "sudo"\nurl = "upstream/sudo"\nlayout = "distgit"\n'
    (ws / "elforge.toml").write_text(config)
    proc, url = start_server(ws, tmp / "serve.log")
    try:
        yield url, ws
    finally:
        stop_server(proc)


def _get(url: str) -> httpx.Response:
    response = httpx.get(url, timeout=30)
    assert response.status_code == 200, (url, response.text[:500])
    return response


def test_watch_events_and_errata_on_the_dashboard(watched: tuple[str, Path]) -> None:
    url, ws = watched
    assert _get(url + "/api/watch").json() == []
    assert "no upstream change recorded" in _get(url + "/").text
    watch = _json("watch", "--once", "-w", str(ws))
    (event,) = watch["events"]
    assert event["advisories"] == ["FLSA-2024:0811"]
    (shown,) = _get(url + "/api/watch").json()
    assert {k: shown[k] for k in ("event_id", "package", "old_nvr", "advisories")} == {
        k: event[k] for k in ("event_id", "package", "old_nvr", "advisories")
    }
    assert shown["nvr"] == event["new_nvr"] == "sudo-1.9.5p2-10.el9_3"
    assert shown["status"] == "published" and shown["published"] and shown["noticed"]
    overview = _get(url + "/api/overview").json()
    assert overview["watch"] == [shown] and overview["errata"] == {"published": 1}
    page = _get(url + "/").text
    assert 'id="watch-events"' in page and "sudo-1.9.5p2-10.el9_3" in page
    assert "FLSA-2024:0811" in page

    # the other reference advisories: not applicable (or pending), as errata generate decides
    generated = _json("errata", "generate", "-w", str(ws), "--reference", str(CSAF))
    expected = {a["id"]: a["status"] for a in generated["advisories"]}
    assert expected["FLSA-2024:0811"] == "published" and "not_applicable" in expected.values()
    errata = _get(url + "/api/errata").json()
    assert {e["advisory_id"]: e["status"] for e in errata} == expected
    assert errata[0]["advisory_id"] == "FLSA-2024:0811" and errata[0]["packages"] == 1
    security = _get(url + "/security").text
    assert 'id="errata-table"' in security and "FLSA-2024:0811" in security
    for status in set(expected.values()):
        assert f">{status}</span>" in security, status
