"""Kill a real process (SIGKILL) at every failpoint of result recording, bulk result import and publication.

After each kill: the store opens, the ledger verifies, ``dbsj audit`` finds nothing (no orphan rows, every
digest re-derives, every file the ledger binds is whole), the store holds exactly what it held before the
step or exactly what a clean run of the step leaves (every row of every table compared), no half-written
or temporary file remains in the output folder, notice numbers run on without a gap — and the next step
works.
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest

import dbsj
import lifecycle_store as ls
from dbsj.store.outputs import TEMP_MARK
from harness import final_files, run_clean, run_to_failpoint

RESULT_POINTS = ["after-rows", "after-history", "after-ledger", "before-commit", "after-commit"]
PUBLISH_BEFORE_COMMIT = ["publish.after-files", "publish.after-ledger", "publish.after-rows", "publish.before-commit"]
PUBLISH_AFTER_COMMIT = ["publish.after-commit", "publish.after-rename", "publish.deliver.after-receipt"]

EXERCISED = {*(f"result.record.{p}" for p in RESULT_POINTS), *(f"result.import.{p}" for p in RESULT_POINTS),
             *PUBLISH_BEFORE_COMMIT, *PUBLISH_AFTER_COMMIT}

ENV = {"DBSJ_DISABLE_PLUGINS": "xinjiang"}

PRELUDE = """
import datetime as dt, os, dbsj
os.chdir({folder!r})
store = dbsj.Store("store.duckdb")
"""

RECORD = PRELUDE + """
dbsj.record_result(store, dbsj.Result(task_id="T1", uscc={uscc!r}, staff_id={staff!r}, items={{"SC-A07": "未发现问题"}},
                                      inspected_on=dt.date(2023, 6, 1)))
"""

IMPORT = PRELUDE + """
dbsj.import_results(store, "more.csv")
"""

PUBLISH = PRELUDE + """
class Courier:
    def __init__(self, name):
        self.name = name
    @dbsj.hookimpl
    def dbsj_publish(self, batch, files):
        return {{"delivered": True, "reference": self.name + "-" + str(batch["notice_no"])}}
pm = dbsj.PluginManager(load_entry_points=False)
pm.register(Courier("a"), "courier-a")
pm.register(Courier("b"), "courier-b")
dbsj.publish(store, "pub", plugins=pm)
"""


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    """A store with results recorded and nothing published; more targets left to record."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DBSJ_NOW", dbsj.testing.fixtures.PLAN_YEAR_NOW)
        dbsj.set_now(None)
        b = ls.build(tmp_path_factory.mktemp("fp-base"), publish=False)
        with dbsj.Store(b.db) as store:
            b.record = {"uscc": b.t1[3], "staff": ls.team(store, "T1", b.t1[3])[0][0]}
            b.next_record = {"uscc": b.t1[4], "staff": ls.team(store, "T1", b.t1[4])[0][0]}
            ls.results_csv(store, b.folder / "more.csv", "T2", b.t2[3:5])
            ls.results_csv(store, b.folder / "next.csv", "T2", b.t2[5:6])
        dbsj.reset_plugin_manager(None)
    return b


def fresh(base, tmp_path: Path) -> Path:
    folder = tmp_path / "s"
    folder.mkdir()
    for name in ("store.duckdb", "more.csv", "next.csv"):
        shutil.copyfile(base.folder / name, folder / name)
    return folder


def snapshot(db: Path) -> dict[str, list[tuple]]:
    """Every row of every table (sorted), as comparable text."""
    with dbsj.Store(db, read_only=True) as s:
        tables = [t for (t,) in s.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = 'main' "
                                          "ORDER BY 1").fetchall()]
        return {t: sorted(tuple(str(v) for v in r) for r in s.execute(f'SELECT * FROM "{t}"').fetchall()) for t in tables}


def temporaries(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob("*") if TEMP_MARK in p.name) if folder.exists() else []


@pytest.fixture(scope="module")
def references(base, tmp_path_factory):
    """What a clean run of each step leaves (the same code, no failpoint), row for row."""
    out = {}
    for name, code in (("record", RECORD), ("import", IMPORT), ("publish", PUBLISH)):
        folder = fresh(base, tmp_path_factory.mktemp(f"ref-{name}"))
        run_clean(code.format(folder=str(folder), **base.record), env=ENV)
        out[name] = snapshot(folder / "store.duckdb")
        out[name + ":files"] = final_files(folder / "pub")
    out["before"] = snapshot(base.db)
    return out


def reopen_and_check(folder: Path, monkeypatch) -> dict[str, list[tuple]]:
    """Open for writing (roll-forward, dead steps closed), verify the ledger, audit: nothing found."""
    monkeypatch.chdir(folder)
    with dbsj.Store(folder / "store.duckdb") as store:
        assert dbsj.Ledger(store).verify() > 0
        report = dbsj.audit_store(store)
        assert report.ok, [f.render("en") for f in report.findings]
        assert store.count("pending_outputs") == 0
    return snapshot(folder / "store.duckdb")


