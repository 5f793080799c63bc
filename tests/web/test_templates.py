"""Every template compiles (a syntax error would otherwise show only as a 500 on one page)."""

from __future__ import annotations

from elforge.web.render import environment


def test_all_templates_compile() -> None:
    env = environment()
    names = env.list_templates()
    assert "report.html.j2" in names and "package.html.j2" in names
    for name in names:
        env.get_template(name)
