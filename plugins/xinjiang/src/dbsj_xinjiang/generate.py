"""Generating the synthetic province in DuckDB SQL, streamed as Arrow record batches.

Every target row ``i`` (0 ≤ i < N) is a pure function of ``(seed, i)``: DuckDB ``hash`` of four
distinct integers derived from ``i`` and the seed gives eight 32-bit numbers; each attribute reads
one of them — through ``CASE`` thresholds or a join of its top 16 bits to a small weight table
(:func:`lookup_ranges`) built from the integer weights in :mod:`dbsj_xinjiang.catalogue`. No Python
runs per row and nothing depends on ``random`` or Python's ``hash()``, so the same options give the
same bytes in any process. (DuckDB's ``hash`` is stable within a DuckDB release; SHA-256 would be
stable across releases but costs more than the rest of the generator together.)

USCCs are unique and valid: the 8-digit organisation-code body is ``(i·48271 + offset) mod 10⁸`` (a
bijection for i < 10⁸), followed by its GB 11714 check character and the GB 32100 check character,
both computed in SQL.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
from collections.abc import Iterator, Mapping
from typing import NamedTuple

import duckdb
import pyarrow as pa

from dbsj_xinjiang import catalogue as cat
from dbsj_xinjiang.geography import COUNTIES, OFFICE_PLACES, PREFECTURES, County

__all__ = ["SyntheticOptions", "generate", "targets_sql", "DEFAULT_SEED", "DEFAULT_TARGETS", "DEFAULT_YEAR",
           "office_names", "authority_name", "county_full_name", "install_lookup_tables", "seed_number"]

DEFAULT_SEED = "dbsj-xinjiang-2023"
DEFAULT_TARGETS = 2_500_000
DEFAULT_YEAR = 2023
MAX_TARGETS = 50_000_000
BATCH_ROWS = 1 << 18

_TWO32 = 1 << 32
_USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)
_ORG_MULTIPLIER = 48271  # coprime with 10**8, so i -> (i*m + c) mod 10**8 is one-to-one


class SyntheticOptions(NamedTuple):
    """The plug-in's options (``--option targets=N`` …), checked."""

    targets: int = DEFAULT_TARGETS
    seed: str = DEFAULT_SEED
    year: int = DEFAULT_YEAR

    @classmethod
    def parse(cls, options: Mapping[str, str] | None) -> "SyntheticOptions":
        """Read ``targets``, ``seed`` and ``year`` from string options; unknown keys are an error."""
        from dbsj import PluginError

        options = dict(options or {})
        unknown = sorted(set(options) - {"targets", "seed", "year"})
        if unknown:
            raise PluginError(f"未知选项 {', '.join(unknown)}（可用: targets, seed, year）",
                              f"unknown option(s) {', '.join(unknown)} (known: targets, seed, year)", plugin="xinjiang")
        try:
            targets = int(str(options.get("targets", DEFAULT_TARGETS)).replace("_", ""))
            year = int(options.get("year", DEFAULT_YEAR))
        except ValueError:
            raise PluginError("选项 targets 和 year 应为整数", "options targets and year must be integers",
                              plugin="xinjiang") from None
        if not 0 <= targets <= MAX_TARGETS:
            raise PluginError(f"targets 应在 0 到 {MAX_TARGETS} 之间", f"targets must be between 0 and {MAX_TARGETS}",
                              plugin="xinjiang")
        if not 2000 <= year <= 2100:
            raise PluginError("year 应在 2000 到 2100 之间", "year must be between 2000 and 2100", plugin="xinjiang")
        seed = str(options.get("seed", DEFAULT_SEED))
        return cls(targets, seed, year)


# -- names the data speaks of -------------------------------------------------------------------------

def county_full_name(county: County) -> str:
    """天山区 → 乌鲁木齐市天山区; county-level cities under the region keep their own name."""
    if county.prefecture == "659000":
        return county.name
    pref = next(p for p in PREFECTURES if p.code == county.prefecture)
    return pref.name + county.name


def authority_name(county: County) -> str:
    """登记机关 of a county: its market-supervision bureau."""
    return county_full_name(county) + "市场监督管理局"


def office_names(county: County) -> tuple[str, ...]:
    """The county's market-supervision offices (市场监督管理所): 管辖单位 of targets, beats of inspectors."""
    return tuple(f"{authority_name(county)}{p}市场监督管理所" for p in OFFICE_PLACES[: county.offices])


