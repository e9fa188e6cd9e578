"""Readers: recognise a file, detect its encoding and header row, and stream its rows into a staging table.

Every reader yields Arrow record batches of text: ``_row`` (the row number a clerk sees in Excel,
header row = 1 for a plain file), ``_shape`` (why a row's field count is wrong, else null) and one
column ``c0 … cN`` per header cell. Nothing becomes a Python object per row on the CSV path:

- CSV: pyarrow's streaming CSV reader (multi-threaded; GBK/GB18030 and UTF-16 are transcoded as a
  stream). If a row has the wrong number of fields, the file is read again with Python's ``csv``
  module so that every row keeps its exact number and the bad rows can be quarantined.
- XLSX: openpyxl in read-only streaming mode (cells are Python values by nature), in chunks.
- Arrow batches from plug-ins: typed columns are rendered to text in DuckDB and validated like a file.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import itertools
import zipfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import attrs
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from dbsj.errors import IntakeError
from dbsj.intake.aliases import header_key
from dbsj.intake.limits import DEFAULT_LIMITS, IntakeLimits

__all__ = ["RawSource", "open_file", "batches_source", "stage_schema", "CHUNK_ROWS"]

CHUNK_ROWS = 65_536
_SAMPLE = 256 * 1024
_HEADER_SCAN = 20


@attrs.frozen
class RawSource:
    """A readable source: its header cells, encoding, and a factory of staged batches."""

    name: str
    headers: tuple[str, ...]
    encoding: str | None
    header_row: int
    batches: Callable[[Callable[[int], None] | None], Iterator[pa.RecordBatch]]
    size: int | None = None
    #: A second, exact reader used when the fast reader meets a row with the wrong field count.
    exact_batches: Callable[[Callable[[int], None] | None], Iterator[pa.RecordBatch]] | None = None
    #: Cells may carry dbsj's formula escape (one leading ``'``, dbsj._csvcells): true for CSV.
    formula_escaped: bool = False


class WrongFieldCount(Exception):
    """Raised inside the fast CSV reader to switch to the exact reader."""


def _intake_error(path: Path, zh: str, en: str, hint_zh: str | None = None, hint_en: str | None = None) -> IntakeError:
    return IntakeError(zh, en, where=str(path), hint_zh=hint_zh, hint_en=hint_en)


def stage_schema(width: int) -> pa.Schema:
    """The staged text batches' schema: ``_row``, ``_shape``, ``c0 … c{width-1}``."""
    return pa.schema([("_row", pa.int64()), ("_shape", pa.string())] + [(f"c{i}", pa.string()) for i in range(width)])


def _row_numbers(first: int, n: int) -> pa.Array:
    if n == 0:
        return pa.array([], pa.int64())
    return pc.add(pc.cumulative_sum(pa.repeat(pa.scalar(1, pa.int64()), n)), first - 1)


# -- file recognition -----------------------------------------------------------------------------

def _sniff_kind(path: Path, head: bytes) -> str:
    """``"xlsx"`` or ``"csv"``; anything else is an :class:`IntakeError` saying what the file is."""
    if head.startswith(b"%PDF"):
        raise _intake_error(path, "这是 PDF 文件，不是 CSV 或 XLSX 表格", "this is a PDF file, not a CSV or XLSX table",
                            "请从原系统导出 CSV 或 Excel(.xlsx)", "export CSV or Excel (.xlsx) from the source system")
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise _intake_error(path, "这是旧版 Office 文件（.xls/.doc），不支持", "this is a legacy Office file (.xls/.doc), not supported",
                            "请在 Excel 中另存为 .xlsx 或 CSV", "save it as .xlsx or CSV in Excel")
    if head.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(path) as zf:
                names = set(zf.namelist())
        except zipfile.BadZipFile:
            raise _intake_error(path, "压缩文件已损坏", "the zip container is damaged") from None
        if "xl/workbook.xml" in names:
            return "xlsx"
        if any(n.startswith("word/") for n in names):
            raise _intake_error(path, "这是 Word 文档（.docx），不是表格", "this is a Word document (.docx), not a table",
                                "请提供 CSV 或 Excel(.xlsx)", "provide CSV or Excel (.xlsx)")
        raise _intake_error(path, "这是压缩文件，不是 CSV 或 XLSX 表格", "this is a zip archive, not a CSV or XLSX table")
    for magic, what in ((b"\x89PNG", "PNG"), (b"\xff\xd8\xff", "JPEG"), (b"GIF8", "GIF"), (b"Rar!", "RAR"),
                        (b"\x1f\x8b", "gzip"), (b"7z\xbc\xaf", "7z"), (b"PAR1", "Parquet")):
        if head.startswith(magic):
            raise _intake_error(path, f"这是 {what} 文件，不是 CSV 或 XLSX 表格", f"this is a {what} file, not a CSV or XLSX table")
    return "csv"


