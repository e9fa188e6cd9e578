"""Benchmark: inspector assignment for 100,000 visits and 5,000 inspectors with conflicts.

Prints one JSON object, every figure measured in the same run on the same data: the full assignment
(``dbsj-assign/2``: inputs snapshot written in a transaction, greedy + augmenting-path repair), the greedy pass
alone, the same assignment with ``dbsj-assign/1`` tickets over the live pools (no snapshot: the algorithm
before), the re-derivation from the snapshot (what ``dbsj verify`` runs), the time to hash one ticket per
candidate pair (the floor the per-pair SHA-256 sets), their ratios, peak memory and the sizes involved.
CPU seconds (all threads) and the load average are printed too: on a shared machine wall time says more
about the neighbours than about the code. ``--standalone`` also times the standard-library derivation
(what ``python -S verifier.py RECORD POOL INSPECTORS`` runs; slow on purpose: one Python loop per pair).

Usage: python benchmarks/bench_assignment.py [--visits N] [--inspectors M] [--standalone]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import sys
import time

os.environ.setdefault("DBSJ_NOW", "2023-06-01T09:00:00")

import pyarrow as pa  # noqa: E402

import dbsj  # noqa: E402
from dbsj.draw.assignment import LEGACY_ALGORITHM, _assign  # noqa: E402  (greedy-only and legacy seams)

PREFECTURES = sorted(dbsj.XINJIANG_PREFECTURES)
DEPARTMENTS = list(dbsj.DEPARTMENTS)
DUE1, DUE2 = dt.date(2023, 7, 20), dt.date(2023, 10, 15)


def build(store: dbsj.Store, visits: int, inspectors: int) -> tuple[dbsj.Plan, pa.Table]:
    con = store.con
    p = len(PREFECTURES)
    con.execute("CREATE TEMP TABLE pref AS SELECT * FROM (SELECT unnest(?) AS code, generate_subscripts(?, 1) - 1 AS k)",
                [PREFECTURES, PREFECTURES])
    con.execute("CREATE TEMP TABLE dept AS SELECT * FROM (SELECT unnest(?) AS name, generate_subscripts(?, 1) - 1 AS k)",
                [DEPARTMENTS, DEPARTMENTS])
    con.execute("INSERT INTO items (code, name, department, category) SELECT 'I' || k, 'item ' || k, name, 'general' "
                "FROM dept")
    # targets: spread over the 14 prefectures, 5 offices (beats) each
    con.execute(f"""INSERT INTO targets (uscc, name, entity_kind, status, office, region)
        SELECT 'T' || lpad(i::VARCHAR, 17, '0'), 'E' || i, '企业', '存续',
               'O' || (i % {p}) || '-' || ((i // {p}) % 5),
               substr(pr.code, 1, 4) || '02'
        FROM range({visits}) r(i) JOIN pref pr ON pr.k = i % {p}""")
    # inspectors: prefecture × department groups, beats, 3% on leave, 5% certificates expiring between the
    # two windows, 5% with an empty item scope, three declared conflicts each
    nd = len(DEPARTMENTS)
    con.execute(f"""INSERT INTO inspectors (staff_id, name, department, region, beat, certificate_no,
                                            certificate_expiry, item_scope, status, conflicts)
        SELECT 'S' || lpad(j::VARCHAR, 6, '0'), 'N' || j, d.name, substr(pr.code, 1, 4) || '02',
               'O' || (j % {p}) || '-' || ((j // ({p} * {nd})) % 5), 'C' || j,
               CASE WHEN (j // 140) % 20 = 7 THEN DATE '2023-08-01' ELSE DATE '2025-12-31' END,
               CASE WHEN (j // 140) % 20 = 11 THEN []::VARCHAR[] ELSE ['I' || d.k] END,
               CASE WHEN (j // 140) % 33 = 5 THEN '休假' ELSE '在岗' END,
               [ 'T' || lpad(((j * 7919 + c * 104729) % {visits} // {p} * {p} + j % {p})::VARCHAR, 17, '0')
                 FOR c IN range(3) ]
        FROM range({inspectors}) r(j)
        JOIN pref pr ON pr.k = j % {p}
        JOIN dept d ON d.k = (j // {p}) % {nd}""")
    # history: a fifth of the targets were inspected before, by two inspectors of the sponsoring department
    con.execute(f"""INSERT INTO history (uscc, item_code, inspected_on, task_id, staff_ids)
        SELECT 'T' || lpad(i::VARCHAR, 17, '0'), 'I0', DATE '2022-05-01', 'old',
               ['S' || lpad(((i % {p}) + {p} * ((i // {p}) % 40))::VARCHAR, 6, '0'),
                'S' || lpad(((i % {p}) + {p} * ((i // {p}) % 40 + 10))::VARCHAR, 6, '0')]
        FROM range({visits}) r(i) WHERE i % 5 = 0""")
    # plan: one task per department; every third task joint with the next one or two departments
    tasks = []
    for k, d in enumerate(DEPARTMENTS):
        partners = [DEPARTMENTS[(k + 1) % nd]] + ([DEPARTMENTS[(k + 2) % nd]] if k % 6 == 0 else []) \
            if k % 3 == 0 else []
        tasks.append({"id": f"T{k:02d}", "name": f"task {k}", "sponsor": d, "partners": partners,
                      "items": [f"I{k}"], "sampling": {"quota": 0.05}, "start": "2023-03-01",
                      "batches": [{"name": "1", "deadline": DUE1.isoformat()}, {"name": "2", "deadline": DUE2.isoformat()}]})
    plan = dbsj.Plan.model_validate({"id": "BENCH", "year": 2023, "authority": "bench", "title": "bench", "tasks": tasks})
    # selections: every target once; one in ten is also drawn by a second task in the same window (merged visit)
    sel = con.sql(f"""
        SELECT 'T' || lpad(((i // {p}) % {nd})::VARCHAR, 2, '0') AS task_id, 'T' || lpad(i::VARCHAR, 17, '0') AS uscc,
               CASE WHEN i % 2 = 0 THEN DATE '2023-07-20' ELSE DATE '2023-10-15' END AS due
        FROM range({visits}) r(i)
        UNION ALL
        SELECT 'T' || lpad(((i // {p} + 5) % {nd})::VARCHAR, 2, '0'), 'T' || lpad(i::VARCHAR, 17, '0'),
               CASE WHEN i % 2 = 0 THEN DATE '2023-07-20' ELSE DATE '2023-10-15' END
        FROM range({visits}) r(i) WHERE i % 10 = 3""").to_arrow_table()
    return plan, sel


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--visits", type=int, default=100_000)
    ap.add_argument("--inspectors", type=int, default=5_000)
    ap.add_argument("--standalone", action="store_true")
    args = ap.parse_args()
    dbsj.reset_plugin_manager(dbsj.PluginManager(load_entry_points=False))
    extra: dict = {}
    with dbsj.Store(":memory:") as store:
        t0 = time.perf_counter()
        plan, sel = build(store, args.visits, args.inspectors)
        t_build = time.perf_counter() - t0
        opts = dbsj.AssignmentOptions()

        def timed(fn):  # noqa: ANN001, ANN202
            t, c = time.perf_counter(), _cpu()
            out = fn()
            return out, time.perf_counter() - t, _cpu() - c

        def full_v2():  # noqa: ANN202
            with store.transaction():
                return dbsj.assign_visits(store, plan=plan, draw_id="bench", selections=sel, seed="bench-seed",
                                          options=opts)

        greedy, t_greedy, c_greedy = timed(lambda: _assign(store, plan=plan, draw_id="bench-greedy", selections=sel,
                                                           seed="bench-seed", options=opts, repair=False))
        full, t_full, c_full = timed(full_v2)
        v1, t_v1, c_v1 = timed(lambda: _assign(store, plan=plan, draw_id="bench-v1", selections=sel, seed="bench-seed",
                                               options=opts, algorithm=LEGACY_ALGORITHM))
        again, t_again, c_again = timed(lambda: dbsj.reassign_from_snapshot(store, "bench", sel, "bench-seed"))
        assert again.section == full.section
        if args.standalone:
            from dbsj.draw.assignment_inputs import snapshot_inputs
            from dbsj.verifier import derive_assignment

            inputs = snapshot_inputs(store, "bench")
            pure, t_pure, c_pure = timed(lambda: derive_assignment(inputs, opts.to_dict(), "bench-seed"))
            assert pure["section"] == full.section
            extra = {"seconds_standalone_derivation": round(t_pure, 3), "cpu_seconds_standalone": round(c_pure, 3)}
        # the floor the spec sets: one SHA-256 block per candidate pair (a 32-byte visit key and a staff id)
        t0, c0 = time.perf_counter(), _cpu()
        store.con.execute("""SELECT min(('0x' || left(sha256(unhex(repeat('ab', 32))
                                                        || encode('S' || lpad((i % 5000)::VARCHAR, 6, '0'))), 16))::UBIGINT)
                             FROM range(?) r(i)""", [full.stats["candidates"]]).fetchall()
        t_hash, c_hash = time.perf_counter() - t0, _cpu() - c0
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    out = {
        "benchmark": "assignment",
        "visits": full.stats["visits"],
        "inspectors": args.inspectors,
        "selection_rows": sel.num_rows,
        "places": full.stats["places"],
        "candidate_pairs": full.stats["candidates"],
        "excluded": full.exclusions,
        "greedy_filled": greedy.stats["greedy_filled"],
        "augmentations": full.stats["augmentations"],
        "short_places_greedy_only": sum(s["short"] for s in greedy.shortfalls),
        "short_places_full": sum(s["short"] for s in full.shortfalls),
        "seconds_build_fixture": round(t_build, 3),
        "seconds_full": round(t_full, 3),
        "seconds_greedy_only": round(t_greedy, 3),
        "seconds_v1_live_pools": round(t_v1, 3),
        "seconds_reassign_from_snapshot": round(t_again, 3),
        "seconds_hash_every_candidate_once": round(t_hash, 3),
        "ratio_full_to_greedy": round(t_full / t_greedy, 3),
        "ratio_full_to_v1": round(t_full / t_v1, 3),
        "ratio_full_to_hash_floor": round(t_full / t_hash, 3),
        "cpu_seconds_full": round(c_full, 3),
        "cpu_seconds_greedy_only": round(c_greedy, 3),
        "cpu_seconds_v1_live_pools": round(c_v1, 3),
        "cpu_seconds_reassign_from_snapshot": round(c_again, 3),
        "cpu_seconds_hash_floor": round(c_hash, 3),
        "cpu_ratio_full_to_v1": round(c_full / c_v1, 3),
        **extra,
        "load_average_1min": round(os.getloadavg()[0], 2),
        "peak_rss_mb": round(peak_mb, 1),
        "cpus": os.cpu_count(),
        "python": sys.version.split()[0],
    }
    print(json.dumps(out, ensure_ascii=False))


if __name__ == "__main__":
    main()
