"""The rollup as a PDF, printed by LibreOffice headless (the rollup's own page setup decides the pages)."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from .errors import ActionplanError
from .files import write_built


class PdfUnavailable(ActionplanError):
    """LibreOffice is not installed, so no PDF can be printed (apt-get install libreoffice-calc)."""


def libreoffice() -> str | None:
    """The LibreOffice command on this machine, if any."""
    return shutil.which("soffice") or shutil.which("libreoffice")


def pdf_from_workbook(workbook: Path, out: Path | None = None, timeout: float = 300) -> Path:
    """Print workbook to a PDF beside it (or at out), replacing any earlier PDF atomically."""
    office = libreoffice()
    if office is None:
        raise PdfUnavailable(
            "PDF not written: LibreOffice is not installed on this machine "
            "(Debian/Ubuntu: apt-get install libreoffice-calc)."
        )
    out = out or workbook.with_suffix(".pdf")
    with tempfile.TemporaryDirectory(prefix="actionplan-pdf-") as scratch:
        # A private profile: a council's desktop LibreOffice being open must not block (or be touched by) this.
        profile = Path(scratch, "profile").as_uri()
        result = subprocess.run(
            [
                office,
                f"-env:UserInstallation={profile}",
                "--headless",
                "--norestore",
                "--convert-to",
                "pdf",
                "--outdir",
                scratch,
                str(workbook),
            ],
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        printed = Path(scratch, workbook.stem + ".pdf")
        if result.returncode != 0 or not printed.exists():
            raise ActionplanError(
                f"LibreOffice could not print {workbook.name}: "
                f"{(result.stderr or result.stdout).strip()[:300]}"
            )
        return write_built(out, lambda tmp: shutil.copyfile(printed, tmp))


def pdf_from_report(document: Path, out: Path | None = None, timeout: float = 300) -> Path:
    """Print a Word report to a PDF beside it (or at out), through LibreOffice Writer."""
    if libreoffice() is None:
        raise PdfUnavailable(
            "PDF not written: LibreOffice is not installed on this machine "
            "(Debian/Ubuntu: apt-get install libreoffice-writer)."
        )
    return pdf_from_workbook(document, out, timeout)
