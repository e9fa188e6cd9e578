"""Publication (一公开): results due for publication, numbered notices, CSV/XLSX/JSON exports, delivery.

A result is due for publication within N working days (rule ``publication.deadline``, default 20) after
the inspection ends — its result date — on the Chinese working-day calendar. Published means exported in a
numbered publication batch: one notice "<机关><年>年度第<NNN>号抽查任务检查结果公告" per issuing authority
and plan year, numbers sequential per authority and year. A correction recorded after publication is due
again and goes out in a later batch.

What is exported: entity name and USCC, task, items and results, dates, inspecting departments, check method.
Never an entity's credit class, never inspector data (names, staff ids, certificates, identity numbers).
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

from dbsj import clock
from dbsj._csvcells import neutralise
from dbsj._failpoints import declare, failpoint
from dbsj._filenames import distinct_stems, file_stem, inside
from dbsj.errors import InputError
from dbsj.lifecycle._context import CURRENT_RESULTS, deadline_days, load_tasks
from dbsj.lifecycle.calendar import WorkdayCalendar
from dbsj.store.ledger import Ledger
from dbsj.store.outputs import StagedOutputs, sweep_temporaries
from dbsj.store.steps import begin_step, end_step, on_died
from dbsj.store.store import Store

if TYPE_CHECKING:
    from dbsj.plugins import PluginManager

__all__ = ["PublicationBatch", "PUBLICATION_HEADERS", "publish", "due_results", "publication_deadline", "notice_title"]

#: Export columns: canonical key -> Chinese header (the CSV/XLSX header row).
PUBLICATION_HEADERS: dict[str, str] = {
    "notice": "公告名称",
    "entity_name": "企业名称",
    "uscc": "统一社会信用代码",
    "inspected_on": "抽查时间",
    "departments": "抽查单位",
    "task_id": "抽查任务编号",
    "task_name": "抽查任务名称",
    "item": "检查事项",
    "result": "检查结果",
    "method": "检查方式",
    "published_on": "公示日期",
}


@attrs.frozen(slots=True)
class PublicationBatch:
    """One published notice: its number, title, entry count, files and the ledger head it carries."""

    batch_id: str
    authority: str
    year: int
    number: int
    notice_title: str
    published_on: dt.date
    entries: int
    entities: int
    ledger_head: str
    files: dict[str, str]
    receipts: dict[str, Any] = attrs.field(factory=dict)

    def to_dict(self) -> dict[str, Any]:
        d = attrs.asdict(self)
        d["published_on"] = self.published_on.isoformat()
        return d


def notice_title(authority: str, year: int, number: int) -> str:
    """``<机关><年>年度第<NNN>号抽查任务检查结果公告``."""
    return f"{authority}{year}年度第{number:03d}号抽查任务检查结果公告"


def publication_deadline(inspected_on: dt.date, calendar: WorkdayCalendar | None = None, days: int | None = None) -> dt.date:
    """The last day to publish a result whose inspection ended on ``inspected_on``."""
    return (calendar or WorkdayCalendar()).add_workdays(inspected_on, deadline_days() if days is None else days)


def due_results(store: Store, *, calendar: WorkdayCalendar | None = None) -> list[dict[str, Any]]:
    """Every standing result with its publication due date, publication date (``None`` if unpublished)
    and whether it is overdue (unpublished past its due date, or published late). Sorted by entry number."""
    cal = calendar or WorkdayCalendar(store=store)
    days = deadline_days()
    today = clock.today()
    rows = store.execute(f"""
        SELECT cr.entry_no, cr.task_id, cr.uscc, cr.item_code, cr.result_code, cr.inspected_on,
               min(p.published_on) AS published_on
        FROM ({CURRENT_RESULTS}) cr
        LEFT JOIN publication_entries pe USING (entry_no)
        LEFT JOIN publications p USING (batch_id)
        GROUP BY ALL ORDER BY cr.entry_no""").fetchall()
    dues: dict[dt.date, dt.date] = {}
    out = []
    for entry_no, task_id, uscc, item, code, on, published in rows:
        if on not in dues:
            dues[on] = cal.add_workdays(on, days)
        due = dues[on]
        late = (published is None and today > due) or (published is not None and published > due)
        out.append({"entry_no": entry_no, "task_id": task_id, "uscc": uscc, "item_code": item, "result_code": code,
                    "inspected_on": on, "due": due, "published_on": published,
                    "overdue": published is None and today > due, "late": late})
    return out


def _xlsx_bytes(header: list[str], rows: list[list[str]], when: dt.datetime, title: str) -> bytes:
    """An XLSX file whose bytes depend only on its content: xlsxwriter writes fixed zip timestamps, and the
    document dates are set to the publication day. Every cell is written as a string: a value that begins
    with ``=`` is text, never a formula."""
    import xlsxwriter

    raw = io.BytesIO()
    wb = xlsxwriter.Workbook(raw, {"in_memory": True, "strings_to_numbers": False, "strings_to_formulas": False,
                                   "strings_to_urls": False})
    naive = when.replace(tzinfo=None)
    wb.set_properties({"title": title, "author": "dbsj", "created": naive})
    ws = wb.add_worksheet("检查结果")
    bold = wb.add_format({"bold": True})
    for c, h in enumerate(header):
        ws.write_string(0, c, h, bold)
    for r, row in enumerate(rows, start=1):
        for c, value in enumerate(row):
            ws.write_string(r, c, "" if value is None else str(value))
    for i, h in enumerate(header):
        sample = [str(row[i]) for row in rows[:200]]
        width = max([len(h) * 2] + [sum(2 if ord(ch) > 255 else 1 for ch in v) for v in sample])
        ws.set_column(i, i, min(60, width + 2))
    ws.freeze_panes(1, 0)
    wb.close()
    return raw.getvalue()


def _csv_bytes(header: list[str], rows: list[list[str]]) -> bytes:
    """UTF-8 with BOM (for Excel); formula-leading cells neutralised (``dbsj._csvcells``)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow([neutralise(h) for h in header])
    writer.writerows([neutralise(c) for c in row] for row in rows)
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def _json_doc(header: dict[str, Any], entries: list[dict[str, Any]]) -> str:
    """The batch as JSON with one entity per line: readable, diffable, and written by the C encoder."""
    def dump(v: Any) -> str:
        return json.dumps(v, ensure_ascii=False, sort_keys=True, separators=(", ", ": "))

    head = dump(header)[:-1]
    body = ",\n".join(dump(e) for e in entries)
    return f"{head}, \"entries\": [\n{body}\n]}}\n"


