"""Filtering and sorting a list of a county's schools (issue 17 item 6): the one rule the pages
(``district/dashboard/lists.py``) and the exports (``district/exports/api.py``) apply, so an export keeps the
filters of the page it came from. Townships sort in the county's order (``registry.services.township_order``),
types in the standard's order; ties by township, then school code.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, select
from sqlalchemy.orm import Session

from district.registry.models import School, Township
from district.registry.services import township_order
from houqin_standard import ENUM_LABELS

TYPE_ORDER = {t: i for i, t in enumerate(ENUM_LABELS["school_type"])}


@dataclass(frozen=True)
class ListQuery:
    """What a list shows: ``township`` and ``type`` ("" = all), ``sort`` (a key of the list) and ``order``."""

    township: str
    type: str
    sort: str
    order: str

    def args(self, **extra: str) -> dict[str, str]:
        """The query as URL arguments (the filter form, sort links and the list's exports keep it)."""
        args = {"township": self.township, "type": self.type, "sort": self.sort, "order": self.order, **extra}
        return {k: v for k, v in args.items() if v}


def schools_where(county_code: str, base: Any, township: str, school_type: str) -> Any:
    """The clause on ``School`` of a filtered list that a service counts itself (completeness): the user's scope
    (``base``: ``auth.services.school_filter``, or None) and the chosen township and type; None for all."""
    clauses = [c for c in (base,) if c is not None]
    if school_type:
        clauses.append(School.type == school_type)
    if township:
        named = select(Township.id).where(Township.county_code == county_code, Township.name == township)
        clauses.append(School.township_id.in_(named))
    return and_(*clauses) if clauses else None


def school_types(session: Session, codes: Sequence[str]) -> dict[str, str]:
    """School code → type, for rows that do not carry the type."""
    if not codes:
        return {}
    return dict(session.execute(select(School.code, School.type).where(School.code.in_(set(codes)))).tuples().all())


def filter_sort(
    session: Session,
    county_code: str,
    rows: Sequence[Any],
    q: ListQuery,
    keys: Mapping[str, Callable[[Any], Any]],
    *,
    type_of: Callable[[Any], str] | None = None,
) -> list[Any]:
    """THE filter and sort of a school list: rows (dicts with ``school_code`` and ``township``) of ``q.township``
    and ``q.type`` (``type_of`` reads a row's type; without it the registry's), sorted by ``keys[q.sort]``
    (``township``: the county's order, ``type``: the standard's order); rows without the value last; ties by
    township in the county's order, then school code."""
    if type_of is None:
        types = school_types(session, [r["school_code"] for r in rows])

        def type_of(r: Any) -> str:
            return types.get(r["school_code"], "")

    order = township_order(session, county_code)
    out = [r for r in rows if (not q.township or r["township"] == q.township) and (not q.type or type_of(r) == q.type)]
    if not q.sort:  # no sort asked: the service's own order
        return out
    out.sort(key=lambda r: (order(r["township"]), r["school_code"]))

    def value(r: Any) -> Any:
        if q.sort == "township":
            return order(r["township"])
        if q.sort == "type":
            return TYPE_ORDER.get(type_of(r), len(TYPE_ORDER))
        return keys[q.sort](r)

    present = [r for r in out if value(r) is not None]
    absent = [r for r in out if value(r) is None]
    present.sort(key=value, reverse=q.order == "desc")  # stable: ties keep the township and code order
    return present + absent
