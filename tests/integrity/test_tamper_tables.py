"""Tamper with every table of a real store, as someone with the file and a DuckDB shell would: change a
value, swap two rows, delete a row, insert a row. ``dbsj audit`` must report each edit by table and key.

The tables are enumerated from a real store, so a table added to the schema without audit coverage (or
without tamper cases here) fails ``test_every_table_is_covered``. Tables the draw layer owns are tampered
only when its ``audit_draws`` / ``audit_assignments`` exist; then ``dbsj verify RECORD --db`` must also fail.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import duckdb
import pytest

import dbsj
import lifecycle_store as ls
from dbsj.audit.store_audit import layer_audit
from dbsj.cli import main

Tamper = Callable[[duckdb.DuckDBPyConnection], tuple[str, str]]


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DBSJ_NOW", dbsj.testing.fixtures.PLAN_YEAR_NOW)
        dbsj.set_now(None)
        b = ls.build(tmp_path_factory.mktemp("tamper"))
        dbsj.reset_plugin_manager(None)
    return b


def audit_json(db: Path, capsys, *anchors: Path) -> tuple[int, dict]:
    capsys.readouterr()
    rc = main(["audit", "--db", str(db), "--json", *[a for p in anchors for a in ("--anchor", str(p))]])
    return rc, json.loads(capsys.readouterr().out)


def names(finding: dict, table: str, key: str) -> bool:
    """The finding is about ``table`` and its key names ``key`` (exactly, inside it, or within a range a–b)."""
    if finding["table"] != table:
        return False
    k = finding["key"]
    if key in k:
        return True
    if key.isdigit():
        for lo, hi in re.findall(r"(\d+)–(\d+)", k):
            if int(lo) <= int(key) <= int(hi):
                return True
    return False


# -- tamper cases -------------------------------------------------------------------------------------------

def _one(con, sql: str, params: list | None = None):
    return con.execute(sql, params or []).fetchone()


def _bucket(key: str) -> str:
    return f"bucket {key[-2:]!r}"


def _pool(table: str, key_col: str, edit: str) -> Tamper:
    def run(con):
        key = _one(con, f"SELECT {key_col} FROM {table} ORDER BY {key_col} LIMIT 1 OFFSET 2")[0]
        con.execute(edit.format(table=table, key_col=key_col), [key])
        return table, _bucket(key)
    return run


def _pool_delete(table: str, key_col: str) -> Tamper:
    return _pool(table, key_col, "DELETE FROM {table} WHERE {key_col} = ?")


def _pool_insert(table: str, key_col: str, new_key: str) -> Tamper:
    def run(con):
        key = _one(con, f"SELECT {key_col} FROM {table} ORDER BY {key_col} LIMIT 1 OFFSET 1")[0]
        con.execute(f"CREATE TEMP TABLE x AS SELECT * FROM {table} WHERE {key_col} = ?", [key])
        con.execute(f"UPDATE x SET {key_col} = ?", [new_key])
        con.execute(f"INSERT INTO {table} SELECT * FROM x")
        return table, _bucket(new_key)
    return run


def _pool_swap(table: str, key_col: str, col: str, where: str = "TRUE") -> Tamper:
    """Exchange ``col`` between two rows (that differ in it)."""
    def run(con):
        rows = con.execute(f"SELECT {key_col}, CAST({col} AS VARCHAR) FROM {table} WHERE {where} ORDER BY {key_col}").fetchall()
        a = rows[0]
        b = next(r for r in rows[1:] if r[1] != a[1])
        con.execute(f"CREATE TEMP TABLE v AS SELECT {key_col} AS k, {col} AS c FROM {table} WHERE {where} AND {key_col} IN (?, ?)",
                    [a[0], b[0]])
        con.execute(f"UPDATE {table} t SET {col} = (SELECT c FROM v WHERE v.k <> t.{key_col}) "
                    f"WHERE {where} AND {key_col} IN (?, ?)", [a[0], b[0]])
        return table, _bucket(a[0])
    return run


def _sql(table: str, key: str, *statements: str) -> Tamper:
    def run(con):
        for st in statements:
            con.execute(st)
        return table, key
    return run


def _results_key(con, offset: int) -> str:
    return str(_one(con, "SELECT entry_no FROM results ORDER BY entry_no LIMIT 1 OFFSET ?", [offset])[0])


def _results(edit: str, offset: int) -> Tamper:
    def run(con):
        no = _results_key(con, offset)
        con.execute(edit, [int(no)])
        return "results", no
    return run


def _results_swap(con):
    a, b = [str(n) for n, in con.execute("SELECT min(entry_no) FROM results GROUP BY result_code ORDER BY 1").fetchall()[:2]]
    con.execute("CREATE TEMP TABLE v AS SELECT entry_no, result_code FROM results WHERE entry_no IN (?, ?)", [int(a), int(b)])
    con.execute("UPDATE results r SET result_code = (SELECT result_code FROM v WHERE v.entry_no <> r.entry_no) "
                "WHERE entry_no IN (?, ?)", [int(a), int(b)])
    return "results", a


def _results_insert(con):
    con.execute("CREATE TEMP TABLE x AS SELECT * FROM results ORDER BY entry_no DESC LIMIT 1")
    con.execute("UPDATE x SET entry_no = entry_no + 100, item_code = 'SC-B01'")
    con.execute("INSERT INTO results SELECT * FROM x")
    return "results", str(_one(con, "SELECT max(entry_no) FROM results")[0])


def _task_event(edit: str) -> Tamper:
    def run(con):
        task, seq = _one(con, "SELECT task_id, ledger_seq FROM task_events ORDER BY ledger_seq LIMIT 1 OFFSET 1")
        con.execute(edit, [seq])
        return "task_events", task
    return run


def _task_event_insert(con):
    con.execute("INSERT INTO task_events SELECT * FROM task_events ORDER BY ledger_seq DESC LIMIT 1")
    return "task_events", "ledger #"


def _task_event_swap(con):
    (a, sa), (b, sb) = con.execute("SELECT task_id, ledger_seq FROM task_events ORDER BY ledger_seq LIMIT 2").fetchall()
    con.execute("UPDATE task_events SET ledger_seq = CASE WHEN ledger_seq = ? THEN ? ELSE ? END "
                "WHERE ledger_seq IN (?, ?)", [sa, sb, sa, sa, sb])
    return "task_events", a


def _publication_file(con):
    """Move the published files to a folder of this test's own (allowed: files move), then alter one."""
    batch_id, files = _one(con, "SELECT batch_id, files FROM publications ORDER BY batch_id LIMIT 1")
    here = Path(con.execute("SELECT current_setting('temp_directory')").fetchone()[0]).parent / "moved"
    here.mkdir(exist_ok=True)
    for bid, f in con.execute("SELECT batch_id, files FROM publications").fetchall():
        moved = {}
        for fmt, p in json.loads(f).items():
            (here / Path(p).name).write_bytes(Path(p).read_bytes())
            moved[fmt] = str(here / Path(p).name)
        con.execute("UPDATE publications SET files = ? WHERE batch_id = ?", [json.dumps(moved, ensure_ascii=False), bid])
    path = here / Path(json.loads(files)["csv"]).name
    path.write_bytes(path.read_bytes().replace("未发现问题".encode(), "发现问题经责令已改正".encode(), 1))
    return "publications", f"{batch_id}.csv"


