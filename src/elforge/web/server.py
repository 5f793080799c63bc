"""``elforge serve``: the dashboard for one workspace, run by uvicorn.

Loopback only unless asked: binding any other address needs ``--allow-remote`` and a
``[serve] token`` in ``elforge.toml`` (the same token ``POST /api/runs`` asks for).
"""

from __future__ import annotations

import ipaddress
from pathlib import Path

from elforge.errors import ConfigError
from elforge.store.db import Store, open_store
from elforge.web.app import ServeContext, create_app
from elforge.web.readmodel import ReadModel
from elforge.web.runs import MIN_TOKEN_LENGTH
from elforge.workspace.workspace import Workspace


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a host name: it may resolve to anything


def check_bind(host: str, *, allow_remote: bool, token: str | None, config: Path) -> None:
    """Refuse a non-loopback address without both ``--allow-remote`` and a token."""
    if token is not None and len(token) < MIN_TOKEN_LENGTH:
        raise ConfigError(
            f"[serve] token is shorter than {MIN_TOKEN_LENGTH} characters", subject=config
        )
    if is_loopback(host):
        return
    if not allow_remote:
        raise ConfigError(
            "serving on a non-loopback address needs --allow-remote (and a [serve] token)",
            subject=host,
        )
    if not token:
        raise ConfigError(
            "--allow-remote needs a [serve] token in elforge.toml (16 characters or more)",
            subject=config,
        )


def serve_context(ws: Workspace, store: Store) -> ServeContext:
    return ServeContext(
        root=ws.root.resolve(),
        name=ws.config.workspace.name,
        store=store,
        model=ReadModel(store),
        token=ws.config.serve.token,
        configured=tuple(p.name for p in ws.config.packages),
    )


def serve(ws: Workspace, host: str, port: int, *, allow_remote: bool) -> None:
    import uvicorn

    check_bind(host, allow_remote=allow_remote, token=ws.config.serve.token,
               config=ws.root / "elforge.toml")  # fmt: skip
    store = open_store(ws.store_url)
    context = serve_context(ws, store)
    try:
        context.model.refresh()  # read the packages' state once, before the first request
        app = create_app(context)
        uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)
    finally:
        context.model.close()
        store.close()
