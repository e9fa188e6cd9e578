"""What a past assignment read, kept and checked: the inputs snapshot, the auditor's inspector export, and the
checks ``dbsj verify`` and ``dbsj audit`` run on a run's stored assignment.

The snapshot (``assignment_input_*`` tables, migration m006) is written by
:func:`dbsj.draw.assignment.assign_visits` inside the reveal's transaction; its digest is in every record's
``assignment`` section (``inputs_sha256``) and on every ``draw.reveal`` ledger entry of the run. From it:

- :func:`export_inspectors` writes the auditor's inspector export (``dbsj-inspector-export/1``, JSON), with
  which :func:`dbsj.verifier.verify_assignment` re-derives the assignment without the store;
- :func:`assignment_differences` is the assignment part of ``dbsj verify RECORD --db``;
- :func:`audit_assignments` compares the ``assignments`` table, the snapshot and the assignment exclusions
  of every run with what the ledger binds.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from dbsj.draw.assignment import (
    ASSIGNMENT_ALGORITHM,
    LEGACY_ALGORITHM,
    SNAPSHOT_TABLES,
    _arrow,
    AssignmentOptions,
    AssignmentOutcome,
    has_assignment_snapshot,
    inputs_object,
    reassign_from_snapshot,
)
from dbsj.errors import DbsjError, InputError
from dbsj.store.findings import AuditFinding
from dbsj.verifier import (
    INPUT_COLUMNS,
    INSPECTOR_EXPORT_FORMAT,
    assignment_for_task,
    canonical_json,
    inputs_digest,
    section_differences,
)

__all__ = ["export_inspectors", "audit_assignments", "snapshot_inputs", "assignment_differences"]


def _sha(value: Any) -> str:
    import hashlib

    return hashlib.sha256(canonical_json(value).encode("utf-8")).hexdigest()


def snapshot_inputs(store: Any, run_id: str) -> dict[str, Any]:
    """A run's inputs snapshot as the export holds it (part → ``{"columns", "rows"}``), from the store's tables."""
    return inputs_object(store.con, lambda part: (SNAPSHOT_TABLES[part], "WHERE run_id = ?", [run_id]))


def _snapshot_row(store: Any, run_id: str) -> tuple[str, dict[str, Any], dict[str, str], str] | None:
    row = store.execute("SELECT algorithm, options, parts, inputs_sha256 FROM assignment_inputs WHERE run_id = ?",
                        [run_id]).fetchall()
    if not row:
        return None
    algorithm, options, parts, digest = row[0]
    return algorithm, json.loads(options), json.loads(parts), digest


def _run_selections(store: Any, run_id: str) -> pa.Table:
    return _arrow(store.con, "SELECT task_id, uscc, due FROM assignment_input_selections WHERE run_id = ?", [run_id])


# -- the auditor's inspector export ------------------------------------------------------------------


def export_inspectors(store: Any, record: str | Path, out: str | Path) -> dict[str, Any]:
    """Write the inspector export of a record's run: everything :func:`dbsj.verifier.verify_assignment` needs to
    re-derive that run's assignment without the store. Auditor-only material (it names staff).

    The file is JSON (UTF-8, no BOM, LF line endings): ``format`` (``dbsj-inspector-export/1``), ``run_id``,
    ``draws`` (task → draw id), ``algorithm``, ``options``, ``inputs`` (part → ``{"columns", "rows"}``, one row
    per line), ``parts`` and ``inputs_sha256`` (recomputed from the rows written), and ``task_departments``
    (task → department → the items that department checks, as the assignment read the plan and item list).
    Inspector names, identity, certificate numbers and phones are not in it: the snapshot never held them.

    :return: ``{"run_id", "out", "rows": {part: count}, "inputs_sha256"}``.
    :raises InputError: the record's draw is not in the store, or its run has no snapshot (``dbsj-assign/1``).
    """
    from dbsj.draw.records import read_record

    rec = read_record(record)
    draw_id = (rec.get("commitment") or {}).get("draw_id") or rec.get("draw_id")
    row = store.execute("SELECT run_id FROM draws WHERE draw_id = ?", [draw_id]).fetchall()
    if not row or row[0][0] is None:
        raise InputError(f"存储中没有抽取 {draw_id}", f"draw {draw_id} is not in this store", where=str(record))
    run_id = row[0][0]
    snap = _snapshot_row(store, run_id)
    if snap is None:
        raise InputError(f"批次 {run_id} 没有分配输入快照（{LEGACY_ALGORITHM} 的抽取），无法导出检查人员快照",
                         f"run {run_id} has no assignment inputs snapshot ({LEGACY_ALGORITHM}); there is nothing to export",
                         where=str(record), hint_zh=f"{ASSIGNMENT_ALGORITHM} 起的抽取才保存快照",
                         hint_en=f"draws since {ASSIGNMENT_ALGORITHM} keep one")
    algorithm, options, _parts, _digest = snap
    inputs = snapshot_inputs(store, run_id)
    parts, digest = inputs_digest(inputs)
    draws = dict(store.execute("SELECT task_id, draw_id FROM draws WHERE run_id = ? ORDER BY task_id",
                               [run_id]).fetchall())
    head = {"format": INSPECTOR_EXPORT_FORMAT, "form": "auditor", "run_id": run_id, "draws": draws,
            "algorithm": algorithm, "options": options, "parts": parts, "inputs_sha256": digest,
            "task_departments": _task_departments(inputs)}
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp-{os.getpid()}")
    try:
        with tmp.open("w", encoding="utf-8", newline="\n") as fh:
            fh.write("{\n")
            for key in sorted(head):
                fh.write(f"{canonical_json(key)}: {canonical_json(head[key])},\n")
            fh.write('"inputs": {\n')
            for n, part in enumerate(INPUT_COLUMNS):
                fh.write(f'{canonical_json(part)}: {{"columns": {canonical_json(inputs[part]["columns"])}, "rows": [')
                rows = inputs[part]["rows"]
                for j, r in enumerate(rows):
                    fh.write(("\n" if j == 0 else ",\n") + canonical_json(r))
                fh.write("\n]}" if rows else "]}")
                fh.write(",\n" if n + 1 < len(INPUT_COLUMNS) else "\n")
            fh.write("}\n}\n")
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    return {"run_id": run_id, "out": str(out), "rows": {p: len(inputs[p]["rows"]) for p in INPUT_COLUMNS},
            "inputs_sha256": digest}


def _task_departments(inputs: dict[str, Any]) -> dict[str, dict[str, list[str]]]:
    owner = {code: dept for code, dept in inputs["items"]["rows"]}
    out: dict[str, dict[str, list[str]]] = {}
    for task_id, sponsor, departments, items in inputs["tasks"]["rows"]:
        m: dict[str, set[str]] = {d: set() for d in departments}
        for code in items:
            d = owner.get(code)
            m.setdefault(d if d in m else sponsor, set()).add(code)
        out[task_id] = {d: sorted(c) for d, c in sorted(m.items())}
    return out


# -- stored rows against a re-derivation -------------------------------------------------------------


def _row_differences(store: Any, table: str, draw_id: str, columns: list[str], expected: pa.Table,
                     extra_where: str = "") -> list[str]:
    """Rows of ``table`` for ``draw_id`` that the re-derivation lacks, and re-derived rows the table lacks."""
    con = store.con
    name = "_dbsj_asg_expected"
    con.register(name, expected)
    try:
        cols = ", ".join(columns)
        got = f"SELECT {cols} FROM {table} WHERE draw_id = ? {extra_where}"
        want = f"SELECT {cols} FROM {name}"
        extra = con.execute(f"SELECT count(*) FROM ({got} EXCEPT ALL {want})", [draw_id]).fetchall()[0][0]
        lacking = con.execute(f"SELECT count(*) FROM ({want} EXCEPT ALL {got})", [draw_id]).fetchall()[0][0]
        out = []
        if extra:
            first = con.execute(f"{got} EXCEPT ALL {want} ORDER BY ALL LIMIT 1", [draw_id]).fetchall()[0]
            out.append(f"{extra} row(s) not in the re-derivation, e.g. {', '.join(str(v) for v in first)}")
        if lacking:
            first = con.execute(f"{want} EXCEPT ALL {got} ORDER BY ALL LIMIT 1", [draw_id]).fetchall()[0]
            out.append(f"{lacking} re-derived row(s) missing, e.g. {', '.join(str(v) for v in first)}")
        return out
    finally:
        con.unregister(name)


def stored_row_differences(store: Any, draw_id: str, task_id: str, plan_id: str, outcome: AssignmentOutcome,
                           selected: list[str]) -> list[tuple[str, str]]:
    """``(table, message)`` for every way the stored ``assignments`` and ``assignment_exclusions`` rows of one
    draw differ from the run's re-derived outcome. ``selected``: the targets the draw selected."""
    out: list[tuple[str, str]] = []
    rows = outcome.assignments.filter(pc.equal(outcome.assignments.column("task_id"), task_id))
    rows = rows.append_column("plan_id", pa.array([plan_id] * rows.num_rows, pa.string()))
    for msg in _row_differences(store, "assignments", draw_id,
                                ["plan_id", "visit_id", "task_id", "uscc", "staff_id", "department", "due"], rows):
        out.append(("assignments", msg))
    ex = outcome.exclusion_rows
    mask = pc.or_(pc.is_null(ex.column("uscc")),
                          pc.is_in(ex.column("uscc"), value_set=pa.array(sorted(set(selected)), pa.string())))
    for msg in _row_differences(store, "assignment_exclusions", draw_id, ["staff_id", "uscc", "reason"],
                                ex.filter(mask)):
        out.append(("assignment_exclusions", msg))
    return out


