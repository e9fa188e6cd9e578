"""Standalone verifier of dbsj draw records — Python standard library only.

Usage::

    python -S verifier.py RECORD.draw.json POOL.csv

``RECORD`` is a draw record (``dbsj draw`` writes ``<task>.draw.json``); ``POOL.csv`` is the eligible pool
that draw used (``dbsj pool export --record RECORD --out POOL.csv``: columns ``id,stratum``).
The verifier re-derives, from these two files alone and following docs/draw-spec.md:

1. the commitment hash (canonical JSON of the ``commitment`` section);
2. every stratum's eligible count and order-independent digest, against the commitment;
3. every stratum's sample size from its committed quota (the rounding rule);
4. the seed value from the ``seed`` section (beacon consistency, departments' shares against their commitments);
5. every ticket and the selection (the k smallest tickets per stratum, ties by id), rank, batch and due date.

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


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        print("usage: python -S verifier.py RECORD.draw.json POOL.csv", file=sys.stderr)
        return 2
    try:
        problems = verify_files(args[0], args[1])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        print(f"cannot read input: {exc}", file=sys.stderr)
        return 2
    if problems:
        print("NOT VERIFIED / 验证未通过")
        for p in problems:
            print(f"  - {p}")
        return 1
    print("VERIFIED / 验证通过: the selection re-derives from the record and the pool")
    return 0


if __name__ == "__main__":
    sys.exit(main())
