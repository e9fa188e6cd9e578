"""Import a pool from a file or from Arrow batches: read, validate set-wise, quarantine, upsert, record.

The steps, each a set operation in DuckDB:

1. map the source's headers to canonical columns (:func:`dbsj.header_aliases`); a missing required
   column is a :class:`~dbsj.MissingColumnError`, unknown columns are reported;
2. stream the rows as text into a staging table (row numbers as a clerk sees them);
3. validate and type every row in one statement (:mod:`dbsj.intake.validate`);
4. write the rejected rows, with ``_row``, ``_field``, ``_reason``, to the quarantine CSV;
5. upsert the accepted rows by natural key, recording each changed field, in one transaction with
   the ``imports`` row and the pool digest.

``read = accepted + quarantined`` holds for every import; the code checks it.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import attrs
import duckdb
import pyarrow as pa

from dbsj import clock
from dbsj._csvcells import neutralise, neutralise_sql, restore_sql
from dbsj._filenames import file_stem, inside
from dbsj.errors import DbsjError, InputError, IntakeError, MissingColumnError, PluginError
from dbsj.intake.aliases import accepted_headers, header_aliases, header_key
from dbsj.intake.export import arrow_reader, write_csv
from dbsj.intake.limits import DEFAULT_LIMITS, IntakeLimits
from dbsj.intake.readers import RawSource, WrongFieldCount, batches_source, open_file, stage_schema
from dbsj.intake.upsert import upsert
from dbsj.intake.validate import checked_table_sql, install_macros, load_regions
from dbsj.models.columns import columns_of
from dbsj.store.bindings import PoolBinding, bind_import, touched_buckets

__all__ = ["ImportReport", "IntakeLimits", "import_pool", "import_batches", "pull_pool"]

_RAW = "_dbsj_raw"
_CHECKED = "_dbsj_checked"
_ACCEPTED = "_dbsj_accepted"
_SEEN = "_dbsj_seen"
_REASONS = _CHECKED + "_reasons"


@attrs.frozen(slots=True)
class ImportReport:
    """What one import did. ``read == accepted + quarantined`` always."""

    kind: str
    source: str
    encoding: str | None
    read: int
    accepted: int
    quarantined: int
    #: accepted rows whose codes were normalised (full-width characters, stray spaces, lower case)
    normalised: int
    inserted: int
    updated: int
    unchanged: int
    deactivated: int
    quarantine_file: str | None
    #: headers that map to no column (reported, not fatal)
    unknown_columns: tuple[str, ...] = ()
    import_id: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (the ``--json`` output of ``dbsj pool import``)."""
        d = attrs.asdict(self)
        d["unknown_columns"] = list(self.unknown_columns)
        return d


def _mapping(kind: str, headers: tuple[str, ...], table: Mapping[str, str], where: str
             ) -> tuple[dict[str, str | None], dict[str, str], list[str]]:
    by_key = {header_key(h): c for h, c in table.items()}
    raw_of: dict[str, str | None] = {c.name: None for c in columns_of(kind)}
    header_of: dict[str, str] = {}
    unknown: list[str] = []
    for i, h in enumerate(headers):
        if not h or h.startswith("_"):
            continue  # quarantine-reason columns of a re-imported quarantine file; blank headers
        col = by_key.get(header_key(h))
        if col is None:
            unknown.append(h)
            continue
        if raw_of[col] is not None:
            raise IntakeError(f"表头 {header_of[col]!r} 与 {h!r} 指向同一列 {col}",
                              f"headers {header_of[col]!r} and {h!r} both mean column {col}", where=where,
                              hint_zh="删除或改名其中一列", hint_en="remove or rename one of them")
        raw_of[col] = f"c{i}"
        header_of[col] = h
    if kind == "items" and raw_of["department"] is None and raw_of["subject"] is not None:
        # Item lists name the department in 检查主体 only; it then serves as both.
        raw_of["department"], header_of["department"] = raw_of["subject"], header_of["subject"]
    for c in columns_of(kind):
        if c.required and raw_of[c.name] is None:
            names = accepted_headers(kind, c.name, dict(table))
            raise MissingColumnError(
                f"缺少必需的列 {c.zh}（{c.name}）；可用表头: {'、'.join(names)}",
                f"required column {c.name} ({c.zh}) is missing; accepted headers: {', '.join(names)}",
                where=where, column=c.name, aliases=names,
                hint_zh="在表头中加上该列，或用插件的 dbsj_header_aliases 声明本部门的表头",
                hint_en="add the column, or declare your department's header with a plug-in's dbsj_header_aliases")
    return raw_of, header_of, unknown


