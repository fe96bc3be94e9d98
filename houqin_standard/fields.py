"""Field metadata of ``houqin/monthly-report@1`` (STANDARD.md) and ``@2`` (STANDARD-v2.md): labels (zh/en),
kinds, units, enums, ranges.

One source of truth for the validator (``validate.py``), the agent's Excel template and the hub's pages.

Kinds: ``int`` (count, integer ≥ ``minimum``), ``money`` (string, 2 decimals), ``quantity`` (string,
≤ 1 decimal), ``bool``, ``enum`` (string from ``enum``), ``str`` (``minimum``/``maximum`` are its length
bounds; ``fmt`` names a special format), ``date`` (YYYY-MM-DD), ``datetime`` (ISO 8601 with offset),
``list`` (of ``enum`` values, each at most once).

``required`` is what the standard says for a complete report; the conditional cases are written out in the
validator: ``nutrition`` fields other than ``participating`` are required only when ``participating`` is true,
and the ``dormitory`` section only when ``enrollment.boarders > 0``.
"""

from __future__ import annotations

from dataclasses import dataclass

STANDARD_ID = "houqin/monthly-report@1"
#: ``houqin/monthly-report@2`` (STANDARD-v2.md): @1 plus four sections.
STANDARD_ID_2 = "houqin/monthly-report@2"
#: Every version the hub accepts, oldest first; a version number is its index + 1.
STANDARDS: tuple[str, ...] = (STANDARD_ID, STANDARD_ID_2)

KINDS = frozenset({"int", "money", "quantity", "bool", "enum", "str", "date", "datetime", "list", "tasks"})

# Counts fit a 32-bit signed INTEGER column on the hub.
MAX_COUNT = 2_147_483_647

ENUM_LABELS: dict[str, dict[str, tuple[str, str]]] = {
    "school_type": {
        "kindergarten": ("幼儿园", "Kindergarten"),
        "primary": ("小学", "Primary school"),
        "junior": ("初中", "Junior secondary school"),
        "nine_year": ("九年一贯制", "Nine-year school"),
        "senior": ("高中", "Senior secondary school"),
        "complete_secondary": ("完全中学", "Complete secondary school"),
        "teaching_point": ("教学点", "Teaching point"),
    },
    "campus_status": {
        "compliant": ("达标", "Compliant"),
        "rectifying": ("整改中", "Being rectified"),
        "noncompliant": ("未达标", "Not compliant"),
        "not_applicable": ("不适用", "Not applicable"),
    },
    "supply_mode": {
        "canteen": ("学校食堂供餐", "School canteen"),
        "enterprise": ("企业(单位)供餐", "Enterprise (unit) supply"),
        "mixed": ("混合供餐", "Mixed supply"),
        "family": ("家庭(个人)托餐", "Family (individual) catering"),
    },
    "hazard_category": {
        "shop": ("校园商店", "School shop"),
        "toilets": ("厕所", "Toilets"),
        "hygiene": ("卫生", "Hygiene"),
        "wiring": ("电路", "Electrical wiring"),
        "drinking_water": ("饮水", "Drinking water"),
        "building": ("校舍", "Buildings"),
        "fire": ("消防", "Fire safety"),
        "food": ("食品", "Food"),
        "traffic": ("交通", "Traffic"),
        "other": ("其他", "Other"),
    },
    "calendar_category": {
        "shop": ("校园商店", "School shop"),
        "toilets": ("厕所", "Toilets"),
        "hygiene": ("卫生", "Hygiene"),
        "wiring": ("电路", "Electrical wiring"),
        "drinking_water": ("饮水", "Drinking water"),
        "building": ("校舍", "Buildings"),
        "fire": ("消防", "Fire safety"),
        "food": ("食品", "Food"),
        "traffic": ("交通", "Traffic"),
        "finance": ("财务", "Finance"),
        "assets": ("校产", "School assets"),
        "training": ("培训", "Training"),
        "other": ("其他", "Other"),
    },
    "severity": {
        "general": ("一般", "General"),
        "major": ("重大", "Major"),
    },
    "dormitory_item": {
        "rules": ("统一管理制度", "Unified management rules"),
        "evacuation_map": ("统一紧急疏散路线图", "Unified emergency evacuation map"),
        "door_signs": ("统一宿舍门牌标识", "Unified dormitory door signs"),
        "bed_spec": ("统一床铺规格", "Unified bed specification"),
        "item_positions": ("统一物品位置", "Unified positions for belongings"),
        "mirror": ("统一整容镜", "Unified dressing mirror"),
        "bunk_cards": ("统一铺位牌", "Unified bunk cards"),
        "student_info": ("统一学生信息管理", "Unified student information management"),
        "manager_duties": ("统一公寓管理员职责", "Unified duties of dormitory managers"),
    },
}


