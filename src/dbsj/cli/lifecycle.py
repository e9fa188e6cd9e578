"""After the draw: ``dbsj result``, ``dbsj task``, ``dbsj publish``, ``dbsj followup``, ``dbsj assess``,
``dbsj report``, ``dbsj calendar``. A thin shell over the Python API (docs/lifecycle.md, docs/publication.md,
docs/assessment.md)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any, Optional

import typer

from dbsj.errors import InputError, get_language

_DB = typer.Option(None, "--db", help="存储文件（默认 DBSJ_DB 或 ./dbsj.duckdb）/ store file")
_JSON = typer.Option(False, "--json", help="JSON 输出 / JSON output")


def _en() -> bool:
    return get_language() == "en"


def _out(obj: Any) -> None:
    typer.echo(json.dumps(obj, ensure_ascii=False, sort_keys=True, default=str))


def _store(db: Optional[Path], *, read_only: bool = False):  # noqa: ANN202 - dbsj.Store
    from dbsj.store import Store

    return Store(db, read_only=read_only and str(db) != ":memory:")


def _date(text: str, what: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        raise InputError(f"无法识别的日期 {text!r}（{what}，应为 2023-06-01 格式）",
                         f"cannot read date {text!r} ({what}; use the form 2023-06-01)") from None


def register(app: typer.Typer) -> None:
    """Add this group's commands to the ``dbsj`` app."""
    result_app = typer.Typer(help="检查结果录入与导入 / record and import inspection results", no_args_is_help=True)
    task_app = typer.Typer(help="抽查任务状态 / task lifecycle", no_args_is_help=True)
    app.add_typer(result_app, name="result")
    app.add_typer(task_app, name="task")

    @result_app.command("record")
    def result_record(
        db: Optional[Path] = _DB,
        task: str = typer.Option(..., "--task", help="任务编号 / task id"),
        target: str = typer.Option(..., "--target", help="统一社会信用代码 / USCC"),
        inspector: str = typer.Option(..., "--inspector", help="录入人（须为该对象的检查人员）/ assigned staff id"),
        item: list[str] = typer.Option(..., "--item", help="事项=结果，可重复 / CODE=RESULT, repeatable"),
        method: str = typer.Option("实地", "--method", help="检查方式 / check method"),
        disposition: str = typer.Option("无须处置", "--disposition", help="后续处置 / disposition"),
        at: Optional[str] = typer.Option(None, "--at", help="检查结束日期（默认今天）/ inspection end date (default today)"),
        correct: bool = typer.Option(False, "--correct", help="更正已有结果（新条目）/ correct a standing result"),
        note: Optional[str] = typer.Option(None, "--note", help="备注 / note"),
        as_json: bool = _JSON,
    ) -> None:
        """录入一次检查的结果（一次上门，多个事项）/ record one visit's results (one visit, many items)."""
        from dbsj import clock
        from dbsj.lifecycle.results import parse_disposition, parse_method, parse_result_code, record_result
        from dbsj.models.results import Result

        items: dict[str, Any] = {}
        for spec in item:
            code, sep, res = spec.partition("=")
            if not sep or not code.strip() or not res.strip():
                raise InputError(f"--item 应写作 事项编码=检查结果，收到 {spec!r}",
                                 f"--item must read CODE=RESULT, got {spec!r}")
            items[code.strip()] = parse_result_code(res, where=f"--item {spec}")
        # a field the model refuses is a ModelError (Chinese first, the field and what it accepts)
        result = Result(task_id=task, uscc=target, staff_id=inspector, items=items,
                        method=parse_method(method, "--method"),
                        disposition=parse_disposition(disposition, "--disposition"),
                        inspected_on=_date(at, "--at") if at else clock.today(), note=note)
        with _store(db) as store:
            rec = record_result(store, result, correction=correct)
        if as_json:
            _out({"task_id": rec.task_id, "uscc": rec.uscc, "entries": list(rec.entry_nos), "due": rec.due.isoformat(),
                  "supersedes": list(rec.corrected)})
        elif _en():
            typer.echo(f"recorded {len(rec.entry_nos)} item(s) for {rec.uscc} in task {rec.task_id}; publish by {rec.due}")
        else:
            typer.echo(f"已录入 {rec.uscc}（任务 {rec.task_id}）{len(rec.entry_nos)} 个事项的结果；公示截止 {rec.due}")

    @result_app.command("import")
    def result_import(
        file: Path = typer.Argument(..., help="CSV（UTF-8/BOM/GBK）或 XLSX，每行一个事项 / one row per item"),
        db: Optional[Path] = _DB,
        correct: bool = typer.Option(False, "--correct", help="文件中的结果为更正 / the rows are corrections"),
        as_json: bool = _JSON,
    ) -> None:
        """批量导入检查结果（全部成功或全部不写入）/ bulk import results (all or nothing)."""
        from dbsj.lifecycle.results import import_results

        with _store(db) as store:
            recs = import_results(store, file, correction=correct)
        entries = sum(len(r.entry_nos) for r in recs)
        if as_json:
            _out({"visits": len(recs), "entries": entries, "tasks": sorted({r.task_id for r in recs})})
        elif _en():
            typer.echo(f"imported {entries} result entries ({len(recs)} visits) from {file}")
        else:
            typer.echo(f"已从 {file} 导入 {len(recs)} 次检查、{entries} 条结果")

    @task_app.command("status")
    def task_status_cmd(db: Optional[Path] = _DB, as_json: bool = _JSON) -> None:
        """各任务状态与进度 / each task's state and progress."""
        from dbsj.lifecycle.states import task_status

        with _store(db) as store:
            rows = task_status(store)
        if as_json:
            _out(rows)
            return
        from rich.console import Console
        from rich.table import Table

        en = _en()
        table = Table(*(("task", "state", "drawn", "inspected", "results", "published", "overdue") if en else
                        ("任务", "状态", "抽取", "已检查", "结果条数", "已公示", "超期未公示")))
        for r in rows:
            table.add_row(f"{r['task_id']} {r['name']}", r["state_en"] if en else r["state_zh"], str(r["selected"]),
                          str(r["with_results"]), str(r["results"]), str(r["published"]), str(r["overdue"]))
        Console().print(table)

    @task_app.command("advance")
    def task_advance(
        db: Optional[Path] = _DB,
        task: str = typer.Option(..., "--task", help="任务编号 / task id"),
        to: str = typer.Option(..., "--to", help="目标状态，如 reviewed、closed / next state"),
        actor: Optional[str] = typer.Option(None, "--actor", help="操作人 / who decides"),
        note: Optional[str] = typer.Option(None, "--note", help="备注 / note"),
        as_json: bool = _JSON,
    ) -> None:
        """推进任务状态（审核、办结），记入账本 / move a task on (review, close), recorded on the ledger."""
        from dbsj.lifecycle.states import TASK_STATE_LABELS, advance_task

        with _store(db) as store:
            state = advance_task(store, task, to, actor=actor, note=note)
        if as_json:
            _out({"task_id": task, "state": state.value})
        else:
            typer.echo(f"{task}: {TASK_STATE_LABELS[state.value][1 if _en() else 0]}")

    @app.command("publish")
    def publish_cmd(
        db: Optional[Path] = _DB,
        out: Path = typer.Option(..., "--out", help="输出目录 / output directory"),
        authority: Optional[str] = typer.Option(None, "--authority", help="公告机关（默认计划的发布机关）/ issuing authority"),
        task: Optional[list[str]] = typer.Option(None, "--task", help="仅这些任务 / only these tasks"),
        as_json: bool = _JSON,
    ) -> None:
        """导出应公示的结果为编号公告（CSV、XLSX、JSON）/ export results due as numbered notices."""
        from dbsj.lifecycle.publication import publish

        with _store(db) as store:
            batches = publish(store, out, authority=authority, task_ids=task or None)
        if as_json:
            _out([b.to_dict() for b in batches])
            return
        if not batches:
            typer.echo("nothing due for publication" if _en() else "没有待公示的结果")
        for b in batches:
            typer.echo(f"{b.notice_title}: {b.entities} entities, {b.entries} entries -> {b.files['csv']}" if _en() else
                       f"{b.notice_title}：{b.entities} 户、{b.entries} 条 → {b.files['csv']}")

    @app.command("followup")
    def followup_cmd(db: Optional[Path] = _DB, as_json: bool = _JSON) -> None:
        """运行后续处置事件规则（问题移送、超期预警、D类定向）/ run the follow-up event rules."""
        from dbsj.lifecycle.followup import run_followup

        with _store(db) as store:
            rows = run_followup(store)
        if as_json:
            _out(rows)
            return
        labels = {"disposition": ("处置", "disposition"), "overdue": ("超期未公示", "overdue"),
                  "directed": ("列入定向抽查", "flagged for a directed task")}
        for r in rows:
            lab = labels.get(r["kind"], (r["kind"], r["kind"]))[1 if _en() else 0]
            typer.echo(f"[{lab}] {r['task_id']} {r['uscc']} {r['department']}".rstrip())
        typer.echo(f"{len(rows)} new follow-up(s)" if _en() else f"新增后续处置 {len(rows)} 条")

    @app.command("assess")
    def assess_cmd(db: Optional[Path] = _DB, as_json: bool = _JSON) -> None:
        """督查考评: 各部门、各地州指标 / assessment per department and prefecture."""
        from dbsj.assess import ASSESSMENT_LABELS, assess

        with _store(db, read_only=True) as store:
            data = assess(store)
        if as_json:
            _out(data)
            return
        en = _en()
        keys = ("tasks", "drawn", "inspected", "completion", "on_time", "joint_share", "credit_linked_share",
                "detection_rate", "status_rate", "inspectors", "workload_cv")

        def fmt(k: str, v: Any) -> str:
            if v is None:
                return "—"
            return f"{v * 100:.1f}%" if isinstance(v, float) and k != "workload_cv" else str(v)

        def line(name: str, r: dict[str, Any]) -> str:
            sep = " · "
            return f"{name}: " + sep.join(f"{ASSESSMENT_LABELS[k][1 if en else 0]} {fmt(k, r[k])}" for k in keys)

        typer.echo(line("overall" if en else "合计", data["overall"]))
        for title, rows, key in ((("部门", "by department"), data["departments"], "department"),
                                 (("地州", "by prefecture"), data["prefectures"], "name")):
            typer.echo(f"\n[{title[1] if en else title[0]}]")
            for r in rows:
                typer.echo(line(str(r[key]), r))

    @app.command("report")
    def report_cmd(
        db: Optional[Path] = _DB,
        out: Path = typer.Option(Path("report.html"), "--out", help="输出 HTML 文件 / output HTML file"),
        as_json: bool = _JSON,
    ) -> None:
        """生成自包含的 HTML 考评报告 / write the self-contained HTML assessment report."""
        from dbsj.assess import write_report

        with _store(db, read_only=True) as store:
            path = write_report(store, out)
        if as_json:
            _out({"report": str(path)})
        else:
            typer.echo(f"report written to {path}" if _en() else f"已生成报告 {path}")

    from typer.core import TyperGroup

    class _DateOrCommand(TyperGroup):
        """``dbsj calendar 2023-10-07`` is ``dbsj calendar day 2023-10-07``: a date where a command is expected."""

        def resolve_command(self, ctx, args):  # noqa: ANN001, ANN202 - click's signature
            if args and args[0] not in self.commands and args[0][:1].isdigit():
                args = ["day", *args]
            return super().resolve_command(ctx, args)

    calendar_app = typer.Typer(cls=_DateOrCommand, no_args_is_help=True,
                               help="工作日历：查询工作日、导入年度节假日安排 / working-day calendar: query days, import schedules")
    app.add_typer(calendar_app, name="calendar")

    def _calendar(db: Optional[Path]):  # noqa: ANN202 - WorkdayCalendar
        from dbsj.lifecycle.calendar import WorkdayCalendar
        from dbsj.store.store import default_db_path

        path = db if db is not None else default_db_path()
        if db is None and not path.exists():
            return WorkdayCalendar()  # no store: plug-ins and chinese-calendar only
        with _store(path, read_only=True) as store:
            return WorkdayCalendar(store=store)

    @calendar_app.command("day")
    def calendar_day(
        day: str = typer.Argument(..., help="日期 / date (2023-10-07)"),
        add: Optional[int] = typer.Option(None, "--add", help="加 N 个工作日 / add N working days"),
        db: Optional[Path] = _DB,
        as_json: bool = _JSON,
    ) -> None:
        """查询工作日（含调休、导入的安排、插件日历）/ is it a working day; add working days."""
        cal = _calendar(db)
        d = _date(day, "DAY")
        info: dict[str, Any] = {"date": d.isoformat(), "workday": cal.is_workday(d)}
        if add is not None:
            info["add"] = add
            info["result"] = cal.add_workdays(d, add).isoformat()
        if as_json:
            _out(info)
        elif _en():
            typer.echo(f"{d}: {'working day' if info['workday'] else 'day off'}"
                       + (f"; +{add} working days = {info['result']}" if add is not None else ""))
        else:
            typer.echo(f"{d}：{'工作日' if info['workday'] else '休息日'}"
                       + (f"；加 {add} 个工作日为 {info['result']}" if add is not None else ""))

    @calendar_app.command("import")
    def calendar_import(
        file: Path = typer.Argument(..., help="日历文件（YAML/JSON，docs/calendar-format.md）/ schedule file"),
        db: Optional[Path] = _DB,
        replace: bool = typer.Option(False, "--replace", help="替换已导入的同年安排 / replace a stored schedule"),
        example: bool = typer.Option(False, "--example", help="接受标为示例的文件（仅演示、测试）/ accept an example file"),
        as_json: bool = _JSON,
    ) -> None:
        """导入一个年度的节假日与调休安排（及地区节假日）/ import a year's holiday schedule (and regional holidays)."""
        from dbsj.lifecycle.calendar_data import import_calendar

        with _store(db) as store:
            got = import_calendar(store, file, replace=replace, example=example)
        info = {"year": got.year, "file": got.file, "example": got.example,
                "schedules": [{"region": r or None, "days": n, "ledger_seq": seq} for r, n, seq in got.schedules],
                "differs_from_builtin": [d.isoformat() for d in got.differs_from_builtin]}
        if as_json:
            _out(info)
            return
        if got.differs_from_builtin:
            days = "、".join(d.isoformat() for d in got.differs_from_builtin[:10]) + (
                " …" if len(got.differs_from_builtin) > 10 else "")
            typer.echo((f"warning: on {len(got.differs_from_builtin)} days the imported schedule differs from the built-in "
                        f"chinese-calendar, and now wins: {days}; check the transcription against the notice" if _en() else
                        f"警告：导入的安排有 {len(got.differs_from_builtin)} 天与内置 chinese-calendar 不同，现以导入的为准：{days}；"
                        "请对照通知原文核对"), err=True)
        for r, n, seq in got.schedules:
            if _en():
                typer.echo(f"imported {got.year} {'national schedule' if not r else f'holidays of region {r}'}: "
                           f"{n} days listed (ledger #{seq})" + (" [EXAMPLE, not official]" if got.example else ""))
            else:
                typer.echo(f"已导入 {got.year} 年{'全国节假日安排' if not r else f'地区 {r} 节假日'}：列出 {n} 天"
                           f"（账本第 {seq} 条）" + ("【示例数据，非官方】" if got.example else ""))

    @calendar_app.command("show")
    def calendar_show(
        year: int = typer.Argument(..., help="年度 / year"),
        db: Optional[Path] = _DB,
        as_json: bool = _JSON,
    ) -> None:
        """显示存储中某年度的节假日安排及其来源 / show a year's stored schedule and its source."""
        from dbsj.lifecycle.calendar_data import calendar_schedules

        with _store(db, read_only=True) as store:
            found = calendar_schedules(store, year)
        if not found:
            raise InputError(f"存储中没有 {year} 年的节假日安排", f"no schedule for {year} is stored",
                             hint_zh="用 dbsj calendar import FILE 导入", hint_en="import one with dbsj calendar import FILE")
        if as_json:
            _out(found)
            return
        en = _en()
        for s in found:
            head = (("national schedule" if en else "全国安排") if s["region"] is None
                    else (f"region {s['region']} {s['region_name']}" if en else f"地区 {s['region']} {s['region_name']}"))
            mark = (" [EXAMPLE, not official]" if en else "【示例数据，非官方】") if s["example"] else ""
            typer.echo(f"{s['year']} {head}{mark}: {s['title']} ({s['number']})")
            for h in s["holidays"]:
                typer.echo(f"  {h['date']}  {'holiday' if en else '放假'}  {h['name']}")
            for w in s["workdays"]:
                typer.echo(f"  {w['date']}  {'make-up workday' if en else '调休上班'}  {w['name']}")
