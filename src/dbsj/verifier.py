"""Standalone verifier of dbsj draw records — Python standard library only.

Usage::

    python -S verifier.py RECORD.draw.json POOL.csv [INSPECTORS.json]

``RECORD`` is a draw record (``dbsj draw`` writes ``<task>.draw.json``); ``POOL.csv`` is the eligible pool
that draw used (``dbsj pool export --record RECORD --out POOL.csv``: columns ``id,stratum``).
The verifier re-derives, from these two files alone and following docs/draw-spec.md:

1. the commitment hash (canonical JSON of the ``commitment`` section);
2. every stratum's eligible count and order-independent digest, against the commitment;
3. every stratum's sample size from its committed quota (the rounding rule);
4. the seed value from the ``seed`` section (beacon consistency, departments' shares against their commitments);
5. every ticket and the selection (the k smallest tickets per stratum, ties by id), rank, batch and due date;
6. with ``INSPECTORS.json`` (the auditor's inspector export, ``dbsj pool export --record RECORD --inspectors
   --out INSPECTORS.json``): the whole inspector assignment of the record's run (docs/assignment.md).

It prints what differs and exits 0 when everything re-derives, 1 when something differs, 2 on unreadable input.
This file deliberately imports nothing from dbsj, so an outsider can read and run it alone; dbsj reuses
its pure functions as the reference implementation of the spec.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import sys
from collections import deque
from fractions import Fraction

__all__ = [
    "ALGORITHM",
    "RECORD_FORMAT",
    "encode_field",
    "ticket_message",
    "ticket",
    "set_digest",
    "sample_size",
    "batch_cuts",
    "shares_seed",
    "beacon_consistent",
    "bottom_k",
    "seed_value",
    "canonical_json",
    "verify_files",
    # assignment re-derivation
    "ASSIGNMENT_ALGORITHM",
    "INSPECTOR_EXPORT_FORMAT",
    "RECUSAL_REASONS",
    "SHORTFALL_REASONS",
    "INPUT_COLUMNS",
    "assignment_visit_key",
    "assignment_ticket_value",
    "solve_group",
    "inputs_digest",
    "derive_assignment",
    "assignment_for_task",
    "load_inspector_export",
    "verify_assignment",
]

#: Native algorithm id; goes into every ticket and every record.
ALGORITHM = "dbsj-sha256-bottomk/1"
#: Version of the record format (docs/draw-spec.md).
RECORD_FORMAT = "dbsj-draw-record/1"


def encode_field(value: str) -> bytes:
    """Netstring-style field: decimal UTF-8 byte length, ``:``, the UTF-8 bytes (no terminator)."""
    raw = value.encode("utf-8")
    return str(len(raw)).encode("ascii") + b":" + raw


def ticket_message(seed: str, task_id: str, stratum: str, target_id: str, algorithm: str = ALGORITHM) -> bytes:
    """The exact bytes a ticket hashes: the five fields, each length-prefixed, in this order, concatenated."""
    return b"".join(encode_field(v) for v in (algorithm, seed, task_id, stratum, target_id))


def ticket(seed: str, task_id: str, stratum: str, target_id: str, algorithm: str = ALGORITHM) -> str:
    """A target's ticket: lowercase hex SHA-256 of :func:`ticket_message`."""
    return hashlib.sha256(ticket_message(seed, task_id, stratum, target_id, algorithm)).hexdigest()


def set_digest(ids) -> str:  # noqa: ANN001 - any iterable of str
    """Order-independent digest of a set of ids: SHA-256 hex of the ascending concatenation of each id's SHA-256 hex."""
    hexes = sorted(hashlib.sha256(i.encode("utf-8")).hexdigest() for i in ids)
    return hashlib.sha256("".join(hexes).encode("ascii")).hexdigest()


def _ratio(text) -> Fraction:  # noqa: ANN001
    # Ratios are recorded as decimal strings ("0.05"); Fraction reads them exactly.
    return Fraction(str(text))


def sample_size(eligible: int, quota: dict, min_per_stratum: int | None = None,
                max_per_stratum: int | None = None) -> tuple[int, int]:
    """The rounding rule: ``(asked, k)`` for a stratum of ``eligible`` targets (docs/draw-spec.md §4).

    1. ``count`` c: asked = c. Else ``min`` m: asked = ceil(m·N). Else (``max`` only) M: asked = floor(M·N).
       A ``max`` beside a ``min`` does not change the size: the minimum is drawn (it is at most the cap
       except when rounding up a tiny stratum forces it above; the record notes that).
    2. asked = max(asked, min_per_stratum); asked = min(asked, max_per_stratum).
    3. k = min(asked, N) — a stratum with fewer eligible than asked gives all it has.
    """
    n = int(eligible)
    if quota.get("count") is not None:
        asked = int(quota["count"])
    elif quota.get("min") is not None:
        asked = math.ceil(_ratio(quota["min"]) * n)
    elif quota.get("max") is not None:
        asked = math.floor(_ratio(quota["max"]) * n)
    else:
        raise ValueError("quota needs count, min or max")
    if min_per_stratum is not None:
        asked = max(asked, int(min_per_stratum))
    if max_per_stratum is not None:
        asked = min(asked, int(max_per_stratum))
    return asked, min(asked, n)


def batch_cuts(k: int, shares: list) -> list[int]:  # noqa: ANN001
    """Cumulative rank bounds of the batches: batch i takes ranks ``cuts[i-1] < rank <= cuts[i]``.

    ``shares`` are decimal strings or ``None`` (then every batch has an equal share); cut i = ceil(k·(s1+…+si)).
    """
    b = len(shares)
    if any(s is None for s in shares):
        fractions = [Fraction(1, b)] * b
    else:
        fractions = [_ratio(s) for s in shares]
    cuts, acc = [], Fraction(0)
    for f in fractions:
        acc += f
        cuts.append(min(k, math.ceil(acc * k)))
    cuts[-1] = k
    return cuts