#: SQL of a batch's ``entries_sha256`` (on its ledger entry): the entries it published with their due dates.
ENTRIES_DIGEST_SQL = ("SELECT sha256(coalesce(string_agg(CAST(entry_no AS VARCHAR) || ':' || CAST(due AS VARCHAR), ',' "
                      "ORDER BY entry_no), '')) FROM publication_entries WHERE batch_id = ?")

#: Crash points of a publication (one transaction, files renamed after it, then delivery).
declare("publish.after-files", "publication: a batch's files written under temporary names; its ledger entry and "
                               "rows not yet (same transaction)")
declare("publish.after-ledger", "publication: a batch's ledger entry appended; its rows not yet (same transaction)")
declare("publish.after-rows", "publication: a batch's publications and publication_entries rows inserted")
declare("publish.before-commit", "publication: every batch written and journalled, task states synced; not committed")
declare("publish.after-commit", "publication: committed; files still under temporary names (rolled forward on open)")
declare("publish.after-rename", "publication: files in place; plug-in delivery not yet begun")
declare("publish.deliver.after-receipt", "publication delivery: one plug-in's receipt recorded, the others not yet")


def _out_folder(out: Path) -> None:
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"无法创建输出目录 {out}: {exc.strerror or exc}", f"cannot create the output folder {out}: "
                         f"{exc.strerror or exc}", where=str(out), hint_zh="检查路径与权限", hint_en="check the path and permissions") from None
    if not out.is_dir():
        raise InputError(f"输出路径 {out} 不是目录", f"output path {out} is not a folder", where=str(out))


