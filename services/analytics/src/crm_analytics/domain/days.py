"""The organisation's calendar: which day a moment falls on, in its time zone.

Facts, orders, payments and rates carry dates already (the ERP's days). What needs the zone is turning
a *moment* into a day: "today" for the ABC schedule's last completed month or quarter, and the day of
an event's time in SQL (``toDate(time, {tz:String})`` with the zone of ``CRM_ANALYTICS_TIME_ZONE``,
``AnalyticsSettings.time_zone``). Just after midnight in Sofia it is still the day before in UTC: the
organisation's day is Sofia's.
"""

from __future__ import annotations

import functools
import zoneinfo
from datetime import UTC, date, datetime


@functools.cache
def _known() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def check_time_zone(name: str) -> str:
    """``name`` when it is an IANA time zone this system knows (``Europe/Sofia``, ``UTC``), else
    :class:`ValueError` (checked at start, so a typo stops the service rather than shifting days)."""
    if name not in _known():
        raise ValueError(f"{name!r} is not an IANA time zone name such as Europe/Sofia or UTC")
    return name


def day_of(moment: datetime, time_zone: str) -> date:
    """The organisation's day of ``moment`` (an aware datetime; a naive one is taken as UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(zoneinfo.ZoneInfo(time_zone)).date()


def today(time_zone: str, now: datetime | None = None) -> date:
    """Today in the organisation: the day of ``now`` (default: the current moment) in ``time_zone``."""
    return day_of(now if now is not None else datetime.now(UTC), time_zone)
