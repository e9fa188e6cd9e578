"""Benchmark of the v2 target draw (dbsj-sha256-bottomk/2), ratios to the hash floor measured in the same run.

Default: 10 million targets in 56 strata (4 credit classes × 14 prefectures; A 1 %, B 3 %, C 10 %, D 30 %,
so 1.1 million selected). Measured, side by side on the same engine:

- the floor: SHA-256 of every eligible id once (``sha256(uscc)`` over the stored eligible set), best of two;
- the commitment: the salted stratum digests alone (``commitment_digest_s``), and the whole ``commit_draw``
  (eligibility, storing the eligible set and exclusions, seals, digests, ledger: ``commit_total_s``);
- the selection with a dice and with a beacon seed (tickets + bottom-k in SQL; v2 folds the seed into a
  per-stratum key, so both are one SHA-256 block per id), with and without the task-wide batch order;
- the reveal with records (selection, stored rows, ledger, auditor and public record files; no inspector
  assignment), and commit + reveal together;
- peak RSS of the process (DuckDB limited to ``--memory-limit``).

``--province`` instead draws the 12 tasks of examples/xinjiang-2023/plan.yaml on the synthetic province of
the xinjiang plug-in (2.5 million targets) with inspector assignment, and reports commit, reveal and total.

    .venv/bin/python benchmarks/bench_draw.py [--targets N] [--threads T] [--province]

Goals (issue 8): selection ≤ 1.3× the floor with any seed kind, commitment ≤ 3×, commit + reveal with
records ≤ 8×, peak RSS ≤ 1.5 GB; the province's commit + reveal + assignment ≤ 20 s.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("DBSJ_NOW", "2023-06-01T09:00:00")

import dbsj  # noqa: E402
from dbsj.draw.engine import _select_v2, stored_seal  # noqa: E402
from dbsj.store.digest import eligible_digests  # noqa: E402
from dbsj.verifier import eligible_salt  # noqa: E402

PREFECTURES = sorted(dbsj.XINJIANG_PREFECTURES)


#: The synthetic plan below is one task, not a whole year's plan: the commit overrides its check.
BENCH_OVERRIDE = "基准测试用的合成计划 / a synthetic benchmark plan"


def _plan() -> dbsj.Plan:
    return dbsj.Plan.model_validate({
        "id": "BENCH", "year": 2023, "authority": "bench", "title": "bench",
        "tasks": [{"id": "T1", "name": "公示信息抽查", "sponsor": "市场监管", "items": ["SC-A07"], "start": "2023-07-01",
                   "sampling": {"strata": ["credit_class", "region"],
                                "by_class": {"A": "不低于1%", "B": "不低于3%", "C": "不低于10%", "D": "不低于30%"}},
                   "batches": [{"name": "第一批", "deadline": "2023-07-20"}, {"name": "第二批", "deadline": "2023-10-15"}]}],
    })


def _rss() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _timed(fn):  # noqa: ANN001, ANN202
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


def bench_targets(args: argparse.Namespace) -> dict:
    os.environ.setdefault("DBSJ_DISABLE_PLUGINS", "xinjiang")
    with tempfile.TemporaryDirectory() as tmp:
        store = dbsj.Store(Path(tmp) / "bench.duckdb")
        store.execute(f"SET threads = {args.threads}")
        store.execute("SET preserve_insertion_order = false")
        store.execute("INSERT INTO items (code, name, department, category) VALUES ('SC-A07', '公示信息抽查', '市场监管', 'key')")
        regions = "[" + ", ".join(f"'{p}'" for p in PREFECTURES) + "]"
        t0 = time.perf_counter()
        # ids in a scrambled order (a pool is not sorted the way the draw sorts it)
        store.execute(f"""
            INSERT INTO targets (uscc, name, entity_kind, status, region, credit_class)
            SELECT '91' || r || lpad(((i * 48271) % {args.targets})::VARCHAR, 10, '0'), 'x', '企业', '存续',
                   substr(r, 1, 4) || '02', ['A', 'B', 'C', 'D'][(i % 4) + 1]
            FROM (SELECT i, {regions}[((i // 4) % 14) + 1] AS r FROM range({args.targets}) t(i))""")
        build_s = time.perf_counter() - t0
        store.execute("CHECKPOINT")
        # the budget applies to the draw (building the synthetic pool is not measured)
        store.execute(f"SET memory_limit = '{args.memory_limit}'")
        plan = _plan()
        opts = dbsj.DrawOptions(assign=False, repeat_window_days=0)
        # the plan check the commit runs first (a synthetic one-task plan: its errors are overridden)
        check_s, _ = _timed(lambda: dbsj.check_plan(plan, store))
        commit_s, run = _timed(lambda: dbsj.commit_draw(store, plan, seed_kind="dice", options=opts,
                                                        override_check=BENCH_OVERRIDE))
        draw_id = run.draw_ids["T1"]
        com = run.commitments["T1"]
        con = store.con
        seal = stored_seal(con, draw_id)
        floor = min(_timed(lambda: con.execute("SELECT count(*), max(sha256(uscc)) FROM draw_eligible WHERE draw_id = ?",
                                               [draw_id]).fetchall())[0] for _ in range(2))
        digest_s, _ = _timed(lambda: eligible_digests(con, draw_id, eligible_salt(seal)))
        dice = "31415926535897932384"
        beacon = "647c07b2abbf7ff2afb4d670214f565e5cd9f9c91bfdcecb59a21f3c78d73920"
        sizes = {e["stratum"]: (e["k"], e["eligible"]) for e in com["strata"]}
        from dbsj.draw.selection import select_into
        from dbsj.draw.tickets import stratum_keys

        def select_only(seed: str) -> int:
            keys = stratum_keys(seed, seal, "T1", list(sizes))
            n = select_into(con, "_bench_sel", "SELECT stratum, uscc AS id FROM draw_eligible WHERE draw_id = ?", sizes,
                            params=[draw_id], keys=keys)
            con.execute("DROP TABLE _bench_sel")
            return n

        def select_with_batches(seed: str) -> int:
            n = _select_v2(con, draw_id, "T1", seed, seal, com)
            con.execute("DROP TABLE IF EXISTS _dbsj_draw_sel")
            return n

        sel_dice_s, selected = _timed(lambda: select_only(dice))
        sel_beacon_s, _ = _timed(lambda: select_only(beacon))
        sel_batches_s, _ = _timed(lambda: select_with_batches(beacon))
        floor = min(floor, _timed(lambda: con.execute("SELECT count(*), max(sha256(uscc)) FROM draw_eligible "
                                                      "WHERE draw_id = ?", [draw_id]).fetchall())[0])
        rss_before_reveal = _rss()
        out_dir = Path(tmp) / "records"
        reveal_s, done = _timed(lambda: dbsj.reveal_draw(store, dbsj.DiceSeed(dice), run_id=run.run_id,
                                                         out_dir=out_dir, options=opts))
        record_bytes = sum(p.stat().st_size for p in out_dir.iterdir())
        store.close()
    return {
        "benchmark": "draw", "algorithm": dbsj.DRAW_ALGORITHM, "targets": args.targets, "strata": len(sizes),
        "selected": selected, "threads": args.threads, "build_pool_s": round(build_s, 3),
        "hash_floor_s": round(floor, 3),
        "commitment_digest_s": round(digest_s, 3), "ratio_commitment_digest": round(digest_s / floor, 2),
        "check_s": round(check_s, 3), "commit_total_s": round(commit_s, 3), "ratio_commit_total": round(commit_s / floor, 2),
        "selection_dice_s": round(sel_dice_s, 3), "ratio_selection_dice": round(sel_dice_s / floor, 2),
        "selection_beacon_s": round(sel_beacon_s, 3), "ratio_selection_beacon": round(sel_beacon_s / floor, 2),
        "selection_with_batch_order_s": round(sel_batches_s, 3),
        "ratio_selection_with_batch_order": round(sel_batches_s / floor, 2),
        "reveal_with_records_s": round(reveal_s, 3), "record_bytes": record_bytes,
        "commit_and_reveal_s": round(commit_s + reveal_s, 3), "ratio_commit_and_reveal": round((commit_s + reveal_s) / floor, 2),
        "peak_rss_before_reveal_bytes": rss_before_reveal, "peak_rss_bytes": _rss(),
        "duckdb_memory_limit": args.memory_limit,
        "goals": {"ratio_selection": 1.3, "ratio_commitment": 3.0, "ratio_commit_and_reveal": 8.0,
                  "peak_rss_bytes": int(1.5 * 1024**3)},
        "records": len(done.records),
    }


def bench_province(args: argparse.Namespace) -> dict:
    os.environ.pop("DBSJ_DISABLE_PLUGINS", None)
    from dbsj.draw.demo_step import example_plan_path

    plan = dbsj.load_plan(example_plan_path())
    with tempfile.TemporaryDirectory() as tmp:
        store = dbsj.Store(Path(tmp) / "prov.duckdb")
        store.execute(f"SET threads = {args.threads}")
        t0 = time.perf_counter()
        for kind in ("items", "targets", "inspectors"):
            dbsj.pull_pool(store, kind, "xinjiang", {"targets": str(args.province_targets)}, quarantine_dir=tmp)
        build_s = time.perf_counter() - t0
        store.execute("CHECKPOINT")
        store.execute(f"SET memory_limit = '{args.memory_limit}'")
        check_s, _ = _timed(lambda: dbsj.check_plan(plan, store))
        commit_s, run = _timed(lambda: dbsj.commit_draw(store, plan, seed_kind="dice"))
        dbsj.set_now("2023-06-02T09:00:00")
        reveal_s, done = _timed(lambda: dbsj.reveal_draw(store, dbsj.DiceSeed("31415926535897932384"),
                                                         run_id=run.run_id, out_dir=Path(tmp) / "rec"))
        floor = min(_timed(lambda: store.execute("SELECT count(*), max(sha256(uscc)) FROM targets").fetchall())[0]
                    for _ in range(2))
        selected = sum(t["selected"] for t in done.summary["tasks"].values())
        store.close()
    return {"benchmark": "draw-province", "targets": args.province_targets, "tasks": len(plan.tasks),
            "selected": selected, "build_pool_s": round(build_s, 2), "check_s": round(check_s, 2),
            "commit_s": round(commit_s, 2),
            "reveal_with_assignment_and_records_s": round(reveal_s, 2), "total_s": round(commit_s + reveal_s, 2),
            "hash_floor_s": round(floor, 3), "goal_total_s": 20.0, "peak_rss_bytes": _rss(),
            "duckdb_memory_limit": args.memory_limit}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--targets", type=int, default=10_000_000)
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--memory-limit", default="1GB", help="DuckDB memory_limit")
    ap.add_argument("--province", action="store_true", help="the 12 tasks of the example plan on the synthetic province")
    ap.add_argument("--province-targets", type=int, default=2_500_000)
    args = ap.parse_args()
    print(json.dumps(bench_province(args) if args.province else bench_targets(args)))


if __name__ == "__main__":
    sys.exit(main())
