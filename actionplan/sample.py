"""Seeded generator of realistic department workbooks in the canonical template layout (spec §2)."""

from __future__ import annotations

import calendar
import datetime
import random
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font

DEPARTMENTS: tuple[str, ...] = (
    "Legal, HR & Property",
    "Finance",
    "Chief Executive's Department",
    "Adult Social Services",
    "Regeneration & Environment",
    "Children's Services",
    "Registrars",
    "Print Section",
    "Housing & Communities",
    "Customer Services",
    "Revenues & Benefits",
    "Planning, Building Control & Licensing",
    "Waste & Street Scene",
    "Leisure, Culture & Tourism",
)

PLAN_LABELS: tuple[str, ...] = ("Department", "Plan", "Period", "As at", "Contact")
OBJECTIVE_COLUMNS: tuple[str, ...] = (
    "Ref",
    "Objective",
    "Theme",
    "Delivered by",
    "Lead officer",
    "Status",
    "Commentary",
)
ACTION_COLUMNS: tuple[str, ...] = (
    "Ref",
    "Objective",
    "Theme",
    "Action",
    "Lead officer",
    "Due date",
    "Revised due date",
    "Status",
    "Progress update",
)
KPI_COLUMNS: tuple[str, ...] = (
    "Ref",
    "Measure",
    "Polarity",
    "Unit",
    "Lead officer",
    "Target",
    "Actual",
    "Tolerance",
    "Comment",
)

# The KPI model's columns (issue 20), written only on the sheets of departments given model KPIs.
KPI_MODEL_COLUMNS: tuple[str, ...] = (
    "Type",
    "Lower bound",
    "Upper bound",
    "Aggregation",
    "Frequency",
    "Numerator",
    "Denominator",
    "Target Q1",
    "Target Q2",
    "Target Q3",
    "Target Q4",
    "Forecast outturn",
    "Recovery action",
    "Recovery owner",
    "Recovery date",
)

_O = {name: i for i, name in enumerate(OBJECTIVE_COLUMNS)}
_A = {name: i for i, name in enumerate(ACTION_COLUMNS)}
_K = {name: i for i, name in enumerate(KPI_COLUMNS)}


@dataclass
class SamplePlan:
    """One department's plan for one period, as the Python values written to its cells."""

    department: str
    period: str
    title: str
    as_at: datetime.date | None
    contact: str | None
    objectives: list[list] = field(default_factory=list)
    actions: list[list] = field(default_factory=list)
    kpis: list[list] = field(default_factory=list)


# ---------------------------------------------------------------------------------------------
# Vocabulary: statuses as departments write them (spec §1). "N" is Not rated.

_STATUS_SHARES = {"B": 20, "G": 45, "A": 20, "R": 10, "N": 5}
_STATUS_FORMS = {
    "letter": {"B": ("B",), "G": ("G",), "A": ("A",), "R": ("R",)},
    "word": {"B": ("Blue",), "G": ("Green",), "A": ("Amber",), "R": ("Red",)},
    "phrase": {
        "B": ("Complete", "Completed", "Done", "Achieved"),
        "G": ("On target", "On track"),
        "A": ("Off target but recovery plans in place", "At risk", "Some slippage"),
        "R": ("Off target", "Behind schedule", "Poor"),
    },
    # Amber has no symbol in the councils we copy, so symbol users fall back to the letter.
    "symbol": {"B": ("*",), "G": ("●",), "A": ("A",), "R": ("▲",)},
}
_NOT_RATED_FORMS = ((None, 45), ("Not started", 25), ("?", 15), ("Unknown", 10), ("N/A", 5))
_STATUS_OF_TEXT = {
    text.lower(): canonical
    for family in _STATUS_FORMS.values()
    for canonical, texts in family.items()
    for text in texts
} | {text.lower(): "N" for text, _ in _NOT_RATED_FORMS if text}

# Where a status goes from one quarter to the next; completed work stays complete.
_STATUS_MOVES = {
    "B": {"B": 100},
    "G": {"G": 78, "B": 9, "A": 9, "R": 3, "N": 1},
    "A": {"A": 50, "G": 25, "R": 12, "B": 13},
    "R": {"R": 50, "A": 28, "G": 10, "B": 12},
    "N": {"N": 35, "G": 50, "A": 8, "B": 7},
}

# Due-date forms of spec §3 with their weights (messy plans only; clean plans use Excel dates).
_DUE_FORMS = (
    ("excel", 40),
    ("dd/mm/yy", 8),
    ("dd/mm/yyyy", 10),
    ("Mon-yy", 5),
    ("Month yyyy", 6),
    ("Mon. yyyy", 3),
    ("By Month yyyy", 4),
    ("End of Month yyyy", 3),
    ("range", 2),
    ("date and words", 3),
    ("w/c", 2),
    ("serial", 1),
    ("no date", 9),
)
_REVISED_FORMS = (
    ("excel", 60),
    ("dd/mm/yyyy", 20),
    ("Month yyyy", 10),
    ("End of Month yyyy", 5),
    ("dd/mm/yy", 5),
)
_NO_DATE = (
    "TBC",
    "On-going",
    "Ongoing",
    "{month} Cabinet",
    "On approval by Council",
    "TBC pending the review",
)
_MONTHS = tuple(calendar.month_name)[1:]
_MON = tuple(calendar.month_abbr)[1:]
_MON_DOT = ("Jan.", "Feb.", "Mar.", "Apr.", "May", "June", "July", "Aug.", "Sept.", "Oct.", "Nov.", "Dec.")
_MONTH_NUMBER = {name[:3].lower(): i for i, name in enumerate(_MONTHS, 1)}
_EXCEL_EPOCH = datetime.date(1899, 12, 30)

# ---------------------------------------------------------------------------------------------
# Words a council uses, to build texts from parts.

