"""dbsj — 双随机、一公开 joint random inspections, correct to policy, fair, publicly verifiable.

The one public face of the library: import from ``dbsj``, never from a private module.
docs/api.md is the manual of everything listed in ``__all__``.
"""

from __future__ import annotations

from dbsj.clock import now, set_now, today
from dbsj.errors import (
    CalendarError,
    DbsjError,
    DrawError,
    InputError,
    IntakeError,
    MissingColumnError,
    ModelError,
    PlanError,
    PluginError,
    ResultError,
    RuleError,
    SeedError,
    StoreError,
    VerificationError,
    get_language,
    set_language,
)
from dbsj.models import (
    DEPARTMENTS,
    INACTIVE_STATUSES,
    POOL_COLUMNS,
    POOL_KINDS,
    PROBLEM_CODES,
    STATUS_CODES,
    XINJIANG_PREFECTURES,
    Batch,
    CheckMethod,
    Column,
    CreditClass,
    Disposition,
    EntityKind,
    HistoryEntry,
    Inspector,
    InspectorStatus,
    Item,
    ItemCategory,
    Plan,
    Quota,
    RegistrationStatus,
    Result,
    ResultCode,
    Sampling,
    Scope,
    Target,
    Task,
    TaskMode,
    is_valid_uscc,
    load_plan,
    parse_quota,
)
from dbsj.plugins import PluginManager, get_plugin_manager, hookimpl, hookspec, reset_plugin_manager
from dbsj.store import GENESIS, Ledger, LedgerEntry, Store, default_db_path
from dbsj.rules import Emission, EventEngine, EventRule

__version__ = "0.1.0"

__all__ = [
    "__version__",
    # clock
    "now", "set_now", "today",
    # errors
    "DbsjError", "InputError", "IntakeError", "MissingColumnError", "ModelError", "PlanError", "RuleError",
    "SeedError", "CalendarError", "ResultError", "StoreError", "DrawError", "PluginError", "VerificationError",
    "set_language", "get_language",
    # models
    "Item", "Target", "Inspector", "HistoryEntry", "Plan", "Task", "Batch", "Quota", "Scope", "Sampling", "Result",
    "EntityKind", "RegistrationStatus", "CreditClass", "ItemCategory", "CheckMethod", "ResultCode", "Disposition",
    "InspectorStatus", "TaskMode", "PROBLEM_CODES", "STATUS_CODES", "INACTIVE_STATUSES", "XINJIANG_PREFECTURES",
    "DEPARTMENTS", "Column", "POOL_COLUMNS", "POOL_KINDS", "is_valid_uscc", "load_plan", "parse_quota",
    # store
    "Store", "default_db_path", "Ledger", "LedgerEntry", "GENESIS",
    # plug-ins
    "hookimpl", "hookspec", "PluginManager", "get_plugin_manager", "reset_plugin_manager",
    # rules
    "EventEngine", "EventRule", "Emission",
]