def enum_values(name: str) -> tuple[str, ...]:
    return tuple(ENUM_LABELS[name])


@dataclass(frozen=True)
class Field:
    key: str
    kind: str
    label_zh: str
    label_en: str
    unit: str = ""
    enum: tuple[str, ...] | None = None
    minimum: int | None = None
    maximum: int | None = None
    required: bool = True
    # Extensions beyond the contract's core attributes:
    enum_name: str | None = None  # key into ENUM_LABELS for ``enum``/``list`` kinds
    nullable: bool = False  # JSON null is a legal value (hazards[].rectified_on)
    fmt: str | None = None  # "standard" | "uuid" | "school_code" | "period" for special strings
    multiline: bool = False  # free text that may hold tab and line breaks (houqin_standard.text)


@dataclass(frozen=True)
class Section:
    key: str
    label_zh: str
    label_en: str
    fields: tuple[Field, ...]
    required: bool = True  # dormitory: required only when enrollment.boarders > 0

    def field(self, key: str) -> Field:
        for f in self.fields:
            if f.key == key:
                return f
        raise KeyError(key)


def _count(key: str, zh: str, en: str, unit: str = "", maximum: int = MAX_COUNT) -> Field:
    return Field(key, "int", zh, en, unit, None, 0, maximum)


def _money(key: str, zh: str, en: str, unit: str = "元") -> Field:
    return Field(key, "money", zh, en, unit, None, 0, None)


def _quantity(key: str, zh: str, en: str, unit: str) -> Field:
    return Field(key, "quantity", zh, en, unit, None, 0, None)


def _bool(key: str, zh: str, en: str) -> Field:
    return Field(key, "bool", zh, en)


def _enum(key: str, zh: str, en: str, enum_name: str) -> Field:
    return Field(key, "enum", zh, en, "", enum_values(enum_name), enum_name=enum_name)


HEADER_FIELDS: tuple[Field, ...] = (
    Field("standard", "str", "数据标准", "Data standard", fmt="standard"),
    Field("report_id", "str", "报表编号", "Report ID", fmt="uuid"),
    Field("school_code", "str", "学校标识码", "School code", fmt="school_code"),
    Field("period", "str", "报表月份", "Reporting period", fmt="period"),
    Field("prepared_by", "str", "填报人", "Prepared by", minimum=1, maximum=50),
    Field("prepared_at", "datetime", "填报时间", "Prepared at"),
)

_campus_status = "campus_status"

