"""pytest fixtures for a plug-in's own tests, so they run as dbsj's do.

Import the ones you want into your ``conftest.py``::

    from dbsj.testing.fixtures import plan_year_clock  # noqa: F401  (autouse)

``plan_year_clock`` fixes the clock on the 2023 plan year (``DBSJ_NOW``), restores the default language,
and forgets the process-wide plug-in manager after each test, so a test that registers plug-ins by hand
cannot leak them into the next.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

__all__ = ["plan_year_clock", "PLAN_YEAR_NOW"]

#: The clock dbsj's own suite and the demo run on (design: the plan year).
PLAN_YEAR_NOW = "2023-06-01T09:00:00"


@pytest.fixture(autouse=True)
def plan_year_clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    import dbsj

    monkeypatch.setenv("DBSJ_NOW", PLAN_YEAR_NOW)
    dbsj.set_now(None)
    dbsj.set_language("zh")
    yield
    dbsj.set_now(None)
    dbsj.set_language("zh")
    dbsj.reset_plugin_manager(None)
