"""Period approval: a county_admin locks (approves) a period, or unlocks it; both acts are audited.

While locked, no new revision is accepted for that county's period (409). The acts are appended to
``period_approvals``; the latest act is the state.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from district.audit.services import record
from district.db import utcnow
from district.registry.models import County, School
from district.reports.models import PeriodApproval, ReportRevision
from houqin_standard import SHANGHAI


class ApprovalError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass
class PeriodState:
    county_code: str
    period: str
    locked: bool
    history: list[PeriodApproval]
    revisions_since_approval: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "county_code": self.county_code,
            "period": self.period,
            "locked": self.locked,
            "revisions_since_approval": self.revisions_since_approval,
            "history": [
                {"action": a.action, "actor": a.actor, "at": a.at.astimezone(SHANGHAI).isoformat(), "note": a.note}
                for a in self.history
            ],
        }


def period_state(session: Session, county_code: str, period: str) -> PeriodState:
    history = list(
        session.scalars(
            select(PeriodApproval)
            .where(PeriodApproval.county_code == county_code, PeriodApproval.period == period)
            .order_by(PeriodApproval.id)
        )
    )
    locked = bool(history) and history[-1].action == "lock"
    first_lock = next((a for a in history if a.action == "lock"), None)
    since = 0
    if first_lock is not None:
        since = int(
            session.scalar(
                select(func.count())
                .select_from(ReportRevision)
                .join(School, School.code == ReportRevision.school_code)
                .where(
                    School.county_code == county_code,
                    ReportRevision.period == period,
                    ReportRevision.received_at > first_lock.at,
                )
            )
            or 0
        )
    return PeriodState(county_code, period, locked, history, since)


def set_lock(
    session: Session, county_code: str, period: str, *, lock: bool, actor: str, note: str | None = None
) -> PeriodState:
    """Lock or unlock; locking a locked period (or unlocking an open one) is refused with ``already_*``."""
    if session.get(County, county_code) is None:
        raise LookupError(county_code)
    # serialise approvals of one county
    session.execute(select(County.code).where(County.code == county_code).with_for_update())
    state = period_state(session, county_code, period)
    if lock and state.locked:
        raise ApprovalError("already_locked", f"{period} 已锁定 / already locked")
    if not lock and not state.locked:
        raise ApprovalError("not_locked", f"{period} 未锁定 / not locked")
    action = "lock" if lock else "unlock"
    session.add(
        PeriodApproval(county_code=county_code, period=period, action=action, actor=actor, at=utcnow(), note=note)
    )
    record(session, actor=actor, action=f"period.{action}", county_code=county_code, period=period, note=note)
    session.flush()
    return period_state(session, county_code, period)
