"""Synthetic Xinjiang: generation rate, and generation + intake (validate + store) for 3 M targets.

Side by side in the same run (shared, noisy machines): the generator against a hash floor (DuckDB
drawing the same number of rows of raw hashes into Arrow), and intake alone against generation + intake.
Prints one JSON object. ``python benchmarks/bench_synthetic.py [TARGETS]`` (default 3 000 000).
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import pyarrow as pa

import dbsj
from dbsj_xinjiang import generate


def _drain(batches) -> int:  # noqa: ANN001
    return sum(b.num_rows for b in batches)


def main(n: int) -> dict:
    dbsj.set_now("2023-06-01T09:00:00")
    out: dict = {"targets": n}

    started = time.perf_counter()
    con = duckdb.connect()
    rows = _drain(con.sql(f"SELECT i, hash(i) AS h FROM range({n}) t(i)").to_arrow_reader(1 << 18))
    con.close()
    out["hash_floor_s"] = round(time.perf_counter() - started, 2)
    assert rows == n

    started = time.perf_counter()
    table = pa.Table.from_batches(list(generate("targets", {"targets": str(n)})))
    out["generate_s"] = round(time.perf_counter() - started, 2)
    out["generate_rows_per_s"] = round(n / out["generate_s"])
    out["generate_vs_hash_floor"] = round(out["generate_s"] / max(out["hash_floor_s"], 1e-3), 1)

    with tempfile.TemporaryDirectory() as tmp:
        with dbsj.Store(Path(tmp) / "a.duckdb") as store:
            started = time.perf_counter()
            report = dbsj.import_batches(store, "targets", table, source="bench", quarantine_dir=tmp)
            out["intake_only_s"] = round(time.perf_counter() - started, 2)
            assert report.accepted == n, report
        del table
        with dbsj.Store(Path(tmp) / "b.duckdb") as store:
            started = time.perf_counter()
            for kind in ("items", "targets", "inspectors"):
                report = dbsj.pull_pool(store, kind, "xinjiang", {"targets": str(n)}, quarantine_dir=tmp)
                assert report.quarantined == 0
            out["generate_and_intake_all_pools_s"] = round(time.perf_counter() - started, 2)
            out["targets_stored"] = store.count("targets")
    out["under_one_minute"] = out["generate_and_intake_all_pools_s"] < 60
    out["intake_share"] = round(out["intake_only_s"] / out["generate_and_intake_all_pools_s"], 2)
    return out


if __name__ == "__main__":
    print(json.dumps(main(int(sys.argv[1]) if len(sys.argv) > 1 else 3_000_000), ensure_ascii=False))
