"""Lifecycle tests: a hermetic plug-in manager (no installed entry points) and a seeded store."""

from __future__ import annotations

import pytest

import dbsj


@pytest.fixture
def pm():
    """A plug-in manager with no entry points loaded, installed as the process-wide one."""
    manager = dbsj.PluginManager(load_entry_points=False)
    dbsj.reset_plugin_manager(manager)
    yield manager
    dbsj.reset_plugin_manager(None)


@pytest.fixture
def seeded(store, pm):
    """(store, data): one plan, tasks T1 (joint, credit-linked) and T2, drawn on 2023-03-10 and assigned."""
    import lcdata

    data = lcdata.seed(store)
    lcdata.seed_eligible(store, data)
    return store, data
