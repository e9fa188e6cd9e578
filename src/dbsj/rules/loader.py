"""Find rule packs, validate them, resolve ``extends`` and overrides into one effective rule set.

A pack is a folder with a ``pack.yaml`` (id, name, source, extends) and rule files (``*.yaml``, each
``rules: [...]``). The shipped packs live in ``rules/`` at the repository root and inside the wheel
(``dbsj/data/rules``). Everything is checked before any rule runs; each problem is reported with
``file:line`` and what to do, all problems of a load at once.
"""

from __future__ import annotations

import copy
import difflib
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import attrs
from pydantic import ValidationError

from dbsj._validation import validate_raw
from dbsj._yaml import LocatedYaml, load_located_yaml, located_errors
from dbsj.errors import RuleError
from dbsj.rules import tables as _tables
from dbsj.rules.catalog import DOMAINS, ENTITIES, check_value
from dbsj.rules.schema import (
    RULE_KINDS,
    TABLE_INPUTS,
    CheckRule,
    CoverageRule,
    DecisionTable,
    EventRule,
    FieldCondition,
    FieldRef,
    PackManifest,
    ParameterRule,
    PredicateRule,
    RepeatRule,
    ShareRule,
)

__all__ = ["RuleSet", "LoadedRule", "RulePack", "load_rules", "shipped_rules_dir"]

NATIONAL = "national"
#: Most rule files one pack may hold, and most bytes they may hold together (each file: dbsj._yaml's bounds).
MAX_PACK_FILES = 1_000
MAX_PACK_BYTES = 64 * 1024 * 1024


def shipped_rules_dir() -> Path:
    """The shipped rule packs: ``dbsj/data/rules`` in an installed wheel, else ``rules/`` of the source tree."""
    here = Path(__file__).resolve().parent.parent
    for candidate in (here / "data" / "rules", here.parent.parent / "rules"):
        if (candidate / NATIONAL / "pack.yaml").is_file():
            return candidate
    raise RuleError("找不到随包发布的规则包 (dbsj/data/rules 或 rules/)",
                    "the shipped rule packs are missing (dbsj/data/rules or rules/)",
                    hint_zh="请重新安装 dbsj", hint_en="reinstall dbsj")


@attrs.frozen(slots=True)
class RulePack:
    """A pack as found on disk."""

    id: str
    name: str
    source: str | None
    extends: tuple[str, ...]
    path: Path
    manifest: PackManifest

    @property
    def where(self) -> str:
        return str(self.path / "pack.yaml")


@attrs.frozen(slots=True)
class LoadedRule:
    """An effective rule with where it came from: pack, file:line, and the packs it overrides."""

    rule: Any
    pack: str
    file: str
    line: int
    overrides: tuple[str, ...] = ()

    @property
    def id(self) -> str:
        return self.rule.id

    @property
    def kind(self) -> str:
        return self.rule.kind

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}"

    def to_dict(self) -> dict[str, Any]:
        body = self.rule.model_dump(mode="json", by_alias=True, exclude_none=True, exclude={"override"})
        return {"id": self.id, "kind": self.kind, "name": self.rule.name, "severity": self.rule.severity,
                "enabled": self.rule.enabled, "source": self.rule.source, "pack": self.pack, "where": self.where,
                "overrides": list(self.overrides), "rule": body}


class _Problems:
    """Every problem of one load, each with its place, in Chinese and English."""

    def __init__(self) -> None:
        self.items: list[tuple[str, str, str]] = []

    def add(self, where: str, zh: str, en: str | None = None) -> None:
        self.items.append((where, zh, en or zh))

    def extend(self, other: "_Problems") -> None:
        self.items.extend(other.items)

    def raise_if_any(self) -> None:
        if not self.items:
            return
        n = len(self.items)
        zh = "\n  " + "\n  ".join(f"{w}: {m}" for w, m, _ in self.items)
        en = "\n  " + "\n  ".join(f"{w}: {m}" for w, _, m in self.items)
        raise RuleError(f"规则包有 {n} 处错误，未执行任何规则:{zh}", f"{n} problem(s) in the rule packs; no rule was evaluated:{en}",
                        where=self.items[0][0], errors=[f"{w}: {m}" for w, _, m in self.items])


