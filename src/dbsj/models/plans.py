"""The annual joint plan (抽查计划) and its tasks (抽查任务), and their YAML form.

A plan file expresses what real 2023 annual-plan annexes say (design §7): sponsor and partner departments,
items, scope (directed draws), ratios as minimums, caps, ranges or counts — overall, per stratum or per
credit class, or taken from a rule pack's decision table — frequency ("=1", ">=1"), and windows in
batches with deadlines. Ratios may be written as numbers (0.03) or as the annexes write them
("不低于3%", "≤10%", "5%-20%", "1户").
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError

from dbsj._filenames import MAX_STEM_BYTES, distinct_stems, unsafe_characters
from dbsj._validation import ValidatedModel, error_lines, validate_raw
from dbsj.errors import InputError, PlanError
from dbsj.models.vocab import CreditClass, EntityKind, TaskMode

__all__ = ["Quota", "Scope", "Sampling", "Batch", "Task", "Plan", "load_plan", "parse_quota"]

_PCT = r"(\d+(?:\.\d+)?)\s*%"


def parse_quota(value: Any) -> dict[str, Any]:
    """Read a ratio as real annexes write it into ``{"min", "max", "count"}``.

    >>> parse_quota("不低于30%")
    {'min': 0.3}
    >>> parse_quota("原则上不高于10%")
    {'max': 0.1}
    >>> parse_quota("5%-20%")
    {'min': 0.05, 'max': 0.2}
    >>> parse_quota("1户")
    {'count': 1}
    >>> parse_quota(0.03)
    {'min': 0.03}
    """
    if isinstance(value, dict):
        return value
    if isinstance(value, bool):
        raise ValueError(f"not a ratio: {value!r}")
    if isinstance(value, (int, float)):
        return {"min": float(value)}
    if not isinstance(value, str):
        raise ValueError(f"not a ratio: {value!r}")
    text = value.strip().replace("％", "%").replace("－", "-").replace("–", "-").replace("～", "-").replace("~", "-")
    if m := re.fullmatch(r"(\d+)\s*(户|家|个)", text):
        return {"count": int(m.group(1))}
    if m := re.fullmatch(_PCT + r"\s*-\s*" + _PCT, text) or re.fullmatch(r"(\d+(?:\.\d+)?)\s*-\s*" + _PCT, text):
        return {"min": round(float(m.group(1)) / 100, 10), "max": round(float(m.group(2)) / 100, 10)}
    if m := re.fullmatch(r"(?:不低于|不少于|至少|≥|>=)\s*" + _PCT + r".*", text):
        return {"min": round(float(m.group(1)) / 100, 10)}
    if m := re.fullmatch(r"(?:原则上)?(?:不高于|不超过|最多|≤|<=)\s*" + _PCT + r".*", text):
        return {"max": round(float(m.group(1)) / 100, 10)}
    if m := re.fullmatch(_PCT, text):
        return {"min": round(float(m.group(1)) / 100, 10)}
    raise ValueError(f"cannot read ratio {value!r}; write e.g. 0.03, '不低于3%', '≤10%', '5%-20%' or '1户'")


class _Strict(ValidatedModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _not_empty(v: Any) -> Any:
    # Checked on the input, not after validation: a list whose only element is invalid has one error (that
    # element's), not also "should have at least 1 item".
    if isinstance(v, (list, tuple)) and not v:
        raise PydanticCustomError("too_short", "at least one is required / 至少需要一个")
    return v


def _safe_name(v: Any) -> Any:
    """Ids and names that become parts of file names: no control or invisible characters, at most
    MAX_STEM_BYTES bytes (dbsj._filenames)."""
    if isinstance(v, str):
        bad = unsafe_characters(v)
        if bad:
            raise PydanticCustomError("unsafe_characters",
                                      "contains control or invisible characters ({chars}) / 含有控制或不可见字符",
                                      {"chars": ", ".join(bad[:5])})
        if len(v.encode("utf-8")) > MAX_STEM_BYTES:
            raise PydanticCustomError("too_long", "longer than {limit} bytes / 超过 {limit} 字节",
                                      {"limit": MAX_STEM_BYTES})
    return v


#: A tuple that must not be empty (see :func:`_not_empty`).
NonEmpty = BeforeValidator(_not_empty)
#: An id or name that may become part of a file name.
SafeName = Annotated[str, BeforeValidator(_safe_name), Field(min_length=1)]


class Quota(_Strict):
    """How many to draw from one stratum: a ratio range and/or a fixed count.

    ``min`` alone: at least this share (no cap). ``max`` alone: at most this share. Both: a range.
    ``count``: exactly this many (take all when fewer are eligible). The draw's rounding rule
    (docs/draw-spec.md) turns a quota into a sample size.
    """

    min: float | None = Field(None, ge=0, le=1)
    max: float | None = Field(None, ge=0, le=1)
    count: int | None = Field(None, ge=0)

    @model_validator(mode="before")
    @classmethod
    def _parse(cls, v: Any) -> Any:
        return parse_quota(v)

    @model_validator(mode="after")
    def _consistent(self) -> "Quota":
        if self.min is None and self.max is None and self.count is None:
            raise ValueError("a quota needs min, max or count")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min {self.min} is above max {self.max}")
        return self


class Scope(_Strict):
    """Which targets a task may draw (定向 when any filter is set; 不定向 otherwise)."""

    regions: tuple[str, ...] = Field((), description="region code prefixes (e.g. '6501' or '650102')")
    entity_kinds: tuple[EntityKind, ...] = ()
    industries: tuple[str, ...] = Field((), description="GB/T 4754 code prefixes (e.g. 'H62', 'F52')")
    tags: tuple[str, ...] = Field((), description="target must carry any of these supervision tags")
    credit_classes: tuple[CreditClass, ...] = ()
    statuses: tuple[str, ...] = Field(("存续", "在业"), description="registration statuses eligible")

    @property
    def directed(self) -> bool:
        return bool(self.regions or self.entity_kinds or self.industries or self.tags or self.credit_classes)


class Sampling(_Strict):
    """How a task samples its eligible targets.

    ``strata`` names target fields to stratify by (``credit_class``, ``region`` — prefecture level —,
    ``entity_kind``, ``industry``, ``office``). Each stratum's quota is, first match wins: ``by_class``
    for its credit class, else ``quota``; ``table`` names a decision table in the effective rule packs
    that supplies ratios by credit class (the task is then credit-linked).
    """

    strata: tuple[str, ...] = ()
    quota: Quota | None = None
    by_class: dict[CreditClass, Quota] = Field(default_factory=dict)
    table: str | None = Field(None, description="rule id of a credit-ratio decision table, e.g. 'ratio.henan-2021'")
    min_per_stratum: int | None = Field(None, ge=0)
    max_per_stratum: int | None = Field(None, ge=0)

    @model_validator(mode="after")
    def _some_quota(self) -> "Sampling":
        if self.quota is None and not self.by_class and self.table is None:
            raise ValueError("sampling needs a quota, by_class quotas, or a ratio table")
        if self.by_class and "credit_class" not in self.strata:
            raise ValueError("by_class quotas need 'credit_class' among the strata")
        return self

    @property
    def credit_linked(self) -> bool:
        """Design §10: stratified by credit class, or ratios from a credit decision table."""
        return "credit_class" in self.strata or self.table is not None


class Batch(_Strict):
    """A batch of a task's window (分批次), due by ``deadline``; ``share`` of the sample (default: equal)."""

    name: SafeName
    deadline: dt.date
    share: float | None = Field(None, gt=0, le=1)


