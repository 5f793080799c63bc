"""``elforge abi``: compare the ABI of two packages (``diff``) or two trees (``compare``)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from elforge.abi.compare import (
    CompareOptions,
    compare_pairs,
    compare_trees,
    is_repository,
    read_pairs_file,
)
from elforge.abi.diff import DiffOptions, PackageSet, compare_packages
from elforge.abi.snapshot import SnapshotCache, default_cache_dir
from elforge.cli.common import (
    CandidateKeyOption,
    FormatOption,
    KeyringOption,
    MaxRatioOption,
    OutputOption,
    ReferenceKeyOption,
    emit,
    progress,
)
from elforge.report.render import OutputFormat

app = typer.Typer(
    help="ABI comparison: packages, ELF symbols and DWARF types.", no_args_is_help=True
)

TypesOption = Annotated[
    str,
    typer.Option("--types", help="Type layer (abidiff with debuginfo): auto, on or off."),
]
CacheDirOption = Annotated[
    Path | None,
    typer.Option("--cache-dir", help="Snapshot cache directory (default ~/.cache/elforge/abi)."),
]
NoCacheOption = Annotated[bool, typer.Option("--no-cache", help="Do not read or write snapshots.")]
SuppressionsOption = Annotated[
    list[Path] | None,
    typer.Option("--suppressions", "--suppr", help="libabigail suppression file (repeatable)."),
]
NoDefaultSuppressionOption = Annotated[
    bool,
    typer.Option(
        "--no-default-suppression",
        help="Do not load elforge's default suppressions (private version nodes).",
    ),
]


def _cache(cache_dir: Path | None, no_cache: bool) -> SnapshotCache | None:
    if no_cache:
        return None
    return SnapshotCache((cache_dir or default_cache_dir()) / "snapshots")


def _check_types(types: str) -> str:
    if types not in ("auto", "on", "off"):
        raise typer.BadParameter("--types must be auto, on or off")
    return types


@app.command("diff")
def diff(
    old: Annotated[
        Path, typer.Argument(help="Old (reference) package: RPM, directory or tarball.")
    ],
    new: Annotated[
        Path, typer.Argument(help="New (candidate) package: RPM, directory or tarball.")
    ],
    debuginfo1: Annotated[
        list[Path] | None,
        typer.Option("--debuginfo1", "--d1", help="Debuginfo package of OLD (repeatable)."),
    ] = None,
    debuginfo2: Annotated[
        list[Path] | None,
        typer.Option("--debuginfo2", "--d2", help="Debuginfo package of NEW (repeatable)."),
    ] = None,
    devel1: Annotated[
        list[Path] | None,
        typer.Option(
            "--devel1", help="Devel package of OLD: only its public headers' types count."
        ),
    ] = None,
    devel2: Annotated[
        list[Path] | None, typer.Option("--devel2", help="Devel package of NEW.")
    ] = None,
    suppressions: SuppressionsOption = None,
    no_default_suppression: NoDefaultSuppressionOption = False,
    public_dso_only: Annotated[
        bool,
        typer.Option(
            "--public-dso-only",
            help="As abipkgdiff: skip DSOs whose SONAME the RPM does not provide.",
        ),
    ] = False,
    dso_only: Annotated[
        bool, typer.Option("--dso-only", help="Compare shared objects only (as abipkgdiff).")
    ] = False,
    private_dso: Annotated[
        bool,
        typer.Option("--private-dso", help="Accepted for abipkgdiff compatibility: the default."),
    ] = False,
    no_abignore: Annotated[
        bool,
        typer.Option("--no-abignore", help="Ignore *.abignore files shipped in the packages."),
    ] = False,
    types: TypesOption = "auto",
    cache_dir: CacheDirOption = None,
    no_cache: NoCacheOption = False,
    max_elf_size: Annotated[
        int,
        typer.Option("--max-elf-size", min=1, help="Largest ELF file read (bytes; 1 GiB)."),
    ] = 1 << 30,
    max_ratio: MaxRatioOption = 200,
    keyring: KeyringOption = None,
    fmt: FormatOption = OutputFormat.text,
    output: OutputOption = None,
) -> None:
    """Compare the ABI of two packages. Exit bits: 1 error, 2 usage, 4 ABI change, 8
    incompatible change, 16 findings to verify, 32 package-layer change."""
    from elforge.abi.payload import configure_limits

    configure_limits(max_elf=max_elf_size, max_ratio=max_ratio)
    _check_types(types)
    for p in (old, new):
        if not p.exists():
            raise typer.BadParameter(f"{p}: no such file or directory")
    options = DiffOptions(
        suppression_files=list(suppressions or []),
        default_suppressions=not no_default_suppression,
        types=types,
        cache=_cache(cache_dir, no_cache),
        public_dsos_only=public_dso_only and not private_dso,
        dso_only=dso_only,
        abignore=not no_abignore,
        keyring=keyring,
    )
    result = compare_packages(
        PackageSet(old, list(debuginfo1 or []), list(devel1 or [])),
        PackageSet(new, list(debuginfo2 or []), list(devel2 or [])),
        options,
    )
    emit(result.to_document(), fmt, output)
    raise typer.Exit(result.exit_code)


@app.command("compare")
def compare(
    reference: Annotated[
        str | None,
        typer.Option(
            "--reference",
            help="Reference: a directory of RPMs (recursive) or a repository (path or URL).",
        ),
    ] = None,
    candidate: Annotated[
        str | None,
        typer.Option("--candidate", help="Candidate: a directory of RPMs or a repository."),
    ] = None,
    pairs: Annotated[
        Path | None,
        typer.Option(
            "--pairs",
            help="Instead of two trees: explicit pairs, OLD<TAB>NEW[<TAB>D1,..<TAB>D2,..] a line.",
        ),
    ] = None,
    jobs: Annotated[int, typer.Option("--jobs", "-j", min=1, help="Worker processes.")] = max(
        1, os.cpu_count() or 1
    ),
    suppressions: SuppressionsOption = None,
    no_default_suppression: NoDefaultSuppressionOption = False,
    types: TypesOption = "auto",
    cache_dir: CacheDirOption = None,
    no_cache: NoCacheOption = False,
    keyring: KeyringOption = None,
    reference_key: ReferenceKeyOption = None,
    candidate_key: CandidateKeyOption = None,
    fmt: FormatOption = OutputFormat.text,
    output: OutputOption = None,
) -> None:
    """Compare every package of a candidate tree with its reference counterpart (paired by
    name and arch). Exit bits as ``abi diff``, OR-ed over all pairs; a package missing from
    the candidate counts as an incompatible change."""
    _check_types(types)
    if pairs is None:
        if reference is None or candidate is None:
            raise typer.BadParameter("give --reference and --candidate, or --pairs FILE")
        for p in (reference, candidate):
            if not (is_repository(p) or Path(p).is_dir()):
                raise typer.BadParameter(f"{p}: not a directory of RPMs nor a repository")
    elif reference is not None or candidate is not None:
        raise typer.BadParameter("--pairs replaces --reference/--candidate")
    options = CompareOptions(
        diff=DiffOptions(
            suppression_files=list(suppressions or []),
            default_suppressions=not no_default_suppression,
            types=types,
            keyring=keyring,
        ),
        jobs=jobs,
        cache_dir=None if no_cache else (cache_dir or default_cache_dir()),
        reference_key=reference_key,
        candidate_key=candidate_key,
    )
    if pairs is not None:
        result = compare_pairs(read_pairs_file(pairs), options, progress(), label=str(pairs))
    else:
        assert reference is not None and candidate is not None
        result = compare_trees(reference, candidate, options, progress())
    emit(result.to_document(), fmt, output)
    raise typer.Exit(result.exit_code)
