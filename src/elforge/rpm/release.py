"""Release normalisation: decide whether two vendors' packages are the same upstream build.

A rebuild keeps the upstream release and decorates it: the dist tag says where it was built
(``.el9`` in CentOS Stream and a RHEL GA, ``.el9_4`` for a RHEL 9.4 z-stream build), and
rebuilders add their own suffix (AlmaLinux ``.alma.1``, Rocky ``.rocky.0.2``, Oracle
``.0.1``).  Module builds carry the module stream version plus a build id and a context hash
that differ between every build system.  This module takes a release apart into those
pieces; docs/release-normalisation.md lists every rule with examples.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from elforge.rpm.nevra import EVR, NEVRA
from elforge.rpm.vercmp import rpmvercmp

# el9, el9_4, el8_10, fc40 — the dist token (between dots)
_DIST = re.compile(r"^(el|fc)(\d+)(?:_(\d+))?$")
# module+el8.8.0+18745+f1bef313 (RHEL) / module_el8.8.0+3609+204d4ab0 (CentOS, AlmaLinux) /
# module_el9+1086+80da4ced (CentOS Stream 9: no minor version)
_MODULE = re.compile(
    r"(?:^|\.)module[+_]el(?P<major>\d+)(?:\.(?P<minor>\d+)\.(?P<z>\d+))?"
    r"\+(?P<build>\d+)\+(?P<context>[0-9a-f]+)"
)
# rebuilders' words that start a vendor suffix after the dist tag
VENDOR_WORDS = frozenset({"alma", "rocky", "centos", "oracle", "ol", "navy", "circle", "euro"})


@dataclass(frozen=True)
class ReleaseParts:
    """A release taken apart.  ``base`` + ``respin`` is what the upstream build is called."""

    base: str  # upstream release before the dist tag: "9", "251", "0.25.20130910svn"
    dist: str | None  # "el9_4", "fc40" or "module+el8.8.0+18745+f1bef313"
    major: int | None  # 9 for el9, el9_4 and module+el9.4.0
    minor: int | None  # 4 for el9_4 and module+el9.4.0; None for plain el9
    module_stream: str | None  # "el8.8.0" for module builds
    respin: str  # upstream z-stream counters after the dist tag: "40" in ".el8_10.40"
    vendor: str | None  # ".alma.1", ".rocky.0.2", ".0.1"

    @property
    def upstream(self) -> str:
        """Base release and respin counters, without any dist, module or vendor part."""
        return f"{self.base}.{self.respin}" if self.respin else self.base

    @property
    def normalized(self) -> str:
        if self.module_stream:
            return f"{self.upstream}.module_{self.module_stream}"
        return self.upstream


def _split_after(tokens: list[str]) -> tuple[str, str | None]:
    """Tokens after the dist tag: upstream respin counters, then the vendor suffix.

    A vendor word starts the suffix, and so does a ``0`` followed only by numbers (Oracle's
    ``.0.1``; upstream respins count from 1).  Anything else is kept: an unknown word may be
    a real difference.
    """
    for i, tok in enumerate(tokens):
        numeric_tail = all(t.isdigit() for t in tokens[i:])
        if tok.lower() in VENDOR_WORDS or (tok == "0" and i + 1 < len(tokens) and numeric_tail):
            return ".".join(tokens[:i]), "." + ".".join(tokens[i:])
    return ".".join(tokens), None


def parse_release(release: str) -> ReleaseParts:
    """Take ``release`` apart into base, dist tag, module stream, respin and vendor suffix."""
    m = _MODULE.search(release)
    if m:
        base = release[: m.start()]
        after = release[m.end() :].lstrip(".")
        respin, mod_vendor = _split_after(after.split(".")) if after else ("", None)
        major = int(m.group("major"))
        minor = int(m.group("minor")) if m.group("minor") is not None else None
        stream = f"el{major}" if minor is None else f"el{major}.{minor}.{m.group('z')}"
        return ReleaseParts(
            base=base,
            dist=release[m.start() : m.end()].lstrip("."),
            major=major,
            minor=minor,
            module_stream=stream,
            respin=respin,
            vendor=mod_vendor,
        )
    tokens = release.split(".")
    for i in range(len(tokens) - 1, 0, -1):
        d = _DIST.match(tokens[i])
        if not d:
            continue
        before = tokens[:i]
        vendor: str | None = None
        # Oracle Linux puts its ".0.N" in front of the dist tag: 236.0.1.el8
        if len(before) >= 3 and before[-2] == "0" and before[-1].isdigit():
            vendor, before = "." + ".".join(before[-2:]), before[:-2]
        respin, after_vendor = _split_after(tokens[i + 1 :])
        if after_vendor:
            vendor = after_vendor if vendor is None else vendor + after_vendor
        return ReleaseParts(
            base=".".join(before),
            dist=tokens[i],
            major=int(d.group(2)),
            minor=int(d.group(3)) if d.group(3) is not None else None,
            module_stream=None,
            respin=respin,
            vendor=vendor,
        )
    return ReleaseParts(release, None, None, None, None, "", None)


def normalize_release(release: str) -> str:
    """The release as upstream built it: dist tag and vendor suffix removed, module builds
    reduced to their stream version.  ``"9.el9_4.alma.1"`` -> ``"9"``,
    ``"251.el8_10.40"`` -> ``"251.40"``,
    ``"1.module+el8.8.0+18745+f1bef313"`` -> ``"1.module_el8.8.0"``."""
    return parse_release(release).normalized


def strip_dist(release: str) -> str:
    """Remove only the dist tag (or the whole module tag); a vendor suffix stays.

    ``"9.el9_4.alma.1"`` -> ``"9.alma.1"``; ``"1.module+el8.8.0+18745+f1bef313"`` -> ``"1"``.
    """
    parts = parse_release(release)
    if parts.dist is None:
        return release
    text = parts.base
    if parts.respin:
        text += "." + parts.respin
    return text + (parts.vendor or "")


def vendor_suffix(release: str) -> str | None:
    """The rebuilder's suffix (``".alma.1"``, ``".0.1"``, ``".rocky"``), None if there is none."""
    return parse_release(release).vendor


def _evr(value: NEVRA | EVR) -> EVR:
    return value.evr if isinstance(value, NEVRA) else value


def same_build(ref: NEVRA | EVR, cand: NEVRA | EVR) -> bool:
    """Whether ``cand`` is a rebuild of the same upstream build as ``ref``.

    Names must match when both are NEVRAs (architectures are not compared: one build makes
    all of them); epochs and versions must be equal; releases must be equal once normalised;
    where both carry a dist tag, its major version must agree (el8 is not el9); module
    builds must have the same stream version (el8.8.0), unless one side has none.
    """
    if isinstance(ref, NEVRA) and isinstance(cand, NEVRA) and ref.name != cand.name:
        return False
    a, b = _evr(ref), _evr(cand)
    if a.epoch != b.epoch or rpmvercmp(a.version, b.version) != 0:
        return False
    if a.release is None or b.release is None:
        return a.release == b.release
    pa, pb = parse_release(a.release), parse_release(b.release)
    if pa.major is not None and pb.major is not None and pa.major != pb.major:
        return False
    if (pa.module_stream is None) != (pb.module_stream is None):
        return False  # a module build and a non-modular build are different builds
    # module builds: the stream versions must agree where both sides have one (CentOS
    # Stream's module_el9+… has none)
    if pa.minor is not None and pb.minor is not None and pa.module_stream != pb.module_stream:
        return False
    return rpmvercmp(pa.upstream, pb.upstream) == 0
