from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import inspect, text

from elforge.errors import ConfigError
from elforge.store.db import open_store
from elforge.store.models import Package
from elforge.workspace.config import load_config
from elforge.workspace.workspace import Workspace
from helpers import run_cli


def test_init_creates_config_and_migrated_store(tmp_path: Path) -> None:
    r = run_cli("init", str(tmp_path / "ws"))
    assert r.exit_code == 0, r.stderr
    ws = Workspace.open(tmp_path / "ws")
    store = open_store(ws.store_url)
    tables = set(inspect(store.engine).get_table_names())
    assert {"packages", "upstream_imports", "patch_results", "builds", "artifacts",
            "comparisons", "advisories"} <= tables  # fmt: skip
    with store.engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
    with store.session() as s, s.begin():
        s.add(Package(name="bash"))
    with store.session() as s:
        assert s.query(Package).one().name == "bash"
    store.close()


def test_second_init_refused(tmp_path: Path) -> None:
    assert run_cli("init", str(tmp_path)).exit_code == 0
    r = run_cli("init", str(tmp_path))
    assert r.exit_code == 1 and "already exists" in r.stderr


def test_config_error_names_file_and_key(tmp_path: Path) -> None:
    cfg = tmp_path / "elforge.toml"
    cfg.write_text('[executor]\njobs = "many"\n[build]\nbulider = "rpmbuild"\n')
    with pytest.raises(ConfigError) as exc:
        load_config(cfg)
    msg = str(exc.value)
    assert str(cfg) in msg and "executor.jobs" in msg and "unknown key 'build.bulider'" in msg


def test_invalid_toml(tmp_path: Path) -> None:
    cfg = tmp_path / "elforge.toml"
    cfg.write_text("[store\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(cfg)


def test_reopening_the_store_keeps_the_open_connections_locks(tmp_path: Path) -> None:
    """A second ``open_store`` in a process that holds a connection must not drop that
    connection's POSIX locks (closing any descriptor of the file does): else a worker process
    closing its own connection takes itself for the last one and deletes the WAL from under
    the coordinator, whose next connection fails with "disk I/O error"."""
    assert run_cli("init", str(tmp_path / "ws")).exit_code == 0
    url = Workspace.open(tmp_path / "ws").store_url
    held = open_store(url)
    try:
        with held.session() as s:
            s.execute(text("SELECT count(*) FROM packages")).one()
        open_store(url).close()
        worker = f"from elforge.store.db import open_store as o; o({url!r}).close()"
        subprocess.run([sys.executable, "-c", worker], check=True)
        wal = tmp_path / "ws" / ".elforge" / "state.db-wal"
        assert wal.exists(), "a worker deleted the WAL of a store still open here"
        again = open_store(url)
        with again.session() as s:
            assert s.execute(text("SELECT count(*) FROM packages")).scalar() == 0
        again.close()
    finally:
        held.close()
