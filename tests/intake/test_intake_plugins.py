"""Arrow batches from plug-ins, `pull_pool`, header aliases from plug-ins, and the `dbsj pool` CLI."""

from __future__ import annotations

import datetime as dt
import json

import pyarrow as pa
import pytest

import dbsj
from dbsj.cli import main
from intake_helpers import TARGET_HEADER, read_csv, target_row, uscc, write_csv


def _targets_batch(start: int, n: int) -> pa.RecordBatch:
    return pa.record_batch({
        "uscc": [uscc(i) for i in range(start, start + n)],
        "name": [f"企业{i}" for i in range(start, start + n)],
        "entity_kind": ["企业"] * n,
        "status": ["存续"] * n,
        "region": ["650102"] * n,
        "established": pa.array([dt.date(2015, 1, 1)] * n, pa.date32()),
        "credit_class": pa.array(["A"] * (n - 1) + [None], pa.string()),
        "tags": pa.array([["食品", "重点"]] * n, pa.list_(pa.string())),
    })


class Department:
    """A small real plug-in: supplies targets as Arrow batches and declares a header alias."""

    @dbsj.hookimpl
    def dbsj_provide_targets(self, options):
        n = int(options.get("n", "3"))
        yield _targets_batch(1, n)
        yield _targets_batch(1 + n, n)

    @dbsj.hookimpl
    def dbsj_header_aliases(self):
        return {"targets": {"社会统一代码": "uscc"}}


class Broken:
    @dbsj.hookimpl
    def dbsj_provide_items(self, options):
        yield pa.record_batch({"code": ["A1"], "name": ["x"], "department": ["市场监管"], "category": ["key"]})
        raise RuntimeError("connection to the department database lost")


@pytest.fixture
def plugins():
    pm = dbsj.PluginManager(load_entry_points=False)
    pm.register(Department(), "dept")
    pm.register(Broken(), "broken")
    dbsj.reset_plugin_manager(pm)
    return pm


def test_import_batches_typed_columns(store, plugins):
    report = dbsj.import_batches(store, "targets", [_targets_batch(1, 4)], source="test")
    assert (report.read, report.accepted, report.encoding) == (4, 4, None)
    row = store.execute("SELECT established, credit_class, tags FROM targets WHERE uscc = ?", [uscc(4)]).fetchone()
    assert row == (dt.date(2015, 1, 1), "U", ["食品", "重点"])


def test_import_batches_quarantine_counts_records(store, plugins, tmp_path):
    batch = _targets_batch(1, 3)
    bad = batch.set_column(4, "region", pa.array(["650102", "999999", "650102"]))
    report = dbsj.import_batches(store, "targets", [batch, bad], source="plugin:x", quarantine_dir=tmp_path)
    assert (report.read, report.accepted, report.quarantined) == (6, 3, 3)  # 4..6 repeat 1..3: duplicates
    q = read_csv(report.quarantine_file)
    assert [r["_row"] for r in q] == ["4", "5", "6"]
    assert report.quarantine_file == str(tmp_path / "plugin_x.quarantine.csv")


def test_import_batches_rejects_mixed_schemas(store, plugins):
    with pytest.raises(dbsj.IntakeError):
        dbsj.import_batches(store, "targets", [_targets_batch(1, 2), pa.record_batch({"uscc": ["x"]})], source="t")
    with pytest.raises(dbsj.IntakeError):
        dbsj.import_batches(store, "targets", [], source="t")


def test_pull_pool(store, plugins):
    report = dbsj.pull_pool(store, "targets", "dept", {"n": "5"})
    assert (report.source, report.read, report.accepted) == ("plugin:dept", 10, 10)
    with pytest.raises(dbsj.PluginError) as info:
        dbsj.pull_pool(store, "items", "broken")
    assert info.value.plugin == "broken" and "lost" in str(info.value)
    assert store.count("items") == 0
    with pytest.raises(dbsj.PluginError, match="nope|未找到"):
        dbsj.pull_pool(store, "targets", "nope")
    with pytest.raises(dbsj.InputError):
        dbsj.pull_pool(store, "history", "dept")


def test_header_aliases_merge_and_conflicts(plugins):
    table = dbsj.header_aliases("targets")
    assert table["社会统一代码"] == "uscc" and table["统一社会信用代码"] == "uscc" and table["uscc"] == "uscc"
    assert table["主体名称"] == "name" and table["所在地区划"] == "region"

    class Conflicting:
        @dbsj.hookimpl
        def dbsj_header_aliases(self):
            return {"targets": {"企业名称": "authority"}}

    class Unknown:
        @dbsj.hookimpl
        def dbsj_header_aliases(self):
            return {"targets": {"税号": "tax_id"}}

    for name, plugin in (("conflicting", Conflicting()), ("unknown", Unknown())):
        pm = dbsj.PluginManager(load_entry_points=False)
        pm.register(plugin, name)
        dbsj.reset_plugin_manager(pm)
        with pytest.raises(dbsj.PluginError) as info:
            dbsj.header_aliases("targets")
        assert info.value.plugin == name


def test_plugin_alias_is_used_by_import(store, plugins, tmp_path):
    header = ["社会统一代码"] + TARGET_HEADER[1:]
    report = dbsj.import_pool(store, "targets", write_csv(tmp_path / "t.csv", header, [target_row(1)]))
    assert report.accepted == 1


def test_cli_import_json_export_and_exit_codes(tmp_path, capsys, plugins):
    db = tmp_path / "s.duckdb"
    path = write_csv(tmp_path / "t.csv", TARGET_HEADER, [target_row(1), target_row(2)])
    assert main(["pool", "import", "targets", str(path), "--db", str(db), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert {k: out[k] for k in ("read", "accepted", "quarantined", "normalised", "quarantine_file")} == {
        "read": 2, "accepted": 2, "quarantined": 0, "normalised": 0, "quarantine_file": None}

    bad = write_csv(tmp_path / "bad.csv", TARGET_HEADER, [target_row(3), target_row(4, region="1")])
    assert main(["pool", "import", "targets", str(bad), "--db", str(db), "--json", "--snapshot"]) == 1
    out = json.loads(capsys.readouterr().out)
    assert (out["accepted"], out["quarantined"], out["deactivated"]) == (1, 1, 2)
    assert out["quarantine_file"] == str(tmp_path / "bad.quarantine.csv")

    assert main(["pool", "export", "targets", "--out", str(tmp_path / "o.csv"), "--db", str(db), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["rows"] == 1
    assert main(["pool", "export", "--out", str(tmp_path / "o.csv"), "--db", str(db)]) == 2
    assert main(["pool", "import", "targets", str(tmp_path / "missing.csv"), "--db", str(db)]) == 2
    assert main(["pool", "import", "shops", str(path), "--db", str(db)]) == 2
    capsys.readouterr()

    assert main(["--lang", "en", "pool", "import", "targets", str(path), "--db", str(db)]) == 0
    text = capsys.readouterr().out
    assert "read 2, accepted 2" in text and "updated 2" in text  # the snapshot deactivated them: back again


def test_cli_pull(tmp_path, capsys, plugins):
    db = tmp_path / "s.duckdb"
    assert main(["pool", "pull", "targets", "--plugin", "dept", "--option", "n=2", "--db", str(db), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["accepted"] == 4
    assert main(["pool", "pull", "targets", "--plugin", "dept", "--option", "oops", "--db", str(db)]) == 2
    assert main(["pool", "pull", "items", "--plugin", "broken", "--db", str(db)]) == 2
