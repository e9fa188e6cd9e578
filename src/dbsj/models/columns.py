"""Canonical columns of each pool: the one table that intake, the store, export and the models agree on.

A column has a canonical English name (export headers, Arrow batches from plug-ins, the store), a
Chinese header (``--headers zh`` export), a DuckDB type, and whether it is required, a list, or part
of the natural key. Header aliases met in real exports live in :mod:`dbsj.intake.aliases`.
"""

from __future__ import annotations

from typing import Literal

import attrs

__all__ = ["Column", "POOL_COLUMNS", "POOL_KINDS", "PoolKind", "natural_key", "columns_of"]

PoolKind = Literal["items", "targets", "inspectors", "history"]
POOL_KINDS: tuple[str, ...] = ("items", "targets", "inspectors", "history")


@attrs.frozen(slots=True)
class Column:
    name: str
    zh: str
    sql_type: str
    required: bool = False
    is_list: bool = False
    key: bool = False


POOL_COLUMNS: dict[str, tuple[Column, ...]] = {
    "items": (
        Column("code", "事项编码", "VARCHAR", required=True, key=True),
        Column("name", "事项名称", "VARCHAR", required=True),
        Column("department", "检查主体部门", "VARCHAR", required=True),
        Column("basis", "检查依据", "VARCHAR"),
        Column("subject", "检查主体", "VARCHAR"),
        Column("target_kinds", "检查对象", "VARCHAR[]", is_list=True),
        Column("content", "检查内容", "VARCHAR"),
        Column("methods", "检查方式", "VARCHAR[]", is_list=True),
        Column("category", "事项类别", "VARCHAR", required=True),
    ),
    "targets": (
        Column("uscc", "统一社会信用代码", "VARCHAR", required=True, key=True),
        Column("name", "企业名称", "VARCHAR", required=True),
        Column("entity_kind", "企业类型", "VARCHAR", required=True),
        Column("status", "登记状态", "VARCHAR", required=True),
        Column("authority", "登记机关", "VARCHAR"),
        Column("office", "管辖单位", "VARCHAR"),
        Column("region", "行政区划代码", "VARCHAR", required=True),
        Column("industry", "行业代码", "VARCHAR"),
        Column("established", "成立日期", "DATE"),
        Column("credit_class", "信用风险分类", "VARCHAR"),
        Column("tags", "监管标签", "VARCHAR[]", is_list=True),
    ),
    "inspectors": (
        Column("staff_id", "执法人员编号", "VARCHAR", required=True, key=True),
        Column("name", "姓名", "VARCHAR", required=True),
        Column("department", "所属部门", "VARCHAR", required=True),
        Column("unit", "所属单位", "VARCHAR"),
        Column("region", "行政区划代码", "VARCHAR"),
        Column("beat", "岗位管辖片区", "VARCHAR"),
        Column("certificate_no", "执法证号", "VARCHAR", required=True),
        Column("certificate_expiry", "执法证有效期", "DATE", required=True),
        Column("item_scope", "执法事项范围", "VARCHAR[]", is_list=True),
        Column("expert", "是否专家", "BOOLEAN"),
        Column("status", "人员状态", "VARCHAR"),
        Column("conflicts", "申报回避对象", "VARCHAR[]", is_list=True),
    ),
    "history": (
        Column("uscc", "统一社会信用代码", "VARCHAR", required=True, key=True),
        Column("item_code", "事项编码", "VARCHAR", required=True, key=True),
        Column("inspected_on", "检查日期", "DATE", required=True, key=True),
        Column("task_id", "任务编号", "VARCHAR", key=True),
        Column("staff_ids", "检查人员", "VARCHAR[]", is_list=True),
    ),
}


def columns_of(kind: str) -> tuple[Column, ...]:
    """The canonical columns of a pool kind, in export order."""
    try:
        return POOL_COLUMNS[kind]
    except KeyError:
        from dbsj.errors import InputError

        raise InputError(
            f"未知的名录库类型 {kind!r}，可选 {', '.join(POOL_KINDS)}",
            f"unknown pool kind {kind!r}; choose one of {', '.join(POOL_KINDS)}",
        ) from None


def natural_key(kind: str) -> tuple[str, ...]:
    """The natural key of a pool kind (upsert key, export sort order)."""
    return tuple(c.name for c in columns_of(kind) if c.key)
