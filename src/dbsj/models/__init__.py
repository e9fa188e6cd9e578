"""Domain models (pydantic, the boundary) and the canonical column table of each pool."""

from dbsj.models.columns import POOL_COLUMNS, POOL_KINDS, Column, columns_of, natural_key
from dbsj.models.plans import Batch, Plan, Quota, Sampling, Scope, Task, load_plan, parse_quota
from dbsj.models.pools import HistoryEntry, Inspector, Item, Target, is_valid_uscc
from dbsj.models.regions import prefecture_of, prefecture_sql
from dbsj.models.results import Result
from dbsj.models.vocab import *  # noqa: F403
from dbsj.models.vocab import __all__ as _vocab_all

__all__ = [
    "Column", "POOL_COLUMNS", "POOL_KINDS", "columns_of", "natural_key",
    "Batch", "Plan", "Quota", "Sampling", "Scope", "Task", "load_plan", "parse_quota",
    "HistoryEntry", "Inspector", "Item", "Target", "is_valid_uscc",
    "Result", "prefecture_of", "prefecture_sql",
    *_vocab_all,
]
