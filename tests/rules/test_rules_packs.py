"""Rule packs: the shipped packs, extends/overrides, and precise rejection of malformed packs (file:line)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import dbsj
from dbsj import RuleError
from dbsj.cli import main

STABLE_IDS = ["coverage.key-items", "coverage.departments", "frequency.same-item-yearly",
              "ratio.general-cap", "team.min-size", "publication.deadline"]

PACK = """\
id: prov
name: 某省规则
source: 某省 2023 年度抽查计划通知
extends: [national]
"""


def test_shipped_packs_are_found_as_package_data_and_in_the_source_tree():
    shipped = dbsj.shipped_rules_dir()
    assert (shipped / "national" / "pack.yaml").is_file()
    data = Path(dbsj.__file__).parent / "data" / "rules"
    assert (data / "national" / "pack.yaml").is_file(), "rules/ must be reachable as dbsj/data/rules (wheel)"
    assert {p.parent.name for p in data.rglob("pack.yaml")} >= {"national", "daqing", "henan-2021"}


def test_national_pack_has_the_stable_ids_with_sources():
    rules = dbsj.load_rules()
    assert [p.id for p in rules.packs] == ["national"]
    for rid in STABLE_IDS:
        lr = rules.get(rid)
        assert lr.rule.source, rid
        assert lr.where.startswith(str(dbsj.shipped_rules_dir().resolve())) or "national" in lr.where


def test_credit_ratio_tables_of_the_example_packs():
    daqing = dbsj.effective_ratio_table("ratio.daqing")
    assert {k: (q.min, q.max) for k, q in daqing.items()} == {
        "A": (None, 0.05), "B": (0.05, 0.20), "C": (0.21, 0.60), "D": (0.61, 1.0)}
    henan = dbsj.effective_ratio_table("ratio.henan-2021")
    assert {k: q.min for k, q in henan.items()} == {"A": 0.01, "B": 0.02, "C": 0.10, "D": 0.30}
    assert all(isinstance(q, dbsj.Quota) for q in henan.values())
    # the local labels 低/一般/较高/高 map to A/B/C/D
    d = dbsj.load_rules().decide("ratio.henan-2021", credit_class="较高")
    assert d.row == 3 and d.ratio.min == 0.10
    assert d.trace == ((1, False), (2, False), (3, True), (4, False))


def test_unknown_table_is_a_rule_error_listing_known_ids():
    with pytest.raises(RuleError, match="ratio.daqing"):
        dbsj.effective_ratio_table("ratio.nowhere")


def test_publication_deadline_is_20_and_a_local_pack_can_override_it(write_pack):
    assert dbsj.publication_deadline_days() == 20
    prov = write_pack("prov", {"pack.yaml": PACK, "p.yaml": """\
        rules:
          - id: publication.deadline
            override: true
            value: 15
        """})
    assert dbsj.publication_deadline_days([prov]) == 15
    lr = dbsj.load_rules([prov]).get("publication.deadline")
    assert lr.pack == "prov" and lr.overrides and "national" in lr.overrides[0]
    assert lr.rule.source and "20" in lr.rule.name  # the rest is inherited from the national rule


def test_override_amends_an_inherited_rule_and_extends_chain(write_pack):
    prov = write_pack("prov", {"pack.yaml": PACK.replace("[national]", "[xinjiang-2023]"), "credit.yaml": """\
        rules:
          - id: credit.linked-share
            override: true
            min: 0.6
            source: 某省通知（挂钩任务不低于60%）
        """})
    city = write_pack("city", {"pack.yaml": "id: city\nname: 某市\nextends: [prov]\n", "t.yaml": """\
        rules:
          - id: ratio.city
            kind: table
            name: 某市比例
            hit_policy: first
            inputs: [credit_class, item_category]
            rows:
              - {when: {credit_class: D}, ratio: 0.5}
              - {when: {item_category: key}, ratio: 0.2}
              - {ratio: "≤3%"}
        """})
    rules = dbsj.load_rules([city])
    assert [p.id for p in rules.packs] == ["national", "xinjiang-2023", "prov", "city"]
    share = rules.get("credit.linked-share")
    assert share.rule.min == 0.6 and share.pack == "prov" and share.rule.kind == "share"
    assert rules.get("coverage.key-items").pack == "national"
    assert rules.decide("ratio.city", credit_class="D", item_category="key").row == 1  # first wins
    assert rules.decide("ratio.city", credit_class="A", item_category="key").row == 2
    assert dbsj.effective_ratio_table("ratio.city", [city], item_category="general")["A"].max == 0.03


def test_a_pack_may_name_any_department(write_pack):
    """Departments are open: a county pack names 粮食行政管理 and 教育, which are not among the built-in ten."""
    body = ("rules:\n  - id: local.grain-sponsor\n    kind: check\n    name: 粮食任务由粮食行政管理部门牵头\n    of: tasks\n"
            "    where: {sponsor: 粮食行政管理}\n    require: {joint: true}\n"
            "  - id: local.education\n    kind: coverage\n    name: 教育部门事项全覆盖\n    each: items\n    key: code\n"
            "    where: {department: 教育}\n    in: {entity: task_items, key: item_code}\n")
    prov = write_pack("prov", {"pack.yaml": PACK, "r.yaml": body})
    rules = dbsj.load_rules([prov])
    assert {"local.grain-sponsor", "local.education"} <= {r.id for r in rules.enabled()}
    assert "粮食行政管理" not in dbsj.DEPARTMENTS


def test_disabling_a_rule_in_a_local_pack(write_pack):
    prov = write_pack("prov", {"pack.yaml": PACK, "x.yaml": "rules:\n  - {id: team.min-size, override: true, enabled: false}\n"})
    rules = dbsj.load_rules([prov])
    assert "team.min-size" not in [r.id for r in rules.enabled()]


def _problem(write_pack, files: dict[str, str], folder: str = "prov") -> str:
    d = write_pack(folder, files)
    with pytest.raises(RuleError) as info:
        dbsj.load_rules([d.parent if folder != "prov" else d])
    return info.value.render("en")


@pytest.mark.parametrize("body, expected", [
    ("rules:\n  - id: x.y\n    kind: share\n    name: n\n    of: tasks\n    where: {credit_linked: true}\n"
     "    min: 0.5\n    colour: red\n", r"r.yaml:8: .*colour: unknown key"),
    ("rules:\n  - id: x.y\n    kind: share\n    name: n\n    of: tasks\n    where: {credit_linked: true}\n    min: 1.5\n",
     r"r.yaml:7: .*min: Input should be less than or equal to 1"),
    ("rules:\n  - id: x.y\n    kind: shares\n    name: n\n", r"r.yaml:3: .*unknown or missing rule kind 'shares'"),
    ("rules:\n  - id: x.y\n    kind: share\n    name: n\n    of: tasks\n    where: {credit_linkd: true}\n    min: 0.5\n",
     r"r.yaml:6: .*tasks has no field 'credit_linkd'"),
    ("rules:\n  - id: x.y\n    kind: check\n    name: n\n    of: tasks\n    require:\n      sponsor: \"  \"\n",
     r"r.yaml:7: .*expected a department name"),
    ("rules:\n  - id: x.y\n    kind: coverage\n    name: n\n    each: item\n    key: code\n"
     "    in: {entity: task_items, key: item_code}\n", r"r.yaml:5: .*unknown entity 'item'"),
    ("rules:\n  - id: x.y\n    kind: table\n    name: n\n    hit_policy: unique\n    inputs: [credit_class]\n"
     "    rows:\n      - {when: {credit_class: A}, ratio: 1.2}\n", r"r.yaml:8: .*rows.0.ratio"),
    ("rules:\n  - id: x.y\n    kind: table\n    name: n\n    hit_policy: unique\n    inputs: [credit_class]\n"
     "    rows:\n      - {when: {credit_class: {in: [A, B]}}, ratio: 0.1}\n      - {when: {credit_class: B}, ratio: 0.2}\n",
     r"r.yaml:9: .*rows 1 and 2 both match \{\"credit_class\": \"B\"\}"),
    ("rules:\n  - id: x.y\n    kind: table\n    name: n\n    hit_policy: unique\n    inputs: [credit_class]\n"
     "    rows:\n      - {when: {credit_class: E}, ratio: 0.1}\n", r"r.yaml:8: .*unknown credit_class value 'E'"),
    ("rules:\n  - id: team.min-size\n    kind: check\n    name: n\n    of: visits\n    require: {team_size: {gte: 3}}\n",
     r"r.yaml:2: rule team.min-size is already defined by pack national .*add 'override: true'"),
    ("rules:\n  - {id: team.min-size, override: true, kind: share}\n", r"r.yaml:2: an override of team.min-size cannot change its kind"),
    ("rules:\n  - {id: team.max-size, override: true, value: 3}\n", r"r.yaml:2: rule team.max-size says override: true but no"),
    ("rules:\n  - {id: x.y, kind: parameter, name: n, value: 1}\n  - {id: x.y, kind: parameter, name: n, value: 2}\n",
     r"r.yaml:3: rule id x.y appears twice"),
    ("rules:\n  - id: x.y\n    kind: check\n    name: n\n    of: tasks\n    require: {sponsor: {eq: {ref: a.b}}}\n",
     r"r.yaml:6: .*ref is only allowed in event rules"),
    ("rules:\n  - id: x.y\n    kind: parameter\n    name: [unclosed\n", r"r.yaml:\d+: YAML syntax error"),
    ("rule:\n  - id: x.y\n", r"r.yaml:1: a rule file holds only 'rules: \[...\]'"),
])
def test_malformed_pack_is_rejected_with_file_line_and_what_was_expected(write_pack, body, expected):
    import re

    dbsj.set_language("en")
    message = _problem(write_pack, {"pack.yaml": PACK, "r.yaml": body})
    assert re.search(expected, message), message
    assert "no rule was evaluated" in message


def test_all_problems_are_reported_at_once(write_pack):
    message = _problem(write_pack, {"pack.yaml": PACK, "r.yaml": (
        "rules:\n  - {id: x.a, kind: share, name: n, of: tasks, where: {nope: 1}, min: 0.5}\n"
        "  - {id: x.b, kind: share, name: n, of: tasks, where: {credit_linked: true}, min: 2}\n")})
    assert "2 problem(s)" in message and "r.yaml:2" in message and "r.yaml:3" in message


def test_pack_cycle_and_unknown_parent_are_rejected(write_pack):
    a = write_pack("cyc/a", {"pack.yaml": "id: a\nname: A\nextends: [b]\n"})
    write_pack("cyc/b", {"pack.yaml": "id: b\nname: B\nextends:\n  - a\n"})
    with pytest.raises(RuleError) as info:
        dbsj.load_rules([a.parent])
    text = info.value.render("en")
    assert "pack extension cycle" in text and "pack.yaml:3" in text or "pack.yaml:4" in text
    lone = write_pack("lone", {"pack.yaml": "id: lone\nname: L\nextends: [nowhere]\n"})
    with pytest.raises(RuleError, match="nowhere"):
        dbsj.load_rules([lone])


def test_contradictory_sibling_overrides_are_rejected(write_pack):
    share = "rules:\n  - {{id: credit.linked-share, override: true, min: {}}}\n"
    write_pack("two/p1", {"pack.yaml": "id: p1\nname: P1\nextends: [xinjiang-2023]\n", "c.yaml": share.format(0.6)})
    write_pack("two/p2", {"pack.yaml": "id: p2\nname: P2\nextends: [xinjiang-2023]\n", "c.yaml": share.format(0.7)})
    root = write_pack("two", {})
    with pytest.raises(RuleError) as info:
        dbsj.load_rules([root])
    text = info.value.render("en")
    assert "defined differently in packs p1" in text and "p2" in text and "make one pack extend the other" in text
    # the same amendment in both is not a contradiction
    (root / "p2" / "c.yaml").write_text(share.format(0.6), encoding="utf-8")
    assert dbsj.load_rules([root]).get("credit.linked-share").rule.min == 0.6


def test_missing_folder_and_folder_without_packs(tmp_path):
    with pytest.raises(RuleError, match="not found|不存在"):
        dbsj.load_rules([tmp_path / "nope"])
    with pytest.raises(RuleError, match="pack.yaml"):
        dbsj.load_rules([tmp_path])


def test_rules_list_json_prints_effective_rules_with_ids_and_sources(capsys):
    assert main(["rules", "list", "--json", "--rules", str(dbsj.shipped_rules_dir() / "examples" / "daqing")]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [p["id"] for p in out["packs"]] == ["national", "daqing"]
    by_id = {r["id"]: r for r in out["rules"]}
    assert set(STABLE_IDS) | {"ratio.daqing"} <= set(by_id)
    assert by_id["ratio.daqing"]["pack"] == "daqing" and "大庆" in by_id["ratio.daqing"]["source"]
    assert all(r["source"] for r in out["rules"])


def test_rules_show_prints_the_effective_rule_set_as_yaml(capsys):
    import yaml

    assert main(["rules", "show"]) == 0
    doc = yaml.safe_load(capsys.readouterr().out)
    assert {r["id"] for r in doc["rules"]} >= set(STABLE_IDS)


def test_rules_decide_shows_the_trace(capsys):
    assert main(["--lang", "en", "rules", "decide", "ratio.daqing", "credit_class=C", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["row"] == 3 and out["ratio"] == {"min": 0.21, "max": 0.6}
    assert [t["matched"] for t in out["trace"]] == [False, False, True, False]


def test_bad_pack_on_the_command_line_exits_2(write_pack, capsys):
    d = write_pack("prov", {"pack.yaml": PACK, "r.yaml": "rules:\n  - {id: x.y, kind: nope, name: n}\n"})
    assert main(["rules", "list", "--rules", str(d)]) == 2
    assert "r.yaml:2" in capsys.readouterr().err


def test_publication_deadline_must_be_a_positive_whole_number(write_pack):
    prov = write_pack("prov", {"pack.yaml": PACK, "p.yaml": "rules:\n  - {id: publication.deadline, override: true, value: 0}\n"})
    with pytest.raises(RuleError, match="publication.deadline"):
        dbsj.publication_deadline_days([prov])