@contextmanager
def _progress_bar(enabled: bool, total: int | None, label: str) -> Iterator[Callable[[int], None] | None]:
    if not enabled:
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeElapsedColumn

    cols = [TextColumn("{task.description}"), BarColumn(), DownloadColumn() if total else TextColumn("{task.completed}"),
            TimeElapsedColumn()]
    with Progress(*cols, console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(label, total=total)
        yield lambda pos: bar.update(task, completed=pos)


def _stage(con, src: RawSource, progress: Callable[[int], None] | None) -> None:  # noqa: ANN001
    width = len(src.headers) or 1
    cols = ", ".join(f"c{i} VARCHAR" for i in range(width))
    con.execute(f"CREATE OR REPLACE TEMP TABLE {_RAW} (_row BIGINT, _shape VARCHAR, {cols})")

    def load(make: Callable[[Callable[[int], None] | None], Iterator[pa.RecordBatch]]) -> None:
        # One streaming INSERT (several times faster than a statement per batch). An exception raised
        # while producing batches reaches us wrapped by DuckDB: re-raise the original.
        failure: list[BaseException] = []

        def produce() -> Iterator[pa.RecordBatch]:
            try:
                yield from make(progress)
            except BaseException as exc:
                failure.append(exc)
                raise

        con.register("_dbsj_stream", pa.RecordBatchReader.from_batches(stage_schema(width), produce()))
        if src.formula_escaped:
            # A CSV dbsj wrote carries formula-leading cells with one ' in front (dbsj._csvcells): take it off.
            cells = ", ".join(f"{restore_sql(f'c{i}')} AS c{i}" for i in range(width))
            select = f"SELECT _row, _shape, {cells} FROM _dbsj_stream"
        else:
            select = "SELECT * FROM _dbsj_stream"
        try:
            con.execute(f"INSERT INTO {_RAW} {select}")
        except Exception:
            if failure:
                raise failure[0] from None
            raise
        finally:
            con.unregister("_dbsj_stream")

    try:
        load(src.batches)
    except WrongFieldCount:
        if src.exact_batches is None:
            raise
        # A row with a wrong field count: read again exactly, so every row keeps its number.
        con.execute(f"DELETE FROM {_RAW}")
        load(src.exact_batches)


def _quarantine_path(qdir: Path, stem: str) -> Path:
    """``<stem>.quarantine.csv`` in ``qdir``; a stem that cannot name a file safely (control characters,
    over 100 bytes, a leading dot) is replaced by ``import-<hash>`` rather than refusing the import."""
    try:
        safe = file_stem(stem, what="import source")
    except InputError:
        safe = "import-" + hashlib.sha256(stem.encode("utf-8", "surrogatepass")).hexdigest()[:12]
    return inside(qdir, qdir / f"{safe}.quarantine.csv")


def _run(store, kind: str, src: RawSource, *, table: Mapping[str, str], snapshot: bool, quarantine_dir: Path,  # noqa: ANN001
         stem: str, progress: bool, sha256: str | None, empty_is_error: bool,
         limits: IntakeLimits = DEFAULT_LIMITS) -> ImportReport:
    con = store.con
    raw_of, header_of, unknown = _mapping(kind, src.headers, table, src.name)
    with _progress_bar(progress, src.size, f"导入 {kind} / importing {kind}") as cb:
        _stage(con, src, cb)
    try:
        read = con.execute(f"SELECT count(*) FROM {_RAW}").fetchone()[0]
        if read == 0 and (empty_is_error or snapshot):
            raise IntakeError("没有数据行（只有表头）", "no data rows (a header only)", where=src.name,
                              hint_zh="检查导出是否完整", hint_en="check that the export is complete")
        install_macros(con)
        regions = [code for code, _name, _level in load_regions()]
        checked_sql, reasons_sql = checked_table_sql(kind, _CHECKED, _RAW, raw_of, header_of, clock.today(), regions,
                                                     max_cell_chars=limits.max_cell_chars)
        con.execute(checked_sql)
        con.execute(reasons_sql)
        accepted, quarantined, normalised = con.execute(
            f"SELECT count(*) FILTER (NOT _bad), count(*) FILTER (_bad), "
            f"count(*) FILTER (NOT _bad AND _norm) FROM {_CHECKED}").fetchone()
        if accepted + quarantined != read:  # the promise of intake: nothing lost, nothing invented
            raise AssertionError(f"intake lost rows: read {read} != accepted {accepted} + quarantined {quarantined}")

        qfile: str | None = None
        if quarantined:
            keep = [(i, h) for i, h in enumerate(src.headers) if not h.startswith("_")]
            # Cells as read, formula leads neutralised (dbsj._csvcells): a clerk opens this file in Excel.
            select = ", ".join([neutralise_sql(f"r.c{i}") for i, _ in keep]
                               + ["CAST(r._row AS VARCHAR)", neutralise_sql("q._field"), neutralise_sql("q._reason")])
            reader = arrow_reader(con, f"SELECT {select} FROM {_RAW} r JOIN {_REASONS} q USING (_row) "
                                       f"ORDER BY r._row")
            path = _quarantine_path(quarantine_dir, stem)
            write_csv(reader, path, [neutralise(h) for _, h in keep] + ["_row", "_field", "_reason"])
            qfile = str(path)

        cols = columns_of(kind)
        names = ", ".join(c.name for c in cols)
        keys = [c.name for c in cols if c.key]
        con.execute(f"DROP TABLE IF EXISTS {_RAW}")  # written to the quarantine; free the memory before the upsert
        con.execute(f"CREATE OR REPLACE TEMP VIEW {_ACCEPTED} AS SELECT {names} FROM {_CHECKED} WHERE NOT _bad")
        key_ok = " AND ".join(f"{k} IS NOT NULL" for k in keys if next(c for c in cols if c.name == k).required)
        con.execute(f"CREATE OR REPLACE TEMP TABLE {_SEEN} AS SELECT {', '.join(keys)} FROM {_CHECKED} "
                    f"WHERE _bad AND {key_ok}")
        at = clock.now()
        # One transaction: a failed commit (full disk, damaged block) leaves the pools as they were.
        with store.transaction():
            import_id = con.execute("SELECT nextval('import_seq')").fetchone()[0]
            # The pool's contents are bound on the ledger; an edit made outside dbsj is ledgered first.
            binding = PoolBinding.begin(store, kind, None if snapshot else touched_buckets(store, kind, _ACCEPTED))
            binding.record_drift()
            counts = upsert(con, kind, _ACCEPTED, _SEEN, import_id, at, snapshot=snapshot)
            con.execute("INSERT INTO imports VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        [import_id, kind, src.name, sha256, src.encoding, snapshot, read, accepted, quarantined,
                         normalised, counts.inserted, counts.updated, counts.unchanged, counts.deactivated, qfile, at])
            if kind != "history":
                from dbsj.store.digest import refresh_pool_digest

                refresh_pool_digest(store, kind)
            bind_import(store, binding, import_id)
    finally:
        _drop_temporaries(con)
    return ImportReport(kind=kind, source=src.name, encoding=src.encoding, read=int(read), accepted=int(accepted),
                        quarantined=int(quarantined), normalised=int(normalised), inserted=counts.inserted,
                        updated=counts.updated, unchanged=counts.unchanged, deactivated=counts.deactivated,
                        quarantine_file=qfile, unknown_columns=tuple(unknown), import_id=int(import_id))