def detect_encoding(path: Path, sample: bytes) -> str:
    """``utf-8-sig``, ``utf-16``, ``utf-8``, ``gb18030`` (GBK files too) or what charset-normalizer finds."""
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    # Binary content (or UTF-16 without its BOM) is full of NUL bytes; a stray NUL inside a cell of a text
    # table is not, and reaches validation, which quarantines its row.
    if sample.count(b"\x00") > max(16, len(sample) // 100):
        raise _intake_error(path, "文件含有二进制内容，不是文本表格", "the file holds binary content, not a text table",
                            "请提供 CSV 或 Excel(.xlsx)", "provide CSV or Excel (.xlsx)")
    try:
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=False)
        return "utf-8"
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    # Whole lines only: a multi-byte character cut at the sample's end must not spoil the guess.
    cut = sample.rfind(b"\n")
    whole = sample[: cut + 1] if cut > 0 else sample
    best = from_bytes(whole).best()
    if best is None:
        try:
            codecs.getincrementaldecoder("gb18030")().decode(whole, final=False)
            return "gb18030"
        except UnicodeDecodeError:
            pass
        raise _intake_error(path, "无法识别文件编码", "cannot detect the file's encoding",
                            "请另存为 UTF-8 或 GBK 编码的 CSV", "save it as CSV in UTF-8 or GBK")
    enc = codecs.lookup(best.encoding).name
    # GBK and GB2312 are subsets of GB18030: decoding with the superset never loses a character.
    return "gb18030" if enc in ("gbk", "gb2312", "gb18030", "hz") else enc


def _python_encoding(enc: str) -> str:
    return enc


def _arrow_encoding(enc: str) -> str:
    return "utf8" if enc in ("utf-8", "utf-8-sig") else enc


def _pick_header(rows: list[tuple[int, list[str]]], known: frozenset[str]) -> tuple[int, list[str]]:
    """The header is the first of the opening rows naming at least two known columns, else the first non-empty row."""
    non_empty = [(n, r) for n, r in rows if any((c or "").strip() for c in r)]
    if not non_empty:
        raise IntakeError("文件为空，没有表头和数据", "the file is empty: no header, no data")
    for n, r in non_empty:
        if sum(1 for c in r if header_key(c or "") in known) >= 2:
            return n, r
    return non_empty[0]


def _clean_headers(cells: list[str], path: Path | str, limits: IntakeLimits, *, escaped: bool = False) -> list[str]:
    out = [(c or "").replace("\ufeff", "").strip() for c in cells]
    if escaped:  # a header dbsj wrote may carry the formula escape too
        out = [c[1:] if c.startswith("'") else c for c in out]
    while out and not out[-1]:
        out.pop()
    if len(out) > limits.max_columns:
        raise IntakeError(f"表头有 {len(out)} 列，超过上限 {limits.max_columns} 列", f"the header has {len(out)} columns, "
                          f"more than the limit of {limits.max_columns}", where=str(path),
                          hint_zh="检查分隔符与表头行", hint_en="check the delimiter and the header row")
    return out


