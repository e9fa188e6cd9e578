"""Assessment metrics (exact on a known store) and the self-contained HTML report in headless Chromium."""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import pytest

import dbsj
import lcdata
from dbsj.cli import main


def _work(store, d, tmp_path):
    lcdata.visit(store, "T1", d.t1[3], {"A07": "未发现问题", "B01": "发现问题经责令已改正"}, disposition="责令整改")
    dbsj.record_result(store, lcdata.result("T1", d.t1[0], "S1", {"A07": "注销"}, on="2023-04-03"))
    dbsj.record_result(store, lcdata.result("T2", d.t2[0], "S2", {"A07": "未发现问题"}, on="2023-05-30"))
    dbsj.publish(store, tmp_path / "pub")


def test_metrics_are_exact(seeded, tmp_path):
    store, d = seeded
    _work(store, d, tmp_path)
    a = dbsj.assess(store)
    o = a["overall"]
    assert (o["tasks"], o["drawn"], o["inspected"]) == (2, 7, 3)
    assert o["completion"] == round(3 / 7, 6)
    # 4 results published on 2023-06-01; the one inspected 2023-04-03 was due 2023-05-04 (Qingming, May Day, make-up Sunday Apr 23): late.
    assert (o["published_or_due"], o["on_time_count"], o["on_time"]) == (4, 3, 0.75)
    assert o["joint_share"] == 0.5 and o["credit_linked_share"] == 0.5
    # problems found in operation: 1 of 3 inspected targets; the 注销 status counts apart.
    assert (o["problems"], o["detection_rate"], o["status_count"], o["status_rate"]) == (1, round(1 / 3, 6), 1, round(1 / 3, 6))
    # visits per inspector: S1 and S3 have 4 (T1), S2 and S4 have 3 (T2).
    assert o["workload"] == {"inspectors": 4, "min": 3, "max": 4, "mean": 3.5, "stdev": 0.5, "cv": 0.1429}
    depts = {r["department"]: r for r in a["departments"]}
    assert depts["卫生健康"]["tasks"] == 1 and depts["卫生健康"]["joint_share"] == 1.0
    assert depts["市场监管"]["tasks"] == 2 and depts["市场监管"]["credit_linked_share"] == 0.5
    assert depts["卫生健康"]["workload"]["inspectors"] == 1
    prefs = {r["prefecture"]: r for r in a["prefectures"]}
    assert set(prefs) == {"650100", "650200", "654000", "659001"}  # 6590xx stand alone
    assert prefs["650100"]["name"] == "乌鲁木齐市" and prefs["650100"]["drawn"] == 3
    assert prefs["659001"]["name"] == "石河子市"
    ratios = {(r["task_id"], r["credit_class"]): r for r in a["credit_ratios"]}
    assert set(k[0] for k in ratios) == {"T1"}  # T2 is not credit-linked
    assert ratios[("T1", "D")]["eligible"] == 2 and ratios[("T1", "D")]["drawn"] == 1
    assert ratios[("T1", "D")]["required_min"] == 0.05
    t = a["timeliness"]
    assert (t["on_time"], t["late"], t["pending"], t["overdue"]) == (3, 1, 0, 0)


def test_assess_cli_json_is_one_object(tmp_path, pm, capsys):
    path = tmp_path / "s.duckdb"
    with dbsj.Store(path) as s:
        d = lcdata.seed(s)
        lcdata.seed_eligible(s, d)
        _work(s, d, tmp_path)
    assert main(["assess", "--db", str(path), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["overall"]["drawn"] == 7 and len(data["departments"]) == 2
    assert main(["assess", "--db", str(path)]) == 0
    assert "问题检出率" in capsys.readouterr().out


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.browser
@pytest.mark.skipif(CHROMIUM is None, reason="headless Chromium not installed (apt-get install chromium); report not rendered")
def test_report_renders_in_headless_chromium_with_charts_and_no_errors(seeded, tmp_path):
    store, d = seeded
    _work(store, d, tmp_path)
    out = tmp_path / "report.html"
    assert main(["report", "--db", ":memory:", "--out", str(tmp_path / "empty.html")]) == 0  # an empty store renders too
    dbsj.write_report(store, out)
    page = out.read_text(encoding="utf-8")
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page)  # nothing fetched from the network
    profile = tmp_path / "profile"
    proc = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--no-first-run", f"--user-data-dir={profile}", "--enable-logging=stderr",
         "--v=0", "--virtual-time-budget=5000", "--dump-dom", out.as_uri()],
        capture_output=True, text=True, timeout=120)
    dom, log = proc.stdout, proc.stderr
    assert proc.returncode == 0, log[-2000:]
    assert not re.search(r"<body[^>]*data-chart-error", dom)
    assert not re.search(r":CONSOLE[:(]", log), log[-2000:]  # the page logs nothing: any console line is an error
    drawn = int(re.search(r'data-charts-drawn="(\d+)"', dom).group(1))
    for chart in ("chart-coverage", "chart-credit", "chart-timeliness", "chart-workload"):
        block = dom.split(f'id="{chart}"', 1)[1].split("</section>", 1)[0]
        assert "<svg" in block and 'class="bar"' in block, chart
    bars = re.findall(r'class="bar" data-value="([0-9.]+)"', dom)
    assert len(bars) == drawn and drawn >= 10
    assert "乌鲁木齐市" in dom and "计划完成率" in dom
