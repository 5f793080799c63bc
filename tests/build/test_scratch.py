"""Build scratch folders are removed in the background, whether the build ended well or not."""

from __future__ import annotations

from pathlib import Path

import pytest

from elforge.build.scratch import scratch_folder, wait_removed


def test_scratch_folder_is_removed_after_the_block(tmp_path: Path) -> None:
    with scratch_folder("elforge-build-x-", tmp_path) as work:
        (work / "BUILD" / "deep").mkdir(parents=True)
        (work / "BUILD" / "deep" / "file").write_text("x")
    wait_removed()
    assert not work.exists()
    assert list(tmp_path.iterdir()) == []


def test_scratch_folder_is_removed_when_the_block_raises(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError), scratch_folder("elforge-build-y-", tmp_path) as work:
        (work / "file").write_text("x")
        raise RuntimeError("the build broke")
    wait_removed()
    assert not work.exists()