def _snapshot_differences(store: Any, run_id: str, bound: dict[str, Any]) -> list[tuple[str, str]]:
    """``(table, message)`` for each snapshot table whose rows no longer hash to what the ledger binds."""
    snap = _snapshot_row(store, run_id)
    if snap is None:
        return [("assignment_inputs", f"the ledger binds assignment inputs {str(bound.get('sha256'))[:12]}… "
                                      f"of run {run_id}, but the store holds no snapshot")]
    _alg, _opts, stored_parts, stored_digest = snap
    parts, digest = inputs_digest(snapshot_inputs(store, run_id))
    ledger_parts, ledger_sha = bound.get("parts") or {}, bound.get("sha256")
    out = []
    for part in INPUT_COLUMNS:
        if ledger_parts and parts[part] != ledger_parts.get(part):
            out.append((SNAPSHOT_TABLES[part], f"run {run_id}: the rows no longer hash to the digest the ledger "
                                               f"binds ({str(ledger_parts.get(part))[:12]}…, now {parts[part][:12]}…)"))
    if digest != ledger_sha and not out:
        out.append(("assignment_inputs", f"run {run_id}: the snapshot hashes to {digest[:12]}…, "
                                         f"the ledger binds {str(ledger_sha)[:12]}…"))
    if stored_digest != ledger_sha or (ledger_parts and stored_parts != ledger_parts):
        out.append(("assignment_inputs", f"run {run_id}: the digests stored with the snapshot differ from the ledger's"))
    return out


