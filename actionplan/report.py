"""The committee report: a period's rollup facts → a Word document in the form councils hand their scrutiny committee.

Every number comes from the RollupFacts the rollup workbook is written from (one source of numbers); this module
only lays them out. python-docx and matplotlib are imported when a report is written, never at CLI start-up.
"""

from __future__ import annotations

import datetime as dt
import io
import os
import re
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd

from .councils import ALL_COUNCILS, DEFAULT_COUNCIL
from .errors import ActionplanError
from .model import RollupFacts
from .rollup import _SEVERITY, RAGB_COLUMNS
from .values import present
from .vocabulary import NOT_DUE, NOT_RATED_KPI, STATUS_MEANINGS, STATUS_NAMES
from .vocabulary import PERFORMANCE_SYMBOLS as VOCABULARY_SYMBOLS

# The performance symbols councils print beside a KPI (spec: ★ better, ● within, ▲ worse).
PERFORMANCE_SYMBOLS = {"better": "★", "within": "●", "worse": "▲", "no data": "–"}
PERFORMANCE_KEY = (
    ("★", "better than the target range"),
    ("●", "within the target range"),
    ("▲", "worse than the target range"),
    ("–", "no data: target or actual missing or not a number"),
)
# The KPI model's two words, keyed only where a KPI is one (a report without them reads as it always did).
MODEL_SYMBOLS = {NOT_DUE: VOCABULARY_SYMBOLS[NOT_DUE], NOT_RATED_KPI: VOCABULARY_SYMBOLS[NOT_RATED_KPI]}
MODEL_KEY = {
    NOT_DUE: (MODEL_SYMBOLS[NOT_DUE], "not due: no result is due this quarter at this measure's frequency"),
    NOT_RATED_KPI: (MODEL_SYMBOLS[NOT_RATED_KPI], "data only: reported for context, never rated"),
}
# The same colours as the rollup workbook's status cells (fill, font).
RAGB_FILLS = {
    "B": ("5B9BD5", "FFFFFF"),
    "G": ("70AD47", "000000"),
    "A": ("FFC000", "000000"),
    "R": ("C00000", "FFFFFF"),
    "-": ("A5A5A5", "000000"),
}
_LETTER_BY_NAME = {name: letter for letter, name in STATUS_NAMES.items()}
HEADER_FILL = "D9E1F2"
EXCEPTIONS_HEADING = "Exceptions for the committee's attention"
HOW_TO_READ_HEADING = "How to read this report"
SUMMARY_HEADING = "Summary"
OTHER_ACTIONS = "Actions not linked to an objective"
MILESTONE_HEADER = ("Ref", "Milestone", "End date", "Revised date", "RAGB", "Update")
YEAR_MILESTONE_HEADER = ("Ref", "Milestone", "End date", "Revised date", "RAGB", "By quarter", "Update")
YEAR_KPI_HEADER = ("Ref", "Measure", "Polarity", "Target", "Outturn", "Perf.", "Direction", "By quarter")
OBJECTIVE_HEADER = ("Delivered by", "Lead officer", "Status")
KPI_HEADER = ("Ref", "Measure", "Polarity", "Target", "Actual", "Perf.", "Direction")
EXCEPTION_HEADER = ("Ref", "Action and lead officer", "Due", "RAGB", "Why it is here", "Latest update")
SUMMARY_HEADER = ("Department", *RAGB_COLUMNS, "Total", "% complete", "% on track")
# XML 1.0 cannot hold these; Excel cells (and text pasted from Word) sometimes do.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
# Page widths in centimetres for A4 portrait with 2 cm margins: every table fits in 17 cm.
_MILESTONE_WIDTHS = (1.5, 5.2, 2.1, 2.1, 1.4, 4.7)
_YEAR_MILESTONE_WIDTHS = (1.5, 4.5, 2.1, 2.1, 1.4, 1.8, 3.6)
_YEAR_KPI_WIDTHS = (1.5, 3.6, 2.0, 1.9, 1.9, 1.2, 2.3, 2.6)
_OBJECTIVE_WIDTHS = (6.0, 6.0, 5.0)
_KPI_WIDTHS = (1.5, 5.4, 2.4, 2.1, 2.1, 1.2, 2.3)
_EXCEPTION_WIDTHS = (1.5, 4.7, 2.1, 1.4, 3.3, 4.0)
_SUMMARY_WIDTHS = (4.6, 1.3, 1.3, 1.3, 1.3, 1.5, 1.3, 1.7, 1.7)


