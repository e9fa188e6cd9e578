"""Hypothesis strategies for dbsj's domain: items, targets (valid USCCs), inspectors, plans, whole pools.

Every value drawn is valid twice over: as a pydantic model and for set-wise intake (region codes
intake knows, dates not after the clock's 2023 plan year, no list separators inside list elements).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from hypothesis import strategies as st
from stdnum.cn import uscc as _uscc

from dbsj.models import (
    DEPARTMENTS,
    XINJIANG_PREFECTURES,
    CheckMethod,
    CreditClass,
    EntityKind,
    Inspector,
    InspectorStatus,
    Item,
    ItemCategory,
    Plan,
    RegistrationStatus,
    Target,
)

__all__ = ["usccs", "region_codes", "items", "targets", "inspectors", "plans", "pools"]

_ORG_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_TYPE = {EntityKind.INDIVIDUAL: "2", EntityKind.COOPERATIVE: "3"}
_BRAND = "鑫源华泰恒昌盛丰瑞祥宏达金天新安永兴隆福佳博通广嘉汇德明诚信和美康"
_TRADE = ("商贸有限公司", "餐饮店", "便利店", "建筑工程有限公司", "物流有限公司", "种植农民专业合作社", "信息技术有限公司")
_SURNAMES = "王李张刘陈杨赵黄周吴徐孙马朱胡郭何高林罗"
_GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平"
_TAGS = ("食品经营", "食品生产", "特种设备使用单位", "建筑施工", "网络交易", "排污许可", "公共场所")
_INDUSTRIES = ("A01", "C13", "C14", "E47", "F51", "F52", "G54", "H61", "H62", "I65", "L72", "O80")
_LAST_DAY = dt.date(2022, 12, 31)  # the day before the plan year: never "in the future" on a 2023 clock


def region_codes() -> st.SearchStrategy[str]:
    """Six-digit county codes under the 14 prefectures of Xinjiang (GB/T 2260 prefixes)."""
    return st.builds(lambda p, n: p[:4] + f"{n:02d}", st.sampled_from(sorted(XINJIANG_PREFECTURES)),
                     st.integers(1, 30))


@st.composite
def usccs(draw: st.DrawFn, kind: EntityKind | None = None, region: str | None = None) -> str:
    """Valid 统一社会信用代码 (GB 32100 check digit), for ``kind`` and ``region`` when given."""
    type_digit = _USCC_TYPE.get(kind, "1") if kind is not None else draw(st.sampled_from("123"))
    region = region or draw(region_codes())
    body = draw(st.text(_ORG_ALPHABET, min_size=9, max_size=9))
    stem = "9" + type_digit + region + body
    return stem + _uscc.calc_check_digit(stem)


def _chinese(chars: str, lo: int, hi: int) -> st.SearchStrategy[str]:
    return st.text(st.sampled_from(chars), min_size=lo, max_size=hi)


@st.composite
def items(draw: st.DrawFn, department: str | None = None, code: str | None = None) -> Item:
    """One item of the list; ``department`` and ``code`` fixed when given."""
    dept = department or draw(st.sampled_from(DEPARTMENTS))
    code = code or draw(st.from_regex(r"[A-Z]{2}-[A-H][0-9]{2}", fullmatch=True))
    return Item(
        code=code,
        name=draw(_chinese(_BRAND, 2, 6)) + "检查",
        department=dept,
        basis=draw(st.none() | st.just("《中华人民共和国行政处罚法》")),
        subject=f"{dept}部门",
        target_kinds=tuple(draw(st.lists(st.sampled_from(list(EntityKind)), unique=True, max_size=3))),
        content=draw(st.none() | _chinese(_BRAND, 2, 10)),
        methods=tuple(draw(st.lists(st.sampled_from(list(CheckMethod)), unique=True, max_size=3))),
        category=draw(st.sampled_from(list(ItemCategory))),
    )


@st.composite
def targets(draw: st.DrawFn) -> Target:
    """One market entity with a valid USCC whose type digit and region agree with its fields."""
    kind = draw(st.sampled_from(list(EntityKind)))
    region = draw(region_codes())
    prefecture = XINJIANG_PREFECTURES[region[:4] + "00"]
    return Target(
        uscc=draw(usccs(kind, region)),
        name=prefecture + draw(_chinese(_BRAND, 2, 2)) + draw(st.sampled_from(_TRADE)),
        entity_kind=kind,
        status=draw(st.sampled_from(list(RegistrationStatus))),
        authority=f"{prefecture}市场监督管理局",
        office=draw(st.none() | st.sampled_from([f"{prefecture}市场监督管理局{p}市场监督管理所" for p in ("城东", "城西")])),
        region=region,
        industry=draw(st.none() | st.sampled_from(_INDUSTRIES)),
        established=draw(st.none() | st.dates(dt.date(1990, 1, 1), _LAST_DAY)),
        credit_class=draw(st.sampled_from(list(CreditClass))),
        tags=tuple(draw(st.lists(st.sampled_from(_TAGS), unique=True, max_size=3))),
    )


@st.composite
def inspectors(draw: st.DrawFn, item_codes: Sequence[str] = (), department: str | None = None,
               staff_id: str | None = None) -> Inspector:
    """One inspector whose item scope is drawn from ``item_codes``."""
    dept = department or draw(st.sampled_from(DEPARTMENTS))
    region = draw(region_codes())
    return Inspector(
        staff_id=staff_id or draw(st.from_regex(r"[A-Z]{2}[0-9]{6}", fullmatch=True)),
        name=draw(_chinese(_SURNAMES, 1, 1)) + draw(_chinese(_GIVEN, 1, 2)),
        department=dept,
        unit=f"{dept}执法大队",
        region=region,
        beat=draw(st.none() | st.sampled_from(("城东", "城西", "城南", "城北"))),
        certificate_no=draw(st.from_regex(r"65[0-9]{11}", fullmatch=True)),
        certificate_expiry=draw(st.dates(dt.date(2021, 1, 1), dt.date(2030, 12, 31))),
        item_scope=tuple(draw(st.lists(st.sampled_from(list(item_codes)), unique=True, max_size=len(item_codes)))
                         if item_codes else ()),
        expert=draw(st.booleans()),
        status=draw(st.sampled_from(list(InspectorStatus))),
        conflicts=tuple(draw(st.lists(usccs(), max_size=2, unique=True))),
    )


@st.composite
def plans(draw: st.DrawFn, items_: Sequence[Item], *, year: int = 2023, max_tasks: int = 3) -> Plan:
    """A valid :class:`dbsj.Plan` whose tasks use only ``items_`` (sponsors and partners are their departments)."""
    if not items_:
        raise ValueError("plans() needs at least one item")
    by_dept: dict[str, list[str]] = {}
    for it in items_:
        by_dept.setdefault(it.department, []).append(it.code)
    depts = sorted(by_dept)
    n_tasks = draw(st.integers(1, max_tasks))
    tasks = []
    for n in range(n_tasks):
        sponsor = draw(st.sampled_from(depts))
        partners = draw(st.lists(st.sampled_from([d for d in depts if d != sponsor] or [sponsor]),
                                 unique=True, max_size=2)) if len(depts) > 1 else []
        codes = draw(st.lists(st.sampled_from(by_dept[sponsor]), min_size=1, unique=True))
        for p in partners:
            codes.append(draw(st.sampled_from(by_dept[p])))
        start = draw(st.dates(dt.date(year, 3, 1), dt.date(year, 6, 30)))
        first = start + dt.timedelta(days=draw(st.integers(20, 90)))
        batches = [{"name": "第一批", "deadline": first}]
        if draw(st.booleans()):
            batches.append({"name": "第二批", "deadline": first + dt.timedelta(days=draw(st.integers(30, 90)))})
        by_class = draw(st.booleans())
        sampling: dict = ({"strata": ["credit_class"], "by_class": {"A": "不低于3%", "B": "5%", "C": "20%", "D": "50%"},
                           "quota": "5%"} if by_class else
                          {"quota": draw(st.sampled_from(["不低于3%", "原则上不高于10%", "5%-20%", "2户", 0.05]))})
        tasks.append({
            "id": f"T{n + 1:03d}", "name": f"{sponsor}随机抽查任务{n + 1}", "sponsor": sponsor,
            "partners": partners, "items": list(dict.fromkeys(codes)), "sampling": sampling,
            "start": start, "batches": batches,
        })
    return Plan.model_validate({"id": f"PLAN-{year}", "year": year, "authority": "新疆维吾尔自治区市场监督管理局",
                                "title": f"{year}年度部门联合双随机抽查计划", "tasks": tasks})


@st.composite
def pools(draw: st.DrawFn, *, max_items: int = 6, max_targets: int = 20, max_inspectors: int = 10
          ) -> dict[str, list]:
    """``{"items": [...], "targets": [...], "inspectors": [...]}`` with unique keys; scopes use the items drawn."""
    codes = draw(st.lists(st.from_regex(r"[A-Z]{2}-[A-H][0-9]{2}", fullmatch=True), min_size=1, max_size=max_items,
                          unique=True))
    item_list = [draw(items(code=c)) for c in codes]
    target_list = draw(st.lists(targets(), max_size=max_targets, unique_by=lambda t: t.uscc))
    ids = draw(st.lists(st.from_regex(r"[A-Z]{2}[0-9]{6}", fullmatch=True), max_size=max_inspectors, unique=True))
    inspector_list = [draw(inspectors(codes, staff_id=s)) for s in ids]
    return {"items": item_list, "targets": target_list, "inspectors": inspector_list}
