"""Builders for draw tests: small pools in a real in-memory store and plans, written for these tests."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pyarrow as pa

import dbsj
from pooldata import insert, uscc  # noqa: F401  (re-exported for the tests here)

PREFECTURES = ("650100", "650200", "652300", "659001")
CLASSES = ("A", "B", "C", "D")


def targets(n: int, *, start: int = 0, status: str = "存续") -> list[dict[str, Any]]:
    out = []
    for i in range(start, start + n):
        region = PREFECTURES[i % len(PREFECTURES)]
        county = region if region.startswith("6590") else region[:4] + f"{(i % 3) + 2:02d}"
        out.append({"uscc": uscc(i, region), "name": f"企业{i}", "entity_kind": "企业" if i % 5 else "个体工商户",
                    "status": status, "region": county, "office": f"所{i % 4}", "industry": "F5211" if i % 2 else "H6210",
                    "credit_class": CLASSES[(i // 4) % 4] if i % 11 else None, "tags": ["食品"] if i % 3 == 0 else []})
    return out


def items() -> list[dict[str, Any]]:
    return [{"code": "SC-A07", "name": "公示信息抽查", "department": "市场监管", "category": "general"},
            {"code": "SC-B01", "name": "食品经营", "department": "市场监管", "category": "key", "target_kinds": ["企业"]},
            {"code": "WJ-01", "name": "公共场所卫生", "department": "卫生健康", "category": "general"}]


def inspectors() -> list[dict[str, Any]]:
    out = []
    for region in PREFECTURES:
        for dept, scope in (("市场监管", ("SC-A07", "SC-B01")), ("卫生健康", ("WJ-01",))):
            for j in range(4):
                sid = f"{dept[:1]}{region}{j}"
                out.append({"staff_id": sid, "name": sid, "department": dept, "region": region, "beat": f"所{j + 10}",
                            "certificate_no": "Z" + sid, "certificate_expiry": dt.date(2026, 12, 31),
                            "item_scope": scope, "status": "在岗"})
    return out


def plan(*tasks: dict[str, Any], plan_id: str = "XJ2023") -> dbsj.Plan:
    full = []
    for t in tasks:
        full.append({"name": t["id"], "sponsor": "市场监管", "items": ["SC-A07"], "start": "2023-07-01",
                     "sampling": {"strata": ["credit_class"], "quota": "不低于10%",
                                  "by_class": {"A": "不低于5%", "D": "不低于50%"}},
                     "batches": [{"name": "第一批", "deadline": "2023-07-20"}, {"name": "第二批", "deadline": "2023-10-15"}],
                     **t})
    return dbsj.Plan.model_validate({"id": plan_id, "year": 2023, "authority": "新疆维吾尔自治区市场监督管理局",
                                     "title": "2023 年度部门联合双随机抽查计划", "tasks": full})


def populate(store: dbsj.Store, n: int = 120) -> None:
    insert(store, "items", items())
    insert(store, "targets", targets(n))
    insert(store, "inspectors", inspectors())


def seals(draw_id: str) -> bytes:
    """A fixed sealing key per draw id, for tests that compare two draws byte for byte (in production the
    seal comes from the operating system's CSPRNG at commit time)."""
    import hashlib

    return hashlib.sha256(b"dbsj-test-seal|" + draw_id.encode("utf-8")).digest()
