"""readelf as the oracle of a DSO's bindable interface: the ``name@version`` ids an application
can bind to (defined, GLOBAL/WEAK/UNIQUE, default or protected visibility, a function, IFUNC,
variable or TLS object outside SHN_ABS), as ``readelf --dyn-syms -W`` prints them."""

from __future__ import annotations

import subprocess
import tarfile
from pathlib import Path

from helpers import require_tool

_KINDS = {"FUNC", "IFUNC", "OBJECT", "TLS"}
_BINDS = {"GLOBAL", "WEAK", "UNIQUE"}
_VISIBLE = {"DEFAULT", "PROTECTED"}


def exported_ids(path: Path) -> set[str]:
    require_tool("readelf")
    out = subprocess.run(
        ["readelf", "--dyn-syms", "-W", str(path)], capture_output=True, text=True, check=True
    ).stdout
    ids = set()
    for line in out.splitlines():
        cols = line.split()
        # Num: Value Size Type Bind Vis Ndx Name [(verindex)]
        if len(cols) < 8 or not cols[0].rstrip(":").isdigit():
            continue
        kind, bind, vis, ndx, name = cols[3], cols[4], cols[5], cols[6], cols[7]
        if kind in _KINDS and bind in _BINDS and vis in _VISIBLE and ndx not in ("UND", "ABS"):
            # "(N)" after a definition: its version is a verneed entry, i.e. a copy-relocated
            # object of another library (stdout@GLIBC_2.2.5 in an executable); the version is
            # that library's, so the definition here is the bare name (as libabigail says)
            ids.add(name.split("@", 1)[0] if len(cols) > 8 else name)
    return ids


def unpack(package: Path, dest: Path) -> Path:
    """The package's files under ``dest`` with the real tools (rpm2cpio | cpio, or tar)."""
    dest.mkdir(parents=True, exist_ok=True)
    if package.suffix == ".rpm":
        require_tool("rpm2cpio")
        require_tool("cpio")
        cpio = subprocess.run(["rpm2cpio", str(package)], capture_output=True, check=True).stdout
        subprocess.run(
            ["cpio", "-idm", "--quiet", "--no-absolute-filenames"],
            input=cpio, cwd=dest, check=True, capture_output=True,
        )  # fmt: skip
    else:
        with tarfile.open(package, "r:*") as tar:
            tar.extractall(dest, filter="data")
        tops = list(dest.iterdir())
        if len(tops) == 1 and tops[0].is_dir():  # snapshot paths drop a single top directory
            return tops[0]
    return dest
