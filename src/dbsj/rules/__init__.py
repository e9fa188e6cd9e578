"""Declarative rules: rule-pack schema, pack loader, SQL compiler (set rules) and event engine (event rules)."""

from __future__ import annotations

from dbsj.rules.events import Emission, EventEngine
from dbsj.rules.schema import EventRule

__all__ = ["Emission", "EventEngine", "EventRule"]