@attrs.define
class _RawRule:
    data: dict[str, Any]
    doc: LocatedYaml
    loc: tuple[Any, ...]
    pack: str

    def where(self, sub: tuple[Any, ...] = ()) -> str:
        return self.doc.where(self.loc + sub)

    @property
    def line(self) -> int:
        return self.doc.line_of(self.loc) or 0


def _discover(dirs: Iterable[Path], problems: _Problems) -> list[Path]:
    found: list[Path] = []
    for d in dirs:
        d = Path(d)
        if (d / "pack.yaml").is_file():
            found.append(d.resolve())
        elif d.is_dir():
            packs = sorted(p.parent.resolve() for p in d.rglob("pack.yaml"))
            if not packs:
                problems.add(str(d), "目录中没有规则包 (缺少 pack.yaml)", "no rule pack in this folder (no pack.yaml)")
            found.extend(packs)
        else:
            problems.add(str(d), "规则目录不存在", "rule folder not found")
    return found


def _read_pack(path: Path, problems: _Problems) -> tuple[RulePack, list[_RawRule]] | None:
    try:
        doc = load_located_yaml(path / "pack.yaml", RuleError)
    except RuleError as exc:
        problems.add(exc.where or str(path), exc.zh, exc.en)
        return None
    if not isinstance(doc.data, dict):
        problems.add(doc.where(()), "pack.yaml 应为映射 (id, name, source, extends)",
                     "pack.yaml must be a mapping (id, name, source, extends)")
        return None
    try:
        manifest = validate_raw(PackManifest, doc.data)
    except ValidationError as exc:
        for msg in located_errors(doc, exc):
            problems.add(*msg.split(": ", 1))
        return None
    pack = RulePack(id=manifest.id, name=manifest.name, source=manifest.source, extends=manifest.extends,
                    path=path, manifest=manifest)
    raws: list[_RawRule] = []
    files = [f for f in sorted(path.glob("*.yaml")) + sorted(path.glob("*.yml")) if f.name != "pack.yaml"]
    # Each file is bounded by the YAML loader (dbsj._yaml); a pack is bounded too, so that a folder of a
    # million small files cannot stall a load.
    total = sum(f.stat().st_size for f in files if f.is_file())
    if len(files) > MAX_PACK_FILES or total > MAX_PACK_BYTES:
        problems.add(pack.where, f"规则包过大: {len(files)} 个规则文件、共 {total} 字节，上限 {MAX_PACK_FILES} 个、"
                                 f"{MAX_PACK_BYTES} 字节",
                     f"the rule pack is too large: {len(files)} rule files, {total} bytes in all; the limits are "
                     f"{MAX_PACK_FILES} files and {MAX_PACK_BYTES} bytes")
        return pack, []
    for file in files:
        try:
            rdoc = load_located_yaml(file, RuleError)
        except RuleError as exc:
            problems.add(exc.where or str(file), exc.zh, exc.en)
            continue
        data = rdoc.data
        if data is None:
            continue
        if not isinstance(data, dict) or set(data) - {"rules"}:
            extra = sorted(set(data) - {"rules"}) if isinstance(data, dict) else []
            problems.add(rdoc.where((extra[0],) if extra else ()),
                         f"规则文件的顶层只能有 rules: 列表{'，发现未知的键 ' + ', '.join(map(str, extra)) if extra else ''}",
                         f"a rule file holds only 'rules: [...]' at top level{'; unknown key ' + ', '.join(map(str, extra)) if extra else ''}")
            continue
        rules = data.get("rules") or []
        if not isinstance(rules, list):
            problems.add(rdoc.where(("rules",)), "rules 应为列表", "'rules' must be a list")
            continue
        for i, r in enumerate(rules):
            if not isinstance(r, dict):
                problems.add(rdoc.where(("rules", i)), "每条规则应为映射 (id, kind, …)", "each rule must be a mapping (id, kind, …)")
                continue
            raws.append(_RawRule(data=r, doc=rdoc, loc=("rules", i), pack=pack.id))
    return pack, raws


