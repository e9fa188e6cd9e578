"""Hostile plans and rule packs: alias bombs, recursive anchors, deep nesting, huge files, foreign tags,
out-of-year windows — each a clear error with file:line, fast, never a hang, a RecursionError or a traceback.

Time is not asserted (benchmarks/bench_yaml.py measures it); a hang is caught by a subprocess timeout.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

import dbsj
from dbsj import _yaml

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "xinjiang-2023" / "plan.yaml"
DBSJ = str(Path(sys.executable).with_name("dbsj"))
ENV = {k: v for k, v in os.environ.items() if k != "DBSJ_FAILPOINTS"} | {"DBSJ_NOW": "2023-06-01T09:00:00"}

BILLION_LAUGHS = """\
a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
plan:
  id: P
  laughs: *i
"""

PLAN = """\
plan:
  id: P-2023
  year: 2023
  authority: 某某市场监督管理局
  title: 测试计划
  tasks:
{tasks}
"""

TASK = """\
    - id: {id}
      name: 年报抽查
      sponsor: 市场监管
      items: {items}
      sampling: {{quota: {quota}}}
      start: {start}
      batches:
        - {{name: 第一批, deadline: {deadline}}}
"""


def _plan(tmp_path: Path, *tasks: dict, name: str = "plan.yaml") -> Path:
    body = "".join(TASK.format(**({"id": f"T{i}", "items": "[SC-A07]", "quota": "0.03", "start": "2023-06-01",
                                   "deadline": "2023-07-20"} | t)) for i, t in enumerate(tasks, start=1))
    p = tmp_path / name
    p.write_text(PLAN.format(tasks=body), encoding="utf-8")
    return p


def _errors(path: Path) -> list[str]:
    with pytest.raises(dbsj.PlanError) as err:
        dbsj.load_plan(path)
    return err.value.context.get("errors") or [err.value.render("en")]


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    # A timeout turns a hang into a failure: loading is bounded, so every case returns in seconds.
    return subprocess.run([DBSJ, *args], capture_output=True, text=True, env=ENV, timeout=120)


# -- bombs and structure ------------------------------------------------------------------------------------

def test_billion_laughs_fails_at_once_in_check_and_draw(tmp_path):
    p = tmp_path / "laughs.yaml"
    p.write_text(BILLION_LAUGHS, encoding="utf-8")
    with pytest.raises(dbsj.PlanError, match="别名展开过多") as err:
        dbsj.load_plan(p)
    assert "billion laughs" in err.value.render("en")
    db = tmp_path / "s.duckdb"
    dbsj.Store(db).close()
    for args in (("check", "--plan", str(p), "--db", str(db)),
                 ("draw", "--plan", str(p), "--seed", "1", "--out", str(tmp_path / "out"), "--db", str(db))):
        proc = _cli(*args)
        assert proc.returncode == 2 and "别名展开过多" in proc.stderr and "Traceback" not in proc.stderr, proc.stderr


def test_an_alias_bomb_in_a_rule_pack(tmp_path):
    pack = tmp_path / "pack"
    pack.mkdir()
    (pack / "pack.yaml").write_text("id: bomb\nname: 炸弹\nextends: [national]\n", encoding="utf-8")
    (pack / "rules.yaml").write_text(BILLION_LAUGHS.replace("plan:\n  id: P\n  laughs: *i\n", "rules: *i\n"),
                                     encoding="utf-8")
    with pytest.raises(dbsj.RuleError, match="别名展开过多"):
        dbsj.load_rules([pack])


@pytest.mark.parametrize("text, words", [
    ("a: &a [1, *a]\n", "递归别名"),
    ("a: &a {b: *a}\n", "递归别名"),
    ("a: *nowhere\n", "没有对应的锚点"),
])
def test_recursive_and_dangling_aliases(tmp_path, text, words):
    p = tmp_path / "p.yaml"
    p.write_text(text, encoding="utf-8")
    with pytest.raises(dbsj.PlanError, match=words) as err:
        dbsj.load_plan(p)
    assert err.value.where == f"{p}:1"


@pytest.mark.parametrize("depth", [65, 5000, 1_000_000])
def test_deep_nesting_is_bounded(tmp_path, depth):
    p = tmp_path / "deep.yaml"
    p.write_text("plan: " + "[" * depth + "]" * depth + "\n", encoding="utf-8")
    with pytest.raises(dbsj.PlanError, match="嵌套过深"):
        dbsj.load_plan(p)


def test_deep_block_nesting_names_its_line(tmp_path):
    lines = [" " * i + f"k{i}:" for i in range(200)]
    p = tmp_path / "deep.yaml"
    p.write_text("\n".join(lines) + " 1\n", encoding="utf-8")
    with pytest.raises(dbsj.PlanError, match="嵌套过深") as err:
        dbsj.load_plan(p)
    assert err.value.where == f"{p}:{_yaml.MAX_DEPTH + 1}"


def test_size_is_bounded_and_the_limit_named(tmp_path, monkeypatch):
    p = tmp_path / "big.yaml"
    with open(p, "w", encoding="utf-8") as fh:
        fh.write("plan:\n  notes: |\n")
        line = "    " + "填" * 60 + "\n"
        fh.write(line * (_yaml.MAX_YAML_BYTES // len(line.encode()) + 10))
    with pytest.raises(dbsj.PlanError, match="10 MiB"):
        dbsj.load_plan(p)
    monkeypatch.setenv("DBSJ_MAX_YAML_BYTES", "1024")
    with pytest.raises(dbsj.PlanError, match="上限 1024 字节"):
        dbsj.load_plan(EXAMPLE)


@pytest.mark.parametrize("text, words", [
    ("plan: !!python/object/apply:os.system ['echo pwned']\n", "不允许的 YAML 标签"),
    ("plan: !!python/name:os.system\n", "不允许的 YAML 标签"),
    ("plan: !custom x\n", "不允许的 YAML 标签"),
    ("plan:\n  id: a\n  id: b\n", "重复的键"),
    ("plan: {id: 1}\n---\nplan: {id: 2}\n", "一个 YAML 文档"),
    ("? [a, b]\n: c\n", "不能是映射或列表"),
    ("plan: [\n", "YAML 语法错误"),
])
def test_what_a_data_file_may_not_hold(tmp_path, text, words):
    p = tmp_path / "p.yaml"
    p.write_text(text, encoding="utf-8")
    with pytest.raises(dbsj.PlanError, match=words):
        dbsj.load_plan(p)


def test_a_directory_or_device_is_not_a_plan(tmp_path):
    with pytest.raises(dbsj.PlanError, match="不是普通文件"):
        dbsj.load_plan(tmp_path)
    if Path("/dev/zero").exists():
        with pytest.raises(dbsj.PlanError, match="不是普通文件"):
            dbsj.load_plan("/dev/zero")


def test_shipped_files_load_exactly_as_pyyaml_reads_them():
    """The bounded loader changes nothing for honest files: the same data as yaml.safe_load."""
    files = [EXAMPLE, *sorted((ROOT / "rules").rglob("*.yaml"))]
    for f in files:
        doc = _yaml.load_located_yaml(f, dbsj.PlanError)
        assert doc.data == yaml.safe_load(f.read_text(encoding="utf-8")), f


def test_anchors_and_merge_keys_still_work(tmp_path):
    text = """\
