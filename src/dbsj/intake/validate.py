"""Set-wise validation: SQL turns staged text rows into typed canonical rows or quarantine reasons.

Nothing here loops over rows in Python. Each canonical column has a *kind* (text, code, date, boolean,
closed vocabulary, list) that decides how its text is normalised, parsed and checked; every failed check
contributes the field (the header as found in the file) and a reason (Chinese / English) to the row.
A row that fails no check is accepted. Duplicate keys are found by grouping on the normalised key: the
first occurrence stays, later ones are quarantined naming the first. A first pass types and flags every
row; a second renders fields and reasons for the flagged rows only.

The USCC check digit (GB 32100) is the DuckDB macro ``dbsj_uscc_valid(code)``, defined per connection
by :func:`install_macros`.
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
import unicodedata
from collections.abc import Mapping
from importlib import resources

import attrs

from dbsj.models.columns import columns_of
from dbsj.models.pools import MAX_CELL_CHARS
from dbsj.models.vocab import CheckMethod, CreditClass, EntityKind, InspectorStatus, ItemCategory, RegistrationStatus

__all__ = ["install_macros", "checked_table_sql", "load_regions", "unsafe_class", "TEXT_CONTROLS_RE2", "SHOWN_CHARS",
           "USCC_ALPHABET", "USCC_WEIGHTS", "FULLWIDTH", "HALFWIDTH"]

USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)

# Full-width forms U+FF01..U+FF5E, the ideographic space and NBSP fold exactly as NFKC folds them.
FULLWIDTH = "".join(chr(c) for c in range(0xFF01, 0xFF5F)) + "\u3000\u00a0"
HALFWIDTH = "".join(chr(c - 0xFEE0) for c in range(0xFF01, 0xFF5F)) + "  "
_TRIM = " \t\r\n\u3000\u00a0\ufeff"


def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


#: dbsj.models.pools.TEXT_CONTROLS in RE2 syntax (free text: controls but tab and line breaks, bidi controls).
TEXT_CONTROLS_RE2 = "[\\x{0}-\\x{8}\\x{B}\\x{C}\\x{E}-\\x{1F}\\x{7F}-\\x{9F}\\x{202A}-\\x{202E}\\x{2066}-\\x{2069}]"
#: How much of a value a quarantine reason repeats.
SHOWN_CHARS = 200


@functools.lru_cache(maxsize=1)
def unsafe_class() -> str:
    """An RE2 character class of exactly the characters ``dbsj._filenames.unsafe_characters`` names
    (computed from the same Unicode database, so SQL and Python agree; surrogates cannot occur in UTF-8)."""
    ranges: list[tuple[int, int]] = []
    for cp in range(0x110000):
        if 0xD800 <= cp <= 0xDFFF:
            continue
        ch = chr(cp)
        if unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp", "Co", "Cn", "Cs"):
            if ranges and ranges[-1][1] == cp - 1:
                ranges[-1] = (ranges[-1][0], cp)
            else:
                ranges.append((cp, cp))
    return "[" + "".join(f"\\x{{{a:X}}}" if a == b else f"\\x{{{a:X}}}-\\x{{{b:X}}}" for a, b in ranges) + "]"


def install_macros(con) -> None:  # noqa: ANN001 - duckdb connection
    """Define the intake macros on a DuckDB connection (temporary, per connection)."""
    unsafe = _lit(unsafe_class())
    text = _lit(TEXT_CONTROLS_RE2)
    shown = _lit("[\\p{Cc}\\p{Cf}\\p{Co}\\p{Zl}\\p{Zp}]")
    con.execute(f"""
CREATE OR REPLACE TEMP MACRO dbsj_unsafe(s) AS regexp_matches(s, {unsafe});
CREATE OR REPLACE TEMP MACRO dbsj_text_unsafe(s) AS regexp_matches(s, {text});
CREATE OR REPLACE TEMP MACRO dbsj_points(s, cls) AS
    array_to_string(list_transform(list_distinct(regexp_extract_all(s, cls)), lambda c: printf('U+%04X', unicode(c))), ', ');
