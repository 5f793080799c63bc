"""Each package's current state, kept in an in-memory SQLite table the dashboard queries.

A package's state for a stage is its newest ``stage_runs`` row; working that out over every
row of the store on each request costs hundreds of milliseconds at 10,000 packages. The read
model keeps the answer, one row per package, indexed for the table's filters and sorts, and
catches up with the store before each query: a cheap stamp (highest id, row count, newest
update) tells whether anything was written, and only the packages with new or updated rows
are read again. The store is never written; filtering, sorting, counting and paging stay SQL.
"""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    Column,
    DateTime,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    delete,
    func,
    insert,
    select,
    union,
)
from sqlalchemy.pool import StaticPool

from elforge.store.db import Store
from elforge.store.models import StageRun

PACKAGE_STAGES = ("import", "patch", "build", "verify")
GLOBAL_SUBJECT = "*"
CATEGORIES = ("identical", "patched", "drifted", "failed", "pending")
# rows written this close to the newest update seen are read again: a writer's clock and
# commit order need not agree to the microsecond
_MARGIN = timedelta(seconds=5)
_BATCH = 500

metadata = MetaData()
package_state = Table(
    "package_state",
    metadata,
    Column("name", String, primary_key=True),
    Column("nvr", String, index=True),
    *(Column(stage, String, index=True) for stage in PACKAGE_STAGES),
    Column("category", String, index=True),
    Column("updated", DateTime, index=True),
    Column("problem", Text),
)
reason_count = Table(
    "reason_count",
    metadata,
    Column("name", String, index=True),
    Column("category", String),
    Column("actions", Integer),
)
kabi_verdict = Table(
    "kabi_verdict",
    metadata,
    Column("name", String, index=True),
    Column("verdict", String),
)
run_package = Table(  # which runs wrote an outcome of which package
    "run_package",
    metadata,
    Column("name", String, index=True),
    Column("run_id", Integer, index=True),
)
TABLES = (package_state, reason_count, kabi_verdict, run_package)


@dataclass(frozen=True)
class _Stamp:
    max_id: int
    rows: int
    newest: datetime | None


def category_of(states: dict[str, str]) -> str:
    """identical / patched / drifted from the patch stage; failed when any stage failed."""
    if any(states.get(s) == "failed" for s in PACKAGE_STAGES):
        return "failed"
    patch = states.get("patch")
    return patch if patch in ("drifted", "patched", "identical") else "pending"


def first_abi_problem(output: Any) -> str | None:
    for pair in (output or {}).get("pairs") or []:
        problems = pair.get("problems") if isinstance(pair, dict) else None
        if problems:
            return str(problems[0])
    missing = (output or {}).get("missing_binaries") or []
    return f"missing binary package {missing[0]}" if missing else None


def _reasons(output: Any) -> Counter[str]:
    counts: Counter[str] = Counter()
    for action in ((output or {}).get("result") or {}).get("actions") or []:
        reason = action.get("reason") if isinstance(action, dict) else None
        if isinstance(reason, dict) and reason.get("category"):
            counts[str(reason["category"])] += 1
    return counts


def _kabi(output: Any) -> list[str]:
    return [
        str(pair["kabi"]["verdict"])
        for pair in (output or {}).get("pairs") or []
        if isinstance(pair, dict) and isinstance(pair.get("kabi"), dict)
        and pair["kabi"].get("verdict")
    ]  # fmt: skip


def _package_rows(name: str, latest: dict[str, Any]) -> tuple[dict[str, Any], list[Any], list[Any]]:
    """The read model's rows for one package from its newest outcome per stage."""
    states = {stage: row.status for stage, row in latest.items()}
    nvr = next((latest[s].output.get("nvr") for s in ("build", "patch", "import")
                if s in latest and isinstance(latest[s].output, dict)
                and latest[s].output.get("nvr")), None)  # fmt: skip
    problem = None
    for stage in PACKAGE_STAGES:
        row = latest.get(stage)
        text = row and (
            row.error or (first_abi_problem(row.output) if row.status == "incompatible" else None)
        )
        if text:
            problem = f"{stage}: {text}"
            break
    state = {
        "name": name, "nvr": nvr, "category": category_of(states), "problem": problem,
        "updated": max(r.updated for r in latest.values()),
        **{s: states.get(s) for s in PACKAGE_STAGES},
    }  # fmt: skip
    patch, verify = latest.get("patch"), latest.get("verify")
    counted = _reasons(patch.output) if patch and patch.status in ("patched", "drifted") else {}
    reasons = [{"name": name, "category": c, "actions": n} for c, n in counted.items()]
    kabi = [{"name": name, "verdict": v} for v in (_kabi(verify.output) if verify else [])]
    return state, reasons, kabi


