"""Macro parts of a workbook, found wherever they are stored, and a copy of the workbook without them.

Excel stores VBA at xl/vbaProject.bin, but a package may put it at any path (xl/media/vbaProject.bin, a name in
any case) as long as a relationship of the vbaProject type, or the content types list, says what it is: so a part
is a macro part when its relationship type, its content type, or its name says so.
"""

from __future__ import annotations

import io
import posixpath
import re
import zipfile

_MACRO_TYPES = (
    "vbaproject",
    "vbaprojectsignature",
    "vbaprojectsignatureagile",
    "vbaprojectsignaturev3",
    "macrosheet",
    "intlmacrosheet",
    "vbadata",
)
_CONTENT_TYPE = re.compile(rb"<(Override|Default)\b[^>]*?/>", re.S)
_ATTR = re.compile(rb'(\w+)="([^"]*)"')
_RELATIONSHIP = re.compile(rb"<Relationship\b[^>]*?/>", re.S)


def _is_macro_type(value: str) -> bool:
    """Whether a relationship type or content type URI names a VBA project, its signature or an XLM macro sheet."""
    last = value.rstrip("/").rsplit("/", 1)[-1].casefold()
    last = last.removeprefix("vnd.ms-office.").removeprefix("vnd.ms-excel.").removesuffix("+xml")
    return last in _MACRO_TYPES


def _attrs(tag: bytes) -> dict[str, str]:
    return {k.decode(): v.decode("utf-8", "replace") for k, v in _ATTR.findall(tag)}


def _rels_source_dir(rels_part: str) -> str:
    """The folder a .rels part's relative targets start from (xl/_rels/workbook.xml.rels → xl)."""
    return posixpath.dirname(posixpath.dirname(rels_part))


def _target_part(rels_part: str, target: str) -> str:
    if target.startswith("/"):
        return target.lstrip("/")
    return posixpath.normpath(posixpath.join(_rels_source_dir(rels_part), target))


def macro_parts(zf: zipfile.ZipFile) -> set[str]:
    """The parts of an open package that hold macros (VBA projects, their signatures, Excel 4 macro sheets)."""
    names = zf.namelist()
    found = {n for n in names if posixpath.basename(n).casefold().startswith("vbaproject")}
    by_lower = {n.casefold(): n for n in names}
    if "[Content_Types].xml" in names:
        types = zf.read("[Content_Types].xml")
        for kind, tag in ((m.group(1), m.group(0)) for m in _CONTENT_TYPE.finditer(types)):
            a = _attrs(tag)
            if not _is_macro_type(a.get("ContentType", "")):
                continue
            if kind == b"Override" and a.get("PartName"):
                part = by_lower.get(a["PartName"].lstrip("/").casefold())
                if part:
                    found.add(part)
            elif kind == b"Default" and a.get("Extension"):
                ext = "." + a["Extension"].casefold()
                found |= {n for n in names if n.casefold().endswith(ext)}
    for rels in (n for n in names if n.endswith(".rels")):
        for tag in _RELATIONSHIP.findall(zf.read(rels)):
            a = _attrs(tag)
            if _is_macro_type(a.get("Type", "")) and a.get("TargetMode") != "External" and a.get("Target"):
                part = by_lower.get(_target_part(rels, a["Target"]).casefold())
                if part:
                    found.add(part)
    return found


def without_macros(data: bytes) -> bytes:
    """The workbook's bytes with every macro part removed, with the relationships and content types naming them;
    the same bytes when it has none (or is not a readable package)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            macros = macro_parts(zf)
            if not macros:
                return data
            lowered = {m.casefold() for m in macros}
            out = io.BytesIO()
            with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
                for info in zf.infolist():
                    if info.filename in macros:
                        continue
                    body = zf.read(info.filename)
                    if info.filename == "[Content_Types].xml":
                        body = _CONTENT_TYPE.sub(lambda m: _keep_content_type(m, lowered), body)
                    elif info.filename.endswith(".rels"):
                        body = _RELATIONSHIP.sub(
                            lambda m, rels=info.filename: _keep_relationship(m, rels, lowered), body
                        )
                    dst.writestr(info, body, compress_type=zipfile.ZIP_DEFLATED)
            return out.getvalue()
    except (zipfile.BadZipFile, OSError, ValueError, KeyError, RuntimeError, NotImplementedError, EOFError):
        return (
            data  # only a file the reader accepted is archived; one it refused is kept as it came, unopened
        )


def _keep_content_type(m: re.Match, macros: set[str]) -> bytes:
    a = _attrs(m.group(0))
    if m.group(1) == b"Override" and a.get("PartName", "").lstrip("/").casefold() in macros:
        return b""
    return m.group(0)


def _keep_relationship(m: re.Match, rels: str, macros: set[str]) -> bytes:
    a = _attrs(m.group(0))
    if _is_macro_type(a.get("Type", "")) or _target_part(rels, a.get("Target", "")).casefold() in macros:
        return b""
    return m.group(0)


__all__ = ["macro_parts", "without_macros"]
