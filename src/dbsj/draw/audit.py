"""Audit of the draw tables: recompute what the ledger binds, and check the draws' states against its story.

:func:`audit_draws` is the draw layer's part of ``dbsj audit`` (:func:`dbsj.audit_store`). It reads only the
store and returns one :class:`~dbsj.store.findings.AuditFinding` per mismatch:

- each commitment: the stored body hashes to ``draws.commitment_sha256`` and to the hash on its
  ``draw.commit`` ledger entry; the seal hashes to the committed ``seal_sha256``; the stored eligible set
  gives the committed stratum counts and digests; ``draw_items`` holds the task's items;
- each revealed draw: its ``draw.reveal`` entry is where ``draws.ledger_seq`` says; the selection rebuilt
  from the ``selections`` rows hashes to the entry's ``selection_sha256``; the stored seed to ``seed_sha256``;
- states: a draw is ``committed``, ``drawn``, ``superseded`` or ``failed`` exactly as the ledger tells it
  (a reveal entry for every drawn or superseded draw and none for the others, a failure or death entry for
  every failed one, at most one standing draw per task, a later draw for every superseded one), each run's
  status agrees with its draws, and no row of a draw table belongs to no draw (or to a draw never revealed).
"""

from __future__ import annotations

import json
from typing import Any

from dbsj.draw.records import canonical_sha256, selection_node
from dbsj.store.digest import eligible_digests
from dbsj.store.findings import AuditFinding
from dbsj.verifier import ALGORITHM, canonical_json, eligible_salt, sha256_hex

__all__ = ["audit_draws", "exclusions_digest"]


def _f(table: str, key: str, zh: str, en: str) -> AuditFinding:
    return AuditFinding(table=table, key=key, zh=zh, en=en)


def _sha(value: Any) -> str:
    return sha256_hex(canonical_json(value).encode("utf-8"))


def exclusions_digest(con: Any, draw_id: str) -> str:
    """Order-independent digest of a draw's ``draw_exclusions`` rows, bound on its ``draw.commit`` entry:
    SHA-256 of each row's ``uscc`` U+001F ``reason``, grouped by the id's last two characters, each group's sorted
    hashes hashed, and the sorted group digests hashed (SHA-256 of the empty text for no rows)."""
    ((digest,),) = con.execute(  # fetched to the end: a half-read result blocks the connection
        "SELECT coalesce(sha256(array_to_string(list_sort(list(g)), '')), sha256('')) FROM ("
        "  SELECT sha256(array_to_string(list_sort(list(h)), '')) AS g FROM ("
        "    SELECT right(uscc, 2) AS b, sha256(uscc || chr(31) || reason) AS h FROM draw_exclusions WHERE draw_id = ?)"
        "  GROUP BY b)", [draw_id]).fetchall()
    return digest


