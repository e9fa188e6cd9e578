"""Standalone verifier of dbsj draw records — Python standard library only.

Usage (exit 0 verified, 1 something differs, 2 unusable input)::

    python -S verifier.py RECORD [POOL.csv [INSPECTORS]] [--anchor FILE]...

``RECORD`` is a draw record: the auditor record ``<task>.draw.json`` or the public record
``<task>.public.json``. ``POOL.csv`` is the eligible pool the draw used (``dbsj pool export --record RECORD
--out POOL.csv``: columns ``id,stratum``). ``INSPECTORS`` is the auditor's inspector export, used by the
assignment re-derivation. Each ``--anchor FILE`` is a file published earlier — the public commitment
``<task>.commit.json`` (published before the seed) or the public record ``<task>.public.json`` — against
which the record is checked field by field, so an edit that recomputes every hash inside the record is
still caught.

What is checked, following docs/draw-spec.md (every field a record binds; the table in §9 lists them):

- the record alone: its structure, every section hash, the commitment (strata order, counts, sample
  sizes from the rounding rule, eligible count and root, notes, confidentiality), the seed against the
  committed protocol (kind, one-shot hash, beacon consistency, committed round and round time, shares against
  their commitments), the selection (order, counts, ``k``, task id, algorithm, and — holding the seal —
  every ticket and every batch and due date), and the reveal's ledger entry (its payload binds the section
  hashes; its hash is recomputed and must be ``ledger.head``);
- with ``POOL.csv``: every stratum's count and digest, and the selection re-derived as the k smallest
  tickets of each stratum;
- with ``INSPECTORS`` (the auditor's inspector export, ``dbsj pool export --record RECORD --inspectors
  --out INSPECTORS.json``): the whole inspector assignment of the record's run, re-derived (docs/assignment.md);
- with ``--anchor``: agreement with the files published earlier.

A public record of a task stratified by a confidential field (``confidential: true``) carries no seal:
its selection can only be re-derived from the auditor record, which auditors receive with the seal and the
pool export. A public record of any other task carries its seal and commitment and re-derives in full from
itself and its (public) pool export.

Records of format ``dbsj-draw-record/1`` (algorithm ``dbsj-sha256-bottomk/1``) are verified as before:
``python -S verifier.py RECORD.draw.json POOL.csv``.

This file deliberately imports nothing from dbsj, so an outsider can read and run it alone; dbsj reuses
its pure functions as the reference implementation of the spec.
"""

from __future__ import annotations

import csv
import datetime as _dt
import hashlib
import io
import json
import math
import sys
from collections import deque
from fractions import Fraction

