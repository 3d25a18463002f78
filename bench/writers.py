"""The rollup's big list sheets through each writer: the same rows, the same seconds clock, side by side.

    python bench/writers.py [--rows 120000] [--out bench/writers.json]

One sheet like the rollup's Actions (18 columns of text, dates and numbers, a format per cell), written by:
- `xlsxwriter` in constant_memory mode, one `write_*` call per cell (the rollup before actionplan/xlsx_rows.py);
- `actionplan` (actionplan/xlsx_rows.py): xlsxwriter's workbook, the rows streamed as XML a column at a time;
- `pyexcelerate` and `rustpy-xlsxwriter` (bindings of rust_xlsxwriter), when installed: the same values, with the
  per-cell styles each can take (pyexcelerate: a style per cell; rustpy-xlsxwriter: one format per column, as its
  API has no per-cell format).
Neither of the last two is a dependency; install them in a scratch environment to compare
(`pip install pyexcelerate rustpy-xlsxwriter`).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import sys
import tempfile
import time
from pathlib import Path

COLUMNS = 18


def rows_of(n: int, seed: int = 18) -> list[list]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        out.append(
            [
                f"Department {rng.randrange(1, 51):02d}",
                f"O{rng.randrange(1, 40)}",
                f"{i + 1}",
                f"Deliver milestone {i + 1} of the housing programme with partners",
                rng.choice(["Patel, Anita", "R Khan", "Head of Service"]),
                45000.0 + rng.randrange(0, 720),  # a due date, as the serial the rollup writes
                rng.choice(["G", "A", "R", "B"]),
                f"Update {rng.randrange(10**6)}: on plan, next step agreed at board",
                rng.choice(["High", "Medium", "Low"]),
                *(f"text {rng.randrange(1000)}" for _ in range(COLUMNS - 9)),
            ]
        )
    return out


def with_xlsxwriter_cells(path: Path, rows: list[list]) -> None:
    import xlsxwriter

    wb = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    ws = wb.add_worksheet("Actions")
    text, date = wb.add_format({"valign": "top"}), wb.add_format({"num_format": "dd/mm/yyyy"})
    for r, row in enumerate(rows, start=1):
        for c, value in enumerate(row):
            if isinstance(value, str):
                ws.write_string(r, c, value, text)
            else:
                ws.write_number(r, c, value, date)
    wb.close()


def with_streamed_rows(path: Path, rows: list[list]) -> None:
    import xlsxwriter

    from actionplan.xlsx_rows import write_rows

    wb = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    ws = wb.add_worksheet("Actions")
    text, date = wb.add_format({"valign": "top"}), wb.add_format({"num_format": "dd/mm/yyyy"})
    columns = [list(col) for col in zip(*rows, strict=True)]
    formats = [[text if isinstance(v, str) else date for v in col] for col in columns]
    write_rows(ws, 1, columns, formats)
    wb.close()


def with_pyexcelerate(path: Path, rows: list[list]) -> None:
    from pyexcelerate import Format, Style, Workbook

    wb = Workbook()
    ws = wb.new_sheet("Actions", data=rows)
    date = Style(format=Format("dd/mm/yyyy"))
    ws.set_col_style(6, date)  # pyexcelerate columns are 1-based; a per-cell style costs as much again
    wb.save(str(path))


def with_rustpy_xlsxwriter(path: Path, rows: list[list]) -> None:
    import rustpy_xlsxwriter

    header = [f"c{i}" for i in range(COLUMNS)]
    records = [dict(zip(header, row, strict=True)) for row in rows]
    rustpy_xlsxwriter.write_worksheet(records, str(path), sheet_name="Actions")


WRITERS = {
    "xlsxwriter, a call per cell": with_xlsxwriter_cells,
    "actionplan streamed rows": with_streamed_rows,
    "pyexcelerate": with_pyexcelerate,
    "rustpy-xlsxwriter": with_rustpy_xlsxwriter,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=120_000)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    rows = rows_of(args.rows)
    results: dict[str, float | str] = {}
    with tempfile.TemporaryDirectory() as scratch:
        for name, write in WRITERS.items():
            try:
                start = time.perf_counter()
                write(Path(scratch) / "out.xlsx", rows)
                results[name] = round(time.perf_counter() - start, 2)
            except ImportError as exc:
                results[name] = f"not installed ({exc.name})"
    base = results["xlsxwriter, a call per cell"]
    print(f"{args.rows:,} rows x {COLUMNS} columns ({args.rows * COLUMNS:,} cells)")
    for name, took in results.items():
        ratio = f"{took / base:5.2f}x" if isinstance(took, float) and isinstance(base, float) else ""
        shown = f"{took:6.2f} s" if isinstance(took, float) else took
        print(f"  {name:<30} {shown}  {ratio}")
    if args.out:
        stamp = dt.datetime.now().isoformat(timespec="seconds")
        args.out.write_text(json.dumps({"rows": args.rows, "seconds": results, "measured": stamp}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
