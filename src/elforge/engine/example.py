"""The bundled example (``examples/el-mini``): turn its checked-in folders into upstream trees.

Each package folder holds a spec, small files, and ``src/NAME-VERSION/`` folders; the
tarballs the specs name are made from those folders here, at run time, so no binary is
committed. The tarballs are deterministic (sorted members, fixed owner and mtime, gzip
without a timestamp): the same example always gives the same tree hashes.
"""

from __future__ import annotations

import gzip
import io
import shutil
import tarfile
from pathlib import Path

EXAMPLE_ROOT = Path(__file__).resolve().parents[3] / "examples" / "el-mini"
_MTIME = 1_700_000_000


def _deterministic_tarball(folder: Path, dest: Path) -> None:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        paths = [folder, *sorted(folder.rglob("*"))]
        for path in paths:
            info = tar.gettarinfo(str(path), arcname=path.relative_to(folder.parent).as_posix())
            info.uid = info.gid = 0
            info.uname = info.gname = "root"
            info.mtime = _MTIME
            info.mode = 0o755 if path.is_dir() or info.mode & 0o111 else 0o644
            if path.is_file() and not path.is_symlink():
                with path.open("rb") as fh:
                    tar.addfile(info, fh)
            else:
                tar.addfile(info)
    with dest.open("wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, filename="") as gz:
        gz.write(buf.getvalue())


def materialize_upstream(dest: Path, example: Path = EXAMPLE_ROOT) -> list[str]:
    """Write one dist-git style tree per example package under ``dest``; return the names."""
    names = []
    for pkg in sorted(p for p in (example / "upstream").iterdir() if p.is_dir()):
        out = dest / pkg.name
        if out.exists():
            shutil.rmtree(out)
        out.mkdir(parents=True)
        for item in sorted(pkg.iterdir()):
            if item.name == "src" and item.is_dir():
                for folder in sorted(p for p in item.iterdir() if p.is_dir()):
                    _deterministic_tarball(folder, out / f"{folder.name}.tar.gz")
            elif item.is_file():
                shutil.copy2(item, out / item.name)
        names.append(pkg.name)
    return names


EXAMPLE_CONFIG = """\
# Workspace for the bundled example (examples/el-mini): the fictional reference vendor
# "Acme Enterprise Linux" is rebuilt as "Forge Linux".
[workspace]
name = "forge"
vendor = "Forge Linux"
dist = ".el9"
release_branch = "c9"
patched_branch = "f9"

[executor]
kind = "local"
jobs = {jobs}

[patch]
configs = "patches"

[build]
builder = "rpmbuild"
timeout = 600
bootstrap = ["acme-docgen", "acme-fmt"]
macros = {{ vendor = "Forge Linux", packager = "Forge Linux <release@forge.example.invalid>" }}

[publish]
dest = "repos"

[publish.layout]
BaseOS = ["acme-release", "acme-motd", "libgreet", "greet", "libtally", "libcheer", "cheer"]
AppStream = ["acme-docs", "libgreet-devel", "libtally-devel", "libcheer-devel", "acme-docgen",
             "acme-fmt"]

[verify]
reference = ["reference"]
{packages}"""

REFERENCE_MACROS = {"vendor": "Acme", "packager": "Acme Release Engineering"}
# the BuildRequires cycle acme-docgen <-> acme-fmt, broken by building acme-docgen first
EXAMPLE_BOOTSTRAP = ("acme-docgen", "acme-fmt")


def create_example_workspace(dest: Path, *, jobs: int = 2, example: Path = EXAMPLE_ROOT) -> Path:
    """A workspace with the example's upstream trees, patch configs and elforge.toml."""
    dest.mkdir(parents=True, exist_ok=True)
    names = materialize_upstream(dest / "upstream", example)
    if (dest / "patches").exists():
        shutil.rmtree(dest / "patches")
    shutil.copytree(example / "patches", dest / "patches")
    packages = "".join(
        f'\n[[packages]]\nname = "{n}"\nurl = "upstream/{n}"\nlayout = "distgit"\n' for n in names
    )
    (dest / "elforge.toml").write_text(EXAMPLE_CONFIG.format(jobs=jobs, packages=packages))
    (dest / "reference").mkdir(exist_ok=True)
    return dest
