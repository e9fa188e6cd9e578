"""Every hook is documented and tested: a hookspec without a section in docs/plugins.md, or without a
test that mentions it, fails here (after datasette's test_plugin_hooks_have_tests / _are_documented)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from dbsj.plugins import hookspecs

ROOT = Path(__file__).resolve().parents[2]
HOOKS = sorted(n for n in dir(hookspecs) if n.startswith("dbsj_") and callable(getattr(hookspecs, n)))


def test_there_are_hooks() -> None:
    assert {"dbsj_provide_items", "dbsj_provide_targets", "dbsj_provide_inspectors", "dbsj_header_aliases",
            "dbsj_recusal", "dbsj_workday", "dbsj_publish"} <= set(HOOKS)


@pytest.mark.parametrize("hook", HOOKS)
def test_hook_is_documented(hook: str) -> None:
    docs = (ROOT / "docs" / "plugins.md").read_text(encoding="utf-8")
    assert re.search(rf"^#+ .*`{hook}`", docs, re.MULTILINE), f"docs/plugins.md has no section for {hook}"


@pytest.mark.parametrize("hook", HOOKS)
def test_hook_has_a_test(hook: str) -> None:
    files = [p for p in (*ROOT.glob("tests/**/test_*.py"), *ROOT.glob("plugins/*/tests/test_*.py"))
             if p.resolve() != Path(__file__).resolve()]
    assert any(hook in p.read_text(encoding="utf-8") for p in files), f"no test mentions {hook}"


@pytest.mark.parametrize("hook", HOOKS)
def test_hookspec_says_its_contract(hook: str) -> None:
    doc = getattr(hookspecs, hook).__doc__ or ""
    assert "versionadded" in doc and len(doc.split()) > 10
