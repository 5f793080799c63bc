"""Will this ELF tree run on that system? The per-target check behind ``elforge appcheck``.

For every ELF file of a target, against one profile:

- the ELF machine must be one the profile has libraries (or auditwheel versions) for, and the
  x86-64 ISA level it needs must not exceed the profile's baseline;
- the program interpreter must be one of the profile's dynamic loaders;
- every DT_NEEDED SONAME must be found: first in the target itself through RPATH (only when
  there is no RUNPATH) and RUNPATH with ``$ORIGIN`` expanded, then — for RPMs — in the default
  library directories of the package, then in the profile (or the policy's allowed list);
- every versioned undefined symbol must be defined at that version by the library its
  version need names; strong unversioned undefined symbols must be defined by a library in
  the load scope; weak undefined symbols that nothing defines are INFO; ``GLIBC_PRIVATE`` is
  a warning (VERIFY); blacklisted symbols of an auditwheel policy are refused.

Against a version profile (an auditwheel policy) auditwheel's rules apply instead of symbol
binding (:meth:`Checker.check_policy`, :mod:`elforge.compat.wheelpolicy`): a version need
``GLIBC_2.29`` from any library is fine when the policy lists it or does not constrain the
``GLIBC`` prefix; libpython is never resolved but must go; blacklists, the ISA level and the
Python ABI of extension modules.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass, field
from typing import Any

from elforge.compat.create import default_dirs, is_loader
from elforge.compat.profile import KIND_VERSIONS, Library, Profile
from elforge.compat.trees import MAX_ELF_SIZE, ElfFile, Tree, norm
from elforge.compat.wheelpolicy import (
    WHEEL_ARCHES,
    blacklisted,
    fpectl_symbols,
    in_purelib,
    is_libpython,
    is_loader_name,
    python_extension,
    ucs2_symbols,
    wheel_arch,
)
from elforge.elf.reader import ELF_MAGIC
from elforge.report.model import Finding, Severity

PRIVATE_NODES = ("GLIBC_PRIVATE",)


@dataclass
class Missing:
    """Something a file needs that the system lacks: a library, a version or a symbol."""

    file: str  # the file inside the target that needs it
    library: str
    symbol: str | None
    version: str | None
    reason: str  # library-missing, version-missing, symbol-missing, blacklisted, libpython
    package: str | None = None  # owner of the library on the checked system, when known
    provided_by: list[dict[str, str | None]] = field(default_factory=list)
    blocking: bool = True  # False for weak references: reported, but the program still loads

    @property
    def label(self) -> str:
        if self.symbol is None and self.version is None:
            return self.library
        what = self.symbol or "*"
        return f"{what}@{self.version}" if self.version else what

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "library": self.library,
            "symbol": self.symbol,
            "version": self.version,
            "reason": self.reason,
            "file": self.file,
            "package": self.package,
        }
        if self.provided_by:
            out["provided_by"] = self.provided_by
        return out


@dataclass
class TargetResult:
    target: str
    kind: str
    files: int = 0
    missing: list[Missing] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    # soname -> version nodes needed from the system (auditwheel's "versioned symbols")
    system_libraries: dict[str, set[str]] = field(default_factory=dict)
    bundled: set[str] = field(default_factory=set)
    error: str | None = None
    install_check: dict[str, Any] | None = None  # libsolv's verdict, for RPMs on a repository

    @property
    def compatible(self) -> bool:
        return self.error is None and not any(f.severity is Severity.BAD for f in self.findings)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "file": self.target,
            "kind": self.kind,
            "compatible": self.compatible,
            "elf_files": self.files,
            "missing": [m.to_json() for m in self.missing],
            "findings": [f.to_json() for f in self.findings],
            "system_libraries": {k: sorted(v) for k, v in sorted(self.system_libraries.items())},
            "bundled_libraries": sorted(self.bundled),
        }
        if self.error is not None:
            out["error"] = self.error
        if self.install_check is not None:
            out["install_check"] = self.install_check
        return out


@dataclass
class Provider:
    """Where a DT_NEEDED entry is satisfied from."""

    soname: str
    bundle: ElfFile | None = None
    system: Library | None = None
    policy: bool = False  # allowed by a version profile

    def defines_version(self, node: str) -> bool:
        if self.bundle is not None:
            return any(d.name == node for d in self.bundle.info.version_defs)
        if self.system is not None:
            return node in self.system.versions
        return True

    def defines(self, name: str, version: str | None) -> bool:
        if self.bundle is not None:
            table = _exports(self.bundle)
            return (name, version) in table if version is not None else name in table[None]
        if self.system is not None:
            return self.system.defines(name, version)
        return False


_EXPORTS: dict[int, tuple[ElfFile, dict[Any, Any]]] = {}


def _exports(f: ElfFile) -> dict[Any, Any]:
    """(name, version) pairs and, under None, the names an ELF file defines; built once."""
    cached = _EXPORTS.get(id(f))
    if cached is not None and cached[0] is f:
        return cached[1]
    table: dict[Any, Any] = {None: set()}
    for s in f.info.symbols:
        if s.defined and s.binding != "LOCAL":
            table[(s.name, s.version)] = True
            table[None].add(s.name)
    if len(_EXPORTS) > 4096:
        _EXPORTS.clear()
    _EXPORTS[id(f)] = (f, table)
    return table


def _expand(entry: str, origin: str, elf_class: int) -> str | None:
    """An RPATH/RUNPATH entry as a tree path; None for entries relative to the cwd."""
    entry = entry.replace("${ORIGIN}", "$ORIGIN").replace("${LIB}", "$LIB")
    entry = entry.replace("$LIB", "lib64" if elf_class == 64 else "lib")
    if "$ORIGIN" in entry:
        return norm(entry.replace("$ORIGIN", "/" + origin))
    if entry.startswith("/"):
        return norm(entry)
    return None


class Checker:
    def __init__(self, tree: Tree, profile: Profile) -> None:
        self.tree = tree
        self.profile = profile
        self.versions_only = profile.kind == KIND_VERSIONS
        self.result = TargetResult(tree.name, tree.kind, files=len(tree.files))
        self._defaults = default_dirs()
        self.inherited: dict[str, list[tuple[str, bool]]] = {}

    # -- reporting ----------------------------------------------------------------------------

    def finding(self, sev: Severity, code: str, subject: str, message: str, f: ElfFile,
                remedy: str = "") -> None:  # fmt: skip
        self.result.findings.append(
            Finding(sev, code, subject, message, remedy=remedy, layer="appcheck", location=f.path)
        )

    def miss(self, f: ElfFile, m: Missing, sev: Severity, message: str) -> None:
        m.blocking = sev is Severity.BAD
        if m.blocking:  # a weak reference that stays unresolved is only a finding
            self.result.missing.append(m)
        remedy = ""
        if m.package:
            remedy = f"{m.library} comes from {m.package} on {self.profile.name}"
        self.finding(sev, f"appcheck.{m.reason}", m.label if m.symbol or m.version else m.library,
                     message, f, remedy)  # fmt: skip

    # -- resolution ---------------------------------------------------------------------------

    def search_dirs(self, f: ElfFile) -> list[tuple[str, bool]]:
        """(tree directory, $ORIGIN-based) in ld.so's order: without DT_RUNPATH the file's
        DT_RPATH, then the DT_RPATH of the objects that load it; then DT_RUNPATH."""
        info = f.info
        origin = posixpath.dirname(f.path)
        out: list[tuple[str, bool]] = []
        if not info.runpath:
            out += self._expand_all(info.rpath, origin, info.elf_class)
            out += self.inherited.get(f.path, [])
        out += self._expand_all(info.runpath, origin, info.elf_class)
        return out

    @staticmethod
    def _expand_all(
        entries: tuple[str, ...], origin: str, elf_class: int
    ) -> list[tuple[str, bool]]:
        out = []
        for entry in entries:
            d = _expand(entry, origin, elf_class)
            if d is not None:
                out.append((d, "ORIGIN" in entry))
        return out

    def locate(self, f: ElfFile, soname: str) -> Provider | None:
        for d, origin_based in self.search_dirs(f):
            path = f"{d}/{soname}" if d else soname
            hit = self.tree.resolve(path)
            if hit is None and self.tree.kind == "elf" and origin_based:
                hit = self.beside(path)
            # ld.so skips a file of another class or machine and goes on searching
            if hit is not None and hit is not f and hit.arch == f.arch:
                return Provider(soname, bundle=hit)
            if not origin_based and not self.versions_only:
                lib = self.profile.find_path(f"/{path}")
                if lib is not None:
                    return Provider(soname, system=lib)
        if self.tree.kind in ("rpm", "root"):
            for d in self._defaults:
                hit = self.tree.resolve(f"{d}/{soname}")
                if hit is not None and hit is not f and hit.arch == f.arch:
                    return Provider(soname, bundle=hit)
        if self.versions_only:
            assert self.profile.policy is not None
            if soname in self.profile.policy.libraries or is_loader(soname):
                return Provider(soname, policy=True)
            return None
        lib = self.profile.find(f.arch, soname)
        return Provider(soname, system=lib) if lib is not None else None

    def inherit_rpaths(self) -> None:
        """Propagate DT_RPATH down the dependency tree inside the target, as ld.so does for
        objects without DT_RUNPATH (a program's RPATH also finds its libraries' libraries)."""
        queue = [f for f in self.tree.files if f.info.rpath and not f.info.runpath]
        for _ in range(10_000):
            if not queue:
                break
            g = queue.pop()
            passed = self._expand_all(g.info.rpath, posixpath.dirname(g.path), g.info.elf_class)
            passed += self.inherited.get(g.path, [])
            for soname in g.info.needed:
                prov = self.locate(g, soname)
                if prov is None or prov.bundle is None or prov.bundle is g:
                    continue
                h = prov.bundle
                if h.info.runpath:
                    continue
                have = self.inherited.setdefault(h.path, [])
                new = [d for d in passed if d not in have]
                if new:
                    have.extend(new)
                    queue.append(h)

    def beside(self, tree_path: str) -> ElfFile | None:
        """A lone ELF file's $ORIGIN libraries are the files next to it on disk (its tree
        paths are real absolute paths): read one into the tree when it is there."""
        try:
            with open("/" + tree_path, "rb") as fh:
                data = fh.read(MAX_ELF_SIZE)
        except OSError:
            return None
        if not data.startswith(ELF_MAGIC):
            return None
        self.tree.add_elf(tree_path, data)
        return self.tree.resolve(tree_path)

    def scope(self, f: ElfFile, direct: list[Provider]) -> list[Provider]:
        """The libraries whose symbols an unversioned reference may bind to: the direct
        dependencies and theirs, breadth first (the loader's global search order)."""
        out = list(direct)
        seen = {p.soname for p in direct}
        i = 0
        while i < len(out) and len(out) < 500:
            p = out[i]
            i += 1
            needed: tuple[str, ...] = ()
            owner = f
            if p.system is not None:
                needed = p.system.needed
            elif p.bundle is not None:
                needed, owner = p.bundle.info.needed, p.bundle
            for soname in needed:
                if soname in seen:
                    continue
                seen.add(soname)
                q = self.locate(owner, soname)
                if q is not None:
                    out.append(q)
        return out

    # -- the checks ---------------------------------------------------------------------------

    def check(self) -> TargetResult:
        self.inherit_rpaths()
        for path, problem in self.tree.errors:
            self.result.findings.append(
                Finding(Severity.BAD, "appcheck.bad-elf", path, problem, layer="appcheck",
                        location=path)
            )  # fmt: skip
        selected = self.wheel_files() if self.versions_only and self.tree.kind == "wheel" else None
        for f in self.tree.files:  # grows while a lone file's $ORIGIN libraries are read
            if f.info.type in ("REL", "CORE") or (selected is not None and f not in selected):
                continue
            self.check_file(f)
        self.result.files = len(self.tree.files)
        return self.result

    def machine_fits(self, f: ElfFile) -> bool:
        p = self.profile
        if self.versions_only:
            assert p.policy is not None
            ok = f.arch in p.policy.symbol_versions
        else:
            ok = f.arch in p.arches
        if not ok:
            have = ", ".join(p.arches) or "none"
            self.finding(Severity.BAD, "appcheck.machine", f.path,
                         f"built for {f.arch} ({f.info.machine}, ELF{f.info.elf_class}); "
                         f"{p.name} has {have}", f)  # fmt: skip
        return ok

    def check_file(self, f: ElfFile) -> None:
        info = f.info
        p = self.profile
        if not self.machine_fits(f):
            return
        baseline = p.isa_level or 1
        if info.x86_isa_needed is not None and info.x86_isa_needed > baseline:
            self.finding(Severity.BAD, "appcheck.isa-level", f.path,
                         f"needs x86-64-v{info.x86_isa_needed}; {p.name} only guarantees "
                         f"x86-64{'-v' + str(baseline) if baseline > 1 else ''}", f)  # fmt: skip
        if info.interpreter and not self.versions_only:
            self.check_interpreter(f, info.interpreter)

        providers, lost = self.resolve_needed(f)
        if self.versions_only:
            self.check_policy(f, providers)
            return
        lacking = self.check_version_needs(f, providers)
        # The loader binds name@node to whichever object in scope defines it (glibc's
        # libpthread.so.0 stub names GLIBC_2.3.3, libc.so.6 has the symbols): search the scope.
        vermap: dict[str, list[str]] = {}
        for vn in info.version_needs:
            for v in vn.versions:
                vermap.setdefault(v, []).append(vn.file)
        scope: list[Provider] | None = None
        unchecked = 0
        for s in info.symbols:
            if s.defined or s.binding == "LOCAL":
                continue
            weak = s.binding == "WEAK"
            if s.version and s.version in lacking:
                continue  # reported with its version node
            if s.version and s.version in vermap:
                if scope is None:
                    scope = self.scope(f, list(providers.values()))
                if any(q.defines(s.name, s.version) for q in scope):
                    continue
                if not any(n in providers for n in vermap[s.version]):
                    continue  # its library is missing, and reported
                lib_name = vermap[s.version][0]
                first = providers.get(lib_name)
                owner = first.system.package if first and first.system else None
                self.miss(f, Missing(f.path, lib_name, s.name, s.version, "symbol-missing", owner),
                          Severity.INFO if weak else Severity.BAD,
                          f"nothing on {p.name} defines {s.name}@{s.version} (needed from "
                          f"{lib_name})" + (" (weak reference)" if weak else ""))  # fmt: skip
                continue
            if scope is None:
                scope = self.scope(f, list(providers.values()))
            if any(q.defines(s.name, None) for q in scope):
                continue
            if weak:
                self.finding(Severity.INFO, "appcheck.weak-undefined", s.name,
                             "weak reference that nothing defines; the program must cope "
                             "with it being null", f)  # fmt: skip
            elif lost:
                unchecked += 1
            elif f.info.type == "DYN" and self.is_python_symbol(f, s.name):
                self.finding(
                    Severity.INFO,
                    "appcheck.python-api",
                    s.name,
                    "comes from the Python interpreter that loads the module",
                    f,
                )
            else:
                self.miss(f, Missing(f.path, "", s.name, None, "symbol-missing"), Severity.BAD,
                          f"undefined symbol {s.name} is defined by none of its libraries "
                          f"on {p.name}")  # fmt: skip
        if unchecked:
            self.finding(Severity.INFO, "appcheck.unchecked", f.path,
                         f"{unchecked} unversioned symbols not checked: a needed library is "
                         "missing", f)  # fmt: skip

    def check_version_needs(self, f: ElfFile, providers: dict[str, Provider]) -> set[str]:
        """Every version node a needed file is asked for must be defined by that file;
        returns the nodes that are not (their symbols are reported with them)."""
        users = _version_users(f)
        lacking: set[str] = set()
        for vn in f.info.version_needs:
            prov = providers.get(vn.file) or self.locate(f, vn.file)
            if (prov is None or prov.bundle is None) and not is_loader(vn.file):
                # what auditwheel calls the versioned symbols: needs from the system
                self.result.system_libraries.setdefault(vn.file, set()).update(vn.versions)
            if prov is None:
                continue
            for node in vn.versions:
                self.note_private(f, vn.file, node, users)
                if prov.defines_version(node):
                    continue
                why = f"{vn.file} on {self.profile.name} does not define version {node}"
                lacking.add(node)
                owner = prov.system.package if prov.system else None
                for name in sorted(users.get(node, [])) or [None]:  # type: ignore[list-item]
                    m = Missing(f.path, vn.file, name, node, "version-missing", owner)
                    self.miss(f, m, Severity.BAD, why)
        return lacking

    def resolve_needed(self, f: ElfFile) -> tuple[dict[str, Provider], bool]:
        """Where each DT_NEEDED entry comes from; a missing one is reported. Against a policy
        a libpython dependency is never looked for (auditwheel skips it) but is one library
        too many: ``auditwheel repair`` drops it, the interpreter provides the C API."""
        providers: dict[str, Provider] = {}
        lost = False
        p = self.profile
        for soname in f.info.needed:
            if self.versions_only and is_libpython(soname):
                self.miss(f, Missing(f.path, soname, None, None, "libpython"), Severity.BAD,
                          f"links {soname}; a {p.name} wheel must not (auditwheel repair "
                          "drops the dependency: the interpreter provides the C API)")  # fmt: skip
                continue
            prov = self.locate(f, soname)
            if prov is None:
                lost = True
                self.miss(f, Missing(f.path, soname, None, None, "library-missing",
                                     self.elsewhere(soname)), Severity.BAD,
                          f"needs {soname}, which {p.name} does not provide")  # fmt: skip
                continue
            providers[soname] = prov
            if prov.bundle is not None:
                self.result.bundled.add(soname)
        return providers, lost

    def note_private(self, f: ElfFile, file: str, node: str, users: dict[str, list[str]]) -> None:
        if node in PRIVATE_NODES:
            names = ", ".join(sorted(users.get(node, []))) or "no symbol"
            self.finding(Severity.VERIFY, "appcheck.private-version", node,
                         f"uses {file}'s private interface ({names}); it may change in any "
                         "update", f)  # fmt: skip

    # -- auditwheel policies ------------------------------------------------------------------

    def wheel_files(self) -> list[ElfFile]:
        """The files auditwheel analyses: those of the wheel's one architecture (its platform
        tag's, else its first ELF file's); others are ignored, and a wheel left with none is
        not a platform wheel. A shared library under ``purelib`` makes the wheel invalid."""
        files = [f for f in self.tree.files if f.info.type not in ("REL", "CORE")]
        arch = wheel_arch(self.tree.name)
        if arch is None:
            arch = next((f.arch for f in files if f.arch in WHEEL_ARCHES), None)
        chosen = [f for f in files if f.arch == arch]
        for f in files:
            if in_purelib(f.path):
                self.finding(Severity.BAD, "appcheck.purelib", f.path,
                             "shared library in the purelib folder: not a valid binary wheel",
                             f)  # fmt: skip
            if f.arch != arch:
                self.finding(Severity.INFO, "appcheck.ignored-arch", f.path,
                             f"built for {f.arch}, not the wheel's {arch or 'architecture'}: "
                             "ignored, as auditwheel does", f)  # fmt: skip
        if not chosen:
            self.result.findings.append(Finding(
                Severity.BAD, "appcheck.machine", self.tree.name,
                "no ELF file of an architecture auditwheel knows: not a platform wheel",
                layer="appcheck"))  # fmt: skip
        return chosen

    def check_policy(self, f: ElfFile, providers: dict[str, Provider]) -> None:
        """auditwheel's checks of one file: every version it needs (from any library, bundled
        or not; loaders excepted) allowed by the policy's prefix lists, no blacklisted
        symbol, and the Python ABI rules of extension modules."""
        pol = self.profile.policy
        assert pol is not None
        users = _version_users(f)
        for vn in f.info.version_needs:
            if is_loader(vn.file) or is_loader_name(vn.file):
                continue
            self.result.system_libraries.setdefault(vn.file, set()).update(vn.versions)
            for node in vn.versions:
                self.note_private(f, vn.file, node, users)
                if pol.version_allowed(f.arch, node):
                    continue
                why = f"{node} (needed from {vn.file}) is not a version {self.profile.name} allows"
                for name in sorted(users.get(node, [])) or [None]:  # type: ignore[list-item]
                    self.miss(f, Missing(f.path, vn.file, name, node, "version-missing"),
                              Severity.BAD, why)  # fmt: skip
        for soname, names in blacklisted(f, pol.blacklist, f.info.needed).items():
            for name in names:
                what = "every symbol" if name == "*" else name
                self.miss(f, Missing(f.path, soname, name, None, "blacklisted"), Severity.BAD,
                          f"{what} of {soname} is not allowed by {self.profile.name}")  # fmt: skip
        self.check_python_abi(f)

    def is_python_symbol(self, f: ElfFile, name: str) -> bool:
        if not name.startswith(("Py", "_Py")):
            return False
        return self.tree.kind == "wheel" or any(
            s.defined and s.name.startswith(("PyInit_", "init")) for s in f.info.symbols
        )

    def check_interpreter(self, f: ElfFile, interp: str) -> None:
        loaders = set(self.profile.loaders)
        if not loaders:
            self.finding(
                Severity.INFO,
                "appcheck.interpreter-unknown",
                interp,
                f"{self.profile.name} lists no dynamic loader; not checked",
                f,
            )
            return  # fmt: skip
        candidates = {interp, "/usr" + interp, interp.removeprefix("/usr")}
        if candidates & loaders:
            return
        self.finding(Severity.BAD, "appcheck.interpreter", interp,
                     f"program interpreter {interp} is not on {self.profile.name} "
                     f"({', '.join(sorted(loaders))})", f)  # fmt: skip

    def check_python_abi(self, f: ElfFile) -> None:
        """auditwheel's rules for extension modules: no narrow-unicode (UCS2) Python 2 build,
        no fpectl symbols (``PyFPE_jbuf``, ``PyFPE_dummy``, ``PyFPE_counter``)."""
        version = python_extension(f)
        if version is None:
            return
        ucs2 = ucs2_symbols(f) if version == 2 else []
        if ucs2:
            self.finding(Severity.BAD, "appcheck.python-ucs2", ucs2[0],
                         f"built against a narrow-unicode (UCS2) Python ({len(ucs2)} symbols); "
                         f"{self.profile.name} requires UCS4", f)  # fmt: skip
        fpe = fpectl_symbols(f)
        if fpe:
            self.finding(Severity.BAD, "appcheck.python-fpectl", fpe[0],
                         f"uses {', '.join(fpe)} (an fpectl Python build), not allowed by "
                         f"{self.profile.name}", f)  # fmt: skip

    def elsewhere(self, soname: str) -> str | None:
        """The package owning ``soname`` for another architecture, if any (a hint)."""
        for lib in self.profile.libraries:
            if lib.soname == soname and lib.package:
                return lib.package
        return None


def _version_users(f: ElfFile) -> dict[str, list[str]]:
    """version node -> the undefined symbols that need it."""
    users: dict[str, list[str]] = {}
    for s in f.info.symbols:
        if not s.defined and s.version:
            users.setdefault(s.version, []).append(s.name)
    return users


def check_tree(tree: Tree, profile: Profile) -> TargetResult:
    return Checker(tree, profile).check()
