"""Recording inspection results: "谁检查、谁录入" — only an inspector assigned to that target in that task,
and only for the items of that inspector's department.

Each item of a result must be one of the task's items, and the department that checks it in the task must be
the recording inspector's: the item list names the item's department (as the draw's assignment read it, when
the draw kept an assignment snapshot), and an item of a department that is not on the task is checked by the
task's sponsor — the rule the assignment staffed the team by. The inspector's department is the one the
assignment seated them for. A joint visit is therefore recorded by each department for its own items.

Every check runs before anything is written; a batch (bulk import) is all or nothing. A result for an
item already recorded is a duplicate unless it is a correction, which is a new entry naming the one it
supersedes: nothing is overwritten. Recorded results add to the ``history`` pool (anti-repeat and
"last inspector" recusal read it).

One recording (``dbsj result record``) or one bulk import is one store transaction: the result rows, the
history rows they add, the ledger entry (with the digest of the rows and the history pool's new contents)
and the task-state transitions commit together or not at all — a crash at any point (failpoints
``result.record.*`` / ``result.import.*``) leaves either nothing or everything.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import attrs
import pyarrow as pa
from pydantic import ValidationError

from dbsj import clock
from dbsj._failpoints import declare, failpoint
from dbsj._validation import model_error, validate_raw
from dbsj.errors import IntakeError, MissingColumnError, ModelError, ResultError
from dbsj.lifecycle._context import CURRENT_RESULTS, current_draws, deadline_days, load_tasks
from dbsj.lifecycle.calendar import WorkdayCalendar
from dbsj.models.plans import Task
from dbsj.models.results import Result
from dbsj.models.vocab import CheckMethod, Disposition, ResultCode
from dbsj.store.bindings import PoolBinding
from dbsj.store.ledger import Ledger
from dbsj.store.store import Store

__all__ = ["RecordedResult", "record_result", "record_results", "import_results", "RESULT_COLUMNS"]

#: Crash points of one result transaction (``result.record``: one visit; ``result.import``: a batch).
for _step, _what in (("result.record", "recording one visit"), ("result.import", "a bulk result import")):
    declare(f"{_step}.after-rows", f"{_what}: result rows inserted, nothing else yet (same transaction)")
    declare(f"{_step}.after-history", f"{_what}: history rows written, no ledger entry yet (same transaction)")
    declare(f"{_step}.after-ledger", f"{_what}: ledger entry appended, task states not yet synced (same transaction)")
    declare(f"{_step}.before-commit", f"{_what}: everything written, transaction not yet committed")
    declare(f"{_step}.after-commit", f"{_what}: committed, the caller not yet told")


@attrs.frozen(slots=True)
class RecordedResult:
    """What one recorded visit wrote: its entry numbers (one per item) and the publication due date."""

    task_id: str
    uscc: str
    entry_nos: tuple[int, ...]
    due: dt.date
    corrected: tuple[int, ...] = ()


def _parse_enum(enum: Any, value: str, what_zh: str, what_en: str, where: str | None = None) -> Any:
    text = str(value).strip()
    for member in enum:
        if text in (member.value, member.name, member.name.lower()):
            return member
    choices = "、".join(m.value for m in enum)
    raise ResultError(f"未知的{what_zh} {text!r}", f"unknown {what_en} {text!r}", where=where,
                      hint_zh=f"可选: {choices}", hint_en=f"choose one of: {', '.join(m.value for m in enum)}")


def parse_result_code(value: str, where: str | None = None) -> ResultCode:
    """A result code from its Chinese text or English name (``NO_PROBLEM``)."""
    return _parse_enum(ResultCode, value, "检查结果代码", "result code", where)


def parse_method(value: str, where: str | None = None) -> CheckMethod:
    return _parse_enum(CheckMethod, value, "检查方式", "check method", where)


def parse_disposition(value: str, where: str | None = None) -> Disposition:
    return _parse_enum(Disposition, value, "处置方式", "disposition", where)


def item_owners(store: Store, run_id: str | None) -> dict[str, str]:
    """item code -> the department the item list names for it, as a draw run's assignment read it: from the
    run's assignment snapshot when it kept one, else from the items pool."""
    rows = [] if run_id is None else store.execute(
        "SELECT code, department FROM assignment_input_items WHERE run_id = ?", [run_id]).fetchall()
    return dict(rows or store.execute("SELECT code, department FROM items").fetchall())


def checking_department(task: Task, owner: str) -> str:
    """The department that checks, and so records, an item of department ``owner`` in ``task``: its own when it
    is on the task, else the task's sponsor — the rule the assignment staffs a visit's team by."""
    return owner if owner in task.departments else task.sponsor


