"""Regenerate the draw test vectors in this folder, deterministically (docs/draw-spec.md §10).

    python tests/vectors/generate.py [OUT]        (default: this folder)

Fixed clock (2023-06-01 09:00 Beijing), fixed seals (SHA-256 of a label and the draw id), a fixed witnessed
dice seed, a small synthetic pool: the same bytes on every run and machine. Another implementation can test
itself against the files: the ticket vectors, and two complete draws — one credit-stratified (confidential:
its seal and pool export are auditor files), one stratified by region only (public: its public record
carries the seal and the commitment). The inspector export joins when the assignment export exists.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent / "draw"), str(HERE.parent)]
os.environ["DBSJ_NOW"] = "2023-06-01T09:00:00"
os.environ["DBSJ_DISABLE_PLUGINS"] = "xinjiang"

import dbsj  # noqa: E402
import drawdata as dd  # noqa: E402
from dbsj.verifier import (  # noqa: E402
    batch_key,
    eligible_root,
    eligible_salt,
    sha256_hex,
    stratum_digest,
    stratum_key,
    ticket,
    ticket_message,
    ticket_v2,
)
from pooldata import TEST_OVERRIDE  # noqa: E402

DICE = dbsj.DiceSeed("31415926535897932384", ("监督员甲", "企业代表乙"))


def _seal(draw_id: str) -> bytes:
    return hashlib.sha256(b"dbsj test vector seal|" + draw_id.encode("utf-8")).digest()


def _dump(path: Path, data: object) -> None:
    path.write_text(json.dumps(data, ensure_ascii=False, sort_keys=True, indent=1) + "\n", encoding="utf-8")


def ticket_vectors(out: Path) -> None:
    cases = [("31415", "T-1", "credit_class=A|region=650100", "91650100MA0000016C"),
             ("31415926535897932384", "T-1", "credit_class=A|region=650100", "91650100MA0000016C"),
             ("647c07b2abbf7ff2afb4d670214f565e5cd9f9c91bfdcecb59a21f3c78d73920", "XJ2023-01", "*", "92650102MA00000X1Q"),
             ("种子", "任务一", "credit_class=U|region=659001", "新-01\\x41"),
             ("31415926535897932384", "T-1", "region=650200", "an-id-longer-than-twenty-three-bytes-0001")]
    v1 = [{"algorithm": dbsj.DRAW_ALGORITHM_V1, "seed": s, "task_id": t, "stratum": st, "id": i,
           "message_hex": ticket_message(s, t, st, i).hex(), "ticket": ticket(s, t, st, i)} for s, t, st, i in cases]
    _dump(out / "tickets_v1.json", {"spec": "docs/draw-spec.md, appendix A", "vectors": v1})
    v2 = []
    for n, (s, t, st, i) in enumerate(cases):
        seal = bytes(range(32)) if n < 2 else hashlib.sha256(f"seal {n}".encode()).digest()
        key = stratum_key(s, seal, t, st)
        bkey = batch_key(s, seal, t)
        salt = eligible_salt(seal)
        v2.append({"algorithm": dbsj.DRAW_ALGORITHM, "seed": s, "seal_hex": seal.hex(), "seal_sha256": sha256_hex(seal),
                   "task_id": t, "stratum": st, "id": i, "K_hex": key.hex(), "ticket": ticket_v2(key, i),
                   "id_bytes": len(i.encode("utf-8")), "sha256_blocks": (32 + len(i.encode("utf-8")) + 9 + 63) // 64,
                   "B_hex": bkey.hex(), "batch_order": sha256_hex(bkey + i.encode("utf-8")), "D_hex": salt.hex(),
                   "stratum_digest_of_id_alone": stratum_digest(salt, [i])})
    ids = ["91650100MA0000016C", "91650100MA0000024X", "92650102MA00000X1Q"]
    salt = eligible_salt(bytes(range(32)))
    digests = [("credit_class=A", 2, stratum_digest(salt, ids[:2])), ("credit_class=B", 1, stratum_digest(salt, ids[2:]))]
    _dump(out / "tickets_v2.json", {
        "spec": "docs/draw-spec.md §3", "vectors": v2,
        "digest_and_root": {"seal_hex": bytes(range(32)).hex(), "strata": [
            {"stratum": s, "ids": ids[:2] if n == 2 else ids[2:], "eligible": n, "digest": d} for s, n, d in digests],
            "root": eligible_root(digests)}})


def draws(out: Path) -> None:
    for name, plan in (
            ("draw-confidential", dd.plan({"id": "T1"}, {"id": "T2", "partners": ["卫生健康"], "items": ["SC-B01", "WJ-01"]},
                                          plan_id="VEC-C")),
            ("draw-public", dd.plan({"id": "T3", "sampling": {"strata": ["region"], "quota": {"count": 3}},
                                     "batches": [{"name": "上半年", "deadline": "2023-07-20", "share": 0.4},
                                                 {"name": "下半年", "deadline": "2023-10-15", "share": 0.6}]},
                                    plan_id="VEC-P")),
    ):
        folder = out / name
        folder.mkdir(parents=True, exist_ok=True)
        for p in folder.iterdir():
            p.unlink()
        with dbsj.Store(":memory:") as store:
            dd.populate(store, 60)
            run = dbsj.draw_plan(store, plan, seed=DICE, out_dir=folder, _seals=_seal, override_check=TEST_OVERRIDE)
            for tid, path in run.records.items():
                dbsj.export_draw_pool(store, path, folder / f"{tid}.pool.csv")
                dbsj.export_inspectors(store, path, folder / f"{tid}.inspectors.json")


def main(argv: list[str]) -> int:
    out = Path(argv[0]) if argv else HERE
    out.mkdir(parents=True, exist_ok=True)
    dbsj.reset_plugin_manager(None)
    ticket_vectors(out)
    draws(out)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
