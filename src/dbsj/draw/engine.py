"""Commit, then chance: the draw of a plan's tasks, recorded on the ledger at every step.

1. :func:`commit_draw` fixes, per task, the eligible set (stored in ``draw_eligible``; exclusions counted
   per reason in ``draw_exclusions``), each stratum's count and order-independent digest, its quota and
   sample size, every parameter, the plan's hash, the algorithm, the seed protocol and the ledger head —
   and appends the commitment to the ledger *before* any seed is known.
2. :func:`reveal_draw` checks the seed against the protocol, selects the k smallest tickets per stratum
   in SQL, assigns inspectors to the merged visits of all tasks of the run at once, stores everything,
   appends the outcome to the ledger and writes one record per task.

:func:`draw_plan` / :func:`draw_task` do both in one call with a seed known beforehand (demos and tests);
the record says so. Every attempt — failed, refused or repeated — is on the ledger and has a ``draws`` row.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
from fractions import Fraction
from pathlib import Path
from typing import Any

import attrs
import pyarrow as pa

from dbsj import clock
from dbsj.draw.eligibility import EXCLUSION_REASONS, classify_sql, parse_stratum
from dbsj.draw.records import build_record, public_record, record_path, safe_name, section_sha256, write_json
from dbsj.draw.seeds import BeaconSeed, DemoSeed, DiceSeed, Seed, SharesSeed, beacon_round_time, first_round_after
from dbsj.draw.selection import select_bottom_k
from dbsj.draw.tickets import ticket_sql
from dbsj.errors import DbsjError, DrawError, PlanError, RuleError, SeedError
from dbsj.models.plans import Plan, Quota, Task
from dbsj.models.vocab import DEPARTMENTS
from dbsj.store.digest import SET_DIGEST_SQL
from dbsj.store.ledger import Ledger
from dbsj.verifier import ALGORITHM, RECORD_FORMAT, batch_cuts, canonical_json, sample_size

__all__ = ["DrawOptions", "DrawRun", "commit_draw", "reveal_draw", "draw_plan", "draw_task", "load_run",
           "selection_for", "check_plan_references", "snapshot_plan", "stored_plan"]

_CLASS = "_dbsj_draw_class"


@attrs.frozen(slots=True)
class DrawOptions:
    """Parameters of a draw beyond the plan. All are recorded in the commitment.

    :param repeat_window_days: anti-repeat window (same target, same item); 0 turns it off; ``None`` takes
        ``window_days`` of the rule ``frequency.same-item-yearly`` of the effective rule packs (365 nationally).
    :param rule_dirs: rule-pack folders for ``Sampling.table`` ratio tables (default: the shipped packs).
    :param assignment: options of the inspector assignment (``dbsj.AssignmentOptions``); ``None`` = defaults.
    :param assign: run the inspector assignment after selection.
    """

    repeat_window_days: int | None = attrs.field(default=None, validator=attrs.validators.optional(attrs.validators.ge(0)))
    rule_dirs: tuple[str, ...] | None = None
    assignment: Any = None
    assign: bool = True


@attrs.frozen(slots=True)
class DrawRun:
    """A run of draws: tasks committed together and revealed with one seed.

    :ivar run_id: the run's id (``<plan>/run-<n>``).
    :ivar draw_ids: task id → draw id (``<plan>/<task>/<attempt>``).
    :ivar status: ``committed`` or ``drawn``.
    :ivar commitments: task id → commitment section.
    :ivar records: task id → record path (after the reveal, when written).
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
        bad_depts += [f"{tid}:{d}" for d in task.departments if d not in known_depts]
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


