"""``dbsj verify``: check a record against everything it binds, and against the store.

The standard-library checks of :mod:`dbsj.verifier` run first (the record alone, and any anchors). Then the
store: the commitment stored and ledgered at commit time, the seal against its committed hash, the stored
eligible set against the stratum digests, the selection re-derived from the stored eligible set and compared
with the ``selections`` rows, the assignment re-derived, the reveal's ledger entry as the ledger holds it,
and the whole chain. From these the record is rebuilt exactly as the reveal wrote it; every field that
differs is reported. The store keeps each draw's eligible set and seal, so a record verifies after the
pools change.
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

from dbsj._csvcells import neutralise
from dbsj.draw.engine import (
    DrawOptions,
    selection_for,
    selection_section,
    stored_plan,
    stored_seal,
    stratum_digests,
)
from dbsj.draw.records import read_record
from dbsj.errors import InputError, VerificationError
from dbsj.store.digest import eligible_digests
from dbsj.store.ledger import Ledger
from dbsj.verifier import (
    ALGORITHM,
    RECORD_FORMAT_V1,
    BadInput,
    canonical_json,
    eligible_salt,
    public_body,
    sample_size,
    seed_value,
    sha256_hex,
    verify_data,
)

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
    gs = {s.get("stratum"): s for s in got.get("strata", []) if isinstance(s, dict)} \
        if isinstance(got.get("strata"), list) else {}
    for st in sorted(set(es) | set(gs), key=str):
        e, g = es.get(st), gs.get(st)
        if e != g:
            if e is None or g is None:
                out.append(f"selection stratum {st}: {'missing from the record' if g is None else 'not re-derived'}")
                continue
            rows_e, rows_g = e.get("selected", []), g.get("selected", [])
            if not isinstance(rows_g, list):
                out.append(f"selection stratum {st}: selected is not a list")
                continue
            j = next((i for i, (a, b) in enumerate(zip(rows_e, rows_g)) if a != b), min(len(rows_e), len(rows_g)))
            a = rows_e[j]["id"] if j < len(rows_e) else None
            b = rows_g[j].get("id") if j < len(rows_g) and isinstance(rows_g[j], dict) else None
            out.append(f"selection stratum {st}: differs at rank {j + 1} (re-derived {a}, record {b}; "
                       f"{len(rows_e)} vs {len(rows_g)} rows)")
    return out


def _diff(expect: Any, got: Any, path: str, out: list[str], limit: int = 12) -> None:
    """Field-by-field differences (first ``limit``), named by their path in the record."""
    if len(out) >= limit or expect == got:
        return
    if isinstance(expect, dict) and isinstance(got, dict):
        for k in sorted(set(expect) | set(got)):
            if k not in got:
                out.append(f"{path}{k}: missing from the record")
            elif k not in expect:
                out.append(f"{path}{k}: not in the record the store gives")
            else:
                _diff(expect[k], got[k], f"{path}{k}.", out, limit)
            if len(out) >= limit:
                return
    elif isinstance(expect, list) and isinstance(got, list) and len(expect) == len(got):
        for n, (a, b) in enumerate(zip(expect, got)):
            _diff(a, b, f"{path[:-1]}[{n}].", out, limit)
            if len(out) >= limit:
                return
    else:
        def short(v: Any) -> str:
            text = canonical_json(v)
            return text if len(text) <= 80 else text[:77] + "…"

        out.append(f"{path[:-1]}: the store gives {short(expect)}, the record has {short(got)}")


def verify_records(store: Any, records: list[str | Path], *, options: DrawOptions | None = None,
                   anchors: list[str | Path] | tuple[str | Path, ...] = ()) -> list[VerificationReport]:
    """:func:`verify_record` for several records; the assignment of a run is re-derived once for all its records."""
    cache: dict[Any, Any] = {}
    return [verify_record(store, r, options=options, anchors=anchors, _cache=cache) for r in records]


def verify_record(store: Any, record: str | Path, *, options: DrawOptions | None = None,
                  anchors: list[str | Path] | tuple[str | Path, ...] = (),
                  _cache: dict[Any, Any] | None = None) -> VerificationReport:
    """Check a record (auditor or public form, either format) against everything it binds and against the
    store. Returns a report; never raises for a mismatch (see :meth:`VerificationReport.raise_for_differences`).

    :param anchors: files published earlier — the public commitment ``<task>.commit.json``, the public record
        ``<task>.public.json`` — that the record must agree with.
    :raises InputError: the file is not a draw record, or an anchor is not a public commitment or record.
    """
    options = options or DrawOptions()
    rec = read_record(record, forms=("auditor", "public"))
    if rec.get("format") == RECORD_FORMAT_V1:
        if rec.get("form") != "auditor":
            raise InputError("dbsj-draw-record/1 的公开版记录不含票号，无法复核；请使用审计版 .draw.json",
                             "a dbsj-draw-record/1 public record has no tickets; verify the auditor form (.draw.json)",
                             where=str(record))
        if anchors:
            raise InputError("锚定文件只适用于 dbsj-draw-record/2 记录", "anchors apply to dbsj-draw-record/2 records",
                             where=str(record))
        return _verify_v1(store, str(record), rec, options, _cache)
    return _verify_v2(store, str(record), rec, options, anchors, _cache)


def _anchor_data(paths: list[str | Path] | tuple[str | Path, ...]) -> list[tuple[str, dict[str, Any]]]:
    out = []
    for p in paths:
        try:
            data = json.loads(Path(p).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise InputError(f"无法读取锚定文件: {exc}", f"cannot read anchor file: {exc}", where=str(p)) from None
        if not isinstance(data, dict) or data.get("form") not in ("public-commitment", "public"):
            raise InputError("锚定文件应为先前公布的公开承诺（<任务>.commit.json）或公开版记录（<任务>.public.json）",
                             "an anchor is a file published earlier: the public commitment (<task>.commit.json) or "
                             "the public record (<task>.public.json)", where=str(p))
        out.append((str(p), data))
    return out


def _expected_record(store: Any, draw_id: str, rec: dict[str, Any], options: DrawOptions,
                     cache: dict[Any, Any] | None, diffs: list[str], warnings: list[str],
                     checked: list[str]) -> dict[str, Any] | None:
    """The auditor record as the store gives it (commitment, seal, seed, re-derived selection and assignment,
    the ledger's entry), checking the store's own bindings on the way; ``None`` when the draw was never revealed."""
    key = ("expected", draw_id)
    if cache is not None and key in cache:
        exp, d, w, c = cache[key]
        diffs += d
        warnings += w
        checked += c
        return exp
    d: list[str] = []
    w: list[str] = []
    c: list[str] = []
    row = store.execute("SELECT task_id, commitment_sha256, status, run_id, summary, ledger_seq FROM draws "
                        "WHERE draw_id = ?", [draw_id]).fetchall()
    if not row:
        diffs.append(f"draw {draw_id} is not in this store")
        return None
    task_id, stored_sha, status, run_id, summary, ledger_seq = row[0]
    summary = json.loads(summary) if summary else {}
    com = summary.get("commitment")
    if status not in ("drawn", "superseded") or com is None or "seed" not in summary:
        diffs.append(f"draw {draw_id}: the store says {status}; it was never revealed")
        return None
    ledger = Ledger(store)
    d += _draw_rows_differences(store, draw_id, com, summary, status)
    # commitment: stored, ledgered at commit time
    com_sha = _sha(com)
    if com_sha != stored_sha:
        d.append("store: the stored commitment does not hash to the commitment_sha256 stored at commit time")
    commits = [e for e in ledger.entries("draw.commit") if e.subject == draw_id]
    if not commits or commits[0].payload.get("commitment_sha256") != stored_sha:
        d.append("ledger: the commitment is not the one ledgered at commit time")
    c.append("commitment")
    # seal
    seal = stored_seal(store.con, draw_id)
    if seal is None:
        d.append("store: the draw's seal is missing (draw_seals)")
    elif sha256_hex(seal) != com.get("seal_sha256"):
        d.append("store: the stored seal does not hash to the committed seal_sha256")
    c.append("seal")
    # eligible set
    have = {s: (n, dg) for s, n, dg in (eligible_digests(store.con, draw_id, eligible_salt(seal)) if seal else [])}
    for e in com.get("strata", []):
        n, dg = have.pop(e["stratum"], (0, None))
        if n != e["eligible"] or dg != e["digest"]:
            d.append(f"store: eligible set of stratum {e['stratum']}: stored {n} ids (digest {str(dg)[:12]}…), "
                     f"committed {e['eligible']} (digest {e['digest'][:12]}…)")
    for s in sorted(have):
        d.append(f"store: eligible set: stratum {s} is stored but not committed")
    c.append("eligible set")
    # seed, selection
    seed = summary["seed"]
    problems: list[str] = []
    value = seed_value({"seed": seed, "commitment": com}, problems)
    d += [f"store: {p}" for p in problems]
    c.append("seed")
    selection = None
    if value is not None and seal is not None:
        sizes = {e["stratum"]: (e["k"], e["eligible"]) for e in com["strata"]}
        selection = selection_section(com, selection_for(store.con, draw_id, task_id, value, sizes, ALGORITHM))
        stored = store.execute("SELECT stratum, rank, uscc, ticket, batch, strftime(due, '%Y-%m-%d') FROM selections "
                               "WHERE draw_id = ? ORDER BY stratum, rank", [draw_id]).fetchall()
        expect_rows = [(st["stratum"], r["rank"], r["id"], r["ticket"], r["batch"], r["due"])
                       for st in selection["strata"] for r in st["selected"]]
        if sorted(stored) != sorted(expect_rows):
            bad = sorted(set(stored) ^ set(expect_rows))
            d.append(f"store: the selections table differs from the re-derived selection ({len(bad)} row(s), e.g. "
                     f"{bad[0][2]} in {bad[0][0]})" if bad else "store: the selections table holds a row twice")
    c.append("selection")
    # assignment: re-derived for the whole run (visits merge across its tasks) from the run's inputs snapshot
    assignment = rec.get("assignment") if rec.get("form") == "auditor" else None
    asg_sha = summary.get("assignment_sha256")
    if asg_sha is not None and selection is not None:
        assignment = _expected_assignment(store, rec, run_id, draw_id, task_id, selection, value, cache, d, w, c)
    # ledger
    try:
        ledger.verify()
    except VerificationError as exc:
        d.append(f"ledger: {exc.render('en')}")
    entry_row = store.execute("SELECT seq, kind, subject, payload, recorded_at, prev_hash, hash FROM ledger WHERE seq = ?",
                              [ledger_seq]).fetchall()
    entry = None
    if not entry_row:
        d.append(f"ledger: the reveal's entry #{ledger_seq} is no longer on the ledger")
    else:
        s, k, sub, payload, at, prev, h = entry_row[0]
        entry = {"seq": int(s), "kind": k, "subject": sub, "payload": json.loads(payload),
                 "recorded_at": at.isoformat(), "prev_hash": prev, "hash": h}
        if k != "draw.reveal" or sub != draw_id:
            d.append(f"ledger: entry #{ledger_seq} is not this draw's reveal")
        p = entry["payload"]
        for name, val in (("commitment_sha256", com_sha), ("seed_sha256", _sha(seed)),
                          ("selection_sha256", _sha(selection) if selection is not None else None),
                          ("assignment_sha256", asg_sha)):
            if val is not None and p.get(name) != val:
                d.append(f"ledger: the reveal's entry binds another {name.removesuffix('_sha256')} than the store gives")
    c.append("ledger")
    if selection is None or entry is None:
        exp = None
    else:
        exp = {"format": rec.get("format"), "form": "auditor", "draw_id": draw_id, "commitment": com,
               "commitment_sha256": com_sha, "seal": seal.hex() if seal else None, "seed": seed,
               "seed_sha256": _sha(seed), "selection": selection, "selection_sha256": _sha(selection),
               "assignment": assignment, "assignment_sha256": asg_sha,
               "ledger": {"entry": entry, "head": entry["hash"]}}
        if assignment is None and asg_sha is not None:
            exp = {**exp, "assignment": rec.get("assignment")}
        pub_sha = (entry["payload"] or {}).get("public_sha256")
        try:
            if _sha(public_body(exp)) != pub_sha:
                d.append("ledger: the reveal's entry binds another public record than the store gives")
        except (KeyError, TypeError):
            pass
    if cache is not None:
        cache[key] = (exp, list(d), list(w), list(c))
    diffs += d
    warnings += w
    checked += c
    return exp


def _draw_rows_differences(store: Any, draw_id: str, com: dict[str, Any], summary: dict[str, Any],
                           status: str) -> list[str]:
    """The store's rows about this draw beside its commitment: the ``draws`` row, its run, its items, its
    exclusion counts, and that no other draw stands for the same task."""
    out: list[str] = []
    plan_id, task_id, attempt, algorithm, run_id = store.execute(
        "SELECT plan_id, task_id, attempt, algorithm, run_id FROM draws WHERE draw_id = ?", [draw_id]).fetchall()[0]
    if (plan_id, task_id, attempt, algorithm, run_id) != (com.get("plan", {}).get("id"), com.get("task", {}).get("id"),
                                                         com.get("attempt"), com.get("algorithm"), com.get("run_id")):
        out.append("store: the draws row (plan, task, attempt, algorithm, run) differs from the commitment")
    others = store.execute("SELECT draw_id FROM draws WHERE plan_id = ? AND task_id = ? AND status = 'drawn' "
                           "AND draw_id <> ? ORDER BY 1", [plan_id, task_id, draw_id]).fetchall()
    if status == "drawn" and others:
        out.append(f"store: another draw stands for the same task ({others[0][0]})")
    runs = store.execute("SELECT run_id, status, seed FROM draw_runs WHERE list_contains(draw_ids, ?) ORDER BY 1",
                         [draw_id]).fetchall()
    if [r[0] for r in runs] != [run_id]:
        out.append(f"store: the draw should belong to exactly its run {run_id}; draw_runs lists it in "
                   f"{[r[0] for r in runs]}")
    elif runs[0][1] != "drawn" or json.loads(runs[0][2] or "null") != summary.get("seed"):
        out.append("store: the run's status or seed in draw_runs differs from the draw's reveal")
    items = [r[0] for r in store.execute("SELECT item_code FROM draw_items WHERE draw_id = ? ORDER BY 1",
                                         [draw_id]).fetchall()]
    if items != sorted(com.get("task", {}).get("items", [])):
        out.append("store: draw_items differs from the items of the commitment")
    excl = dict(store.execute("SELECT reason, count(*) FROM draw_exclusions WHERE draw_id = ? GROUP BY reason",
                              [draw_id]).fetchall())
    if {k: int(v) for k, v in excl.items()} != dict(com.get("exclusions") or {}):
        out.append("store: draw_exclusions does not give the committed exclusion counts")
    from dbsj.draw.audit import exclusions_digest

    bound = [json.loads(p).get("exclusions_sha256") for (p,) in store.execute(
        "SELECT payload FROM ledger WHERE kind = 'draw.commit' AND subject = ? ORDER BY seq", [draw_id]).fetchall()]
    if bound and bound[0] is not None and exclusions_digest(store.con, draw_id) != bound[0]:
        out.append("store: draw_exclusions does not hash to the exclusions_sha256 the draw.commit entry binds")
    return out


def _verify_v2(store: Any, path: str, rec: dict[str, Any], options: DrawOptions,
               anchors: list[str | Path] | tuple[str | Path, ...], cache: dict[Any, Any] | None) -> VerificationReport:
    diffs: list[str] = []
    checked: list[str] = []
    warnings: list[str] = []
    draw_id = str(rec.get("draw_id") or "")
    anchor_data = _anchor_data(anchors)
    try:
        diffs += [f"record: {p}" for p in verify_data(rec, anchors=anchor_data)]
    except BadInput as exc:
        raise InputError(f"无法复核: {exc}", f"cannot verify: {exc}", where=path) from None
    checked.append("record")
    if anchor_data:
        checked.append("anchors")
    exp = _expected_record(store, draw_id, rec, options, cache, diffs, warnings, checked)
    if exp is not None:
        got_diffs: list[str] = []
        if rec.get("form") == "auditor":
            _diff(exp, rec, "", got_diffs)
        else:
            _diff({**public_body(exp), "ledger": exp["ledger"]}, rec, "", got_diffs)
        diffs += [f"store: {g}" for g in got_diffs]
        sel = rec.get("selection") if rec.get("form") == "auditor" else None
        if isinstance(sel, dict) and sel != exp["selection"]:
            diffs += _first_difference(exp["selection"], sel)
    return VerificationReport(path, draw_id, not diffs, tuple(dict.fromkeys(diffs)), tuple(checked), tuple(warnings))


def _verify_v1(store: Any, path: str, rec: dict[str, Any], options: DrawOptions,
               _cache: dict[Any, Any] | None) -> VerificationReport:
    """``dbsj-draw-record/1`` records, checked as they always were."""
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
    problems: list[str] = []
    value = seed_value(rec, problems)
    diffs += problems
    stored_seed = summary.get("seed")
    if stored_seed is not None and stored_seed != rec.get("seed"):
        diffs.append("seed: differs from the seed stored at the reveal")
    checked.append("seed")
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
    try:
        Ledger(store).verify()
    except VerificationError as exc:
        diffs.append(f"ledger: {exc.render('en')}")
    checked.append("ledger")
    return VerificationReport(path, draw_id, not diffs, tuple(diffs), tuple(checked), tuple(warnings))


def _run_selections(store: Any, run_id: str, draw_id: str, task_id: str, this_selection: dict[str, Any], seed: str,
                    cache: dict[Any, Any] | None) -> tuple[pa.Table, str | None]:
    """The run's selections (``task_id, uscc, due``) as the verifier re-derives them — this record's from the
    checks above, the other draws' from their stored eligible sets — and the run's plan id."""
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
    return selections, plan_id


def _expected_assignment(store: Any, rec: dict[str, Any], run_id: str, draw_id: str, task_id: str,
                         selection: dict[str, Any], seed: str, cache: dict[Any, Any] | None, d: list[str],
                         w: list[str], c: list[str]) -> dict[str, Any] | None:
    """The v2 record's assignment section re-derived from the run's inputs snapshot (``None`` if it cannot
    be), with the assignment checks of :func:`dbsj.draw.assignment_inputs.assignment_differences` added to ``d``."""
    from dbsj.draw.assignment import assignment_for_task, has_assignment_snapshot, reassign_from_snapshot
    from dbsj.draw.assignment_inputs import assignment_differences
    from dbsj.errors import DbsjError

    local = cache if cache is not None else {}
    if not has_assignment_snapshot(store, run_id):
        # a dbsj-assign/1 record (before snapshots): re-run over the live pools, with a warning
        a_d, a_w, a_c = _reassign(store, rec, run_id, draw_id, task_id, selection, seed, DrawOptions(), local)
        d += [f"store: {x}" for x in a_d]
        w += a_w
        if a_c:
            c.append("assignment")
        return rec.get("assignment") if rec.get("form") == "auditor" else None
    selections, plan_id = _run_selections(store, run_id, draw_id, task_id, selection, seed, local)
    key = ("asg", run_id, seed)
    fingerprint = json.dumps(selections.to_pydict(), default=str, sort_keys=True)
    try:
        if key in local and local[key][0] == fingerprint:
            outcome = local[key][1]
        else:
            outcome = reassign_from_snapshot(store, run_id, selections, seed)
            local[key] = (fingerprint, outcome)
    except DbsjError as exc:
        d.append(f"store: the assignment cannot be re-derived from the run's inputs snapshot ({exc.render('en')})")
        return None
    section = assignment_for_task(outcome.section, task_id)
    checked_rec = rec if rec.get("form") == "auditor" else {"assignment": section, "assignment_sha256": _sha(section)}
    selected = [r["id"] for st in selection["strata"] for r in st["selected"]]
    a_d, a_w, a_c = assignment_differences(store, checked_rec, run_id=run_id, draw_id=draw_id, task_id=task_id,
                                           plan_id=plan_id or "", selections=selections, selected=selected,
                                           seed=seed, cache=local)
    d += [f"store: {x}" for x in a_d]
    w += a_w
    if a_c:
        c.append("assignment")
    return section


def _reassign(store: Any, rec: dict[str, Any], run_id: str, draw_id: str, task_id: str,
              this_selection: dict[str, Any], seed: str, options: DrawOptions,
              cache: dict[Any, Any] | None = None) -> tuple[list[str], list[str], bool]:
    """The assignment checks of :func:`verify_record` for a v1 record: ``(differences, warnings, checked)``.

    The run's selections are re-derived and the assignment from the run's inputs snapshot
    (:func:`dbsj.draw.assignment.reassign_from_snapshot`). A ``dbsj-assign/1`` record, from a store without
    snapshots, is re-run over the live pools as before, with a warning.
    """
    from dbsj.draw.assignment import LEGACY_ALGORITHM, AssignmentOptions, _assign, assignment_for_task
    from dbsj.draw.assignment_inputs import assignment_differences

    selections, plan_id = _run_selections(store, run_id, draw_id, task_id, this_selection, seed, cache)
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
    """Write the eligible pool a draw used, ``id,stratum`` (UTF-8 with BOM, LF line ends, minimal quoting,
    formula-leading cells neutralised by :mod:`dbsj._csvcells`, sorted by stratum then id, as bytes), for
    :mod:`dbsj.verifier`. Returns the number of rows.

    The pool of a task stratified or filtered by a confidential field is an auditor file: hand it to auditors
    with the auditor record, never publish it (docs/draws.md).
    """
    rec = read_record(record, forms=("auditor", "public"))
    draw_id = rec["draw_id"]
    if store.execute("SELECT count(*) FROM draws WHERE draw_id = ?", [draw_id]).fetchall()[0][0] == 0:
        raise InputError(f"存储中没有抽取 {draw_id}", f"draw {draw_id} is not in this store", where=str(record))
    cur = store.execute("SELECT uscc, stratum FROM draw_eligible WHERE draw_id = ? ORDER BY stratum, uscc", [draw_id])
    n = 0
    with open(out, "w", encoding="utf-8-sig", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["id", "stratum"])
        while batch := cur.fetchmany(100_000):
            w.writerows((neutralise(i), neutralise(s)) for i, s in batch)
            n += len(batch)
    return n
