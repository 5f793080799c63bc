"""Publishing a workspace through the real commands, in the order a user runs them (#14.1,
#14.2): ``elforge run`` (real rpmbuild), then ``elforge publish -w``; dnf is the oracle for
what the repositories offer, gpg for the repomd.xml signature."""

from __future__ import annotations

import json
import re
import subprocess
import tempfile
from pathlib import Path

import pytest

from elforge.engine.example import create_example_workspace
from helpers import require_tool, run_cli

pytestmark = [pytest.mark.system, pytest.mark.slow]
KEY = "Forge Linux test <release@forge.example.invalid>"
BINARIES = {
    "BaseOS": {"acme-release", "greet", "libgreet", "libtally", "libcheer", "cheer"},
    "AppStream": {
        "acme-docs",
        "libgreet-devel",
        "libtally-devel",
        "libcheer-devel",
        "acme-docgen",
        "acme-fmt",
    },
}


def dnf_query(tmp: Path, *repos: Path, what: str = "*") -> set[str]:
    """``dnf repoquery --showduplicates`` over the given repository folders, each query with
    a fresh cache (dnf kept serving a file:// repository's old metadata from its cache)."""
    cache = tempfile.mkdtemp(prefix="dnf-cache-", dir=tmp)
    argv = [
        "dnf", "-q", f"--installroot={tmp / 'root'}", "--releasever=9",
        "--setopt=reposdir=/dev/null", f"--setopt=cachedir={cache}",
        "--setopt=metadata_expire=0",
    ]  # fmt: skip
    for i, repo in enumerate(repos):
        argv += [f"--repofrompath=r{i},file://{repo}", f"--repo=r{i}"]
    proc = subprocess.run(
        [*argv, "repoquery", "--showduplicates", "--qf", "%{name}-%{evr}.%{arch}\n", what],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return {line.replace("-0:", "-") for line in proc.stdout.split()}


def bump_release(ws: Path, package: str) -> None:
    spec = ws / "upstream" / package / f"{package}.spec"
    text = spec.read_text()
    release = int(re.search(r"^Release:\s*(\d+)", text, re.M).group(1))  # type: ignore[union-attr]
    spec.write_text(re.sub(r"^Release:\s*\d+", f"Release: {release + 1}", text, flags=re.M))


def test_run_then_publish_keeps_history_and_refuses_empty(tmp_path: Path) -> None:
    require_tool("rpmbuild", "dnf")
    ws = create_example_workspace(tmp_path / "ws")
    config = ws / "elforge.toml"
    config.write_text(config.read_text().replace('dest = "repos"\n', 'dest = "repos"\nkeep = 2\n'))
    run = run_cli("run", "-w", str(ws), "--format", "json")
    assert run.exit_code == 3, run.stderr  # acme-motd drifts on purpose; the rest built
    assert json.loads(run.stdout)["publish"]["status"] == "published"
    # the user's publish after the build: every built package, from the store's rows
    r = run_cli("publish", "-w", str(ws), "--format", "json")
    assert r.exit_code == 0, r.stderr
    doc = json.loads(r.stdout)
    by_name = {x["name"]: x for x in doc["repos"]}
    assert by_name["BaseOS"]["packages"] == 6 and by_name["AppStream"]["packages"] == 6
    for repo, names in BINARIES.items():
        offered = dnf_query(tmp_path, ws / "repos" / repo)
        assert {n.rsplit("-", 2)[0] for n in offered} == names
    sources = dnf_query(tmp_path, ws / "repos/BaseOS/Source")
    assert sources == {
        "acme-release-9.4-1.el9.forge.1.src",
        "cheer-1.0-1.el9.src",
        "libcheer-1.0-1.el9.src",
        "libgreet-1.2-3.el9.src",
        "libtally-2.0-1.el9.forge.1.src",
    }
    # a new release of libgreet: both builds offered (dnf can downgrade), then only the last 2
    for release in (4, 5):
        bump_release(ws, "libgreet")
        again = run_cli("run", "-w", str(ws), "--format", "json")
        assert json.loads(again.stdout)["publish"]["status"] == "published", again.stdout[-2000:]
        offered = dnf_query(tmp_path, ws / "repos/BaseOS", what="libgreet")
        expected = {f"libgreet-1.2-{r}.el9.x86_64" for r in range(release - 1, release + 1)}
        assert offered == expected
    assert dnf_query(tmp_path, ws / "repos/BaseOS/Source", what="libgreet") == {
        "libgreet-1.2-4.el9.src",
        "libgreet-1.2-5.el9.src",
    }
    # a file gone from the repository: the next run does not call the publish "reused"
    gone = ws / "repos/BaseOS/Packages/greet-1.2-5.el9.x86_64.rpm"
    gone.unlink()
    rerun = json.loads(run_cli("run", "-w", str(ws), "--format", "json").stdout)["publish"]
    assert rerun["status"] == "published" and not rerun["reused"] and gone.is_file()
    # nothing to publish over a full repository: refused, nothing lost
    empty = tmp_path / "no-rpms"
    empty.mkdir()
    before = sorted(p.name for p in (ws / "repos/BaseOS/Packages").iterdir())
    refused = run_cli("publish", "-w", str(ws), str(empty))
    assert refused.exit_code == 1
    assert "would replace a repository of" in refused.stderr and "--allow-empty" in refused.stderr
    assert sorted(p.name for p in (ws / "repos/BaseOS/Packages").iterdir()) == before
    assert len(dnf_query(tmp_path, ws / "repos/BaseOS")) == len(before)
    forced = run_cli("publish", "-w", str(ws), str(empty), "--allow-empty")
    assert forced.exit_code == 0, forced.stderr
    assert dnf_query(tmp_path, ws / "repos/BaseOS") == set()


def test_signing_key_in_the_workspace_signs_rpms_and_repomd(
    tmp_path: Path, gnupg_home: Path
) -> None:
    require_tool("rpmbuild", "gpg", "rpmsign")
    subprocess.run(
        ["gpg", "--batch", "--passphrase", "", "--quick-gen-key", KEY, "rsa2048", "sign", "never"],
        check=True,
        capture_output=True,
    )
    ws = create_example_workspace(tmp_path / "ws")
    run = run_cli("run", "-w", str(ws), "--stages", "import,patch,build,publish")
    assert run.exit_code == 3, run.stderr
    config = ws / "elforge.toml"
    config.write_text(
        config.read_text().replace('dest = "repos"\n', f'dest = "repos"\nsign_key = "{KEY}"\n')
    )
    r = run_cli("publish", "-w", str(ws), "--format", "json")
    assert r.exit_code == 0, r.stderr
    assert json.loads(r.stdout)["signed"] == 20  # 12 binary RPMs and 8 SRPMs, published before
    for repomd in sorted((ws / "repos").rglob("repodata/repomd.xml")):
        proc = subprocess.run(
            ["gpg", "--batch", "--verify", f"{repomd}.asc", str(repomd)],
            capture_output=True,
            text=True,
            check=False,
        )
        assert proc.returncode == 0 and "Good signature" in proc.stderr, (repomd, proc.stderr)
    checked = subprocess.run(
        ["rpm", "-K", "--nosignature", *map(str, (ws / "repos").rglob("Packages/*.rpm"))],
        capture_output=True,
        text=True,
        check=False,
    )
    assert checked.returncode == 0, checked.stdout  # digests of the signed files are sound
