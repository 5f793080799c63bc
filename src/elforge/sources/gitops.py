"""Git plumbing for imports: reading remotes and writing the local mirror.

Everything goes through the ``git`` command line (https, ssh and file remotes alike). The
mirror is written with plumbing only (a private index, ``write-tree``, ``commit-tree``) and
its refs change in one ``update-ref --stdin`` transaction at the very end, so a failed import
leaves at most unreachable objects behind, never a moved branch or a dangling tag.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from elforge.errors import ElforgeError, FetchError, ToolError

_SHA = re.compile(r"^[0-9a-f]{40}([0-9a-f]{24})?$")
IDENTITY = {
    "GIT_AUTHOR_NAME": "elforge import",
    "GIT_AUTHOR_EMAIL": "elforge@localhost",
    "GIT_COMMITTER_NAME": "elforge import",
    "GIT_COMMITTER_EMAIL": "elforge@localhost",
}


def _env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(
        {
            "GIT_TERMINAL_PROMPT": "0",  # never wait for a password on a terminal
            "GIT_SSH_COMMAND": os.environ.get("GIT_SSH_COMMAND", "ssh -o BatchMode=yes"),
            "GIT_CONFIG_NOSYSTEM": "1",
            "LC_ALL": "C",
        }
    )
    env.update(extra or {})
    return env


def git(
    *args: str,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    input: str | None = None,
    subject: str,
    error: type[ElforgeError] = ToolError,
    timeout: float = 600,
) -> str:
    """Run git; a failure raises ``error`` naming ``subject`` and git's own last line."""
    try:
        proc = subprocess.run(
            ["git", *args],
            cwd=cwd,
            env=_env(env),
            input=input,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except FileNotFoundError:
        raise ToolError("git is not installed", subject=subject) from None
    except subprocess.TimeoutExpired:
        raise error(f"git {args[0]} timed out after {timeout:.0f}s", subject=subject) from None
    if proc.returncode != 0:
        lines = [ln for ln in proc.stderr.strip().splitlines() if ln.strip()]
        detail = lines[-1] if lines else f"exit code {proc.returncode}"
        raise error(f"git {args[0]} failed: {detail}", subject=subject)
    return proc.stdout


def remote_commit(url: str, branch: str, *, subject: str) -> str:
    """The commit a remote branch (or tag) points at, through ``git ls-remote``."""
    out = git(
        "ls-remote",
        "--",
        url,
        f"refs/heads/{branch}",
        f"refs/tags/{branch}^{{}}",
        f"refs/tags/{branch}",
        subject=subject,
        error=FetchError,
        timeout=120,
    )
    refs: dict[str, str] = {}
    for line in out.splitlines():
        sha, sep, ref = line.partition("\t")
        if sep:
            refs[ref] = sha
    for ref in (f"refs/heads/{branch}", f"refs/tags/{branch}^{{}}", f"refs/tags/{branch}"):
        if ref in refs and _SHA.match(refs[ref]):
            return refs[ref]
    raise FetchError(f"{url}: no branch or tag {branch!r}", subject=subject)


def fetch_tree(url: str, commit: str, dest: Path, *, subject: str) -> int:
    """Check out ``commit`` of ``url`` into the new folder ``dest``; returns its commit time."""
    dest.mkdir(parents=True)
    git("init", "-q", str(dest), subject=subject)
    try:
        git("fetch", "-q", "--depth", "1", "--", url, commit, cwd=dest, subject=subject,
            error=FetchError)  # fmt: skip
    except FetchError:
        # Servers that refuse fetching by id (uploadpack.allowReachableSHA1InWant off):
        # fetch all branches and tags, then check the commit is there.
        git("fetch", "-q", "--tags", "--", url, "+refs/heads/*:refs/remotes/up/*", cwd=dest,
            subject=subject, error=FetchError)  # fmt: skip
    git("-c", "advice.detachedHead=false", "checkout", "-q", commit, cwd=dest, subject=subject)
    return int(git("log", "-1", "--format=%ct", commit, cwd=dest, subject=subject).strip())


@dataclass(frozen=True)
class TipInfo:
    commit: str
    tree: str
    trailers: dict[str, str]


class Mirror:
    """The bare mirror repository of one package."""

    def __init__(self, path: Path, name: str) -> None:
        self.path = path
        self.name = name

    def _git(self, *args: str, **kw: object) -> str:
        return git(f"--git-dir={self.path}", *args, subject=self.name, **kw)  # type: ignore[arg-type]

    @classmethod
    def init(cls, path: Path, name: str) -> Mirror:
        git("init", "-q", "--bare", str(path), subject=name)
        return cls(path, name)

    def exists(self) -> bool:
        return (self.path / "HEAD").is_file()

    def resolve(self, ref: str) -> str | None:
        try:
            return self._git("rev-parse", "-q", "--verify", f"{ref}^{{commit}}").strip()
        except ToolError:
            return None

    def tip(self, branch: str) -> TipInfo | None:
        commit = self.resolve(f"refs/heads/{branch}")
        if commit is None:
            return None
        out = self._git("show", "-s", "--format=%T%n%B", commit)
        tree, _, body = out.partition("\n")
        trailers: dict[str, str] = {}
        for line in body.splitlines():
            key, sep, value = line.partition(": ")
            if sep and key and " " not in key:
                trailers[key] = value.strip()
        return TipInfo(commit, tree.strip(), trailers)

    def show(self, ref: str, path: str) -> str:
        """The text of ``path`` in ``ref``."""
        return self._git("show", f"{ref}:{path}")

    def tags(self, prefix: str) -> set[str]:
        out = self._git("for-each-ref", "--format=%(refname)", prefix)
        return set(out.split())

    def write_tree(self, worktree: Path, index: Path) -> str:
        env = {"GIT_INDEX_FILE": str(index), "GIT_WORK_TREE": str(worktree)}
        self._git("add", "-A", "--force", ".", cwd=worktree, env=env)
        return self._git("write-tree", env=env).strip()

    def commit_tree(self, tree: str, parent: str | None, message: str, when: int) -> str:
        args = ["commit-tree", tree, "-F", "-"]
        if parent:
            args[2:2] = ["-p", parent]
        env = {
            **IDENTITY,
            "GIT_AUTHOR_DATE": f"{when} +0000",
            "GIT_COMMITTER_DATE": f"{when} +0000",
        }
        return self._git(*args, env=env, input=message).strip()

    def update_refs(self, branch: str, new: str, old: str | None, tag: str) -> None:
        """Move the branch and create the tag in one transaction (all or nothing)."""
        zero = "0" * 40
        script = (
            "start\n"
            f"update refs/heads/{branch} {new} {old or zero}\n"
            f"create refs/tags/{tag} {new}\n"
            "prepare\ncommit\n"
        )
        self._git("update-ref", "--stdin", input=script)

    def changed_paths(self, old_tree: str, new_tree: str) -> set[str]:
        out = self._git("diff-tree", "-r", "--name-only", "--no-renames", old_tree, new_tree)
        return set(out.split("\n")) - {""}

    def archive(self, ref: str, dest: Path) -> None:
        """Write the tree of ``ref`` into ``dest`` (a folder that exists)."""
        env = {"GIT_INDEX_FILE": str(dest / ".elforge-checkout-index"), "GIT_WORK_TREE": str(dest)}
        try:
            self._git("read-tree", ref, env=env)
            self._git("checkout-index", "-a", "-f", env=env)
        finally:
            (dest / ".elforge-checkout-index").unlink(missing_ok=True)
