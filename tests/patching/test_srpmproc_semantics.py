"""srpmproc's spec_change semantics, on small specs whose expected result is written out by
hand from srpmproc's rules (docs/patching.md): auto-alignment and its switch, file tags,
%prep wiring, new fields, appends to fields and sections, the kinds of search and replace,
the changelog (also when the spec has none), unknown fields and syntax errors."""

from __future__ import annotations

import json
from pathlib import Path

from patchkit import config, fixed_date, write_tree  # noqa: F401 (autouse fixture)

from elforge.patching import apply_config
from elforge.patching.report import findings_for
from elforge.report.model import Severity
from helpers import require_tool, run_cli

SPEC = """\
Name: demo
Version: 1.0
Release: 3%{?dist}
Summary: Demo
License: MIT
BuildRequires: gcc
Source0: demo-1.0.tar.gz
Patch0: fix.patch

%description
Demo.

%prep
%setup -q
%patch -P0 -p1

%build
echo build

%install
echo install

%files
/usr/bin/demo

%changelog
* Mon Jan 01 2024 Packager <p@example.invalid> - 1.0-3
- Built
"""

CFG = """\
spec_change {
  file { name: "extra.patch" type: Patch add: true add_to_prep: true n_path: 1 }
  append { field: "Release" value: ".exl.1" }
  new_field { key: "Provides" value: "demo-branding" }
  changelog {
    author_name: "Ex" author_email: "ex@example.invalid"
    message: ["Rebuild", "Add extra.patch"]
  }
%s}
"""


def _expected(width: int) -> str:
    """Every field value starts at ``width`` (BuildRequires, the longest, + 8), or after one
    blank when auto-alignment is off (width 0)."""

    def f(name: str, value: str) -> str:
        head = f"{name}:"
        return (f"{head:<{width}}" if width else f"{head} ") + value

    return "\n".join([
        f("Name", "demo"), f("Version", "1.0"), f("Release", "3%{?dist}.exl.1"),
        f("Summary", "Demo"), f("License", "MIT"), f("BuildRequires", "gcc"),
        f("Source0", "demo-1.0.tar.gz"), f("Patch0", "fix.patch"), f("Patch1", "extra.patch"),
        "",
        f("Provides", "demo-branding"),  # absent key: after the Patch block (a section follows)
        "",
        "%description", "Demo.", "",
        "%prep", "%setup -q", "%patch -P0 -p1", "%patch -P1 -p1", "",  # add_to_prep, -p n_path
        "%build", "echo build", "",
        "%install", "echo install", "",
        "%files", "/usr/bin/demo", "",
        "%changelog",
        "* Tue Nov 14 2023 Ex <ex@example.invalid> - 1.0-3.exl.1",  # import version + Release
        "- Rebuild", "- Add extra.patch", "",
        "* Mon Jan 01 2024 Packager <p@example.invalid> - 1.0-3", "- Built", "",
    ])  # fmt: skip


def _run(tmp_path: Path, spec: str, cfg: str) -> tuple[str, object]:
    require_tool("rpmspec")  # the changelog version comes from the evaluated spec
    tree = write_tree(tmp_path / "tree", {"SPECS/demo.spec": spec, "SOURCES/fix.patch": "x\n",
                                          "SOURCES/extra.patch": "y\n"})  # fmt: skip
    config(tmp_path / "repo/PATCHES/demo.cfg", cfg)
    outcome = apply_config(tree, tmp_path / "repo", apply_check=False)
    return (tree / "SPECS/demo.spec").read_text(), outcome


def test_auto_alignment_file_tags_new_field_and_changelog(tmp_path: Path) -> None:
    spec, outcome = _run(tmp_path, SPEC, CFG % "")
    assert outcome.status == "patched", outcome.to_json()["diagnostics"]  # type: ignore[attr-defined]
    assert spec == _expected(22)


def test_disable_auto_align(tmp_path: Path) -> None:
    spec, outcome = _run(tmp_path, SPEC, CFG % "  disable_auto_align: true\n")
    assert outcome.status == "patched", outcome.to_json()["diagnostics"]  # type: ignore[attr-defined]
    assert spec == _expected(0)


