"""The rule language: pydantic models of rule-pack files (``rules/<pack>/*.yaml``).

Rule files are data. Nothing in them is executed: every condition is one of a closed set of operators,
mapped programmatically to DuckDB SQL (set rules) or to durable_rules conditions (event rules).
Unknown keys are errors; the loader turns validation errors into ``file:line`` messages.
"""

from __future__ import annotations

import re
from typing import Any, Literal, Union

from pydantic import ConfigDict, Field, field_validator, model_validator

from dbsj._validation import ValidatedModel, validate_raw

__all__ = ["EventRule", "DecisionTable", "TableRow", "PackManifest"]

RULE_ID_PATTERN = r"^[a-z0-9][a-z0-9_-]*(\.[a-z0-9][a-z0-9_-]*)+$"
_FIELD = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_REF = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)\.([A-Za-z_][A-Za-z0-9_]*)$")

Severity = Literal["error", "warning", "info"]
Scalar = Union[bool, int, float, str, None]


class _Strict(ValidatedModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FieldRef(_Strict):
    """A value taken from an earlier pattern's event: ``{ref: alias.field}`` (a join)."""

    ref: str = Field(description="alias.field of an earlier pattern in the same rule")

    @field_validator("ref")
    @classmethod
    def _shape(cls, v: str) -> str:
        if not _REF.match(v):
            raise ValueError(f"ref must read 'alias.field', got {v!r}")
        return v

    @property
    def alias(self) -> str:
        return self.ref.split(".", 1)[0]

    @property
    def field(self) -> str:
        return self.ref.split(".", 1)[1]


Operand = Union[FieldRef, bool, int, float, str]


class FieldCondition(_Strict):
    """Operators on one event field; all given operators must hold. A bare scalar in YAML means ``eq``."""

    eq: Operand | None = None
    ne: Operand | None = None
    lt: Operand | None = None
    lte: Operand | None = None
    gt: Operand | None = None
    gte: Operand | None = None
    in_: tuple[Union[bool, int, float, str], ...] | None = Field(None, alias="in")
    exists: bool | None = None
    matches: str | None = Field(None, description="durable_rules regular expression the whole value must match")

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @model_validator(mode="before")
    @classmethod
    def _bare(cls, v: Any) -> Any:
        if v is None or isinstance(v, (bool, int, float, str)):
            return {"eq": v}
        if isinstance(v, list):
            return {"in": v}
        return v

    @model_validator(mode="after")
    def _some(self) -> "FieldCondition":
        if all(getattr(self, f) is None for f in ("eq", "ne", "lt", "lte", "gt", "gte", "in_", "exists", "matches")):
            raise ValueError("a field condition needs one of eq, ne, lt, lte, gt, gte, in, exists, matches")
        if self.in_ is not None and not self.in_:
            raise ValueError("'in' needs at least one value")
        return self

    def refs(self) -> list[FieldRef]:
        return [v for v in (self.eq, self.ne, self.lt, self.lte, self.gt, self.gte) if isinstance(v, FieldRef)]


class EventPattern(_Strict):
    """One event (or fact) to match: ``as`` names it for joins and templates; ``match`` maps field → condition."""

    as_: str = Field(alias="as", description="name of the matched event, used in refs and templates")
    match: dict[str, FieldCondition] = Field(min_length=1)

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @field_validator("as_")
    @classmethod
    def _alias(cls, v: str) -> str:
        if not _FIELD.match(v) or v in ("m", "s", "c"):
            raise ValueError(f"'as' must be an identifier other than m, s, c; got {v!r}")
        return v

    @field_validator("match")
    @classmethod
    def _fields(cls, v: dict[str, FieldCondition]) -> dict[str, FieldCondition]:
        for name in v:
            if not _FIELD.match(str(name)):
                raise ValueError(f"field name {name!r} must be an identifier (letters, digits, _)")
        # durable_rules fires a pattern made only of absences endlessly: demand one positive condition
        if all(c.exists is False and c.refs() == [] and all(getattr(c, op) is None for op in
               ("eq", "ne", "lt", "lte", "gt", "gte", "in_", "matches")) for c in v.values()):
            raise ValueError("a pattern needs at least one condition other than 'exists: false' "
                             "(e.g. type: result)")
        return v


class EventWhen(_Strict):
    """``all``: every pattern matches (a join, in any arrival order); ``any``: one of them does."""

    all: tuple[EventPattern, ...] | None = None
    any: tuple[EventPattern, ...] | None = None

    @model_validator(mode="after")
    def _one(self) -> "EventWhen":
        if (self.all is None) == (self.any is None):
            raise ValueError("'when' needs exactly one of 'all' or 'any'")
        pats = self.patterns
        if not pats:
            raise ValueError("'when' needs at least one pattern")
        seen: list[str] = []
        for p in pats:
            if p.as_ in seen:
                raise ValueError(f"pattern name {p.as_!r} is used twice")
            for cond in p.match.values():
                for ref in cond.refs():
                    if self.any is not None:
                        raise ValueError(f"ref {ref.ref!r}: joins need 'all', not 'any'")
                    if ref.alias not in seen:
                        raise ValueError(f"ref {ref.ref!r} must name an earlier pattern (one of {seen or 'none'})")
            seen.append(p.as_)
        return self

    @property
    def patterns(self) -> tuple[EventPattern, ...]:
        return self.all if self.all is not None else (self.any or ())


class _RuleBase(_Strict):
    override: bool = Field(False, description="replace (or amend) the rule of this id inherited from an extended pack")
    id: str = Field(pattern=RULE_ID_PATTERN, description="stable rule id, e.g. 'coverage.key-items'")
    name: str = Field(min_length=1, description="short Chinese name")
    name_en: str | None = None
    source: str | None = Field(None, description="the policy text this rule implements")
    severity: Severity = "error"
    enabled: bool = True
    description: str | None = None


class EventRule(_RuleBase):
    """Kind ``event``: when the patterns match, emit an output event built from templated fields.

    Template strings reference matched events as ``{alias.field}``; a string that is exactly one
    reference keeps the value's type. Nothing else is interpreted.
    """

    kind: Literal["event"] = "event"
    when: EventWhen
    emit: dict[str, Any] = Field(min_length=1, description="fields of the emitted event; strings may use {alias.field}")
    priority: int | None = Field(None, description="durable_rules priority: lower runs first when several rules fire")
    severity: Severity = "info"

    @model_validator(mode="after")
    def _templates(self) -> "EventRule":
        names = [p.as_ for p in self.when.patterns]
        for key, value in self.emit.items():
            if not _FIELD.match(str(key)):
                raise ValueError(f"emit field {key!r} must be an identifier")
            if isinstance(value, str):
                for alias, _field in TEMPLATE_REF.findall(value):
                    if alias not in names:
                        raise ValueError(f"emit.{key}: {{{alias}.…}} names no pattern (have {names})")
            elif not isinstance(value, (bool, int, float, type(None))):
                raise ValueError(f"emit.{key}: a value must be a string, number, boolean or null")
        return self


TEMPLATE_REF = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\.([A-Za-z_][A-Za-z0-9_]*)\}")