def shares_seed(shares: dict) -> str:
    """Seed from departments' revealed shares: SHA-256 hex over (department, share) pairs, length-prefixed,
    ordered by the department name's UTF-8 bytes."""
    items = sorted(shares.items(), key=lambda kv: kv[0].encode("utf-8"))
    return hashlib.sha256(b"".join(encode_field(d) + encode_field(s) for d, s in items)).hexdigest()


def beacon_consistent(signature_hex: str, randomness_hex: str) -> bool:
    """drand: randomness = SHA-256(signature bytes). Proves consistency, not authenticity."""
    try:
        sig = bytes.fromhex(signature_hex)
    except ValueError:
        return False
    return hashlib.sha256(sig).hexdigest() == randomness_hex.lower()


def bottom_k(tickets: dict, k: int) -> list[tuple[str, str]]:
    """The k smallest ``(ticket, id)`` pairs, ascending: the selection of one stratum."""
    return sorted(((t, i) for i, t in tickets.items()))[:k]


def canonical_json(value) -> str:  # noqa: ANN001
    """Canonical JSON: sorted keys, no spaces, UTF-8 text (not ASCII-escaped)."""
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def seed_value(record: dict, problems: list[str]) -> str | None:
    """Re-derive the seed value from a record's ``seed`` section and committed protocol; append problems."""
    seed = record.get("seed") or {}
    kind = seed.get("kind")
    protocol = (record.get("commitment") or {}).get("seed_protocol") or {}
    if kind == "beacon":
        b = seed.get("beacon") or {}
        if not beacon_consistent(str(b.get("signature", "")), str(b.get("randomness", ""))):
            problems.append("seed: beacon randomness is not SHA-256(signature)")
        if protocol.get("kind") == "beacon" and protocol.get("round") != b.get("round"):
            problems.append(f"seed: beacon round {b.get('round')} is not the committed round {protocol.get('round')}")
        value = str(b.get("randomness", "")).lower()
    elif kind == "shares":
        shares = seed.get("shares") or {}
        commits = protocol.get("commitments") or {}
        if sorted(shares) != sorted(commits):
            problems.append("seed: revealed departments differ from the committed ones")
        for dept, share in sorted(shares.items()):
            if hashlib.sha256(share.encode("utf-8")).hexdigest() != commits.get(dept):
                problems.append(f"seed: share of {dept} does not match its commitment")
        value = shares_seed(shares)
    elif kind in ("dice", "demo"):
        value = str(seed.get("value", ""))
    else:
        problems.append(f"seed: unknown kind {kind!r}")
        return None
    if value != seed.get("value"):
        problems.append(f"seed: value {seed.get('value')!r} does not derive from the seed section ({value!r})")
    return value


def verify_files(record_path: str, pool_path: str) -> list[str]:
    """Re-derive a record's selection from a pool export; return the differences (empty when it re-derives)."""
    with open(record_path, encoding="utf-8") as fh:
        record = json.load(fh)
    pool: dict[str, dict[str, None]] = {}
    problems: list[str] = []
    with open(pool_path, encoding="utf-8-sig", newline="") as fh:
        reader = csv.reader(io.StringIO(fh.read()))
        header = next(reader, None)
        if header != ["id", "stratum"]:
            return [f"pool: header must be id,stratum, found {header}"]
        for row_no, row in enumerate(reader, start=2):
            if len(row) != 2 or not row[0]:
                problems.append(f"pool row {row_no}: expected a non-empty id and a stratum")
                continue
            ident, stratum = row
            members = pool.setdefault(stratum, {})
            if ident in members:
                problems.append(f"pool row {row_no}: duplicate id {ident} in stratum {stratum}")
            members[ident] = None

    commitment = record.get("commitment") or {}
    if record.get("commitment_sha256") != hashlib.sha256(canonical_json(commitment).encode("utf-8")).hexdigest():
        problems.append("commitment: commitment_sha256 does not match the commitment section")
    algorithm = commitment.get("algorithm")
    if algorithm != ALGORITHM:
        return problems + [f"algorithm {algorithm!r} is not {ALGORITHM}"]
    task = commitment.get("task") or {}
    task_id = task.get("id", "")
    shares = [b.get("share") for b in task.get("batches", [])]
    batches = task.get("batches", [])
    committed = {s["stratum"]: s for s in commitment.get("strata", [])}
    for stratum in sorted(set(pool) - set(committed)):
        problems.append(f"stratum {stratum}: in the pool but not in the commitment")
    root = hashlib.sha256("".join(sorted(e.get("digest", "") for e in committed.values())).encode("ascii")).hexdigest()
    if root != (commitment.get("eligible") or {}).get("root"):
        problems.append("commitment: eligible root does not bind the stratum digests")
    seed = seed_value(record, problems)
    selected = {s["stratum"]: s for s in (record.get("selection") or {}).get("strata", [])}
    params = commitment.get("parameters") or {}
    for stratum, entry in sorted(committed.items()):
        ids = pool.get(stratum, {})
        if len(ids) != entry.get("eligible"):
            problems.append(f"stratum {stratum}: {len(ids)} eligible in the pool, {entry.get('eligible')} committed")
        if set_digest(ids) != entry.get("digest"):
            problems.append(f"stratum {stratum}: pool digest differs from the committed digest")
        asked, k = sample_size(entry.get("eligible", 0), entry.get("quota") or {},
                               params.get("min_per_stratum"), params.get("max_per_stratum"))
        if (asked, k) != (entry.get("asked"), entry.get("k")):
            problems.append(f"stratum {stratum}: rounding rule gives asked={asked}, k={k}; "
                            f"committed asked={entry.get('asked')}, k={entry.get('k')}")
        if seed is None:
            continue
        chosen = bottom_k({i: ticket(seed, task_id, stratum, i) for i in ids}, k)
        cuts = batch_cuts(k, shares) if batches else []
        expect = []
        for rank, (tk, ident) in enumerate(chosen, start=1):
            row = {"rank": rank, "id": ident, "ticket": tk}
            if batches:
                b = next(j for j, c in enumerate(cuts) if rank <= c)
                row.update(batch=batches[b]["name"], due=batches[b]["deadline"])
            expect.append(row)
        got = (selected.get(stratum) or {}).get("selected", [])
        if expect != got:
            first = next((j for j, (a, b) in enumerate(zip(expect, got)) if a != b), min(len(expect), len(got)))
            problems.append(f"stratum {stratum}: selection differs from re-derivation at rank {first + 1} "
                            f"(re-derived {len(expect)} rows, record has {len(got)})")
    for stratum in sorted(set(selected) - set(committed)):
        problems.append(f"stratum {stratum}: selected in the record but not committed")
    return problems


