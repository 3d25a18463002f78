"""The remind flow: on the days set before each deadline, email the departments still owing that period's plan."""

from __future__ import annotations

import datetime as dt

from prefect import flow, task
from prefect.cache_policies import NO_CACHE  # no task result is kept between runs, so none hashes its inputs

from actionplan.register import Register
from actionplan.remind import periods_due_for_reminder, remind_period
from actionplan.settings import load_settings
from actionplan.standing import local_day


@task(name="send-reminders", cache_policy=NO_CACHE, retries=1, retry_delay_seconds=60)
def send_for_period(period: str, today: dt.date, dry_run: bool, council: str | None) -> dict:
    s = load_settings(council=council)
    return remind_period(s, period, dry_run=dry_run, today=today).as_dict()


@flow(name="remind", log_prints=True, timeout_seconds=30 * 60)
def remind(council: str | None = None, today: dt.date | None = None, dry_run: bool = False) -> dict:
    """Email reminders for every period whose deadline is ACTIONPLAN_REMIND_DAYS days away (default 7 and 2);
    a department already reminded today is not emailed again."""
    s = load_settings(council=council)
    today = today or local_day(dt.datetime.now(dt.UTC), s.timezone)
    days = [int(d) for d in s.remind_days.split(",") if d]
    periods = periods_due_for_reminder(Register.for_settings(s).deadlines(), today, days)
    results = [send_for_period(p, today, dry_run, council) for p in periods]
    for r in results:
        print(
            f"{r['period']}: {len(r['reminders'])} reminder(s) "
            + ("to send" if dry_run else "sent")
            + (f", {len(r['failed'])} failed" if r["failed"] else "")
        )
    return {"today": today.isoformat(), "periods": periods, "results": results}
