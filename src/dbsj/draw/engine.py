"""Commit, then chance: the draw of a plan's tasks, each step atomic and on the ledger.

1. :func:`commit_draw` fixes, per task, the eligible set (stored in ``draw_eligible``; exclusions counted
   per reason in ``draw_exclusions``), a sealing key (32 bytes from :mod:`secrets`, stored in ``draw_seals``,
   committed by its hash), each stratum's count and salted digest, its quota and sample size, every
   parameter, the plan's hash, the algorithm, the seed protocol and the ledger head — and appends the
   commitment to the ledger *before* any seed is known.
2. :func:`reveal_draw` checks the seed against the committed protocol, selects the k smallest tickets per
   stratum in SQL, orders the selection into batches by a stratum-free key, assigns inspectors to the merged
   visits of all tasks of the run at once, stores everything, appends the outcome to the ledger and writes
   one auditor record and one public record per task.

Each step is one store transaction, begun with :func:`dbsj.store.steps.begin_step` (a durable mark) and
ended inside that transaction; its files are staged and renamed only after the commit
(:class:`dbsj.store.outputs.StagedOutputs`). A process killed in between leaves the mark: the next time the
store is opened the attempt is marked failed (the handlers below), so a run whose reveal began can never be
revealed later, with any seed. Attempt and run numbers are never reused.

:func:`draw_plan` / :func:`draw_task` do both in one call with a seed known beforehand (demos and tests);
the commitment says so and binds the seed's hash. Every attempt — failed, refused or repeated — is on the
ledger and has a ``draws`` row.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs
import pyarrow as pa

from dbsj import clock
from dbsj._failpoints import declare, failpoint
from dbsj._filenames import distinct_stems, inside
from dbsj.draw.eligibility import EXCLUSION_REASONS, classify_sql, parse_stratum
from dbsj.draw.records import (
    canonical_sha256,
    public_body_node,
    public_record_v1,
    public_selected_ids_node,
    public_selected_node,
    record_path,
    selection_node,
    unique_out_check,
    write_canonical,
)
from dbsj.draw.seeds import BeaconSeed, DemoSeed, DiceSeed, Seed, SharesSeed, beacon_round_time, first_round_after
from dbsj.draw.selection import select_bottom_k, select_into
from dbsj.draw.tickets import id_bytes_sql, stratum_keys, ticket_sql
from dbsj.errors import DbsjError, DrawError, InputError, PlanError, RuleError, SeedError
from dbsj.models.plans import Plan, Quota, Task
from dbsj.models.vocab import DEPARTMENTS
from dbsj.rules.plan_refs import suggest_department
from dbsj.store.digest import SET_DIGEST_SQL, eligible_digests
from dbsj.store.ledger import Ledger
from dbsj.store.outputs import StagedOutputs, sweep_temporaries
from dbsj.store.steps import begin_step, end_step, on_died, open_steps
from dbsj.verifier import (
    ALGORITHM,
    ALGORITHM_V1,
    RECORD_FORMAT,
    RECORD_FORMAT_V1,
    batch_cuts,
    batch_key,
    canonical_json,
    eligible_root,
    eligible_salt,
    public_commitment,
    sample_size,
    sha256_hex,
    stratum_notes,
)

__all__ = ["DrawOptions", "DrawRun", "commit_draw", "reveal_draw", "draw_plan", "draw_task", "load_run",
           "selection_for", "selection_section", "check_plan_references", "snapshot_plan", "stored_plan",
           "stored_seal", "confidential_fields", "FAILPOINTS_DRAW"]

_CLASS = "_dbsj_draw_class"
_SEL = "_dbsj_draw_sel"
_BATCH_T = "_dbsj_draw_batches"

#: The draw's crash points (docs/draws.md, "Crashes"); tests/integrity/test_failpoints_draw.py kills at each.
FAILPOINTS_DRAW = {
    name: declare(name, text) for name, text in (
        ("draw.commit.after-begin", "the commit step is marked begun on the ledger; nothing of it is stored yet"),
        ("draw.commit.after-eligible", "inside the commit transaction: a task's eligible set and exclusions are stored"),
        ("draw.commit.after-ledger", "inside the commit transaction: every commitment is on the ledger"),
        ("draw.commit.before-commit", "the commitment files are staged and journalled; the transaction is not committed"),
        ("draw.commit.after-commit", "the commit transaction is committed; the commitment files are not yet renamed"),
        ("draw.reveal.after-begin", "the reveal step is marked begun on the ledger; nothing of it is stored yet"),
        ("draw.reveal.after-select", "inside the reveal transaction: every task's selection is stored"),
        ("draw.reveal.after-assign", "inside the reveal transaction: the inspector assignment is stored"),
        ("draw.reveal.after-ledger", "inside the reveal transaction: a task's reveal is on the ledger"),
        ("draw.reveal.mid-records", "inside the reveal transaction: the first task's records are staged"),
        ("draw.reveal.before-commit", "every record is staged and journalled; the transaction is not committed"),
        ("draw.reveal.after-commit", "the reveal transaction is committed; the record files are not yet renamed"),
    )
}


def _algorithm(value: str) -> str:
    if value not in (ALGORITHM, ALGORITHM_V1):
        raise DrawError(f"未知的抽取算法 {value!r}", f"unknown draw algorithm {value!r}",
                        hint_zh=f"可选 {ALGORITHM}（默认）或 {ALGORITHM_V1}（兼容）",
                        hint_en=f"choose {ALGORITHM} (default) or {ALGORITHM_V1} (compatibility)")
    return value


@attrs.frozen(slots=True)
class DrawOptions:
    """Parameters of a draw beyond the plan. All are recorded in the commitment.

    :param repeat_window_days: anti-repeat window (same target, same item); 0 turns it off; ``None`` takes
        ``window_days`` of the rule ``frequency.same-item-yearly`` of the effective rule packs (365 nationally).
    :param rule_dirs: rule-pack folders for ``Sampling.table`` ratio tables, that rule and the packs'
        ``confidential_fields`` (default: the shipped packs).
    :param assignment: options of the inspector assignment (``dbsj.AssignmentOptions``); ``None`` = defaults.
    :param assign: run the inspector assignment after selection.
    :param algorithm: ``dbsj-sha256-bottomk/2`` (default) or ``dbsj-sha256-bottomk/1`` (compatibility: no seal,
        records of format ``dbsj-draw-record/1``, which reveal a stratified task's classes — tests only).
    """

    repeat_window_days: int | None = attrs.field(default=None, validator=attrs.validators.optional(attrs.validators.ge(0)))
    rule_dirs: tuple[str, ...] | None = None
    assignment: Any = None
    assign: bool = True
    algorithm: str = attrs.field(default=ALGORITHM, converter=_algorithm)


@attrs.frozen(slots=True)
class DrawRun:
    """A run of draws: tasks committed together and revealed with one seed.

    :ivar run_id: the run's id (``<plan>/run-<n>``).
    :ivar draw_ids: task id → draw id (``<plan>/<task>/<attempt>``).
    :ivar status: ``committed`` or ``drawn``.
    :ivar commitments: task id → commitment section.
    :ivar records: task id → auditor record path (after the reveal, when written).
    :ivar summary: JSON-ready summary (counts, shortfalls, paths) — what ``dbsj draw --json`` prints.
    """

    run_id: str
    plan_id: str
    draw_ids: dict[str, str]
    status: str
    commitments: dict[str, dict[str, Any]]
    records: dict[str, Path] = attrs.field(factory=dict)
    summary: dict[str, Any] = attrs.field(factory=dict)


# -- plan checks and snapshot -------------------------------------------------------------------------


def check_plan_references(store: Any, plan: Plan, task_ids: list[str]) -> None:
    """Every item of the tasks must be on the store's item list; every department known (built-in
    vocabulary, the item list's or the inspector pool's departments). Raises :class:`PlanError` naming them."""
    known_items = {r[0] for r in store.execute("SELECT code FROM items WHERE active").fetchall()}
    known_depts = set(DEPARTMENTS)
    known_depts |= {r[0] for r in store.execute("SELECT DISTINCT department FROM items WHERE active").fetchall()}
    known_depts |= {r[0] for r in store.execute("SELECT DISTINCT department FROM inspectors WHERE active").fetchall()}
    bad_items: list[str] = []
    bad_depts: list[str] = []
    for tid in task_ids:
        task = plan.task(tid)
        bad_items += [f"{tid}:{i}" for i in task.items if i not in known_items]
        for d in task.departments:
            if d not in known_depts:
                guess = suggest_department(d, known_depts)
                bad_depts.append(f"{tid}:{d}" + (f"（→ {guess}?）" if guess else ""))
    if bad_items or bad_depts:
        zh, en = [], []
        if bad_items:
            zh.append(f"未知的抽查事项 {', '.join(bad_items)}")
            en.append(f"unknown item(s) {', '.join(bad_items)}")
        if bad_depts:
            zh.append(f"未知的部门 {', '.join(bad_depts)}")
            en.append(f"unknown department(s) {', '.join(bad_depts)}")
        raise PlanError("计划引用了" + "；".join(zh), "the plan refers to " + "; ".join(en), where=f"plan {plan.id}",
                        hint_zh="先导入抽查事项清单（dbsj pool import items），或改正计划中的编码",
                        hint_en="import the item list first (dbsj pool import items) or correct the codes in the plan",
                        unknown_items=bad_items, unknown_departments=bad_depts)


def _plan_conflict(store: Any, plan: Plan) -> bool:
    """Whether the plan must still be stored; raises when the store holds another plan under its id."""
    digest = plan.digest()
    row = next(iter(store.execute("SELECT sha256 FROM plans WHERE plan_id = ?", [plan.id]).fetchall()), None)
    if row is not None and row[0] != digest:
        raise PlanError(f"存储中已有编号为 {plan.id} 的另一份计划（哈希 {row[0][:12]}…），计划编号在同一存储中必须唯一",
                        f"the store already holds a different plan under id {plan.id} (sha256 {row[0][:12]}…); "
                        f"plan ids are unique per store", where=f"plan {plan.id}",
                        hint_zh="修改后的计划请使用新的编号", hint_en="give a changed plan a new id")
    return row is None


def snapshot_plan(store: Any, plan: Plan) -> str:
    """Store the plan's canonical JSON and hash (once); a different body under the same id is an error."""
    if _plan_conflict(store, plan):
        store.execute("INSERT INTO plans VALUES (?, ?, ?, ?, ?)",
                      [plan.id, plan.year, plan.digest(), plan.canonical_json(), store.now()])
    return plan.digest()


