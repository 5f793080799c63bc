"""The dashboard tests' fixtures, registered once for the folder so that the workspace is
built and the server started once per session (see web_fixtures.py)."""

from web_fixtures import served_fixture, web_workspace_fixture

__all__ = ["served_fixture", "web_workspace_fixture"]
