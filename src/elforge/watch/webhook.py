"""Deliver a watch event to a webhook: one JSON POST, retried with exponential backoff.

Every attempt carries the same event id (in the body and the ``X-Elforge-Event`` header) so
a receiver can drop duplicates; a 2xx answer ends the delivery, anything else (an error
status, a refused connection, a timeout) is retried after ``backoff * 2**n`` seconds, at
most ``attempts`` times in all.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

WEBHOOK_SCHEMA = "elforge.watch-event/1"


@dataclass
class Delivery:
    event_id: str
    url: str
    attempts: int
    delivered: bool
    status: int | None = None
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        return dict(vars(self))


def deliver(
    url: str,
    event: dict[str, Any],
    *,
    attempts: int = 5,
    backoff: float = 1.0,
    timeout: float = 10.0,
    sleep: Callable[[float], None] = time.sleep,
) -> Delivery:
    """POST ``event`` (which holds its ``event_id``) until a 2xx answer or attempts run out."""
    import httpx

    body = json.dumps(event, sort_keys=True).encode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "elforge-watch",
        "X-Elforge-Event": str(event["event_id"]),
    }
    result = Delivery(str(event["event_id"]), url, 0, False)
    if not url.startswith(("http://", "https://")):
        result.error = "webhook URL must be http:// or https://"
        return result
    for n in range(attempts):
        if n:
            sleep(backoff * 2 ** (n - 1))
        result.attempts = n + 1
        try:
            resp = httpx.post(url, content=body, headers=headers, timeout=timeout)
        except httpx.HTTPError as exc:
            result.status, result.error = None, f"{type(exc).__name__}: {str(exc)[:200]}"
            continue
        result.status = resp.status_code
        if 200 <= resp.status_code < 300:
            result.delivered, result.error = True, None
            return result
        result.error = f"HTTP {resp.status_code}"
    return result
