"""One translator from pydantic's ``ValidationError`` to dbsj's :class:`~dbsj.ModelError`.

pydantic validates at the edges (files, plug-ins, API), but its errors are English and are not in dbsj's
error family. Every public model derives from :class:`ValidatedModel`, whose constructors (``Model(...)``,
``model_validate``, ``model_validate_json``, ``model_validate_strings``) raise a ``ModelError`` instead: one
line per pydantic error, Chinese first, each naming the field (its Chinese label and its path) and, for a
closed vocabulary, the accepted values — e.g. ``检查事项 items.A07: 应为 未发现问题 / … 之一，实际为 'xxx'``.
``err.context["errors"]`` keeps each error as data (``loc``, ``path``, ``type``, ``accepted``, ``zh``, ``en``).

Code that needs pydantic's own error (file:line mapping in :mod:`dbsj._yaml`) validates with
:func:`validate_raw` and renders the lines with :func:`error_lines`.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, ValidationError

from dbsj.errors import ModelError

__all__ = ["ValidatedModel", "model_error", "error_lines", "validate_raw", "FIELD_LABELS"]

#: Chinese labels of model fields, by field name (the last named part of an error's path that has one).
FIELD_LABELS: dict[str, str] = {
    # results
    "task_id": "任务编号", "uscc": "统一社会信用代码", "staff_id": "执法人员编号", "items": "检查事项",
    "method": "检查方式", "disposition": "后续处置", "inspected_on": "检查日期", "note": "备注",
    # plans and tasks
    "id": "编号", "year": "年度", "authority": "发布机关", "title": "标题", "tasks": "抽查任务", "name": "名称",
    "industry": "行业", "sponsor": "发起部门", "partners": "配合部门", "scope": "抽查范围", "sampling": "抽样",
    "frequency": "抽查频次", "start": "开始日期", "batches": "批次", "mode": "任务方式", "notes": "备注",
    "deadline": "截止日期", "share": "批次比例", "strata": "分层", "quota": "抽查比例", "by_class": "分类比例",
    "table": "比例决策表", "min_per_stratum": "每层最少", "max_per_stratum": "每层最多", "min": "比例下限",
    "max": "比例上限", "count": "抽查数量", "regions": "区划", "entity_kinds": "主体类型", "tags": "监管标签",
    "credit_classes": "信用风险分类", "statuses": "登记状态",
    # pools
    "code": "事项编码", "department": "所属部门", "basis": "检查依据", "subject": "检查主体",
    "target_kinds": "检查对象", "content": "检查内容", "methods": "检查方式", "category": "事项类别",
    "entity_kind": "主体类型", "status": "状态", "office": "管辖单位", "region": "行政区划代码",
    "established": "成立日期", "credit_class": "信用风险分类", "unit": "所属单位", "beat": "岗位管辖片区",
    "certificate_no": "执法证号", "certificate_expiry": "执法证有效期", "item_scope": "执法事项范围",
    "expert": "是否专家", "conflicts": "申报回避对象", "item_code": "事项编码", "staff_ids": "执法人员",
    # rules
    "kind": "规则类型", "source": "依据", "severity": "严重程度", "extends": "扩展的规则包", "when": "条件",
    "emit": "产生", "rows": "表行", "hit_policy": "命中策略", "inputs": "输入", "outputs": "输出",
}

_QUOTED = re.compile(r"'((?:[^'\\]|\\.)*)'")
_MAX_INPUT = 60


def _accepted(err: dict[str, Any]) -> list[str]:
    """The accepted values of an enum or Literal error, from pydantic's ``ctx["expected"]``."""
    expected = (err.get("ctx") or {}).get("expected")
    if not isinstance(expected, str):
        return []
    return [m.group(1).replace("\\'", "'") for m in _QUOTED.finditer(expected)]


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= _MAX_INPUT else text[:_MAX_INPUT - 1] + "…"


def _path(loc: tuple[Any, ...]) -> str:
    return ".".join(str(p) for p in loc)


