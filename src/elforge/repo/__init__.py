"""repo layer."""