def _validate(raw: _RawRule, data: dict[str, Any], problems: _Problems, parent: _RawRule | None = None) -> Any:
    kind = data.get("kind")
    if kind not in RULE_KINDS:
        problems.add(raw.where(("kind",) if "kind" in raw.data else ()),
                     f"未知或缺少规则类型 kind={kind!r}，可选: {', '.join(RULE_KINDS)}",
                     f"unknown or missing rule kind {kind!r}; expected one of {', '.join(RULE_KINDS)}")
        return None
    try:
        return validate_raw(RULE_KINDS[kind], data)
    except ValidationError as exc:
        for err in exc.errors():
            loc = tuple(err["loc"])
            if loc and loc[0] == kind:  # pydantic sometimes prefixes the model name
                loc = loc[1:]
            src = raw if parent is None or (loc and loc[0] in raw.data) else parent
            field = ".".join(str(p) for p in loc) or "(rule)"
            msg = "unknown key / 未知的键" if err["type"] == "extra_forbidden" else err["msg"]
            if err["type"] == "extra_forbidden":
                allowed = ", ".join(n if not f.alias else f.alias for n, f in RULE_KINDS[kind].model_fields.items())
                msg += f" (expected one of: {allowed})"
            problems.add(src.where(loc), f"规则 {data.get('id', '?')}: {field}: {msg}",
                         f"rule {data.get('id', '?')}: {field}: {msg}")
        return None


def _semantics(rule: Any, raw: _RawRule, problems: _Problems) -> None:
    """Check entity and column names and values against the catalog (unknown fields, departments …)."""

    def cols(entity: str, where: Mapping[str, FieldCondition], loc: tuple[Any, ...]) -> None:
        columns = ENTITIES[entity]
        for field, cond in where.items():
            if field not in columns:
                problems.add(raw.where(loc + (field,)),
                             f"规则 {rule.id}: {entity} 没有字段 {field!r}，可用字段: {', '.join(columns)}",
                             f"rule {rule.id}: {entity} has no field {field!r}; available: {', '.join(columns)}")
                continue
            kind = columns[field]
            for op in ("eq", "ne", "lt", "lte", "gt", "gte"):
                value = getattr(cond, op)
                if isinstance(value, FieldRef):
                    problems.add(raw.where(loc + (field,)), f"规则 {rule.id}: ref 只能用于事件规则",
                                 f"rule {rule.id}: ref is only allowed in event rules")
                    continue
                why = check_value("text" if op in ("lt", "lte", "gt", "gte") and kind in DOMAINS else kind, value)
                if why:
                    problems.add(raw.where(loc + (field, op)), f"规则 {rule.id}: {field}.{op}: {why}",
                                 f"rule {rule.id}: {field}.{op}: {why}")
            for value in cond.in_ or ():
                why = check_value(kind, value)
                if why:
                    problems.add(raw.where(loc + (field, "in")), f"规则 {rule.id}: {field}.in: {why}",
                                 f"rule {rule.id}: {field}.in: {why}")

    def entity_ok(entity: str, loc: tuple[Any, ...]) -> bool:
        if entity not in ENTITIES:
            problems.add(raw.where(loc), f"规则 {rule.id}: 未知的对象 {entity!r}，可选: {', '.join(ENTITIES)}",
                         f"rule {rule.id}: unknown entity {entity!r}; expected one of {', '.join(ENTITIES)}")
            return False
        return True

    def key_ok(entity: str, key: str, loc: tuple[Any, ...]) -> None:
        if key not in ENTITIES[entity]:
            problems.add(raw.where(loc), f"规则 {rule.id}: {entity} 没有字段 {key!r}，可用字段: {', '.join(ENTITIES[entity])}",
                         f"rule {rule.id}: {entity} has no field {key!r}; available: {', '.join(ENTITIES[entity])}")

    if isinstance(rule, CoverageRule):
        if entity_ok(rule.each, ("each",)):
            key_ok(rule.each, rule.key, ("key",))
            cols(rule.each, rule.where, ("where",))
            kind = ENTITIES[rule.each].get(rule.key)
            for i, value in enumerate(rule.exempt):
                why = check_value(kind, value) if kind else None
                if why:
                    problems.add(raw.where(("exempt", i)), f"规则 {rule.id}: exempt: {why}", f"rule {rule.id}: exempt: {why}")
        if entity_ok(rule.in_.entity, ("in", "entity")):
            key_ok(rule.in_.entity, rule.in_.key, ("in", "key"))
            cols(rule.in_.entity, rule.in_.where, ("in", "where"))
    elif isinstance(rule, ShareRule):
        if entity_ok(rule.of, ("of",)):
            cols(rule.of, rule.base, ("base",))
            cols(rule.of, rule.where, ("where",))
    elif isinstance(rule, CheckRule):
        if entity_ok(rule.of, ("of",)):
            cols(rule.of, rule.where, ("where",))
            cols(rule.of, rule.require, ("require",))
    elif isinstance(rule, PredicateRule):
        cols(rule.entity, rule.where, ("where",))
    elif isinstance(rule, DecisionTable):
        for i, row in enumerate(rule.rows):
            for name, cond in row.when.items():
                domain = TABLE_INPUTS[name]
                if domain is None:
                    continue
                labels = set(rule.aliases.get(name, {}))
                for value in (cond.eq, cond.ne, *(cond.in_ or ())):
                    if value is not None and value not in domain and value not in labels:
                        problems.add(raw.where(("rows", i, "when", name)),
                                     f"规则 {rule.id}: 第 {i + 1} 行: 未知的 {name} 值 {value!r}，可选: {', '.join(domain)}"
                                     + (f" 或别名 {', '.join(sorted(labels))}" if labels else ""),
                                     f"rule {rule.id}: row {i + 1}: unknown {name} value {value!r}; expected one of "
                                     f"{', '.join(domain)}" + (f" or aliases {', '.join(sorted(labels))}" if labels else ""))
        if rule.hit_policy == "unique":
            for a, b, example in _tables.overlaps(rule)[:5]:
                problems.add(raw.where(("rows", b - 1)),
                             f"规则 {rule.id}: 命中策略为 unique，但第 {a} 行与第 {b} 行同时匹配 {json.dumps(example, ensure_ascii=False)}",
                             f"rule {rule.id}: hit policy is unique but rows {a} and {b} both match "
                             f"{json.dumps(example, ensure_ascii=False)}; make the conditions disjoint or use "
                             f"hit_policy: first / priority")


