"""The verify stage checks kernel packages' kABI against the reference kernel's."""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from elforge.engine.protocol import ArtifactRef, PackageRef, PackageSpec, StageOutcome
from elforge.engine.stages.verify import stage_verify
from elforge.workspace.config import WorkspaceConfig
from elforge.workspace.options import resolve_options
from helpers import require_tool


def _kernel_rpm(top: Path, release: str, provides: dict[str, str]) -> Path:
    """rpmbuild an empty "kernel-core" that provides ``kernel(sym) = CRC``."""
    top.mkdir(parents=True, exist_ok=True)
    spec = top / "kernel-core.spec"
    spec.write_text(
        f"Name: kernel-core\nVersion: 5.14.0\nRelease: {release}\nSummary: kabi test kernel\n"
        "License: GPL-2.0-only\n"
        + "".join(f"Provides: kernel({sym}) = {crc}\n" for sym, crc in provides.items())
        + "%description\nkabi test kernel\n%files\n"
    )  # fmt: skip
    subprocess.run(
        ["rpmbuild", "-bb", "--quiet", "--define", f"_topdir {top}", "--target", "x86_64",
         str(spec)],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    return top / "RPMS" / "x86_64" / f"kernel-core-5.14.0-{release}.x86_64.rpm"


def _artifact(path: Path) -> ArtifactRef:
    return ArtifactRef(
        path=str(path),
        filename=path.name,
        sha256=hashlib.sha256(path.read_bytes()).hexdigest(),
        nevra=path.name.removesuffix(".rpm"),
    )


def _verify_task(
    ws: Path, ref: Path, cand: Path, verify: dict[str, Any]
) -> tuple[PackageSpec, dict[str, StageOutcome]]:
    """The verify stage's inputs, as the chain runner hands them over after a build."""
    settings = resolve_options(ws, WorkspaceConfig.model_validate({"verify": verify}))
    spec = PackageSpec(
        workspace=ws,
        package=PackageRef("kernel", "upstream/kernel"),
        settings=settings,
        stages=(("verify", "elforge.engine.stages.verify:stage_verify"),),
        reference=(_artifact(ref),),
    )
    built = StageOutcome("build", "built", "", {"rpms": [_artifact(cand).to_json()]})
    return spec, {"build": built}


REFERENCE = {"printk": "0x27e1a049", "kmalloc": "0x11111111", "vfs_read": "0x22222222"}


@pytest.mark.system
@pytest.mark.parametrize(
    ("rebuilt", "stablelisted", "verdict", "removed", "crc_changed"),
    [
        (REFERENCE, None, "identical", [], []),
        ({**REFERENCE, "new_sym": "0x33333333"}, None, "compatible", [], []),
        ({"printk": "0x27e1a049", "kmalloc": "0x99999999"}, None, "incompatible",
         ["vfs_read"], ["kmalloc"]),
        # outside the stablelist, a changed CRC is not a broken promise
        ({**REFERENCE, "kmalloc": "0x99999999"}, ["printk"], "compatible", [], ["kmalloc"]),
    ],
    ids=["same", "added", "removed-and-crc", "crc-outside-stablelist"],
)  # fmt: skip
def test_kernel_pair_verdicts(
    tmp_path: Path,
    rebuilt: dict[str, str],
    stablelisted: list[str] | None,
    verdict: str,
    removed: list[str],
    crc_changed: list[str],
) -> None:
    require_tool("rpmbuild")
    ref = _kernel_rpm(tmp_path / "ref", "1.el9", REFERENCE)
    cand = _kernel_rpm(tmp_path / "cand", "1.el9.forge.1", rebuilt)
    verify: dict[str, Any] = {}
    if stablelisted is not None:
        sl = tmp_path / "kabi_stablelist_x86_64"
        sl.write_text("[rhel9_x86_64_stablelist]\n" + "".join(f"\t{s}\n" for s in stablelisted))
        verify["stablelist"] = str(sl)
    out = stage_verify(*_verify_task(tmp_path / "ws", ref, cand, verify))
    assert out.status == verdict, out
    (pair,) = out.output["pairs"]
    assert pair["kabi"]["removed"] == removed
    assert pair["kabi"]["crc_changed"] == crc_changed
    report = json.loads(Path(pair["kabi"]["report"]).read_text())
    assert report["schema"] == "elforge.kabi-diff/1"
    assert report["removed"] == removed


@pytest.mark.system
def test_non_kernel_packages_get_no_kabi_half(tmp_path: Path) -> None:
    require_tool("rpmbuild")
    ref = _kernel_rpm(tmp_path / "ref", "1.el9", {})
    cand = _kernel_rpm(tmp_path / "cand", "2.el9", {})
    out = stage_verify(*_verify_task(tmp_path / "ws", ref, cand, {}))
    assert "kabi" not in out.output["pairs"][0]