#: Ledger kinds that show a draw was never revealed (a draw row naming one cannot stand).
_NOT_REVEALED = frozenset({"draw.commit", "draw.failed", "draw.refused", "draw.reveal-rejected"})


class _Checker:
    """Validates results against the store; caches what it reads per task."""

    def __init__(self, store: Store, *, bulk: bool) -> None:
        self.store = store
        self.bulk = bulk
        self.tasks = load_tasks(store)
        self.draws = current_draws(store)
        self.calendar = WorkdayCalendar(store=store)
        self.days = deadline_days()
        self.today = clock.today()
        self._teams: dict[str, dict[str, list[str]]] = {}
        #: (task, target, staff id) -> the department the assignment seated that inspector for
        self._seat: dict[tuple[str, str, str], str] = {}
        #: draw run id (None: the items pool) -> item code -> department
        self._item_owner: dict[str | None, dict[str, str]] = {}
        self._run_of: dict[str, str | None] = {}
        self._selected: dict[str, set[str]] = {}
        self._standing: set[str] = set()
        self.current: dict[tuple[str, str, str], tuple] = {}
        self._loaded: set[tuple[str, str | None]] = set()

    def preload(self, task_ids: Iterable[str]) -> None:
        """Bulk mode: read every given task's selections, teams and standing results in three queries."""
        wanted = sorted({t for t in task_ids if t in self.draws and (t, None) not in self._loaded})
        if not wanted:
            return
        draw_ids = [self.draws[t][0] for t in wanted]
        for t, u in self.store.execute("SELECT task_id, uscc FROM selections WHERE draw_id IN (SELECT unnest(?::VARCHAR[])) "
                                       "AND task_id IN (SELECT unnest(?::VARCHAR[]))", [draw_ids, wanted]).fetchall():
            self._selected.setdefault(t, set()).add(u)
        for t, u, staff, dept in self.store.execute(
                "SELECT task_id, uscc, staff_id, department FROM assignments WHERE draw_id IN (SELECT unnest(?::VARCHAR[])) "
                "AND task_id IN (SELECT unnest(?::VARCHAR[])) ORDER BY task_id, uscc, staff_id", [draw_ids, wanted]).fetchall():
            self._teams.setdefault(t, {}).setdefault(u, []).append(staff)
            self._seat[(t, u, staff)] = dept
        rows = self.store.execute("""
            SELECT task_id, uscc, item_code, entry_no, result_code, method, disposition, inspected_on FROM results
            WHERE task_id IN (SELECT unnest(?::VARCHAR[]))
            QUALIFY row_number() OVER (PARTITION BY task_id, uscc, item_code ORDER BY entry_no DESC) = 1""",
                                  [wanted]).fetchall()
        self.current.update({(t, u, i): (e, rc, m, d, on) for t, u, i, e, rc, m, d, on in rows})
        for t in wanted:
            self._selected.setdefault(t, set())
            self._teams.setdefault(t, {})
            self._loaded.add((t, None))

    def _load(self, task_id: str, uscc: str) -> None:
        """Read what the checks need: the whole task in bulk mode, else just this target."""
        scope = (task_id, None if self.bulk else uscc)
        if scope in self._loaded:
            return
        self._loaded.add(scope)
        draw_id = self.draws[task_id][0]
        only = "" if self.bulk else " AND uscc = ?"
        params = [draw_id, task_id] + ([] if self.bulk else [uscc])
        sel = self.store.execute(f"SELECT uscc FROM selections WHERE draw_id = ? AND task_id = ?{only}", params).fetchall()
        self._selected.setdefault(task_id, set()).update(u for (u,) in sel)
        teams = self._teams.setdefault(task_id, {})
        for u, staff, dept in self.store.execute(
                f"SELECT uscc, staff_id, department FROM assignments WHERE draw_id = ? AND task_id = ?{only} "
                "ORDER BY uscc, staff_id", params).fetchall():
            teams.setdefault(u, []).append(staff)
            self._seat[(task_id, u, staff)] = dept
        rows = self.store.execute(f"""
            SELECT task_id, uscc, item_code, entry_no, result_code, method, disposition, inspected_on FROM results
            WHERE task_id = ?{only}
            QUALIFY row_number() OVER (PARTITION BY task_id, uscc, item_code ORDER BY entry_no DESC) = 1""",
                                  params[1:]).fetchall()
        self.current.update({(t, u, i): (e, rc, m, d, on) for t, u, i, e, rc, m, d, on in rows})

    def _check_standing(self, task_id: str, where: str) -> None:
        """The task's selection must be the one its reveal put on the ledger: a draw whose stored selection
        has more or fewer rows than its ``draw.reveal`` entry selected (rows added or removed outside dbsj,
        or a reveal applied twice) stands on nothing, and no result may refer to it."""
        if task_id in self._standing:
            return
        draw_id = self.draws[task_id][0]
        seq = self.store.scalar("SELECT ledger_seq FROM draws WHERE draw_id = ?", [draw_id])
        entry = Ledger(self.store).entry(int(seq)) if seq is not None else None
        if entry is not None and (entry.kind in _NOT_REVEALED or entry.kind.endswith(".died")):
            # The draw's own ledger entry says it was committed, refused or failed — never revealed.
            raise ResultError(
                f"任务 {task_id} 的抽取 {draw_id} 标为已抽取，但账本第 {entry.seq} 条记录它为 {entry.kind}：不能录入",
                f"draw {draw_id} of task {task_id} is marked drawn, but ledger entry #{entry.seq} records it as "
                f"{entry.kind}: no result can refer to it", where=where,
                hint_zh="运行 dbsj audit 查明差异，必要时从备份恢复",
                hint_en="run dbsj audit to find the difference; restore from a backup if needed")
        if entry is not None and entry.kind == "draw.reveal" and entry.subject == draw_id \
                and isinstance(entry.payload.get("selected"), int):
            stored = int(self.store.scalar("SELECT count(*) FROM selections WHERE draw_id = ?", [draw_id]))
            if stored != entry.payload["selected"]:
                raise ResultError(
                    f"任务 {task_id} 的抽取 {draw_id} 在存储中有 {stored} 个抽中对象，而账本第 {entry.seq} 条揭示记录为 "
                    f"{entry.payload['selected']} 个：抽取结果不可信，不能录入",
                    f"draw {draw_id} of task {task_id} holds {stored} selected targets but its reveal (ledger "
                    f"#{entry.seq}) selected {entry.payload['selected']}: the selection cannot be trusted",
                    where=where, hint_zh="运行 dbsj audit 查明差异，必要时从备份恢复",
                    hint_en="run dbsj audit to find the difference; restore from a backup if needed")
        self._standing.add(task_id)

    def item_departments(self, task_id: str) -> dict[str, str]:
        """item code -> its department, as the assignment of the task's current draw read it (:func:`item_owners`)."""
        if task_id not in self._run_of:
            self._run_of[task_id] = self.store.scalar("SELECT run_id FROM draws WHERE draw_id = ?",
                                                      [self.draws[task_id][0]])
        run_id = self._run_of[task_id]
        if run_id not in self._item_owner:
            self._item_owner[run_id] = item_owners(self.store, run_id)
        return self._item_owner[run_id]

    def _check_items(self, r: Result, task: Task, uscc: str, team: list[str], w: str, rows: dict[str, str]) -> None:
        """Every item is the task's, and is checked in the task by the recording inspector's department."""
        unknown = [i for i in sorted(r.items) if i not in task.items]
        if unknown:
            raise ResultError(f"检查事项 {'、'.join(unknown)} 不属于任务 {r.task_id}",
                              f"item(s) {', '.join(unknown)} are not part of task {r.task_id}",
                              where=rows.get(unknown[0], w), item_code=unknown[0], task_id=r.task_id,
                              hint_zh=f"该任务的事项: {'、'.join(task.items)}",
                              hint_en=f"the task's items: {', '.join(task.items)}")
        owners = self.item_departments(r.task_id)
        mine = self._seat.get((r.task_id, uscc, r.staff_id))
        for item in sorted(r.items):
            owner = owners.get(item)
            where = rows.get(item, w)
            if owner is None:
                raise ResultError(
                    f"检查事项 {item} 不在抽查事项清单中，无法核对其所属部门，不能录入（谁检查、谁录入）",
                    f"item {item} is not on the inspection item list: its department is unknown, so no inspector "
                    "can be checked against it", where=where, item_code=item, staff_id=r.staff_id,
                    hint_zh="先导入事项清单（dbsj pool import items …）", hint_en="import the item list first "
                    "(dbsj pool import items …)")
            checker = checking_department(task, owner)
            if mine == checker:
                continue
            by = "" if checker == owner else f"，本任务中由发起部门 {checker} 检查"
            by_en = "" if checker == owner else f" (in this task it is checked by the sponsor, {checker})"
            peers = [s for s in team if self._seat.get((r.task_id, uscc, s)) == checker]
            raise ResultError(
                f"检查事项 {item} 属于 {owner}{by}，执法人员 {r.staff_id}（{mine}）不能录入（谁检查、谁录入）",
                f"item {item} belongs to {owner}{by_en}; inspector {r.staff_id} ({mine}) cannot record it: "
                "each department records its own items", where=where, item_code=item, item_department=owner,
                checking_department=checker, staff_id=r.staff_id, staff_department=mine,
                hint_zh=(f"由检查组中{checker}的人员录入: {'、'.join(peers)}" if peers else
                         f"该对象的检查组中没有{checker}的人员：核对事项编码或检查组"),
                hint_en=(f"to be recorded by the team's {checker} inspector(s): {', '.join(peers)}" if peers else
                         f"the target's team has no {checker} inspector: check the item code or the team"))

    def check(self, r: Result, *, correction: bool, where: str | None, seen: dict,
              rows: dict[str, str] | None = None) -> dict[str, Any]:
        """Check one visit's result; ``rows`` names the file row of each item (bulk import)."""
        w = where or f"task {r.task_id} / {r.uscc}"
        rows = rows or {}
        if r.task_id not in self.draws:
            known = r.task_id in self.tasks
            raise ResultError(
                f"任务 {r.task_id} " + ("尚未抽取检查对象" if known else "不存在于本存储"),
                f"task {r.task_id} " + ("has no draw yet" if known else "is not in this store"), where=w,
                hint_zh="先运行 dbsj draw" if known else "检查任务编号", hint_en="run dbsj draw first" if known else "check the task id")
        uscc = r.uscc.strip().upper()
        self._check_standing(r.task_id, w)
        self._load(r.task_id, uscc)
        if uscc not in self._selected[r.task_id]:
            raise ResultError(f"检查对象 {uscc} 未在任务 {r.task_id} 中被抽中，不能录入结果",
                              f"target {uscc} was not drawn in task {r.task_id}; no result can be recorded", where=w,
                              hint_zh="核对统一社会信用代码和任务编号", hint_en="check the USCC and the task id")
        team = self._teams[r.task_id].get(uscc, [])
        if r.staff_id not in team:
            raise ResultError(
                f"执法人员 {r.staff_id} 未被分配检查任务 {r.task_id} 的对象 {uscc}，不能录入（谁检查、谁录入）",
                f"inspector {r.staff_id} is not assigned to target {uscc} in task {r.task_id}; only an assigned "
                f"inspector may record its result", where=w,
                hint_zh=f"该对象的检查人员: {'、'.join(team) or '无'}", hint_en=f"assigned inspectors: {', '.join(team) or 'none'}")
        info = self.tasks.get(r.task_id)
        if info is None:
            raise ResultError(f"任务 {r.task_id} 的计划快照不在本存储中，无法核对结果的事项",
                              f"the plan snapshot of task {r.task_id} is not in this store; the result's items "
                              "cannot be checked", where=w, hint_zh="运行 dbsj audit 查明差异，必要时从备份恢复",
                              hint_en="run dbsj audit to find the difference; restore from a backup if needed")
        self._check_items(r, info.task, uscc, team, w, rows)
        drawn_on = self.draws[r.task_id][2]
        if r.inspected_on < drawn_on:
            raise ResultError(f"检查日期 {r.inspected_on} 早于抽取日期 {drawn_on}",
                              f"inspection date {r.inspected_on} is before the draw ({drawn_on})", where=w)
        if r.inspected_on > self.today:
            raise ResultError(f"检查日期 {r.inspected_on} 晚于今天 {self.today}",
                              f"inspection date {r.inspected_on} is in the future (today is {self.today})", where=w,
                              hint_zh="检查结束后再录入", hint_en="record it once the inspection has ended")
        due = self.calendar.add_workdays(r.inspected_on, self.days)  # CalendarError for a year with no data
        supersedes: dict[str, int] = {}
        for item in sorted(r.items):
            key = (r.task_id, uscc, item)
            if key in seen:
                raise ResultError(f"同一批次中重复录入: 任务 {r.task_id} 对象 {uscc} 事项 {item}",
                                  f"entered twice in one batch: task {r.task_id}, target {uscc}, item {item}",
                                  where=rows.get(item, w), hint_zh=f"另见 {seen[key]}", hint_en=f"see also {seen[key]}")
            seen[key] = rows.get(item, w)
            prior = self.current.get(key)
            new = (r.items[item].value, r.method.value, r.disposition.value, r.inspected_on)
            if prior is None and correction:
                raise ResultError(f"没有可更正的结果: 任务 {r.task_id} 对象 {uscc} 事项 {item}",
                                  f"nothing to correct: no result for task {r.task_id}, target {uscc}, item {item}",
                                  where=w, hint_zh="首次录入不要加 --correct", hint_en="record it without --correct")
            if prior is not None and not correction:
                raise ResultError(f"重复录入: 任务 {r.task_id} 对象 {uscc} 事项 {item} 已有结果（第 {prior[0]} 号）",
                                  f"duplicate entry: task {r.task_id}, target {uscc}, item {item} already has result "
                                  f"entry {prior[0]}", where=w,
                                  hint_zh="如需更正，使用 --correct（更正为新条目，原记录保留）",
                                  hint_en="to correct it, use --correct (a new entry; the original stays)")
            if prior is not None and tuple(prior[1:]) == new:
                raise ResultError(f"更正与现有结果相同: 任务 {r.task_id} 对象 {uscc} 事项 {item}",
                                  f"the correction repeats the standing result: task {r.task_id}, target {uscc}, item {item}",
                                  where=w)
            if prior is not None:
                supersedes[item] = prior[0]
        return {"result": r, "uscc": uscc, "due": due, "team": team, "supersedes": supersedes,
                "plan_id": self.draws[r.task_id][1]}