class Task(_Strict):
    """抽查任务: one line of the plan annex."""

    id: SafeName
    name: str = Field(min_length=1)
    industry: str | None = Field(None, description="行业 (一业一查)")
    sponsor: str = Field(min_length=1, description="发起部门")
    partners: tuple[str, ...] = Field((), description="配合/联查部门")
    items: Annotated[tuple[str, ...], NonEmpty] = Field(description="抽查事项 codes (at least one)",
                                                         json_schema_extra={"minItems": 1})
    scope: Scope = Field(default_factory=Scope)
    sampling: Sampling
    frequency: Literal["=1", ">=1"] = "=1"
    start: dt.date = Field(description="first day of the task's window")
    batches: Annotated[tuple[Batch, ...], NonEmpty] = Field(json_schema_extra={"minItems": 1})
    mode: TaskMode | None = None
    notes: str | None = None

    @field_validator("frequency", mode="before")
    @classmethod
    def _freq(cls, v: Any) -> Any:
        return {"≥1": ">=1", "1": "=1", 1: "=1"}.get(v, v)

    @model_validator(mode="after")
    def _check(self) -> "Task":
        if self.sponsor in self.partners:
            raise ValueError(f"sponsor {self.sponsor} is also listed as a partner")
        last = None
        for b in self.batches:
            if b.deadline < self.start:
                raise ValueError(f"batch {b.name} deadline {b.deadline} is before the start {self.start}")
            if last and b.deadline <= last:
                raise ValueError("batch deadlines must increase")
            last = b.deadline
        shares = [b.share for b in self.batches if b.share is not None]
        if shares and (len(shares) != len(self.batches) or abs(sum(shares) - 1) > 1e-9):
            raise ValueError("batch shares, when given, must be given for every batch and add up to 1")
        return self

    @property
    def departments(self) -> tuple[str, ...]:
        return (self.sponsor, *self.partners)

    @property
    def joint(self) -> bool:
        return self.mode == TaskMode.JOINT if self.mode else bool(self.partners)

    @property
    def end(self) -> dt.date:
        """The window's last day: the last batch's deadline."""
        return self.batches[-1].deadline


