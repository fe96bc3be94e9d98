"""The one message catalog of the scoring explanations (issue 17 item 5): an indicator row's structured
``explanation`` (``district.scoring.explanation``) and a ranking's flags put in words, zh and en, for the dashboard
(``templates/pages/_explain.html``, ``flag_label``), the PDFs (``district.rendering.evaluation``) and the xlsx
(``district.exports.services``).

- ``render_row(row, lang)`` → ``RowText(sentence, formula, inputs)``: one plain sentence that leads the row and
  ends with the points ("生均用电比同类学校中位数高 1.8%，生均用水低 5.0%，得 4.91 / 5 分"), the formula with the
  row's own figures (the 计算明细), and every figure used as (name, value) pairs.
- ``flag_text(flag, lang)``: ``awaiting_inspection``, ``missing:YYYY-MM``, ``veto:<field>=<n>`` in words.

Field names are the report standard's labels (``houqin_standard.fields``), statuses and school types its enum
labels, anomaly codes the fund engine's names; nothing is translated by pattern. Numbers are written as people
write them: counts with thousands separators, ratios as percentages with 1 place (the F1 ratios and factors as
decimals with 3 places), per-student figures and scores with 2 places. The exact figures stay in the API's
``inputs`` and ``explanation``. The catalog is a table of (zh, en) templates rather than gettext: the PDFs are
made in workers outside any request, and both languages are needed side by side (docs/DECISIONS.md).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from fractions import Fraction
from typing import Any, NamedTuple

from district.calendar import round_half_up
from houqin_standard.fields import ENUM_LABELS, SECTIONS, SECTIONS_V2_ONLY

__all__ = ["RowText", "field_name", "flag_text", "format_count", "format_percent", "render_row"]

_FIELDS: dict[str, tuple[str, str, str]] = {
    f"{s.key}.{f.key}": (f.label_zh, f.label_en, f.unit) for s in (*SECTIONS, *SECTIONS_V2_ONLY) for f in s.fields
}
_BY_LEAF: dict[str, str] = {}
for _path in _FIELDS:  # a leaf @1 has keeps its @1 field (the fields only @2 has come after)
    _BY_LEAF.setdefault(_path.rsplit(".", 1)[1], _path)
_MONTHS_EN = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


class RowText(NamedTuple):
    sentence: str
    formula: str
    inputs: list[tuple[str, str]]


def _pick(pair: tuple[str, str], lang: str) -> str:
    return pair[1] if lang == "en" else pair[0]


# ------------------------------------------------------------------------------------------------ numbers


def _frac(value: Any) -> Fraction:
    if isinstance(value, Fraction):
        return value
    if isinstance(value, int | Decimal):
        return Fraction(value)
    return Fraction(str(value))


def _fixed(value: Any, places: int) -> str:
    return f"{round_half_up(_frac(value), places):,.{places}f}"


def format_count(value: Any) -> str:
    """A count with thousands separators (``"12,345"``); a non-integer figure with 2 places."""
    x = _frac(value)
    if x.denominator == 1:
        return f"{x.numerator:,}"
    return _fixed(x, 2)


def format_percent(ratio: Any, places: int = 1) -> str:
    """A ratio as a percentage with a fixed number of places: ``0.9534`` → ``"95.3%"``."""
    return f"{round_half_up(_frac(ratio) * 100, places):,.{places}f}%"


def _points(value: Any) -> str:
    """Points as the rubric writes them (``"6"``, ``"1.5"``); a non-terminating share with 2 places."""
    x = _frac(value)
    d = x.denominator
    while d % 2 == 0:
        d //= 2
    while d % 5 == 0:
        d //= 5
    if d != 1 or len(str(x.denominator)) > 2:
        return _fixed(x, 2)
    return format(Decimal(x.numerator) / Decimal(x.denominator), "f")


def _score(value: Any) -> str:
    return f"{round_half_up(_frac(value), 1):f}"


def _period(period: str, lang: str) -> str:
    if not (isinstance(period, str) and len(period) == 7 and period[4] == "-"):
        return str(period)
    year, month = period[:4], int(period[5:])
    return f"{_MONTHS_EN[month - 1]} {year}" if lang == "en" else f"{year}年{month}月"


def _date(iso: str, lang: str) -> str:
    year, month, day = iso[:4], int(iso[5:7]), int(iso[8:10])
    return f"{day} {_MONTHS_EN[month - 1]} {year}" if lang == "en" else f"{year}年{month}月{day}日"


# ------------------------------------------------------------------------------------------------ names


def field_name(path: str, lang: str = "zh") -> str:
    """The report standard's label of ``section.field`` (or a bare field name)."""
    entry = _FIELDS.get(path) or _FIELDS.get(_BY_LEAF.get(path, ""), None)
    if entry is None:
        return path
    return entry[1] if lang == "en" else entry[0]


