"""``dbsj demo`` on a small province, through the CLI: fresh store in ./demo/, summary, --json, never ./dbsj.duckdb."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import dbsj
from dbsj.cli import main

N = 10_000


@pytest.fixture
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_demo_json_builds_the_province_in_demo_folder(in_tmp: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (in_tmp / "dbsj.duckdb").write_bytes(b"the user's own store")
    assert main(["demo", "--targets", str(N), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    pools = out["steps"]["pools"]
    assert pools["targets"] == {**pools["targets"], "read": N, "accepted": N, "quarantined": 0}
    assert pools["items"]["accepted"] == 35 and pools["inspectors"]["quarantined"] == 0
    summary = out["steps"]["summary"]
    by_pref = summary["targets_by_prefecture"]
    assert sum(p["total"] for p in by_pref.values()) == N
    assert max(by_pref, key=lambda k: by_pref[k]["total"]) == "650100"
    assert by_pref["650100"]["name"] == "乌鲁木齐市"
    assert set(summary["items_by_department"]) >= {"市场监管", "卫生健康", "生态环境"}
    assert summary["inspectors_by_department"]["市场监管"]["expired"] > 0
    assert out["now"].startswith("2023-")  # the plan year's clock
    assert out["order"][:2] == ["pools", "summary"] and list(out["steps"]) == out["order"]
    # the store lives in ./demo/, the user's ./dbsj.duckdb is untouched
    assert (in_tmp / "demo" / "dbsj.duckdb").exists()
    assert (in_tmp / "dbsj.duckdb").read_bytes() == b"the user's own store"
    with dbsj.Store(in_tmp / "demo" / "dbsj.duckdb", read_only=True) as store:
        assert store.count("targets") == N


def test_demo_prints_a_chinese_first_summary(in_tmp: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--targets", "1000"]) == 0
    text = capsys.readouterr().out
    assert "检查对象名录库：地州 × 信用风险分类" in text and "乌鲁木齐市" in text
    assert "执法检查人员名录库" in text and "抽查事项清单" in text
    with dbsj.Store(in_tmp / "demo" / "dbsj.duckdb", read_only=True) as store:
        assert store.count("targets") == 1000


def test_demo_refuses_the_users_store(in_tmp: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--targets", "1000", "--db", "dbsj.duckdb"]) == 2
    assert "dbsj.duckdb" in capsys.readouterr().err
    assert not (in_tmp / "dbsj.duckdb").exists()


def test_run_demo_api_runs_the_steps_it_is_given(tmp_path: Path) -> None:
    from dbsj.demo import STEPS

    dbsj.run_demo(tmp_path / "d", targets=1200, json=True, steps=STEPS[:2])
    (tmp_path / "d" / "records").mkdir()  # what a later step leaves behind
    result = dbsj.run_demo(tmp_path / "d", targets=1000, json=True, steps=STEPS[:2])  # a second run starts fresh
    assert result["order"] == ["pools", "summary"]
    assert not (tmp_path / "d" / "records").exists()
    with dbsj.Store(tmp_path / "d" / "dbsj.duckdb", read_only=True) as store:
        assert store.count("targets") == 1000
    assert result["steps"]["pools"]["targets"]["accepted"] == 1000
    assert Path(result["db"]).parent == tmp_path / "d"


def test_demo_will_not_empty_a_folder_it_did_not_make(tmp_path: Path) -> None:
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep", encoding="utf-8")
    with pytest.raises(dbsj.InputError):
        dbsj.run_demo(tmp_path / "mine", targets=1000, json=True)
    assert (tmp_path / "mine" / "notes.txt").read_text(encoding="utf-8") == "keep"


def test_demo_refuses_a_province_too_small_for_its_plan(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(dbsj.InputError, match="1000"):
        dbsj.run_demo(tmp_path / "d", targets=10, json=True)
    assert not (tmp_path / "d").exists()
