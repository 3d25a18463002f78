"""Robustness sweep: check every .xlsx/.xlsm under a folder of real-world workbooks, each in its own process.

The workbooks are other projects' test files (spreadsheet libraries collect the odd files users
send them), fetched by `make corpus-fetch` into corpus/ (not committed). For each file the sweep
records how the check ended: accepted, rejected with a plain-English message (its code), a
traceback (a bug), or a hang (killed after --timeout seconds). It exits 1 if any file crashed or
hung, so `make corpus` fails on the first bug it finds.

    python bench/corpus.py corpus/ [--timeout 60] [--json results.json]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import sys
import traceback
from collections import Counter
from pathlib import Path


def _check(path: str, out: mp.Queue) -> None:
    try:
        from actionplan.check import check_workbook

        sub = check_workbook(
            Path(path).read_bytes(), Path(path).name, department="Corpus", period="2024/25 Q2"
        )
        first = sub.errors[0] if sub.errors else None
        out.put(
            {
                "outcome": "accepted" if sub.accepted else "rejected",
                "code": first.code if first else None,
                "message": str(first) if first else None,
                "layout": sub.layout,
                "items": sum(sub.counts().values()),
            }
        )
    except BaseException:  # noqa: BLE001 - the point is to catch whatever escapes
        out.put({"outcome": "crashed", "code": None, "message": traceback.format_exc(limit=5)})


def sweep(folder: Path, timeout: float) -> list[dict]:
    """Every workbook under folder checked in a fresh process: its outcome, first error code and message."""
    results = []
    ctx = mp.get_context("spawn")
    for path in sorted(
        p for p in folder.rglob("*") if p.suffix.lower() in (".xlsx", ".xlsm") and p.is_file()
    ):
        out: mp.Queue = ctx.Queue()
        proc = ctx.Process(target=_check, args=(str(path), out))
        proc.start()
        proc.join(timeout)
        if proc.is_alive():
            proc.kill()
            proc.join()
            result = {"outcome": "hung", "code": None, "message": f"no answer within {timeout:g} s"}
        else:
            result = (
                out.get()
                if not out.empty()
                else {"outcome": "crashed", "code": None, "message": f"exit code {proc.exitcode}"}
            )
        results.append({"file": str(path.relative_to(folder)), **result})
        print(f"{result['outcome']:<9} {result.get('code') or '':<22} {path.relative_to(folder)}", flush=True)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--timeout", type=float, default=60)
    parser.add_argument("--json", type=Path, help="write every file's outcome here")
    args = parser.parse_args(argv)
    if not args.folder.is_dir():
        print(f"{args.folder} is not a folder of workbooks. Run `make corpus-fetch` first.", file=sys.stderr)
        return 2
    results = sweep(args.folder, args.timeout)
    outcomes = Counter(r["outcome"] for r in results)
    codes = Counter(r["code"] for r in results if r["outcome"] == "rejected")
    print(f"\n{len(results)} workbooks: " + ", ".join(f"{n} {k}" for k, n in outcomes.most_common()))
    print("rejections by code: " + (", ".join(f"{c} {n}" for c, n in codes.most_common()) or "none"))
    for r in results:
        if r["outcome"] in ("crashed", "hung"):
            print(f"\n{r['outcome'].upper()}: {r['file']}\n{r['message']}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1), encoding="utf-8")
    return 1 if outcomes["crashed"] or outcomes["hung"] else 0


if __name__ == "__main__":
    sys.exit(main())
