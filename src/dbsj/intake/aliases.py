"""Header aliases: the headers real department exports use, mapped to canonical pool columns.

A header matches a canonical column when, after :func:`header_key` (NFKC, no spaces, no ``*`` marks,
no ``(必填)`` notes, lower case), it equals the canonical English name, the column's Chinese header
(:attr:`dbsj.Column.zh`), or one of the aliases below. Plug-ins add aliases through the
``dbsj_header_aliases`` hook; an alias that maps to an unknown column, or that two sources map
differently, is a :class:`~dbsj.PluginError` naming the plug-in.
"""

from __future__ import annotations

import re
import unicodedata

from dbsj.errors import PluginError
from dbsj.models.columns import POOL_COLUMNS, columns_of

__all__ = ["BUILTIN_ALIASES", "header_aliases", "header_key"]

#: Headers seen in real exports, per pool kind: alias -> canonical column.
BUILTIN_ALIASES: dict[str, dict[str, str]] = {
    "items": {
        "抽查事项编码": "code", "事项代码": "code", "编码": "code",
        "抽查事项": "name", "抽查事项名称": "name", "检查事项": "name", "检查事项名称": "name",
        "主管部门": "department", "部门": "department", "发起部门": "department",
        "抽查依据": "basis", "依据": "basis",
        "检查主体": "subject", "抽查主体": "subject",
        "抽查对象": "target_kinds", "检查对象类型": "target_kinds",
        "抽查内容": "content",
        "抽查方式": "methods", "检查方法": "methods",
        "重点事项": "category", "事项性质": "category", "检查事项类别": "category", "事项类型": "category",
    },
    "targets": {
        "社会信用代码": "uscc", "信用代码": "uscc", "统一代码": "uscc", "统一社会信用代码/注册号": "uscc",
        "主体名称": "name", "市场主体名称": "name", "名称": "name", "单位名称": "name", "企业(机构)名称": "name",
        "市场主体类型": "entity_kind", "主体类型": "entity_kind", "类型": "entity_kind",
        "经营状态": "status", "企业状态": "status", "主体状态": "status",
        "管辖单位": "office", "属地所": "office", "责任区": "office", "管辖机关": "office", "监管所": "office",
        "所在地区划": "region", "区划代码": "region", "所在地行政区划": "region", "行政区划": "region",
        "国民经济行业代码": "industry", "行业": "industry", "所属行业代码": "industry",
        "成立时间": "established", "注册日期": "established",
        "信用等级": "credit_class", "风险等级": "credit_class", "信用风险等级": "credit_class",
        "信用风险分类结果": "credit_class",
        "标签": "tags",
    },
    "inspectors": {
        "人员编号": "staff_id", "工号": "staff_id", "执法人员代码": "staff_id",
        "人员姓名": "name", "执法人员姓名": "name",
        "部门": "department",
        "单位": "unit", "工作单位": "unit",
        "所在地区划": "region", "区划代码": "region",
        "管辖片区": "beat", "责任区": "beat", "属地所": "beat", "片区": "beat",
        "执法证件号": "certificate_no", "执法证编号": "certificate_no", "执法证件号码": "certificate_no",
        "证件有效期至": "certificate_expiry", "执法证有效期至": "certificate_expiry", "有效期至": "certificate_expiry",
        "证件有效期": "certificate_expiry",
        "检查事项范围": "item_scope", "执法范围": "item_scope",
        "专家": "expert",
        "状态": "status",
        "回避对象": "conflicts",
    },
    "history": {
        "检查事项编码": "item_code", "抽查事项编码": "item_code",
        "抽查日期": "inspected_on", "检查时间": "inspected_on", "抽查时间": "inspected_on",
        "抽查任务编号": "task_id",
        "检查人员编号": "staff_ids", "执法人员编号": "staff_ids",
    },
}

_NOTE = re.compile(r"[(（](必填|选填|必选|可选|required|optional)[)）]$", re.IGNORECASE)


def header_key(header: str) -> str:
    """The comparison form of a header: NFKC, no whitespace, no ``*`` marks or ``(必填)`` notes, lower case."""
    text = unicodedata.normalize("NFKC", header or "").replace("\ufeff", "")
    text = "".join(text.split()).strip("*")
    text = _NOTE.sub("", text)
    return text.lower()


def header_aliases(kind: str) -> dict[str, str]:
    """Every header accepted for ``kind``: canonical names, Chinese headers, built-in and plug-in aliases.

    Returns ``{header: canonical column}``, sorted by header. Plug-ins' ``dbsj_header_aliases`` answers
    are merged in; a plug-in alias naming an unknown column, or mapping a header differently from
    the built-in table or another plug-in, raises :class:`~dbsj.PluginError`.
    """
    cols = columns_of(kind)
    names = {c.name for c in cols}
    table: dict[str, str] = {}
    owner: dict[str, str] = {}
    for c in cols:
        table[c.name] = c.name
        table[c.zh] = c.name
    for alias, col in BUILTIN_ALIASES[kind].items():
        table[alias] = col
    for alias in table:
        owner[header_key(alias)] = "dbsj"
    by_key = {header_key(a): c for a, c in table.items()}

    from dbsj.plugins import get_plugin_manager

    for plugin, answer in get_plugin_manager().call_each("dbsj_header_aliases"):
        if not answer:
            continue
        try:
            extra = dict(answer.get(kind) or {})
        except AttributeError:
            raise PluginError("dbsj_header_aliases 应返回 {名录库类型: {表头: 规范列名}}",
                              "dbsj_header_aliases must return {kind: {header: canonical column}}", plugin=plugin) from None
        for alias, col in sorted(extra.items()):
            if col not in names:
                raise PluginError(
                    f"表头别名 {alias!r} 指向 {kind} 不存在的列 {col!r}（可选: {', '.join(sorted(names))}）",
                    f"header alias {alias!r} maps to {col!r}, not a column of {kind} "
                    f"(columns: {', '.join(sorted(names))})", plugin=plugin)
            key = header_key(alias)
            if key in by_key and by_key[key] != col:
                raise PluginError(
                    f"表头别名 {alias!r} 冲突: {owner[key]} 映射为 {by_key[key]!r}，本插件映射为 {col!r}",
                    f"header alias {alias!r} conflicts: {owner[key]} maps it to {by_key[key]!r}, this plug-in to {col!r}",
                    plugin=plugin)
            by_key[key] = col
            owner.setdefault(key, plugin)
            table[alias] = col
    return dict(sorted(table.items()))


def accepted_headers(kind: str, column: str, table: dict[str, str]) -> list[str]:
    """The headers accepted for one column (for :class:`~dbsj.MissingColumnError` messages)."""
    return [a for a, c in table.items() if c == column]


assert all(set(v.values()) <= {c.name for c in POOL_COLUMNS[k]} for k, v in BUILTIN_ALIASES.items())
