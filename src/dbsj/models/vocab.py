"""Closed vocabularies of the domain (design §2, §7). Values are the Chinese terms used in agency data."""

from __future__ import annotations

from enum import StrEnum

__all__ = [
    "EntityKind",
    "RegistrationStatus",
    "CreditClass",
    "ItemCategory",
    "CheckMethod",
    "ResultCode",
    "Disposition",
    "InspectorStatus",
    "TaskMode",
    "PROBLEM_CODES",
    "STATUS_CODES",
    "INACTIVE_STATUSES",
    "XINJIANG_PREFECTURES",
    "DEPARTMENTS",
]


class EntityKind(StrEnum):
    """市场主体类型."""

    ENTERPRISE = "企业"
    INDIVIDUAL = "个体工商户"
    COOPERATIVE = "农民专业合作社"
    FOREIGN_OFFICE = "外国企业常驻代表机构"
    BRANCH = "分支机构"
    OTHER = "其他"


class RegistrationStatus(StrEnum):
    """登记状态."""

    EXISTING = "存续"
    OPERATING = "在业"
    REVOKED = "吊销"
    DEREGISTERED = "注销"
    MOVED_OUT = "迁出"
    CANCELLED = "撤销"
    SUSPENDED = "停业"
    LIQUIDATING = "清算"


#: Statuses that make a target ineligible for routine draws by default.
INACTIVE_STATUSES = frozenset({"吊销", "注销", "迁出", "撤销"})


class CreditClass(StrEnum):
    """信用风险分类: A 低, B 一般, C 较高, D 高; U 未分类 (a blank cell). Never published."""

    A = "A"
    B = "B"
    C = "C"
    D = "D"
    U = "U"


class ItemCategory(StrEnum):
    """重点检查事项 (no ratio cap) or 一般检查事项 (capped)."""

    KEY = "key"
    GENERAL = "general"


class CheckMethod(StrEnum):
    """检查方式."""

    ON_SITE = "实地"
    WRITTEN = "书面"
    DEPARTMENT_RESULTS = "部门结果或专业意见"
    TESTING = "检验检测"
    ONLINE = "网络监测"
    COMMISSIONED = "委托专业机构"


class ResultCode(StrEnum):
    """Result codes of the national enterprise credit publicity system."""

    NO_PROBLEM = "未发现问题"
    NOT_PUBLICISED = "未按规定公示应当公示的信息"
    FALSE_PUBLICITY = "公示信息隐瞒真实情况弄虚作假"
    UNREACHABLE = "通过登记的住所(经营场所)无法联系"
    OBSTRUCTION = "不配合检查情节严重"
    CORRECTED = "发现问题经责令已改正"
    NO_ACTIVITY = "未发现开展本次抽查涉及的经营活动"
    CLOSED = "已关闭停业或正在组织清算"
    DEREGISTERED = "注销"
    REVOKED = "被吊销"
    CANCELLED = "被撤销"
    MOVED_OUT = "迁出"
    OTHER_DEPARTMENT_VIOLATION = "其他部门发现的违法行为"


#: Every code but 未发现问题 and 未发现开展本次抽查涉及的经营活动 is a problem (design §10).
PROBLEM_CODES = frozenset(c.value for c in ResultCode) - {"未发现问题", "未发现开展本次抽查涉及的经营活动"}
#: Status codes, counted apart from problems found in operation.
STATUS_CODES = frozenset({"注销", "被吊销", "被撤销", "迁出", "已关闭停业或正在组织清算"})


class Disposition(StrEnum):
    """后续处置."""

    NONE = "无须处置"
    ROUTINE = "转日常监管"
    RECTIFY = "责令整改"
    CASE = "移送办案"
    NOTIFY = "抄告相关部门"


class InspectorStatus(StrEnum):
    """执法人员状态."""

    ACTIVE = "在岗"
    LEAVE = "休假"
    SECONDED = "借调"
    RETIRED = "退休"
    TRANSFERRED = "调离"


class TaskMode(StrEnum):
    """A task run by one department or jointly (部门联合)."""

    SINGLE = "single"
    JOINT = "joint"


#: The 14 prefecture-level regions of Xinjiang (GB/T 2260), design §7.
XINJIANG_PREFECTURES: dict[str, str] = {
    "650100": "乌鲁木齐市",
    "650200": "克拉玛依市",
    "650400": "吐鲁番市",
    "650500": "哈密市",
    "652300": "昌吉回族自治州",
    "652700": "博尔塔拉蒙古自治州",
    "652800": "巴音郭楞蒙古自治州",
    "652900": "阿克苏地区",
    "653000": "克孜勒苏柯尔克孜自治州",
    "653100": "喀什地区",
    "653200": "和田地区",
    "654000": "伊犁哈萨克自治州",
    "654200": "塔城地区",
    "654300": "阿勒泰地区",
}

#: Departments that take part in joint random inspections (short names used as identifiers in data).
DEPARTMENTS: tuple[str, ...] = (
    "市场监管",
    "卫生健康",
    "生态环境",
    "住房城乡建设",
    "应急管理",
    "文化和旅游",
    "商务",
    "交通运输",
    "农业农村",
    "税务",
)
