"""abi layer: package, ELF-symbol and DWARF-type comparison.

The pipeline calls :func:`compare_packages` for one pair and :func:`compare_trees` for two
distributions; both return result models that render to every report format.
"""

from elforge.abi.compare import CompareOptions, CompareResult, compare_pairs, compare_trees
from elforge.abi.diff import AbiDiffResult, DiffOptions, PackageSet, compare_packages

__all__ = [
    "AbiDiffResult",
    "CompareOptions",
    "CompareResult",
    "DiffOptions",
    "PackageSet",
    "compare_packages",
    "compare_pairs",
    "compare_trees",
]
