"""Does a rebuild's build carry the reference's fix?  rpmvercmp after release normalisation.

Rebuilds change releases in two ways that plain rpmvercmp misreads:

- a vendor suffix (``1.el8_9.alma``, ``9.el9_4.alma.1``, ``.rocky``, ``.centos``) — harmless
  for ``>=`` (more segments sort newer) but noise in reports;
- modular releases carry the build system's counter and a hash
  (``2.module+el8.4.0+10521+a3a6e4b9`` at Red Hat, ``2.module+el8.4.0+404+316a0dc5`` at
  Rocky): comparing 404 with 10521 would call Rocky's identical build older.

:func:`normalize_release` removes both; the contract's ``elforge.rpm.release`` (rpmcore)
does the same job and replaces this once it is on main.
"""

from __future__ import annotations

import re

from elforge.rpm.vercmp import rpmvercmp
from elforge.security.model import FixedPackage

_VENDOR = re.compile(r"\.(?:alma|rocky|centos|rl|ol|el_?vault)(?:[._]\w+)*$", re.IGNORECASE)
_MODULE = re.compile(r"(module\+el\d+(?:\.\d+)*)\+\d+\+[0-9a-f]+")
_DIST = re.compile(r"\bel(\d+)")


def normalize_release(release: str) -> str:
    """``1.el8_9.alma`` → ``1.el8_9``; ``2.module+el8.4.0+404+316a0dc5`` → ``2.module+el8.4.0``."""
    text = _VENDOR.sub("", release)
    return _MODULE.sub(r"\1", text)


def dist_major(release: str) -> int | None:
    """8 for ``1.el8_9``, ``139.module+el8.8.0+…``; None when the release has no el tag."""
    m = _DIST.search(release)
    return int(m.group(1)) if m else None


def evr_covers(have: tuple[int, str, str], need: tuple[int, str, str]) -> bool:
    """True when build ``have`` (epoch, version, release) is at least fix ``need``."""
    if have[0] != need[0]:
        return have[0] > need[0]
    c = rpmvercmp(have[1], need[1])
    if c:
        return c > 0
    return rpmvercmp(normalize_release(have[2]), normalize_release(need[2])) >= 0


def package_covers(have: FixedPackage, need: FixedPackage) -> bool:
    return evr_covers(
        (have.epoch, have.version, have.release), (need.epoch, need.version, need.release)
    )


def same_stream(a: str, b: str) -> bool:
    """Same upstream series (``3.1.4`` vs ``3.1.2``): how modular streams are told apart
    when the shipped side has no module metadata."""
    return a.split(".")[:2] == b.split(".")[:2]
