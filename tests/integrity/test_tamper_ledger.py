"""Tampering with the ledger itself: truncation, re-chaining, edits, insertions — and the anchors that
catch what a chain that still verifies cannot show.

``dbsj ledger verify`` only checks that the chain is consistent; a ledger cut short, or edited and re-hashed
from the edit on, is consistent. ``dbsj audit`` catches it through rows that name entries the chain no
longer holds, through the ledger heads the store itself keeps (publications), and through anchors kept
outside the store (``--anchor``): records, public records, publications, anchor files.
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

import dbsj
import lifecycle_store as ls
from dbsj.cli import main
from dbsj.store.ledger import entry_hash


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DBSJ_NOW", dbsj.testing.fixtures.PLAN_YEAR_NOW)
        dbsj.set_now(None)
        b = ls.build(tmp_path_factory.mktemp("ledger"))
        dbsj.reset_plugin_manager(None)
    return b


def audit(db: Path, capsys, *anchors: Path) -> tuple[int, list[dict]]:
    capsys.readouterr()
    rc = main(["audit", "--db", str(db), "--json", *[a for p in anchors for a in ("--anchor", str(p))]])
    return rc, json.loads(capsys.readouterr().out)["findings"]


def ledger_verify(db: Path, capsys) -> int:
    rc = main(["ledger", "verify", "--db", str(db)])
    capsys.readouterr()
    return rc


def connect(db: Path) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(str(db))
    con.execute("SET TimeZone = 'Asia/Shanghai'")  # recorded_at is hashed as Beijing time
    return con


def rechain(con: duckdb.DuckDBPyConnection, start: int) -> None:
    """Recompute every hash from ``start`` on, as someone covering an edit would."""
    rows = con.execute("SELECT seq, kind, subject, payload, recorded_at, prev_hash FROM ledger WHERE seq >= ? ORDER BY seq",
                       [start]).fetchall()
    prev = con.execute("SELECT hash FROM ledger WHERE seq = ?", [start - 1]).fetchone()
    prev = prev[0] if prev else dbsj.GENESIS
    for seq, kind, subject, payload, at, _p in rows:
        body = json.dumps(json.loads(payload), sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        h = entry_hash(seq, kind, subject, body, at, prev)
        con.execute("UPDATE ledger SET prev_hash = ?, hash = ?, payload = ? WHERE seq = ?", [prev, h, body, seq])
        prev = h


def tampered(built, tmp_path, *sql: str, rechain_from: int | None = None, params: list | None = None) -> Path:
    db = ls.copy(built, tmp_path)
    con = connect(db)
    try:
        for st in sql:
            con.execute(st, params or [])
        if rechain_from is not None:
            rechain(con, rechain_from)
    finally:
        con.close()
    return db


def _last(db: Path) -> int:
    with dbsj.Store(db, read_only=True) as s:
        return dbsj.Ledger(s).last()[0]


def test_the_honest_store_audits_clean_with_every_anchor(built, tmp_path, capsys):
    anchors = [built.anchor, *sorted(built.records.glob("*.json")), *sorted(built.pub.glob("*.json"))]
    assert len(anchors) >= 6
    rc, findings = audit(ls.copy(built, tmp_path), capsys, *anchors)
    assert (rc, findings) == (0, [])


@pytest.mark.parametrize("n", [1, 30])
def test_deleting_the_last_entries_is_caught(built, tmp_path, capsys, n):
    last = _last(built.db)
    n = min(n, last - 1)
    db = tampered(built, tmp_path, f"DELETE FROM ledger WHERE seq > {last - n}")
    assert ledger_verify(db, capsys) == 0  # the chain that is left is consistent
    rc, findings = audit(db, capsys)
    assert rc == 1 and findings, "truncation went unnoticed without an anchor"
    rc, findings = audit(db, capsys, built.anchor)
    assert rc == 1 and any(f["table"] == "anchor" and "head.anchor.json" in f["key"] for f in findings), findings


def test_truncation_is_caught_by_every_kind_of_anchor(built, tmp_path, capsys):
    """Cut the ledger back to before the draw: every record, public record and publication names what is gone."""
    with dbsj.Store(built.db, read_only=True) as s:
        commit = min(e.seq for e in dbsj.Ledger(s).entries() if e.kind.startswith("draw."))
    db = tampered(built, tmp_path, f"DELETE FROM ledger WHERE seq >= {commit}")
    anchors = {p.name: p for p in [built.anchor, *built.records.glob("*.json"), *built.pub.glob("*.json")]}
    rc, findings = audit(db, capsys, *anchors.values())
    assert rc == 1
    named = {f["key"].split(" (")[0] for f in findings if f["table"] == "anchor"}
    assert named == set(anchors), findings


def test_editing_a_later_entry_and_recomputing_the_chain_is_caught(built, tmp_path, capsys):
    """Undo the correction of a result — in the ledger and in the row alike — and re-hash the chain."""
    with dbsj.Store(built.db, read_only=True) as s:
        e = next(e for e in dbsj.Ledger(s).entries("result.recorded") if e.payload.get("supersedes"))
    payload = dict(e.payload, items={"SC-A07": "未发现问题"}, disposition="无须处置")
    db = ls.copy(built, tmp_path)
    con = connect(db)
    con.execute("UPDATE ledger SET payload = ? WHERE seq = ?", [json.dumps(payload, ensure_ascii=False), e.seq])
    con.execute("UPDATE results SET result_code = '未发现问题', disposition = '无须处置' WHERE ledger_seq = ?", [e.seq])
    rechain(con, e.seq)
    con.close()
    assert ledger_verify(db, capsys) == 0
    rc, findings = audit(db, capsys)
    # The store keeps the head each later publication carried: the rewritten chain no longer has it.
    assert rc == 1 and any(f["table"] == "publications" for f in findings), findings
    rc, findings = audit(db, capsys, built.anchor, *built.pub.glob("*.json"))
    assert any(f["table"] == "anchor" and "head.anchor.json" in f["key"] for f in findings), findings


def test_rewriting_the_last_entries_is_caught_by_an_anchor(built, tmp_path, capsys):
    """Edit the last import in its entry and its row alike, and re-hash from there: only an anchor can tell."""
    with dbsj.Store(built.db, read_only=True) as s:
        last = dbsj.Ledger(s).entries("pool.imported")[-1].seq
    db = ls.copy(built, tmp_path)
    con = connect(db)
    payload = json.loads(con.execute("SELECT payload FROM ledger WHERE seq = ?", [last]).fetchone()[0])
    payload["source"] = "forged"
    con.execute("UPDATE ledger SET payload = ? WHERE seq = ?", [json.dumps(payload, ensure_ascii=False), last])
    con.execute("UPDATE imports SET source = 'forged' WHERE import_id = ?", [payload["import_id"]])
    rechain(con, last)
    con.close()
    assert ledger_verify(db, capsys) == 0
    rc, findings = audit(db, capsys, built.anchor)
    assert rc == 1 and [f["table"] for f in findings] == ["anchor"], findings
    assert "rewritten" in findings[0]["message_en"]


@pytest.mark.parametrize("where", ["first", "middle", "last"])
def test_an_edited_entry_is_a_broken_link(built, tmp_path, capsys, where):
    last = _last(built.db)
    seq = {"first": 1, "middle": last // 2, "last": last}[where]
    db = tampered(built, tmp_path, f"UPDATE ledger SET subject = subject || 'x' WHERE seq = {seq}")
    assert ledger_verify(db, capsys) == 1
    rc, findings = audit(db, capsys)
    assert rc == 1 and any(f["table"] == "ledger" and f["key"] == f"#{seq}" for f in findings), findings


def test_a_deleted_middle_entry_is_a_gap(built, tmp_path, capsys):
    seq = _last(built.db) // 2
    db = tampered(built, tmp_path, f"DELETE FROM ledger WHERE seq = {seq}")
    rc, findings = audit(db, capsys)
    assert rc == 1 and any(f["table"] == "ledger" and f["key"] == f"#{seq + 1}" for f in findings), findings


def test_a_forged_entry_inserted_and_rechained_is_caught(built, tmp_path, capsys):
    """Insert a result entry in the middle, renumber everything after it and re-hash: every row naming a
    later entry now names the wrong one."""
    with dbsj.Store(built.db, read_only=True) as s:
        e = dbsj.Ledger(s).entries("result.recorded")[0]
    db = ls.copy(built, tmp_path)
    con = connect(db)
    rows = con.execute("SELECT seq FROM ledger WHERE seq > ? ORDER BY seq DESC", [e.seq]).fetchall()
    for (s,) in rows:
        con.execute("UPDATE ledger SET seq = ? WHERE seq = ?", [s + 1, s])
    con.execute("INSERT INTO ledger SELECT seq + 1, kind, subject, payload, recorded_at, prev_hash, hash FROM ledger "
                "WHERE seq = ?", [e.seq])
    rechain(con, e.seq + 1)
    con.close()
    assert ledger_verify(db, capsys) == 0
    rc, findings = audit(db, capsys)
    assert rc == 1 and findings


def test_anchors_out_of_order_and_a_forged_publication_file(built, tmp_path, capsys):
    db = ls.copy(built, tmp_path)
    with dbsj.Store(db, read_only=True) as s:
        entries = dbsj.Ledger(s).entries()
    early, late = entries[2], entries[-1]
    a = tmp_path / "a.json"
    b = tmp_path / "b.json"
    # a later head anchored with an earlier time than an earlier head: the anchors contradict the chain
    a.write_text(json.dumps({"format": dbsj.ANCHOR_FORMAT, "seq": early.seq, "head": early.hash,
                             "taken_at": "2023-06-02T10:00:00+08:00"}))
    b.write_text(json.dumps({"format": dbsj.ANCHOR_FORMAT, "seq": late.seq, "head": late.hash,
                             "taken_at": "2023-06-02T09:00:00+08:00"}))
    rc, findings = audit(db, capsys, a, b)
    assert rc == 1 and any("out of order" in f["message_en"] for f in findings), findings
    pub = sorted(built.pub.glob("*.json"))[0]
    forged = tmp_path / pub.name
    forged.write_text(pub.read_text(encoding="utf-8").replace("未发现问题", "发现问题经责令已改正", 1), encoding="utf-8")
    rc, findings = audit(db, capsys, forged)
    assert rc == 1 and [f["key"] for f in findings] == [f"{pub.name} (publication)"], findings


def test_ledger_head_keeps_an_anchor_and_bad_anchors_are_clear_errors(built, tmp_path, capsys):
    db = ls.copy(built, tmp_path)
    out = tmp_path / "head.json"
    assert main(["ledger", "head", "--db", str(db), "--out", str(out)]) == 0
    assert json.loads(out.read_text())["seq"] == _last(db)
    assert main(["ledger", "head", "--db", str(db), "--out", str(out)]) == 2  # never overwritten
    capsys.readouterr()
    assert audit(db, capsys, out)[0] == 0
    junk = tmp_path / "junk.json"
    junk.write_text("{\"hello\": 1}")
    capsys.readouterr()
    assert main(["audit", "--db", str(db), "--anchor", str(junk)]) == 2
    err = capsys.readouterr().err
    assert "junk.json" in err and "Traceback" not in err
    assert main(["audit", "--db", str(db), "--anchor", str(tmp_path / "missing.json")]) == 2