def _order_packs(packs: dict[str, tuple[RulePack, list[_RawRule]]], wanted: list[str],
                 problems: _Problems) -> list[str]:
    """Parents before children; a cycle or an unknown parent is a problem."""
    order: list[str] = []
    state: dict[str, str] = {}

    def visit(pid: str, stack: list[str], via: str | None) -> None:
        if pid not in packs:
            problems.add(via or pid, f"扩展了未知的规则包 {pid!r}，已知: {', '.join(sorted(packs))}",
                         f"extends an unknown pack {pid!r}; known packs: {', '.join(sorted(packs))}")
            return
        if state.get(pid) == "done":
            return
        pack = packs[pid][0]
        if state.get(pid) == "active":
            cycle = " → ".join(stack[stack.index(pid):] + [pid])
            problems.add(f"{pack.where}:{_extends_line(pack)}", f"规则包扩展关系成环: {cycle}",
                         f"pack extension cycle: {cycle}; remove one of these 'extends'")
            return
        state[pid] = "active"
        for parent in sorted(pack.extends):
            visit(parent, stack + [pid], f"{pack.where}:{_extends_line(pack)}")
        state[pid] = "done"
        order.append(pid)

    for pid in wanted:
        visit(pid, [], None)
    return order


def _extends_line(pack: RulePack) -> int:
    try:
        doc = load_located_yaml(pack.path / "pack.yaml", RuleError)
    except RuleError:
        return 1
    return doc.line_of(("extends",)) or 1


def _ancestors(packs: dict[str, tuple[RulePack, list[_RawRule]]], pid: str) -> set[str]:
    out: set[str] = set()
    todo = list(packs[pid][0].extends) if pid in packs else []
    while todo:
        p = todo.pop()
        if p in out or p not in packs:
            continue
        out.add(p)
        todo.extend(packs[p][0].extends)
    return out


