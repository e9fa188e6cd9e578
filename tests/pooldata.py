"""Pool builders shared by the suite: valid USCCs and pool rows inserted straight into a real store."""

from __future__ import annotations

from typing import Any

import pyarrow as pa
from stdnum.cn import uscc as _uscc

import dbsj

_ARROW_TYPES = {"DATE": pa.date32(), "BOOLEAN": pa.bool_()}


def uscc(n: int, region: str = "650100") -> str:
    """A valid USCC (GB 32100) for number ``n`` in ``region``."""
    base = f"91{region}MA{n:07d}"
    return base + _uscc.calc_check_digit(base)


def insert(store: dbsj.Store, table: str, rows: list[dict[str, Any]]) -> None:
    """Insert pool rows (dicts of canonical columns; missing ones NULL) as active rows of ``table``."""
    if not rows:
        return
    data = {}
    for col in dbsj.POOL_COLUMNS[table]:
        values = [r.get(col.name) for r in rows]
        if col.is_list:
            data[col.name] = pa.array([list(v) if v is not None else None for v in values], pa.list_(pa.string()))
        else:
            data[col.name] = pa.array(values, _ARROW_TYPES.get(col.sql_type, pa.string()))
    store.con.register("_test_pool_rows", pa.table(data))
    store.execute(f"INSERT INTO {table} BY NAME SELECT *, TRUE AS active FROM _test_pool_rows")
    store.con.unregister("_test_pool_rows")


#: The reason test draws give for overriding the plan check: the suite's plans are built to exercise one
#: mechanism each (one task, one item, a D-class ratio above the general cap …), not to pass every national rule.
#: Draws of a plan whose check passes ignore it; tests/draw/test_check_gate.py tests the gate itself.
TEST_OVERRIDE = "测试计划：仅为检验抽取机制而设，不求符合全部规则 / a test plan made to exercise the draw, not to pass every rule"