def _stems(store: Store, keys: list[tuple[str, int]]) -> dict[str, str]:
    """authority → file stem, refused before anything is written when unsafe, too long or colliding —
    within this publication or with an authority published before."""
    now = sorted({a for a, _y in keys})
    stems = distinct_stems(now, what="公告机关 authority")
    for (earlier,) in store.execute("SELECT DISTINCT authority FROM publications ORDER BY 1").fetchall():
        if earlier in stems:
            continue
        try:
            distinct_stems([earlier, *now], what="公告机关 authority")
        except InputError:
            # Only a collision with an authority published before matters; an earlier name this version would
            # refuse (published by an older dbsj) must not block every later publication.
            try:
                file_stem(earlier, what="公告机关 authority")
            except InputError:
                continue
            raise
    return {a: stems[a] for a, _y in keys}


def publish(store: Store, out_dir: str | Path, *, authority: str | None = None, task_ids: list[str] | None = None,
            plugins: "PluginManager | None" = None) -> list[PublicationBatch]:
    """Export every result due for publication (standing, not yet published) as numbered batches.

    One batch per issuing authority (``authority``, else the plan's) and plan year; each writes
    ``<year>-<NNN>-<authority>.{csv,xlsx,json}`` into ``out_dir``, records the batch and the ledger head,
    and hands the files to every ``dbsj_publish`` plug-in (receipts go on the ledger; a failing delivery is
    recorded as such and does not undo the publication). Returns the batches (empty when nothing is due).

    All batches are one step: their files are written under temporary names, their ledger entries and rows
    commit in one transaction, and only then are the files renamed into place (a crash after the commit is
    rolled forward when the store is next opened). A publication that dies before its commit leaves nothing:
    no rows, no ledger entry, no final file — its notice numbers were never taken and the next publication
    uses them. Delivery runs after the commit as a step of its own (``publish.deliver``); if it dies, opening
    the store records ``publish.deliver.died`` and an undelivered receipt for every plug-in that gave none.

    :raises InputError: an authority that cannot name a file (unsafe characters, too long, colliding with
        another authority's), an output folder that cannot be created, a file that already exists.
    """
    from dbsj.lifecycle.states import sync_task_states

    if plugins is None:
        from dbsj.plugins import get_plugin_manager

        plugins = get_plugin_manager()
    out = Path(out_dir)
    tasks = load_tasks(store)
    where = ""
    params: list[Any] = []
    if task_ids:
        where = "AND cr.task_id IN (SELECT unnest(?::VARCHAR[]))"
        params.append(list(task_ids))
    rows = store.execute(f"""
        WITH due AS MATERIALIZED (
            SELECT cr.* FROM ({CURRENT_RESULTS}) cr
            WHERE cr.entry_no NOT IN (SELECT entry_no FROM publication_entries) {where}),
        depts AS (
            SELECT a.task_id, a.uscc, list(DISTINCT a.department ORDER BY a.department) AS departments
            FROM assignments a JOIN (SELECT DISTINCT task_id, uscc FROM due) d USING (task_id, uscc)
            GROUP BY 1, 2)
        SELECT due.entry_no, due.plan_id, due.task_id, due.uscc, coalesce(t.name, due.uscc) AS entity_name,
               due.item_code, coalesce(i.name, '') AS item_name, due.result_code, due.method, due.inspected_on,
               depts.departments
        FROM due
        LEFT JOIN depts USING (task_id, uscc)
        LEFT JOIN targets t ON t.uscc = due.uscc
        LEFT JOIN items i ON i.code = due.item_code
        ORDER BY due.uscc, due.task_id, due.item_code, due.entry_no""", params or None).fetchall()
    if not rows:
        return []
    missing = sorted({r[2] for r in rows} - set(tasks))
    if missing:
        raise InputError(f"任务 {'、'.join(missing)} 没有计划快照，无法确定发布机关",
                         f"task(s) {', '.join(missing)} have no plan snapshot; the issuing authority is unknown")
    groups: dict[tuple[str, int], list[tuple]] = {}
    for r in rows:
        info = tasks[r[2]]
        groups.setdefault((authority or info.plan.authority, info.plan.year), []).append(r)
    stems = _stems(store, list(groups))
    cal = WorkdayCalendar(plugins, store)
    days = deadline_days()
    today = clock.today()
    when = dt.datetime(today.year, today.month, today.day, 9, 0, tzinfo=clock.BEIJING)
    _out_folder(out)
    if not store.scalar("SELECT count(*) FROM pending_outputs"):
        sweep_temporaries(out)  # leftovers of a publication that died before its commit
    deliverers = _deliverers(plugins)
    staged = StagedOutputs(store, "publish")
    batches: list[PublicationBatch] = []
    try:
        with store.transaction():
            ledger = Ledger(store)
            for (auth, year), grp in sorted(groups.items()):
                number = int(store.scalar("SELECT coalesce(max(number), 0) FROM publications WHERE authority = ? "
                                          "AND year = ?", [auth, year])) + 1
                title = notice_title(auth, year, number)
                stem = f"{year}-{number:03d}-{stems[auth]}"
                batch_id = stem
                files = {fmt: str(out / f"{stem}.{fmt}") for fmt in ("csv", "xlsx", "json")}
                # Staged (and journalled) by absolute path: a roll-forward may run from another folder.
                where_to = {fmt: inside(out, p) for fmt, p in files.items()}
                taken = store.scalar("SELECT authority FROM publications WHERE lower(batch_id) = lower(?)", [batch_id])
                if taken is not None or any(Path(p).exists() for p in files.values()):
                    raise InputError(f"输出目录中已有公告文件 {stem}.*，或编号 {batch_id} 已被公告机关 {taken} 使用，不覆盖",
                                     f"{stem}.* already exists in {out}, or batch id {batch_id} is taken "
                                     f"(authority {taken}); not overwritten", where=str(out),
                                     hint_zh="换一个输出目录", hint_en="choose another output directory")
                head = ledger.head()
                table, entities = _table(tasks, grp, title, today)
                header = list(PUBLICATION_HEADERS.values())
                with staged.open(where_to["csv"], "wb") as fh:
                    fh.write(_csv_bytes(header, table))
                with staged.open(where_to["xlsx"], "wb") as fh:
                    fh.write(_xlsx_bytes(header, table, when, title))
                doc = {"notice": title, "authority": auth, "year": year, "number": number,
                       "published_on": today.isoformat(), "ledger_head": head, "deadline_workdays": days}
                with staged.open(where_to["json"], "w", encoding="utf-8") as fh:
                    fh.write(_json_doc(doc, [entities[k] for k in sorted(entities)]))
                failpoint("publish.after-files")
                digests = {fmt: _sha256(staged.temp_path(p)) for fmt, p in where_to.items()}
                dues = {on: cal.add_workdays(on, days) for on in sorted({r[9] for r in grp})}
                entry_nos, due_list = [r[0] for r in grp], [dues[r[9]] for r in grp]
                entries_sha = _entries_digest(entry_nos, due_list)
                entry = ledger.append("publication.batch", batch_id, {
                    "notice": title, "authority": auth, "year": year, "number": number,
                    "published_on": today.isoformat(), "entries": len(grp), "entities": len(entities),
                    "ledger_head": head, "entries_sha256": entries_sha,
                    "files": {fmt: {"name": Path(p).name, "sha256": digests[fmt]} for fmt, p in sorted(files.items())}})
                failpoint("publish.after-ledger")
                store.execute("INSERT INTO publications VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                              [batch_id, auth, year, number, title, today, len(grp), head,
                               json.dumps(files, ensure_ascii=False), entry.seq])
                store.execute("INSERT INTO publication_entries SELECT ?, unnest(?::BIGINT[]), unnest(?::DATE[])",
                              [batch_id, entry_nos, due_list])
                failpoint("publish.after-rows")
                batches.append(PublicationBatch(batch_id, auth, year, number, title, today, len(grp), len(entities),
                                                head, files))
            sync_task_states(store, sorted({r[2] for r in rows}))
            step = None
            if deliverers:
                step = begin_step(store, "publish.deliver", ",".join(b.batch_id for b in batches),
                                  {"batches": [b.batch_id for b in batches], "plugins": deliverers})
            staged.journal()
            failpoint("publish.before-commit")
    except BaseException:
        staged.discard()
        raise
    failpoint("publish.after-commit")
    staged.publish()
    failpoint("publish.after-rename")
    if step is None:
        return batches
    out_batches = []
    for i, b in enumerate(batches):
        header_info = {"batch_id": b.batch_id, "notice_no": b.number, "notice": b.notice_title, "authority": b.authority,
                       "year": b.year, "entries": b.entries, "ledger_head": b.ledger_head}
        receipts = _deliver(store, plugins, deliverers, b.batch_id, header_info, b.files,
                            end_step_id=step if i == len(batches) - 1 else None)
        out_batches.append(attrs.evolve(b, receipts=receipts))
    return out_batches


