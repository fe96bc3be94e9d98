"""Indicator rows explained as data (issue 17 item 5): a code and its parameters, and every figure used as
``{"key", "params", "value"}``, for ``district.scoring.explain_text`` to put in words (zh and en) on the
dashboard, the PDFs and the xlsx.

Nothing here scores: an explanation is read off what the engine recorded for the row (``IndicatorRow.raw_inputs``,
the rubric's indicator, applicable and earned); the one derived figure, D2/D3's required count, comes from the
engine's own rule (``patrols_required``/``drills_required``). Values are exact (``exact_figure``: a decimal that
terminates, otherwise ``"p/q"``); fields are named ``section.field`` as in the report standard, never by label.

Codes (``explanation["code"]``) and their parameters (every one also has ``points`` and ``earned``, exact, and
``earned`` ``None`` when not applicable):

- ``status``/``status_not_applicable`` (campaign_status): field, status, period (the latest report's month),
  status_points (the rubric's points per status).
- ``green_ratio``: green_field, area_field, green, area, ratio, target; ``zero_area_full``: field.
- ``inspection``: inspections, date, score, max_score; ``no_inspection``.
- ``ratio`` (participating_ratio, staff_ratio, sum_ratio): numerator, denominator (fields), num, den, ratio,
  months, months_kind (``participating``/``reported``); ``zero_denominator_full``/``zero_denominator_not_applicable``:
  field, months, months_kind; ``not_participating``.
- ``fund_compliance``: compliant, months, codes (anomaly codes checked).
- ``kitchen_controls``: fields, denominator, done (Σ of the fields), den (Σ denominator), n (how many fields),
  required (n × den), ratio, months; ``kitchen_zero_full``: field (the denominator), months; ``no_kitchen``.
- ``months_with`` (months_all_true, months_flag): fields, good, months.
- ``hazards``: found_field, rectified_field, found, rectified, overdue, penalty.
- ``patrols``: field, done, required, per_month, months.
- ``drills``: field, done, required, every, expected; ``drills_none_required``: expected.
- ``assets``: mismatch_field, clean, months, completed, requested, mismatch_points, repairs_points.
- ``energy``: electricity, water (per student: e, w), median_e, median_w, r_e, r_w, f_e, f_w (``None`` when
  the median is 0: that half full), half, low, high, schools; ``energy_no_students``: students field.
- ``dormitory_items``: field, count, out_of, period; ``no_boarders``: field, period.
- ``calendar_tasks`` (H1): done, due, months (reported months sent in @2); ``calendar_none_due``: months.

Input keys (``inputs[i]["key"]``): ``latest_period``, ``field_value`` {field}, ``sum`` {field},
``participating_months``, ``reported_months``, ``expected_months``, ``inspections``, ``inspection_id``,
``inspection_date``, ``inspection_score``, ``max_score``, ``target``, ``ratio`` {numerator, denominator},
``carry_over_basis`` {period}, ``stock_carry_over_basis`` {period}, ``kitchen_months``,
``fund_anomalies`` {period} (value: the codes), ``fund_compliant_months``,
``overdue_major_hazards``, ``overdue_hazard`` {ref, severity, deadline, rectified_on}, ``required``,
``months_with`` {fields}, ``months_without`` {field}, ``per_student`` {field}, ``schools_in_median``,
``median`` {field}, ``ratio_to_median`` {field}, ``score_factor`` {field}, ``items_met`` {field}, ``out_of``,
``months_v2``, ``tasks_done``, ``tasks_due``, ``calendar_month`` {period} (value ``"done/due"``).
"""

from __future__ import annotations

from collections.abc import Mapping
from fractions import Fraction
from typing import TYPE_CHECKING, Any

from district.scoring.engine import (
    Approx,
    HazardFigure,
    drills_required,
    exact_figure,
    patrols_required,
)

if TYPE_CHECKING:
    from district.scoring.engine import IndicatorRow
    from district.scoring.rubric import Indicator

__all__ = ["exact_value", "explain_row"]


