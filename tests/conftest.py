"""Suite-wide settings: a reproducible hypothesis profile, a fixed 2023 clock, isolated plug-in state."""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, settings

# `ci` is the default: derandomized (same examples every run), no deadline on shared, noisy machines.
settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", deadline=None, max_examples=200)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


# Tests run on the plan year's clock (design §10), the same fixture plug-in authors import from the kit.
from dbsj.testing.fixtures import plan_year_clock  # noqa: E402,F401


@pytest.fixture
def store():
    """A fresh in-memory store."""
    import dbsj

    with dbsj.Store(":memory:") as s:
        yield s
