"""rpmvercmp and EVR comparison with librpm's exact semantics (including ``~`` and ``^``).

The algorithm is librpm's (``rpmvercmp`` in rpmio/rpmvercmp.c), re-expressed in Python:
segments are maximal runs of digits or of ASCII letters; everything else separates them,
except ``~`` (sorts before anything, even the end) and ``^`` (sorts after the end but before
anything else).  Numeric segments compare as integers, a numeric segment beats an alphabetic
one, and when one string runs out the one with segments left is newer.
"""

from __future__ import annotations

from functools import lru_cache


def _isalnum(c: str) -> bool:
    return ("0" <= c <= "9") or ("a" <= c <= "z") or ("A" <= c <= "Z")


def _isdigit(c: str) -> bool:
    return "0" <= c <= "9"


def _isalpha(c: str) -> bool:
    return ("a" <= c <= "z") or ("A" <= c <= "Z")


@lru_cache(maxsize=65536)
def rpmvercmp(a: str, b: str) -> int:
    """Compare two version or release strings the way librpm does: -1, 0 or 1."""
    if a == b:
        return 0
    i = j = 0
    la, lb = len(a), len(b)
    while i < la or j < lb:
        # skip separators (anything that is not alphanumeric, tilde or caret)
        while i < la and not _isalnum(a[i]) and a[i] not in "~^":
            i += 1
        while j < lb and not _isalnum(b[j]) and b[j] not in "~^":
            j += 1

        # tilde: sorts before everything, including the end of the string
        a_tilde = i < la and a[i] == "~"
        b_tilde = j < lb and b[j] == "~"
        if a_tilde or b_tilde:
            if not a_tilde:
                return 1
            if not b_tilde:
                return -1
            i += 1
            j += 1
            continue

        # caret: like tilde, except that the end of the other string sorts first
        a_caret = i < la and a[i] == "^"
        b_caret = j < lb and b[j] == "^"
        if a_caret or b_caret:
            if i >= la:
                return -1
            if j >= lb:
                return 1
            if not a_caret:
                return 1
            if not b_caret:
                return -1
            i += 1
            j += 1
            continue

        if not (i < la and j < lb):
            break

        si, sj = i, j
        if _isdigit(a[i]):
            while i < la and _isdigit(a[i]):
                i += 1
            while j < lb and _isdigit(b[j]):
                j += 1
            isnum = True
        else:
            while i < la and _isalpha(a[i]):
                i += 1
            while j < lb and _isalpha(b[j]):
                j += 1
            isnum = False

        seg_a, seg_b = a[si:i], b[sj:j]
        if not seg_b:
            # segments of different kinds: the numeric one is newer
            return 1 if isnum else -1

        if isnum:
            seg_a = seg_a.lstrip("0")
            seg_b = seg_b.lstrip("0")
            if len(seg_a) != len(seg_b):
                return 1 if len(seg_a) > len(seg_b) else -1
        if seg_a != seg_b:
            return 1 if seg_a > seg_b else -1

    if i >= la and j >= lb:
        return 0
    # whichever string still has characters left is newer
    return -1 if i >= la else 1


def _epoch_int(epoch: str | int | None) -> int:
    if epoch is None or epoch == "":
        return 0
    return int(epoch)


def evrcmp(
    a: tuple[str | int | None, str, str | None],
    b: tuple[str | int | None, str, str | None],
) -> int:
    """Compare (epoch, version, release) triples as ``rpm.labelCompare`` does.

    A missing epoch counts as 0.  A missing release (None) on either side is not compared,
    which is how dependency ranges such as ``foo >= 1.2`` match any release.
    """
    ea, eb = _epoch_int(a[0]), _epoch_int(b[0])
    if ea != eb:
        return 1 if ea > eb else -1
    c = rpmvercmp(a[1], b[1])
    if c:
        return c
    ra, rb = a[2], b[2]
    if ra is None or rb is None:
        return 0
    return rpmvercmp(ra, rb)