class UnknownDepartment(ActionplanError):
    """No department by that name submitted a plan for this period."""


class ReportTemplateUnusable(ActionplanError):
    """The report template (ACTIONPLAN_REPORT_TEMPLATE) is not a Word document actionplan can open."""


def report_title(facts: RollupFacts) -> str:
    """What the report is called: the council's, a named council's, or every council's together."""
    if facts.council == ALL_COUNCILS:
        return "All councils performance report"
    return (
        "Council performance report"
        if facts.council == DEFAULT_COUNCIL
        else f"{facts.council} performance report"
    )


def report_file(rollup_file: Path, department: str | None = None) -> Path:
    """Where the report of a rollup lives: beside it, rollup-… → report-…, a department's with its name added."""
    stem = "report" + rollup_file.stem.removeprefix("rollup")
    if department:
        stem += "-" + (re.sub(r"[^A-Za-z0-9]+", "-", department).strip("-").lower() or "department")
    return rollup_file.with_name(stem + ".docx")


def department_facts(facts: RollupFacts, department: str) -> RollupFacts:
    """The facts of one department: its row of each count table (and the council's total of only that row)."""
    import dataclasses

    known = [d for d in facts.summary["Department"] if d not in ("Council total",)]
    match = next((d for d in known if d.casefold() == department.strip().casefold()), None)
    if match is None:
        if any(d.casefold() == department.strip().casefold() for d in facts.missing):
            raise UnknownDepartment(
                f"{department} has not submitted a plan for {facts.period}, so it has no report yet."
            )
        raise UnknownDepartment(
            f"No department called '{department}' submitted a plan for {facts.period}. "
            f"Departments that did: {', '.join(known) or 'none'}."
        )

    def own(frame: pd.DataFrame) -> pd.DataFrame:
        if frame.empty or "Department" not in frame:
            return frame
        return frame[frame["Department"] == match].reset_index(drop=True)

    def own_counts(frame: pd.DataFrame) -> pd.DataFrame:
        rows = frame[frame["Department"].isin([match, "Council total"])].reset_index(drop=True)
        rows.loc[rows["Department"] == "Council total", frame.columns[1:]] = rows.loc[
            rows["Department"] == match, frame.columns[1:]
        ].to_numpy()
        return rows

    return dataclasses.replace(
        facts,
        summary=own_counts(facts.summary),
        objectives_summary=own_counts(facts.objectives_summary),
        objectives=own(facts.objectives),
        exceptions=own(facts.exceptions),
        actions=own(facts.actions),
        kpis=own(facts.kpis),
        kpi_counts=own_counts(facts.kpi_counts),
        submissions=own(facts.submissions),
        changes=own(facts.changes),
        data_quality=own(facts.data_quality),
        missing=[],
    )


def write_report(
    facts: RollupFacts,
    out: Path,
    *,
    department: str | None = None,
    previous: RollupFacts | None = None,
    template: Path | None = None,
) -> Path:
    """Write the committee report of facts (one department's with department) to out, replacing it atomically."""
    if department:
        facts = department_facts(facts, department)
        department = str(facts.summary["Department"].iloc[0])  # as the department spells itself
        previous = _department_or_none(previous, department)
    document = _document(template)
    _Report(document, facts, previous, department).build()
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent)
    os.close(fd)
    try:
        document.save(tmp)
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return out


def _department_or_none(previous: RollupFacts | None, department: str) -> RollupFacts | None:
    if previous is None:
        return None
    try:
        return department_facts(previous, department)
    except UnknownDepartment:  # new this period: nothing to compare with
        return None


