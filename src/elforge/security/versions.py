"""Does a rebuild's build carry the reference's fix?  rpmvercmp after release normalisation.

Rebuilds change releases in ways that plain rpmvercmp misreads: a vendor suffix
(``1.el8_9.alma``, ``9.el9_4.alma.1``) and, worse, modular releases whose build counter and
hash differ per build system (``2.module+el8.4.0+10521+a3a6e4b9`` at Red Hat,
``2.module+el8.4.0+404+316a0dc5`` at Rocky: 404 < 10521 would call Rocky's identical build
older).  Both sides are normalised with the contract's
:func:`elforge.rpm.release.normalize_release` (dist tag and vendor suffix removed, module
builds reduced to their stream version) before rpmvercmp compares them.
"""

from __future__ import annotations

from collections.abc import Iterable

from elforge.rpm.release import normalize_release, parse_release
from elforge.rpm.vercmp import rpmvercmp
from elforge.security.model import FixedPackage

__all__ = [
    "dist_major",
    "evr_covers",
    "majors_of",
    "normalize_release",
    "package_covers",
    "same_stream",
]


def dist_major(release: str) -> int | None:
    """8 for ``1.el8_9``, ``139.module+el8.8.0+…``; None when the release has no el tag."""
    parts = parse_release(release)
    if parts.dist is None or parts.dist.startswith("fc"):
        return None
    return parts.major


def majors_of(releases: Iterable[str]) -> set[int]:
    """The el majors that ``releases`` carry (releases without an el tag add none)."""
    return {m for m in map(dist_major, releases) if m is not None}


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
