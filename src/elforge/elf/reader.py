"""Read what ABI comparison needs from an ELF file: identity, dynamic section, notes, symbols.

Our own ``struct``/``array`` parser rather than pyelftools or LIEF: ``bench/elf_reader.py``
measures all three on the same files in the same run. pyelftools builds a Python object per
field and is 20-30x slower (about 2 s of CPU for 50,000 symbols, far over the 100 ms budget);
LIEF is as fast as we are on the 50k-symbol DSO but 5x slower on typical ones, is only a
development dependency, and needs a call per symbol for the default/hidden version flag.
This parser decodes the symbol table column-wise (strided slices of typed arrays, tuples
built in C by ``map``/``zip``): ~0.3 ms for a typical DSO, ~90 ms of CPU at 50,000 symbols.

Every class (ELF32/ELF64) and byte order is handled; malformed input raises
:class:`~elforge.errors.FormatError` naming the file.
"""

from __future__ import annotations

import mmap
import struct
from array import array
from dataclasses import dataclass, field
from itertools import repeat
from pathlib import Path
from typing import Literal, NamedTuple

from elforge.errors import FormatError

ELF_MAGIC = b"\x7fELF"

# e_type
ET_REL, ET_EXEC, ET_DYN, ET_CORE = 1, 2, 3, 4
# section types
SHT_STRTAB, SHT_DYNAMIC, SHT_NOTE, SHT_DYNSYM = 3, 6, 7, 11
SHT_GNU_VERDEF, SHT_GNU_VERNEED, SHT_GNU_VERSYM = 0x6FFFFFFD, 0x6FFFFFFE, 0x6FFFFFFF
SHT_GNU_HASH = 0x6FFFFFF6
# program header types
PT_LOAD, PT_DYNAMIC, PT_INTERP, PT_NOTE = 1, 2, 3, 4
# dynamic tags
DT_NULL, DT_NEEDED, DT_STRTAB, DT_SONAME, DT_RPATH, DT_RUNPATH = 0, 1, 5, 14, 15, 29
DT_STRSZ, DT_FLAGS_1, DT_GNU_HASH, DT_RELR = 10, 0x6FFFFFFB, 0x6FFFFEF5, 36
DF_1_PIE = 0x08000000
# notes
NT_GNU_BUILD_ID, NT_GNU_PROPERTY_TYPE_0 = 3, 5
GNU_PROPERTY_X86_ISA_1_NEEDED = 0xC0008002  # binutils >= 2.36
GNU_PROPERTY_X86_ISA_1_NEEDED_OLD = 0xC0000001  # binutils 2.29 - 2.35 encoding
# symbol tables
SHN_UNDEF, SHN_ABS, SHN_COMMON = 0, 0xFFF1, 0xFFF2
VER_FLG_BASE = 0x1
VERSYM_HIDDEN = 0x8000

MACHINES = {
    0: "none", 2: "sparc", 3: "i386", 8: "mips", 15: "parisc", 18: "sparc32plus", 20: "ppc",
    21: "ppc64", 22: "s390", 40: "arm", 42: "sh", 43: "sparcv9", 50: "ia64", 62: "x86_64",
    183: "aarch64", 243: "riscv", 258: "loongarch",
}  # fmt: skip
OSABIS = {0: "SYSV", 3: "GNU", 6: "Solaris", 9: "FreeBSD", 97: "ARM", 255: "standalone"}
BINDINGS = {0: "LOCAL", 1: "GLOBAL", 2: "WEAK", 10: "GNU_UNIQUE"}
TYPES = {0: "NOTYPE", 1: "OBJECT", 2: "FUNC", 3: "SECTION", 4: "FILE", 5: "COMMON", 6: "TLS",
         10: "IFUNC"}  # fmt: skip
VISIBILITIES = ("DEFAULT", "INTERNAL", "HIDDEN", "PROTECTED")


