"""Seeded generators of the five familiar workbook shapes, and of the same plan in the canonical template.

One plan definition (`plan_for(shape)`) is written both ways, so a test can check that a
department's own workbook and the template say the same thing. The familiar writers are messy on
purpose, as councils' workbooks are: title rows, headers repeated at page breaks, cells split
across them, HTML from Word, dates as people type them, statuses as words, marks or colours.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field
from pathlib import Path

import openpyxl
from openpyxl.styles import Font, PatternFill

PERIOD = "2017/18 Q2"
SHAPES = ("tracker", "governance", "performance", "service_plan", "colour_rag")
DEPARTMENTS = {
    "tracker": "Children's Services",
    "governance": "Chief Executive's Department",
    "performance": "Regeneration & Environment",
    "service_plan": "Finance",
    "colour_rag": "Adult Social Services",
}
# Shapes whose workbook does not say its department and period: the submitter does.
FROM_SUBMITTER = ("governance", "colour_rag")

_LEADS = (
    "Patel, Anita",
    "R Khan",
    "Head of Customer Services",
    "Overall J. Smith, with each team leader",
    "A Jones & B Smith",
    "Director of Children's Services",
    "Head of Legal & Democratic Services",
    "Chief Finance Officer (S151)",
    "Monitoring Officer",
)
_ACTIONS = (
    "Review the scheme of delegation",
    "Deliver induction for new councillors",
    "Publish the forward plan every month",
    "Refresh the risk management strategy",
    "Introduce quarterly performance clinics",
    "Agree the member development charter",
    "Train scrutiny chairs in questioning skills",
    "Launch the staff survey",
    "Adopt the revised constitution",
    "Re-tender the insurance contract",
    "Move payroll to the new system",
    "Close the 2016/17 accounts by the statutory deadline",
    "Consult residents on the budget",
    "Update the data protection policy",
    "Roll out mobile working to social workers",
    "Cut agency spend by 10%",
)
_SECOND_PARAGRAPHS = (
    "Report to Cabinet in the autumn.",
    "Then embed in the appraisal process.",
    "Audit & Governance Committee to review the outcome.",
)
_PROGRESS = (
    "Draft completed and circulated to SMT.",
    "Consultation closed; 142 responses received.",
    "Supplier withdrew, re-tendering under way.",
    "Delayed by the restructure; new lead appointed.",
    "Complete and signed off at Cabinet.",
    "Training booked for all members.",
    "Awaiting legal advice on the options.",
)
_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
_FILLS = {
    "B": ("00B0F0", "5B9BD5", "0070C0"),
    "G": ("00B050", "92D050", "C6EFCE"),
    "A": ("FFC000", "FFFF00", "FFEB9C"),
    "R": ("FF0000", "C00000", "FFC7CE"),
}
_MARKS = ("X", "x", "✓")
_JUDGEMENT = {"B": "*", "G": "●", "R": "▲", "-": "?"}


@dataclass
class PlanItem:
    """One action as the plan means it; each writer says it in its own shape's words."""

    ref: str
    theme: str | None
    objective: str | None
    action: str  # a second paragraph after "\n" is split across a page break by some writers
    lead: str
    due: dt.date | None
    due_words: str | None  # what is written when there is no date ("TBC", "Ongoing")
    revised: dt.date | None
    status: str  # B, G, A, R or -
    progress: str | None
    rating: str = "-"  # a second RAGB rating (governance)
    milestones: list[tuple[str, dt.date]] = field(default_factory=list)


@dataclass
class PlanKpi:
    ref: str
    team: str
    measure: str
    lead: str
    target: str
    actual: str
    symbol: str


@dataclass
class Plan:
    shape: str
    department: str
    period: str
    title: str
    items: list[PlanItem]
    kpis: list[PlanKpi] = field(default_factory=list)


