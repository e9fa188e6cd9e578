"""File names made from values, output paths, and CSV cells: the shared rules every writer follows."""

from __future__ import annotations

import duckdb
import pytest
from hypothesis import given
from hypothesis import strategies as st

import dbsj
from dbsj._csvcells import neutralise, neutralise_sql, restore, restore_sql
from dbsj._filenames import MAX_STEM_BYTES, distinct_stems, file_stem, inside


@pytest.mark.parametrize("value, stem", [("XJ2023-01", "XJ2023-01"), ("新疆维吾尔自治区市场监督管理局", "新疆维吾尔自治区市场监督管理局"),
                                         ("evil/../../AUTHESC", "evil_.._.._AUTHESC"), ("a b", "a_b")])
def test_stems_keep_letters_of_any_script_and_replace_the_rest(value, stem):
    assert file_stem(value, what="task id") == stem


@pytest.mark.parametrize("value", ["", " ", ".hidden", "a" * (MAX_STEM_BYTES + 1), "新" * 34, "T\x00", "T\u202e1",
                                   "T\r\n1", "T\u200b"])
def test_unusable_names_are_refused_with_the_field_named(value):
    with pytest.raises(dbsj.InputError) as exc:
        file_stem(value, what="task id")
    assert "task id" in exc.value.render("en")


def test_colliding_stems_are_refused_together():
    with pytest.raises(dbsj.InputError) as exc:
        distinct_stems(["T/1", "T_1"], what="task id")
    assert "'T/1'" in exc.value.render("en") and "'T_1'" in exc.value.render("en")
    with pytest.raises(dbsj.InputError):
        distinct_stems(["Ab", "aB"], what="task id")
    assert distinct_stems(["A", "B"], what="task id") == {"A": "A", "B": "B"}


def test_paths_must_stay_inside_the_output_folder(tmp_path):
    assert inside(tmp_path, tmp_path / "a" / "b.csv") == (tmp_path / "a" / "b.csv").resolve()
    with pytest.raises(dbsj.InputError):
        inside(tmp_path / "out", tmp_path / "out" / ".." / "escape.csv")
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "link").symlink_to(tmp_path)
    with pytest.raises(dbsj.InputError):
        inside(tmp_path / "out", tmp_path / "out" / "link" / "x.csv")


@pytest.mark.parametrize("cell", ['=HYPERLINK("http://evil.example/?x","点击")', "=cmd|' /C calc'!A0", "+1", "-1", "@SUM(A1)",
                                  "\tx", "\rx", "'quoted"])
def test_formula_leading_cells_are_neutralised(cell):
    assert neutralise(cell) == "'" + cell
    assert restore(neutralise(cell)) == cell


@given(st.one_of(st.none(), st.text()))
def test_restore_inverts_neutralise_in_python_and_sql(cell):
    assert restore(neutralise(cell)) == cell
    con = duckdb.connect()
    written, back = con.execute(f"SELECT {neutralise_sql('x')}, {restore_sql(neutralise_sql('x'))} FROM (SELECT ?::VARCHAR AS x)",
                                [cell]).fetchone()
    assert written == neutralise(cell) and back == cell
