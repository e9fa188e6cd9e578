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
from fractions import Fraction

__all__ = [
    "ALGORITHM", "ALGORITHM_V1", "RECORD_FORMAT", "RECORD_FORMAT_V1", "COMMITMENT_FORMAT", "DRAND_CHAIN_PARAMS",
    "encode_field", "field", "ticket_message", "ticket", "set_digest", "sample_size", "batch_cuts", "shares_seed",
    "beacon_consistent", "bottom_k", "seed_value", "canonical_json", "sha256_hex", "stratum_key", "ticket_v2",
    "batch_key", "eligible_salt", "stratum_digest", "eligible_root", "batch_assignment", "public_body",
    "public_visits", "ledger_entry_hash", "confidential_use", "NOTE_SHORT", "NOTE_ABOVE_CAP", "BadInput",
    "load_pool", "verify_data", "verify_files", "main",
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
    return [{"visit_id": v["visit_id"], "uscc": v["uscc"], "due": v["due"], "tasks": list(v["tasks"]),
             "departments": [m["department"] for m in v.get("team", [])]} for v in assignment.get("visits", [])]


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


def _check_commitment(com, problems: list[str]) -> None:  # noqa: ANN001
    w = "commitment"
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
    if not isinstance(ex, dict) or not set(ex) <= set(_EXCLUSION_REASONS) or \
            not all(_is_int(v) and v > 0 for v in ex.values()) or list(ex) != [r for r in _EXCLUSION_REASONS if r in ex]:
        problems.append(f"{w}.exclusions: reason → positive count, in the spec's order of reasons")


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
                  revealed_at=None) -> None:  # noqa: ANN001
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
    if _keys(payload, _PAYLOAD_KEYS, f"{w}.entry.payload", problems):
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
                      public_sha, problems, revealed)
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
        loader = globals().get("load_inspector_export")
        if loader is None:
            raise BadInput("this verifier does not re-derive assignments yet; run it without INSPECTORS")
        inspectors = loader(inspectors_path)
    return problems + verify_data(record, pool=pool, anchors=anchors, inspectors=inspectors)


# -- assignment re-derivation -------------------------------------------------------------------------
# verify_assignment(record, inspectors) -> list[str] and load_inspector_export(path) -> dict are defined
# here with the assignment (docs/assignment.md); main() uses them when an INSPECTORS export is given.
# -- end of assignment re-derivation -------------------------------------------------------------------


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
    what = "the record and the pool" if pool else "the record"
    print(f"VERIFIED / 验证通过: {what}" + (f" and {len(anchors)} anchor(s)" if anchors else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
