"""The demo's whole simulated year, then every record's assignment re-derived — by dbsj verify from the store and by
the standalone verifier from the auditor's inspector export — although results have grown the history since."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import dbsj

VERIFIER = Path(dbsj.__file__).parent / "verifier.py"


def test_every_record_of_the_demo_year_verifies_with_both_verifiers(tmp_path):
    result = dbsj.run_demo(tmp_path / "d", targets=2000, json=True)
    assert result["steps"]["lifecycle"]  # the year ran: results recorded, history grown
    records = sorted((tmp_path / "d" / "records").glob("*.draw.json"))
    assert len(records) == 12
    with dbsj.Store(tmp_path / "d" / "dbsj.duckdb", read_only=True) as store:
        assert store.count("results") > 0
        reports = dbsj.verify_records(store, records)
        assert all(r.ok and "assignment" in r.checked and not r.warnings for r in reports), \
            [(r.draw_id, r.differences, r.warnings) for r in reports if not r.ok or r.warnings]
        for rec in records:
            stem = rec.name.removesuffix(".draw.json")
            dbsj.export_draw_pool(store, rec, tmp_path / f"{stem}.pool.csv")
            dbsj.export_inspectors(store, rec, tmp_path / f"{stem}.inspectors.json")
    for rec in records:
        stem = rec.name.removesuffix(".draw.json")
        res = subprocess.run([sys.executable, "-S", "-I", str(VERIFIER), str(rec), str(tmp_path / f"{stem}.pool.csv"),
                              str(tmp_path / f"{stem}.inspectors.json")], capture_output=True, text=True)
        assert res.returncode == 0, (stem, res.stdout, res.stderr)
