"""Stable issue codes and their messages (zh for the school's logistics clerk, en on request).

Templates are ``str.format_map`` strings. Common parameters: ``name_zh``/``name_en``
("实际供餐人次（/nutrition/meals_served）"), ``req_zh``/``req_en`` (what the field must be), ``value`` (the
offending value, shortened), ``other_zh``/``other_en``/``other_value`` (the field it is compared with),
``current`` (the current period).
"""

from __future__ import annotations

from typing import Any

ERROR_CODES: dict[str, str] = {
    "not_object": "the report, or one of its sections or hazard entries, is not a JSON object",
    "required": "a required field is missing (or null); also /dormitory when enrollment.boarders > 0",
    "unknown_field": "a field the standard does not define (typos must not silently drop data)",
    "expected_integer": "a count is not a JSON integer (booleans and numbers like 3.0 are not integers)",
    "expected_string": "a text field is not a JSON string",
    "expected_boolean": "a yes/no field is not true or false",
    "expected_array": "hazards or dormitory.unified_items is not a JSON array",
    "negative": "a count is below 0",
    "out_of_range": ("a number is above its maximum (meal days 0–31, counts < 2^31, money/quantities ≤ 12 digits)"),
    "too_long": "text longer than allowed (prepared_by 50, hazard ref 40, description 500 characters)",
    "too_short": "text empty or only spaces, or with nothing visible (zero-width or format characters only)",
    "control_character": "text holds a control character (NUL, other C0/C1 controls) or a lone surrogate",
    "bidi_control": "text holds a bidirectional override or isolate (U+202A–U+202E, U+2066–U+2069)",
    "invalid_enum": "a value is not one of the allowed codes (campus status, supply mode, category, ...)",
    "duplicate": "a hazard ref or dormitory item appears twice in one report",
    "money_not_string": "money given as a JSON number instead of a decimal string",
    "money_format": 'money is not a string with exactly 2 decimal places, e.g. "81900.00"',
    "money_negative": "money below 0",
    "quantity_format": "a quantity (m², m³, kWh) is not a string of digits with at most 1 decimal place",
    "quantity_negative": "a quantity below 0",
    "standard_mismatch": 'standard is neither "houqin/monthly-report@1" nor "houqin/monthly-report@2"',
    "invalid_uuid": "report_id is not a UUID (8-4-4-4-12 hex digits)",
    "invalid_school_code": "school_code is not exactly 10 ASCII digits",
    "invalid_period": "period is not YYYY-MM",
    "period_in_future": "period is after the current month (Asia/Shanghai)",
    "period_too_early": "period is before 2010-01",
    "invalid_datetime": "prepared_at is not an ISO 8601 date-time with a UTC offset",
    "invalid_date": "a date is not a valid YYYY-MM-DD",
    "exceeds": 'a cross-field "≤" rule is broken (e.g. boarders > students)',
    "date_order": "a hazard's deadline or rectified_on is before its found_on",
    "not_positive": "campus_area_m2 is not greater than 0",
    # houqin/monthly-report@2 (STANDARD-v2.md)
    "calendar_task_unknown": "a calendar.tasks code is not a task of this month in the county's calendar",
    "calendar_task_duplicate": "the same calendar.tasks code appears twice in one report",
    "kitchen_days_exceed_meal_days": "a kitchen.* day count is above nutrition.meal_days (when participating)",
    "stock_negative_consumption": "canteen_stock: opening + purchases − closing is below 0",
    "standard_version_required": "the county requires a newer standard version for this period (hub only)",
}

WARNING_CODES: dict[str, str] = {
    "beds_below_boarders": "dormitory.beds < enrollment.boarders",
    "energy_jump": "water_m3 or electricity_kwh is more than 3× the previous month's (previous 0 gives none)",
    "period_old": "period is more than 3 months before the current month (a late report)",
    "other_spend_nonzero": "nutrition.other_spend > 0: subsidy spent on anything but food (misuse, 专款专用)",
}

ALL_CODES: dict[str, str] = {**ERROR_CODES, **WARNING_CODES}

_GENERIC = ("{name_zh}{req_zh}", "{name_en} {req_en}")

