"""Canonical CSV export of a pool, and the CSV writer the quarantine shares.

Canonical CSV: UTF-8 with BOM (Excel opens it as Chinese text), canonical English headers (or the
Chinese ones with ``headers="zh"``), active rows only, sorted by natural key, list fields joined by
``|``, dates ``YYYY-MM-DD``, booleans ``true``/``false``; a cell a spreadsheet would run as a formula
(``=``, ``+``, ``-``, ``@`` …) carries one ``'`` in front (:mod:`dbsj._csvcells`), which import removes.
Importing the file again changes nothing.
"""

from __future__ import annotations

import codecs
import os
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv

from dbsj._csvcells import neutralise_sql
from dbsj.errors import InputError
from dbsj.models.columns import columns_of, natural_key

__all__ = ["export_pool", "write_csv", "arrow_reader"]


def write_csv(reader: pa.RecordBatchReader, out_path: str | os.PathLike[str], header: list[str]) -> int:
    """Write text record batches as a UTF-8-with-BOM CSV with ``header``; returns rows written."""
    out = Path(out_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    rows = 0
    schema = pa.schema([(h, pa.string()) for h in header])
    tmp = out.with_name(out.name + ".part")
    with open(tmp, "wb") as fh:
        fh.write(codecs.BOM_UTF8)
        with pacsv.CSVWriter(fh, schema, write_options=pacsv.WriteOptions(quoting_style="needed")) as w:
            for batch in reader:
                w.write_batch(pa.RecordBatch.from_arrays(batch.columns, schema=schema))
                rows += batch.num_rows
    os.replace(tmp, out)
    return rows


def arrow_reader(con, sql: str, batch_rows: int = 65536) -> pa.RecordBatchReader:  # noqa: ANN001
    """Stream a query's result as Arrow batches (no copy of the whole result)."""
    complete = getattr(con, "complete", None)
    if complete is not None:  # DuckDB >= 2: finish any partly fetched result first
        complete()
    return con.sql(sql).to_arrow_reader(batch_rows)


def _text(name: str, sql_type: str) -> str:
    if sql_type.endswith("[]"):
        text = f"coalesce(array_to_string({name}, '|'), '')"
    else:
        text = f"coalesce(CAST({name} AS VARCHAR), '')"
    # Formula-leading cells get one ' in front (dbsj._csvcells); import takes it off again.
    return neutralise_sql(text)


def export_pool(store, kind: str, out_path: str | os.PathLike[str], *, headers: str = "en") -> int:  # noqa: ANN001
    """Write the active rows of pool ``kind`` to ``out_path`` as canonical CSV; returns the number of rows.

    ``headers="en"`` writes canonical English names (:data:`dbsj.POOL_COLUMNS`), ``"zh"`` the Chinese
    headers (:attr:`dbsj.Column.zh`); both import back unchanged.
    """
    cols = columns_of(kind)
    if headers not in ("en", "zh"):
        raise InputError(f"表头语言应为 en 或 zh，而不是 {headers!r}", f"headers must be en or zh, not {headers!r}")
    select = ", ".join(f"{_text(c.name, c.sql_type)} AS {c.name}" for c in cols)
    order = ", ".join(natural_key(kind))
    reader = arrow_reader(store.con, f"SELECT {select} FROM {kind} WHERE active ORDER BY {order}")
    return write_csv(reader, out_path, [c.name if headers == "en" else c.zh for c in cols])
