"""Synthetic but realistic monthly reports for the demo and the benchmarks (deterministic by seed).

Figures are internally consistent unless a variation asks otherwise: the balance identity holds, meals stay
within the entitlement, the carry-over follows the previous month. A report in ``houqin/monthly-report@2``
(STANDARD-v2.md) adds the four sections of @2: the canteen's daily controls (within the meal days), its food
stock (opening = the school's previous @2 closing, purchases close to the food spend, a modest closing stock,
counted; what was consumed covers the food spend), the 意见箱 counts and the month's 后勤行事历 tasks
(``calendar_tasks``).
"""

from __future__ import annotations

import datetime as dt
import random
import uuid
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from district.duties.services import default_calendar
from houqin_standard import STANDARD_ID, STANDARD_ID_2, period_add

CENT = Decimal("0.01")
DORM_ITEMS = [
    "rules",
    "evacuation_map",
    "door_signs",
    "bed_spec",
    "item_positions",
    "mirror",
    "bunk_cards",
    "student_info",
    "manager_duties",
]
CAMPAIGN = ("shop", "toilets", "hygiene", "wiring", "drinking_water")
#: The stock anomalies (SCORING.md, "Stock anomalies") a @2 report can be made to show, one variation each.
STOCK_VARIATIONS = ("SPEND_EXCEEDS_CONSUMPTION", "STOCK_CARRY_OVER_MISMATCH", "STOCK_NOT_CHECKED")


def money(d: Decimal) -> str:
    return str(d.quantize(CENT, ROUND_HALF_UP))


@dataclass
class SchoolProfile:
    """Static facts of a synthetic school from which each month's report is drawn."""

    code: str
    type: str
    boarding: bool
    students: int
    rng: random.Random
    participating: bool = True
    balance: Decimal = Decimal("0.00")
    campus_area: int = 10000
    green_ratio: float = 0.3
    campaign: dict[str, str] = field(default_factory=dict)
    dorm_items: list[str] = field(default_factory=list)
    last_energy: tuple[Decimal, Decimal] | None = None
    open_hazards: dict[str, dict[str, Any]] = field(default_factory=dict)
    hazard_seq: int = 0
    keep_open: set[str] = field(default_factory=set)  # refs left overdue on purpose
    # the canteen's stock counted at the end of the school's latest month sent in @2 (canteen_stock): next
    # month's opening stock; None before its first @2 month
    stock: Decimal | None = None

    @classmethod
    def make(cls, code: str, stype: str, boarding: bool, seed: int) -> SchoolProfile:
        rng = random.Random(f"{seed}:{code}")
        base = {
            "kindergarten": 180,
            "primary": 600,
            "junior": 900,
            "nine_year": 800,
            "senior": 1800,
            "complete_secondary": 1500,
            "teaching_point": 40,
        }[stype]
        students = max(12, int(rng.gauss(base, base * 0.3)))
        p = cls(
            code=code,
            type=stype,
            boarding=boarding,
            students=students,
            rng=rng,
            participating=stype in ("primary", "junior", "nine_year", "teaching_point") and rng.random() < 0.9,
        )
        p.balance = Decimal(rng.randint(0, 3000)).quantize(CENT)
        p.campus_area = max(800, int(students * rng.uniform(12, 25)))
        p.green_ratio = rng.uniform(0.15, 0.45)
        statuses = ["compliant"] * 7 + ["rectifying"] * 2 + ["noncompliant"]
        p.campaign = {k: rng.choice(statuses) for k in CAMPAIGN}
        if stype in ("kindergarten", "teaching_point"):
            p.campaign["shop"] = "not_applicable"
        p.dorm_items = rng.sample(DORM_ITEMS, rng.randint(5, 9))
        return p