def snapshot_plan(store: Any, plan: Plan) -> str:
    """Store the plan's canonical JSON and hash (once); a different body under the same id is an error."""
    digest = plan.digest()
    row = next(iter(store.execute("SELECT sha256 FROM plans WHERE plan_id = ?", [plan.id]).fetchall()), None)
    if row is None:
        store.execute("INSERT INTO plans VALUES (?, ?, ?, ?, ?)",
                      [plan.id, plan.year, digest, plan.canonical_json(), store.now()])
    elif row[0] != digest:
        raise PlanError(f"存储中已有编号为 {plan.id} 的另一份计划（哈希 {row[0][:12]}…），计划编号在同一存储中必须唯一",
                        f"the store already holds a different plan under id {plan.id} (sha256 {row[0][:12]}…); "
                        f"plan ids are unique per store", where=f"plan {plan.id}",
                        hint_zh="修改后的计划请使用新的编号", hint_en="give a changed plan a new id")
    return digest


def stored_plan(store: Any, plan_id: str) -> Plan:
    """The plan snapshot a draw used, from the store."""
    row = next(iter(store.execute("SELECT body FROM plans WHERE plan_id = ?", [plan_id]).fetchall()), None)
    if row is None:
        raise DrawError(f"存储中没有计划 {plan_id}", f"no plan {plan_id} in the store")
    body = row[0]
    return Plan.model_validate(json.loads(body) if isinstance(body, str) else body)


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


# -- commit ---------------------------------------------------------------------------------------------


def _protocol(seed_kind: str, committed_at: dt.datetime, *, beacon_chain: str, beacon_round: int | None,
              share_commitments: dict[str, str] | None, departments: list[str]) -> dict[str, Any]:
    if seed_kind == "beacon":
        round_no = beacon_round if beacon_round is not None else first_round_after(beacon_chain, committed_at, 60)
        name = beacon_chain
        rt = beacon_round_time(name, round_no)
        if rt <= committed_at:
            raise SeedError(f"信标轮次 {round_no} 发布于 {rt.isoformat()}，不晚于承诺时间 {committed_at.isoformat()}",
                            f"beacon round {round_no} is published at {rt.isoformat()}, not after the commitment "
                            f"({committed_at.isoformat()})", hint_zh="承诺必须约定一个将来的轮次",
                            hint_en="the commitment must name a future round")
        from dbsj.draw.seeds import DRAND_CHAINS

        return {"kind": "beacon", "chain": name, "chain_hash": DRAND_CHAINS[name]["chain_hash"], "round": round_no,
                "round_time": rt.isoformat()}
    if seed_kind == "shares":
        commits = dict(sorted((share_commitments or {}).items()))
        if not commits:
            raise SeedError("部门份额方式需要各部门提交份额哈希", "the shares protocol needs each department's share hash")
        missing = [d for d in departments if d not in commits]
        if missing:
            raise SeedError(f"以下参与部门没有提交份额哈希: {', '.join(missing)}",
                            f"participating departments without a share commitment: {', '.join(missing)}")
        for d, h in commits.items():
            if len(h) != 64 or any(c not in "0123456789abcdef" for c in h):
                raise SeedError(f"部门 {d} 的份额哈希应为 64 位小写十六进制", f"the share hash of {d} must be 64 lowercase hex digits")
        return {"kind": "shares", "commitments": commits}
    if seed_kind in ("dice", "demo"):
        return {"kind": seed_kind}
    raise SeedError(f"未知的随机源类型 {seed_kind!r}", f"unknown seed kind {seed_kind!r}",
                    hint_zh="可选 beacon、shares、dice", hint_en="choose beacon, shares or dice")


def _repeat_window(options: DrawOptions) -> int:
    if options.repeat_window_days is not None:
        return options.repeat_window_days
    from dbsj.rules.loader import cached_rules

    rules = cached_rules(list(options.rule_dirs) if options.rule_dirs else None)
    try:
        return int(rules.get("frequency.same-item-yearly").rule.window_days)
    except (RuleError, AttributeError):
        return 365


def stratum_digests(con: Any, draw_id: str, batch_rows: int = 2_000_000) -> list[tuple[str, int, str]]:
    """``(stratum, eligible, digest)`` of a draw's stored eligible set, in ascending byte order of label.

    The digest is an ordered aggregate; strata are digested in batches of about ``batch_rows`` ids so that
    memory stays bounded on pools of tens of millions.
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


def eligible_root(digests: list[str]) -> str:
    """One hash binding every stratum's digest: SHA-256 hex of the digests sorted and concatenated."""
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