def _too_long(path: Path, limits: IntakeLimits, row: int | None) -> IntakeError:
    at_zh = f"第 {row} 行附近" if row else "文件中"
    at_en = f" near row {row}" if row else ""
    mib = limits.max_field_bytes / (1024 * 1024)
    return _intake_error(path, f"{at_zh}有一个字段或一行超过 {mib:g} MiB（{limits.max_field_bytes} 字节）的上限，无法作为表格读取",
                         f"a field or row{at_en} exceeds the limit of {mib:g} MiB ({limits.max_field_bytes} bytes) and "
                         "cannot be read as a table",
                         "常见原因是引号未闭合；请检查该行，或另存为规范的 CSV",
                         "an unclosed quote is the usual cause: check that row, or save the file again as CSV")


# -- CSV ------------------------------------------------------------------------------------------

def _open_csv(path: Path, head: bytes, known: frozenset[str], limits: IntakeLimits = DEFAULT_LIMITS) -> RawSource:
    if not head.strip(b" \t\r\n\xef\xbb\xbf"):
        raise _intake_error(path, "文件为空", "the file is empty")
    enc = detect_encoding(path, head)
    text = codecs.getincrementaldecoder(enc)(errors="replace").decode(head, final=False)
    first_line = text.split("\n", 1)[0]
    delim = max((",", "\t", ";"), key=lambda d: (first_line.count(d), d == ","))
    sample_rows = []
    csv.field_size_limit(limits.max_field_bytes)
    reader = csv.reader(io.StringIO(text), delimiter=delim)
    try:
        for i, rec in enumerate(reader, start=1):
            sample_rows.append((i, rec))
            if i >= _HEADER_SCAN:
                break
    except csv.Error:
        pass
    try:
        header_no, cells = _pick_header(sample_rows, known)
    except IntakeError:
        raise _intake_error(path, "文件为空", "the file is empty") from None
    headers = _clean_headers(cells, path, limits, escaped=True)
    width = max(len(headers), 1)
    size = path.stat().st_size

    def fast(progress: Callable[[int], None] | None) -> Iterator[pa.RecordBatch]:
        wrong = []

        def on_invalid(row: pacsv.InvalidRow) -> str:
            wrong.append(row.number)
            return "error"

        names = [f"c{i}" for i in range(width)]
        f = pa.OSFile(str(path), "rb")
        try:
            reader = pacsv.open_csv(
                f,
                read_options=pacsv.ReadOptions(column_names=names, skip_rows=header_no, encoding=_arrow_encoding(enc),
                                               block_size=max(1 << 20, limits.max_field_bytes)),
                parse_options=pacsv.ParseOptions(delimiter=delim, newlines_in_values=True, invalid_row_handler=on_invalid),
                convert_options=pacsv.ConvertOptions(column_types={n: pa.string() for n in names},
                                                     strings_can_be_null=False, quoted_strings_can_be_null=False),
            )
            first = header_no + 1
            for batch in reader:
                n = batch.num_rows
                cols = [_row_numbers(first, n), pa.nulls(n, pa.string())] + batch.columns
                first += n
                yield pa.RecordBatch.from_arrays(cols, schema=stage_schema(width))
                if progress:
                    progress(f.tell())
        except pa.ArrowInvalid as exc:
            if wrong:
                raise WrongFieldCount() from exc
            if "straddl" in str(exc) or "block size" in str(exc):
                raise _too_long(path, limits, None) from None
            if "UTF8" in str(exc):
                raise _intake_error(path, f"文件编码不一致: 开头是 UTF-8，后面不是（{exc}）",
                                    f"inconsistent encoding: the file starts as UTF-8 but later is not ({exc})",
                                    "请整体另存为 UTF-8 或 GBK", "save the whole file as UTF-8 or GBK") from None
            raise _intake_error(path, f"CSV 解析失败: {exc}", f"cannot parse CSV: {exc}") from None
        except UnicodeDecodeError as exc:
            raise _intake_error(path, f"文件编码不一致（按 {enc} 读取失败）: {exc}",
                                f"inconsistent encoding (cannot read as {enc}): {exc}",
                                "请整体另存为 UTF-8 或 GBK", "save the whole file as UTF-8 or GBK") from None
        finally:
            f.close()

    def exact(progress: Callable[[int], None] | None) -> Iterator[pa.RecordBatch]:
        csv.field_size_limit(limits.max_field_bytes)
        with open(path, encoding=_python_encoding(enc), newline="", errors="strict") as fh:
            rdr = csv.reader(fh, delimiter=delim)
            try:
                for _ in range(header_no):
                    next(rdr, None)
                yield from _chunked(_csv_records(rdr, width, lambda: rdr.line_num), width, header_no + 1, progress,
                                    lambda: fh.buffer.tell() if hasattr(fh, "buffer") else 0)
            except csv.Error as exc:
                if "field limit" in str(exc):
                    raise _too_long(path, limits, rdr.line_num) from None
                raise _intake_error(path, f"CSV 解析失败（第 {rdr.line_num} 行附近）: {exc}",
                                    f"cannot parse CSV (near row {rdr.line_num}): {exc}") from None

    return RawSource(str(path), tuple(headers), enc, header_no, fast, size=size, exact_batches=exact,
                     formula_escaped=True)


