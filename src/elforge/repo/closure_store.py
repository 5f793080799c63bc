"""Keep a closure check in the workspace's store (``repo closure --workspace``), so the
dashboard shows how many packages cannot be installed and why."""

from __future__ import annotations

from elforge.repo.closure import ClosureResult
from elforge.store.db import Store
from elforge.store.documents import CLOSURE_KIND, StoredDocument, save_document


def save_closure(store: Store, result: ClosureResult) -> None:
    """The result document (``elforge.repo-closure/2``) as a ``comparisons`` row."""
    checked = ", ".join([*result.repos, *(f"extra {r}" for r in result.extra)])
    verdict = "closed" if result.closed else "not-closed"
    save_document(store, StoredDocument(CLOSURE_KIND, checked, "", verdict, result.to_json()))
