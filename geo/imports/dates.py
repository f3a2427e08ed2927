"""Dates and times as third-party files write them, read per column and never guessed silently.

Accepted shapes: ISO 8601 (with or without a time and an offset), day-first and month-first
numbers (17/01/2024, 2/25/2016 0:00, 14.08.2020 00:00:00), month names (17 January 2024,
January 17, 2024, 17-Jan-2024), month and year (Sep-84, September 1984: the 1st of the month),
ISO weeks (2024-W03, 2024-W03-2: that week's Monday or the given weekday), compact YYYYMMDD
(20240117), and numbers of Unix seconds or milliseconds.

Day-first against month-first is decided for a whole column from its values: a first number
above 12 (13/01/2024) means day first, a second number above 12 (01/13/2024) month first.
When no value decides it the column is read day first (as ACLED and European spreadsheets
write dates) and a note says so; the caller may override with `dayfirst`. Two-digit years
are read by the POSIX pivot (00-68 -> 20xx, 69-99 -> 19xx), with a note.

Dates keep the calendar day written in the file: 2024-03-01T00:30:00+09:00 is 1 March, whatever
the offset. Timestamps (track positions) are instants: a time with an offset is converted to UTC,
a time without one is taken as UTC; every timestamp is naive UTC.

Every function here records a bad cell as `problems[row] = (column, message)` and carries on:
one bad cell never refuses a column.
"""
from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

PIVOT = 69  # two-digit years below this are 20xx, from it 19xx (as strptime's %y)

TIME = r"(?:[ T]+(\d{1,2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?\s*([AaPp]\.?[Mm]\.?)?)?"
OFFSET = r"\s*(Z|UTC|GMT|[+-]\d{2}(?::?\d{2})?)?"
NUMERIC = re.compile(r"^(\d{1,2})([/.\-])(\d{1,2})\2(\d{4}|\d{2})" + TIME + OFFSET + r"$")
YEAR_FIRST = re.compile(r"^(\d{4})([/.\-])(\d{1,2})\2(\d{1,2})" + TIME + OFFSET + r"$")
ISO_WEEK = re.compile(r"^(\d{4})-?W(\d{2})(?:-?([1-7]))?$", re.I)
MONTH_YEAR = re.compile(r"^([A-Za-z]{3,9})\.?[\s\-/']+(\d{4}|\d{2})$")
COMPACT = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
DAY_MONTH_YEAR = re.compile(r"^(\d{1,2})[\s\-/.]+([A-Za-z]{3,9})\.?[\s\-/.,]+(\d{4}|\d{2})$")  # 9-Apr-84
NUMBER = re.compile(r"^[+-]?\d+(?:\.\d+)?$")
LOCAL_TIME_OFFSET = re.compile(r"(\d{1,2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?)\s*(?:Z|UTC|GMT|[+-]\d{2}(?::?\d{2})?)$")
ISO_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})(?:[T ].*)?$")
MONTHS = {m.lower(): i for i, m in enumerate(
    ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), start=1)}
MONTHS.update({"sept": 9})
TEXT_FORMATS = ("%d %B %Y", "%d %b %Y", "%B %d, %Y", "%b %d, %Y", "%B %d %Y", "%b %d %Y", "%d-%b-%Y", "%d-%B-%Y",
                "%d %b. %Y", "%A, %d %B %Y", "%A %d %B %Y", "%a, %d %b %Y", "%d %B %Y %H:%M", "%d %b %Y %H:%M:%S")
SHAPES = "ISO YYYY-MM-DD, day or month first like 17/01/2024, 17 January 2024, Sep-84 or 2024-W03"


class Flags:
    """What reading the values of one column involved, for the notes."""

    def __init__(self):
        self.two_digit: str | None = None
        self.month_only: str | None = None
        self.week: str | None = None


def two_digit_year(yy: int) -> int:
    return 2000 + yy if yy < PIVOT else 1900 + yy