# =====================================================================================================
# Assignment re-derivation — ``dbsj-assign/2`` (docs/assignment.md, "Specification")
#
# Given a record's ``assignment`` section and the auditor's inspector export (``dbsj pool export --record
# RECORD --inspectors --out FILE``), re-derive the whole run's assignment from the snapshot's raw attributes:
# visits and their places, every candidate pair and its exclusion reason, tickets, the greedy pass, the
# augmenting-path repair and the automatic workload cap, the shortfall report. dbsj's own assignment
# (dbsj.draw.assignment) runs the solver and the texts of this section; its candidate generation is SQL and
# is tested against :func:`derive_assignment`.
# =====================================================================================================

#: Algorithm id of the assignment (tickets and records). ``dbsj-assign/1`` records predate the snapshot.
ASSIGNMENT_ALGORITHM = "dbsj-assign/2"
#: Format id of the auditor's inspector export.
INSPECTOR_EXPORT_FORMAT = "dbsj-inspector-export/1"
#: The status that counts as on duty (an empty status counts as on duty too).
ON_DUTY = "在岗"

#: Built-in exclusion reasons in the order they are tested, with their Chinese and English labels.
RECUSAL_REASONS = {
    "not_on_duty": ("人员不在岗或未启用", "inspector not on duty (status is not 在岗)"),
    "certificate_expired": ("执法证在检查期末前到期", "certificate expires before the window's last day"),
    "out_of_scope": ("检查事项不在执法事项范围内", "visit's items of the department not within the inspector's item scope"),
    "declared_conflict": ("申报回避对象", "declared conflict of interest with the target"),
    "own_beat": ("所所交叉：本人管辖片区", "own beat (所所交叉 cross-beat rule)"),
    "last_inspector": ("上次检查该对象的人员", "inspected the same target last time"),
}
#: Why a place stayed empty, with labels (the shortfall report's ``why``).
SHORTFALL_REASONS = {
    "no_eligible_inspector": ("无符合条件的人员", "no eligible inspector"),
    "too_few_eligible": ("符合条件的人员不足", "too few eligible inspectors"),
    "workload_cap": ("人员均已达到工作量上限", "every eligible inspector is at the workload cap"),
}

#: The parts of an assignment's inputs snapshot and their columns, in this order.
INPUT_COLUMNS = {
    "selections": ("task_id", "uscc", "due"),
    "tasks": ("task_id", "sponsor", "departments", "items"),
    "items": ("code", "department"),
    "targets": ("uscc", "office", "prefecture"),
    "inspectors": ("staff_id", "department", "prefecture", "beat", "certificate_expiry", "item_scope", "conflicts",
                   "status"),
    "history": ("uscc", "inspected_on", "item_code", "task_id", "staff_ids"),
    "recusals": ("due", "uscc", "staff_id", "plugin", "reason"),
}
#: How many leading columns of each part form its key (rows are sorted by it and unique on it).
INPUT_KEYS = {"selections": 3, "tasks": 1, "items": 1, "targets": 1, "inspectors": 1, "history": 4, "recusals": 5}
#: Columns holding lists of text (sorted ascending, no empty elements).
INPUT_LIST_COLUMNS = frozenset({"departments", "items", "item_scope", "conflicts", "staff_ids"})
#: Options of an assignment (the section's ``parameters`` without ``caps``).
ASSIGNMENT_OPTION_KEYS = ("team_min", "workload_cap", "cross_beat", "last_inspector_recusal")


def assignment_visit_key(seed: str, visit_id: str, uscc: str, algorithm: str = ASSIGNMENT_ALGORITHM) -> bytes:
    """A visit's 32-byte ticket key: SHA-256 of the length-prefixed algorithm id, seed, visit id and target id."""
    return hashlib.sha256(b"".join(encode_field(v) for v in (algorithm, seed, visit_id, uscc))).digest()


def assignment_ticket_value(key: bytes, staff_id: str) -> int:
    """A candidate's ticket: the first 8 bytes of SHA-256(key ‖ UTF-8 staff id), as an unsigned big-endian integer.

    Candidates are tried in ascending (ticket, staff id).
    """
    return int.from_bytes(hashlib.sha256(key + staff_id.encode("utf-8")).digest()[:8], "big")


# -- the solver ------------------------------------------------------------------------------------------


class GroupSolution:
    """The outcome of :func:`solve_group`: ``teams[k]`` lists node k's inspectors in the order they were taken;
    ``short`` holds ``(node, places short, why)``; ``cap`` is the final workload cap."""

    __slots__ = ("teams", "cap", "short", "greedy_filled", "augmentations")

    def __init__(self, teams, cap, short, greedy_filled, augmentations):  # noqa: ANN001
        self.teams, self.cap, self.short = teams, cap, short
        self.greedy_filled, self.augmentations = greedy_filled, augmentations


