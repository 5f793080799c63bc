"""Drift: wrong change counts, patches that no longer apply, missing files; the batch goes on."""

from __future__ import annotations

import json
from pathlib import Path

from patchkit import BASE_CONF, config, demo_spec, fixed_date, snapshot, write_tree  # noqa: F401

from elforge.patching import apply_config
from helpers import run_cli

R = "reason: {category: branding, text: test}"


def _demo(tmp_path: Path, name: str = "tree", spec: str | None = None) -> Path:
    return write_tree(
        tmp_path / name,
        {"demo.spec": spec or demo_spec(), "demo.conf": BASE_CONF, "fix.patch": "x\n"},
    )


def test_replace_that_matches_nothing_names_action_and_nearest(tmp_path: Path) -> None:
    # the new upstream says "CentOS Stream" where the config expects "CentOS Linux"
    tree = _demo(tmp_path, spec=demo_spec().replace("CentOS Linux", "CentOS Stream"))
    before = snapshot(tree)
    cfg = config(
        tmp_path / "cfg/demo.yaml",
        f"""
        actions:
          - action: release_suffix
            suffix: .exl
            {R}
          - action: replace
            files: [spec]
            find: "A demo package by CentOS Linux"
            replace: "A demo package by Example Linux"
            expect: 1
            {R}
        """,
    )
    outcome = apply_config(tree, cfg, apply_check=False)
    assert outcome.status == "drifted"
    assert [a.ok for a in outcome.actions] == [True, False]
    (diag,) = outcome.diagnostics
    assert diag.action_index == 1 and diag.action == "replace" and diag.file == "demo.spec"
    assert "changed 0 place(s), expected 1" in diag.problem
    assert ">    4: Summary:        A demo package by CentOS Stream" in diag.nearest
    assert snapshot(tree) == before  # a drifted package is not half-patched


def test_too_many_changes_is_drift(tmp_path: Path) -> None:
    tree = _demo(tmp_path)
    cfg = config(
        tmp_path / "cfg/demo.yaml",
        f"actions:\n  - action: replace\n    files: [spec]\n    find: CentOS\n    replace: X\n"
        f"    expect: 1\n    {R}\n",
    )
    outcome = apply_config(tree, cfg, apply_check=False)
    assert outcome.status == "drifted"
    assert outcome.actions[0].changed == 2
    assert "changed 2 place(s), expected 1" in outcome.diagnostics[0].problem


def test_diff_that_no_longer_applies_shows_nearest(tmp_path: Path) -> None:
    tree = _demo(tmp_path)
    (tree / "demo.conf").write_text("vendor=CentOS Linux 8\nurl=https://www.centos.org/\n")
    write_tree(
        tmp_path / "cfg",
        {
            "c.diff": "--- a/demo.conf\n+++ b/demo.conf\n@@ -1,2 +1,2 @@\n"
            "-vendor=CentOS Linux\n+vendor=Example Linux\n url=https://www.centos.org/\n"
        },
    )
    cfg = config(
        tmp_path / "cfg/demo.yaml",
        f"actions:\n  - action: apply_diff\n    diff: c.diff\n    expect: 1\n    {R}\n",
    )
    outcome = apply_config(tree, cfg, apply_check=False)
    assert outcome.status == "drifted"
    (diag,) = outcome.diagnostics
    assert diag.file == "demo.conf" and "hunk #1" in diag.problem and "fuzz 0" in diag.problem
    assert "vendor=CentOS Linux 8" in diag.nearest


def test_diff_of_missing_file(tmp_path: Path) -> None:
    tree = _demo(tmp_path)
    write_tree(
        tmp_path / "cfg", {"c.diff": "--- a/demo.cnf\n+++ b/demo.cnf\n@@ -1 +1 @@\n-a\n+b\n"}
    )
    cfg = config(
        tmp_path / "cfg/demo.yaml",
        f"actions:\n  - action: apply_diff\n    diff: c.diff\n    expect: 1\n    {R}\n",
    )
    outcome = apply_config(tree, cfg, apply_check=False)
    assert outcome.status == "drifted"
    assert outcome.diagnostics[0].file == "demo.cnf"
    assert outcome.diagnostics[0].nearest.splitlines()[0] == "demo.conf"


def test_expect_zero_allows_nothing_to_change(tmp_path: Path) -> None:
    tree = _demo(tmp_path)
    cfg = config(
        tmp_path / "cfg/demo.yaml",
        f"actions:\n  - action: replace\n    files: [spec]\n    find: Fedora\n    replace: X\n"
        f"    expect: '0..1'\n    {R}\n",
    )
    assert apply_config(tree, cfg, apply_check=False).status == "identical"