def _commit_task(store: Any, ledger: Ledger, plan: Plan, plan_sha: str, task: Task, run_id: str,
                 protocol: dict[str, Any], committed_at: dt.datetime, options: DrawOptions) -> tuple[str, dict[str, Any]]:
    con = store.con
    attempt = int(store.execute("SELECT count(*) FROM draws WHERE plan_id = ? AND task_id = ?", [plan.id, task.id]).fetchall()[0][0]) + 1
    draw_id = f"{plan.id}/{task.id}/{attempt}"
    head_before = ledger.head()
    try:
        table = _ratio_table(task, options)
        sql = classify_sql(task, plan.id, item_kinds=_item_kinds(store, task), as_of=task.start,
                           window_days=options.repeat_window_days)
        con.execute(f"CREATE OR REPLACE TEMP TABLE {_CLASS} AS {sql}")
        bad = con.execute(f"SELECT count(*) FROM {_CLASS} WHERE reason IS NULL AND (uscc IS NULL OR uscc = '' "
                          f"OR uscc <> trim(uscc))").fetchall()[0][0]
        if bad:
            raise DrawError(f"名录库中有 {bad} 个空白或带空格的对象编号，无法对该对象集合作出承诺",
                            f"the pool has {bad} empty or padded target id(s); the draw cannot commit to it",
                            where=f"task {task.id}", hint_zh="重新导入并修正名录库", hint_en="re-import and fix the pool")
        con.execute(f"INSERT INTO draw_eligible SELECT ?, stratum, uscc FROM {_CLASS} WHERE reason IS NULL", [draw_id])
        con.execute(f"INSERT INTO draw_exclusions SELECT ?, uscc, reason FROM {_CLASS} WHERE reason IS NOT NULL",
                    [draw_id])
        excl = dict(con.execute(f"SELECT reason, count(*) FROM {_CLASS} WHERE reason IS NOT NULL GROUP BY reason").fetchall())
        exclusions = {r: int(excl[r]) for r in EXCLUSION_REASONS if r in excl}
        con.execute(f"DROP TABLE {_CLASS}")
        rows = stratum_digests(con, draw_id)
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
            entry = {"stratum": stratum, "eligible": int(n), "digest": digest, "quota": quota, "quota_from": source,
                     "asked": asked, "k": k}
            notes = []
            if asked > n:
                notes.append("short: fewer eligible than asked, all taken")
            if "max" in quota and "min" in quota and k > math.floor(Fraction(quota["max"]) * n):
                notes.append("above_cap: rounding the minimum up exceeds the cap")
            if notes:
                entry["notes"] = notes
            strata.append(entry)
        commitment = {
            "format": RECORD_FORMAT,
            "algorithm": ALGORITHM,
            "draw_id": draw_id,
            "run_id": run_id,
            "attempt": attempt,
            "plan": {"id": plan.id, "sha256": plan_sha, "authority": plan.authority, "year": plan.year},
            "task": {"id": task.id, "name": task.name, "sponsor": task.sponsor, "partners": list(task.partners),
                     "joint": task.joint, "items": list(task.items), "start": task.start.isoformat(),
                     "batches": [{"name": b.name, "deadline": b.deadline.isoformat(),
                                  "share": None if b.share is None else repr(float(b.share))} for b in task.batches]},
            "parameters": {"scope": task.scope.model_dump(mode="json"), "directed": task.scope.directed,
                           "strata_fields": sorted(set(s.strata)), "min_per_stratum": s.min_per_stratum,
                           "max_per_stratum": s.max_per_stratum, "ratio_table": s.table,
                           "repeat_window_days": options.repeat_window_days, "as_of": task.start.isoformat()},
            "strata": strata,
            "eligible": {"count": int(total), "root": eligible_root([e["digest"] for e in strata])},
            "exclusions": exclusions,
            "seed_protocol": protocol,
            "ledger_head": head_before,
            "committed_at": committed_at.isoformat(),
        }
        sha = hashlib.sha256(canonical_json(commitment).encode("utf-8")).hexdigest()
        entry = ledger.append("draw.commit", draw_id, {"run_id": run_id, "commitment_sha256": sha,
                                                       "eligible": int(total), "strata": len(strata),
                                                       "exclusions": exclusions, "seed_protocol": protocol["kind"]})
        store.execute("INSERT INTO draw_items SELECT ?, unnest(?::VARCHAR[])", [draw_id, list(task.items)])
        store.execute("INSERT INTO draws VALUES (?, ?, ?, ?, ?, 'committed', ?, NULL, ?, ?, ?, ?, ?)",
                      [draw_id, plan.id, task.id, attempt, ALGORITHM, protocol["kind"], entry.seq, committed_at,
                       json.dumps({"commitment": commitment}, ensure_ascii=False), run_id, sha])
        return draw_id, commitment
    except DbsjError as exc:
        _failed(store, ledger, draw_id, plan.id, task.id, attempt, run_id, committed_at, exc)
        raise


