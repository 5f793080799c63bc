"""rpm layer."""