def _receipts_swap(con):
    (a, pa_), (b, pb) = con.execute("SELECT batch_id, receipt FROM publication_receipts ORDER BY batch_id").fetchall()[:2]
    con.execute("UPDATE publication_receipts SET receipt = CASE WHEN batch_id = ? THEN ? ELSE ? END", [a, pb, pa_])
    return "publication_receipts", a


def _followups_swap(con):
    (k1, u1), (k2, u2) = con.execute("SELECT kind, uscc FROM followups ORDER BY kind, uscc").fetchall()[:2]
    con.execute("CREATE TEMP TABLE v AS SELECT kind, uscc, detail FROM followups")
    con.execute("UPDATE followups f SET detail = (SELECT v.detail FROM v WHERE v.kind <> f.kind OR v.uscc <> f.uscc LIMIT 1)")
    return "followups", "ledger #"


def _entries_swap(con):
    (ba, na), (bb, nb) = con.execute("SELECT min(batch_id), min(entry_no) FROM publication_entries GROUP BY batch_id "
                                     "ORDER BY 1").fetchall()[:2]
    con.execute("DELETE FROM publication_entries WHERE (batch_id = ? AND entry_no = ?) OR (batch_id = ? AND entry_no = ?)",
                [ba, na, bb, nb])
    con.execute("INSERT INTO publication_entries VALUES (?, ?, DATE '2023-07-01'), (?, ?, DATE '2023-07-01')",
                [ba, nb, bb, na])
    return "publication_entries", ba


