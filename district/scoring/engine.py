"""The 美丽新校园 scoring engine: the one place where a rubric turns reports into scores, grades and ranks.

Pure Python: no database, no Flask. The caller (the DB service layer, a Celery task, a test) gathers, for one
county and one window W, each school's effective revisions, expected months, bureau inspections and hazard
ledger, and calls ``score_county``. The API, the dashboard, the xlsx export and the PDF all show what this
module returns; none of them recomputes a figure. The rubric (weights, thresholds, veto items) is data:
``district.scoring.rubric`` (``rubrics/default-v1.toml`` is the default of ``shared/spec/SCORING.md``).

Arithmetic
    Exact throughout: counts are ints, money and quantity strings are parsed as exact decimals (a float is
    refused), everything else is ``fractions.Fraction``. Only the final score is rounded, half up, to 2
    decimals. Indicator rows keep their exact ``earned`` (shown rounded to 2 places, and exactly as
    ``earned_exact``); the score is 100 × Σ exact earned / available, never a sum of rounded rows, so the
    rounded rows may differ from the score in the last place.

Terms (SCORING.md "Terms"), and where the spec is silent
    - Reported months: the expected months of W with a report (``SchoolInput.months`` ∩
      ``SchoolInput.expected_periods``). A report for a month of W the school was not expected to report (a
      break month; a month outside its active range never reaches the engine: ``inputs.county_meta``) is
      not scored: it is not in any Σ, not in coverage, not
      the latest report, not in the veto sums. It still counts as "the school's most recent earlier
      participating report" for the carry-over check of C4, as the fund engine defines it.
    - Latest report: the effective revision of the latest reported month.
    - Sums Σ run over the reported months (C1, C3, C4: over the reported months with
      ``nutrition.participating`` true).
    - Coverage = reported months / expected months, exactly (4/5 = 0.8 is not below 0.8).
    - A school with no expected month in W (not yet open, closed, or W is all break months) is not listed at
      all: it has nothing to be scored on, is not ranked, and is in no median. So coverage always has a
      denominator.

Indicators (the rubric's kinds; the default rubric's codes in brackets)
    - ``campaign_status`` (A1–A5): latest report; ``not_applicable`` → not applicable.
    - ``green_ratio`` (B1): latest report, points × min(1, (green / campus area) / target); campus area 0 →
      full (zero denominator: nothing to check).
    - ``inspection_score`` (B2): of the inspections dated inside W (others are ignored), the most recent by
      date; on the same date the highest id. earned = points × score / max_score (with the default 5 and 5:
      the score itself). A score outside 0..max_score is a caller's error (``ValueError``). No inspection →
      0 points and the flag ``awaiting_inspection``.
    - ``participating_ratio`` (C1, C3): points × Σ numerator / Σ denominator over participating months;
      no participating month → not applicable; Σ denominator = 0 → full.
    - ``staff_ratio`` (C2): over reported months; Σ denominator = 0 → not applicable.
    - ``sum_ratio`` (E2): over reported months; Σ denominator = 0 → full.
      Where the spec writes no min(1, …) (C1, C2, C3, E2) the ratio is not capped: the standard already
      rejects numerator > denominator for those fields.
    - ``fund_compliance`` (C4): points × participating months without any of the rubric's codes (default
      ``MISUSE``, ``BALANCE_MISMATCH``, ``CARRY_OVER_MISMATCH``) / participating months, the anomalies coming
      from ``district.nutrition.anomalies.month_anomalies`` (the one fund-rule engine) with the county's
      ``standard_rate``. The carry-over basis of a month is the school's most recent earlier participating
      report: for the first in W ``SchoolInput.previous_participating`` (``None`` → no carry-over check),
      then the previous participating report inside W. Break months have no reports, so June's closing
      balance is September's basis. No participating month → not applicable. The stock codes (default-2) count
      for months sent in @2 only; the stock carry-over basis of such a month is the most recent earlier
      participating month sent in @2 (before W: ``SchoolInput.previous_stock``), a @1 month between skipped.
    - ``kitchen_controls`` (C6 of default-2): points × Σ (the fields, e.g. morning_check_days +
      tableware_disinfection_days + tasting_days) / (number of fields × Σ denominator, meal_days), over the
      participating months that have a ``kitchen`` section (sent in @2, with canteen staff); none → not
      applicable; Σ denominator = 0 → full (nothing to check).
    - ``months_all_true`` (C5, E1) and ``months_flag`` (D4): points × months with the flag(s) true /
      reported months.
    - ``hazard_rectification`` (D1): points × min(1, Σ rectified / Σ found) (Σ found = 0 → full), then minus
      the penalty (2) for each ledger hazard with severity ``major``, deadline < the last day of W, and
      ``rectified_on`` null or > the last day of W; floor 0. The ledger is taken as given (the latest state
      of each ref known at the end of W); a ref may appear once.
    - ``patrols`` (D2): points × min(1, Σ inspections / (20 × reported months)).
    - ``drills`` (D3): points × min(1, Σ drills / ceil(expected months / 3)); expected months include
      missing ones (a school cannot lower its drill target by not reporting).
    - ``assets`` (E3): 1.5 × months with mismatches = 0 / reported months + 1.5 × min(1, Σ repairs_completed
      / Σ repairs_requested), Σ requested = 0 → full.
    - ``energy_median`` (F1): e = Σ electricity / Σ students, w = Σ water / Σ students over the school's
      reported months. m_e, m_w: medians over the schools passed in (one county) of the same type with at
      least one reported month and Σ students > 0; an even count takes the mean of the two middle values.
      points/2 × f(e / m_e) + points/2 × f(w / m_w), f(r) = 1 for r ≤ 1.0, 0 for r ≥ 1.5, (1.5 − r) / 0.5
      between (thresholds from the rubric). A median of 0 → that half full. A school with Σ students = 0
      has no per-student use to check: both halves full, and it is left out of the medians (it has no e or
      w to contribute).
    - ``calendar_tasks`` (H1 of default-2): points × tasks done / tasks due over the reported months sent in @2;
      a month's due tasks are those the 后勤行事历 that judged its report lists for that month
      (``MonthInput.calendar_due``, read by the caller: the version in force when the report arrived), done
      those of them its ``calendar.tasks`` names; no task due (no month in @2, or none listed) → not applicable.
    - ``dormitory_items`` (G1): latest report; ``enrollment.boarders`` = 0 → not applicable; else points ×
      distinct items in ``dormitory.unified_items`` (at most out_of) / out_of (9).

Normalisation, status, grade, rank
    - score = 100 × Σ earned / available, available = Σ points of the applicable indicators (= 100 − points of
      the not-applicable ones). Rounded half up to 2 decimals. If nothing is applicable (impossible with the
      default rubric: B2, D2–D4, E1–E3 and F1 always apply) the score is ``None``.
    - status: ``veto`` when Σ over the reported months of the rubric's veto fields > 0 (it comes first: a veto
      school with poor coverage is ``veto``); else ``insufficient_data`` when coverage < 0.8 (or there is no
      score); else ``compliant`` when the ROUNDED score ≥ 80 (79.995 → 80.00 is compliant), otherwise
      ``not_compliant``.
    - grade from the rounded score alone (89.995 → 90.00 → 优秀); ``None`` without a score. A vetoed school's
      grade is the rubric's lowest band (不合格, 一票否决) whatever its score (SCORING.md "Status, grade, rank").
    - rank inside the county by rounded score, descending; equal scores share a rank and the next rank skips
      (1, 2, 2, 4); within a tie, schools are listed by school code. Vetoed schools are not ranked: rank
      ``None`` (within the type too), listed after the ranked schools by rounded score descending (a vetoed
      school without a score after them), then code; their score is still shown. Schools with no report in W
      come last, by code, with score, grade and rank ``None`` and status ``insufficient_data``; they get no
      indicator rows. With ``rank_by_type=True`` ranks are counted within each school type and the list is
      grouped by type, in the standard's order of school types (kindergarten, primary, junior, nine_year,
      senior, complete_secondary, teaching_point; any other type after them, alphabetically).
    - flags, in this order: ``veto:<field>=<Σ>`` for each veto field with Σ > 0 (rubric order, the field's
      own name, e.g. ``veto:poisoning_incidents=1``); ``missing:YYYY-MM`` for each expected month without a
      report, ascending; ``awaiting_inspection`` when the rubric has an ``inspection_score`` indicator and no
      inspection is dated inside W (also for schools with no report: the bureau still owes the visit).

Audit trail
    Each ``IndicatorRow`` lists in ``inputs`` every figure it used (sums, counts, the latest period, the
    chosen inspection's id/date/score, the medians and ratios of F1 — a non-terminating value as
    ``"p/q ≈ decimal"``), and in ``revision_ids`` the report revisions it read (C4 adds the revision of its
    carry-over basis, D1 the ledger revisions of the penalised hazards; B2 reads no revision).
    ``IndicatorRow.explanation`` is the same row as data (a code, its parameters, each figure as
    ``{key, params, value}``: ``district.scoring.explanation``), made only when the row is shown;
    ``district.scoring.explain_text`` puts it in words for people (zh, en). ``note`` stays the engine's formula.

Input checks (``ValueError``, never a silent skip): the same school twice; an expected period or a report
    outside W; two reports for one period; a report whose ``period``/``school_code`` disagrees with its
    place; ``previous_participating`` not before W or not participating; a hazard ref twice; an inspection
    score outside 0..max_score; a field the rubric needs missing from a report, or a float/odd value in it.

Campaign progress: see ``campaign_progress``.
"""