_FIRST = (
    "Anita",
    "Rajesh",
    "Sarah",
    "James",
    "Mohammed",
    "Claire",
    "David",
    "Helen",
    "Priya",
    "Gareth",
    "Siobhan",
    "Tom",
    "Fatima",
    "Ian",
    "Joanne",
    "Kwame",
    "Rhiannon",
    "Wei",
    "Olumide",
    "Grace",
    "Declan",
    "Aisha",
    "Martin",
    "Zofia",
)
_SURNAMES = (
    "Patel",
    "Khan",
    "Smith",
    "Jones",
    "Williams",
    "Brown",
    "Taylor",
    "Davies",
    "Evans",
    "Thomas",
    "Roberts",
    "Hughes",
    "Okafor",
    "O'Neill",
    "Chen",
    "Ahmed",
    "Wright",
    "McDonald",
    "Kowalski",
    "Begum",
    "Lloyd",
    "Fraser",
    "Nowak",
    "Shah",
)
_JOB_TITLES = (
    "Head of {service}",
    "{service} Manager",
    "Director of {service}",
    "Assistant Director, {service}",
    "Team Leader – {service}",
    "Monitoring Officer",
    "Section 151 Officer",
    "HR Business Partner",
)
_SERVICES = {
    "Legal, HR & Property": ("Legal Services", "HR", "Property Services", "Democratic Services"),
    "Finance": ("Finance", "Procurement", "Internal Audit", "Exchequer"),
    "Chief Executive's Department": ("Policy & Performance", "Communications", "Corporate Strategy"),
    "Adult Social Services": ("Adult Social Care", "Safeguarding", "Commissioning"),
    "Regeneration & Environment": ("Regeneration", "Planning", "Environmental Health", "Waste Services"),
    "Children's Services": ("Children's Social Care", "Early Help", "Education"),
    "Registrars": ("Registration Services", "Ceremonies"),
    "Print Section": ("Print & Design", "Mailroom"),
    "Housing & Communities": ("Housing Options", "Housing Management", "Community Safety"),
    "Customer Services": ("Customer Services", "Contact Centre", "Digital Services"),
}
_THEMES = (
    (
        "Priority 1: Strong and safe communities",
        "Priority 2: A thriving local economy",
        "Priority 3: Decisions and accountability",
        "Priority 4: Value for money",
        "Priority 5: A clean and green borough",
        "Priority 6: Supporting vulnerable people",
    ),
    (
        "A: Leadership and Culture",
        "B: Councillor Development",
        "C: Financial Resilience",
        "D: Partnership Working",
        "E: Customer Focus",
        "F: Workforce and Skills",
    ),
    (
        "Corporate Plan: Healthy and safe communities",
        "Corporate Plan: Prosperous places",
        "Improvement Plan: Governance",
        "AGS significant issue: Information governance",
        "Scrutiny review: Customer access",
    ),
)
_OBJECTIVES_CORPORATE = (
    "Improve access to services through digital channels",
    "Strengthen governance, decision-making and accountability",
    "Develop a skilled, healthy and motivated workforce",
    "Improve information governance and data protection compliance",
    "Deliver value for money through effective procurement",
    "Reduce the council's carbon emissions",
    "Manage risk and health and safety effectively",
    "Improve equality of access to our services",
)
_OBJECTIVES_OWN = {
    "Legal, HR & Property": (
        "Make best use of our land and buildings",
        "Provide timely, high-quality legal advice to the council",
        "Recruit and keep the staff we need",
    ),
    "Finance": (
        "Deliver a balanced budget and a sustainable medium term financial strategy",
        "Maximise collection of council tax and business rates",
        "Pay suppliers promptly and accurately",
    ),
    "Chief Executive's Department": (
        "Support councillors to carry out their roles effectively",
        "Improve how we communicate with residents",
        "Deliver the corporate plan and report progress openly",
    ),
    "Adult Social Services": (
        "Keep vulnerable adults safe",
        "Help older people to live independently at home",
        "Work with partners to improve health and wellbeing",
    ),
    "Regeneration & Environment": (
        "Improve the quality and cleanliness of the local environment",
        "Support local businesses to grow and create jobs",
        "Bring empty town centre buildings back into use",
    ),
    "Children's Services": (
        "Keep children and young people safe",
        "Improve outcomes for children in care and care leavers",
        "Close the attainment gap for disadvantaged pupils",
    ),
    "Registrars": ("Modernise registration and ceremony services", "Register every birth and death on time"),
    "Print Section": (
        "Provide an efficient, high-quality print and design service",
        "Move customers from print to digital where it saves money",
    ),
    "Housing & Communities": (
        "Increase the supply of affordable housing",
        "Reduce homelessness and the use of temporary accommodation",
        "Build safer, stronger communities",
    ),
    "Customer Services": (
        "Improve customer satisfaction and reduce avoidable contact",
        "Resolve more enquiries at the first point of contact",
    ),
}
_DELIVERED_BY = (
    "{service}",
    "{service}",
    "{service} with partners",
    "All directorates",
    "Cross Cutting",
    "Corporate Management Team",
    "{service} and Legal Services",
    "Partnership Board",
    "Department Default",
)
_ACTION_PARTS = (
    (
        ("Review", "Refresh", "Develop", "Publish", "Implement", "Consult on", "Agree"),
        (
            "the corporate procurement strategy",
            "the medium term financial strategy",
            "the workforce development plan",
            "the {area} improvement plan",
            "the customer access strategy",
            "the digital strategy",
            "the asset management plan",
            "the homelessness prevention strategy",
            "the members' allowances scheme",
            "the scheme of delegation",
            "the {area} fees and charges",
            "the corporate risk register",
            "the equality and diversity policy",
        ),
    ),
    (
        ("Undertake", "Complete", "Commission", "Carry out"),
        (
            "a safeguarding audit of {area}",
            "a review of {area} staffing",
            "an options appraisal for {area}",
            "a health and safety audit of all council buildings",
            "a data protection audit of {area}",
            "a value for money review of {area}",
            "a condition survey of the {building}",
        ),
    ),
    (
        ("Procure", "Implement", "Roll out", "Go live with", "Introduce"),
        (
            "a new {system} system",
            "online {service} forms",
            "the {system} system upgrade",
            "self-service {service} on the website",
            "mobile working for {area} staff",
        ),
    ),
    (
        ("Run", "Hold", "Deliver", "Organise"),
        (
            "the {next_year} budget consultation",
            "member induction sessions on {topic}",
            "a staff engagement event on {topic}",
            "training for managers on {topic}",
            "a residents' survey on {topic}",
        ),
    ),
)
_ACTION_TAILS = (
    "",
    "",
    "",
    "",
    " by the end of the quarter",
    " in line with the Procurement Strategy",
    " with partners in the {sector}",
    " and report findings to {committee}",
    " to reduce avoidable contact",
    " (carried forward from {last_year})",
    " – subject to funding",
    ", including an Equality Impact Assessment",
)
_SLOT = re.compile(r"\{(\w+)\}")
_FILL = {
    "system": (
        "finance",
        "HR and payroll",
        "case management",
        "CRM",
        "document management",
        "planning portal",
        "income management",
        "telephony",
    ),
    "service": (
        "council tax",
        "benefits",
        "bulky waste",
        "registration",
        "licensing",
        "housing repairs",
        "parking permit",
    ),
    "topic": (
        "the Code of Conduct",
        "safeguarding",
        "information governance",
        "equalities",
        "budget scrutiny",
        "planning decisions",
        "cyber security",
    ),
    "committee": (
        "Audit & Governance Committee",
        "Overview and Scrutiny Committee",
        "Cabinet",
        "Council",
        "Corporate Management Team",
    ),
    "sector": ("voluntary sector", "NHS", "police", "business community"),
    "building": ("Civic Centre", "Town Hall", "depot", "Register Office"),
}
_DONE = (
    "Policy adopted by Council",
    "Contract awarded",
    "System went live",
    "Training delivered to all managers",
    "Audit report issued with substantial assurance",
    "Consultation closed with 1,240 responses",
    "Strategy published on the website",
    "New arrangements in place",
)
_PROGRESS = (
    "Project board meeting monthly",
    "Tender documents issued",
    "Draft policy out for consultation",
    "Workshops held with service managers",
    "Data cleansing 60% complete",
    "Options appraisal drafted",
    "Recruitment to the new posts under way",
    "Supplier engagement event held",
    "Business case agreed by CMT",
    "Pilot running in two teams",
)
_NEXT = (
    "report to Cabinet",
    "go-live planned",
    "final draft due",
    "member briefing",
    "contract award expected",
    "pilot starts",
    "decision due",
)
_REASONS = (
    "staff vacancies in the team",
    "delays in the procurement process",
    "the supplier's late delivery",
    "the wait for legal advice",
    "competing priorities during the budget round",
    "the postponed system upgrade",
    "a shortage of suitable sites",
    "the pre-election period",
    "long-term sickness in the team",
)
_MITIGATIONS = (
    "Revised timetable agreed with the Director",
    "Interim cover arranged",
    "Recovery plan in place and monitored monthly",
    "Additional resource approved by CMT",
    "Milestones re-profiled",
)
_ESCALATIONS = (
    "Escalated to Corporate Management Team",
    "Report to Audit & Governance Committee in {month}",
    "Risk added to the corporate risk register",
    "Portfolio holder briefed",
)
# Every slot a phrase template may name, with the words it is filled from.
_WORDS = _FILL | {
    "done": _DONE,
    "progress": _PROGRESS,
    "next": _NEXT,
    "reason": _REASONS,
    "mitigation": _MITIGATIONS,
    "escalation": _ESCALATIONS,
}
_SENTENCES = {
    "B": (
        "Completed {when}.",
        "Complete – {done_lower} {when}.",
        "Achieved. {done}.",
        "Report approved by {committee} on {when}.",
    ),
    "G": (
        "On track.",
        "{progress}; {next} in {month}.",
        "Work progressing to plan.",
        "On target – {progress_lower}.",
    ),
    "A": (
        "Slight slippage due to {reason}. {mitigation}.",
        "At risk: {reason}; {mitigation_lower}.",
        "Delayed by {reason}.",
    ),
    "R": (
        "Behind schedule because of {reason}. {escalation}.",
        "Not achieved: {reason}. {escalation}.",
        "Significant delay – {reason}.",
    ),
    "N": (
        "Not yet started – due to begin in {month}.",
        "Awaiting confirmation of scope.",
        "Dependent on the outcome of the {area} review.",
    ),
}
_EXTRAS = {
    "B": (
        "Action can be closed.",
        "Benefits will be tracked through the service KPIs.",
        "Lessons learned shared with CMT.",
        "Final report published on the intranet.",
        "Delivered within budget.",
    ),
    "G": tuple(f"{p}." for p in _PROGRESS)
    + ("No issues to report.", "Spend within budget.", "Next project board in {month}."),
    "A": tuple(f"{m}." for m in _MITIGATIONS)
    + ("Position to be reviewed at the next project board.", "Portfolio holder aware."),
    "R": tuple(f"{e}." for e in _ESCALATIONS) + tuple(f"{m}." for m in _MITIGATIONS),
    "N": ("Scoping meeting booked.", "Resources not yet identified.", "Lead officer to be confirmed."),
}
_FORMULA_BAIT = (
    "=SUM(A1:A2) was the old formula; the figure now comes from the finance system.",
    "- awaiting sign-off from the Section 151 Officer",
    "+ 2 additional staff recruited in {month}",
    "@Legal Services to confirm the lease terms",
    "-10% against profile at the end of the quarter",
    "=> see the covering report to Cabinet",
)
_WORD_HTML = (
    "<p>Consultation closed.</p><p>Report to <i>Cabinet</i> &amp; Council in June.</p>",
    '<p class="MsoNormal">{a}</p><p class="MsoNormal">{b}&nbsp;</p>',
    "<p>{a}</p><p><b>Next steps:</b> {b}</p>",
    "<p>{a}<br>{b}</p>",
)
_ODDITIES = ("zero-width space", "right-to-left mark", "emoji", "non-breaking space")

