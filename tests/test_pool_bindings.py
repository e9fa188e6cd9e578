"""The pool-content digest: SQL and the Python reference agree on any text; every change of a pool changes
it; an edit made outside dbsj is put on the ledger before the next import binds the pool again."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

import dbsj
import pooldata
from dbsj.store import bindings

_text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=12)


@settings(max_examples=25)
@given(st.lists(st.tuples(_text, st.one_of(st.none(), st.lists(st.one_of(st.none(), _text), max_size=3)),
                          st.one_of(st.none(), st.dates(dt.date(1990, 1, 1), dt.date(2030, 1, 1))), st.booleans()),
                min_size=0, max_size=6))
def test_sql_and_the_python_reference_give_the_same_digest(rows):
    with dbsj.Store(":memory:") as s:
        data = [{"uscc": pooldata.uscc(i), "name": n, "tags": t, "established": e, "active": a}
                for i, (n, t, e, a) in enumerate(rows)]
        if data:
            pooldata.insert(s, "targets", [{k: v for k, v in r.items() if k != "active"} for r in data])
            for r in data:
                s.execute("UPDATE targets SET active = ? WHERE uscc = ?", [r["active"], r["uscc"]])
        sql = bindings.bucket_digests(s, "targets")
        assert (sum(n for n, _d in sql.values()), bindings.combine_buckets(sql)) == bindings.content_digest("targets", data)


def test_any_change_changes_the_digest_whatever_the_row_order():
    rows = [{"uscc": pooldata.uscc(i), "name": f"企业{i}", "tags": ["a", "b"], "active": True} for i in range(50)]
    n, base = bindings.content_digest("targets", rows)
    assert bindings.content_digest("targets", list(reversed(rows)))[1] == base
    variants = [rows[1:], rows + [dict(rows[0], uscc=pooldata.uscc(99))], [dict(rows[0], name="企业0 ")] + rows[1:],
                [dict(rows[0], tags=["a|b"])] + rows[1:], [dict(rows[0], tags=["b", "a"])] + rows[1:],
                [dict(rows[0], active=False)] + rows[1:], [dict(rows[0], name=None)] + rows[1:]]
    assert len({bindings.content_digest("targets", v)[1] for v in variants} | {base}) == len(variants) + 1


def _targets(n: int) -> pa.Table:
    return pa.table({"uscc": [pooldata.uscc(i) for i in range(n)], "name": [f"企业{i}" for i in range(n)],
                     "entity_kind": ["企业"] * n, "status": ["存续"] * n, "region": ["650102"] * n})


def test_an_edit_outside_dbsj_is_ledgered_before_the_next_import_rebinds(tmp_path):
    with dbsj.Store(tmp_path / "s.duckdb") as s:
        dbsj.import_batches(s, "targets", _targets(20), source="a", quarantine_dir=tmp_path)
        assert dbsj.audit_store(s).ok
        s.execute("UPDATE targets SET credit_class = 'A' WHERE uscc = ?", [pooldata.uscc(3)])
        report = dbsj.audit_store(s)
        assert [f.table for f in report.findings] == ["targets"] and pooldata.uscc(3)[-2:] in report.findings[0].key
        dbsj.import_batches(s, "targets", _targets(20), source="b", quarantine_dir=tmp_path)
        drift = dbsj.Ledger(s).entries("pool.drift")
        assert [e.subject for e in drift] == ["targets"]
        assert drift[0].payload["differences"][0]["bucket"] == pooldata.uscc(3)[-2:]
        # the new binding holds the pool as it is now, but the audit keeps reporting what the ledger recorded
        assert [f.table for f in dbsj.audit_store(s).findings] == ["targets"]