def _drop_temporaries(con) -> None:  # noqa: ANN001
    # After a fatal DuckDB error the connection refuses every statement: the error that got us here is the
    # one to report, not a failed clean-up (temporary tables vanish with the connection anyway).
    try:
        con.execute(f"DROP VIEW IF EXISTS {_ACCEPTED}")
        for t in (_RAW, _CHECKED, _REASONS, _SEEN):
            con.execute(f"DROP TABLE IF EXISTS {t}")
    except duckdb.Error:
        pass


def _alias_table(kind: str, aliases: Mapping[str, str] | None) -> dict[str, str]:
    table = header_aliases(kind)
    names = {c.name for c in columns_of(kind)}
    for header, col in (aliases or {}).items():
        if col not in names:
            raise InputError(f"表头别名 {header!r} 指向不存在的列 {col!r}（可选: {', '.join(sorted(names))}）",
                             f"header alias {header!r} maps to unknown column {col!r} "
                             f"(columns: {', '.join(sorted(names))})")
        for h in [h for h in table if header_key(h) == header_key(header)]:
            del table[h]
        table[header] = col
    return table


def _default_qdir(store) -> Path:  # noqa: ANN001
    path = getattr(store, "path", None)
    if path is not None and str(path) != ":memory:":
        return Path(path).resolve().parent
    return Path.cwd()