def stored_plan(store: Any, plan_id: str) -> Plan:
    """The plan snapshot a draw used, from the store."""
    row = next(iter(store.execute("SELECT body FROM plans WHERE plan_id = ?", [plan_id]).fetchall()), None)
    if row is None:
        raise DrawError(f"存储中没有计划 {plan_id}", f"no plan {plan_id} in the store")
    body = row[0]
    return Plan.model_validate(json.loads(body) if isinstance(body, str) else body)


def stored_seal(con: Any, draw_id: str) -> bytes | None:
    """The sealing key of a v2 draw (``None`` for v1 draws and unknown ids)."""
    row = con.execute("SELECT seal FROM draw_seals WHERE draw_id = ?", [draw_id]).fetchall()
    return bytes(row[0][0]) if row else None


# -- quotas ---------------------------------------------------------------------------------------------


def _quota_dict(q: Quota) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if q.count is not None:
        out["count"] = q.count
    if q.min is not None:
        out["min"] = repr(float(q.min))
    if q.max is not None:
        out["max"] = repr(float(q.max))
    return out


def _ratio_table(task: Task, options: DrawOptions) -> dict[str, Quota] | None:
    if task.sampling.table is None:
        return None
    try:
        import dbsj

        resolve = dbsj.effective_ratio_table  # type: ignore[attr-defined]
    except AttributeError:
        raise PlanError(f"任务 {task.id} 引用比例决策表 {task.sampling.table}，但规则功能不可用",
                        f"task {task.id} names ratio table {task.sampling.table}, but rule packs are not available",
                        where=f"task {task.id}", hint_zh="在计划中写明 by_class 或 quota",
                        hint_en="state by_class or quota in the plan") from None
    table = resolve(task.sampling.table, rule_dirs=list(options.rule_dirs) if options.rule_dirs else None)
    return {str(k): (v if isinstance(v, Quota) else Quota.model_validate(v)) for k, v in table.items()}


def _quota_for(task: Task, stratum: str, table: dict[str, Quota] | None) -> tuple[dict[str, Any], str]:
    cls = parse_stratum(stratum).get("credit_class")
    s = task.sampling
    if cls is not None and cls in {str(c) for c in s.by_class}:
        return _quota_dict({str(c): q for c, q in s.by_class.items()}[cls]), "by_class"
    if cls is not None and table is not None and cls in table:
        return _quota_dict(table[cls]), f"table:{s.table}"
    if s.quota is not None:
        return _quota_dict(s.quota), "quota"
    raise PlanError(f"任务 {task.id} 的分层 {stratum} 没有适用的抽查比例",
                    f"task {task.id}: no quota applies to stratum {stratum}", where=f"task {task.id}",
                    hint_zh="补充 by_class 中该信用类别的比例，或给出 quota 作为默认",
                    hint_en="add that credit class to by_class, or give a default quota")


# -- seeds, rules, confidentiality ------------------------------------------------------------------------


def _protocol(seed_kind: str, committed_at: dt.datetime, *, beacon_chain: str, beacon_round: int | None,
              share_commitments: dict[str, str] | None, departments: list[str], algorithm: str,
              known_value: str | None) -> dict[str, Any]:
    """The seed protocol fixed in the commitment. ``known_value``: the seed of a one-shot draw."""
    v2 = algorithm == ALGORITHM
    if seed_kind == "beacon":
        if known_value is not None:
            raise SeedError("信标须先承诺后揭示", "a beacon seed needs commit-then-reveal", where="seed_protocol.kind")
        round_no = beacon_round if beacon_round is not None else first_round_after(beacon_chain, committed_at, 60)
        name = beacon_chain
        rt = beacon_round_time(name, round_no)
        if rt <= committed_at:
            raise SeedError(f"信标轮次 {round_no} 发布于 {rt.isoformat()}，不晚于承诺时间 {committed_at.isoformat()}",
                            f"beacon round {round_no} is published at {rt.isoformat()}, not after the commitment "
                            f"({committed_at.isoformat()})", where="seed_protocol.round",
                            hint_zh="承诺必须约定一个将来的轮次", hint_en="the commitment must name a future round")
        from dbsj.draw.seeds import DRAND_CHAINS, _chain

        name, _params = _chain(name)
        out = {"kind": "beacon", "chain": name, "chain_hash": DRAND_CHAINS[name]["chain_hash"], "round": round_no,
               "round_time": rt.isoformat()}
    elif seed_kind == "shares":
        if known_value is not None:
            raise SeedError("部门份额须先承诺后揭示", "department shares need commit-then-reveal", where="seed_protocol.kind")
        commits = dict(sorted((share_commitments or {}).items()))
        if not commits:
            raise SeedError("部门份额方式需要各部门提交份额哈希", "the shares protocol needs each department's share hash",
                            where="seed_protocol.commitments")
        missing = [d for d in departments if d not in commits]
        if missing:
            raise SeedError(f"以下参与部门没有提交份额哈希: {', '.join(missing)}",
                            f"participating departments without a share commitment: {', '.join(missing)}",
                            where="seed_protocol.commitments")
        for d, h in commits.items():
            if len(h) != 64 or any(c not in "0123456789abcdef" for c in h):
                raise SeedError(f"部门 {d} 的份额哈希应为 64 位小写十六进制", f"the share hash of {d} must be 64 lowercase hex digits",
                                where=f"seed_protocol.commitments.{d}")
        out = {"kind": "shares", "commitments": commits}
    elif seed_kind in ("dice", "demo"):
        if seed_kind == "demo" and known_value is None:
            raise SeedError("演示种子只能一次性使用（dbsj draw --seed）；受保护的抽取请用 beacon、shares 或 dice",
                            "a demo seed is one-shot only (dbsj draw --seed); a protected draw uses beacon, shares or dice",
                            where="seed_protocol.kind")
        out = {"kind": seed_kind}
    else:
        raise SeedError(f"未知的随机源类型 {seed_kind!r}", f"unknown seed kind {seed_kind!r}", where="seed_protocol.kind",
                        hint_zh="可选 beacon、shares、dice", hint_en="choose beacon, shares or dice")
    if v2:
        out["known_before_commitment"] = known_value is not None
        if known_value is not None:
            out["seed_value_sha256"] = sha256_hex(known_value.encode("utf-8"))
    return out


def _rules(options: DrawOptions) -> Any:
    from dbsj.rules.loader import cached_rules

    return cached_rules(list(options.rule_dirs) if options.rule_dirs else None)


