"""Rules benchmark: set rules as SQL on DuckDB against the same rules on durable_rules, and the national pack at scale.

1. Eligibility (``eligibility.registered``) + anti-repeat (``frequency.same-item-yearly``: no inspection of
   the item within 365 days of the planned date) + ratio (decision table ``ratio.daqing`` by credit class)
   over N targets (default 1,000,000), compiled from the rule packs to one SQL statement, timed against the
   same three rules on durable_rules asserting one fact per target. durable_rules is measured on a sample
   (default 20,000 facts) and extrapolated linearly to N — the output says so — and both engines' counts
   are compared on that sample.
2. The full national pack (``dbsj.check_plan``) over a province of P targets (default 2,500,000) with
   history, draws, selections and inspector assignments in the store. Goal ≤ 5 s.

Prints one JSON object. ``BENCH_RULES_N``, ``BENCH_RULES_SAMPLE``, ``BENCH_RULES_PROVINCE`` set the sizes.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import time

os.environ.setdefault("DBSJ_NOW", "2023-06-01T09:00:00")

import dbsj  # noqa: E402
from dbsj.rules.sql import table_case_sql, where_sql  # noqa: E402

N = int(os.environ.get("BENCH_RULES_N", "1000000"))
SAMPLE = int(os.environ.get("BENCH_RULES_SAMPLE", "20000"))
PROVINCE = int(os.environ.get("BENCH_RULES_PROVINCE", "2500000"))
PLANNED = dt.date(2023, 7, 20)
ITEM = "SC-A07"
PREFS = sorted(dbsj.XINJIANG_PREFECTURES)


def _targets_sql(n: int) -> str:
    # Deterministic synthetic pool: statuses mostly live, classes skewed like real distributions.
    return f"""
        SELECT printf('91650100MA%07dX', i) AS uscc, '企业' || i AS name, '企业' AS entity_kind,
               CASE WHEN i % 50 = 0 THEN '注销' WHEN i % 67 = 0 THEN '吊销' WHEN i % 3 = 0 THEN '在业' ELSE '存续' END AS status,
               '{PREFS[0]}' AS region,
               CASE WHEN i % 10 < 4 THEN 'A' WHEN i % 10 < 7 THEN 'B' WHEN i % 10 < 9 THEN 'C'
                    WHEN i % 20 = 9 THEN 'D' ELSE 'U' END AS credit_class,
               (i % 97 <> 0) AS active
        FROM range({n}) r(i)"""


def _history_sql(n: int) -> str:
    # About a third of the targets were inspected for the item in 2021-2023.
    return f"""
        SELECT printf('91650100MA%07dX', i) AS uscc, '{ITEM}' AS item_code,
               DATE '2021-07-01' + CAST((i * 7919) % 900 AS INTEGER) AS inspected_on, 'OLD-' || (i % 5) AS task_id
        FROM range({n}) r(i) WHERE i % 3 = 0"""


def _rules_sql(rules: dbsj.RuleSet) -> tuple[str, list]:
    elig = rules.get("eligibility.registered").rule
    window = rules.get("frequency.same-item-yearly").rule.window_days
    table = rules.table("ratio.daqing")
    e_sql, e_params = where_sql("targets", elig.where, "t")
    case, c_params = table_case_sql(table, {"credit_class": "t.credit_class"})
    sql = f"""
        WITH last AS (SELECT uscc, max(inspected_on) AS last_on FROM h WHERE item_code = ? GROUP BY uscc),
        judged AS (
            SELECT t.credit_class, coalesce({e_sql}, FALSE) AS eligible,
                   coalesce(date_diff('day', l.last_on, ?::DATE) < ?, FALSE) AS recent,
                   {case} AS ratio_row
            FROM t LEFT JOIN last l USING (uscc))
        SELECT credit_class, ratio_row, count(*) AS n
        FROM judged WHERE eligible AND NOT recent GROUP BY ALL ORDER BY ALL"""
    return sql, [ITEM] + e_params + [PLANNED, window] + c_params


def _duckdb(con, rules: dbsj.RuleSet) -> tuple[float, dict]:
    sql, params = _rules_sql(rules)
    started = time.perf_counter()
    rows = con.execute(sql, params).fetchall()
    return time.perf_counter() - started, {f"{c}:{r}": n for c, r, n in rows}


def _durable(con, rules: dbsj.RuleSet, limit: int) -> tuple[float, dict, int]:
    """The same three rules on durable_rules: one fact per target (its latest inspection joined in beforehand)."""
    from durable import lang

    from dbsj.rules.events import _QuietHost

    elig = rules.get("eligibility.registered").rule
    window = rules.get("frequency.same-item-yearly").rule.window_days
    table = rules.table("ratio.daqing")
    cutoff = (PLANNED - dt.timedelta(days=window)).toordinal()
    facts = con.execute(f"""
        SELECT t.uscc, t.status, t.active, t.credit_class,
               coalesce(date_diff('day', DATE '0001-01-01', max(h.inspected_on)) + 1, 0) AS last_on
        FROM t LEFT JOIN h ON h.uscc = t.uscc AND h.item_code = ? GROUP BY ALL ORDER BY t.uscc LIMIT ?""",
                        [ITEM, limit]).fetchall()
    counts: dict[str, int] = {}
    statuses = list(elig.where["status"].in_)

    def counter(key: str):  # noqa: ANN202
        def action(c) -> None:  # noqa: ANN001
            counts[key] = counts.get(key, 0) + 1
        return action

    definition = {}
    for i, row in enumerate(table.rows):
        cls = row.when["credit_class"].eq
        status = (lang.m.status == statuses[0])
        for s in statuses[1:]:
            status = status | (lang.m.status == s)
        cond = (lang.m.active == True) & status & (lang.m.last_on <= cutoff) & (lang.m.credit_class == cls)  # noqa: E712
        definition[f"r{i}"] = lang.when_all(cond)(counter(f"{cls}:{i + 1}")).define()
    host = _QuietHost()
    host.register_rulesets({"bench_rules": definition})
    from durable import engine

    started = time.perf_counter()
    for uscc, status, active, cls, last_on in facts:
        try:
            host.assert_fact("bench_rules", {"uscc": uscc, "status": status, "active": bool(active),
                                             "credit_class": cls or "U", "last_on": int(last_on)})
        except engine.MessageNotHandledException:
            pass
    return time.perf_counter() - started, counts, len(facts)


def part_one() -> dict:
    import duckdb

    rules = dbsj.load_rules()
    con = duckdb.connect()
    con.execute(f"CREATE TABLE t AS {_targets_sql(N)}")
    con.execute(f"CREATE TABLE h AS {_history_sql(N)}")
    _duckdb(con, rules)  # warm-up
    sql_s, _ = _duckdb(con, rules)
    dr_s, dr_counts, sampled = _durable(con, rules, SAMPLE)
    # the same sample through SQL: both engines must agree
    con.execute(f"CREATE TABLE t_all AS SELECT * FROM t; DROP TABLE t; "
                f"CREATE TABLE t AS SELECT * FROM t_all ORDER BY uscc LIMIT {SAMPLE}")
    _, sample_counts = _duckdb(con, rules)
    agree = {k: v for k, v in sample_counts.items() if not k.endswith(":None")} == dr_counts
    dr_full = dr_s * N / sampled
    return {
        "targets": N, "rules": ["eligibility.registered", "frequency.same-item-yearly", "ratio.daqing"],
        "duckdb_sql_s": round(sql_s, 3),
        "durable_rules_sample_facts": sampled, "durable_rules_sample_s": round(dr_s, 3),
        "durable_rules_facts_per_s": round(sampled / dr_s),
        "durable_rules_extrapolated_s": round(dr_full, 1),
        "extrapolation": f"durable_rules measured on {sampled} facts, scaled linearly to {N}",
        "speedup": round(dr_full / sql_s, 1), "goal_speedup": 100,
        "same_counts_on_sample": agree,
    }


def part_two() -> dict:
    store = dbsj.Store(":memory:")
    con = store.con
    started = time.perf_counter()
    con.execute(f"INSERT INTO targets (uscc, name, entity_kind, status, region, credit_class, active) "
                f"SELECT uscc, name, entity_kind, status, region, credit_class, active FROM ({_targets_sql(PROVINCE)})")
    depts = list(dbsj.DEPARTMENTS[:6])
    items = [(f"I{k:02d}", f"事项{k}", depts[k % len(depts)], "key" if k % 4 == 0 else "general") for k in range(48)]
    con.executemany("INSERT INTO items (code, name, department, category, active) VALUES (?, ?, ?, ?, TRUE)",
                    [list(i) for i in items])
    con.execute(f"""INSERT INTO history (uscc, item_code, inspected_on, task_id, active)
                    SELECT printf('91650100MA%07dX', i), 'I' || lpad(CAST(i % 48 AS VARCHAR), 2, '0'),
                           DATE '2022-01-01' + CAST((i * 7919) % 700 AS INTEGER), 'OLD-' || (i % 7), TRUE
                    FROM range({PROVINCE}) r(i) WHERE i % 2 = 0""")
    tasks = []
    for k in range(24):
        code = [items[(2 * k) % 48][0], items[(2 * k + 1) % 48][0]]
        tasks.append({"id": f"XJ-{k:03d}", "name": f"任务{k}", "sponsor": depts[k % 6], "partners": [depts[(k + 1) % 6]],
                      "items": code, "sampling": ({"strata": ["credit_class"], "table": "ratio.daqing"} if k % 2 == 0
                                                  else {"quota": "≤5%"}),
                      "start": "2023-03-01", "batches": [{"name": "全年", "deadline": "2023-11-30"}]})
    plan = dbsj.Plan.model_validate({"id": "XJ-2023", "year": 2023, "authority": "新疆维吾尔自治区市场监督管理局",
                                     "title": "基准", "tasks": tasks})
    per_task = PROVINCE // 24 // 20  # 5 % of each task's share of the pool
    for k, t in enumerate(plan.tasks):
        con.execute("INSERT INTO draws (draw_id, plan_id, task_id, attempt, algorithm, status, created_at) "
                    "VALUES (?, 'XJ-2023', ?, 1, 'dbsj-sha256-bottomk/1', 'drawn', now())", [f"D{k}", t.id])
        con.execute(f"""INSERT INTO selections (draw_id, plan_id, task_id, stratum, rank, uscc, ticket, due)
                        SELECT 'D{k}', 'XJ-2023', '{t.id}', '*', i, printf('91650100MA%07dX', (i * 24 + {k}) * 17 % {PROVINCE}),
                               'x', DATE '2023-07-20' FROM range({per_task}) r(i)""")
        con.execute(f"""INSERT INTO assignments (draw_id, plan_id, visit_id, task_id, uscc, staff_id, department)
                        SELECT 'D{k}', 'XJ-2023', 'V{k}-' || i, '{t.id}', printf('91650100MA%07dX', i), 'S' || (i % 900) || '-' || j,
                               '市场监管' FROM range({per_task}) r(i), range(2) s(j)""")
    setup_s = time.perf_counter() - started
    # A floor measured on the same data: the two passes any such check needs (drawn targets against the
    # pool, the history grouped by target and item).
    started = time.perf_counter()
    con.execute("SELECT count(*) FROM selections s JOIN targets t USING (uscc)").fetchall()
    con.execute("SELECT count(*) FROM (SELECT uscc, item_code, max(inspected_on) FROM history GROUP BY ALL)").fetchall()
    floor_s = time.perf_counter() - started
    rules = dbsj.load_rules()
    started = time.perf_counter()
    report = dbsj.check_plan(plan, store, rules=rules)
    check_s = time.perf_counter() - started
    counts = report.summary["data"]
    store.close()
    return {"province_targets": PROVINCE, "history_rows": counts["history"], "selections": counts["selections"],
            "visits": counts["visits"], "tasks": len(plan.tasks), "rules_evaluated": report.summary["rules_evaluated"],
            "findings": report.summary["errors"] + report.summary["warnings"] + report.summary["info"],
            "setup_s": round(setup_s, 2), "national_pack_check_s": round(check_s, 3), "goal_s": 5.0,
            "within_goal": check_s <= 5.0, "floor_two_scans_s": round(floor_s, 3),
            "check_over_floor": round(check_s / floor_s, 1)}


def main() -> None:
    out = {"set_rules_vs_durable_rules": part_one(), "national_pack_province": part_two(),
           "cpus": os.cpu_count(), "load_average_1m": round(os.getloadavg()[0], 2)}
    print(json.dumps(out, ensure_ascii=False))


if __name__ == "__main__":
    main()
