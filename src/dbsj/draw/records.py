"""Draw records and the public commitment, written as canonical JSON (docs/draw-spec.md §7).

Files: ``<task>.commit.json`` (the public commitment, published before the seed), ``<task>.draw.json`` (the
auditor record) and ``<task>.public.json`` (the public record). Each file is the canonical JSON of its
content followed by one line feed, so its bytes are fixed by its content.

A selection may hold a million rows. Its rows never become Python objects on the way to a record: they are
rendered as canonical JSON text by DuckDB from the stored ``selections`` rows (:class:`RowsFromStore`) and
streamed — as Arrow value buffers — into SHA-256 and into the file. :func:`canonical_chunks` walks a value
made of dicts, lists, scalars and such row streams, in canonical order.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa

from dbsj.errors import DrawError, InputError
from dbsj.store.digest import _value_bytes
from dbsj.verifier import (
    COMMITMENT_FORMAT,
    RECORD_FORMAT,
    RECORD_FORMAT_V1,
    canonical_json,
    public_commitment,
    public_visits,
)

__all__ = ["section_sha256", "canonical_chunks", "canonical_sha256", "write_canonical", "RowsFromStore",
           "selection_node", "public_selected_node", "public_body_node", "public_record", "public_record_v1",
           "read_record",
           "record_path", "json_text_sql", "public_commitment", "COMMITMENT_FORMAT", "RECORD_FORMAT"]


def record_path(out_dir: Path, stem: str) -> Path:
    """``<out>/<stem>.draw.json`` — ``stem`` is the task id's file stem (:func:`dbsj._filenames.file_stem`)."""
    return Path(out_dir) / f"{stem}.draw.json"


def json_text_sql(expr: str) -> str:
    """SQL of a VARCHAR as a JSON string literal, byte-identical to Python's ``json.dumps(value,
    ensure_ascii=False)`` for values without control characters (draws refuse such ids)."""
    return f"""('"' || replace(replace({expr}, '\\', '\\\\'), '"', '\\"') || '"')"""


class RowsFromStore:
    """A JSON array whose elements DuckDB renders: ``sql`` returns ``(group, text)`` rows ordered by group,
    ``text`` being the element's canonical JSON with a leading ``,`` on all but a group's first element.

    :meth:`group` yields the bytes of one group's elements, consuming the stream in order; groups must be
    asked for in the order the query returns them (each once).
    """

    def __init__(self, con: Any, sql: str, params: list[Any], *, register: dict[str, pa.Table] | None = None,
                 batch_rows: int = 1 << 16) -> None:
        self.con, self.sql, self.params = con, sql, params
        self.register = register or {}
        self.batch_rows = batch_rows

    def stream(self) -> "_GroupedStream":
        return _GroupedStream(self)


class _GroupedStream:
    def __init__(self, rows: RowsFromStore) -> None:
        for name, table in rows.register.items():
            rows.con.register(name, table)
        self._rows = rows
        self._reader = rows.con.sql(rows.sql, params=rows.params).to_arrow_reader(rows.batch_rows)
        self._batch: pa.RecordBatch | None = None
        self._pos = 0

    def _next_batch(self) -> bool:
        try:
            self._batch = next(self._reader)
        except StopIteration:
            self._batch = None
            return False
        self._pos = 0
        return True

    def group(self, number: int) -> Iterator[memoryview]:
        while True:
            if self._batch is None or self._pos >= self._batch.num_rows:
                if not self._next_batch():
                    return
                continue
            groups = self._batch.column(0)
            if groups[self._pos].as_py() != number:
                return
            n = self._batch.num_rows
            lo, hi = self._pos, n
            while lo < hi:  # the first row of a later group (the batch is sorted by group)
                mid = (lo + hi) // 2
                if groups[mid].as_py() <= number:
                    lo = mid + 1
                else:
                    hi = mid
            yield _value_bytes(self._batch.column(1).slice(self._pos, lo - self._pos))
            self._pos = lo
            if lo < n:
                return

    def close(self) -> None:
        for name in self._rows.register:
            self._rows.con.unregister(name)