def _entries_digest(entry_nos: list[int], dues: list[dt.date]) -> str:
    """Python twin of :data:`ENTRIES_DIGEST_SQL`."""
    text = ",".join(f"{n}:{d.isoformat()}" for n, d in sorted(zip(entry_nos, dues, strict=True)))
    return hashlib.sha256(text.encode("ascii")).hexdigest()


def _table(tasks: Mapping[str, Any], grp: list[tuple], title: str, today: dt.date
           ) -> tuple[list[list[str]], dict[tuple[str, str], dict[str, Any]]]:
    table: list[list[str]] = []
    entities: dict[tuple[str, str], dict[str, Any]] = {}
    for _entry_no, _plan, task_id, uscc, ename, item, iname, code, method, on, depts in grp:
        task = tasks[task_id].task
        departments = list(depts) if depts else list(task.departments)
        item_label = f"{item}.{iname}" if iname else item
        table.append([title, ename, uscc, on.isoformat(), "、".join(departments), task_id, task.name, item_label,
                      code, method, today.isoformat()])
        ent = entities.setdefault((uscc, task_id), {
            "entity": {"name": ename, "uscc": uscc}, "task": {"id": task_id, "name": task.name},
            "inspected_on": on.isoformat(), "departments": departments, "method": method, "items": []})
        ent["items"].append({"code": item, "name": iname, "result": code})
        ent["inspected_on"] = max(ent["inspected_on"], on.isoformat())
    return table, entities


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def _deliverers(plugins: "PluginManager") -> list[str]:
    """Names of the plug-ins that implement ``dbsj_publish``."""
    out = []
    for name in plugins.names():
        impl = getattr(plugins.pm.get_plugin(name), "dbsj_publish", None)
        if impl is not None and callable(impl) and hasattr(impl, "dbsj_impl"):
            out.append(name)
    return out


