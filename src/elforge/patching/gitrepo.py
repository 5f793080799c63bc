"""Commit a patched package to its git repository: the patched branch and the
``changed/<branch>/<nvr>`` tag, with reasons and changelog lines in the message.

The upstream checkout is never touched: the config is applied in a temporary
``git worktree`` of the upstream commit, and the commit is made with plumbing
(``write-tree``/``commit-tree``/``update-ref``), its parents being the previous patched
commit (if any) and the upstream commit.
"""

from __future__ import annotations

import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

from elforge.errors import ToolError
from elforge.patching.engine import apply_config
from elforge.patching.outcome import PatchOutcome
from elforge.patching.spec import find_spec, query_evr
from elforge.proc import run_command

_IDENTITY = {
    "GIT_AUTHOR_NAME": "elforge",
    "GIT_AUTHOR_EMAIL": "elforge@localhost",
    "GIT_COMMITTER_NAME": "elforge",
    "GIT_COMMITTER_EMAIL": "elforge@localhost",
}


def git(repo: Path, *args: str, check: bool = True, input_text: str | None = None) -> str:
    env = {**_IDENTITY, **os.environ}
    res = run_command(
        ["git", "-C", str(repo), *args],
        capture_output=True,
        text=True,
        env=env,
        input=input_text,
        check=False,
    )
    if check and res.returncode != 0:
        raise ToolError(f"git {' '.join(args)}: {res.stderr.strip()}", subject=repo)
    return res.stdout.strip()


def is_repo(path: Path) -> bool:
    return (path / ".git").exists()


def ref_commit(repo: Path, ref: str) -> str | None:
    out = git(repo, "rev-parse", "--verify", "-q", f"{ref}^{{commit}}", check=False)
    return out or None


def safe_ref(text: str) -> str:
    """Characters git refuses in ref names (~ ^ : ? * [ \\ space) become '_'."""
    return re.sub(r"[~^:?*\[\\\s]", "_", text)


def tag_name(branch: str, nvr: str) -> str:
    return f"changed/{branch}/{safe_ref(nvr)}"


def next_iteration(repo: Path, branch: str, name_vr: str) -> int | None:
    """The next release-suffix iteration after the tags already made for this upstream VR."""
    prefix = f"changed/{branch}/{safe_ref(name_vr)}"
    best = 0
    for tag in git(repo, "tag", "--list", f"{prefix}*").splitlines():
        m = re.search(r"\.(\d+)$", tag)
        if m:
            best = max(best, int(m[1]))
    return best + 1 if best else None


def commit_message(outcome: PatchOutcome, nvr: str, upstream: str) -> str:
    lines = [f"Patch {nvr} for the rebuild", ""]
    if outcome.commit_lines:
        lines.append("Changelog:")
        lines += [f"- {x.lstrip('- ')}" for x in outcome.commit_lines]
        lines.append("")
    lines.append("Reasons:")
    for a in outcome.actions:
        if a.changed:
            text = f": {a.reason}" if a.reason else ""
            lines.append(f"- {a.action} [{a.category}]{text} ({', '.join(a.files) or '-'})")
    lines += ["", f"Upstream: {upstream}", f"Config: {outcome.config} ({outcome.config_format})"]
    return "\n".join(lines) + "\n"


@dataclass
class CommitResult:
    commit: str | None
    tag: str | None
    note: str


def patch_repository(
    repo: Path,
    config: Path,
    *,
    branch: str,
    upstream_ref: str = "HEAD",
    config_format: str = "auto",
    release: str | None = None,
    dist: str | None = None,
    apply_check: bool = True,
    allow_scripts: bool = False,
) -> tuple[PatchOutcome, CommitResult]:
    """Apply the config to ``upstream_ref`` and commit the result to ``branch``."""
    upstream = ref_commit(repo, upstream_ref)
    if upstream is None:
        raise ToolError(f"no commit '{upstream_ref}'", subject=repo)
    with tempfile.TemporaryDirectory(prefix="elforge-wt-") as tmp:
        wt = Path(tmp) / "wt"
        git(repo, "worktree", "add", "--detach", "-q", str(wt), upstream)
        try:
            spec = find_spec(wt)
            upstream_vr = query_evr(spec, dist=dist, sourcedir=wt).split(":", 1)[-1]
            hint = next_iteration(repo, branch, f"{spec.stem}-{upstream_vr}")
            outcome = apply_config(
                wt,
                config,
                config_format=config_format,
                apply_check=apply_check,
                allow_scripts=allow_scripts,
                release=release,
                release_number_hint=hint,
                dist=dist,
            )
            outcome.upstream = f"{spec.stem}-{upstream_vr} ({upstream[:12]})"
            if outcome.status != "patched":
                return outcome, CommitResult(None, None, f"not committed ({outcome.status})")
            nvr = (
                f"{spec.stem}-"
                + query_evr(find_spec(wt), dist=dist, sourcedir=wt).split(":", 1)[-1]
            )
            git(wt, "add", "-A")
            tree = git(wt, "write-tree")
            previous = ref_commit(repo, f"refs/heads/{branch}")
            if previous is not None and git(repo, "rev-parse", f"{previous}^{{tree}}") == tree:
                return outcome, CommitResult(previous, None, "already up to date")
            parents = ["-p", previous] if previous else []
            if previous != upstream:
                parents += ["-p", upstream]
            message = commit_message(outcome, nvr, upstream)
            commit = git(repo, "commit-tree", tree, *parents, "-F", "-", input_text=message)
            git(repo, "update-ref", f"refs/heads/{branch}", commit)
            tag = tag_name(branch, nvr)
            git(repo, "tag", "-a", "-f", tag, "-F", "-", commit, input_text=message)
            return outcome, CommitResult(commit, tag, f"committed to {branch}")
        finally:
            git(repo, "worktree", "remove", "--force", str(wt), check=False)