SPEC2 = """\
Name: tool
Version: 2.0
Release: 1
Summary: Tool by CentOS
Source0: tool.tar.gz
Source1: centos.conf
Source2: keep.conf

%description
CentOS tool.

%install
install %{SOURCE1}
%files
/etc/x

%post
echo post
"""

CFG2 = """\
spec_change {
  file { name: "centos.conf" type: Source delete: true }
  file { name: "exl.conf" type: Source add: true }
  search_and_replace { field: "Summary" find: "CentOS" replace: "Example" n: -1 }
  # elforge-expect: 0
  search_and_replace { any: true find: "CentOS" replace: "Example" n: 0 }
  search_and_replace { starts_with: true find: "install" replace: "install -m 644" n: 1 }
  append { field: "%install" value: "echo install-done" }
  append { field: "%files" value: "echo files-done" }
  changelog { author_name: "Ex" author_email: "ex@e.invalid" message: "Debrand" }
}
"""

# hand-derived: width 16 (Version, the longest, + 8); Source1's line dropped, Source3 added
# after the last Source line; no Patch line, so a blank line and the (absent) %changelog
# with its entry follow; the release has no dist, so the version is the Version field's;
# n: 0 replaces nothing; "%install" is followed by "%files" directly, so its line goes before
# the line preceding %files; after %files comes no main section, so its line goes after the
# next blank line
EXPECTED2 = """\
Name:           tool
Version:        2.0
Release:        1
Summary:        Tool by Example
Source0:        tool.tar.gz
Source2:        keep.conf
Source3:        exl.conf


%changelog
* Tue Nov 14 2023 Ex <ex@e.invalid> - 2.0
- Debrand


%description
CentOS tool.

%install
echo install-done
install -m 644 %{SOURCE1}
%files
/etc/x

echo files-done
%post
echo post
"""


def test_delete_search_replace_kinds_appends_and_new_changelog(tmp_path: Path) -> None:
    spec, outcome = _run(tmp_path, SPEC2, CFG2)
    assert outcome.status == "patched", outcome.to_json()["diagnostics"]  # type: ignore[attr-defined]
    assert spec == EXPECTED2


def test_operation_that_changes_nothing_is_drift(tmp_path: Path) -> None:
    cfg = 'spec_change {\n  search_and_replace { any: true find: "Fedora" replace: "X" n: -1 }\n}\n'
    _, outcome = _run(tmp_path, SPEC, cfg)
    doc = outcome.to_json()  # type: ignore[attr-defined]
    assert outcome.status == "drifted"  # type: ignore[attr-defined]
    assert (
        "search_and_replace 0 changed 0 place(s), expected >=1" in doc["diagnostics"][0]["problem"]
    )


def test_unknown_fields_are_findings_and_the_rest_applies(tmp_path: Path) -> None:
    cfg = (
        'future_directive {\n  level: 3\n  nested { a: "b" list: [1, 2] }\n}\n'
        'spec_change {\n  disable_auto_align: true\n  future_option: ["x", "y"]\n'
        '  append { field: "Release" value: ".exl.1" }\n}\n'
    )
    spec, outcome = _run(tmp_path, SPEC, cfg)
    assert outcome.status == "patched"  # type: ignore[attr-defined]
    assert "Release: 3%{?dist}.exl.1\n" in spec and "Name: demo\n" in spec
    diags = [d for d in outcome.diagnostics if d.kind == "unknown-field"]  # type: ignore[attr-defined]
    assert [(d.file, d.problem) for d in diags] == [
        ("PATCHES/demo.cfg", "line 1: unknown field 'future_directive' in Cfg (skipped)"),
        ("PATCHES/demo.cfg", "line 7: unknown field 'future_option' in SpecChange (skipped)"),
    ]
    verify = [f for f in findings_for(outcome) if f.severity is Severity.VERIFY]  # type: ignore[arg-type]
    assert len(verify) == 2 and verify[0].code == "patch.unknown-field"
    # through the CLI: the JSON report carries them
    tree = write_tree(tmp_path / "tree2", {"SPECS/demo.spec": SPEC})
    r = run_cli("patch", "apply", "--tree", str(tree), "--config", str(tmp_path / "repo"),
                "--no-apply-check", "-f", "json")  # fmt: skip
    kinds = [d["kind"] for d in json.loads(r.stdout)["diagnostics"]]
    assert kinds == ["unknown-field", "unknown-field"], r.stdout + r.stderr
