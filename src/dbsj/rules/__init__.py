"""Declarative rules: rule-pack schema, pack loader, SQL compiler (set rules) and event engine (event rules)."""

from __future__ import annotations

from dbsj.rules.api import effective_ratio_table, publication_deadline_days
from dbsj.rules.check import CheckReport, Finding, check_plan
from dbsj.rules.events import Emission, EventEngine
from dbsj.rules.loader import LoadedRule, RulePack, RuleSet, load_rules, shipped_rules_dir
from dbsj.rules.schema import DecisionTable, EventRule, PackManifest, TableRow
from dbsj.rules.tables import Decision

__all__ = [
    "load_rules", "shipped_rules_dir", "RuleSet", "RulePack", "LoadedRule",
    "check_plan", "CheckReport", "Finding",
    "EventEngine", "EventRule", "Emission",
    "DecisionTable", "TableRow", "Decision", "PackManifest",
    "effective_ratio_table", "publication_deadline_days",
]