def _csv_records(rdr: Iterable[list[str]], width: int, line_num: Callable[[], int]) -> Iterator[tuple[list[str | None], str | None]]:
    for rec in rdr:
        if not rec:  # an empty line is not a row
            continue
        shape = None
        if len(rec) != width:
            if len(rec) > width and not any(c.strip() for c in rec[width:]):
                rec = rec[:width]
            else:
                shape = f"{len(rec)}/{width}"
                if len(rec) > width:
                    extra = "|".join(rec[width:])
                    shape += ":" + (extra if len(extra) <= 200 else extra[:200] + "…")
        cells: list[str | None] = list(rec[:width]) + [None] * (width - len(rec))
        yield cells, shape


def _chunked(records: Iterator[tuple[list[str | None], str | None]], width: int, first: int,
             progress: Callable[[int], None] | None, position: Callable[[], int]) -> Iterator[pa.RecordBatch]:
    schema = stage_schema(width)
    buf: list[tuple[list[str | None], str | None]] = []

    def flush(start: int) -> pa.RecordBatch:
        cols = [_row_numbers(start, len(buf)), pa.array([s for _, s in buf], pa.string())]
        cols += [pa.array([r[i] for r, _ in buf], pa.string()) for i in range(width)]
        return pa.RecordBatch.from_arrays(cols, schema=schema)

    start = first
    for rec in records:
        buf.append(rec)
        if len(buf) >= CHUNK_ROWS:
            yield flush(start)
            start += len(buf)
            buf.clear()
            if progress:
                progress(position())
    if buf:
        yield flush(start)


# -- XLSX -----------------------------------------------------------------------------------------

def _cell_text(v: object) -> str | None:
    if v is None:
        return None
    if isinstance(v, str):
        return v
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, dt.datetime):
        return v.date().isoformat() if v.time() == dt.time(0) else v.isoformat(sep=" ")
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def _check_xlsx_parts(path: Path, limits: IntakeLimits) -> None:
    """Refuse a workbook whose parts would decompress beyond the bounds (a zip bomb) before openpyxl reads it.

    Python's zipfile never returns more than a member's declared size, so the declared sizes bound the work.
    """
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
    except (zipfile.BadZipFile, OSError) as exc:
        raise _intake_error(path, f"Excel 文件已损坏（{exc}）", f"the Excel file is damaged ({exc})") from None
    for info in infos:
        if not info.filename.startswith("xl/"):
            continue
        if info.file_size > limits.max_xlsx_part_bytes:
            raise _intake_error(path, f"Excel 文件的部件 {info.filename} 解压后有 {info.file_size} 字节，超过上限 "
                                      f"{limits.max_xlsx_part_bytes} 字节",
                                f"part {info.filename} of the Excel file decompresses to {info.file_size} bytes, beyond the "
                                f"limit of {limits.max_xlsx_part_bytes}", "拆分工作簿或另存为 CSV", "split the workbook or save it as CSV")
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size > 10 * 1024 * 1024 and ratio > limits.max_xlsx_ratio:
            raise _intake_error(path, f"Excel 文件的部件 {info.filename} 压缩比为 {ratio:.0f}:1，超过上限 {limits.max_xlsx_ratio}:1"
                                      "（疑似压缩炸弹）",
                                f"part {info.filename} of the Excel file has a compression ratio of {ratio:.0f}:1, beyond the "
                                f"limit of {limits.max_xlsx_ratio}:1 (a zip bomb?)", "另存为 CSV 后导入", "save it as CSV and import that")