class Symbol(NamedTuple):
    """One dynamic symbol with its version; ``default`` is ``@@`` (True) against ``@``.

    A NamedTuple rather than a dataclass: building 50,000 of them is the reader's hot loop.
    """

    name: str
    version: str | None
    default: bool
    binding: str
    type: str
    size: int
    visibility: str
    defined: bool
    shndx: int
    value: int = 0  # address; symbols sharing it are aliases

    @property
    def id(self) -> str:
        """``name@@VERSION``, ``name@VERSION`` or ``name``: how libabigail names a symbol."""
        if not self.version:
            return self.name
        return f"{self.name}{'@@' if self.default else '@'}{self.version}"

    @property
    def is_exported(self) -> bool:
        """Part of the interface: defined, global/weak/unique, default or protected visibility,
        and a function, variable or TLS object (an OBJECT in SHN_ABS is a version marker)."""
        return (
            self.defined
            and self.binding != "LOCAL"
            and self.visibility in ("DEFAULT", "PROTECTED")
            and (
                self.type in ("FUNC", "IFUNC", "TLS")
                or (self.type == "OBJECT" and self.shndx != SHN_ABS)
            )
        )


@dataclass(frozen=True, slots=True)
class VersionDef:
    name: str
    index: int
    base: bool  # VER_FLG_BASE: the file's own name, not a version node
    parents: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class VersionNeed:
    file: str
    versions: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ElfInfo:
    """What one ELF file says about its interface."""

    path: str
    elf_class: int  # 32 or 64
    endian: str  # "little" or "big"
    machine: str
    osabi: str
    type: str  # "REL", "EXEC", "DYN" (shared object), "PIE", "CORE"
    soname: str | None = None
    needed: tuple[str, ...] = ()
    rpath: tuple[str, ...] = ()
    runpath: tuple[str, ...] = ()
    interpreter: str | None = None
    has_gnu_hash: bool = False
    has_relr: bool = False
    x86_isa_needed: int | None = None  # highest x86-64 ISA level needed (1 = baseline … 4 = v4)
    build_id: str | None = None
    symbols: tuple[Symbol, ...] = field(default=(), repr=False)
    version_defs: tuple[VersionDef, ...] = ()
    version_needs: tuple[VersionNeed, ...] = ()

    @property
    def is_shared_object(self) -> bool:
        return self.type == "DYN"

    @property
    def is_executable(self) -> bool:
        return self.type in ("EXEC", "PIE")

    @property
    def arch(self) -> str:
        """libabigail-style architecture name, e.g. ``elf-amd-x86_64``."""
        return f"elf-{self.machine}"

    def exported(self) -> list[Symbol]:
        return [s for s in self.symbols if s.is_exported]


def is_elf(first_bytes: bytes) -> bool:
    return first_bytes[:4] == ELF_MAGIC


def read_elf_file(path: Path, *, name: str | None = None) -> ElfInfo:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise FormatError(f"cannot read: {exc.strerror}", subject=path) from exc
    return read_elf(data, name=name or str(path))


def read_elf(data: bytes | mmap.mmap, *, name: str = "<memory>") -> ElfInfo:
    """Parse ``data`` (a whole ELF file, in memory or mapped: only the pages of the headers
    and the sections read are touched); raise FormatError naming ``name`` when malformed."""
    try:
        return _Parser(data, name).parse()
    except FormatError:
        raise
    except (struct.error, IndexError, ValueError, UnicodeDecodeError) as exc:
        raise FormatError(f"malformed or truncated ELF ({exc})", subject=name) from exc