class RuleSet:
    """The effective rules: packs resolved with their extensions and overrides, checked, ready to evaluate.

    Build with :func:`load_rules`. ``library`` holds every rule of every pack found (shipped examples too),
    so a plan may name a decision table such as ``ratio.daqing`` without loading that pack as a whole.
    """

    def __init__(self, packs: list[RulePack], rules: dict[str, LoadedRule], library: dict[str, LoadedRule]) -> None:
        self.packs = tuple(packs)
        self._rules = rules
        self._library = library

    def __iter__(self):  # noqa: ANN204
        return iter(self._rules[k] for k in sorted(self._rules))

    def __len__(self) -> int:
        return len(self._rules)

    def __contains__(self, rule_id: object) -> bool:
        return rule_id in self._rules

    @property
    def ids(self) -> list[str]:
        return sorted(self._rules)

    def get(self, rule_id: str) -> LoadedRule:
        """The effective rule of this id (or, for decision tables, one from any pack found)."""
        found = self._rules.get(rule_id) or self._library.get(rule_id)
        if found is None:
            raise RuleError(f"没有 id 为 {rule_id!r} 的规则", f"no rule with id {rule_id!r}",
                            hint_zh=f"可用的规则: {', '.join(sorted(set(self._rules) | set(self._library)))}",
                            hint_en=f"known rules: {', '.join(sorted(set(self._rules) | set(self._library)))}")
        return found

    def enabled(self, kind: str | None = None) -> list[LoadedRule]:
        return [r for r in self if r.rule.enabled and (kind is None or r.kind == kind)]

    @property
    def event_rules(self) -> list[EventRule]:
        """The enabled event rules, ready for :class:`dbsj.EventEngine`."""
        return [r.rule for r in self.enabled("event")]

    def table(self, table_id: str) -> DecisionTable:
        rule = self.get(table_id).rule
        if not isinstance(rule, DecisionTable):
            raise RuleError(f"规则 {table_id} 不是决策表 (kind: {rule.kind})", f"rule {table_id} is not a decision table "
                            f"(kind: {rule.kind})")
        return rule

    def has_table(self, table_id: str) -> bool:
        found = self._rules.get(table_id) or self._library.get(table_id)
        return found is not None and isinstance(found.rule, DecisionTable)

    def decide(self, table_id: str, **inputs: Any) -> _tables.Decision:
        """Evaluate a decision table for one input; the result carries a trace of the rows tried."""
        return _tables.evaluate(self.table(table_id), inputs)

    def ratio_table(self, table_id: str, **inputs: Any) -> dict[str, Any]:
        """Credit class → :class:`dbsj.Quota` from a decision table (classes no row covers are left out)."""
        table = self.table(table_id)
        if "credit_class" not in table.inputs:
            raise RuleError(f"决策表 {table_id} 没有 credit_class 输入", f"decision table {table_id} has no credit_class input")
        out = {}
        for cls in ("A", "B", "C", "D", "U"):
            d = _tables.evaluate(table, {**inputs, "credit_class": cls})
            if d.ratio is not None:
                out[cls] = d.ratio
        return out

    def parameter(self, rule_id: str) -> Any:
        rule = self.get(rule_id).rule
        if not isinstance(rule, ParameterRule):
            raise RuleError(f"规则 {rule_id} 不是参数 (kind: {rule.kind})", f"rule {rule_id} is not a parameter (kind: {rule.kind})")
        return rule.value

    def to_dict(self) -> dict[str, Any]:
        """The effective rule set as JSON-ready data (``dbsj rules list --json``)."""
        return {"packs": [{"id": p.id, "name": p.name, "source": p.source, "extends": list(p.extends),
                           "path": str(p.path)} for p in self.packs],
                "rules": [r.to_dict() for r in self]}

    def to_yaml(self) -> str:
        """The effective rules as one YAML document, each annotated with its pack and file:line."""
        import yaml

        rules = []
        for r in self:
            body = r.rule.model_dump(mode="json", by_alias=True, exclude_none=True, exclude={"override"})
            body = {k: v for k, v in body.items() if v not in ({}, [], ())}
            rules.append({"id": r.id, **{k: v for k, v in body.items() if k != "id"}, "_from": f"{r.pack} {r.where}"})
        header = "# 生效规则 / effective rules: " + " → ".join(p.id for p in self.packs) + "\n"
        return header + yaml.safe_dump({"rules": rules}, allow_unicode=True, sort_keys=False, width=120)