def monthly_report(
    p: SchoolProfile,
    period: str,
    *,
    prepared_at: str | None = None,
    variation: str | None = None,
    standard: int = 1,
    stock_variation: str | None = None,
) -> dict[str, Any]:
    """One month's report for the school. ``variation`` injects a named fund anomaly or a veto case.

    ``standard`` 2: the report is ``houqin/monthly-report@2`` with its four sections (``v2_sections``), and
    ``stock_variation`` (one of ``STOCK_VARIATIONS``) injects a stock anomaly."""
    if stock_variation is not None and (standard != 2 or stock_variation not in STOCK_VARIATIONS):
        raise ValueError(f"stock variation {stock_variation} needs a @2 report")
    rng = p.rng
    students = p.students
    boarders = int(students * rng.uniform(0.2, 0.5)) if p.boarding else 0
    staff = max(3, students // 14)
    meal_days = rng.randint(16, 22)
    eligible = int(students * rng.uniform(0.85, 1.0))
    rate = Decimal("5.00")
    meals = int(eligible * meal_days * rng.uniform(0.93, 0.99))
    opening = p.balance
    # funds follow the meals served; spending uses them and draws down what was carried over
    allowed = Decimal(meals) * rate
    funds = (allowed * Decimal(str(round(rng.uniform(0.96, 1.0), 4)))).quantize(CENT)
    food = (min(allowed, opening + funds) * Decimal(str(round(rng.uniform(0.985, 1.0), 4)))).quantize(CENT)
    other = Decimal("0.00")
    if food > opening + funds:
        food = opening + funds
    closing = opening + funds - food - other
    sample_days = meal_days if rng.random() < 0.8 else meal_days - rng.randint(1, 3)
    accompany = meal_days if rng.random() < 0.75 else meal_days - rng.randint(1, 4)
    nutrition: dict[str, Any] = {"participating": False}
    if p.participating:
        nutrition = {
            "participating": True,
            "eligible_students": eligible,
            "meal_days": meal_days,
            "meals_served": meals,
            "subsidy_rate": money(rate),
            "opening_balance": money(opening),
            "funds_received": money(funds),
            "food_spend": money(food),
            "other_spend": money(other),
            "closing_balance": money(closing),
            "supply_mode": rng.choice(["canteen"] * 6 + ["enterprise", "mixed"]),
            "accompany_meal_days": max(0, accompany),
            "menu_published_weeks": rng.randint(3, 4),
        }
        if variation == "MISUSE":  # part of the subsidy spent on something other than food
            misused = min(Decimal("1200.00"), (food / 4).quantize(CENT))
            nutrition["other_spend"] = money(misused)
            nutrition["food_spend"] = money(food - misused)
        elif variation == "BALANCE_MISMATCH":
            nutrition["closing_balance"] = money(closing + Decimal("350.00"))
        elif variation == "CARRY_OVER_MISMATCH":
            nutrition["opening_balance"] = money(opening + Decimal("500.00"))
            nutrition["closing_balance"] = money(closing + Decimal("500.00"))
        elif variation == "MEALS_EXCEED_ENTITLEMENT":
            nutrition["meals_served"] = eligible * meal_days + 40
        elif variation == "UNDERSPEND":
            low = (Decimal(meals) * rate * Decimal("0.8")).quantize(CENT)
            nutrition["food_spend"] = money(low)
            nutrition["closing_balance"] = money(opening + funds - low)
        elif variation == "NONSTANDARD_RATE":
            nutrition["subsidy_rate"] = "4.00"
        elif variation == "SPEND_EXCEEDS_MEALS":  # food bought beyond what the meals served justify
            high = (Decimal(meals) * rate * Decimal("1.06")).quantize(CENT)
            nutrition["food_spend"] = money(high)
            nutrition["funds_received"] = money(high)
            nutrition["closing_balance"] = money(opening)
        elif variation == "HIGH_BALANCE":  # next month's funds arrived early and sit unspent
            nutrition["funds_received"] = money(funds * 2)
            nutrition["closing_balance"] = money(opening + funds * 2 - food)
        p.balance = Decimal(nutrition["closing_balance"])
    canteen_staff = max(1, students // 120) if p.participating else 0
    water = Decimal(str(round(students * rng.uniform(0.6, 1.4), 1)))
    elec = Decimal(str(round(students * rng.uniform(18, 40), 1)))
    if variation == "ENERGY_JUMP" and p.last_energy:
        elec = (p.last_energy[1] * 4).quantize(Decimal("0.1"))
    p.last_energy = (water, elec)
    hazards, found, rectified = _hazards_for_month(p, period, overdue_major=variation == "OVERDUE_MAJOR")
    report: dict[str, Any] = {
        "standard": STANDARD_ID,
        "report_id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        "school_code": p.code,
        "period": period,
        "prepared_by": rng.choice(["李总务", "王会计", "张主任", "赵老师", "刘后勤"]),
        "prepared_at": prepared_at or f"{period_add(period, 1)}-02T16:00:00+08:00",
        "enrollment": {
            "students": students,
            "boarders": boarders,
            "staff": staff,
            "logistics_staff": max(1, staff // 8),
        },
        "nutrition": nutrition,
        "food_safety": {
            "canteen_staff": canteen_staff,
            "health_certified_staff": canteen_staff if rng.random() < 0.9 else max(0, canteen_staff - 1),
            "sample_retention_days": min(max(0, sample_days), meal_days) if p.participating else 0,
            "supplier_docs_complete": rng.random() < 0.9,
            "swill_records_complete": rng.random() < 0.85,
            "training_hours": rng.randint(0, 4),
            "poisoning_incidents": 1 if variation == "VETO" else 0,
        },
        "finance": {
            "fees_collected": money(Decimal(rng.randint(0, 30000))),
            "fee_standards_published": rng.random() < 0.92,
            "improper_fee_cases": 0,
            "accounts_disclosed": rng.random() < 0.9,
            "invoices": (inv := rng.randint(0, 40)),
            "invoices_fully_signed": inv - (1 if inv and rng.random() < 0.2 else 0),
        },
        "assets": {
            "items_registered": students * 6,
            "book_value": money(Decimal(students * 380)),
            "inventory_checked": rng.random() < 0.7,
            "mismatches": 0 if rng.random() < 0.85 else rng.randint(1, 3),
            "repairs_requested": (rq := rng.randint(0, 8)),
            "repairs_completed": rq - rng.randint(0, min(rq, 2)),
            "disposals": (d := rng.randint(0, 3)),
            "disposals_approved": d - rng.randint(0, min(d, 1)),
        },
        "energy": {
            "water_m3": str(water),
            "electricity_kwh": str(elec),
            "gas_m3": str(Decimal(str(round(rng.uniform(0, 200), 1)))),
        },
        "safety": {
            "inspections": rng.randint(10, 26),
            "drills": rng.randint(0, 1),
            "hazards_found": found,
            "hazards_rectified": rectified,
            "visitor_log_complete": rng.random() < 0.9,
            "major_accidents": 0,
        },
        "campus": {
            **p.campaign,
            "campus_area_m2": str(p.campus_area),
            "green_area_m2": str(int(p.campus_area * p.green_ratio)),
        },
        "hazards": hazards,
    }
    if boarders:
        report["dormitory"] = {"beds": max(0, boarders + rng.randint(-5, 30)), "unified_items": list(p.dorm_items)}
    if standard == 2:
        report["standard"] = STANDARD_ID_2
        report.update(v2_sections(p, period, report, stock_variation=stock_variation))
    return report


def calendar_tasks(school_code: str, period: str) -> list[dict[str, Any]]:
    """The tasks of the county's 后勤行事历 the school reports done in ``period`` (``calendar.tasks`` of @2:
    ``{code, done_on, note}``).

    The demo's @2 county keeps the calendar shipped with the hub (``district/duties/default-calendar.toml``,
    the one in force where a county has loaded none), so these are that calendar's tasks of the period's month;
    each is done by about four schools in five (the same school and month always draw the same), on a working day
    of the month, so that H1 of default-2 has tasks due, done and left undone."""
    year, month = int(period[:4]), int(period[5:7])
    rng = random.Random(f"calendar:{school_code}:{period}")
    out: list[dict[str, Any]] = []
    for task in default_calendar().tasks_of(month):
        if rng.random() < 0.8:
            day = rng.randint(2, 26)
            while dt.date(year, month, day).weekday() >= 5:  # Saturday or Sunday: the Monday after
                day += 1
            out.append({"code": task.code, "done_on": f"{period}-{day:02d}"})
    return out


def v2_sections(
    p: SchoolProfile, period: str, report: dict[str, Any], *, stock_variation: str | None = None
) -> dict[str, Any]:
    """The four sections only @2 has (STANDARD-v2.md), consistent with the rest of ``report``.

    ``kitchen`` (a school with canteen staff): morning checks and tableware disinfection on (nearly) every meal
    day, food tasted on most of them. ``canteen_stock`` (a participating school): opening = the school's
    previous @2 closing (``p.stock``; a first @2 month starts from a few days' stock), purchases = what was
    consumed plus the change of stock (so close to the food spend), closing a few days' stock, counted; what was
    consumed is a little more than the subsidy's food spend, so no stock anomaly fires unless one is planted.
    ``feedback_box``: a few suggestions, most answered. ``calendar``: ``calendar_tasks``."""
    rng = p.rng
    nutrition = report["nutrition"]
    out: dict[str, Any] = {"calendar": {"tasks": calendar_tasks(p.code, period)}}
    if report["food_safety"]["canteen_staff"] > 0:
        days = int(nutrition.get("meal_days") or rng.randint(16, 22))
        out["kitchen"] = {
            "morning_check_days": days if rng.random() < 0.85 else days - rng.randint(1, 3),
            "tableware_disinfection_days": days if rng.random() < 0.9 else days - 1,
            "tasting_days": days if rng.random() < 0.75 else days - rng.randint(1, 4),
        }
    if nutrition.get("participating"):
        food = Decimal(nutrition["food_spend"])
        opening = p.stock if p.stock is not None else (food * Decimal(str(round(rng.uniform(0.05, 0.12), 3))))
        opening = opening.quantize(CENT)
        target = (food * Decimal(str(round(rng.uniform(0.05, 0.12), 3)))).quantize(CENT)  # a few days' food
        consumed = (food * Decimal(str(round(rng.uniform(1.0, 1.02), 4)))).quantize(CENT, ROUND_HALF_UP)
        if consumed < food:  # never below the food spend (rounding)
            consumed = food
        if stock_variation == "SPEND_EXCEEDS_CONSUMPTION":  # food paid for that the stock does not account for
            short = max(Decimal("600.00"), (food * Decimal("0.12")).quantize(CENT))
            consumed = food - min(short, (food / 2).quantize(CENT))
        purchases = max(Decimal("0.00"), consumed + target - opening)
        closing = opening + purchases - consumed
        stated_opening = opening
        if stock_variation == "STOCK_CARRY_OVER_MISMATCH":  # last month's count copied wrong; this month counted
            if p.stock is None:
                raise ValueError(f"{p.code} {period}: a carry-over mismatch needs an earlier @2 month")
            stated_opening = opening + Decimal("420.00")
        out["canteen_stock"] = {
            "opening_stock_value": money(stated_opening),
            "purchases": money(purchases),
            "closing_stock_value": money(closing),
            "stock_checked": stock_variation != "STOCK_NOT_CHECKED",
        }
        p.stock = closing
    received = rng.choices([0, 1, 2, 3, 4, 5, 6], weights=[12, 22, 24, 18, 12, 7, 5])[0]
    out["feedback_box"] = {
        "received": received,
        "answered": received - (1 if received and rng.random() < 0.25 else 0),
    }
    return out


HAZARD_TEXT = {
    "wiring": ["教室插座松动，线路老化", "配电箱未上锁", "走廊应急灯不亮"],
    "toilets": ["学生厕所冲水阀损坏", "厕所地面湿滑无防滑垫"],
    "fire": ["灭火器压力不足", "消防通道堆放杂物", "疏散指示标志损坏"],
    "building": ["围墙局部开裂", "楼梯扶手松动", "教室门窗玻璃破损"],
    "food": ["食堂冷藏柜温度超标", "留样柜未上锁"],
    "drinking_water": ["饮水机滤芯过期未换"],
    "traffic": ["校门口减速带损坏"],
    "other": ["操场器材螺丝松动"],
}


def _hazards_for_month(p: SchoolProfile, period: str, *, overdue_major: bool) -> tuple[list[dict[str, Any]], int, int]:
    """This month's ledger entries: hazards found this month and earlier ones rectified this month."""
    import datetime as dt

    rng = p.rng
    y, m = int(period[:4]), int(period[5:7])
    entries: list[dict[str, Any]] = []
    rectified = 0
    for ref, h in list(p.open_hazards.items()):
        if ref in p.keep_open or rng.random() < 0.35:
            continue
        day = dt.date(y, m, rng.randint(1, 28))
        if day < dt.date.fromisoformat(h["found_on"]):
            continue
        h = {**h, "rectified_on": day.isoformat()}
        entries.append(h)
        del p.open_hazards[ref]
        rectified += 1
    new = rng.choices([0, 1, 2, 3], weights=[45, 30, 17, 8])[0] + (1 if overdue_major else 0)
    for i in range(new):
        p.hazard_seq += 1
        category = rng.choice(list(HAZARD_TEXT))
        found = dt.date(y, m, rng.randint(1, 20))
        major = (overdue_major and i == new - 1) or rng.random() < 0.08
        h = {
            "ref": f"H-{period}-{p.hazard_seq:03d}",
            "found_on": found.isoformat(),
            "category": category,
            "severity": "major" if major else "general",
            "description": rng.choice(HAZARD_TEXT[category]),
            "deadline": (found + dt.timedelta(days=rng.choice([3, 7, 14]))).isoformat(),
            "rectified_on": None,
        }
        if overdue_major and i == new - 1:
            p.keep_open.add(h["ref"])
        elif rng.random() < 0.4:  # fixed within the month
            h["rectified_on"] = min(found + dt.timedelta(days=rng.randint(0, 6)), dt.date(y, m, 28)).isoformat()
            rectified += 1
        if h["rectified_on"] is None:
            p.open_hazards[h["ref"]] = h
        entries.append(h)
    return entries, new, rectified


def fresh_report_id() -> str:
    return str(uuid.uuid4())