class Plan(_Strict):
    """抽查计划: an authority's annual plan of tasks."""

    id: SafeName
    year: int = Field(ge=2015, le=2100)
    authority: SafeName = Field(description="发布机关")
    title: str
    tasks: Annotated[tuple[Task, ...], NonEmpty] = Field(json_schema_extra={"minItems": 1})
    level: Literal["省级", "市级", "县级"] | None = Field(
        None, description="the drawing level of the plan (省级 / 市级 / 县级): rules may set floors per level, e.g. "
                          "\"市级抽查不低于30%，县级不低于50%\"")
    rule_packs: tuple[SafeName, ...] = Field(
        (), description="the rule packs the plan answers to besides the national baseline (ids, e.g. xinjiang-2023); "
                        "dbsj check and the draw load them without --rules")

    @model_validator(mode="after")
    def _unique(self) -> "Plan":
        seen: set[str] = set()
        for t in self.tasks:
            if t.id in seen:
                raise ValueError(f"task id {t.id} appears twice")
            seen.add(t.id)
        try:
            distinct_stems([t.id for t in self.tasks], what="task id")
        except InputError as exc:
            raise ValueError(exc.en) from None
        return self

    @model_validator(mode="after")
    def _within_year(self) -> "Plan":
        """Every window and batch lies in the plan's year: each date outside it is its own error, at its place."""
        first, last = dt.date(self.year, 1, 1), dt.date(self.year, 12, 31)
        errors: list[InitErrorDetails] = []

        def outside(loc: tuple[Any, ...], day: dt.date, what: str) -> None:
            errors.append(InitErrorDetails(
                type=PydanticCustomError("outside_plan_year",
                                         "{what} {day} is outside the plan year {year} / {what} {day} 不在计划年度 {year} 内",
                                         {"what": what, "day": day.isoformat(), "year": self.year}),
                loc=loc, input=day.isoformat()))

        for i, t in enumerate(self.tasks):
            if not first <= t.start <= last:
                outside(("tasks", i, "start"), t.start, "start")
            for j, b in enumerate(t.batches):
                if not first <= b.deadline <= last:
                    outside(("tasks", i, "batches", j, "deadline"), b.deadline, f"batch {b.name} deadline")
        if errors:
            raise ValidationError.from_exception_data("Plan", errors)
        return self

    def task(self, task_id: str) -> Task:
        for t in self.tasks:
            if t.id == task_id:
                return t
        raise PlanError(f"计划 {self.id} 中没有任务 {task_id}", f"plan {self.id} has no task {task_id}",
                        hint_zh=f"可选: {', '.join(t.id for t in self.tasks)}",
                        hint_en=f"choose one of: {', '.join(t.id for t in self.tasks)}")

    def canonical_json(self) -> str:
        """The plan as canonical JSON (sorted keys, no spaces): what is hashed and snapshotted."""
        body = self.model_dump(mode="json")
        for key in ("rule_packs", "level"):
            if not body[key]:
                del body[key]  # plans that do not use these fields hash as they did before the fields existed
        return json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"))

    def digest(self) -> str:
        """SHA-256 hex of :meth:`canonical_json`."""
        return hashlib.sha256(self.canonical_json().encode("utf-8")).hexdigest()


def load_plan(path: str | Path) -> Plan:
    """Load and validate a plan YAML file. Errors carry file:line and say what was expected.

    The file holds either the plan's fields at top level or under a ``plan:`` key.
    """
    from dbsj._yaml import load_located_yaml

    doc = load_located_yaml(path, PlanError)
    data = doc.data
    prefix: tuple[Any, ...] = ()
    if isinstance(data, dict) and set(data) == {"plan"}:
        data, prefix = data["plan"], ("plan",)
    if not isinstance(data, dict):
        raise PlanError("计划文件应为一个映射 (plan: …)", "a plan file must be a mapping (plan: …)", where=str(doc.path))
    from dbsj._yaml import gc_paused

    try:
        with gc_paused():
            return validate_raw(Plan, data)
    except ValidationError as exc:
        found = error_lines(exc, prefix=prefix)
        zh = [f"{doc.where(tuple(e['loc']))}: {e['zh']}" for e in found]
        en = [f"{doc.where(tuple(e['loc']))}: {e['en']}" for e in found]
        raise PlanError("计划文件无效:\n  " + "\n  ".join(zh), "invalid plan file:\n  " + "\n  ".join(en),
                        where=str(doc.path), errors=en, errors_zh=zh) from None
