"""A release engineer's daily loop through the real commands: init, import, run, rerun,
upstream drift, status, build options, logging (issue 14 items 4, 6, 7, 8, 11)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from helpers import require_tool, run_cli

pytestmark = [pytest.mark.system, pytest.mark.slow]

BANNER = "Welcome to Acme Enterprise Linux Server"
SPEC = """\
Name:           motd
Version:        9.4
Release:        {release}%{{?dist}}
Summary:        Login banner
License:        MIT
BuildArch:      noarch

%description
The message of the day.

%install
install -d %{{buildroot}}/etc
echo "{banner}" > %{{buildroot}}/etc/motd

%files
/etc/motd

%changelog
* Fri May 31 2024 Release Engineering <releng@example.invalid> - 9.4-{release}
- banner
"""
CONFIG = f"""\
package: motd
actions:
  - action: replace
    files: ["*.spec"]
    find: "{BANNER}"
    replace: "Welcome to Forge Linux Server"
    expect: 1
    reason: {{category: branding, text: "login banner"}}
"""


def _write_upstream(folder: Path, release: int, banner: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "motd.spec").write_text(SPEC.format(release=release, banner=banner))


def _workspace(tmp_path: Path) -> Path:
    """``elforge init``, then one package from a plain folder and its patch config."""
    require_tool("rpmbuild")
    ws = tmp_path / "ws"
    assert run_cli("init", str(ws)).exit_code == 0
    _write_upstream(ws / "upstream" / "motd", 1, BANNER)
    (ws / "patches" / "common").mkdir(parents=True)
    (ws / "patches" / "common" / "motd.yaml").write_text(CONFIG)
    with (ws / "elforge.toml").open("a") as fh:
        fh.write('\n[patch]\nconfigs = "patches"\n')
        fh.write('\n[[packages]]\nname = "motd"\nurl = "upstream/motd"\n')
    return ws


def _json(*args: str) -> dict[str, Any]:
    result = run_cli(*args, "--format", "json")
    assert result.exit_code in (0, 3), result.stderr
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def test_noop_rerun_counts_reuse_apart_and_says_where_it_published(tmp_path: Path) -> None:
    ws = _workspace(tmp_path)
    first = run_cli("run", "-w", str(ws))
    assert first.exit_code == 0, first.stderr
    assert re.search(r"publish: published 1 packages to \S*repos", first.stdout)
    second = _json("run", "-w", str(ws))
    assert second["counts"] == dict.fromkeys(second["counts"], 0)  # nothing was done again
    assert second["reused"] == {"build": 1, "import": 1, "patch": 1, "verify": 1}
    assert second["totals"]["built"] == 1 and second["totals"]["patched"] == 1
    assert second["publish"]["reused"] is True
    text = run_cli("run", "-w", str(ws)).stdout
    assert re.search(r"done in this run: nothing", text)
    assert re.search(r"reused from earlier runs: build 1, import 1, patch 1, verify 1", text)
    assert re.search(r"publish: reused 1 packages to", text)
    html = Path(second["report"]).with_suffix(".html").read_text()
    assert "reused from earlier runs" in html and "done in this run" in html


def test_status_after_drift_marks_the_old_nvr_stale_and_shows_did_you_mean(
    tmp_path: Path,
) -> None:
    ws = _workspace(tmp_path)
    assert run_cli("run", "-w", str(ws), "--stages", "import,patch,build").exit_code == 0
    # upstream renames the banner: the patch config no longer finds its text
    _write_upstream(ws / "upstream" / "motd", 2, "Welcome to Acme Enterprise Server")
    drifted = run_cli("run", "-w", str(ws), "--stages", "import,patch,build")
    assert drifted.exit_code == 3
    assert "did you mean" in drifted.stdout and "Acme Enterprise Server" in drifted.stdout
    report = next((ws / "reports").glob("run-2.html")).read_text()
    assert "did you mean" in report
    status = _json("status", "-w", str(ws))
    (row,) = status["packages"]
    assert row["nvr"] == "motd-9.4-2.el9"  # the new upstream's, not the old build's
    assert row["stages"]["patch"]["status"] == "drifted"
    assert row["stages"]["build"]["stale"] is True
    assert row["stages"]["build"]["nvr"] == "motd-9.4-1.el9"
    assert row["stale"] == ["build"] and "Acme Enterprise Server" in row["did_you_mean"]
    text = run_cli("status", "-w", str(ws)).stdout
    assert "built (stale)" in text and "did you mean" in text
    # the problem is wrapped, not cut: every word of it is in the table
    for word in row["error"].split()[:12]:
        assert word in text, word


def test_import_of_a_plain_folder_is_what_run_does_with_it(tmp_path: Path) -> None:
    ws = _workspace(tmp_path)
    folder = ws / "upstream" / "motd"
    imported = run_cli("import", "motd", "--from", str(folder), "-w", str(ws))
    assert imported.exit_code == 0, imported.stderr + imported.stdout
    (tree,) = (ws / "trees" / "motd").glob("import-*")
    assert (tree / "motd.spec").read_text() == (folder / "motd.spec").read_text()
    summary = _json("run", "-w", str(ws), "--stages", "import")
    assert summary["packages"][0]["import"] == "imported"
    assert list((ws / "trees" / "motd").glob("import-*")) == [tree]  # the same copy
    # a git URL that is not a repository: git's own reason, not its closing advice
    missing = run_cli("import", "other", "--from", str(tmp_path / "nope.git"), "-w", str(ws))
    assert missing.exit_code == 1
    assert "does not appear to be a git repository" in missing.stderr


def test_build_options_are_honoured_in_workspace_mode(tmp_path: Path) -> None:
    ws = _workspace(tmp_path)
    built = _json("build", "-w", str(ws), "--dist", ".el9_test")
    assert built["packages"][0]["nvr"] == "motd-9.4-1.el9_test"
    # --mock-config selects mock (not installed here): refused up front, not ignored
    mock = run_cli("build", "-w", str(ws), "--mock-config", "almalinux-9-x86_64")
    assert mock.exit_code == 1 and "mock is not installed" in mock.stderr


def test_verbose_after_the_subcommand_logs_every_external_command(tmp_path: Path) -> None:
    ws = _workspace(tmp_path)
    tree = ["--tree", str(ws / "upstream" / "motd"), "--artifacts", str(tmp_path / "a")]
    result = run_cli("build", *tree, "-v")
    assert result.exit_code == 0, result.stderr
    assert re.search(r"elforge\.proc: ran rpmbuild .*-bs .*\(exit 0, \d+\.\d\d s\)", result.stderr)
    # pool workers log at the coordinator's level, on the same standard error
    elforge = Path(sys.executable).parent / "elforge"
    run = subprocess.run(
        [elforge, "run", "-w", str(ws), "--stages", "import,patch,build", "--debug"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    assert re.search(r"DEBUG +elforge\.proc: start rpmbuild", run.stderr)
    assert re.search(r"elforge\.proc: ran rpmspec .*\(exit 0, ", run.stderr)
    quiet = run_cli("status", "-w", str(ws), "-q")
    assert quiet.exit_code == 0 and "motd" in quiet.stdout and not quiet.stderr
