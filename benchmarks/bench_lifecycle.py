"""Lifecycle benchmark: results, publication, follow-up, assessment and report on a synthetic year.

One joint task with N drawn targets (two items each, a team of two) in an in-memory store. Each step is
timed beside a floor measured in the same run on the same data:

- bulk recording (all checks, history, ledger, task states) vs a bare Arrow INSERT of the same rows;
- one visit recorded through the API (mean of repeated calls) on the loaded store;
- publication (CSV + XLSX + JSON, ledger) vs DuckDB's COPY of the same rows to CSV;
- follow-up (event rules on durable_rules over every result), assessment (SQL) and the HTML report.

Prints one JSON object. ``BENCH_LIFECYCLE_N`` sets N (default 20000).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import tempfile
import time
from pathlib import Path

import pyarrow as pa

os.environ.setdefault("DBSJ_NOW", "2023-11-30T09:00:00")

import dbsj  # noqa: E402

N = int(os.environ.get("BENCH_LIFECYCLE_N", "20000"))
PREFS = sorted(dbsj.XINJIANG_PREFECTURES)
CODES = ["未发现问题"] * 8 + ["未按规定公示应当公示的信息", "发现问题经责令已改正"]


def _seed(store: dbsj.Store) -> list[str]:
    plan = dbsj.Plan.model_validate({
        "id": "BENCH", "year": 2023, "authority": "新疆维吾尔自治区市场监督管理局", "title": "基准",
        "tasks": [{"id": "T1", "name": "联合抽查", "sponsor": "市场监管", "partners": ["卫生健康"], "items": ["A07", "B01"],
                   "sampling": {"strata": ["credit_class"], "quota": 0.05}, "start": "2023-03-01",
                   "batches": [{"name": "全年", "deadline": "2023-11-30"}]}]})
    store.execute("INSERT INTO plans (plan_id, year, sha256, body, stored_at) VALUES (?, ?, ?, ?, now())",
                  [plan.id, plan.year, plan.digest(), plan.canonical_json()])
    store.execute("INSERT INTO items (code, name, department, category) VALUES "
                  "('A07', '公示信息抽查', '市场监管', 'general'), ('B01', '卫生抽查', '卫生健康', 'general')")
    usccs = [f"91{PREFS[i % 14]}MA{i:08d}" for i in range(N)]
    targets = pa.table({"uscc": usccs, "name": [f"企业{i}" for i in range(N)], "entity_kind": ["企业"] * N,
                        "status": ["存续"] * N, "region": [PREFS[i % 14] for i in range(N)],
                        "credit_class": ["ABCD"[i % 4] for i in range(N)]})
    store.con.register("_t", targets)
    store.execute("INSERT INTO targets (uscc, name, entity_kind, status, region, credit_class) SELECT * FROM _t")
    store.execute("INSERT INTO draws (draw_id, plan_id, task_id, attempt, algorithm, status, created_at) "
                  "VALUES ('D1', 'BENCH', 'T1', 1, 'dbsj-sha256-bottomk/1', 'drawn', TIMESTAMPTZ '2023-03-10 10:00:00+08')")
    store.execute("""INSERT INTO selections (draw_id, plan_id, task_id, stratum, rank, uscc, ticket)
                     SELECT 'D1', 'BENCH', 'T1', 'credit_class=' || credit_class, row_number() OVER (), uscc, sha256(uscc)
                     FROM _t""")
    store.execute("""INSERT INTO assignments (draw_id, plan_id, visit_id, task_id, uscc, staff_id, department)
                     SELECT 'D1', 'BENCH', 'V' || uscc, 'T1', uscc, 'M' || (hash(uscc) % 200)::VARCHAR, '市场监管' FROM _t
                     UNION ALL
                     SELECT 'D1', 'BENCH', 'V' || uscc, 'T1', uscc, 'H' || (hash(uscc) % 100)::VARCHAR, '卫生健康' FROM _t""")
    store.con.unregister("_t")
    return usccs


def _results(store: dbsj.Store, usccs: list[str]) -> list[dbsj.Result]:
    staff = dict(store.execute("SELECT uscc, min(staff_id) FROM assignments GROUP BY uscc").fetchall())
    start = dt.date(2023, 4, 3)
    return [dbsj.Result(task_id="T1", uscc=u, staff_id=staff[u], items={"A07": CODES[i % 10], "B01": CODES[(i * 7) % 10]},
                        inspected_on=start + dt.timedelta(days=i % 200)) for i, u in enumerate(usccs[:-50])]


def _timed(fn):  # noqa: ANN001, ANN202
    t = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t


def main() -> None:
    dbsj.reset_plugin_manager(dbsj.PluginManager(load_entry_points=False))
    out: dict[str, object] = {"targets": N}
    with dbsj.Store(":memory:") as store, tempfile.TemporaryDirectory() as tmp:
        usccs = _seed(store)
        results = _results(store, usccs)
        entries = sum(len(r.items) for r in results)
        recs, t_record = _timed(lambda: dbsj.record_results(store, results))
        # floor: the same rows inserted bare, no checks
        floor = store.execute("SELECT * FROM results").to_arrow_table()
        store.execute("CREATE TABLE results_floor AS SELECT * FROM results WHERE FALSE")
        store.con.register("_floor", floor)
        _, t_floor = _timed(lambda: store.execute("INSERT INTO results_floor SELECT * FROM _floor"))
        out["record_bulk"] = {"visits": len(recs), "entries": entries, "seconds": round(t_record, 3),
                              "entries_per_s": round(entries / t_record), "bare_insert_s": round(t_floor, 4),
                              "ratio_to_bare_insert": round(t_record / max(t_floor, 1e-6), 1)}
        staff = dict(store.execute("SELECT uscc, min(staff_id) FROM assignments GROUP BY uscc").fetchall())
        singles = usccs[-50:]
        _, t_single = _timed(lambda: [dbsj.record_result(store, dbsj.Result(
            task_id="T1", uscc=u, staff_id=staff[u], items={"A07": "未发现问题"}, inspected_on=dt.date(2023, 11, 20)))
            for u in singles])
        out["record_one_visit_ms"] = round(1000 * t_single / len(singles), 2)
        batches, t_pub = _timed(lambda: dbsj.publish(store, Path(tmp) / "pub"))
        _, t_copy = _timed(lambda: store.execute(
            f"COPY (SELECT * FROM results) TO '{Path(tmp) / 'floor.csv'}' (HEADER)"))
        out["publish"] = {"entries": sum(b.entries for b in batches), "seconds": round(t_pub, 3),
                          "copy_csv_s": round(t_copy, 4), "ratio_to_copy_csv": round(t_pub / max(t_copy, 1e-6), 1)}
        raised, t_follow = _timed(lambda: dbsj.run_followup(store))
        out["followup"] = {"raised": len(raised), "seconds": round(t_follow, 3),
                           "facts_per_s": round((entries + len(singles)) / t_follow)}
        _, t_assess = _timed(lambda: dbsj.assess(store))
        page, t_report = _timed(lambda: dbsj.render_report(store))
        out["assess_s"] = round(t_assess, 3)
        out["report"] = {"seconds": round(t_report, 3), "bytes": len(page.encode("utf-8"))}
        cal = dbsj.WorkdayCalendar()
        days = [dt.date(2023, 1, 1) + dt.timedelta(days=i) for i in range(365)]
        _, t_cal = _timed(lambda: [cal.add_workdays(d, 20) for d in days])
        _, t_cal_warm = _timed(lambda: [cal.add_workdays(d, 20) for d in days])
        out["calendar_deadlines_365"] = {"cold_ms": round(1000 * t_cal, 1), "warm_ms": round(1000 * t_cal_warm, 1)}
    print(json.dumps(out, ensure_ascii=False))


if __name__ == "__main__":
    main()