def _record_receipt(store: Store, batch_id: str, plugin: str, receipt: Mapping[str, Any]) -> None:
    entry = Ledger(store).append("publication.receipt", batch_id, {"batch_id": batch_id, "plugin": plugin,
                                                                  "receipt": dict(receipt)})
    store.execute("INSERT INTO publication_receipts VALUES (?, ?, ?, ?)",
                  [batch_id, plugin, json.dumps(receipt, ensure_ascii=False), entry.seq])


def _deliver(store: Store, plugins: "PluginManager", names: list[str], batch_id: str, header: Mapping[str, Any],
             files: Mapping[str, str], *, end_step_id: int | None) -> dict[str, Any]:
    """Hand one batch to every deliverer; each receipt is its own transaction (the last one ends the step)."""
    receipts: dict[str, Any] = {}
    for k, name in enumerate(names):
        impl = getattr(plugins.pm.get_plugin(name), "dbsj_publish")
        try:
            receipt = impl(batch=dict(header), files=dict(files))
        except Exception as exc:  # a failed delivery is a fact to record, not a reason to lose the batch
            receipt = {"delivered": False, "error": f"{type(exc).__name__}: {exc}"}
        last = k == len(names) - 1
        with store.transaction():
            if receipt is not None:
                receipt = json.loads(json.dumps(dict(receipt), ensure_ascii=False, default=str))
                _record_receipt(store, batch_id, name, receipt)
                receipts[name] = receipt
            if last and end_step_id is not None:
                end_step(store, end_step_id)
        if receipt is not None:
            failpoint("publish.deliver.after-receipt")
    return receipts


def _delivery_died(store: Store, subject: str, detail: dict[str, Any]) -> None:
    """A delivery that died: every plug-in that gave no receipt for a batch gets an undelivered one."""
    have = {(b, p) for b, p in store.execute("SELECT batch_id, plugin FROM publication_receipts").fetchall()}
    for batch_id in detail.get("batches", []):
        for plugin in detail.get("plugins", []):
            if (batch_id, plugin) not in have:
                _record_receipt(store, batch_id, plugin, {
                    "delivered": False, "error": "the process ended before this delivery finished",
                    "error_zh": "投递完成前进程已终止"})


on_died("publish.deliver", _delivery_died)