def _unit(path: str | None) -> str:
    entry = _FIELDS.get(path or "")
    return entry[2] if entry else ""


def _quoted(path: str, lang: str) -> str:
    name = field_name(path, lang)
    return name if lang == "en" or "“" in name else f"“{name}”"


def _fields_all_yes(paths: Sequence[str], lang: str) -> str:
    if lang == "en":
        return " and ".join(field_name(p, "en") for p in paths) + " (yes)"
    quoted = "与".join(_quoted(p, "zh") for p in paths)
    return quoted + ("均为“是”" if len(paths) > 1 else "为“是”")


def _status(code: str, lang: str) -> str:
    pair = ENUM_LABELS["campus_status"].get(code)
    return code if pair is None else _pick(pair, lang)


def _anomaly(code: str, lang: str) -> str:
    from district.nutrition.anomalies import ANOMALY_CODES

    name = ANOMALY_CODES.get(code)
    if name is None:
        return code
    return name.en if lang == "en" else name.zh


def _join(items: Sequence[str], lang: str) -> str:
    return ", ".join(items) if lang == "en" else "、".join(items)


# ------------------------------------------------------------------------------------------------ flags


def flag_text(flag: str, lang: str = "zh") -> str:
    """A ranking flag in words: ``awaiting_inspection`` → 待县局现场督查, ``missing:2026-03`` → 缺报 2026年3月,
    ``veto:poisoning_incidents=1`` → 一票否决：食物中毒事件数 1. An unknown flag is shown as it is."""
    if flag == "awaiting_inspection":
        return _pick(("待县局现场督查", "Awaiting the bureau's inspection"), lang)
    if flag.startswith("missing:"):
        period = _period(flag.split(":", 1)[1], lang)
        return f"Missing {period}" if lang == "en" else f"缺报 {period}"
    if flag.startswith("veto:"):
        name, _sep, value = flag.split(":", 1)[1].partition("=")
        label = field_name(name, lang)
        shown = format_count(value) if value else ""
        return f"Veto: {label} = {shown}" if lang == "en" else f"一票否决：{label} {shown}"
    return flag


# ------------------------------------------------------------------------------------------------ rows

