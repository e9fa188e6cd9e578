"""The cost of binding and auditing a pool's contents, side by side with the key digest every import
already computes (measured in the same run, so the ratios hold on a shared machine).

Measures, for ``DBSJ_BENCH_AUDIT_ROWS`` targets (default 1,000,000): the full content digest (what an
import re-hashes, twice when it touches every bucket: the check before and the binding after), the key
digest of ``pool_digests``, a three-bucket re-hash (what one recorded result costs for ``history``), and
a whole ``audit_store`` of that store. Prints one JSON object.
"""

from __future__ import annotations

import json
import os
import time

import dbsj
from dbsj.store import bindings
from dbsj.store.digest import SET_DIGEST_SQL

ROWS = int(os.environ.get("DBSJ_BENCH_AUDIT_ROWS", "1000000"))


def timed(fn, repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return round(best, 3)


def main() -> None:
    os.environ.setdefault("DBSJ_NOW", "2023-06-01T09:00:00")
    with dbsj.Store(":memory:") as store:
        store.execute(f"""INSERT INTO targets (uscc, name, entity_kind, status, region, office, industry, established,
                          credit_class, tags, active)
            SELECT '91650100MA' || lpad(CAST(i AS VARCHAR), 8, '0'), '新疆某某商贸有限公司' || i, '企业', '存续', '650102',
                   '所' || (i % 7), 'F5211', DATE '2000-01-01' + CAST(i % 8000 AS INTEGER), (['A', 'B', 'C', 'D'])[1 + i % 4],
                   ['食品', '重点'], TRUE FROM range({ROWS}) t(i)""")
        content = timed(lambda: bindings.bucket_digests(store, "targets"))
        keys = timed(lambda: store.execute(f"SELECT count(*), {SET_DIGEST_SQL} FROM (SELECT uscc AS id FROM targets "
                                           "WHERE active)").fetchone())
        few = timed(lambda: bindings.bucket_digests(store, "targets", ["00", "57", "99"]))

        def bind() -> None:
            with store.transaction():
                b = bindings.PoolBinding.begin(store, "targets", None)
                seq = dbsj.Ledger(store).append("pool.imported", "targets", {"pool_content": {"targets": b.finish()}}).seq
                b.bound(seq)

        bind_s = timed(bind, repeat=1)
        audit_s = timed(lambda: dbsj.audit_store(store), repeat=1)
        print(json.dumps({"rows": ROWS, "content_digest_s": content, "key_digest_s": keys,
                          "content_vs_key_digest": round(content / keys, 2) if keys else None,
                          "three_buckets_s": few, "three_buckets_vs_full": round(few / content, 3) if content else None,
                          "bind_s": bind_s, "audit_store_s": audit_s,
                          "content_digest_rows_per_s": int(ROWS / content) if content else None}))


if __name__ == "__main__":
    main()
