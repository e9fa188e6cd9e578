"""Publication outputs are safe whatever the names: authorities become file names only when safe, every
path stays inside --out, CSV cells never run as formulas, XLSX cells are strings. Results refer only to
a standing draw."""

from __future__ import annotations

import csv
import io
import zipfile

import pytest

import dbsj
import lcdata
from dbsj.cli import main


def _record_some(store, d):
    dbsj.record_result(store, lcdata.result("T1", d.t1[0], "S1", {"A07": "未发现问题"}))
    dbsj.record_result(store, lcdata.result("T2", d.t2[0], "S2", {"A07": "未发现问题"}))


def _nothing_published(store, out):
    assert store.count("publications") == 0 and store.count("publication_entries") == 0
    assert not dbsj.Ledger(store).entries("publication.batch")
    assert not out.exists() or [p for p in out.rglob("*") if p.is_file()] == []


def test_an_authority_with_path_characters_stays_inside_out(seeded, tmp_path):
    store, d = seeded
    _record_some(store, d)
    out = tmp_path / "pub2"
    (tmp_path / "evil").mkdir()  # the directory the traversal aimed at exists
    [batch] = dbsj.publish(store, out, authority="evil/../../AUTHESC")
    written = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file())
    assert written == [f"pub2/2023-001-evil_.._.._AUTHESC.{ext}" for ext in ("csv", "json", "xlsx")]
    assert batch.authority == "evil/../../AUTHESC" and batch.batch_id == "2023-001-evil_.._.._AUTHESC"


@pytest.mark.parametrize("authority", ["局\u202e名", "局\x00", "局" * 40, ".hidden"])
def test_an_authority_that_cannot_name_a_file_is_refused_before_anything_is_written(seeded, tmp_path, authority):
    store, d = seeded
    _record_some(store, d)
    head = dbsj.Ledger(store).head()
    with pytest.raises(dbsj.InputError) as exc:
        dbsj.publish(store, tmp_path / "pub", authority=authority)
    assert "authority" in exc.value.render("en")
    _nothing_published(store, tmp_path / "pub")
    assert dbsj.Ledger(store).head() == head


def test_authorities_whose_file_names_collide_are_refused(seeded, tmp_path):
    store, d = seeded
    _record_some(store, d)
    dbsj.publish(store, tmp_path / "a", authority="某局/一处")
    dbsj.record_result(store, lcdata.result("T2", d.t2[1], "S2", {"A07": "未发现问题"}))
    with pytest.raises(dbsj.InputError, match="某局_一处"):
        dbsj.publish(store, tmp_path / "b", authority="某局_一处")
    assert store.count("publications") == 1


def test_the_cli_gives_a_clear_error_for_an_output_path_that_is_a_file(tmp_path, pm, capsys):
    db = tmp_path / "s.duckdb"
    with dbsj.Store(db) as s:
        _record_some(s, lcdata.seed(s))
    (tmp_path / "file").write_text("x")
    assert main(["publish", "--db", str(db), "--out", str(tmp_path / "file")]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and "file" in err
    assert main(["publish", "--db", str(db), "--out", str(tmp_path / "file" / "sub")]) == 2
    assert "Traceback" not in capsys.readouterr().err


def test_formula_cells_are_neutralised_in_csv_and_strings_in_xlsx(seeded, tmp_path):
    store, d = seeded
    store.execute("UPDATE targets SET name = '=HYPERLINK(\"http://evil.example/?x\",\"点击\")' WHERE uscc = ?", [d.t1[0]])
    store.execute("UPDATE items SET name = '-2+3' WHERE code = 'A07'")
    _record_some(store, d)
    [batch] = dbsj.publish(store, tmp_path / "pub")
    rows = list(csv.reader(io.StringIO(open(batch.files["csv"], encoding="utf-8-sig").read())))
    cells = [c for r in rows for c in r]
    assert "'=HYPERLINK(\"http://evil.example/?x\",\"点击\")" in cells and "'A07.-2+3" not in cells
    assert all(not c or c[0] not in "=+-@\t\r" for c in cells)
    with zipfile.ZipFile(batch.files["xlsx"]) as z:
        sheet = z.read("xl/worksheets/sheet1.xml").decode("utf-8")
        strings = z.read("xl/sharedStrings.xml").decode("utf-8")
    assert "<f>" not in sheet and "HYPERLINK" in strings  # kept as text, never a formula


@pytest.mark.parametrize("status", ["committed", "failed", "superseded", "revealing"])
def test_results_only_for_a_drawn_draw(seeded, status):
    store, d = seeded
    store.execute("UPDATE draws SET status = ? WHERE draw_id = 'D-T1-1'", [status])
    with pytest.raises(dbsj.ResultError):
        dbsj.record_result(store, lcdata.result("T1", d.t1[0], "S1", {"A07": "未发现问题"}))
    assert store.count("results") == 0


def test_results_refused_when_the_selection_differs_from_its_ledgered_reveal(seeded):
    store, d = seeded
    entry = dbsj.Ledger(store).append("draw.reveal", "D-T1-1", {"selected": 4})
    store.execute("UPDATE draws SET ledger_seq = ? WHERE draw_id = 'D-T1-1'", [entry.seq])
    dbsj.record_result(store, lcdata.result("T1", d.t1[0], "S1", {"A07": "未发现问题"}))  # 4 rows: it stands
    store.execute("INSERT INTO selections (draw_id, plan_id, task_id, stratum, rank, uscc, ticket) "
                  "VALUES ('D-T1-1', 'XJ-2023', 'T1', 'credit_class=B', 9, ?, 'ff')", [d.usccs[4]])
    store.execute("INSERT INTO assignments VALUES ('D-T1-1', 'XJ-2023', 'V-x', 'T1', ?, 'S1', '市场监管', NULL)",
                  [d.usccs[4]])
    before = store.count("results")
    with pytest.raises(dbsj.ResultError, match="audit"):
        dbsj.record_result(store, lcdata.result("T1", d.usccs[4], "S1", {"A07": "未发现问题"}))
    assert store.count("results") == before


@pytest.mark.parametrize("kind", ["draw.commit", "draw.failed"])
def test_results_refused_for_a_draw_marked_drawn_that_its_ledger_entry_says_was_not(seeded, kind):
    store, d = seeded
    entry = dbsj.Ledger(store).append(kind, "D-T1-1", {})
    store.execute("UPDATE draws SET ledger_seq = ? WHERE draw_id = 'D-T1-1'", [entry.seq])
    with pytest.raises(dbsj.ResultError, match=kind):
        dbsj.record_result(store, lcdata.result("T1", d.t1[0], "S1", {"A07": "未发现问题"}))
    assert store.count("results") == 0
