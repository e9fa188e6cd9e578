"""dbsj-sha256-bottomk/2: sealed tickets in SQL and Python, salted digests, confidential tasks, seeds, v1 kept."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import dbsj
import drawdata as dd
from dbsj.cli import main
from dbsj.verifier import batch_key, eligible_salt, stratum_digest, stratum_key, ticket_v2
from pooldata import TEST_OVERRIDE

VERIFIER = Path(dbsj.__file__).parent / "verifier.py"
DICE = dbsj.DiceSeed("31415926535897932384", ("张三",))


@pytest.fixture(autouse=True)
def _no_department_plugins(monkeypatch):
    monkeypatch.setenv("DBSJ_DISABLE_PLUGINS", "xinjiang")
    dbsj.reset_plugin_manager(None)


@pytest.fixture
def filled(store):
    dd.populate(store)
    return store


def _rec(p: Path) -> dict:
    return json.loads(p.read_text(encoding="utf-8"))


def _verifier(*args):
    return subprocess.run([sys.executable, "-S", "-I", str(VERIFIER), *map(str, args)], capture_output=True, text=True)


_CON = duckdb.connect()
_ids = st.text(alphabet=st.sampled_from(list("9165ABXZ0\\x'\"") + ["新", "疆", "é"]), min_size=1, max_size=40)


@settings(max_examples=60)
@given(seed=st.text(min_size=1, max_size=12), stratum=st.text(max_size=20), ident=_ids, seal=st.binary(min_size=32, max_size=32))
def test_sql_ticket_equals_hashlib(seed, stratum, ident, seal):
    """sha256(key || encode(id)) in DuckDB = hashlib.sha256(K + UTF-8 id): ids with backslashes (which
    id::BLOB would read as escapes), quotes, non-ASCII and longer than one block (> 23 bytes) included."""
    key = stratum_key(seed, seal, "T", stratum)
    got = _CON.execute("SELECT sha256(?::BLOB || encode(?))", [key, ident]).fetchall()[0][0]
    assert got == ticket_v2(key, ident) == hashlib.sha256(key + ident.encode("utf-8")).hexdigest()


def test_one_block_bound_and_key_bytes():
    k = stratum_key("s", b"\x00" * 32, "T", "*")
    assert len(k) == 32
    msg = b"21:dbsj-sha256-bottomk/21:s32:" + b"\x00" * 32 + b"1:T1:*"
    assert k == hashlib.sha256(msg).digest()
    # K (32) + id + SHA-256 padding (9) fits one 64-byte block for ids up to 23 bytes
    assert 32 + len("91650100MA0000016C") + 9 <= 64 and 32 + 23 + 9 == 64


def test_salted_digest_changes_on_any_insert_delete_edit_and_ignores_order():
    salt = eligible_salt(b"\x07" * 32)
    ids = [dd.uscc(i) for i in range(50)]
    d = stratum_digest(salt, ids)
    assert d == stratum_digest(salt, list(reversed(ids)))
    assert d != stratum_digest(salt, ids + [dd.uscc(99)])
    assert d != stratum_digest(salt, ids[1:])
    assert d != stratum_digest(salt, [ids[0][:-1] + "X"] + ids[1:])
    assert d != stratum_digest(eligible_salt(b"\x08" * 32), ids), "the digest depends on the seal"


def _confidential_plan():
    return dd.plan({"id": "T1"},  # credit_class strata (by_class): confidential
                   {"id": "T3", "sampling": {"strata": ["region"], "quota": {"count": 2}}})  # region only: public


def test_confidential_task_publishes_no_class_and_no_seal(filled, tmp_path):
    run = dbsj.draw_plan(filled, _confidential_plan(), seed=DICE, out_dir=tmp_path, override_check=TEST_OVERRIDE)
    assert run.commitments["T1"]["confidential"] == {"task": True, "fields": ["credit_class"], "used": ["credit_class"]}
    assert run.commitments["T3"]["confidential"]["task"] is False
    rec = _rec(tmp_path / "T1.draw.json")
    for name in ("T1.public.json", "T1.commit.json"):
        text = (tmp_path / name).read_text(encoding="utf-8")
        assert "credit_class" not in text and "stratum" not in text and rec["seal"] not in text
        for st_ in rec["commitment"]["strata"]:
            assert st_["digest"] not in text
            for r in next(s for s in rec["selection"]["strata"] if s["stratum"] == st_["stratum"])["selected"]:
                assert r["ticket"] not in text
    pub = _rec(tmp_path / "T1.public.json")
    assert pub["confidential"] is True and "seal" not in pub and "commitment" not in pub
    assert all("staff_id" not in json.dumps(v) for v in pub["visits"])
    # the public record alone and with its anchor verifies; a pool with it is refused (needs the auditor record)
    assert _verifier(tmp_path / "T1.public.json", "--anchor", tmp_path / "T1.commit.json").returncode == 0
    pool = tmp_path / "pool.csv"
    dbsj.export_draw_pool(filled, tmp_path / "T1.draw.json", pool)
    res = _verifier(tmp_path / "T1.public.json", pool)
    assert res.returncode == 2 and "auditor record" in res.stderr
    res = _verifier(tmp_path / "T1.commit.json")
    assert res.returncode == 2 and "--anchor" in res.stderr
    assert _verifier(tmp_path / "T1.draw.json", pool, "--anchor", tmp_path / "T1.commit.json",
                     "--anchor", tmp_path / "T1.public.json").returncode == 0


def test_non_confidential_task_rederives_in_full_from_public_files(filled, tmp_path):
    dbsj.draw_plan(filled, _confidential_plan(), seed=DICE, out_dir=tmp_path, override_check=TEST_OVERRIDE)
    pub = _rec(tmp_path / "T3.public.json")
    assert pub["confidential"] is False and len(pub["seal"]) == 64 and pub["commitment"]["strata"]
    pool = tmp_path / "pool.csv"
    dbsj.export_draw_pool(filled, tmp_path / "T3.public.json", pool)
    ok = _verifier(tmp_path / "T3.public.json", pool, "--anchor", tmp_path / "T3.commit.json")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    lines = pool.read_text(encoding="utf-8-sig").splitlines()
    (tmp_path / "bad.csv").write_text("\ufeff" + "\n".join(lines[:1] + lines[2:]) + "\n", encoding="utf-8")
    assert _verifier(tmp_path / "T3.public.json", tmp_path / "bad.csv").returncode == 1
    # a swapped selected id in the public record is caught
    pub["selected"][0]["id"] = pub["selected"][1]["id"][:-1] + "0"
    (tmp_path / "T3.public.json").write_text(json.dumps(pub, ensure_ascii=False), encoding="utf-8")
    assert _verifier(tmp_path / "T3.public.json", pool).returncode == 1


def test_batches_do_not_follow_stratum_size(filled, tmp_path):
    """v1 put a 1-firm stratum always in batch 1 (its due date told the stratum's size); v2 orders the whole
    selection by a stratum-free key: over seeds, single-pick strata land in both batches."""
    p = dd.plan({"id": "T9", "sampling": {"strata": ["credit_class", "region"], "quota": {"count": 1}}})
    batches_v1, batches_v2 = set(), set()
    for n in range(6):
        seed = dbsj.DiceSeed(f"{n}1415926535897932384")
        for alg, into in (("dbsj-sha256-bottomk/1", batches_v1), ("dbsj-sha256-bottomk/2", batches_v2)):
            dbsj.draw_plan(filled, p, seed=seed, out_dir=tmp_path / f"{alg[-1]}{n}", options=dbsj.DrawOptions(
                algorithm=alg, assign=False), override_check=TEST_OVERRIDE)
            rec = _rec(tmp_path / f"{alg[-1]}{n}" / "T9.draw.json")
            into |= {r["batch"] for s in rec["selection"]["strata"] for r in s["selected"]}
    assert batches_v1 == {"第一批"}
    assert batches_v2 == {"第一批", "第二批"}


def test_reveal_with_another_seed_kind_is_refused(filled, tmp_path):
    dbsj.commit_draw(filled, _confidential_plan(), seed_kind="dice", override_check=TEST_OVERRIDE)
    v = json.loads(Path("/work/shared/vectors/drand_vectors.json").read_text())["vectors"][0]
    beacon = dbsj.BeaconSeed(round=v["round"], signature=v["signature"], randomness=v["randomness"])
    with pytest.raises(dbsj.SeedError) as err:
        dbsj.reveal_draw(filled, beacon, out_dir=tmp_path)
    assert err.value.where == "seed_protocol.kind" and err.value.exit_code == 2
    assert dbsj.Ledger(filled).entries("draw.reveal-rejected")[-1].payload["field"] == "seed_protocol.kind"
    dbsj.set_now("2023-06-02")
    try:
        assert dbsj.reveal_draw(filled, DICE, out_dir=tmp_path).status == "drawn"
    finally:
        dbsj.set_now(None)


def test_cli_reveal_of_wrong_kind_exits_2(tmp_path):
    db = tmp_path / "s.duckdb"
    with dbsj.Store(db) as s:
        dd.populate(s)
    plan_file = tmp_path / "plan.yaml"
    plan_file.write_text(json.dumps(_confidential_plan().model_dump(mode="json"), ensure_ascii=False), encoding="utf-8")
    assert main(["draw", "commit", "--db", str(db), "--plan", str(plan_file), "--seed-kind", "dice",
                 "--override-check", TEST_OVERRIDE]) == 0
    shares = tmp_path / "shares.json"
    shares.write_text(json.dumps({"市场监管": "x"}), encoding="utf-8")
    assert main(["draw", "reveal", "--db", str(db), "--shares", str(shares), "--out", str(tmp_path / "r")]) == 2


def test_v1_stays_drawable_and_verifiable_by_both_verifiers(filled, tmp_path):
    opts = dbsj.DrawOptions(algorithm=dbsj.DRAW_ALGORITHM_V1)
    dbsj.draw_plan(filled, _confidential_plan(), seed=DICE, out_dir=tmp_path, options=opts, override_check=TEST_OVERRIDE)
    rec = _rec(tmp_path / "T1.draw.json")
    assert rec["format"] == "dbsj-draw-record/1" and rec["commitment"]["algorithm"] == "dbsj-sha256-bottomk/1"
    assert dbsj.verify_record(filled, tmp_path / "T1.draw.json").ok
    pool = tmp_path / "pool.csv"
    dbsj.export_draw_pool(filled, tmp_path / "T1.draw.json", pool)
    assert _verifier(tmp_path / "T1.draw.json", pool).returncode == 0
    # a v1 record dressed up as v2 (or the reverse) is caught
    rec["format"] = "dbsj-draw-record/2"
    (tmp_path / "x.json").write_text(json.dumps(rec, ensure_ascii=False), encoding="utf-8")
    assert _verifier(tmp_path / "x.json", pool).returncode == 1
    dbsj.draw_plan(filled, _confidential_plan(), seed=DICE, out_dir=tmp_path / "v2", override_check=TEST_OVERRIDE)
    rec2 = _rec(tmp_path / "v2" / "T1.draw.json")
    rec2["commitment"]["algorithm"] = "dbsj-sha256-bottomk/1"
    (tmp_path / "y.json").write_text(json.dumps(rec2, ensure_ascii=False), encoding="utf-8")
    res = _verifier(tmp_path / "y.json")
    assert res.returncode == 1 and "commitment.algorithm" in res.stdout


def test_rule_pack_confidential_fields(filled, tmp_path):
    pack = tmp_path / "pack"
    pack.mkdir()
    (pack / "pack.yaml").write_text("id: local\nname: 本地\nextends: [national]\nconfidential_fields: [tags, salary]\n",
                                    encoding="utf-8")
    with pytest.raises(dbsj.RuleError) as err:
        dbsj.load_rules([pack])
    assert "pack.yaml:4" in err.value.render("en") and "salary" in err.value.render("en")
    (pack / "pack.yaml").write_text("id: local\nname: 本地\nextends: [national]\nconfidential_fields: [tags]\n",
                                    encoding="utf-8")
    assert dbsj.confidential_fields([str(pack)]) == ("credit_class", "tags")
    p = dd.plan({"id": "T4", "scope": {"tags": ["食品"]}, "sampling": {"strata": ["region"], "quota": {"count": 1}}})
    run = dbsj.draw_plan(filled, p, seed=DICE, out_dir=tmp_path / "o",
                         options=dbsj.DrawOptions(rule_dirs=(str(pack),)), override_check=TEST_OVERRIDE)
    assert run.commitments["T4"]["confidential"] == {"task": True, "fields": ["credit_class", "tags"], "used": ["tags"]}
    assert "seal" not in _rec(tmp_path / "o" / "T4.public.json")


def test_ids_with_control_characters_cannot_be_committed(filled, tmp_path):
    row = dd.targets(1, start=900)[0]
    dd.insert(filled, "targets", [{**row, "uscc": row["uscc"][:-1] + "\n"}])
    with pytest.raises(dbsj.DrawError, match="控制字符"):
        dbsj.draw_plan(filled, dd.plan({"id": "T1"}), seed="x", out_dir=tmp_path, override_check=TEST_OVERRIDE)
    assert filled.execute("SELECT count(*) FROM draw_eligible").fetchall() == [(0,)]


def test_task_id_that_cannot_name_a_file_is_refused_before_anything(filled, tmp_path):
    # the plan model refuses such ids already; a plan built without validation meets the draw's own check
    import pydantic

    for bad in ("x" * 120, "T\u202e1", ".hidden"):
        with pytest.raises((dbsj.InputError, pydantic.ValidationError)):
            dd.plan({"id": bad})
        good = dd.plan({"id": "T1"})
        p = good.model_copy(update={"tasks": (good.tasks[0].model_copy(update={"id": bad}),)})
        with pytest.raises(dbsj.InputError):
            dbsj.draw_plan(filled, p, seed="x", out_dir=tmp_path, override_check=TEST_OVERRIDE)
    with pytest.raises((dbsj.InputError, pydantic.ValidationError)):
        dd.plan({"id": "T/1"}, {"id": "T_1"})
    good = dd.plan({"id": "T1"}, {"id": "T2"})
    p = good.model_copy(update={"tasks": (good.tasks[0].model_copy(update={"id": "T/1"}),
                                          good.tasks[1].model_copy(update={"id": "T_1"}))})
    with pytest.raises(dbsj.InputError, match="same file name"):
        dbsj.set_language("en")
        dbsj.commit_draw(filled, p, seed_kind="dice", override_check=TEST_OVERRIDE)
    dbsj.set_language("zh")
    assert filled.execute("SELECT count(*) FROM ledger").fetchall() == [(0,)]
    assert list(tmp_path.iterdir()) == []


def test_batch_order_is_the_reference(filled, tmp_path):
    dbsj.draw_plan(filled, _confidential_plan(), seed=DICE, out_dir=tmp_path, _seals=dd.seals, override_check=TEST_OVERRIDE)
    rec = _rec(tmp_path / "T1.draw.json")
    seal = bytes.fromhex(rec["seal"])
    ids = [r["id"] for s in rec["selection"]["strata"] for r in s["selected"]]
    order = sorted(ids, key=lambda i: (hashlib.sha256(batch_key(rec["seed"]["value"], seal, "T1") + i.encode()).hexdigest(), i))
    from dbsj.verifier import batch_cuts

    cut = batch_cuts(len(ids), [None, None])[0]
    first = {r["id"] for s in rec["selection"]["strata"] for r in s["selected"] if r["batch"] == "第一批"}
    assert first == set(order[:cut])


def test_cli_verify_with_anchors(tmp_path, capsys):
    db = tmp_path / "s.duckdb"
    with dbsj.Store(db) as s:
        dd.populate(s)
        dbsj.draw_plan(s, _confidential_plan(), seed=DICE, out_dir=tmp_path / "rec", override_check=TEST_OVERRIDE)
    rec = tmp_path / "rec"
    assert main(["verify", str(rec / "T1.draw.json"), "--db", str(db), "--anchor", str(rec / "T1.commit.json"),
                 "--anchor", str(rec / "T1.public.json")]) == 0
    other = json.loads((rec / "T3.commit.json").read_text(encoding="utf-8"))
    (tmp_path / "wrong.json").write_text(json.dumps(other, ensure_ascii=False), encoding="utf-8")
    capsys.readouterr()
    assert main(["verify", str(rec / "T1.draw.json"), "--db", str(db), "--anchor", str(tmp_path / "wrong.json")]) == 1
    assert "anchor" in capsys.readouterr().out
    assert main(["verify", str(rec / "T1.commit.json"), "--db", str(db)]) == 2


def test_pool_export_neutralises_formula_cells_and_the_verifier_restores_them(filled, tmp_path):
    rows = dd.targets(6, start=700)
    dd.insert(filled, "targets", [{**r, "uscc": lead + r["uscc"]} for r, lead in zip(rows, ["=", "+", "-", "@", "'", ""])])
    p = dd.plan({"id": "T5", "sampling": {"strata": ["region"], "quota": {"min": 1.0}}})
    dbsj.draw_plan(filled, p, seed=DICE, out_dir=tmp_path, options=dbsj.DrawOptions(assign=False), override_check=TEST_OVERRIDE)
    pool = tmp_path / "pool.csv"
    dbsj.export_draw_pool(filled, tmp_path / "T5.draw.json", pool)
    text = pool.read_text(encoding="utf-8-sig")
    assert "\n'=" in text and "\n'+" in text and "\n''" in text and "\n=" not in text and "\r" not in text
    res = _verifier(tmp_path / "T5.draw.json", pool)
    assert res.returncode == 0, res.stdout + res.stderr