def month_number(name: str) -> int | None:
    name = name.lower()
    return MONTHS.get(name[:4]) or MONTHS.get(name[:3]) if len(name) >= 3 else None


def clock(match, first: int) -> tuple[int, int, int, int]:
    """Hour, minute, second and microsecond from the TIME groups starting at `first`."""
    hour, minute, second, fraction, ampm = match.group(first, first + 1, first + 2, first + 3, first + 4)
    if hour is None:
        return 0, 0, 0, 0
    h, m, s = int(hour), int(minute), int(second or 0)
    if ampm:
        if not 1 <= h <= 12:
            raise ValueError("hour")
        h = h % 12 + (12 if ampm.lower().startswith("p") else 0)
    micro = int((fraction or "0")[:6].ljust(6, "0"))
    return h, m, s, micro


def offset_of(text: str | None) -> timedelta:
    if not text or text.upper() in ("Z", "UTC", "GMT"):
        return timedelta(0)
    sign = -1 if text[0] == "-" else 1
    digits = text[1:].replace(":", "")
    return sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:4] or 0))


def parse_one(text: str, dayfirst: bool = True, flags: Flags | None = None) -> datetime:
    """One value as a naive UTC datetime; ValueError (with the user's message) otherwise."""
    flags = flags or Flags()
    value = text.strip()
    if not value:
        raise ValueError("empty value")
    try:
        match = YEAR_FIRST.match(value)
        if match:
            y, mo, d = int(match.group(1)), int(match.group(3)), int(match.group(4))
            out = datetime(y, mo, d, *clock(match, 5))
            return out - offset_of(match.group(10))
        match = NUMERIC.match(value)
        if match:
            a, b, y = int(match.group(1)), int(match.group(3)), match.group(4)
            year = int(y)
            if len(y) == 2:
                year = two_digit_year(year)
                flags.two_digit = flags.two_digit or value
            d, mo = (a, b) if dayfirst else (b, a)
            out = datetime(year, mo, d, *clock(match, 5))
            return out - offset_of(match.group(10))
        match = ISO_WEEK.match(value)
        if match:
            flags.week = flags.week or value
            return datetime.combine(date.fromisocalendar(int(match.group(1)), int(match.group(2)),
                                                         int(match.group(3) or 1)), datetime.min.time())
        match = MONTH_YEAR.match(value)
        if match and month_number(match.group(1)):
            year = int(match.group(2))
            if len(match.group(2)) == 2:
                year = two_digit_year(year)
                flags.two_digit = flags.two_digit or value
            flags.month_only = flags.month_only or value
            return datetime(year, month_number(match.group(1)), 1)
        match = COMPACT.match(value)
        if match:
            return datetime(*map(int, match.groups()))
        match = DAY_MONTH_YEAR.match(value)
        if match and month_number(match.group(2)):
            year = int(match.group(3))
            if len(match.group(3)) == 2:
                year = two_digit_year(year)
                flags.two_digit = flags.two_digit or value
            return datetime(year, month_number(match.group(2)), int(match.group(1)))
    except ValueError:
        raise ValueError(f"{value!r} is not a real date") from None
    for fmt in TEXT_FORMATS:
        try:
            return datetime.strptime(value, fmt)
        except ValueError:
            continue
    try:  # anything else ISO 8601 allows (2024-01-17T10:00:00.5+02:00, 2024-017)
        stamp = pd.Timestamp(value)
    except (ValueError, OverflowError):
        stamp = None
    if stamp is not None and ISO_DATE.match(value) and not pd.isna(stamp):
        if stamp.tzinfo is not None:
            stamp = stamp.tz_convert("UTC").tz_localize(None)
        return stamp.to_pydatetime()
    raise ValueError(f"{value!r} is not a date ({SHAPES})")