SECTIONS: tuple[Section, ...] = (
    Section(
        "enrollment",
        "在校人数",
        "Enrollment",
        (
            _count("students", "在校学生数", "Students enrolled", "人"),
            _count("boarders", "住宿生数", "Boarding students", "人"),
            _count("staff", "教职工数", "Staff", "人"),
            _count("logistics_staff", "后勤人员数", "Logistics staff", "人"),
        ),
    ),
    Section(
        "nutrition",
        "营养改善计划",
        "Student Nutrition Improvement Programme",
        (
            _bool("participating", "本月参加营养改善计划", "Participating this month"),
            _count("eligible_students", "享受营养膳食补助学生数", "Students receiving the meal subsidy", "人"),
            _count("meal_days", "本月供餐天数", "Meal days this month", "天", 31),
            _count("meals_served", "实际供餐人次", "Meals served", "人次"),
            _money("subsidy_rate", "营养膳食补助标准", "Subsidy rate", "元/生/天"),
            _money("opening_balance", "上月结余", "Opening balance"),
            _money("funds_received", "本月到账补助资金", "Subsidy funds received"),
            _money("food_spend", "补助资金用于食材采购的支出", "Subsidy spent on food"),
            _money("other_spend", "补助资金用于食材以外的支出", "Subsidy spent on anything but food"),
            _money("closing_balance", "本月结余", "Closing balance"),
            _enum("supply_mode", "供餐模式", "Meal supply mode", "supply_mode"),
            _count(
                "accompany_meal_days",
                "学校负责人陪餐天数",
                "Days a school leader ate with students",
                "天",
                31,
            ),
            # A month touches at most 6 calendar weeks.
            _count(
                "menu_published_weeks",
                "公示带量食谱的周数",
                "Weeks with a published quantified menu",
                "周",
                6,
            ),
        ),
    ),
    Section(
        "food_safety",
        "食品安全",
        "Food safety",
        (
            _count("canteen_staff", "食堂从业人员数", "Canteen staff", "人"),
            _count("health_certified_staff", "持健康证人数", "Staff with health certificates", "人"),
            _count(
                "sample_retention_days",
                "当月留样合规的供餐天数",
                "Meal days with compliant food samples",
                "天",
                31,
            ),
            _bool("supplier_docs_complete", "索证索票齐全", "Supplier certificates and invoices complete"),
            _bool(
                "swill_records_complete",
                "泔水(餐厨废弃物)处置记录齐全",
                "Kitchen waste disposal records complete",
            ),
            _count("training_hours", "从业人员食品安全培训学时", "Food safety training hours", "学时"),
            _count("poisoning_incidents", "食物中毒事件数", "Food poisoning incidents", "起"),
        ),
    ),
    Section(
        "finance",
        "财务",
        "Finance",
        (
            _money("fees_collected", "本月收费", "Fees collected"),
            _bool("fee_standards_published", "收费标准公示", "Fee standards published"),
            _count("improper_fee_cases", "乱收费查实件数", "Confirmed improper fee cases", "件"),
            _bool("accounts_disclosed", "财务公开", "Accounts disclosed"),
            _count("invoices", "报销票据张数", "Reimbursement invoices", "张"),
            _count("invoices_fully_signed", "经手人、审批人签字齐全的票据张数", "Invoices fully signed", "张"),
        ),
    ),
    Section(
        "assets",
        "校产",
        "School assets",
        (
            _count("items_registered", "登记在册资产件数", "Registered asset items", "件"),
            _money("book_value", "资产账面价值", "Book value"),
            _bool("inventory_checked", "本月盘点", "Inventory checked this month"),
            _count("mismatches", "帐物不符件数", "Book/physical mismatches", "件"),
            _count("repairs_requested", "报修单数", "Repair requests", "件"),
            _count("repairs_completed", "完成维修数", "Repairs completed", "件"),
            _count("disposals", "报废/报损件数", "Disposals", "件"),
            _count("disposals_approved", "经逐级报批的报废件数", "Disposals approved level by level", "件"),
        ),
    ),
    Section(
        "energy",
        "能源消耗",
        "Energy use",
        (
            _quantity("water_m3", "用水量", "Water used", "m³"),
            _quantity("electricity_kwh", "用电量", "Electricity used", "kWh"),
            _quantity("gas_m3", "用气量", "Gas used", "m³"),
        ),
    ),
    Section(
        "safety",
        "安全管理",
        "Safety",
        (
            _count("inspections", "巡查次数", "Safety inspections", "次"),
            _count("drills", "应急疏散演练次数", "Evacuation drills", "次"),
            _count("hazards_found", "本月新发现隐患数", "Hazards found this month", "处"),
            _count("hazards_rectified", "本月整改完成隐患数", "Hazards rectified this month", "处"),
            _bool("visitor_log_complete", "门卫来访登记完整", "Visitor log complete"),
            _count("major_accidents", "重大安全责任事故数", "Major accidents", "起"),
        ),
    ),
    Section(
        "campus",
        "美丽新校园",
        "Beautiful campus",
        (
            _enum("shop", "校园商店整治", "School shop campaign", _campus_status),
            _enum("toilets", "厕所整治", "Toilets campaign", _campus_status),
            _enum("hygiene", "卫生整治", "Hygiene campaign", _campus_status),
            _enum("wiring", "电路整治", "Wiring campaign", _campus_status),
            _enum("drinking_water", "饮水整治", "Drinking water campaign", _campus_status),
            _quantity("campus_area_m2", "校园占地面积", "Campus area", "m²"),
            _quantity("green_area_m2", "绿化面积", "Green area", "m²"),
        ),
    ),
    Section(
        "dormitory",
        "学生公寓",
        "Student dormitory",
        (
            _count("beds", "床位数", "Beds", "张"),
            Field(
                "unified_items",
                "list",
                "公寓“八统一”达标项目",
                "Dormitory standard items met",
                "项",
                enum_values("dormitory_item"),
                enum_name="dormitory_item",
            ),
        ),
        required=False,
    ),
)

SECTIONS_BY_KEY: dict[str, Section] = {s.key: s for s in SECTIONS}

#: One entry of ``calendar.tasks`` (@2): a task of the county's 后勤行事历 the school completed this month.
CALENDAR_TASK_FIELDS: tuple[Field, ...] = (
    Field("code", "str", "任务编号", "Task code", minimum=1, maximum=20),
    Field("done_on", "date", "完成日期", "Done on"),
    Field("note", "str", "备注", "Note", maximum=200, required=False, multiline=True),
)