MESSAGES: dict[str, tuple[str, str]] = {
    "not_object": ("{name_zh}必须是一个对象（JSON 对象，形如 {{…}}）", "{name_en} must be a JSON object"),
    "required": ("缺少必填项：{name_zh}{reason_zh}", "{name_en} is required{reason_en}"),
    "unknown_field": (
        "无法识别的字段“{key}”（{path}）：标准中没有这一项，请检查拼写",
        'Unknown field "{key}" ({path}): the standard has no such field; check the spelling',
    ),
    "expected_integer": _GENERIC,
    "expected_string": _GENERIC,
    "expected_boolean": _GENERIC,
    "expected_array": _GENERIC,
    "negative": _GENERIC,
    "out_of_range": _GENERIC,
    "too_long": (
        "{name_zh}不能超过 {max} 个字符（现有 {length} 个）",
        "{name_en} must be at most {max} characters long (it has {length})",
    ),
    "too_short": ("{name_zh}不能为空", "{name_en} must not be empty"),
    "control_character": (
        "{name_zh}第 {position} 个字符是不可见的控制字符（{char}），请删除后重新填写",
        "{name_en} holds a control character ({char}) at position {position}; remove it",
    ),
    "bidi_control": (
        "{name_zh}第 {position} 个字符是文字方向控制符（{char}），会使打印出的文字与实际内容不符，请删除",
        "{name_en} holds a text-direction control ({char}) at position {position}, which would make it print "
        "other than it reads; remove it",
    ),
    "invalid_enum": (
        "{name_zh}的取值“{value}”无效，{req_zh}",
        '{name_en}: "{value}" is not valid; it {req_en}',
    ),
    "duplicate": (
        "{name_zh}“{value}”重复：在本报表中已经出现过，每项只能填写一次",
        '{name_en} "{value}" is a duplicate: it already appears in this report',
    ),
    "money_not_string": (
        "{name_zh}必须以文字形式填写金额，如“81900.00”，不能填成数字类型（以免小数失真）",
        '{name_en} must be written as a string such as "81900.00", not as a JSON number (floats lose cents)',
    ),
    "money_format": (
        "{name_zh}必须是保留两位小数的金额，如“81900.00”（收到“{value}”）",
        '{name_en} must be an amount with exactly 2 decimal places, e.g. "81900.00" (got "{value}")',
    ),
    "money_negative": ("{name_zh}不能为负数", "{name_en} must not be negative"),
    "quantity_format": (
        "{name_zh}必须是以文字填写、最多一位小数的数量，如“412.0”或“11771”（收到“{value}”）",
        '{name_en} must be a string of digits with at most 1 decimal place, e.g. "412.0" or "11771" (got "{value}")',
    ),
    "quantity_negative": ("{name_zh}不能为负数", "{name_en} must not be negative"),
    "standard_mismatch": (
        "{name_zh}必须是“houqin/monthly-report@1”或“houqin/monthly-report@2”（收到“{value}”）",
        '{name_en} must be "houqin/monthly-report@1" or "houqin/monthly-report@2" (got "{value}")',
    ),
    "invalid_uuid": (
        "{name_zh}必须是 UUID 格式，如“aeafb905-dc8a-40bb-a35b-4c41d283eb3a”（收到“{value}”）",
        '{name_en} must be a UUID such as "aeafb905-dc8a-40bb-a35b-4c41d283eb3a" (got "{value}")',
    ),
    "invalid_school_code": (
        "{name_zh}必须是 10 位数字，如“6105280001”（收到“{value}”）",
        '{name_en} must be exactly 10 digits, e.g. "6105280001" (got "{value}")',
    ),
    "invalid_period": (
        "{name_zh}必须是“YYYY-MM”格式的月份，如“2026-09”（收到“{value}”）",
        '{name_en} must be a month written YYYY-MM, e.g. "2026-09" (got "{value}")',
    ),
    "period_in_future": (
        "{name_zh}“{value}”晚于当前月份 {current}，不能填报未来的月份",
        '{name_en} "{value}" is after the current month {current}; future months cannot be reported',
    ),
    "period_too_early": (
        "{name_zh}“{value}”早于 2010-01，不予受理",
        '{name_en} "{value}" is before 2010-01 and cannot be accepted',
    ),
    "invalid_datetime": (
        "{name_zh}必须是带时区的 ISO 8601 时间，如“2026-09-28T16:00:00+08:00”（收到“{value}”）",
        '{name_en} must be an ISO 8601 date-time with a UTC offset, e.g. "2026-09-28T16:00:00+08:00" (got "{value}")',
    ),
    "invalid_date": (
        "{name_zh}必须是“YYYY-MM-DD”格式的有效日期，如“2026-09-04”（收到“{value}”）",
        '{name_en} must be a valid date written YYYY-MM-DD, e.g. "2026-09-04" (got "{value}")',
    ),
    "exceeds": (
        "{name_zh}为 {value}，不能大于{other_zh}（{other_value}）",
        "{name_en} is {value}; it must not exceed {other_en} ({other_value})",
    ),
    "date_order": (
        "{name_zh}为 {value}，不能早于{other_zh}（{other_value}）",
        "{name_en} is {value}; it must not be before {other_en} ({other_value})",
    ),
    "not_positive": ("{name_zh}必须大于 0", "{name_en} must be greater than 0"),
    "calendar_task_unknown": (
        "{name_zh}“{value}”不是本县后勤行事历中 {month} 月的任务，请核对任务编号",
        '{name_en} "{value}" is not a task of month {month} in the county\'s logistics calendar',
    ),
    "calendar_task_duplicate": (
        "{name_zh}“{value}”重复填写，同一任务只能填一次",
        '{name_en} "{value}" is listed twice; list each task once',
    ),
    "kitchen_days_exceed_meal_days": (
        "{name_zh}为 {value} 天，不能大于本月供餐天数（{other_value} 天）",
        "{name_en} is {value} days; it must not exceed the meal days this month ({other_value})",
    ),
    "stock_negative_consumption": (
        "{name_zh}：上月末库存 {opening} 元 + 本月采购 {purchases} 元 − 本月末盘存 {closing} 元 = {value} 元，"
        "消耗的食材不能为负数，请核对盘存金额",
        "{name_en}: opening stock {opening} + purchases {purchases} − closing stock {closing} = {value}; "
        "food consumed cannot be negative, check the stock count",
    ),
    "standard_version_required": (
        "本县自{from_zh}起要求按第 {version} 版数据标准（{required}）填报，{period_zh}的报表不能再用 {got} 报送，"
        "请换用新版报表模板重新填报",
        "the county requires standard {required} from {from_period}; the report for {period} cannot be sent "
        "in {got}, fill in the new template",
    ),
    # warnings
    "beds_below_boarders": (
        "{name_zh}为 {value}，少于{other_zh}（{other_value}），请核实床位是否够用",
        "{name_en} is {value}, fewer than {other_en} ({other_value}); check that every boarder has a bed",
    ),
    "energy_jump": (
        "{name_zh}本月为 {value} {unit}，超过上月（{other_value} {unit}）的 3 倍，请核实是否填错或存在跑冒滴漏",
        "{name_en} is {value} {unit} this month, more than 3 times last month's {other_value} {unit}; "
        "check for a typo or a leak",
    ),
    "period_old": (
        "{name_zh}“{value}”距当前月份 {current} 已超过 3 个月，属于补报",
        '{name_en} "{value}" is more than 3 months before the current month {current} (a late report)',
    ),
    "other_spend_nonzero": (
        "{name_zh}为 {value} 元：营养改善计划补助资金必须专款专用、全部用于购买食材，"
        "这笔支出将作为疑似挪用列入资金异常",
        "{name_en} is {value} yuan: the nutrition subsidy may only be spent on food (ring-fenced); "
        "this spending will be listed as suspected misuse",
    ),
}


class _Params(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return ""


def render(code: str, **params: Any) -> tuple[str, str]:
    """(zh, en) message for ``code``; unknown codes fall back to the code itself."""
    zh, en = MESSAGES.get(code, (code, code))
    p = _Params(params)
    return zh.format_map(p), en.format_map(p)
