"""Shared helpers of the intake tests: valid USCCs, files in a given encoding, isolated plug-ins."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import dbsj
from pooldata import uscc  # noqa: F401  (re-exported for the intake tests)


def bad_check(code: str) -> str:
    """The same code with a wrong check digit."""
    alphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    return code[:-1] + alphabet[(alphabet.index(code[-1]) + 1) % 31]


def write_csv(path: Path, header: list[str], rows: list[list[str]], encoding: str = "utf-8") -> Path:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(header)
    w.writerows(rows)
    path.write_bytes(buf.getvalue().encode(encoding))
    return path


def read_csv(path: str | Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


def no_plugins() -> None:
    """Only explicitly registered plug-ins take part (the suite's installed plug-ins stay out)."""
    dbsj.reset_plugin_manager(dbsj.PluginManager(load_entry_points=False))


TARGET_HEADER = ["统一社会信用代码", "企业名称", "企业类型", "登记状态", "行政区划代码", "成立日期", "信用风险分类"]


def target_row(n: int, **over: str) -> list[str]:
    row = {"uscc": uscc(n), "name": f"企业{n}", "kind": "企业", "status": "存续", "region": "650102",
           "established": "2015-03-01", "credit": "B"}
    row.update(over)
    return [row["uscc"], row["name"], row["kind"], row["status"], row["region"], row["established"], row["credit"]]