def _repeat_window(options: DrawOptions) -> int:
    if options.repeat_window_days is not None:
        return options.repeat_window_days
    try:
        return int(_rules(options).get("frequency.same-item-yearly").rule.window_days)
    except (RuleError, AttributeError):
        return 365


def confidential_fields(rule_dirs: list[str] | tuple[str, ...] | None = None,
                        packs: tuple[str, ...] | None = None) -> tuple[str, ...]:
    """Target fields never published: ``credit_class`` and every field an effective rule pack declares in
    ``confidential_fields`` (pack.yaml); ``packs``: a plan's ``rule_packs``."""
    from dbsj.rules.loader import cached_rules

    fields = {"credit_class"}
    for pack in cached_rules(list(rule_dirs) if rule_dirs else None, packs or None).packs:
        fields |= set(getattr(pack.manifest, "confidential_fields", ()) or ())
    return tuple(sorted(fields))


def _confidentiality(parameters: dict[str, Any], fields: tuple[str, ...]) -> dict[str, Any]:
    from dbsj.verifier import confidential_use

    used = confidential_use(parameters, list(fields))
    return {"task": bool(used), "fields": list(fields), "used": used}


# -- commit ---------------------------------------------------------------------------------------------


def stratum_digests(con: Any, draw_id: str, batch_rows: int = 2_000_000) -> list[tuple[str, int, str]]:
    """v1: ``(stratum, eligible, digest)`` of a draw's stored eligible set, in ascending byte order of label.

    The v1 digest is an ordered string aggregate; strata are digested in batches of about ``batch_rows``
    ids so that memory stays bounded.
    """
    counts = sorted(((s, int(n)) for s, n in con.execute(
        "SELECT stratum, count(*) FROM draw_eligible WHERE draw_id = ? GROUP BY stratum", [draw_id]).fetchall()),
        key=lambda r: r[0].encode("utf-8"))
    batches: list[list[str]] = []
    size = batch_rows
    for stratum, n in counts:
        if size + n > batch_rows:
            batches.append([])
            size = 0
        batches[-1].append(stratum)
        size += n
    digests: dict[str, str] = {}
    for batch in batches:
        digests.update(con.execute(
            f"SELECT stratum, {SET_DIGEST_SQL} FROM (SELECT stratum, uscc AS id FROM draw_eligible "
            f"WHERE draw_id = ? AND list_contains(?::VARCHAR[], stratum)) GROUP BY stratum", [draw_id, batch]).fetchall())
    return [(s, n, digests[s]) for s, n in counts]


def eligible_root_v1(digests: list[str]) -> str:
    """v1: SHA-256 hex of the stratum digests (hex text) sorted and concatenated."""
    return hashlib.sha256("".join(sorted(digests)).encode("ascii")).hexdigest()


def _item_kinds(store: Any, task: Task) -> tuple[str, ...] | None:
    rows = store.execute("SELECT code, target_kinds FROM items WHERE active AND code IN (SELECT unnest(?::VARCHAR[]))",
                         [list(task.items)]).fetchall()
    kinds: set[str] = set()
    for _code, tk in rows:
        if not tk:
            return None
        kinds.update(tk)
    return tuple(sorted(kinds))


def _numbers(store: Any, plan_id: str, task_ids: list[str]) -> tuple[int, dict[str, int]]:
    """The next run number of the plan and next attempt of each task: past every number the store has used —
    in ``draw_runs``/``draws`` or announced by a ``draw.commit.begun`` entry whose commit never landed."""
    runs = [0]
    prefix = f"{plan_id}/run-"
    for (rid,) in store.execute("SELECT run_id FROM draw_runs WHERE plan_id = ?", [plan_id]).fetchall():
        tail = rid[len(prefix):] if rid.startswith(prefix) else ""
        if tail.isdigit():
            runs.append(int(tail))
    attempts = {t: 0 for t in task_ids}
    for tid, att in store.execute("SELECT task_id, max(attempt) FROM draws WHERE plan_id = ? GROUP BY task_id",
                                  [plan_id]).fetchall():
        if tid in attempts:
            attempts[tid] = int(att)
    for (payload,) in store.execute("SELECT payload FROM ledger WHERE kind = 'draw.commit.begun'").fetchall():
        p = json.loads(payload)
        if p.get("plan_id") != plan_id:
            continue
        tail = str(p.get("run_id", ""))[len(prefix):]
        if tail.isdigit():
            runs.append(int(tail))
        for tid, did in (p.get("draws") or {}).items():
            n = str(did).rsplit("/", 1)[-1]
            if tid in attempts and n.isdigit():
                attempts[tid] = max(attempts[tid], int(n))
    return max(runs) + 1, {t: a + 1 for t, a in attempts.items()}


def _commit_task(store: Any, ledger: Ledger, plan: Plan, plan_sha: str, task: Task, run_id: str, draw_id: str,
                 attempt: int, protocol: dict[str, Any], committed_at: dt.datetime, options: DrawOptions,
                 seal: bytes | None, conf_fields: tuple[str, ...],
                 check_override: dict[str, Any] | None = None,
                 check_warnings: list[str] | None = None) -> dict[str, Any]:
    con = store.con
    head_before = ledger.head()
    table = _ratio_table(task, options)
    sql = classify_sql(task, plan.id, item_kinds=_item_kinds(store, task), as_of=task.start,
                       window_days=options.repeat_window_days)
    con.execute(f"CREATE OR REPLACE TEMP TABLE {_CLASS} AS {sql}")
    try:
        bad = con.execute(f"SELECT count(*) FROM {_CLASS} WHERE reason IS NULL AND (uscc IS NULL OR uscc = '' "
                          f"OR uscc <> trim(uscc) OR regexp_matches(uscc, '[\\x00-\\x1f\\x7f]'))").fetchall()[0][0]
        if bad:
            raise DrawError(f"名录库中有 {bad} 个空白、带空格或含控制字符的对象编号，无法对该对象集合作出承诺",
                            f"the pool has {bad} empty or padded target id(s), or ids with control characters; "
                            f"the draw cannot commit to it", where=f"task {task.id}",
                            hint_zh="重新导入并修正名录库", hint_en="re-import and fix the pool")
        con.execute(f"INSERT INTO draw_eligible SELECT ?, stratum, uscc FROM {_CLASS} WHERE reason IS NULL", [draw_id])
        con.execute(f"INSERT INTO draw_exclusions SELECT ?, uscc, reason FROM {_CLASS} WHERE reason IS NOT NULL",
                    [draw_id])
        excl = dict(con.execute(f"SELECT reason, count(*) FROM {_CLASS} WHERE reason IS NOT NULL GROUP BY reason").fetchall())
    finally:
        con.execute(f"DROP TABLE IF EXISTS {_CLASS}")
    exclusions = {r: int(excl[r]) for r in EXCLUSION_REASONS if r in excl}
    failpoint("draw.commit.after-eligible")
    v2 = options.algorithm == ALGORITHM
    rows = eligible_digests(con, draw_id, eligible_salt(seal)) if v2 else stratum_digests(con, draw_id)
    total = sum(n for _s, n, _d in rows)
    if not rows:
        raise DrawError(f"任务 {task.id} 没有符合条件的检查对象（排除: {exclusions}）",
                        f"task {task.id} has no eligible targets (excluded: {exclusions})", where=f"task {task.id}",
                        hint_zh="检查任务范围与名录库", hint_en="check the task's scope and the pool")
    s = task.sampling
    strata = []
    for stratum, n, digest in sorted(rows, key=lambda r: r[0].encode("utf-8")):
        quota, source = _quota_for(task, stratum, table)
        asked, k = sample_size(n, quota, s.min_per_stratum, s.max_per_stratum)
        entry: dict[str, Any] = {"stratum": stratum, "eligible": int(n), "digest": digest, "quota": quota,
                                 "quota_from": source, "asked": asked, "k": k}
        notes = stratum_notes(n, quota, asked, k)
        if notes:
            entry["notes"] = notes
        strata.append(entry)
    parameters = {"scope": task.scope.model_dump(mode="json"), "directed": task.scope.directed,
                  "strata_fields": sorted(set(s.strata)), "min_per_stratum": s.min_per_stratum,
                  "max_per_stratum": s.max_per_stratum, "ratio_table": s.table,
                  "repeat_window_days": options.repeat_window_days, "as_of": task.start.isoformat()}
    task_section = {"id": task.id, "name": task.name, "sponsor": task.sponsor, "partners": list(task.partners),
                    "joint": task.joint, "items": list(task.items), "start": task.start.isoformat(),
                    "batches": [{"name": b.name, "deadline": b.deadline.isoformat(),
                                 "share": None if b.share is None else repr(float(b.share))} for b in task.batches]}
    plan_section = {"id": plan.id, "sha256": plan_sha, "authority": plan.authority, "year": plan.year}
    if v2:
        commitment = {
            "format": RECORD_FORMAT, "algorithm": ALGORITHM, "draw_id": draw_id, "run_id": run_id, "attempt": attempt,
            "plan": plan_section, "task": task_section, "parameters": parameters,
            "confidential": _confidentiality(parameters, conf_fields),
            "strata": strata,
            "eligible": {"count": int(total), "root": eligible_root([(e["stratum"], e["eligible"], e["digest"])
                                                                     for e in strata])},
            "exclusions": exclusions, "seed_protocol": protocol, "seal_sha256": sha256_hex(seal),
            "ledger_head": head_before, "committed_at": committed_at.isoformat(),
        }
        if check_override is not None:
            commitment["check_override"] = check_override
    else:
        commitment = {
            "format": RECORD_FORMAT_V1, "algorithm": ALGORITHM_V1, "draw_id": draw_id, "run_id": run_id,
            "attempt": attempt, "plan": plan_section, "task": task_section, "parameters": parameters,
            "strata": strata,
            "eligible": {"count": int(total), "root": eligible_root_v1([e["digest"] for e in strata])},
            "exclusions": exclusions, "seed_protocol": protocol, "ledger_head": head_before,
            "committed_at": committed_at.isoformat(),
        }
    sha = hashlib.sha256(canonical_json(commitment).encode("utf-8")).hexdigest()
    from dbsj.draw.audit import exclusions_digest

    entry = ledger.append("draw.commit", draw_id, {"run_id": run_id, "commitment_sha256": sha,
                                                   "eligible": int(total), "strata": len(strata),
                                                   "exclusions": exclusions, "seed_protocol": protocol["kind"],
                                                   "exclusions_sha256": exclusions_digest(store.con, draw_id),
                                                   **({"check_override": check_override} if check_override else {}),
                                                   **({"check_warnings": check_warnings} if check_warnings else {})})
    store.execute("INSERT INTO draw_items SELECT ?, unnest(?::VARCHAR[])", [draw_id, list(task.items)])
    store.execute("INSERT INTO draws VALUES (?, ?, ?, ?, ?, 'committed', ?, NULL, ?, ?, ?, ?, ?)",
                  [draw_id, plan.id, task.id, attempt, commitment["algorithm"], protocol["kind"], entry.seq, committed_at,
                   json.dumps({"commitment": commitment}, ensure_ascii=False), run_id, sha])
    if v2:
        store.execute("INSERT INTO draw_seals VALUES (?, ?, ?, ?)", [draw_id, seal, sha256_hex(seal), committed_at])
    return commitment