__all__ = [
    "ALGORITHM", "ALGORITHM_V1", "RECORD_FORMAT", "RECORD_FORMAT_V1", "COMMITMENT_FORMAT", "DRAND_CHAIN_PARAMS",
    "encode_field", "field", "ticket_message", "ticket", "set_digest", "sample_size", "batch_cuts", "shares_seed",
    "beacon_consistent", "bottom_k", "seed_value", "canonical_json", "sha256_hex", "stratum_key", "ticket_v2",
    "batch_key", "eligible_salt", "stratum_digest", "eligible_root", "batch_assignment", "public_body",
    "public_visits", "ledger_entry_hash", "confidential_use", "NOTE_SHORT", "NOTE_ABOVE_CAP", "BadInput",
    "load_pool", "verify_data", "verify_files", "main",
    # assignment re-derivation
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

#: Native algorithm id; goes into every ticket key and every record.
ALGORITHM = "dbsj-sha256-bottomk/2"
#: The first native algorithm (no seal): still drawable by explicit choice, and verifiable.
ALGORITHM_V1 = "dbsj-sha256-bottomk/1"
#: Version of the record format (docs/draw-spec.md).
RECORD_FORMAT = "dbsj-draw-record/2"
RECORD_FORMAT_V1 = "dbsj-draw-record/1"
#: Format of the public commitment ``<task>.commit.json``.
COMMITMENT_FORMAT = "dbsj-draw-commitment/2"

#: drand chains: full chain hash, genesis (Unix seconds), period (seconds).
DRAND_CHAIN_PARAMS = {
    "mainnet": {"chain_hash": "8990e7a9aaed2ffed73dbd7092123d6f289930540d7651336225dc172e51b2ce",
                "genesis_time": 1595431050, "period": 30},
    "quicknet": {"chain_hash": "52db9ba70e0cc0f6eaf7803dd07447a1f5477735fd3f661792ba94600c84e971",
                 "genesis_time": 1692803367, "period": 3},
}

#: The exact note texts a stratum entry may carry.
NOTE_SHORT = "short: fewer eligible than asked, all taken"
NOTE_ABOVE_CAP = "above_cap: rounding the minimum up exceeds the cap"

#: Target fields a task may stratify by or filter on, and the scope keys that filter on them.
_STRATUM_FIELDS = ("credit_class", "entity_kind", "industry", "office", "region")
_SCOPE_FIELDS = {"regions": "region", "entity_kinds": "entity_kind", "industries": "industry", "tags": "tags",
                 "credit_classes": "credit_class"}
_EXCLUSION_REASONS = ("status", "scope_region", "scope_entity_kind", "scope_industry", "scope_tags",
                      "scope_credit_class", "item_not_applicable", "recently_inspected")
_BATCH_LABEL = "dbsj-batch-order"
_SALT_LABEL = "dbsj-eligible-digest"
_ZERO64 = "0" * 64


class BadInput(Exception):
    """An input the verifier cannot use (unreadable, the wrong kind of file): exit code 2."""


# -- encodings and hashes -----------------------------------------------------------------------------


def field(raw: bytes) -> bytes:
    """One field of a hashed message: ASCII decimal byte length, ``:``, the bytes (no terminator)."""
    return str(len(raw)).encode("ascii") + b":" + raw


def encode_field(value: str) -> bytes:
    """:func:`field` of a text: its UTF-8 bytes."""
    return field(value.encode("utf-8"))


def sha256_hex(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


def canonical_json(value) -> str:  # noqa: ANN001
    """Canonical JSON: sorted keys, no spaces, UTF-8 text (not ASCII-escaped)."""
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def _h(value) -> str:  # noqa: ANN001
    return sha256_hex(canonical_json(value).encode("utf-8"))


# -- version 1 (no seal) ------------------------------------------------------------------------------


def ticket_message(seed: str, task_id: str, stratum: str, target_id: str, algorithm: str = ALGORITHM_V1) -> bytes:
    """The exact bytes a v1 ticket hashes: the five fields, each length-prefixed, in this order, concatenated."""
    return b"".join(encode_field(v) for v in (algorithm, seed, task_id, stratum, target_id))


def ticket(seed: str, task_id: str, stratum: str, target_id: str, algorithm: str = ALGORITHM_V1) -> str:
    """A v1 ticket: lowercase hex SHA-256 of :func:`ticket_message` (v2 tickets: :func:`ticket_v2`)."""
    if algorithm == ALGORITHM:
        raise ValueError("dbsj-sha256-bottomk/2 tickets need the seal: use stratum_key() and ticket_v2()")
    return sha256_hex(ticket_message(seed, task_id, stratum, target_id, algorithm))


def set_digest(ids) -> str:  # noqa: ANN001 - any iterable of str
    """v1 stratum digest: SHA-256 hex of the ascending concatenation of each id's SHA-256 hex (ASCII)."""
    hexes = sorted(hashlib.sha256(i.encode("utf-8")).hexdigest() for i in ids)
    return hashlib.sha256("".join(hexes).encode("ascii")).hexdigest()


# -- version 2 (sealed) -------------------------------------------------------------------------------


def stratum_key(seed: str, seal: bytes, task_id: str, stratum: str, algorithm: str = ALGORITHM) -> bytes:
    """``K = SHA-256(field(alg) ‖ field(seed) ‖ field(seal) ‖ field(task) ‖ field(stratum))``: 32 raw bytes."""
    return hashlib.sha256(encode_field(algorithm) + encode_field(seed) + field(seal) + encode_field(task_id)
                          + encode_field(stratum)).digest()


def ticket_v2(key: bytes, target_id: str) -> str:
    """``hex(SHA-256(K ‖ UTF-8 id))`` — one SHA-256 block for ids up to 23 bytes."""
    return sha256_hex(key + target_id.encode("utf-8"))


def batch_key(seed: str, seal: bytes, task_id: str, algorithm: str = ALGORITHM) -> bytes:
    """``B = SHA-256(field("dbsj-batch-order") ‖ field(alg) ‖ field(seed) ‖ field(seal) ‖ field(task))``:
    the stratum-free key that orders a task's whole selection into batches."""
    return hashlib.sha256(encode_field(_BATCH_LABEL) + encode_field(algorithm) + encode_field(seed) + field(seal)
                          + encode_field(task_id)).digest()


def eligible_salt(seal: bytes, algorithm: str = ALGORITHM) -> bytes:
    """``D = SHA-256(field("dbsj-eligible-digest") ‖ field(alg) ‖ field(seal))``: the salt of stratum digests."""
    return hashlib.sha256(encode_field(_SALT_LABEL) + encode_field(algorithm) + field(seal)).digest()


def stratum_digest(salt: bytes, ids) -> str:  # noqa: ANN001 - iterable of str
    """``hex(SHA-256(D ‖ id₁ ‖ LF ‖ id₂ ‖ LF ‖ … ‖ idₙ ‖ LF))``, ids ascending by UTF-8 bytes (ids hold no LF)."""
    h = hashlib.sha256(salt)
    for i in sorted(i.encode("utf-8") for i in ids):
        h.update(i + b"\n")
    return h.hexdigest()


def eligible_root(strata) -> str:  # noqa: ANN001 - [(label, count, digest)]
    """``hex(SHA-256(field(label) ‖ field(count) ‖ field(digest) …))``, strata ascending by label bytes."""
    h = hashlib.sha256()
    for label, count, digest in sorted(strata, key=lambda s: s[0].encode("utf-8")):
        h.update(encode_field(label) + encode_field(str(int(count))) + encode_field(digest))
    return h.hexdigest()


def batch_assignment(ids, shares: list, bkey: bytes) -> dict:  # noqa: ANN001
    """id → batch index (0-based) of a task's selected ids: ordered by ``(hex(SHA-256(B ‖ id)), id)``, the
    position p (1-based) falls in the first batch i with p ≤ cut i of :func:`batch_cuts` over the whole count."""
    order = sorted((sha256_hex(bkey + i.encode("utf-8")), i.encode("utf-8"), i) for i in ids)
    cuts = batch_cuts(len(order), shares)
    out, b = {}, 0
    for p, (_t, _raw, ident) in enumerate(order, start=1):
        while p > cuts[b]:
            b += 1
        out[ident] = b
    return out


# -- shared rules ------------------------------------------------------------------------------------


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


def stratum_notes(eligible: int, quota: dict, asked: int, k: int) -> list[str]:
    """The notes a stratum entry carries, in this order (exact texts)."""
    notes = []
    if asked > eligible:
        notes.append(NOTE_SHORT)
    if "max" in quota and "min" in quota and k > math.floor(_ratio(quota["max"]) * eligible):
        notes.append(NOTE_ABOVE_CAP)
    return notes


def batch_cuts(k: int, shares: list) -> list[int]:  # noqa: ANN001
    """Cumulative position bounds of the batches: batch i takes positions ``cuts[i-1] < p <= cuts[i]``.

    ``shares`` are decimal strings or ``None`` (then every batch has an equal share); cut i = min(k, ceil(k·(s1+…+si))),
    and the last cut is k.
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


def beacon_round_time_text(chain: str, round_no: int) -> str:
    """ISO 8601 UTC text of a round's publication time: genesis + (round − 1) · period."""
    p = DRAND_CHAIN_PARAMS[chain]
    t = _dt.datetime.fromtimestamp(p["genesis_time"] + (int(round_no) - 1) * p["period"], _dt.timezone.utc)
    return t.isoformat()


def bottom_k(tickets: dict, k: int) -> list[tuple[str, str]]:
    """The k smallest ``(ticket, id)`` pairs, ascending (ids compared by UTF-8 bytes): one stratum's selection."""
    return sorted(((t, i) for i, t in tickets.items()), key=lambda p: (p[0], p[1].encode("utf-8")))[:k]


def ledger_entry_hash(entry: dict) -> str:
    """SHA-256 hex over (seq, kind, subject, canonical payload, recorded_at, prev_hash), each as UTF-8 bytes
    preceded by its length as an 8-byte big-endian integer."""
    parts = [str(entry["seq"]), entry["kind"], entry["subject"], canonical_json(entry["payload"]),
             entry["recorded_at"], entry["prev_hash"]]
    raw = b"".join(len(b).to_bytes(8, "big") + b for b in (p.encode("utf-8") for p in parts))
    return sha256_hex(raw)


def confidential_use(parameters: dict, fields: list) -> list[str]:
    """The confidential fields a task uses (sorted): in its strata, in its scope, or ``credit_class`` through a
    credit ratio table. ``credit_class`` is always confidential."""
    conf = set(fields) | {"credit_class"}
    used = set(parameters.get("strata_fields") or [])
    for key, name in _SCOPE_FIELDS.items():
        if (parameters.get("scope") or {}).get(key):
            used.add(name)
    if parameters.get("ratio_table"):
        used.add("credit_class")
    return sorted(used & conf)


def public_visits(assignment) -> list | None:  # noqa: ANN001
    """The public form of an assignment's visits: who visits is never published, only which departments."""
    if assignment is None:
        return None
    # dbsj-assign/2 visits name their departments; older ones only through their teams
    return [{"visit_id": v["visit_id"], "uscc": v["uscc"], "due": v["due"], "tasks": list(v["tasks"]),
             "departments": list(v["departments"]) if "departments" in v
             else sorted({m["department"] for m in v.get("team", [])}, key=lambda d: d.encode("utf-8"))}
            for v in assignment.get("visits", [])]


def public_body(record: dict) -> dict:
    """The public record of an auditor record, without its ``ledger`` section (docs/draw-spec.md §7.4).
    ``ledger.entry.payload.public_sha256`` is the hash of exactly this."""
    com = record["commitment"]
    confidential = bool(com["confidential"]["task"])
    selected = []
    for st in record["selection"]["strata"]:
        for r in st["selected"]:
            selected.append({"id": r["id"], "batch": r["batch"], "due": r["due"]})
    selected.sort(key=lambda r: r["id"].encode("utf-8"))
    body = {
        "format": record["format"], "form": "public", "draw_id": record["draw_id"], "algorithm": com["algorithm"],
        "plan": com["plan"], "task": com["task"], "commitment_sha256": record["commitment_sha256"],
        "eligible_root": com["eligible"]["root"], "seal_sha256": com["seal_sha256"],
        "seed_protocol": com["seed_protocol"], "committed_at": com["committed_at"], "confidential": confidential,
        "seed": record["seed"], "seed_sha256": record["seed_sha256"], "count": record["selection"]["count"],
        "selected": selected, "visits": public_visits(record["assignment"]),
        "selection_sha256": record["selection_sha256"], "assignment_sha256": record["assignment_sha256"],
    }
    if not confidential:
        body["seal"] = record["seal"]
        body["commitment"] = com
    return body


def public_commitment(commitment: dict) -> dict:
    """The public commitment ``<task>.commit.json`` of a commitment (published before the seed)."""
    return {"format": COMMITMENT_FORMAT, "form": "public-commitment", "draw_id": commitment["draw_id"],
            "algorithm": commitment["algorithm"], "plan": commitment["plan"], "task": commitment["task"],
            "commitment_sha256": _h(commitment), "eligible_root": commitment["eligible"]["root"],
            "seal_sha256": commitment["seal_sha256"], "seed_protocol": commitment["seed_protocol"],
            "committed_at": commitment["committed_at"], "confidential": bool(commitment["confidential"]["task"])}


# -- seeds --------------------------------------------------------------------------------------------


def seed_value(record: dict, problems: list[str]) -> str | None:
    """Re-derive the seed value from a record's ``seed`` section and committed protocol; append problems.

    For v2 records the protocol is ``commitment.seed_protocol`` (auditor) or ``seed_protocol`` (public).
    """
    seed = record.get("seed") or {}
    kind = seed.get("kind")
    protocol = (record.get("commitment") or {}).get("seed_protocol") or record.get("seed_protocol") or {}
    if kind == "beacon":
        b = seed.get("beacon") or {}
        if not beacon_consistent(str(b.get("signature", "")), str(b.get("randomness", ""))):
            problems.append("seed.beacon: randomness is not SHA-256(signature)")
        if protocol.get("kind") == "beacon" and protocol.get("round") != b.get("round"):
            problems.append(f"seed.beacon.round: {b.get('round')} is not the committed round {protocol.get('round')}")
        value = str(b.get("randomness", "")).lower()
    elif kind == "shares":
        shares = seed.get("shares") or {}
        commits = protocol.get("commitments") or {}
        if sorted(shares) != sorted(commits):
            problems.append("seed.shares: revealed departments differ from the committed ones")
        for dept, share in sorted(shares.items()):
            if hashlib.sha256(str(share).encode("utf-8")).hexdigest() != commits.get(dept):
                problems.append(f"seed.shares: share of {dept} does not match its commitment")
        value = shares_seed({str(d): str(s) for d, s in shares.items()})
    elif kind == "dice":
        digits = (seed.get("dice") or {}).get("digits")
        value = str(digits if digits is not None else seed.get("value", ""))
    elif kind == "demo":
        value = str(seed.get("value", ""))
    else:
        problems.append(f"seed.kind: unknown kind {kind!r}")
        return None
    if value != seed.get("value"):
        problems.append(f"seed.value: {seed.get('value')!r} does not derive from the seed section ({value!r})")
    return value


# -- input files --------------------------------------------------------------------------------------


def _restore(cell: str) -> str:
    # dbsj writes a cell that begins with = + - @ TAB CR or ' with one ' in front (docs/draw-spec.md §7.5)
    return cell[1:] if cell.startswith("'") else cell


def load_pool(path: str) -> tuple[dict, list[str]]:
    """Read a pool export: stratum → list of ids, and problems (bad rows, duplicates)."""
    pool: dict[str, list[str]] = {}
    problems: list[str] = []
    seen: dict[str, int] = {}
    try:
        with open(path, encoding="utf-8-sig", newline="") as fh:
            reader = csv.reader(io.StringIO(fh.read()))
    except (OSError, UnicodeDecodeError) as exc:
        raise BadInput(f"cannot read pool export {path}: {exc}") from None
    header = next(reader, None)
    if header != ["id", "stratum"]:
        raise BadInput(f"pool export {path}: header must be id,stratum, found {header}")
    for row_no, row in enumerate(reader, start=2):
        if len(row) != 2 or not row[0]:
            problems.append(f"pool row {row_no}: expected a non-empty id and a stratum")
            continue
        ident, stratum = _restore(row[0]), _restore(row[1])
        if ident in seen:
            problems.append(f"pool row {row_no}: duplicate id {ident} (first at row {seen[ident]})")
            continue
        seen[ident] = row_no
        pool.setdefault(stratum, []).append(ident)
    return pool, problems


def _load_json(path: str) -> dict:
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except (OSError, ValueError) as exc:
        raise BadInput(f"cannot read {path}: {exc}") from None
    if not isinstance(data, dict):
        raise BadInput(f"{path} is not a JSON object")
    return data


# -- checks of a v2 record ------------------------------------------------------------------------------

_AUDITOR_KEYS = {"format", "form", "draw_id", "commitment", "commitment_sha256", "seal", "seed", "seed_sha256",
                 "selection", "selection_sha256", "assignment", "assignment_sha256", "ledger"}
_PUBLIC_KEYS = {"format", "form", "draw_id", "algorithm", "plan", "task", "commitment_sha256", "eligible_root",
                "seal_sha256", "seed_protocol", "committed_at", "confidential", "seed", "seed_sha256", "count",
                "selected", "visits", "selection_sha256", "assignment_sha256", "ledger"}
_COMMITMENT_KEYS = {"format", "algorithm", "draw_id", "run_id", "attempt", "plan", "task", "parameters",
                    "confidential", "strata", "eligible", "exclusions", "seed_protocol", "seal_sha256", "ledger_head",
                    "committed_at"}
_PUBLIC_COMMITMENT_KEYS = {"format", "form", "draw_id", "algorithm", "plan", "task", "commitment_sha256",
                           "eligible_root", "seal_sha256", "seed_protocol", "committed_at", "confidential"}
_PARAMETER_KEYS = {"scope", "directed", "strata_fields", "min_per_stratum", "max_per_stratum", "ratio_table",
                   "repeat_window_days", "as_of"}
_SCOPE_KEYS = {"regions", "entity_kinds", "industries", "tags", "credit_classes", "statuses"}
_TASK_KEYS = {"id", "name", "sponsor", "partners", "joint", "items", "start", "batches"}
_PLAN_KEYS = {"id", "sha256", "authority", "year"}
_STRATUM_KEYS = {"stratum", "eligible", "digest", "quota", "quota_from", "asked", "k"}
_ROW_KEYS = {"rank", "id", "ticket", "batch", "due"}
_ENTRY_KEYS = {"seq", "kind", "subject", "payload", "recorded_at", "prev_hash", "hash"}
_PAYLOAD_KEYS = {"run_id", "commitment_sha256", "seed_sha256", "selection_sha256", "assignment_sha256",
                 "public_sha256", "selected"}
#: Added to the payload when the record has an assignment: the digest of its inputs snapshot and of each part.
_PAYLOAD_ASSIGNMENT_KEYS = {"assignment_inputs_sha256", "assignment_inputs"}
_SEED_KIND_KEYS = {"beacon": {"beacon"}, "shares": {"shares"}, "dice": {"dice"}, "demo": set()}
_BEACON_KEYS = {"chain", "chain_hash", "round", "round_time", "signature", "randomness"}


def _is_hex64(v) -> bool:  # noqa: ANN001
    return isinstance(v, str) and len(v) == 64 and all(c in "0123456789abcdef" for c in v)


def _is_int(v) -> bool:  # noqa: ANN001
    return isinstance(v, int) and not isinstance(v, bool)


def _time(text, where: str, problems: list[str]):  # noqa: ANN001, ANN202
    """An ISO 8601 time with a UTC offset and whole seconds (``YYYY-MM-DDTHH:MM:SS±HH:MM``)."""
    try:
        t = _dt.datetime.fromisoformat(text)
        if t.tzinfo is None or len(text) != 25 or text[10] != "T":
            raise ValueError
        return t
    except (TypeError, ValueError):
        problems.append(f"{where}: {text!r} is not a time of the form YYYY-MM-DDTHH:MM:SS+HH:MM")
        return None


def _date(text, where: str, problems: list[str]) -> bool:  # noqa: ANN001
    try:
        if not isinstance(text, str) or len(text) != 10:
            raise ValueError
        _dt.date.fromisoformat(text)
        return True
    except ValueError:
        problems.append(f"{where}: {text!r} is not a date YYYY-MM-DD")
        return False


def _keys(obj, expect: set, where: str, problems: list[str]) -> bool:  # noqa: ANN001
    if not isinstance(obj, dict):
        problems.append(f"{where}: expected an object")
        return False
    if set(obj) != expect:
        missing, extra = sorted(expect - set(obj)), sorted(set(obj) - expect)
        problems.append(f"{where}: keys differ from the spec (missing {missing}, unexpected {extra})")
        return False
    return True


def _label_fields(label: str) -> list[str] | None:
    if label == "*":
        return []
    parts = label.split("|")
    names = []
    for p in parts:
        name, sep, _value = p.partition("=")
        if not sep:
            return None
        names.append(name)
    return names


def _check_plan_task(plan, task, where: str, problems: list[str]) -> None:  # noqa: ANN001
    if _keys(plan, _PLAN_KEYS, f"{where}.plan", problems):
        if not _is_hex64(plan["sha256"]):
            problems.append(f"{where}.plan.sha256: not 64 lowercase hex digits")
        if not _is_int(plan["year"]):
            problems.append(f"{where}.plan.year: not an integer")
    if _keys(task, _TASK_KEYS, f"{where}.task", problems):
        batches = task["batches"]
        if not isinstance(batches, list) or not batches:
            problems.append(f"{where}.task.batches: at least one batch is needed")
            return
        last = None
        shares = []
        for n, b in enumerate(batches):
            if not _keys(b, {"name", "deadline", "share"}, f"{where}.task.batches[{n}]", problems):
                return
            if _date(b["deadline"], f"{where}.task.batches[{n}].deadline", problems):
                if last is not None and b["deadline"] <= last:
                    problems.append(f"{where}.task.batches: deadlines must increase")
                last = b["deadline"]
            shares.append(b["share"])
        given = [s for s in shares if s is not None]
        try:
            if given and (len(given) != len(shares) or sum(_ratio(s) for s in given) != 1):
                problems.append(f"{where}.task.batches: shares must be given for every batch and add up to 1")
        except (ValueError, ZeroDivisionError):
            problems.append(f"{where}.task.batches: a share is not a decimal number")
        if not isinstance(task["joint"], bool):
            problems.append(f"{where}.task.joint: not true or false")


def _check_protocol(protocol, committed_at, where: str, problems: list[str]) -> None:  # noqa: ANN001
    if not isinstance(protocol, dict):
        problems.append(f"{where}: expected an object")
        return
    kind = protocol.get("kind")
    base = {"kind", "known_before_commitment"}
    one_shot = protocol.get("known_before_commitment")
    if not isinstance(one_shot, bool):
        problems.append(f"{where}.known_before_commitment: not true or false")
        return
    if one_shot:
        base.add("seed_value_sha256")
    if kind == "beacon":
        if not _keys(protocol, base | {"chain", "chain_hash", "round", "round_time"}, where, problems):
            return
        chain = protocol["chain"]
        if chain not in DRAND_CHAIN_PARAMS:
            problems.append(f"{where}.chain: unknown drand chain {chain!r}")
            return
        if protocol["chain_hash"] != DRAND_CHAIN_PARAMS[chain]["chain_hash"]:
            problems.append(f"{where}.chain_hash: not the chain hash of {chain}")
        if not _is_int(protocol["round"]) or protocol["round"] < 1:
            problems.append(f"{where}.round: not a round number")
            return
        if protocol["round_time"] != beacon_round_time_text(chain, protocol["round"]):
            problems.append(f"{where}.round_time: round {protocol['round']} of {chain} is published at "
                            f"{beacon_round_time_text(chain, protocol['round'])}")
        rt = _time(protocol["round_time"], f"{where}.round_time", problems)
        if rt is not None and committed_at is not None and not rt > committed_at:
            problems.append(f"{where}.round_time: the round is not published strictly after the commitment")
    elif kind == "shares":
        if not _keys(protocol, base | {"commitments"}, where, problems):
            return
        commits = protocol["commitments"]
        if not isinstance(commits, dict) or not commits or not all(_is_hex64(v) for v in commits.values()):
            problems.append(f"{where}.commitments: department → 64 lowercase hex digits expected")
    elif kind in ("dice", "demo"):
        if not _keys(protocol, base, where, problems):
            return
        if kind == "demo" and not one_shot:
            problems.append(f"{where}.known_before_commitment: a demo seed is always known before the commitment")
    else:
        problems.append(f"{where}.kind: unknown seed protocol {kind!r}")
        return
    if one_shot and not _is_hex64(protocol.get("seed_value_sha256")):
        problems.append(f"{where}.seed_value_sha256: not 64 lowercase hex digits")


def _check_seed(seed, protocol, committed_at, where: str, problems: list[str], record_for_value: dict):  # noqa: ANN001, ANN202
    """Checks of a seed section against its committed protocol; returns the seed value (or None)."""
    if not isinstance(seed, dict) or not isinstance(protocol, dict):
        problems.append(f"{where}: expected an object")
        return None
    kind = seed.get("kind")
    if kind != protocol.get("kind"):
        problems.append(f"{where}.kind: {kind!r} differs from the committed seed protocol "
                        f"({protocol.get('kind')!r})")
    if kind not in _SEED_KIND_KEYS:
        problems.append(f"{where}.kind: unknown kind {kind!r}")
        return None
    _keys(seed, {"kind", "value", "known_before_commitment", "revealed_at"} | _SEED_KIND_KEYS[kind], where, problems)
    if seed.get("known_before_commitment") != protocol.get("known_before_commitment"):
        problems.append(f"{where}.known_before_commitment: differs from the committed seed protocol")
    revealed = _time(seed.get("revealed_at"), f"{where}.revealed_at", problems)
    if revealed is not None and committed_at is not None and revealed < committed_at:
        problems.append(f"{where}.revealed_at: before the commitment")
    if kind == "beacon":
        b = seed.get("beacon")
        if _keys(b, _BEACON_KEYS, f"{where}.beacon", problems):
            for k in ("chain", "chain_hash", "round", "round_time"):
                if b[k] != protocol.get(k):
                    problems.append(f"{where}.beacon.{k}: differs from the committed protocol")
    elif kind == "dice":
        d = seed.get("dice")
        if _keys(d, {"digits", "witnesses"}, f"{where}.dice", problems):
            digits = d["digits"]
            if not (isinstance(digits, str) and digits.isascii() and digits.isdigit() and len(digits) >= 10):
                problems.append(f"{where}.dice.digits: at least 10 decimal digits expected")
            if not isinstance(d["witnesses"], list) or not all(isinstance(w, str) for w in d["witnesses"]):
                problems.append(f"{where}.dice.witnesses: a list of names expected")
    value = seed_value(record_for_value, problems)
    if value is not None and protocol.get("known_before_commitment"):
        if sha256_hex(value.encode("utf-8")) != protocol.get("seed_value_sha256"):
            problems.append(f"{where}.value: does not hash to the committed seed_value_sha256")
    return value


def _check_override(value, where: str, problems: list[str]) -> None:  # noqa: ANN001
    """The optional ``check_override`` member (§7.1): a reason and the sorted ids of the rules it overrode."""
    if not _keys(value, {"override", "errors"}, where, problems):
        return
    reason, errors = value["override"], value["errors"]
    if not (isinstance(reason, str) and reason.strip() == reason and 1 <= len(reason) <= 500
            and not any(ord(c) < 32 for c in reason)):
        problems.append(f"{where}.override: a reason of 1-500 characters without control characters or edge spaces expected")
    if not (isinstance(errors, list) and errors and all(isinstance(e, str) and e for e in errors)
            and errors == sorted(set(errors))):
        problems.append(f"{where}.errors: a non-empty list of rule ids, sorted and unique, expected")


def _check_commitment(com, problems: list[str]) -> None:  # noqa: ANN001
    w = "commitment"
    if isinstance(com, dict) and "check_override" in com:
        _check_override(com["check_override"], f"{w}.check_override", problems)
        com = {k: v for k, v in com.items() if k != "check_override"}
    if not _keys(com, _COMMITMENT_KEYS, w, problems):
        return
    if com["format"] != RECORD_FORMAT:
        problems.append(f"{w}.format: {com['format']!r} is not {RECORD_FORMAT}")
    if com["algorithm"] != ALGORITHM:
        problems.append(f"{w}.algorithm: {com['algorithm']!r} is not {ALGORITHM} (the algorithm of {RECORD_FORMAT})")
    _check_plan_task(com["plan"], com["task"], w, problems)
    plan_id = (com["plan"] or {}).get("id") if isinstance(com["plan"], dict) else None
    task_id = (com["task"] or {}).get("id") if isinstance(com["task"], dict) else None
    if not _is_int(com["attempt"]) or com["attempt"] < 1:
        problems.append(f"{w}.attempt: not a positive integer")
    elif com["draw_id"] != f"{plan_id}/{task_id}/{com['attempt']}":
        problems.append(f"{w}.draw_id: {com['draw_id']!r} is not <plan>/<task>/<attempt>")
    run = str(com["run_id"])
    if not (run.startswith(f"{plan_id}/run-") and run.rsplit("-", 1)[-1].isdigit()):
        problems.append(f"{w}.run_id: {com['run_id']!r} is not <plan>/run-<n>")
    for k in ("seal_sha256", "ledger_head"):
        if not _is_hex64(com[k]):
            problems.append(f"{w}.{k}: not 64 lowercase hex digits")
    committed_at = _time(com["committed_at"], f"{w}.committed_at", problems)
    _check_protocol(com["seed_protocol"], committed_at, f"{w}.seed_protocol", problems)
    params = com["parameters"]
    if not _keys(params, _PARAMETER_KEYS, f"{w}.parameters", problems):
        return
    scope = params["scope"]
    if _keys(scope, _SCOPE_KEYS, f"{w}.parameters.scope", problems):
        directed = any(scope[k] for k in ("regions", "entity_kinds", "industries", "tags", "credit_classes"))
        if params["directed"] is not directed:
            problems.append(f"{w}.parameters.directed: {params['directed']!r}, but the scope says {directed}")
    fields = params["strata_fields"]
    if not isinstance(fields, list) or fields != sorted(set(fields)) or not set(fields) <= set(_STRATUM_FIELDS):
        problems.append(f"{w}.parameters.strata_fields: not a sorted list of distinct stratum fields")
        fields = None
    if isinstance(com["task"], dict) and params["as_of"] != com["task"].get("start"):
        problems.append(f"{w}.parameters.as_of: not the task's start")
    if not _is_int(params["repeat_window_days"]) or params["repeat_window_days"] < 0:
        problems.append(f"{w}.parameters.repeat_window_days: not a whole number of days")
    for k in ("min_per_stratum", "max_per_stratum"):
        if params[k] is not None and (not _is_int(params[k]) or params[k] < 0):
            problems.append(f"{w}.parameters.{k}: not null or a whole number")
    conf = com["confidential"]
    if _keys(conf, {"task", "fields", "used"}, f"{w}.confidential", problems):
        if not isinstance(conf["fields"], list) or "credit_class" not in conf["fields"] or \
                conf["fields"] != sorted(set(conf["fields"])):
            problems.append(f"{w}.confidential.fields: a sorted list that includes credit_class expected")
        else:
            used = confidential_use(params, conf["fields"])
            if conf["used"] != used:
                problems.append(f"{w}.confidential.used: {conf['used']!r}, but the parameters use {used!r}")
            if conf["task"] is not bool(used):
                problems.append(f"{w}.confidential.task: {conf['task']!r}, but the task uses {used or 'no'} "
                                f"confidential field(s)")
    # strata
    strata = com["strata"]
    if not isinstance(strata, list) or not strata:
        problems.append(f"{w}.strata: a non-empty list expected")
        return
    labels = []
    total = 0
    for n, e in enumerate(strata):
        where = f"{w}.strata[{n}]"
        if not isinstance(e, dict):
            problems.append(f"{where}: expected an object")
            continue
        notes_expected = None
        keys = _STRATUM_KEYS | ({"notes"} if "notes" in e else set())
        if not _keys(e, keys, where, problems):
            continue
        label = e["stratum"]
        labels.append(label)
        names = _label_fields(label) if isinstance(label, str) else None
        if fields is not None and names != fields:
            problems.append(f"{where}.stratum: {label!r} does not name the fields {fields}")
        if not _is_int(e["eligible"]) or e["eligible"] < 1:
            problems.append(f"{where}.eligible: not a positive count")
            continue
        total += e["eligible"]
        if not _is_hex64(e["digest"]):
            problems.append(f"{where}.digest: not 64 lowercase hex digits")
        try:
            asked, k = sample_size(e["eligible"], e["quota"] or {}, params["min_per_stratum"], params["max_per_stratum"])
            notes_expected = stratum_notes(e["eligible"], e["quota"], asked, k)
        except (ValueError, TypeError, AttributeError, ZeroDivisionError):
            problems.append(f"{where}.quota: not a quota (count, or min/max as decimal text)")
            continue
        if (asked, k) != (e["asked"], e["k"]):
            problems.append(f"{where}: the rounding rule gives asked={asked}, k={k}; committed asked={e['asked']}, "
                            f"k={e['k']}")
        if e.get("notes", []) != notes_expected or ("notes" in e and not notes_expected):
            problems.append(f"{where}.notes: {e.get('notes')!r}, but the rule gives {notes_expected or 'none'}")
        qf = e["quota_from"]
        if not (qf in ("by_class", "quota") or (isinstance(qf, str) and qf == f"table:{params['ratio_table']}")):
            problems.append(f"{where}.quota_from: {qf!r} is not by_class, quota or table:<ratio_table>")
    if labels != sorted(labels, key=lambda s: s.encode("utf-8") if isinstance(s, str) else b"") or \
            len(set(labels)) != len(labels):
        problems.append(f"{w}.strata: labels must be distinct and in ascending byte order")
    elig = com["eligible"]
    if _keys(elig, {"count", "root"}, f"{w}.eligible", problems):
        if elig["count"] != total:
            problems.append(f"{w}.eligible.count: {elig['count']!r}, but the strata add up to {total}")
        try:
            root = eligible_root([(e["stratum"], e["eligible"], e["digest"]) for e in strata])
        except (KeyError, TypeError, ValueError, AttributeError):
            root = None
        if root != elig["root"]:
            problems.append(f"{w}.eligible.root: does not bind the strata (labels, counts, digests)")
    ex = com["exclusions"]
    # (canonical JSON orders the keys, so their order in the file says nothing)
    if not isinstance(ex, dict) or not set(ex) <= set(_EXCLUSION_REASONS) or \
            not all(_is_int(v) and v > 0 for v in ex.values()):
        problems.append(f"{w}.exclusions: reason → positive count, reasons of the spec only")


def _check_selection(rec: dict, seal: bytes | None, value: str | None, problems: list[str]) -> None:
    com, sel = rec["commitment"], rec["selection"]
    w = "selection"
    if not _keys(sel, {"algorithm", "task_id", "count", "strata"}, w, problems):
        return
    if sel["algorithm"] != com.get("algorithm"):
        problems.append(f"{w}.algorithm: differs from the commitment's")
    task = com.get("task") or {}
    if sel["task_id"] != task.get("id"):
        problems.append(f"{w}.task_id: {sel['task_id']!r} is not the committed task {task.get('id')!r}")
    committed = com.get("strata") or []
    if not isinstance(sel["strata"], list) or [s.get("stratum") for s in sel["strata"] if isinstance(s, dict)] != \
            [e.get("stratum") for e in committed if isinstance(e, dict)]:
        problems.append(f"{w}.strata: not the committed strata in the committed order")
        return
    rows_all: list[tuple[str, dict]] = []
    total = 0
    for n, (st, e) in enumerate(zip(sel["strata"], committed)):
        where = f"{w}.strata[{n}]"
        if not _keys(st, {"stratum", "eligible", "k", "selected"}, where, problems):
            continue
        if st["eligible"] != e.get("eligible"):
            problems.append(f"{where}.eligible: not the committed count")
        if st["k"] != e.get("k"):
            problems.append(f"{where}.k: not the committed sample size")
        rows = st["selected"]
        if not isinstance(rows, list):
            problems.append(f"{where}.selected: a list expected")
            continue
        if len(rows) != e.get("k"):
            problems.append(f"{where}.selected: {len(rows)} rows, but k = {e.get('k')}")
        key = stratum_key(value, seal, task.get("id", ""), st["stratum"]) if seal is not None and value else None
        prev = None
        for j, r in enumerate(rows):
            rw = f"{where}.selected[{j}]"
            if not _keys(r, _ROW_KEYS, rw, problems):
                continue
            if r["rank"] != j + 1:
                problems.append(f"{rw}.rank: {r['rank']!r}, expected {j + 1}")
            if not isinstance(r["id"], str) or not r["id"]:
                problems.append(f"{rw}.id: not an id")
                continue
            if not _is_hex64(r["ticket"]):
                problems.append(f"{rw}.ticket: not 64 lowercase hex digits")
            elif key is not None and r["ticket"] != ticket_v2(key, r["id"]):
                problems.append(f"{rw}.ticket: not the ticket of {r['id']} (SHA-256(K ‖ id))")
            order = (r["ticket"], r["id"].encode("utf-8")) if isinstance(r["ticket"], str) else None
            if prev is not None and order is not None and not prev < order:
                problems.append(f"{rw}: not in ascending (ticket, id) order")
            prev = order
            rows_all.append((st["stratum"], r))
        total += len(rows)
    if sel["count"] != total:
        problems.append(f"{w}.count: {sel['count']!r}, but the strata hold {total} rows")
    ids = [r["id"] for _s, r in rows_all]
    if len(set(ids)) != len(ids):
        problems.append(f"{w}: an id is selected twice")
    batches = task.get("batches") or []
    names = {b.get("name"): b.get("deadline") for b in batches if isinstance(b, dict)}
    for s, r in rows_all:
        if names.get(r["batch"], object()) != r["due"]:
            problems.append(f"{w}: row of {r['id']}: batch {r['batch']!r} and due {r['due']!r} are not a committed batch")
            break
    if seal is not None and value and batches and len(set(ids)) == len(ids):
        bkey = batch_key(value, seal, task.get("id", ""))
        expect = batch_assignment(ids, [b.get("share") for b in batches], bkey)
        for s, r in rows_all:
            b = batches[expect[r["id"]]]
            if (r["batch"], r["due"]) != (b["name"], b["deadline"]):
                problems.append(f"{w}: row of {r['id']}: batch {r['batch']!r} is not the batch the batch order "
                                f"gives ({b['name']!r})")


def _check_visits(visits, selected: dict, task_id: str, where: str, problems: list[str]) -> None:  # noqa: ANN001
    """Visits (public or auditor form) against the selected ids and due dates of this task."""
    if visits is None:
        return
    if not isinstance(visits, list):
        problems.append(f"{where}: a list expected")
        return
    seen = {}
    for n, v in enumerate(visits):
        if not isinstance(v, dict) or not isinstance(v.get("tasks"), list):
            problems.append(f"{where}[{n}]: a visit object with tasks expected")
            return
        if v.get("visit_id") != f"{v.get('uscc')}@{v.get('due')}":
            problems.append(f"{where}[{n}].visit_id: not <uscc>@<due>")
        if task_id not in v["tasks"]:
            problems.append(f"{where}[{n}]: a visit that does not include task {task_id}")
            continue
        seen[v.get("uscc")] = v.get("due")
        if selected.get(v.get("uscc")) != v.get("due"):
            problems.append(f"{where}[{n}]: {v.get('uscc')} due {v.get('due')} is not a selected target with that due date")
    missing = sorted(set(selected) - set(seen))
    if missing:
        problems.append(f"{where}: selected targets without a visit: {', '.join(missing[:5])}")


def _check_ledger(ledger, draw_id: str, run_id, hashes: dict, count, public_sha: str, problems: list[str],  # noqa: ANN001
                  revealed_at=None, inputs_sha256=None, inputs_known: bool = False) -> None:  # noqa: ANN001
    w = "ledger"
    if not _keys(ledger, {"entry", "head"}, w, problems):
        return
    entry = ledger["entry"]
    if not _keys(entry, _ENTRY_KEYS, f"{w}.entry", problems):
        return
    if entry["kind"] != "draw.reveal":
        problems.append(f"{w}.entry.kind: {entry['kind']!r} is not draw.reveal")
    if entry["subject"] != draw_id:
        problems.append(f"{w}.entry.subject: {entry['subject']!r} is not the draw {draw_id!r}")
    if not _is_int(entry["seq"]) or entry["seq"] < 1:
        problems.append(f"{w}.entry.seq: not a positive integer")
    if not _is_hex64(entry["prev_hash"]):
        problems.append(f"{w}.entry.prev_hash: not 64 lowercase hex digits")
    at = _time(entry["recorded_at"], f"{w}.entry.recorded_at", problems)
    if at is not None and revealed_at is not None and at < revealed_at:
        problems.append(f"{w}.entry.recorded_at: before the seed's revealed_at")
    payload = entry["payload"]
    # a dbsj-assign/2 assignment binds its inputs snapshot too; an auditor record knows whether it has one
    # (the section's inputs_sha256), a public record does not, and takes the payload's word for it
    if inputs_known:
        with_inputs = inputs_sha256 is not None
    else:
        with_inputs = isinstance(payload, dict) and hashes.get("assignment_sha256") is not None \
            and bool(_PAYLOAD_ASSIGNMENT_KEYS & set(payload))
    expect = _PAYLOAD_KEYS | (_PAYLOAD_ASSIGNMENT_KEYS if with_inputs else set())
    if _keys(payload, expect, f"{w}.entry.payload", problems):
        if with_inputs:
            parts, bound = payload["assignment_inputs"], payload["assignment_inputs_sha256"]
            if not isinstance(parts, dict) or not all(_is_hex64(v) for v in parts.values()) \
                    or hashlib.sha256(canonical_json(parts).encode("utf-8")).hexdigest() != bound:
                problems.append(f"{w}.entry.payload.assignment_inputs: its parts do not hash to assignment_inputs_sha256")
            if inputs_sha256 is not None and bound != inputs_sha256:
                problems.append(f"{w}.entry.payload.assignment_inputs_sha256: not the assignment's inputs_sha256")
        if run_id is not None and payload["run_id"] != run_id:
            problems.append(f"{w}.entry.payload.run_id: not the committed run")
        for k, v in hashes.items():
            if payload[k] != v:
                problems.append(f"{w}.entry.payload.{k}: does not bind this record's {k.removesuffix('_sha256')}")
        if payload["public_sha256"] != public_sha:
            problems.append(f"{w}.entry.payload.public_sha256: does not bind this record's public form")
        if payload["selected"] != count:
            problems.append(f"{w}.entry.payload.selected: not the selection's count")
    try:
        digest = ledger_entry_hash(entry)
    except (KeyError, TypeError, AttributeError):
        problems.append(f"{w}.entry: cannot be hashed")
        return
    if digest != entry["hash"]:
        problems.append(f"{w}.entry.hash: the entry hashes to {digest[:16]}…, not to its hash")
    if ledger["head"] != entry["hash"]:
        problems.append(f"{w}.head: not the hash of the reveal's ledger entry")


def _check_against_pool(rec: dict, pool: dict, seal: bytes | None, value: str | None, problems: list[str]) -> None:
    com = rec["commitment"]
    committed = {e["stratum"]: e for e in com.get("strata", []) if isinstance(e, dict) and "stratum" in e}
    for s in sorted(set(pool) - set(committed)):
        problems.append(f"pool: stratum {s} is in the pool but not in the commitment")
    if seal is None:
        return
    salt = eligible_salt(seal)
    selected = {st.get("stratum"): st.get("selected") for st in (rec.get("selection") or {}).get("strata", [])
                if isinstance(st, dict)}
    task_id = (com.get("task") or {}).get("id", "")
    for label, e in committed.items():
        ids = pool.get(label, [])
        if len(ids) != e.get("eligible"):
            problems.append(f"pool: stratum {label}: {len(ids)} ids, {e.get('eligible')} committed")
        if stratum_digest(salt, ids) != e.get("digest"):
            problems.append(f"pool: stratum {label}: the ids do not hash to the committed digest")
        if value is None or not isinstance(e.get("k"), int):
            continue
        key = stratum_key(value, seal, task_id, label)
        chosen = bottom_k({i: ticket_v2(key, i) for i in ids}, e["k"])
        got = [(r.get("ticket"), r.get("id")) for r in (selected.get(label) or []) if isinstance(r, dict)]
        if chosen != got:
            first = next((j for j, (a, b) in enumerate(zip(chosen, got)) if a != b), min(len(chosen), len(got)))
            problems.append(f"selection: stratum {label} differs from the re-derivation at rank {first + 1} "
                            f"(re-derived {len(chosen)} rows, record has {len(got)})")


def _check_anchor(name: str, anchor: dict, public: dict, problems: list[str]) -> None:
    """A file published earlier: the public commitment or the public record."""
    form = anchor.get("form")
    if form == "public-commitment":
        p: list[str] = []
        if _keys(anchor, _PUBLIC_COMMITMENT_KEYS, f"anchor {name}", p) and anchor.get("format") != COMMITMENT_FORMAT:
            p.append(f"anchor {name}.format: not {COMMITMENT_FORMAT}")
        problems += p
        for k in sorted(_PUBLIC_COMMITMENT_KEYS - {"format", "form"}):
            if anchor.get(k) != public.get(k):
                problems.append(f"anchor {name}: {k} differs from the public commitment published before the seed")
    elif form == "public":
        for k in sorted(set(anchor) | set(public)):
            if anchor.get(k) != public.get(k):
                problems.append(f"anchor {name}: {k} differs from the public record published at the reveal")
    else:
        raise BadInput(f"anchor {name} is neither a public commitment (<task>.commit.json) nor a public record "
                       f"(<task>.public.json)")


def verify_data(record: dict, *, pool: dict | None = None, anchors: list | None = None,
                inspectors: dict | None = None) -> list[str]:
    """Every check of a v2 record (auditor or public form); returns the problems (empty when it verifies).

    :param pool: stratum → ids (:func:`load_pool`).
    :param anchors: ``(name, data)`` of files published earlier (public commitment, public record).

    :raises BadInput: the record is not a v2 draw record, or a given file cannot be used with it.
    """
    anchors = anchors or []
    problems: list[str] = []
    fmt, form = record.get("format"), record.get("form")
    if fmt != RECORD_FORMAT:
        raise BadInput(f"not a {RECORD_FORMAT} record (format {fmt!r})")
    if form == "public-commitment":
        raise BadInput("this is a public commitment (<task>.commit.json); give the record as RECORD and the "
                       "commitment as --anchor")
    if form == "auditor":
        if not _keys(record, _AUDITOR_KEYS, "record", problems):
            return problems
        com = record["commitment"]
        _check_commitment(com, problems)
        if not isinstance(com, dict) or not _COMMITMENT_KEYS <= set(com):
            return problems
        if record["draw_id"] != com["draw_id"]:
            problems.append("draw_id: not the commitment's draw")
        if record["commitment_sha256"] != _h(com):
            problems.append("commitment_sha256: does not match the commitment section")
        seal = None
        if isinstance(record["seal"], str) and len(record["seal"]) == 64:
            try:
                seal = bytes.fromhex(record["seal"])
            except ValueError:
                seal = None
        if seal is None or seal.hex() != record["seal"]:
            problems.append("seal: not 64 lowercase hex digits")
            seal = None
        elif sha256_hex(seal) != com["seal_sha256"]:
            problems.append("seal: does not hash to the committed seal_sha256")
            seal = None
        committed_at = _time(com["committed_at"], "commitment.committed_at", [])
        value = _check_seed(record["seed"], com["seed_protocol"], committed_at, "seed", problems, record)
        if record["seed_sha256"] != _h(record["seed"]):
            problems.append("seed_sha256: does not match the seed section")
        _check_selection(record, seal, value, problems)
        if record["selection_sha256"] != _h(record["selection"]):
            problems.append("selection_sha256: does not match the selection section")
        asg = record["assignment"]
        if (asg is None) != (record["assignment_sha256"] is None) or \
                (asg is not None and record["assignment_sha256"] != _h(asg)):
            problems.append("assignment_sha256: does not match the assignment section")
        sel_rows = {r.get("id"): r.get("due") for st in (record["selection"] or {}).get("strata", [])
                    if isinstance(st, dict) for r in st.get("selected", []) if isinstance(r, dict)}
        if asg is not None:
            if not isinstance(asg, dict):
                problems.append("assignment: expected an object or null")
            else:
                _check_visits(asg.get("visits"), sel_rows, (com.get("task") or {}).get("id"), "assignment.visits",
                              problems)
        try:
            public = public_body(record)
            public_sha = _h(public)
        except (KeyError, TypeError, AttributeError):
            public, public_sha = {}, None
            problems.append("record: its public form cannot be built")
        revealed = _time((record["seed"] or {}).get("revealed_at"), "seed.revealed_at", []) \
            if isinstance(record["seed"], dict) else None
        _check_ledger(record["ledger"], record["draw_id"], com["run_id"],
                      {"commitment_sha256": record["commitment_sha256"], "seed_sha256": record["seed_sha256"],
                       "selection_sha256": record["selection_sha256"], "assignment_sha256": record["assignment_sha256"]},
                      (record["selection"] or {}).get("count") if isinstance(record["selection"], dict) else None,
                      public_sha, problems, revealed,
                      (record["assignment"] or {}).get("inputs_sha256") if isinstance(record["assignment"], dict) else None,
                      inputs_known=True)
        if pool is not None:
            _check_against_pool(record, pool, seal, value, problems)
        if inspectors is not None:
            problems += _assignment_check(record, inspectors)
        public_full = {**public, "ledger": record["ledger"]}
        for name, a in anchors:
            _check_anchor(name, a, public_full, problems)
        return problems
    if form == "public":
        return _verify_public(record, pool, anchors, inspectors)
    raise BadInput(f"unknown record form {form!r} (expected auditor or public)")


def _verify_public(record: dict, pool: dict | None, anchors: list, inspectors: dict | None) -> list[str]:
    problems: list[str] = []
    confidential = record.get("confidential")
    keys = _PUBLIC_KEYS | ({"seal", "commitment"} if confidential is False else set())
    if not _keys(record, keys, "record", problems):
        return problems
    if confidential is not True and confidential is not False:
        problems.append("confidential: not true or false")
        return problems
    if confidential and (pool is not None or inspectors is not None):
        raise BadInput("this public record is of a confidential task: it carries no seal, so its selection can only "
                       "be re-derived from the auditor record <task>.draw.json (auditors receive it with the seal "
                       "and the pool export)")
    if record["algorithm"] != ALGORITHM:
        problems.append(f"algorithm: {record['algorithm']!r} is not {ALGORITHM} (the algorithm of {RECORD_FORMAT})")
    _check_plan_task(record["plan"], record["task"], "record", problems)
    task = record["task"] if isinstance(record["task"], dict) else {}
    plan = record["plan"] if isinstance(record["plan"], dict) else {}
    if not str(record["draw_id"]).startswith(f"{plan.get('id')}/{task.get('id')}/"):
        problems.append("draw_id: not <plan>/<task>/<attempt>")
    for k in ("commitment_sha256", "eligible_root", "seal_sha256"):
        if not _is_hex64(record[k]):
            problems.append(f"{k}: not 64 lowercase hex digits")
    committed_at = _time(record["committed_at"], "committed_at", problems)
    _check_protocol(record["seed_protocol"], committed_at, "seed_protocol", problems)
    value = _check_seed(record["seed"], record["seed_protocol"], committed_at, "seed", problems, record)
    if record["seed_sha256"] != _h(record["seed"]):
        problems.append("seed_sha256: does not match the seed section")
    selected = record["selected"]
    batches = {b.get("name"): b.get("deadline") for b in task.get("batches", []) if isinstance(b, dict)}
    dues: dict = {}
    if not isinstance(selected, list):
        problems.append("selected: a list expected")
        selected = []
    for n, r in enumerate(selected):
        if not _keys(r, {"id", "batch", "due"}, f"selected[{n}]", problems):
            continue
        if batches.get(r["batch"], object()) != r["due"]:
            problems.append(f"selected[{n}]: batch {r['batch']!r} and due {r['due']!r} are not a committed batch")
        dues[r["id"]] = r["due"]
    ids = [r.get("id") for r in selected if isinstance(r, dict)]
    if ids != sorted(ids, key=lambda i: str(i).encode("utf-8")) or len(set(ids)) != len(ids):
        problems.append("selected: ids must be distinct and in ascending byte order")
    if record["count"] != len(selected):
        problems.append(f"count: {record['count']!r}, but {len(selected)} ids are listed")
    if (record["visits"] is None) != (record["assignment_sha256"] is None):
        problems.append("visits: present exactly when the record has an assignment")
    _check_visits(record["visits"], dues, task.get("id"), "visits", problems)
    rederived_sel = None
    if not confidential:
        com = record["commitment"]
        sub: list[str] = []
        _check_commitment(com, sub)
        problems += sub
        if isinstance(com, dict) and _COMMITMENT_KEYS <= set(com):
            if _h(com) != record["commitment_sha256"]:
                problems.append("commitment_sha256: does not match the commitment")
            derived = public_commitment(com)
            for k in ("draw_id", "algorithm", "plan", "task", "eligible_root", "seal_sha256", "seed_protocol",
                      "committed_at", "confidential"):
                if derived[k] != record[k]:
                    problems.append(f"{k}: differs from the commitment")
            seal = None
            try:
                seal = bytes.fromhex(record["seal"]) if isinstance(record["seal"], str) else None
            except ValueError:
                pass
            if seal is None or len(seal) != 32 or sha256_hex(seal) != com["seal_sha256"]:
                problems.append("seal: does not hash to the committed seal_sha256")
                seal = None
            if pool is not None and seal is not None and value is not None and not sub:
                rederived_sel = _rederive(com, pool, seal, value, problems)
                if rederived_sel is not None:
                    if _h(rederived_sel) != record["selection_sha256"]:
                        problems.append("selection_sha256: the re-derived selection does not hash to it")
                    rows = sorted(({"id": r["id"], "batch": r["batch"], "due": r["due"]}
                                   for st in rederived_sel["strata"] for r in st["selected"]),
                                  key=lambda r: r["id"].encode("utf-8"))
                    if rows != selected:
                        problems.append("selected: differs from the selection re-derived from the pool")
    body = {k: v for k, v in record.items() if k != "ledger"}
    revealed = _time((record["seed"] or {}).get("revealed_at"), "seed.revealed_at", []) \
        if isinstance(record["seed"], dict) else None
    _check_ledger(record["ledger"], record["draw_id"], None,
                  {"commitment_sha256": record["commitment_sha256"], "seed_sha256": record["seed_sha256"],
                   "selection_sha256": record["selection_sha256"], "assignment_sha256": record["assignment_sha256"]},
                  record["count"], _h(body), problems, revealed)
    if inspectors is not None:
        problems += _assignment_check(record, inspectors)
    for name, a in anchors:
        _check_anchor(name, a, record, problems)
    return problems


def _rederive(com: dict, pool: dict, seal: bytes, value: str, problems: list[str]) -> dict | None:
    """The selection section re-derived from a pool export (v2), after checking counts and digests."""
    salt = eligible_salt(seal)
    task = com["task"]
    strata = []
    for s in sorted(set(pool) - {e["stratum"] for e in com["strata"]}):
        problems.append(f"pool: stratum {s} is in the pool but not in the commitment")
    chosen_all: list[tuple[str, str, str, int]] = []
    for e in com["strata"]:
        ids = pool.get(e["stratum"], [])
        if len(ids) != e["eligible"]:
            problems.append(f"pool: stratum {e['stratum']}: {len(ids)} ids, {e['eligible']} committed")
        if stratum_digest(salt, ids) != e["digest"]:
            problems.append(f"pool: stratum {e['stratum']}: the ids do not hash to the committed digest")
        key = stratum_key(value, seal, task["id"], e["stratum"])
        chosen = bottom_k({i: ticket_v2(key, i) for i in ids}, e["k"])
        chosen_all += [(e["stratum"], i, t, r) for r, (t, i) in enumerate(chosen, start=1)]
    shares = [b["share"] for b in task["batches"]]
    batch_of = batch_assignment([c[1] for c in chosen_all], shares, batch_key(value, seal, task["id"]))
    by = {}
    for s, i, t, r in chosen_all:
        b = task["batches"][batch_of[i]]
        by.setdefault(s, []).append({"rank": r, "id": i, "ticket": t, "batch": b["name"], "due": b["deadline"]})
    for e in com["strata"]:
        strata.append({"stratum": e["stratum"], "eligible": e["eligible"], "k": e["k"],
                       "selected": by.get(e["stratum"], [])})
    return {"algorithm": com["algorithm"], "task_id": task["id"], "count": len(chosen_all), "strata": strata}


def _assignment_check(record: dict, inspectors: dict) -> list[str]:
    check = globals().get("verify_assignment")
    if check is None:
        raise BadInput("this verifier does not re-derive assignments yet; run it without INSPECTORS")
    return list(check(record, inspectors))


# -- version 1 records ---------------------------------------------------------------------------------


def _verify_v1(record: dict, pool: dict[str, list[str]], problems: list[str]) -> list[str]:
    commitment = record.get("commitment") or {}
    if record.get("commitment_sha256") != _h(commitment):
        problems.append("commitment: commitment_sha256 does not match the commitment section")
    algorithm = commitment.get("algorithm")
    if algorithm != ALGORITHM_V1:
        return problems + [f"commitment.algorithm: {algorithm!r} is not {ALGORITHM_V1} (the algorithm of "
                           f"{RECORD_FORMAT_V1})"]
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
        ids = pool.get(stratum, [])
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
        chosen = sorted((ticket(seed, task_id, stratum, i), i) for i in ids)[:k]
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


# -- files and command line ------------------------------------------------------------------------------


def verify_files(record_path: str, pool_path: str | None = None, inspectors_path: str | None = None,
                 anchor_paths: list[str] | tuple[str, ...] = ()) -> list[str]:
    """Verify a record file with an optional pool export, inspector export and anchors; return the problems.

    :raises BadInput: a file cannot be read or is not of the kind needed.
    """
    record = _load_json(record_path)
    pool, problems = (load_pool(pool_path) if pool_path else (None, []))
    if record.get("format") == RECORD_FORMAT_V1:
        if record.get("form") != "auditor":
            raise BadInput("a dbsj-draw-record/1 public record has no tickets; verify the auditor form (.draw.json)")
        if pool is None:
            raise BadInput("a dbsj-draw-record/1 record is verified with its pool export: RECORD POOL.csv")
        if anchor_paths or inspectors_path:
            raise BadInput("anchors and inspector exports apply to dbsj-draw-record/2 records")
        return _verify_v1(record, pool, problems)
    if record.get("format") == COMMITMENT_FORMAT:
        raise BadInput("this is a public commitment (<task>.commit.json); give the record as RECORD and the "
                       "commitment as --anchor")
    anchors = [(p, _load_json(p)) for p in anchor_paths]
    inspectors = None
    if inspectors_path:
        inspectors = load_inspector_export(inspectors_path)
    return problems + verify_data(record, pool=pool, anchors=anchors, inspectors=inspectors)


_USAGE = "usage: python -S verifier.py RECORD [POOL.csv [INSPECTORS]] [--anchor FILE]..."


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    positional, anchors = [], []
    while args:
        a = args.pop(0)
        if a == "--anchor":
            if not args:
                print(_USAGE, file=sys.stderr)
                return 2
            anchors.append(args.pop(0))
        elif a.startswith("--anchor="):
            anchors.append(a.split("=", 1)[1])
        elif a in ("-h", "--help"):
            print(_USAGE)
            return 0
        elif a.startswith("--"):
            print(f"unknown option {a}\n{_USAGE}", file=sys.stderr)
            return 2
        else:
            positional.append(a)
    if not 1 <= len(positional) <= 3:
        print(_USAGE, file=sys.stderr)
        return 2
    record, pool, inspectors = (positional + [None, None])[:3]
    try:
        problems = verify_files(record, pool, inspectors, anchors)
    except BadInput as exc:
        print(f"cannot verify / 无法复核: {exc}", file=sys.stderr)
        return 2
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        print(f"cannot read input / 无法读取输入: {exc!r}", file=sys.stderr)
        return 2
    if problems:
        print("NOT VERIFIED / 验证未通过")
        for p in problems:
            print(f"  - {p}")
        return 1
    what = ("the record and the pool" if pool else "the record") + (" and the inspector export" if inspectors else "")
    print(f"VERIFIED / 验证通过: {what}" + (f" and {len(anchors)} anchor(s)" if anchors else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
