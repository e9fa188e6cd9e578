"""The plug-in conformance suite: a pytest base class a plug-in's own tests subclass.

::

    # plugins/mydept/tests/test_conformance.py
    from dbsj.testing.conformance import PluginConformance

    class TestMyDeptConformance(PluginConformance):
        plugin_name = "mydept"                 # the entry-point name in group "dbsj"
        options = {"folder": "examples/demo"}  # passed to every dbsj_provide_* hook

The tests load the plug-in through its **real entry point**, call every hook it implements, check the
contract of each (canonical columns and Arrow types, ``None`` vs batches, aliases that name real columns,
``bool | None`` from ``dbsj_workday``, recusal pairs drawn from the candidates), import the batches into
an in-memory store through :func:`dbsj.import_batches` and require zero quarantined rows — unless the
plug-in declares ``DBSJ_EXPECTED_QUARANTINE = {"targets": 3}`` in its module (or the subclass sets
``expected_quarantine``) — and check determinism: two calls give the same bytes.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import importlib.metadata as md
from collections.abc import Mapping
from typing import Any, ClassVar

import pyarrow as pa
import pytest

from dbsj.models.columns import POOL_COLUMNS
from dbsj.plugins import PluginManager, reset_plugin_manager
from dbsj.plugins import hookspecs as _specs

__all__ = ["PluginConformance", "batches_digest", "ARROW_TYPES"]

PROVIDED = ("items", "targets", "inspectors")

#: Arrow types accepted for each canonical SQL type (text is always accepted: intake parses it).
ARROW_TYPES: dict[str, tuple[Any, ...]] = {
    "VARCHAR": (pa.types.is_string, pa.types.is_large_string, pa.types.is_string_view),
    "DATE": (pa.types.is_date32, pa.types.is_date64, pa.types.is_string, pa.types.is_large_string),
    "BOOLEAN": (pa.types.is_boolean, pa.types.is_string),
    "VARCHAR[]": (pa.types.is_list, pa.types.is_large_list, pa.types.is_string),
}


def batches_digest(batches: Any) -> str:
    """SHA-256 of the Arrow IPC stream of ``batches``: equal digests mean byte-identical data."""
    batches = list(batches if not isinstance(batches, pa.RecordBatch) else [batches])
    sink = pa.BufferOutputStream()
    if batches:
        with pa.ipc.new_stream(sink, batches[0].schema) as writer:
            for b in batches:
                writer.write_batch(b if isinstance(b, pa.RecordBatch) else b.combine_chunks().to_batches()[0])
    return hashlib.sha256(sink.getvalue().to_pybytes()).hexdigest()


class PluginConformance:
    """Subclass with ``plugin_name`` (and ``options``) set; pytest collects the inherited tests."""

    #: entry-point name of the plug-in under test (group ``dbsj``)
    plugin_name: ClassVar[str] = ""
    #: options given to every provide hook (keep the data small: these tests import it)
    options: ClassVar[Mapping[str, str]] = {}
    #: ``{kind: rows}`` quarantined on purpose; ``None`` reads ``DBSJ_EXPECTED_QUARANTINE`` from the plug-in
    expected_quarantine: ClassVar[Mapping[str, int] | None] = None
    #: days probed through ``dbsj_workday``
    workday_probe: ClassVar[tuple[dt.date, ...]] = tuple(dt.date(2023, 1, 1) + dt.timedelta(days=d) for d in range(0, 365, 3))

    # -- fixtures -------------------------------------------------------------------------------------
    @pytest.fixture
    def manager(self) -> Any:
        if not self.plugin_name:
            pytest.fail("set plugin_name on your PluginConformance subclass")
        pm = PluginManager()  # real entry points, real checks (misspelt hooks fail here)
        if self.plugin_name not in pm.names():
            pytest.fail(f"plug-in {self.plugin_name!r} was not loaded from entry point group 'dbsj' "
                        f"(loaded: {pm.names()}); is the distribution installed, and not disabled?")
        reset_plugin_manager(pm)
        yield pm
        reset_plugin_manager(None)

    @pytest.fixture
    def plugin(self, manager: PluginManager) -> Any:
        return manager.pm.get_plugin(self.plugin_name)

    def _implements(self, plugin: Any, hook: str) -> bool:
        impl = getattr(plugin, hook, None)
        return impl is not None and hasattr(impl, _specs.PROJECT + "_impl")

    def _provided(self, manager: PluginManager, plugin: Any, kind: str) -> list[pa.RecordBatch] | None:
        hook = f"dbsj_provide_{kind}"
        if not self._implements(plugin, hook):
            return None
        out = manager.call_one(self.plugin_name, hook, options=dict(self.options))
        if out is None:
            return None
        if isinstance(out, pa.RecordBatch):
            return [out]
        if isinstance(out, pa.Table):
            return out.to_batches()
        return list(out)

    def _expected(self, plugin: Any, kind: str) -> int:
        declared = self.expected_quarantine
        if declared is None:
            declared = getattr(plugin, "DBSJ_EXPECTED_QUARANTINE", None) or {}
        return int(declared.get(kind, 0))

    # -- the suite ------------------------------------------------------------------------------------
    def test_loaded_through_entry_point(self, manager: PluginManager) -> None:
        eps = [ep for ep in md.entry_points(group=_specs.PROJECT) if ep.name == self.plugin_name]
        assert eps, f"no entry point {self.plugin_name!r} in group 'dbsj'"
        info = {p["name"]: p for p in manager.describe()}[self.plugin_name]
        assert info["version"] not in ("", "unknown"), "the distribution should carry a version"

    def test_hooks_match_specs(self, manager: PluginManager) -> None:
        info = {p["name"]: p for p in manager.describe()}[self.plugin_name]
        specs = {n for n in dir(_specs) if n.startswith("dbsj_")}
        assert info["hooks"], "a plug-in should implement at least one hook"
        assert set(info["hooks"]) <= specs

    def test_provides_something(self, manager: PluginManager, plugin: Any) -> None:
        provided = [k for k in PROVIDED if self._provided(manager, plugin, k) is not None]
        others = [h for h in ("dbsj_header_aliases", "dbsj_workday", "dbsj_recusal", "dbsj_publish")
                  if self._implements(plugin, h)]
        assert provided or others

    def test_batches_have_canonical_columns_and_types(self, manager: PluginManager, plugin: Any) -> None:
        for kind in PROVIDED:
            batches = self._provided(manager, plugin, kind)
            if batches is None:
                continue
            assert batches, f"{kind}: return None for 'nothing', not an empty iterable"
            cols = {c.name: c for c in POOL_COLUMNS[kind]}
            for b in batches:
                assert isinstance(b, pa.RecordBatch), f"{kind}: expected pyarrow.RecordBatch, got {type(b).__name__}"
                assert b.schema.names == batches[0].schema.names, f"{kind}: batches disagree on columns"
                unknown = [n for n in b.schema.names if n not in cols]
                assert not unknown, f"{kind}: columns not in dbsj.POOL_COLUMNS[{kind!r}]: {unknown}"
                missing = [c.name for c in cols.values() if c.required and c.name not in b.schema.names]
                assert not missing, f"{kind}: required columns missing: {missing}"
                for field in b.schema:
                    ok = ARROW_TYPES[cols[field.name].sql_type]
                    assert any(f(field.type) for f in ok), f"{kind}.{field.name}: Arrow type {field.type} does not fit"

    def test_batches_import_cleanly(self, manager: PluginManager, plugin: Any, tmp_path: Any) -> None:
        import dbsj

        with dbsj.Store(":memory:") as store:
            for kind in PROVIDED:
                if self._provided(manager, plugin, kind) is None:
                    continue
                report = dbsj.pull_pool(store, kind, self.plugin_name, dict(self.options), quarantine_dir=tmp_path)
                assert report.read == report.accepted + report.quarantined
                expected = self._expected(plugin, kind)
                assert report.quarantined == expected, (
                    f"{kind}: {report.quarantined} rows quarantined, expected {expected}; see {report.quarantine_file}")
                assert store.count(kind, "active") == report.accepted

    def test_deterministic(self, manager: PluginManager, plugin: Any) -> None:
        for kind in PROVIDED:
            first = self._provided(manager, plugin, kind)
            if first is None:
                continue
            second = self._provided(manager, plugin, kind)
            assert batches_digest(first) == batches_digest(second), f"{kind}: two calls gave different bytes"

    def test_header_aliases_name_real_columns(self, manager: PluginManager, plugin: Any) -> None:
        if not self._implements(plugin, "dbsj_header_aliases"):
            pytest.skip("dbsj_header_aliases not implemented")
        aliases = manager.call_one(self.plugin_name, "dbsj_header_aliases")
        if aliases is None:
            return
        for kind, table in aliases.items():
            assert kind in POOL_COLUMNS, f"unknown pool kind {kind!r}"
            names = {c.name for c in POOL_COLUMNS[kind]}
            for header, column in table.items():
                assert isinstance(header, str) and header.strip(), f"{kind}: empty header"
                assert column in names, f"{kind}: alias {header!r} maps to unknown column {column!r}"

    def test_workday_answers_bool_or_none(self, manager: PluginManager, plugin: Any) -> None:
        if not self._implements(plugin, "dbsj_workday"):
            pytest.skip("dbsj_workday not implemented")
        for day in self.workday_probe:
            answer = manager.call_one(self.plugin_name, "dbsj_workday", day=day)
            assert answer is None or isinstance(answer, bool), f"{day}: {answer!r} is neither bool nor None"

    def test_recusal_answers_pairs_from_candidates(self, manager: PluginManager, plugin: Any) -> None:
        if not self._implements(plugin, "dbsj_recusal"):
            pytest.skip("dbsj_recusal not implemented")
        candidates = pa.table({"uscc": pa.array([], pa.string()), "staff_id": pa.array([], pa.string()),
                               "task_id": pa.array([], pa.string())})
        out = manager.call_one(self.plugin_name, "dbsj_recusal", candidates=candidates,
                               context={"task_ids": [], "inspection_date": dt.date(2023, 6, 1), "plan_id": "P"})
        assert out is None or (isinstance(out, pa.Table) and out.num_rows == 0
                               and {"uscc", "staff_id", "reason"} <= set(out.column_names))

    def test_publish_returns_receipt_or_none(self, manager: PluginManager, plugin: Any, tmp_path: Any) -> None:
        if not self._implements(plugin, "dbsj_publish"):
            pytest.skip("dbsj_publish not implemented")
        path = tmp_path / "batch.json"
        path.write_text("[]", encoding="utf-8")
        batch = {"notice_no": "2023-001", "authority": "测试局", "year": 2023, "entries": 0, "ledger_head": "0" * 64}
        out = manager.call_one(self.plugin_name, "dbsj_publish", batch=batch, files={"json": str(path)})
        assert out is None or (isinstance(out, Mapping) and isinstance(out.get("delivered"), bool))