def _write_commit_failure(store: Any, detail: dict[str, Any], error: dict[str, Any]) -> None:
    """Inside a transaction: the attempts of a commit that did not land are failed rows, on the ledger."""
    ledger = Ledger(store)
    at = dt.datetime.fromisoformat(detail["committed_at"])
    for tid, did in detail["draws"].items():
        exists = store.execute("SELECT count(*) FROM draws WHERE draw_id = ?", [did]).fetchall()[0][0]
        if exists:
            continue
        entry = ledger.append("draw.failed", did, {"run_id": detail["run_id"], "step": "commit", **{
            k: error[k] for k in ("error", "message_en") if k in error}})
        store.execute("INSERT INTO draws VALUES (?, ?, ?, ?, ?, 'failed', NULL, NULL, ?, ?, ?, ?, NULL)",
                      [did, detail["plan_id"], tid, int(did.rsplit("/", 1)[1]), detail["algorithm"], entry.seq, at,
                       json.dumps({"error": error}, ensure_ascii=False), detail["run_id"]])
    if not store.execute("SELECT count(*) FROM draw_runs WHERE run_id = ?", [detail["run_id"]]).fetchall()[0][0]:
        store.execute("INSERT INTO draw_runs VALUES (?, ?, 'failed', ?, ?, ?, ?, NULL, NULL)",
                      [detail["run_id"], detail["plan_id"], list(detail["draws"].values()),
                       json.dumps(detail["protocol"], ensure_ascii=False), bool(detail["one_shot"]), at])


def _on_commit_died(store: Any, subject: str, detail: dict[str, Any]) -> None:  # noqa: ARG001
    _write_commit_failure(store, detail, {"error": "died", "message_en": "the process ended before the commit committed"})


#: The longest reason an override may give (it goes into the commitment and the ledger).
MAX_OVERRIDE_REASON = 500


#: Check warnings a draw repeats in its summary and on its ``draw.commit`` entries (they concern the draw itself).
DRAW_WARNINGS = frozenset({"plan.deadline-past"})


def _check_gate(store: Any, plan: Plan, options: DrawOptions,
                override: str | None) -> tuple[dict[str, Any] | None, list[dict[str, str]]]:
    """Run :func:`dbsj.check_plan` on the plan (with the store, the draw's rule packs). Errors refuse the draw
    unless ``override`` gives a reason. Returns the override record (``None``: the check passed) and the warnings
    the draw repeats (:data:`DRAW_WARNINGS`).

    The refusal is a ``draw.refused`` ledger entry naming the failing rules, and a :class:`PlanError` listing them.
    """
    from dbsj.rules.check import check_plan

    if override is not None:
        override = override.strip()
        if not override or len(override) > MAX_OVERRIDE_REASON or any(ord(c) < 32 for c in override):
            raise InputError(f"越过计划检查须写明理由（1–{MAX_OVERRIDE_REASON} 个字符，不含控制字符）",
                             f"overriding the plan check needs a reason (1–{MAX_OVERRIDE_REASON} characters, no control "
                             "characters)", where="override_check",
                             hint_zh="例如 --override-check \"经局务会研究同意，文号 …\"",
                             hint_en="e.g. --override-check \"approved by the bureau meeting, document no. …\"")
    report = check_plan(plan, store, rule_dirs=options.rule_dirs)
    errors = [f for f in report.findings if f.severity == "error"]
    warnings = [{"rule": f.rule, "task_id": f.evidence.get("task_id"), "message_zh": f.message_zh,
                 "message_en": f.message_en} for f in report.findings if f.rule in DRAW_WARNINGS]
    if not errors:
        return None, warnings
    rules = sorted({f.rule for f in errors})
    if override is None:
        Ledger(store).append("draw.refused", plan.id, {"reason": "check", "rules": rules, "errors": len(errors)})
        shown = errors[:10]
        lines_zh = [f"{f.rule}: {f.message_zh}" for f in shown]
        lines_en = [f"{f.rule}: {f.message_en}" for f in shown]
        more_zh = f"\n  …另有 {len(errors) - len(shown)} 处" if len(errors) > len(shown) else ""
        more_en = f"\n  … {len(errors) - len(shown)} more" if len(errors) > len(shown) else ""
        raise PlanError(f"计划 {plan.id} 未通过检查（{len(errors)} 处错误），不予抽取:\n  " + "\n  ".join(lines_zh) + more_zh,
                        f"plan {plan.id} fails its check ({len(errors)} errors); no draw:\n  " + "\n  ".join(lines_en)
                        + more_en, where=f"plan {plan.id}",
                        hint_zh="改正计划后重试（dbsj check --plan 查看全部检查结果）；确需照此抽取的，"
                                "用 --override-check 理由 / override_check=理由，理由写入承诺与账本",
                        hint_en="correct the plan and retry (dbsj check --plan shows every finding); to draw it as it "
                                "is, give --override-check REASON / override_check=REASON, which goes into the "
                                "commitment and the ledger",
                        rules=rules)
    return {"override": override, "errors": rules}, warnings


