"""The store's schema, migrations, locking and the hash-chained ledger."""

from __future__ import annotations

import json
import multiprocessing as mp

import pytest

import dbsj
from dbsj.store.schema import SCHEMA_VERSION


def test_new_store_has_current_schema(tmp_path):
    with dbsj.Store(tmp_path / "a.duckdb") as s:
        assert s.schema_version == SCHEMA_VERSION
        for table in ("items", "targets", "inspectors", "history", "ledger", "draws", "selections", "assignments"):
            assert s.count(table) == 0


def test_newer_store_is_refused(tmp_path):
    path = tmp_path / "a.duckdb"
    with dbsj.Store(path) as s:
        s.execute("UPDATE meta SET value = '999' WHERE key = 'schema_version'")
    with pytest.raises(dbsj.StoreError, match="999"):
        dbsj.Store(path)


def _hold(path, ready, release):
    s = dbsj.Store(path)
    ready.set()
    release.wait(30)
    s.close()


def test_second_writer_gets_a_clear_lock_error(tmp_path):
    path = tmp_path / "a.duckdb"
    dbsj.Store(path).close()
    ctx = mp.get_context("spawn")
    ready, release = ctx.Event(), ctx.Event()
    p = ctx.Process(target=_hold, args=(str(path), ready, release))
    p.start()
    try:
        assert ready.wait(60)
        with pytest.raises(dbsj.StoreError) as err:
            dbsj.Store(path)
        assert "一个写进程" in str(err.value)
        assert "one writing process" in err.value.render("en")
    finally:
        release.set()
        p.join(30)


def test_ledger_chain_detects_edit_insert_delete(store):
    ledger = dbsj.Ledger(store)
    for i in range(5):
        ledger.append("test.event", f"s{i}", {"i": i, "text": "抽查"})
    assert ledger.verify() == 5
    head = ledger.head()
    assert len(head) == 64 and head != dbsj.GENESIS

    store.execute("UPDATE ledger SET payload = ? WHERE seq = 3", [json.dumps({"i": 99, "text": "抽查"})])
    with pytest.raises(dbsj.VerificationError, match="#3"):
        ledger.verify()
    store.execute("UPDATE ledger SET payload = ? WHERE seq = 3", [json.dumps({"i": 2, "text": "抽查"})])
    assert ledger.verify() == 5

    store.execute("DELETE FROM ledger WHERE seq = 2")
    with pytest.raises(dbsj.VerificationError, match="#3"):
        ledger.verify()


def test_ledger_is_append_only_in_order(store):
    ledger = dbsj.Ledger(store)
    a = ledger.append("k", "s", {})
    b = ledger.append("k", "s", {})
    assert (a.seq, b.seq) == (1, 2) and b.prev_hash == a.hash


def test_ledger_verify_command(tmp_path, capsys):
    from dbsj.cli import main

    path = tmp_path / "s.duckdb"
    with dbsj.Store(path) as s:
        ledger = dbsj.Ledger(s)
        for i in range(3):
            ledger.append("test.event", "t", {"i": i})
        head = ledger.head()
    assert main(["ledger", "verify", "--db", str(path), "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"ok": True, "entries": 3, "head": head}
    with dbsj.Store(path) as s:
        s.execute("UPDATE ledger SET subject = 'x' WHERE seq = 2")
    assert main(["ledger", "verify", "--db", str(path), "--json"]) == 1
    out = json.loads(capsys.readouterr().out)
    assert out["ok"] is False and out["seq"] == 2
    assert main(["--lang", "en", "ledger", "verify", "--db", str(path)]) == 1
    assert "ledger entry tampered" in capsys.readouterr().err
