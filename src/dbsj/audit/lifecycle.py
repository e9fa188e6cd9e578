"""Results, task states, publications, receipts, follow-ups, plan snapshots and imported calendars against the
ledger.

Each row of these tables is paired with the ledger entry that recorded it; both directions are checked
(a row no entry covers was inserted, an entry whose row is missing lost it), and every value or digest the
entry binds is recomputed from the rows.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path
from typing import Any

from dbsj.audit.context import AuditContext
from dbsj.lifecycle.calendar_data import calendar_days_digest
from dbsj.lifecycle.followup import followup_digest
from dbsj.lifecycle.publication import ENTRIES_DIGEST_SQL
from dbsj.lifecycle.results import ENTRY_DIGEST_SQL, ROW_JSON_SQL

__all__ = ["audit_results", "audit_task_events", "audit_publications", "audit_followups", "audit_plans",
           "audit_calendars"]


def _same_time(a: Any, b: Any) -> bool:
    if isinstance(a, dt.datetime) and isinstance(b, dt.datetime):
        if (a.tzinfo is None) != (b.tzinfo is None):
            return a.replace(tzinfo=None) == b.replace(tzinfo=None)
        return a == b
    return a == b


def _chunk_digest(hashes: list[str | None]) -> str | None:
    if any(h is None for h in hashes):
        return None
    return hashlib.sha256("".join(hashes).encode("ascii")).hexdigest()  # type: ignore[arg-type]


def audit_results(ctx: AuditContext) -> None:
    """Every result row covered by exactly one result entry, with the fields and digests it binds."""
    store = ctx.store
    rows = {int(r[0]): r for r in store.execute(
        "SELECT entry_no, ledger_seq, task_id, uscc, staff_id, item_code, result_code, method, disposition, "
        "inspected_on, supersedes FROM results").fetchall()}
    hashes = {int(n): h for n, h in store.execute(f"SELECT entry_no, sha256({ROW_JSON_SQL}) FROM results").fetchall()}
    claimed: dict[int, int] = {}
    for e in ctx.of_kind("result.recorded", "result.imported"):
        p = e.payload
        if e.kind == "result.recorded":
            nos = [int(n) for n in p.get("entries", [])]
        else:
            first, last = p.get("first_entry"), p.get("last_entry")
            nos = list(range(int(first), int(last) + 1)) if isinstance(first, int) and isinstance(last, int) else []
            if p.get("entries") != len(nos):
                ctx.find("results", "results", f"ledger #{e.seq}", "账本条目的条数与其范围不符", "the entry's count and range disagree")
        for no in nos:
            if no in claimed:
                ctx.find("results", "results", no, f"账本第 {claimed[no]} 条与第 {e.seq} 条都记录了该结果",
                         f"ledger entries #{claimed[no]} and #{e.seq} both record this result")
            claimed[no] = e.seq
        missing = [no for no in nos if no not in rows]
        for no in missing:
            ctx.find("results", "results", no, f"账本第 {e.seq} 条记录的结果在表中不存在（行被删除）",
                     f"the result recorded by ledger entry #{e.seq} is missing (row deleted)")
        if not nos:
            continue
        chunks = p.get("row_chunks")
        if isinstance(chunks, dict) and isinstance(chunks.get("size"), int) and chunks["size"] > 0:
            size, first = chunks["size"], nos[0]
            bound = list(chunks.get("sha256") or [])
            parts: dict[int, list[int]] = {}
            for no in nos:
                parts.setdefault((no - first) // size, []).append(no)
            for i in range((nos[-1] - first) // size + 1):
                part = parts.get(i, [])
                got = _chunk_digest([hashes.get(no) for no in part])
                if i >= len(bound) or got != bound[i]:
                    if got is None:
                        continue  # the missing rows are reported one by one above
                    key = f"{part[0]}" if len(part) == 1 else f"{part[0]}–{part[-1]}"
                    ctx.find("results", "results", key, f"与账本第 {e.seq} 条绑定的结果摘要不符（字段被改动或行被替换）",
                             f"differs from the digest bound by ledger entry #{e.seq} (a field was changed or a row "
                             "replaced)")
        elif isinstance(p.get("sha256"), str):
            got = store.scalar(ENTRY_DIGEST_SQL, [nos[0], nos[-1]])
            if got != p["sha256"] and not missing:
                ctx.find("results", "results", f"{nos[0]}–{nos[-1]}", f"与账本第 {e.seq} 条的摘要不符",
                         f"differs from the digest of ledger entry #{e.seq}")
        if e.kind == "result.recorded":
            _compare_recorded(ctx, e, nos, rows)
    for no, r in sorted(rows.items()):
        seq = claimed.get(no)
        if seq is None and r[1] is not None and int(r[1]) > ctx.last_seq:
            ctx.find("results", "results", no, f"该行指向账本第 {r[1]} 条，而账本只到第 {ctx.last_seq} 条：账本末尾的条目被删除",
                     f"the row names ledger entry #{r[1]} but the ledger ends at #{ctx.last_seq}: its last entries "
                     "were deleted")
        elif seq is None:
            ctx.find("results", "results", no, "没有账本条目记录该结果（行是插入的）", "no ledger entry records this result "
                     "(the row was inserted)")
        elif r[1] != seq:
            ctx.find("results", "results", no, f"该行指向账本第 {r[1]} 条，而记录它的是第 {seq} 条",
                     f"the row names ledger entry #{r[1]} but entry #{seq} records it")
    ctx.close_check("results")


def _compare_recorded(ctx: AuditContext, e: Any, nos: list[int], rows: dict[int, tuple]) -> None:
    p = e.payload
    items = p.get("items") or {}
    for no in nos:
        r = rows.get(no)
        if r is None:
            continue
        _no, _seq, task_id, uscc, staff, item, code, method, disp, on, sup = r
        diffs = []
        for name, got, want in (("task_id", task_id, p.get("task_id")), ("uscc", uscc, p.get("uscc")),
                                ("staff_id", staff, p.get("staff_id")), ("method", method, p.get("method")),
                                ("disposition", disp, p.get("disposition")),
                                ("inspected_on", on.isoformat() if on else None, p.get("inspected_on"))):
            if got != want:
                diffs.append(name)
        if item not in items:
            diffs.append("item_code")
        elif items[item] != code:
            diffs.append("result_code")
        if sup is not None and sup not in (p.get("supersedes") or []):
            diffs.append("supersedes")
        if diffs:
            ctx.find("results", "results", no, f"与账本第 {e.seq} 条不符: {', '.join(diffs)}",
                     f"differs from ledger entry #{e.seq}: {', '.join(diffs)}")


def audit_task_events(ctx: AuditContext) -> None:
    """Each task-state row repeats its ``task.state`` entry, one row per entry."""
    rows = ctx.store.execute("SELECT task_id, plan_id, from_state, to_state, actor, note, recorded_at, ledger_seq "
                             "FROM task_events ORDER BY ledger_seq").fetchall()
    seen: dict[int, int] = {}
    for task_id, plan_id, frm, to, actor, note, at, seq in rows:
        key = f"{task_id} ({frm}→{to})"
        e = ctx.entry_ref(seq, "task_events", key, "task_events", ("task.state",))
        if e is None:
            continue
        seen[e.seq] = seen.get(e.seq, 0) + 1
        p = e.payload
        diffs = [n for n, got, want in (("task_id", task_id, e.subject), ("task_id", task_id, p.get("task_id")),
                                        ("plan_id", plan_id, p.get("plan_id")), ("from_state", frm, p.get("from")),
                                        ("to_state", to, p.get("to")), ("actor", actor, p.get("actor")),
                                        ("note", note, p.get("note"))) if got != want]
        if not _same_time(at, e.recorded_at):
            diffs.append("recorded_at")
        if diffs:
            ctx.find("task_events", "task_events", key, f"与账本第 {e.seq} 条不符: {', '.join(sorted(set(diffs)))}",
                     f"differs from ledger entry #{e.seq}: {', '.join(sorted(set(diffs)))}")
    for seq, n in seen.items():
        if n > 1:
            ctx.find("task_events", "task_events", f"ledger #{seq}", f"账本第 {seq} 条对应 {n} 行（行是复制插入的）",
                     f"ledger entry #{seq} has {n} rows (rows were inserted)")
    for e in ctx.of_kind("task.state"):
        if e.seq not in seen:
            ctx.find("task_events", "task_events", f"{e.subject} ({e.payload.get('from')}→{e.payload.get('to')})",
                     f"账本第 {e.seq} 条记录的状态变更在表中不存在（行被删除）",
                     f"the transition recorded by ledger entry #{e.seq} is missing (row deleted)")
    ctx.close_check("task_events")


def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def audit_publications(ctx: AuditContext) -> None:
    """Batches, their entries, their files and their receipts against the ledger; notice numbers gapless."""
    store = ctx.store
    pending = {f for (f,) in store.execute("SELECT final_path FROM pending_outputs").fetchall()}
    rows = store.execute("SELECT batch_id, authority, year, number, notice_title, published_on, entries, ledger_head, "
                         "files, ledger_seq FROM publications ORDER BY batch_id").fetchall()
    paired: set[int] = set()
    numbers: dict[tuple[str, int], list[int]] = {}
    result_nos = {int(n) for (n,) in store.execute("SELECT entry_no FROM results").fetchall()}
    for batch_id, auth, year, number, title, on, n_entries, head, files, seq in rows:
        numbers.setdefault((auth, int(year)), []).append(int(number))
        e = ctx.entry_ref(seq, "publications", batch_id, "publications", ("publication.batch",))
        if e is None:
            continue
        paired.add(e.seq)
        p = e.payload
        diffs = [n for n, got, want in (("batch_id", batch_id, e.subject), ("authority", auth, p.get("authority")),
                                        ("year", year, p.get("year")), ("number", number, p.get("number")),
                                        ("notice_title", title, p.get("notice")),
                                        ("published_on", on.isoformat() if on else None, p.get("published_on")),
                                        ("entries", n_entries, p.get("entries")),
                                        ("ledger_head", head, p.get("ledger_head")),
                                        ("ledger_head", head, e.prev_hash)) if got != want]
        try:
            paths = json.loads(files) if isinstance(files, str) else dict(files)
        except (TypeError, ValueError):
            paths, diffs = {}, diffs + ["files"]
        bound_files = p.get("files") or {}
        if sorted(paths) != sorted(bound_files):
            diffs.append("files")
        if diffs:
            ctx.find("publications", "publications", batch_id, f"与账本第 {e.seq} 条不符: {', '.join(sorted(set(diffs)))}",
                     f"differs from ledger entry #{e.seq}: {', '.join(sorted(set(diffs)))}")
        for fmt, path in sorted(paths.items()):
            bound = bound_files.get(fmt) or {}
            fp = Path(str(path))
            if fp.name != bound.get("name"):
                ctx.find("publications", "publications", f"{batch_id}.{fmt}", "文件名与账本不符", "the file name differs "
                         "from the ledger")
            elif fp.is_file():
                if _sha256_file(fp) != bound.get("sha256"):
                    ctx.find("publications", "publications", f"{batch_id}.{fmt}",
                             f"公告文件 {fp} 与账本第 {e.seq} 条绑定的摘要不符（文件被改动）",
                             f"the file {fp} is not the one ledger entry #{e.seq} binds (it was altered)")
            elif str(path) not in pending:
                ctx.note("publications", f"{batch_id}.{fmt}", f"公告文件不在记录的位置 {fp}（已移走？）；可用 --anchor 核对其副本",
                         f"the file is not where it was written ({fp}; moved?); check a copy with --anchor")
        got_entries = store.execute("SELECT entry_no FROM publication_entries WHERE batch_id = ?", [batch_id]).fetchall()
        if len(got_entries) != p.get("entries"):
            ctx.find("publications", "publication_entries", batch_id,
                     f"该批次有 {len(got_entries)} 条，账本第 {e.seq} 条记录 {p.get('entries')} 条",
                     f"the batch has {len(got_entries)} entries; ledger entry #{e.seq} records {p.get('entries')}")
        elif "entries_sha256" in p and store.scalar(ENTRIES_DIGEST_SQL, [batch_id]) != p["entries_sha256"]:
            ctx.find("publications", "publication_entries", batch_id, f"该批次的结果条目与账本第 {e.seq} 条的摘要不符",
                     f"the batch's entries differ from the digest of ledger entry #{e.seq}")
    for (batch_id, no) in store.execute("SELECT batch_id, entry_no FROM publication_entries ORDER BY 1, 2").fetchall():
        if int(no) not in result_nos:
            ctx.find("publications", "publication_entries", f"{batch_id} / {no}", "公示的结果条目不存在",
                     "the published result entry does not exist")
    for (batch_id,) in store.execute("SELECT DISTINCT batch_id FROM publication_entries WHERE batch_id NOT IN "
                                     "(SELECT batch_id FROM publications) ORDER BY 1").fetchall():
        ctx.find("publications", "publication_entries", batch_id, "条目属于不存在的公告批次", "entries of a batch that does not exist")
    for e in ctx.of_kind("publication.batch"):
        if e.seq not in paired:
            ctx.find("publications", "publications", e.subject, f"账本第 {e.seq} 条记录的公告批次在表中不存在（行被删除）",
                     f"the batch recorded by ledger entry #{e.seq} is missing (row deleted)")
    for (auth, year), nums in sorted(numbers.items()):
        if sorted(nums) != list(range(1, len(nums) + 1)):
            ctx.find("publications", "publications", f"{auth} {year}", f"公告编号不连续: {sorted(nums)}",
                     f"notice numbers are not consecutive from 1: {sorted(nums)}")
    _audit_receipts(ctx)
    ctx.close_check("publications")


def _audit_receipts(ctx: AuditContext) -> None:
    rows = ctx.store.execute("SELECT batch_id, plugin, receipt, ledger_seq FROM publication_receipts "
                             "ORDER BY ledger_seq").fetchall()
    paired: dict[int, int] = {}
    for batch_id, plugin, receipt, seq in rows:
        key = f"{batch_id} / {plugin}"
        e = ctx.entry_ref(seq, "publication_receipts", key, "publications", ("publication.receipt",))
        if e is None:
            continue
        paired[e.seq] = paired.get(e.seq, 0) + 1
        try:
            got = json.loads(receipt) if isinstance(receipt, str) else receipt
        except (TypeError, ValueError):
            got = None
        p = e.payload
        if (batch_id, plugin, got) != (p.get("batch_id"), p.get("plugin"), p.get("receipt")) or e.subject != batch_id:
            ctx.find("publications", "publication_receipts", key, f"与账本第 {e.seq} 条不符", f"differs from ledger entry #{e.seq}")
    for seq, n in paired.items():
        if n > 1:
            ctx.find("publications", "publication_receipts", f"ledger #{seq}", f"账本第 {seq} 条对应 {n} 行",
                     f"ledger entry #{seq} has {n} rows")
    for e in ctx.of_kind("publication.receipt"):
        if e.seq not in paired:
            ctx.find("publications", "publication_receipts", f"{e.subject} / {e.payload.get('plugin')}",
                     f"账本第 {e.seq} 条记录的投递回执在表中不存在（行被删除）",
                     f"the receipt recorded by ledger entry #{e.seq} is missing (row deleted)")


def audit_followups(ctx: AuditContext) -> None:
    """Follow-up rows against the ``followup.raised`` entries that raised them."""
    rows = {}
    for k, t, u, d, detail, on in ctx.store.execute(
            "SELECT kind, task_id, uscc, department, detail, raised_on FROM followups").fetchall():
        try:
            parsed = json.loads(detail) if isinstance(detail, str) else detail
        except (TypeError, ValueError):
            parsed = detail
        rows[(k, t, u, d)] = (k, t, u, d, parsed, on)
    claimed: dict[tuple, int] = {}
    for e in ctx.of_kind("followup.raised"):
        keys = [tuple(k) for k in e.payload.get("raised", []) if isinstance(k, list) and len(k) == 4]
        for key in keys:
            if key in claimed:
                ctx.find("followups", "followups", " / ".join(key), f"账本第 {claimed[key]} 条与第 {e.seq} 条重复记录",
                         f"raised twice, by ledger entries #{claimed[key]} and #{e.seq}")
            claimed[key] = e.seq
            if key not in rows:
                ctx.find("followups", "followups", " / ".join(key), f"账本第 {e.seq} 条记录的后续处置在表中不存在（行被删除）",
                         f"the follow-up raised by ledger entry #{e.seq} is missing (row deleted)")
        if "sha256" in e.payload and all(k in rows for k in keys):
            if followup_digest([rows[k] for k in keys]) != e.payload["sha256"]:
                ctx.find("followups", "followups", f"ledger #{e.seq}", f"账本第 {e.seq} 条记录的 {len(keys)} 条后续处置内容被改动",
                         f"the {len(keys)} follow-ups raised by ledger entry #{e.seq} were altered")
    for key in sorted(rows):
        if key not in claimed:
            ctx.find("followups", "followups", " / ".join(key), "没有账本条目记录该后续处置（行是插入的，或账本条目被删除）",
                     "no ledger entry raised this follow-up (the row was inserted, or the entry that raised it deleted)")
    ctx.close_check("followups")


def audit_plans(ctx: AuditContext) -> None:
    """Plan snapshots: each body hashes to its SHA-256, which is the plan hash every draw commitment names."""
    store = ctx.store
    shas = {}
    for plan_id, sha, body in store.execute("SELECT plan_id, sha256, CAST(body AS VARCHAR) FROM plans ORDER BY 1").fetchall():
        shas[plan_id] = sha
        if hashlib.sha256(str(body).encode("utf-8")).hexdigest() != sha:
            ctx.find("plans", "plans", plan_id, "计划快照的内容与其 SHA-256 不符（快照被改动）",
                     "the plan snapshot does not hash to its SHA-256 (it was altered)")
    used = {p for (p,) in store.execute("SELECT DISTINCT plan_id FROM draws").fetchall()}
    for plan_id in sorted(set(shas) - used):
        ctx.find("plans", "plans", plan_id, "没有任何抽取使用该计划快照（快照只在抽取时保存：行是插入的）",
                 "no draw used this plan snapshot (snapshots are taken when a plan is drawn: the row was inserted)")
    for draw_id, plan_id, summary in store.execute("SELECT draw_id, plan_id, summary FROM draws ORDER BY 1").fetchall():
        try:
            com = (json.loads(summary) if isinstance(summary, str) else summary or {}).get("commitment") or {}
        except (TypeError, ValueError, AttributeError):
            continue
        want = (com.get("plan") or {}).get("sha256") if isinstance(com, dict) else None
        if want is None:
            continue
        if plan_id not in shas:
            ctx.find("plans", "plans", plan_id, f"抽取 {draw_id} 使用的计划快照不存在（被删除）",
                     f"the plan snapshot draw {draw_id} used is missing (deleted)")
        elif shas[plan_id] != want:
            ctx.find("plans", "plans", plan_id, f"计划快照的哈希与抽取 {draw_id} 承诺时的不符",
                     f"the plan snapshot's hash differs from the one draw {draw_id} committed to")
    ctx.close_check("plans")


def audit_calendars(ctx: AuditContext) -> None:
    """Imported calendars: each schedule row repeats its ``calendar.imported`` entry (the last for its year and
    region), and its listed days hash to the ``days_sha256`` that entry binds."""
    store = ctx.store
    if not store.scalar("SELECT count(*) FROM information_schema.tables WHERE table_name = 'calendar_sources'"):
        ctx.close_check("calendars")
        return
    last: dict[tuple[int, str], Any] = {}
    for e in ctx.of_kind("calendar.imported"):
        try:
            last[(int(e.payload["year"]), str(e.payload["region"]))] = e
        except (KeyError, TypeError, ValueError):
            ctx.find("calendars", "calendar_sources", f"ledger #{e.seq}", f"账本第 {e.seq} 条日历导入条目缺少年度或地区",
                     f"calendar entry #{e.seq} names no year or region")
    rows = {(int(y), r): (y, r, rn, title, number, example, fsha, dsha, seq) for
            (y, r, rn, title, number, example, fsha, dsha, seq) in store.execute(
                "SELECT year, region, region_name, title, number, example, file_sha256, days_sha256, ledger_seq "
                "FROM calendar_sources ORDER BY year, region").fetchall()}

    def label(key: tuple[int, str]) -> str:
        return f"{key[0]}/{key[1] or 'national'}"

    for key, (y, r, rn, title, number, example, fsha, dsha, seq) in rows.items():
        e = ctx.entry_ref(seq, "calendar_sources", label(key), "calendars", ("calendar.imported",))
        if e is None:
            continue
        want = last.get(key)
        if want is not None and want.seq != e.seq:
            ctx.find("calendars", "calendar_sources", label(key), f"该行指向账本第 {e.seq} 条，而该年度安排最近一次导入是第 {want.seq} 条",
                     f"the row names ledger entry #{e.seq}, but the last import of this schedule is #{want.seq}")
        p = e.payload
        for field, value in (("year", y), ("region", r), ("region_name", rn), ("title", title), ("number", number),
                             ("example", example), ("file_sha256", fsha), ("days_sha256", dsha)):
            if p.get(field) != value:
                ctx.find("calendars", "calendar_sources", label(key), f"{field} 与账本第 {e.seq} 条不符（{value!r} ≠ {p.get(field)!r}）",
                         f"{field} differs from ledger entry #{e.seq} ({value!r} ≠ {p.get(field)!r})")
        days = [(d, k, n) for d, k, n in store.execute(
            "SELECT day, kind, name FROM calendar_days WHERE region = ? AND year(day) = ?", [r, y]).fetchall()]
        if len(days) != p.get("days") or calendar_days_digest(days) != p.get("days_sha256"):
            ctx.find("calendars", "calendar_days", label(key), f"{label(key)} 的 {len(days)} 个日期与账本第 {e.seq} 条记录的"
                     f" {p.get('days')} 个不符（日期被改动、删除或插入）",
                     f"the {len(days)} listed days of {label(key)} differ from the {p.get('days')} bound by ledger entry "
                     f"#{e.seq} (days altered, deleted or inserted)")
    for key, e in sorted(last.items()):
        if key not in rows:
            ctx.find("calendars", "calendar_sources", label(key), f"账本第 {e.seq} 条导入的日历安排在表中不存在（行被删除）",
                     f"the schedule imported by ledger entry #{e.seq} is missing (row deleted)")
    for r, y, n in store.execute("SELECT region, year(day), count(*) FROM calendar_days GROUP BY ALL ORDER BY 2, 1").fetchall():
        if (int(y), r) not in rows:
            ctx.find("calendars", "calendar_days", label((int(y), r)), f"{n} 个日期没有所属的日历安排（行是插入的，或安排被删除）",
                     f"{n} listed days belong to no stored schedule (rows inserted, or the schedule deleted)")
    ctx.close_check("calendars")