#: code → (zh, en) template of the leading sentence, filled with ``_values``; the points follow it.
SENTENCES: Mapping[str, tuple[str, str]] = {
    "status": ("最近一期（{period}）报表{field}为“{status}”", "Latest report ({period}): {field} “{status}”"),
    "status_not_applicable": (
        "最近一期（{period}）报表{field}为“{status}”，本项不适用",
        "Latest report ({period}): {field} “{status}”, so this item does not apply",
    ),
    "green_ratio": (
        "{green_field}占{area_field}的 {ratio}（目标 {target}）",
        "{green_field} is {ratio} of {area_field} (target {target})",
    ),
    "zero_area_full": ("{field}为 0，无需核查", "{field} is 0: nothing to check"),
    "inspection": (
        "期内县局现场督查 {inspections} 次，取最近一次（{date}）评分 {score} / {max_score}",
        "{inspections} bureau inspection(s) in the window; the latest ({date}) scored {score} of {max_score}",
    ),
    "no_inspection": ("期内尚无县局现场督查", "No bureau inspection in the window"),
    "ratio": (
        "{months} 个{months_kind}中，{numerator}合计 {num}，占{denominator}合计 {den} 的 {ratio}",
        "Over {months} {months_kind}: {numerator} {num} of {denominator} {den} ({ratio})",
    ),
    "zero_denominator_full": (
        "{months} 个{months_kind}中{field}合计为 0，无需核查",
        "{field} totals 0 over {months} {months_kind}: nothing to check",
    ),
    "zero_denominator_not_applicable": (
        "期内{field}合计为 0，本项不适用",
        "{field} totals 0 in the window, so this item does not apply",
    ),
    "not_participating": (
        "期内未参加营养改善计划，本项不适用",
        "The school took no part in the meal programme in the window, so this item does not apply",
    ),
    "fund_compliance": (
        "{months} 个参加营养餐的月份中 {compliant} 个月资金合规（无{codes}）",
        "{compliant} of {months} participating months with compliant funds (no {codes})",
    ),
    "kitchen_controls": (
        "{months} 个填报食堂日常管控的营养餐月份中，{fields}合计 {done} 天，应为{denominator}合计 {den} 天的 {n} 倍"
        "即 {required} 天，达到 {ratio}",
        "Over {months} participating months with kitchen controls: {fields} total {done} days of {required} "
        "({n} × {denominator} {den}), {ratio}",
    ),
    "kitchen_zero_full": (
        "{months} 个填报食堂日常管控的营养餐月份中{field}合计为 0，无需核查",
        "{field} totals 0 over {months} months with kitchen controls: nothing to check",
    ),
    "no_kitchen": (
        "期内没有填报食堂日常管控的营养餐月份，本项不适用",
        "No participating month in the window reports kitchen controls, so this item does not apply",
    ),
    "months_with": (
        "{months} 个已报送月份中 {good} 个月{fields}",
        "{good} of {months} reported months with {fields}",
    ),
    "hazards": (
        "发现隐患 {found} 处，整改完成 {rectified} 处{rate}{overdue}",
        "{found} hazards found, {rectified} rectified{rate}{overdue}",
    ),
    "patrols": (
        "{field}合计 {done}，应达 {required}（每月 {per_month} × {months} 个已报送月份）",
        "{field}: {done} done, {required} required ({per_month} a month × {months} reported months)",
    ),
    "drills": (
        "{field}合计 {done}，应达 {required}（{expected} 个应报送月份，每 {every} 个月 1 次）",
        "{field}: {done} done, {required} required ({expected} expected months, one every {every} months)",
    ),
    "drills_none_required": ("期内没有应报送月份，无演练要求", "No expected month in the window: no drill required"),
    "assets": (
        "{months} 个已报送月份中 {clean} 个月{mismatch_field}为 0；报修 {requested} 件，完成 {completed} 件{rate}",
        "{clean} of {months} reported months with no {mismatch_field}; {completed} of {requested} repairs done{rate}",
    ),
    "energy": ("{e}，{w}", "{e}, {w}"),
    "energy_no_students": (
        "期内{field}合计为 0，无生均用量可比",
        "{field} totals 0 in the window: no per-student use to compare",
    ),
    "dormitory_items": (
        "最近一期（{period}）报表{field} {count} 项（共 {out_of} 项）",
        "Latest report ({period}): {field} {count} of {out_of}",
    ),
    "no_boarders": (
        "最近一期（{period}）报表无住宿生，本项不适用",
        "No boarders in the latest report ({period}), so this item does not apply",
    ),
    "calendar_tasks": (
        "完成行事历任务 {done} 项 / 应完成 {due} 项（{months} 个按新标准报送的月份）",
        "Logistics calendar tasks done: {done} of {due} due ({months} month(s) sent in the new standard)",
    ),
    "calendar_none_due": (
        "按新标准报送的月份中没有应完成的行事历任务，本项不适用",
        "No logistics calendar task was due in the months sent in the new standard, so this item does not apply",
    ),
    "figures": ("", ""),
}

