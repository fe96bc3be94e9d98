"""A county's settings as the settings API shows them (``GET/PUT /api/v1/counties/<county>/settings``) and
``houqin counties configure`` prints them: one view over what the registry, the reporting calendar, the report
standards and the reminder channels each keep. It sits above those packages (docs/ARCHITECTURE.md, the layers);
none of them imports it."""

from __future__ import annotations

from sqlalchemy.orm import Session

from district.registry.models import County
from district.registry.services import township_order_setting, townships_in_order
from district.reminders.services import channels_view, load_channels
from district.reports import windows
from district.reports.standards import requirement_view


def county_settings(session: Session, county: County) -> dict[str, object]:
    """A county's settings as the settings API shows them (``GET /api/v1/counties/<county>/settings``)."""
    return {
        "county_code": county.code,
        "reporting_start": county.reporting_start,
        # the month the calendar uses when none is set: the earliest accepted report's
        "reporting_start_in_effect": windows.reporting_start(session, county),
        "deadline_day": county.deadline_day,
        "break_months": sorted(county.break_month_set),
        # the official order of its townships (a setting; ``None``: pinyin order) and the order in force
        "township_order": township_order_setting(session, county.code),
        "township_order_in_effect": townships_in_order(session, county.code),
        # reminder channels (issue 18); webhook tokens and secrets are never echoed in full
        "channels": channels_view(load_channels(session, county.code)),
        # the report standard version required from a period on (issue 20 item 1); ``None``: @1 or @2
        "require_standard": requirement_view(county),
    }