def _open_xlsx(path: Path, known: frozenset[str], limits: IntakeLimits = DEFAULT_LIMITS) -> RawSource:
    import openpyxl

    _check_xlsx_parts(path, limits)

    def rows() -> Iterator[tuple[int, list[str | None]]]:
        try:
            wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
        except Exception as exc:  # openpyxl raises many kinds for damaged files
            raise _intake_error(path, f"无法读取 Excel 文件: {exc}", f"cannot read the Excel file: {exc}") from None
        try:
            if not wb.worksheets:
                raise _intake_error(path, "Excel 文件没有工作表", "the Excel file has no worksheet")
            ws = wb.worksheets[0]
            # The declared dimension (A1:XFD1048576 in a hostile file) would pad every row to it; rows then hold
            # only the cells they have.
            ws.reset_dimensions()
            for n, values in enumerate(ws.iter_rows(values_only=True), start=1):
                yield n, [_cell_text(v) for v in values]
        finally:
            wb.close()

    head = []
    for n, r in rows():
        head.append((n, [c or "" for c in r]))
        if len(head) >= _HEADER_SCAN:
            break
    try:
        header_no, cells = _pick_header(head, known)
    except IntakeError:
        raise _intake_error(path, "Excel 工作表为空", "the Excel worksheet is empty") from None
    headers = _clean_headers(cells, path, limits)
    width = max(len(headers), 1)

    def batches(progress: Callable[[int], None] | None) -> Iterator[pa.RecordBatch]:
        schema = stage_schema(width)
        nums: list[int] = []
        shapes: list[str | None] = []
        data: list[list[str | None]] = []

        def flush() -> pa.RecordBatch:
            cols = [pa.array(nums, pa.int64()), pa.array(shapes, pa.string())]
            cols += [pa.array([r[i] for r in data], pa.string()) for i in range(width)]
            return pa.RecordBatch.from_arrays(cols, schema=schema)

        for n, r in rows():
            if n <= header_no or not any(c is not None and str(c).strip() for c in r):
                continue
            extra = [c for c in r[width:] if c is not None and c.strip()]
            nums.append(n)
            joined = "|".join(extra)
            shapes.append(f"{width + len(extra)}/{width}:" + (joined if len(joined) <= 200 else joined[:200] + "…")
                          if extra else None)
            data.append((r + [None] * width)[:width])
            if len(nums) >= CHUNK_ROWS:
                yield flush()
                nums, shapes, data = [], [], []
                if progress:
                    progress(n)
        if nums:
            yield flush()

    return RawSource(str(path), tuple(headers), "xlsx", header_no, batches, size=None)


def open_file(path: str | Path, known_headers: frozenset[str], limits: IntakeLimits = DEFAULT_LIMITS) -> RawSource:
    """Recognise ``path`` (CSV in any supported encoding, or XLSX) and prepare to stream it."""
    p = Path(path)
    if not p.exists():
        raise _intake_error(p, "文件不存在", "file not found")
    if p.is_dir():
        raise _intake_error(p, "这是目录，不是文件", "this is a directory, not a file")
    if not p.is_file():
        raise _intake_error(p, "不是普通文件（设备或管道），无法作为表格读取", "not a regular file (a device or pipe): not a table")
    size = p.stat().st_size
    if size > limits.max_file_bytes:
        raise _intake_error(p, f"文件有 {size} 字节，超过上限 {limits.max_file_bytes} 字节", f"the file is {size} bytes, "
                               f"beyond the limit of {limits.max_file_bytes}", "按地区或类型拆分文件", "split the file by region or kind")
    try:
        with open(p, "rb") as fh:
            head = fh.read(_SAMPLE)
    except OSError as exc:
        raise _intake_error(p, f"无法读取文件: {exc.strerror or exc}", f"cannot read the file: {exc.strerror or exc}") from None
    if not head:
        raise _intake_error(p, "文件为空", "the file is empty")
    kind = _sniff_kind(p, head)
    if kind == "xlsx":
        return _open_xlsx(p, known_headers, limits)
    return _open_csv(p, head, known_headers, limits)


