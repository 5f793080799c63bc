"""Whole-result documents of workspace-wide checks kept as ``comparisons`` rows.

``security parity --workspace`` and ``repo closure --workspace`` keep their result this way so
the dashboard shows what the command decided. A row is keyed by its kind and a digest of its
identity: storing the same result again refreshes that row instead of adding one.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from elforge.store.db import Store
from elforge.store.models import Comparison, utcnow

# the kinds the writers store and the dashboard reads back (one spelling for both sides)
PARITY_KIND = "security-parity"  # elforge.security.persist
CLOSURE_KIND = "repo-closure"  # elforge.repo.closure_store


@dataclass(frozen=True)
class StoredDocument:
    kind: str  # e.g. "security-parity", "repo-closure"
    reference: str  # what was checked against (reference feed, repositories)
    candidate: str  # what was checked (rebuild feed, "" when there is one subject)
    verdict: str
    result: dict[str, Any]  # the JSON kept, as the dashboard reads it


def save_document(store: Store, doc: StoredDocument) -> None:
    """Insert the document, or refresh the row holding the same one (its time moves on)."""
    identity = {"reference": doc.reference, "candidate": doc.candidate, "result": doc.result}
    key = hashlib.sha256(json.dumps(identity, sort_keys=True, default=str).encode()).hexdigest()
    with store.session() as s, s.begin():
        row = s.scalar(
            select(Comparison).where(Comparison.kind == doc.kind, Comparison.input_hash == key)
        )
        if row is None:
            row = Comparison(kind=doc.kind, input_hash=key)
            s.add(row)
        row.reference, row.candidate, row.verdict = doc.reference, doc.candidate, doc.verdict
        row.result = doc.result
        row.created = utcnow()
