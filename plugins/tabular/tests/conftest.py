"""The plug-in's tests run as dbsj's do: on the plan year's clock, with a fresh plug-in manager each test."""

from dbsj.testing.fixtures import plan_year_clock  # noqa: F401  (autouse fixture from the plug-in author's kit)
