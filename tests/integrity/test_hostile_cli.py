"""The command line never shows a Python traceback: store errors, file errors and even a fault in dbsj itself
end in one line and an exit code."""

from __future__ import annotations

import dbsj
from dbsj import cli


def test_an_os_error_names_the_file(tmp_path, capsys):
    db = tmp_path / "s.duckdb"
    dbsj.Store(db).close()
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    rc = cli.main(["pool", "export", "targets", "--out", str(blocker / "t.csv"), "--db", str(db)])
    err = capsys.readouterr().err
    assert rc == 2 and "文件操作失败" in err and "not-a-folder" in err and "Traceback" not in err, err


def test_a_fault_in_dbsj_is_one_line_not_a_traceback(tmp_path, capsys, monkeypatch):
    import dbsj.intake

    def broken(*_a, **_kw):
        raise RuntimeError("an invariant was broken")

    monkeypatch.setattr(dbsj.intake, "export_pool", broken)
    db = tmp_path / "s.duckdb"
    dbsj.Store(db).close()
    rc = cli.main(["pool", "export", "targets", "--out", str(tmp_path / "t.csv"), "--db", str(db)])
    err = capsys.readouterr().err
    assert rc == 2 and "内部错误" in err and "an invariant was broken" in err and "Traceback" not in err, err
    assert "DBSJ_DEBUG" in err


def test_a_duckdb_error_during_use_is_a_store_error(tmp_path, capsys, monkeypatch):
    import duckdb

    import dbsj.intake

    def fails(store, *_a, **_kw):
        store.execute("SELECT * FROM no_such_table")

    monkeypatch.setattr(dbsj.intake, "export_pool", fails)
    db = tmp_path / "s.duckdb"
    dbsj.Store(db).close()
    rc = cli.main(["pool", "export", "targets", "--out", str(tmp_path / "t.csv"), "--db", str(db)])
    err = capsys.readouterr().err
    assert rc == 2 and "存储文件" in err and "s.duckdb" in err and "Traceback" not in err, err
    assert issubclass(duckdb.CatalogException, duckdb.Error)