def parse_date(value, dayfirst: bool = True) -> date:
    """One cell as a date (ISO, day first by default, or any shape parse_one reads)."""
    if isinstance(value, (pd.Timestamp, datetime)):
        if pd.isna(value):
            raise ValueError("empty value")
        return value.date()
    if isinstance(value, date):
        return value
    text = "" if value is None or (isinstance(value, float) and np.isnan(value)) else str(value)
    return parse_one(text, dayfirst).date()


def decide_order(texts, column: str) -> tuple[bool, str | None, bool]:
    """(dayfirst, note, decided) for a column's numeric dates: 13/.. means day first, ../13
    month first; when nothing decides, day first with a note saying the column is ambiguous."""
    day_example = month_example = None
    seen = False
    for value in texts:
        match = NUMERIC.match(value)
        if not match:
            continue
        seen = True
        a, b = int(match.group(1)), int(match.group(3))
        if a > 12 and day_example is None:
            day_example = value
        elif b > 12 and month_example is None:
            month_example = value
        if day_example and month_example:
            break
    if not seen:
        return True, None, False
    if day_example and month_example:
        return True, (f"column {column}: dates such as {day_example!r} are day first but {month_example!r} is "
                      "month first; read day first, rows that do not fit are skipped"), True
    if month_example:
        return False, f"column {column}: dates read month first (MM/DD), as {month_example!r} shows", True
    if day_example:
        return True, f"column {column}: dates read day first (DD/MM), as {day_example!r} shows", True
    return True, (f"column {column}: ambiguous dates (every value, such as {next(iter_numeric(texts))!r}, "
                  "fits both day first and month first); read day first, choose month first to override"), False


def iter_numeric(texts):
    return (v for v in texts if NUMERIC.match(v))


def vector_format(sample: str, dayfirst: bool) -> str | None:
    """A strptime format for pandas' vectorised parser matching `sample`, when it has one."""
    year_first = re.match(r"^\d{4}([/.])\d{1,2}\1\d{1,2}$", sample)
    if year_first:  # 2024.01.17, 2024/01/17
        return f"%Y{year_first.group(1)}%m{year_first.group(1)}%d"
    match = NUMERIC.match(sample)
    if not match or len(match.group(4)) != 4 or match.group(8) or match.group(9) or match.group(10):
        return None
    sep = match.group(2)
    fmt = sep.join(("%d", "%m", "%Y") if dayfirst else ("%m", "%d", "%Y"))
    if match.group(5) is not None:
        fmt += (" " if " " in sample else "T") + "%H:%M" + (":%S" if match.group(7) is not None else "")
    return fmt


def epoch_note(column: str, unit: str, example) -> str:
    name = "milliseconds" if unit == "ms" else "seconds"
    return f"column {column}: numbers read as Unix time in {name} ({example} -> " \
           f"{pd.Timestamp(float(example), unit=unit):%Y-%m-%d %H:%M})"


