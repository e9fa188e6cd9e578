"""The plug-in's tests run as dbsj's do: on the plan year's clock, with a fresh plug-in manager each test."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _clock_2023(monkeypatch: pytest.MonkeyPatch):
    import dbsj

    monkeypatch.setenv("DBSJ_NOW", "2023-06-01T09:00:00")
    dbsj.set_now(None)
    yield
    dbsj.set_now(None)
    dbsj.reset_plugin_manager(None)