# KPI catalogue: measure, lower is better, unit, how values are typed, typical range.
_KPI_GENERAL = (
    ("% of invoices paid within 30 days", False, "%", "pct", 85, 99),
    ("Total % sickness absence", True, "%", "pct", 2.5, 6.0),
    ("Average working days lost to sickness per FTE", True, "days", "float", 6, 12),
    ("Number of complaints received", True, "number", "int", 10, 120),
    ("% of complaints responded to within 10 working days", False, "%", "pct", 70, 98),
    ("% of staff appraisals completed", False, "%", "pct", 60, 99),
    ("% of FOI requests answered within 20 working days", False, "%", "pct", 75, 98),
    ("Net spend against budget", True, "£", "money", 200_000, 5_000_000),
)
_KPI_SPECIFIC = {
    "Finance": (
        ("% of council tax collected", False, "%", "pct", 94, 98.5),
        ("Council tax collected", False, "£", "million", 40e6, 120e6),
        ("Average days to process new benefit claims", True, "days", "float", 15, 30),
        ("Number of invoices processed", False, "number", "thousands", 20_000, 1_200_000),
    ),
    "Legal, HR & Property": (
        ("Income from commercial property", False, "£", "money", 300_000, 2_000_000),
        ("% of land charge searches returned within 10 days", False, "%", "pct", 80, 99),
        ("Staff turnover", True, "%", "pct", 6, 15),
    ),
    "Chief Executive's Department": (
        ("% of residents satisfied with the council", False, "%", "pct", 50, 75),
        ("% of committee papers published on time", False, "%", "pct", 85, 100),
        ("Number of press releases issued", False, "number", "int", 40, 160),
    ),
    "Adult Social Services": (
        ("% of safeguarding enquiries completed within 28 days", False, "%", "pct", 60, 95),
        ("Number of people receiving direct payments", False, "number", "int", 300, 1_200),
        ("Delayed transfers of care (days)", True, "days", "thousands", 500, 4_000),
    ),
    "Regeneration & Environment": (
        ("% of household waste recycled", False, "%", "pct", 35, 60),
        ("Number of grants paid out", False, "number", "int", 20, 400),
        ("% of major planning applications determined in 13 weeks", False, "%", "pct", 60, 95),
        ("Residual waste per household (kg)", True, "kg", "float", 380, 560),
    ),
    "Children's Services": (
        ("% of child protection plans reviewed on time", False, "%", "pct", 85, 100),
        ("% of care leavers in education, employment or training", False, "%", "pct", 45, 70),
        ("% of single assessments completed within 45 days", False, "%", "pct", 70, 95),
    ),
    "Registrars": (
        ("% of births registered within 42 days", False, "%", "pct", 90, 99),
        ("Number of ceremonies conducted", False, "number", "int", 150, 900),
        ("Income from ceremonies", False, "£", "money", 100_000, 600_000),
    ),
    "Print Section": (
        ("Pages printed", False, "number", "thousands", 400_000, 2_500_000),
        ("% of print jobs delivered on time", False, "%", "pct", 88, 99),
        ("Cost per 1,000 impressions", True, "£", "float", 8, 25),
    ),
    "Housing & Communities": (
        ("Number of households prevented from becoming homeless", False, "number", "int", 60, 400),
        ("Average days to relet council homes", True, "days", "float", 20, 45),
        ("Number of families in bed and breakfast", True, "number", "int", 0, 40),
        ("Number of affordable homes delivered", False, "number", "int", 30, 300),
    ),
    "Customer Services": (
        ("% of calls answered within 60 seconds", False, "%", "pct", 60, 90),
        ("Average call waiting time (seconds)", True, "seconds", "int", 40, 300),
        ("% of transactions completed online", False, "%", "pct", 30, 75),
        ("Number of customer contacts", False, "number", "thousands", 50_000, 400_000),
    ),
}
_KPI_BY_MEASURE = {k[0]: k for k in _KPI_GENERAL} | {k[0]: k for kpis in _KPI_SPECIFIC.values() for k in kpis}
_KPI_COMMENTS = (
    "Provisional figure.",
    "Above target – new process bedding in.",
    "Seasonal dip expected in Q3.",
    "Figure for the quarter, not cumulative.",
    "Data from the new system; not comparable with last year.",
    "Two long-term absences account for most of the variance.",
)


# ---------------------------------------------------------------------------------------------
# Periods and dates.

_YEARS = re.compile(r"(\d{4})\s*[/-]\s*(\d{4}|\d{2})")
_QUARTER = re.compile(r"\bQ\s*([1-4])\b", re.IGNORECASE)


def _period_parts(period: str) -> tuple[int, int | None]:
    """Split a reporting period into the financial year's start year and the quarter (or None)."""
    years = _YEARS.search(period)
    if not years:
        raise ValueError(f"Not a reporting period: {period!r}. Use e.g. '2024/25 Q2'.")
    quarter = _QUARTER.search(period)
    return int(years[1]), int(quarter[1]) if quarter else None


def _canonical_period(year: int, quarter: int | None) -> str:
    """Write a financial year and quarter the canonical way, e.g. '2024/25 Q2'."""
    text = f"{year}/{(year + 1) % 100:02d}"
    return f"{text} Q{quarter}" if quarter else text


def _period_end(year: int, quarter: int | None) -> datetime.date:
    """Last day of a quarter of the financial year starting in April of ``year``."""
    if quarter in (1, 2, 3):
        return datetime.date(year, 3 + 3 * quarter, 30 if quarter < 3 else 31)
    return datetime.date(year + 1, 3, 31)


def _month_end(year: int, month: int) -> datetime.date:
    """Last day of a month, which is what month-only due dates mean (spec §3)."""
    return datetime.date(year, month, calendar.monthrange(year, month)[1])


def _ordinal(day: int) -> str:
    """Day of the month with its English suffix: 1st, 22nd, 28th."""
    suffix = "th" if 10 <= day % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")
    return f"{day}{suffix}"


