"""Choosing the layout that fits a workbook, and the report of how a workbook is read (`actionplan layouts`)."""

import dataclasses
from typing import Any

from .layouts import FIELDS, Layout, TableSpec, layout_named, title_match
from .read import Book, Sheet, add_cell_styles, column_letter
from .tables import Header, Table, cell_present, find_headers, match_rows, status_from_fill, tables_from_book

# --- Choosing a layout --------------------------------------------------------------------------------


def layout_scores(book: Book, layouts: dict[str, Layout]) -> dict[str, tuple[int, int]]:
    """How well each layout's headers match the workbook: (score, headings only that layout knows)."""
    return {name: _score(book, layout) for name, layout in layouts.items()}


def _score(book: Book, layout: Layout) -> tuple[int, int]:
    total = own = 0
    above: dict[str, int] = {}
    for sheet in book.sheets:
        found, partial = find_headers(sheet, list(layout.tables), first_only=True)
        counted: set[int] = set()
        for h in found or sorted(partial, key=lambda p: -p.recognised)[:1]:
            if id(h.spec) in counted:
                continue  # the same table's header again (a page break): counted once
            counted.add(id(h.spec))
            above[sheet.name] = min(above.get(sheet.name, h.row), h.row)
            # A sheet called by the table's own name (the template's "Actions") is strong evidence.
            total += h.recognised + (_NAMED_SHEET if h.spec.names_sheet(sheet) else 0)
            own += h.own
            if layout.fills and h.complete:
                total += _colour_evidence(book, sheet, h)
    if total and title_match(book, layout, above):
        total += 2
    return total, own


_NAMED_SHEET = 3


def _colour_evidence(book: Book, sheet: Sheet, h: Header) -> int:
    """How strongly a table's Status column says "colour only": no text in it, and RAGB fills where readable.

    Fills are read (openpyxl) only here, when every status is blank: a plan with statuses typed in
    never pays for it.
    """
    col = h.columns.get("status")
    if col is None:
        return 0
    if any(cell_present(sheet.cell(r, col)) for r in range(h.first_data_row, len(sheet.rows))):
        return (
            0  # a status is typed somewhere: not a colour-only plan (and the usual case stops here at once)
        )
    rows = [
        r
        for r in range(h.first_data_row, len(sheet.rows))
        if sum(1 for v in sheet.rows[r] if cell_present(v)) >= 2
    ]
    if not rows or any(cell_present(sheet.cell(r, col)) for r in rows):
        return 0
    if not add_cell_styles(book):
        return 1  # values only: a blank Status column is all there is to go on
    filled = sum(1 for r in rows if status_from_fill(sheet.fill(r, col)))
    return _NAMED_SHEET + 2 if filled else 0


def choose_layout(book: Book, layouts: dict[str, Layout]) -> Layout:
    """The layout whose headers match the workbook best; canonical wins ties, other ties are reported."""
    scores = layout_scores(book, layouts)
    ranked = sorted(layouts, key=lambda n: (scores[n], n == "canonical", n), reverse=True)
    best = ranked[0]
    if scores[best][0] == 0:
        return layouts.get("canonical", layouts[best])
    tied = tuple(n for n in ranked[1:] if scores[n] == scores[best])
    if tied and best != "canonical":
        return dataclasses.replace(layouts[best], ambiguous_with=tied)
    return layouts[best]