class _Parser:
    def __init__(self, data: bytes | mmap.mmap, name: str) -> None:
        self.data = data
        self.mv = memoryview(data)
        self.name = name

    def fail(self, problem: str) -> FormatError:
        return FormatError(problem, subject=self.name)

    def slice(self, offset: int, size: int) -> memoryview:
        if offset < 0 or size < 0 or offset + size > len(self.data):
            raise self.fail(
                f"truncated ELF: needs bytes {offset}..{offset + size}, file has {len(self.data)}"
            )
        return self.mv[offset : offset + size]

    def cstr(self, table: tuple[int, int], offset: int) -> str:
        start, size = table
        if offset >= size:
            raise self.fail(f"string offset {offset} outside string table of {size} bytes")
        pos = start + offset
        end = self.data.find(b"\0", pos, start + size)
        if end < 0:
            end = start + size
        return self.data[pos:end].decode("utf-8", "surrogateescape")

    def parse(self) -> ElfInfo:
        data = self.data
        if len(data) < 16 or data[:4] != ELF_MAGIC:
            raise self.fail("not an ELF file (bad magic)")
        ei_class, ei_data, osabi = data[4], data[5], data[7]
        if ei_class not in (1, 2):
            raise self.fail(f"unknown ELF class {ei_class}")
        if ei_data not in (1, 2):
            raise self.fail(f"unknown ELF byte order {ei_data}")
        is64 = ei_class == 2
        e = "<" if ei_data == 1 else ">"
        self.e = e
        self.is64 = is64
        if is64:
            hdr = struct.unpack_from(e + "HHIQQQIHHHHHH", self.slice(16, 48))
        else:
            hdr = struct.unpack_from(e + "HHIIIIIHHHHHH", self.slice(16, 36))
        (e_type, e_machine, _ver, _entry, e_phoff, e_shoff, _flags, _ehsize,
         e_phentsize, e_phnum, e_shentsize, e_shnum, _e_shstrndx) = hdr  # fmt: skip
        self.machine = e_machine

        # program headers: (type, offset, vaddr, filesz)
        phdrs: list[tuple[int, int, int, int]] = []
        if e_phoff and e_phnum:
            fmt = e + ("IIQQQQQQ" if is64 else "IIIIIIII")
            need = 56 if is64 else 32
            if e_phentsize < need:
                raise self.fail(f"program header entry size {e_phentsize} too small")
            for i in range(e_phnum):
                raw = struct.unpack_from(fmt, self.slice(e_phoff + i * e_phentsize, need))
                if is64:
                    p_type, _fl, p_off, p_vaddr, _pa, p_filesz = raw[:6]
                else:
                    p_type, p_off, p_vaddr, _pa, p_filesz = raw[:5]
                phdrs.append((p_type, p_off, p_vaddr, p_filesz))
        self.loads = [(v, o, s) for t, o, v, s in phdrs if t == PT_LOAD]

        # section headers: (type, addr, offset, size, link, entsize)
        shdrs: list[tuple[int, int, int, int, int, int]] = []
        if e_shoff and e_shnum:
            fmt = e + ("IIQQQQIIQQ" if is64 else "IIIIIIIIII")
            need = 64 if is64 else 40
            if e_shentsize < need:
                raise self.fail(f"section header entry size {e_shentsize} too small")
            for i in range(e_shnum):
                raw = struct.unpack_from(fmt, self.slice(e_shoff + i * e_shentsize, need))
                _n, sh_type, _f, sh_addr, sh_off, sh_size, sh_link, _inf, _al, sh_entsize = raw
                shdrs.append((sh_type, sh_addr, sh_off, sh_size, sh_link, sh_entsize))

        interpreter = None
        for p_type, p_off, _v, p_filesz in phdrs:
            if p_type == PT_INTERP:
                interpreter = bytes(self.slice(p_off, p_filesz)).split(b"\0", 1)[0].decode()

        dyn = self._dynamic(phdrs, shdrs)
        soname: str | None = None
        needed: list[str] = []
        rpath: list[str] = []
        runpath: list[str] = []
        flags_1 = 0
        has_gnu_hash = has_relr = False
        dynstr: tuple[int, int] | None = None
        strtab_addr = strsz = None
        for tag, val in dyn:
            if tag == DT_STRTAB:
                strtab_addr = val
            elif tag == DT_STRSZ:
                strsz = val
            elif tag == DT_FLAGS_1:
                flags_1 = val
            elif tag == DT_GNU_HASH:
                has_gnu_hash = True
            elif tag == DT_RELR:
                has_relr = True
        if strtab_addr is not None and strsz is not None:
            off = self._vaddr_to_offset(strtab_addr)
            if off is not None:
                self.slice(off, strsz)
                dynstr = (off, strsz)
        if dynstr is not None:
            for tag, val in dyn:
                if tag == DT_NEEDED:
                    needed.append(self.cstr(dynstr, val))
                elif tag == DT_SONAME:
                    soname = self.cstr(dynstr, val)
                elif tag == DT_RPATH:
                    rpath.extend(p for p in self.cstr(dynstr, val).split(":") if p)
                elif tag == DT_RUNPATH:
                    runpath.extend(p for p in self.cstr(dynstr, val).split(":") if p)
        if not has_gnu_hash:
            has_gnu_hash = any(s[0] == SHT_GNU_HASH for s in shdrs)

        kind = {ET_REL: "REL", ET_EXEC: "EXEC", ET_DYN: "DYN", ET_CORE: "CORE"}.get(
            e_type, f"0x{e_type:x}"
        )
        if kind == "DYN" and (
            flags_1 & DF_1_PIE
            or (interpreter is not None and soname is None and not dyn_has_verdef(shdrs))
        ):
            kind = "PIE"

        build_id, isa = self._notes(phdrs, shdrs)
        symbols, vdefs, vneeds = self._symbols(shdrs)
        return ElfInfo(
            path=self.name,
            elf_class=64 if is64 else 32,
            endian="little" if e == "<" else "big",
            machine=MACHINES.get(e_machine, f"machine-{e_machine}"),
            osabi=OSABIS.get(osabi, f"osabi-{osabi}"),
            type=kind,
            soname=soname,
            needed=tuple(needed),
            rpath=tuple(rpath),
            runpath=tuple(runpath),
            interpreter=interpreter,
            has_gnu_hash=has_gnu_hash,
            has_relr=has_relr,
            x86_isa_needed=isa,
            build_id=build_id,
            symbols=symbols,
            version_defs=vdefs,
            version_needs=vneeds,
        )

    def _vaddr_to_offset(self, addr: int) -> int | None:
        for vaddr, off, filesz in self.loads:
            if vaddr <= addr < vaddr + filesz:
                return addr - vaddr + off
        return None

    def _dynamic(
        self,
        phdrs: list[tuple[int, int, int, int]],
        shdrs: list[tuple[int, int, int, int, int, int]],
    ) -> list[tuple[int, int]]:
        region = next(((s[2], s[3]) for s in shdrs if s[0] == SHT_DYNAMIC), None)
        if region is None:
            region = next(((p[1], p[3]) for p in phdrs if p[0] == PT_DYNAMIC), None)
        if region is None:
            return []
        off, size = region
        ent = 16 if self.is64 else 8
        raw = self.slice(off, size - size % ent)
        out = []
        for tag, val in struct.iter_unpack(self.e + ("qQ" if self.is64 else "iI"), raw):
            if tag == DT_NULL:
                break
            out.append((tag, val))
        return out

    def _notes(
        self,
        phdrs: list[tuple[int, int, int, int]],
        shdrs: list[tuple[int, int, int, int, int, int]],
    ) -> tuple[str | None, int | None]:
        regions = [(s[2], s[3]) for s in shdrs if s[0] == SHT_NOTE]
        if not regions:
            regions = [(p[1], p[3]) for p in phdrs if p[0] == PT_NOTE]
        build_id = None
        isa: int | None = None
        e = self.e
        for off, size in regions:
            blob = bytes(self.slice(off, size))
            pos = 0
            while pos + 12 <= len(blob):
                namesz, descsz, ntype = struct.unpack_from(e + "III", blob, pos)
                pos += 12
                name = blob[pos : pos + namesz].rstrip(b"\0")
                pos += (namesz + 3) & ~3
                desc = blob[pos : pos + descsz]
                if ntype == NT_GNU_PROPERTY_TYPE_0:
                    # property notes are aligned to 8 in ELF64
                    pos += (descsz + 7) & ~7 if self.is64 else (descsz + 3) & ~3
                else:
                    pos += (descsz + 3) & ~3
                if name != b"GNU":
                    continue
                if ntype == NT_GNU_BUILD_ID:
                    build_id = desc.hex()
                elif ntype == NT_GNU_PROPERTY_TYPE_0:
                    level = self._isa_level(desc)
                    if level is not None:
                        isa = max(isa or 0, level)
        return build_id, isa

    def _isa_level(self, desc: bytes) -> int | None:
        align = 8 if self.is64 else 4
        pos = 0
        level = None
        while pos + 8 <= len(desc):
            pr_type, pr_datasz = struct.unpack_from(self.e + "II", desc, pos)
            pos += 8
            if pr_type in (GNU_PROPERTY_X86_ISA_1_NEEDED, GNU_PROPERTY_X86_ISA_1_NEEDED_OLD) and (
                pr_datasz >= 4
            ):
                bits = struct.unpack_from(self.e + "I", desc, pos)[0]
                if pr_type == GNU_PROPERTY_X86_ISA_1_NEEDED:
                    # bit 0 baseline, bit 1 v2, bit 2 v3, bit 3 v4
                    level = bits.bit_length() if bits else None
            pos += (pr_datasz + align - 1) & ~(align - 1)
        return level

    def _symbols(
        self, shdrs: list[tuple[int, int, int, int, int, int]]
    ) -> tuple[tuple[Symbol, ...], tuple[VersionDef, ...], tuple[VersionNeed, ...]]:
        dynsym = next((s for s in shdrs if s[0] == SHT_DYNSYM), None)
        if dynsym is None:
            return (), (), ()
        e = self.e
        _t, _a, off, size, link, entsize = dynsym
        if link >= len(shdrs):
            raise self.fail(f"dynamic symbol table links to missing section {link}")
        strsec = shdrs[link]
        strtab = (strsec[2], strsec[3])
        self.slice(*strtab)
        want = 24 if self.is64 else 16
        if entsize != want:
            raise self.fail(f"dynamic symbol entry size {entsize}, expected {want}")
        count = size // entsize
        raw = self.slice(off, count * entsize)

        vdefs = self._verdefs(shdrs, strtab)
        vneeds, need_index = self._verneeds(shdrs, strtab)
        def_index = {d.index: d.name for d in vdefs}
        versym = next((s for s in shdrs if s[0] == SHT_GNU_VERSYM), None)
        vers: tuple[int, ...] | list[int] = ()
        if versym is not None:
            n = min(versym[3] // 2, count)
            vers = [v[0] for v in struct.iter_unpack(e + "H", self.slice(versym[2], n * 2))]

        data = self.data
        str_start, str_size = strtab
        str_end = str_start + str_size
        # decode the string table once: offset -> name for every string start; a name that
        # starts inside another (suffix merging) falls back to a search
        names: dict[int, str] = {}
        pos = 0
        for chunk in data[str_start:str_end].split(b"\0"):
            names[pos] = chunk.decode("utf-8", "surrogateescape")
            pos += len(chunk) + 1
        find = data.find

        def slow_name(off: int, idx: int) -> str:
            if off >= str_size:
                raise self.fail(f"symbol {idx} name offset {off} outside string table")
            p = str_start + off
            end = find(b"\0", p, str_end)
            return data[p : end if end >= 0 else str_end].decode("utf-8", "surrogateescape")

        # the few distinct versym values, resolved once: (version, default) for a defined
        # symbol (from verdef) and for an undefined one (from verneed; a copy-relocated
        # definition in an executable also has a verneed index and gets no version)
        vers_full = list(vers) + [1] * (count - len(vers))

        def resolve(index: dict[int, str]) -> dict[int, tuple[str | None, bool]]:
            out: dict[int, tuple[str | None, bool]] = {}
            for v in set(vers_full):
                vi = v & 0x7FFF
                out[v] = (index.get(vi), not v & VERSYM_HIDDEN) if vi > 1 else (None, True)
            return out

        vdef_map, vneed_map = resolve(def_index), resolve(need_index)
        bind_t = tuple(BINDINGS.get(i, str(i)) for i in range(16))
        type_t = tuple(TYPES.get(i, str(i)) for i in range(16))
        vis_t = VISIBILITIES
        # column-wise decoding: each field of every entry is pulled out with one strided
        # slice of a typed array, and the Symbol tuples are built by map()/zip() in C
        blob = bytes(raw)
        if self.is64:
            w32, w16, w64 = array("I", blob), array("H", blob), array("Q", blob)
            if e == ">":
                w32.byteswap()
                w16.byteswap()
                w64.byteswap()
            c_name, c_shndx = w32[0::6], w16[3::12]
            c_value, c_size = w64[1::3], w64[2::3]
            c_info, c_other = blob[4::24], blob[5::24]
        else:
            w32, w16 = array("I", blob), array("H", blob)
            if e == ">":
                w32.byteswap()
                w16.byteswap()
            c_name, c_value, c_size = w32[0::4], w32[1::4], w32[2::4]
            c_shndx = w16[7::8]
            c_info, c_other = blob[12::16], blob[13::16]
        get = names.get
        n_names = [get(o) or (slow_name(o, i) if o else "") for i, o in enumerate(c_name)]
        defined = [sh != SHN_UNDEF for sh in c_shndx]
        vv = [(vdef_map if d else vneed_map)[v] for d, v in zip(defined, vers_full, strict=True)]
        c_type = [i & 0xF for i in c_info]
        if self.machine == 40:  # ARM: bit 0 of a function address marks Thumb code
            c_value = array(
                "Q", [v & ~1 if t == 2 else v for v, t in zip(c_value, c_type, strict=True)]
            )
        columns = zip(
            n_names,
            [v[0] for v in vv],
            [v[1] for v in vv],
            [bind_t[i >> 4] for i in c_info],
            [type_t[t] for t in c_type],
            c_size,
            [vis_t[o & 3] for o in c_other],
            defined,
            c_shndx,
            c_value,
            strict=True,
        )
        out = [sym for sym in map(tuple.__new__, repeat(Symbol), columns) if sym[0]]
        return tuple(out), vdefs, vneeds

    def _verdefs(
        self, shdrs: list[tuple[int, int, int, int, int, int]], strtab: tuple[int, int]
    ) -> tuple[VersionDef, ...]:
        sec = next((s for s in shdrs if s[0] == SHT_GNU_VERDEF), None)
        if sec is None:
            return ()
        e = self.e
        base, size = sec[2], sec[3]
        if sec[4] < len(shdrs):
            strtab = (shdrs[sec[4]][2], shdrs[sec[4]][3])
        out = []
        pos = 0
        for _ in range(0xFFFF):
            if pos + 20 > size:
                break
            _ver, flags, ndx, cnt, _hash, aux, nxt = struct.unpack_from(
                e + "HHHHIII", self.slice(base + pos, 20)
            )
            names = []
            apos = pos + aux
            for _j in range(cnt):
                vda_name, vda_next = struct.unpack_from(e + "II", self.slice(base + apos, 8))
                names.append(self.cstr(strtab, vda_name))
                if not vda_next:
                    break
                apos += vda_next
            if names:
                out.append(VersionDef(names[0], ndx, bool(flags & VER_FLG_BASE), tuple(names[1:])))
            if not nxt:
                break
            pos += nxt
        return tuple(out)

    def _verneeds(
        self, shdrs: list[tuple[int, int, int, int, int, int]], strtab: tuple[int, int]
    ) -> tuple[tuple[VersionNeed, ...], dict[int, str]]:
        sec = next((s for s in shdrs if s[0] == SHT_GNU_VERNEED), None)
        if sec is None:
            return (), {}
        e = self.e
        base, size = sec[2], sec[3]
        if sec[4] < len(shdrs):
            strtab = (shdrs[sec[4]][2], shdrs[sec[4]][3])
        out = []
        index: dict[int, str] = {}
        pos = 0
        for _ in range(0xFFFF):
            if pos + 16 > size:
                break
            _ver, cnt, vn_file, aux, nxt = struct.unpack_from(
                e + "HHIII", self.slice(base + pos, 16)
            )
            names = []
            apos = pos + aux
            for _j in range(cnt):
                _h, _fl, other, vna_name, vna_next = struct.unpack_from(
                    e + "IHHII", self.slice(base + apos, 16)
                )
                vname = self.cstr(strtab, vna_name)
                names.append(vname)
                index[other & 0x7FFF] = vname
                if not vna_next:
                    break
                apos += vna_next
            out.append(VersionNeed(self.cstr(strtab, vn_file), tuple(names)))
            if not nxt:
                break
            pos += nxt
        return tuple(out), index


def dyn_has_verdef(shdrs: list[tuple[int, int, int, int, int, int]]) -> bool:
    """A library that defines version nodes is a library even when it has an interpreter."""
    return any(s[0] == SHT_GNU_VERDEF for s in shdrs)


@dataclass(frozen=True, slots=True)
class ElfIdentity:
    """The ELF header's class, byte order and machine: what an architecture check needs."""

    elf_class: int  # 32 or 64
    endian: str  # "little" or "big"
    machine: str


def read_identity(head: bytes, *, name: str = "<memory>") -> ElfIdentity:
    """Class, byte order and machine from the first 20 bytes of an ELF file."""
    if len(head) < 20 or head[:4] != ELF_MAGIC:
        raise FormatError("not an ELF file (bad magic or shorter than its header)", subject=name)
    ei_class, ei_data = head[4], head[5]
    if ei_class not in (1, 2) or ei_data not in (1, 2):
        raise FormatError(f"unknown ELF class {ei_class} or byte order {ei_data}", subject=name)
    endian: Literal["little", "big"] = "little" if ei_data == 1 else "big"
    e_machine = int.from_bytes(head[18:20], endian)
    machine = MACHINES.get(e_machine, f"machine-{e_machine}")
    return ElfIdentity(32 if ei_class == 1 else 64, endian, machine)