def _date_cell(day: datetime.date, form: str, rng: random.Random) -> tuple[object, datetime.date | None]:
    """Write ``day`` in one of the due-date forms of spec §3 → (cell value, date it means)."""
    month, year = _MONTHS[day.month - 1], day.year
    if form == "excel":
        return datetime.datetime(day.year, day.month, day.day), day
    if form == "serial":
        return (day - _EXCEL_EPOCH).days, day
    # UK day-first throughout: 04/05/25 is 4 May 2025, never 5 April.
    if form == "dd/mm/yy":
        return day.strftime("%d/%m/%y"), day
    if form == "dd/mm/yyyy":
        return day.strftime("%d/%m/%Y"), day
    if form == "date and words":
        if rng.random() < 0.7:
            words = rng.choice(("Council", "Cabinet", "Scrutiny Committee"))
            return f"{day:%d/%m/%y} {words}", day
        words = rng.choice(("Initial approval", "Report to Cabinet", "Go live"))
        return f"{words} {day:%d/%m/%Y}", day
    if form == "w/c":
        monday = day - datetime.timedelta(days=day.weekday())
        return f"w/c {monday.day} {_MON[monday.month - 1]} {monday:%y}", monday
    if form == "range":
        day = day.replace(day=max(day.day, 4))
        first = day.day - rng.randint(1, 3)
        return f"{_ordinal(first)} - {_ordinal(day.day)} {month} {year}", day
    if form == "no date":
        return rng.choice(_NO_DATE).format(month=month), None
    end = _month_end(year, day.month)
    text = {
        "Mon-yy": f"{_MON[day.month - 1]}-{day:%y}",
        "Month yyyy": f"{month} {year}",
        "Mon. yyyy": f"{_MON_DOT[day.month - 1]} {year}",
        "By Month yyyy": f"By {month} {year}",
        "End of Month yyyy": f"End of {month} {year}",
    }[form]
    return text, end


_DMY = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4}|\d{2})")
_D_MONTH_Y = re.compile(r"(\d{1,2})(?:st|nd|rd|th)?\s+([A-Za-z]{3,9})\.?\s+(\d{4}|\d{2})\b")
_MONTH_Y = re.compile(r"([A-Za-z]{3,9})\.?[\s-]+(\d{4}|\d{2})\b")


def _date_in(value: object) -> datetime.date | None:
    """Read back the date a due-date cell written by this module means, or None for 'TBC' and the like."""
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, datetime.date):
        return value
    if isinstance(value, int):
        return _EXCEL_EPOCH + datetime.timedelta(days=value)
    if not isinstance(value, str):
        return None
    if match := _DMY.search(value):
        year = int(match[3]) + (2000 if len(match[3]) == 2 else 0)
        return datetime.date(year, int(match[2]), int(match[1]))
    for match in _D_MONTH_Y.finditer(value):
        if month := _MONTH_NUMBER.get(match[2][:3].lower()):
            year = int(match[3]) + (2000 if len(match[3]) == 2 else 0)
            return datetime.date(year, month, int(match[1]))
    for match in _MONTH_Y.finditer(value):
        if month := _MONTH_NUMBER.get(match[1][:3].lower()):
            year = int(match[2]) + (2000 if len(match[2]) == 2 else 0)
            return _month_end(year, month)
    return None


def _number_of(value: object) -> float | None:
    """Read back the number a KPI cell written by this module holds, or None for 'N/A', '-' and the like."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return float(value)
    match = re.match(r"\s*£?(\d[\d,]*(?:\.\d+)?)\s*(million)?", str(value))
    if not match:
        return None
    number = float(match[1].replace(",", ""))
    return number * 1_000_000 if match[2] else number


def _kpi_value(number: float, kind: str, high: float) -> object:
    """Type a KPI value the way departments do for this kind of measure: '69%', 42.3, '£500,000'."""
    if kind == "pct":
        return f"{number:.1f}%" if high < 20 else f"{number:.0f}%"
    if kind == "float":
        return round(number, 1)
    if kind == "int":
        return round(number)
    if kind == "thousands":
        return f"{round(number):,}"
    if kind == "money":
        return f"£{round(number):,}"
    return f"{number / 1_000_000:.3f} million"


def _slug(text: str) -> str:
    """File-name form of a department or period: "Legal, HR & Property" → "legal-hr-and-property"."""
    text = text.lower().replace("&", " and ").replace("'", "").replace("’", "")
    return re.sub(r"[^a-z0-9]+", "-", text).strip("-")


# ---------------------------------------------------------------------------------------------
# A department's habits: how it writes statuses, refs and titles, and who works there.


@dataclass(frozen=True)
class _Habits:
    status_family: str
    ref_styles: tuple[str, ...]
    themes: tuple[str, ...]
    kpi_ref: str
    title_form: int
    services: tuple[str, ...]
    leads: tuple[str, ...]
    contact: str


@lru_cache(maxsize=256)
def _habits_of(department: str) -> _Habits:
    """The ways of one department, the same every period so its workbooks look like one team's."""
    # Seeded by the name, not the caller's rng: a department keeps its people and its way of
    # writing from one quarter to the next, which is what makes Changes and stale commentary real.
    rng = random.Random(f"habits:{department}")
    services = _SERVICES.get(department, (department,))
    styles = ["letter", "dotted", "legacy"]
    rng.shuffle(styles)
    people = [(rng.choice(_FIRST), rng.choice(_SURNAMES)) for _ in range(12)]
    leads = []
    for first, surname in people[: rng.randint(6, 10)]:
        form = rng.choices(
            ("surname, first", "initial", "full", "title", "overall", "pair"), (25, 25, 15, 20, 5, 10)
        )[0]
        if form == "surname, first":
            leads.append(f"{surname}, {first}")
        elif form == "initial":
            leads.append(f"{first[0]} {surname}")
        elif form == "full":
            leads.append(f"{first} {surname}")
        elif form == "title":
            leads.append(rng.choice(_JOB_TITLES).format(service=rng.choice(services)))
        elif form == "overall":
            team = rng.choice(("team leader", "service manager"))
            leads.append(f"Overall {first[0]}. {surname}, with each {team}")
        else:
            other_first, other_surname = rng.choice([p for p in people if p != (first, surname)])
            leads.append(f"{first[0]} {surname} & {other_first[0]} {other_surname}")
    first, surname = people[-1]
    role = rng.choice(("Performance Officer", "Business Support Manager", "Policy Officer"))
    email = f"{first}.{surname}".lower().replace("'", "")
    contact = rng.choice(
        (
            f"{first} {surname}, {role}",
            f"{first} {surname} ({email}@example.gov.uk)",
            f"{email}@example.gov.uk",
        )
    )
    return _Habits(
        status_family=rng.choices(("letter", "phrase", "word", "symbol"), (45, 25, 15, 15))[0],
        ref_styles=tuple(styles[: rng.randint(2, 3)]),
        themes=rng.choice(_THEMES),
        kpi_ref=rng.choice(("KPI {n}", "{code} {n:02d}", "PI-{n:02d}")),
        title_form=rng.randrange(4),
        services=services,
        leads=tuple(leads),
        contact=contact,
    )


# A few departments type the period their own way on the Plan sheet (all accepted, spec §1).
_PERIOD_FORMS = {
    "Finance": "Q{q} {y}/{yy}",
    "Children's Services": "{y}-{yy} Q{q}",
    "Registrars": "{y}/{y1} Q{q}",
}


def _period_text(plan: SamplePlan) -> str:
    """The period as this department types it on its Plan sheet: '2024/25 Q2', 'Q2 2024/25', '2024-25 Q2'."""
    year, quarter = _period_parts(plan.period)
    form = _PERIOD_FORMS.get(plan.department)
    if form is None or quarter is None:
        return plan.period
    return form.format(q=quarter, y=year, yy=f"{(year + 1) % 100:02d}", y1=year + 1)


def _department_code(department: str) -> str:
    """Short code for KPI refs: "Legal, HR & Property" → "LHP", "Finance" → "FIN"."""
    words = [w for w in re.findall(r"[A-Za-z]+", department) if w[0].isupper() and len(w) > 1]
    return "".join(w[0] for w in words) if len(words) > 1 else department[:3].upper()


# ---------------------------------------------------------------------------------------------
# Building one plan.