def _document(template: Path | None) -> Any:
    """A new document: the council's template emptied of its body (styles, headers and logo kept), or Word's own."""
    import docx

    if template is None:
        return docx.Document()
    try:
        document = docx.Document(str(template))
    except FileNotFoundError:
        raise ReportTemplateUnusable(
            f"The report template {template} does not exist. Set "
            "ACTIONPLAN_REPORT_TEMPLATE to a .docx file, or leave it empty."
        ) from None
    except Exception:  # python-docx raises several kinds for a file that is not a .docx
        raise ReportTemplateUnusable(
            f"The report template {template} is not a Word document (.docx) actionplan "
            "can open. Save it from Word as .docx, or leave "
            "ACTIONPLAN_REPORT_TEMPLATE empty."
        ) from None
    body = document.element.body
    for child in list(body):
        if not child.tag.endswith("}sectPr"):  # the last section's page setup, header and footer stay
            body.remove(child)
    return document


def plain(value: Any) -> str:
    """A department's value as plain text for the document: blanks empty, characters XML cannot hold removed."""
    if value is None or (isinstance(value, float) and value != value) or value is pd.NaT:
        return ""
    if isinstance(value, dt.datetime):
        return f"{value:%d/%m/%Y %H:%M}"
    if isinstance(value, dt.date):
        return f"{value:%d/%m/%Y}"
    if isinstance(value, float):
        return f"{value:,.2f}".rstrip("0").rstrip(".")
    return _NOT_XML.sub("", str(value)).strip()


def percent(value: Any) -> str:
    """A share as the workbook shows it: 0.2846 → 28%."""
    return f"{float(value):.0%}"


def letter(status: Any) -> str:
    """The RAGB letter of a status as the facts hold it (a letter, or a name on the objectives list)."""
    text = plain(status)
    return _LETTER_BY_NAME.get(text, text if text in RAGB_FILLS else "-")


def shown_letter(code: str) -> str:
    """A status letter as the rollup workbook prints it (not rated as an en dash)."""
    return "–" if code == "-" else code


def reason_in_words(reason: Any, due: Any = None) -> str:
    """An exception's reason codes as a sentence a committee member reads: 'Red: …; overdue: …'."""
    words = []
    for part in [p.strip() for p in plain(reason).split(",") if p.strip()]:
        if part == "Red":
            words.append("Red: the department reports a problem")
        elif part == "overdue":
            when = f" (due {plain(due)})" if plain(due) else ""
            words.append(f"overdue: due before the period ended{when} and not complete")
        elif part == "no progress update":
            words.append("no progress update was given")
        elif part == "Red without corrective action":
            words.append("no corrective action is described")
        elif part.startswith("due date revised"):
            words.append(f"{part}: the date keeps slipping")
        elif part.startswith("off target since"):
            words.append(f"{part}: Red period after period, an exception until it is back on track")
        else:
            words.append(part)
    text = "; ".join(words) or "exception"
    return text[0].upper() + text[1:] + "."


def _with_recovery(row: dict[Any, Any]) -> str:
    """The latest update, then the recovery plan where one is given: what, who, by when."""
    update = plain(row.get("Progress update"))
    action = plain(row.get("Recovery action"))
    if not action:
        return update
    who, when = plain(row.get("Recovery owner")), plain(row.get("Recovery date"))
    plan = f"Recovery: {action}" + (f" ({who})" if who else "") + (f", by {when}" if when else "")
    return f"{update}\n{plan}" if update else plan


