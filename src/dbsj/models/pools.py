"""Pydantic models of single pool records: items (一单), targets and inspectors (两库), inspection history.

These validate one record at a time at the API and plug-in boundary. Bulk files are validated
set-wise in SQL by :mod:`dbsj.intake`; a property test keeps the two in agreement.
"""

from __future__ import annotations

import datetime as dt
import re

from pydantic import ConfigDict, Field, field_validator, model_validator
from stdnum.cn import uscc as _uscc

from dbsj._filenames import unsafe_characters
from dbsj._validation import ValidatedModel
from dbsj.models.vocab import CheckMethod, CreditClass, EntityKind, InspectorStatus, ItemCategory, RegistrationStatus

__all__ = ["Item", "Target", "Inspector", "HistoryEntry", "is_valid_uscc", "MAX_CELL_CHARS", "TEXT_CONTROLS"]

_REGION = re.compile(r"^[1-9]\d{5}$")

#: Longest value of any field, in characters: Excel's own cell limit (intake quarantines longer cells).
MAX_CELL_CHARS = 32_767
#: Characters refused in free text (names, departments, basis, content, tags): C0/C1 controls other than tab
#: and line breaks, and the bidi embedding, override and isolate controls that can make text display other
#: than it reads. Ids and codes refuse more: every character :func:`dbsj._filenames.unsafe_characters` names.
TEXT_CONTROLS = "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]"
_TEXT_CONTROLS = re.compile(TEXT_CONTROLS)

#: Per model: fields that are ids or codes, and fields that are free text.
_CODE_FIELDS = {
    "Item": ("code",), "Target": ("uscc", "region", "industry"),
    "Inspector": ("staff_id", "region", "certificate_no", "item_scope", "conflicts"),
    "HistoryEntry": ("uscc", "item_code", "task_id", "staff_ids"),
}
_TEXT_FIELDS = {
    "Item": ("name", "department", "basis", "subject", "content"), "Target": ("name", "authority", "office", "tags"),
    "Inspector": ("name", "department", "unit", "beat"), "HistoryEntry": (),
}


def is_valid_uscc(value: str) -> bool:
    """True when ``value`` is a well-formed 统一社会信用代码 (GB 32100) with a correct check digit."""
    return len(value) == 18 and value == value.strip().upper() and _uscc.is_valid(value)


class _Record(ValidatedModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    @model_validator(mode="after")
    def _safe_text(self) -> "_Record":
        """The rules intake applies set-wise in SQL (dbsj.intake.validate), for one record."""
        name = type(self).__name__
        problems = []
        for field in _CODE_FIELDS.get(name, ()) + _TEXT_FIELDS.get(name, ()):
            value = getattr(self, field)
            for v in value if isinstance(value, tuple) else (value,):
                if not isinstance(v, str):
                    continue
                if len(v) > MAX_CELL_CHARS:
                    problems.append(f"{field}: longer than {MAX_CELL_CHARS} characters / 超过 {MAX_CELL_CHARS} 个字符")
                bad = unsafe_characters(v) if field in _CODE_FIELDS[name] else \
                    [f"U+{ord(c.group()):04X}" for c in _TEXT_CONTROLS.finditer(v)]
                if bad:
                    problems.append(f"{field}: contains control or invisible characters ({', '.join(bad[:5])}) / "
                                    "含有控制或不可见字符")
        if problems:
            raise ValueError("; ".join(problems))
        return self


class Item(_Record):
    """抽查事项: one line of the inspection item list (一单)."""

    code: str = Field(min_length=1, description="事项编码, unique on the list, e.g. 'SC-A07'")
    name: str = Field(min_length=1, description="事项名称")
    department: str = Field(min_length=1, description="检查主体部门 (the department that owns the item)")
    basis: str | None = Field(None, description="检查依据 (legal basis)")
    subject: str | None = Field(None, description="检查主体 (the inspecting body)")
    target_kinds: tuple[EntityKind, ...] = Field((), description="检查对象: entity kinds the item applies to")
    content: str | None = Field(None, description="检查内容")
    methods: tuple[CheckMethod, ...] = Field((), description="检查方式")
    category: ItemCategory = Field(description="key (重点, no ratio cap) or general (一般, capped)")


class Target(_Record):
    """检查对象: one market entity of the target pool, keyed by its USCC."""

    uscc: str = Field(description="统一社会信用代码, 18 characters, check digit per GB 32100")
    name: str = Field(min_length=1, description="企业名称 / 主体名称")
    entity_kind: EntityKind = Field(description="企业类型")
    status: RegistrationStatus = Field(description="登记状态")
    authority: str | None = Field(None, description="登记机关")
    office: str | None = Field(None, description="管辖单位 / 属地所 (beat)")
    region: str = Field(description="行政区划代码 (GB/T 2260, six digits)")
    industry: str | None = Field(None, description="行业代码 (GB/T 4754)")
    established: dt.date | None = Field(None, description="成立日期")
    credit_class: CreditClass = Field(CreditClass.U, description="信用风险分类 A/B/C/D, U = unclassified; never published")
    tags: tuple[str, ...] = Field((), description="监管标签")

    @field_validator("uscc")
    @classmethod
    def _check_uscc(cls, v: str) -> str:
        if not is_valid_uscc(v):
            raise ValueError(f"统一社会信用代码校验失败 / invalid USCC: {v!r}")
        return v

    @field_validator("region")
    @classmethod
    def _check_region(cls, v: str) -> str:
        if not _REGION.match(v):
            raise ValueError(f"行政区划代码应为六位数字 / region code must be six digits: {v!r}")
        return v


class Inspector(_Record):
    """执法检查人员: one member of the inspector pool. Personal data beyond the work's need is not kept."""

    staff_id: str = Field(min_length=1, description="执法人员编号")
    name: str = Field(min_length=1, description="姓名")
    department: str = Field(min_length=1, description="所属部门")
    unit: str | None = Field(None, description="所属单位")
    region: str | None = Field(None, description="行政区划代码 of the unit")
    beat: str | None = Field(None, description="岗位管辖片区 (所所交叉: not sent to their own beat)")
    certificate_no: str = Field(min_length=1, description="执法证号")
    certificate_expiry: dt.date = Field(description="执法证有效期 (valid through this day)")
    item_scope: tuple[str, ...] = Field((), description="执法事项范围: item codes this inspector may check")
    expert: bool = Field(False, description="是否专家")
    status: InspectorStatus = Field(InspectorStatus.ACTIVE, description="人员状态")
    conflicts: tuple[str, ...] = Field((), description="申报回避对象: USCCs the inspector declared a conflict with")


class HistoryEntry(_Record):
    """One past inspection of one target for one item (anti-repeat and 'last inspector' recusal read these)."""

    uscc: str
    item_code: str = Field(min_length=1)
    inspected_on: dt.date
    task_id: str | None = None
    staff_ids: tuple[str, ...] = ()
