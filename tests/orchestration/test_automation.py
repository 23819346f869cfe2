"""When the marts schedule asks for a day: once it is over in every site's time zone."""

import datetime as dt

import pytest

from beaconhouse.config import Site
from orchestration.defs.dbt.automation import GRACE, completed_days, day_ends_everywhere

pytestmark = pytest.mark.unit
TOKYO = Site(website_id=1, domain="a.example", timezone="Asia/Tokyo")
NEW_YORK = Site(website_id=2, domain="b.example", timezone="America/New_York")


def test_a_day_ends_everywhere_when_the_westernmost_site_reaches_midnight():
    day = dt.date(2026, 3, 2)
    # Tokyo's 2 March ends at 15:00 UTC that day; New York's at 05:00 UTC on 3 March.
    assert day_ends_everywhere(day, [TOKYO]) == dt.datetime(2026, 3, 2, 15, tzinfo=dt.UTC)
    assert day_ends_everywhere(day, [TOKYO, NEW_YORK]) == dt.datetime(2026, 3, 3, 5, tzinfo=dt.UTC)


def test_completed_days_wait_for_the_last_site_and_the_grace():
    ends = dt.datetime(2026, 3, 3, 5, tzinfo=dt.UTC)
    before = completed_days(ends + GRACE - dt.timedelta(minutes=1), [TOKYO, NEW_YORK])
    after = completed_days(ends + GRACE, [TOKYO, NEW_YORK])
    assert dt.date(2026, 3, 2) not in before
    assert dt.date(2026, 3, 2) in after
    assert dt.date(2026, 3, 3) not in after  # still going everywhere
    # Tokyo alone: its 3 March is over at 15:00 UTC that day, so by 17:00 it is built.
    assert dt.date(2026, 3, 3) in completed_days(dt.datetime(2026, 3, 3, 17, tzinfo=dt.UTC), [TOKYO])


def test_summer_time_moves_the_end():
    # New York's 8 March 2026 is 23 hours long (DST starts): it ends at 04:00 UTC on the 9th.
    assert day_ends_everywhere(dt.date(2026, 3, 8), [NEW_YORK]) == dt.datetime(2026, 3, 9, 4, tzinfo=dt.UTC)