def commit_draw(store: Any, plan: Plan, task_ids: list[str] | None = None, *, seed_kind: str = "beacon",
                beacon_chain: str = "mainnet", beacon_round: int | None = None,
                share_commitments: dict[str, str] | None = None, out_dir: str | Path | None = None,
                options: DrawOptions | None = None, override_check: str | None = None,
                _one_shot: Seed | None = None, _seals: Callable[[str], bytes] | None = None) -> DrawRun:
    """Commit to the eligible sets and parameters of ``task_ids`` (default: every task) before chance.

    The plan is checked first (:func:`dbsj.check_plan` with the store and ``options.rule_dirs``): a check with
    errors refuses the draw (a ``draw.refused`` ledger entry, :class:`PlanError` naming the rules), unless
    ``override_check`` gives the reason to draw anyway; the reason and the failing rules then go into every
    commitment (``check_override``, docs/draw-spec.md §7.1) and onto the ``draw.commit`` entries.

    :param seed_kind: the seed protocol: ``beacon`` (a drand round after the commitment), ``shares``
        (departments' commit-then-reveal shares), ``dice`` (a witnessed dice string at the reveal).
    :param beacon_round: the exact round to use (default: the first round at least a minute after now).
    :param share_commitments: department → SHA-256 hex of its secret share (``dbsj.share_commitment``);
        every department of the tasks must have one.
    :param out_dir: where to write ``<task>.commit.json``, the public commitment (publish it before the seed).
    :return: a :class:`DrawRun` with status ``committed``.
    :raises PlanError: a check with errors (without ``override_check``), unknown items or departments, a plan id
        reused for another plan, a stratum without quota.
    :raises InputError: a task id that cannot name a file (docs/draws.md), an empty or overlong override reason.
    :raises DrawError: nothing eligible, a pool that cannot be committed, a commitment file already there.
    """
    options = options or DrawOptions()
    options = attrs.evolve(options, repeat_window_days=_repeat_window(options))
    v2 = options.algorithm == ALGORITHM
    ids = list(task_ids) if task_ids else [t.id for t in plan.tasks]
    for tid in ids:
        plan.task(tid)
    if len(set(ids)) != len(ids):
        raise PlanError("任务编号重复", "a task id is given twice")
    stems = distinct_stems(ids, what="任务编号 / task id")
    out = Path(out_dir) if out_dir is not None else None
    commit_files: dict[str, Path] = {}
    if out is not None:
        commit_files = {tid: inside(out, out / f"{stems[tid]}.commit.json") for tid in ids}
        unique_out_check(list(commit_files.values()))
        sweep_temporaries(out)
    _refuse_open_steps(store)
    check_plan_references(store, plan, ids)
    store_plan = _plan_conflict(store, plan)
    check_override, check_warnings = _check_gate(store, plan, options, override_check)
    conf_fields = confidential_fields(options.rule_dirs, plan.rule_packs) if v2 else ()
    committed_at = clock.now().replace(microsecond=0)
    depts = sorted({d for tid in ids for d in plan.task(tid).departments})
    known = _one_shot.known_value() if _one_shot is not None else None
    protocol = _protocol(_one_shot.kind if _one_shot is not None else seed_kind, committed_at,
                         beacon_chain=beacon_chain, beacon_round=beacon_round, share_commitments=share_commitments,
                         departments=depts, algorithm=options.algorithm, known_value=known)
    run_no, attempts = _numbers(store, plan.id, ids)
    run_id = f"{plan.id}/run-{run_no}"
    draw_ids = {tid: f"{plan.id}/{tid}/{attempts[tid]}" for tid in ids}
    detail = {"plan_id": plan.id, "run_id": run_id, "draws": draw_ids, "algorithm": options.algorithm,
              "protocol": protocol, "one_shot": known is not None, "committed_at": committed_at.isoformat()}
    step = begin_step(store, "draw.commit", run_id, detail)
    failpoint("draw.commit.after-begin")
    staged = StagedOutputs(store, "draw.commit")
    commitments: dict[str, dict[str, Any]] = {}
    try:
        with store.transaction():
            ledger = Ledger(store)
            plan_sha = snapshot_plan(store, plan) if store_plan else plan.digest()
            for tid in ids:
                seal = (_seals(draw_ids[tid]) if _seals is not None else secrets.token_bytes(32)) if v2 else None
                if seal is not None and (not isinstance(seal, bytes) or len(seal) != 32):
                    raise DrawError("封存密钥应为 32 字节", "a seal must be 32 bytes")
                commitments[tid] = _commit_task(store, ledger, plan, plan_sha, plan.task(tid), run_id, draw_ids[tid],
                                                attempts[tid], protocol, committed_at, options, seal, conf_fields,
                                                check_override,
                                                [w["message_en"] for w in check_warnings if w["task_id"] == tid])
            failpoint("draw.commit.after-ledger")
            store.execute("INSERT INTO draw_runs VALUES (?, ?, 'committed', ?, ?, ?, ?, NULL, NULL)",
                          [run_id, plan.id, [draw_ids[t] for t in ids], json.dumps(protocol), known is not None,
                           committed_at])
            for tid, path in commit_files.items():
                com = commitments[tid]
                body = public_commitment(com) if v2 else {"format": RECORD_FORMAT_V1, "commitment": com,
                                                          "commitment_sha256": canonical_sha256(com)}
                with staged.open(path, "wb", encoding=None) as fh:
                    write_canonical(fh, body)
            staged.journal()
            end_step(store, step)
            failpoint("draw.commit.before-commit")
    except BaseException as exc:
        staged.discard()
        _record_failure(store, step, lambda: _write_commit_failure(store, detail, _error_dict(exc)))
        raise
    failpoint("draw.commit.after-commit")
    staged.publish()
    return DrawRun(run_id, plan.id, draw_ids, "committed", commitments,
                   summary={"run_id": run_id, "status": "committed", "draws": draw_ids, "seed_protocol": protocol,
                            "commitments": {t: str(p) for t, p in commit_files.items()},
                            "check_warnings": check_warnings})


def _error_dict(exc: BaseException) -> dict[str, Any]:
    if isinstance(exc, DbsjError):
        return {"error": type(exc).__name__, "message_en": exc.render("en")}
    return {"error": type(exc).__name__, "message_en": str(exc)}


def _record_failure(store: Any, step: int, write: Callable[[], None]) -> None:
    """Record a step's failure and close its mark in one transaction; if even that fails, the mark stays and
    the failure is recorded when the store is next opened."""
    try:
        with store.transaction():
            write()
            end_step(store, step)
    except Exception:  # noqa: BLE001 - the original error is what the caller raises
        pass


def _refuse_open_steps(store: Any) -> None:
    open_ = [s for s in open_steps(store) if s[1].startswith("draw.")]
    if open_:
        raise DrawError(f"存储中有未结束的抽取步骤（{', '.join(f'{k} {s}' for _i, k, s, _d in open_)}）",
                        f"the store holds unfinished draw steps ({', '.join(f'{k} {s}' for _i, k, s, _d in open_)})",
                        hint_zh="重新打开存储以将其记为失败", hint_en="open the store again to record them as failed")


# -- reveal ---------------------------------------------------------------------------------------------


def load_run(store: Any, run_id: str | None = None) -> tuple[str, str, list[str], dict[str, Any], bool, dt.datetime, str]:
    """(run_id, plan_id, draw_ids, protocol, one_shot, committed_at, status) of a run; default: the only pending one."""
    if run_id is None:
        rows = store.execute("SELECT run_id FROM draw_runs WHERE status = 'committed' ORDER BY committed_at, run_id").fetchall()
        if len(rows) != 1:
            raise DrawError(f"有 {len(rows)} 个待揭示的抽取批次，请用 --run 指定" if rows else "没有待揭示的抽取承诺",
                            f"{len(rows)} committed runs are waiting; name one with --run" if rows else "no committed draw is waiting",
                            hint_zh=", ".join(r[0] for r in rows) or "先运行 dbsj draw commit",
                            hint_en=", ".join(r[0] for r in rows) or "run dbsj draw commit first")
        run_id = rows[0][0]
    row = store.execute("SELECT run_id, plan_id, draw_ids, protocol, one_shot, committed_at, status FROM draw_runs "
                        "WHERE run_id = ?", [run_id]).fetchall()
    row = row[0] if row else None
    if row is None:
        raise DrawError(f"没有抽取批次 {run_id}", f"no draw run {run_id}")
    rid, plan_id, draw_ids, protocol, one_shot, committed_at, status = row
    return rid, plan_id, list(draw_ids), json.loads(protocol), bool(one_shot), committed_at, status


def _batch_case(cuts: list[int], column: str) -> str:
    parts = " ".join(f"WHEN {column} <= {c} THEN {i}" for i, c in enumerate(cuts[:-1]))
    return f"CASE {parts} ELSE {len(cuts) - 1} END" if parts else "0"