def exact_value(value: Any) -> Any:
    """A figure of ``raw_inputs`` exactly, for data: whole numbers as ints, other fractions (``Approx`` too) by
    ``exact_figure`` (``"916.2"``, ``"p/q"``), strings as they are, a hazard as its text."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, Approx):
        value = value.value
    if isinstance(value, Fraction):
        return value.numerator if value.denominator == 1 else exact_figure(value)
    if isinstance(value, HazardFigure):
        return value.text()
    return value


def _leaf(name: str) -> str:
    return name.rsplit(".", 1)[-1]


def explain_row(row: IndicatorRow) -> dict[str, Any]:
    """``{"code", "params", "inputs"}`` of one indicator row (see the module docstring)."""
    ind = row.indicator
    raw = row.raw_inputs
    inputs = _inputs(ind, raw)
    base = {
        "points": exact_figure(row.points),  # as the row's own "points" and "earned_exact"
        "earned": None if row.earned is None else exact_figure(row.earned),
    }
    if ind is None:  # a row made without its rubric indicator: only the figures
        return {"code": "figures", "params": base, "inputs": inputs}
    code, params = _KINDS[ind.kind](ind, raw, row.applicable)
    return {"code": code, "params": {**base, **params}, "inputs": inputs}


# ------------------------------------------------------------------------------------------------ inputs

_PLAIN_KEYS = {
    "latest report": "latest_period",
    "participating months": "participating_months",
    "reported months": "reported_months",
    "expected months": "expected_months",
    "inspections in W": "inspections",
    "inspection id": "inspection_id",
    "inspection date": "inspection_date",
    "inspection score": "inspection_score",
    "max score": "max_score",
    "target": "target",
    "fund-compliant months": "fund_compliant_months",
    "overdue open major hazards": "overdue_major_hazards",
    "required": "required",
    "schools in median": "schools_in_median",
    "out of": "out_of",
    "months with kitchen controls": "kitchen_months",
    "months sent in @2": "months_v2",
    "tasks done": "tasks_done",
    "tasks due": "tasks_due",
}

_COUNT_KEYS = frozenset({"participating_months", "reported_months", "expected_months", "inspections", "kitchen_months"})

_PREFIXED = (  # the engine's keys that carry a period or a ref after a fixed prefix
    ("carry-over basis of ", "carry_over_basis", "period"),
    ("stock carry-over basis of ", "stock_carry_over_basis", "period"),
    ("anomalies ", "fund_anomalies", "period"),
    ("hazard ", "overdue_hazard", "ref"),
    ("tasks done ", "calendar_month", "period"),
)


def _fields_of(ind: Indicator | None) -> dict[str, str]:
    """The rubric's fields of this indicator by their leaf name (what the engine's input keys carry)."""
    if ind is None:
        return {}
    out: dict[str, str] = {}
    for value in ind.params.values():
        names = value if isinstance(value, list | tuple) else (value,)
        for name in names:
            if isinstance(name, str) and "." in name:
                out[_leaf(name)] = name
    return out


def _inputs(ind: Indicator | None, raw: Mapping[str, Any]) -> list[dict[str, Any]]:
    fields = _fields_of(ind)
    p = ind.params if ind is not None else {}
    out: list[dict[str, Any]] = []
    for name, value in raw.items():
        key, params = _input_key(name, fields, p)
        if key == "required" and ind is not None:
            if ind.kind == "patrols":
                months = int(raw["reported months"])
                params = {"per_month": p["per_month"], "months": months}
                value = patrols_required(ind, months)
            elif ind.kind == "drills":
                expected = int(raw["expected months"])
                params = {"every": p["every_months"], "expected": expected}
                value = drills_required(ind, expected)
        if isinstance(value, HazardFigure):
            params = {
                **params,
                "severity": value.severity,
                "deadline": value.deadline.isoformat(),
                "rectified_on": None if value.rectified_on is None else value.rectified_on.isoformat(),
            }
        if key in _COUNT_KEYS and type(value) is str and value.isdigit():
            value = int(value)  # the engine writes "0" for a count it did not make (no participating month)
        if key == "fund_anomalies" and isinstance(value, str):
            value = [c.strip() for c in value.split(",") if c.strip()]
        out.append({"key": key, "params": params, "value": exact_value(value)})
    return out


def _input_key(name: str, fields: Mapping[str, str], p: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    plain = _PLAIN_KEYS.get(name)
    if plain is not None:
        return plain, {}
    for prefix, key, param in _PREFIXED:
        if name.startswith(prefix):
            return key, {param: name[len(prefix) :]}
    if name.startswith("Σ "):
        leaf = name[2:]
        return "sum", {"field": fields.get(leaf, leaf)}
    if name == "ratio":
        return "ratio", {"numerator": p.get("green_field"), "denominator": p.get("area_field")}
    if name in ("e", "w"):
        return "per_student", {"field": p.get("electricity" if name == "e" else "water")}
    if name in ("median e", "median w"):
        return "median", {"field": p.get("electricity" if name == "median e" else "water")}
    if name in ("r_e", "r_w"):
        return "ratio_to_median", {"field": p.get("electricity" if name == "r_e" else "water")}
    if name in ("f(r_e)", "f(r_w)"):
        return "score_factor", {"field": p.get("electricity" if name == "f(r_e)" else "water")}
    if name.startswith("months with ") and name.endswith(" = 0"):
        leaf = name[len("months with ") : -len(" = 0")]
        return "months_without", {"field": fields.get(leaf, leaf)}
    if name.startswith("months with "):
        listed = p.get("fields") or ([p["field"]] if "field" in p else [])
        return "months_with", {"fields": list(listed)}
    if name in fields:
        if p.get("field") == fields[name] and "out_of" in p:
            return "items_met", {"field": fields[name]}
        return "field_value", {"field": fields[name]}
    return name, {}


# ------------------------------------------------------------------------------------------------ kinds

Explained = tuple[str, dict[str, Any]]


def _x(value: Any) -> Any:
    return exact_value(value)


def _campaign_status(ind: Indicator, raw: Mapping[str, Any], applicable: bool) -> Explained:
    field = ind.params["field"]
    params = {
        "field": field,
        "status": raw[_leaf(field)],
        "period": raw["latest report"],
        "status_points": {k: _x(Fraction(v)) for k, v in ind.params["status_points"].items()},
    }
    return ("status" if applicable else "status_not_applicable"), params


def _green_ratio(ind: Indicator, raw: Mapping[str, Any], applicable: bool) -> Explained:
    p = ind.params
    if "ratio" not in raw:
        return "zero_area_full", {"field": p["area_field"]}
    return "green_ratio", {
        "green_field": p["green_field"],
        "area_field": p["area_field"],
        "green": _x(raw[_leaf(p["green_field"])]),
        "area": _x(raw[_leaf(p["area_field"])]),
        "ratio": _x(raw["ratio"]),
        "target": _x(p["target"]),
    }


def _inspection_score(ind: Indicator, raw: Mapping[str, Any], applicable: bool) -> Explained:
    if "inspection score" not in raw:
        return "no_inspection", {}
    return "inspection", {
        "inspections": _x(raw["inspections in W"]),
        "date": raw["inspection date"],
        "score": _x(raw["inspection score"]),
        "max_score": _x(raw["max score"]),
    }


def _ratio(ind: Indicator, raw: Mapping[str, Any], applicable: bool) -> Explained:
    p = ind.params
    if "participating months" in raw and str(raw["participating months"]) == "0":
        return "not_participating", {}
    kind = "participating" if "participating months" in raw else "reported"
    months = int(raw["participating months" if kind == "participating" else "reported months"])
    num = raw["Σ " + _leaf(p["numerator"])]
    den = raw["Σ " + _leaf(p["denominator"])]
    if den == 0:
        code = "zero_denominator_full" if applicable else "zero_denominator_not_applicable"
        return code, {"field": p["denominator"], "months": months, "months_kind": kind}
    return "ratio", {
        "numerator": p["numerator"],
        "denominator": p["denominator"],
        "num": _x(num),
        "den": _x(den),
        "ratio": exact_value(Fraction(num) / Fraction(den)),
        "months": months,
        "months_kind": kind,
    }


def _fund_compliance(ind: Indicator, raw: Mapping[str, Any], applicable: bool) -> Explained:
    if not applicable:
        return "not_participating", {}
    return "fund_compliance", {
        "compliant": _x(raw["fund-compliant months"]),
        "months": _x(raw["participating months"]),
        "codes": list(ind.params["codes"]),
    }


def _kitchen_controls(ind: Indicator, raw: Mapping[str, Any], applicable: bool) -> Explained:
    if not applicable:
        return "no_kitchen", {}
    p = ind.params
    fields, den_field = list(p["fields"]), p["denominator"]
    months = int(raw["months with kitchen controls"])
    den = Fraction(raw["Σ " + _leaf(den_field)])
    if den == 0:
        return "kitchen_zero_full", {"field": den_field, "months": months}
    done = sum((Fraction(raw["Σ " + _leaf(f)]) for f in fields), Fraction(0))
    required = len(fields) * den
    return "kitchen_controls", {
        "fields": fields,
        "denominator": den_field,
        "done": _x(done),
        "den": _x(den),
        "n": len(fields),
        "required": _x(required),
        "ratio": exact_value(done / required),
        "months": months,
    }


def _months_with(ind: Indicator, raw: Mapping[str, Any], applicable: bool) -> Explained:
    fields = list(ind.params.get("fields") or [ind.params["field"]])
    good = next(v for k, v in raw.items() if k.startswith("months with "))
    return "months_with", {"fields": fields, "good": _x(good), "months": _x(raw["reported months"])}


def _hazards(ind: Indicator, raw: Mapping[str, Any], applicable: bool) -> Explained:
    p = ind.params
    return "hazards", {
        "found_field": p["found"],
        "rectified_field": p["rectified"],
        "found": _x(raw["Σ " + _leaf(p["found"])]),
        "rectified": _x(raw["Σ " + _leaf(p["rectified"])]),
        "overdue": _x(raw["overdue open major hazards"]),
        "penalty": _x(p["major_overdue_penalty"]),
    }


def _patrols(ind: Indicator, raw: Mapping[str, Any], applicable: bool) -> Explained:
    months = int(raw["reported months"])
    return "patrols", {
        "field": ind.params["field"],
        "done": _x(raw["Σ " + _leaf(ind.params["field"])]),
        "required": patrols_required(ind, months),
        "per_month": ind.params["per_month"],
        "months": months,
    }


def _drills(ind: Indicator, raw: Mapping[str, Any], applicable: bool) -> Explained:
    expected = int(raw["expected months"])
    required = drills_required(ind, expected)
    if required == 0:
        return "drills_none_required", {"expected": expected}
    return "drills", {
        "field": ind.params["field"],
        "done": _x(raw["Σ " + _leaf(ind.params["field"])]),
        "required": required,
        "every": ind.params["every_months"],
        "expected": expected,
    }


def _assets(ind: Indicator, raw: Mapping[str, Any], applicable: bool) -> Explained:
    p = ind.params
    return "assets", {
        "mismatch_field": p["mismatches"],
        "clean": _x(raw[f"months with {_leaf(p['mismatches'])} = 0"]),
        "months": _x(raw["reported months"]),
        "completed": _x(raw["Σ " + _leaf(p["repairs_completed"])]),
        "requested": _x(raw["Σ " + _leaf(p["repairs_requested"])]),
        "mismatch_points": _x(p["mismatch_points"]),
        "repairs_points": _x(p["repairs_points"]),
    }


def _energy(ind: Indicator, raw: Mapping[str, Any], applicable: bool) -> Explained:
    p = ind.params
    if "e" not in raw:
        return "energy_no_students", {"field": p["students"]}
    lo, hi = p["thresholds"]
    return "energy", {
        "electricity": p["electricity"],
        "water": p["water"],
        "e": _x(raw["e"]),
        "w": _x(raw["w"]),
        "median_e": _x(raw["median e"]),
        "median_w": _x(raw["median w"]),
        "r_e": _x(raw.get("r_e")),
        "r_w": _x(raw.get("r_w")),
        "f_e": _x(raw.get("f(r_e)")),
        "f_w": _x(raw.get("f(r_w)")),
        "half": exact_value(ind.points / 2),
        "low": _x(lo),
        "high": _x(hi),
        "schools": _x(raw["schools in median"]),
    }


def _dormitory(ind: Indicator, raw: Mapping[str, Any], applicable: bool) -> Explained:
    p = ind.params
    if not applicable:
        return "no_boarders", {"field": p["boarders"], "period": raw["latest report"]}
    return "dormitory_items", {
        "field": p["field"],
        "count": _x(raw[_leaf(p["field"])]),
        "out_of": _x(raw["out of"]),
        "period": raw["latest report"],
    }


def _calendar_tasks(ind: Indicator, raw: Mapping[str, Any], applicable: bool) -> Explained:
    months = _x(raw["months sent in @2"])
    if not applicable:
        return "calendar_none_due", {"months": months}
    return "calendar_tasks", {"done": _x(raw["tasks done"]), "due": _x(raw["tasks due"]), "months": months}


_KINDS = {
    "campaign_status": _campaign_status,
    "green_ratio": _green_ratio,
    "inspection_score": _inspection_score,
    "participating_ratio": _ratio,
    "staff_ratio": _ratio,
    "sum_ratio": _ratio,
    "fund_compliance": _fund_compliance,
    "kitchen_controls": _kitchen_controls,
    "months_all_true": _months_with,
    "months_flag": _months_with,
    "hazard_rectification": _hazards,
    "patrols": _patrols,
    "drills": _drills,
    "assets": _assets,
    "energy_median": _energy,
    "dormitory_items": _dormitory,
    "calendar_tasks": _calendar_tasks,
}
