"""The rule language: pydantic models of rule-pack files (``rules/<pack>/*.yaml``).

Rule files are data. Nothing in them is executed: every condition is one of a closed set of operators,
mapped programmatically to DuckDB SQL (set rules) or to durable_rules conditions (event rules).
Unknown keys are errors; the loader turns validation errors into ``file:line`` messages.
"""

from __future__ import annotations

import re
from typing import Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

__all__ = ["EventRule"]

RULE_ID_PATTERN = r"^[a-z0-9][a-z0-9_-]*(\.[a-z0-9][a-z0-9_-]*)+$"
_FIELD = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_REF = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)\.([A-Za-z_][A-Za-z0-9_]*)$")

Severity = Literal["error", "warning", "info"]
Scalar = Union[bool, int, float, str, None]


class _Strict(BaseModel):
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
