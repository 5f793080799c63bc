"""The generated mock config: mock's documented keys only, read the way mock reads it, and
its dnf.conf read by the real dnf."""

from __future__ import annotations

import configparser
import subprocess
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

from elforge.build.builders import BuildOptions, chain_mock_config
from elforge.build.chain import add_to_repository
from elforge.build.mockconfig import (
    MockSettings,
    buildroot_repos,
    dnf_conf,
    render_mock_config,
)
from elforge.build.rootbuild import RootOptions
from elforge.errors import ConfigError
from helpers import TESTDATA, require_tool

# config_opts keys documented in mock's docs/site-defaults.cfg ("MUST SET" and "CAN SET"
# for individual chroot configs, and the general ones)
DOCUMENTED_KEYS = {
    "root", "target_arch", "legal_host_arches", "chroot_setup_cmd", "dist", "releasever",
    "package_manager", "macros", "dnf.conf", "yum.conf", "chroot_additional_packages",
    "environment", "files", "more_buildreqs", "dnf_vars", "rpmbuild_networking",
    "cleanup_on_success", "cleanup_on_failure", "use_bootstrap", "isolation",
}  # fmt: skip
CS9 = TESTDATA / "repodata" / "cs9-appstream-2024"


def _exec_like_mock(text: str, base: dict[str, Any] | None = None) -> tuple[dict, list[str]]:
    """Execute a config the way mock does: Python assigning ``config_opts`` keys, with an
    ``include()`` function; returns the options and the included files."""
    opts: dict[str, Any] = defaultdict(dict)
    opts.update(base or {})
    included: list[str] = []
    exec(compile(text, "mock.cfg", "exec"), {"config_opts": opts, "include": included.append})
    return dict(opts), included


def _settings(**kw: Any) -> MockSettings:
    repos = buildroot_repos(Path("/srv/forge/buildroot"), [str(CS9), "https://mirror.invalid/r"])
    return MockSettings(name="forge", repos=repos, macros={"vendor": "Forge Linux"}, **kw)


def test_standalone_config_uses_documented_keys_and_a_complete_dnf_conf() -> None:
    opts, included = _exec_like_mock(render_mock_config(_settings()))
    assert included == []
    assert set(opts) <= DOCUMENTED_KEYS, set(opts) - DOCUMENTED_KEYS
    assert opts["target_arch"] == "x86_64" and opts["legal_host_arches"] == ("x86_64",)
    assert opts["dist"] == "el9" and opts["releasever"] == "9"
    assert opts["macros"] == {"%dist": ".el9", "%vendor": "Forge Linux"}
    assert "rpm-build" in opts["chroot_setup_cmd"]
    conf = configparser.ConfigParser(interpolation=None)
    conf.read_string(opts["dnf.conf"])
    assert conf["main"]["assumeyes"] == "1"  # mock fails without it
    assert conf["main"]["reposdir"] == "/dev/null"  # the host's repos stay out
    repos = [s for s in conf.sections() if s != "main"]
    assert conf[repos[0]]["baseurl"] == "file:///srv/forge/buildroot"
    assert int(conf[repos[0]]["priority"]) < int(conf[repos[1]]["priority"])
    assert conf[repos[1]]["baseurl"] == CS9.resolve().as_uri()
    assert conf[repos[2]]["baseurl"] == "https://mirror.invalid/r"


def test_config_on_a_base_includes_it_and_adds_the_release_repositories() -> None:
    text = render_mock_config(_settings(base_config="almalinux-9-x86_64.cfg"))
    base = {"dnf.conf": "[main]\nassumeyes=1\n\n[baseos]\nbaseurl=https://x.invalid/\n"}
    opts, included = _exec_like_mock(text, base)
    assert included == ["almalinux-9-x86_64.cfg"]
    assert set(opts) <= DOCUMENTED_KEYS
    conf = configparser.ConfigParser(interpolation=None)
    conf.read_string(opts["dnf.conf"])
    assert conf.sections()[:2] == ["main", "baseos"] and "elforge-buildroot" in conf


@pytest.mark.parametrize(
    "settings",
    [
        MockSettings(name="x", repos=buildroot_repos(Path("/a"), ["https://h/{{ x }}"])),
        MockSettings(name="x", macros={"vendor": "two\nlines"}),
        MockSettings(name="x", base_config="{% include %}"),
    ],
)
def test_template_and_line_break_values_are_refused(settings: MockSettings) -> None:
    with pytest.raises(ConfigError):
        render_mock_config(settings)


def test_real_dnf_reads_the_generated_repositories(tmp_path: Path) -> None:
    require_tool("dnf")
    require_tool("rpmbuild")
    spec = tmp_path / "tiny.spec"
    spec.write_text(
        "Name: tiny\nVersion: 1\nRelease: 1\nSummary: s\nLicense: MIT\nBuildArch: noarch\n"
        "Provides: tiny-virtual = 7\n%description\nd\n%files\n"
    )
    subprocess.run(
        ["rpmbuild", "-bb", "--define", f"_topdir {tmp_path / 'top'}", str(spec)],
        check=True,
        capture_output=True,
    )
    rpm = next((tmp_path / "top" / "RPMS").rglob("*.rpm"))
    repo = tmp_path / "buildroot"
    assert add_to_repository(repo, [(rpm, rpm.name)]) == 1
    assert add_to_repository(repo, [(rpm, rpm.name)]) == 0  # already there: no new metadata
    opts = BuildOptions(dist=".el9", root=RootOptions((str(repo), str(CS9)), ()))
    cfg = chain_mock_config(tmp_path, opts)
    conf_text, _ = _exec_like_mock(cfg.read_text())
    (tmp_path / "dnf.conf").write_text(conf_text["dnf.conf"])
    proc = subprocess.run(
        ["dnf", "-c", str(tmp_path / "dnf.conf"), "--installroot", str(tmp_path / "root"),
         "--releasever", "9", "--setopt", f"cachedir={tmp_path / 'cache'}", "-q",
         "repoquery", "--whatprovides", "tiny-virtual >= 5", "--available"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "tiny-0:1-1.noarch" in proc.stdout
    assert dnf_conf(()).startswith("[main]")