def _failed(store: Any, ledger: Ledger, draw_id: str, plan_id: str, task_id: str, attempt: int, run_id: str,
            at: dt.datetime, exc: DbsjError) -> None:
    store.con.execute(f"DROP TABLE IF EXISTS {_CLASS}")
    store.execute("DELETE FROM draw_eligible WHERE draw_id = ?", [draw_id])
    store.execute("DELETE FROM draw_exclusions WHERE draw_id = ?", [draw_id])
    entry = ledger.append("draw.failed", draw_id, {"run_id": run_id, "error": type(exc).__name__,
                                                   "message_en": exc.render("en")})
    store.execute("INSERT INTO draws VALUES (?, ?, ?, ?, ?, 'failed', NULL, NULL, ?, ?, ?, ?, NULL)",
                  [draw_id, plan_id, task_id, attempt, ALGORITHM, entry.seq, at,
                   json.dumps({"error": exc.to_dict()}, ensure_ascii=False), run_id])


def commit_draw(store: Any, plan: Plan, task_ids: list[str] | None = None, *, seed_kind: str = "beacon",
                beacon_chain: str = "mainnet", beacon_round: int | None = None,
                share_commitments: dict[str, str] | None = None, out_dir: str | Path | None = None,
                options: DrawOptions | None = None, _one_shot: bool = False) -> DrawRun:
    """Commit to the eligible sets and parameters of ``task_ids`` (default: every task) before chance.

    :param seed_kind: the seed protocol: ``beacon`` (a drand round after the commitment), ``shares``
        (departments' commit-then-reveal shares), ``dice`` (a witnessed dice string at the reveal).
    :param beacon_round: the exact round to use (default: the first round at least a minute after now).
    :param share_commitments: department → SHA-256 hex of its secret share (``dbsj.share_commitment``);
        every department of the tasks must have one.
    :param out_dir: where to publish ``<task>.commit.json`` (optional).
    :return: a :class:`DrawRun` with status ``committed``.
    :raises PlanError: unknown items or departments, a plan id reused for another plan, a stratum without quota.
    :raises DrawError: nothing eligible, a pool that cannot be committed.
    """
    options = options or DrawOptions()
    options = attrs.evolve(options, repeat_window_days=_repeat_window(options))
    ids = list(task_ids) if task_ids else [t.id for t in plan.tasks]
    for tid in ids:
        plan.task(tid)
    if out_dir is not None:
        existing = [str(p) for tid in ids if (p := Path(out_dir) / f"{safe_name(tid)}.commit.json").exists()]
        if existing:
            raise DrawError(f"承诺文件已存在，拒绝覆盖: {', '.join(existing)}",
                            f"commitment file already exists, not overwritten: {', '.join(existing)}",
                            hint_zh="使用新的输出目录", hint_en="use a new output directory")
    if len(set(ids)) != len(ids):
        raise PlanError("任务编号重复", "a task id is given twice")
    check_plan_references(store, plan, ids)
    plan_sha = snapshot_plan(store, plan)
    ledger = Ledger(store)
    committed_at = clock.now().replace(microsecond=0)
    depts = sorted({d for tid in ids for d in plan.task(tid).departments})
    protocol = _protocol(seed_kind, committed_at, beacon_chain=beacon_chain, beacon_round=beacon_round,
                         share_commitments=share_commitments, departments=depts)
    n_runs = int(store.execute("SELECT count(*) FROM draw_runs WHERE plan_id = ?", [plan.id]).fetchall()[0][0])
    run_id = f"{plan.id}/run-{n_runs + 1}"
    draw_ids: dict[str, str] = {}
    commitments: dict[str, dict[str, Any]] = {}
    try:
        for tid in ids:
            did, com = _commit_task(store, ledger, plan, plan_sha, plan.task(tid), run_id, protocol, committed_at, options)
            draw_ids[tid], commitments[tid] = did, com
    except DbsjError:
        for did in draw_ids.values():
            store.execute("UPDATE draws SET status = 'failed' WHERE draw_id = ?", [did])
        store.execute("INSERT INTO draw_runs VALUES (?, ?, 'failed', ?, ?, ?, ?, NULL, NULL)",
                      [run_id, plan.id, list(draw_ids.values()), json.dumps(protocol), _one_shot, committed_at])
        raise
    store.execute("INSERT INTO draw_runs VALUES (?, ?, 'committed', ?, ?, ?, ?, NULL, NULL)",
                  [run_id, plan.id, [draw_ids[t] for t in ids], json.dumps(protocol), _one_shot, committed_at])
    if out_dir is not None:
        out = Path(out_dir)
        for tid, com in commitments.items():
            sha = hashlib.sha256(canonical_json(com).encode("utf-8")).hexdigest()
            write_json(out / f"{safe_name(tid)}.commit.json",
                       {"format": RECORD_FORMAT, "commitment": com, "commitment_sha256": sha}, overwrite=False)
    return DrawRun(run_id, plan.id, draw_ids, "committed", commitments,
                   summary={"run_id": run_id, "status": "committed", "draws": draw_ids, "seed_protocol": protocol})


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


