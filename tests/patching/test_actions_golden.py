"""Golden-file tests: a generated tree, a config, and the exact tree expected afterwards."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from patchkit import config, demo_spec, fixed_date, snapshot, write_tree  # noqa: F401 (autouse fixture)

from elforge.patching import apply_config

CONF = "vendor=CentOS Linux\nurl=https://www.centos.org/\n"
TARBALL_SHA = "ab" * 64
BASE = {
    "demo.spec": demo_spec(),
    "demo.conf": CONF,
    "fix.patch": "--- a/x\n+++ b/x\n@@ -1 +1 @@\n-a\n+b\n",
    "sources": f"SHA512 (demo-1.0.tar.gz) = {TARBALL_SHA}\n",
}
SPEC = BASE["demo.spec"]
NEW_KEY = "-----BEGIN KEY-----\nexample\n-----END KEY-----\n"
R = "reason: {category: branding, text: test}"


def _run(
    tmp_path: Path, body: str, extra: dict[str, str] | None = None
) -> tuple[str, dict[str, str]]:
    tree = write_tree(tmp_path / "tree", dict(BASE))
    cfgdir = tmp_path / "cfg"
    write_tree(cfgdir, extra or {})
    cfg = config(cfgdir / "demo.yaml", "package: demo\nactions:\n" + body)
    outcome = apply_config(tree, cfg, apply_check=False)
    return outcome.status, snapshot(tree)


def _expect(**changes: str | None) -> dict[str, str]:
    out = dict(BASE)
    for key, value in changes.items():
        rel = key.replace("__", "/").replace("_DOT_", ".")
        if value is None:
            out.pop(rel)
        else:
            out[rel] = value
    return out


CASES = [
    (
        "replace-literal-skips-comments-and-changelog",
        f"""
  - action: replace
    files: [spec]
    find: CentOS Linux
    replace: Example Linux
    expect: 2
    {R}
""",
        {},
        _expect(
            demo_DOT_spec=SPEC.replace("by CentOS Linux", "by Example Linux").replace(
                "Demo for CentOS Linux.", "Demo for Example Linux."
            )
        ),
    ),
    (
        "replace-include-comments",
        f"""
  - action: replace
    files: [spec]
    find: CentOS Linux
    replace: Example Linux
    include_comments: true
    expect: 3
    {R}
""",
        {},
        _expect(
            demo_DOT_spec=SPEC.replace("CentOS Linux", "Example Linux").replace(
                "- Built for Example Linux", "- Built for CentOS Linux"
            )
        ),
    ),
    (
        "replace-targeted-comment",
        f"""
  - action: replace
    files: [spec]
    find: "# CentOS Linux keeps"
    replace: "# Example Linux keeps"
    expect: 1
    {R}
""",
        {},
        _expect(demo_DOT_spec=SPEC.replace("# CentOS Linux keeps", "# Example Linux keeps")),
    ),
    (
        "replace-regex",
        rf"""
  - action: replace
    files: [spec]
    find: '^(Release:\s+)3'
    replace: '\g<1>4'
    regex: true
    expect: 1
    {R}
""",
        {},
        _expect(demo_DOT_spec=SPEC.replace("Release:        3", "Release:        4")),
    ),
    (
        "replace-count-limit",
        f"""
  - action: replace
    files: [spec]
    find: CentOS Linux
    replace: Example Linux
    count: 1
    expect: 1
    {R}
""",
        {},
        _expect(demo_DOT_spec=SPEC.replace("by CentOS Linux", "by Example Linux")),
    ),
    (
        "replace-glob-in-sources",
        f"""
  - action: replace
    files: ["*.conf"]
    find: centos.org
    replace: example.invalid
    expect: "1..2"
    {R}
""",
        {},
        _expect(demo_DOT_conf=CONF.replace("centos.org", "example.invalid")),
    ),
    (
        "delete-line",
        f"""
  - action: delete_line
    files: [spec]
    lines: ["mkdir -p %{{buildroot}}/etc"]
    expect: 1
    {R}
""",
        {},
        _expect(demo_DOT_spec=SPEC.replace("mkdir -p %{buildroot}/etc\n", "")),
    ),
    (
        "add-line-top-of-build",
        f"""
  - action: add_line
    section: build
    location: top
    content: "export EXAMPLE=1"
    {R}