def _plan_rehashed(con):
    plan_id, body = _one(con, "SELECT plan_id, CAST(body AS VARCHAR) FROM plans")
    new = body.replace('"min":0.1', '"min":0.01')
    assert new != body
    con.execute("UPDATE plans SET body = ?, sha256 = sha256(?) WHERE plan_id = ?", [new, new, plan_id])
    return "plans", plan_id


def _step_insert(con):
    seq = _one(con, "SELECT max(seq) FROM ledger")[0]
    con.execute("INSERT INTO steps_in_progress VALUES (?, 'publish.deliver', 'ghost', '{}', now())", [seq])
    return "steps_in_progress", "ghost"


CASES: dict[str, dict[str, Tamper]] = {
    "items": {"change": _pool("items", "code", "UPDATE {table} SET name = '改过的名称' WHERE {key_col} = ?"),
              "delete": _pool_delete("items", "code"), "insert": _pool_insert("items", "code", "SC-Z99"),
              "swap": _pool_swap("items", "code", "department")},
    "targets": {"change": _pool("targets", "uscc", "UPDATE {table} SET credit_class = 'A' WHERE {key_col} = ?"),
                "delete": _pool_delete("targets", "uscc"), "insert": _pool_insert("targets", "uscc", "91650100MA9999999X"),
                "swap": _pool_swap("targets", "uscc", "credit_class"),
                "deactivate": _pool("targets", "uscc", "UPDATE {table} SET active = false WHERE {key_col} = ?")},
    "inspectors": {"change": _pool("inspectors", "staff_id",
                                   "UPDATE {table} SET certificate_expiry = DATE '2030-01-01' WHERE {key_col} = ?"),
                   "delete": _pool_delete("inspectors", "staff_id"),
                   "insert": _pool_insert("inspectors", "staff_id", "市65010099"),
                   "swap": _pool_swap("inspectors", "staff_id", "department")},
    "history": {"change": _pool("history", "uscc", "UPDATE {table} SET staff_ids = ['冒名'] WHERE {key_col} = ?"),
                "delete": _pool_delete("history", "uscc"),
                "insert": _sql("history", "bucket '2Y'", "INSERT INTO history VALUES ('91650100MA0000002Y', 'SC-A07', "
                               "DATE '2023-05-01', '', ['冒名'], true, NULL, NULL)"),
                "swap": _pool_swap("history", "uscc", "inspected_on", "task_id = ''")},
    "imports": {"change": _sql("imports", "2", "UPDATE imports SET accepted = accepted + 1 WHERE import_id = 2"),
                "delete": _sql("imports", "3", "DELETE FROM imports WHERE import_id = 3"),
                "insert": _sql("imports", "42", "INSERT INTO imports SELECT 42, kind, source, source_sha256, encoding, "
                               "snapshot, read, accepted, quarantined, normalised, inserted, updated, unchanged, "
                               "deactivated, quarantine_file, imported_at FROM imports WHERE import_id = 1"),
                "swap": _sql("imports", "1", "UPDATE imports SET source = CASE import_id WHEN 1 THEN 'test:targets' "
                             "ELSE 'test:items' END WHERE import_id IN (1, 2)")},
    "pool_changes": {"change": _sql("pool_changes", "import", "UPDATE pool_changes SET new_value = 'x' WHERE "
                                    "key = (SELECT min(key) FROM pool_changes)"),
                     "delete": _sql("pool_changes", "import", "DELETE FROM pool_changes WHERE key = (SELECT min(key) "
                                    "FROM pool_changes)"),
                     "insert": _sql("pool_changes", "import", "INSERT INTO pool_changes SELECT import_id, kind, key, "
                                    "'status', '存续', '注销' FROM pool_changes LIMIT 1"),
                     "swap": _sql("pool_changes", "import", "UPDATE pool_changes SET old_value = new_value, "
                                  "new_value = old_value")},
    "pool_digests": {"change": _sql("pool_digests", "targets", "UPDATE pool_digests SET digest = sha256('x') "
                                    "WHERE kind = 'targets'"),
                     "delete": _sql("pool_digests", "targets", "DELETE FROM pool_digests WHERE kind = 'targets'"),
                     "insert": _sql("pool_digests", "history", "INSERT INTO pool_digests VALUES ('history', 1, "
                                    "sha256('x'), now())"),
                     "swap": _sql("pool_digests", "items", "UPDATE pool_digests SET digest = CASE kind WHEN 'items' "
                                  "THEN (SELECT digest FROM pool_digests WHERE kind = 'inspectors') ELSE (SELECT digest "
                                  "FROM pool_digests WHERE kind = 'items') END WHERE kind IN ('items', 'inspectors')")},
    "pool_bindings": {"change": _sql("pool_bindings", "targets", "UPDATE pool_bindings SET digest = sha256('x') "
                                     "WHERE kind = 'targets'"),
                      "delete": _sql("pool_bindings", "history", "DELETE FROM pool_bindings WHERE kind = 'history'"),
                      "insert": _sql("pool_bindings", "ghost", "INSERT INTO pool_bindings VALUES ('ghost', 1, sha256('x'), 1)"),
                      "swap": _sql("pool_bindings", "items", "UPDATE pool_bindings SET ledger_seq = CASE kind WHEN 'items' "
                                   "THEN (SELECT ledger_seq FROM pool_bindings WHERE kind = 'inspectors') ELSE "
                                   "(SELECT ledger_seq FROM pool_bindings WHERE kind = 'items') END "
                                   "WHERE kind IN ('items', 'inspectors')")},
    "pool_buckets": {"change": _sql("pool_buckets", "targets", "UPDATE pool_buckets SET digest = sha256('x') WHERE "
                                    "kind = 'targets' AND bucket = (SELECT min(bucket) FROM pool_buckets WHERE kind = 'targets')"),
                     "delete": _sql("pool_buckets", "items", "DELETE FROM pool_buckets WHERE kind = 'items' AND "
                                    "bucket = '07'"),
                     "insert": _sql("pool_buckets", "items", "INSERT INTO pool_buckets VALUES ('items', 'ZZ', 1, sha256('x'))"),
                     "swap": _sql("pool_buckets", "items", "UPDATE pool_buckets SET rows = rows + 1 WHERE kind = 'items' "
                                  "AND bucket = '01'; UPDATE pool_buckets SET rows = rows - 1 WHERE kind = 'items' "
                                  "AND bucket = '07'")},
    "plans": {"change": _sql("plans", "XJ2023", "UPDATE plans SET body = replace(CAST(body AS VARCHAR), '\"min\":0.1', "
                             "'\"min\":0.01')"),
              "rehash": _plan_rehashed,
              "delete": _sql("plans", "XJ2023", "DELETE FROM plans"),
              "insert": _sql("plans", "XJ2099", "INSERT INTO plans SELECT 'XJ2099', year, sha256(replace(CAST(body AS "
                             "VARCHAR), 'XJ2023', 'XJ2099')), replace(CAST(body AS VARCHAR), 'XJ2023', 'XJ2099'), stored_at "
                             "FROM plans WHERE plan_id = 'XJ2023'")},
    "results": {"change": _results("UPDATE results SET result_code = '公示信息隐瞒真实情况弄虚作假' WHERE entry_no = ?", 4),
                "change-single": _results("UPDATE results SET staff_id = '冒名' WHERE entry_no = ?", 1),
                "delete": _results("DELETE FROM results WHERE entry_no = ?", 2),
                "insert": _results_insert, "swap": _results_swap},
    "task_events": {"change": _task_event("UPDATE task_events SET to_state = 'closed' WHERE ledger_seq = ?"),
                    "delete": _task_event("DELETE FROM task_events WHERE ledger_seq = ?"),
                    "insert": _task_event_insert, "swap": _task_event_swap},
    "publications": {"change": _sql("publications", "-002-", "UPDATE publications SET number = 3 WHERE number = 2"),
                     "delete": _sql("publications", "-002-", "DELETE FROM publications WHERE number = 2"),
                     "insert": _sql("publications", "-009-", "INSERT INTO publications SELECT replace(batch_id, '-002-', "
                                    "'-009-'), authority, year, 9, notice_title, published_on, entries, ledger_head, files, "
                                    "ledger_seq FROM publications WHERE number = 2"),
                     "swap": _sql("publications", "-001-", "UPDATE publications SET notice_title = CASE number WHEN 1 "
                                  "THEN (SELECT notice_title FROM publications WHERE number = 2) ELSE (SELECT notice_title "
                                  "FROM publications WHERE number = 1) END"),
                     "file": _publication_file},
    "publication_entries": {"change": _sql("publication_entries", "-001-", "UPDATE publication_entries SET due = DATE "
                                           "'2023-12-31' WHERE entry_no = (SELECT min(entry_no) FROM publication_entries)"),
                            "delete": _sql("publication_entries", "-001-", "DELETE FROM publication_entries WHERE "
                                           "entry_no = (SELECT min(entry_no) FROM publication_entries)"),
                            "insert": _sql("publication_entries", "-002-", "INSERT INTO publication_entries SELECT "
                                           "(SELECT batch_id FROM publications WHERE number = 2), max(entry_no) + 1, "
                                           "DATE '2023-07-01' FROM results"),
                            "swap": _entries_swap},
    "publication_receipts": {"change": _sql("publication_receipts", "-001-", "UPDATE publication_receipts SET receipt = "
                                            "'{\"delivered\": true, \"reference\": \"FAKE\"}' WHERE batch_id LIKE '%-001-%'"),
                             "delete": _sql("publication_receipts", "-002-", "DELETE FROM publication_receipts WHERE "
                                            "batch_id LIKE '%-002-%'"),
                             "insert": _sql("publication_receipts", "ledger #", "INSERT INTO publication_receipts "
                                            "SELECT * FROM publication_receipts LIMIT 1"),
                             "swap": _receipts_swap},
    "followups": {"change": _sql("followups", "ledger #", "UPDATE followups SET detail = '{\"rule\": \"x\"}' WHERE "
                                 "kind = (SELECT min(kind) FROM followups)"),
                  "delete": _sql("followups", "", "DELETE FROM followups WHERE kind = (SELECT min(kind) "
                                 "FROM followups)"),
                  "insert": _sql("followups", "T9", "INSERT INTO followups VALUES ('disposition', 'T9', "
                                 "'91650100MA0000000Q', '市场监管', '{}', DATE '2023-06-01')"),
                  "swap": _followups_swap},
    "calendar_sources": {"change": _sql("calendar_sources", "2024/national", "UPDATE calendar_sources SET number = "
                                        "'国办发明电〔2099〕1号' WHERE year = 2024"),
                         "delete": _sql("calendar_sources", "2027/65", "DELETE FROM calendar_sources WHERE region = '65'"),
                         "insert": _sql("calendar_sources", "2025/national", "INSERT INTO calendar_sources SELECT 2025, "
                                        "region, region_name, title, number, url, published, example, file_name, "
                                        "file_sha256, days_sha256, imported_at, ledger_seq FROM calendar_sources "
                                        "WHERE year = 2024"),
                         "swap": _sql("calendar_sources", "2027", "UPDATE calendar_sources SET ledger_seq = CASE "
                                      "WHEN ledger_seq = (SELECT min(ledger_seq) FROM calendar_sources WHERE year = 2027) "
                                      "THEN (SELECT max(ledger_seq) FROM calendar_sources WHERE year = 2027) ELSE "
                                      "(SELECT min(ledger_seq) FROM calendar_sources WHERE year = 2027) END "
                                      "WHERE year = 2027")},
    "calendar_days": {"change": _sql("calendar_days", "2024/national", "UPDATE calendar_days SET kind = 'workday' "
                                     "WHERE day = DATE '2024-10-07'"),
                      "delete": _sql("calendar_days", "2027/65", "DELETE FROM calendar_days WHERE day = DATE '2027-03-10'"),
                      "insert": _sql("calendar_days", "2024/national", "INSERT INTO calendar_days VALUES "
                                     "(DATE '2024-03-04', '', 'holiday', '假日')"),
                      "swap": _sql("calendar_days", "2024/national", "UPDATE calendar_days SET name = CASE name WHEN "
                                   "'元旦' THEN '国庆节' ELSE '元旦' END WHERE day IN (DATE '2024-01-01', DATE '2024-10-01')")},
    "steps_in_progress": {"insert": _step_insert},
    # draws belong to the draw layer, but every row that names a ledger entry is checked here too
    "draws": {"ledger_seq": _sql("draws", "", "UPDATE draws SET ledger_seq = (SELECT min(seq) FROM ledger) "
                                 "WHERE status = 'drawn'")},
}

