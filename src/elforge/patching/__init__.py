"""patching layer."""