def audit_draws(store: Any) -> list[AuditFinding]:
    """Every mismatch between the draw tables and what the ledger binds (empty when all agree)."""
    from dbsj.draw.engine import stratum_digests

    con = store.con
    out: list[AuditFinding] = []
    entries: dict[str, list[tuple[int, str, dict[str, Any]]]] = {}
    for seq, kind, subject, payload in con.execute(
            "SELECT seq, kind, subject, payload FROM ledger WHERE kind LIKE 'draw.%' ORDER BY seq").fetchall():
        entries.setdefault(subject, []).append((int(seq), kind, json.loads(payload)))
    died_runs = {s for s, es in entries.items() if any(k in ("draw.commit.died", "draw.reveal.died") for _q, k, _p in es)}
    draws = con.execute("SELECT draw_id, plan_id, task_id, attempt, algorithm, status, ledger_seq, summary, run_id, "
                        "commitment_sha256 FROM draws ORDER BY draw_id").fetchall()
    seals = {d: (bytes(s), h) for d, s, h in con.execute("SELECT draw_id, seal, seal_sha256 FROM draw_seals").fetchall()}
    standing: dict[tuple[str, str], list[str]] = {}
    by_task: dict[tuple[str, str], list[tuple[int, str, str]]] = {}
    for did, plan_id, task_id, attempt, algorithm, status, ledger_seq, summary, run_id, com_sha in draws:
        mine = entries.get(did, [])
        kinds = [k for _q, k, _p in mine]
        by_task.setdefault((plan_id, task_id), []).append((int(attempt), did, status))
        if status == "drawn":
            standing.setdefault((plan_id, task_id), []).append(did)
        summary = json.loads(summary) if summary else {}
        if status == "failed":
            if "draw.failed" not in kinds and run_id not in died_runs:
                out.append(_f("draws", did, "抽取记为失败，但账本没有失败或中断记录",
                              "the draw is failed, but the ledger records no failure or death of it"))
            if "draw.reveal" in kinds:
                out.append(_f("draws", did, "抽取记为失败，但账本记录了它的揭示", "the draw is failed, but the ledger records its reveal"))
            continue
        if status not in ("committed", "drawn", "superseded"):
            out.append(_f("draws", did, f"未知的抽取状态 {status!r}", f"unknown draw status {status!r}"))
            continue
        com = summary.get("commitment")
        if com is None:
            out.append(_f("draws", did, "抽取缺少承诺内容", "the draw's commitment body is missing"))
            continue
        # the commitment
        sha = _sha(com)
        if sha != com_sha:
            out.append(_f("draws", did, "存储的承诺与承诺哈希不符", "the stored commitment does not hash to commitment_sha256"))
        commit = [p for _q, k, p in mine if k == "draw.commit"]
        if not commit:
            out.append(_f("ledger", did, "账本上没有该抽取的承诺", "the ledger holds no commitment of this draw"))
        elif commit[0].get("commitment_sha256") != com_sha:
            out.append(_f("ledger", did, "账本上的承诺哈希与存储不符", "the commitment hash on the ledger differs from the store's"))
        items = sorted(r[0] for r in con.execute("SELECT item_code FROM draw_items WHERE draw_id = ?", [did]).fetchall())
        if items != sorted(com.get("task", {}).get("items", [])):
            out.append(_f("draw_items", did, "抽取覆盖的事项与承诺不符", "the draw's items differ from the commitment's"))
        excl = {r: int(n) for r, n in con.execute("SELECT reason, count(*) FROM draw_exclusions WHERE draw_id = ? "
                                                  "GROUP BY reason", [did]).fetchall()}
        if excl != dict(com.get("exclusions") or {}):
            out.append(_f("draw_exclusions", did, "排除记录与承诺中的排除计数不符",
                          "the exclusion rows do not give the committed exclusion counts"))
        bound = commit[0].get("exclusions_sha256") if commit else None
        if bound is not None and exclusions_digest(con, did) != bound:
            out.append(_f("draw_exclusions", did, "排除记录与账本上承诺时绑定的摘要不符",
                          "the exclusion rows do not hash to the exclusions_sha256 the draw.commit entry binds"))
        if (plan_id, task_id, attempt, algorithm, run_id) != (com.get("plan", {}).get("id"), com.get("task", {}).get("id"),
                                                             com.get("attempt"), com.get("algorithm"), com.get("run_id")):
            out.append(_f("draws", did, "抽取行（计划、任务、尝试次数、算法、批次）与承诺不符",
                          "the draw's row (plan, task, attempt, algorithm, run) differs from its commitment"))
        v2 = com.get("algorithm") == ALGORITHM
        seal = None
        if v2:
            got = seals.get(did)
            if got is None:
                out.append(_f("draw_seals", did, "缺少封存密钥", "the seal is missing"))
            else:
                seal = got[0]
                if sha256_hex(seal) != com.get("seal_sha256") or got[1] != com.get("seal_sha256"):
                    out.append(_f("draw_seals", did, "封存密钥与承诺中的哈希不符", "the seal does not hash to the committed seal_sha256"))
                    seal = None
        if seal is not None or not v2:
            rows = eligible_digests(con, did, eligible_salt(seal)) if v2 else stratum_digests(con, did)
            have = {s: (n, d) for s, n, d in rows}
            want = {e["stratum"]: (e["eligible"], e["digest"]) for e in com.get("strata", [])}
            if have != want:
                bad = sorted(set(have) ^ set(want) | {s for s in set(have) & set(want) if have[s] != want[s]})
                out.append(_f("draw_eligible", did, f"合格对象集合与承诺的分层摘要不符（{len(bad)} 个分层）",
                              f"the eligible set does not give the committed stratum digests ({len(bad)} strata)"))
        # the reveal
        reveals = [(q, p) for q, k, p in mine if k == "draw.reveal"]
        if status == "committed":
            if reveals:
                out.append(_f("draws", did, "抽取仍为已承诺，但账本记录了它的揭示",
                              "the draw is still committed, but the ledger records its reveal"))
            n_sel = con.execute("SELECT count(*) FROM selections WHERE draw_id = ?", [did]).fetchall()[0][0]
            if n_sel:
                out.append(_f("selections", did, "未揭示的抽取有抽中记录", "a draw never revealed has selection rows"))
            continue
        if not reveals:
            out.append(_f("ledger", did, "已抽取，但账本没有揭示记录", "the draw is drawn, but the ledger holds no reveal of it"))
            continue
        seq, payload = reveals[-1]
        if ledger_seq != seq:
            out.append(_f("draws", did, f"抽取指向账本第 {ledger_seq} 条，揭示记录在第 {seq} 条",
                          f"the draw names ledger entry #{ledger_seq}, its reveal is #{seq}"))
        if canonical_sha256(selection_node(con, did, com)) != payload.get("selection_sha256"):
            out.append(_f("selections", did, "抽中记录与账本上的抽取哈希不符",
                          "the selection rows do not hash to the selection_sha256 on the ledger"))
        if v2 and summary.get("seed") is not None and _sha(summary["seed"]) != payload.get("seed_sha256"):
            out.append(_f("draws", did, "存储的种子与账本上的种子哈希不符", "the stored seed does not hash to the seed_sha256 on the ledger"))
    for (plan_id, task_id), dids in standing.items():
        if len(dids) > 1:
            out.append(_f("draws", f"{plan_id}/{task_id}", f"同一任务有 {len(dids)} 个有效抽取",
                          f"the task has {len(dids)} standing draws"))
    for (plan_id, task_id), rows in by_task.items():
        rows.sort()
        for n, (attempt, did, status) in enumerate(rows):
            if status == "superseded" and not any(s in ("drawn", "superseded") for _a, _d, s in rows[n + 1:]):
                out.append(_f("draws", did, "抽取记为被取代，但之后没有新的抽取", "the draw is superseded, but no later draw exists"))
    # runs against their draws, and every draw in exactly its run
    status_of = {d[0]: d[5] for d in draws}
    listed: dict[str, list[str]] = {}
    for run_id, draw_ids in con.execute("SELECT run_id, draw_ids FROM draw_runs ORDER BY run_id").fetchall():
        for d in draw_ids:
            listed.setdefault(d, []).append(run_id)
    for d in draws:
        if d[5] != "failed" and listed.get(d[0]) != [d[8]]:
            out.append(_f("draw_runs", d[8] or d[0], f"抽取 {d[0]} 应只属于批次 {d[8]}，draw_runs 中为 {listed.get(d[0], [])}",
                          f"draw {d[0]} should belong to exactly its run {d[8]}; draw_runs lists it in {listed.get(d[0], [])}"))
    for run_id, status, draw_ids in con.execute("SELECT run_id, status, draw_ids FROM draw_runs ORDER BY run_id").fetchall():
        members = [status_of.get(d) for d in draw_ids]
        allowed = {"committed": {"committed"}, "drawn": {"drawn", "superseded"}, "failed": {"failed"}}.get(status)
        if allowed is None or not all(m in allowed for m in members):
            out.append(_f("draw_runs", run_id, f"批次状态 {status} 与其抽取的状态 {sorted(set(map(str, members)))} 不符",
                          f"run status {status} disagrees with its draws' {sorted(set(map(str, members)))}"))
    # rows that belong to no draw, or to a draw that was never revealed
    for table in ("draw_eligible", "draw_exclusions", "draw_items", "draw_seals", "selections", "assignments"):
        for (did,) in con.execute(f"SELECT DISTINCT draw_id FROM {table} WHERE draw_id NOT IN (SELECT draw_id FROM draws) "
                                  f"ORDER BY 1").fetchall():
            out.append(_f(table, did, "该行不属于任何抽取", "rows that belong to no draw"))
    for (did,) in con.execute("SELECT DISTINCT s.draw_id FROM selections s JOIN draws d USING (draw_id) "
                              "WHERE d.status NOT IN ('drawn', 'superseded') ORDER BY 1").fetchall():
        if status_of.get(did) != "committed":  # committed ones are reported above
            out.append(_f("selections", did, "未成功揭示的抽取有抽中记录", "a draw that was not revealed has selection rows"))
    return out
