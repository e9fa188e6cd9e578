"""Event rules on durable_rules, made synchronous, isolated and deterministic.

durable_rules is strong at event patterns and joins, but as a library it keeps a process-wide host and
global ruleset names, raises ``MessageNotHandledException`` for events no rule matches, and runs queued
actions from background timer threads. :class:`EventEngine` wraps it so that:

- each engine owns a private host and uniquely named internal rulesets (two engines never share state,
  even with the same rule ids);
- no background thread is ever started: :meth:`EventEngine.post` and :meth:`EventEngine.assert_fact`
  run every consequent action before returning and return the emitted outputs in order;
- an unmatched event simply matches nothing (returns ``[]``);
- an exception inside an action surfaces as :class:`dbsj.RuleError` naming the rule.

Conditions come from YAML (:class:`dbsj.EventRule`) and are mapped operator by operator onto
durable_rules' ``m.field == value`` expressions; nothing from a rule file is executed.
Durable_rules partitions state by the event field ``sid`` (joins only see events of the same ``sid``)
and treats a repeated ``id`` within a ``sid`` as the same event (ignored the second time).
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import re
import threading
from collections.abc import Iterable, Mapping
from typing import Any

import attrs
import durable_rules_engine as _dre
from durable import engine as _engine
from durable import lang as _lang
from pydantic import ValidationError

from dbsj._validation import error_lines, validate_raw
from dbsj.errors import RuleError
from dbsj.rules.schema import TEMPLATE_REF, EventRule, FieldCondition, FieldRef

__all__ = ["Emission", "EventEngine"]

_names = itertools.count(1)
_names_lock = threading.Lock()
# durable_rules' C engine is not documented as thread-safe across handles; serialise calls into it.
_engine_lock = threading.RLock()


@attrs.frozen(slots=True)
class Emission:
    """One output of an event rule: the rule that fired, the emitted event, and the events it matched."""

    rule: str
    event: Mapping[str, Any]
    matched: Mapping[str, Mapping[str, Any]]

    def to_dict(self) -> dict[str, Any]:
        return {"rule": self.rule, "event": dict(self.event), "matched": {k: dict(v) for k, v in self.matched.items()}}


class _QuietHost(_engine.Host):
    """A durable_rules host that starts no dispatcher threads; the engine drains work itself."""

    def _run(self) -> None:  # the base class starts two threading.Timer loops here
        self._d_timer = None
        self._t_timer = None

    def get_action(self, action_name: str) -> Any:  # never called: actions are given as callables
        raise RuleError(f"未知动作 {action_name}", f"unknown action {action_name}")


def _jsonable(value: Any, where: str) -> Any:
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v, where) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v, where) for v in value]
    if hasattr(value, "value") and isinstance(getattr(value, "value"), (str, int)):  # enums
        return value.value
    raise RuleError(f"事件字段值无法表示为 JSON: {value!r}", f"event value is not JSON-representable: {value!r}",
                    where=where, hint_zh="请使用字符串、数字、布尔值或日期", hint_en="use strings, numbers, booleans or dates")


def _operand(v: Any) -> Any:
    if isinstance(v, FieldRef):
        return getattr(getattr(_lang.c, v.alias), v.field)
    return v


def _field_expr(field: str, cond: FieldCondition) -> Any:
    """Map one YAML field condition onto a durable_rules expression (conjunction of its operators)."""
    exprs: list[Any] = []

    def f() -> Any:
        return getattr(_lang.m, field)

    if cond.eq is not None:
        exprs.append(f() == _operand(cond.eq))
    if cond.ne is not None:
        exprs.append(f() != _operand(cond.ne))
    if cond.lt is not None:
        exprs.append(f() < _operand(cond.lt))
    if cond.lte is not None:
        exprs.append(f() <= _operand(cond.lte))
    if cond.gt is not None:
        exprs.append(f() > _operand(cond.gt))
    if cond.gte is not None:
        exprs.append(f() >= _operand(cond.gte))
    if cond.in_ is not None:
        alt = None
        for value in cond.in_:
            e = f() == value
            alt = e if alt is None else (alt | e)
        exprs.append(alt)
    if cond.exists is not None:
        exprs.append(+f() if cond.exists else -f())
    if cond.matches is not None:
        exprs.append(f().matches(cond.matches))
    out = exprs[0]
    for e in exprs[1:]:
        out = out & e
    return out


def _render(template: Any, matched: Mapping[str, Mapping[str, Any]]) -> Any:
    if not isinstance(template, str):
        return template
    whole = TEMPLATE_REF.fullmatch(template)
    if whole:
        return matched.get(whole.group(1), {}).get(whole.group(2))

    def sub(m: re.Match[str]) -> str:
        value = matched.get(m.group(1), {}).get(m.group(2))
        return "" if value is None else str(value)

    return TEMPLATE_REF.sub(sub, template)


class EventEngine:
    """A synchronous, isolated durable_rules engine for a list of event rules.

    >>> eng = EventEngine([{"id": "followup.demo", "kind": "event", "name": "示例",
    ...                     "when": {"all": [{"as": "r", "match": {"type": "result", "problem": True}}]},
    ...                     "emit": {"type": "disposition", "task": "{r.task}"}}])
    >>> [e.event for e in eng.post({"type": "result", "problem": True, "task": "T1"})]
    [{'type': 'disposition', 'task': 'T1'}]
    >>> eng.post({"type": "something-else"})
    []
    >>> eng.close()

    Rules may be :class:`dbsj.EventRule` models or plain mappings of the same shape; disabled rules
    are skipped. Use as a context manager to :meth:`close` it.
    """

    def __init__(self, rules: Iterable[EventRule | Mapping[str, Any]]) -> None:
        parsed: list[EventRule] = []
        for i, r in enumerate(rules):
            if isinstance(r, EventRule):
                parsed.append(r)
                continue
            try:
                parsed.append(validate_raw(EventRule, r))
            except ValidationError as exc:
                first = error_lines(exc)[0]
                raise RuleError(f"事件规则无效: {first['zh']}", f"invalid event rule: {first['en']}",
                                where=f"event rule #{i + 1}") from None
        ids = [r.id for r in parsed]
        dupes = sorted({x for x in ids if ids.count(x) > 1})
        if dupes:
            raise RuleError(f"事件规则 id 重复: {', '.join(dupes)}", f"duplicate event rule ids: {', '.join(dupes)}",
                            hint_zh="每条规则的 id 须唯一", hint_en="give every rule a unique id")
        self.rules: tuple[EventRule, ...] = tuple(r for r in parsed if r.enabled)
        self._emitted: list[Emission] = []
        self._errors: list[tuple[str, BaseException]] = []
        self._closed = False
        with _names_lock:
            base = f"dbsj_events_{next(_names)}"
        self._host = _QuietHost()
        # One durable_rules ruleset per rule: an event is consumed per ruleset, so rules sharing a ruleset
        # would steal events from one another; separate rulesets let every rule see every event.
        self._rulesets: list[tuple[EventRule, str, Any]] = []
        with _engine_lock:
            for index, rule in enumerate(self.rules):
                name = f"{base}_r{index}"
                definition = {f"r{sub}": d for sub, d in enumerate(self._define(rule))}
                self._host.register_rulesets({name: definition})
                self._rulesets.append((rule, name, self._host.get_ruleset(name)))
        self._name = base

    # -- building -----------------------------------------------------------------------------------
    def _define(self, rule: EventRule) -> list[dict[str, Any]]:
        """durable_rules definitions for one rule.

        An ``any`` rule becomes one durable_rules rule per pattern: equivalent, and it sidesteps
        durable_rules 2.0.28 missing ``$or`` conditions inside ``when_any`` alternatives.
        """
        patterns = []
        for pattern in rule.when.patterns:
            expr = None
            for field, cond in pattern.match.items():
                e = _field_expr(field, cond)
                expr = e if expr is None else (expr & e)
            expr.alias = pattern.as_
            patterns.append(expr)
        extra = [{"pri": rule.priority}] if rule.priority is not None else []
        groups = [patterns] if rule.when.all is not None else [[p] for p in patterns]
        return [_lang.when_all(*group, *extra)(self._action(rule)).define() for group in groups]

    def _action(self, rule: EventRule) -> Any:
        def action(c: Any) -> None:
            try:
                raw = c._m or {}
                matched = {alias: {k: v for k, v in dict(msg).items() if k not in ("sid", "id", "$s")}
                           if isinstance(msg, Mapping) else msg for alias, msg in sorted(raw.items())}
                event = {key: _render(value, matched) for key, value in rule.emit.items()}
                self._emitted.append(Emission(rule=rule.id, event=event, matched=matched))
            except BaseException as exc:  # surfaced by _drain as RuleError; never swallowed
                self._errors.append((rule.id, exc))

        return action

    # -- running ------------------------------------------------------------------------------------
    def _check_open(self) -> None:
        if self._closed:
            raise RuleError("事件引擎已关闭", "the event engine is closed", hint_zh="请新建一个 EventEngine",
                            hint_en="create a new EventEngine")

    def _submit(self, func_name: str, payload: Any, what: str) -> list[Emission]:
        self._check_open()
        message = _jsonable(payload, what)
        if not isinstance(message, dict):
            raise RuleError("事件须为映射 (字段: 值)", "an event must be a mapping of field: value", where=what)
        start = len(self._emitted)
        with _engine_lock:
            for rule, name, ruleset in self._rulesets:
                try:
                    getattr(self._host, func_name)(name, dict(message))
                except (_engine.MessageNotHandledException, _engine.MessageObservedException):
                    pass  # nothing matched, or an event already seen (same sid and id)
                except RuleError:
                    raise
                except Exception as exc:  # the C engine reports errors as plain exceptions
                    raise RuleError(f"规则引擎拒绝了{what}: {exc}", f"the rule engine refused the {what}: {exc}",
                                    where=f"rule {rule.id}") from exc
                self._drain(ruleset)
        if self._errors:
            rule_id, exc = self._errors[0]
            self._errors.clear()
            raise RuleError(f"事件规则 {rule_id} 的动作出错: {exc}", f"the action of event rule {rule_id} failed: {exc}",
                            where=f"rule {rule_id}") from exc
        return list(self._emitted[start:])

    def _drain(self, ruleset: Any) -> None:
        """Run every action still queued (other sessions, chained matches) before returning."""
        handle = ruleset._handle
        errors: list[Any] = []

        def done(error: Any, _state: Any) -> None:
            if error:
                errors.append(error)

        while True:
            result = _dre.start_action(handle)
            if not result:
                break
            ruleset._flush_actions(json.loads(result[0]), {"message": json.loads(result[1])}, result[2], done)
        if errors:
            raise RuleError(f"规则引擎执行动作失败: {errors[0]}", f"the rule engine failed running an action: {errors[0]}",
                            where=self._name)

    def post(self, event: Mapping[str, Any]) -> list[Emission]:
        """Post an event (consumed once matched); return what the rules emitted, in order."""
        return self._submit("post", event, "事件 event")

    def post_many(self, events: Iterable[Mapping[str, Any]]) -> list[Emission]:
        """Post events one by one, in order; return all emissions in order."""
        out: list[Emission] = []
        for event in events:
            out.extend(self.post(event))
        return out

    def assert_fact(self, fact: Mapping[str, Any]) -> list[Emission]:
        """Assert a fact (stays until retracted, can join many events); return what the rules emitted."""
        return self._submit("assert_fact", fact, "事实 fact")

    def retract_fact(self, fact: Mapping[str, Any]) -> list[Emission]:
        """Retract a fact asserted earlier (the same fields)."""
        return self._submit("retract_fact", fact, "事实 fact")

    @property
    def emissions(self) -> tuple[Emission, ...]:
        """Everything this engine emitted so far, in order."""
        return tuple(self._emitted)

    def close(self) -> None:
        """Free the engine's durable_rules state. Idempotent."""
        if self._closed:
            return
        self._closed = True
        with _engine_lock:
            for _rule, _name, ruleset in self._rulesets:
                _dre.delete_ruleset(ruleset._handle)
        self._rulesets = []

    def __enter__(self) -> "EventEngine":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass
