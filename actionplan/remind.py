"""Reminders: a plain, polite email to each department still owing a period's plan (missing, rejected or returned)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any

from .mail import Mailer, MailUnavailable
from .register import Register
from .standing import OWING, REJECTED, RETURNED


@dataclass
class Reminder:
    """One email to one department's contacts."""

    department: str
    period: str
    standing: str
    to: list[str]
    subject: str
    body: str


@dataclass
class RemindResult:
    """What one reminder run did (or, dry, would do)."""

    period: str
    deadline: dt.date | None
    reminders: list[Reminder] = field(default_factory=list)  # to send (dry run) or sent
    already_today: list[str] = field(default_factory=list)  # departments reminded earlier today: not again
    no_contact: list[str] = field(default_factory=list)  # owing, but the register has no address for them
    failed: dict[str, str] = field(default_factory=dict)  # department → why its email was not sent

    def as_dict(self) -> dict[str, Any]:
        return {
            "period": self.period,
            "deadline": self.deadline.isoformat() if self.deadline else None,
            "reminders": [
                {"department": r.department, "standing": r.standing, "to": r.to, "subject": r.subject}
                for r in self.reminders
            ],
            "already_today": self.already_today,
            "no_contact": self.no_contact,
            "failed": self.failed,
        }


def _long_day(day: dt.date) -> str:
    return f"{day:%A} {day.day} {day:%B %Y}"


def reminder_text(
    department: str,
    period: str,
    deadline: dt.date | None,
    standing: str,
    *,
    today: dt.date,
    upload_url: str,
    returned: dict[str, Any] | None = None,
) -> tuple[str, str]:
    """The subject and body of a department's reminder: what is due, by when, how to submit, the upload link."""
    by = f"by {_long_day(deadline)}" if deadline else "now"
    if standing == RETURNED:
        subject = f"Please resubmit {department}'s action plan for {period}"
    elif deadline is not None and deadline < today:
        subject = f"Overdue: {department}'s action plan for {period} was due by {_long_day(deadline)}"
    else:
        subject = f"Reminder: {department}'s action plan for {period} is due {by}"
    lines = ["Dear colleague,", ""]
    if deadline is not None and deadline < today:
        lines.append(
            f"{department}'s action plan and KPIs for {period} were due by {_long_day(deadline)}, and "
            "corporate performance does not have a current plan from you yet."
        )
    else:
        lines.append(
            f"This is a reminder that {department}'s action plan and KPIs for {period} are due {by}."
        )
    if standing == RETURNED and returned:
        lines += [
            "",
            f"The plan you sent on {dt.date.fromisoformat(str(returned['at'])[:10]):%d/%m/%Y} was returned "
            "to you with this comment:",
            "",
            f"    {returned['comment']}",
            "",
            "Please update the workbook and submit it again.",
        ]
    elif standing == REJECTED:
        lines += [
            "",
            "The last workbook you sent could not be accepted; the Submission report sheet in it (or the "
            "upload page) lists each problem with its cell. Please correct them and submit it again.",
        ]
    lines += [
        "",
        "How to submit: open your department's workbook in Excel and click Submit on the actionplan tab, "
        "or upload the workbook with your department's access key at:",
        f"    {upload_url}",
        "",
        "If you have sent it in the last few minutes, please ignore this email.",
        "",
        "Thank you,",
        "Corporate performance",
    ]
    return subject, "\n".join(lines) + "\n"


def reminders_for(
    rows: list[dict[str, Any]], register: Register, period: str, *, today: dt.date, upload_url: str
) -> RemindResult:
    """The reminders a period's standings call for: one per department owing a plan that has a contact."""
    deadline = register.deadline(period)
    result = RemindResult(period, deadline)
    for row in rows:
        standing = row.get("standing") or row.get("status")
        if standing not in OWING:
            continue
        dept = register.department(row["department"])
        if dept is None or not dept.contacts:
            result.no_contact.append(row["department"])
            continue
        subject, body = reminder_text(
            dept.name,
            period,
            deadline,
            standing,
            today=today,
            upload_url=upload_url,
            returned=row.get("returned"),
        )
        result.reminders.append(Reminder(dept.name, period, standing, list(dept.contacts), subject, body))
    return result


def send_reminders(result: RemindResult, mailer: Mailer, register: Register, today: dt.date) -> RemindResult:
    """Send each reminder, at most one a department a day (a second run the same day skips those already sent)."""
    sent = []
    for r in result.reminders:
        if not register.note_reminder(r.department, r.period, today, r.to):
            result.already_today.append(r.department)
            continue
        message = EmailMessage()
        message["From"] = mailer.sender
        message["To"] = ", ".join(r.to)
        message["Subject"] = r.subject
        message["Date"] = formatdate(localtime=True)
        message["Message-ID"] = make_msgid(domain=mailer.sender.rpartition("@")[2] or None)
        message.set_content(r.body)
        try:
            mailer.send(message)
        except MailUnavailable as exc:
            register.forget_reminder(r.department, today)  # not sent: a later run today may try again
            result.failed[r.department] = str(exc)
            continue
        sent.append(r)
    result.reminders = sent
    return result


def periods_due_for_reminder(deadlines: dict[str, dt.date], today: dt.date, days: list[int]) -> list[str]:
    """The periods whose deadline is one of the given numbers of days after today (0: the deadline is today)."""
    return [period for period, deadline in deadlines.items() if (deadline - today).days in days]


def remind_period(
    settings: Any, period: str, *, dry_run: bool, today: dt.date | None = None, mailer: Mailer | None = None
) -> RemindResult:
    """Work out who owes the period's plan (the status page's standings) and email them, or only say so (dry run)."""
    # The standings are the service's status rule (inbox and warehouse read-only), so the page and the emails agree.
    from actionplan.excel_addin.council import InboxRecords, status_for_period
    from actionplan.excel_addin.tokens import TokenStore

    from .mail import SmtpMailer

    register = Register.for_settings(settings)
    today = today or dt.date.today()
    expected = TokenStore.for_home(settings.home_path, settings.council).departments()
    status = status_for_period(settings, InboxRecords(), period, expected)
    result = reminders_for(
        status.departments,
        register,
        status.period,
        today=today,
        upload_url=settings.service_url.rstrip("/") + "/",
    )
    if dry_run:
        return result
    return send_reminders(result, mailer or SmtpMailer.from_settings(settings), register, today)
