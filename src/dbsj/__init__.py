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
    prefecture_of,
    prefecture_sql,
)
from dbsj.plugins import PluginManager, get_plugin_manager, hookimpl, hookspec, reset_plugin_manager
from dbsj.store import GENESIS, Ledger, LedgerEntry, Store, default_db_path
from dbsj.store.backup import BackupManifest, RestoreReport, backup_store, read_backup, restore_store
from dbsj.intake import ImportReport, IntakeLimits, export_pool, header_aliases, import_batches, import_pool, pull_pool
from dbsj.lifecycle import (
    CALENDAR_FORMAT,
    PUBLICATION_HEADERS,
    RESULT_COLUMNS,
    TASK_STATE_LABELS,
    CalendarImport,
    PublicationBatch,
    RecordedResult,
    TaskState,
    WorkdayCalendar,
    add_workdays,
    advance_task,
    calendar_schedules,
    chinese_calendar_years,
    due_results,
    flagged_targets,
    import_calendar,
    import_results,
    is_workday,
    notice_title,
    publication_deadline,
    publish,
    record_result,
    record_results,
    run_followup,
    simulate_lifecycle,
    sync_task_states,
    task_state,
    task_status,
)
from dbsj.assess import ASSESSMENT_LABELS, assess, render_report, write_report
from dbsj.rules import (
    CheckReport,
    Decision,
    DecisionTable,
    Emission,
    EventEngine,
    EventRule,
    Finding,
    LoadedRule,
    PackManifest,
    RulePack,
    RuleSet,
    TableRow,
    check_plan,
    effective_ratio_table,
    load_rules,
    publication_deadline_days,
    shipped_rules_dir,
)
from dbsj.draw.assignment import (
    ASSIGNMENT_ALGORITHM,
    ASSIGNMENT_ALGORITHMS,
    RECUSAL_REASONS,
    AssignmentOptions,
    AssignmentOutcome,
    assign_visits,
    assignment_for_task,
    assignment_ledger_fields,
    assignment_ticket,
    has_assignment_snapshot,
    public_visits,
    reassign_from_snapshot,
    store_assignment,
)
from dbsj.draw.assignment_inputs import audit_assignments, export_inspectors
from dbsj.verifier import INSPECTOR_EXPORT_FORMAT, load_inspector_export, verify_assignment
from dbsj.draw import ALGORITHM as DRAW_ALGORITHM
from dbsj.draw import ALGORITHM_V1 as DRAW_ALGORITHM_V1
from dbsj.draw import COMMITMENT_FORMAT as DRAW_COMMITMENT_FORMAT
from dbsj.draw import RECORD_FORMAT as DRAW_RECORD_FORMAT
from dbsj.draw import RECORD_FORMAT_V1 as DRAW_RECORD_FORMAT_V1
from dbsj.draw import (
    ALGORITHMS,
    DRAND_CHAINS,
    EXCLUSION_REASONS,
    RIVEST_ALGORITHM,
    STRATUM_FIELDS,
    BeaconSeed,
    DemoSeed,
    DiceSeed,
    DrawOptions,
    DrawRun,
    SharesSeed,
    VerificationReport,
    audit_draws,
    batch_key,
    beacon_round_time,
    commit_draw,
    confidential_fields,
    draw_plan,
    draw_task,
    eligible_root,
    eligible_salt,
    export_draw_pool,
    public_record,
    reveal_draw,
    sample_ids,
    sample_size,
    select_bottom_k,
    set_digest,
    share_commitment,
    stratum_digest,
    stratum_key,
    ticket,
    ticket_message,
    ticket_v2,
    verify_record,
    verify_records,
)
from dbsj.audit import (
    ANCHOR_FORMAT,
    TABLE_COVERAGE,
    AuditFinding,
    AuditReport,
    LedgerAnchor,
    TableCoverage,
    audit_store,
    declare_table,
    load_anchors,
)
from dbsj.demo import DemoContext, DemoStep, run_demo

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
    "prefecture_of", "prefecture_sql",
    # store
    "Store", "default_db_path", "Ledger", "LedgerEntry", "GENESIS",
    "backup_store", "restore_store", "read_backup", "BackupManifest", "RestoreReport",
    # plug-ins
    "hookimpl", "hookspec", "PluginManager", "get_plugin_manager", "reset_plugin_manager",
    # intake and export (files and plug-ins into pools, quarantine, canonical CSV)
    "import_pool", "import_batches", "pull_pool", "export_pool", "header_aliases", "ImportReport", "IntakeLimits",
    # lifecycle (results, working days, task states, publication, follow-up) and assessment
    "WorkdayCalendar", "is_workday", "add_workdays", "chinese_calendar_years",
    "CalendarImport", "CALENDAR_FORMAT", "import_calendar", "calendar_schedules",
    "RecordedResult", "record_result", "record_results", "import_results", "RESULT_COLUMNS",
    "TaskState", "TASK_STATE_LABELS", "task_state", "advance_task", "sync_task_states", "task_status",
    "PublicationBatch", "PUBLICATION_HEADERS", "publish", "due_results", "publication_deadline", "notice_title",
    "run_followup", "flagged_targets", "simulate_lifecycle",
    "assess", "ASSESSMENT_LABELS", "render_report", "write_report",
    # rules (packs, decision tables, plan checks, event engine)
    "load_rules", "shipped_rules_dir", "RuleSet", "RulePack", "LoadedRule", "check_plan", "CheckReport", "Finding",
    "EventEngine", "EventRule", "Emission", "DecisionTable", "TableRow", "Decision", "PackManifest",
    "effective_ratio_table", "publication_deadline_days",
    # assignment (inspectors to visits)
    "assign_visits", "AssignmentOptions", "AssignmentOutcome", "RECUSAL_REASONS", "assignment_ticket",
    "ASSIGNMENT_ALGORITHM", "ASSIGNMENT_ALGORITHMS", "reassign_from_snapshot", "has_assignment_snapshot",
    "assignment_for_task", "public_visits", "store_assignment", "assignment_ledger_fields", "audit_assignments",
    "export_inspectors", "INSPECTOR_EXPORT_FORMAT", "load_inspector_export", "verify_assignment",
    # draws (commit then chance, selection, records, verification, sampling)
    "draw_plan", "draw_task", "commit_draw", "reveal_draw", "DrawOptions", "DrawRun", "verify_record", "verify_records",
    "VerificationReport", "export_draw_pool", "public_record", "sample_ids", "ticket", "ticket_message", "ticket_v2",
    "stratum_key", "batch_key", "eligible_salt", "stratum_digest", "eligible_root", "sample_size", "set_digest",
    "BeaconSeed", "SharesSeed", "DiceSeed", "DemoSeed", "share_commitment", "DRAW_ALGORITHM", "DRAW_ALGORITHM_V1",
    "RIVEST_ALGORITHM", "DRAW_RECORD_FORMAT", "DRAW_RECORD_FORMAT_V1", "DRAW_COMMITMENT_FORMAT", "ALGORITHMS",
    "DRAND_CHAINS", "EXCLUSION_REASONS", "STRATUM_FIELDS", "beacon_round_time", "select_bottom_k", "audit_draws",
    "confidential_fields",
    # audit (everything the ledger binds, recomputed; anchors kept outside the store)
    "audit_store", "AuditReport", "AuditFinding", "LedgerAnchor", "load_anchors", "ANCHOR_FORMAT", "TABLE_COVERAGE",
    "TableCoverage", "declare_table",
    # demo (a synthetic province built step by step into ./demo/)
    "run_demo", "DemoStep", "DemoContext",
]