def _label(loc: tuple[Any, ...]) -> str | None:
    for part in reversed(loc):
        if isinstance(part, str) and part in FIELD_LABELS:
            return FIELD_LABELS[part]
    return None


def _messages(err: dict[str, Any]) -> tuple[str, str]:
    """(zh, en) of one pydantic error, without its place."""
    kind, ctx, msg = err["type"], err.get("ctx") or {}, err.get("msg", "")
    got = _shown(err.get("input"))
    if kind in ("enum", "literal_error"):
        values = _accepted(err)
        return (f"应为 {' / '.join(values)} 之一，实际为 {got}",
                f"should be one of {', '.join(repr(v) for v in values)}; got {got}")
    if kind == "missing":
        return "缺少必填字段", "field required"
    if kind == "extra_forbidden":
        return f"未知的键（值为 {got}）", f"unknown key (value {got})"
    simple = {
        "string_type": ("应为文本", "should be text"),
        "int_type": ("应为整数", "should be an integer"), "int_parsing": ("应为整数", "should be an integer"),
        "int_from_float": ("应为整数", "should be an integer"),
        "float_type": ("应为数字", "should be a number"), "float_parsing": ("应为数字", "should be a number"),
        "bool_type": ("应为 true 或 false", "should be true or false"),
        "bool_parsing": ("应为 true 或 false", "should be true or false"),
        "date_type": ("应为日期（如 2023-06-01）", "should be a date (e.g. 2023-06-01)"),
        "date_parsing": ("应为日期（如 2023-06-01）", "should be a date (e.g. 2023-06-01)"),
        "date_from_datetime_parsing": ("应为日期（如 2023-06-01）", "should be a date (e.g. 2023-06-01)"),
        "date_from_datetime_inexact": ("应为日期，不含时刻", "should be a date without a time of day"),
        "datetime_type": ("应为日期时间", "should be a date and time"),
        "datetime_parsing": ("应为日期时间", "should be a date and time"),
        "dict_type": ("应为映射（键: 值）", "should be a mapping (key: value)"),
        "model_type": ("应为映射（键: 值）", "should be a mapping (key: value)"),
        "model_attributes_type": ("应为映射（键: 值）", "should be a mapping (key: value)"),
        "list_type": ("应为列表", "should be a list"), "tuple_type": ("应为列表", "should be a list"),
        "none_required": ("应为空", "should be empty"),
    }
    if kind in simple:
        zh, en = simple[kind]
        return f"{zh}，实际为 {got}", f"{en}; got {got}"
    bounds = {"greater_than_equal": ("ge", "不小于", "at least"), "greater_than": ("gt", "大于", "greater than"),
              "less_than_equal": ("le", "不大于", "at most"), "less_than": ("lt", "小于", "less than")}
    if kind in bounds:
        key, zh, en = bounds[kind]
        return f"应{zh} {ctx.get(key)}，实际为 {got}", f"should be {en} {ctx.get(key)}; got {got}"
    if kind in ("string_too_short", "too_short"):
        n = ctx.get("min_length", 1)
        if kind == "string_too_short":
            return (("不能为空" if n == 1 else f"至少 {n} 个字符"), ("must not be empty" if n == 1 else f"at least {n} characters"))
        return f"至少需要 {n} 个", f"at least {n} required"
    if kind in ("string_too_long", "too_long") and "max_length" in ctx:
        return f"最多 {ctx['max_length']} 个", f"at most {ctx['max_length']}"
    text = msg.removeprefix("Value error, ").removeprefix("Assertion failed, ")
    return _bilingual(text, got)


_CJK = re.compile(r"[\u3400-\u9fff]")
_FIELD_PREFIX = re.compile(r"^[a-z_]+: ")