-- For display only (the decision is dbsj_unsafe): Unicode's control, format and private-use categories.
CREATE OR REPLACE TEMP MACRO dbsj_unsafe_points(s) AS dbsj_points(s, '[\\p{{Cc}}\\p{{Cf}}\\p{{Co}}\\p{{Zl}}\\p{{Zp}}]');
CREATE OR REPLACE TEMP MACRO dbsj_text_points(s) AS dbsj_points(s, {text});
-- A value repeated in a reason: unsafe characters shown as U+FFFD, long values cut.
CREATE OR REPLACE TEMP MACRO dbsj_shown(s) AS
    CASE WHEN length(s) > {SHOWN_CHARS} THEN left(regexp_replace(s, {shown}, '\ufffd', 'g'), {SHOWN_CHARS}) || '…'
         ELSE regexp_replace(s, {shown}, '\ufffd', 'g') END;
""")
    terms = " + ".join(f"(instr({_lit(USCC_ALPHABET)}, substr(s, {i + 1}, 1)) - 1) * {w}"
                       for i, w in enumerate(USCC_WEIGHTS))
    con.execute(f"""
CREATE OR REPLACE TEMP MACRO dbsj_uscc_valid(s) AS (
    coalesce(length(s) = 18 AND regexp_full_match(s, '[0-9]{{8}}[0-9A-HJ-NP-RTUWXY]{{10}}')
             AND substr({_lit(USCC_ALPHABET)}, ((31 - (({terms}) % 31)) % 31) + 1, 1) = substr(s, 18, 1), false)
)""")


def load_regions() -> list[tuple[str, str, str]]:
    """The shipped region table (``src/dbsj/data/regions.csv``): (code, name, level)."""
    text = resources.files("dbsj").joinpath("data/regions.csv").read_text(encoding="utf-8")
    return [(r["code"], r["name"], r["level"]) for r in csv.DictReader(text.splitlines())]


# -- closed vocabularies with the spellings met in exports ---------------------------------------

ENTITY_KINDS: dict[str, str] = {e.value: e.value for e in EntityKind} | {
    "个体": "个体工商户", "个体户": "个体工商户", "合作社": "农民专业合作社", "农民专业合作社联合社": "农民专业合作社",
    "外国(地区)企业常驻代表机构": "外国企业常驻代表机构", "外国企业代表机构": "外国企业常驻代表机构",
    "分公司": "分支机构", "公司": "企业", "有限责任公司": "企业", "股份有限公司": "企业",
    "个人独资企业": "企业", "合伙企业": "企业",
}
# Spelled-out company types ("有限责任公司(自然人投资或控股)") classify by what they contain, in this order.
ENTITY_PATTERNS: tuple[tuple[str, str], ...] = (
    ("%代表机构%", "外国企业常驻代表机构"), ("%分公司%", "分支机构"), ("%分支机构%", "分支机构"),
    ("%个体%", "个体工商户"), ("%合作社%", "农民专业合作社"), ("%公司%", "企业"), ("%企业%", "企业"), ("%合伙%", "企业"),
)
STATUSES: dict[str, str] = {s.value: s.value for s in RegistrationStatus} | {
    "在营": "存续", "开业": "存续", "在册": "存续", "正常": "存续", "存续（在营、开业、在册）": "存续",
    "已注销": "注销", "吊销，未注销": "吊销", "吊销,未注销": "吊销", "吊销未注销": "吊销", "已吊销": "吊销",
    "已迁出": "迁出", "已撤销": "撤销", "歇业": "停业", "清算中": "清算",
}
STATUS_PATTERNS: tuple[tuple[str, str], ...] = (
    ("存续%", "存续"), ("在业%", "在业"), ("吊销%", "吊销"), ("注销%", "注销"), ("迁出%", "迁出"), ("撤销%", "撤销"),
)
CREDIT_CLASSES: dict[str, str] = {
    **{f"{c}{s}": c for c in "ABCD" for s in ("", "类", "级")},
    "低": "A", "低风险": "A", "一般": "B", "一般风险": "B", "较高": "C", "较高风险": "C", "高": "D", "高风险": "D",
    "U": CreditClass.U.value, "未分类": "U", "未分级": "U", "暂未分类": "U",
}
CATEGORIES: dict[str, str] = {
    ItemCategory.KEY.value: "key", ItemCategory.GENERAL.value: "general",
    "重点": "key", "重点事项": "key", "重点检查事项": "key", "是": "key",
    "一般": "general", "一般事项": "general", "一般检查事项": "general", "否": "general",
}
METHODS: dict[str, str] = {m.value: m.value for m in CheckMethod} | {
    f"{m.value}检查": m.value for m in CheckMethod if m.value in ("实地", "书面")}
INSPECTOR_STATUSES: dict[str, str] = {s.value: s.value for s in InspectorStatus} | {"在职": "在岗", "正常": "在岗"}
BOOLEANS: dict[str, str] = {"是": "true", "否": "false", "y": "true", "n": "false", "yes": "true", "no": "false",
                            "true": "true", "false": "false", "t": "true", "f": "false", "1": "true", "0": "false"}


def _map_sql(x: str, table: Mapping[str, str], patterns: tuple[tuple[str, str], ...] = ()) -> str:
    # In insertion order: canonical values come first, so most rows match within the first few WHENs.
    whens = " ".join(f"WHEN {_lit(k)} THEN {_lit(v)}" for k, v in table.items())
    pats = " ".join(f"WHEN {x} LIKE {_lit(p)} THEN {_lit(v)}" for p, v in patterns)
    inner = f"CASE {x} {whens} END"
    return f"coalesce({inner}, CASE {pats} END)" if patterns else inner


# -- column kinds ---------------------------------------------------------------------------------

@attrs.frozen
class Spec:
    """How one canonical column is read: ``kind`` and its options."""

    kind: str  # text | code | date | bool | enum | list
    upper: bool = False
    uscc: bool = False
    region: bool = False
    future_ok: bool = False
    vocab: Mapping[str, str] | None = None
    patterns: tuple[tuple[str, str], ...] = ()
    fold_case: str | None = None  # "upper" / "lower" before a vocabulary lookup
    default: str | None = None  # SQL literal used when blank
    element: str = "text"  # list element kind: text | code | enum
    vocab_name: str = ""


SPECS: dict[str, dict[str, Spec]] = {
    "items": {
        "code": Spec("code"),
        "name": Spec("text"), "department": Spec("text"), "basis": Spec("text"), "subject": Spec("text"),
        "target_kinds": Spec("list", element="enum", vocab=ENTITY_KINDS, patterns=ENTITY_PATTERNS, vocab_name="企业类型 entity kind"),
        "content": Spec("text"),
        "methods": Spec("list", element="enum", vocab=METHODS, vocab_name="检查方式 check method"),
        "category": Spec("enum", vocab=CATEGORIES, fold_case="lower", vocab_name="事项类别 key/general"),
    },
    "targets": {
        "uscc": Spec("code", upper=True, uscc=True),
        "name": Spec("text"),
        "entity_kind": Spec("enum", vocab=ENTITY_KINDS, patterns=ENTITY_PATTERNS, vocab_name="企业类型 entity kind"),
        "status": Spec("enum", vocab=STATUSES, patterns=STATUS_PATTERNS, vocab_name="登记状态 registration status"),
        "authority": Spec("text"), "office": Spec("text"),
        "region": Spec("code", region=True),
        "industry": Spec("code", upper=True),
        "established": Spec("date"),
        "credit_class": Spec("enum", vocab=CREDIT_CLASSES, fold_case="upper", default="'U'",
                             vocab_name="信用风险分类 credit class"),
        "tags": Spec("list"),
    },
    "inspectors": {
        "staff_id": Spec("code"),
        "name": Spec("text"), "department": Spec("text"), "unit": Spec("text"),
        "region": Spec("code", region=True),
        "beat": Spec("text"),
        "certificate_no": Spec("code"),
        "certificate_expiry": Spec("date", future_ok=True),
        "item_scope": Spec("list", element="code"),
        "expert": Spec("bool", default="false"),
        "status": Spec("enum", vocab=INSPECTOR_STATUSES, default="'在岗'", vocab_name="人员状态 inspector status"),
        "conflicts": Spec("list", element="code", upper=True),
    },
    "history": {
        "uscc": Spec("code", upper=True, uscc=True),
        "item_code": Spec("code"),
        "inspected_on": Spec("date"),
        "task_id": Spec("code", default="''"),
        "staff_ids": Spec("list", element="code"),
    },
}


def region_known_sql(v: str, codes: list[str]) -> str:
    """SQL: is region code ``v`` known?

    A code is known when it is in the table, or its prefecture (first four digits + ``00``) is, or —
    outside Xinjiang (65), whose prefecture list is complete — its province (first two + ``0000``) is.
    Cheapest test first: most codes are settled by their first two or four digits.
    """
    exact = sorted(set(codes))
    pref4 = sorted({c[:4] for c in codes if c.endswith("00")})
    prov2 = sorted({c[:2] for c in codes if c.endswith("0000") and not c.startswith("65")})

    def inlist(xs: list[str]) -> str:
        return ", ".join(_lit(x) for x in xs)

    return (f"((substr({v}, 1, 2) IN ({inlist(prov2)}) AND substr({v}, 1, 2) <> '65') "
            f"OR substr({v}, 1, 4) IN ({inlist(pref4)}) OR {v} IN ({inlist(exact)}))")


def _edge_ok(ch: str) -> str:
    return f"({ch} > 32 AND {ch} NOT IN (160, 12288, 65279))"


def _trim(x: str) -> str:
    # trim() with a character set is slow; most cells have nothing to trim, which two code points tell.
    plain = f"({x} = '' OR ({_edge_ok(f'ascii({x})')} AND {_edge_ok(f'ascii(right({x}, 1))')}))"
    return f"nullif(CASE WHEN {plain} THEN {x} ELSE trim({x}, {_lit(_TRIM)}) END, '')"


def _fold(x: str) -> str:
    # Guarded: translate() is costly, and few cells hold a full-width character.
    return (f"CASE WHEN regexp_matches({x}, '[\\x{{FF01}}-\\x{{FF5E}}\\x{{3000}}\\x{{00A0}}]') "
            f"THEN translate({x}, {_lit(FULLWIDTH)}, {_lit(HALFWIDTH)}) ELSE {x} END")


def _code(x: str, upper: bool) -> str:
    body = f"replace(replace(replace(replace({_fold(x)}, ' ', ''), chr(9), ''), chr(10), ''), chr(13), '')"
    return f"nullif({'upper(' + body + ')' if upper else body}, '')"


def _date_text(t: str) -> str:
    """Date text folded to half-width, a trailing time of day dropped."""
    f = _fold(t)
    return (f"CASE WHEN contains({f}, ':') THEN regexp_replace({f}, '[ T]\\d{{1,2}}:\\d{{2}}(:\\d{{2}}(\\.\\d+)?)?$', '') "
            f"ELSE {f} END")


def _date(d: str) -> str:
    """Parse prepared date text: 2023-01-05, 2023/1/5, 2023.1.5, 2023年1月5日, 20230105, Excel serial numbers."""
    dashed = f"replace(replace(replace(replace(replace({d}, '/', '-'), '.', '-'), '年', '-'), '月', '-'), '日', '')"
    return (f"CASE WHEN length({d}) = 8 AND regexp_full_match({d}, '\\d{{8}}') THEN CAST(try_strptime({d}, '%Y%m%d') AS DATE) "
            f"WHEN length({d}) <= 7 AND regexp_full_match({d}, '\\d{{5}}(\\.0+)?') "
            f"THEN DATE '1899-12-30' + CAST(CAST({d} AS DOUBLE) AS INTEGER) "
            f"ELSE CAST(try_strptime({dashed}, '%Y-%m-%d') AS DATE) END")


def _split(t: str) -> str:
    """A list cell split into trimmed, non-empty elements: by ``|``, or else by 、 ; ； , ，."""
    ws = "[\\s\\x{3000}\\x{00a0}]*"
    joined = (f"CASE WHEN contains({t}, '|') THEN regexp_replace({t}, '{ws}\\|{ws}', '|', 'g') "
              f"ELSE regexp_replace({t}, '{ws}[、;；,，]{ws}', '|', 'g') END")
    return f"string_split(nullif(trim(regexp_replace({joined}, '\\|+', '|', 'g'), '|'), ''), '|')"


def _fold_case(x: str, how: str | None) -> str:
    return f"{how}({x})" if how else x


@attrs.frozen
class Check:
    cond: str  # SQL, true when the row fails
    field: str  # header as found (or canonical name)
    zh: str  # SQL string expression
    en: str


def checked_table_sql(kind: str, table: str, raw_table: str, raw_of: Mapping[str, str | None],
                      header_of: Mapping[str, str], today: dt.date, region_codes: list[str],
                      max_cell_chars: int = MAX_CELL_CHARS) -> tuple[str, str]:
    """Two statements: ``table`` (every row: ``_row``, ``_norm``, the typed canonical columns, ``_bad``)
    and ``table_reasons`` (failing rows only: ``_row``, ``_field``, ``_reason``).

    ``raw_of`` maps each canonical column to its staged text column (or ``None`` when the file lacks
    it); ``header_of`` names the header the clerk sees for each column. The statement works in
    layers, each carrying only what the next needs, so that each value is computed once: trimmed text
    ``t_*`` (and normalised codes), prepared text ``d_*`` and parsed values ``v_*`` (before defaults),
    the typed canonical columns, then duplicates (an aggregate, not a window) and the checks. Reasons
    are rendered only for rows that fail a check.
    """
    cols = columns_of(kind)
    specs = SPECS[kind]
    today_sql = f"DATE '{today.isoformat()}'"
    l1: list[str] = []  # from the raw table
    l2: list[str] = []  # from l1
    l3: list[str] = []  # from l2
    final: list[str] = []
    carry_t = [f"t_{c.name}" for c in cols]
    checks: list[Check] = []
    norms: list[str] = []

    for c in cols:
        spec = specs[c.name]
        raw = f'"{raw_of[c.name]}"' if raw_of.get(c.name) else "CAST(NULL AS VARCHAR)"
        field = header_of.get(c.name, c.name)
        t, v = f"t_{c.name}", f"v_{c.name}"
        l1.append(f"{_trim(raw)} AS {t}")
        zh, en = c.zh, c.name
        checks.append(Check(f"(length({t}) > {int(max_cell_chars)})", field,
                            f"'{zh}过长（' || length({t}) || ' 个字符，上限 {int(max_cell_chars)}）'",
                            f"'{en} is too long (' || length({t}) || ' characters, the limit is {int(max_cell_chars)})'"))
        if spec.kind == "code" or (spec.kind == "list" and spec.element == "code"):
            # Ids and codes: no control, bidi, zero-width or other invisible character (dbsj._filenames rule).
            # Computed once per row into u_<column>: the exact character class is large to compile.
            l1.append(f"coalesce(dbsj_unsafe({_trim(raw)}), false) AS u_{c.name}")
            carry_t.append(f"u_{c.name}")
            checks.append(Check(f"u_{c.name}", field,
                                f"'{zh}含有控制或不可见字符（' || dbsj_unsafe_points({t}) || '）'",
                                f"'{en} contains control or invisible characters (' || dbsj_unsafe_points({t}) || ')'"))
        elif spec.kind in ("text", "list"):
            checks.append(Check(f"dbsj_text_unsafe({t})", field,
                                f"'{zh}含有控制字符或双向文本控制符（' || dbsj_text_points({t}) || '）'",
                                f"'{en} contains control or bidi control characters (' || dbsj_text_points({t}) || ')'"))
        if spec.kind == "text":
            l2.append(f"{t} AS {v}")
        elif spec.kind == "code":
            l1.append(f"{_code(raw, spec.upper)} AS {v}")
            l1.append(f"{raw} AS r_{c.name}")
            l2.append(v)
            l2.append(f"r_{c.name}")
            norms.append(f"(r_{c.name} IS NOT NULL AND {v} IS NOT NULL AND r_{c.name} <> {v})")
        elif spec.kind == "date":
            l2.append(f"{_date_text(t)} AS d_{c.name}")
            l3.append(f"{_date(f'd_{c.name}')} AS {v}")
            checks.append(Check(f"({t} IS NOT NULL AND {v} IS NULL)", field,
                                f"'{zh}无法识别为日期: ' || dbsj_shown({t})", f"'{en} is not a date: ' || dbsj_shown({t})"))
            checks.append(Check(f"(year({v}) < 1900)", field,
                                f"'{zh}早于 1900 年，不可能: ' || dbsj_shown({t})", f"'{en} before 1900 is impossible: ' || dbsj_shown({t})"))
            if not spec.future_ok:
                checks.append(Check(f"({v} > {today_sql})", field,
                                    f"'{zh}晚于今天（{today.isoformat()}）: ' || dbsj_shown({t})",
                                    f"'{en} is in the future (after {today.isoformat()}): ' || dbsj_shown({t})"))
        elif spec.kind == "bool":
            l2.append(f"CAST({_map_sql('lower(' + t + ')', BOOLEANS)} AS BOOLEAN) AS {v}")
            checks.append(Check(f"({t} IS NOT NULL AND {v} IS NULL)", field,
                                f"'{zh}应为 是/否: ' || dbsj_shown({t})", f"'{en} must be yes/no (是/否, Y/N, true/false, 1/0): ' || dbsj_shown({t})"))
        elif spec.kind == "enum":
            l2.append(f"{_map_sql(_fold_case(t, spec.fold_case), spec.vocab or {}, spec.patterns)} AS {v}")
            checks.append(Check(f"({t} IS NOT NULL AND {v} IS NULL)", field,
                                f"'未知的{zh}: ' || dbsj_shown({t})", f"'unknown {en}: ' || dbsj_shown({t})"))
        elif spec.kind == "list":
            parts = _split(t)
            if spec.element == "code":
                value = f"list_transform({parts}, lambda _e: {_code('_e', spec.upper)})"
                norms.append(f"({t} IS NOT NULL AND array_to_string({v}, '|') <> array_to_string({parts}, '|'))")
            elif spec.element == "enum":
                value = f"list_transform({parts}, lambda _e: {_map_sql('_e', spec.vocab or {}, spec.patterns)})"
                checks.append(Check(f"(len(list_filter({v}, lambda _e: _e IS NULL)) > 0)", field,
                                    f"'{zh}含未知值: ' || dbsj_shown({t})", f"'{en} holds an unknown value: ' || dbsj_shown({t})"))
            else:
                value = parts
            l2.append(f"CASE WHEN {t} IS NOT NULL THEN {value} END AS {v}")
        else:  # pragma: no cover - the spec table is closed
            raise AssertionError(spec.kind)
        if spec.kind != "date":
            l3.append(v)
        typed = f"CASE WHEN len({v}) > 0 THEN {v} END" if spec.kind == "list" else v
        if spec.default is not None:
            typed = f"coalesce({typed}, {spec.default})"
        final.append(f"CAST({typed} AS {c.sql_type}) AS {c.name}")
        if c.required:
            # a value given but unreadable is reported by its own check, not as missing
            checks.append(Check(f"({c.name} IS NULL AND {t} IS NULL)", field,
                                f"'缺少必填值: {zh}'", f"'{en} is required'"))
        if spec.uscc:
            checks.append(Check(f"({v} IS NOT NULL AND NOT dbsj_uscc_valid({v}))", field,
                                f"'统一社会信用代码校验失败（GB 32100）: ' || dbsj_shown({v})",
                                f"'invalid USCC (GB 32100 format or check digit): ' || dbsj_shown({v})"))
        if spec.region:
            known = region_known_sql(v, region_codes)
            six = f"regexp_full_match({v}, '[1-9][0-9]{{5}}')"
            checks.append(Check(f"({v} IS NOT NULL AND NOT {six})", field,
                                f"'行政区划代码应为六位数字: ' || dbsj_shown({v})", f"'region code must be six digits: ' || dbsj_shown({v})"))
            checks.append(Check(f"({v} IS NOT NULL AND {six} AND NOT {known})", field,
                                f"'未知的行政区划代码: ' || dbsj_shown({v})", f"'unknown region code: ' || dbsj_shown({v})"))

    keys = [c for c in cols if c.key]
    key_names = ", ".join(c.name for c in keys)
    key_fields = "+".join(header_of.get(c.name, c.name) for c in keys)
    not_null = " AND ".join(f"{c.name} IS NOT NULL" for c in keys)
    on = " AND ".join(f"t.{c.name} = d.{c.name}" for c in keys)
    checks.append(Check("(_dup_first IS NOT NULL AND _dup_first <> _row)", key_fields,
                        "'与第 ' || _dup_first || ' 行的键重复（保留先出现的行）'",
                        "'duplicate key of row ' || _dup_first || ' (the first occurrence is kept)'"))

    any_bad = " OR ".join(f"coalesce({k.cond}, false)" for k in checks)
    reason = ", ".join(f"CASE WHEN {k.cond} THEN {k.zh} || ' / ' || {k.en} END" for k in checks)
    fields = ", ".join(f"CASE WHEN {k.cond} THEN {_lit(k.field)} END" for k in checks)
    norm = " OR ".join(norms) if norms else "false"
    names = ", ".join(c.name for c in cols)
    vs = ", ".join(f"v_{c.name}" for c in cols)
    ts = ", ".join(carry_t)

    def chain(source: str) -> str:
        return f"""WITH l1 AS (
    SELECT _row, _shape, {', '.join(l1)} FROM {source}
), l2 AS (
    SELECT _row, _shape, {ts}, {', '.join(l2)} FROM l1
), l3 AS (
    SELECT _row, _shape, coalesce({norm}, false) AS _norm, {ts}, {', '.join(l3)} FROM l2
), typed AS MATERIALIZED (
    SELECT _row, _shape, _norm, {ts}, {vs}, {', '.join(final)} FROM l3
)"""

    # Pass 1, every row: typed values, duplicates, and whether any check fails.
    checked = f"""
