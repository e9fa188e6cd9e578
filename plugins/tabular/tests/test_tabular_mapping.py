"""The tabular adapter: a department folder (GBK CSV, UTF-8-BOM CSV, XLSX) plus mapping.yaml into the pools."""

from __future__ import annotations

import shutil
from pathlib import Path

import pyarrow as pa
import pytest

import dbsj
from dbsj_tabular import load_mapping
from dbsj_tabular.plugin import dbsj_header_aliases, dbsj_provide_inspectors, dbsj_provide_targets

SAMPLE = Path(__file__).resolve().parents[1] / "examples" / "health-dept"


@pytest.fixture
def store():
    with dbsj.Store(":memory:") as s:
        yield s


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    dest = tmp_path / "dept"
    shutil.copytree(SAMPLE, dest)
    return dest


def _table(batches) -> pa.Table:  # noqa: ANN001
    return pa.Table.from_batches(list(batches))


def test_sample_folder_fills_the_three_pools(store: dbsj.Store, tmp_path: Path) -> None:
    reports = {k: dbsj.pull_pool(store, k, "tabular", {"folder": str(SAMPLE)}, quarantine_dir=tmp_path)
               for k in ("items", "targets", "inspectors")}
    assert {k: (r.read, r.quarantined) for k, r in reports.items()} == {"items": (4, 0), "targets": (12, 0),
                                                                        "inspectors": (6, 0)}
    # GBK file with Chinese headers, risk words mapped to classes, the rename of 责任区 applied
    row = store.execute("SELECT name, credit_class, office, entity_kind FROM targets WHERE name LIKE '%游泳馆%'").fetchone()
    assert row == ("昌吉市金盛游泳馆有限公司", "D", "昌吉市城南片区", "企业")
    # the folder's department fills the column the files lack; XLSX dates and 是/否 are read
    assert store.execute("SELECT DISTINCT department FROM inspectors").fetchall() == [("卫生健康",)]
    assert store.execute("SELECT certificate_expiry::VARCHAR, expert FROM inspectors WHERE staff_id = 'WJ0004'"
                         ).fetchone() == ("2027-09-30", True)
    assert store.execute("SELECT category FROM items WHERE code = 'WJ-A02'").fetchone() == ("key",)


def test_values_outside_the_map_pass_to_intake_and_are_quarantined(folder: Path, store: dbsj.Store,
                                                                  tmp_path: Path) -> None:
    csv = folder / "监管对象.csv"
    text = csv.read_bytes().decode("gbk").replace("较高风险", "特高风险", 1)
    csv.write_bytes(text.encode("gbk"))
    report = dbsj.pull_pool(store, "targets", "tabular", {"folder": str(folder)}, quarantine_dir=tmp_path)
    assert (report.read, report.accepted, report.quarantined) == (12, 11, 1)
    assert "特高风险" in Path(report.quarantine_file).read_text(encoding="utf-8-sig")


@pytest.mark.parametrize(("yaml_text", "line", "needle"), [
    ("department: 卫生健康\npools:\n  targets:\n    files: [监管对象.csv]\n    renme: {责任区: office}\n", 5, "renme"),
    ("pools:\n  targets:\n    files: [监管对象.csv]\n    rename: {责任区: beat}\n", 4, "beat"),
    ("pools:\n  targets:\n    files: [不存在.csv]\n", 3, "不存在.csv"),
])
def test_mapping_errors_name_the_plugin_file_and_line(folder: Path, yaml_text: str, line: int, needle: str) -> None:
    (folder / "mapping.yaml").write_text(yaml_text, encoding="utf-8")
    with pytest.raises(dbsj.PluginError) as err:
        load_mapping(folder)
    assert err.value.plugin == "tabular"
    assert f"mapping.yaml:{line}" in str(err.value)
    assert needle in str(err.value)


def test_unknown_option_and_missing_folder_are_errors(tmp_path: Path) -> None:
    with pytest.raises(dbsj.PluginError, match="fold"):
        dbsj_provide_targets({"fold": "x"})
    with pytest.raises(dbsj.PluginError) as err:
        dbsj_provide_targets({"folder": str(tmp_path / "nowhere")})
    assert "nowhere" in str(err.value)


def test_pool_absent_from_mapping_is_none(folder: Path) -> None:
    (folder / "mapping.yaml").write_text("pools:\n  targets:\n    files: [监管对象.csv]\n", encoding="utf-8")
    assert dbsj_provide_inspectors({"folder": str(folder)}) is None
    assert _table(dbsj_provide_targets({"folder": str(folder)})).num_rows == 12


def test_header_aliases_serve_department_headers_and_the_folder_mapping(monkeypatch: pytest.MonkeyPatch) -> None:
    base = dbsj_header_aliases()
    assert base["inspectors"]["执法证号码"] == "certificate_no"
    monkeypatch.setenv("DBSJ_TABULAR_FOLDER", str(SAMPLE))
    assert dbsj_header_aliases()["targets"]["被监督单位"] == "name"
    # merged into dbsj's table, so a direct file import understands the header too
    assert dbsj.header_aliases("targets")["被监督单位"] == "name"