def _bilingual(text: str, got: str) -> tuple[str, str]:
    """dbsj's own validator messages are written in both languages ("english / 中文", "中文 / english"; several
    joined by "; "): each language gets its half, the Chinese one the value it refused. Others (pydantic's
    own) are English: both languages show them."""
    zh, en = [], []
    for part in text.split("; "):
        halves = part.split(" / ", 1)
        if len(halves) == 2 and bool(_CJK.search(halves[0])) != bool(_CJK.search(halves[1])):
            cn, latin = halves if _CJK.search(halves[0]) else halves[::-1]
            field = _FIELD_PREFIX.match(latin)
            if field and not cn.startswith(field.group(0)):  # "field: english / 中文" keeps its field in both
                cn = field.group(0) + cn
            zh.append(cn)
            en.append(latin)
        else:
            zh.append(part)
            en.append(part)
    if zh != en:
        return f"{'；'.join(zh)}（实际为 {got}）", "; ".join(en)
    return text, text


def error_lines(exc: ValidationError, *, prefix: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
    """One entry per pydantic error: ``loc``, ``path``, ``type``, ``accepted`` (enum/Literal), ``zh``, ``en``
    (each ``<label> <path>: <message>``, the label only in Chinese)."""
    out = []
    for err in exc.errors():
        loc = prefix + tuple(err["loc"])
        path = _path(loc) or "(整体)"
        label = None if err["type"] == "extra_forbidden" else _label(loc)  # the key itself is unknown
        zh, en = _messages(err)
        out.append({"loc": [p if isinstance(p, (int, str)) else str(p) for p in loc], "path": _path(loc),
                    "type": err["type"], "accepted": _accepted(err),
                    "zh": f"{label} {path}: {zh}" if label else f"{path}: {zh}",
                    "en": f"{_path(loc) or '(whole record)'}: {en}"})
    return out


def model_error(exc: ValidationError, *, model: str | None = None, where: str | None = None,
                prefix: tuple[Any, ...] = ()) -> ModelError:
    """The :class:`~dbsj.ModelError` of a pydantic ``ValidationError``: every error on its own line."""
    model = model or exc.title
    lines = error_lines(exc, prefix=prefix)
    zh = "；".join(e["zh"] for e in lines) if len(lines) == 1 else "\n  " + "\n  ".join(e["zh"] for e in lines)
    en = "; ".join(e["en"] for e in lines) if len(lines) == 1 else "\n  " + "\n  ".join(e["en"] for e in lines)
    return ModelError(f"{model} 无效: {zh}", f"invalid {model}: {en}", where=where, model=model, errors=lines,
                      hint_zh="按字段路径改正后重试" if len(lines) > 1 else None,
                      hint_en="correct each field named and try again" if len(lines) > 1 else None)


def validate_raw(cls: type[BaseModel], data: Any) -> Any:
    """Validate ``data`` as ``cls`` raising pydantic's own ``ValidationError`` (for callers that locate
    errors in a file themselves)."""
    return super(ValidatedModel, cls).model_validate(data)  # type: ignore[misc]


class ValidatedModel(BaseModel):
    """A pydantic model whose constructors raise :class:`~dbsj.ModelError`, never pydantic's error."""

    def __init__(self, /, **data: Any) -> None:
        try:
            super().__init__(**data)
        except ValidationError as exc:
            raise model_error(exc, model=type(self).__name__) from None

    # Marked as pydantic's own ``__init__`` (as pydantic's RootModel marks its own): otherwise pydantic would call
    # this ``__init__`` to validate a nested model, and a nested error would arrive translated, inside its parent's.
    __init__.__pydantic_base_init__ = True  # type: ignore[attr-defined]

    @classmethod
    def model_validate(cls, obj: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().model_validate(obj, *args, **kwargs)
        except ValidationError as exc:
            raise model_error(exc, model=cls.__name__) from None

    @classmethod
    def model_validate_json(cls, json_data: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().model_validate_json(json_data, *args, **kwargs)
        except ValidationError as exc:
            raise model_error(exc, model=cls.__name__) from None

    @classmethod
    def model_validate_strings(cls, obj: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().model_validate_strings(obj, *args, **kwargs)
        except ValidationError as exc:
            raise model_error(exc, model=cls.__name__) from None