def load_rules(rule_dirs: Iterable[str | Path] | None = None, *, national: bool = True,
               packs: Iterable[str] | None = None) -> RuleSet:
    """Load the effective rule set: the shipped national pack, plus the packs in ``rule_dirs``, each with the
    packs it extends (searched among the shipped packs and ``rule_dirs``).

    A directory is either one pack (it has a ``pack.yaml``) or a folder searched for packs. Raises
    :class:`dbsj.RuleError` listing every problem with ``file:line`` before anything is evaluated.

    :param packs: pack ids to apply (a plan's ``rule_packs``), found among the shipped packs and ``rule_dirs``;
        then only these, the national pack and the packs they extend take effect, and a broken pack that none
        of them is or extends is ignored — one county's typo never blocks another county's check.
    """
    if packs is not None:
        return _load_named(rule_dirs, list(packs), national=national)
    problems = _Problems()
    shipped = shipped_rules_dir()
    user_dirs = [Path(d) for d in (rule_dirs or ())]
    user_paths = _discover(user_dirs, problems)
    shipped_paths = sorted(p.parent.resolve() for p in shipped.rglob("pack.yaml"))

    # A pack's parent may sit beside it (rules/xinjiang next to rules/xinjiang-urumqi): look there too.
    neighbours = sorted({q.parent.resolve() for p in user_paths for q in p.parent.glob("*/pack.yaml")}
                        - set(user_paths) - set(shipped_paths))
    packs: dict[str, tuple[RulePack, list[_RawRule]]] = {}
    for path in [*shipped_paths, *[p for p in user_paths if p not in shipped_paths], *neighbours]:
        neighbour = path in neighbours
        read = _read_pack(path, _Problems() if neighbour else problems)
        if read is None:
            continue
        pack = read[0]
        if pack.id in packs and neighbour:
            continue  # a pack named explicitly wins over one merely lying beside it
        if pack.id in packs and packs[pack.id][0].path != pack.path:
            problems.add(pack.where, f"规则包 id {pack.id!r} 已被 {packs[pack.id][0].where} 使用",
                         f"pack id {pack.id!r} is already used by {packs[pack.id][0].where}; give one of them another id")
            continue
        packs[pack.id] = read
    problems.raise_if_any()

    by_path = {v[0].path: k for k, v in packs.items()}
    wanted = ([NATIONAL] if national else []) + [by_path[p] for p in user_paths if p in by_path]
    wanted = list(dict.fromkeys(wanted))
    order = _order_packs(packs, wanted, problems)
    problems.raise_if_any()

    effective = _resolve(order, packs, problems)
    # The library: every pack found, resolved on its own, so tables of unselected packs can be named.
    library: dict[str, LoadedRule] = {}
    for pid in sorted(packs):
        if pid in order:
            continue
        sub = _Problems()
        sub_order = _order_packs(packs, [pid], sub)
        resolved = _resolve(sub_order, packs, sub) if not sub.items else {}
        if sub.items:
            continue  # a pack nobody selected never blocks the selected ones; its own load reports it
        for rid, lr in resolved.items():
            if lr.pack == pid and rid not in effective:
                library.setdefault(rid, lr)
    problems.raise_if_any()
    return RuleSet([packs[p][0] for p in order], effective, library)