class _Report:
    """The document being built: one method per part, in the order the committee reads them."""

    def __init__(
        self, document: Any, facts: RollupFacts, previous: RollupFacts | None, department: str | None
    ) -> None:
        from docx.shared import Cm, Pt, RGBColor

        self.doc, self.facts, self.previous, self.department = document, facts, previous, department
        self.Cm, self.Pt, self.RGBColor = Cm, Pt, RGBColor
        self._page_setup()

    def build(self) -> None:
        self.cover()
        self.exceptions()
        departments = [d for d in self.facts.summary["Department"] if d != "Council total"]
        for dept in departments:
            self.department_section(dept)
        self.how_to_read()

    # -- document plumbing ---------------------------------------------------------------------------------------

    def _page_setup(self) -> None:
        from docx.enum.section import WD_ORIENT

        section = self.doc.sections[-1]
        section.orientation = WD_ORIENT.PORTRAIT
        section.page_width, section.page_height = self.Cm(21.0), self.Cm(29.7)
        for side in ("left_margin", "right_margin"):
            setattr(section, side, self.Cm(2.0))
        section.top_margin = section.bottom_margin = self.Cm(2.0)
        title = f"{report_title(self.facts)} — {self.facts.period}"
        if self.department:
            title += f" — {self.department}"
        header = section.header
        if header.is_linked_to_previous or not any(p.text.strip() or p.runs for p in header.paragraphs):
            # Word's default (or a template without a header): ours; a council's own header is left as it is.
            header.is_linked_to_previous = False
            header.paragraphs[0].text = title
            header.paragraphs[0].runs[0].font.size = self.Pt(8)
        footer = section.footer
        if footer.is_linked_to_previous or not any(p.text.strip() or p.runs for p in footer.paragraphs):
            footer.is_linked_to_previous = False
            paragraph = footer.paragraphs[0]
            run = paragraph.add_run(
                f"Generated {self.facts.generated_at:%d/%m/%Y %H:%M} by actionplan. Page "
            )
            run.font.size = self.Pt(8)
            self._page_number(paragraph)

    def _page_number(self, paragraph: Any) -> None:
        """A PAGE field in the footer (ours; department text never becomes a field)."""
        from docx.oxml import OxmlElement
        from docx.oxml.ns import qn

        run = paragraph.add_run()
        run.font.size = self.Pt(8)
        for kind, text in (("begin", None), (None, "PAGE"), ("separate", None), (None, "1"), ("end", None)):
            if kind:
                element = OxmlElement("w:fldChar")
                element.set(qn("w:fldCharType"), kind)
            elif text == "PAGE":
                element = OxmlElement("w:instrText")
                element.set(qn("xml:space"), "preserve")
                element.text = " PAGE "
            else:
                element = OxmlElement("w:t")
                element.text = text
            run._r.append(element)

    def style(self, name: str, fallback: str | None = None) -> Any:
        """A style of the document (a council template may lack one: then the fallback, or Normal)."""
        styles = self.doc.styles
        for candidate in (name, fallback, "Normal"):
            if candidate is None:
                continue
            try:
                return styles[candidate]
            except KeyError:
                continue
        return None

    def heading(self, text: str, level: int) -> Any:
        paragraph = self.doc.add_paragraph(plain(text), style=self.style(f"Heading {level}"))
        paragraph.paragraph_format.keep_with_next = True
        return paragraph

    def para(
        self, text: str = "", *, bold: bool = False, size: float | None = None, italic: bool = False
    ) -> Any:
        paragraph = self.doc.add_paragraph()
        if text:
            run = paragraph.add_run(plain(text) if not isinstance(text, str) else _NOT_XML.sub("", text))
            run.bold, run.italic = bold, italic
            if size:
                run.font.size = self.Pt(size)
        return paragraph

    def page_break(self) -> None:
        from docx.enum.text import WD_BREAK

        self.doc.add_paragraph().add_run().add_break(WD_BREAK.PAGE)

    def table(
        self,
        header: tuple[str, ...],
        rows: list[list[Any]],
        widths: tuple[float, ...],
        *,
        fills: list[dict[int, str]] | None = None,
        size: float = 8,
        bold_last: bool = False,
    ) -> Any:
        """A table with a repeated shaded header row, fixed column widths, and per-cell status colours."""
        from docx.enum.table import WD_TABLE_ALIGNMENT
        from docx.oxml import OxmlElement
        from docx.oxml.ns import qn

        table = self.doc.add_table(rows=1, cols=len(header))
        table.style = self.style("Table Grid")
        table.alignment = WD_TABLE_ALIGNMENT.LEFT
        table.autofit = False
        head = table.rows[0]
        flag = OxmlElement("w:tblHeader")  # repeat the header row on every page the table runs onto
        flag.set(qn("w:val"), "true")
        head._tr.get_or_add_trPr().append(flag)
        for cell, text in zip(head.cells, header, strict=True):
            self._cell(cell, text, size=size, bold=True)
            _shade(cell, HEADER_FILL)
        for index, values in enumerate(rows):
            cells = table.add_row().cells
            colours = fills[index] if fills else {}
            last = bold_last and index == len(rows) - 1
            for column, (cell, value) in enumerate(zip(cells, values, strict=True)):
                colour = colours.get(column)
                font = RAGB_FILLS.get(colour, (None, None))[1] if colour in RAGB_FILLS else None
                self._cell(cell, plain(value), size=size, bold=last or colour is not None, font=font)
                if colour:
                    _shade(cell, RAGB_FILLS[colour][0] if colour in RAGB_FILLS else colour)
        for column, width in zip(table.columns, widths, strict=True):
            column.width = self.Cm(width)  # the grid: LibreOffice lays tables out by it, Word by the cells
        for row in table.rows:
            row._tr.get_or_add_trPr()
            cant = OxmlElement("w:cantSplit")  # a milestone's row never breaks across two pages
            row._tr.trPr.append(cant)
            for cell, width in zip(row.cells, widths, strict=True):
                cell.width = self.Cm(width)
        self.doc.add_paragraph().paragraph_format.space_after = self.Pt(2)
        return table

    def _cell(
        self, cell: Any, text: str, *, size: float, bold: bool = False, font: str | None = None
    ) -> None:
        paragraph = cell.paragraphs[0]
        paragraph.paragraph_format.space_after = self.Pt(0)
        run = paragraph.add_run(text)
        run.font.size = self.Pt(size)
        if bold:
            run.bold = True
        if font:
            run.font.color.rgb = self.RGBColor.from_string(font)

    # -- the parts -------------------------------------------------------------------------------------------------

    def cover(self) -> None:
        f = self.facts
        self.doc.add_paragraph(plain(report_title(f)), style=self.style("Title"))
        whose = f"{self.department}: performance" if self.department else "Performance"
        self.para(f"{whose} for {f.period} (the period ending {f.period_end:%d/%m/%Y})", size=13)
        self.heading(SUMMARY_HEADING, 1)
        reporting = [d for d in f.summary["Department"] if d != "Council total"]
        lines = [
            f"Data as at {f.as_at:%d/%m/%Y}." if f.as_at else "Data as at: not given by departments.",
            f"Departments reporting: {len(reporting)}"
            + (f" of {len(reporting) + len(f.missing)}." if not self.department else "."),
            "Departments missing: " + (", ".join(f.missing) if f.missing else "none") + ".",
        ]
        if not self.department:
            lines.append(_late_line(f.submissions))
        for line in lines:
            self.para(line)
        objectives, actions = _total(f.objectives_summary), _total(f.summary)
        self.para(f"Total number of objectives = {objectives['Total']}; breakdown by RAGB status:", bold=True)
        self._ragb_line(objectives)
        self.para(
            f"Total number of actions and milestones = {actions['Total']}; breakdown by RAGB status:",
            bold=True,
        )
        self._ragb_line(actions)
        self.para(
            f"{percent(actions['% complete'])} complete (Blue); {percent(actions['% on track'])} complete or "
            "on track (Blue or Green)."
        )
        self.para(self._change_line())
        if "Completed in year" in f.actions:
            from .yearview import CARRIED_FORWARD, COMPLETED_IN_YEAR

            self.para(
                f"The year from {', '.join(f.trend_periods)}: {int(f.actions[COMPLETED_IN_YEAR].sum())} "
                f"actions and milestones completed in year; {int(f.actions[CARRIED_FORWARD].sum())} carried "
                "forward (not complete at the year end).",
                bold=True,
            )
        self._chart()
        if not self.department and f.councils is not None:  # the combined report: each council's totals first
            self.heading("By council", 2)
            header = ("Council", *SUMMARY_HEADER[1:])
            rows = [
                [r[c] if c not in ("% complete", "% on track") else percent(r[c]) for c in header]
                for r in f.councils.to_dict("records")
            ]
            self.table(header, rows, _SUMMARY_WIDTHS, size=8, bold_last=True)
        if not self.department:
            self.heading("By department", 2)
            rows = [
                [r[c] if c not in ("% complete", "% on track") else percent(r[c]) for c in SUMMARY_HEADER]
                for r in f.summary.to_dict("records")
            ]
            fills = [
                {1: "B", 2: "G", 3: "A", 4: "R"} if r["Department"] == "Council total" else {}
                for r in f.summary.to_dict("records")
            ]
            self.table(SUMMARY_HEADER, rows, _SUMMARY_WIDTHS, fills=fills, size=8, bold_last=True)
        self._kpi_counts()

    def _ragb_line(self, counts: dict[str, Any]) -> None:
        header = tuple(RAGB_COLUMNS) + ("Total",)
        self.table(
            header,
            [[counts[c] for c in header]],
            (2.5,) * len(header),
            fills=[{0: "B", 1: "G", 2: "A", 3: "R", 4: "-"}],
            size=9,
        )

    def _change_line(self) -> str:
        f, p = self.facts, self.previous
        if p is None or f.previous_period is None:
            return "Change from last period: no earlier period on record."
        now, before = _total(f.summary), _total(p.summary)
        points = (now["% complete"] - before["% complete"]) * 100
        track = (now["% on track"] - before["% on track"]) * 100
        worse = better = 0
        changes = f.changes[f.changes["Change"] == "status"] if not f.changes.empty else f.changes
        for r in changes.to_dict("records"):
            gap = _SEVERITY.get(letter(r["To"]), 0) - _SEVERITY.get(letter(r["From"]), 0)
            worse += gap > 0
            better += gap < 0
        return (
            f"Change from last period ({f.previous_period}): {points:+.0f} points complete "
            f"({percent(before['% complete'])} → {percent(now['% complete'])}), {track:+.0f} points on track; "
            f"{worse} items got worse and {better} improved; Red {before['Red']} → {now['Red']}."
        )

    def _chart(self) -> None:
        image = ragb_chart_png(
            self.facts.summary, f"Actions and milestones by RAGB status, {self.facts.period}"
        )
        if image is not None:
            self.doc.add_picture(io.BytesIO(image), width=self.Cm(16))

    def _kpi_counts(self) -> None:
        total = _total(self.facts.kpi_counts)
        if not total.get("Total"):
            return
        self.para(
            f"KPIs: {total['Total']} measures; {total['better']} better than target "
            f"({PERFORMANCE_SYMBOLS['better']}), {total['within']} within target "
            f"({PERFORMANCE_SYMBOLS['within']}), {total['worse']} worse than target "
            f"({PERFORMANCE_SYMBOLS['worse']}), {total['no data']} with no data"
            + "".join(
                f", {total[word]} {'not due this quarter' if word == NOT_DUE else 'data only (never rated)'}"
                for word in MODEL_SYMBOLS
                if total.get(word)
            )
            + "."
        )

    def exceptions(self) -> None:
        ex = self.facts.exceptions
        self.page_break()
        self.heading(EXCEPTIONS_HEADING, 1)
        if ex.empty:
            self.para("No exceptions this period: nothing is Red, overdue or repeatedly revised.")
            return
        self.para(
            f"{len(ex)} items are Red, overdue, without an update or revised repeatedly; the worst first "
            "within each department."
        )
        for dept in _ordered(ex["Department"]):
            rows, fills = [], []
            for r in ex[ex["Department"] == dept].to_dict("records"):
                due = r["Revised due date"] if plain(r["Revised due date"]) else r["Due date"]
                rows.append(
                    [
                        r["Ref"],
                        _with_lead(r["Action"], r["Lead officer"]),
                        due,
                        shown_letter(letter(r["Status"])),
                        reason_in_words(r["Reason"], due)
                        + (f" Since {r['Since']}." if plain(r.get("Since")) else ""),
                        _with_recovery(r),
                    ]
                )
                fills.append({3: letter(r["Status"])})
            if not self.department:
                self.heading(dept, 3)
            self.table(EXCEPTION_HEADER, rows, _EXCEPTION_WIDTHS, fills=fills)

    def department_section(self, dept: str) -> None:
        f = self.facts
        self.page_break()
        self.heading(dept, 1)
        row = f.summary[f.summary["Department"] == dept].iloc[0]
        self.para(
            f"{row['Total']} actions and milestones: {row['Blue']} Blue, {row['Green']} Green, "
            f"{row['Amber']} Amber, {row['Red']} Red, {row['Not rated']} not rated; "
            f"{percent(row['% complete'])} complete, {percent(row['% on track'])} on track."
        )
        objectives = (
            f.objectives[f.objectives["Department"] == dept] if not f.objectives.empty else f.objectives
        )
        actions = f.actions[f.actions["Department"] == dept] if not f.actions.empty else f.actions
        refs = {str(r) for r in objectives["Ref"]} if not objectives.empty else set()
        for o in objectives.to_dict("records"):
            self.heading(f"{plain(o['Ref'])} {plain(o['Objective'])}".strip(), 2)
            if plain(o.get("Theme")):
                self.para(f"Priority: {plain(o['Theme'])}", italic=True)
            status = letter(o["Status"])
            self.table(
                OBJECTIVE_HEADER,
                [[o["Delivered by"], o["Lead officer"], STATUS_NAMES[status]]],
                _OBJECTIVE_WIDTHS,
                fills=[{2: status}],
                size=9,
            )
            if plain(o["Commentary"]):
                self.para(plain(o["Commentary"]))
            own = actions[actions["Objective"].astype(str) == str(o["Ref"])] if not actions.empty else actions
            self.milestones(own)
        rest = actions[~actions["Objective"].astype(str).isin(refs)] if not actions.empty else actions
        if not rest.empty:
            # A plan without objectives (or actions naming none): grouped by its themes, as the plan has them.
            themes = (
                rest["Theme"].map(plain) if "Theme" in rest else pd.Series([""] * len(rest), index=rest.index)
            )
            for theme in dict.fromkeys(themes):
                self.heading(theme or OTHER_ACTIONS, 2)
                self.milestones(rest[themes == theme])
        self.kpis(dept)

    def milestones(self, actions: pd.DataFrame) -> None:
        if actions.empty:
            self.para("No milestones recorded.", italic=True)
            return
        quarters = self._quarters()
        rows, fills = [], []
        for r in actions.to_dict("records"):
            status = letter(r["Status"])
            update = "" if status == "B" else r["Progress update"]
            row = [
                r["Ref"],
                _with_lead(r["Action"], r["Lead officer"]),
                r["Due date"],
                r["Revised due date"],
                shown_letter(status),
                update,
            ]
            if quarters:  # the year view: the status at each quarter's end, oldest first
                row.insert(5, " ".join(shown_letter(letter(r[c])) if plain(r[c]) else "·" for c in quarters))
            rows.append(row)
            fills.append({4: status})
        if quarters:
            self.table(YEAR_MILESTONE_HEADER, rows, _YEAR_MILESTONE_WIDTHS, fills=fills)
        else:
            self.table(MILESTONE_HEADER, rows, _MILESTONE_WIDTHS, fills=fills)

    def _quarters(self) -> list[str]:
        from .yearview import status_column

        return [
            status_column(q)
            for q in self.facts.trend_periods
            if status_column(q) in self.facts.actions.columns
        ]

    def kpis(self, dept: str) -> None:
        k = self.facts.kpis
        own = k[k["Department"] == dept] if not k.empty else k
        self.heading(f"Key performance indicators — {dept}", 2)
        if own.empty:
            self.para("No KPIs reported.", italic=True)
            return
        rows = [
            [
                r["Ref"],
                r["Measure"],
                r["Polarity"],
                _kpi_value(r["Target"], r["Unit"]),
                _kpi_value(r["Actual"], r["Unit"]),
                {**PERFORMANCE_SYMBOLS, **MODEL_SYMBOLS}.get(plain(r["Performance"]), "–"),
                r.get("Direction"),
            ]
            for r in own.to_dict("records")
        ]
        quarters = [q for q in self.facts.trend_periods if q in own.columns]
        if quarters and self._quarters():  # the year view: the actual of each quarter, oldest first
            for row, r in zip(rows, own.to_dict("records"), strict=True):
                row.append(" → ".join(_kpi_value(r[q], r["Unit"]) or "·" for q in quarters))
            self.table(YEAR_KPI_HEADER, rows, _YEAR_KPI_WIDTHS)
        else:
            self.table(KPI_HEADER, rows, _KPI_WIDTHS)
        key = [*PERFORMANCE_KEY, *(MODEL_KEY[w] for w in MODEL_KEY if (own["Performance"] == w).any())]
        self.para("Key: " + "; ".join(f"{s} {w}" for s, w in key) + ".", size=8, italic=True)

    def how_to_read(self) -> None:
        self.page_break()
        self.heading(HOW_TO_READ_HEADING, 1)
        for term, words in self.facts.how_to_read:
            if not words:
                self.heading(term, 2)
                continue
            paragraph = self.doc.add_paragraph()
            paragraph.add_run(f"{term}: ").bold = True
            paragraph.add_run(_NOT_XML.sub("", words))
        self.heading("Performance symbols", 2)
        for symbol, words in (*PERFORMANCE_KEY, *MODEL_KEY.values()):
            self.para(f"{symbol}  {words}")
        self.heading("Colours", 2)
        for code in ("B", "G", "A", "R", "-"):
            self.para(f"{STATUS_NAMES[code]} ({shown_letter(code)}): {STATUS_MEANINGS[code]}.")