#: The text of one result entry hashed into a batch's ledger digest ``sha256`` (SQL over ``results``): fields
#: joined by U+001F, rows by U+001E, in entry order; ``recorded_at`` and ``ledger_seq`` left out.
_ENTRY_TEXT = ("concat_ws(chr(31), entry_no, plan_id, task_id, uscc, staff_id, item_code, result_code, method, "
               "disposition, inspected_on, coalesce(supersedes::VARCHAR, ''), record_no, coalesce(note, ''))")

#: SQL of the batch digest ``sha256`` over ``results`` rows ``entry_no BETWEEN ? AND ?``.
ENTRY_DIGEST_SQL = (f"SELECT sha256(string_agg({_ENTRY_TEXT}, chr(30) ORDER BY entry_no)) FROM results "
                    "WHERE entry_no BETWEEN ? AND ?")

#: One result row as an unambiguous JSON array (a note may hold any character), ``recorded_at`` as epoch ms.
ROW_JSON_SQL = ("CAST(json_array(entry_no, plan_id, task_id, uscc, staff_id, item_code, result_code, method, "
                "disposition, CAST(inspected_on AS VARCHAR), supersedes, record_no, note, epoch_ms(recorded_at)) AS VARCHAR)")

#: ``row_chunks`` of a result ledger entry: its entries cut into chunks of ``size`` from the first entry; a
#: chunk's digest is the SHA-256 of its rows' SHA-256 hex digests (of :data:`ROW_JSON_SQL`) in entry order.
#: Parameters: first entry, size, first entry, last entry. A mismatch names the chunk's entries.
ROW_CHUNKS_SQL = (f"SELECT (entry_no - ?) // ? AS chunk, sha256(string_agg(sha256({ROW_JSON_SQL}), '' ORDER BY entry_no)) "
                  "FROM results WHERE entry_no BETWEEN ? AND ? GROUP BY chunk ORDER BY chunk")