def _load_named(rule_dirs: Iterable[str | Path] | None, names: list[str], *, national: bool) -> RuleSet:
    """:func:`load_rules` for named packs: each pack folder is read on its own, and only the problems of the
    named packs and the packs they extend count."""
    shipped = shipped_rules_dir()
    user_dirs = [Path(d) for d in (rule_dirs or ())]
    found_problems = _Problems()
    user_paths = _discover(user_dirs, found_problems)
    shipped_paths = sorted(p.parent.resolve() for p in shipped.rglob("pack.yaml"))
    neighbours = sorted({q.parent.resolve() for p in user_paths for q in p.parent.glob("*/pack.yaml")}
                        - set(user_paths) - set(shipped_paths))
    packs: dict[str, tuple[RulePack, list[_RawRule]]] = {}
    own_problems: dict[str, _Problems] = {}
    unreadable: list[tuple[Path, _Problems]] = []
    for path in [*shipped_paths, *[p for p in user_paths if p not in shipped_paths], *neighbours]:
        mine = _Problems()
        read = _read_pack(path, mine)
        if read is None:
            unreadable.append((path, mine))
            continue
        pack = read[0]
        if pack.id in packs:
            if packs[pack.id][0].path != pack.path and path not in neighbours:
                mine.add(pack.where, f"规则包 id {pack.id!r} 已被 {packs[pack.id][0].where} 使用",
                         f"pack id {pack.id!r} is already used by {packs[pack.id][0].where}; give one of them another id")
                own_problems.setdefault(pack.id, _Problems()).extend(mine)
            continue
        packs[pack.id] = read
        own_problems[pack.id] = mine
    problems = _Problems()
    missing = [n for n in dict.fromkeys(names) if n not in packs]
    if missing:
        near = {n: next(iter(difflib.get_close_matches(n, sorted(packs), n=1, cutoff=0.6)), None) for n in missing}
        lost = [(str(path), m) for path, m in unreadable]
        for n in missing:
            problems.add(f"rule_packs: {n}", f"计划指定的规则包 {n!r} 不存在" + (f"（是否为 {near[n]}？）" if near[n] else "")
                         + (f"；无法读取的规则包目录: {', '.join(p for p, _m in lost)}" if lost else ""),
                         f"the plan names rule pack {n!r}, which was not found"
                         + (f" (did you mean {near[n]}?)" if near[n] else "")
                         + (f"; pack folders that could not be read: {', '.join(p for p, _m in lost)}" if lost else "")
                         + f"; available: {', '.join(sorted(packs))}")
        problems.raise_if_any()
    # a folder given that is itself a pack applies too (``--rules rules/county-a``); a folder of packs is searched
    explicit = {d.resolve() for d in user_dirs if (d / "pack.yaml").is_file()}
    named_dirs = [pid for pid, (pack, _raws) in packs.items() if Path(pack.path).resolve() in explicit]
    wanted = list(dict.fromkeys(([NATIONAL] if national else []) + names + sorted(named_dirs)))
    order = _order_packs(packs, wanted, problems)
    for pid in order:
        problems.extend(own_problems.get(pid, _Problems()))
    problems.raise_if_any()
    effective = _resolve(order, packs, problems)
    problems.raise_if_any()
    library: dict[str, LoadedRule] = {}
    for pid in sorted(packs):
        if pid in order or own_problems.get(pid, _Problems()).items:
            continue
        sub = _Problems()
        sub_order = _order_packs(packs, [pid], sub)
        if sub.items or any(own_problems.get(q, _Problems()).items for q in sub_order):
            continue
        resolved = _resolve(sub_order, packs, sub)
        if sub.items:
            continue
        for rid, lr in resolved.items():
            if lr.pack == pid and rid not in effective:
                library.setdefault(rid, lr)
    return RuleSet([packs[p][0] for p in order], effective, library)