def solve_group(demands, candidates, *, cap, auto_cap, repair=True, n_inspectors=None):  # noqa: ANN001, ANN201
    """Greedy-then-augment b-matching of one group's nodes (visit × department places) to inspectors.

    ``demands[k]`` is how many distinct inspectors node k needs; ``candidates[k]`` its eligible inspectors
    (non-negative ints below ``n_inspectors``) in ticket order. Every inspector takes at most ``cap`` nodes.

    1. Greedy: nodes in order; each takes its candidates in ticket order, skipping those at the cap or on it.
    2. Repair: from each node still short, a breadth-first search for an augmenting path (node → candidate not
       on it → a node holding that inspector → …) ending at an inspector below the cap; applying it moves
       inspectors along the path and fills one more place. A search that fails marks what it reached dead for
       the rest of the pass. After a pass no augmenting path exists: the places filled are a maximum flow.
    3. Automatic cap (``auto_cap``): while a short node has a candidate not on it (only the cap stops it), the
       cap rises by one and the repair repeats.

    Inspectors matter only through the candidate order and eligibility, never their numbers.
    """
    n = len(demands)
    teams = [[] for _ in range(n)]
    if n_inspectors is None:
        n_inspectors = max((max(c) for c in candidates if c), default=-1) + 1
    load = [0] * n_inspectors
    holders = {}  # inspector -> {node: None}, insertion-ordered

    filled = 0
    for k in range(n):
        need = demands[k]
        if not need:
            continue
        team = teams[k]
        for i in candidates[k]:
            if load[i] < cap and i not in team:
                team.append(i)
                load[i] += 1
                h = holders.get(i)
                if h is None:
                    holders[i] = {k: None}
                else:
                    h[k] = None
                need -= 1
                if not need:
                    break
        filled += demands[k] - need
    greedy_filled = filled
    augmentations = 0

    def augment_pass(waiting, cap_now):  # noqa: ANN001, ANN202
        dead = set()
        gained = 0
        for u in waiting:
            while len(teams[u]) < demands[u]:
                path = _search(u, candidates, teams, load, holders, cap_now, dead)
                if path is None:
                    break
                _apply(path[0], path[1], teams, load, holders)
                gained += 1
        return gained, [k for k in waiting if len(teams[k]) < demands[k]]

    waiting = [k for k in range(n) if len(teams[k]) < demands[k]]
    if repair and waiting:
        gained, waiting = augment_pass(waiting, cap)
        augmentations += gained
        if auto_cap:
            while any(_cap_bound(k, candidates, teams) for k in waiting):
                cap += 1
                gained, waiting = augment_pass(waiting, cap)
                augmentations += gained

    short = []
    for k in waiting:
        missing = demands[k] - len(teams[k])
        if not candidates[k]:
            why = "no_eligible_inspector"
        elif _cap_bound(k, candidates, teams):
            why = "workload_cap"
        else:
            why = "too_few_eligible"
        short.append((k, missing, why))
    return GroupSolution(teams, cap, short, greedy_filled, augmentations)


def _cap_bound(k, candidates, teams):  # noqa: ANN001, ANN202
    """A short node with a candidate not on its team is held back by the workload cap alone."""
    team = teams[k]
    return any(i not in team for i in candidates[k])


def _search(u, candidates, teams, load, holders, cap, dead):  # noqa: ANN001, ANN202
    """Breadth-first search for an augmenting path from short node ``u``: ``(nodes, takes)`` or ``None``.

    A node is checked for a free candidate (below the cap, not on its team) the moment it is reached; when no
    path exists, every inspector the search reached is dead for the rest of the pass (a failed search tree
    never carries an augmenting path later in the pass).
    """
    reached_from = {}  # inspector -> node that wants it
    gives_up = {u: -1}  # node -> inspector it hands to the node that reached it

    def free_candidate(x):  # noqa: ANN001, ANN202
        team = teams[x]
        for i in candidates[x]:
            if load[i] < cap and i not in team and i not in reached_from and i not in dead:
                return i
        return -1

    def path_to(x, i):  # noqa: ANN001, ANN202
        nodes, takes = [], []
        while True:
            nodes.append(x)
            takes.append(i)
            give = gives_up[x]
            if give == -1:
                nodes.reverse()
                takes.reverse()
                return nodes, takes
            x, i = reached_from[give], give

    i = free_candidate(u)
    if i >= 0:
        return path_to(u, i)
    queue = deque([u])
    while queue:
        x = queue.popleft()
        team = teams[x]
        for i in candidates[x]:
            if i in reached_from or i in dead or i in team:
                continue
            reached_from[i] = x
            for y in holders.get(i, ()):
                if y in gives_up:
                    continue
                gives_up[y] = i
                j = free_candidate(y)
                if j >= 0:
                    return path_to(y, j)
                queue.append(y)
    dead.update(reached_from)
    return None


def _apply(nodes, takes, teams, load, holders):  # noqa: ANN001, ANN202
    """``nodes[j]`` takes ``takes[j]``, which ``nodes[j + 1]`` gives up; only the last inspector's load grows."""
    load[takes[-1]] += 1
    for j, node in enumerate(nodes):
        team = teams[node]
        if j:
            give = takes[j - 1]
            team.remove(give)
            del holders[give][node]
        team.append(takes[j])
        holders.setdefault(takes[j], {})[node] = None


def shortfall_message(prefecture, department, short, visits, why, excluded, on_duty, lang):  # noqa: ANN001, ANN201
    """The text of one shortfall entry (``message_zh`` / ``message_en``)."""
    k = 0 if lang == "zh" else 1

    def label(reason):  # noqa: ANN001, ANN202
        return RECUSAL_REASONS[reason][k] if reason in RECUSAL_REASONS else reason

    why_text = ("；" if k == 0 else "; ").join(f"{SHORTFALL_REASONS[w][k]} {n}" for w, n in why.items())
    ex_text = ("、" if k == 0 else ", ").join(f"{label(r)} {n}" for r, n in excluded.items())
    if lang == "zh":
        msg = f"{prefecture} {department}: {visits} 次检查缺 {short} 名人员（{why_text}）；本地在岗人员 {on_duty} 名"
        return msg + (f"，被排除: {ex_text}" if ex_text else "")
    msg = (f"{prefecture} {department}: {short} place(s) short on {visits} visit(s) ({why_text}); "
           f"{on_duty} local inspector(s) on duty")
    return msg + (f", excluded: {ex_text}" if ex_text else "")