# -- Arrow batches ---------------------------------------------------------------------------------

def batches_source(batches: Iterable[pa.RecordBatch] | pa.Table | pa.RecordBatchReader, source: str,
                   limits: IntakeLimits = DEFAULT_LIMITS) -> RawSource:
    """A source over Arrow record batches (plug-ins). Row numbers count records from 1."""
    if isinstance(batches, pa.Table):
        batches = batches.to_batches()
    it = iter(batches)
    first = next(it, None)
    if first is None:
        raise IntakeError("没有收到任何数据批次", "no record batches were supplied", where=source)
    if not isinstance(first, (pa.RecordBatch, pa.Table)):
        raise IntakeError(f"插件提供了 {type(first).__name__}，应为 pyarrow.RecordBatch",
                          f"got {type(first).__name__}, expected pyarrow.RecordBatch", where=source)
    schema = first.schema
    headers = tuple(schema.names)
    width = len(headers)
    if width > limits.max_columns:
        raise IntakeError(f"数据批次有 {width} 列，超过上限 {limits.max_columns} 列",
                          f"the record batches have {width} columns, more than the limit of {limits.max_columns}", where=source)

    def render(b: pa.RecordBatch | pa.Table, start: int) -> Iterator[pa.RecordBatch]:
        if isinstance(b, pa.Table):
            for x in b.to_batches():
                yield from render(x, start)
                start += x.num_rows
            return
        if not isinstance(b, pa.RecordBatch):
            raise IntakeError(f"插件提供了 {type(b).__name__}，应为 pyarrow.RecordBatch",
                              f"got {type(b).__name__}, expected pyarrow.RecordBatch", where=source)
        if b.schema.names != schema.names:
            raise IntakeError(f"数据批次的列与第一批不同: {b.schema.names}",
                              f"a record batch's columns differ from the first batch's: {b.schema.names}", where=source)
        n = b.num_rows
        cols = [_row_numbers(start, n), pa.nulls(n, pa.string())] + [_as_text(b.column(i)) for i in range(width)]
        yield pa.RecordBatch.from_arrays(cols, schema=stage_schema(width))

    def gen(progress: Callable[[int], None] | None) -> Iterator[pa.RecordBatch]:
        start = 1
        for b in itertools.chain([first], it):
            for out in render(b, start):
                start += out.num_rows
                yield out
                if progress:
                    progress(start - 1)

    return RawSource(source, headers, None, 0, gen)


def _as_text(arr: pa.Array) -> pa.Array:
    """Render a typed Arrow column as text exactly as a canonical CSV would carry it."""
    t = arr.type
    if pa.types.is_string(t):
        return arr
    if pa.types.is_large_string(t) or pa.types.is_string_view(t):
        return arr.cast(pa.string())
    if pa.types.is_dictionary(t):
        return _as_text(arr.dictionary_decode())
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        if isinstance(arr, pa.ChunkedArray):
            arr = arr.combine_chunks()
        if not (pa.types.is_string(t.value_type) or pa.types.is_large_string(t.value_type)):
            arr = pa.ListArray.from_arrays(arr.offsets, _as_text(arr.values), mask=arr.is_null())
        return pc.binary_join(arr, "|")
    if pa.types.is_boolean(t):
        return pc.if_else(arr, "true", "false")
    if pa.types.is_timestamp(t) or pa.types.is_date64(t):
        return _as_text(arr.cast(pa.timestamp("s")).cast(pa.date32()))
    if pa.types.is_date32(t):
        return arr.cast(pa.string())
    return arr.cast(pa.string())