class ReadModel:
    """The packages' current state, refreshed from ``store`` on demand (thread-safe)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.engine: Engine = create_engine(
            "sqlite://", poolclass=StaticPool, connect_args={"check_same_thread": False}
        )
        metadata.create_all(self.engine)
        self.lock = threading.RLock()
        self._stamp = _Stamp(0, 0, None)
        # SQLite says for free whether another connection wrote since we last asked
        self._watch: Any = None
        self._data_version: int | None = None
        if store.engine.dialect.name == "sqlite":
            self._watch = store.engine.raw_connection()

    def _unchanged(self) -> bool:
        """True when SQLite's ``data_version`` shows no write since the last refresh."""
        if self._watch is None:
            return False
        cursor = self._watch.cursor()
        try:
            version = int(cursor.execute("PRAGMA data_version").fetchone()[0])
        finally:
            cursor.close()
        unchanged = version == self._data_version
        self._data_version = version
        return unchanged

    def close(self) -> None:
        if self._watch is not None:
            self._watch.close()
            self._watch = None

    def _read_stamp(self) -> _Stamp:
        with self.store.session() as s:
            max_id, rows, newest = s.execute(
                select(func.max(StageRun.id), func.count(StageRun.id), func.max(StageRun.updated))
            ).one()
        return _Stamp(int(max_id or 0), int(rows or 0), newest)

    def _changed_subjects(self, old: _Stamp) -> list[str]:
        query: Any = select(StageRun.subject).where(StageRun.subject != GLOBAL_SUBJECT)
        if old.newest is None:
            query = query.distinct()
        else:  # two range searches (primary key, ``updated`` index), not a scan of the table
            query = union(
                query.where(StageRun.id > old.max_id),
                query.where(StageRun.updated >= old.newest - _MARGIN),
            )
        with self.store.session() as s:
            return list(s.scalars(query))

    def _load(self, names: list[str]) -> None:
        for start in range(0, len(names), _BATCH):
            batch = names[start : start + _BATCH]
            with self.store.session() as s:
                rows = s.scalars(
                    select(StageRun)
                    .where(StageRun.subject.in_(batch))
                    .order_by(StageRun.updated, StageRun.id)
                ).all()
            latest: dict[str, dict[str, Any]] = {}
            runs: set[tuple[str, int]] = set()
            for row in rows:  # ascending: the newest row of each stage wins
                latest.setdefault(row.subject, {})[row.stage] = row
                if row.run_id is not None:
                    runs.add((row.subject, row.run_id))
            built = [_package_rows(n, stages) for n, stages in latest.items()]
            with self.engine.begin() as conn:
                for table in TABLES:
                    conn.execute(delete(table).where(table.c.name.in_(batch)))
                if runs:
                    conn.execute(insert(run_package), [{"name": n, "run_id": r} for n, r in runs])
                if built:
                    conn.execute(insert(package_state), [b[0] for b in built])
                reasons = [r for b in built for r in b[1]]
                kabi = [k for b in built for k in b[2]]
                if reasons:
                    conn.execute(insert(reason_count), reasons)
                if kabi:
                    conn.execute(insert(kabi_verdict), kabi)

    def refresh(self) -> None:
        """Catch up with the store: nothing to do when its stamp has not moved."""
        with self.lock:
            if self._unchanged():
                return
            stamp = self._read_stamp()
            if stamp == self._stamp:
                return
            if stamp.rows < self._stamp.rows or stamp.max_id < self._stamp.max_id:
                with self.engine.begin() as conn:  # the store was replaced: start over
                    for table in TABLES:
                        conn.execute(delete(table))
                self._stamp = _Stamp(0, 0, None)
            self._load(self._changed_subjects(self._stamp))
            self._stamp = stamp

    def recorded_counts(self, run_ids: list[int]) -> dict[int, int]:
        """Run id -> packages that run wrote an outcome for."""
        self.refresh()
        query = (
            select(run_package.c.run_id, func.count(func.distinct(run_package.c.name)))
            .where(run_package.c.run_id.in_(run_ids))
            .group_by(run_package.c.run_id)
        )
        with self.lock, self.engine.connect() as conn:
            return {int(r): int(n) for r, n in conn.execute(query)}