def _total(counts: pd.DataFrame) -> dict[str, Any]:
    """The last (council total) row of a count table, or zeros when the table is empty."""
    if counts.empty:
        return {c: 0 for c in counts.columns}
    return {str(k): v for k, v in counts.iloc[-1].items()}


def _ordered(names: pd.Series) -> list[str]:
    return sorted(dict.fromkeys(str(n) for n in names), key=str.casefold)


def _with_lead(text: Any, lead: Any) -> str:
    return f"{plain(text)}\nLead: {plain(lead)}" if plain(lead) else plain(text)


def _kpi_value(value: Any, unit: Any) -> str:
    text = plain(value)
    if text and plain(unit) == "%" and isinstance(value, (int, float)):
        return f"{text}%"
    return text


def _shade(cell: Any, fill: str) -> None:
    """Fill a table cell with a colour (python-docx has no API for it)."""
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    shading = OxmlElement("w:shd")
    shading.set(qn("w:val"), "clear")
    shading.set(qn("w:color"), "auto")
    shading.set(qn("w:fill"), fill)
    cell._tc.get_or_add_tcPr().append(shading)


def ragb_chart_png(summary: pd.DataFrame, title: str) -> bytes | None:
    """A stacked bar chart of actions by RAGB status per department (the Summary sheet's chart), as PNG bytes."""
    rows = summary[summary["Department"] != "Council total"] if not summary.empty else summary
    if rows.empty:
        return None
    import matplotlib

    matplotlib.use("Agg")  # no display: draw into memory
    from matplotlib.figure import Figure

    names = [str(n) for n in rows["Department"]][::-1]
    height = max(1.6, 0.38 * len(names) + 1.1)
    figure = Figure(figsize=(7.5, height), dpi=150)
    axes = figure.subplots()
    left = [0] * len(names)
    for column, code in zip(RAGB_COLUMNS, ("B", "G", "A", "R", "-"), strict=True):
        values = [int(v) for v in rows[column]][::-1]
        axes.barh(
            names,
            values,
            left=left,
            color="#" + RAGB_FILLS[code][0],
            label=column,
            edgecolor="white",
            linewidth=0.5,
        )
        left = [a + b for a, b in zip(left, values, strict=True)]
    axes.set_title(title, fontsize=9)
    axes.tick_params(labelsize=7)
    axes.spines[["top", "right"]].set_visible(False)
    axes.legend(
        fontsize=7,
        ncols=5,
        loc="upper center",
        bbox_to_anchor=(0.5, -0.12 if len(names) > 1 else -0.3),
        frameon=False,
    )
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def _late_line(submissions: Any) -> str:
    """Who was late against the period's deadline (the Submissions sheet's standing), or why nobody can be."""
    from .standing import LATE, ON_TIME

    if submissions is None or "Status" not in submissions:
        return "Departments late: no deadline is set for this period (actionplan deadline set)."
    standing = [str(v) for v in submissions["Status"]]
    if LATE not in standing and ON_TIME not in standing:
        return "Departments late: no deadline is set for this period (actionplan deadline set)."
    notes = submissions["Note"] if "Note" in submissions else [None] * len(standing)
    late = [
        f"{d} ({n})" if present(n) else str(d)
        for d, st, n in zip(submissions["Department"], standing, notes, strict=True)
        if st == LATE
    ]
    return "Departments late: " + (", ".join(late) if late else "none") + "."