def _select_v2(con: Any, draw_id: str, task_id: str, seed: str, seal: bytes, commitment: dict[str, Any]) -> int:
    """v2 selection into the temporary table ``_dbsj_draw_sel`` (``stratum, id, ticket, rank, batch``)."""
    sizes = {e["stratum"]: (e["k"], e["eligible"]) for e in commitment["strata"]}
    keys = stratum_keys(seed, seal, task_id, list(sizes))
    n = select_into(con, _SEL + "_raw", "SELECT stratum, uscc AS id FROM draw_eligible WHERE draw_id = ?", sizes,
                    params=[draw_id], keys=keys)
    cuts = batch_cuts(n, [b["share"] for b in commitment["task"]["batches"]])
    bkey = batch_key(seed, seal, task_id)
    con.execute(f"""CREATE OR REPLACE TEMP TABLE {_SEL} AS
        SELECT stratum, id, ticket, rank, {_batch_case(cuts, 'pos')} AS batch FROM (
            SELECT *, row_number() OVER (ORDER BY sha256(?::BLOB || {id_bytes_sql('id')}), id) AS pos
            FROM {_SEL}_raw)""", [bkey])
    con.execute(f"DROP TABLE IF EXISTS {_SEL}_raw")
    return n


def selection_for(con: Any, draw_id: str, task_id: str, seed: str, sizes: dict[str, tuple[int, int]],
                  algorithm: str = ALGORITHM) -> list[tuple[Any, ...]]:
    """The selection of one draw from its stored eligible set.

    v1: ``(stratum, id, ticket, rank)`` rows; v2: ``(stratum, id, ticket, rank, batch index)`` rows (the
    batch comes from the task-wide batch order; the seal is read from the store).
    """
    if algorithm == ALGORITHM_V1:
        tk = ticket_sql(seed, task_id, "stratum", "uscc", algorithm)
        relation = f"SELECT stratum, uscc AS id, {tk} AS ticket FROM draw_eligible WHERE draw_id = ?"
        return select_bottom_k(con, relation, sizes, params=[draw_id])
    seal = stored_seal(con, draw_id)
    if seal is None:
        raise DrawError(f"存储中没有抽取 {draw_id} 的封存密钥", f"the store has no seal for draw {draw_id}",
                        where=f"draw {draw_id}", hint_zh="存储可能被改动，请运行 dbsj audit",
                        hint_en="the store may have been altered; run dbsj audit")
    row = con.execute("SELECT summary FROM draws WHERE draw_id = ?", [draw_id]).fetchall()
    commitment = json.loads(row[0][0])["commitment"]
    commitment = {**commitment, "strata": [{"stratum": s, "k": k, "eligible": n} for s, (k, n) in sorted(sizes.items())]}
    try:
        _select_v2(con, draw_id, task_id, seed, seal, commitment)
        rows = con.execute(f"SELECT stratum, id, ticket, rank, batch FROM {_SEL} ORDER BY stratum, rank").fetchall()
    finally:
        con.execute(f"DROP TABLE IF EXISTS {_SEL}")
    return [(s, i, t, int(r), int(b)) for s, i, t, r, b in rows]


def selection_section(commitment: dict[str, Any], rows: list[tuple[Any, ...]]) -> dict[str, Any]:
    """The canonical ``selection`` section from selected rows and the commitment (batches and due dates).

    Rows with a fifth element (v2) carry their batch index; v1 rows are placed by rank within their stratum.
    """
    batches = commitment["task"]["batches"]
    shares = [b["share"] for b in batches]
    by_stratum: dict[str, list[tuple[Any, ...]]] = {}
    for r in rows:
        by_stratum.setdefault(r[0], []).append(r)
    strata = []
    total = 0
    for entry in commitment["strata"]:
        chosen = sorted(by_stratum.get(entry["stratum"], []), key=lambda r: r[3])
        cuts = batch_cuts(entry["k"], shares)
        sel = []
        for r in chosen:
            rank = r[3]
            b = r[4] if len(r) > 4 else next(j for j, c in enumerate(cuts) if rank <= c)
            sel.append({"rank": rank, "id": r[1], "ticket": r[2], "batch": batches[b]["name"], "due": batches[b]["deadline"]})
        total += len(sel)
        strata.append({"stratum": entry["stratum"], "eligible": entry["eligible"], "k": entry["k"], "selected": sel})
    return {"algorithm": commitment["algorithm"], "task_id": commitment["task"]["id"], "count": total, "strata": strata}


def _store_selection(store: Any, draw_id: str, plan_id: str, task_id: str, commitment: dict[str, Any],
                     seed: str) -> int:
    """Select and store one draw's rows in ``selections`` (rank order per stratum); returns the count."""
    con = store.con
    batches = commitment["task"]["batches"]
    con.register(_BATCH_T, pa.table({"idx": pa.array(range(len(batches)), pa.int64()),
                                     "name": pa.array([b["name"] for b in batches], pa.string()),
                                     "deadline": pa.array([dt.date.fromisoformat(b["deadline"]) for b in batches],
                                                          pa.date32())}))
    try:
        if commitment["algorithm"] == ALGORITHM:
            seal = stored_seal(con, draw_id)
            if seal is None or sha256_hex(seal) != commitment["seal_sha256"]:
                raise DrawError(f"抽取 {draw_id} 的封存密钥缺失或与承诺的哈希不符",
                                f"the seal of draw {draw_id} is missing or does not match its committed hash",
                                where=f"draw {draw_id}", hint_zh="存储可能被改动，请运行 dbsj audit",
                                hint_en="the store may have been altered; run dbsj audit")
            n = _select_v2(con, draw_id, task_id, seed, seal, commitment)
        else:
            sizes = {e["stratum"]: (e["k"], e["eligible"]) for e in commitment["strata"]}
            rows = selection_for(con, draw_id, task_id, seed, sizes, ALGORITHM_V1)
            section = selection_section(commitment, rows)
            index = {b["name"]: i for i, b in enumerate(batches)}
            flat = [(st["stratum"], r["id"], r["ticket"], r["rank"], index[r["batch"]])
                    for st in section["strata"] for r in st["selected"]]
            con.register(_SEL + "_v1", pa.table({
                "stratum": pa.array([f[0] for f in flat], pa.string()), "id": pa.array([f[1] for f in flat], pa.string()),
                "ticket": pa.array([f[2] for f in flat], pa.string()), "rank": pa.array([f[3] for f in flat], pa.int64()),
                "batch": pa.array([f[4] for f in flat], pa.int64())}))
            con.execute(f"CREATE OR REPLACE TEMP TABLE {_SEL} AS SELECT * FROM {_SEL}_v1")
            con.unregister(_SEL + "_v1")
            n = len(flat)
        con.execute(f"INSERT INTO selections SELECT ?, ?, ?, s.stratum, s.rank, s.id, s.ticket, b.name, b.deadline "
                    f"FROM {_SEL} s JOIN {_BATCH_T} b ON b.idx = s.batch", [draw_id, plan_id, task_id])
    finally:
        con.execute(f"DROP TABLE IF EXISTS {_SEL}")
        con.unregister(_BATCH_T)
    return n


def _assignment_sections(store: Any, plan: Plan, run_id: str, seed_value: str, sections: dict[str, dict[str, Any]],
                         options: DrawOptions) -> tuple[Any, dict[str, dict[str, Any] | None]]:
    """The run's assignment from selection sections (task → section): re-derivation for ``dbsj verify``."""
    if not options.assign:
        return None, {tid: None for tid in sections}
    task_col, uscc_col, due_col = [], [], []
    for tid, sec in sections.items():
        for st in sec["strata"]:
            for row in st["selected"]:
                task_col.append(tid)
                uscc_col.append(row["id"])
                due_col.append(dt.date.fromisoformat(row["due"]))
    table = pa.table({"task_id": pa.array(task_col, pa.string()), "uscc": pa.array(uscc_col, pa.string()),
                      "due": pa.array(due_col, pa.date32())})
    return _assign(store, plan, run_id, seed_value, table, options, list(sections))


def _assign(store: Any, plan: Plan, run_id: str, seed_value: str, table: pa.Table, options: DrawOptions,
            task_ids: list[str]) -> tuple[Any, dict[str, dict[str, Any] | None]]:
    from dbsj.draw.assignment import AssignmentOptions, assign_visits

    outcome = assign_visits(store, plan=plan, draw_id=run_id, selections=table, seed=seed_value,
                            options=options.assignment or AssignmentOptions())
    from dbsj.draw.assignment import assignment_for_task

    return outcome, {tid: assignment_for_task(outcome.section, tid) for tid in task_ids}


