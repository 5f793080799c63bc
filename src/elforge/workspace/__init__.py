"""Workspaces: a folder with ``elforge.toml``, the store, mirrors and artifacts."""