def parse_column(values: pd.Series, rows, column: str, problems: dict, notes: list, dayfirst: bool | None = None,
                 what: str = "date") -> tuple[pd.Series, dict]:
    """A column as naive-UTC datetime64[ms]; a bad or empty cell records a problem and leaves NaT.
    Returns the values and what was chosen ({"order": "day first"|..., "shape": ...})."""
    index = values.index
    chosen: dict = {"column": column}
    if pd.api.types.is_datetime64_any_dtype(values):
        if what == "date" and getattr(values.dt, "tz", None) is not None:  # the file's own calendar day
            out = values.dt.tz_localize(None)
        else:
            out = pd.to_datetime(values, utc=True).dt.tz_convert("UTC").dt.tz_localize(None)
        chosen["shape"] = "datetime"
        return finish(out, values, rows, column, problems, what), chosen
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        text = pd.Series(values.map(lambda v: "" if pd.isna(v) else (f"{v:.0f}" if float(v).is_integer() else
                                                                    repr(float(v)))), index=index, dtype=object)
    else:
        text = pd.Series(values.astype("string").fillna("").str.strip().to_numpy(dtype=object), index=index)
    if what == "date":  # a calendar day as written: an offset after a time does not move it
        text = text.str.replace(LOCAL_TIME_OFFSET, r"\1", regex=True)
    present = text != ""
    uniques = pd.unique(text[present].to_numpy(dtype=object))
    numeric = len(uniques) and all(NUMBER.match(v) for v in uniques[:1000]) and \
        bool(pd.Series(uniques).str.fullmatch(NUMBER.pattern).all())
    out = pd.Series(pd.NaT, index=index, dtype="datetime64[ms]")
    if numeric:
        compact = pd.to_datetime(text[present], format="%Y%m%d", errors="coerce")
        years = pd.to_numeric(text[present], errors="coerce")
        if text[present].str.fullmatch(r"\d{4}").all() and years.between(1000, 2200).all():
            out[present] = pd.to_datetime(years.astype(int).astype(str), format="%Y")
            chosen["shape"] = "year"
            notes.append(f"column {column}: years such as {uniques[0]} read as 1 January of that year")
        elif compact.notna().all() and compact.dt.year.between(1800, 2200).all():
            out[present] = compact
            chosen["shape"] = "YYYYMMDD"
            notes.append(f"column {column}: numbers such as {uniques[0]} read as dates (YYYYMMDD)")
        else:
            number = pd.to_numeric(text[present], errors="coerce")
            unit = "ms" if number.abs().max() > 1e11 else "s"
            out[present] = pd.to_datetime(number, unit=unit, errors="coerce")
            chosen["shape"] = f"Unix {'milliseconds' if unit == 'ms' else 'seconds'}"
            notes.append(epoch_note(column, unit, uniques[0]))
        return finish(out, text, rows, column, problems, what), chosen
    if dayfirst is None:
        dayfirst, note, _ = decide_order(uniques, column)
        if note:
            notes.append(note)
    else:
        if any(NUMERIC.match(v) for v in uniques):
            notes.append(f"column {column}: dates read {'day' if dayfirst else 'month'} first, as asked")
    if any(NUMERIC.match(v) for v in uniques):
        chosen["order"] = "day first" if dayfirst else "month first"
    todo = present.copy()
    iso = pd.to_datetime(text[todo].where(text[todo].str.match(r"^\d{4}-\d{2}-\d{2}")), format="ISO8601",
                         utc=True, errors="coerce") if todo.any() else None
    if iso is not None and iso.notna().any():
        out[iso.index[iso.notna()]] = iso[iso.notna()].dt.tz_localize(None).astype("datetime64[ms]")
        todo &= out.isna()
        chosen.setdefault("shape", "ISO 8601")
    if todo.any():
        first = text[todo].iat[0]
        fmt = vector_format(first, dayfirst)
        if fmt:
            fast = pd.to_datetime(text[todo], format=fmt, errors="coerce")
            out[fast.index[fast.notna()]] = fast[fast.notna()].astype("datetime64[ms]")
            todo &= out.isna()
            chosen.setdefault("shape", fmt)
    if todo.any():
        flags, cache = Flags(), {}
        for value in pd.unique(text[todo].to_numpy(dtype=object)):
            try:
                cache[value] = parse_one(value, dayfirst, flags)
            except ValueError as err:
                message = str(err)
                if NUMERIC.match(value) and "real date" in message:
                    message = f"{value!r} is not a {'day' if dayfirst else 'month'}-first date " \
                              f"(column {column} is read {'day' if dayfirst else 'month'} first)"
                cache[value] = ValueError(message)
        parsed = text[todo].map(cache)
        good = parsed.map(lambda v: not isinstance(v, ValueError))
        if good.any():
            out[parsed.index[good]] = pd.to_datetime(parsed[good].tolist()).astype("datetime64[ms]")
        bad = parsed[~good]
        positions = index.get_indexer(bad.index)
        for pos, err in zip(positions, bad):
            problems.setdefault(int(rows[pos]), (column, str(err)))
        chosen.setdefault("shape", "mixed")
        if flags.two_digit:
            notes.append(f"column {column}: two-digit years read with the pivot {PIVOT} (00-{PIVOT - 1} -> 20xx, "
                         f"{PIVOT}-99 -> 19xx), e.g. {flags.two_digit!r}")
        if flags.month_only:
            notes.append(f"column {column}: month-only dates such as {flags.month_only!r} read as the 1st of the month")
        if flags.week:
            notes.append(f"column {column}: ISO weeks such as {flags.week!r} read as that week's Monday "
                         "(or the weekday given)")
    return finish(out, text, rows, column, problems, what), chosen


