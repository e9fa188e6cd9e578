"""The hooks a department plug-in may implement. Entry point group: ``dbsj``.

Every hook is prefixed ``dbsj_``. Bulk data crosses as Arrow record batches whose columns are the
canonical columns of :data:`dbsj.POOL_COLUMNS` (missing optional columns are fine; values are validated
by intake exactly as a file's would be). Small data crosses as models or plain values.

A plug-in is a module (or object) with functions decorated by :data:`dbsj.hookimpl`, registered through
an entry point in the ``dbsj`` group::

    [project.entry-points.dbsj]
    mydept = "dbsj_mydept"

docs/plugins.md documents each hook with an example; a test fails when a hook is undocumented or untested.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["hookspec", "hookimpl", "PROJECT"]

PROJECT = "dbsj"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def dbsj_provide_items(options: Mapping[str, str]) -> Iterable["pa.RecordBatch"] | None:
    """Supply inspection items (抽查事项) in bulk.

    :param options: ``key=value`` options given on the command line (``--option``), plug-in specific.
    :return: record batches with canonical item columns, or ``None`` when this plug-in has no items.

    Called only on the plug-in named by ``dbsj pool pull --plugin NAME`` (or :func:`dbsj.pull_pool`).

    .. versionadded:: 0.1
    """


@hookspec
def dbsj_provide_targets(options: Mapping[str, str]) -> Iterable["pa.RecordBatch"] | None:
    """Supply inspection targets (检查对象) in bulk; same contract as :func:`dbsj_provide_items`.

    Batches may be large (millions of rows); yield them lazily.

    .. versionadded:: 0.1
    """


@hookspec
def dbsj_provide_inspectors(options: Mapping[str, str]) -> Iterable["pa.RecordBatch"] | None:
    """Supply inspectors (执法检查人员) in bulk; same contract as :func:`dbsj_provide_items`.

    .. versionadded:: 0.1
    """


@hookspec
def dbsj_header_aliases() -> Mapping[str, Mapping[str, str]] | None:
    """Add header aliases for imports: ``{kind: {header as found in files: canonical column}}``.

    All plug-ins' answers are merged with the built-in table; an alias that maps to an unknown
    column, or that two sources map differently, is a plug-in error naming the plug-in.

    .. versionadded:: 0.1
    """


@hookspec
def dbsj_recusal(candidates: "pa.Table", context: Mapping[str, Any]) -> "pa.Table | None":
    """Exclude inspector–target pairs for reasons only the department knows (回避).

    :param candidates: a table with columns ``uscc``, ``staff_id``, ``task_id`` (every pair the draw
        considers, before built-in checks prune it).
    :param context: ``{"task_ids": [...], "inspection_date": date, "plan_id": str}``.
    :return: a table with columns ``uscc``, ``staff_id`` and ``reason`` (short text, counted in the
        record by reason), or ``None`` for no exclusions. Pairs not in ``candidates`` are an error.

    All plug-ins' exclusions are applied. Must be deterministic: same input, same output.

    .. versionadded:: 0.1
    """


@hookspec(firstresult=True)
def dbsj_workday(day: dt.date) -> bool | None:
    """Say whether ``day`` is a working day, for calendars dbsj lacks (regional holidays, future years).

    Stops at first non-None result. ``None`` falls through to the next plug-in, then to
    chinese-calendar, then to "no data" (a :class:`~dbsj.CalendarError`, never a guess).

    .. versionadded:: 0.1
    """


@hookspec
def dbsj_publish(batch: Mapping[str, Any], files: Mapping[str, str]) -> Mapping[str, Any] | None:
    """Deliver a publication batch elsewhere (e.g. the national credit publicity system).

    :param batch: the batch header: ``{"notice_no", "authority", "year", "entries", "ledger_head"}``.
    :param files: format -> path of the exported files (``csv``, ``xlsx``, ``json``).
    :return: a delivery receipt (``{"delivered": bool, "reference": str, ...}``) or ``None`` when
        this plug-in does not deliver. Receipts are recorded on the ledger.

    .. versionadded:: 0.1
    """