defaults: &d {sponsor: 市场监管, items: [SC-A07], sampling: {quota: 0.03}}
window: &w {start: 2023-06-01, batches: [{name: 第一批, deadline: 2023-07-20}]}
plan:
  id: P
  year: 2023
  authority: 某局
  title: t
  tasks:
    - {<<: [*d, *w], id: T1, name: 一}
    - <<: *d
      <<: *w
      id: T2
      name: 二
      items: [SC-B03]
"""
    p = tmp_path / "p.yaml"
    p.write_text(text, encoding="utf-8")
    doc = _yaml.load_located_yaml(p, dbsj.PlanError)
    assert doc.data == yaml.safe_load(text)
    assert doc.data["plan"]["tasks"][1]["items"] == ["SC-B03"]
    assert doc.data["plan"]["tasks"][0]["sampling"] is not doc.data["plan"]["tasks"][1]["sampling"]


def test_lines_are_kept(tmp_path):
    p = _plan(tmp_path, {"quota": "garbage"}, {"items": "[]"})
    errors = _errors(p)
    assert len(errors) == 2, errors
    assert errors[0].startswith(f"{p}:11: plan.tasks.0.sampling.quota")
    assert errors[1].startswith(f"{p}:18: plan.tasks.1.items")


# -- the plan's own rules -----------------------------------------------------------------------------------

def test_windows_and_batches_outside_the_plan_year(tmp_path):
    p = _plan(tmp_path, {"start": "2024-06-01", "deadline": "2024-07-20"},
              {"start": "1999-01-01", "deadline": "2031-07-20"}, {})
    errors = _errors(p)
    assert len(errors) == 4, errors
    assert errors[0].startswith(f"{p}:12: plan.tasks.0.start") and "2024-06-01" in errors[0]
    assert errors[1].startswith(f"{p}:14: plan.tasks.0.batches.0.deadline") and "2024-07-20" in errors[1]
    assert "1999-01-01" in errors[2] and "2031-07-20" in errors[3]
    assert all("plan year 2023" in e for e in errors)


def test_a_task_error_is_reported_once(tmp_path):
    """The report: every task-level error also added 'plan.tasks: Tuple should have at least 1 item'."""
    for fault in ({"quota": "garbage"}, {"items": "[7]"}, {"deadline": "2023-02-30"}):
        errors = _errors(_plan(tmp_path, fault))
        assert len(errors) == 1, (fault, errors)
        assert "at least 1 item" not in errors[0] and "plan.tasks:" not in errors[0]
    # A really empty list is still an error, once.
    text = PLAN.format(tasks="    []\n").replace("  tasks:\n    []", "  tasks: []")
    p = tmp_path / "empty.yaml"
    p.write_text(text, encoding="utf-8")
    errors = _errors(p)
    assert len(errors) == 1 and "plan.tasks" in errors[0], errors


@pytest.mark.parametrize("task_id, words", [
    ("T\u202e1", "invisible"), ("T\x001", "invisible"), ("T\u200b1", "invisible"), ("T" * 101, "longer than 100 bytes"),
])
def test_unsafe_task_ids_are_refused_at_load(tmp_path, task_id, words):
    p = tmp_path / "p.yaml"
    p.write_text(PLAN.format(tasks=TASK.format(id='"' + task_id.encode("unicode_escape").decode().replace("\\x", "\\x")
                                                + '"', items="[A]", quota="0.03", start="2023-06-01",
                                                deadline="2023-07-20")), encoding="utf-8")
    errors = _errors(p)
    assert len(errors) == 1 and "plan.tasks.0.id" in errors[0] and words in errors[0], errors


def test_task_ids_that_would_share_a_file_name(tmp_path):
    errors = _errors(_plan(tmp_path, {"id": "T/1"}, {"id": "T_1"}))
    assert len(errors) == 1 and "same file name" in errors[0], errors


def test_a_rule_pack_of_too_many_files(tmp_path, monkeypatch):
    from dbsj.rules import loader

    pack = tmp_path / "many"
    pack.mkdir()
    (pack / "pack.yaml").write_text("id: many\nname: 很多\nextends: [national]\n", encoding="utf-8")
    for i in range(6):
        (pack / f"r{i}.yaml").write_text("rules: []\n", encoding="utf-8")
    monkeypatch.setattr(loader, "MAX_PACK_FILES", 5)
    with pytest.raises(dbsj.RuleError, match="规则包过大") as err:
        dbsj.load_rules([pack])
    assert "pack.yaml" in err.value.render("en")
