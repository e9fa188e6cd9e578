"""Tickets, encodings, sample sizes, seeds and the consistent-sampler compatibility algorithm."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
from fractions import Fraction
from pathlib import Path

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import dbsj
from dbsj.draw.consistent import first_fraction, sha256_uniform, trim
from dbsj.draw.seeds import beacon_round_time
from dbsj.draw.tickets import ticket_sql
from dbsj.verifier import batch_cuts, shares_seed, ticket_message

VECTORS = Path("/work/shared/vectors")


def test_ticket_bytes_are_the_documented_netstring_encoding():
    msg = ticket_message("31415", "T-1", "credit_class=A|region=650100", "91650100MA0000016C")
    assert msg == (b"21:dbsj-sha256-bottomk/15:314153:T-128:credit_class=A|region=65010018:91650100MA0000016C")
    assert dbsj.ticket("31415", "T-1", "credit_class=A|region=650100", "91650100MA0000016C") == hashlib.sha256(msg).hexdigest()


def test_lengths_count_utf8_bytes_not_characters():
    assert ticket_message("种", "任务", "", "新") == b"21:dbsj-sha256-bottomk/13:\xe7\xa7\x8d6:" + "任务".encode() + b"0:3:" + "新".encode()


_text = st.text(alphabet=st.sampled_from(list("ab:|=1 \\") + ["新", "疆", "é", "\u0301", "\x00"]), max_size=6)


@settings(max_examples=150)
@given(a=st.tuples(_text, _text, _text, _text), b=st.tuples(_text, _text, _text, _text))
def test_encoding_is_unambiguous(a, b):
    """Different (seed, task, stratum, id) tuples — separators, Unicode, NULs included — never share bytes."""
    if a != b:
        assert ticket_message(*a) != ticket_message(*b)


_CON = duckdb.connect()


@settings(max_examples=60)
@given(seed=_text.filter(bool), task=_text, stratum=_text, ident=_text.filter(bool))
def test_sql_ticket_equals_reference_ticket(seed, task, stratum, ident):
    got = _CON.execute(f"SELECT {ticket_sql(seed, task, 's', 'i')} FROM (SELECT ?::VARCHAR AS s, ?::VARCHAR AS i)",
                       [stratum, ident]).fetchall()[0][0]
    assert got == dbsj.ticket(seed, task, stratum, ident)


def test_hash_uniformity_over_fixed_seeds():
    """First hex digit of tickets over a fixed list of seeds: chi-square test at alpha = 1e-9 (15 df)."""
    counts = [0] * 16
    ids = [f"9165010{i:011d}" for i in range(2000)]
    for s in range(10):
        for i in ids:
            counts[int(dbsj.ticket(f"seed-{s}", "T", "*", i)[0], 16)] += 1
    n = sum(counts)
    chi2 = sum((c - n / 16) ** 2 / (n / 16) for c in counts)
    # critical value of chi-square with 15 df at 1e-9 is about 75.9
    assert chi2 < 75.9, counts


@pytest.mark.parametrize("n, quota, mins, maxs, expect", [
    (100, {"min": "0.07"}, None, None, (7, 7)),          # exact: 0.07·100 = 7, though 0.07*100 in floats is 7.000000000000001
    (21, {"min": "0.05"}, None, None, (2, 2)),
    (100, {"max": "0.1"}, None, None, (10, 10)),
    (9, {"max": "0.1"}, None, None, (0, 0)),
    (9, {"max": "0.1"}, 1, None, (1, 1)),
    (3, {"count": 5}, None, None, (5, 3)),               # short stratum: all taken, asked recorded
    (1000, {"min": "0.3"}, None, 50, (50, 50)),
    (7, {"min": "0.05", "max": "0.2"}, None, None, (1, 1)),
])
def test_rounding_rule(n, quota, mins, maxs, expect):
    assert dbsj.sample_size(n, quota, mins, maxs) == expect


def test_batch_cuts_split_ranks_by_share():
    assert batch_cuts(5, [None, None]) == [3, 5]
    assert batch_cuts(10, ["0.3", "0.7"]) == [3, 10]
    assert batch_cuts(0, [None, None, None]) == [0, 0, 0]


def test_shares_seed_is_order_independent_and_documented():
    a = shares_seed({"市场监管": "x1", "卫生健康": "y2"})
    b = shares_seed({"卫生健康": "y2", "市场监管": "x1"})
    pairs = sorted([("市场监管", "x1"), ("卫生健康", "y2")], key=lambda p: p[0].encode())
    raw = b"".join(len(d.encode()).__str__().encode() + b":" + d.encode() + str(len(s)).encode() + b":" + s.encode()
                   for d, s in pairs)
    assert a == b == hashlib.sha256(raw).hexdigest()


# Vectors: README of github.com/mcdcam/python-drand-verify and drand public API output
# (see /work/shared/vectors/README.md).
def _drand():
    return json.loads((VECTORS / "drand_vectors.json").read_text())


def test_drand_vectors_randomness_is_sha256_of_signature():
    for v in _drand()["vectors"]:
        assert dbsj.draw.seeds.beacon_consistent(v["signature"], v["randomness"])
        bad = v["randomness"][:-1] + ("0" if v["randomness"][-1] != "0" else "1")
        assert not dbsj.draw.seeds.beacon_consistent(v["signature"], bad)


def test_drand_round_time_follows_genesis_and_period():
    d = _drand()
    t = beacon_round_time("mainnet", 3311596)
    assert int(t.timestamp()) == d["mainnet_genesis_time"] + (3311596 - 1) * d["mainnet_period_s"]
    assert t.date() == dt.date(2023, 9, 15)


# Vectors: github.com/ron-rivest/consistent_sampler @ 59f1485 (MIT, Ronald L. Rivest 2018), README,
# USAGE_EXAMPLES.md and doctests, collected in /work/shared/vectors/consistent_sampler_vectors.json.
def _rivest():
    return {v["call"]: v for v in json.loads((VECTORS / "consistent_sampler_vectors.json").read_text())["vectors"]}


def test_rivest_primitives_match_vectors():
    v = _rivest()
    assert sha256_uniform("abc") == v["sha256_uniform('abc')"]["expected"]
    assert first_fraction("AB-130", "01382438112797316654") == v["first_fraction('AB-130', '01382438112797316654')"]["expected"]
    heap = v["make_ticket_heap(['dog','cat','fish','goat'], 'xy()134!g2n') full ticket numbers"]["expected"]
    for ident, number in heap.items():
        assert first_fraction(ident, "xy()134!g2n") == number


def test_rivest_sampler_without_replacement_matches_vectors():
    v = _rivest()
    got = [r["id"] for r in dbsj.sample_ids(["A-1", "A-2", "A-3", "B-1", "B-2", "B-3"], seed="314159", take=4,
                                            algorithm="rivest-consistent-2018")]
    assert got == v["sampler(['A-1','A-2','A-3','B-1','B-2','B-3'], with_replacement=False, take=4, seed=314159, output='id')"]["expected"]
    for seed in ("31", "77"):
        got = [r["id"] for r in dbsj.sample_ids(list("abcd"), seed=seed, algorithm="rivest-consistent-2018")]
        assert got == v[f"sampler(['a','b','c','d'], seed={seed}, output='id')"]["expected"]
    rows = dbsj.sample_ids(list("abcde"), seed="52", algorithm="rivest-consistent-2018")
    expect = v["sampler(['a','b','c','d','e'], seed=52)"]["expected"]
    assert [[trim(r["ticket"]), r["id"], 1] for r in rows] == expect
    assert all(len(r["ticket"]) > 70 for r in rows)  # full precision printed


def test_native_sample_is_bottom_k_of_reference_tickets():
    ids = [f"id-{i}" for i in range(30)]
    rows = dbsj.sample_ids(ids, seed="s", take=5)
    ref = sorted((dbsj.ticket("s", "", "", i), i) for i in ids)[:5]
    assert [(r["ticket"], r["id"]) for r in rows] == ref


@pytest.mark.parametrize("ids, take", [(["a", "a"], 1), (["a", ""], 1), (["a", "  "], 1), (["a"], -1)])
def test_sample_rejects_bad_input(ids, take):
    with pytest.raises(dbsj.InputError):
        dbsj.sample_ids(ids, seed="s", take=take)


def test_sample_cli_json_prints_draw_order(capsys):
    from dbsj.cli import main

    assert main(["sample", "--seed", "314159", "--take", "4", "--algorithm", "rivest-consistent-2018", "--json",
                 "A-1", "A-2", "A-3", "B-1", "B-2", "B-3"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["id"] for r in rows] == ["B-2", "B-3", "A-3", "A-2"]
    assert set(rows[0]) == {"id", "ticket"}
    assert main(["sample", "--seed", "s", "a", "a"]) == 2


def test_fraction_rule_is_exact():
    # the reason ratios are recorded as decimal text: float products round up wrongly
    assert math.ceil(0.07 * 100) == 8 and math.ceil(Fraction("0.07") * 100) == 7


def test_stratum_digests_in_batches_equal_the_set_digest(store):
    from dbsj.draw.engine import stratum_digests

    ids = {f"s{j}": [f"91{j}{i:014d}" for i in range(40 + j)] for j in range(5)}
    for s, members in ids.items():
        store.execute("INSERT INTO draw_eligible SELECT 'd', ?, unnest(?::VARCHAR[])", [s, members])
    expect = [(s, len(m), dbsj.set_digest(m)) for s, m in sorted(ids.items())]
    assert stratum_digests(store.con, "d", batch_rows=50) == expect == stratum_digests(store.con, "d")


def test_streamed_section_hash_equals_canonical_hash():
    from dbsj.draw.records import section_sha256
    from dbsj.verifier import canonical_json

    section = {"task_id": "T", "count": 2, "algorithm": "a", "strata": [
        {"stratum": "credit_class=A", "selected": [{"id": "新1", "rank": 1, "ticket": "ab"}], "k": 1, "eligible": 3},
        {"stratum": "*", "selected": [], "k": 0, "eligible": 0}], "empty": {}, "none": None}
    assert section_sha256(section) == hashlib.sha256(canonical_json(section).encode()).hexdigest()
