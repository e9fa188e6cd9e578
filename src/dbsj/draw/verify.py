"""``dbsj verify``: re-derive a record's commitment, selection and assignment from the store.

The store keeps each draw's eligible set (``draw_eligible``), so a record verifies after the pools change.
Everything that differs is reported; a record edited by hand, a changed eligible row, a wrong seed or a
broken ledger all show up.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import json
from pathlib import Path
from typing import Any

import attrs
import pyarrow as pa

from dbsj.draw.engine import DrawOptions, selection_for, selection_section, stored_plan, stratum_digests
from dbsj.draw.records import read_record
from dbsj.errors import InputError, VerificationError
from dbsj.store.ledger import Ledger
from dbsj.verifier import canonical_json, sample_size, seed_value

__all__ = ["VerificationReport", "verify_record", "verify_records", "export_draw_pool"]


@attrs.frozen(slots=True)
class VerificationReport:
    """Outcome of :func:`verify_record`: ``ok`` and the list of ``differences`` (empty when ok)."""

    record: str
    draw_id: str
    ok: bool
    differences: tuple[str, ...]
    checked: tuple[str, ...]
    warnings: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"record": self.record, "draw_id": self.draw_id, "ok": self.ok,
                "differences": list(self.differences), "checked": list(self.checked), "warnings": list(self.warnings)}

    def raise_for_differences(self) -> None:
        if not self.ok:
            raise VerificationError("抽取记录无法复核: " + "; ".join(self.differences),
                                    "draw record does not re-derive: " + "; ".join(self.differences),
                                    where=self.record, differences=list(self.differences))


def _sha(value: Any) -> str:
    return hashlib.sha256(canonical_json(value).encode("utf-8")).hexdigest()


def _first_difference(expect: dict[str, Any], got: dict[str, Any]) -> list[str]:
    out = []
    for key in sorted(set(expect) | set(got)):
        if key != "strata" and expect.get(key) != got.get(key):
            out.append(f"selection.{key}: re-derived {expect.get(key)!r}, record {got.get(key)!r}")
    es = {s["stratum"]: s for s in expect.get("strata", [])}
    gs = {s["stratum"]: s for s in got.get("strata", [])} if isinstance(got.get("strata"), list) else {}
    for st in sorted(set(es) | set(gs)):
        e, g = es.get(st), gs.get(st)
        if e != g:
            if e is None or g is None:
                out.append(f"selection stratum {st}: {'missing from the record' if g is None else 'not re-derived'}")
                continue
            rows_e, rows_g = e.get("selected", []), g.get("selected", [])
            j = next((i for i, (a, b) in enumerate(zip(rows_e, rows_g)) if a != b), min(len(rows_e), len(rows_g)))
            a = rows_e[j]["id"] if j < len(rows_e) else None
            b = rows_g[j]["id"] if j < len(rows_g) else None
            out.append(f"selection stratum {st}: differs at rank {j + 1} (re-derived {a}, record {b}; "
                       f"{len(rows_e)} vs {len(rows_g)} rows)")
    return out


def verify_records(store: Any, records: list[str | Path], *, options: DrawOptions | None = None) -> list[VerificationReport]:
    """:func:`verify_record` for several records; the assignment of a run is re-derived once for all its records."""
    cache: dict[Any, Any] = {}
    return [verify_record(store, r, options=options, _cache=cache) for r in records]


def verify_record(store: Any, record: str | Path, *, options: DrawOptions | None = None,
                  _cache: dict[Any, Any] | None = None) -> VerificationReport:
    """Re-derive a record from the store. Returns a report; never raises for a mismatch (see
    :meth:`VerificationReport.raise_for_differences`)."""
    options = options or DrawOptions()
    path = str(record)
    rec = read_record(record)
    diffs: list[str] = []
    checked: list[str] = []
    warnings: list[str] = []
    com = rec.get("commitment") or {}
    draw_id = str(com.get("draw_id") or rec.get("draw_id") or "")
    row = store.execute("SELECT task_id, commitment_sha256, status, run_id, summary FROM draws WHERE draw_id = ?",
                        [draw_id]).fetchall()
    row = row[0] if row else None
    if row is None:
        return VerificationReport(path, draw_id, False, (f"draw {draw_id} is not in this store",), ())
    task_id, stored_sha, status, run_id, summary = row
    summary = json.loads(summary) if summary else {}
    # 1. commitment
    sha = _sha(com)
    if sha != rec.get("commitment_sha256"):
        diffs.append("commitment: the section does not hash to commitment_sha256 (edited)")
    if sha != stored_sha:
        diffs.append("commitment: differs from the commitment stored and ledgered at commit time")
    commit_entries = [e for e in Ledger(store).entries("draw.commit") if e.subject == draw_id]
    if not commit_entries or commit_entries[0].payload.get("commitment_sha256") != sha:
        diffs.append("commitment: not the one on the ledger")
    checked.append("commitment")
    stored_com = summary.get("commitment", com)
    # 2. eligible set
    rows = stratum_digests(store.con, draw_id)
    have = {s: (int(n), d) for s, n, d in rows}
    for entry in com.get("strata", []):
        n, d = have.pop(entry["stratum"], (0, None))
        if n != entry.get("eligible") or d != entry.get("digest"):
            diffs.append(f"eligible set of stratum {entry['stratum']}: stored {n} ids (digest {str(d)[:12]}…), "
                         f"committed {entry.get('eligible')} (digest {str(entry.get('digest'))[:12]}…)")
        params = com.get("parameters", {})
        asked, k = sample_size(entry.get("eligible", 0), entry.get("quota") or {}, params.get("min_per_stratum"),
                               params.get("max_per_stratum"))
        if (asked, k) != (entry.get("asked"), entry.get("k")):
            diffs.append(f"sample size of stratum {entry['stratum']}: rule gives {k}, record says {entry.get('k')}")
    for s in sorted(have):
        diffs.append(f"eligible set: stratum {s} is stored but not committed")
    checked.append("eligible set")
    # 3. seed
    problems: list[str] = []
    value = seed_value(rec, problems)
    diffs += problems
    stored_seed = summary.get("seed")
    if stored_seed is not None and stored_seed != rec.get("seed"):
        diffs.append("seed: differs from the seed stored at the reveal")
    checked.append("seed")
    # 4. selection (from the stored commitment, so an edited k or quota in the file cannot steer it)
    expect = None
    if value is not None:
        sizes = {e["stratum"]: (e["k"], e["eligible"]) for e in stored_com.get("strata", [])}
        expect = selection_section(stored_com, selection_for(store.con, draw_id, task_id, value, sizes,
                                                             stored_com.get("algorithm")))
        got = rec.get("selection") or {}
        if expect != got:
            diffs += _first_difference(expect, got) or ["selection: differs from the re-derivation"]
        if rec.get("selection_sha256") != _sha(got):
            diffs.append("selection_sha256 does not match the selection section")
        if summary.get("selection_sha256") not in (None, _sha(expect)):
            diffs.append("selection: the stored outcome differs from the re-derivation")
    checked.append("selection")
    # 5. assignment (docs/assignment.md): re-derived for the whole run — visits merge across its tasks — from
    # the run's inputs snapshot, never from the live pools
    if value is not None and expect is not None:
        a_diffs, a_warnings, a_checked = _reassign(store, rec, run_id, draw_id, task_id, expect, value, options,
                                                   _cache)
        diffs += a_diffs
        warnings += a_warnings
        if a_checked:
            checked.append("assignment")
    # 6. ledger
    try:
        Ledger(store).verify()
    except VerificationError as exc:
        diffs.append(f"ledger: {exc.render('en')}")
    checked.append("ledger")
    return VerificationReport(path, draw_id, not diffs, tuple(diffs), tuple(checked), tuple(warnings))


def _reassign(store: Any, rec: dict[str, Any], run_id: str, draw_id: str, task_id: str,
              this_selection: dict[str, Any], seed: str, options: DrawOptions,
              cache: dict[Any, Any] | None = None) -> tuple[list[str], list[str], bool]:
    """The assignment checks of :func:`verify_record`: ``(differences, warnings, checked)``.

    The run's selections are re-derived (this record's from the checks above, the other draws' from their
    stored eligible sets) and the assignment from the run's inputs snapshot
    (:func:`dbsj.draw.assignment.reassign_from_snapshot`). A ``dbsj-assign/1`` record, from a store without
    snapshots, is re-run over the live pools as before, with a warning.
    """
    from dbsj.draw.assignment import LEGACY_ALGORITHM, AssignmentOptions, _assign, assignment_for_task
    from dbsj.draw.assignment_inputs import assignment_differences

    rows = store.execute("SELECT d.draw_id, d.task_id, d.plan_id, d.summary FROM draws d WHERE d.run_id = ? "
                         "AND d.status IN ('drawn', 'superseded') ORDER BY d.draw_id", [run_id]).fetchall()
    sections: dict[str, dict[str, Any]] = {}
    plan_id = None
    for did, tid, pid, summary in rows:
        plan_id = pid
        if did == draw_id:
            sections[tid] = this_selection
            continue
        key = ("sel", run_id, seed, did)
        if cache is not None and key in cache:
            sections[tid] = cache[key]
            continue
        com = json.loads(summary)["commitment"]
        sizes = {e["stratum"]: (e["k"], e["eligible"]) for e in com["strata"]}
        sections[tid] = selection_section(com, selection_for(store.con, did, tid, seed, sizes, com["algorithm"]))
        if cache is not None:
            cache[key] = sections[tid]
    if task_id not in sections:
        sections[task_id] = this_selection
    task_col, uscc_col, due_col = [], [], []
    for tid, sec in sections.items():
        for st in sec["strata"]:
            for r in st["selected"]:
                task_col.append(tid)
                uscc_col.append(r["id"])
                due_col.append(dt.date.fromisoformat(r["due"]))
    selections = pa.table({"task_id": pa.array(task_col, pa.string()), "uscc": pa.array(uscc_col, pa.string()),
                           "due": pa.array(due_col, pa.date32())})
    selected = [r["id"] for st in this_selection["strata"] for r in st["selected"]]

    def legacy() -> dict[str, Any]:
        # dbsj-assign/1: the run re-assigned over today's pools, as it was verified before snapshots existed
        params = {k: v for k, v in ((rec.get("assignment") or {}).get("parameters") or {}).items() if k != "caps"}
        outcome = _assign(store, plan=stored_plan(store, plan_id), draw_id=run_id, selections=selections, seed=seed,
                          options=AssignmentOptions.from_dict(params), algorithm=LEGACY_ALGORITHM)
        return assignment_for_task(outcome.section, task_id)

    return assignment_differences(store, rec, run_id=run_id, draw_id=draw_id, task_id=task_id,
                                  plan_id=plan_id or "", selections=selections, selected=selected, seed=seed,
                                  legacy=legacy, cache=cache)


def export_draw_pool(store: Any, record: str | Path, out: str | Path) -> int:
    """Write the eligible pool a draw used, ``id,stratum`` (UTF-8 with BOM, sorted by stratum then id),
    for :mod:`dbsj.verifier`. Returns the number of rows."""
    rec = read_record(record)
    draw_id = rec["commitment"]["draw_id"]
    if store.execute("SELECT count(*) FROM draws WHERE draw_id = ?", [draw_id]).fetchall()[0][0] == 0:
        raise InputError(f"存储中没有抽取 {draw_id}", f"draw {draw_id} is not in this store", where=str(record))
    cur = store.execute("SELECT uscc, stratum FROM draw_eligible WHERE draw_id = ? ORDER BY stratum, uscc", [draw_id])
    n = 0
    with open(out, "w", encoding="utf-8-sig", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["id", "stratum"])
        while batch := cur.fetchmany(100_000):
            w.writerows(batch)
            n += len(batch)
    return n
