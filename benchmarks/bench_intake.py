"""Intake speed: rows/s for a large CSV (UTF-8 and GBK) and for Arrow batches, full validation + upsert,
side by side with a bare DuckDB ``read_csv`` load of the same file (measured in the same run).

Prints one JSON object. Sizes: ``DBSJ_BENCH_CSV_ROWS`` (default 2,000,000) and ``DBSJ_BENCH_ARROW_ROWS``
(default 3,000,000).
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import pyarrow as pa

import dbsj

CSV_ROWS = int(os.environ.get("DBSJ_BENCH_CSV_ROWS", "2000000"))
ARROW_ROWS = int(os.environ.get("DBSJ_BENCH_ARROW_ROWS", "3000000"))
PREFECTURES = sorted(dbsj.XINJIANG_PREFECTURES)

# Valid USCCs generated in SQL: the check digit by the same macro intake uses (checked against stdnum in the tests).
_TARGETS_SQL = """
WITH base AS (
    SELECT i, '91' || (['{prefs}'])[1 + i % {npref}] || 'MA' || lpad(CAST(i AS VARCHAR), 7, '0') AS body
    FROM range({n}) t(i)
), coded AS (
    SELECT i, body || substr('0123456789ABCDEFGHJKLMNPQRTUWXY',
        ((31 - (({terms}) % 31)) % 31) + 1, 1) AS uscc FROM base
)
SELECT uscc AS 统一社会信用代码, '新疆某某商贸有限公司' || i AS 企业名称,
       (['有限责任公司', '个体工商户', '农民专业合作社', '企业'])[1 + i % 4] AS 企业类型,
       (['存续', '在业', '注销', '吊销，未注销'])[1 + (i // 7) % 4] AS 登记状态,
       substr(uscc, 3, 6) AS 行政区划代码, '某某市场监督管理局' AS 登记机关, '某某所' AS 管辖单位,
       'F5211' AS 行业代码, strftime(DATE '2000-01-01' + CAST(i % 8000 AS INTEGER), '%Y/%m/%d') AS 成立日期,
       (['A', 'B', 'B', 'C', 'D', ''])[1 + i % 6] AS 信用风险分类, '食品|重点' AS 监管标签
FROM coded
"""


def _targets_sql(n: int) -> str:
    from dbsj.intake.validate import USCC_ALPHABET, USCC_WEIGHTS

    terms = " + ".join(f"(instr('{USCC_ALPHABET}', substr(body, {i + 1}, 1)) - 1) * {w}"
                       for i, w in enumerate(USCC_WEIGHTS))
    return _TARGETS_SQL.format(prefs="', '".join(PREFECTURES), npref=len(PREFECTURES), n=n, terms=terms)


def _timed(fn):
    t = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t


def main() -> None:
    dbsj.set_now("2023-06-01")
    dbsj.reset_plugin_manager(dbsj.PluginManager(load_entry_points=False))
    out: dict[str, object] = {"csv_rows": CSV_ROWS, "arrow_rows": ARROW_ROWS}
    with tempfile.TemporaryDirectory() as tmp:
        tmpdir = Path(tmp)
        gen = duckdb.connect()
        csv_path = tmpdir / "targets.csv"
        gen.execute(f"COPY ({_targets_sql(CSV_ROWS)}) TO '{csv_path}' (HEADER, DELIMITER ',')")
        gbk_path = tmpdir / "targets_gbk.csv"
        with open(csv_path, encoding="utf-8") as src, open(gbk_path, "w", encoding="gbk") as dst:
            while chunk := src.read(1 << 24):
                dst.write(chunk)
        out["csv_mb"] = round(csv_path.stat().st_size / 1e6, 1)

        # Bare DuckDB load of the same file: the floor intake is compared with.
        bare = duckdb.connect()
        _, t_bare = _timed(lambda: bare.execute(
            f"CREATE TABLE t AS SELECT * FROM read_csv('{csv_path}', all_varchar = true)").fetchall())
        bare.close()

        with dbsj.Store(tmpdir / "csv.duckdb") as store:
            report, t_csv = _timed(lambda: dbsj.import_pool(store, "targets", csv_path, quarantine_dir=tmpdir))
            again, t_csv_again = _timed(lambda: dbsj.import_pool(store, "targets", csv_path, quarantine_dir=tmpdir))
            assert report.read == CSV_ROWS and report.quarantined == 0, report
            assert again.unchanged == CSV_ROWS, again
            export_path = tmpdir / "export.csv"
            exported, t_export = _timed(lambda: dbsj.export_pool(store, "targets", export_path))
        with dbsj.Store(tmpdir / "gbk.duckdb") as store:
            gbk, t_gbk = _timed(lambda: dbsj.import_pool(store, "targets", gbk_path, quarantine_dir=tmpdir))
            assert gbk.accepted == CSV_ROWS and gbk.encoding == "gb18030", gbk

        arrow_table = gen.sql(f"""SELECT 统一社会信用代码 AS uscc, 企业名称 AS name, 企业类型 AS entity_kind,
            登记状态 AS status, 行政区划代码 AS region, 行业代码 AS industry,
            CAST(strptime(成立日期, '%Y/%m/%d') AS DATE) AS established, 信用风险分类 AS credit_class,
            string_split(监管标签, '|') AS tags FROM ({_targets_sql(ARROW_ROWS)})""").to_arrow_table()
        batches = arrow_table.to_batches(max_chunksize=100_000)
        with dbsj.Store(tmpdir / "arrow.duckdb") as store:
            arrow, t_arrow = _timed(lambda: dbsj.import_batches(store, "targets", batches, source="bench",
                                                                quarantine_dir=tmpdir))
            assert arrow.accepted == ARROW_ROWS, arrow
            upd, t_arrow_again = _timed(lambda: dbsj.import_batches(store, "targets", batches, source="bench",
                                                                    quarantine_dir=tmpdir, snapshot=True))
            assert upd.unchanged == ARROW_ROWS, upd

    out.update({
        "bare_duckdb_read_csv_s": round(t_bare, 2),
        "csv_import_s": round(t_csv, 2),
        "csv_rows_per_s": round(CSV_ROWS / t_csv),
        "csv_full_vs_bare_ratio": round(t_csv / t_bare, 2),
        "csv_reimport_unchanged_s": round(t_csv_again, 2),
        "gbk_csv_import_s": round(t_gbk, 2),
        "gbk_rows_per_s": round(CSV_ROWS / t_gbk),
        "export_s": round(t_export, 2),
        "export_rows": exported,
        "arrow_import_s": round(t_arrow, 2),
        "arrow_rows_per_s": round(ARROW_ROWS / t_arrow),
        "arrow_snapshot_reimport_s": round(t_arrow_again, 2),
        "normalised": report.normalised,
    })
    json.dump(out, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
