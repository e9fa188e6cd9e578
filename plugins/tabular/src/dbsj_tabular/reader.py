"""Reading a department's files into Arrow batches of text, renamed, value-mapped and completed.

Everything leaves as text (``string`` columns): dbsj's intake parses and validates each value exactly
as it would a file's, so a bad row is quarantined with its reason, never guessed here.
"""

from __future__ import annotations

import datetime as dt
import io
import unicodedata
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

import dbsj
from dbsj_tabular.mapping import PLUGIN, LoadedMapping, PoolMapping

__all__ = ["read_pool", "read_file", "decode"]

_ENCODINGS = ("utf-8-sig", "gb18030")


def decode(data: bytes, forced: str | None = None) -> tuple[str, str]:
    """Text and encoding of a CSV file: UTF-8 (with or without BOM), else GB18030 (a superset of GBK)."""
    for enc in ((forced,) if forced else _ENCODINGS):
        try:
            return data.decode(enc), enc
        except (UnicodeDecodeError, LookupError):
            continue
    raise dbsj.PluginError("无法识别文件编码（应为 UTF-8 或 GBK/GB18030）",
                           "cannot decode the file (expected UTF-8 or GBK/GB18030)", plugin=PLUGIN)


def _read_csv(path: Path, forced: str | None) -> pa.Table:
    text, _enc = decode(path.read_bytes(), forced)
    first = text.splitlines()[0] if text.strip() else ""
    if not first:
        raise dbsj.PluginError("文件为空", "the file is empty", plugin=PLUGIN, where=str(path))
    import csv

    headers = next(csv.reader([first]))
    opts = pacsv.ConvertOptions(column_types={h: pa.string() for h in headers}, strings_can_be_null=True,
                                null_values=[""])
    try:
        return pacsv.read_csv(io.BytesIO(text.encode("utf-8")), convert_options=opts)
    except pa.ArrowInvalid as exc:
        raise dbsj.PluginError(f"CSV 无法读取: {exc}", f"cannot read CSV: {exc}", plugin=PLUGIN, where=str(path)) from None


def _cell(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, bool):
        return "是" if value else "否"
    text = str(value)
    return text if text.strip() else None


def _read_xlsx(path: Path, sheet: str | None) -> pa.Table:
    from openpyxl import load_workbook

    wb = load_workbook(path, read_only=True, data_only=True)
    try:
        if sheet is not None and sheet not in wb.sheetnames:
            raise dbsj.PluginError(f"工作表 {sheet!r} 不存在（有: {', '.join(wb.sheetnames)}）",
                                   f"no sheet {sheet!r} (sheets: {', '.join(wb.sheetnames)})", plugin=PLUGIN,
                                   where=str(path))
        ws = wb[sheet] if sheet else wb.worksheets[0]
        rows = ws.iter_rows(values_only=True)
        header = next(rows, None)
        if not header:
            raise dbsj.PluginError("工作表为空", "the sheet is empty", plugin=PLUGIN, where=str(path))
        headers = [str(h).strip() if h is not None else f"column{n + 1}" for n, h in enumerate(header)]
        columns: list[list[str | None]] = [[] for _ in headers]
        for row in rows:
            if row is None or all(v is None for v in row):
                continue
            for n in range(len(headers)):
                columns[n].append(_cell(row[n]) if n < len(row) else None)
    finally:
        wb.close()
    return pa.table({h: pa.array(c, pa.string()) for h, c in zip(headers, columns)})


def read_file(path: Path, pool: PoolMapping, forced_encoding: str | None = None) -> pa.Table:
    """One CSV or XLSX file as a table of text columns, headers as found."""
    suffix = path.suffix.lower()
    if suffix in (".csv", ".txt"):
        return _read_csv(path, forced_encoding)
    if suffix in (".xlsx", ".xlsm"):
        return _read_xlsx(path, pool.sheet)
    raise dbsj.PluginError(f"不支持的文件类型 {suffix}（支持 CSV、XLSX）", f"unsupported file type {suffix} (CSV, XLSX)",
                           plugin=PLUGIN, where=str(path))


def _norm(header: str) -> str:
    return "".join(unicodedata.normalize("NFKC", header).replace("\ufeff", "").split()).strip("*").lower()


def _canonical_names(kind: str, headers: list[str], pool: PoolMapping) -> list[str]:
    aliases = {_norm(h): c for h, c in dbsj.header_aliases(kind).items()}
    rename = {_norm(h): c for h, c in pool.rename.items()}
    return [rename.get(_norm(h)) or aliases.get(_norm(h)) or h for h in headers]


def _map_values(column: pa.ChunkedArray, table: dict[str, str]) -> pa.ChunkedArray:
    keys = sorted(table)
    idx = pc.index_in(pc.utf8_trim_whitespace(column), value_set=pa.array(keys, pa.string()))
    mapped = pc.take(pa.array([table[k] for k in keys], pa.string()), idx)
    return pc.coalesce(mapped, column)


def shape(kind: str, table: pa.Table, loaded: LoadedMapping) -> pa.Table:
    """Rename to canonical columns, apply value maps, add constants and the folder's department."""
    pool = loaded.mapping.pools[kind]
    names = _canonical_names(kind, table.column_names, pool)
    table = table.rename_columns(names)
    for col, values in sorted(pool.values.items()):
        if col in table.column_names:
            table = table.set_column(table.column_names.index(col), col, _map_values(table.column(col), values))
    constants = dict(pool.constants)
    if loaded.mapping.department and kind in ("items", "inspectors"):
        constants.setdefault("department", loaded.mapping.department)
    for col, value in sorted(constants.items()):
        filled = pa.array([value] * table.num_rows, pa.string())
        if col in table.column_names:
            i = table.column_names.index(col)
            table = table.set_column(i, col, pc.coalesce(table.column(col), filled))
        else:
            table = table.append_column(col, filled)
    return table


def read_pool(kind: str, loaded: LoadedMapping) -> Iterator[pa.RecordBatch]:
    """The batches of pool ``kind``: each mapped file in turn (files must agree on their columns)."""
    pool = loaded.mapping.pools[kind]
    first_names: list[str] | None = None
    for path in loaded.files[kind]:
        table = shape(kind, read_file(path, pool, loaded.mapping.encoding), loaded)
        if first_names is None:
            first_names = table.column_names
        elif sorted(table.column_names) != sorted(first_names):
            raise dbsj.PluginError(f"{path.name} 的列与 {loaded.files[kind][0].name} 不同",
                                   f"{path.name} has other columns than {loaded.files[kind][0].name}",
                                   plugin=PLUGIN, where=str(path))
        table = table.select(first_names)
        yield from table.combine_chunks().to_batches()