from __future__ import annotations

import copy
import functools
import itertools
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from typing import Any, NamedTuple, cast

from district import caches
from district.calendar import Window, round_half_up
from district.nutrition.anomalies import chain_anomaly_codes
from district.reports.figures import INDEX as FIGURE_INDEX
from district.reports.figures import LAYOUT as FIGURES_LAYOUT_2
from district.reports.figures import ReportFigures
from district.scoring.rubric import Indicator, Rubric
from houqin_standard.fields import ENUM_LABELS
from houqin_standard.periods import parse_period

__all__ = [
    "STATUS_COMPLIANT",
    "STATUS_INSUFFICIENT_DATA",
    "STATUS_LABELS",
    "STATUS_NOT_COMPLIANT",
    "STATUS_VETO",
    "Approx",
    "HazardFigure",
    "HazardInput",
    "IndicatorRow",
    "InspectionInput",
    "Medians",
    "MonthInput",
    "SchoolInput",
    "SchoolScore",
    "Window",
    "campaign_progress",
    "county_medians",
    "drills_required",
    "exact_figure",
    "finish_part",
    "indicator_figures",
    "patrols_required",
    "round_half_up",
    "school_part",
    "score_county",
    "score_parts",
    "show_figure",
]

STATUS_VETO = "veto"
STATUS_INSUFFICIENT_DATA = "insufficient_data"
STATUS_COMPLIANT = "compliant"
STATUS_NOT_COMPLIANT = "not_compliant"

STATUS_LABELS: Mapping[str, tuple[str, str]] = {
    STATUS_VETO: ("一票否决", "Vetoed"),
    STATUS_INSUFFICIENT_DATA: ("数据不全", "Insufficient data"),
    STATUS_COMPLIANT: ("达标", "Compliant"),
    STATUS_NOT_COMPLIANT: ("未达标", "Not compliant"),
}

FLAG_AWAITING_INSPECTION = "awaiting_inspection"

_SCHOOL_TYPE_ORDER = tuple(ENUM_LABELS["school_type"])
_CAMPUS_STATUSES = ("compliant", "rectifying", "noncompliant", "not_applicable")


# --------------------------------------------------------------------------------------------------------
# Inputs


class MonthInput(NamedTuple):
    """The effective (newest accepted) revision of one reported month: its figures
    (``district.reports.figures.ReportFigures``, what the engine reads of a report), which the loader made
    from the figures stored at ingestion or from the parsed report, so both give the same scores. (A named
    tuple: a county's recompute makes one per school-month.)"""

    period: str
    revision_id: int
    figures: ReportFigures
    # the codes of the 后勤行事历 tasks due in the month by the calendar that judged the revision (the version in
    # force when it arrived: ``district.duties.services.due_codes``); read by ``calendar_tasks`` (H1) only, for
    # months sent in @2; ``None`` when the caller did not read them
    calendar_due: tuple[str, ...] | None = None


@dataclass(frozen=True)
class InspectionInput:
    """A bureau on-site inspection (三化 · 文化与美化), score 0–5 with one decimal."""

    id: int
    date: date
    score: Decimal


@dataclass(frozen=True)
class HazardInput:
    """One entry of the school's hazard ledger 隐患台账: its latest state known at the end of W."""

    ref: str
    severity: str  # general | major
    deadline: date
    rectified_on: date | None
    found_on: date
    revision_id: int | None  # the revision that last set this state (None: a bureau finding not yet restated)


@dataclass(frozen=True)
class SchoolInput:
    """One school of the county and everything the engine needs about it for one window."""

    code: str
    name: str
    type: str
    township: str
    months: Sequence[MonthInput]  # reported months inside W, ascending
    expected_periods: Sequence[str]  # expected months of W (no break months, inside the active range)
    inspections: Sequence[InspectionInput] = ()  # dated inside W
    hazards: Sequence[HazardInput] = ()
    previous_participating: MonthInput | None = None  # most recent participating report before W
    previous_stock: MonthInput | None = None  # most recent participating report sent in @2 before W

    def __post_init__(self) -> None:
        for name in ("months", "expected_periods", "inspections", "hazards"):
            value = getattr(self, name)
            if type(value) is not tuple:
                object.__setattr__(self, name, tuple(value))


# --------------------------------------------------------------------------------------------------------
# Outputs


@dataclass
class IndicatorRow:
    """One indicator of one school: what it earned out of what was available, and from which figures.

    ``raw_inputs`` keeps every figure used as the engine computed it (ints, exact fractions, strings);
    ``inputs`` is the same as text, made when a row is shown (a county's full recompute formats nothing).
    Treat it as immutable: rows are shared by every later ranking that reuses the school's part. (It is not a
    frozen dataclass only because a frozen one is several times slower to make, and a county makes ~6,000.)"""

    code: str
    area: str
    name_zh: str
    name_en: str
    points: Fraction
    applicable: bool
    earned: Fraction | None  # exact; None when not applicable
    available: Fraction  # points when applicable, else 0
    raw_inputs: Mapping[str, Any]  # every figure used (see ``show_figure``)
    revision_ids: list[int]  # the report revisions (and ledger revisions) used
    note: str
    area_zh: str = ""
    area_en: str = ""
    indicator: Indicator | None = field(default=None, repr=False, compare=False)  # the rubric's row

    @functools.cached_property
    def inputs(self) -> dict[str, str]:
        """Every figure used, as text: exact decimals, ``"p/q ≈ d"`` where a ratio does not terminate."""
        return {label: show_figure(value) for label, value in self.raw_inputs.items()}

    @functools.cached_property
    def explanation(self) -> dict[str, Any]:
        """The row's explanation as data (``district.scoring.explanation``): ``{"code", "params", "inputs"}``,
        made when a row is shown (a county's full recompute builds none); ``district.scoring.explain_text``
        renders it in words."""
        from district.scoring.explanation import explain_row

        return explain_row(self)

    def to_dict(self) -> dict[str, Any]:
        # a row is immutable and (with reused school parts) shown again in every later snapshot: its figures
        # are formatted once, and each caller gets its own copy
        cached = self.__dict__.get("_dict")
        if cached is None:
            cached = self._to_dict()
            object.__setattr__(self, "_dict", cached)
        out = dict(cached)
        out["inputs"] = dict(cached["inputs"])
        out["revision_ids"] = list(cached["revision_ids"])
        out["explanation"] = copy.deepcopy(cached["explanation"])
        return out

    def _to_dict(self) -> dict[str, Any]:
        return {
            **self.figures(),
            "inputs": dict(self.inputs),
            "revision_ids": list(self.revision_ids),
            "note": self.note,
            "explanation": self.explanation,
        }

    def figures(self) -> dict[str, Any]:
        """The row without its explanation: what it is, and what it earned out of what was available."""
        return {
            "code": self.code,
            "area": self.area,
            "area_zh": self.area_zh,
            "area_en": self.area_en,
            "name_zh": self.name_zh,
            "name_en": self.name_en,
            "points": exact_figure(self.points),
            "applicable": self.applicable,
            "earned": None if self.earned is None else f"{round_half_up(self.earned, 2):f}",
            "earned_exact": None if self.earned is None else exact_figure(self.earned),
            "available": exact_figure(self.available),
        }