@pytest.mark.parametrize("point", RESULT_POINTS)
def test_a_killed_recording_leaves_nothing_or_everything(base, references, tmp_path, monkeypatch, point):
    folder = fresh(base, tmp_path)
    run_to_failpoint(RECORD.format(folder=str(folder), **base.record), f"result.record.{point}", env=ENV)
    after = reopen_and_check(folder, monkeypatch)
    assert after == (references["record"] if point == "after-commit" else references["before"])
    # the next recording works (and, after a commit, the same one is a duplicate)
    with dbsj.Store(folder / "store.duckdb") as store:
        if point == "after-commit":
            with pytest.raises(dbsj.ResultError, match="重复录入"):
                ls.record(store, "T1", base.record["uscc"], {"SC-A07": "未发现问题"})
        ls.record(store, "T1", base.next_record["uscc"], {"SC-A07": "未发现问题"})
        assert dbsj.audit_store(store).ok


@pytest.mark.parametrize("point", RESULT_POINTS)
def test_a_killed_bulk_import_leaves_nothing_or_everything(base, references, tmp_path, monkeypatch, point):
    folder = fresh(base, tmp_path)
    run_to_failpoint(IMPORT.format(folder=str(folder)), f"result.import.{point}", env=ENV)
    after = reopen_and_check(folder, monkeypatch)
    assert after == (references["import"] if point == "after-commit" else references["before"])
    with dbsj.Store(folder / "store.duckdb") as store:
        recs = dbsj.import_results(store, folder / ("next.csv" if point == "after-commit" else "more.csv"))
        assert recs and dbsj.audit_store(store).ok


def _publish_again(folder: Path) -> list[dbsj.PublicationBatch]:
    with dbsj.Store(folder / "store.duckdb") as store:
        batches = dbsj.publish(store, "pub", plugins=dbsj.PluginManager(load_entry_points=False))
        assert dbsj.audit_store(store).ok
    return batches


@pytest.mark.parametrize("point", PUBLISH_BEFORE_COMMIT)
def test_a_publication_killed_before_its_commit_takes_no_number(base, references, tmp_path, monkeypatch, point):
    folder = fresh(base, tmp_path)
    run_to_failpoint(PUBLISH.format(folder=str(folder)), point, env=ENV)
    assert final_files(folder / "pub") == []  # nothing published under any name
    assert temporaries(folder / "pub")  # only the dead attempt's temporaries, under names no one reads
    assert reopen_and_check(folder, monkeypatch) == references["before"]
    [batch] = _publish_again(folder)  # the number was never taken: the next publication is No. 001
    assert batch.number == 1
    assert final_files(folder / "pub") == references["publish:files"]
    assert temporaries(folder / "pub") == []  # the dead attempt's temporaries are swept


@pytest.mark.parametrize("point", PUBLISH_AFTER_COMMIT)
def test_a_publication_killed_after_its_commit_is_completed_on_open(base, references, tmp_path, monkeypatch, point):
    folder = fresh(base, tmp_path)
    run_to_failpoint(PUBLISH.format(folder=str(folder)), point, env=ENV)
    after = reopen_and_check(folder, monkeypatch)
    # the files are in place (rolled forward if the rename had not happened), whole, and bound by the ledger
    assert final_files(folder / "pub") == references["publish:files"] and temporaries(folder / "pub") == []
    ref = references["publish"]
    same = [t for t in ref if t not in ("ledger", "publication_receipts")]
    assert {t: after[t] for t in same} == {t: ref[t] for t in same}
    # the delivery that died is on the ledger, and every plug-in without a receipt has an undelivered one
    with dbsj.Store(folder / "store.duckdb", read_only=True) as store:
        kinds = [e.kind for e in dbsj.Ledger(store).entries()]
        receipts = dict(store.execute("SELECT plugin, json_extract(receipt, '$.delivered')::BOOLEAN FROM "
                                      "publication_receipts").fetchall())
    assert kinds.count("publish.deliver.died") == 1
    assert receipts == ({"courier-a": True, "courier-b": False} if point == "publish.deliver.after-receipt"
                        else {"courier-a": False, "courier-b": False})
    # the next publication runs on: nothing is due now; a new result goes out as No. 002
    assert _publish_again(folder) == []
    with dbsj.Store(folder / "store.duckdb") as store:
        ls.record(store, "T1", base.next_record["uscc"], {"SC-A07": "未发现问题"})
    [batch] = _publish_again(folder)
    assert batch.number == 2 and temporaries(folder / "pub") == []


def test_the_clean_runs_differ_from_the_base(references):
    """The comparisons above can fail: each step really changes the store."""
    for name in ("record", "import", "publish"):
        assert references[name] != references["before"], name
    assert len(references["publish:files"]) == 3
    assert dt.date(2023, 6, 1)  # the plan-year clock the subprocesses run on (harness default)
