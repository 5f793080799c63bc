"""kabi layer."""