@dataclass
class SchoolScore:
    """One school's score, grade, status and rank, and its indicator rows. Treat it as immutable (it is not a
    frozen dataclass only because a frozen one is slower to make, and a county's recompute makes hundreds)."""

    code: str
    name: str
    type: str
    township: str
    score: Decimal | None  # 2 places, half up; None without a report in W
    raw_score: Fraction | None  # exact, before rounding
    grade: str | None  # 优秀 / 良好 / 合格 / 不合格
    grade_code: str | None  # excellent / good / pass / fail
    status: str
    rank: int | None
    coverage: Fraction
    flags: list[str]
    earned: tuple[Fraction | None, ...]  # per rubric indicator, exact; None when not applicable
    earned_total: Fraction | None
    available_total: Fraction | None
    rubric_version: str
    reported_periods: tuple[str, ...] = ()
    expected_periods: tuple[str, ...] = ()
    # what the indicator rows are made from when first asked for (a county's recompute stores ``earned``)
    _results: tuple[_Result, ...] = field(default=(), repr=False, compare=False)
    _rubric: Rubric | None = field(default=None, repr=False, compare=False)

    @functools.cached_property
    def indicators(self) -> list[IndicatorRow]:
        """The indicator rows, in the rubric's order (none without a report in W): made when first read."""
        if self._rubric is None:
            return []
        rubric = self._rubric
        return [_indicator_row(ind, r, rubric) for ind, r in zip(rubric.indicators, self._results, strict=True)]

    def ranked(self, rank: int | None) -> SchoolScore:
        """This score with ``rank`` (a shallow copy: ranks within the county and within the type are two)."""
        out = copy.copy(self)
        out.rank = rank
        return out

    def row(self, code: str) -> IndicatorRow:
        """The indicator row ``code`` (``KeyError`` when there is none, e.g. without a report in W)."""
        for r in self.indicators:
            if r.code == code:
                return r
        raise KeyError(code)

    def to_dict(self, *, audit: bool = False, indicators: bool = True) -> dict[str, Any]:
        """The ranking row of API.md plus ``indicators`` (unless ``indicators=False``); ``audit=True`` adds the
        exact totals."""
        out: dict[str, Any] = {
            "school_code": self.code,
            "name": self.name,
            "type": self.type,
            "township": self.township,
            "score": None if self.score is None else f"{self.score:f}",
            "grade": self.grade,
            "status": self.status,
            "rank": self.rank,
            "coverage": f"{round_half_up(self.coverage, 4):f}",
            "flags": list(self.flags),
            "rubric_version": self.rubric_version,
        }
        if indicators:
            out["indicators"] = [row.to_dict() for row in self.indicators]
        if audit:
            out.update(
                {
                    "grade_code": self.grade_code,
                    "raw_score": None if self.raw_score is None else exact_figure(self.raw_score),
                    "earned_total": None if self.earned_total is None else exact_figure(self.earned_total),
                    "available_total": (None if self.available_total is None else exact_figure(self.available_total)),
                    "reported_periods": list(self.reported_periods),
                    "expected_periods": list(self.expected_periods),
                }
            )
        return out


# --------------------------------------------------------------------------------------------------------
# Exact figures


def exact_figure(x: Fraction) -> str:
    """Exactly: a terminating decimal as such (``"916.2"``, ``"45"``), anything else as ``"p/q"``."""
    d = x.denominator
    twos = fives = 0
    while d % 2 == 0:
        d //= 2
        twos += 1
    while d % 5 == 0:
        d //= 5
        fives += 1
    if d != 1:
        return f"{x.numerator}/{x.denominator}"
    places = max(twos, fives)
    return f"{Decimal(x.numerator * 10**places // x.denominator).scaleb(-places):f}"


def _figure(x: Fraction) -> str:
    """For ``inputs``: exact, with a 6-place reading when it does not terminate (``"90/17 ≈ 5.294118"``)."""
    exact = exact_figure(x)
    return exact if "/" not in exact else f"{exact} ≈ {round_half_up(x, 6):f}"


class Approx:
    """An input figure shown with a 6-place reading when it does not terminate (a ratio, a median)."""

    __slots__ = ("value",)

    def __init__(self, value: Fraction) -> None:
        self.value = value

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Approx) and other.value == self.value

    def __hash__(self) -> int:
        return hash(self.value)

    def __repr__(self) -> str:
        return f"Approx({self.value!r})"


class HazardFigure(NamedTuple):
    """An overdue major hazard as D1 used it (shown in ``inputs`` as ``"major, deadline …, rectified_on …"``)."""

    severity: str
    deadline: date
    rectified_on: date | None

    def text(self) -> str:
        rectified_on = self.rectified_on.isoformat() if self.rectified_on else "open"
        return f"{self.severity}, deadline {self.deadline.isoformat()}, rectified_on {rectified_on}"


def show_figure(value: object) -> str:
    """An input figure as text: a string as it is, an int in digits, a fraction exactly (``exact_figure``),
    an ``Approx`` as ``_figure`` writes it (``"90/17 ≈ 5.294118"``)."""
    t = type(value)
    if t is str:
        return cast(str, value)
    if t is int:
        return str(value)
    if t is Fraction:
        return exact_figure(cast(Fraction, value))
    if t is Approx:
        return _figure(cast(Approx, value).value)
    if t is HazardFigure:
        return cast(HazardFigure, value).text()
    raise TypeError(f"not an input figure: {value!r}")


@caches.memoize("scoring.engine.sigma", 1024)
def _sigma(field_name: str) -> str:
    return f"Σ {field_name.rsplit('.', 1)[-1]}"


def _to_fraction(value: object, what: str) -> Fraction:
    if isinstance(value, bool):
        raise ValueError(f"{what}: expected a number, got {value!r}")
    if isinstance(value, int | Fraction):
        return Fraction(value)
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"{what}: not a finite number: {value}")
        return Fraction(value)
    if isinstance(value, str):
        try:
            d = Decimal(value.strip())
        except InvalidOperation:
            raise ValueError(f"{what}: not a decimal number: {value!r}") from None
        if not d.is_finite():
            raise ValueError(f"{what}: not a finite number: {value!r}")
        return Fraction(d)
    # floats included: a float has already lost the exact figure (STANDARD.md: "never float").
    raise ValueError(f"{what}: expected an integer or a decimal string, got {type(value).__name__} {value!r}")


def _plain_decimal(text: str) -> tuple[int, int] | None:
    """``"412.5"`` → ``(4125, 1)``: a plain unsigned ASCII decimal as (digits, places); anything else (a sign,
    spaces, an exponent) ``None``, for ``_to_fraction`` to read or refuse."""
    whole, dot, places = text.partition(".")
    if not (whole.isdigit() and whole.isascii()):
        return None
    if not dot:
        return int(whole), 0
    if not (places.isdigit() and places.isascii()):
        return None
    return int(whole + places), len(places)


def _exact_sum(values: Sequence[Any], what: Any) -> Fraction:
    """Σ values exactly: integers summed as integers (and returned as an ``int`` when all are), plain decimal
    strings as integers at a common scale, one ``Fraction`` at the end (a ``Fraction`` per value is what made
    scoring slow). Anything else is read by ``_to_fraction`` (which refuses floats and booleans); ``what(i)``
    names the i-th value in its errors. Divide totals with ``_div``/``_scaled``, never ``/`` (int / int is a
    float)."""
    for v in values:
        if type(v) is not int:
            break
    else:  # counts, the common case: an int (it has .numerator and .denominator too; see ``_div``)
        return sum(values)
    ints = 0
    digits = 0
    places = 0
    rest: Fraction | None = None
    for i, v in enumerate(values):
        if type(v) is int:
            ints += v
            continue
        plain = _plain_decimal(v) if type(v) is str else None
        if plain is None:
            f = _to_fraction(v, what(i))
            rest = f if rest is None else rest + f
            continue
        n, k = plain
        if k > places:
            digits *= 10 ** (k - places)
            places = k
        elif k < places:
            n *= 10 ** (places - k)
        digits += n
    total = Fraction(ints * 10**places + digits, 10**places) if places else Fraction(ints + digits)
    return total if rest is None else total + rest


def _leaf(field_name: str) -> str:
    return field_name.rsplit(".", 1)[-1]


_ONE = Fraction(1)
_ZERO = Fraction(0)


def _div(num: Fraction | int, den: Fraction | int) -> Fraction:
    """num / den exactly (den ≠ 0), for ints and fractions alike."""
    return Fraction(num.numerator * den.denominator, num.denominator * den.numerator)


def _scaled(points: Fraction, num: Fraction | int, den: Fraction | int) -> Fraction:
    """points × num / den (den ≠ 0) with one normalisation instead of two, for ints and fractions alike."""
    if type(num) is int and type(den) is int:  # months counted out of months: a few values, over and over
        return _scaled_counts(points.numerator, points.denominator, num, den)
    return Fraction(
        points.numerator * num.numerator * den.denominator, points.denominator * num.denominator * den.numerator
    )