#: The sections only @2 has (STANDARD-v2.md), in its order. ``kitchen`` is required when
#: ``food_safety.canteen_staff`` > 0 and ``canteen_stock`` when ``nutrition.participating``: written out in the
#: validator, as for ``dormitory``.
SECTIONS_V2_ONLY: tuple[Section, ...] = (
    Section(
        "calendar",
        "后勤行事历",
        "Logistics calendar",
        (Field("tasks", "tasks", "本月完成的行事历任务", "Calendar tasks done this month", "项"),),
    ),
    Section(
        "kitchen",
        "食堂日常管控",
        "Kitchen daily controls",
        (
            _count("morning_check_days", "晨检天数", "Days with the staff morning check", "天", 31),
            _count("tableware_disinfection_days", "餐具消毒天数", "Days with tableware disinfected", "天", 31),
            _count("tasting_days", "试尝天数", "Days with food tasted before serving", "天", 31),
        ),
        required=False,
    ),
    Section(
        "canteen_stock",
        "食堂食材库存与月底盘存",
        "Canteen food stock",
        (
            _money("opening_stock_value", "上月末库存金额", "Stock value at the end of last month"),
            _money("purchases", "本月食材采购金额", "Food purchased this month"),
            _money("closing_stock_value", "本月末盘存金额", "Stock value counted at month end"),
            _bool("stock_checked", "本月已盘点", "Stock counted this month"),
        ),
        required=False,
    ),
    Section(
        "feedback_box",
        "意见箱",
        "Suggestion box",
        (
            _count("received", "本月收到的师生、家长意见条数", "Suggestions received this month", "条"),
            _count("answered", "已答复条数", "Suggestions answered", "条"),
        ),
    ),
)

#: Every section of @2: those of @1, then the four of STANDARD-v2.md.
SECTIONS_V2: tuple[Section, ...] = (*SECTIONS, *SECTIONS_V2_ONLY)
SECTIONS_V2_BY_KEY: dict[str, Section] = {s.key: s for s in SECTIONS_V2}


def standard_version(standard: object) -> int | None:
    """1 or 2 for a standard id the hub accepts, else ``None``."""
    return STANDARDS.index(standard) + 1 if isinstance(standard, str) and standard in STANDARDS else None


def standard_id(version: int) -> str:
    """The standard id of version ``version`` (1 or 2); ``ValueError`` for any other."""
    if version not in (1, 2):
        raise ValueError(f"no standard version {version!r}")
    return STANDARDS[version - 1]


def sections_of(standard: object) -> tuple[Section, ...]:
    """The sections of the report standard ``standard`` (an id); @1's for anything but @2's id."""
    return SECTIONS_V2 if standard == STANDARD_ID_2 else SECTIONS


HAZARDS_LABEL = ("隐患台账", "Hazard ledger")

HAZARD_FIELDS: tuple[Field, ...] = (
    Field("ref", "str", "隐患编号", "Hazard reference", minimum=1, maximum=40),
    Field("found_on", "date", "发现日期", "Found on"),
    _enum("category", "隐患类别", "Category", "hazard_category"),
    _enum("severity", "隐患等级", "Severity", "severity"),
    Field("description", "str", "隐患描述", "Description", minimum=1, maximum=500, multiline=True),
    Field("deadline", "date", "整改期限", "Rectification deadline"),
    # Present but null while open: an explicit null (not an absent key) says "still open" when the same ref
    # comes back in a later month to update the entry.
    Field("rectified_on", "date", "整改完成日期", "Rectified on", nullable=True),
)

TOP_LEVEL_KEYS: tuple[str, ...] = (
    *(f.key for f in HEADER_FIELDS),
    *(s.key for s in SECTIONS),
    "hazards",
)
TOP_LEVEL_KEYS_V2: tuple[str, ...] = (
    *(f.key for f in HEADER_FIELDS),
    *(s.key for s in SECTIONS_V2),
    "hazards",
)


def label(path: str) -> tuple[str, str]:
    """(zh, en) label of a JSON pointer into a report, e.g. "/hazards/3/deadline" → ("整改期限", ...)."""
    parts = [p.replace("~1", "/").replace("~0", "~") for p in path.split("/")[1:]]
    if not parts:
        return ("报表", "Report")
    head = parts[0]
    for f in HEADER_FIELDS:
        if f.key == head and len(parts) == 1:
            return (f.label_zh, f.label_en)
    if head == "hazards":
        if len(parts) >= 3:
            for f in HAZARD_FIELDS:
                if f.key == parts[2]:
                    return (f.label_zh, f.label_en)
        return HAZARDS_LABEL
    if head == "calendar" and len(parts) >= 4:
        for f in CALENDAR_TASK_FIELDS:
            if f.key == parts[3]:
                return (f.label_zh, f.label_en)
    section = SECTIONS_V2_BY_KEY.get(head)
    if section is not None:
        if len(parts) >= 2:
            for f in section.fields:
                if f.key == parts[1]:
                    return (f.label_zh, f.label_en)
        return (section.label_zh, section.label_en)
    return (path, path)