#: Tables whose rows only other layers' audit functions check.
LAYERS = {"audit_draws", "audit_assignments"}


def _layer_case(table: str, how: str) -> Tamper:
    """A generic, realistic edit of a draw-layer table (its layer's audit function decides what it binds)."""
    def run(con):
        cols = con.execute("SELECT column_name, data_type FROM information_schema.columns WHERE table_name = ? "
                           "ORDER BY ordinal_position", [table]).fetchall()
        pk = {c for (cs,) in con.execute("SELECT constraint_column_names FROM duckdb_constraints() WHERE table_name = ? "
                                         "AND constraint_type = 'PRIMARY KEY'", [table]).fetchall() for c in cs}
        n = _one(con, f'SELECT count(*) FROM "{table}"')[0]
        assert n >= 2, f"{table} needs rows for this test"

        def changed(name: str, typ: str) -> str:
            if typ.startswith(("VARCHAR", "JSON")):
                return f"\"{name}\" || 'x'" if typ == "VARCHAR" else f"CAST(\"{name}\" AS VARCHAR)"
            if typ in ("INTEGER", "BIGINT", "DATE"):
                return f'"{name}" + 1'
            if typ == "BOOLEAN":
                return f'NOT "{name}"'
            if typ == "BLOB":
                return f"\"{name}\" || '\\x00'::BLOB"
            return f'"{name}"'

        if how == "delete":
            con.execute(f'DELETE FROM "{table}" WHERE rowid = (SELECT max(rowid) FROM "{table}")')
        elif how == "insert":
            con.execute(f'CREATE TEMP TABLE x AS SELECT * FROM "{table}" ORDER BY rowid LIMIT 1')
            for name, typ in cols:
                if name in pk:
                    con.execute(f'UPDATE x SET "{name}" = {changed(name, typ)}')
            con.execute(f'INSERT INTO "{table}" SELECT * FROM x')
        elif how == "change":
            name, typ = next((c for c in cols if c[0] in ("uscc", "staff_id", "ticket", "status", "reason", "rank")),
                             next(c for c in cols if c[0] not in pk))
            con.execute(f'UPDATE "{table}" SET "{name}" = {changed(name, typ)} WHERE rowid = (SELECT min(rowid) FROM "{table}")')
        else:  # swap one column between two rows, where that changes the table (not a mere relabelling)
            names = [c for c, _t in cols]
            rows = con.execute(f'SELECT rowid, * FROM "{table}" ORDER BY rowid').fetchall()
            order = sorted(range(len(names)), key=lambda i: (names[i] not in ("uscc", "staff_id", "rank", "stratum",
                                                                             "status"), names[i] in pk, i))
            for i in order:
                pair = next(((a, b) for j, a in enumerate(rows) for b in rows[j + 1:]
                             if a[i + 1] != b[i + 1] and a[i + 1] is not None and b[i + 1] is not None
                             and a[1:i + 1] + a[i + 2:] != b[1:i + 1] + b[i + 2:]), None)
                if pair is not None:
                    a, b = pair
                    con.execute(f'UPDATE "{table}" SET "{names[i]}" = ? WHERE rowid = ?', [b[i + 1], a[0]])
                    con.execute(f'UPDATE "{table}" SET "{names[i]}" = ? WHERE rowid = ?', [a[i + 1], b[0]])
                    break
            else:
                pytest.skip(f"no two rows of {table} whose swap changes the table")
        return table, ""
    return run


