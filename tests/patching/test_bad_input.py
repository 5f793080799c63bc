"""Bad input: one clear error line each, naming the file and the problem."""

from __future__ import annotations

from pathlib import Path

import pytest
from patchkit import config, demo_spec, fixed_date, write_tree  # noqa: F401 (autouse fixture)

from helpers import run_cli

R = "reason: {category: other, text: test}"


def _tree(tmp_path: Path) -> Path:
    return write_tree(tmp_path / "tree", {"demo.spec": demo_spec(), "fix.patch": "x\n"})


def _errors(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("error:")]


def _apply(tmp_path: Path, cfg: Path, *extra: str) -> tuple[int, list[str]]:
    r = run_cli("patch", "apply", "--tree", str(_tree(tmp_path)), "--config", str(cfg),
                "--no-apply-check", "-f", "json", *extra)  # fmt: skip
    return r.exit_code, _errors(r.stderr)


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ("  - action: frobnicate\n    " + R + "\n", "action 0: unknown action 'frobnicate'"),
        (
            "  - action: replace\n    files: spec\n    find: a\n    replace: b\n    expect: 1\n"
            "    " + R + "\n",
            "action 0 (replace): key 'files': Input should be a valid list",
        ),
        (
            "  - action: release_suffix\n    suffix: .x\n    expect: many\n    " + R + "\n",
            "action 0 (release_suffix): key 'expect'",
        ),
        (
            "  - action: release_suffix\n    suffix: .x\n    colour: red\n    " + R + "\n",
            "action 0 (release_suffix): unknown key 'colour'",
        ),
        (
            "  - action: release_suffix\n    suffix: .x\n    reason: {category: fun}\n",
            "key 'reason.category'",
        ),
        (
            "  - action: replace\n    files: [spec]\n    find: '(unclosed'\n    replace: x\n"
            "    regex: true\n    expect: 1\n    " + R + "\n",
            "action 0 (replace): key 'find': regular expression does not compile",
        ),
    ],
    ids=["unknown-action", "wrong-type", "bad-expect", "unknown-key", "bad-category", "bad-regex"],
)
def test_config_errors(tmp_path: Path, body: str, needle: str) -> None:
    cfg = config(tmp_path / "cfg/demo.yaml", "actions:\n" + body)
    code, errors = _apply(tmp_path, cfg)
    assert code == 1
    assert len(errors) == 1, errors
    assert errors[0].startswith(f"error: {cfg}: ") and needle in errors[0], errors[0]


def test_missing_config_file(tmp_path: Path) -> None:
    cfg = config(
        tmp_path / "cfg/demo.yaml",
        f"actions:\n  - action: add_source\n    source: files/KEY\n    {R}\n",
    )
    code, errors = _apply(tmp_path, cfg)
    assert code == 1 and len(errors) == 1
    assert "action 0 (add_source): source 'files/KEY' not found next to the config" in errors[0]
    assert str(tmp_path / "cfg/files/KEY") in errors[0]


def test_missing_tree_file_is_drift_with_suggestion(tmp_path: Path) -> None:
    cfg = config(
        tmp_path / "cfg/demo.yaml",
        f"actions:\n  - action: remove_source\n    file: fixx.patch\n    {R}\n",
    )
    tree = _tree(tmp_path)
    r = run_cli("patch", "apply", "--tree", str(tree), "--config", str(cfg), "--no-apply-check")
    assert r.exit_code == 4
    assert "action 0 (remove_source) on fixx.patch: file 'fixx.patch' not found" in r.stderr
    assert "did you mean" in r.stderr and "fix.patch" in r.stderr


def test_script_refused_without_config_consent(tmp_path: Path) -> None:
    write_tree(tmp_path / "cfg", {"s.sh": "touch x\n"})
    cfg = config(
        tmp_path / "cfg/demo.yaml",
        f"actions:\n  - action: run_script\n    script: s.sh\n    expect: 1\n    {R}\n",
    )
    code, errors = _apply(tmp_path, cfg, "--allow-scripts")
    assert code == 1 and len(errors) == 1
    assert "run_script 's.sh' refused: the config does not set allow_scripts" in errors[0]


def test_script_refused_without_command_line_consent(tmp_path: Path) -> None:
    write_tree(tmp_path / "cfg", {"s.sh": "touch x\n"})
    cfg = config(
        tmp_path / "cfg/demo.yaml",
        "allow_scripts: true\nactions:\n  - action: run_script\n    script: s.sh\n"
        f"    expect: 1\n    {R}\n",
    )
    code, errors = _apply(tmp_path, cfg)
    assert code == 1 and len(errors) == 1
    assert "pass --allow-scripts" in errors[0]


@pytest.mark.parametrize(
    "header",
    ["--- a/../../etc/passwd\n+++ b/../../etc/passwd\n", "--- /etc/passwd\n+++ /etc/passwd\n"],
    ids=["dotdot", "absolute"],
)
def test_patch_leaving_tree_refused(tmp_path: Path, header: str) -> None:
    write_tree(tmp_path / "cfg", {"evil.patch": header + "@@ -1 +1 @@\n-a\n+b\n"})
    cfg = config(
        tmp_path / "cfg/demo.yaml",
        f"actions:\n  - action: add_patch\n    patch: evil.patch\n    strip: 0\n    {R}\n",
    )
    code, errors = _apply(tmp_path, cfg)
    assert code == 1 and len(errors) == 1
    assert "outside the tree" in errors[0] and "evil.patch" in errors[0]


def test_config_path_with_dotdot_refused(tmp_path: Path) -> None:
    cfg = config(
        tmp_path / "cfg/demo.yaml",
        f"actions:\n  - action: apply_diff\n    diff: ../x.diff\n    expect: 1\n    {R}\n",
    )
    code, errors = _apply(tmp_path, cfg)
    assert code == 1 and len(errors) == 1 and "leaves its folder" in errors[0]


def test_autopatch_unknown_action(tmp_path: Path) -> None:
    cfg = config(tmp_path / "ap/config.yaml", "actions:\n  - frob:\n      - target: spec\n")
    code, errors = _apply(tmp_path, tmp_path / "ap")
    assert code == 1 and len(errors) == 1
    assert errors[0].startswith(f"error: {cfg}: action 0: unknown action 'frob'")


def test_autopatch_wrong_type(tmp_path: Path) -> None:
    cfg = config(
        tmp_path / "ap/config.yaml",
        "actions:\n  - replace:\n      - target: spec\n        find: a\n        replace: b\n"
        "        count: lots\n",
    )
    code, errors = _apply(tmp_path, cfg)
    assert code == 1 and len(errors) == 1
    assert "action 0 (replace) entry 0: key 'count': expected int, got str" in errors[0]


def test_srpmproc_syntax_error_names_line_and_column(tmp_path: Path) -> None:
    cfg = config(tmp_path / "pr/PATCHES/x.cfg", 'replace {\n  file: "a"\n  with_inline "b"\n}\n')
    code, errors = _apply(tmp_path, tmp_path / "pr")
    assert code == 1 and len(errors) == 1
    assert errors[0] == f"error: {cfg}: line 3, column 15: expected ':' after 'with_inline'"


def test_native_replace_needs_explicit_expect(tmp_path: Path) -> None:
    cfg = config(
        tmp_path / "cfg/demo.yaml",
        f"actions:\n  - action: replace\n    files: [spec]\n    find: a\n    replace: b\n    {R}\n",
    )
    code, errors = _apply(tmp_path, cfg)
    assert code == 1 and len(errors) == 1
    assert "action 0 (replace): missing key 'expect'" in errors[0]
