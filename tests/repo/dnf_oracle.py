"""dnf's own answer to "which packages cannot be installed": the test oracle for closure.

Runs under the SYSTEM Python (``/usr/bin/python3``, where Debian's python3-dnf lives), never
the project venv, and imports nothing from elforge. dnf loads the repositories from local
paths into a hawkey Sack (no system repository), then installs every package of the checked
repositories alone with a hawkey Goal, exactly the job ``dnf install NEVRA`` gives the
solver. Prints JSON: ``{"checked": N, "uninstallable": ["name-[epoch:]version-release.arch"]}``.

    /usr/bin/python3 dnf_oracle.py --arch x86_64 --cache DIR --check REPO [--extra REPO]
        [--modules [--platform platform:el9]]

Without ``--modules`` every repository is a module hotfix repository (dnf filters nothing),
the counterpart of ``elforge repo closure --no-modules``.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

import dnf  # type: ignore[import-not-found,unused-ignore]
import hawkey  # type: ignore[import-not-found,unused-ignore]


def nevra(pkg: Any) -> str:
    epoch = f"{pkg.epoch}:" if pkg.epoch else ""
    return f"{pkg.name}-{epoch}{pkg.version}-{pkg.release}.{pkg.arch}"


def build_base(opts: argparse.Namespace) -> Any:
    base = dnf.Base()
    conf = base.conf
    conf.cachedir = opts.cache
    conf.reposdir = []
    conf.releasever = "9"  # unused by local baseurls, but dnf needs a string
    conf.substitutions["arch"] = opts.arch
    conf.substitutions["basearch"] = dnf.rpm.basearch(opts.arch)
    conf.arch = opts.arch
    conf.gpgcheck = False
    conf.module_platform_id = opts.platform
    for group, paths in (("check", opts.check), ("extra", opts.extra)):
        for i, path in enumerate(paths):
            repo = base.repos.add_new_repo(f"{group}{i}", conf, baseurl=[f"file://{path}"])
            repo.module_hotfixes = not opts.modules  # hotfix repos are never filtered
    base.fill_sack(load_system_repo=False)
    return base


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--arch", default="x86_64")
    parser.add_argument("--cache", required=True)
    parser.add_argument("--check", action="append", default=[])
    parser.add_argument("--extra", action="append", default=[])
    parser.add_argument("--modules", action="store_true")
    parser.add_argument("--platform", default="platform:el9")
    opts = parser.parse_args()
    base = build_base(opts)
    sack = base.sack
    sack.installonly = base.conf.installonlypkgs  # as dnf install sets it
    checked = {f"check{i}" for i in range(len(opts.check))}
    pkgs = [
        p
        for p in sack.query().available().filter(arch__neq=["src", "nosrc"])
        if p.reponame in checked
    ]
    broken = []
    for pkg in pkgs:
        goal = hawkey.Goal(sack)
        goal.install(pkg)
        if not goal.run():
            broken.append(nevra(pkg))
    json.dump({"checked": len(pkgs), "uninstallable": sorted(broken)}, sys.stdout)


if __name__ == "__main__":
    main()