class _Array:
    """A JSON array produced by a callable yielding canonical element bytes (comma-separated)."""

    def __init__(self, produce: Callable[[], Iterator[bytes | memoryview]]) -> None:
        self.produce = produce


def canonical_chunks(value: Any) -> Iterator[bytes | memoryview]:
    """Canonical JSON of ``value`` in pieces; dicts and lists are opened, :class:`_Array` streamed, scalars
    and small containers rendered by the C encoder."""
    if isinstance(value, dict):
        if not _has_stream(value):
            yield canonical_json(value).encode("utf-8")
            return
        yield b"{"
        for n, key in enumerate(sorted(value)):
            yield (("," if n else "") + canonical_json(key) + ":").encode("utf-8")
            yield from canonical_chunks(value[key])
        yield b"}"
    elif isinstance(value, _Array):
        yield b"["
        yield from value.produce()
        yield b"]"
    elif isinstance(value, _Strata):
        yield from value.chunks()
    elif isinstance(value, list) and any(_has_stream(v) for v in value):
        yield b"["
        for n, item in enumerate(value):
            if n:
                yield b","
            yield from canonical_chunks(item)
        yield b"]"
    else:
        yield canonical_json(value).encode("utf-8")


def _has_stream(value: Any) -> bool:
    if isinstance(value, (_Array, _Strata)):
        return True
    if isinstance(value, dict):
        return any(_has_stream(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_stream(v) for v in value)
    return False


def canonical_sha256(value: Any) -> str:
    h = hashlib.sha256()
    for chunk in canonical_chunks(value):
        h.update(chunk)
    return h.hexdigest()


def section_sha256(value: Any) -> str:
    """SHA-256 hex of a section's canonical JSON (docs/draw-spec.md §7.1), streamed."""
    return canonical_sha256(value)


def write_canonical(fh: Any, value: Any) -> None:
    """Write the canonical JSON of ``value`` and a line feed to a binary file."""
    for chunk in canonical_chunks(value):
        fh.write(chunk)
    fh.write(b"\n")


# -- selections from the store ------------------------------------------------------------------------

_BATCHES = "_dbsj_rec_batches"
_STRATA_T = "_dbsj_rec_strata"


def _batch_table(batches: list[dict[str, Any]]) -> pa.Table:
    import datetime as dt

    return pa.table({"batch": pa.array([b["name"] for b in batches], pa.string()),
                     "deadline": pa.array([dt.date.fromisoformat(b["deadline"]) for b in batches], pa.date32()),
                     "batch_json": pa.array([json.dumps(b["name"], ensure_ascii=False) for b in batches], pa.string())})


class _Strata:
    """The ``strata`` list of a selection section, its rows rendered by DuckDB from ``selections``."""

    def __init__(self, con: Any, draw_id: str, commitment: dict[str, Any]) -> None:
        self.con, self.draw_id, self.commitment = con, draw_id, commitment

    def chunks(self) -> Iterator[bytes | memoryview]:
        strata = self.commitment["strata"]
        labels = [e["stratum"] for e in strata]
        rows = RowsFromStore(self.con, f"""
            SELECT n.no, CASE WHEN s.rank = 1 THEN '' ELSE ',' END || '{{"batch":' || b.batch_json
                   || ',"due":"' || strftime(s.due, '%Y-%m-%d') || '","id":' || {json_text_sql('s.uscc')}
                   || ',"rank":' || s.rank::VARCHAR || ',"ticket":"' || s.ticket || '"}}' AS row_json
            FROM selections s JOIN {_STRATA_T} n ON n.stratum = s.stratum JOIN {_BATCHES} b ON b.batch = s.batch AND b.deadline = s.due
            WHERE s.draw_id = $1 ORDER BY n.no, s.rank""", [self.draw_id],
            register={_STRATA_T: pa.table({"stratum": pa.array(labels, pa.string()),
                                           "no": pa.array(range(len(labels)), pa.int32())}),
                      _BATCHES: _batch_table(self.commitment["task"]["batches"])})
        stream = rows.stream()
        try:
            yield b"["
            for n, e in enumerate(strata):
                head = ("," if n else "") + '{"eligible":' + str(int(e["eligible"])) + ',"k":' + str(int(e["k"])) \
                    + ',"selected":['
                yield head.encode("utf-8")
                yield from stream.group(n)
                yield ("]," + '"stratum":' + canonical_json(e["stratum"]) + "}").encode("utf-8")
            yield b"]"
        finally:
            stream.close()


def selection_node(con: Any, draw_id: str, commitment: dict[str, Any]) -> dict[str, Any]:
    """The ``selection`` section of a stored draw, its rows streamed from ``selections``."""
    count = sum(int(e["k"]) for e in commitment["strata"])
    return {"algorithm": commitment["algorithm"], "task_id": commitment["task"]["id"], "count": count,
            "strata": _Strata(con, draw_id, commitment)}


def public_selected_node(con: Any, draw_id: str, commitment: dict[str, Any]) -> _Array:
    """``selected`` of the public record: ``{"batch", "due", "id"}`` per selected target, ids ascending."""

    def produce() -> Iterator[bytes | memoryview]:
        rows = RowsFromStore(con, f"""
            SELECT 0 AS g, CASE WHEN row_number() OVER (ORDER BY s.uscc) = 1 THEN '' ELSE ',' END
                   || '{{"batch":' || b.batch_json || ',"due":"' || strftime(s.due, '%Y-%m-%d') || '","id":'
                   || {json_text_sql('s.uscc')} || '}}' AS row_json
            FROM selections s JOIN {_BATCHES} b ON b.batch = s.batch AND b.deadline = s.due
            WHERE s.draw_id = $1 ORDER BY s.uscc""", [draw_id],
            register={_BATCHES: _batch_table(commitment["task"]["batches"])})
        stream = rows.stream()
        try:
            yield from stream.group(0)
        finally:
            stream.close()

    return _Array(produce)


def public_selected_ids_node(con: Any, draw_id: str) -> _Array:
    """``selected`` of a v1 public record: the selected ids, ascending."""

    def produce() -> Iterator[bytes | memoryview]:
        rows = RowsFromStore(con, f"""
            SELECT 0 AS g, CASE WHEN row_number() OVER (ORDER BY uscc) = 1 THEN '' ELSE ',' END
                   || {json_text_sql('uscc')} AS row_json
            FROM selections WHERE draw_id = $1 ORDER BY uscc""", [draw_id])
        stream = rows.stream()
        try:
            yield from stream.group(0)
        finally:
            stream.close()

    return _Array(produce)


def public_body_node(auditor: dict[str, Any], selected: Any) -> dict[str, Any]:
    """The public record's body (no ``ledger``) of a v2 auditor record whose ``selection`` may be streamed;
    ``selected`` is :func:`public_selected_node` (or the plain list). Mirrors :func:`dbsj.verifier.public_body`."""
    com = auditor["commitment"]
    confidential = bool(com["confidential"]["task"])
    body = {
        "format": RECORD_FORMAT, "form": "public", "draw_id": auditor["draw_id"], "algorithm": com["algorithm"],
        "plan": com["plan"], "task": com["task"], "commitment_sha256": auditor["commitment_sha256"],
        "eligible_root": com["eligible"]["root"], "seal_sha256": com["seal_sha256"],
        "seed_protocol": com["seed_protocol"], "committed_at": com["committed_at"], "confidential": confidential,
        "seed": auditor["seed"], "seed_sha256": auditor["seed_sha256"], "count": auditor["selection"]["count"],
        "selected": selected, "visits": public_visits(auditor["assignment"]),
        "selection_sha256": auditor["selection_sha256"], "assignment_sha256": auditor["assignment_sha256"],
    }
    if not confidential:
        body["seal"] = auditor["seal"]
        body["commitment"] = com
    return body


def public_record(record: dict[str, Any]) -> dict[str, Any]:
    """The public record of an auditor record (either format), as the reveal writes it."""
    if record.get("format") == RECORD_FORMAT_V1:
        ids = sorted((r["id"] for st in record["selection"]["strata"] for r in st["selected"]),
                     key=lambda i: i.encode("utf-8"))
        return public_record_v1(record, ids)
    from dbsj.verifier import public_body

    return {**public_body(record), "ledger": record["ledger"]}


def public_record_v1(record: dict[str, Any], selected: Any) -> dict[str, Any]:
    """The v1 public form: no tickets, no stratum labels, no per-stratum counts; ids sorted."""
    com = record["commitment"]
    from dbsj.draw.assignment import public_visits

    visits = public_visits(record.get("assignment"))  # departments and due dates, never staff ids
    return {
        "format": RECORD_FORMAT_V1,
        "form": "public",
        "draw_id": record["draw_id"],
        "algorithm": com["algorithm"],
        "plan": com["plan"],
        "task": {k: com["task"][k] for k in ("id", "name", "sponsor", "partners", "items", "start", "batches")},
        "commitment_sha256": record["commitment_sha256"],
        "commitment_roots": {"eligible_root": com["eligible"]["root"], "eligible_count": com["eligible"]["count"]},
        "committed_at": com["committed_at"],
        "seed": dict(record["seed"]),
        "selected": selected,
        "visits": visits,
        "ledger_head": record["ledger"]["head"],
    }


def read_record(path: str | Path, *, forms: tuple[str, ...] = ("auditor",)) -> dict[str, Any]:
    """Read a draw record of either format; a file that is not one (or not of an accepted form) is an
    :class:`InputError` that says which file is needed."""
    p = Path(path)
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(f"无法读取抽取记录: {exc}", f"cannot read draw record: {exc}", where=str(p)) from None
    if isinstance(data, dict) and data.get("format") == COMMITMENT_FORMAT:
        raise InputError("这是公开承诺文件（<任务>.commit.json），不是抽取记录；请给出 <任务>.draw.json（审计版）"
                         "或 <任务>.public.json（公开版），承诺文件可作为 --anchor",
                         "this is a public commitment (<task>.commit.json), not a draw record; give <task>.draw.json "
                         "(auditor) or <task>.public.json (public), and the commitment as --anchor", where=str(p))
    if not isinstance(data, dict) or data.get("format") not in (RECORD_FORMAT, RECORD_FORMAT_V1) or \
            "draw_id" not in data:
        raise InputError(f"不是 {RECORD_FORMAT} 或 {RECORD_FORMAT_V1} 格式的抽取记录",
                         f"not a {RECORD_FORMAT} or {RECORD_FORMAT_V1} draw record", where=str(p),
                         hint_zh="请给出 <任务>.draw.json（审计版）", hint_en="give the <task>.draw.json (auditor form)")
    if data.get("form") not in forms:
        if data.get("form") == "public":
            raise InputError("这是公开版记录；此处需要审计版记录 <任务>.draw.json（含封存密钥与票号）",
                             "this is a public record; this needs the auditor record <task>.draw.json (with the "
                             "seal and the tickets)", where=str(p))
        raise InputError(f"记录的 form 应为 {' 或 '.join(forms)}", f"the record's form must be {' or '.join(forms)}",
                         where=str(p))
    if data.get("format") == RECORD_FORMAT_V1 and "commitment" not in data and data.get("form") == "auditor":
        raise InputError(f"不是 {RECORD_FORMAT_V1} 格式的审计版记录", f"not a {RECORD_FORMAT_V1} auditor record", where=str(p))
    return data


def unique_out_check(paths: list[Path]) -> None:
    existing = [str(p) for p in paths if p.exists()]
    if existing:
        raise DrawError(f"记录已存在，拒绝覆盖: {', '.join(existing)}", f"record already exists, not overwritten: {', '.join(existing)}",
                        hint_zh="使用新的输出目录；重新抽取会作为新的尝试公开记录",
                        hint_en="use a new output directory; a redraw is a new, visible attempt")