def _name_prefix(county: County) -> str:
    """How an enterprise name opens: the city for city prefectures, else the county."""
    if county.prefecture in ("650100", "650200", "650400", "650500"):
        return next(p.short for p in PREFECTURES if p.code == county.prefecture)
    return county.name


# -- SQL building blocks ------------------------------------------------------------------------------

def _lit(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _list(values: tuple[str, ...] | list[str]) -> str:
    return "[" + ", ".join(_lit(v) for v in values) + "]"


def _pick(r: str, mix: tuple[tuple[str, int], ...], literal=_lit) -> str:
    """``CASE`` choosing a value by integer thresholds on the 32-bit number ``r``."""
    mix = tuple((v, w) for v, w in mix if w > 0)
    total = sum(w for _, w in mix)
    cum, parts = 0, []
    for value, weight in mix[:-1]:
        cum += weight
        parts.append(f"WHEN {r} < {cum * _TWO32 // total} THEN {literal(value)}")
    last = literal(mix[-1][0])
    return f"CASE {' '.join(parts)} ELSE {last} END" if parts else last


_SLOT_BITS = 16
_SLOTS = 1 << _SLOT_BITS


def _ranges(mix: list[tuple[dict, int]]) -> list[dict]:
    """Give weighted rows slot ranges ``[lo, hi)`` of 2**16 in proportion to their weights (exact integers)."""
    total = sum(w for _, w in mix)
    out, cum, lo = [], 0, 0
    for row, weight in mix:
        cum += weight
        hi = cum * _SLOTS // total
        if hi > lo:
            out.append({**row, "lo": lo, "hi": hi})
        lo = hi
    return out


@functools.lru_cache(maxsize=1)
def lookup_ranges() -> dict[str, pa.Table]:
    """The small tables target generation joins against, as slot ranges: a draw of 16 bits picks a row.

    ``xj_place``: county (weighted by prefecture share × county share) with its region, names and offices;
    ``xj_kind``: entity kind × registration status; ``xj_industry``: industry by kind group, with the words
    names take from it and the supervision tags it brings; ``xj_offices``: office names by index.
    """
    places, offices = [], []
    for p in PREFECTURES:
        members = [c for c in COUNTIES if c.prefecture == p.code]
        share = sum(c.weight for c in members)
        for c in members:
            row = {"region": c.code, "c_full": county_full_name(c), "c_prefix": _name_prefix(c),
                   "authority": authority_name(c), "n_offices": c.offices, "office0": len(offices)}
            offices.extend(office_names(c))
            # weights: prefecture per mille × county share, on a common denominator
            places.append((row, p.weight * c.weight * 10_000 // share))
    kinds = []
    for kind, kw in cat.KIND_MIX:
        statuses = cat.STATUS_MIX.get(kind, cat.STATUS_MIX["*"])
        st_total = sum(w for _, w in statuses)
        group = kind if kind in cat.INDUSTRY_MIX else "*"
        start = {"个体工商户": dt.date(2003, 1, 1), "农民专业合作社": dt.date(2008, 1, 1)}.get(kind, dt.date(1992, 1, 1))
        for status, sw in statuses:
            kinds.append(({"entity_kind": kind, "status": status, "kind_group": group,
                           "type_digit": int(cat.USCC_TYPE.get(kind, "1")), "d0": start}, kw * sw * 1000 // st_total))
    industries = []
    for group, mix in cat.INDUSTRY_MIX.items():
        rows = []
        for code, weight in mix:
            tags = cat.INDUSTRY_TAGS.get(code, ()) + ((None, 0),) * 2
            words = cat.INDUSTRY_WORDS[code]
            rows.append(({"kind_group": group, "industry": code, "ent_word": words[0], "ind_word": words[1],
                          "tag1": tags[0][0], "share1": tags[0][1], "tag2": tags[1][0], "share2": tags[1][1]}, weight))
        industries.extend(_ranges(rows))
    return {
        "xj_place": pa.Table.from_pylist(_ranges(places)),
        "xj_kind": pa.Table.from_pylist(_ranges(kinds)),
        "xj_industry": pa.Table.from_pylist(industries),
        "xj_offices": pa.Table.from_pylist([{"oi": k, "office": o} for k, o in enumerate(offices)]),
    }


def install_lookup_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Create the lookup tables on ``con``: each range row expanded to one row per slot (an equi-join key)."""
    for name, table in lookup_ranges().items():
        con.register(f"{name}_src", table)
        if "lo" in table.column_names:
            con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT * EXCLUDE (lo, hi, t.slot), t.slot "
                        f"FROM {name}_src, LATERAL (SELECT unnest(range(lo, hi)) AS slot) t")
        else:
            con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT * FROM {name}_src")
        con.unregister(f"{name}_src")


def _random_bits(key: str, n: int) -> str:
    """``n`` 32-bit numbers ``r0 …`` for row ``i``: halves of DuckDB ``hash`` over distinct integers.

    Each 64-bit hash mixes one integer ``i·4 + k + s`` (``s`` from the seed and ``key``), so the numbers of
    one row are independent of each other (hashing several arguments would only XOR their hashes).
    """
    return _random_bits_of("i", key, n)


def _random_bits_of(column: str, key: str, n: int) -> str:
    out = []
    for k in range((n + 1) // 2):
        h = f"hash({column} * 4 + {k} + $1::BIGINT + {_key_offset(key)})"
        out.append(f"({h} >> 32)::BIGINT AS r{2 * k}")
        if 2 * k + 1 < n:
            out.append(f"({h} & 4294967295)::BIGINT AS r{2 * k + 1}")
    return ", ".join(out)


def _key_offset(key: str) -> int:
    return int(hashlib.sha256(key.encode()).hexdigest()[:10], 16) << 2


def seed_number(seed: str) -> int:
    """The seed as a 48-bit integer (SHA-256 of its UTF-8), the ``$1`` of the generating SQL."""
    return int(hashlib.sha256(seed.encode("utf-8")).hexdigest()[:12], 16) << 8


def _chars(r: str, chars: tuple[str, ...]) -> str:
    """One character of ``chars`` chosen by ``r mod len(chars)`` (substr on a constant string: no per-row list)."""
    return f"substr({_lit(''.join(chars))}, ({r} % {len(chars)})::INTEGER + 1, 1)"


def targets_sql(source: str, *, with_index: bool = False) -> str:
    """The target rows for every ``i`` of ``source`` (a relation with a BIGINT column ``i``), ordered by ``i``.

    The ``ORDER BY`` is needed: which side of a join DuckDB builds depends on its cardinality estimates,
    and the probe side's order is what survives.

    Needs :func:`install_lookup_tables` run on the connection. Parameters (positional): ``$1`` :func:`seed_number`,
    ``$2`` the last possible established date.
    """
    coop_word = "CASE industry WHEN 'A01' THEN '种植' WHEN 'A03' THEN '养殖' WHEN 'C13' THEN '农产品加工' ELSE '农机服务' END"
    b1, b2 = cat.BRAND_CHARS_1, cat.BRAND_CHARS_2
    nb = len(b1) * len(b2)
    foreign = ("哈萨克斯坦", "吉尔吉斯斯坦", "俄罗斯", "巴基斯坦", "土耳其")
    foreign_case = "CASE choice % 5 " + " ".join(f"WHEN {k} THEN {_lit(f)}" for k, f in enumerate(foreign)) + " END"
    name = f"""CASE entity_kind
        WHEN '个体工商户' THEN c_full || brand || ind_word
        WHEN '农民专业合作社' THEN c_prefix || brand || ({coop_word}) || '农民专业合作社'
        WHEN '分支机构' THEN CASE WHEN choice < 30 THEN '新疆' ELSE c_prefix END || brand || ent_word
             || '有限公司' || c_full || '分公司'
        WHEN '外国企业常驻代表机构' THEN ({foreign_case}) || brand || '贸易有限公司乌鲁木齐代表处'
        WHEN '其他' THEN c_prefix || brand || ent_word || '中心（有限合伙）'
        ELSE CASE WHEN choice < 15 THEN '新疆' ELSE c_prefix END || brand || ent_word
             || CASE WHEN choice % 10 = 9 THEN '股份有限公司' ELSE '有限公司' END
      END"""
    (t1, s1), (t2, s2) = cat.COMMON_TAGS
    tags = (f"list_filter([CASE WHEN r6 % 1000 < share1 THEN tag1 END, CASE WHEN (r6 // 1000) % 1000 < share2 THEN tag2 END,"
            f" CASE WHEN r5 % 1000 < {s1} THEN {_lit(t1)} END, CASE WHEN (r5 // 1000) % 1000 < {s2} THEN {_lit(t2)} END],"
            f" lambda x: x IS NOT NULL)")
    established = f"(d0 + floor(datediff('day', d0, $2::DATE) * sqrt(r6 / {float(_TWO32)!r}))::INTEGER)"
    offset = "($1::BIGINT % 100000000)"
    w = _USCC_WEIGHTS
    org_sum = " + ".join(f"((org // {10 ** (7 - k)}) % 10) * {wk}" for k, wk in enumerate(_ORG_WEIGHTS))
    reg_sum = " + ".join(f"((reg // {10 ** (5 - k)}) % 10) * {w[2 + k]}" for k in range(6))
    org_sum_u = " + ".join(f"((org // {10 ** (7 - k)}) % 10) * {w[8 + k]}" for k in range(8))
    return f"""
WITH r AS (SELECT i, {_random_bits('target', 8)} FROM {source}),
b AS (
  SELECT i, r5, r6, p.region, p.c_full, p.c_prefix, p.authority,
         k.entity_kind, k.status, k.kind_group, k.type_digit, k.d0, {_pick('r5', cat.CREDIT_MIX)} AS credit_class,
         r4 >> {32 - _SLOT_BITS} AS islot,
         ((i * {_ORG_MULTIPLIER} + {offset}) % 100000000) AS org,
         {_chars('r7', b1)} || {_chars(f'(r7 // {len(b1)})', b2)} AS brand,
         ((r7 // {nb}) % 100) AS choice,
         p.office0 + (r3 % p.n_offices) AS oi
  FROM r
  JOIN xj_place p ON p.slot = r0 >> {32 - _SLOT_BITS}
  JOIN xj_kind k ON k.slot = r2 >> {32 - _SLOT_BITS}),
c AS (
  SELECT b.*, n.industry, n.ent_word, n.ind_word, n.tag1, n.share1, n.tag2, n.share2, o.office,
         region::INTEGER AS reg, 11 - ({org_sum}) % 11 AS c9
  FROM b JOIN xj_industry n ON n.kind_group = b.kind_group AND n.slot = b.islot
  JOIN xj_offices o ON o.oi = b.oi),
d AS (
  SELECT c.*,
         CASE c9 WHEN 10 THEN 'X' WHEN 11 THEN '0' ELSE c9::VARCHAR END AS c9_char,
         (9 * {w[0]} + type_digit * {w[1]} + {reg_sum} + {org_sum_u}
          + (CASE c9 WHEN 10 THEN {_USCC_ALPHABET.index('X')} WHEN 11 THEN 0 ELSE c9 END) * {w[16]}) AS total
  FROM c)
SELECT {"i, " if with_index else ""}'9' || type_digit::VARCHAR || region || lpad(org::VARCHAR, 8, '0') || c9_char
         || substr('{_USCC_ALPHABET}', ((31 - total % 31) % 31)::INTEGER + 1, 1) AS uscc,
       {name} AS name,
       entity_kind, status, authority, office, region, industry,
       {established} AS established,
       credit_class,
       {tags} AS tags
FROM d
ORDER BY i
"""


def _items_table() -> pa.Table:
    rows = [
        {"code": code, "name": name, "department": dept, "basis": basis,
         "subject": f"{dept}部门", "target_kinds": list(kinds), "content": content,
         "methods": list(methods), "category": category}
        for code, name, dept, basis, kinds, content, methods, category in cat.ITEMS
    ]
    schema = pa.schema([("code", pa.string()), ("name", pa.string()), ("department", pa.string()),
                        ("basis", pa.string()), ("subject", pa.string()), ("target_kinds", pa.list_(pa.string())),
                        ("content", pa.string()), ("methods", pa.list_(pa.string())), ("category", pa.string())])
    return pa.Table.from_pylist(rows, schema=schema)


def _units_table() -> pa.Table:
    """Inspector units: one per county and department; market supervision has one per office (beat)."""
    rows = []
    for county in COUNTIES:
        full = county_full_name(county)
        for dept in cat.DEPARTMENTS:
            scope = [code for code, _n, d, *_ in cat.ITEMS if d == dept.name]
            if dept.name == "市场监管":
                for k, office in enumerate(office_names(county)):
                    rows.append({"dept": dept.name, "dept_code": dept.code, "dept_no": dept.number,
                                 "region": county.code, "unit": office, "beat": office, "unit_no": k + 1,
                                 "base": 4, "spread": 4, "scope": scope})
            else:
                rows.append({"dept": dept.name, "dept_code": dept.code, "dept_no": dept.number,
                             "region": county.code, "unit": full + dept.unit, "beat": full, "unit_no": 0,
                             "base": 2, "spread": 3, "scope": scope})
    return pa.Table.from_pylist(rows)


def inspectors_sql(targets: int) -> str:
    """Inspector rows from the ``units`` relation. Parameters: ``$1`` :func:`seed_number`, ``$2`` mid-year date."""
    status = _pick("r3", cat.INSPECTOR_STATUS_MIX)
    s, g = cat.SURNAMES, cat.GIVEN_CHARS
    person = (f"{_list(s)}[(r0 % {len(s)}) + 1] || {_list(g)}[((r0 // {len(s)}) % {len(g)}) + 1]"
              f" || CASE WHEN (r0 // {len(s) * len(g)}) % 3 = 0 THEN '' ELSE {_list(g)}[((r0 // {len(s) * len(g) * 3}) % {len(g)}) + 1] END")
    # ~5% hold a certificate that expired in the year before mid-year; the rest run 0–5 years past it.
    expiry = (f"CASE WHEN r1 % 1000 < 50 THEN $2::DATE - 1 - ((r1 // 1000) % 365)::INTEGER"
              f" ELSE $2::DATE + ((r1 // 1000) % 1826)::INTEGER END")
    conflict_pick = f"(r4 % {max(targets, 1)})"
    return f"""
WITH n AS (
  SELECT *, base + (hash((hash(unit) >> 16)::BIGINT + $1::BIGINT) % spread)::BIGINT AS n FROM units
), people AS (
  SELECT n.*, k, dept_code || region || lpad(unit_no::VARCHAR, 2, '0') || lpad((k + 1)::VARCHAR, 3, '0') AS staff_id
  FROM n, LATERAL (SELECT unnest(range(n.n)) AS k)
), r AS (
  SELECT *, {_random_bits_of("(hash(staff_id) >> 16)::BIGINT", "inspector", 6)} FROM people
)
SELECT staff_id, {person} AS name, dept AS department, unit, region, beat,
       region || dept_no || lpad(unit_no::VARCHAR, 2, '0') || lpad((k + 1)::VARCHAR, 3, '0') AS certificate_no,
       {expiry} AS certificate_expiry,
       scope AS item_scope,
       r2 % 1000 < 20 AS expert,
       {status} AS status,
       CASE WHEN {targets} > 0 AND r5 % 1000 < 10 THEN {conflict_pick} END AS conflict_i
FROM r
"""


def _stream(con: duckdb.DuckDBPyConnection, sql: str, params: list, batch_rows: int) -> Iterator[pa.RecordBatch]:
    try:
        reader = con.sql(sql, params=params or None).to_arrow_reader(batch_rows)
        yield from reader
    finally:
        con.close()


def _connect() -> duckdb.DuckDBPyConnection:
    return duckdb.connect(config={"autoinstall_known_extensions": False, "autoload_known_extensions": False,
                                  "preserve_insertion_order": True})


def generate(kind: str, options: SyntheticOptions | Mapping[str, str] | None = None, *,
             batch_rows: int = BATCH_ROWS) -> Iterator[pa.RecordBatch]:
    """Stream the synthetic ``items``, ``targets`` or ``inspectors`` as Arrow record batches (canonical columns)."""
    opts = options if isinstance(options, SyntheticOptions) else SyntheticOptions.parse(options)
    if kind == "items":
        yield from _items_table().to_batches()
        return
    con = _connect()
    install_lookup_tables(con)
    last_established = dt.date(opts.year - 1, 12, 31)
    if kind == "targets":
        sql = targets_sql(f"range({opts.targets}) t(i)")
        yield from _stream(con, sql, [seed_number(opts.seed), last_established], batch_rows)
        return
    if kind == "inspectors":
        con.register("units_arrow", _units_table())
        con.execute("CREATE TEMP TABLE units AS SELECT * FROM units_arrow")
        con.execute(f"CREATE TEMP TABLE insp AS {inspectors_sql(opts.targets)}",
                    [seed_number(opts.seed), dt.date(opts.year, 6, 30)])
        # Declared conflicts point at generated targets: recompute just those rows' USCCs.
        con.execute("CREATE TEMP TABLE picks AS SELECT DISTINCT conflict_i AS i FROM insp WHERE conflict_i IS NOT NULL")
        con.execute(f"CREATE TEMP TABLE picked AS SELECT i, uscc FROM ({targets_sql('picks', with_index=True)})",
                    [seed_number(opts.seed), last_established])
        sql = """SELECT staff_id, name, department, unit, region, beat, certificate_no, certificate_expiry,
                        item_scope, expert, status,
                        CASE WHEN p.uscc IS NULL THEN []::VARCHAR[] ELSE [p.uscc] END AS conflicts
                 FROM insp LEFT JOIN picked p ON p.i = insp.conflict_i ORDER BY staff_id"""
        yield from _stream(con, sql, [], batch_rows)
        return
    con.close()
    raise ValueError(f"unknown pool kind {kind!r}")