def selection_for(con: Any, draw_id: str, task_id: str, seed: str, sizes: dict[str, tuple[int, int]],
                  algorithm: str = ALGORITHM) -> list[tuple[str, str, str, int]]:
    """The selection of one draw from its stored eligible set: ``(stratum, id, ticket, rank)`` rows."""
    tk = ticket_sql(seed, task_id, "stratum", "uscc", algorithm)
    relation = f"SELECT stratum, uscc AS id, {tk} AS ticket FROM draw_eligible WHERE draw_id = ?"
    return select_bottom_k(con, relation, sizes, params=[draw_id])


def selection_section(commitment: dict[str, Any], rows: list[tuple[str, str, str, int]]) -> dict[str, Any]:
    """The canonical ``selection`` section from selected rows and the commitment (batches and due dates)."""
    batches = commitment["task"]["batches"]
    shares = [b["share"] for b in batches]
    by_stratum: dict[str, list[tuple[str, str, str, int]]] = {}
    for r in rows:
        by_stratum.setdefault(r[0], []).append(r)
    strata = []
    total = 0
    for entry in commitment["strata"]:
        chosen = sorted(by_stratum.get(entry["stratum"], []), key=lambda r: r[3])
        cuts = batch_cuts(entry["k"], shares)
        sel = []
        for _s, ident, tk, rank in chosen:
            b = next(j for j, c in enumerate(cuts) if rank <= c)
            sel.append({"rank": rank, "id": ident, "ticket": tk, "batch": batches[b]["name"], "due": batches[b]["deadline"]})
        total += len(sel)
        strata.append({"stratum": entry["stratum"], "eligible": entry["eligible"], "k": entry["k"], "selected": sel})
    return {"algorithm": commitment["algorithm"], "task_id": commitment["task"]["id"], "count": total, "strata": strata}


