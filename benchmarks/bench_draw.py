"""Benchmark of the target draw: 10 million targets, 56 strata (4 credit classes × 14 prefectures).

Prints one JSON object: the commitment cost (eligibility, stored eligible set, per-stratum digests) apart
from the draw; the draw's wall time (tickets + bottom-k selection in SQL) with a short (dice) and a long
(beacon) seed; and, measured in the same run on the same engine, the floor — SHA-256 of every eligible id
once — with the ratios. Peak memory: the process's ru_maxrss and DuckDB's own accounting.

    .venv/bin/python benchmarks/bench_draw.py [--targets N] [--threads T]

Goals (issue 3): draw ≤ 2× the hash floor, ≤ 10 s, peak memory ≤ 2 GB. The reveal (records with every
selected row as JSON) is timed and its peak memory reported apart.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("DBSJ_NOW", "2023-06-01T09:00:00")
os.environ.setdefault("DBSJ_DISABLE_PLUGINS", "xinjiang")

import dbsj  # noqa: E402
from dbsj.draw.engine import selection_for  # noqa: E402

PREFECTURES = sorted(dbsj.XINJIANG_PREFECTURES)


def _plan() -> dbsj.Plan:
    return dbsj.Plan.model_validate({
        "id": "BENCH", "year": 2023, "authority": "bench", "title": "bench",
        "tasks": [{"id": "T1", "name": "公示信息抽查", "sponsor": "市场监管", "items": ["SC-A07"], "start": "2023-07-01",
                   "sampling": {"strata": ["credit_class", "region"],
                                "by_class": {"A": "不低于1%", "B": "不低于3%", "C": "不低于10%", "D": "不低于30%"}},
                   "batches": [{"name": "第一批", "deadline": "2023-07-20"}, {"name": "第二批", "deadline": "2023-10-15"}]}],
    })


def _duckdb_memory(store: dbsj.Store) -> int:
    try:
        return int(store.execute("SELECT sum(memory_usage_bytes) FROM duckdb_memory()").fetchall()[0][0] or 0)
    except Exception:  # noqa: BLE001 - older engines lack the table
        return -1


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--targets", type=int, default=10_000_000)
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--memory-limit", default="1GB", help="DuckDB memory_limit")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        store = dbsj.Store(Path(tmp) / "bench.duckdb")
        store.execute(f"SET threads = {args.threads}")
        # the store is a file: DuckDB keeps within this budget and evicts to disk beyond it
        store.execute(f"SET memory_limit = '{args.memory_limit}'")
        store.execute("SET preserve_insertion_order = false")
        store.execute("INSERT INTO items (code, name, department, category) VALUES ('SC-A07', '公示信息抽查', '市场监管', 'key')")
        regions = "[" + ", ".join(f"'{p}'" for p in PREFECTURES) + "]"
        t0 = time.perf_counter()
        store.execute(f"""
            INSERT INTO targets (uscc, name, entity_kind, status, region, credit_class)
            SELECT '91' || r || lpad(i::VARCHAR, 10, '0'), 'x', '企业', '存续',
                   substr(r, 1, 4) || '02', ['A', 'B', 'C', 'D'][(i % 4) + 1]
            FROM (SELECT i, {regions}[((i // 4) % 14) + 1] AS r FROM range({args.targets}) t(i))""")
        build_s = time.perf_counter() - t0
        store.execute("CHECKPOINT")

        plan = _plan()
        t0 = time.perf_counter()
        run = dbsj.commit_draw(store, plan, seed_kind="dice", options=dbsj.DrawOptions(assign=False))
        commit_s = time.perf_counter() - t0
        draw_id = run.draw_ids["T1"]
        com = run.commitments["T1"]
        sizes = {e["stratum"]: (e["k"], e["eligible"]) for e in com["strata"]}

        def timed(fn):  # noqa: ANN001, ANN202
            t = time.perf_counter()
            out = fn()
            return time.perf_counter() - t, out

        floor_s, _ = timed(lambda: store.execute(
            "SELECT count(*), max(sha256(uscc)) FROM draw_eligible WHERE draw_id = ?", [draw_id]).fetchall())
        dice = "31415926535897932384"
        beacon = "647c07b2abbf7ff2afb4d670214f565e5cd9f9c91bfdcecb59a21f3c78d73920"
        draw_dice_s, rows = timed(lambda: selection_for(store.con, draw_id, "T1", dice, sizes))
        draw_beacon_s, rows_b = timed(lambda: selection_for(store.con, draw_id, "T1", beacon, sizes))
        floor2_s, _ = timed(lambda: store.execute(
            "SELECT count(*), max(sha256(uscc)) FROM draw_eligible WHERE draw_id = ?", [draw_id]).fetchall())
        floor = min(floor_s, floor2_s)
        rss_draw = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        duck_mem_draw = _duckdb_memory(store)
        t0 = time.perf_counter()
        out_dir = Path(tmp) / "records"
        done = dbsj.reveal_draw(store, dbsj.DiceSeed(dice), run_id=run.run_id, out_dir=out_dir,
                                options=dbsj.DrawOptions(assign=False))
        reveal_s = time.perf_counter() - t0
        duck_mem = _duckdb_memory(store)
        store.close()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps({
        "benchmark": "draw",
        "targets": args.targets,
        "strata": len(sizes),
        "selected": len(rows),
        "threads": args.threads,
        "build_pool_s": round(build_s, 3),
        "commitment_s": round(commit_s, 3),
        "hash_floor_s": round(floor, 3),
        "draw_dice_seed_s": round(draw_dice_s, 3),
        "draw_beacon_seed_s": round(draw_beacon_s, 3),
        "ratio_dice_to_floor": round(draw_dice_s / floor, 2),
        "ratio_beacon_to_floor": round(draw_beacon_s / floor, 2),
        "reveal_total_s": round(reveal_s, 3),
        "reveal_note": "selection, stored rows, ledger and record files (no inspector assignment)",
        "ticket_message_bytes": {"dice": len(dbsj.draw.ticket_message(dice, "T1", "credit_class=A|region=650100",
                                                                      "916501000000000000")),
                                 "beacon": len(dbsj.draw.ticket_message(beacon, "T1", "credit_class=A|region=650100",
                                                                        "916501000000000000"))},
        "peak_rss_through_draw_bytes": rss_draw,
        "duckdb_memory_after_draw_bytes": duck_mem_draw,
        "peak_rss_with_records_bytes": rss,
        "duckdb_memory_bytes": duck_mem,
        "duckdb_memory_limit": args.memory_limit,
        "goals": {"ratio_to_floor": 2.0, "draw_s": 10.0, "peak_memory_bytes": 2 * 1024**3},
        "records": len(done.records),
    }))


if __name__ == "__main__":
    sys.exit(main())
