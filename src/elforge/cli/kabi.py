"""``elforge kabi``: kernel ABI diff between two kernels, kmod compatibility check."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from elforge.cli.common import FormatOption, KeyringOption, OutputOption, emit
from elforge.kabi.check import check_kmods
from elforge.kabi.diff import diff_kabi
from elforge.report.render import OutputFormat
from elforge.rpm.verify import verify_rpms

app = typer.Typer(
    help="Kernel ABI: stablelists, symvers and kmod compatibility.", no_args_is_help=True
)

StablelistOption = Annotated[
    Path | None,
    typer.Option(
        "--stablelist",
        help="kabi_stablelist_<arch> (or kabi_whitelist_, Module.kabi_<arch>), or a directory "
        "of them such as /lib/modules/kabi-current.",
    ),
]
ArchOption = Annotated[
    str | None,
    typer.Option("--arch", help="Architecture to compare when the inputs hold several."),
]


@app.command("diff")
def diff(
    old: Annotated[
        Path, typer.Argument(help="Old Module.symvers/Module.kabi file, kernel RPM or directory.")
    ],
    new: Annotated[Path, typer.Argument(help="New one, of the same kind or another.")],
    stablelist: StablelistOption = None,
    arch: ArchOption = None,
    keyring: KeyringOption = None,
    fmt: FormatOption = OutputFormat.text,
    output: OutputOption = None,
) -> None:
    """Removed, added, CRC-changed, moved and export-changed kernel symbols.

    Exit bits: 1 error, 2 usage, 4 change, 8 incompatible change (a stablelisted symbol
    removed or its CRC changed).
    """
    verify_rpms([old, new], keyring)
    result = diff_kabi(old, new, stablelist=stablelist, arch=arch)
    emit(result.document(), fmt, output)
    raise typer.Exit(result.exit_code)


@app.command("check")
def check(
    kernel: Annotated[
        Path,
        typer.Option("--kernel", help="Kernel RPM, Module.symvers file or directory."),
    ],
    kmod: Annotated[
        list[Path],
        typer.Option("--kmod", help="kmod RPM (repeat for several)."),
    ],
    stablelist: StablelistOption = None,
    arch: ArchOption = None,
    keyring: KeyringOption = None,
    fmt: FormatOption = OutputFormat.text,
    output: OutputOption = None,
) -> None:
    """Do the kmods' kernel(symbol) = 0xCRC requirements match the kernel's provides?

    Exit bits: 1 a kmod could not be read, 2 usage, 4 risk (symbols outside the
    stablelist), 8 incompatible (a symbol missing or its CRC different).
    """
    verify_rpms([kernel, *kmod], keyring)
    result = check_kmods(kernel, kmod, stablelist=stablelist, arch=arch)
    emit(result.document(), fmt, output)
    raise typer.Exit(result.exit_code)