def finish(out: pd.Series, text: pd.Series, rows, column: str, problems: dict, what: str) -> pd.Series:
    """Record every cell still without a value (empty or unreadable) as a problem."""
    out = out.astype("datetime64[ms]")
    for pos in np.flatnonzero(out.isna().to_numpy()):
        row = int(rows[pos])
        if row in problems and problems[row][0] == column:
            continue
        raw = text.iat[pos]
        blank = raw is None or (isinstance(raw, float) and np.isnan(raw)) or not str(raw).strip() or \
            raw is pd.NaT or raw is pd.NA
        problems.setdefault(row, (column, "empty value" if blank else f"{raw!r} is not a {what}"))
    return out


def parse_dates(values: pd.Series, rows, column: str, problems: dict, notes: list | None = None,
                dayfirst: bool | None = None, chosen: dict | None = None) -> pd.Series:
    """Dates (midnight) as datetime64[s]; `chosen`, if given, is updated with how they were read."""
    out, how = parse_column(values, rows, column, problems, notes if notes is not None else [], dayfirst, "date")
    if chosen is not None:
        chosen.update(how)
    return out.dt.floor("D").astype("datetime64[s]")


def describe(chosen: dict) -> str | None:
    """'day first', 'month first', 'ISO 8601', 'YYYYMMDD', 'Unix seconds', ... for a preview."""
    shape = chosen.get("shape")
    if shape and shape.startswith("%Y") and "%H" not in shape:  # %Y.%m.%d -> YYYY.MM.DD
        shape = shape.replace("%Y", "YYYY").replace("%m", "MM").replace("%d", "DD")
    return chosen.get("order") or shape


def parse_times(values: pd.Series, rows, column: str, problems: dict, notes: list | None = None,
                dayfirst: bool | None = None) -> pd.Series:
    """Timestamps as naive UTC datetime64[ms]."""
    out, _ = parse_column(values, rows, column, problems, notes if notes is not None else [], dayfirst, "timestamp")
    return out


def date_from_name(filename: str) -> date | None:
    """deepstate_2024-08-20.geojson or front_20240820.kml -> that date."""
    for match in re.finditer(r"(?<!\d)(\d{4})[-_.]?(\d{2})[-_.]?(\d{2})(?!\d)", Path(filename).stem):
        try:
            found = date(*map(int, match.groups()))
        except ValueError:
            continue
        if 1900 <= found.year <= 2100:
            return found
    return None


def looks_like_dates(values: pd.Series, sample: int = 200) -> bool:
    """Whether most of a column's first non-empty values read as dates (for finding a date column)."""
    text = values.astype("string").fillna("").str.strip()
    text = text[text != ""].head(sample)
    if not len(text) or text.str.fullmatch(NUMBER.pattern).all():
        return False
    ok = 0
    for value in text:
        try:
            parse_one(value)
            ok += 1
        except ValueError:
            pass
    return ok >= 0.9 * len(text)


__all__ = ["parse_one", "parse_date", "parse_dates", "parse_times", "parse_column", "decide_order", "date_from_name",
           "looks_like_dates", "PIVOT"]
