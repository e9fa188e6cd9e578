"""The map the synthetic province is drawn on: prefectures, counties (GB/T 2260) and market-supervision offices.

Weights are relative shares of market entities, not census figures: roughly population scaled by how
commercial a region is, so Urumqi carries the most entities although Kashgar has more people.
"""

from __future__ import annotations

from typing import NamedTuple

__all__ = ["Prefecture", "County", "PREFECTURES", "COUNTIES", "OFFICE_PLACES", "offices_of"]


class Prefecture(NamedTuple):
    code: str
    name: str
    short: str  # how enterprise names open ("乌鲁木齐" + 字号 …)
    weight: int  # relative share of entities, per mille of the province


class County(NamedTuple):
    code: str
    name: str
    prefecture: str
    weight: int  # relative share within its prefecture
    offices: int  # market-supervision offices (市场监督管理所): the beats


# 659000 is not a prefecture: it groups the county-level cities directly under the region (6590xx),
# which stand alone as strata (design §10).
PREFECTURES: tuple[Prefecture, ...] = (
    Prefecture("650100", "乌鲁木齐市", "乌鲁木齐", 230),
    Prefecture("650200", "克拉玛依市", "克拉玛依", 30),
    Prefecture("650400", "吐鲁番市", "吐鲁番", 28),
    Prefecture("650500", "哈密市", "哈密", 32),
    Prefecture("652300", "昌吉回族自治州", "昌吉", 80),
    Prefecture("652700", "博尔塔拉蒙古自治州", "博乐", 22),
    Prefecture("652800", "巴音郭楞蒙古自治州", "巴州", 70),
    Prefecture("652900", "阿克苏地区", "阿克苏", 95),
    Prefecture("653000", "克孜勒苏柯尔克孜自治州", "克州", 20),
    Prefecture("653100", "喀什地区", "喀什", 130),
    Prefecture("653200", "和田地区", "和田", 65),
    Prefecture("654000", "伊犁哈萨克自治州", "伊犁", 105),
    Prefecture("654200", "塔城地区", "塔城", 38),
    Prefecture("654300", "阿勒泰地区", "阿勒泰", 30),
    Prefecture("659000", "自治区直辖县级行政区划", "新疆", 25),
)


def _c(code: str, name: str, weight: int = 1, offices: int = 3) -> County:
    pref = code[:4] + "00"
    return County(code, name, pref, weight, offices)