def _month_end(year: int, month: int) -> dt.date:
    nxt = dt.date(year + month // 12, month % 12 + 1, 1)
    return nxt - dt.timedelta(days=1)


def plan_for(shape: str, seed: int = 42) -> Plan:
    """The plan a department in this shape keeps, generated from a seed."""
    rng = random.Random(f"{shape}-{seed}")
    statuses = {"performance": "BGGR-", "colour_rag": "BGAR", "service_plan": "BGGAR-"}.get(shape, "BGGAR")
    themes = {
        "tracker": (
            "A: Leadership and culture",
            "B: Councillor Development",
            "C: Decisions and accountability",
        ),
        "governance": ("Information governance", "Financial resilience", "Partnership governance"),
        "performance": ("Priority 1: A cleaner, greener borough", "Priority 2: Homes and jobs"),
        "service_plan": ("Accountancy", "Revenues & Benefits", "Procurement"),
    }.get(shape, (None,))
    objectives = (
        "Members are well supported",
        "Decisions are timely and open",
        "Money is well managed",
        "Residents are kept safe",
    )
    n = {"tracker": 10, "governance": 7, "performance": 9, "service_plan": 9, "colour_rag": 8}[shape]
    items = []
    for i in range(n):
        theme = themes[min(i * len(themes) // n, len(themes) - 1)]
        objective = objectives[(i // 3) % len(objectives)] if shape != "governance" else None
        if shape in ("colour_rag", "governance"):
            objective = f"Objective {i // 3 + 1}: {objectives[i // 3 % len(objectives)]}"
        action = rng.choice(_ACTIONS)
        if shape in ("governance", "tracker") and i % 4 == 2:
            action = f"{action}\n{rng.choice(_SECOND_PARAGRAPHS)}"
        year, month = rng.choice([(2017, 6), (2017, 9), (2017, 12), (2018, 3), (2018, 6), (2017, 8)])
        due: dt.date | None = _month_end(year, month)
        if shape in ("tracker", "colour_rag", "service_plan") and i % 3 == 1:
            due = dt.date(year, month, rng.choice([1, 14, 20, 28]))
        due_words = None
        if shape in ("tracker", "service_plan") and i == n - 1:
            due, due_words = None, rng.choice(["TBC", "Ongoing"])
        revised = None
        if shape in ("tracker",) and due and i % 3 == 0:
            revised = _month_end(due.year + (due.month == 12), due.month % 12 + 1)
        status = rng.choice(statuses)
        progress = None if status == "-" else rng.choice(_PROGRESS)
        if progress and i % 4 in (1, 3) and shape in ("tracker", "governance"):
            progress = f"{progress}\n{rng.choice(_PROGRESS)}"
        milestones = []
        if shape == "performance" and due:
            earlier = [_month_end(due.year - (due.month <= k), (due.month - k - 1) % 12 + 1) for k in (2, 4)]
            milestones = [("Cabinet decision", due)] + [
                (w, d) for w, d in zip(("Consultation closes", "Options appraisal"), earlier, strict=True)
            ][: rng.randint(0, 2)]
            rng.shuffle(milestones)  # not always in date order: the latest date counts, not the last
        ref = {"tracker": f"{i // 3 + 1}.{i % 3 + 1}", "colour_rag": f"ASC{i + 1}"}.get(shape, f"R{i + 1}")
        lead = rng.choice(_LEADS)
        items.append(
            PlanItem(
                ref,
                theme,
                objective,
                action,
                lead,
                due,
                due_words,
                revised,
                status,
                progress,
                rating=rng.choice("BGAR"),
                milestones=milestones,
            )
        )
    kpis = []
    if shape == "service_plan":
        measures = (
            "% of invoices paid within 30 days",
            "Council tax collected (%)",
            "Days to process a new claim",
            "Number of contracts let through the e-tendering portal",
        )
        for k, team in enumerate(themes):
            for j in range(2 if k < 2 else 1):
                target = rng.choice(["95%", "97.5%", "22", "1,200"])
                actual = rng.choice(["93.1%", "98%", "21.5", "1,032", "N/A"])
                kpis.append(
                    PlanKpi(
                        f"R{len(kpis) + 1}",
                        team,
                        measures[(k + j) % len(measures)],
                        rng.choice(_LEADS[:5]),
                        target,
                        actual,
                        rng.choice("★●▲"),
                    )
                )
    titles = {
        "tracker": f"{DEPARTMENTS[shape]} Improvement Plan {PERIOD}",
        "performance": f"{DEPARTMENTS[shape]} Performance Plan 2017/18 Quarter 2",
        "service_plan": f"{DEPARTMENTS[shape]} Service Plan 2017/18 – Quarter 2 monitoring",
    }
    title = titles.get(shape, f"{DEPARTMENTS[shape]} action plan")
    if shape == "service_plan":  # a team's tasks are written together under its heading
        items.sort(key=lambda it: themes.index(it.theme))
        for i, item in enumerate(items, start=1):
            item.ref = f"R{i}"
    return Plan(shape, DEPARTMENTS[shape], PERIOD, title, items, kpis)


# --- Dates as people write them -------------------------------------------------------------------


def _messy_date(rng: random.Random, day: dt.date | None, words: str | None = None):
    if day is None:
        return words
    month_end = day == _month_end(day.year, day.month)
    forms = ["cell", "dmy"] + (["end of", "mon-yy", "month year", "sept"] if month_end else [])
    form = rng.choice(forms)
    if form == "cell":
        return dt.datetime(day.year, day.month, day.day)
    if form == "dmy":
        return day.strftime("%d/%m/%y")
    if form == "end of":
        return f"End of {_MONTHS[day.month - 1]} {day.year}"
    if form == "mon-yy":
        return day.strftime("%b-%y")
    if form == "sept" and day.month == 9:
        return f"Sept. {day.year}"
    return f"{_MONTHS[day.month - 1]} {day.year}"


def _html(text: str | None) -> str | None:
    """Text as Word pastes it into a cell: paragraphs, entities, the odd italic."""
    if text is None:
        return None
    paras = [p.replace("&", "&amp;").replace("Cabinet", "<i>Cabinet</i>") for p in text.split("\n")]
    return "".join(f"<p>{p}</p>" for p in paras)


def _save(wb: openpyxl.Workbook, path: Path) -> Path:
    wb.save(path)
    return path


# --- The five familiar shapes ---------------------------------------------------------------------

TRACKER_HEADER = [
    "Ref",
    "Improvement Theme",
    "Outcome",
    "Source",
    "Milestones",
    "Officer or Member action",
    "Timescale",
    "Member Lead",
    "SMT Lead",
    "Status",
    "Revised target date",
    "Comments",
]
_TRACKER_WORDS = {
    "B": ("Complete", "Completed and embedded", "complete."),
    "G": ("On target", "on target "),
    "A": ("Off target but recovery plans in place", "Off target, but recovery plans in place"),
    "R": ("Off target",),
    "-": (None,),
}


def tracker_workbook(plan: Plan, path: Path, seed: int = 1) -> Path:
    """One sheet: two title rows, the header, and the header again at each page break (every 4 items);
    an item's second paragraph of comments runs on after the break, with its Ref and Milestones empty."""
    rng = random.Random(seed)
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Improvement Plan"
    ws.append([plan.title])
    ws.append(["Progress at 30 September 2017 – report to Overview and Scrutiny Committee"])
    ws.append(TRACKER_HEADER)
    for i, item in enumerate(plan.items):
        comments, spill = item.progress, None
        if i % 4 == 3 and item.progress and "\n" in item.progress:
            comments, spill = item.progress.split("\n", 1)
        ws.append(
            [
                item.ref,
                item.theme,
                item.objective,
                rng.choice(["Peer challenge", "AGS 2016/17", None]),
                item.action,
                rng.choice(["Officer", "Member", "Both"]),
                _messy_date(rng, item.due, item.due_words),
                rng.choice(["Cllr J Smith", "Cllr P Okafor"]),
                item.lead,
                rng.choice(_TRACKER_WORDS[item.status]),
                _messy_date(rng, item.revised),
                comments,
            ]
        )
        if i % 4 == 3:
            ws.append(TRACKER_HEADER)  # printed page break
            if spill:
                ws.append([None] * 11 + [spill])
    return _save(wb, path)


GOVERNANCE_HEADER = [
    "Key Improvement Area",
    "Actions for Implementation",
    "Responsibility and Implementation Date",
    "Progress Update",
    "RAGB Rating - Outcome",
    "RAGB Rating - Arrangements",
]
_RAGB_WORDS = {
    "B": ("B", "Blue"),
    "G": ("G", "Green", "g"),
    "A": ("A", "Amber"),
    "R": ("R", "Red"),
    "-": (None,),
}


def governance_workbook(plan: Plan, path: Path, seed: int = 2) -> Path:
    """Pasted from Word: HTML in cells, <b> group headings, officer and date in one cell, two ratings;
    an action's second paragraph runs on after a page break with its Key Improvement Area empty."""
    rng = random.Random(seed)
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "AGS Action Plan"
    ws.append(["Annual Governance Statement 2016/17: significant governance issues – action plan"])
    ws.append(GOVERNANCE_HEADER)
    group = None
    for item in plan.items:
        if item.objective != group:
            group = item.objective
            ws.append([f"<b>{group}</b>"])
        action, action_spill = (item.action.split("\n", 1) + [None])[:2]
        progress, progress_spill = ((item.progress or "").split("\n", 1) + [None])[:2]
        when = rng.choice(
            [
                f"  {_MONTHS[item.due.month - 1]} {item.due.year}",
                f" – by end of {_MONTHS[item.due.month - 1]} {item.due.year}",
                f"\n{item.due:%d/%m/%Y}",
            ]
        )
        ws.append(
            [
                item.theme,
                _html(action),
                item.lead.replace("&", "&amp;") + when,
                _html(progress or None),
                rng.choice(_RAGB_WORDS[item.status]),
                item.rating,
            ]
        )
        if action_spill or progress_spill:
            ws.append(GOVERNANCE_HEADER)  # the row broke across a printed page
            ws.append([None, _html(action_spill), None, _html(progress_spill), None, None])
    return _save(wb, path)


PERFORMANCE_HEADER = [
    "Workstream/Project",
    "Action",
    "Responsibility",
    "Milestones",
    "Achievements to Date",
    "Judgement of Progress",
    None,
    None,
    None,
]
PERFORMANCE_SUBHEADER = [None] * 5 + ["*", "●", "▲", "?"]


def _milestone_text(rng: random.Random, milestones: list[tuple[str, dt.date]]) -> str:
    parts = []
    for words, day in milestones:
        when = day.strftime("%d/%m/%y") if rng.random() < 0.5 else f"{_MONTHS[day.month - 1][:3]} {day.year}"
        parts.append(f"{words} {when}")
    return rng.choice(["; ", "\n"]).join(parts)


def performance_workbook(plan: Plan, path: Path, seed: int = 3) -> Path:
    """A two-row header (Judgement of Progress merged over * ● ▲ ?), a mark per row, workstreams merged
    down over their actions, priority headings between actions, header rows repeated at page breaks."""
    rng = random.Random(seed)
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Performance Plan"
    ws.append([plan.title])
    ws.append([])

    def header():
        ws.append(PERFORMANCE_HEADER)
        ws.append(PERFORMANCE_SUBHEADER)
        ws.merge_cells(start_row=ws.max_row - 1, start_column=6, end_row=ws.max_row - 1, end_column=9)

    header()
    theme = workstream = None
    for i, item in enumerate(plan.items):
        if item.theme != theme:
            theme, workstream = item.theme, None
            ws.append([theme])
        marks = [None] * 4
        mark_at = "*●▲?".index(_JUDGEMENT[item.status])
        if item.status != "-" or rng.random() < 0.5:
            marks[mark_at] = rng.choice(_MARKS + (_JUDGEMENT[item.status],))
        ws.append(
            [
                item.objective if item.objective != workstream else None,
                item.action,
                item.lead,
                _milestone_text(rng, item.milestones),
                item.progress,
                *marks,
            ]
        )
        workstream = item.objective
        if i == 4:
            header()
    return _save(wb, path)


TASK_HEADER = [
    "Task",
    "Objective",
    "Responsible Officer",
    "Resources",
    "Due Date",
    "Success criteria",
    "Progress",
    "Comments",
]
KPI_HEADER = [
    "Key Performance Measure",
    "Framework",
    "Responsible officer",
    "Target",
    "Actual",
    None,
    "2017/18",
    "18/19",
    "19/20",
]
_SERVICE_WORDS = {
    "B": ("Complete", "B"),
    "G": ("Green", "G"),
    "A": ("Amber", "Amber (some slippage)"),
    "R": ("Red",),
    "-": (None,),
}


def service_plan_workbook(plan: Plan, path: Path, seed: int = 4, monitored: bool = True) -> Path:
    """One sheet; per team a heading row, its task table and its KPI table (symbol beside the actual)."""
    rng = random.Random(seed)
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Service Plan"
    ws.append([plan.title])
    header = TASK_HEADER if monitored else TASK_HEADER[:6]
    for team in dict.fromkeys(item.theme for item in plan.items):
        ws.append([])
        ws.append([team])
        ws["A" + str(ws.max_row)].font = Font(bold=True)  # bold, but right above a table: a section heading
        ws.append(header)
        for item in (it for it in plan.items if it.theme == team):
            row = [
                item.action,
                item.objective,
                item.lead,
                rng.choice(["Within existing budget", "£25,000 one-off"]),
                _messy_date(rng, item.due, item.due_words),
                "Delivered on time and within budget",
            ]
            if monitored:
                row += [rng.choice(_SERVICE_WORDS[item.status]), item.progress]
            ws.append(row)
        team_kpis = [k for k in plan.kpis if k.team == team]
        if team_kpis:
            ws.append([])
            ws.append(KPI_HEADER)
            for k in team_kpis:
                ws.append(
                    [
                        k.measure,
                        rng.choice(["NI 181", "Local", "Corporate plan"]),
                        k.lead,
                        k.target,
                        k.actual,
                        k.symbol,
                        k.target,
                        "96%",
                        "97%",
                    ]
                )
    return _save(wb, path)


COLOUR_HEADER = ["Ref", "Action", "Lead Officer", "Deadline", "Status", "Update"]


def colour_rag_workbook(
    plan: Plan, path: Path, seed: int = 5, fill_status: dict[str, str] | None = None
) -> Path:
    """Statuses as cell colours only (shades vary), bold group headings naming the objective."""
    rng = random.Random(seed)
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Action Plan 2017-18"
    ws.append([f"{plan.department} – Action Plan"])
    ws.append(COLOUR_HEADER)
    group = None
    for item in plan.items:
        if item.objective != group:
            group = item.objective
            ws.append([group])
            ws.cell(ws.max_row, 1).font = Font(bold=True)
        ws.append([item.ref, item.action, item.lead, _messy_date(rng, item.due), None, item.progress])
        colour = (fill_status or {}).get(item.ref) or (
            rng.choice(_FILLS[item.status]) if item.status in _FILLS else None
        )
        if colour:
            ws.cell(ws.max_row, 5).fill = PatternFill("solid", fgColor=colour)
    return _save(wb, path)


WRITERS = {
    "tracker": tracker_workbook,
    "governance": governance_workbook,
    "performance": performance_workbook,
    "service_plan": service_plan_workbook,
    "colour_rag": colour_rag_workbook,
}


def familiar_workbook(plan: Plan, path: Path) -> Path:
    """The plan written in its own shape."""
    return WRITERS[plan.shape](plan, path)


# --- The same plan in the template ------------------------------------------------------------------

CANONICAL_ACTION_HEADER = [
    "Ref",
    "Objective",
    "Theme",
    "Action",
    "Lead officer",
    "Due date",
    "Revised due date",
    "Status",
    "Progress update",
]
CANONICAL_KPI_HEADER = [
    "Ref",
    "Measure",
    "Polarity",
    "Unit",
    "Lead officer",
    "Target",
    "Actual",
    "Tolerance",
    "Comment",
]


def template_workbook(plan: Plan, path: Path) -> Path:
    """The plan typed into the canonical template: Plan, Actions (and KPIs) sheets, one row per item."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Plan"
    for label, value in (("Department", plan.department), ("Plan", plan.title), ("Period", plan.period)):
        ws.append([label, value])
    wa = wb.create_sheet("Actions")
    wa.append(CANONICAL_ACTION_HEADER)
    for item in plan.items:
        wa.append(
            [
                item.ref,
                item.objective,
                item.theme,
                item.action,
                item.lead,
                item.due or item.due_words,
                item.revised,
                None if item.status == "-" else item.status,
                item.progress,
            ]
        )
    if plan.kpis:
        wk = wb.create_sheet("KPIs")
        wk.append(CANONICAL_KPI_HEADER)
        for k in plan.kpis:
            wk.append([k.ref, k.measure, None, None, k.lead, k.target, k.actual, None, None])
    return _save(wb, path)
