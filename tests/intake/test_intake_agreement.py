"""Set-wise SQL validation and the pydantic models agree (design §10).

On generated rows — valid and invalid values, in canonical spelling — a row the SQL accepts validates as a
model, and a row the model accepts is accepted by the SQL. The checks that need more than the record
(a known region code, a date not after today, duplicates within a file) belong to intake alone and are
kept out of the generated rows; they have their own tests.
"""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

import dbsj
from intake_helpers import bad_check, no_plugins, read_csv, uscc

NAMES = st.text(alphabet="企业甲乙丙丁公司商贸abcXYZ-（）()·", min_size=1, max_size=12)
PAST = st.dates(min_value=dt.date(1950, 1, 1), max_value=dt.date(2023, 5, 31)).map(dt.date.isoformat)
ANY_DATE = st.dates(min_value=dt.date(1990, 1, 1), max_value=dt.date(2035, 12, 31)).map(dt.date.isoformat)
BAD_DATE = st.sampled_from(["2023-02-30", "2023-13-01", "不详", "2023-1"])
KNOWN_REGIONS = st.sampled_from(["650102", "650200", "652301", "659001", "110105", "440305"])


def _listed(values):
    return st.one_of(st.just(""), st.lists(st.sampled_from(values), min_size=1, max_size=3, unique=True).map("|".join))


def _rows(valid: dict, invalid: dict):
    """Mostly valid rows; about half carry one invalid value (so each check is met alone)."""

    @st.composite
    def row(draw):
        r = draw(st.fixed_dictionaries(valid))
        field = draw(st.one_of(st.none(), st.sampled_from(sorted(invalid))))
        if field is not None:
            r[field] = draw(invalid[field])
        return r

    return row()


VALID_USCC = st.integers(1, 10**6).map(uscc)

TARGETS = _rows({
    "uscc": VALID_USCC,
    "name": NAMES,
    "entity_kind": st.sampled_from([e.value for e in dbsj.EntityKind]),
    "status": st.sampled_from([s.value for s in dbsj.RegistrationStatus]),
    "region": KNOWN_REGIONS,
    "industry": st.sampled_from(["", "F5211", "C13"]),
    "established": st.one_of(st.just(""), PAST),
    "credit_class": st.sampled_from(["A", "B", "C", "D", "U", ""]),
    "tags": st.sampled_from(["", "食品", "食品|重点"]),
}, {
    "uscc": st.one_of(VALID_USCC.map(bad_check), st.sampled_from(["91650100MA000001", "", "91650100MA00000I1"]),
                      VALID_USCC.map(lambda u: u[:4] + "\u200b" + u[4:])),
    # control and bidi characters: quarantined by the SQL, refused by the model
    "name": st.sampled_from(["", "  ", "企\u202e业", "名\x00称", "x" * 32_768]),
    "entity_kind": st.sampled_from(["社会团体", ""]),
    "status": st.sampled_from(["失联", ""]),
    "region": st.sampled_from(["65010", "6501020", "abcdef", ""]),
    "established": BAD_DATE,
    "credit_class": st.sampled_from(["E", "AA"]),
})

INSPECTORS = _rows({
    "staff_id": st.integers(1, 10**6).map(lambda i: f"S{i}"),
    "name": NAMES,
    "department": st.sampled_from(["市场监管", "卫生健康"]),
    "region": st.one_of(st.just(""), KNOWN_REGIONS),
    "certificate_no": st.sampled_from(["65001", "X-9"]),
    "certificate_expiry": ANY_DATE,
    "item_scope": st.sampled_from(["", "A07", "A07|A08"]),
    "expert": st.sampled_from(["", "true", "false"]),
    "status": st.sampled_from([s.value for s in dbsj.InspectorStatus] + [""]),
    "conflicts": st.sampled_from(["", uscc(1)]),
}, {
    "staff_id": st.sampled_from(["", "S\u202e1", "S\r\n2", "S\x003"]),
    "name": st.sampled_from(["", "张\u2066三"]),
    "department": st.just(""),
    "certificate_no": st.just(""),
    "certificate_expiry": st.one_of(BAD_DATE, st.just("")),
    "expert": st.sampled_from(["maybe", "2"]),
    "status": st.just("出差"),
})

ITEMS = _rows({
    "code": st.integers(1, 10**6).map(lambda i: f"A{i}"),
    "name": NAMES,
    "department": st.sampled_from(["市场监管", "生态环境"]),
    "basis": st.sampled_from(["", "《企业信息公示暂行条例》"]),
    "target_kinds": _listed([e.value for e in dbsj.EntityKind]),
    "methods": _listed([m.value for m in dbsj.CheckMethod]),
    "category": st.sampled_from(["key", "general"]),
}, {
    "code": st.sampled_from(["", "A\ufeff1", "A\x001"]),
    "name": st.just(""),
    "department": st.sampled_from(["", "市场\x1b监管"]),
    "target_kinds": st.sampled_from(["外星人", "企业|外星人"]),
    "methods": st.sampled_from(["飞行", "实地|飞行"]),
    "category": st.sampled_from(["特别", ""]),
})

LISTS = {"tags", "item_scope", "conflicts", "target_kinds", "methods"}


def _model_ok(model, row: dict[str, str]) -> bool:
    data = {k: (tuple(v.split("|")) if k in LISTS else v) for k, v in row.items() if v != ""}
    try:
        model(**data)
    except dbsj.ModelError:
        return False
    return True


def _check(store, tmp_path, kind, model, key, strategy):
    @settings(max_examples=8)
    @given(st.lists(strategy, min_size=10, max_size=40, unique_by=lambda r: r[key]))
    def run(rows):
        table = pa.table({k: [r[k] for r in rows] for k in rows[0]})
        report = dbsj.import_batches(store, kind, table, source="agreement", quarantine_dir=tmp_path)
        rejected = {int(r["_row"]) for r in read_csv(report.quarantine_file)} if report.quarantine_file else set()
        for i, row in enumerate(rows, start=1):
            assert (i not in rejected) == _model_ok(model, row), (row, report)
        # What the SQL stored validates as a model, field for field.
        cols = [c.name for c in dbsj.POOL_COLUMNS[kind]]
        for values in store.execute(f"SELECT {', '.join(cols)} FROM {kind}").fetchall():
            model(**{c: (tuple(v) if isinstance(v, list) else v) for c, v in zip(cols, values) if v is not None})

    run()


def test_targets_sql_and_model_agree(store, tmp_path):
    no_plugins()
    _check(store, tmp_path, "targets", dbsj.Target, "uscc", TARGETS)


def test_inspectors_sql_and_model_agree(store, tmp_path):
    no_plugins()
    _check(store, tmp_path, "inspectors", dbsj.Inspector, "staff_id", INSPECTORS)


def test_items_sql_and_model_agree(store, tmp_path):
    no_plugins()
    _check(store, tmp_path, "items", dbsj.Item, "code", ITEMS)