# -- dbsj verify ---------------------------------------------------------------------------------------


def _reveal_entry(store: Any, draw_id: str) -> Any:
    from dbsj.store.ledger import Ledger

    entries = [e for e in Ledger(store).entries("draw.reveal") if e.subject == draw_id]
    return entries[-1] if entries else None


def assignment_differences(store: Any, record: dict[str, Any], *, run_id: str, draw_id: str, task_id: str,
                           plan_id: str, selections: pa.Table, selected: list[str], seed: str,
                           legacy: Any = None, cache: dict[Any, Any] | None = None
                           ) -> tuple[list[str], list[str], bool]:
    """The assignment part of ``dbsj verify RECORD --db``: ``(differences, warnings, checked)``.

    Checks the record's ``assignment_sha256`` against its section and the ledger; re-derives the run's
    assignment from its inputs snapshot (``selections``: the run's selections as the verifier re-derived them)
    and compares the section field by field, the snapshot's digest with the record and the ledger, and the
    stored ``assignments`` and ``assignment_exclusions`` rows of the draw. ``legacy()`` re-derives a
    ``dbsj-assign/1`` record from the live pools (the store has no snapshot), with a warning.
    """
    diffs: list[str] = []
    warnings: list[str] = []
    section = record.get("assignment")
    entry = _reveal_entry(store, draw_id)
    payload = entry.payload if entry is not None else {}
    sha = _sha(section) if section is not None else None
    if record.get("assignment_sha256") != sha:
        diffs.append("assignment_sha256 does not match the assignment section")
    if "assignment_sha256" in payload and payload.get("assignment_sha256") != sha:
        diffs.append("assignment: not the section the ledger's draw.reveal entry binds (assignment_sha256)")
    if section is None:
        return diffs, warnings, True
    if not isinstance(section, dict):
        return diffs + ["assignment: the section is not an object"], warnings, True
    if not has_assignment_snapshot(store, run_id):
        if section.get("algorithm") != LEGACY_ALGORITHM or legacy is None:
            return diffs + [f"assignment: the record names {section.get('algorithm')!r} with inputs "
                            f"{str(section.get('inputs_sha256'))[:12]}…, but the store holds no inputs snapshot "
                            f"for run {run_id}"], warnings, True
        warnings.append(f"assignment re-derived from the live pools: run {run_id} is a {LEGACY_ALGORITHM} draw "
                        f"without an inputs snapshot; once results, history or the inspector pool changed since "
                        f"the draw it differs for that reason alone")
        try:
            again = legacy()
        except DbsjError as exc:
            warnings.append(f"assignment not re-derived: the pools changed since the draw ({exc.render('en')})")
            return diffs, warnings, False
        if again != section:
            diffs.append("assignment: differs from the re-derivation over the live pools "
                         "(or the pools changed since the draw)")
        return diffs, warnings, True
    key = ("asg", run_id, seed)
    fingerprint = json.dumps(selections.to_pydict(), default=str, sort_keys=True)
    if cache is not None and key in cache and cache[key][0] == fingerprint:
        outcome = cache[key][1]
    else:
        outcome = reassign_from_snapshot(store, run_id, selections, seed)
        if cache is not None:
            cache[key] = (fingerprint, outcome)
    diffs += section_differences(assignment_for_task(outcome.section, task_id), section)
    bound = {"sha256": payload.get("assignment_inputs_sha256"), "parts": payload.get("assignment_inputs")}
    if bound["sha256"] is None:
        diffs.append("assignment: the ledger's draw.reveal entry binds no inputs snapshot")
    else:
        # the store does not change while its records are verified: its own checks run once per run and draw
        key = ("snapshot", run_id, canonical_json(bound))
        if cache is None or key not in cache:
            found = _snapshot_differences(store, run_id, bound)
            if cache is not None:
                cache[key] = found
        for table, msg in (cache[key] if cache is not None else found):
            diffs.append(f"{table}: {msg}")
    key = ("rows", draw_id, fingerprint)
    if cache is None or key not in cache:
        rows = stored_row_differences(store, draw_id, task_id, plan_id, outcome, selected)
        if cache is not None:
            cache[key] = rows
    for table, msg in (cache[key] if cache is not None else rows):
        diffs.append(f"{table} of {draw_id}: {msg}")
    return diffs, warnings, True


