"""elforge: rebuild an Enterprise Linux from public sources and prove it compatible."""

__version__ = "0.1.0"