class _PlanMaker:
    """Draws one department's plan for one period from a seeded rng."""

    def __init__(self, department: str, period: str, rng: random.Random, messy: bool):
        self.department = department
        self.year, self.quarter = _period_parts(period)
        self.period = _canonical_period(self.year, self.quarter)
        self.period_end = _period_end(self.year, self.quarter)
        self.year_start = datetime.date(self.year, 4, 1)
        self.year_end = datetime.date(self.year + 1, 3, 31)
        self.rng = rng
        self.messy = messy
        self.habits = _habits_of(department)

    # -- small draws ------------------------------------------------------------------------

    def chance(self, p: float) -> bool:
        """True with probability p."""
        return self.rng.random() < p

    def messy_chance(self, p: float) -> bool:
        """True with probability p, and never in a clean plan."""
        return self.messy and self.rng.random() < p

    def fill(self, template: str) -> str:
        """Fill a phrase template's slots ('{area}', '{reason}', '{month}'…) with council words."""
        if "{" not in template:
            return template
        return _SLOT.sub(lambda slot: self._word(slot[1]), template)

    def _word(self, slot: str) -> str:
        rng = self.rng
        if slot.endswith("_lower"):
            return _lower_first(self._word(slot.removesuffix("_lower")))
        if slot in _WORDS:
            return self.fill(rng.choice(_WORDS[slot]))
        if slot == "area":
            return rng.choice(self.habits.services + ("Revenues and Benefits", "Parks and Open Spaces"))
        if slot == "when":
            day = self.period_end - datetime.timedelta(days=rng.randint(0, 150))
            return f"{day.day} {_MONTHS[day.month - 1]} {day.year}"
        if slot == "month":
            return rng.choice(_MONTHS)
        if slot == "next_year":
            return f"{self.year + 1}/{(self.year + 2) % 100:02d}"
        return f"{self.year - 1}/{self.year % 100:02d}"  # last_year

    def status(self) -> str:
        """A canonical status drawn with the council's usual mix."""
        canonical = self.rng.choices(tuple(_STATUS_SHARES), tuple(_STATUS_SHARES.values()))[0]
        return "G" if canonical == "N" and not self.messy else canonical

    def status_text(self, canonical: str) -> str | None:
        """Write a canonical status the way this department does (spec §1 forms)."""
        rng = self.rng
        if not self.messy:
            return canonical if canonical != "N" else "G"
        if canonical == "N":
            return rng.choices([text for text, _ in _NOT_RATED_FORMS], [w for _, w in _NOT_RATED_FORMS])[0]
        family = self.habits.status_family if self.chance(0.65) else rng.choice(tuple(_STATUS_FORMS))
        text = rng.choice(_STATUS_FORMS[family][canonical])
        if text.isascii() and self.chance(0.06):
            text = rng.choice((text.lower(), text.upper(), f" {text} ", f"{text} "))
        return text

    def lead(self) -> str | None:
        """A lead officer from the department's people, sometimes left blank."""
        if self.messy_chance(0.03):
            return None
        leads = self.habits.leads
        # The first few people lead most of the plan, as in real plans.
        return self.rng.choices(leads, [3 if i < 3 else 1 for i in range(len(leads))])[0]

    def oddity(self, text: str) -> str:
        """Add one Unicode oddity that text pasted from e-mail or the web carries."""
        rng = self.rng
        kind = rng.choice(_ODDITIES)
        if kind == "zero-width space":
            at = rng.randint(1, max(1, len(text) - 1))
            return text[:at] + "\u200b" + text[at:]
        if kind == "right-to-left mark":
            return "\u200f" + text
        if kind == "emoji":
            return text + rng.choice((" ✅", " 👍", " 🙂"))
        return text.replace(" ", "\xa0", 1)

    # -- texts ------------------------------------------------------------------------------

    def action_text(self) -> str:
        """A one-line to two-sentence action built from phrase parts."""
        rng = self.rng
        verbs, objects = rng.choice(_ACTION_PARTS)
        text = self.fill(f"{rng.choice(verbs)} {rng.choice(objects)}{rng.choice(_ACTION_TAILS)}")
        if self.chance(0.12):
            text += self.fill(
                rng.choice(
                    (
                        ". This will include a review of {area} processes",
                        ". Links to the {system} project",
                        ". Member champion to be identified",
                    )
                )
            )
        if self.messy_chance(0.02):
            text = rng.choice(("- ", "• ")) + text  # bullets typed by hand
        if self.messy_chance(0.015):
            text = self.oddity(text)
        if self.messy_chance(0.02):
            text = rng.choice((text + " ", " " + text, text.replace(" ", "  ", 1)))
        return text

    def sentence(self, canonical: str) -> str:
        """One sentence of progress commentary fitting the status."""
        return self.fill(self.rng.choice(_SENTENCES[canonical]))

    def update(self, canonical: str, avoid: str | None = None) -> str | None:
        """Progress commentary from empty to a paragraph, differing from ``avoid`` (last quarter's)."""
        empty = {"B": 0.15, "G": 0.10, "A": 0.10, "R": 0.10, "N": 0.5}[canonical]
        if canonical in ("A", "R") and not self.messy:
            empty = 0.0  # Amber or Red with no update is a warning; clean plans have none
        if self.chance(empty):
            return None
        for _ in range(5):
            text = self._update_text(canonical)
            if text != avoid:
                return text
        return f"{text} Position at {self.period_end:%d/%m/%Y}."

    def _update_text(self, canonical: str) -> str:
        rng = self.rng
        count = rng.choices((1, 2, 3, 5), (50, 25, 15, 10))[0]
        extras = _EXTRAS[canonical]
        sentences = [self.sentence(canonical)]
        sentences += [self.fill(text) for text in rng.sample(extras, min(count - 1, len(extras)))]
        if self.messy_chance(0.05):
            template = rng.choice(_WORD_HTML)
            a, b = sentences[0], " ".join(sentences[1:]) or self.fill(rng.choice(extras))
            return template.format(a=a.replace("&", "&amp;"), b=b.replace("&", "&amp;"))
        if self.messy_chance(0.012):
            return self.fill(rng.choice(_FORMULA_BAIT))
        joiner = "\n" if count >= 5 and rng.random() < 0.5 else " "
        text = joiner.join(sentences)
        if self.messy_chance(0.015):
            text = self.oddity(text)
        return text

    # -- dates ------------------------------------------------------------------------------

    def due_day(self, canonical: str) -> datetime.date:
        """A due date whose side of the period end fits the status, so some items are overdue."""
        rng = self.rng
        before = {"B": 0.75, "G": 0.08, "A": 0.35, "R": 0.55, "N": 0.10}[canonical]
        if self.chance(before):
            low, high = self.year_start - datetime.timedelta(days=120), self.period_end
        else:
            low = self.period_end + datetime.timedelta(days=1)
            # Mostly within the plan year; in Q4 (and for a few multi-year tasks) into the next one.
            high = max(self.year_end, low + datetime.timedelta(days=120))
            if self.chance(0.2):
                high += datetime.timedelta(days=365)
        return low + datetime.timedelta(days=rng.randint(0, (high - low).days))

    def date_value(self, day: datetime.date, forms: tuple) -> tuple[object, datetime.date | None]:
        """Write a date in a form drawn from ``forms`` (Excel dates only in a clean plan)."""
        if not self.messy:
            return _date_cell(day, "excel", self.rng)
        names, weights = zip(*forms, strict=True)
        return _date_cell(day, self.rng.choices(names, weights)[0], self.rng)

    def revised(self, canonical: str, due: datetime.date | None) -> object:
        """A revised due date (mostly later than ``due``, a few earlier), or None."""
        rng = self.rng
        p = {"B": 0.10, "G": 0.08, "A": 0.40, "R": 0.50, "N": 0.05}[canonical]
        if due is None:
            p = 0.3 * p
        if not self.chance(p):
            return None
        if due is None:
            day = self.period_end + datetime.timedelta(days=rng.randint(20, 240))
        elif self.messy_chance(0.08):
            # Earlier than the due date: a typing slip departments make, reported as a warning.
            return self.date_value(due - datetime.timedelta(days=rng.randint(14, 90)), (("excel", 1),))[0]
        else:
            day = due + datetime.timedelta(days=rng.randint(30, 180))
        return self.date_value(day, _REVISED_FORMS)[0]

    # -- rows -------------------------------------------------------------------------------

    def objectives(self) -> list[list]:
        """3–8 objectives with refs O1…; status and commentary are filled once actions exist."""
        rng = self.rng
        own = list(_OBJECTIVES_OWN.get(self.department, ()))
        rng.shuffle(own)
        corporate = [text for text in _OBJECTIVES_CORPORATE if text not in own]
        count = rng.randint(3, 8)
        own = own[: rng.randint(min(1, len(own)), min(len(own), count))]
        texts = own + rng.sample(corporate, count - len(own))
        return [
            [
                f"O{i}",
                text,
                rng.choice(self.habits.themes),
                self.fill(rng.choice(_DELIVERED_BY).replace("{service}", rng.choice(self.habits.services))),
                self.lead() or self.habits.leads[0],
                None,
                None,
            ]
            for i, text in enumerate(texts, 1)
        ]

    def action(self, ref: str, objective: list) -> list:
        """A new action row under ``objective``."""
        canonical = self.status()
        due, due_day = self.date_value(self.due_day(canonical), _DUE_FORMS)
        theme = None if self.messy_chance(0.05) else objective[_O["Theme"]]
        return [
            ref,
            objective[_O["Ref"]],
            theme,
            self.action_text(),
            self.lead(),
            due,
            self.revised(canonical, due_day),
            self.status_text(canonical),
            self.update(canonical),
        ]

    def continued_action(self, row: list) -> list:
        """Last quarter's action moved on: status moves, dates slip, commentary updated or left stale."""
        rng = self.rng
        row = list(row)
        before = _canonical_of(row[_A["Status"]])
        moves = _STATUS_MOVES[before]
        canonical = rng.choices(tuple(moves), tuple(moves.values()))[0]
        if canonical == "N" and not self.messy:
            canonical = "G"
        if canonical != before or not self.messy:
            row[_A["Status"]] = self.status_text(canonical)
        if canonical != "B" and self.chance({"A": 0.25, "R": 0.3}.get(canonical, 0.06)):
            current = _date_in(row[_A["Revised due date"]]) or _date_in(row[_A["Due date"]])
            if current is not None:
                later = max(current, self.period_end) + datetime.timedelta(days=rng.randint(30, 150))
                row[_A["Revised due date"]] = self.date_value(later, _REVISED_FORMS)[0]
        if self.messy_chance(0.03):
            row[_A["Lead officer"]] = self.lead()
        previous = row[_A["Progress update"]]
        if canonical == "B" and before == "B":
            pass  # nobody rewrites the commentary of finished work
        elif canonical != "B" and previous and self.messy_chance(0.18):
            pass  # stale commentary: copied forward unchanged from last quarter
        else:
            row[_A["Progress update"]] = self.update(canonical, avoid=previous)
        return row

    def kpi(self, n: int, spec: tuple) -> list:
        """A new KPI row for catalogue entry ``spec``."""
        rng = self.rng
        measure, lower, unit, kind, low, high = spec
        number = rng.uniform(low, high)
        if kind in ("thousands", "money", "million") and number > 10_000:
            number = round(number, -3)
        target = _kpi_value(number, kind, high)
        if self.messy_chance(0.14):
            target = rng.choice((None, None, "Baseline year", "N/A", "-"))
        ref = self.habits.kpi_ref.format(n=n, code=_department_code(self.department))
        polarity = "Lower is better" if lower else rng.choice((None, None, "Higher is better"))
        unit_text = None if unit == "number" and self.chance(0.5) else unit
        tolerance = rng.choices((None, "5%", "10%", "2%"), (80, 12, 5, 3))[0]
        row = [
            ref,
            measure,
            polarity,
            unit_text,
            self.lead() or self.habits.leads[0],
            target,
            None,
            tolerance,
            None,
        ]
        return self.kpi_moved(row, _number_of(target))

    def kpi_moved(self, row: list, base: float | None) -> list:
        """The KPI row with this quarter's actual (moved on from ``base``) and comment."""
        rng = self.rng
        measure, lower, unit, kind, low, high = _KPI_BY_MEASURE[row[_K["Measure"]]]
        if base is None:
            base = rng.uniform(low, high)
        number = max(0.0, base * (1 + rng.gauss(0, 0.06)))
        if kind == "pct":
            number = min(number, 100.0)
        actual = _kpi_value(number, kind, high)
        if self.messy_chance(0.08):
            actual = rng.choice(("N/A", "-"))
        elif kind == "pct" and self.messy_chance(0.05):
            actual = f"{number:.0f}% (interim figure subject to change)"
        row[_K["Actual"]] = actual
        row[_K["Comment"]] = rng.choice(_KPI_COMMENTS) if self.chance(0.5) else None
        return row

    def kpis(self) -> list[list]:
        """4–12 KPIs: the department's own measures first, then corporate ones."""
        rng = self.rng
        count = rng.randint(4, 12)
        own = list(_KPI_SPECIFIC.get(self.department, ()))
        rng.shuffle(own)
        own = own[: rng.randint(min(2, len(own)), len(own))] if own else []
        general = rng.sample(_KPI_GENERAL, min(len(_KPI_GENERAL), max(0, count - len(own))))
        return [self.kpi(n, spec) for n, spec in enumerate(own + general, 1)]

    def summarise(self, objectives: list[list], actions: list[list], previous: dict) -> None:
        """Set each objective's status from its actions' and write a line of commentary."""
        for row in objectives:
            statuses = [
                _canonical_of(a[_A["Status"]]) for a in actions if a[_A["Objective"]] == row[_O["Ref"]]
            ]
            rated = [s for s in statuses if s != "N"]
            if not rated:
                canonical = "G"
            elif all(s == "B" for s in rated):
                canonical = "B"
            elif rated.count("R") >= max(2, 0.2 * len(rated)):
                canonical = "R"
            elif rated.count("A") + rated.count("R") >= 0.25 * len(rated):
                canonical = "A"
            else:
                canonical = "G"
            old = previous.get(row[_O["Ref"]])
            if old is not None and _canonical_of(old[_O["Status"]]) == canonical:
                row[_O["Status"]] = old[_O["Status"]]
            else:
                row[_O["Status"]] = self.status_text(canonical)
            if self.chance(0.3):
                row[_O["Commentary"]] = None
            else:
                done, late = statuses.count("B"), statuses.count("A") + statuses.count("R")
                row[_O["Commentary"]] = (
                    f"{done} of {len(statuses)} actions complete; {late} at risk or behind."
                )

    def title(self) -> str:
        """The plan title as this department writes it."""
        fy = f"{self.year}/{(self.year + 1) % 100:02d}"
        return (
            f"{self.department} Service Plan {fy}",
            f"Service Plan {fy} – {self.department}",
            f"{self.department}: Annual Service Plan {fy}",
            f"{self.department} Business Plan {self.year}-{(self.year + 3) % 100:02d}",
        )[self.habits.title_form]


def _lower_first(text: str) -> str:
    """Text with its first letter lowered, to continue a sentence ('CMT' stays 'CMT')."""
    return text[:1].lower() + text[1:]


def _canonical_of(text: object) -> str:
    """Canonical status letter (B, G, A, R or N for not rated) of a status this module wrote."""
    if text is None or not str(text).strip():
        return "N"
    return _STATUS_OF_TEXT[" ".join(str(text).split()).lower()]


_REF_DOTTED = re.compile(r"^(\d+)\.(\d+)\.(\d+)$")
_REF_LEGACY = re.compile(r"^(\d{3})\.(\d+)$")
_REF_LETTER = re.compile(r"^A(\d+)$")


class _Refs:
    """Hands out action refs in a department's styles ('A1', '1.3.5', '114.07'), never reusing one."""

    def __init__(
        self, habits: _Habits, objectives: list[list], rng: random.Random, used: Sequence[list] = ()
    ):
        self.letter = max((int(m[1]) for row in used if (m := _REF_LETTER.match(row[_A["Ref"]]))), default=0)
        self.style: dict[str, str] = {}
        self.dotted: dict[str, tuple[int, int]] = {}
        self.legacy: dict[str, int] = {}
        for i, objective in enumerate(objectives):
            key = objective[_O["Ref"]]
            mine = [row[_A["Ref"]] for row in used if row[_A["Objective"]] == key]
            dotted = [(int(m[2]), int(m[3])) for ref in mine if (m := _REF_DOTTED.match(ref))]
            legacy = [int(m[2]) for ref in mine if (m := _REF_LEGACY.match(ref))]
            if dotted or legacy or mine:
                # A continued plan keeps each objective's numbering as it was.
                self.style[key] = "dotted" if dotted else "legacy" if legacy else "letter"
            elif i == 0 or used:
                self.style[key] = habits.ref_styles[0]
            elif i == len(objectives) - 1:
                self.style[key] = habits.ref_styles[1]  # so every department mixes at least two styles
            else:
                self.style[key] = (
                    habits.ref_styles[0] if rng.random() < 0.6 else rng.choice(habits.ref_styles)
                )
            self.dotted[key] = max(dotted, default=(1, 0))
            self.legacy[key] = max(legacy, default=0)

    def next(self, objective_ref: str) -> str:
        """The next unused ref for an action under ``objective_ref``."""
        number = int(objective_ref[1:])
        style = self.style[objective_ref]
        if style == "letter":
            self.letter += 1
            return f"A{self.letter}"
        if style == "legacy":
            self.legacy[objective_ref] += 1
            return f"{110 + number}.{self.legacy[objective_ref]:02d}"
        group, item = self.dotted[objective_ref]
        # Five milestones to a group, as in 1.3.5.
        group, item = (group + 1, 1) if item >= 5 else (group, item + 1)
        self.dotted[objective_ref] = (group, item)
        return f"{number}.{group}.{item}"


