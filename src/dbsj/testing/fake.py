"""A department plug-in built from lists of models: for tests of code that consumes plug-ins.

``FakeDepartment`` implements every hook of :mod:`dbsj.plugins.hookspecs` with plain data, so a test
can register it on a real :class:`dbsj.PluginManager` and exercise the real calling paths::

    pm = dbsj.PluginManager(load_entry_points=False)
    pm.register(FakeDepartment(targets=[...], workdays={date(2023, 4, 21): False}), "fake")
    dbsj.reset_plugin_manager(pm)
    dbsj.pull_pool(store, "targets", "fake")
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import pyarrow as pa
from pydantic import BaseModel

from dbsj.models.columns import columns_of
from dbsj.plugins.hookspecs import hookimpl

__all__ = ["FakeDepartment", "records_to_batch"]

_ARROW = {"VARCHAR": pa.string(), "DATE": pa.date32(), "BOOLEAN": pa.bool_(), "VARCHAR[]": pa.list_(pa.string())}


def records_to_batch(kind: str, records: Iterable[BaseModel | Mapping[str, Any]]) -> pa.RecordBatch:
    """Models (or dicts) of pool ``kind`` as one Arrow record batch with the canonical columns and types."""
    cols = columns_of(kind)
    rows = [r.model_dump(mode="python") if isinstance(r, BaseModel) else dict(r) for r in records]
    schema = pa.schema([(c.name, _ARROW[c.sql_type]) for c in cols])
    data = {c.name: [_plain(row.get(c.name)) for row in rows] for c in cols}
    return pa.RecordBatch.from_pydict(data, schema=schema)


def _plain(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    if hasattr(value, "value") and not isinstance(value, (dt.date, bool, int, str)):
        return value.value
    return str(value) if isinstance(value, str) else value


class FakeDepartment:
    """A plug-in object answering every hook from the data it was built with.

    :param items, targets, inspectors: models (or dicts) served by ``dbsj_provide_*`` (``None``: not provided).
    :param aliases: ``{kind: {header: column}}`` served by ``dbsj_header_aliases``.
    :param workdays: ``{date: bool}``; other dates answer ``None`` (fall through).
    :param recusals: ``(uscc, staff_id, reason)`` triples excluded by ``dbsj_recusal`` when offered.
    :param batch_rows: rows per record batch (to exercise multi-batch paths).

    ``published`` lists every ``(batch, files)`` handed to ``dbsj_publish``; ``calls`` counts hook calls.
    """

    def __init__(self, *, items: Sequence[Any] | None = None, targets: Sequence[Any] | None = None,
                 inspectors: Sequence[Any] | None = None, aliases: Mapping[str, Mapping[str, str]] | None = None,
                 workdays: Mapping[dt.date, bool] | None = None,
                 recusals: Sequence[tuple[str, str, str]] = (), batch_rows: int = 1000) -> None:
        self.pools = {"items": items, "targets": targets, "inspectors": inspectors}
        self.aliases = aliases
        self.workdays = dict(workdays or {})
        self.recusals = tuple(recusals)
        self.batch_rows = batch_rows
        self.published: list[tuple[dict[str, Any], dict[str, str]]] = []
        self.calls: dict[str, int] = {}

    def _count(self, hook: str) -> None:
        self.calls[hook] = self.calls.get(hook, 0) + 1

    def _provide(self, kind: str) -> list[pa.RecordBatch] | None:
        self._count(f"dbsj_provide_{kind}")
        records = self.pools[kind]
        if records is None:
            return None
        records = list(records)
        if not records:
            return [records_to_batch(kind, [])]
        return [records_to_batch(kind, records[i:i + self.batch_rows]) for i in range(0, len(records), self.batch_rows)]

    @hookimpl
    def dbsj_provide_items(self, options: Mapping[str, str]) -> list[pa.RecordBatch] | None:
        return self._provide("items")

    @hookimpl
    def dbsj_provide_targets(self, options: Mapping[str, str]) -> list[pa.RecordBatch] | None:
        return self._provide("targets")

    @hookimpl
    def dbsj_provide_inspectors(self, options: Mapping[str, str]) -> list[pa.RecordBatch] | None:
        return self._provide("inspectors")

    @hookimpl
    def dbsj_header_aliases(self) -> Mapping[str, Mapping[str, str]] | None:
        self._count("dbsj_header_aliases")
        return self.aliases

    @hookimpl
    def dbsj_recusal(self, candidates: pa.Table, context: Mapping[str, Any]) -> pa.Table | None:
        self._count("dbsj_recusal")
        if not self.recusals or candidates.num_rows == 0:
            return None
        offered = set(zip(candidates.column("uscc").to_pylist(), candidates.column("staff_id").to_pylist()))
        hits = [r for r in self.recusals if (r[0], r[1]) in offered]
        if not hits:
            return None
        return pa.table({"uscc": [h[0] for h in hits], "staff_id": [h[1] for h in hits], "reason": [h[2] for h in hits]})

    @hookimpl
    def dbsj_workday(self, day: dt.date) -> bool | None:
        self._count("dbsj_workday")
        return self.workdays.get(day)

    @hookimpl
    def dbsj_publish(self, batch: Mapping[str, Any], files: Mapping[str, str]) -> Mapping[str, Any] | None:
        self._count("dbsj_publish")
        self.published.append((dict(batch), dict(files)))
        return {"delivered": True, "reference": f"FAKE-{batch.get('notice_no', len(self.published))}"}