def _assignment_sections(store: Any, plan: Plan, run_id: str, seed_value: str, sections: dict[str, dict[str, Any]],
                         options: DrawOptions) -> tuple[Any, dict[str, dict[str, Any] | None]]:
    if not options.assign:
        return None, {tid: None for tid in sections}
    from dbsj.draw.assignment import AssignmentOptions, assign_visits

    task_col, uscc_col, due_col = [], [], []
    for tid, sec in sections.items():
        for st in sec["strata"]:
            for row in st["selected"]:
                task_col.append(tid)
                uscc_col.append(row["id"])
                due_col.append(dt.date.fromisoformat(row["due"]))
    table = pa.table({"task_id": pa.array(task_col, pa.string()), "uscc": pa.array(uscc_col, pa.string()),
                      "due": pa.array(due_col, pa.date32())})
    outcome = assign_visits(store, plan=plan, draw_id=run_id, selections=table, seed=seed_value,
                            options=options.assignment or AssignmentOptions())
    return outcome, {tid: filter_assignment(outcome.section, tid) for tid in sections}


def filter_assignment(section: dict[str, Any], task_id: str) -> dict[str, Any]:
    """The run's assignment section restricted to the visits that include ``task_id``."""
    out = dict(section)
    out["visits"] = [v for v in section.get("visits", []) if task_id in v.get("tasks", [])]
    return out