def import_pool(store, kind: str, path: str | os.PathLike[str], *, snapshot: bool = False,  # noqa: ANN001
                quarantine_dir: str | os.PathLike[str] | None = None, progress: bool = False,
                aliases: Mapping[str, str] | None = None, limits: IntakeLimits | None = None) -> ImportReport:
    """Import a CSV (UTF-8, UTF-8 with BOM, GBK/GB18030, UTF-16; detected) or XLSX file into pool ``kind``.

    Every row is accepted or quarantined with its row number, field and reason; accepted rows are
    upserted by natural key and each changed field is recorded in ``pool_changes``. With
    ``snapshot=True`` the file is the whole pool: active rows absent from it are deactivated.

    :param store: an open :class:`dbsj.Store`.
    :param kind: ``items``, ``targets``, ``inspectors`` or ``history``.
    :param quarantine_dir: where ``<file>.quarantine.csv`` goes (default: beside the file).
    :param progress: show a progress bar on stderr.
    :param aliases: extra ``{header: canonical column}`` for this import only.
    :param limits: the bounds of this import (:class:`IntakeLimits`; docs/intake.md lists the defaults).
    :raises IntakeError: the file cannot be read at all (wrong type, empty, undecodable, beyond a bound).
    :raises MissingColumnError: a required column is absent (the message lists accepted headers).
    """
    columns_of(kind)
    table = _alias_table(kind, aliases)
    p = Path(path)
    limits = limits or DEFAULT_LIMITS
    src = open_file(p, frozenset(header_key(h) for h in table), limits)
    with open(p, "rb") as fh:
        sha = hashlib.file_digest(fh, "sha256").hexdigest()
    qdir = Path(quarantine_dir) if quarantine_dir is not None else p.resolve().parent
    return _run(store, kind, src, table=table, snapshot=snapshot, quarantine_dir=qdir, stem=p.stem,
                progress=progress, sha256=sha, empty_is_error=True, limits=limits)


def import_batches(store, kind: str, batches: Iterable[pa.RecordBatch] | pa.Table | pa.RecordBatchReader, *,  # noqa: ANN001
                   source: str, snapshot: bool = False,
                   quarantine_dir: str | os.PathLike[str] | None = None,
                   limits: IntakeLimits | None = None) -> ImportReport:
    """Import Arrow record batches (canonical column names, or any accepted header) into pool ``kind``.

    Typed columns (dates, booleans, lists) are welcome; every value is validated exactly as a file's
    would be. Row numbers in the quarantine count records from 1. ``source`` names the origin in the
    ``imports`` table and in errors (e.g. ``plugin:xinjiang``).
    """
    columns_of(kind)
    table = header_aliases(kind)
    src = batches_source(batches, source, limits or DEFAULT_LIMITS)
    qdir = Path(quarantine_dir) if quarantine_dir is not None else _default_qdir(store)
    return _run(store, kind, src, table=table, snapshot=snapshot, quarantine_dir=qdir, stem=source,
                progress=False, sha256=None, empty_is_error=False, limits=limits or DEFAULT_LIMITS)


def _guard(plugin: str, batches: Iterable[Any]) -> Iterator[Any]:
    it = iter(batches)
    while True:
        try:
            b = next(it)
        except StopIteration:
            return
        except DbsjError:
            raise
        except Exception as exc:
            raise PluginError(f"提供数据时出错: {type(exc).__name__}: {exc}",
                              f"failed while supplying data: {type(exc).__name__}: {exc}", plugin=plugin) from exc
        yield b


def pull_pool(store, kind: str, plugin: str, options: Mapping[str, str] | None = None, **kw: Any) -> ImportReport:  # noqa: ANN001
    """Ask one named plug-in for pool ``kind`` (hook ``dbsj_provide_<kind>``) and import its batches.

    ``kw`` goes to :func:`import_batches` (``snapshot``, ``quarantine_dir``).
    """
    if kind not in ("items", "targets", "inspectors"):
        columns_of(kind)
        raise InputError(f"插件不提供 {kind}（仅 items、targets、inspectors）",
                         f"plug-ins do not provide {kind} (only items, targets, inspectors)")
    from dbsj.plugins import get_plugin_manager

    batches = get_plugin_manager().call_one(plugin, f"dbsj_provide_{kind}", options=dict(options or {}))
    if batches is None:
        raise PluginError(f"该插件没有提供 {kind}", f"this plug-in provided no {kind}", plugin=plugin)
    if isinstance(batches, (pa.RecordBatch,)):
        batches = [batches]
    return import_batches(store, kind, _guard(plugin, batches), source=f"plugin:{plugin}", **kw)

