"""Read a JSON document from disk, with one clear error naming the file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from elforge.errors import FormatError


def read_json(path: Path) -> Any:
    """Parse ``path`` as JSON; FormatError names the file on bad JSON or an unreadable file."""
    try:
        return json.loads(path.read_bytes())
    except json.JSONDecodeError as exc:
        raise FormatError(f"invalid JSON: {exc}", subject=path) from None
    except UnicodeDecodeError as exc:
        raise FormatError(f"not UTF-8 text: {exc.reason}", subject=path) from None
    except OSError as exc:
        raise FormatError(f"cannot read: {exc.strerror}", subject=path) from None
