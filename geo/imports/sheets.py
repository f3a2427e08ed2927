"""Spreadsheets (Excel .xlsx, and .xls) read as tables: every sheet listed, the first sheet that
holds a table chosen unless another is asked for, and the header row found below any title
rows. Cells become text as a CSV's would (dates as YYYY-MM-DD, whole numbers without `.0`), so
coordinates, dates and kinds are found by the same code as for a CSV; rows are numbered as the
spreadsheet shows them.

.xlsx is read with openpyxl (read-only, cached values of formulas); an .xls (Excel 97-2003) is
refused with the way out: save it as .xlsx or CSV.
"""
from __future__ import annotations

import datetime as dt
import io
import zipfile
from dataclasses import dataclass, field

from geo.imports.filecheck import ImportProblem, Limits, first_line

HEAD_ROWS = 50  # rows looked at to find the header
OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def is_xlsx(raw: bytes) -> bool:
    """A zip that is an Office Open XML workbook."""
    if raw[:4] != b"PK\x03\x04":
        return False
    try:
        names = zipfile.ZipFile(io.BytesIO(raw)).namelist()
    except (zipfile.BadZipFile, ValueError, EOFError):
        return False
    return "xl/workbook.xml" in names


@dataclass
class Sheet:
    name: str
    rows: list  # (row number, tuple of cells) for the rows read
    header: int | None = None  # index into rows of the header
    titles: int = 0  # non-empty rows above the header
    notes: list = field(default_factory=list)
    complete: bool = True  # every row was read (only the first HEAD_ROWS of sheets not chosen are)

    @property
    def has_table(self) -> bool:
        return self.header is not None and any(any(c not in (None, "") for c in cells)
                                               for _, cells in self.rows[self.header + 1:])

    def describe(self) -> str:
        if not self.has_table:
            return f"{self.name} (no table)"
        count = sum(1 for _, cells in self.rows[self.header + 1:] if any(c not in (None, "") for c in cells))
        more = "" if self.complete else "+"
        return f"{self.name} ({count:,}{more} row{'s' if count != 1 or more else ''})"


def filled(cells) -> int:
    return sum(1 for c in cells if c is not None and str(c).strip() != "")


def find_header(rows) -> tuple[int | None, int]:
    """(index of the header row, title rows above it): the first row with at least two cells
    and at least half as many as the widest of the first rows."""
    head = rows[:HEAD_ROWS]
    widest = max((filled(cells) for _, cells in head), default=0)
    if widest < 2:  # a column of notes is no table
        return None, 0
    titles = 0
    for i, (_, cells) in enumerate(head):
        n = filled(cells)
        if n >= 2 and n * 2 >= widest:
            return i, titles
        if n:
            titles += 1
    return None, 0


def cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d") if value.time() == dt.time(0) else value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dt.time):
        return value.isoformat()
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    return str(value).strip()


def open_sheets(raw: bytes, filename: str, limits: Limits, fmt: str) -> list:
    """[(name, iterator of row tuples)] for every sheet."""
    if fmt == "xls":  # no maintained reader is pinned here for the old binary format
        raise ImportProblem(filename, "an Excel 97-2003 workbook (.xls) is not read: open it in Excel or "
                                      "LibreOffice, save it as .xlsx (or CSV) and import that")
    import openpyxl
    from openpyxl.utils.exceptions import InvalidFileException
    try:
        book = openpyxl.load_workbook(io.BytesIO(raw), read_only=True, data_only=True)
        return [(ws.title, ws.iter_rows(values_only=True)) for ws in book.worksheets]
    except (InvalidFileException, zipfile.BadZipFile, KeyError, ValueError, OSError) as err:
        raise ImportProblem(filename, f"unreadable Excel workbook: {first_line(err)}") from None


def read_sheets(raw: bytes, filename: str, limits: Limits, fmt: str, wanted: str | None):
    """(chosen Sheet with all its rows, every sheet's description, names of all sheets)."""
    sheets = []
    chosen = None
    for name, rows in open_sheets(raw, filename, limits, fmt):
        want_all = (wanted is not None and name == wanted) or (wanted is None and chosen is None)
        taken, complete = [], True
        for number, cells in enumerate(rows, start=1):
            if not want_all and number > HEAD_ROWS:
                complete = False
                break
            taken.append((number, tuple(cells)))
            if len(taken) > limits.max_features + HEAD_ROWS:
                raise ImportProblem(filename, f"sheet {name!r} has too many rows (limit {limits.max_features:,})")
        sheet = Sheet(name, taken, complete=complete)
        sheet.header, sheet.titles = find_header(taken)
        sheets.append(sheet)
        if chosen is None and ((wanted is None and sheet.has_table) or (wanted is not None and name == wanted)):
            chosen = sheet
    names = [s.name for s in sheets]
    if wanted is not None and chosen is None:
        raise ImportProblem(filename, f"no sheet {wanted!r}; the workbook's sheets are {', '.join(names)}")
    if chosen is None or not chosen.has_table:
        which = f"sheet {chosen.name!r} holds" if chosen is not None else "no sheet holds"
        raise ImportProblem(filename, f"{which} no table (a header row and rows below it); sheets: "
                                      f"{', '.join(s.describe() for s in sheets)}")
    return chosen, [s.describe() for s in sheets], names


def load_sheet(raw: bytes, filename: str, limits: Limits, fmt: str, wanted: str | None):
    """(header, records, row numbers, notes, details) of the chosen sheet's table."""
    sheet, described, names = read_sheets(raw, filename, limits, fmt, wanted)
    header_number, header_cells = sheet.rows[sheet.header]
    last = max((i for i, c in enumerate(header_cells) if c is not None and str(c).strip()), default=-1)
    width = last + 1
    for number, cells in sheet.rows[sheet.header + 1:]:  # data may run wider than the header
        width = max(width, max((i + 1 for i, c in enumerate(cells) if c not in (None, "")), default=0))
    header, seen = [], {}
    for i in range(width):
        name = cell_text(header_cells[i]) if i < len(header_cells) else ""
        name = name or f"column_{i + 1}"
        if name in seen:
            seen[name] += 1
            name = f"{name}_{seen[name]}"
        else:
            seen[name] = 1
        header.append(name)
    records, rows = [], []
    for number, cells in sheet.rows[sheet.header + 1:]:
        texts = [cell_text(c) for c in cells[:width]]
        if not any(texts):
            continue
        records.append(texts + [""] * (width - len(texts)))
        rows.append(number)
    others = [n for n in names if n != sheet.name]
    notes = [f"sheet {sheet.name!r} of {len(names)}: {', '.join(described)}"
             + ("; to read another, choose it under 'Sheet' on the page, or --sheet NAME on the command line"
                if others else "")]
    if sheet.titles or header_number > 1:
        notes.append(f"header on row {header_number}, below {sheet.titles} title row{'s' if sheet.titles != 1 else ''}")
    details = {"sheet": sheet.name, "sheets": names, "header_row": header_number}
    return header, records, rows, notes, details