CREATE OR REPLACE TEMP TABLE {table} AS
{chain(raw_table)}, dups AS (
    SELECT {key_names}, min(_row) AS _dup_first FROM typed
    WHERE {not_null} AND _shape IS NULL GROUP BY {key_names} HAVING count(*) > 1
), joined AS (
    SELECT t.*, d._dup_first FROM typed t LEFT JOIN dups d ON {on}
)
SELECT _row, _norm, {names}, _dup_first, _shape IS NOT NULL OR ({any_bad}) AS _bad FROM joined
"""
    # Pass 2, failing rows only: which fields, and why (rendering reasons for every row is costly).
    reasons = f"""
CREATE OR REPLACE TEMP TABLE {table}_reasons AS
{chain(f"(SELECT * FROM {raw_table} WHERE _row IN (SELECT _row FROM {table} WHERE _bad))")}, joined AS (
    SELECT t.*, c._dup_first FROM typed t JOIN {table} c USING (_row)
)
SELECT _row,
       -- a row with the wrong number of fields is misaligned: its other checks would only add noise
       CASE WHEN _shape IS NOT NULL THEN '_columns' ELSE concat_ws('; ', {fields}) END AS _field,
       CASE WHEN _shape IS NOT NULL THEN '字段数与表头不符（' || _shape || '） / wrong number of fields (' || _shape || ')'
            ELSE concat_ws('；', {reason}) END AS _reason
FROM joined
"""
    return checked, reasons
