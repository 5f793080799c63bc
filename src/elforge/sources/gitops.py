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

from elforge.errors import ElforgeError, FetchError, FormatError, ToolError
from elforge.proc import LoggedPopen, run_command

_SHA = re.compile(r"^[0-9a-f]{40}([0-9a-f]{24})?$")
IDENTITY = {
    "GIT_AUTHOR_NAME": "elforge import",
    "GIT_AUTHOR_EMAIL": "elforge@localhost",
    "GIT_COMMITTER_NAME": "elforge import",
    "GIT_COMMITTER_EMAIL": "elforge@localhost",
}


# Variables that would point git at another repository, index or identity (say, when
# elforge runs inside a git hook). Transport settings (proxies, CA files, GIT_SSH) are kept.
_REPO_VARS = frozenset({
    "GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY",
    "GIT_ALTERNATE_OBJECT_DIRECTORIES", "GIT_COMMON_DIR", "GIT_NAMESPACE", "GIT_PREFIX",
    "GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL", "GIT_AUTHOR_DATE",
    "GIT_COMMITTER_NAME", "GIT_COMMITTER_EMAIL", "GIT_COMMITTER_DATE",
})  # fmt: skip
# Content must reach the mirror byte for byte, whatever the user's git config says.
_CONTENT_CONFIG = ("-c", "core.autocrlf=false", "-c", "core.safecrlf=false")


def _env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _REPO_VARS}
    env.update(
        {
            "GIT_TERMINAL_PROMPT": "0",  # never wait for a password on a terminal
            "GIT_SSH_COMMAND": os.environ.get("GIT_SSH_COMMAND", "ssh -o BatchMode=yes"),
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
        proc = run_command(
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
        raise error(f"git {args[0]} failed: {git_message(proc.stderr, proc.returncode)}",
                    subject=subject)  # fmt: skip
    return proc.stdout


def git_message(stderr: str, returncode: int) -> str:
    """git's own reason: its first ``fatal:``/``error:`` line (the lines after it are advice,
    such as "Please make sure you have the correct access rights"), else its last line."""
    lines = [ln.strip() for ln in stderr.splitlines() if ln.strip()]
    reasons = [ln for ln in lines if ln.startswith(("fatal:", "error:"))]
    text = reasons[0] if reasons else (lines[-1] if lines else f"exit code {returncode}")
    return text[:300]


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
    """Write the files of ``commit`` of ``url`` into the new folder ``dest``, byte for byte.

    Returns the commit time. The objects go to a bare repository next to ``dest``.
    """
    repo = dest.with_name(dest.name + ".git")
    git("init", "-q", "--bare", str(repo), subject=subject)
    at = f"--git-dir={repo}"
    try:
        git(at, "fetch", "-q", "--depth", "1", "--", url, commit, subject=subject, error=FetchError)
    except FetchError:
        # Servers that cannot fetch by id or shallow (the dumb HTTP protocol, or
        # uploadpack.allowReachableSHA1InWant off): fetch branches and tags instead.
        git(at, "fetch", "-q", "--tags", "--", url, "+refs/heads/*:refs/remotes/up/*",
            subject=subject, error=FetchError)  # fmt: skip
    when = int(git(at, "log", "-1", "--format=%ct", commit, subject=subject).strip())
    dest.mkdir(parents=True)
    export_tree(repo, commit, dest, subject=subject)
    return when


def _safe_tree_path(path: str, *, subject: str) -> str:
    parts = path.split("/")
    if any(p in ("", ".", "..") or p.lower() == ".git" for p in parts):
        raise FormatError(f"unsafe path {path!r} in the git tree", subject=subject)
    return path


def export_tree(git_dir: Path, ref: str, dest: Path, *, subject: str) -> None:
    """Write every file of ``ref`` into ``dest`` exactly as stored.

    Unlike ``git checkout`` this applies no ``.gitattributes``, filters or line-ending
    conversion, so what the importer reads is what upstream committed. Symbolic links are
    written as links (the layout step refuses them where it matters); submodules are skipped.
    """
    listing = _run_bytes(["ls-tree", "-r", "-z", "--full-tree", ref], git_dir, subject)
    entries: list[tuple[str, str, str]] = []
    for item in listing.split(b"\0"):
        if not item:
            continue
        meta, _, raw_path = item.partition(b"\t")
        mode, kind, sha = meta.decode().split()
        path = _safe_tree_path(os.fsdecode(raw_path), subject=subject)
        if kind == "blob":
            entries.append((mode, sha, path))
    if not entries:
        return
    proc = LoggedPopen(
        ["git", f"--git-dir={git_dir}", "cat-file", "--batch"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=_env(),
    )  # fmt: skip
    assert proc.stdin is not None and proc.stdout is not None
    try:
        for mode, sha, path in entries:
            proc.stdin.write(sha.encode() + b"\n")
            proc.stdin.flush()
            header = proc.stdout.readline().split()
            if len(header) != 3 or header[1] != b"blob":
                raise ToolError(f"git cat-file cannot read {path}", subject=subject)
            data = proc.stdout.read(int(header[2]))
            proc.stdout.read(1)  # the newline after each object
            target = dest / path
            target.parent.mkdir(parents=True, exist_ok=True)
            if mode == "120000":
                os.symlink(os.fsdecode(data), target)
                continue
            target.write_bytes(data)
            if mode == "100755":
                target.chmod(0o755)
    finally:
        proc.stdin.close()
        proc.wait()


def _run_bytes(args: list[str], git_dir: Path, subject: str) -> bytes:
    proc = run_command(
        ["git", f"--git-dir={git_dir}", *args], env=_env(), capture_output=True, check=False
    )
    if proc.returncode != 0:
        lines = proc.stderr.decode(errors="replace").strip().splitlines()
        raise ToolError(f"git {args[0]} failed: {lines[-1] if lines else proc.returncode}",
                        subject=subject)  # fmt: skip
    return proc.stdout


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
        return git(*_CONTENT_CONFIG, f"--git-dir={self.path}", *args, subject=self.name, **kw)  # type: ignore[arg-type]

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
        args = ["commit-tree", "--no-gpg-sign", tree, "-F", "-"]
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
        """Write the tree of ``ref`` into ``dest`` (a folder that exists), byte for byte."""
        export_tree(self.path, ref, dest, subject=self.name)
