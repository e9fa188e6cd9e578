"""Every single-field edit of a record is caught — plainly, and with every section hash recomputed — by the
standard-library verifier and by ``dbsj verify --db``.

The fields are enumerated from a real record, so a field added to the format (the assignment section's
included) joins this test by itself. Plain edits: the record's own hashes and its ledger entry catch them.
Edits with the section hashes, the ledger payload, the entry hash and the head recomputed: the stdlib
verifier catches them against the pool and the files published earlier (``--anchor``), ``dbsj verify``
against the store — and the fields the pool re-derives are caught by the pool alone.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

import dbsj
import drawdata as dd
from dbsj.verifier import BadInput, canonical_json, ledger_entry_hash, load_pool, public_body, sha256_hex, verify_data
from pooldata import TEST_OVERRIDE

DICE = dbsj.DiceSeed("31415926535897932384", ("张三",))


@pytest.fixture(autouse=True)
def _no_department_plugins(monkeypatch):
    monkeypatch.setenv("DBSJ_DISABLE_PLUGINS", "xinjiang")
    dbsj.reset_plugin_manager(None)


def _h(v: Any) -> str:
    return sha256_hex(canonical_json(v).encode("utf-8"))


def _leaves(value: Any, path: tuple = ()) -> list[tuple]:
    """Paths of every leaf; of long lists (selection rows, visits) the first and the last element."""
    if isinstance(value, dict):
        out = []
        for k in sorted(value):
            out += _leaves(value[k], path + (k,))
        return out or [path]
    if isinstance(value, list):
        if not value:
            return [path]
        picks = sorted({0, len(value) - 1}) if len(value) > 3 else range(len(value))
        out = []
        for i in picks:
            out += _leaves(value[i], path + (i,))
        return out
    return [path]


def _get(obj: Any, path: tuple) -> Any:
    for p in path:
        obj = obj[p]
    return obj


def _changed(v: Any) -> Any:
    if isinstance(v, bool):
        return not v
    if isinstance(v, int):
        return v + 1
    if isinstance(v, str):
        return (v[:-1] + ("0" if v[-1] != "0" else "1")) if v else "x"
    if v is None:
        return "x"
    if isinstance(v, list):
        return v + ["x"]
    return {"x": 1}


def _edit(rec: dict, path: tuple) -> dict:
    out = copy.deepcopy(rec)
    parent = _get(out, path[:-1]) if path else out
    parent[path[-1]] = _changed(parent[path[-1]])
    return out


_HASHES = {("commitment_sha256",), ("seed_sha256",), ("selection_sha256",), ("assignment_sha256",)}


def _recompute(rec: dict, edited: tuple) -> dict:
    """Recompute every section hash, the ledger payload, the entry hash and the head — except the edited field."""
    out = copy.deepcopy(rec)

    def keep(path: tuple) -> bool:
        return path == edited[:len(path)] or edited == path

    for key, section in (("commitment_sha256", "commitment"), ("seed_sha256", "seed"),
                         ("selection_sha256", "selection"), ("assignment_sha256", "assignment")):
        if key in out and not keep((key,)) and section in out:
            out[key] = None if out[section] is None and key == "assignment_sha256" else _h(out[section])
    entry = out["ledger"]["entry"]
    payload = entry["payload"]
    for key in ("commitment_sha256", "seed_sha256", "selection_sha256", "assignment_sha256"):
        if not keep(("ledger", "entry", "payload", key)):
            payload[key] = out[key]
    if not keep(("ledger", "entry", "payload", "public_sha256")):
        try:
            body = public_body(out) if out["form"] == "auditor" else {k: v for k, v in out.items() if k != "ledger"}
            payload["public_sha256"] = _h(body)
        except (KeyError, TypeError, AttributeError):
            pass
    if not keep(("ledger", "entry", "hash")):
        try:
            entry["hash"] = ledger_entry_hash(entry)
        except (KeyError, TypeError, AttributeError):
            pass
    if not keep(("ledger", "head")):
        out["ledger"]["head"] = entry["hash"]
    return out


@pytest.fixture(scope="module")
def drawn(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("tamper")
    store = dbsj.Store(tmp / "s.duckdb")
    dd.populate(store)
    plan = dd.plan({"id": "T1"}, {"id": "T2", "partners": ["卫生健康"], "items": ["SC-B01", "WJ-01"],
                                  "sampling": {"strata": ["region"], "quota": {"count": 2}}})
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DBSJ_DISABLE_PLUGINS", "xinjiang")
        dbsj.reset_plugin_manager(None)
        dbsj.draw_plan(store, plan, seed=DICE, out_dir=tmp / "rec", _seals=dd.seals, override_check=TEST_OVERRIDE)
    dbsj.reset_plugin_manager(None)
    pools = {}
    for tid in ("T1", "T2"):
        dbsj.export_draw_pool(store, tmp / "rec" / f"{tid}.draw.json", tmp / f"{tid}.pool.csv")
        pools[tid] = load_pool(str(tmp / f"{tid}.pool.csv"))[0]
    yield store, tmp, pools
    store.close()


def _stdlib(rec: dict, pool: dict | None, anchors: list) -> list[str]:
    try:
        return verify_data(rec, pool=pool, anchors=anchors)
    except BadInput as exc:  # refused as not a record of its kind (exit 2): caught
        return [f"bad input: {exc}"]
    except Exception as exc:  # noqa: BLE001 - a crash on a tampered record would be a bug
        raise AssertionError(f"the verifier crashed on a tampered record: {exc!r}") from exc


def _dbsj(store, rec: dict, tmp: Path, cache: dict) -> bool:
    path = tmp / "edited.json"
    path.write_text(json.dumps(rec, ensure_ascii=False), encoding="utf-8")
    try:
        return dbsj.verify_record(store, path, _cache=cache).ok
    except dbsj.InputError:  # refused as not a record of its kind (exit 2): caught
        return False


# fields the pool re-derives: caught with every hash recomputed, without any anchor
_REDERIVED = ("selection", "commitment.strata", "commitment.eligible")


@pytest.mark.parametrize("tid", ["T1", "T2"])
def test_every_single_field_edit_of_the_auditor_record_is_caught(drawn, tid):
    store, tmp, pools = drawn
    rec = json.loads((tmp / "rec" / f"{tid}.draw.json").read_text(encoding="utf-8"))
    anchors = [(n, json.loads((tmp / "rec" / f"{tid}.{n}.json").read_text(encoding="utf-8"))) for n in ("commit", "public")]
    cache: dict = {}
    assert _stdlib(rec, pools[tid], anchors) == [] and _dbsj(store, rec, tmp, cache)
    paths = _leaves(rec)
    assert len(paths) > 80 and any(p[0] == "assignment" for p in paths)
    missed = []
    for path in paths:
        plain = _edit(rec, path)
        recomputed = _recompute(plain, path)
        name = ".".join(map(str, path))
        if not _stdlib(plain, pools[tid], []):
            missed.append(f"stdlib, plain: {name}")
        if _dbsj(store, plain, tmp, cache):
            missed.append(f"dbsj verify, plain: {name}")
        if not _stdlib(recomputed, pools[tid], anchors):
            missed.append(f"stdlib, recomputed: {name}")
        if _dbsj(store, recomputed, tmp, cache):
            missed.append(f"dbsj verify, recomputed: {name}")
        if name.startswith(_REDERIVED) and not name.endswith(("quota_from", "notes.0")) and \
                not _stdlib(recomputed, pools[tid], []):
            missed.append(f"stdlib with the pool alone, recomputed: {name}")
    assert missed == []


@pytest.mark.parametrize("tid", ["T1", "T2"])
def test_every_single_field_edit_of_the_public_record_is_caught(drawn, tid):
    store, tmp, pools = drawn
    rec = json.loads((tmp / "rec" / f"{tid}.public.json").read_text(encoding="utf-8"))
    commit = [("commit", json.loads((tmp / "rec" / f"{tid}.commit.json").read_text(encoding="utf-8")))]
    pool = pools[tid] if rec["confidential"] is False else None
    cache: dict = {}
    assert _stdlib(rec, pool, commit) == [] and _dbsj(store, rec, tmp, cache)
    missed = []
    for path in _leaves(rec):
        plain = _edit(rec, path)
        recomputed = _recompute(plain, path)
        name = ".".join(map(str, path))
        if not _stdlib(plain, pool, []):
            missed.append(f"stdlib, plain: {name}")
        if _dbsj(store, plain, tmp, cache):
            missed.append(f"dbsj verify, plain: {name}")
        if _dbsj(store, recomputed, tmp, cache):
            missed.append(f"dbsj verify, recomputed: {name}")
        shared = path[0] in ("draw_id", "algorithm", "plan", "task", "commitment_sha256", "eligible_root",
                             "seal_sha256", "seed_protocol", "committed_at", "confidential")
        if shared and not _stdlib(recomputed, pool, commit):
            missed.append(f"stdlib with the public commitment, recomputed: {name}")
    assert missed == []


def test_a_swapped_selections_row_in_the_store_is_caught(drawn, tmp_path):
    store, tmp, _pools = drawn
    path = tmp / "rec" / "T1.draw.json"
    row = store.execute("SELECT stratum, rank, uscc FROM selections WHERE draw_id = 'XJ2023/T1/1' ORDER BY stratum, rank "
                        "LIMIT 1").fetchall()[0]
    other = store.execute("SELECT uscc FROM draw_eligible WHERE draw_id = 'XJ2023/T1/1' AND stratum = ? AND uscc NOT IN "
                          "(SELECT uscc FROM selections WHERE draw_id = 'XJ2023/T1/1') LIMIT 1", [row[0]]).fetchall()[0][0]
    store.execute("UPDATE selections SET uscc = ? WHERE draw_id = 'XJ2023/T1/1' AND stratum = ? AND rank = ?",
                  [other, row[0], row[1]])
    try:
        report = dbsj.verify_record(store, path)
        assert not report.ok and any("selections table" in d for d in report.differences)
        assert any(f.table == "selections" for f in dbsj.audit_draws(store))
    finally:
        store.execute("UPDATE selections SET uscc = ? WHERE draw_id = 'XJ2023/T1/1' AND stratum = ? AND rank = ?",
                      [row[2], row[0], row[1]])
    assert dbsj.verify_record(store, path).ok


@pytest.mark.parametrize("table, sql, undo", [
    ("draw_seals", "UPDATE draw_seals SET seal = ?::BLOB WHERE draw_id = 'XJ2023/T2/1'", None),
    ("draw_eligible", "DELETE FROM draw_eligible WHERE draw_id = 'XJ2023/T2/1' AND uscc = "
                      "(SELECT min(uscc) FROM draw_eligible WHERE draw_id = 'XJ2023/T2/1')", None),
    ("ledger", "DELETE FROM ledger WHERE seq = (SELECT max(seq) FROM ledger)", None),
])
def test_store_tampering_is_caught(tmp_path, table, sql, undo):
    store = dbsj.Store(tmp_path / "s.duckdb")
    dd.populate(store)
    plan = dd.plan({"id": "T2", "sampling": {"strata": ["region"], "quota": {"count": 2}}})
    run = dbsj.draw_plan(store, plan, seed=DICE, out_dir=tmp_path / "rec", override_check=TEST_OVERRIDE)
    store.execute(sql, [b"\x00" * 32] if "?" in sql else None)
    report = dbsj.verify_record(store, run.records["T2"])
    assert not report.ok, table
    if table != "ledger":
        assert any(f.table == table for f in dbsj.audit_draws(store))
    store.close()