@caches.memoize("scoring.engine.scaled_counts", 4096)
def _scaled_counts(pn: int, pd: int, num: int, den: int) -> Fraction:  # keyed on ints: hashing a Fraction is slow
    return Fraction(pn * num, pd * den)


def _capped(points: Fraction, num: Fraction | int, den: Fraction | int) -> Fraction:
    """points × min(1, num / den) (den > 0)."""
    return points if num >= den else _scaled(points, num, den)


# --------------------------------------------------------------------------------------------------------
# One school, prepared


#: A reported month as the engine reads it: its figures by position (``FIGURE_INDEX``).
_Month = MonthInput


@dataclass
class _School:
    """One school's inputs for the indicators: its months (``MonthInput``) read through their figures."""

    input: SchoolInput
    reported: list[_Month]  # expected months with a report, ascending
    chain: list[_Month]  # every report of W, ascending (the carry-over basis of C4)
    missing: list[str]
    previous: _Month | None  # the carry-over basis of W's first participating month
    previous_stock: _Month | None  # the stock carry-over basis of W's first month sent in @2
    _totals: dict[str, Fraction] = field(default_factory=dict, repr=False)  # over the reported months
    _ptotals: dict[str, Fraction] = field(default_factory=dict, repr=False)  # over the participating ones

    @property
    def code(self) -> str:
        return self.input.code

    @property
    def latest(self) -> _Month:
        return self.reported[-1]

    @functools.cached_property
    def participating_chain(self) -> list[_Month]:
        """Every participating report of W (a break-month one too: it is a carry-over basis)."""
        return [m for m in self.chain if _participates(m)]

    @functools.cached_property
    def participating(self) -> list[_Month]:
        if len(self.chain) == len(self.reported):  # no report outside the expected months: the same list
            return self.participating_chain
        expected = {m.period for m in self.reported}
        return [m for m in self.participating_chain if m.period in expected]

    @functools.cached_property
    def reported_revision_ids(self) -> tuple[int, ...]:
        return tuple(m.revision_id for m in self.reported)

    def value(self, month: _Month, field_name: str) -> Any:
        i = FIGURE_INDEX.get(field_name)
        if i is None:
            raise ValueError(f"{field_name} is not a field of the report standard")
        v = month.figures[i]
        if v is None:  # no field of a report's sections may be null (STANDARD.md): None is "absent"
            raise ValueError(f"school {self.code} {month.period}: the report has no {field_name}")
        return v

    def column(self, months: Sequence[_Month], field_name: str) -> list[Any]:
        """The field's value in each of ``months``; a missing field is named (``value``'s error)."""
        i = FIGURE_INDEX.get(field_name)
        if i is not None:
            out = [m.figures[i] for m in months]
            if None not in out:
                return out
        return [self.value(m, field_name) for m in months]  # raises the error that names the field

    def number(self, month: _Month, field_name: str) -> Fraction:
        v = self.value(month, field_name)
        if type(v) is int:  # the common case, without building the error text
            return Fraction(v)
        return _exact_sum((v,), lambda i: f"school {self.code} {month.period} {field_name}")

    def flags(self, months: Sequence[_Month], field_name: str) -> list[bool]:
        values = self.column(months, field_name)
        for m, v in zip(months, values, strict=True):
            if v is not True and v is not False:
                raise ValueError(f"school {self.code} {m.period} {field_name}: expected true/false, got {v!r}")
        return values

    def prefetch(self, plan: Sequence[tuple[str, int]]) -> None:
        """Σ over the reported months of every ``(field, position)`` of ``plan`` (the rubric's summed fields,
        ``_summed_fields``), for ``total`` to find: the months' figures turned into columns at once. A field
        that is missing or not a number is left for ``total`` to report, when an indicator asks for it."""
        memo = self._totals
        columns = list(zip(*[m.figures for m in self.reported], strict=True))
        for name, i in plan:
            try:
                memo[name] = _exact_sum(columns[i], str)
            except (TypeError, ValueError):
                continue  # ``total`` says which month and field

    def total(self, months: Sequence[_Month], field_name: str) -> Fraction:
        """Σ of a number field over ``months``, exactly (``_exact_sum``); sums over the school's reported or
        participating months are remembered (several indicators and the F1 medians ask for the same ones)."""
        memo = (
            self._totals if months is self.reported
            else self._ptotals if months is self.__dict__.get("participating")
            else None
        )  # fmt: skip
        if memo is not None:
            hit = memo.get(field_name)
            if hit is not None:
                return hit
        values = self.column(months, field_name)
        result = _exact_sum(values, lambda i: f"school {self.code} {months[i].period} {field_name}")
        if memo is not None:
            memo[field_name] = result
        return result


def _participates(month: _Month) -> bool:
    return month.figures[_PARTICIPATING] is True


_PARTICIPATING = FIGURE_INDEX["nutrition.participating"]
_STOCK_OPENING = FIGURE_INDEX["canteen_stock.opening_stock_value"]  # None: a month sent in @1 (no stock)
_PERIOD = FIGURE_INDEX["period"]
_SCHOOL_CODE = FIGURE_INDEX["school_code"]


@caches.memoize("scoring.engine.expected_problem", 1024)
def _expected_problem(expected: tuple[str, ...], lo: str, hi: str) -> str:
    """What is wrong with a school's expected periods for W = lo..hi ("" when nothing): most schools of a county
    share one list, so it is checked once."""
    for p in expected:
        parse_period(p)
        if not lo <= p <= hi:
            return f"expected period {p} is outside W"
    if len(set(expected)) != len(expected):
        return "an expected period is listed twice"
    return ""


_SUMMED_OVER_REPORTED = {  # kind → the parameters naming fields it sums over the reported months
    "staff_ratio": ("numerator", "denominator"),
    "sum_ratio": ("numerator", "denominator"),
    "hazard_rectification": ("found", "rectified"),
    "patrols": ("field",),
    "drills": ("field",),
    "assets": ("repairs_requested", "repairs_completed"),
    "energy_median": ("electricity", "water", "students"),
}


def _summed_fields(rubric: Rubric) -> tuple[tuple[str, int], ...]:
    """The ``section.key`` fields the rubric's indicators and veto sum over the reported months, with their
    positions in a figures tuple."""
    names = [ind.params[k] for ind in rubric.indicators for k in _SUMMED_OVER_REPORTED.get(ind.kind, ())]
    names += rubric.veto_fields
    return _summed_positions(tuple(names))


@caches.memoize("scoring.engine.summed_fields", 64)
def _summed_positions(names: tuple[str, ...]) -> tuple[tuple[str, int], ...]:
    """``names`` (each once, in their first order) with their positions, those that are fields of the standard
    (another is reported by ``total`` when an indicator asks for it). Keyed by the names themselves: a
    rubric's value, not its object."""
    out: dict[str, tuple[str, int]] = {}
    for name in names:
        if name in FIGURE_INDEX:
            out[name] = (name, FIGURE_INDEX[name])
    return tuple(out.values())


def _prepare(school: SchoolInput, window: Window) -> _School:
    expected = school.expected_periods
    lo, hi = window.period_from, window.period_to
    problem = _expected_problem(tuple(expected), lo, hi)
    if problem:
        raise ValueError(f"school {school.code}: {problem}")
    expected_set = set(expected)
    by_period: dict[str, _Month] = {}
    code = school.code
    for given in school.months:
        period = given.period
        if type(period) is not str or not lo <= period <= hi:
            raise ValueError(f"school {code}: report of {period} is outside W")
        if period in by_period:
            raise ValueError(f"school {code}: two reports for {period}; pass the effective one only")
        values = given.figures
        if values[_PERIOD] not in (period, None):
            raise ValueError(f"school {code}: revision {given.revision_id} is for {values[_PERIOD]}")
        if values[_SCHOOL_CODE] not in (code, None):
            raise ValueError(f"school {code}: revision {given.revision_id} is of another school")
        by_period[period] = given
    prev = school.previous_participating
    if prev is not None:
        if not prev.period < window.period_from:
            raise ValueError(f"school {school.code}: previous_participating ({prev.period}) is not before W")
        if not _participates(prev):
            raise ValueError(f"school {school.code}: previous_participating ({prev.period}) is not participating")
    prev_stock = school.previous_stock
    if prev_stock is not None:
        if not prev_stock.period < window.period_from:
            raise ValueError(f"school {school.code}: previous_stock ({prev_stock.period}) is not before W")
        if not _participates(prev_stock) or prev_stock.figures[_STOCK_OPENING] is None:
            raise ValueError(
                f"school {school.code}: previous_stock ({prev_stock.period}) is not a participating month sent in @2"
            )
    if school.hazards:
        refs = [h.ref for h in school.hazards]
        if len(set(refs)) != len(refs):
            raise ValueError(f"school {school.code}: a hazard ref appears twice; pass its latest state once")
    chain = [by_period[p] for p in sorted(by_period)]
    return _School(
        input=school,
        reported=[m for m in chain if m.period in expected_set],
        chain=chain,
        missing=sorted(p for p in expected if p not in by_period),
        previous=prev,
        previous_stock=prev_stock,
    )