def _stored_assignment(store: Any, plan: Plan, run_id: str, seed_value: str, ids: dict[str, str],
                       options: DrawOptions) -> tuple[Any, dict[str, dict[str, Any] | None]]:
    """The run's assignment from the stored selections (the reveal: no Python row per selected target)."""
    if not options.assign:
        return None, {tid: None for tid in ids}
    order = list(ids.values())
    table = store.con.sql("SELECT task_id, uscc, due FROM selections WHERE list_contains($1::VARCHAR[], draw_id) "
                          "ORDER BY list_position($1::VARCHAR[], draw_id), stratum, rank",
                          params=[order]).to_arrow_table()
    table = table.cast(pa.schema([("task_id", pa.string()), ("uscc", pa.string()), ("due", pa.date32())]))
    return _assign(store, plan, run_id, seed_value, table, options, list(ids))


def _refuse_reveal(ledger: Ledger, rid: str, seed: Seed, zh: str, en: str, where: str, **kw: Any) -> SeedError:
    ledger.append("draw.reveal-rejected", rid, {"seed_kind": seed.kind, "error": en, "field": where})
    return SeedError(zh, en, where=where, **kw)


def _write_reveal_failure(store: Any, run_id: str, draw_ids: list[str], error: dict[str, Any]) -> None:
    ledger = Ledger(store)
    for did in draw_ids:
        if store.execute("SELECT status FROM draws WHERE draw_id = ?", [did]).fetchall() == [("committed",)]:
            ledger.append("draw.failed", did, {"run_id": run_id, "step": "reveal", **error})
            store.execute("UPDATE draws SET status = 'failed' WHERE draw_id = ?", [did])
    store.execute("UPDATE draw_runs SET status = 'failed' WHERE run_id = ? AND status = 'committed'", [run_id])


def _on_reveal_died(store: Any, subject: str, detail: dict[str, Any]) -> None:
    _write_reveal_failure(store, subject, list(detail.get("draws", [])),
                          {"error": "died", "message_en": "the process ended before the reveal committed"})


def reveal_draw(store: Any, seed: Seed, *, run_id: str | None = None, out_dir: str | Path | None = None,
                options: DrawOptions | None = None) -> DrawRun:
    """Apply a seed to a committed run: select, assign, store, ledger, and write records to ``out_dir``.

    :param seed: a :class:`BeaconSeed`, :class:`SharesSeed` or :class:`DiceSeed` of the committed kind.
    :raises SeedError: the seed is not of the committed kind (``seed_protocol.kind``), fails its check, is not
        the one-shot seed the commitment binds, or the beacon round is not later than the commitment (the
        attempt is on the ledger; the run stays committed for a correct reveal).
    :raises DrawError: the run was revealed, failed or died; a record already exists in ``out_dir``.
    """
    options = options or DrawOptions()
    ledger = Ledger(store)
    _refuse_open_steps(store)
    rid, plan_id, draw_ids, protocol, one_shot, committed_at, status = load_run(store, run_id)
    if status != "committed":
        raise DrawError(f"抽取批次 {rid} 的状态为 {status}，不能再次揭示", f"draw run {rid} is {status}; it cannot be revealed again",
                        hint_zh="重新抽取请重新承诺（新的尝试会被记录）", hint_en="to redraw, commit again (a new, visible attempt)")
    plan = stored_plan(store, plan_id)
    rows = store.execute("SELECT task_id, draw_id, summary, status FROM draws WHERE draw_id IN (SELECT unnest(?::VARCHAR[]))",
                         [draw_ids]).fetchall()
    order = {d: i for i, d in enumerate(draw_ids)}
    rows.sort(key=lambda r: order[r[1]])
    if len(rows) != len(draw_ids) or any(r[3] != "committed" for r in rows):
        raise DrawError(f"抽取批次 {rid} 的抽取记录不完整或状态不符，不能揭示",
                        f"the draws of run {rid} are incomplete or not all committed; it cannot be revealed",
                        hint_zh="运行 dbsj audit", hint_en="run dbsj audit")
    commitments = {tid: json.loads(summary)["commitment"] for tid, _d, summary, _s in rows}
    ids = {tid: did for tid, did, _s, _st in rows}
    algorithm = next(iter(commitments.values()))["algorithm"]
    v2 = algorithm == ALGORITHM
    stems = distinct_stems(list(ids), what="任务编号 / task id")
    out = Path(out_dir) if out_dir is not None else None
    finals: dict[str, tuple[Path, Path]] = {}
    if out is not None:
        finals = {tid: (inside(out, record_path(out, stems[tid])), inside(out, out / f"{stems[tid]}.public.json"))
                  for tid in ids}
        existing = [p for pair in finals.values() for p in pair if p.exists()]
        if existing:
            ledger.append("draw.refused", rid, {"reason": "record exists", "paths": [str(p) for p in existing]})
            unique_out_check(existing)
        sweep_temporaries(out)
    committed_at_bj = committed_at.astimezone(clock.BEIJING) if committed_at.tzinfo else committed_at.replace(tzinfo=clock.BEIJING)
    # the seed must be of the committed kind and, for a one-shot run, the very seed the commitment binds
    if seed.kind != protocol.get("kind"):
        raise _refuse_reveal(ledger, rid, seed, f"揭示的随机源为 {seed.kind}，与承诺约定的 {protocol.get('kind')} 不符",
                             f"the reveal gives a {seed.kind} seed, but the commitment's seed protocol is "
                             f"{protocol.get('kind')}", "seed_protocol.kind",
                             hint_zh="使用承诺时约定的随机源", hint_en="reveal with the kind of seed the commitment names")
    try:
        value = seed.value(protocol, committed_at_bj)
    except SeedError as exc:
        ledger.append("draw.reveal-rejected", rid, {"seed_kind": seed.kind, "error": exc.render("en"),
                                                    "field": exc.where})
        raise
    if protocol.get("known_before_commitment") and sha256_hex(value.encode("utf-8")) != protocol.get("seed_value_sha256"):
        raise _refuse_reveal(ledger, rid, seed, "该批次为一次性抽取，揭示的种子不是承诺中绑定的种子",
                             "this run is one-shot: the seed given is not the one its commitment binds",
                             "seed_protocol.seed_value_sha256")
    revealed_at = clock.now().replace(microsecond=0)
    if revealed_at < committed_at_bj:
        raise _refuse_reveal(ledger, rid, seed, f"揭示时间 {revealed_at.isoformat()} 早于承诺时间 {committed_at_bj.isoformat()}",
                             f"reveal time {revealed_at.isoformat()} is before the commitment ({committed_at_bj.isoformat()})",
                             "seed.revealed_at", hint_zh="检查系统时钟", hint_en="check the clock")
    known = bool(protocol.get("known_before_commitment", one_shot))
    seed_section = {"kind": seed.kind, "value": value, "known_before_commitment": known,
                    "revealed_at": revealed_at.isoformat(), **seed.section(v1=not v2)}
    step = begin_step(store, "draw.reveal", rid, {"run_id": rid, "draws": list(ids.values()), "seed_kind": seed.kind})
    failpoint("draw.reveal.after-begin")
    staged = StagedOutputs(store, "draw.reveal")
    summary_tasks: dict[str, Any] = {}
    records: dict[str, Path] = {}
    try:
        with store.transaction():
            counts = {tid: _store_selection(store, ids[tid], plan_id, tid, commitments[tid], value) for tid in ids}
            failpoint("draw.reveal.after-select")
            outcome, asg_sections = _stored_assignment(store, plan, rid, value, ids, options)
            _store_assignment(store, plan_id, ids, outcome)
            failpoint("draw.reveal.after-assign")
            # an earlier standing draw of the same task is superseded; this one stands — in this transaction
            for tid in ids:
                store.execute("UPDATE draws SET status = 'superseded' WHERE plan_id = ? AND task_id = ? AND status = 'drawn'",
                              [plan_id, tid])
            for n, (tid, did) in enumerate(ids.items()):
                com = commitments[tid]
                auditor, public, payload, extra = _records(store, did, rid, com, seed_section, value,
                                                           asg_sections[tid], counts[tid], v2)
                if outcome is not None:
                    from dbsj.draw.assignment import assignment_ledger_fields

                    payload = {**payload, **assignment_ledger_fields(outcome)}
                entry = ledger.append("draw.reveal", did, payload)
                if n == 0:
                    failpoint("draw.reveal.after-ledger")
                ledger_section = ({"entry": {"seq": entry.seq, "kind": entry.kind, "subject": entry.subject,
                                             "payload": entry.payload, "recorded_at": entry.recorded_at.isoformat(),
                                             "prev_hash": entry.prev_hash, "hash": entry.hash}, "head": entry.hash}
                                  if v2 else {"head_at_commit": com["ledger_head"], "reveal_seq": entry.seq,
                                              "head": entry.hash})
                auditor["ledger"] = ledger_section
                if v2:
                    public["ledger"] = ledger_section
                else:
                    public = public_record_v1(auditor, public_selected_ids_node(store.con, did))
                path = None
                if tid in finals:
                    path, ppath = finals[tid]
                    with staged.open(path, "wb", encoding=None) as fh:
                        write_canonical(fh, auditor)
                    with staged.open(ppath, "wb", encoding=None) as fh:
                        write_canonical(fh, public)
                    records[tid] = path
                    if n == 0:
                        failpoint("draw.reveal.mid-records")
                store.execute("UPDATE draws SET status = 'drawn', seed_kind = ?, record_path = ?, ledger_seq = ?, "
                              "summary = ? WHERE draw_id = ?",
                              [seed.kind, str(path) if path else None, entry.seq,
                               json.dumps({"commitment": com, "seed": seed_section, **extra,
                                           "assignment_parameters": (asg_sections[tid] or {}).get("parameters")},
                                          ensure_ascii=False), did])
                asg = asg_sections[tid]
                summary_tasks[tid] = {"draw_id": did, "selected": counts[tid], "eligible": com["eligible"]["count"],
                                      "exclusions": com["exclusions"],
                                      "short_strata": [e["stratum"] for e in com["strata"] if e["asked"] > e["eligible"]],
                                      "visits": len((asg or {}).get("visits", [])),
                                      "assignment_shortfalls": len((asg or {}).get("shortfalls", [])),
                                      "record": str(path) if path else None,
                                      "public": str(finals[tid][1]) if tid in finals else None,
                                      "confidential": bool(com.get("confidential", {}).get("task", True))}
            store.execute("UPDATE draw_runs SET status = 'drawn', seed = ?, revealed_at = ? WHERE run_id = ?",
                          [json.dumps(seed_section, ensure_ascii=False), revealed_at, rid])
            staged.journal()
            end_step(store, step)
            failpoint("draw.reveal.before-commit")
    except BaseException as exc:
        staged.discard()
        _record_failure(store, step, lambda: _write_reveal_failure(store, rid, list(ids.values()), _error_dict(exc)))
        raise
    failpoint("draw.reveal.after-commit")
    staged.publish()
    summary = {"run_id": rid, "plan_id": plan_id, "status": "drawn", "seed_kind": seed.kind,
               "known_before_commitment": known, "tasks": summary_tasks, "ledger_head": ledger.head(),
               "algorithm": algorithm,
               "assignment_complete": None if outcome is None else bool(outcome.complete)}
    return DrawRun(rid, plan_id, ids, "drawn", commitments, records, summary)


