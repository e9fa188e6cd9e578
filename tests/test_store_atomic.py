"""The crash-safety seams every atomic step uses: store transactions, staged outputs, failpoints."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

import dbsj
from dbsj import _failpoints
from dbsj.store.outputs import StagedOutputs, sweep_temporaries


def test_transaction_commits_or_rolls_back_everything(tmp_path):
    with dbsj.Store(tmp_path / "s.duckdb") as store:
        with store.transaction():
            dbsj.Ledger(store).append("test.one", "x", {})
        with pytest.raises(RuntimeError):
            with store.transaction():
                dbsj.Ledger(store).append("test.two", "x", {})
                with store.transaction():  # nested joins the outer one
                    dbsj.Ledger(store).append("test.three", "x", {})
                raise RuntimeError("boom")
        assert [e.kind for e in dbsj.Ledger(store).entries()] == ["test.one"]


def test_staged_outputs_appear_only_after_publish(tmp_path):
    out = tmp_path / "out"
    with dbsj.Store(tmp_path / "s.duckdb") as store:
        staged = StagedOutputs(store, "test")
        with staged.open(out / "a.json") as fh:
            fh.write("{}\n")
        assert not (out / "a.json").exists()
        with store.transaction():
            staged.journal()
        assert staged.publish() == [out / "a.json"]
        assert (out / "a.json").read_text() == "{}\n"
        assert store.count("pending_outputs") == 0
        assert [p.name for p in out.iterdir()] == ["a.json"]


def test_discarded_outputs_leave_nothing(tmp_path):
    out = tmp_path / "out"
    with dbsj.Store(tmp_path / "s.duckdb") as store:
        staged = StagedOutputs(store, "test")
        with staged.open(out / "a.json") as fh:
            fh.write("{}")
        staged.discard()
    assert list(out.iterdir()) == []


def test_existing_final_file_is_never_overwritten(tmp_path):
    (tmp_path / "a.json").write_text("old")
    with dbsj.Store(":memory:") as store:
        staged = StagedOutputs(store, "test")
        with pytest.raises(dbsj.StoreError):
            with staged.open(tmp_path / "a.json") as fh:
                fh.write("new")
    assert (tmp_path / "a.json").read_text() == "old"


def test_crash_after_commit_is_rolled_forward_on_open(tmp_path):
    """A process killed between the store's commit and the renames: the next writer puts the files in place."""
    db, out = tmp_path / "s.duckdb", tmp_path / "out"
    script = textwrap.dedent(f"""
        import os, signal, dbsj
        from dbsj.store.outputs import StagedOutputs
        store = dbsj.Store({str(db)!r})
        staged = StagedOutputs(store, "test")
        with staged.open({str(out / 'a.json')!r}) as fh:
            fh.write("complete\\n")
        with store.transaction():
            dbsj.Ledger(store).append("test.step", "x", {{}})
            staged.journal()
        os.kill(os.getpid(), signal.SIGKILL)
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert proc.returncode == -9, proc.stderr
    assert not (out / "a.json").exists()
    with dbsj.Store(db) as store:
        assert (out / "a.json").read_text() == "complete\n"
        assert store.count("pending_outputs") == 0
        assert [e.kind for e in dbsj.Ledger(store).entries()] == ["test.step"]
    assert [p.name for p in out.iterdir()] == ["a.json"]


def test_crash_before_commit_leaves_only_a_temporary_that_is_swept(tmp_path):
    db, out = tmp_path / "s.duckdb", tmp_path / "out"
    script = textwrap.dedent(f"""
        import os, signal, dbsj
        from dbsj.store.outputs import StagedOutputs
        store = dbsj.Store({str(db)!r})
        staged = StagedOutputs(store, "test")
        with staged.open({str(out / 'a.json')!r}) as fh:
            fh.write("complete\\n")
        store.con.execute("BEGIN TRANSACTION")
        dbsj.Ledger(store).append("test.step", "x", {{}})
        staged.journal()
        os.kill(os.getpid(), signal.SIGKILL)
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert proc.returncode == -9, proc.stderr
    with dbsj.Store(db) as store:
        assert not (out / "a.json").exists()
        assert store.count("pending_outputs") == 0
        assert dbsj.Ledger(store).entries() == []
    assert len(sweep_temporaries(out)) == 1
    assert list(out.iterdir()) == []


def test_failpoints_are_declared_and_off_by_default(monkeypatch):
    name = _failpoints.declare("test.point", "a point only this test reaches")
    _failpoints.failpoint(name)  # unarmed: nothing happens
    monkeypatch.setenv(_failpoints.ENV, "test.point=raise")
    with pytest.raises(_failpoints.FailpointHit):
        _failpoints.failpoint(name)
    monkeypatch.setenv(_failpoints.ENV, "other.point")
    _failpoints.failpoint(name)
    with pytest.raises(ValueError):
        _failpoints.failpoint("never.declared")


def test_armed_failpoint_kills_the_process(tmp_path):
    script = ("from dbsj import _failpoints as f; n = f.declare('test.kill', 'x'); f.failpoint(n); print('survived')")
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          env={**os.environ, "DBSJ_FAILPOINTS": "test.kill"})
    assert proc.returncode == -9 and "survived" not in proc.stdout


def test_a_step_that_died_is_closed_on_the_ledger_when_the_store_opens(tmp_path):
    from dbsj.store import steps

    db = tmp_path / "s.duckdb"
    seen = []
    steps.on_died("test.step", lambda store, subject, detail: seen.append((subject, detail)))
    with dbsj.Store(db) as store:
        finished = steps.begin_step(store, "test.step", "done-one", {"n": 1})
        with store.transaction():
            steps.end_step(store, finished)
        steps.begin_step(store, "test.step", "dead-one", {"n": 2})
        steps.begin_step(store, "test.unhandled", "left", {})
    with dbsj.Store(db) as store:
        kinds = [(e.kind, e.subject) for e in dbsj.Ledger(store).entries()]
        assert kinds == [("test.step.begun", "done-one"), ("test.step.begun", "dead-one"),
                         ("test.unhandled.begun", "left"), ("test.step.died", "dead-one")]
        assert seen == [("dead-one", {"n": 2})]
        assert [(k, s) for _i, k, s, _d in steps.open_steps(store)] == [("test.unhandled", "left")]
        dbsj.Ledger(store).verify()