def _resolve(order: list[str], packs: dict[str, tuple[RulePack, list[_RawRule]]],
             problems: _Problems) -> dict[str, LoadedRule]:
    chosen: dict[str, tuple[LoadedRule, dict[str, Any], _RawRule]] = {}
    for pid in order:
        pack, raws = packs[pid]
        ancestors = _ancestors(packs, pid)
        seen_here: dict[str, _RawRule] = {}
        for raw in raws:
            rid = raw.data.get("id")
            if not isinstance(rid, str):
                problems.add(raw.where(), "规则缺少 id", "a rule needs an id (e.g. coverage.key-items)")
                continue
            if rid in seen_here:
                problems.add(raw.where(("id",)), f"规则 id {rid} 在同一规则包中重复 (先见于 {seen_here[rid].where()})",
                             f"rule id {rid} appears twice in pack {pid} (first at {seen_here[rid].where()})")
                continue
            seen_here[rid] = raw
            is_override = raw.data.get("override") is True
            prior = chosen.get(rid)
            if prior is None:
                if is_override:
                    problems.add(raw.where(("override",)),
                                 f"规则 {rid} 标记为 override，但它扩展的规则包中没有这条规则",
                                 f"rule {rid} says override: true but no extended pack defines it; "
                                 f"remove 'override' or fix the id")
                    continue
                rule = _validate(raw, raw.data, problems)
                if rule is None:
                    continue
                _semantics(rule, raw, problems)
                chosen[rid] = (LoadedRule(rule, pid, str(raw.doc.path), raw.line), raw.data, raw)
                continue
            prior_rule, prior_data, prior_raw = prior
            if prior_rule.pack not in ancestors:
                merged = _validate(raw, {**prior_data, **{k: v for k, v in raw.data.items() if k != "override"}}
                                   if is_override else raw.data, problems, prior_raw)
                if merged is not None and merged.model_dump() != prior_rule.rule.model_dump():
                    problems.add(raw.where(("id",)),
                                 f"规则 {rid} 在互不扩展的规则包 {prior_rule.pack} ({prior_rule.where}) 与 {pid} 中定义不同，相互矛盾",
                                 f"rule {rid} is defined differently in packs {prior_rule.pack} ({prior_rule.where}) and "
                                 f"{pid}, neither extending the other; make one pack extend the other or use another id")
                continue
            if not is_override:
                problems.add(raw.where(("id",)),
                             f"规则 {rid} 已由规则包 {prior_rule.pack} 定义 ({prior_rule.where})；如需替换请加 override: true",
                             f"rule {rid} is already defined by pack {prior_rule.pack} ({prior_rule.where}); "
                             f"add 'override: true' to replace it, or choose another id")
                continue
            if "kind" in raw.data and raw.data["kind"] != prior_data.get("kind"):
                problems.add(raw.where(("kind",)),
                             f"覆盖规则 {rid} 时不能改变类型 ({prior_data.get('kind')} → {raw.data['kind']})",
                             f"an override of {rid} cannot change its kind ({prior_data.get('kind')} → {raw.data['kind']}); "
                             f"use a new id for a different rule")
                continue
            merged_data = copy.deepcopy(prior_data)
            merged_data.update({k: v for k, v in raw.data.items() if k != "override"})
            rule = _validate(raw, merged_data, problems, prior_raw)
            if rule is None:
                continue
            _semantics(rule, raw, problems)
            chosen[rid] = (LoadedRule(rule, pid, str(raw.doc.path), raw.line,
                                      overrides=(*prior_rule.overrides, f"{prior_rule.pack} {prior_rule.where}")),
                           merged_data, raw)
    return {rid: v[0] for rid, v in chosen.items()}


_CACHE: dict[tuple[Any, ...], RuleSet] = {}


def _fingerprint(dirs: tuple[Path, ...]) -> tuple[Any, ...]:
    stamps = []
    for d in (shipped_rules_dir(), *dirs):
        if d.is_dir():
            for f in sorted(d.rglob("*.y*ml")):
                st = f.stat()
                stamps.append((str(f), st.st_mtime_ns, st.st_size))
    return tuple(stamps)


def cached_rules(rule_dirs: Iterable[str | Path] | None = None, packs: Iterable[str] | None = None) -> RuleSet:
    """:func:`load_rules`, reused while no rule file changed (for callers asking for one table or parameter)."""
    dirs = tuple(Path(d).resolve() for d in (rule_dirs or ()))
    named = tuple(packs) if packs is not None else None
    key = (dirs, named, _fingerprint(dirs))
    found = _CACHE.get(key)
    if found is None:
        found = load_rules(dirs, packs=named)
        _CACHE.clear()
        _CACHE[key] = found
    return found