def _store_assignment(store: Any, plan_id: str, ids: dict[str, str], outcome: Any) -> None:
    if outcome is None:
        return
    from dbsj.draw.assignment import store_assignment

    store_assignment(store, outcome, plan_id=plan_id, draw_ids=ids)


def _sha(value: Any) -> str:
    return hashlib.sha256(canonical_json(value).encode("utf-8")).hexdigest()


def _records(store: Any, draw_id: str, run_id: str, com: dict[str, Any], seed_section: dict[str, Any], value: str,
             asg: dict[str, Any] | None, count: int, v2: bool) -> tuple[dict[str, Any], dict[str, Any] | None,
                                                                      dict[str, Any], dict[str, Any]]:
    """The auditor record and public body (without ``ledger``), the reveal entry's payload, and what the
    ``draws`` summary keeps. Selections stream from the store."""
    con = store.con
    sel = selection_node(con, draw_id, com)
    sel_sha = canonical_sha256(sel)
    asg_sha = _sha(asg) if asg is not None else None
    com_sha = _sha(com)
    if not v2:
        auditor = {"format": RECORD_FORMAT_V1, "form": "auditor", "draw_id": draw_id, "commitment": com,
                   "commitment_sha256": com_sha, "seed": seed_section, "selection": sel, "selection_sha256": sel_sha,
                   "assignment": asg, "assignment_sha256": asg_sha}
        payload = {"run_id": run_id, "seed_kind": seed_section["kind"], "seed_value": value,
                   "known_before_commitment": seed_section["known_before_commitment"],
                   "selection_sha256": sel_sha, "assignment_sha256": asg_sha, "selected": count}
        return auditor, None, payload, {"selection_sha256": sel_sha, "assignment_sha256": asg_sha}
    seal = stored_seal(con, draw_id)
    seed_sha = _sha(seed_section)
    auditor = {"format": RECORD_FORMAT, "form": "auditor", "draw_id": draw_id, "commitment": com,
               "commitment_sha256": com_sha, "seal": seal.hex(), "seed": seed_section, "seed_sha256": seed_sha,
               "selection": sel, "selection_sha256": sel_sha, "assignment": asg, "assignment_sha256": asg_sha}
    public = public_body_node(auditor, public_selected_node(con, draw_id, com))
    public_sha = canonical_sha256(public)
    payload = {"run_id": run_id, "commitment_sha256": com_sha, "seed_sha256": seed_sha, "selection_sha256": sel_sha,
               "assignment_sha256": asg_sha, "public_sha256": public_sha, "selected": count}
    extra = {"commitment_sha256": com_sha, "seed_sha256": seed_sha, "selection_sha256": sel_sha,
             "assignment_sha256": asg_sha, "public_sha256": public_sha}
    return auditor, public, payload, extra


# -- one shot -------------------------------------------------------------------------------------------


def _one_shot_seed(seed: str | Seed) -> DiceSeed | DemoSeed:
    if isinstance(seed, str):
        return DemoSeed(seed)
    if isinstance(seed, (DiceSeed, DemoSeed)):
        return seed
    if isinstance(seed, (BeaconSeed, SharesSeed)):
        raise SeedError("信标和部门份额须先承诺后揭示（dbsj draw commit / reveal）",
                        "beacon and shares seeds need commit-then-reveal (dbsj draw commit / reveal)",
                        where="seed_protocol.kind")
    raise SeedError(f"不支持的种子 {seed!r}", f"unsupported seed {seed!r}")


def draw_plan(store: Any, plan: Plan, *, seed: str | Seed, task_ids: list[str] | None = None,
              out_dir: str | Path | None = None, options: DrawOptions | None = None,
              override_check: str | None = None, _seals: Callable[[str], bytes] | None = None) -> DrawRun:
    """Commit and reveal in one call with a seed known beforehand (a demo text or a witnessed dice string).

    The commitment says ``known_before_commitment: true`` and binds the seed's hash: use
    :func:`commit_draw` then :func:`reveal_draw` for a protected draw. Tasks drawn together have their visits
    merged in the assignment. ``out_dir`` receives the public commitments, auditor and public records.
    """
    s = _one_shot_seed(seed)
    s.known_value()
    ids = list(task_ids) if task_ids else [t.id for t in plan.tasks]
    if out_dir is not None:
        out = Path(out_dir)
        stems = distinct_stems(ids, what="任务编号 / task id")
        paths = [p for t in ids for p in (record_path(out, stems[t]), out / f"{stems[t]}.public.json",
                                          out / f"{stems[t]}.commit.json")]
        existing = [p for p in paths if p.exists()]
        if existing:
            Ledger(store).append("draw.refused", plan.id, {"reason": "record exists", "paths": [str(p) for p in existing]})
            unique_out_check(existing)
    run = commit_draw(store, plan, task_ids, seed_kind=s.kind, options=options, _one_shot=s, out_dir=out_dir,
                      override_check=override_check, _seals=_seals)
    done = reveal_draw(store, s, run_id=run.run_id, out_dir=out_dir, options=options)
    done.summary["check_warnings"] = run.summary["check_warnings"]
    return done


def draw_task(store: Any, plan: Plan, task_id: str, *, seed: str | Seed, out_dir: str | Path | None = None,
              options: DrawOptions | None = None, override_check: str | None = None) -> DrawRun:
    """:func:`draw_plan` for one task."""
    return draw_plan(store, plan, seed=seed, task_ids=[task_id], out_dir=out_dir, options=options,
                     override_check=override_check)


on_died("draw.commit", _on_commit_died)
on_died("draw.reveal", _on_reveal_died)