def reveal_draw(store: Any, seed: Seed, *, run_id: str | None = None, out_dir: str | Path | None = None,
                options: DrawOptions | None = None, _known_before: bool = False) -> DrawRun:
    """Apply a seed to a committed run: select, assign, store, ledger, and write records to ``out_dir``.

    :param seed: a :class:`BeaconSeed`, :class:`SharesSeed` or :class:`DiceSeed` matching the committed protocol.
    :raises SeedError: the seed does not match the protocol, fails its check, or the beacon round is not later
        than the commitment (the attempt is on the ledger; the run stays committed for a correct reveal).
    :raises DrawError: a record already exists in ``out_dir``.
    """
    options = options or DrawOptions()
    ledger = Ledger(store)
    rid, plan_id, draw_ids, protocol, one_shot, committed_at, status = load_run(store, run_id)
    if status != "committed":
        raise DrawError(f"抽取批次 {rid} 的状态为 {status}，不能再次揭示", f"draw run {rid} is {status}; it cannot be revealed again",
                        hint_zh="重新抽取请重新承诺（新的尝试会被记录）", hint_en="to redraw, commit again (a new, visible attempt)")
    plan = stored_plan(store, plan_id)
    rows = store.execute("SELECT task_id, draw_id, summary, attempt FROM draws WHERE draw_id IN (SELECT unnest(?::VARCHAR[]))",
                         [draw_ids]).fetchall()
    order = {d: i for i, d in enumerate(draw_ids)}
    rows.sort(key=lambda r: order[r[1]])
    commitments = {tid: json.loads(summary)["commitment"] for tid, _d, summary, _a in rows}
    ids = {tid: did for tid, did, _s, _a in rows}
    out = Path(out_dir) if out_dir is not None else None
    if out is not None:
        existing = [str(record_path(out, tid)) for tid in ids if record_path(out, tid).exists()]
        if existing:
            ledger.append("draw.refused", rid, {"reason": "record exists", "paths": existing})
            raise DrawError(f"记录已存在，拒绝覆盖: {', '.join(existing)}", f"record already exists, not overwritten: {', '.join(existing)}",
                            hint_zh="使用新的输出目录；重新抽取会作为新的尝试公开记录",
                            hint_en="use a new output directory; a redraw is a new, visible attempt")
    committed_at_bj = committed_at.astimezone(clock.BEIJING) if committed_at.tzinfo else committed_at.replace(tzinfo=clock.BEIJING)
    try:
        value = seed.value(protocol, committed_at_bj)
    except SeedError as exc:
        ledger.append("draw.reveal-rejected", rid, {"seed_kind": seed.kind, "error": exc.render("en")})
        raise
    revealed_at = clock.now().replace(microsecond=0)
    if revealed_at < committed_at_bj:
        ledger.append("draw.reveal-rejected", rid, {"seed_kind": seed.kind, "error": "reveal before commitment"})
        raise SeedError(f"揭示时间 {revealed_at.isoformat()} 早于承诺时间 {committed_at_bj.isoformat()}",
                        f"reveal time {revealed_at.isoformat()} is before the commitment ({committed_at_bj.isoformat()})",
                        hint_zh="检查系统时钟", hint_en="check the clock")
    seed_section = {"kind": seed.kind, "value": value, "known_before_commitment": bool(one_shot or _known_before),
                    "revealed_at": revealed_at.isoformat(), **seed.section()}
    sections: dict[str, dict[str, Any]] = {}
    for tid, com in commitments.items():
        sizes = {e["stratum"]: (e["k"], e["eligible"]) for e in com["strata"]}
        rows = selection_for(store.con, ids[tid], tid, value, sizes, com["algorithm"])
        sections[tid] = selection_section(com, rows)
        del rows  # a draw of millions: keep one copy of the selected rows
    try:
        outcome, asg_sections = _assignment_sections(store, plan, rid, value, sections, options)
    except DbsjError as exc:
        for tid, did in ids.items():
            _mark_failed(store, ledger, did, rid, exc)
        store.execute("UPDATE draw_runs SET status = 'failed' WHERE run_id = ?", [rid])
        raise
    # store selections and assignments
    con = store.con
    sel_rows = {"draw_id": [], "plan_id": [], "task_id": [], "stratum": [], "rank": [], "uscc": [], "ticket": [],
                "batch": [], "due": []}
    for tid, sec in sections.items():
        for st in sec["strata"]:
            for r in st["selected"]:
                for key, val in (("draw_id", ids[tid]), ("plan_id", plan_id), ("task_id", tid), ("stratum", st["stratum"]),
                                 ("rank", r["rank"]), ("uscc", r["id"]), ("ticket", r["ticket"]), ("batch", r["batch"]),
                                 ("due", dt.date.fromisoformat(r["due"]))):
                    sel_rows[key].append(val)
    con.register("_dbsj_sel_rows", pa.table(sel_rows))
    con.execute("INSERT INTO selections SELECT draw_id, plan_id, task_id, stratum, rank, uscc, ticket, batch, due "
                "FROM _dbsj_sel_rows")
    con.unregister("_dbsj_sel_rows")
    if outcome is not None:
        from dbsj.draw.assignment import store_assignment

        store_assignment(store, outcome, plan_id=plan_id, draw_ids=ids)
    # an earlier standing draw of the same task is superseded; this one stands
    for tid, did in ids.items():
        store.execute("UPDATE draws SET status = 'superseded' WHERE plan_id = ? AND task_id = ? AND status = 'drawn'",
                      [plan_id, tid])
    records: dict[str, Path] = {}
    summary_tasks = {}
    from dbsj.draw.assignment import assignment_ledger_fields

    for tid, did in ids.items():
        sel_sha = section_sha256(sections[tid])
        asg = asg_sections[tid]
        asg_sha = hashlib.sha256(canonical_json(asg).encode("utf-8")).hexdigest() if asg is not None else None
        entry = ledger.append("draw.reveal", did, {"run_id": rid, "seed_kind": seed.kind, "seed_value": value,
                                                   "known_before_commitment": seed_section["known_before_commitment"],
                                                   "selection_sha256": sel_sha, "assignment_sha256": asg_sha,
                                                   "selected": sections[tid]["count"],
                                                   **assignment_ledger_fields(outcome)})
        record = build_record(commitments[tid], seed_section, sections[tid], asg, selection_sha256=sel_sha,
                              ledger={"head_at_commit": commitments[tid]["ledger_head"], "reveal_seq": entry.seq,
                                      "head": entry.hash})
        path = None
        if out is not None:
            path = record_path(out, tid)
            write_json(path, record, overwrite=False)
            write_json(path.with_name(path.name.replace(".draw.json", ".public.json")), public_record(record), overwrite=False)
            records[tid] = path
        shortfalls = (asg or {}).get("shortfalls", [])
        store.execute("UPDATE draws SET status = 'drawn', seed_kind = ?, record_path = ?, ledger_seq = ?, summary = ? "
                      "WHERE draw_id = ?",
                      [seed.kind, str(path) if path else None, entry.seq,
                       json.dumps({"commitment": commitments[tid], "seed": seed_section, "selection_sha256": sel_sha,
                                   "assignment_sha256": asg_sha}, ensure_ascii=False), did])
        summary_tasks[tid] = {"draw_id": did, "selected": sections[tid]["count"],
                              "eligible": commitments[tid]["eligible"]["count"],
                              "exclusions": commitments[tid]["exclusions"],
                              "short_strata": [e["stratum"] for e in commitments[tid]["strata"] if e["asked"] > e["eligible"]],
                              "visits": len((asg or {}).get("visits", [])), "assignment_shortfalls": len(shortfalls),
                              "record": str(path) if path else None}
    store.execute("UPDATE draw_runs SET status = 'drawn', seed = ?, revealed_at = ? WHERE run_id = ?",
                  [json.dumps(seed_section, ensure_ascii=False), revealed_at, rid])
    summary = {"run_id": rid, "plan_id": plan_id, "status": "drawn", "seed_kind": seed.kind,
               "known_before_commitment": seed_section["known_before_commitment"], "tasks": summary_tasks,
               "ledger_head": ledger.head(),
               "assignment_complete": None if outcome is None else bool(outcome.complete)}
    return DrawRun(rid, plan_id, ids, "drawn", commitments, records, summary)


