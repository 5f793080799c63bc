"""Which reference advisory a rebuild advisory rebuilds, and the reverse.

A rebuild advisory names its reference either explicitly (an ``ADVISORY`` reference in OSV,
an ``erratum`` reference in updateinfo, a vendor_fix URL) or implicitly by number: AlmaLinux
publishes RHSA-2024:6163 as ALSA-2024:6163, Rocky as RLSA-2024:6163; the last two letters
(``SA``/``BA``/``EA``) keep the kind.  Numbers that are not numbers (``ALSA-2025:A002``) are
the rebuild's own advisories with no reference counterpart.
"""

from __future__ import annotations

from collections.abc import Iterable

from elforge.security.model import Advisory

REFERENCE_PREFIX = "RH"


def is_reference_id(advisory_id: str, prefix: str = REFERENCE_PREFIX) -> bool:
    head = advisory_id.split("-", 1)[0]
    return head.startswith(prefix) and len(head) == len(prefix) + 2


def reference_ids(adv: Advisory, prefix: str = REFERENCE_PREFIX) -> list[str]:
    """The reference advisories ``adv`` rebuilds: explicit ones first, else by number."""
    explicit = [r for r in adv.related_advisories if is_reference_id(r, prefix)]
    if explicit:
        return explicit
    year, _, serial = adv.number.partition(":")
    if year.isdigit() and serial.isdigit():
        return [f"{prefix}{adv.prefix[-2:]}-{adv.number}"]
    return []


def is_rebuild_only(adv: Advisory, prefix: str = REFERENCE_PREFIX) -> bool:
    """True for the rebuild's own advisories (``ALSA-2025:A002``): nothing upstream to match."""
    return not reference_ids(adv, prefix)


def index_by_reference(
    rebuild: Iterable[Advisory], prefix: str = REFERENCE_PREFIX
) -> dict[str, list[Advisory]]:
    """reference id → the rebuild advisories that rebuild it (usually exactly one)."""
    out: dict[str, list[Advisory]] = {}
    for adv in rebuild:
        for ref in reference_ids(adv, prefix):
            out.setdefault(ref, []).append(adv)
    return out