def test_cli_drift_exit_code_and_json(tmp_path: Path) -> None:
    tree = _demo(tmp_path)
    cfg = config(
        tmp_path / "cfg/demo.yaml",
        "actions:\n  - action: replace\n    files: [spec]\n    find: Fedora Linux\n"
        f"    replace: X\n    expect: 1\n    {R}\n",
    )
    r = run_cli("patch", "apply", "--tree", str(tree), "--config", str(cfg), "-f", "json")
    assert r.exit_code == 4
    doc = json.loads(r.stdout)
    assert doc["schema"] == "elforge.patch/1" and doc["status"] == "drifted"
    assert doc["actions"][0] | {"files": []} == doc["actions"][0]
    assert {"action", "source", "expected", "changed", "files"} <= set(doc["actions"][0])
    assert doc["diagnostics"][0]["action"] == "replace"
    assert "CentOS Linux" in doc["diagnostics"][0]["did_you_mean"]
    assert "did you mean" in r.stderr


def test_report_classifies_and_other_packages_go_on(tmp_path: Path) -> None:
    pkgs = tmp_path / "pkgs"
    for name in ("alpha", "beta", "gamma", "delta"):
        _demo(pkgs, name, spec=demo_spec().replace("Name:           demo", f"Name: {name}"))
        (pkgs / name / "demo.spec").rename(pkgs / name / f"{name}.spec")
    ok = f"actions:\n  - action: release_suffix\n    suffix: .exl\n    {R}\n"
    config(tmp_path / "cfg/alpha.yaml", ok)
    config(tmp_path / "cfg/beta.yaml", ok.replace("release_suffix", "frobnicate"))
    config(
        tmp_path / "cfg/gamma.yaml",
        "actions:\n  - action: replace\n    files: [spec]\n    find: nowhere\n"
        f"    replace: x\n    expect: 1\n    {R}\n",
    )
    # delta has no config: identical
    r = run_cli("patch", "--report", "--packages", str(pkgs), "--configs", str(tmp_path / "cfg"),
                "--branch", "a9", "-f", "json")  # fmt: skip
    assert r.exit_code == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["schema"] == "elforge.patch-report/1" and doc["total"] == 4
    assert {k: v["count"] for k, v in doc["classification"].items()} == {
        "identical": 1, "patched": 1, "drifted": 1, "failed": 1,
    }  # fmt: skip
    assert doc["classification"]["patched"]["percent"] == 25.0
    assert snapshot(pkgs / "alpha")["alpha.spec"].count(".exl") == 0  # --report is a dry run
    text = run_cli("patch", "--report", "--packages", str(pkgs), "--configs", str(tmp_path / "cfg"),
                   "--branch", "a9")  # fmt: skip
    assert "patched: 1 (25.0%)" in text.stdout and "drifted: 1 (25.0%)" in text.stdout


def test_batch_in_place_continues_after_failures(tmp_path: Path) -> None:
    pkgs = tmp_path / "pkgs"
    for name in ("alpha", "beta"):
        _demo(pkgs, name)
        (pkgs / name / "demo.spec").rename(pkgs / name / f"{name}.spec")
    config(tmp_path / "cfg/alpha.yaml", f"actions:\n  - action: frob\n    {R}\n")
    config(
        tmp_path / "cfg/beta.yaml",
        f"actions:\n  - action: release_suffix\n    suffix: .exl\n    {R}\n",
    )
    r = run_cli("patch", "--packages", str(pkgs), "--configs", str(tmp_path / "cfg"),
                "--branch", "a9", "--no-apply-check", "-f", "json")  # fmt: skip
    assert r.exit_code == 1
    statuses = {p["package"]: p["status"] for p in json.loads(r.stdout)["packages"]}
    assert statuses == {"alpha": "failed", "beta": "patched"}
    assert ".exl.1" in (pkgs / "beta/beta.spec").read_text()


def test_srpmproc_search_and_replace_matching_nothing(tmp_path: Path) -> None:
    """Stricter than srpmproc: no match is drift, unless an elforge-expect comment allows 0."""
    tree = _demo(tmp_path)
    sar = 'spec_change {\n  search_and_replace { any: true find: "Fedora" replace: "X" n: -1 }\n}\n'
    config(tmp_path / "strict/PATCHES/a.cfg", sar)
    outcome = apply_config(tree, tmp_path / "strict", apply_check=False)
    assert outcome.status == "drifted" and outcome.actions[0].source == "srpmproc"
    lenient = sar.replace("  search_and_replace", "  # elforge-expect: 0..1\n  search_and_replace")
    config(tmp_path / "lenient/PATCHES/a.cfg", lenient)
    assert apply_config(tree, tmp_path / "lenient", apply_check=False).status == "identical"
