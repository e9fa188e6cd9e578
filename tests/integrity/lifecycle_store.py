"""A small store built the way an agency builds one: pools imported through intake, a real draw, results
recorded one by one and in bulk (with a correction), a publication delivered by a plug-in, follow-ups.

Used by the failpoint and tamper suites: every table the store has holds rows a real step wrote.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import shutil
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pyarrow as pa

import dbsj
from pooldata import uscc
from pooldata import TEST_OVERRIDE

PREFECTURES = ("650100", "650200", "652300", "659001")
CLASSES = ("A", "B", "C", "D")
_TYPES = {"DATE": pa.date32(), "BOOLEAN": pa.bool_()}


def arrow(kind: str, rows: list[dict[str, Any]]) -> pa.Table:
    data = {}
    for col in dbsj.POOL_COLUMNS[kind]:
        values = [r.get(col.name) for r in rows]
        data[col.name] = (pa.array([list(v) if v is not None else None for v in values], pa.list_(pa.string()))
                          if col.is_list else pa.array(values, _TYPES.get(col.sql_type, pa.string())))
    return pa.table(data)


def targets(n: int) -> list[dict[str, Any]]:
    out = []
    for i in range(n):
        region = PREFECTURES[i % len(PREFECTURES)]
        county = region if region.startswith("6590") else region[:4] + f"{(i % 3) + 2:02d}"
        out.append({"uscc": uscc(i, region), "name": f"企业{i}", "entity_kind": "企业", "status": "存续", "region": county,
                    "office": f"所{i % 4}", "industry": "F5211", "credit_class": CLASSES[(i // 4) % 4],
                    "established": dt.date(2015, 1, 1) + dt.timedelta(days=i), "tags": ["食品"] if i % 3 == 0 else []})
    return out


def items() -> list[dict[str, Any]]:
    return [{"code": "SC-A07", "name": "公示信息抽查", "department": "市场监管", "category": "general"},
            {"code": "SC-B01", "name": "食品经营", "department": "市场监管", "category": "key", "target_kinds": ["企业"]},
            {"code": "WJ-01", "name": "公共场所卫生", "department": "卫生健康", "category": "general"}]


def inspectors(ts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for region in PREFECTURES:
        for dept, scope in (("市场监管", ("SC-A07", "SC-B01")), ("卫生健康", ("WJ-01",))):
            for j in range(4):
                sid = f"{dept[:1]}{region}{j}"
                # one inspector per group declares conflicts of interest with many firms (recusal rows)
                conflicts = [t["uscc"] for t in ts[:120]] if j == 3 else []
                out.append({"staff_id": sid, "name": sid, "department": dept, "region": region, "beat": f"所{j + 10}",
                            "certificate_no": "Z" + sid, "certificate_expiry": dt.date(2026, 12, 31),
                            "item_scope": list(scope), "status": "在岗", "conflicts": conflicts})
    return out


def history(ts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    # recent SC-A07 inspections (anti-repeat), and a 2022 inspection of every target outside the repeat window,
    # so that last-inspector recusal reads history rows for the selected targets
    recent = [{"uscc": t["uscc"], "item_code": "SC-A07", "inspected_on": dt.date(2023, 1, 5 + i), "task_id": "",
               "staff_ids": ["市6501000"]} for i, t in enumerate(ts[150:160])]
    old = [{"uscc": t["uscc"], "item_code": "SC-B01", "inspected_on": dt.date(2022, 1, 5 + i % 20), "task_id": "",
            "staff_ids": ["市6501000"]} for i, t in enumerate(ts)]
    return recent + old


PLAN = {
    "id": "XJ2023", "year": 2023, "authority": "新疆维吾尔自治区市场监督管理局", "title": "2023 年度部门联合双随机抽查计划",
    "tasks": [
        {"id": "T1", "name": "公示信息抽查", "sponsor": "市场监管", "items": ["SC-A07"], "start": "2023-03-01",
         "sampling": {"strata": ["credit_class"], "quota": "不低于10%"},
         "batches": [{"name": "第一批", "deadline": "2023-07-20"}]},
        {"id": "T2", "name": "食品与卫生联合抽查", "sponsor": "市场监管", "partners": ["卫生健康"], "items": ["SC-B01", "WJ-01"],
         "start": "2023-03-01", "sampling": {"strata": ["region"], "quota": {"count": 2}},
         "batches": [{"name": "全年", "deadline": "2023-10-15"}]},
    ],
}


class Courier:
    """A publish plug-in that confirms delivery."""

    @dbsj.hookimpl
    def dbsj_publish(self, batch, files):
        return {"delivered": True, "reference": f"GS-{batch['year']}-{batch['notice_no']:03d}"}


class Kinship:
    """A recusal plug-in: the first two candidate pairs of every window it is asked about are related."""

    @dbsj.hookimpl
    def dbsj_recusal(self, candidates, context):
        pairs = sorted(set(zip(candidates.column("uscc").to_pylist(), candidates.column("staff_id").to_pylist())))[:2]
        return pa.table({"uscc": [u for u, _ in pairs], "staff_id": [s for _, s in pairs],
                         "reason": ["亲属关系"] * len(pairs)})


#: A second plan drawn in its own run, so every per-run table holds more than one run.
PLAN_B = {
    "id": "XJ2023-B", "year": 2023, "authority": "新疆维吾尔自治区市场监督管理局", "title": "2023 年度卫生专项抽查计划",
    "tasks": [
        {"id": "T3", "name": "公共场所卫生抽查", "sponsor": "卫生健康", "items": ["WJ-01"], "start": "2023-03-01",
         "sampling": {"strata": ["region"], "quota": {"count": 1}},
         "batches": [{"name": "全年", "deadline": "2023-10-15"}]},
    ],
}


def plugin_manager() -> dbsj.PluginManager:
    pm = dbsj.PluginManager(load_entry_points=False)
    pm.register(Courier(), "courier")
    pm.register(Kinship(), "kinship")
    dbsj.reset_plugin_manager(pm)
    return pm


def team(store: dbsj.Store, task: str, target: str) -> list[tuple[str, str]]:
    return store.execute("SELECT a.staff_id, a.department FROM assignments a JOIN draws d USING (draw_id) "
                         "WHERE d.status = 'drawn' AND a.task_id = ? AND a.uscc = ? ORDER BY 1", [task, target]).fetchall()


def selected(store: dbsj.Store, task: str) -> list[str]:
    return [u for (u,) in store.execute(
        "SELECT s.uscc FROM selections s JOIN draws d USING (draw_id) WHERE d.status = 'drawn' AND s.task_id = ? "
        "AND EXISTS (SELECT 1 FROM assignments a WHERE a.draw_id = s.draw_id AND a.task_id = s.task_id "
        "AND a.uscc = s.uscc) ORDER BY s.stratum, s.rank", [task]).fetchall()]


def results_csv(store: dbsj.Store, path: Path, task: str, targets_: list[str], on: str = "2023-06-01") -> Path:
    items_of = {t["id"]: t["items"] for t in PLAN["tasks"]}
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["任务编号", "统一社会信用代码", "执法人员编号", "事项编码", "检查结果", "检查日期"])
        owner = {i["code"]: i["department"] for i in items()}
        for u in targets_:
            seated = {dept: staff for staff, dept in reversed(team(store, task, u))}  # department -> first inspector
            for item in items_of[task]:
                w.writerow([task, u, seated[owner[item]], item, "未发现问题", on])
    return path


def record(store: dbsj.Store, task: str, target: str, items_: dict[str, str], *, correction: bool = False,
           **kw: Any) -> dbsj.RecordedResult:
    staff = team(store, task, target)[0][0]
    return dbsj.record_result(store, dbsj.Result(task_id=task, uscc=target, staff_id=staff, items=items_,
                                                 inspected_on=dt.date(2023, 6, 1), **kw), correction=correction)


def build(folder: Path, *, publish: bool = True) -> SimpleNamespace:
    """Build the store in ``folder`` (``store.duckdb``, ``records/``, ``pub/``); returns what was made.

    With ``publish=False`` it stops after the first results (T1: three visits recorded one by one, T2: three
    in one bulk import), with nothing published and more targets left to record.
    """
    folder.mkdir(parents=True, exist_ok=True)
    db, records, pub = folder / "store.duckdb", folder / "records", folder / "pub"
    pm = plugin_manager()
    ts = targets(200)
    batches: list[dbsj.PublicationBatch] = []
    with dbsj.Store(db) as store:
        for kind, rows in (("items", items()), ("targets", ts), ("inspectors", inspectors(ts)), ("history", history(ts))):
            dbsj.import_batches(store, kind, arrow(kind, rows), source=f"test:{kind}", quarantine_dir=folder)
        # an imported national schedule and a region's holidays (calendar tables; the 2027 file is illustrative)
        dbsj.import_calendar(store, Path(__file__).resolve().parents[2] / "docs" / "calendars" / "2024.yaml")
        dbsj.import_calendar(store, Path(__file__).resolve().parents[1] / "lifecycle" / "data" /
                             "calendar-2027-example.yaml", example=True)
        plan = dbsj.Plan.model_validate(PLAN)
        dbsj.draw_plan(store, plan, seed="tamper-suite", out_dir=records, override_check=TEST_OVERRIDE)
        t1, t2 = selected(store, "T1"), selected(store, "T2")
        for u in t1[:3]:
            record(store, "T1", u, {"SC-A07": "未发现问题"})
        dbsj.import_results(store, results_csv(store, folder / "results.csv", "T2", t2[:3]))
        if publish:
            batches += dbsj.publish(store, pub, plugins=pm)
            record(store, "T1", t1[0], {"SC-A07": "发现问题经责令已改正"}, disposition="责令整改", correction=True)
            batches += dbsj.publish(store, pub, plugins=pm)
            record(store, "T1", t1[3], {"SC-A07": "未按规定公示应当公示的信息"}, disposition="移送办案")
            dbsj.run_followup(store)
            changed = [dict(t, name=t["name"] + "（更名）") if i < 2 else t for i, t in enumerate(ts[:5])]
            dbsj.import_batches(store, "targets", arrow("targets", changed), source="test:targets-again",
                                quarantine_dir=folder)
            dbsj.commit_draw(store, plan, ["T1"], seed_kind="dice", override_check=TEST_OVERRIDE)  # a run committed, not yet revealed
        # a second plan in its own run, drawn last: every per-run table holds two runs, and the last rows of
        # every draw table belong to a revealed draw with a record
        dbsj.draw_plan(store, dbsj.Plan.model_validate(PLAN_B), seed="tamper-suite-b", out_dir=records, override_check=TEST_OVERRIDE)
        head_path = folder / "head.anchor.json"
        head_path.write_text(json.dumps(dbsj.Ledger(store).anchor()), encoding="utf-8")
    return SimpleNamespace(db=db, records=records, pub=pub, batches=batches, t1=t1, t2=t2, folder=folder,
                           anchor=head_path, pm=pm)


def copy(built: SimpleNamespace, to: Path) -> Path:
    """A copy of the built store file (tampering works on copies)."""
    to.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(built.db, to / "store.duckdb")
    return to / "store.duckdb"