# -- dbsj audit ----------------------------------------------------------------------------------------


def audit_assignments(store: Any) -> list[AuditFinding]:
    """Compare every run's stored assignment with what the ledger binds; one finding per mismatch.

    For each run whose ``draw.reveal`` entries bind an inputs snapshot (``dbsj-assign/2``): the snapshot tables
    against the digests on the ledger; the assignment re-derived from the snapshot against each draw's
    ``assignment_sha256``; the ``assignments`` and ``assignment_exclusions`` rows of each draw against that
    re-derivation. Rows of those two tables that belong to no revealed draw are findings too. Runs drawn
    before snapshots (``dbsj-assign/1``) cannot be re-derived without the live pools and are not checked here.
    """
    from dbsj.store.ledger import Ledger

    findings: list[AuditFinding] = []

    def add(table: str, key: str, zh: str, en: str) -> None:
        findings.append(AuditFinding(table, key, zh, en))

    runs: dict[str, dict[str, Any]] = {}
    revealed: set[str] = set()
    for e in Ledger(store).entries("draw.reveal"):
        revealed.add(e.subject)
        rid = e.payload.get("run_id")
        if rid is not None and e.payload.get("assignment_inputs_sha256") is not None:
            runs.setdefault(rid, {})[e.subject] = e.payload
    for table in ("assignments", "assignment_exclusions"):
        for (did,) in store.execute(f"SELECT DISTINCT draw_id FROM {table} ORDER BY 1").fetchall():
            if did not in revealed:
                add(table, did, f"抽取 {did} 没有揭示记录，却有分配数据行", f"rows for draw {did}, which the ledger never revealed")
    for (rid,) in store.execute("SELECT run_id FROM assignment_inputs ORDER BY 1").fetchall():
        in_runs = store.execute("SELECT count(*) FROM draw_runs WHERE run_id = ?", [rid]).fetchall()[0][0]
        if not in_runs:
            add("assignment_inputs", rid, f"分配输入快照属于不存在的批次 {rid}",
                f"an assignment inputs snapshot for run {rid}, which does not exist")
        elif rid not in runs:
            add("assignment_inputs", rid, f"批次 {rid} 的分配输入快照没有被账本上的揭示记录绑定",
                f"the assignment inputs snapshot of run {rid} is bound by no draw.reveal entry on the ledger")
    for rid in sorted(runs):
        entries = runs[rid]
        first = next(iter(entries.values()))
        bound = {"sha256": first.get("assignment_inputs_sha256"), "parts": first.get("assignment_inputs")}
        if any(p.get("assignment_inputs_sha256") != bound["sha256"] for p in entries.values()):
            add("ledger", rid, f"批次 {rid} 的揭示记录绑定了不同的分配输入摘要",
                f"the draw.reveal entries of run {rid} bind different assignment inputs")
        problems = _snapshot_differences(store, rid, bound)
        for table, msg in problems:
            add(table, rid, f"分配输入快照与账本不符: {msg}", f"assignment inputs snapshot does not match the ledger: {msg}")
        if _snapshot_row(store, rid) is None:
            continue
        seed = first.get("seed_value")
        if seed is None:
            row = store.execute("SELECT seed FROM draw_runs WHERE run_id = ?", [rid]).fetchall()
            seed = (json.loads(row[0][0]) or {}).get("value") if row and row[0][0] else None
        try:
            outcome = reassign_from_snapshot(store, rid, _run_selections(store, rid), str(seed))
        except DbsjError as exc:
            add("assignment_inputs", rid, f"无法由快照重新推导分配: {exc.render('zh')}",
                f"the assignment cannot be re-derived from the snapshot: {exc.render('en')}")
            continue
        draws = {did: (tid, pid) for did, tid, pid in store.execute(
            "SELECT draw_id, task_id, plan_id FROM draws WHERE run_id = ?", [rid]).fetchall()}
        for did in sorted(entries):
            if did not in draws:
                add("draws", did, f"账本上的抽取 {did} 不在 draws 表中", f"draw {did} of the ledger is not in the draws table")
                continue
            tid, pid = draws[did]
            if _sha(assignment_for_task(outcome.section, tid)) != entries[did].get("assignment_sha256"):
                add("assignment_inputs", did,
                    "由快照重新推导的分配与账本上的 assignment_sha256 不符（快照的参数或行被改动）",
                    "the assignment re-derived from the snapshot does not hash to the ledger's assignment_sha256 "
                    "(the snapshot's options or rows were changed)")
            selected = [u for (u,) in store.execute(
                "SELECT DISTINCT uscc FROM assignment_input_selections WHERE run_id = ? AND task_id = ?",
                [rid, tid]).fetchall()]
            for table, msg in stored_row_differences(store, did, tid, pid, outcome, selected):
                add(table, did, f"与由快照重新推导的分配不符: {msg}", f"differs from the assignment re-derived from the "
                                                                  f"snapshot: {msg}")
    return findings


def options_of(store: Any, run_id: str) -> AssignmentOptions | None:
    """The options stored with a run's snapshot (``None`` without one)."""
    snap = _snapshot_row(store, run_id)
    return None if snap is None else AssignmentOptions.from_dict(snap[1], where=f"run {run_id}")