def assignment_for_task(section: dict, task_id: str) -> dict:
    """A run's assignment section restricted to the visits that include ``task_id`` (a task's record)."""
    out = dict(section)
    out["visits"] = [v for v in section.get("visits", []) if task_id in v.get("tasks", [])]
    return out


# -- the inputs snapshot -----------------------------------------------------------------------------------


def inputs_digest(inputs: dict) -> tuple[dict, str]:
    """``(parts, inputs_sha256)``: each part's SHA-256 over its canonical JSON, then SHA-256 over the parts'."""
    parts = {name: hashlib.sha256(canonical_json(inputs.get(name)).encode("utf-8")).hexdigest()
             for name in INPUT_COLUMNS}
    return parts, hashlib.sha256(canonical_json(parts).encode("utf-8")).hexdigest()


def check_inputs(inputs) -> list[str]:  # noqa: ANN001
    """Shape problems of an inputs snapshot: missing parts, wrong columns, bad values, unsorted or repeated keys."""
    problems: list[str] = []
    if not isinstance(inputs, dict):
        return ["inputs: not an object"]
    for name, columns in INPUT_COLUMNS.items():
        part = inputs.get(name)
        if not isinstance(part, dict) or list(part.get("columns") or []) != list(columns) \
                or not isinstance(part.get("rows"), list):
            problems.append(f"inputs.{name}: needs columns {list(columns)} and rows")
            continue
        nkey = INPUT_KEYS[name]
        last = None
        for n, row in enumerate(part["rows"]):
            where = f"inputs.{name} row {n + 1}"
            if not isinstance(row, list) or len(row) != len(columns):
                problems.append(f"{where}: expected {len(columns)} values")
                continue
            bad = False
            for col, value in zip(columns, row):
                if col in INPUT_LIST_COLUMNS:
                    ok = isinstance(value, list) and all(isinstance(x, str) and x for x in value) \
                        and value == sorted(set(value))
                else:
                    ok = value is None or isinstance(value, str)
                if not ok:
                    problems.append(f"{where}: bad value in column {col}")
                    bad = True
            if bad:
                continue
            key = row[:nkey]
            if any(v is None for v in key):
                problems.append(f"{where}: empty key")
            elif last is not None and key <= last:
                problems.append(f"{where}: rows not in ascending key order, or a repeated key")
            else:
                last = key
    return problems


# -- the derivation ----------------------------------------------------------------------------------------


def _prefecture_groups(inspectors_rows):  # noqa: ANN001, ANN202
    groups = {}
    for row in inspectors_rows:
        groups.setdefault((row[2], row[1]), []).append(row)
    return groups