def _tables(db: Path) -> list[str]:
    with dbsj.Store(db, read_only=True) as s:
        return [t for (t,) in s.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = 'main' "
                                        "ORDER BY 1").fetchall()]


def test_every_table_is_covered(built):
    tables = _tables(built.db)
    assert "results" in tables and "ledger" in tables
    missing = [t for t in tables if t not in dbsj.TABLE_COVERAGE]
    assert missing == [], f"tables the audit does not cover (add them to dbsj.TABLE_COVERAGE): {missing}"
    for t in tables:
        cov = dbsj.TABLE_COVERAGE[t]
        assert cov.how.strip(), t
        if cov.check is None or t == "ledger":
            continue  # no bound data (the reason is listed) / the ledger has its own tamper suite
        if cov.check in LAYERS:
            continue
        assert t in CASES, f"table {t} (checked by {cov.check}) has no tamper case in this suite"


def test_the_untouched_store_audits_clean(built, tmp_path, capsys):
    rc, report = audit_json(ls.copy(built, tmp_path), capsys)
    assert rc == 0 and report["ok"] and report["findings"] == [], report["findings"]
    assert {"ledger", "pools", "results", "publications"} <= set(report["checked"])


def _cases():
    for table, cases in sorted(CASES.items()):
        for name in sorted(cases):
            yield pytest.param(table, name, id=f"{table}-{name}")