#: code → (zh, en) template of the formula (计算明细), with the row's figures.
FORMULAS: Mapping[str, tuple[str, str]] = {
    "status": (
        "按最近一期整治状态计分：达标 {p_compliant} 分，整改中 {p_rectifying} 分，未达标 {p_noncompliant} 分",
        "Points by the latest status: compliant {p_compliant}, rectifying {p_rectifying},"
        " non-compliant {p_noncompliant}",
    ),
    "status_not_applicable": ("“不适用”不计分，也不计入可得分", "Not applicable: neither earned nor available"),
    "green_ratio": (
        "{points} × min(1, {ratio} ÷ {target}) = {earned}",
        "{points} × min(1, {ratio} ÷ {target}) = {earned}",
    ),
    "zero_area_full": ("校园面积为 0：满分 {points}", "Campus area 0: full {points}"),
    "inspection": ("{points} × {score} ÷ {max_score} = {earned}", "{points} × {score} ÷ {max_score} = {earned}"),
    "no_inspection": ("无督查记录：0 分", "No inspection: 0 points"),
    "ratio": ("{points} × {num} ÷ {den} = {earned}", "{points} × {num} ÷ {den} = {earned}"),
    "zero_denominator_full": ("合计为 0：满分 {points}", "Total 0: full {points}"),
    "zero_denominator_not_applicable": ("不计分，也不计入可得分", "Neither earned nor available"),
    "not_participating": ("不计分，也不计入可得分", "Neither earned nor available"),
    "fund_compliance": ("{points} × {compliant} ÷ {months} = {earned}", "{points} × {compliant} ÷ {months} = {earned}"),
    "months_with": ("{points} × {good} ÷ {months} = {earned}", "{points} × {good} ÷ {months} = {earned}"),
    "kitchen_controls": (
        "{points} × {done} ÷ ({n} × {den}) = {earned}",
        "{points} × {done} ÷ ({n} × {den}) = {earned}",
    ),
    "kitchen_zero_full": ("合计为 0：满分 {points}", "Total 0: full {points}"),
    "no_kitchen": ("不计分，也不计入可得分", "Neither earned nor available"),
    "hazards": (
        "{base} − {penalty} × {overdue_n} = {earned}（最低 0 分）",
        "{base} − {penalty} × {overdue_n} = {earned} (at least 0)",
    ),
    "patrols": (
        "{points} × min(1, {done} ÷ {required}) = {earned}",
        "{points} × min(1, {done} ÷ {required}) = {earned}",
    ),
    "drills": (
        "{points} × min(1, {done} ÷ {required}) = {earned}",
        "{points} × min(1, {done} ÷ {required}) = {earned}",
    ),
    "drills_none_required": ("无要求：满分 {points}", "Nothing required: full {points}"),
    "assets": (
        "{mismatch_points} × {clean} ÷ {months} + {repairs} = {earned}",
        "{mismatch_points} × {clean} ÷ {months} + {repairs} = {earned}",
    ),
    "energy": (
        "{half} × {part_e} + {half} × {part_w} = {half} × {f_e} + {half} × {f_w} = {earned}；"
        "f(r)：r ≤ {low} 为 1，r ≥ {high} 为 0，其间线性递减；中位数取自本县同类学校 {schools} 所",
        "{half} × {part_e} + {half} × {part_w} = {half} × {f_e} + {half} × {f_w} = {earned}; "
        "f(r) = 1 up to {low}, 0 from {high}, linear between; medians over {schools} similar schools of the county",
    ),
    "energy_no_students": ("无生均用量可比：满分 {points}", "No per-student use: full {points}"),
    "dormitory_items": ("{points} × {count} ÷ {out_of} = {earned}", "{points} × {count} ÷ {out_of} = {earned}"),
    "no_boarders": ("不计分，也不计入可得分", "Neither earned nor available"),
    "calendar_tasks": ("{points} × {done} ÷ {due} = {earned}", "{points} × {done} ÷ {due} = {earned}"),
    "calendar_none_due": ("不计分，也不计入可得分", "Neither earned nor available"),
    "figures": ("", ""),
}

_MONTHS_KIND = {
    "participating": ("参加营养餐的月份", "participating months"),
    "reported": ("已报送月份", "reported months"),
}


_USE = {"e": ("用电", "Electricity"), "w": ("用水", "water")}


def _compare(which: str, r: Any, lang: str) -> str:
    """How one half of F1 reads: 生均用电比同类学校中位数高 1.8% / 低 5.0% / 持平 (the water half names its use
    only); ``None`` (the median is 0): that half is full."""
    use = _pick(_USE[which], lang)
    if r is None:
        if lang == "en":
            return f"{use} per student: median of similar schools 0, that half full"
        return f"同类学校生均{use}中位数为 0，该半项满分"
    x = _frac(r)
    first = which == "e"
    if lang == "en":
        subject = f"{use} per student" + (" is" if first else "")
        whom = " the median of similar schools" if first else ""
        if x == 1:
            return f"{subject} level with{whom or ' the median'}"
        return f"{subject} {format_percent(abs(x - 1))} {'above' if x > 1 else 'below'}{whom}"
    subject = f"生均{use}" + ("比同类学校中位数" if first else "")
    if x == 1:
        return f"生均{use}与同类学校中位数持平" if first else f"生均{use}与中位数持平"
    return f"{subject}{'高' if x > 1 else '低'} {format_percent(abs(x - 1))}"


