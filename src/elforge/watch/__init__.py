"""Upstream watching: poll, rebuild what changed, publish, write errata, notify."""
