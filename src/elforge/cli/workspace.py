"""``elforge init``: create a workspace."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from elforge.cli.common import info
from elforge.store.db import open_store
from elforge.workspace.workspace import Workspace


def init(
    directory: Annotated[Path, typer.Argument(help="Folder for the new workspace.")],
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing config.")] = False,
) -> None:
    """Create a workspace: elforge.toml and an empty state database."""
    ws = Workspace.init(directory, force=force)
    open_store(ws.store_url).close()
    info(f"workspace ready at {ws.root} (config {ws.root / 'elforge.toml'})")