def layout_report(book: Book, layouts: dict[str, Layout], forced: str | None = None) -> dict[str, Any]:
    """Which layout reads a workbook, how every layout scored, and every heading of each table: read as what, how well.

    When no table is found, the likeliest header row of each sheet is explained the same way, so the
    officer sees which headings were understood and which were not.
    """
    scores = layout_scores(book, layouts)
    chosen = layout_named(forced, layouts) if forced else choose_layout(book, layouts)
    tables, messages = tables_from_book(book, chosen)
    described = []
    for table in tables:
        sheet = next(s for s in book.sheets if s.name == table.sheet)
        header = sheet.rows[table.header_row - 1]
        described.append(
            {
                "sheet": table.sheet,
                "kind": table.kind,
                "header_row": table.header_row,
                "items": len(table.items),
                "header_rows": table.header_rows,
                "mapped": [
                    (
                        column_letter(c),
                        table.headings.get(c) or str(sheet.cell(table.header_row - 1, c) or ""),
                        FIELDS[table.kind][fid],
                    )
                    for fid, c in sorted(table.columns.items(), key=lambda kv: kv[1])
                ],
                "extra": [
                    (column_letter(c), name)
                    for c, name in sorted(table.extras.items())
                    if c not in table.unrecognised
                ],
                "unrecognised": [
                    (column_letter(c), name)
                    for c, name in sorted(table.unrecognised.items())
                    if c < max(len(header), *(k + 1 for k in table.headings), 0)
                ],
                "headings": _explained(table),
            }
        )
    unread = []
    if not tables:
        for sheet in book.sheets:
            best = _likeliest_header(sheet, chosen)
            if best is not None:
                h, spec = best
                unread.append(
                    {
                        "sheet": sheet.name,
                        "kind": spec.kind,
                        "header_row": h.row + 1,
                        "headings": _explained(
                            Table(
                                spec.kind,
                                sheet.name,
                                h.row + 1,
                                dict(h.columns),
                                {},
                                headings=h.headings,
                                readings=h.readings,
                                ignored=h.ignored,
                                periods=h.periods,
                            )
                        ),
                    }
                )
    return {
        "layout": chosen.name,
        "ambiguous_with": list(chosen.ambiguous_with),
        "scores": dict(sorted(scores.items(), key=lambda kv: kv[1], reverse=True)),
        "tables": described,
        "unread": unread,
        "messages": [str(m) for m in messages],
    }


def _explained(table: Table) -> list[dict[str, Any]]:
    """Every heading of a table: its column, the heading, what it was read as, and the score and how it matched."""
    fields = FIELDS[table.kind]
    out = []
    for c, heading in sorted(table.headings.items()):
        entry: dict[str, Any] = {"column": column_letter(c), "heading": heading, "score": None, "how": None}
        g = table.readings.get(c)
        if c in table.periods:
            what, n = table.periods[c]
            entry["read_as"] = (
                f"Actual for Q{n} (the Actual of a Q{n} return; kept with the others)"
                if what == "quarter"
                else f"Target for {n}/{(n + 1) % 100:02d} (the Target of that year's returns)"
            )
        elif g is not None:
            kind, _, name = g.target.partition(":")
            entry["read_as"] = (
                fields.get(g.target)
                or (
                    {
                        "split": "split into officer and date",
                        "rating": "a second rating",
                        "keep": "kept as an extra column",
                    }[kind]
                )
            )
            entry["score"], entry["how"] = g.score, g.how
            if g.how != "exact":
                entry["how"] = f"{g.how} '{g.known}'" if not g.certain else g.how
        elif c in table.ignored:
            lost, winner = table.ignored[c]
            entry["read_as"] = (
                f"ignored: {fields.get(lost.target, lost.target)} is read from column {column_letter(winner)}"
            )
            entry["score"], entry["how"] = lost.score, lost.how
        else:
            entry["read_as"] = "not recognised: kept as an extra column"
        out.append(entry)
    return out


def _likeliest_header(sheet: Sheet, layout: Layout) -> tuple[Header, TableSpec] | None:
    """The row (in the first-header zone) whose headings a layout's tables recognise most, with its table."""
    best: tuple[Header, TableSpec] | None = None
    for spec in layout.tables:
        if not spec.looks_in(sheet):
            continue
        for r in range(min(spec.header_search_rows, len(sheet.rows))):
            texts = [v for v in sheet.rows[r] if isinstance(v, str) and v.strip()]
            if len(texts) < 2:
                continue
            h = match_rows(sheet, r, spec, 1, True, least=0)
            if h is None:
                continue
            if best is None or h.recognised > best[0].recognised:
                best = (h, spec)
    return best