""",
        {},
        _expect(demo_DOT_spec=SPEC.replace("%build\n", "%build\nexport EXAMPLE=1\n")),
    ),
    (
        "add-line-bottom-of-preamble",
        f"""
  - action: add_line
    section: global
    location: bottom
    content: "Provides: example-demo"
    {R}
""",
        {},
        _expect(
            demo_DOT_spec=SPEC.replace(
                "Patch0:         fix.patch\n", "Patch0:         fix.patch\nProvides: example-demo\n"
            )
        ),
    ),
    (
        "add-source-auto-number",
        f"""
  - action: add_source
    source: files/KEY
    {R}
""",
        {"files/KEY": NEW_KEY},
        _expect(
            demo_DOT_spec=SPEC.replace(
                "Source1:        demo.conf\n", "Source1:        demo.conf\nSource2:        KEY\n"
            ),
            KEY=NEW_KEY,
        ),
    ),
    (
        "add-source-given-number-and-name",
        f"""
  - action: add_source
    source: files/KEY
    name: RPM-GPG-KEY-example
    number: 100
    {R}
""",
        {"files/KEY": NEW_KEY},
        _expect(
            demo_DOT_spec=SPEC.replace(
                "Source1:        demo.conf\n",
                "Source1:        demo.conf\nSource100:      RPM-GPG-KEY-example\n",
            ),
            **{"RPM-GPG-KEY-example": NEW_KEY},
        ),
    ),
    (
        "remove-source-and-its-tag",
        f"""
  - action: remove_source
    file: demo.conf
    {R}
""",
        {},
        _expect(demo_DOT_spec=SPEC.replace("Source1:        demo.conf\n", ""), demo_DOT_conf=None),
    ),
    (
        "remove-lookaside-source",
        f"""
  - action: remove_source
    file: demo-1.0.tar.gz
    {R}
""",
        {},
        _expect(demo_DOT_spec=SPEC.replace("Source0:        demo-1.0.tar.gz\n", ""), sources=""),
    ),
    (
        "replace-source-inline",
        f"""
  - action: replace_source
    file: demo.conf
    with_inline: "vendor=Example Linux\\n"
    {R}
""",
        {},
        _expect(demo_DOT_conf="vendor=Example Linux\n"),
    ),
    (
        "add-tag-after-same-tag",
        f"""
  - action: add_tag
    tag: Source
    value: nope
    {R}
""",
        {},
        None,  # refused: Source/Patch go through add_source/add_patch
    ),
    (
        "add-tag",
        f"""
  - action: add_tag
    tag: Provides
    value: example-demo = %{{version}}
    {R}
""",
        {},
        _expect(
            demo_DOT_spec=SPEC.replace(
                "Patch0:         fix.patch\n",
                "Patch0:         fix.patch\nProvides: example-demo = %{version}\n",
            )
        ),
    ),
    (
        "release-suffix-auto",
        f"""
  - action: release_suffix
    suffix: .exl
    {R}
""",
        {},
        _expect(demo_DOT_spec=SPEC.replace("3%{?dist}", "3%{?dist}.exl.1")),
    ),
    (
        "release-suffix-literal",
        f"""
  - action: release_suffix
    suffix: .alma.2
    number: none
    {R}
""",
        {},
        _expect(demo_DOT_spec=SPEC.replace("3%{?dist}", "3%{?dist}.alma.2")),
    ),
    (
        "apply-diff",
        f"""
  - action: apply_diff
    diff: change.diff
    expect: 1
    {R}
