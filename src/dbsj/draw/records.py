"""Draw records: the auditor record ``<task>.draw.json`` and its public form ``<task>.public.json``.

The record (docs/draw-spec.md §7) has the sections ``commitment`` (fixed before the seed), ``seed``,
``selection`` (ids in rank order with tickets, per stratum) and ``assignment``, plus the ledger head.
Determinism is over the canonical ``selection`` and ``assignment`` sections. The public form carries the
selected ids, the commitment roots, the seed and the algorithm — no tickets and no stratum labels, since
with credit classes as strata either would reveal a firm's class, and classes are never published.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

from dbsj.errors import DrawError, InputError
from dbsj.verifier import RECORD_FORMAT, canonical_json

__all__ = ["section_sha256", "build_record", "public_record", "record_path", "write_json", "read_record", "safe_name"]


def safe_name(task_id: str) -> str:
    """A task id as a file name: characters outside letters, digits, ``.-_`` become ``_``."""
    return re.sub(r"[^\w.\-]", "_", task_id)


def record_path(out_dir: Path, task_id: str) -> Path:
    return Path(out_dir) / f"{safe_name(task_id)}.draw.json"


def section_sha256(value: Any) -> str:
    """SHA-256 hex of a section's canonical JSON (docs/draw-spec.md §7.1)."""
    # streamed: a selection of a million rows is hashed without building its whole JSON text
    h = hashlib.sha256()
    for chunk in _canonical_chunks(value, 2):
        h.update(chunk.encode("utf-8"))
    return h.hexdigest()


def _canonical_chunks(value: Any, depth: int):  # noqa: ANN202 - generator of str
    """Canonical JSON in pieces: containers opened ``depth`` levels deep, the rest by the C encoder."""
    if depth > 0 and isinstance(value, dict):
        yield "{"
        for n, key in enumerate(sorted(value)):
            yield ("," if n else "") + canonical_json(key) + ":"
            yield from _canonical_chunks(value[key], depth - 1)
        yield "}"
    elif depth > 0 and isinstance(value, list):
        yield "["
        for n, item in enumerate(value):
            if n:
                yield ","
            yield from _canonical_chunks(item, depth - 1)
        yield "]"
    else:
        yield canonical_json(value)


def build_record(commitment: dict[str, Any], seed: dict[str, Any], selection: dict[str, Any],
                 assignment: dict[str, Any] | None, *, ledger: dict[str, Any],
                 selection_sha256: str | None = None) -> dict[str, Any]:
    return {
        "format": RECORD_FORMAT,
        "form": "auditor",
        "draw_id": commitment["draw_id"],
        "commitment": commitment,
        "commitment_sha256": hashlib.sha256(canonical_json(commitment).encode("utf-8")).hexdigest(),
        "seed": seed,
        "selection": selection,
        "selection_sha256": selection_sha256 or section_sha256(selection),
        "assignment": assignment,
        "assignment_sha256": (hashlib.sha256(canonical_json(assignment).encode("utf-8")).hexdigest()
                              if assignment is not None else None),
        "ledger": ledger,
    }


def public_record(record: dict[str, Any]) -> dict[str, Any]:
    """The public form: no tickets, no stratum labels, no per-stratum counts; ids sorted."""
    com = record["commitment"]
    ids = sorted(r["id"] for st in record["selection"]["strata"] for r in st["selected"])
    seed = {k: v for k, v in record["seed"].items()}
    from dbsj.draw.assignment import public_visits

    visits = public_visits(record.get("assignment"))  # departments and due dates, never staff ids
    return {
        "format": RECORD_FORMAT,
        "form": "public",
        "draw_id": record["draw_id"],
        "algorithm": com["algorithm"],
        "plan": com["plan"],
        "task": {k: com["task"][k] for k in ("id", "name", "sponsor", "partners", "items", "start", "batches")},
        "commitment_sha256": record["commitment_sha256"],
        "commitment_roots": {"eligible_root": com["eligible"]["root"], "eligible_count": com["eligible"]["count"]},
        "committed_at": com["committed_at"],
        "seed": seed,
        "selected": ids,
        "visits": visits,
        "ledger_head": record["ledger"]["head"],
    }


def write_json(path: Path, data: dict[str, Any], *, overwrite: bool) -> Path:
    path = Path(path)
    if path.exists() and not overwrite:
        raise DrawError(f"文件已存在，拒绝覆盖: {path}", f"file already exists, not overwritten: {path}",
                        hint_zh="使用新的输出目录", hint_en="use a new output directory")
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as fh:
        json.dump(data, fh, ensure_ascii=False, sort_keys=True, indent=1)  # streamed to the file
        fh.write("\n")
    return path


def read_record(path: str | Path) -> dict[str, Any]:
    """Read a draw record; a file that is not one is an :class:`InputError`."""
    p = Path(path)
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(f"无法读取抽取记录: {exc}", f"cannot read draw record: {exc}", where=str(p)) from None
    if not isinstance(data, dict) or data.get("format") != RECORD_FORMAT or "commitment" not in data:
        raise InputError(f"不是 {RECORD_FORMAT} 格式的抽取记录", f"not a {RECORD_FORMAT} draw record", where=str(p),
                         hint_zh="请给出 <任务>.draw.json（审计版）", hint_en="give the <task>.draw.json (auditor form)")
    if data.get("form") != "auditor":
        raise InputError("公开版记录不含票号，无法复核；请使用审计版 .draw.json", "a public record has no tickets; "
                         "verify the auditor form (.draw.json)", where=str(p))
    return data