def plan_for(
    department: str,
    period: str,
    n_actions: int,
    rng: random.Random,
    previous: SamplePlan | None = None,
    messy: bool = True,
) -> SamplePlan:
    """Draw one department's plan for one period with exactly ``n_actions`` actions, continuing ``previous``."""
    if n_actions < 0:
        raise ValueError(f"n_actions must be 0 or more, not {n_actions}")
    maker = _PlanMaker(department, period, rng, messy)
    if previous is None:
        objectives = maker.objectives()
        refs = _Refs(maker.habits, objectives, rng)
        weights = [rng.uniform(0.4, 2.0) for _ in objectives]
        chosen = sorted(rng.choices(range(len(objectives)), weights, k=n_actions))
        actions = [maker.action(refs.next(objectives[i][_O["Ref"]]), objectives[i]) for i in chosen]
        kpis = maker.kpis()
        old_objectives: dict = {}
    else:
        objectives = [list(row) for row in previous.objectives]
        old_objectives = {row[_O["Ref"]]: row for row in previous.objectives}
        actions = _continued_actions(maker, previous, objectives, n_actions)
        kpis = [
            maker.kpi_moved(list(row), _number_of(row[_K["Actual"]]) or _number_of(row[_K["Target"]]))
            for row in previous.kpis
            if len(row) == len(KPI_COLUMNS)  # the KPI model's rows are drawn afresh each period (model_kpis)
        ]
    maker.summarise(objectives, actions, old_objectives)
    as_at = (
        None if maker.messy_chance(0.08) else maker.period_end + datetime.timedelta(days=rng.randint(-5, 21))
    )
    contact = None if maker.messy_chance(0.1) else maker.habits.contact
    return SamplePlan(department, maker.period, maker.title(), as_at, contact, objectives, actions, kpis)


# One KPI of each kind the KPI model knows, with its actual in each quarter (None: none given). Each is chosen so
# that, over the four quarters of a year, its rule is both triggered and avoided (tests/test_kpi_model.py).
#   ref: (measure, type, unit, target, (lower, upper), aggregation, frequency, (target Q1..Q4), actuals Q1..Q4)
MODEL_KPIS: dict[str, tuple] = {
    "MK1": ("Occupancy of council office space", "Goal post", "%", None, (85, 95), None, None, None,
            (97, 96, 90, 93)),
    "MK2": ("Population of the borough (latest estimate)", "Data only", "number", None, (None, None), "Snapshot",
            None, None, (151_200, 151_400, 151_700, 152_050)),
    "MK3": ("% of residents satisfied with the council (annual survey)", "Higher is better", "%", 60, (None, None),
            "Snapshot", "Annual", None, (None, None, None, 58)),
    "MK4": ("Staff engagement index", "Higher is better", "%", 70, (None, None), "Snapshot", "Half-yearly", None,
            (None, 72, None, 65)),
    "MK5": ("Number of complaints received", "Lower is better", "number", 200, (None, None), "Cumulative", None,
            (60, 50, 40, 50), (55, 58, 45, 40)),
    "MK6": ("Average working days lost to sickness per FTE (quarter)", "Lower is better", "days", 2.0,
            (None, None), "Average", "Quarterly", None, (2.1, 1.9, 2.6, 2.2)),
    "MK8": ("Number of library visits", None, "number", 420, (None, None), None, None, None,
            (410, 73_390, 430, 415)),
    "MK9": ("Number of data breaches reported to the ICO", "Lower is better", "number", 0, (None, None), None,
            None, None, (1, 0, 0, 1)),
    "MK10": ("% of repeat referrals", "Lower is better", "%", 20, (None, None), None, None, None,
             (None, None, None, 18)),
}  # fmt: skip
# A percentage reported with numerator and denominator by several departments: the council's figure recomputed
# from them (970 / 1,150 = 84.3 %) is not the mean of theirs (90 %, 20 %, 100 %: 70 %).
MODEL_SHARED = ("MK7", "% of invoices paid within 30 days", 95)
MODEL_SHARES = {"Finance": (900, 1000), "Legal, HR & Property": (20, 100), "Adult Social Services": (50, 50)}
MODEL_DEPARTMENTS = ("Finance", "Legal, HR & Property")  # given every MODEL_KPIS row
_RECOVERY_GIVEN = "Finance"  # gives MK5 a recovery plan; Legal, HR & Property does not (warned about)


def model_kpis(department: str, period: str) -> list[list]:
    """The KPI model's sample rows for a department in a period (none for most departments)."""
    quarter = _period_parts(period)[1] or 4
    rows = []
    if department in MODEL_DEPARTMENTS:
        for ref, (measure, kind, unit, target, band, how, every, profile, actuals) in MODEL_KPIS.items():
            actual = actuals[quarter - 1]
            recovery = (
                [
                    "Extra triage of complaints at first contact",
                    "Head of Customer Services",
                    datetime.date(2025, 3, 31),
                ]
                if ref == "MK5" and department == _RECOVERY_GIVEN
                else [None, None, None]
            )
            rows.append(
                [ref, measure, None, unit, "Performance team", target, actual, None, None,
                 kind, band[0], band[1], how, every, None, None, *(profile or (None,) * 4),
                 190 if ref == "MK5" else None, *recovery]
            )  # fmt: skip
    if department in MODEL_SHARES:
        ref, measure, target = MODEL_SHARED
        numerator, denominator = MODEL_SHARES[department]
        rows.append(
            [ref, measure, None, "%", "Performance team", target, round(100 * numerator / denominator, 1), None,
             None, "Higher is better", None, None, "Snapshot", "Quarterly", numerator, denominator,
             None, None, None, None, None, None, None, None]
        )  # fmt: skip
    return rows


