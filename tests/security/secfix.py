"""Builders for synthetic security fixtures: OSV records, CSAF documents, a git-kept feed."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

from helpers import require_tool


def osv_record(
    ident: str,
    published: str,
    *,
    cves: list[str],
    packages: dict[str, str],
    severity: str = "Important",
    ecosystem: str = "AlmaLinux:8",
    reference: str | None = None,
) -> dict[str, Any]:
    refs = [{"type": "ADVISORY", "url": f"https://access.redhat.com/errata/{reference}"}]
    return {
        "id": ident,
        "summary": f"{severity}: synthetic update",
        "published": published,
        "modified": published,
        "related": cves,
        "details": "synthetic",
        "affected": [
            {
                "package": {"ecosystem": ecosystem, "name": name},
                "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": evr}]}],
            }
            for name, evr in packages.items()
        ],
        "references": refs if reference else [],
    }


def csaf_advisory(
    ident: str,
    fix_date: str,
    *,
    cves: dict[str, str],
    packages: list[str],
    product: str = "AppStream-8.10.0.Z.MAIN",
    severity: str = "Important",
    status: str = "fixed",
    category: str = "csaf_security_advisory",
) -> dict[str, Any]:
    """A CSAF document in Red Hat's layout; ``packages`` are ``name-epoch:version-release.arch``."""
    pids = [f"{product}:{p}" for p in packages]
    return {
        "document": {
            "category": category,
            "aggregate_severity": {"text": severity},
            "title": f"synthetic {ident}",
            "tracking": {"id": ident, "initial_release_date": fix_date, "status": "final"},
        },
        "product_tree": {
            "branches": [
                {
                    "category": "vendor",
                    "name": "Red Hat",
                    "branches": [
                        {
                            "category": "product_name",
                            "name": "RHEL",
                            "product": {"name": "RHEL AppStream", "product_id": product},
                        },
                    ],
                }
            ],
            "relationships": [
                {
                    "category": "default_component_of",
                    "full_product_name": {"name": p, "product_id": f"{product}:{p}"},
                    "product_reference": p,
                    "relates_to_product_reference": product,
                }
                for p in packages
            ],
        },
        "vulnerabilities": [
            {
                "cve": cve,
                "threats": [{"category": "impact", "details": sev}],
                "product_status": {status: pids},
                "remediations": (
                    [
                        {
                            "category": "vendor_fix",
                            "date": fix_date,
                            "product_ids": pids,
                            "url": f"https://access.redhat.com/errata/{ident}",
                        }
                    ]
                    if status == "fixed"
                    else [{"category": "none_available", "product_ids": pids}]
                ),
            }
            for cve, sev in cves.items()
        ],
    }


def write_json(path: Path, doc: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, indent=1), "utf-8")
    return path


def git_commit(repo: Path, message: str, when: str) -> None:
    """Commit everything in ``repo`` with author and committer time ``when`` (ISO 8601)."""
    require_tool("git")
    env = {
        **os.environ,
        "GIT_AUTHOR_DATE": when,
        "GIT_COMMITTER_DATE": when,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.org",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.org",
    }
    if not (repo / ".git").exists():
        subprocess.run(["git", "init", "-q", str(repo)], check=True, env=env)
    subprocess.run(["git", "-C", str(repo), "add", "-A"], check=True, env=env)
    subprocess.run(
        ["git", "-C", str(repo), "commit", "-q", "--allow-empty", "-m", message],
        check=True,
        env=env,
    )