# -- set rules (compiled to SQL) ----------------------------------------------------------------------

Where = dict[str, FieldCondition]


class _SetRule(_RuleBase):
    message: str | None = Field(None, description="Chinese message; {name} placeholders take evidence values")
    message_en: str | None = None


class CoverageTarget(_Strict):
    """Where coverage is looked for: ``entity`` rows (filtered by ``where``) whose ``key`` holds the value."""

    entity: str
    key: str
    where: Where = Field(default_factory=dict)


class CoverageRule(_SetRule):
    """Every row of ``each`` (filtered by ``where``) must have its ``key`` appear as ``in_.key`` in ``in``."""

    kind: Literal["coverage"]
    each: str = Field(description="entity whose rows must be covered, e.g. items, item_departments")
    key: str = Field(description="column of 'each' to look for")
    where: Where = Field(default_factory=dict)
    in_: CoverageTarget = Field(alias="in")
    exempt: tuple[str, ...] = Field((), description="key values exempt from the rule")

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class ShareRule(_SetRule):
    """The share of ``of`` rows matching ``where`` must lie in [min, max]."""

    kind: Literal["share"]
    of: str
    base: Where = Field(default_factory=dict, description="which rows count in the denominator (default: all)")
    where: Where = Field(description="which of those count in the numerator")
    min: float | None = Field(None, ge=0, le=1)
    max: float | None = Field(None, ge=0, le=1)

    @model_validator(mode="after")
    def _bounds(self) -> "ShareRule":
        if self.min is None and self.max is None:
            raise ValueError("a share rule needs min and/or max (a ratio between 0 and 1)")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min {self.min} is above max {self.max}")
        return self


class CheckRule(_SetRule):
    """Every row of ``of`` matching ``where`` must satisfy ``require`` (a missing value satisfies it)."""

    kind: Literal["check"]
    of: str
    where: Where = Field(default_factory=dict)
    require: Where = Field(min_length=1)


class PredicateRule(_SetRule):
    """An eligibility or scope predicate on targets; ``dbsj check`` flags selected targets failing it."""

    kind: Literal["predicate"]
    entity: Literal["targets"] = "targets"
    where: Where = Field(min_length=1)


class RepeatRule(_SetRule):
    """No target inspected for the same item twice within ``window_days`` (history + selections)."""

    kind: Literal["repeat"]
    window_days: int = Field(ge=1, le=3660)
    by_class: dict[str, int] = Field(default_factory=dict, description="window per credit class (A/B/C/D/U)")

    @field_validator("by_class")
    @classmethod
    def _classes(cls, v: dict[str, int]) -> dict[str, int]:
        for k, days in v.items():
            if k not in ("A", "B", "C", "D", "U"):
                raise ValueError(f"unknown credit class {k!r}; use A, B, C, D or U")
            if not isinstance(days, int) or days < 0:
                raise ValueError(f"window for class {k} must be a whole number of days ≥ 0")
        return v