_COUNTS = ("months", "good", "compliant", "num", "den", "done", "required", "per_month", "expected", "every", "clean",
           "requested", "completed", "inspections", "count", "out_of", "found", "rectified", "schools",
           "n", "due")  # fmt: skip


def _values(code: str, p: Mapping[str, Any], lang: str) -> dict[str, str]:
    """The parameters of one explanation formatted for its templates."""
    v: dict[str, str] = {
        "points": _points(p["points"]),
        "earned": _fixed(p["earned"], 2) if p.get("earned") is not None else "—",
    }
    for key in ("field", "green_field", "area_field", "numerator", "denominator", "mismatch_field"):
        if key in p:
            v[key] = _quoted(p[key], lang)
    for key in _COUNTS:
        if p.get(key) is not None:
            v[key] = format_count(p[key])
    if "period" in p:
        v["period"] = _period(p["period"], lang)
    if "months_kind" in p:
        v["months_kind"] = _pick(_MONTHS_KIND[p["months_kind"]], lang)
    if code in ("status", "status_not_applicable"):
        v["status"] = _status(p["status"], lang)
        for status, pts in p.get("status_points", {}).items():
            v[f"p_{status}"] = _points(pts)
    elif code == "green_ratio":
        v["ratio"], v["target"] = format_percent(p["ratio"]), format_percent(p["target"], 0)
    elif code == "inspection":
        v.update(date=_date(p["date"], lang), score=_score(p["score"]), max_score=_points(p["max_score"]))
    elif code == "ratio":
        v["ratio"] = format_percent(p["ratio"])
    elif code == "fund_compliance":
        v["codes"] = _join([_anomaly(c, lang) for c in p["codes"]], lang)
    elif code == "months_with":
        v["fields"] = _fields_all_yes(p["fields"], lang)
    elif code == "kitchen_controls":
        v["fields"] = _join([_quoted(f, lang) for f in p["fields"]], lang)
        v["ratio"] = format_percent(p["ratio"])
    elif code == "hazards":
        found, overdue = _frac(p["found"]), _frac(p["overdue"])
        if found:
            v["rate"] = (
                f"（{format_percent(_frac(p['rectified']) / found)}）"
                if lang != "en"
                else f" ({format_percent(_frac(p['rectified']) / found)})"
            )
            v["base"] = f"{v['points']} × min(1, {v['rectified']} ÷ {v['found']})"
        else:
            v["rate"] = _pick(("，无需整改", ": nothing to rectify"), lang)
            v["base"] = v["points"]
        v["overdue"] = (
            _pick((f"；逾期未整改重大隐患 {format_count(overdue)} 处，每处扣 {_points(p['penalty'])} 分",
                   f"; {format_count(overdue)} overdue major hazard(s), {_points(p['penalty'])} points off each"), lang)
            if overdue else ""
        )  # fmt: skip
        v["penalty"], v["overdue_n"] = _points(p["penalty"]), format_count(overdue)
    elif code == "assets":
        requested = _frac(p["requested"])
        rp = _points(p["repairs_points"])
        v["mismatch_points"] = _points(p["mismatch_points"])
        if requested:
            rate = format_percent(_frac(p["completed"]) / requested)
            v["rate"] = f"（{rate}）" if lang != "en" else f" ({rate})"
            v["repairs"] = f"{rp} × min(1, {v['completed']} ÷ {v['requested']})"
        else:
            v["rate"] = _pick(("，无需维修", ": nothing to repair"), lang)
            v["repairs"] = rp
    elif code == "energy":
        v["e"], v["w"] = _compare("e", p["r_e"], lang), _compare("w", p["r_w"], lang)
        for which in ("e", "w"):
            r, f = p.get(f"r_{which}"), p.get(f"f_{which}")
            # a median of 0 leaves no ratio: that half is full (× 1)
            v[f"part_{which}"] = "1" if r is None else f"f({_fixed(r, 3)})"
            v[f"f_{which}"] = "1" if f is None else _fixed(f, 3)
        v.update(half=_points(p["half"]), low=_points(p["low"]), high=_points(p["high"]))
    return v


