"""The committed test vectors (tests/vectors/) are what the code computes, regenerate byte for byte, and verify."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

import dbsj
from dbsj.verifier import batch_key, eligible_root, eligible_salt, stratum_digest, stratum_key, ticket, ticket_v2

VECTORS = Path(__file__).resolve().parent.parent / "vectors"
VERIFIER = Path(dbsj.__file__).parent / "verifier.py"


def test_ticket_vectors():
    con = duckdb.connect()
    for v in json.loads((VECTORS / "tickets_v1.json").read_text(encoding="utf-8"))["vectors"]:
        assert ticket(v["seed"], v["task_id"], v["stratum"], v["id"]) == v["ticket"]
        assert hashlib.sha256(bytes.fromhex(v["message_hex"])).hexdigest() == v["ticket"]
    data = json.loads((VECTORS / "tickets_v2.json").read_text(encoding="utf-8"))
    for v in data["vectors"]:
        seal = bytes.fromhex(v["seal_hex"])
        key = stratum_key(v["seed"], seal, v["task_id"], v["stratum"])
        assert key.hex() == v["K_hex"] and ticket_v2(key, v["id"]) == v["ticket"]
        assert con.execute("SELECT sha256(?::BLOB || encode(?))", [key, v["id"]]).fetchall()[0][0] == v["ticket"]
        assert batch_key(v["seed"], seal, v["task_id"]).hex() == v["B_hex"]
        assert eligible_salt(seal).hex() == v["D_hex"]
    d = data["digest_and_root"]
    salt = eligible_salt(bytes.fromhex(d["seal_hex"]))
    assert [stratum_digest(salt, s["ids"]) for s in d["strata"]] == [s["digest"] for s in d["strata"]]
    assert eligible_root([(s["stratum"], s["eligible"], s["digest"]) for s in d["strata"]]) == d["root"]


def test_vectors_regenerate_byte_for_byte(tmp_path):
    proc = subprocess.run([sys.executable, str(VECTORS / "generate.py"), str(tmp_path)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    committed = sorted(p.relative_to(VECTORS) for p in VECTORS.rglob("*") if p.is_file() and p.name != "generate.py")
    fresh = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file())
    assert committed == fresh
    changed = [str(p) for p in committed if (VECTORS / p).read_bytes() != (tmp_path / p).read_bytes()]
    assert changed == [], f"the vectors differ from a fresh generation: {changed}; if the format changed on purpose, " \
                          f"run `python tests/vectors/generate.py` and commit the files"


@pytest.mark.parametrize("folder, tid", [("draw-confidential", "T1"), ("draw-confidential", "T2"), ("draw-public", "T3")])
def test_vector_draws_verify_standalone(folder, tid):
    base = VECTORS / folder

    def run(*args):
        return subprocess.run([sys.executable, "-S", "-I", str(VERIFIER), *map(str, args)], capture_output=True, text=True)

    anchors = ["--anchor", base / f"{tid}.commit.json", "--anchor", base / f"{tid}.public.json"]
    res = run(base / f"{tid}.draw.json", base / f"{tid}.pool.csv", *anchors)
    assert res.returncode == 0, res.stdout + res.stderr
    # with the auditor's inspector export the assignment re-derives too
    res = run(base / f"{tid}.draw.json", base / f"{tid}.pool.csv", base / f"{tid}.inspectors.json", *anchors)
    assert res.returncode == 0 and "inspector export" in res.stdout, res.stdout + res.stderr
    public = json.loads((base / f"{tid}.public.json").read_text(encoding="utf-8"))
    if public["confidential"]:
        assert run(base / f"{tid}.public.json", "--anchor", base / f"{tid}.commit.json").returncode == 0
    else:
        res = run(base / f"{tid}.public.json", base / f"{tid}.pool.csv", "--anchor", base / f"{tid}.commit.json")
        assert res.returncode == 0, res.stdout + res.stderr
