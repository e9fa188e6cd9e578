"""``dbsj demo`` on a small province, through the CLI: fresh store in ./demo/, summary, --json, never ./dbsj.duckdb."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import dbsj
from dbsj.cli import main

N = 20_000


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


def test_demo_prints_a_chinese_first_summary_and_starts_fresh(in_tmp: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--targets", "3000"]) == 0
    assert main(["demo", "--targets", "2000"]) == 0  # a second run starts from a fresh store
    text = capsys.readouterr().out
    assert "检查对象名录库：地州 × 信用风险分类" in text and "乌鲁木齐市" in text
    assert "执法检查人员名录库" in text and "抽查事项清单" in text
    with dbsj.Store(in_tmp / "demo" / "dbsj.duckdb", read_only=True) as store:
        assert store.count("targets") == 2000


def test_demo_refuses_the_users_store(in_tmp: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--targets", "10", "--db", "dbsj.duckdb"]) == 2
    assert "dbsj.duckdb" in capsys.readouterr().err
    assert not (in_tmp / "dbsj.duckdb").exists()


def test_run_demo_api_with_english_text(tmp_path: Path) -> None:
    dbsj.set_language("en")
    result = dbsj.run_demo(tmp_path / "d", targets=500, json=True)
    assert result["steps"]["pools"]["targets"]["accepted"] == 500
    assert Path(result["db"]).parent == tmp_path / "d"