# --------------------------------------------------------------------------------------------------------
# Indicator kinds


class _Result(NamedTuple):
    applicable: bool
    earned: Fraction | None
    inputs: dict[str, Any]  # raw figures (``show_figure``)
    revision_ids: Sequence[int]
    note: str


def _not_applicable(inputs: dict[str, Any], revision_ids: Sequence[int], note: str) -> _Result:
    return _Result(False, None, inputs, revision_ids, f"not applicable: {note}")


@dataclass
class _Context:
    window: Window
    rubric: Rubric
    standard_rate: Decimal
    medians: dict[tuple[str, str], tuple[Fraction, Fraction, int]]  # (indicator, type) → (m_e, m_w, n)


def _revs(months: Sequence[_Month]) -> list[int]:
    return [m.revision_id for m in months]


def _campaign_status(ind: Indicator, s: _School, ctx: _Context) -> _Result:
    latest = s.latest
    status = s.value(latest, ind.params["field"])
    if status not in _CAMPUS_STATUSES:
        raise ValueError(f"school {s.code} {latest.period} {ind.params['field']}: unknown status {status!r}")
    inputs = {"latest report": latest.period, _leaf(ind.params["field"]): status}
    if status == "not_applicable":
        return _not_applicable(inputs, (latest.revision_id,), f"{status} in the latest report ({latest.period})")
    earned = ind.params["status_points"][status]
    return _Result(True, earned, inputs, (latest.revision_id,), f"{status} in the latest report ({latest.period})")


def _green_ratio(ind: Indicator, s: _School, ctx: _Context) -> _Result:
    latest = s.latest
    green_field, area_field, target = (
        ind.params["green_field"],
        ind.params["area_field"],
        ind.params["target"],
    )
    green = s.number(latest, green_field)
    area = s.number(latest, area_field)
    inputs: dict[str, Any] = {
        "latest report": latest.period,
        _leaf(green_field): green,
        _leaf(area_field): area,
        "target": target,
    }
    if area == 0:
        return _Result(True, ind.points, inputs, (latest.revision_id,), f"{_leaf(area_field)} = 0: full marks")
    ratio = green / area
    inputs["ratio"] = Approx(ratio)
    earned = _capped(ind.points, ratio, target)
    return _Result(True, earned, inputs, (latest.revision_id,), f"{ind.points} × min(1, ratio / target)")


def _inspection_score(ind: Indicator, s: _School, ctx: _Context) -> _Result:
    inside = _inspections_in_window(s.input, ctx.window)
    if not inside:
        return _Result(True, _ZERO, {"inspections in W": "0"}, (), "no bureau inspection dated inside W: 0 points")
    chosen = max(inside, key=lambda i: (i.date, i.id))
    max_score = ind.params["max_score"]
    score = _to_fraction(chosen.score, f"school {s.code} inspection {chosen.id} score")
    if not 0 <= score <= max_score:
        raise ValueError(
            f"school {s.code} inspection {chosen.id}: score {chosen.score} is outside 0..{exact_figure(max_score)}"
        )
    inputs = {
        "inspections in W": len(inside),
        "inspection id": chosen.id,
        "inspection date": chosen.date.isoformat(),
        "inspection score": score,
        "max score": max_score,
    }
    earned = _scaled(ind.points, score, max_score)
    return _Result(True, earned, inputs, (), "the latest inspection inside W (same date: the highest id)")


def _inspections_in_window(school: SchoolInput, window: Window) -> list[InspectionInput]:
    if not school.inspections:
        return []
    return [i for i in school.inspections if window.first_day <= i.date <= window.last_day]


def _ratio_over(ind: Indicator, s: _School, months: Sequence[_Month], months_label: str, zero: str) -> _Result:
    num_field, den_field = ind.params["numerator"], ind.params["denominator"]
    num = s.total(months, num_field)
    den = s.total(months, den_field)
    revision_ids = s.reported_revision_ids if months is s.reported else _revs(months)
    inputs = {months_label: len(months), _sigma(num_field): num, _sigma(den_field): den}
    if den == 0:
        if zero == "not_applicable":
            return _not_applicable(inputs, revision_ids, f"Σ {_leaf(den_field)} = 0")
        return _Result(True, ind.points, inputs, revision_ids, f"Σ {_leaf(den_field)} = 0: nothing to check, full")
    earned = _scaled(ind.points, num, den)
    return _Result(True, earned, inputs, revision_ids, _ratio_note(ind.points, num_field, den_field))


@caches.memoize("scoring.engine.ratio_note", 256)
def _ratio_note(points: Fraction, num_field: str, den_field: str) -> str:
    return f"{exact_figure(points)} × Σ {_leaf(num_field)} / Σ {_leaf(den_field)}"


def _participating_ratio(ind: Indicator, s: _School, ctx: _Context) -> _Result:
    months = s.participating
    if not months:
        return _not_applicable({"participating months": "0"}, (), "the school participated in no month of W")
    return _ratio_over(ind, s, months, "participating months", "full")


def _staff_ratio(ind: Indicator, s: _School, ctx: _Context) -> _Result:
    return _ratio_over(ind, s, s.reported, "reported months", "not_applicable")


def _sum_ratio(ind: Indicator, s: _School, ctx: _Context) -> _Result:
    return _ratio_over(ind, s, s.reported, "reported months", "full")


def _fund_compliance(ind: Indicator, s: _School, ctx: _Context) -> _Result:
    codes: tuple[str, ...] = ind.params["codes"]
    participating = s.participating
    if not participating:
        return _not_applicable({"participating months": "0"}, (), "the school participated in no month of W")
    counted = {m.period for m in participating}
    previous = s.previous
    stock_carry = "STOCK_CARRY_OVER_MISMATCH" in codes
    previous_stock = s.previous_stock if stock_carry else None
    chain = s.participating_chain  # the counted months and any break-month report between
    found = chain_anomaly_codes(
        [m.figures for m in chain],
        None if previous is None else previous.figures,
        standard_rate=ctx.standard_rate,
        only=codes,
        previous_stock=None if previous_stock is None else previous_stock.figures,
    )
    revision_ids: list[int] = []
    inputs: dict[str, Any] = {"participating months": len(participating)}
    compliant = 0
    for month, hits in zip(chain, found, strict=True):
        sent_in_2 = month.figures[_STOCK_OPENING] is not None
        if month.period in counted:
            if previous is not None:
                inputs[f"carry-over basis of {month.period}"] = previous.period
                revision_ids.append(previous.revision_id)
            if stock_carry and sent_in_2 and previous_stock is not None:
                inputs[f"stock carry-over basis of {month.period}"] = previous_stock.period
                revision_ids.append(previous_stock.revision_id)
            if hits:
                inputs[f"anomalies {month.period}"] = ", ".join(hits)
            else:
                compliant += 1
            revision_ids.append(month.revision_id)
        previous = month
        if stock_carry and sent_in_2:  # a @1 month is skipped by the stock carry-over
            previous_stock = month
    inputs["fund-compliant months"] = compliant
    earned = _scaled(ind.points, compliant, len(participating))
    note = f"months with none of {', '.join(codes)} / participating months"
    return _Result(True, earned, inputs, sorted(set(revision_ids)), note)


def _kitchen_controls(ind: Indicator, s: _School, ctx: _Context) -> _Result:
    fields: tuple[str, ...] = ind.params["fields"]
    den_field: str = ind.params["denominator"]
    first = FIGURE_INDEX[fields[0]]
    months = [m for m in s.participating if m.figures[first] is not None]  # with a ``kitchen`` section
    if not months:
        return _not_applicable(
            {"months with kitchen controls": "0"}, (), "no participating month of W has a kitchen section"
        )
    inputs: dict[str, Any] = {"months with kitchen controls": len(months)}
    done = Fraction(0)
    for f in fields:
        total = _exact_sum(s.column(months, f), lambda i, f=f: f"school {s.code} {months[i].period} {f}")
        inputs[_sigma(f)] = total
        done += total
    den = _exact_sum(s.column(months, den_field), lambda i: f"school {s.code} {months[i].period} {den_field}")
    inputs[_sigma(den_field)] = den
    revision_ids = _revs(months)
    leaves = " + ".join(_leaf(f) for f in fields)
    if den == 0:
        return _Result(True, ind.points, inputs, revision_ids, f"Σ {_leaf(den_field)} = 0: nothing to check, full")
    earned = _scaled(ind.points, done, len(fields) * den)
    note = f"{exact_figure(ind.points)} × Σ ({leaves}) / ({len(fields)} × Σ {_leaf(den_field)})"
    return _Result(True, earned, inputs, revision_ids, note)