COUNTIES: tuple[County, ...] = (
    _c("650102", "天山区", 6, 6), _c("650103", "沙依巴克区", 6, 6), _c("650104", "新市区", 6, 6),
    _c("650105", "水磨沟区", 4, 5), _c("650106", "头屯河区", 3, 4), _c("650107", "达坂城区", 1, 2),
    _c("650109", "米东区", 3, 4), _c("650121", "乌鲁木齐县", 1, 2),
    _c("650202", "独山子区", 2, 2), _c("650203", "克拉玛依区", 5, 4), _c("650204", "白碱滩区", 1, 2),
    _c("650205", "乌尔禾区", 1, 2),
    _c("650402", "高昌区", 4, 4), _c("650421", "鄯善县", 2, 3), _c("650422", "托克逊县", 1, 2),
    _c("650502", "伊州区", 5, 5), _c("650521", "巴里坤哈萨克自治县", 1, 2), _c("650522", "伊吾县", 1, 2),
    _c("652301", "昌吉市", 5, 5), _c("652302", "阜康市", 2, 3), _c("652323", "呼图壁县", 2, 3),
    _c("652324", "玛纳斯县", 2, 3), _c("652325", "奇台县", 2, 3), _c("652327", "吉木萨尔县", 1, 3),
    _c("652328", "木垒哈萨克自治县", 1, 2),
    _c("652701", "博乐市", 4, 4), _c("652702", "阿拉山口市", 1, 2), _c("652722", "精河县", 2, 3),
    _c("652723", "温泉县", 1, 2),
    _c("652801", "库尔勒市", 8, 6), _c("652822", "轮台县", 1, 3), _c("652823", "尉犁县", 1, 2),
    _c("652824", "若羌县", 1, 2), _c("652825", "且末县", 1, 2), _c("652826", "焉耆回族自治县", 2, 3),
    _c("652827", "和静县", 2, 3), _c("652828", "和硕县", 1, 2), _c("652829", "博湖县", 1, 2),
    _c("652901", "阿克苏市", 6, 5), _c("652902", "库车市", 4, 4), _c("652922", "温宿县", 2, 3),
    _c("652924", "沙雅县", 2, 3), _c("652925", "新和县", 1, 2), _c("652926", "拜城县", 2, 3),
    _c("652927", "乌什县", 1, 2), _c("652928", "阿瓦提县", 2, 3), _c("652929", "柯坪县", 1, 2),
    _c("653001", "阿图什市", 3, 3), _c("653022", "阿克陶县", 2, 3), _c("653023", "阿合奇县", 1, 2),
    _c("653024", "乌恰县", 1, 2),
    _c("653101", "喀什市", 6, 5), _c("653121", "疏附县", 2, 3), _c("653122", "疏勒县", 2, 3),
    _c("653123", "英吉沙县", 1, 2), _c("653124", "泽普县", 1, 2), _c("653125", "莎车县", 4, 4),
    _c("653126", "叶城县", 2, 3), _c("653127", "麦盖提县", 1, 2), _c("653128", "岳普湖县", 1, 2),
    _c("653129", "伽师县", 2, 3), _c("653130", "巴楚县", 2, 3), _c("653131", "塔什库尔干塔吉克自治县", 1, 2),
    _c("653201", "和田市", 4, 4), _c("653221", "和田县", 2, 3), _c("653222", "墨玉县", 3, 3),
    _c("653223", "皮山县", 2, 2), _c("653224", "洛浦县", 2, 3), _c("653225", "策勒县", 1, 2),
    _c("653226", "于田县", 2, 2), _c("653227", "民丰县", 1, 2),
    _c("654002", "伊宁市", 6, 5), _c("654003", "奎屯市", 3, 3), _c("654004", "霍尔果斯市", 2, 2),
    _c("654021", "伊宁县", 2, 3), _c("654022", "察布查尔锡伯自治县", 1, 3), _c("654023", "霍城县", 2, 3),
    _c("654024", "巩留县", 1, 2), _c("654025", "新源县", 2, 3), _c("654026", "昭苏县", 1, 2),
    _c("654027", "特克斯县", 1, 2), _c("654028", "尼勒克县", 1, 2),
    _c("654201", "塔城市", 3, 3), _c("654202", "乌苏市", 3, 3), _c("654203", "沙湾市", 2, 3),
    _c("654221", "额敏县", 2, 3), _c("654224", "托里县", 1, 2), _c("654225", "裕民县", 1, 2),
    _c("654226", "和布克赛尔蒙古自治县", 1, 2),
    _c("654301", "阿勒泰市", 4, 3), _c("654321", "布尔津县", 1, 2), _c("654322", "富蕴县", 1, 2),
    _c("654323", "福海县", 1, 2), _c("654324", "哈巴河县", 1, 2), _c("654325", "青河县", 1, 2),
    _c("654326", "吉木乃县", 1, 2),
    _c("659001", "石河子市", 5, 4), _c("659002", "阿拉尔市", 2, 2), _c("659003", "图木舒克市", 1, 2),
    _c("659004", "五家渠市", 2, 2), _c("659005", "北屯市", 1, 2), _c("659006", "铁门关市", 1, 2),
    _c("659007", "双河市", 1, 2), _c("659008", "可克达拉市", 1, 2), _c("659009", "昆玉市", 1, 2),
    _c("659010", "胡杨河市", 1, 2),
)

#: Place words that name a county's market-supervision offices, in order (first k are used).
OFFICE_PLACES: tuple[str, ...] = ("城关", "城东", "城西", "城南", "城北", "开发区")


def offices_of(county: County) -> tuple[str, ...]:
    """The names of a county's market-supervision offices (its beats), e.g. 天山区市场监督管理局城关市场监督管理所."""
    return tuple(f"{county.name}市场监督管理局{p}市场监督管理所" for p in OFFICE_PLACES[: county.offices])


def authority_of(county: County) -> str:
    """The registration authority (登记机关) of a county."""
    return f"{county.name}市场监督管理局"


def full_county_name(county: County) -> str:
    """A county's name with its prefecture (天山区 → 乌鲁木齐市天山区) for text that leaves the province."""
    pref = next(p for p in PREFECTURES if p.code == county.prefecture)
    return county.name if county.prefecture == "659000" else pref.name + county.name


def _check() -> None:
    codes = [c.code for c in COUNTIES]
    assert len(codes) == len(set(codes))
    prefs = {p.code for p in PREFECTURES}
    assert all(c.prefecture in prefs for c in COUNTIES)
    assert all(any(c.prefecture == p for c in COUNTIES) for p in prefs)


_check()