def derive_assignment(inputs: dict, options: dict, seed: str, algorithm: str = ASSIGNMENT_ALGORITHM) -> dict:
    """Re-derive a run's assignment from its inputs snapshot (docs/assignment.md, "Specification").

    :return: ``{"section", "assignments", "exclusion_rows"}`` — the run's ``assignment`` section (every visit
        of the run), the rows ``[visit_id, task_id, uscc, staff_id, department, due]`` in their order, and the
        exclusion rows ``[staff_id, uscc or None, reason]`` in their order.
    :raises ValueError: inputs that do not fit together (a selected task, target or item missing).
    """
    if algorithm != ASSIGNMENT_ALGORITHM:
        raise ValueError(f"only {ASSIGNMENT_ALGORITHM} is re-derived from a snapshot, not {algorithm!r}")
    rows = {name: (inputs[name]["rows"]) for name in INPUT_COLUMNS}
    team_min = int(options["team_min"])
    fixed_cap = options["workload_cap"]
    cross_beat = bool(options["cross_beat"])
    last_recusal = bool(options["last_inspector_recusal"])
    if team_min < 1 or (fixed_cap is not None and int(fixed_cap) < 1):
        raise ValueError("team_min and workload_cap must be at least 1")

    # tasks: department -> items the department checks (an item owned by a department not on the task is
    # checked by the task's sponsor)
    owner = {code: dept for code, dept in rows["items"]}
    sponsor_of, task_map = {}, {}
    for task_id, sponsor, departments, items in rows["tasks"]:
        if sponsor not in departments:
            raise ValueError(f"task {task_id}: the sponsor is not among its departments")
        sponsor_of[task_id] = sponsor
        m = {d: set() for d in departments}
        for code in items:
            if code not in owner:
                raise ValueError(f"task {task_id}: item {code} has no owning department in the inputs")
            m[owner[code] if owner[code] in m else sponsor].add(code)
        task_map[task_id] = m

    # visits: one per (target, due), ordered by (due, target)
    tasks_of = {}
    for task_id, uscc, due in rows["selections"]:
        if task_id not in task_map:
            raise ValueError(f"selected task {task_id} is not among the inputs' tasks")
        tasks_of.setdefault((due, uscc), []).append(task_id)
    target = {uscc: (office, pref) for uscc, office, pref in rows["targets"]}
    visits = []  # (visit_id, uscc, due, tasks, office, prefecture)
    for due, uscc in sorted(tasks_of):
        if uscc not in target:
            raise ValueError(f"selected target {uscc} is not among the inputs' targets")
        office, pref = target[uscc]
        visits.append((f"{uscc}@{due}", uscc, due, sorted(tasks_of[(due, uscc)]), office, pref))

    # nodes: one per (visit, department); the lead department (the sponsor of the visit's first task) takes
    # the places beyond one per department
    nodes = []  # (prefecture, department, due, uscc, vid, items, demand)
    for vid, (_visit_id, uscc, due, tasks, _office, pref) in enumerate(visits):
        items_of = {}
        for t in tasks:
            for d, codes in task_map[t].items():
                items_of.setdefault(d, set()).update(codes)
        lead = sponsor_of[tasks[0]]
        for d, codes in items_of.items():
            extra = max(team_min - len(items_of), 0) if d == lead else 0
            nodes.append((pref, d, due, uscc, vid, sorted(codes), 1 + extra))
    nodes.sort(key=lambda n: n[:4])

    # inspectors of the groups, numbered in staff id order
    considered = sorted((r for r in rows["inspectors"]), key=lambda r: r[0])
    number = {r[0]: k for k, r in enumerate(considered)}
    groups = _prefecture_groups(considered)
    last_of = {}
    if last_recusal:
        latest = {}
        for uscc, on, _item, _task, _staff in rows["history"]:
            if on is not None and (uscc not in latest or on > latest[uscc]):
                latest[uscc] = on
        for uscc, on, _item, _task, staff in rows["history"]:
            if on is not None and on == latest[uscc]:
                last_of.setdefault(uscc, set()).update(staff)
    plugin_reason = {}
    for due, uscc, staff, plugin, reason in rows["recusals"]:
        if plugin is None or reason is None:
            continue
        key = (uscc, due, staff)
        rank = plugin + "\x00" + plugin + ":" + reason
        if key not in plugin_reason or rank < plugin_reason[key][0]:
            plugin_reason[key] = (rank, plugin + ":" + reason)

    excluded = set()  # (reason, uscc or "", staff id) — one row per inspector or pair and reason
    on_duty_of = {}
    for r in considered:
        on = (r[7] if r[7] is not None else ON_DUTY) == ON_DUTY
        on_duty_of[r[0]] = on
    group_keys = sorted({(n[0], n[1]) for n in nodes})
    for pref, dept in group_keys:
        for r in groups.get((pref, dept), ()):
            if not on_duty_of[r[0]]:
                excluded.add(("not_on_duty", "", r[0]))

    node_pairs = []  # per node: [(staff_id, reason)] of its on-duty local inspectors
    candidates = []  # per node: staff ids in ticket order
    for pref, dept, due, uscc, vid, items, _demand in nodes:
        office = visits[vid][4]
        visit_id = visits[vid][0]
        key = assignment_visit_key(seed, visit_id, uscc, algorithm)
        last = last_of.get(uscc, ())
        pairs, cands = [], []
        for staff, _d, _p, beat, expiry, scope, conflicts, _status in groups.get((pref, dept), ()):
            if not on_duty_of[staff]:
                continue
            if expiry is None or expiry < due:
                reason = "certificate_expired"
            elif items and not set(items) <= set(scope):
                reason = "out_of_scope"
            elif uscc in conflicts:
                reason = "declared_conflict"
            elif cross_beat and beat is not None and beat == office:
                reason = "own_beat"
            elif staff in last:
                reason = "last_inspector"
            else:
                hit = plugin_reason.get((uscc, due, staff))
                reason = hit[1] if hit else None
            pairs.append((staff, reason))
            if reason is None:
                cands.append((assignment_ticket_value(key, staff), staff))
            else:
                excluded.add((reason, uscc, staff))
        cands.sort()
        node_pairs.append(pairs)
        candidates.append([number[s] for _t, s in cands])

    # solve each group (prefecture × department) on its own
    team_of = [None] * len(nodes)
    short_nodes = []  # (node, missing, why)
    caps = {}
    start = 0
    while start < len(nodes):
        end = start
        while end < len(nodes) and nodes[end][:2] == nodes[start][:2]:
            end += 1
        demands = [nodes[k][6] for k in range(start, end)]
        cands = candidates[start:end]
        eligible = len({i for c in cands for i in c})
        load = sum(d for d, c in zip(demands, cands) if c)
        if fixed_cap is not None:
            cap, auto = int(fixed_cap), False
        else:
            cap, auto = (max(1, -(-load // eligible)) if eligible else 1), True
        sol = solve_group(demands, cands, cap=cap, auto_cap=auto, n_inspectors=len(considered))
        caps[f"{nodes[start][0]}|{nodes[start][1]}"] = sol.cap
        for k, team in enumerate(sol.teams):
            team_of[start + k] = [considered[i][0] for i in team]
        short_nodes.extend((start + k, missing, why) for k, missing, why in sol.short)
        start = end

    short_visits = {nodes[k][4] for k, _m, _w in short_nodes}
    members = {}  # vid -> [(department, staff id)]
    departments_of = {}
    for k, node in enumerate(nodes):
        departments_of.setdefault(node[4], set()).add(node[1])
        if node[4] not in short_visits:
            members.setdefault(node[4], []).extend((node[1], s) for s in team_of[k])
    section_visits = []
    assignments = []
    for vid, (visit_id, uscc, due, tasks, _office, _pref) in enumerate(visits):
        team = sorted(members.get(vid, []))
        section_visits.append({"visit_id": visit_id, "uscc": uscc, "due": due, "tasks": tasks,
                               "departments": sorted(departments_of.get(vid, ())),
                               "team": [{"department": d, "staff_id": s} for d, s in team]})
        for d, s in team:
            for t in tasks:
                if d in task_map[t]:
                    assignments.append([visit_id, t, uscc, s, d, due])
    assignments.sort(key=lambda r: (r[5], r[2], r[1], r[4], r[3]))

    exclusion_rows = [[s, u or None, reason] for reason, u, s in sorted(excluded)]
    exclusions = {}
    for reason, _u, _s in sorted(excluded):
        exclusions[reason] = exclusions.get(reason, 0) + 1

    shortfalls = []
    by_group = {}
    for k, missing, why in short_nodes:
        by_group.setdefault((nodes[k][0], nodes[k][1]), []).append((k, missing, why))
    for (pref, dept), entries in sorted(by_group.items()):
        why, ex = {}, {}
        for k, missing, w in entries:
            why[w] = why.get(w, 0) + missing
            for _s, reason in node_pairs[k]:
                if reason is not None:
                    ex[reason] = ex.get(reason, 0) + 1
        why = dict(sorted(why.items()))
        ex = dict(sorted(ex.items()))
        short = sum(m for _k, m, _w in entries)
        vids = sorted({visits[nodes[k][4]][0] for k, _m, _w in entries})
        pool = groups.get((pref, dept), ())
        on = sum(1 for r in pool if on_duty_of[r[0]])
        shortfalls.append({
            "prefecture": pref, "department": dept, "short": short, "visits": vids, "why": why, "excluded": ex,
            "inspectors_on_duty": on, "inspectors_off_duty": len(pool) - on,
            "message_zh": shortfall_message(pref, dept, short, len(vids), why, ex, on, "zh"),
            "message_en": shortfall_message(pref, dept, short, len(vids), why, ex, on, "en"),
        })
    section = {
        "algorithm": algorithm,
        "parameters": {"team_min": team_min, "workload_cap": fixed_cap, "cross_beat": cross_beat,
                       "last_inspector_recusal": last_recusal, "caps": dict(sorted(caps.items()))},
        "inputs_sha256": inputs_digest(inputs)[1],
        "visits": section_visits,
        "exclusions": exclusions,
        "shortfalls": shortfalls,
    }
    return {"section": section, "assignments": assignments, "exclusion_rows": exclusion_rows}


# -- the auditor's inspector export and the check of a record --------------------------------------------


def load_inspector_export(path: str) -> dict:
    """Read an inspector export (``dbsj-inspector-export/1``, JSON). Raises ``ValueError`` when the file is not
    one or is malformed (then nothing can be re-derived: exit code 2); content that does not match the record is
    reported by :func:`verify_assignment`."""
    with open(path, encoding="utf-8") as fh:
        try:
            data = json.load(fh)
        except ValueError as exc:
            raise ValueError(f"inspector export {path}: not JSON ({exc})") from None
    if not isinstance(data, dict) or data.get("format") != INSPECTOR_EXPORT_FORMAT:
        raise ValueError(f"inspector export {path}: not a {INSPECTOR_EXPORT_FORMAT} file "
                         f"(dbsj pool export --record RECORD --inspectors --out FILE writes one)")
    problems = check_inputs(data.get("inputs"))
    options = data.get("options")
    if not isinstance(options, dict) or sorted(options) != sorted(ASSIGNMENT_OPTION_KEYS):
        problems.append(f"options: needs exactly {list(ASSIGNMENT_OPTION_KEYS)}")
    if problems:
        raise ValueError(f"inspector export {path}: " + "; ".join(problems[:5])
                         + (f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""))
    return data


_DERIVED: dict = {}  # the last derivation: one run's records share it


def _derived(inputs: dict, options: dict, seed: str, algorithm: str) -> dict:
    key = (inputs_digest(inputs)[1], canonical_json(options), seed, algorithm)
    if key not in _DERIVED:
        _DERIVED.clear()
        _DERIVED[key] = derive_assignment(inputs, options, seed, algorithm)
    return _DERIVED[key]


def _valid_options(options) -> bool:  # noqa: ANN001
    team_min, cap = options.get("team_min"), options.get("workload_cap")
    return (type(team_min) is int and team_min >= 1 and (cap is None or (type(cap) is int and cap >= 1))
            and type(options.get("cross_beat")) is bool and type(options.get("last_inspector_recusal")) is bool)


def _record_selected(record: dict) -> tuple[str, list]:
    """The record's task id and its selected ``(id, due)`` pairs."""
    sel = record.get("selection") or {}
    task_id = sel.get("task_id") or (((record.get("commitment") or {}).get("task")) or {}).get("id")
    pairs = []
    for stratum in sel.get("strata") or []:
        for row in (stratum or {}).get("selected") or []:
            if isinstance(row, dict):
                pairs.append((row.get("id"), row.get("due")))
    return task_id, pairs


def _show(value) -> str:  # noqa: ANN001
    text = canonical_json(value)
    return text if len(text) <= 120 else text[:117] + "…"


def section_differences(expect: dict, got) -> list[str]:  # noqa: ANN001
    """Every difference between a re-derived ``assignment`` section and a record's, field by field."""
    if not isinstance(got, dict):
        return ["assignment: the section is not an object"]
    out = []
    for key in sorted(set(expect) | set(got)):
        if key == "visits":
            continue
        e, g = expect.get(key), got.get(key, "<missing>")
        if key not in expect:
            out.append(f"assignment.{key}: not part of {expect.get('algorithm')}")
        elif isinstance(e, dict) and isinstance(g, dict):
            for k in sorted(set(e) | set(g)):
                if e.get(k, "<missing>") != g.get(k, "<missing>"):
                    out.append(f"assignment.{key}.{k}: re-derived {_show(e.get(k, '<missing>'))}, "
                               f"record {_show(g.get(k, '<missing>'))}")
        elif isinstance(e, list) and isinstance(g, list) and key == "shortfalls":
            for j in range(max(len(e), len(g))):
                a = e[j] if j < len(e) else "<missing>"
                b = g[j] if j < len(g) else "<missing>"
                if a != b:
                    if isinstance(a, dict) and isinstance(b, dict):
                        for k in sorted(set(a) | set(b)):
                            if a.get(k, "<missing>") != b.get(k, "<missing>"):
                                out.append(f"assignment.shortfalls[{j}].{k}: re-derived "
                                           f"{_show(a.get(k, '<missing>'))}, record {_show(b.get(k, '<missing>'))}")
                    else:
                        out.append(f"assignment.shortfalls[{j}]: re-derived {_show(a)}, record {_show(b)}")
        elif e != g:
            out.append(f"assignment.{key}: re-derived {_show(e)}, record {_show(g)}")
    ev = expect.get("visits") or []
    gv = got.get("visits")
    if not isinstance(gv, list):
        return out + [f"assignment.visits: re-derived {len(ev)} visits, the record has none"]
    e_by = {v["visit_id"]: v for v in ev}
    g_by = {}
    for j, v in enumerate(gv):
        vid = v.get("visit_id") if isinstance(v, dict) else None
        if not isinstance(vid, str) or vid in g_by:
            out.append(f"assignment.visits[{j}]: not a visit of its own (no or a repeated visit_id)")
            continue
        g_by[vid] = v
    for vid in sorted(set(e_by) - set(g_by)):
        out.append(f"assignment.visits: visit {vid} is missing from the record")
    for vid in sorted(set(g_by) - set(e_by)):
        out.append(f"assignment.visits: visit {vid} is not in the re-derivation")
    for vid in sorted(set(e_by) & set(g_by)):
        a, b = e_by[vid], g_by[vid]
        for k in sorted(set(a) | set(b)):
            if a.get(k, "<missing>") != b.get(k, "<missing>"):
                out.append(f"assignment.visits[{vid}].{k}: re-derived {_show(a.get(k, '<missing>'))}, "
                           f"record {_show(b.get(k, '<missing>'))}")
    if not out and [v.get("visit_id") for v in gv] != [v["visit_id"] for v in ev]:
        out.append("assignment.visits: not in (due, target) order")
    return out


def verify_assignment(record: dict, inspectors: dict) -> list[str]:
    """Re-derive a record's assignment from the auditor's inspector export; return every difference.

    Checks, in order: ``assignment_sha256`` against the section; the export's parts and ``inputs_sha256`` against
    its rows and against the section's ``inputs_sha256``; the export's options against the section's
    parameters; the record's own selection and task against the export's; then the whole re-derivation.
    """
    problems: list[str] = []
    section = record.get("assignment")
    if not isinstance(section, dict):
        return ["assignment: the record has no assignment section"]
    if record.get("assignment_sha256") != hashlib.sha256(canonical_json(section).encode("utf-8")).hexdigest():
        problems.append("assignment_sha256 does not match the assignment section")
    algorithm = section.get("algorithm")
    if algorithm != ASSIGNMENT_ALGORITHM:
        return problems + [f"assignment.algorithm: {algorithm!r} cannot be re-derived from an inspector export "
                           f"(only {ASSIGNMENT_ALGORITHM} records carry a snapshot)"]
    inputs = inspectors.get("inputs")
    shape = check_inputs(inputs)
    if shape:
        return problems + [f"inspector export: {p}" for p in shape]
    parts, digest = inputs_digest(inputs)
    for name in INPUT_COLUMNS:
        if (inspectors.get("parts") or {}).get(name) != parts[name]:
            problems.append(f"inspector export: part {name} does not hash to its stated digest (edited)")
    if inspectors.get("inputs_sha256") != digest:
        problems.append("inspector export: inputs_sha256 does not bind its parts")
    if section.get("inputs_sha256") != digest:
        problems.append("assignment.inputs_sha256: the inspector export is not the snapshot this record binds "
                        "(another run, or edited)")
    if inspectors.get("algorithm") != algorithm:
        problems.append(f"inspector export: algorithm {inspectors.get('algorithm')!r}, record {algorithm!r}")
    options = inspectors.get("options") or {}
    if not _valid_options(options):
        return problems + ["inspector export: options are not valid assignment options"]
    params = section.get("parameters") if isinstance(section.get("parameters"), dict) else {}
    for key in ASSIGNMENT_OPTION_KEYS:
        if params.get(key, "<missing>") != options.get(key):
            problems.append(f"assignment.parameters.{key}: record {_show(params.get(key, '<missing>'))}, "
                            f"export {_show(options.get(key))}")
    # the record's own selection is what the snapshot assigned for its task
    task_id, selected = _record_selected(record)
    snap = sorted((u, d) for t, u, d in inputs["selections"]["rows"] if t == task_id)
    if sorted(selected, key=lambda p: (str(p[0]), str(p[1]))) != snap:
        problems.append(f"selection of task {task_id}: {len(selected)} selected (id, due) in the record, "
                        f"{len(snap)} in the inspector export — not the same")
    task = ((record.get("commitment") or {}).get("task")) or {}
    row = next((r for r in inputs["tasks"]["rows"] if r[0] == task_id), None)
    if row is None:
        problems.append(f"inspector export: task {task_id} is not among its tasks")
    elif task:
        want = [row[1], row[2], row[3]]
        have = [task.get("sponsor"), sorted({task.get("sponsor"), *(task.get("partners") or [])}),
                sorted(task.get("items") or [])]
        if want != have:
            problems.append(f"inspector export: task {task_id} has other departments or items than the commitment")
    seed = seed_value(record, [])
    if seed is None:
        return problems + ["assignment: no seed value to re-derive with"]
    try:
        derived = _derived(inputs, options, seed, algorithm)
    except (ValueError, KeyError, TypeError) as exc:  # inputs that do not fit together
        return problems + [f"inspector export: cannot re-derive from it ({type(exc).__name__}: {exc})"]
    problems += section_differences(assignment_for_task(derived["section"], task_id), section)
    if len(problems) > _MAX_REPORTED:  # a wholly different record: the first ones say enough
        problems = problems[:_MAX_REPORTED] + [f"… and {len(problems) - _MAX_REPORTED} more differences"]
    return problems


_MAX_REPORTED = 200


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) not in (2, 3):
        print("usage: python -S verifier.py RECORD.draw.json POOL.csv [INSPECTORS.json]", file=sys.stderr)
        return 2
    try:
        problems = verify_files(args[0], args[1])
        if len(args) == 3:
            export = load_inspector_export(args[2])
            with open(args[0], encoding="utf-8") as fh:
                problems += verify_assignment(json.load(fh), export)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        print(f"cannot read input: {exc}", file=sys.stderr)
        return 2
    if problems:
        print("NOT VERIFIED / 验证未通过")
        for p in problems:
            print(f"  - {p}")
        return 1
    print("VERIFIED / 验证通过: the selection re-derives from the record and the pool"
          + (", the assignment from the inspector export" if len(args) == 3 else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