def _fill(template: str, values: Mapping[str, str]) -> str:
    return template.format_map(_Defaulting(values))


class _Defaulting(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return "—"


def render_row(row: Mapping[str, Any], lang: str = "zh") -> RowText:
    """An indicator row (``IndicatorRow.to_dict``, as the API and ``school_view`` give it) in words."""
    explanation = row.get("explanation") or {"code": "figures", "params": {}, "inputs": []}
    code = explanation["code"]
    params = {"points": row.get("points", "0"), "earned": row.get("earned_exact"), **explanation["params"]}
    values = _values(code, params, lang)
    sentence = _fill(_pick(SENTENCES.get(code, ("", "")), lang), values)
    if row.get("applicable", True):
        tail = f"{values['earned']} / {values['points']}"
        score = f"; {tail} points" if lang == "en" else f"，得 {tail} 分"
        sentence = (sentence + score) if sentence else score.lstrip("，; ")
    formula = _fill(_pick(FORMULAS.get(code, ("", "")), lang), values)
    return RowText(sentence, formula, [_input_text(i, lang) for i in explanation["inputs"]])


# ------------------------------------------------------------------------------------------------ inputs


def _per_student(field: str, lang: str) -> str:
    return f"{field_name(field, 'en')} per student" if lang == "en" else f"生均{field_name(field, 'zh')}"


def _with_unit(text: str, field: str | None) -> str:
    unit = _unit(field)
    return (
        f"{text} {unit}"
        if unit and unit not in ("人", "天", "次", "件", "处", "张", "项", "起", "周", "学时", "人次")
        else text
    )


_INPUT_NAMES: Mapping[str, tuple[str, str]] = {
    "latest_period": ("最近一期报表", "Latest report"),
    "participating_months": ("参加营养餐月数", "Participating months"),
    "reported_months": ("已报送月数", "Reported months"),
    "expected_months": ("应报送月数", "Expected months"),
    "inspections": ("期内现场督查次数", "Inspections in the window"),
    "inspection_id": ("督查记录", "Inspection record"),
    "inspection_date": ("督查日期", "Inspection date"),
    "inspection_score": ("督查评分", "Inspection score"),
    "max_score": ("满分", "Maximum score"),
    "target": ("目标比例", "Target"),
    "fund_compliant_months": ("资金合规月数", "Months with compliant funds"),
    "overdue_major_hazards": ("逾期未整改重大隐患", "Overdue open major hazards"),
    "required": ("应达次数", "Required"),
    "schools_in_median": ("参与中位数的同类学校", "Similar schools in the median"),
    "out_of": ("满项数", "Items in all"),
    "kitchen_months": ("填报食堂日常管控的营养餐月数", "Participating months with kitchen controls"),
    "months_v2": ("按新标准报送的月数", "Months sent in the new standard"),
    "tasks_done": ("完成的行事历任务", "Calendar tasks done"),
    "tasks_due": ("应完成的行事历任务", "Calendar tasks due"),
}

_Namer = Callable[[Mapping[str, Any], str], str]

_PARAM_NAMES: Mapping[str, _Namer] = {
    "field_value": lambda p, lang: field_name(p["field"], lang),
    "items_met": lambda p, lang: field_name(p["field"], lang),
    "sum": lambda p, lang: (
        f"Σ {field_name(p['field'], 'en')}" if lang == "en" else f"{field_name(p['field'], 'zh')}合计"
    ),
    "ratio": lambda p, lang: (
        f"{field_name(p['numerator'], 'en')} / {field_name(p['denominator'], 'en')}"
        if lang == "en"
        else f"{field_name(p['numerator'], 'zh')}占{field_name(p['denominator'], 'zh')}的比例"
    ),
    "carry_over_basis": lambda p, lang: (
        f"Carry-over basis of {_period(p['period'], 'en')}"
        if lang == "en"
        else f"{_period(p['period'], 'zh')}的结转依据"
    ),
    "stock_carry_over_basis": lambda p, lang: (
        f"Stock carry-over basis of {_period(p['period'], 'en')}"
        if lang == "en"
        else f"{_period(p['period'], 'zh')}的库存结转依据"
    ),
    "fund_anomalies": lambda p, lang: (
        f"Fund anomalies {_period(p['period'], 'en')}" if lang == "en" else f"{_period(p['period'], 'zh')}资金异常"
    ),
    "overdue_hazard": lambda p, lang: f"Hazard {p['ref']}" if lang == "en" else f"隐患 {p['ref']}",
    "calendar_month": lambda p, lang: (
        f"Calendar tasks {_period(p['period'], 'en')}" if lang == "en" else f"{_period(p['period'], 'zh')}行事历任务"
    ),
    "months_with": lambda p, lang: (
        f"Months with {_fields_all_yes(p['fields'], 'en')}"
        if lang == "en"
        else f"{_fields_all_yes(p['fields'], 'zh')}的月数"
    ),
    "months_without": lambda p, lang: (
        f"Months with no {field_name(p['field'], 'en')}"
        if lang == "en"
        else f"{field_name(p['field'], 'zh')}为 0 的月数"
    ),
    "per_student": lambda p, lang: _per_student(p["field"], lang),
    "median": lambda p, lang: (
        f"Median {_per_student(p['field'], 'en').lower()}"
        if lang == "en"
        else f"同类学校{_per_student(p['field'], 'zh')}中位数"
    ),
    "ratio_to_median": lambda p, lang: (
        f"{_per_student(p['field'], 'en')} / median"
        if lang == "en"
        else f"{_per_student(p['field'], 'zh')}与中位数之比"
    ),
    "score_factor": lambda p, lang: (
        f"Factor f for {field_name(p['field'], 'en')}" if lang == "en" else f"{field_name(p['field'], 'zh')}得分系数"
    ),
}


def _input_text(item: Mapping[str, Any], lang: str) -> tuple[str, str]:
    key, p, value = item["key"], item.get("params") or {}, item["value"]
    namer = _PARAM_NAMES.get(key)
    name = namer(p, lang) if namer else _pick(_INPUT_NAMES.get(key, (key, key)), lang)
    return name, _input_value(key, p, value, lang)


def _input_value(key: str, p: Mapping[str, Any], value: Any, lang: str) -> str:
    if value is None:
        return "—"
    if key in ("latest_period", "carry_over_basis", "stock_carry_over_basis"):
        return _period(value, lang)
    if key == "inspection_date":
        return _date(value, lang)
    if key == "inspection_id":
        return f"#{value}"
    if key == "calendar_month" and isinstance(value, str) and "/" in value:
        done, due = value.split("/", 1)
        return f"{done} of {due} done" if lang == "en" else f"完成 {done} 项 / 应完成 {due} 项"
    if key == "inspection_score":
        return _score(value)
    if key == "max_score":
        return _points(value)
    if key in ("target", "ratio"):
        return format_percent(value)
    if key == "fund_anomalies":
        return _join([_anomaly(c, lang) for c in value], lang)
    if key == "overdue_hazard":
        severity = _pick(("重大", "major") if p.get("severity") == "major" else ("一般", "general"), lang)
        deadline = _date(p["deadline"], lang)
        if p.get("rectified_on"):
            done = _pick(
                (f"{_date(p['rectified_on'], 'zh')}整改完成", f"rectified {_date(p['rectified_on'], 'en')}"), lang
            )
        else:
            done = _pick(("未整改", "open"), lang)
        return (
            f"{severity}, deadline {deadline}, {done}" if lang == "en" else f"{severity}，整改期限 {deadline}，{done}"
        )
    if key in ("per_student", "median"):
        return _with_unit(_fixed(value, 2), p.get("field"))
    if key in ("ratio_to_median", "score_factor"):
        return _fixed(value, 3)
    if key == "field_value" and isinstance(value, str) and value in ENUM_LABELS["campus_status"]:
        return _status(value, lang)
    if isinstance(value, str):
        try:
            return _with_unit(format_count(value), p.get("field"))
        except (ValueError, ZeroDivisionError):
            return value
    if isinstance(value, int | Fraction | Decimal):
        return _with_unit(format_count(value), p.get("field"))
    return str(value)