def chunk_size(entries: int) -> int:
    """Entries per chunk: at least 64, and at most 1024 chunks to an entry."""
    return max(64, -(-entries // 1024))


def row_chunks(store: Store, first: int, last: int) -> dict[str, Any]:
    """The ``row_chunks`` value of a ledger entry covering results ``first``..``last``."""
    size = chunk_size(last - first + 1)
    got = dict(store.execute(ROW_CHUNKS_SQL, [first, size, first, last]).fetchall())
    return {"size": size, "sha256": [got.get(i) for i in range((last - first) // size + 1)]}


def _write(store: Store, checked: list[dict[str, Any]], *, ledger_mode: str, step: str) -> list[RecordedResult]:
    from dbsj.lifecycle.states import sync_task_states

    con = store.con
    recorded_at = clock.now().replace(microsecond=0)
    n_rows = sum(len(c["result"].items) for c in checked)
    with store.transaction():
        start = con.execute("SELECT coalesce(max(entry_no), 0) FROM results").fetchone()[0] + 1
        rows: list[tuple] = []
        out: list[RecordedResult] = []
        entry = start
        for c in checked:
            r: Result = c["result"]
            first, uscc, plan_id, sup = entry, c["uscc"], c["plan_id"], c["supersedes"]
            method, disp = r.method.value, r.disposition.value
            for item in sorted(r.items):
                rows.append((entry, plan_id, r.task_id, uscc, r.staff_id, item, r.items[item].value, method, disp,
                             r.inspected_on, recorded_at, sup.get(item), first, r.note, None))
                entry += 1
            out.append(RecordedResult(r.task_id, uscc, tuple(range(first, entry)), c["due"], tuple(sorted(sup.values()))))
        last = entry - 1
        names = ("entry_no", "plan_id", "task_id", "uscc", "staff_id", "item_code", "result_code", "method",
                 "disposition", "inspected_on", "recorded_at", "supersedes", "record_no", "note", "ledger_seq")
        cols: dict[str, list[Any]] = dict(zip(names, (list(col) for col in zip(*rows)), strict=True))
        teams = [c["team"] for c in checked for _ in c["result"].items]
        hist = {"uscc": cols["uscc"], "item_code": cols["item_code"], "inspected_on": cols["inspected_on"],
                "task_id": cols["task_id"], "staff_ids": teams}
        schema = pa.schema([("entry_no", pa.int64()), ("plan_id", pa.string()), ("task_id", pa.string()),
                            ("uscc", pa.string()), ("staff_id", pa.string()), ("item_code", pa.string()),
                            ("result_code", pa.string()), ("method", pa.string()), ("disposition", pa.string()),
                            ("inspected_on", pa.date32()), ("recorded_at", pa.timestamp("us", tz="Asia/Shanghai")),
                            ("supersedes", pa.int64()), ("record_no", pa.int64()), ("note", pa.string()),
                            ("ledger_seq", pa.int64())])
        _results_batch = pa.Table.from_pydict(cols, schema=schema)  # noqa: F841 - read by DuckDB below
        con.execute("INSERT INTO results SELECT * FROM _results_batch")
        failpoint(f"{step}.after-rows")

        # History: checked against its last binding before it changes, bound again after.
        history = PoolBinding.begin(store, "history", sorted({u[-2:] for u in cols["uscc"]}))
        history.record_drift()
        _history_batch = pa.Table.from_pydict(hist, schema=pa.schema([  # noqa: F841
            ("uscc", pa.string()), ("item_code", pa.string()), ("inspected_on", pa.date32()), ("task_id", pa.string()),
            ("staff_ids", pa.list_(pa.string()))]))
        con.execute("""INSERT INTO history (uscc, item_code, inspected_on, task_id, staff_ids, active, updated_at)
                       SELECT DISTINCT ON (uscc, item_code, inspected_on, task_id) uscc, item_code, inspected_on,
                              task_id, staff_ids, TRUE, ?::TIMESTAMPTZ FROM _history_batch
                       ON CONFLICT DO UPDATE SET active = TRUE, staff_ids = excluded.staff_ids,
                                                 updated_at = excluded.updated_at""", [recorded_at])
        # A correction that moved the inspection date retires the history row of the date it replaced.
        if any(c["supersedes"] for c in checked):
            con.execute(f"""UPDATE history h SET active = FALSE, updated_at = ?::TIMESTAMPTZ
                            FROM results old WHERE old.entry_no IN (SELECT supersedes FROM results
                                WHERE entry_no BETWEEN ? AND ? AND supersedes IS NOT NULL)
                              AND h.uscc = old.uscc AND h.item_code = old.item_code AND h.task_id = old.task_id
                              AND h.inspected_on = old.inspected_on
                              AND NOT EXISTS (SELECT 1 FROM ({CURRENT_RESULTS}) cr WHERE cr.uscc = h.uscc
                                  AND cr.item_code = h.item_code AND cr.task_id = h.task_id
                                  AND cr.inspected_on = h.inspected_on)""", [recorded_at, start, last])
        failpoint(f"{step}.after-history")
        content = {"history": history.finish()}

        ledger = Ledger(store)
        if ledger_mode == "each":
            seq_of: dict[int, int] = {}
            for i, (rec, c) in enumerate(zip(out, checked, strict=True)):
                r = c["result"]
                lo, hi = rec.entry_nos[0], rec.entry_nos[-1]
                payload = {
                    "task_id": r.task_id, "uscc": rec.uscc, "staff_id": r.staff_id, "entries": list(rec.entry_nos),
                    "items": {k: v.value for k, v in sorted(r.items.items())}, "method": r.method.value,
                    "disposition": r.disposition.value, "inspected_on": r.inspected_on.isoformat(),
                    "supersedes": list(rec.corrected), "sha256": con.execute(ENTRY_DIGEST_SQL, [lo, hi]).fetchone()[0],
                    "row_chunks": row_chunks(store, lo, hi)}
                if i == len(out) - 1:
                    payload["pool_content"] = content
                e = ledger.append("result.recorded", r.task_id, payload)
                seq_of.update({no: e.seq for no in rec.entry_nos})
            history.bound(e.seq)
            con.execute("UPDATE results r SET ledger_seq = s.seq FROM (SELECT unnest(?::BIGINT[]) AS entry_no, "
                        "unnest(?::BIGINT[]) AS seq) s WHERE r.entry_no = s.entry_no",
                        [list(seq_of), list(seq_of.values())])
        else:
            # One ledger entry for the batch, carrying digests over its entries, so it can be re-checked in SQL.
            e = ledger.append("result.imported", ledger_mode, {
                "source": ledger_mode, "visits": len(out), "entries": n_rows,
                "first_entry": start, "last_entry": last,
                "sha256": con.execute(ENTRY_DIGEST_SQL, [start, last]).fetchone()[0],
                "row_chunks": row_chunks(store, start, last),
                "tasks": sorted({r.task_id for r in out}), "pool_content": content})
            history.bound(e.seq)
            con.execute("UPDATE results SET ledger_seq = ? WHERE entry_no BETWEEN ? AND ?", [e.seq, start, last])
        failpoint(f"{step}.after-ledger")
        sync_task_states(store, sorted({r.task_id for r in out}))
        failpoint(f"{step}.before-commit")
    failpoint(f"{step}.after-commit")
    return out


def _as_result(result: Result | Mapping[str, Any]) -> Result:
    """A :class:`Result`, or a mapping of its fields validated as one (a :class:`~dbsj.ModelError` if it is not)."""
    if isinstance(result, Result):
        return result
    if isinstance(result, Mapping):
        return Result.model_validate(dict(result))
    raise ModelError(f"应为检查结果（Result 或其字段的映射），实际为 {type(result).__name__}",
                     f"expected a Result or a mapping of its fields, got {type(result).__name__}", model="Result")


def record_result(store: Store, result: Result | Mapping[str, Any], *, correction: bool = False) -> RecordedResult:
    """Record one visit's result (one code per item), checked first; nothing is written on any error.

    ``result`` is a :class:`~dbsj.Result` or a mapping of its fields (validated as one). 谁检查、谁录入: the
    inspector must be on the target's team, and every item one their department checks in the task (a joint
    visit is recorded as one result per department).

    :param correction: correct the standing result of these items (a new entry superseding it); without
        it, an item already recorded is a duplicate (:class:`~dbsj.ResultError`).
    :raises ModelError: ``result`` is not a valid result (field path and accepted values in the message).
    :raises ResultError: target not drawn, inspector not assigned, item not in the task, item of another
        department than the inspector's, date before the draw or in the future, duplicate entry.
    :raises CalendarError: the publication deadline cannot be computed (year with no calendar data).
    """
    checker = _Checker(store, bulk=False)
    checked = checker.check(_as_result(result), correction=correction, where=None, seen={})
    return _write(store, [checked], ledger_mode="each", step="result.record")[0]


def record_results(store: Store, results: Iterable[Result | Mapping[str, Any]], *, correction: bool = False,
                   source: str = "api") -> list[RecordedResult]:
    """Record many visits at once, all or nothing; one ledger entry (kind ``result.imported``) covers the batch.
    Each is a :class:`~dbsj.Result` or a mapping of its fields; a bad one is a :class:`~dbsj.ModelError` naming
    its place (``results[i]``) and nothing is written."""
    results = list(results)
    for i, r in enumerate(results):
        if not isinstance(r, Result):
            try:
                results[i] = _as_result(r)
            except ModelError as exc:
                exc.where = f"results[{i}]"
                raise
    checker = _Checker(store, bulk=True)
    checker.preload(r.task_id for r in results)
    seen: dict = {}
    checked = [checker.check(r, correction=correction, where=None, seen=seen) for r in results]
    if not checked:
        return []
    return _write(store, checked, ledger_mode=source, step="result.import")


#: Columns of a results file: canonical name -> accepted headers (Chinese headers as agency exports write them).
RESULT_COLUMNS: dict[str, tuple[str, ...]] = {
    "task_id": ("task_id", "任务编号", "抽查任务编号"),
    "uscc": ("uscc", "统一社会信用代码"),
    "staff_id": ("staff_id", "执法人员编号", "录入人员编号", "检查人员编号"),
    "item_code": ("item_code", "事项编码", "检查事项编码"),
    "result": ("result", "result_code", "检查结果"),
    "method": ("method", "检查方式"),
    "disposition": ("disposition", "处置", "后续处置", "处置方式"),
    "inspected_on": ("inspected_on", "检查日期", "抽查时间"),
    "note": ("note", "备注"),
}
_REQUIRED = ("task_id", "uscc", "staff_id", "item_code", "result", "inspected_on")


def _read_rows(path: Path) -> tuple[list[str], list[list[str]]]:
    if not path.exists():
        raise IntakeError(f"文件不存在: {path}", f"file not found: {path}", where=str(path))
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        import openpyxl

        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
        try:
            rows = [["" if v is None else (v.date().isoformat() if isinstance(v, dt.datetime) else str(v))
                     for v in row] for row in wb.active.iter_rows(values_only=True)]
        finally:
            wb.close()
    else:
        raw = path.read_bytes()
        for enc in ("utf-8-sig", "gb18030"):
            try:
                text = raw.decode(enc)
                break
            except UnicodeDecodeError:
                continue
        else:
            raise IntakeError("无法识别文件编码（支持 UTF-8、UTF-8 BOM、GBK/GB18030）",
                              "cannot decode the file (UTF-8, UTF-8 with BOM, GBK/GB18030 are supported)", where=str(path))
        rows = list(csv.reader(io.StringIO(text)))
    rows = [r for r in rows if any(c.strip() for c in r)]
    if not rows:
        raise IntakeError("文件为空", "the file is empty", where=str(path))
    return [h.strip() for h in rows[0]], rows[1:]


def import_results(store: Store, path: str | Path, *, correction: bool = False) -> list[RecordedResult]:
    """Import results from CSV (UTF-8, BOM, GBK/GB18030) or XLSX: one row per item; rows of the same task,
    target, inspector, date, method and disposition form one visit. All or nothing: the first bad row raises
    :class:`~dbsj.ResultError` naming file, row and field, and nothing is written."""
    path = Path(path)
    header, rows = _read_rows(path)
    index: dict[str, int] = {}
    for canon, aliases in RESULT_COLUMNS.items():
        for i, h in enumerate(header):
            if h in aliases or h.lower() in aliases:
                index[canon] = i
                break
    for canon in _REQUIRED:
        if canon not in index:
            raise MissingColumnError(f"缺少列 {canon}", f"missing column {canon}", where=str(path),
                                     hint_zh=f"可用表头: {'、'.join(RESULT_COLUMNS[canon])}",
                                     hint_en=f"accepted headers: {', '.join(RESULT_COLUMNS[canon])}")
    visits: dict[tuple, dict[str, Any]] = {}
    for n, row in enumerate(rows, start=2):
        def cell(name: str, row: list[str] = row) -> str:
            i = index.get(name)
            return row[i].strip() if i is not None and i < len(row) else ""

        where = f"{path.name}:{n}"
        for canon in _REQUIRED:
            if not cell(canon):
                raise ResultError(f"缺少 {canon}", f"{canon} is empty", where=f"{where}:{canon}")
        code = parse_result_code(cell("result"), f"{where}:result")
        method = parse_method(cell("method"), f"{where}:method") if cell("method") else CheckMethod.ON_SITE
        disp = parse_disposition(cell("disposition"), f"{where}:disposition") if cell("disposition") else Disposition.NONE
        try:
            on = dt.date.fromisoformat(cell("inspected_on").replace("/", "-")[:10])
        except ValueError:
            raise ResultError(f"无法识别的日期 {cell('inspected_on')!r}", f"cannot read date {cell('inspected_on')!r}",
                              where=f"{where}:inspected_on", hint_zh="使用 2023-06-01 格式",
                              hint_en="use the form 2023-06-01") from None
        key = (cell("task_id"), cell("uscc").upper(), cell("staff_id"), on, method, disp)
        visit = visits.setdefault(key, {"items": {}, "rows": {}, "where": where, "note": cell("note") or None})
        item = cell("item_code")
        if item in visit["items"]:
            raise ResultError(f"事项 {item} 在同一次检查中出现两次", f"item {item} appears twice in one visit",
                              where=f"{where}:item_code", hint_zh=f"另见 {visit['where']}", hint_en=f"see also {visit['where']}")
        visit["items"][item] = code
        visit["rows"][item] = where
    checker = _Checker(store, bulk=True)
    checker.preload(key[0] for key in visits)
    seen: dict = {}
    checked = []
    for (task_id, uscc, staff, on, method, disp), v in visits.items():
        try:
            r = validate_raw(Result, {"task_id": task_id, "uscc": uscc, "staff_id": staff, "items": v["items"],
                                      "method": method, "disposition": disp, "inspected_on": on, "note": v["note"]})
        except ValidationError as exc:
            raise model_error(exc, model="Result", where=v["where"]) from None
        checked.append(checker.check(r, correction=correction, where=v["where"], seen=seen, rows=v["rows"]))
    if not checked:
        return []
    return _write(store, checked, ledger_mode=f"file:{path.name}", step="result.import")