def _months_with(ind: Indicator, s: _School, fields: Sequence[str]) -> _Result:
    columns = [s.flags(s.reported, f) for f in fields]
    if len(columns) == 1:
        good = columns[0].count(True)
    else:
        good = sum(1 for values in zip(*columns, strict=True) if all(values))
    label, note = _months_with_text(tuple(fields))
    inputs = {"reported months": len(s.reported), label: good}
    earned = _scaled(ind.points, good, len(s.reported))
    return _Result(True, earned, inputs, s.reported_revision_ids, note)


@caches.memoize("scoring.engine.months_with_text", 256)
def _months_with_text(fields: tuple[str, ...]) -> tuple[str, str]:
    label = " and ".join(_leaf(f) for f in fields)
    return f"months with {label}", f"months with {label} true / reported months"


def _months_all_true(ind: Indicator, s: _School, ctx: _Context) -> _Result:
    return _months_with(ind, s, ind.params["fields"])


def _months_flag(ind: Indicator, s: _School, ctx: _Context) -> _Result:
    return _months_with(ind, s, (ind.params["field"],))


def _hazard_rectification(ind: Indicator, s: _School, ctx: _Context) -> _Result:
    found_field, rect_field = ind.params["found"], ind.params["rectified"]
    penalty = ind.params["major_overdue_penalty"]
    found = s.total(s.reported, found_field)
    rectified = s.total(s.reported, rect_field)
    last_day = ctx.window.last_day
    overdue = sorted(
        (
            h
            for h in s.input.hazards
            if h.severity == "major" and h.deadline < last_day and (h.rectified_on is None or h.rectified_on > last_day)
        ),
        key=lambda h: (h.deadline, h.ref),
    )
    inputs: dict[str, Any] = {
        _sigma(found_field): found,
        _sigma(rect_field): rectified,
        "overdue open major hazards": len(overdue),
    }
    for h in overdue:
        inputs[f"hazard {h.ref}"] = HazardFigure("major", h.deadline, h.rectified_on)
    earned = ind.points if found == 0 else _capped(ind.points, rectified, found)
    if overdue:
        earned = earned - penalty * len(overdue)
    if earned < 0:
        earned = _ZERO
    note = (
        f"{exact_figure(ind.points)} × min(1, Σ rectified / Σ found)"
        + (" (Σ found = 0: full)" if found == 0 else "")
        + f" − {exact_figure(penalty)} × {len(overdue)} overdue open major hazard(s) at {last_day}, floor 0"
    )
    revision_ids: Sequence[int] = s.reported_revision_ids
    if overdue:
        revision_ids = sorted(set(revision_ids) | {h.revision_id for h in overdue if h.revision_id is not None})
    elif any(b < a for a, b in itertools.pairwise(revision_ids)):
        revision_ids = sorted(set(revision_ids))
    return _Result(True, earned, inputs, revision_ids, note)


def patrols_required(ind: Indicator, reported_months: int) -> int:
    """D2's required patrols: per_month × reported months."""
    return int(ind.params["per_month"]) * reported_months


