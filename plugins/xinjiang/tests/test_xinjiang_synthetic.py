"""What users of the synthetic province rely on: valid, unique USCCs; realistic mixes; same options, same bytes."""

from __future__ import annotations

import collections
import datetime as dt
import json
import os
import subprocess
import sys

import pyarrow as pa
import pytest
from stdnum.cn import uscc as stdnum_uscc

import dbsj
from dbsj.testing.conformance import batches_digest
from dbsj_xinjiang import generate
from dbsj_xinjiang.catalogue import ITEMS, USCC_TYPE
from dbsj_xinjiang.plugin import dbsj_workday

N = 20_000


@pytest.fixture(scope="module")
def targets() -> pa.Table:
    return pa.Table.from_batches(list(generate("targets", {"targets": str(N)})))


@pytest.fixture(scope="module")
def inspectors() -> pa.Table:
    return pa.Table.from_batches(list(generate("inspectors", {"targets": str(N)})))


def test_usccs_are_valid_per_stdnum_unique_and_agree_with_the_row(targets: pa.Table) -> None:
    rows = targets.select(["uscc", "entity_kind", "region"]).to_pylist()
    assert all(stdnum_uscc.is_valid(r["uscc"]) for r in rows)
    assert len({r["uscc"] for r in rows}) == N
    for r in rows:
        assert r["uscc"][0] == "9"
        assert r["uscc"][1] == USCC_TYPE.get(r["entity_kind"], "1")
        assert r["uscc"][2:8] == r["region"]


def test_regions_sit_in_their_prefecture_and_urumqi_is_largest(targets: pa.Table) -> None:
    regions = targets.column("region").to_pylist()
    prefectures = collections.Counter(r[:4] + "00" for r in regions)
    assert set(prefectures) <= set(dbsj.XINJIANG_PREFECTURES) | {"659000"}
    assert len(prefectures) == 15
    assert prefectures.most_common(1)[0][0] == "650100"
    for row in targets.select(["region", "authority", "office"]).to_pylist()[:2000]:
        assert row["office"].startswith(row["authority"])
        assert row["office"].endswith("市场监督管理所")


def test_mixes_of_kinds_statuses_and_credit_classes_are_realistic(targets: pa.Table) -> None:
    share = lambda col: {k: v / N for k, v in collections.Counter(targets.column(col).to_pylist()).items()}  # noqa: E731
    kinds, statuses, credit = share("entity_kind"), share("status"), share("credit_class")
    assert 0.67 < kinds["个体工商户"] < 0.73
    assert 0.24 < kinds["企业"] + kinds.get("分支机构", 0) < 0.30
    assert 0.01 < kinds["农民专业合作社"] < 0.03
    assert statuses["存续"] + statuses["在业"] > 0.85
    assert {"吊销", "注销", "迁出"} <= set(statuses)
    assert credit["A"] + credit["B"] > 0.8
    assert 0.01 <= credit["D"] <= 0.02
    assert 0 < credit["C"] < 0.1 and credit["U"] > 0.02


def test_industries_dates_and_names(targets: pa.Table) -> None:
    rows = targets.to_pylist()[:3000]
    assert all(len(r["industry"]) == 3 and r["industry"][0] in "ABCDEFGHIJKLMNOPQRST" for r in rows)
    assert all(dt.date(1992, 1, 1) <= r["established"] <= dt.date(2022, 12, 31) for r in rows)
    enterprise = [r["name"] for r in rows if r["entity_kind"] == "企业"]
    assert all(n.endswith("公司") for n in enterprise)
    assert any(n.startswith("乌鲁木齐") for n in enterprise)
    assert any(r["tags"] for r in rows) and any(not r["tags"] for r in rows)


def test_inspectors_per_department_with_expired_certificates_experts_and_conflicts(
        inspectors: pa.Table, targets: pa.Table) -> None:
    rows = inspectors.to_pylist()
    assert 2000 <= len(rows) <= 8000
    assert len({r["staff_id"] for r in rows}) == len(rows)
    assert len({r["certificate_no"] for r in rows}) == len(rows)
    by_dept = {d: [c for c, _n, dept, *_ in ITEMS if dept == d] for d in {r["department"] for r in rows}}
    assert len(by_dept) >= 8
    assert all(r["item_scope"] == by_dept[r["department"]] for r in rows)
    expired = sum(r["certificate_expiry"] < dt.date(2023, 7, 1) for r in rows) / len(rows)
    assert 0.03 < expired < 0.08
    assert 0.005 < sum(r["expert"] for r in rows) / len(rows) < 0.04
    assert sum(r["status"] == "在岗" for r in rows) / len(rows) > 0.85
    conflicts = [u for r in rows for u in r["conflicts"]]
    assert conflicts and len(conflicts) < 0.03 * len(rows)
    assert set(conflicts) <= set(targets.column("uscc").to_pylist())


def test_items_span_departments_and_categories() -> None:
    items = pa.Table.from_batches(list(generate("items"))).to_pylist()
    assert len({i["department"] for i in items}) >= 8
    assert {i["category"] for i in items} == {"key", "general"}
    assert len({i["code"] for i in items}) == len(items)
    assert any(i["code"] == "SC-A07" and i["name"] == "公示信息抽查" for i in items)


def test_seed_changes_the_data_and_parameters_are_checked() -> None:
    a = batches_digest(list(generate("targets", {"targets": "500", "seed": "a"})))
    b = batches_digest(list(generate("targets", {"targets": "500", "seed": "b"})))
    assert a != b
    with pytest.raises(dbsj.PluginError) as err:
        list(generate("targets", {"target": "5"}))
    assert err.value.plugin == "xinjiang" and "target" in str(err.value)


_SCRIPT = """
import json
from dbsj.testing.conformance import batches_digest
from dbsj_xinjiang import generate
print(json.dumps({k: batches_digest(list(generate(k, {"targets": "5000", "seed": "x"}))) for k in ("items", "targets", "inspectors")}))
"""


def test_same_options_same_bytes_across_processes() -> None:
    digests = []
    for hashseed in ("1", "4242"):
        env = {**os.environ, "PYTHONHASHSEED": hashseed}
        out = subprocess.run([sys.executable, "-c", _SCRIPT], env=env, capture_output=True, text=True, check=True)
        digests.append(json.loads(out.stdout))
    assert digests[0] == digests[1]
    here = {k: batches_digest(list(generate(k, {"targets": "5000", "seed": "x"}))) for k in ("items", "targets", "inspectors")}
    assert here == digests[0]


def test_workday_hook_knows_xinjiang_festivals_only() -> None:
    assert dbsj_workday(dt.date(2023, 4, 21)) is False  # 肉孜节
    assert dbsj_workday(dt.date(2023, 6, 29)) is False  # 古尔邦节
    assert dbsj_workday(dt.date(2023, 5, 4)) is None  # an ordinary day: the national calendar decides
    assert dbsj_workday(dt.date(2031, 4, 21)) is None  # a year it does not know
