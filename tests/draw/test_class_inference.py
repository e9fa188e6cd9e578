"""An outsider attacks the public files of a credit-stratified draw to learn firms' credit classes.

A synthetic province of 200 000 firms in four prefectures, classes A–D distributed differently per
prefecture; the task draws A 1 %, B 3 %, C 10 %, D 30 % per class and prefecture (about 9 900 firms) in
two batches. The attacker holds the public record and the public commitment, and knows the plan's ratios
and that a USCC's digits 3–8 are its region. The yardstick is the **baseline**: the best guess that uses
only the published selected list and the ratios — a fixed class per prefecture, chosen with hindsight
(an oracle, so the yardstick is generous to the attacker).

Attacks (each a fixed rule or, for the batch attack, the best of all rules with hindsight):

1. *Tickets under each candidate label* — what broke v1: compute a firm's ticket under
   ``credit_class=X|region=R`` for every X and keep the rarest class whose ticket falls under its ratio.
   On v2 files the seal is unknown; the attacker tries the v1 formula and the v2 formula with a guessed
   (all-zero) seal.
2. *Batches and due dates* — the best map (prefecture, batch) → class, with hindsight.

Bounds, with false-positive probability at most 10⁻⁹ each (the outcome is fixed by the fixed seed and
seal, so the test is deterministic; the bound says how unlikely a failure of a correct implementation is):

- attack 1 on v2: its guesses are independent of the classes (SHA-256 under a key the attacker lacks), so
  its expected accuracy is at most the baseline; Hoeffding for n independent indicators gives
  ``accuracy ≤ baseline + sqrt(ln(10⁹) / 2n)``;
- attack 2 on v2: the batch of a selected firm is its place in an order by SHA-256(B ‖ id) with a
  stratum-free key, i.e. the first batch is a uniformly random subset of the selection of fixed size m; for
  any fixed rule the expected accuracy is at most the baseline, Hoeffding's bound for sampling without
  replacement (values in [−1, 1]) gives ``exp(−s²/2m)``, and a union over the 4^(2·4) rules gives
  ``accuracy ≤ baseline + sqrt(2m · ln(4⁸ · 10⁹)) / n``.

The same attack 1 on v1 files recovers most classes — the test has teeth.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections import Counter
from pathlib import Path

import pytest

import dbsj
from dbsj.verifier import stratum_key, ticket, ticket_v2
from pooldata import TEST_OVERRIDE

RATIOS = {"A": 0.01, "B": 0.03, "C": 0.10, "D": 0.30}
PREFECTURES = ("650100", "650200", "652300", "653100")
# class shares per prefecture (percent): the baseline can already use the prefecture
SHARES = {"650100": (50, 30, 15, 5), "650200": (35, 35, 20, 10), "652300": (30, 30, 30, 10), "653100": (20, 30, 35, 15)}
N = 200_000
ALPHA = 1e-9


@pytest.fixture(autouse=True)
def _no_department_plugins(monkeypatch):
    monkeypatch.setenv("DBSJ_DISABLE_PLUGINS", "xinjiang")
    dbsj.reset_plugin_manager(None)


def _plan() -> dbsj.Plan:
    return dbsj.Plan.model_validate({
        "id": "PROV", "year": 2023, "authority": "某省市场监督管理局", "title": "t",
        "tasks": [{"id": "T1", "name": "年报公示信息抽查", "sponsor": "市场监管", "items": ["SC-A07"], "start": "2023-07-01",
                   "sampling": {"strata": ["credit_class", "region"],
                                "by_class": {c: {"min": r} for c, r in RATIOS.items()}},
                   "batches": [{"name": "第一批", "deadline": "2023-07-20"}, {"name": "第二批", "deadline": "2023-10-15"}]}]})


def _province(store: dbsj.Store) -> dict[str, str]:
    store.execute("INSERT INTO items (code, name, department, category) VALUES ('SC-A07', '公示信息抽查', '市场监管', 'general')")
    cases = []
    for n, p in enumerate(PREFECTURES):
        a, b, c, _d = SHARES[p]
        cases.append(f"WHEN p = {n} THEN CASE WHEN u < {a} THEN 'A' WHEN u < {a + b} THEN 'B' "
                     f"WHEN u < {a + b + c} THEN 'C' ELSE 'D' END")
    regions = "[" + ", ".join(f"'{p[:4]}02'" for p in PREFECTURES) + "]"
    store.execute(f"""
        INSERT INTO targets (uscc, name, entity_kind, status, region, credit_class)
        SELECT '91' || {regions}[p + 1] || 'MA' || lpad(i::VARCHAR, 8, '0'), 'x', '企业', '存续', {regions}[p + 1],
               CASE {' '.join(cases)} END
        FROM (SELECT i, i % 4 AS p, (i * 2654435761) % 1000003 % 100 AS u FROM range({N}) t(i))""")
    return dict(store.execute("SELECT uscc, credit_class FROM targets").fetchall())


def _seals(draw_id: str) -> bytes:
    return hashlib.sha256(b"class-inference|" + draw_id.encode()).digest()


def _prefecture(uscc: str) -> str:
    return uscc[2:6] + "00"


def _ticket_attack(ids: list[str], seed: str, task: str, ticket_of) -> dict[str, str]:  # noqa: ANN001
    """Keep the rarest class whose ticket under that class's label falls under the class's ratio."""
    guess = {}
    for i in ids:
        label = lambda c: f"credit_class={c}|region={_prefecture(i)}"  # noqa: E731
        fits = [c for c in sorted(RATIOS, key=RATIOS.get) if int(ticket_of(seed, task, label(c), i)[:16], 16) / 16**16 < RATIOS[c]]
        guess[i] = fits[0] if fits else "D"
    return guess


def _accuracy(guess: dict[str, str], truth: dict[str, str]) -> float:
    return sum(guess[i] == truth[i] for i in guess) / len(guess)


def _oracle(features: dict[str, tuple], truth: dict[str, str]) -> float:
    """The accuracy of the best map feature → class, chosen with hindsight."""
    cells: dict[tuple, Counter] = {}
    for i, f in features.items():
        cells.setdefault(f, Counter())[truth[i]] += 1
    return sum(c.most_common(1)[0][1] for c in cells.values()) / len(features)


@pytest.fixture(scope="module")
def drawn(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("classes")
    out = {}
    truth = None
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DBSJ_DISABLE_PLUGINS", "xinjiang")
        dbsj.reset_plugin_manager(None)
        for alg in (dbsj.DRAW_ALGORITHM, dbsj.DRAW_ALGORITHM_V1):
            with dbsj.Store(":memory:") as store:
                truth = _province(store)
                folder = tmp / alg.rsplit("/", 1)[1]
                dbsj.draw_plan(store, _plan(), seed=dbsj.DiceSeed("31415926535897932384"), out_dir=folder,
                               options=dbsj.DrawOptions(assign=False, algorithm=alg, repeat_window_days=0), _seals=_seals, override_check=TEST_OVERRIDE)
                out[alg] = folder
    dbsj.reset_plugin_manager(None)
    return out, truth


def test_v1_public_files_give_the_classes_away(drawn):
    out, truth = drawn
    pub = json.loads((out[dbsj.DRAW_ALGORITHM_V1] / "T1.public.json").read_text(encoding="utf-8"))
    ids = pub["selected"]
    baseline = _oracle({i: (_prefecture(i),) for i in ids}, truth)
    attack = _accuracy(_ticket_attack(ids, pub["seed"]["value"], pub["task"]["id"], ticket), truth)
    assert len(ids) > 9000
    assert attack > 0.85 and attack > baseline + 0.3, (attack, baseline)


def test_v2_public_files_give_nothing_beyond_the_list_and_the_ratios(drawn):
    out, truth = drawn
    folder = out[dbsj.DRAW_ALGORITHM]
    pub = json.loads((folder / "T1.public.json").read_text(encoding="utf-8"))
    commit = json.loads((folder / "T1.commit.json").read_text(encoding="utf-8"))
    assert pub["confidential"] is True and "seal" not in pub
    texts = (folder / "T1.public.json").read_text(encoding="utf-8") + (folder / "T1.commit.json").read_text(encoding="utf-8")
    assert "credit_class" not in texts and "stratum" not in texts and "eligible\"" not in texts
    assert set(commit) == {"format", "form", "draw_id", "algorithm", "plan", "task", "commitment_sha256", "eligible_root",
                           "seal_sha256", "seed_protocol", "committed_at", "confidential"}
    rows = pub["selected"]
    ids = [r["id"] for r in rows]
    n = len(ids)
    assert n == pub["count"] > 9000
    baseline = _oracle({i: (_prefecture(i),) for i in ids}, truth)
    seed, task = pub["seed"]["value"], pub["task"]["id"]

    # 1. candidate tickets: the v1 formula, and v2 with a guessed seal
    bound1 = baseline + math.sqrt(math.log(1 / ALPHA) / (2 * n))
    zero = b"\x00" * 32

    def v2_zero(seed_, task_, label, i):  # noqa: ANN001, ANN202
        return ticket_v2(stratum_key(seed_, zero, task_, label), i)

    for ticket_of in (ticket, v2_zero):
        acc = _accuracy(_ticket_attack(ids, seed, task, ticket_of), truth)
        assert acc <= bound1, (ticket_of, acc, baseline, bound1)

    # 2. batches and due dates: the best (prefecture, batch) → class map with hindsight
    batch = {r["id"]: (r["batch"], r["due"]) for r in rows}
    assert len(set(batch.values())) == 2
    m = max(Counter(batch.values()).values())
    bound2 = baseline + math.sqrt(2 * m * math.log(4 ** (2 * len(PREFECTURES)) / ALPHA)) / n
    acc2 = _oracle({i: (_prefecture(i), batch[i]) for i in ids}, truth)
    assert acc2 <= bound2, (acc2, baseline, bound2)

    # the same attacks on the auditor's view would succeed: the test is about the public files only
    rec = json.loads((folder / "T1.draw.json").read_text(encoding="utf-8"))
    seal = bytes.fromhex(rec["seal"])

    def v2_sealed(seed_, task_, label, i):  # noqa: ANN001, ANN202
        return ticket_v2(stratum_key(seed_, seal, task_, label), i)

    assert _accuracy(_ticket_attack(ids, seed, task, v2_sealed), truth) > 0.85