class ParameterRule(_RuleBase):
    """A named value other parts of dbsj read (e.g. the publication deadline)."""

    kind: Literal["parameter"]
    value: int | float | str | bool
    unit: str | None = None
    severity: Severity = "info"


class TableRow(_Strict):
    """One row of a decision table: input conditions (absent = any), outputs, optional priority."""

    when: Where = Field(default_factory=dict)
    ratio: Any = Field(None, description="a quota: 0.05, '≤5%', '5%-20%', {min, max, count}")
    frequency: Literal["=1", ">=1"] | None = None
    priority: int | None = None
    note: str | None = None

    @field_validator("frequency", mode="before")
    @classmethod
    def _freq(cls, v: Any) -> Any:
        return {"≥1": ">=1", "1": "=1", 1: "=1"}.get(v, v)

    @field_validator("ratio")
    @classmethod
    def _quota(cls, v: Any) -> Any:
        if v is None:
            return None
        from dbsj.models import Quota

        return validate_raw(Quota, v)  # pydantic's own error: its lines join this field's


TABLE_INPUTS: dict[str, tuple[str, ...] | None] = {
    "credit_class": ("A", "B", "C", "D", "U"),
    "item_category": ("key", "general"),
    "entity_kind": ("企业", "个体工商户", "农民专业合作社", "外国企业常驻代表机构", "分支机构", "其他"),
    "region": None,
    "industry": None,
}


class DecisionTable(_RuleBase):
    """Kind ``table``: inputs → outputs (ratio as a quota, frequency) with an explicit hit policy.

    ``unique``: at most one row may match any input (checked when the pack loads); ``first``: the first
    matching row in file order; ``priority``: the matching row with the highest ``priority``.
    """

    kind: Literal["table"]
    hit_policy: Literal["unique", "first", "priority"]
    inputs: tuple[str, ...] = Field(min_length=1)
    rows: tuple[TableRow, ...] = Field(min_length=1)
    aliases: dict[str, dict[str, str]] = Field(default_factory=dict,
                                              description="input → {local label: canonical value}, e.g. 低 → A")

    @model_validator(mode="after")
    def _rows(self) -> "DecisionTable":
        for name in self.inputs:
            if name not in TABLE_INPUTS:
                raise ValueError(f"unknown table input {name!r}; expected one of {', '.join(TABLE_INPUTS)}")
        for i, row in enumerate(self.rows, 1):
            for name in row.when:
                if name not in self.inputs:
                    raise ValueError(f"row {i}: condition on {name!r}, which is not among the inputs {list(self.inputs)}")
            if row.ratio is None and row.frequency is None:
                raise ValueError(f"row {i}: a row needs an output (ratio and/or frequency)")
            if self.hit_policy == "priority" and row.priority is None:
                raise ValueError(f"row {i}: hit policy 'priority' needs a priority on every row")
        if self.hit_policy == "priority":
            prios = [r.priority for r in self.rows]
            dupes = sorted({p for p in prios if prios.count(p) > 1})  # type: ignore[type-var]
            if dupes:
                raise ValueError(f"priorities must be distinct; repeated: {dupes}")
        for name, mapping in self.aliases.items():
            if name not in self.inputs:
                raise ValueError(f"aliases for {name!r}, which is not among the inputs")
            domain = TABLE_INPUTS[name]
            for label, canonical in mapping.items():
                if domain is not None and canonical not in domain:
                    raise ValueError(f"alias {label!r} → {canonical!r}: not a valid {name} ({', '.join(domain)})")
        return self


class PackManifest(_Strict):
    """``pack.yaml``: a pack's identity and the packs it extends (national → province → prefecture)."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_.-]*$")
    name: str = Field(min_length=1)
    name_en: str | None = None
    source: str | None = Field(None, description="the policy documents this pack implements")
    extends: tuple[str, ...] = ()
    description: str | None = None
    confidential_fields: tuple[str, ...] = Field(
        (), description="target fields whose values must never be published (credit_class always is): a task that "
                        "stratifies or filters by one keeps its seal and pool export for auditors (docs/draws.md)")

    @field_validator("confidential_fields")
    @classmethod
    def _known_fields(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        known = ("credit_class", "entity_kind", "industry", "office", "region", "tags")
        bad = [f for f in v if f not in known]
        if bad:
            raise ValueError(f"unknown target field(s) {', '.join(map(repr, bad))}; use {', '.join(known)}")
        return tuple(sorted(set(v)))


SetRule = Union[CoverageRule, ShareRule, CheckRule, PredicateRule, RepeatRule]
AnyRule = Union[CoverageRule, ShareRule, CheckRule, PredicateRule, RepeatRule, ParameterRule, DecisionTable, EventRule]
RULE_KINDS: dict[str, type[_RuleBase]] = {
    "coverage": CoverageRule, "share": ShareRule, "check": CheckRule, "predicate": PredicateRule,
    "repeat": RepeatRule, "parameter": ParameterRule, "table": DecisionTable, "event": EventRule,
}