""",
        {
            "change.diff": "--- a/demo.conf\n+++ b/demo.conf\n@@ -1,2 +1,2 @@\n"
            "-vendor=CentOS Linux\n+vendor=Example Linux\n url=https://www.centos.org/\n"
        },
        _expect(demo_DOT_conf=CONF.replace("vendor=CentOS Linux", "vendor=Example Linux")),
    ),
]


@pytest.mark.parametrize(
    ("body", "extra", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_action_golden(
    tmp_path: Path, body: str, extra: dict[str, str], expected: dict[str, str] | None
) -> None:
    status, tree = _run(tmp_path, body, extra)
    if expected is None:
        assert status == "failed"
        return
    assert status == "patched"
    assert tree == expected


def test_replace_source_updates_lookaside_digest(tmp_path: Path) -> None:
    files = dict(BASE)
    files["sources"] = (
        f"SHA512 (demo-1.0.tar.gz) = {TARBALL_SHA}\nSHA512 (demo.conf) = {'cd' * 64}\n"
    )
    tree = write_tree(tmp_path / "tree", files)
    write_tree(tmp_path / "cfg", {"files/new.conf": "vendor=Example\n"})
    cfg = config(
        tmp_path / "cfg/demo.yaml",
        f"""
        actions:
          - action: replace_source
            file: demo.conf
            with_file: files/new.conf
            {R}
        """,
    )
    assert apply_config(tree, cfg, apply_check=False).status == "patched"
    digest = hashlib.sha512(b"vendor=Example\n").hexdigest()
    assert (tree / "sources").read_text() == (
        f"SHA512 (demo-1.0.tar.gz) = {TARBALL_SHA}\nSHA512 (demo.conf) = {digest}\n"
    )


def test_lookaside_action_moves_file_out_of_git(tmp_path: Path) -> None:
    tree = write_tree(tmp_path / "tree", dict(BASE))
    cfg = config(
        tmp_path / "cfg/demo.yaml",
        f"""
        actions:
          - action: lookaside
            files: [demo.conf]
            expect: 1
            {R}
        """,
    )
    assert apply_config(tree, cfg, apply_check=False).status == "patched"
    digest = hashlib.sha512(CONF.encode()).hexdigest()
    assert (tree / "sources").read_text().splitlines()[-1] == f"SHA512 (demo.conf) = {digest}"
    assert not (tree / "demo.conf").exists()
    assert (tree / ".elforge-lookaside/demo.conf").read_text() == CONF


def test_release_suffix_rerun_bumps_iteration(tmp_path: Path) -> None:
    files = dict(BASE)
    files["demo.spec"] = SPEC.replace("3%{?dist}", "3%{?dist}.exl.1")
    tree = write_tree(tmp_path / "tree", files)
    cfg = config(
        tmp_path / "cfg/demo.yaml",
        f"actions:\n  - action: release_suffix\n    suffix: .exl\n    {R}\n",
    )
    assert apply_config(tree, cfg, apply_check=False).status == "patched"
    assert "Release:        3%{?dist}.exl.2\n" in (tree / "demo.spec").read_text()


@pytest.mark.parametrize(
    ("release", "expected"),
    [
        ("%autorelease", "%{autorelease}.exl.1"),
        ("%{autorelease}", "%{autorelease}.exl.1"),
        ("%autorelease -b 4", "%{autorelease -b 4}.exl.1"),
    ],
)
def test_release_suffix_autorelease(tmp_path: Path, release: str, expected: str) -> None:
    files = dict(BASE)
    files["demo.spec"] = SPEC.replace("3%{?dist}", release)
    tree = write_tree(tmp_path / "tree", files)
    cfg = config(
        tmp_path / "cfg/demo.yaml",
        f"actions:\n  - action: release_suffix\n    suffix: .exl\n    {R}\n",
    )
    assert apply_config(tree, cfg, apply_check=False).status == "patched"
    assert f"Release:        {expected}\n" in (tree / "demo.spec").read_text()


@pytest.mark.system
def test_changelog_entry_takes_evr_from_spec(tmp_path: Path) -> None:
    tree = write_tree(tmp_path / "tree", dict(BASE))
    cfg = config(
        tmp_path / "cfg/demo.yaml",
        f"""
        actions:
          - action: release_suffix
            suffix: .exl
            {R}
          - action: changelog
            author: Example Rebuild <release@example.invalid>
            text: [Debrand, "Second line"]
            dist: .el9
            {R}
        """,
    )
    outcome = apply_config(tree, cfg, apply_check=False)
    assert outcome.status == "patched"
    spec = (tree / "demo.spec").read_text()
    assert (
        "%changelog\n* Tue Nov 14 2023 Example Rebuild <release@example.invalid>"
        " - 1.0-3.el9.exl.1\n"
        "- Debrand\n- Second line\n\n* Mon Jan 01 2024" in spec
    )
    assert outcome.commit_lines == ["Debrand", "Second line"]


def test_add_line_subpackage_section(tmp_path: Path) -> None:
    spec = SPEC.replace(
        "%files\n/etc/demo.conf\n",
        "%files\n/etc/demo.conf\n\n%package devel\nSummary: devel\n\n"
        "%files devel\n/usr/include/demo.h\n",
    )
    files = dict(BASE, **{"demo.spec": spec})
    tree = write_tree(tmp_path / "tree", files)
    cfg = config(
        tmp_path / "cfg/demo.yaml",
        f"""
        actions:
          - action: add_line
            section: files
            subpackage: devel
            content: /usr/include/example.h
            {R}
        """,
    )
    assert apply_config(tree, cfg, apply_check=False).status == "patched"
    assert (
        "%files devel\n/usr/include/demo.h\n/usr/include/example.h\n"
        in (tree / "demo.spec").read_text()
    )


def test_dry_run_leaves_tree(tmp_path: Path) -> None:
    tree = write_tree(tmp_path / "tree", dict(BASE))
    cfg = config(
        tmp_path / "cfg/demo.yaml",
        f"actions:\n  - action: release_suffix\n    suffix: .exl\n    {R}\n",
    )
    outcome = apply_config(tree, cfg, apply_check=False, dry_run=True)
    assert outcome.status == "patched" and outcome.dry_run
    assert snapshot(tree) == BASE


def test_no_config_for_package_is_identical(tmp_path: Path) -> None:
    tree = write_tree(tmp_path / "tree", dict(BASE))
    (tmp_path / "cfg").mkdir()
    outcome = apply_config(tree, tmp_path / "cfg", apply_check=False)
    assert outcome.status == "identical" and outcome.actions == []


def test_release_folder_wins_over_common(tmp_path: Path) -> None:
    tree = write_tree(tmp_path / "tree", dict(BASE))
    config(
        tmp_path / "cfg/common/demo.yaml",
        f"actions:\n  - action: release_suffix\n    suffix: .common\n    {R}\n",
    )
    config(
        tmp_path / "cfg/el9/demo.yaml",
        f"actions:\n  - action: release_suffix\n    suffix: .el9only\n    {R}\n",
    )
    outcome = apply_config(tree, tmp_path / "cfg", apply_check=False, release="el9", dry_run=True)
    assert outcome.config.endswith("el9/demo.yaml")
    outcome = apply_config(tree, tmp_path / "cfg", apply_check=False, release="el8", dry_run=True)
    assert outcome.config.endswith("common/demo.yaml")


def _git(repo: Path, *args: str) -> None:
    import subprocess

    subprocess.run(["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t", *args],
                   check=True, capture_output=True)  # fmt: skip


def _branch(repo: Path, branch: str, files: dict[str, str]) -> None:
    _git(repo, "checkout", "-q", "--orphan", branch)
    _git(repo, "rm", "-rqf", "--ignore-unmatch", ".")
    write_tree(repo, files)
    _git(repo, "add", "-A")
    _git(repo, "commit", "-qm", branch)


def test_config_repository_with_a_branch_per_release(tmp_path: Path) -> None:
    tree = write_tree(tmp_path / "tree", dict(BASE))
    repo = tmp_path / "cfgrepo"
    repo.mkdir()
    _git(repo, "init", "-q", "-b", "main")
    body = "actions:\n  - action: add_source\n    source: files/KEY\n    {R}\n"
    _branch(repo, "common", {"demo.yaml": body.format(R=R), "files/KEY": "common\n"})
    _branch(repo, "el9", {"demo.yaml": body.format(R=R), "files/KEY": "el9\n"})
    _branch(repo, "main", {"README": "configs live on the release branches\n"})
    el9 = apply_config(tree, repo, apply_check=False, release="el9", dry_run=True)
    assert el9.status == "patched" and el9.config.endswith("el9/demo.yaml")
    el8 = apply_config(tree, repo, apply_check=False, release="el8")
    assert el8.status == "patched" and el8.config.endswith("common/demo.yaml")
    assert (tree / "KEY").read_text() == "common\n"


def test_autopatch_repository_branch(tmp_path: Path) -> None:
    tree = write_tree(tmp_path / "tree", dict(BASE))
    repo = tmp_path / "demo"
    repo.mkdir()
    _git(repo, "init", "-q", "-b", "main")
    ap = "actions:\n  - modify_release:\n      - suffix: '{s}'\n"
    _branch(repo, "a9", {"config.yaml": ap.format(s=".alma.9")})
    _branch(repo, "a8", {"config.yaml": ap.format(s=".alma.8")})
    outcome = apply_config(tree, repo, apply_check=False, release="a9")
    assert outcome.status == "patched" and outcome.config_format == "autopatch"
    assert "3%{?dist}.alma.9\n" in (tree / "demo.spec").read_text()
