"""Jinja2 for the dashboard and the single-file report: autoescaping always on.

Everything a template prints is escaped unless it is wrapped in ``Markup`` here, and only the
project's own stylesheet is (for the offline report, which cannot link it).
"""

from __future__ import annotations

import functools
from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup

from elforge import __version__

STATIC = Path(__file__).with_name("static")

STATE_CLASS = {
    "identical": "ok", "imported": "ok", "built": "ok", "published": "ok", "fixed": "ok",
    "finished": "ok", "parity": "ok",
    "patched": "info", "compatible": "info", "no-reference": "muted", "pending": "muted",
    "not_shipped": "muted", "under_investigation": "warn",
    "drifted": "warn", "skipped": "warn", "unavailable": "warn",
    "failed": "bad", "incompatible": "bad", "missing": "bad", "error": "bad",
    "BAD": "bad", "VERIFY": "warn", "INFO": "info", "OK": "ok",
}  # fmt: skip


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S") if value else ""


def _pct(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "0%"


@functools.cache
def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("elforge.web", "templates"),
        autoescape=True,  # every template, whatever its name
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["when"] = _when
    env.filters["pct"] = _pct
    env.filters["state_class"] = lambda s: STATE_CLASS.get(str(s), "muted")
    env.globals["version"] = __version__
    return env


def render(template: str, **context: Any) -> str:
    return environment().get_template(template).render(**context)


def page(template: str, **context: Any) -> HTMLResponse:
    return HTMLResponse(render(template, **context))


def inline_stylesheet() -> Markup:
    """The dashboard's own stylesheet, for the report's ``<style>`` (our file, not input)."""
    return Markup((STATIC / "style.css").read_text(encoding="utf-8"))