@pytest.mark.parametrize("table, case", list(_cases()))
def test_tampering_is_reported_by_table_and_key(built, tmp_path, capsys, table, case):
    db = ls.copy(built, tmp_path)
    con = duckdb.connect(str(db))
    try:
        want_table, want_key = CASES[table][case](con)
    finally:
        con.close()
    rc, report = audit_json(db, capsys)
    assert rc == 1 and not report["ok"], f"{table}/{case} went unnoticed"
    assert any(names(f, want_table, want_key) for f in report["findings"]), \
        f"{table}/{case}: expected a finding on {want_table} [{want_key}], got {report['findings']}"


def _layer_cases():
    for table, cov in sorted(dbsj.TABLE_COVERAGE.items()):
        if cov.check in LAYERS:
            for how in ("change", "delete", "insert", "swap"):
                yield pytest.param(table, cov.check, how, id=f"{table}-{how}")


@pytest.mark.parametrize("table, check, how", list(_layer_cases()))
def test_tampering_with_draw_tables_is_reported(built, tmp_path, capsys, table, check, how):
    if layer_audit(check) is None:
        pytest.skip(f"{check} is not provided by this dbsj's draw layer yet; {table} gains this test when it is")
    db = ls.copy(built, tmp_path)
    con = duckdb.connect(str(db))
    try:
        if _one(con, f'SELECT count(*) FROM "{table}"')[0] < 2:
            pytest.fail(f"the test store has fewer than two rows in {table}: extend lifecycle_store.build")
        _layer_case(table, how)(con)
    finally:
        con.close()
    rc, report = audit_json(db, capsys)
    assert rc == 1 and any(f["table"] == table for f in report["findings"]), report["findings"]
    # the draw's own tables: a record must no longer verify against the store — except for a row inserted under
    # a new draw or run id, which belongs to no record (the audit above reports it)
    if check == "audit_draws" and not (how == "insert" and table in ("draws", "draw_runs", "draw_seals")):
        verified = [main(["verify", str(p), "--db", str(db)]) for p in sorted(built.records.glob("*.draw.json"))]
        assert 1 in verified, f"dbsj verify --db passed every record after {how} on {table}"


@pytest.mark.parametrize("lang, word", [("zh", "审计发现"), ("en", "audit found")])
def test_the_cli_names_table_and_key_in_both_languages(built, tmp_path, capsys, lang, word):
    db = ls.copy(built, tmp_path)
    con = duckdb.connect(str(db))
    no = con.execute("SELECT max(entry_no) FROM results").fetchone()[0]
    con.execute("DELETE FROM results WHERE entry_no = ?", [no])
    con.close()
    capsys.readouterr()
    assert main(["--lang", lang, "audit", "--db", str(db)]) == 1
    out = capsys.readouterr().out
    assert f"results [{no}]" in out and word in out
