"""A local upstream folder's links are data: the pipeline never follows one out of the tree."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from engine_fixtures import (  # noqa: F401 - fixtures are registered by import
    example_workspace,
    reference_rpms_fixture,
)

from helpers import run_cli

pytestmark = [pytest.mark.system]


def test_links_out_of_a_local_upstream_are_refused_not_followed(
    reference_rpms: Path, tmp_path: Path
) -> None:
    ws = example_workspace(tmp_path / "ws", reference_rpms, jobs=1)
    outside = tmp_path / "outside"
    outside.mkdir()
    upstream = ws.root / "upstream" / "acme-release"
    # the spec the patch config rewrites is a link to a file outside the workspace
    victim = outside / "acme-release.spec"
    shutil.move(upstream / "acme-release.spec", victim)
    os.symlink(victim, upstream / "acme-release.spec")
    (outside / "secret").write_text("TOP-SECRET\n")
    os.symlink("../../../outside/secret", upstream / "EULA.link")
    before = victim.read_bytes()
    r = run_cli("run", "-w", str(ws.root), "--stages", "import,patch", "-p", "acme-release",
                "--format", "json")  # fmt: skip
    assert victim.read_bytes() == before, "the patch stage wrote through the upstream's link"
    row = json.loads(r.stdout)["packages"][0]
    assert row["import"] == "failed", row
    assert "symbolic link 'EULA.link' points outside" in row["error"], row
    assert len(row["error"].splitlines()) == 1
    assert not list((ws.root / "trees").rglob("EULA.link"))