def _continued_actions(
    maker: _PlanMaker, previous: SamplePlan, objectives: list[list], n_actions: int
) -> list[list]:
    """Last quarter's actions moved on: a few dropped (mostly completed ones), the rest updated, new ones added."""
    rng = maker.rng
    old = previous.actions
    dropped = round(len(old) * rng.uniform(0.02, 0.05)) if len(old) >= 10 else 0
    dropped = max(dropped, len(old) - n_actions)
    # Completed work is what departments take off the plan, so Blue rows are dropped first.
    order = sorted(
        range(len(old)),
        key=lambda i: rng.random() * (0.25 if _canonical_of(old[i][_A["Status"]]) == "B" else 1),
    )
    gone = set(order[:dropped])
    kept = [maker.continued_action(row) for i, row in enumerate(old) if i not in gone]
    refs = _Refs(maker.habits, objectives, rng, used=old)
    by_objective: dict[str, list[list]] = {row[_O["Ref"]]: [] for row in objectives}
    for row in kept:
        by_objective.setdefault(row[_A["Objective"]], []).append(row)
    for _ in range(n_actions - len(kept)):
        objective = rng.choice(objectives)
        by_objective[objective[_O["Ref"]]].append(maker.action(refs.next(objective[_O["Ref"]]), objective))
    return [row for rows in by_objective.values() for row in rows]


# ---------------------------------------------------------------------------------------------
# Whole councils and workbooks.


def _sizes(total: int, count: int, rng: random.Random) -> list[int]:
    """Split ``total`` actions over ``count`` departments unevenly (about 0.5× to 1.8× the mean)."""
    weights = [rng.uniform(0.5, 1.8) for _ in range(count)]
    shares = [total * w / sum(weights) for w in weights]
    sizes = [int(s) for s in shares]
    # Largest remainders first, so the sizes add up to exactly ``total``.
    for i in sorted(range(count), key=lambda i: sizes[i] - shares[i])[: total - sum(sizes)]:
        sizes[i] += 1
    return sizes


def council_plans(
    periods: Sequence[str] = ("2024/25 Q1", "2024/25 Q2"),
    departments: int = 9,
    actions_total: int = 1500,
    seed: int = 42,
    kpi_model: bool = False,
) -> dict[str, list[SamplePlan]]:
    """Draw every department's plan for each period (canonical period → plans); the last department misses the last period.

    kpi_model: also give a few departments one KPI of each kind the KPI model knows (model_kpis), after their own.
    """
    if not 1 <= departments <= len(DEPARTMENTS):
        raise ValueError(f"departments must be between 1 and {len(DEPARTMENTS)}, not {departments}")
    names = DEPARTMENTS[:departments]
    sizes = _sizes(actions_total, departments, random.Random(seed))
    latest: dict[str, SamplePlan] = {}
    plans: dict[str, list[SamplePlan]] = {}
    for p, period in enumerate(periods):
        canonical = _canonical_period(*_period_parts(period))
        plans[canonical] = []
        for d, name in enumerate(names):
            if p == len(periods) - 1 and d == len(names) - 1:
                continue  # the department that has not reported, so the rollup shows one missing
            # One rng per department and period (str seeds are hashed stably), so adding a
            # department or a period does not reshuffle the others.
            rng = random.Random(f"{seed}|{canonical}|{name}")
            previous = latest.get(name)
            if previous is None:
                n = sizes[d]
            else:
                n = len(previous.actions) + rng.randint(0, max(1, len(previous.actions) // 40))
            latest[name] = plan_for(name, canonical, n, rng, previous=previous)
            if kpi_model:
                latest[name].kpis.extend(model_kpis(name, canonical))
            plans[canonical].append(latest[name])
    return plans


def _cell(ws, value: object) -> object:
    """A value ready for ``ws.append``: text stays text even when it starts with '=', dates look British."""
    if isinstance(value, str) and value.startswith("="):
        cell = WriteOnlyCell(ws, value=value)
        cell.data_type = "s"  # openpyxl would otherwise store '=SUM(…)' as a live formula
        return cell
    if isinstance(value, datetime.date):
        cell = WriteOnlyCell(ws, value=value)  # pyright: ignore[reportArgumentType]  # openpyxl writes dates too
        cell.number_format = "dd/mm/yyyy"
        return cell
    return value


_WIDTHS = {
    "Ref": 9,
    "Objective": 14,
    "Theme": 30,
    "Action": 60,
    "Lead officer": 24,
    "Due date": 18,
    "Revised due date": 18,
    "Status": 12,
    "Progress update": 70,
    "Delivered by": 26,
    "Commentary": 50,
    "Measure": 50,
    "Polarity": 16,
    "Target": 16,
    "Actual": 16,
    "Comment": 40,
}


def write_plan(plan: SamplePlan, path: Path, write_only: bool = False) -> Path:
    """Write a plan as a canonical department workbook (Plan, Objectives, Actions, KPIs) and return its path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    workbook = Workbook(write_only=write_only)
    if not write_only and workbook.active is not None:
        workbook.remove(workbook.active)
    workbook.properties.creator = "actionplan sample"
    plan_rows = [
        ["Department", plan.department],
        ["Plan", plan.title],
        ["Period", _period_text(plan)],
        ["As at", plan.as_at],
        ["Contact", plan.contact],
    ]
    sheets = (
        ("Plan", None, plan_rows),
        ("Objectives", OBJECTIVE_COLUMNS, plan.objectives),
        ("Actions", ACTION_COLUMNS, plan.actions),
        ("KPIs", KPI_COLUMNS, plan.kpis),
    )
    if any(len(row) > len(KPI_COLUMNS) for row in plan.kpis):
        sheets = (*sheets[:3], ("KPIs", KPI_COLUMNS + KPI_MODEL_COLUMNS, plan.kpis))
    for title, header, rows in sheets:
        ws = workbook.create_sheet(title)
        if header:
            ws.append(list(header))
        for row in rows:
            ws.append([_cell(ws, value) for value in row])
        if not write_only:
            _dress(ws, header)
    workbook.save(path)
    return path


def _dress(ws, header: tuple[str, ...] | None) -> None:
    """Bold labels or header, sensible widths and a frozen header, as a department's own sheet has."""
    if header is None:
        for (label,) in ws.iter_rows(max_col=1):
            label.font = Font(bold=True)
        ws.column_dimensions["A"].width = 14
        ws.column_dimensions["B"].width = 50
        return
    for cell in ws[1]:
        cell.font = Font(bold=True)
        ws.column_dimensions[cell.column_letter].width = _WIDTHS.get(cell.value, 14)
    ws.freeze_panes = "A2"


def write_council(
    out_dir: Path,
    periods: Sequence[str] = ("2024/25 Q1", "2024/25 Q2"),
    departments: int = 9,
    actions_total: int = 1500,
    seed: int = 42,
    write_only: bool = False,
    kpi_model: bool = False,
) -> dict[str, list[Path]]:
    """Write every plan of ``council_plans`` to <out_dir>/<period slug>/<department slug>.xlsx (period → paths)."""
    written: dict[str, list[Path]] = {}
    for period, plans in council_plans(periods, departments, actions_total, seed, kpi_model).items():
        folder = Path(out_dir) / _slug(period)
        written[period] = [
            write_plan(plan, folder / f"{_slug(plan.department)}.xlsx", write_only) for plan in plans
        ]
    return written


def _as_sent(value: Any) -> Any:
    """A cell value as the add-in's client sends it (xlwings.ts): "" for empty, dates as ISO strings."""
    if value is None:
        return ""
    if isinstance(value, datetime.datetime):
        return value.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    if isinstance(value, datetime.date):
        return value.strftime("%Y-%m-%dT00:00:00.000Z")
    return value


def xlwings_payload(path: Path) -> dict[str, Any]:
    """The JSON the Excel add-in's xlwings client sends for a workbook (each sheet's values from A1)."""
    import openpyxl

    wb = openpyxl.load_workbook(path, read_only=True)
    try:
        sheets = [
            {
                "name": ws.title,
                "values": [[_as_sent(v) for v in row] for row in ws.iter_rows(values_only=True)] or [[]],
                "pictures": [],
                "tables": [],
            }
            for ws in wb.worksheets
        ]
    finally:
        wb.close()
    for s in sheets:  # a used range is rectangular
        width = max((len(r) for r in s["values"]), default=0)
        s["values"] = [list(r) + [""] * (width - len(r)) for r in s["values"]]
    return {
        "client": "Office.js",
        "version": "0.37.8",
        "book": {"name": path.name, "active_sheet_index": 0, "selection": "A1"},
        "names": [],
        "sheets": sheets,
    }