def drills_required(ind: Indicator, expected_months: int) -> int:
    """D3's required drills: ceil(expected months / every_months)."""
    return -(-expected_months // ind.params["every_months"])


def _patrols(ind: Indicator, s: _School, ctx: _Context) -> _Result:
    done = s.total(s.reported, ind.params["field"])
    required = patrols_required(ind, len(s.reported))
    inputs = {
        _sigma(ind.params["field"]): done,
        "reported months": len(s.reported),
        "required": f"{ind.params['per_month']} × {len(s.reported)} = {required}",
    }
    earned = _capped(ind.points, done, required)
    return _Result(True, earned, inputs, s.reported_revision_ids, "min(1, done / required)")


def _drills(ind: Indicator, s: _School, ctx: _Context) -> _Result:
    done = s.total(s.reported, ind.params["field"])
    expected = len(s.input.expected_periods)
    every = ind.params["every_months"]
    required = drills_required(ind, expected)
    inputs = {
        _sigma(ind.params["field"]): done,
        "expected months": expected,
        "required": f"ceil({expected} / {every}) = {required}",
    }
    if required == 0:
        return _Result(True, ind.points, inputs, s.reported_revision_ids, "nothing required: full")
    earned = _capped(ind.points, done, required)
    return _Result(True, earned, inputs, s.reported_revision_ids, "min(1, done / required)")


def _assets(ind: Indicator, s: _School, ctx: _Context) -> _Result:
    p = ind.params
    mismatches = s.column(s.reported, p["mismatches"])
    clean = 0
    for m, v in zip(s.reported, mismatches, strict=True):
        if (v if type(v) is int else s.number(m, p["mismatches"])) == 0:
            clean += 1
    requested = s.total(s.reported, p["repairs_requested"])
    completed = s.total(s.reported, p["repairs_completed"])
    repairs = p["repairs_points"] if requested == 0 else _capped(p["repairs_points"], completed, requested)
    earned = _scaled(p["mismatch_points"], clean, len(s.reported)) + repairs
    inputs = {
        "reported months": len(s.reported),
        f"months with {_leaf(p['mismatches'])} = 0": clean,
        _sigma(p["repairs_completed"]): completed,
        _sigma(p["repairs_requested"]): requested,
    }
    note = (
        f"{exact_figure(p['mismatch_points'])} × clean months / reported months + "
        f"{exact_figure(p['repairs_points'])} × min(1, Σ completed / Σ requested)"
        + (" (Σ requested = 0: full)" if requested == 0 else "")
    )
    return _Result(True, earned, inputs, s.reported_revision_ids, note)


def _energy_totals(ind: Indicator, s: _School) -> tuple[Fraction, Fraction, Fraction]:
    p = ind.params
    return (
        s.total(s.reported, p["electricity"]),
        s.total(s.reported, p["water"]),
        s.total(s.reported, p["students"]),
    )


def _median(values: Sequence[Fraction]) -> Fraction:
    ordered = sorted(values)
    mid = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[mid]
    return (ordered[mid - 1] + ordered[mid]) / 2


def _energy_median(ind: Indicator, s: _School, ctx: _Context) -> _Result:
    return _energy_row(ind, _energy_totals(ind, s), s.reported_revision_ids, ctx.medians, s.input.type)


def _energy_row(
    ind: Indicator,
    totals: tuple[Fraction, Fraction, Fraction],
    revision_ids: Sequence[int],
    medians: Mapping[tuple[str, str], tuple[Fraction, Fraction, int]],
    school_type: str,
) -> _Result:
    """F1 from the school's own totals and the county's medians (the only county-level part of a score)."""
    p = ind.params
    electricity, water, students = totals
    inputs: dict[str, Any] = {
        _sigma(p["electricity"]): electricity,
        _sigma(p["water"]): water,
        _sigma(p["students"]): students,
    }
    if students == 0:
        return _Result(True, ind.points, inputs, revision_ids, "Σ students = 0: no per-student use to check, full")
    m_e, m_w, n = medians[(ind.code, school_type)]
    lo, hi = p["thresholds"]
    half, note = _energy_text(ind.points)
    e, w = _div(electricity, students), _div(water, students)
    inputs["e"] = Approx(e)
    inputs["w"] = Approx(w)
    inputs["schools in median"] = n
    inputs["median e"] = Approx(m_e)
    inputs["median w"] = Approx(m_w)
    shares = []
    notes = []
    for name, value, median in (("e", e, m_e), ("w", w, m_w)):
        if median == 0:
            shares.append(_ONE)
            notes.append(f"median {name} = 0: full")
            continue
        r = value / median
        f = _ONE if r <= lo else _ZERO if r >= hi else (hi - r) / (hi - lo)
        inputs[_R_KEYS[name]] = Approx(r)
        inputs[_F_KEYS[name]] = Approx(f)
        shares.append(f)
    earned = half * (shares[0] + shares[1])
    if notes:
        note += "; " + "; ".join(notes)
    return _Result(True, earned, inputs, revision_ids, note)


_R_KEYS = {"e": "r_e", "w": "r_w"}
_F_KEYS = {"e": "f(r_e)", "w": "f(r_w)"}


@caches.memoize("scoring.engine.energy_text", 64)
def _energy_text(points: Fraction) -> tuple[Fraction, str]:
    half = points / 2
    return half, f"{exact_figure(half)} × f(e / median e) + {exact_figure(half)} × f(w / median w)"


def _dormitory_items(ind: Indicator, s: _School, ctx: _Context) -> _Result:
    latest = s.latest
    boarders = s.number(latest, ind.params["boarders"])
    inputs: dict[str, Any] = {"latest report": latest.period, _leaf(ind.params["boarders"]): boarders}
    if boarders == 0:
        return _not_applicable(inputs, (latest.revision_id,), f"no boarders in the latest report ({latest.period})")
    items = s.value(latest, ind.params["field"])
    if not isinstance(items, list | tuple):
        raise ValueError(f"school {s.code} {latest.period} {ind.params['field']}: expected a list, got {items!r}")
    out_of = ind.params["out_of"]
    count = min(len(set(items)), out_of)
    inputs[_leaf(ind.params["field"])] = count
    inputs["out of"] = out_of
    earned = _scaled(ind.points, count, out_of)
    return _Result(True, earned, inputs, (latest.revision_id,), f"items met / {out_of}")


def _calendar_tasks(ind: Indicator, s: _School, ctx: _Context) -> _Result:
    """H1 后勤行事历: points × tasks done / tasks due over the reported months sent in @2; a task is due in a
    month when the calendar that judged the month's report lists it for that month (``MonthInput.calendar_due``);
    done when the report's ``calendar.tasks`` names it. No task due → not applicable."""
    months = [m for m in s.reported if m.figures.layout == FIGURES_LAYOUT_2]
    inputs: dict[str, Any] = {"months sent in @2": len(months)}
    due_total = 0
    done_total = 0
    for m in months:
        due = m.calendar_due
        if due is None:
            raise ValueError(f"school {s.code} {m.period}: no calendar tasks due given for revision {m.revision_id}")
        listed = m.figures[_CALENDAR_TASKS]
        names = {t.get("code") for t in listed if isinstance(t, Mapping)} if isinstance(listed, list) else set()
        done = sum(1 for code in due if code in names)
        due_total += len(due)
        done_total += done
        inputs[f"tasks done {m.period}"] = f"{done}/{len(due)}"
    inputs["tasks done"] = done_total
    inputs["tasks due"] = due_total
    revision_ids = _revs(months)
    if due_total == 0:
        return _not_applicable(inputs, revision_ids, "no calendar task due in the months sent in @2")
    earned = _scaled(ind.points, done_total, due_total)
    return _Result(True, earned, inputs, revision_ids, f"{exact_figure(ind.points)} × tasks done / tasks due")


_CALENDAR_TASKS = FIGURE_INDEX["calendar.tasks"]


_KIND_FUNCTIONS = {
    "campaign_status": _campaign_status,
    "green_ratio": _green_ratio,
    "inspection_score": _inspection_score,
    "participating_ratio": _participating_ratio,
    "staff_ratio": _staff_ratio,
    "sum_ratio": _sum_ratio,
    "fund_compliance": _fund_compliance,
    "kitchen_controls": _kitchen_controls,
    "months_all_true": _months_all_true,
    "months_flag": _months_flag,
    "hazard_rectification": _hazard_rectification,
    "patrols": _patrols,
    "drills": _drills,
    "assets": _assets,
    "energy_median": _energy_median,
    "dormitory_items": _dormitory_items,
    "calendar_tasks": _calendar_tasks,
}


# --------------------------------------------------------------------------------------------------------
# County


def score_county(
    schools: Sequence[SchoolInput],
    window: Window,
    rubric: Rubric,
    *,
    standard_rate: Decimal = Decimal("5.00"),
    rank_by_type: bool = False,
) -> list[SchoolScore]:
    """Score and rank the schools of ONE county over the window W with ``rubric``.

    Returns one ``SchoolScore`` per school with at least one expected month in W, in ranking order: by
    rounded score descending, ties (sharing a rank, the next rank skipping: 1, 2, 2, 4) by school code,
    then the vetoed schools unranked (rank ``None``, grade 不合格; by score, then code), then the schools
    without a report in W by code (score, grade, rank ``None``; status
    ``insufficient_data``). ``rank_by_type=True`` ranks within each school type, grouped by type. The F1
    medians are taken over the schools passed in, so pass the whole county. ``standard_rate`` is the county's
    subsidy standard, handed to the fund engine for C4. Every semantic choice is in the module docstring.
    """
    check_rubric(rubric)
    codes = [s.code for s in schools]
    if len(set(codes)) != len(codes):
        dup = sorted({c for c in codes if codes.count(c) > 1})
        raise ValueError(f"school(s) listed twice: {', '.join(dup)}")
    parts = [school_part(s, window, rubric, standard_rate=standard_rate) for s in schools if s.expected_periods]
    return score_parts(parts, rubric, rank_by_type=rank_by_type)


def check_rubric(rubric: Rubric) -> None:
    """``ValueError`` when the rubric uses a kind this engine does not implement."""
    unknown = sorted({ind.kind for ind in rubric.indicators} - set(_KIND_FUNCTIONS))
    if unknown:
        raise ValueError(f"rubric {rubric.version}: kinds this engine does not implement: {', '.join(unknown)}")


@dataclass(frozen=True)
class SchoolPart:
    """Everything of one school's score that depends on the school alone (``school_part``).

    A score is this plus the county-level part: the F1 (``energy_median``) rows, which compare the school's
    totals with the medians of its county's schools of its type, the totals and the ranks (``score_parts``).
    A part depends only on its ``SchoolInput``, the window, the rubric and the subsidy standard, so a caller
    that knows two inputs are the same (the same revisions, inspections and ledger) may reuse it: rescoring a
    county after one new report then recomputes one part, the medians and the ranks.
    """

    code: str
    name: str
    type: str
    township: str
    expected_periods: tuple[str, ...]  # sorted
    reported_periods: tuple[str, ...]
    coverage: Fraction
    flags: tuple[str, ...]
    vetoed: bool
    results: tuple[_Result | None, ...]  # per rubric indicator; None for F1 (filled by ``finish_part``)
    energy: dict[str, tuple[Fraction, Fraction, Fraction]]  # F1 code → (Σ electricity, Σ water, Σ students)
    reported_revision_ids: tuple[int, ...]


def school_part(
    school: SchoolInput, window: Window, rubric: Rubric, *, standard_rate: Decimal = Decimal("5.00")
) -> SchoolPart:
    """The school-only part of one school's score (the school must have an expected month in W)."""
    s = _prepare(school, window)
    if s.reported:
        s.prefetch(_summed_fields(rubric))
    ctx = _Context(window, rubric, Decimal(standard_rate), {})
    expected = tuple(sorted(school.expected_periods))
    coverage = Fraction(len(s.reported), len(expected))

    flags: list[str] = []
    for field_name in rubric.veto_fields:
        total = s.total(s.reported, field_name) if s.reported else Fraction(0)
        if total > 0:
            flags.append(f"veto:{_leaf(field_name)}={exact_figure(total)}")
    vetoed = bool(flags)
    flags.extend(f"missing:{p}" for p in s.missing)
    has_b2 = any(ind.kind == "inspection_score" for ind in rubric.indicators)
    if has_b2 and not _inspections_in_window(school, ctx.window):
        flags.append(FLAG_AWAITING_INSPECTION)

    results: list[_Result | None] = []
    energy: dict[str, tuple[Fraction, Fraction, Fraction]] = {}
    if s.reported:  # a school without a report in W gets no rows and no score
        for ind in rubric.indicators:
            if ind.kind == "energy_median":
                energy[ind.code] = _energy_totals(ind, s)
                results.append(None)
                continue
            results.append(_KIND_FUNCTIONS[ind.kind](ind, s, ctx))
    return SchoolPart(
        code=school.code,
        name=school.name,
        type=school.type,
        township=school.township,
        expected_periods=expected,
        reported_periods=tuple(m.period for m in s.reported),
        coverage=coverage,
        flags=tuple(flags),
        vetoed=vetoed,
        results=tuple(results),
        energy=energy,
        reported_revision_ids=tuple(_revs(s.reported)),
    )


def indicator_figures(ind: Indicator, rubric: Rubric, earned: Fraction | None) -> dict[str, Any]:
    """``IndicatorRow.figures`` of an indicator that earned ``earned`` (``None``: not applicable), without
    its explanation: a stored ranking's rows for the county-wide views."""
    result = _Result(earned is not None, earned, {}, (), "")
    return _indicator_row(ind, result, rubric).figures()


def _indicator_row(ind: Indicator, result: _Result, rubric: Rubric) -> IndicatorRow:
    area = rubric.area(ind.area)
    return IndicatorRow(
        code=ind.code,
        area=ind.area,
        name_zh=ind.name_zh,
        name_en=ind.name_en,
        points=ind.points,
        applicable=result.applicable,
        earned=result.earned if result.applicable else None,
        available=ind.points if result.applicable else _ZERO,
        raw_inputs=result.inputs,
        revision_ids=list(result.revision_ids),
        note=result.note,
        area_zh=area.zh,
        area_en=area.en,
        indicator=ind,
    )


#: The F1 medians of one county: (indicator code, school type) → (median e, median w, schools in the median).
Medians = dict[tuple[str, str], tuple[Fraction, Fraction, int]]


def score_parts(
    parts: Sequence[SchoolPart], rubric: Rubric, *, rank_by_type: bool = False, medians: Medians | None = None
) -> list[SchoolScore]:
    """Score and rank ONE county's schools from their parts (``school_part``, same window and rubric): the
    F1 medians over all of them (``county_medians``, unless given), each school's F1 rows, totals, score,
    grade and status (``finish_part``), and the ranks."""
    check_rubric(rubric)
    if medians is None:
        medians = county_medians(parts, rubric)
    return _rank([finish_part(p, rubric, medians) for p in parts], rank_by_type)


def county_medians(parts: Sequence[SchoolPart], rubric: Rubric) -> Medians:
    """The F1 (``energy_median``) medians over one county's school parts, per indicator and school type."""
    medians: dict[tuple[str, str], tuple[Fraction, Fraction, int]] = {}
    for ind in rubric.indicators:
        if ind.kind != "energy_median":
            continue
        per_type: dict[str, tuple[list[Fraction], list[Fraction]]] = {}
        for part in parts:
            if not part.reported_periods:
                continue
            electricity, water, students = part.energy[ind.code]
            if students == 0:
                continue
            es, ws = per_type.setdefault(part.type, ([], []))
            es.append(_div(electricity, students))
            ws.append(_div(water, students))
        for school_type, (es, ws) in per_type.items():
            medians[(ind.code, school_type)] = (_median(es), _median(ws), len(es))
    return medians


def finish_part(part: SchoolPart, rubric: Rubric, medians: Medians) -> SchoolScore:
    """One school's score from its part and its county's medians (``county_medians``), not yet ranked. A
    stored ranking explains one school with this, from the school's pinned inputs and the pinned medians."""
    results: list[_Result] = []
    earned: list[Fraction | None] = []
    earned_total: Fraction | None = None
    available_total: Fraction | None = None
    raw: Fraction | None = None
    if part.reported_periods:
        available: list[Fraction] = []
        for ind, result in zip(rubric.indicators, part.results, strict=True):
            if result is None:
                result = _energy_row(ind, part.energy[ind.code], part.reported_revision_ids, medians, part.type)
            results.append(result)
            if result.applicable:
                earned.append(result.earned)
                available.append(ind.points)
            else:
                earned.append(None)
        earned_total = _fsum([e for e in earned if e is not None])
        available_total = _fsum(available)
        raw = 100 * earned_total / available_total if available_total else None

    score = None if raw is None else round_half_up(raw, 2)
    band = None if score is None else rubric.grade_for(score)
    if part.vetoed:
        band = rubric.grades[-1]  # 不合格 (一票否决) whatever the score: the lowest band
        status = STATUS_VETO
    elif score is None or part.coverage < rubric.min_coverage:
        status = STATUS_INSUFFICIENT_DATA
    elif Fraction(score) >= rubric.compliant_score:
        status = STATUS_COMPLIANT
    else:
        status = STATUS_NOT_COMPLIANT
    return SchoolScore(
        code=part.code,
        name=part.name,
        type=part.type,
        township=part.township,
        score=score,
        raw_score=raw,
        grade=None if band is None else band.zh,
        grade_code=None if band is None else band.code,
        status=status,
        rank=None,
        coverage=part.coverage,
        flags=list(part.flags),
        earned=tuple(earned),
        earned_total=earned_total,
        available_total=available_total,
        rubric_version=rubric.version,
        reported_periods=part.reported_periods,
        expected_periods=part.expected_periods,
        _results=tuple(results),
        _rubric=rubric if results else None,
    )


def _fsum(values: Sequence[Fraction]) -> Fraction:
    """Σ of fractions with one normalisation at the end (``sum`` normalises after every addition)."""
    n, d = 0, 1
    for v in values:
        vd = v.denominator
        if vd == d:
            n += v.numerator
        else:
            n, d = n * vd + v.numerator * d, d * vd
    return Fraction(n, d)


def _type_order(school_type: str) -> tuple[int, str]:
    if school_type in _SCHOOL_TYPE_ORDER:
        return _SCHOOL_TYPE_ORDER.index(school_type), ""
    return len(_SCHOOL_TYPE_ORDER), school_type


def _rank(scores: Sequence[SchoolScore], rank_by_type: bool) -> list[SchoolScore]:
    if rank_by_type:
        groups: dict[str, list[SchoolScore]] = {}
        for s in scores:
            groups.setdefault(s.type, []).append(s)
        ordered: list[SchoolScore] = []
        for school_type in sorted(groups, key=_type_order):
            ordered.extend(_rank_group(groups[school_type]))
        return ordered
    return _rank_group(scores)


def _rank_group(scores: Sequence[SchoolScore]) -> list[SchoolScore]:
    """The ranked schools (score, not vetoed), then the vetoed ones unranked (by score, then code), then the
    rest without a score (no report in W), by code."""
    scored = sorted(
        (s for s in scores if s.score is not None and s.status != STATUS_VETO),
        key=lambda s: (-(s.score or Decimal(0)), s.code),
    )
    vetoed = sorted(
        (s for s in scores if s.status == STATUS_VETO),
        key=lambda s: (s.score is None, -(s.score or Decimal(0)), s.code),
    )
    unscored = sorted((s for s in scores if s.score is None and s.status != STATUS_VETO), key=lambda s: s.code)
    ranked: list[SchoolScore] = []
    rank = 0
    previous: Decimal | None = None
    for position, s in enumerate(scored, 1):
        if s.score != previous:
            rank, previous = position, s.score
        ranked.append(s.ranked(rank))
    return ranked + [s.ranked(None) for s in vetoed] + unscored


# --------------------------------------------------------------------------------------------------------
# Campaign progress


def campaign_progress(
    scores: Sequence[SchoolScore],
    active_school_count: int,
    year: int,
    campaign_start_year: int | None,
    rubric: Rubric,
    *,
    active_codes: Collection[str] | None = None,
) -> dict[str, Any]:
    """Campaign progress 创建进度 of a county (or a city: pass all its counties' scores) for year ``year``.

    ``{year, campaign_year, compliant, active, rate, target, met}``:

    - compliant: schools with status ``compliant`` among ``scores``, each code counted once; when
      ``active_codes`` is given only those schools count (a school closed during the year leaves the
      numerator as it leaves the denominator). More compliant than active schools is a caller's error
      (``ValueError``), so the rate never exceeds 1.
    - rate = compliant / active as a 4-place string (half up); ``None`` when there is no active school.
    - campaign_year = year − campaign_start_year + 1; target = the rubric's target for it (years after the
      last listed keep the last target, 100 % by default); no start year configured, or a year before the
      campaign: campaign_year/target ``None`` and ``met`` false.
    - met: the EXACT fraction compliant / active ≥ target (not the rounded rate).
    """
    if active_school_count < 0:
        raise ValueError("active_school_count must be ≥ 0")
    compliant_codes = {
        s.code for s in scores if s.status == STATUS_COMPLIANT and (active_codes is None or s.code in active_codes)
    }
    compliant = len(compliant_codes)
    if compliant > active_school_count:
        raise ValueError(
            f"{compliant} compliant schools but only {active_school_count} active: pass the active schools' scores"
        )
    campaign_year = None if campaign_start_year is None else year - campaign_start_year + 1
    target = None if campaign_year is None else rubric.target_for(campaign_year)
    if campaign_year is not None and campaign_year < 1:
        campaign_year = None
    rate = Fraction(compliant, active_school_count) if active_school_count else None
    return {
        "year": year,
        "campaign_year": campaign_year,
        "compliant": compliant,
        "active": active_school_count,
        "rate": None if rate is None else f"{round_half_up(rate, 4):f}",
        "target": None if target is None else f"{round_half_up(target, 4):f}",
        "met": rate is not None and target is not None and rate >= target,
    }