def _mark_failed(store: Any, ledger: Ledger, draw_id: str, run_id: str, exc: DbsjError) -> None:
    ledger.append("draw.failed", draw_id, {"run_id": run_id, "error": type(exc).__name__, "message_en": exc.render("en")})
    store.execute("UPDATE draws SET status = 'failed' WHERE draw_id = ?", [draw_id])


# -- one shot -------------------------------------------------------------------------------------------


def _one_shot_seed(seed: str | Seed) -> DiceSeed | DemoSeed:
    if isinstance(seed, str):
        return DemoSeed(seed)
    if isinstance(seed, (DiceSeed, DemoSeed)):
        return seed
    if isinstance(seed, (BeaconSeed, SharesSeed)):
        raise SeedError("信标和部门份额须先承诺后揭示（dbsj draw commit / reveal）",
                        "beacon and shares seeds need commit-then-reveal (dbsj draw commit / reveal)")
    raise SeedError(f"不支持的种子 {seed!r}", f"unsupported seed {seed!r}")


def draw_plan(store: Any, plan: Plan, *, seed: str | Seed, task_ids: list[str] | None = None,
              out_dir: str | Path | None = None, options: DrawOptions | None = None) -> DrawRun:
    """Commit and reveal in one call with a seed known beforehand (a demo text or a witnessed dice string).

    The record says ``known_before_commitment: true``: use :func:`commit_draw` then :func:`reveal_draw`
    for a protected draw. Tasks drawn together have their visits merged in the assignment.
    """
    s = _one_shot_seed(seed)
    if out_dir is not None:
        ids = list(task_ids) if task_ids else [t.id for t in plan.tasks]
        existing = [str(record_path(Path(out_dir), t)) for t in ids if record_path(Path(out_dir), t).exists()]
        if existing:
            Ledger(store).append("draw.refused", plan.id, {"reason": "record exists", "paths": existing})
            raise DrawError(f"记录已存在，拒绝覆盖: {', '.join(existing)}",
                            f"record already exists, not overwritten: {', '.join(existing)}",
                            hint_zh="使用新的输出目录", hint_en="use a new output directory")
    run = commit_draw(store, plan, task_ids, seed_kind=s.kind, options=options, _one_shot=True)
    return reveal_draw(store, s, run_id=run.run_id, out_dir=out_dir, options=options, _known_before=True)


def draw_task(store: Any, plan: Plan, task_id: str, *, seed: str | Seed, out_dir: str | Path | None = None,
              options: DrawOptions | None = None) -> DrawRun:
    """:func:`draw_plan` for one task."""
    return draw_plan(store, plan, seed=seed, task_ids=[task_id], out_dir=out_dir, options=options)
