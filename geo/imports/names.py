"""Column names in the languages of this subject (English, Russian, Ukrainian, Korean): which
column holds a date, and the words for latitude and longitude (geo.imports.coords uses them).

A name is split into words in any script (`Дата події` -> дата, події; `관측 날짜` -> 관측, 날짜),
and a column is a date column when one of its words is a date word. When no name says so, a
text column whose first values are mostly dates is taken (geo.imports.dates.looks_like_dates), after a
cheap look at its first cells, so a file of many columns costs time in proportion.
"""
from __future__ import annotations

import functools
import re

from geo.imports import dates

DATE_WORDS = {
    # English
    "date", "when", "dated",
    # Russian, Ukrainian
    "дата", "дату", "датой", "день", "число",
    # Korean: date, day, date and time, year-month-day
    "날짜", "일자", "일시", "날자", "연월일", "년월일", "발생일",
}
TIME_WORDS = {"time", "timestamp", "datetime", "время", "час", "시간", "시각", "일시"}
LAT_WORDS = {"широта", "ширина", "шир", "위도"}
LON_WORDS = {"долгота", "довгота", "долг", "дов", "경도"}
NAME_WORDS = {"название", "наименование", "имя", "назва", "найменування", "ім'я", "이름", "명칭", "지명", "시설명"}
DATEISH = re.compile(r"\d{1,4}\s*[-./년]\s*(\d{1,2}|[^\W\d_]{3,9})|[^\W\d_]{3,9}\.?\s*\d{1,2}|^\d{8}$")


def norm(name) -> str:
    return re.sub(r"[\W_]+", "_", str(name).strip().lower()).strip("_")  # any script: Дата -> дата


def find_column(columns, names) -> str | None:
    by_norm = {}
    for c in columns:
        by_norm.setdefault(norm(c), c)
    return next((by_norm[n] for n in names if n in by_norm), None)


BRACKETS, CAMEL, SEPARATORS = re.compile(r"\(.*?\)|\[.*?\]"), re.compile(r"([a-z])([A-Z])"), re.compile(r"[\W_]+")


@functools.lru_cache(maxsize=65536)
def words(name) -> tuple[str, ...]:
    """'Дата події' -> (дата, події); '발생 일자' -> (발생, 일자); 'event_date' -> (event, date)."""
    text = CAMEL.sub(r"\1 \2", BRACKETS.sub(" ", str(name)))
    return tuple(w for w in SEPARATORS.split(text.lower()) if w)


def is_date_name(name) -> bool:
    found = words(name)
    return any(w in DATE_WORDS or w in TIME_WORDS for w in found) or \
        any(w.endswith(("날짜", "일자", "일시")) for w in found)


def date_column_by_name(columns, exclude=()) -> str | None:
    """The first column whose name has a date word in any of the languages here."""
    return next((c for c in columns if c not in exclude and is_date_name(c)), None)


def date_column_by_values(frame, exclude=()) -> str | None:
    """The first text column whose first values are mostly dates."""
    head = frame.head(200)
    cells = head.to_numpy(dtype=object)
    for j, column in enumerate(head.columns):
        if column in exclude or column == "geometry":
            continue
        sample = [v for v in cells[:, j][:20] if isinstance(v, str) and v.strip()]
        if any(len(v) > 64 for v in sample):  # no date is that long; a long cell costs no time here
            continue
        if not sample or not any(DATEISH.search(v) for v in sample):
            continue
        if dates.looks_like_dates(head[column]):
            return column
    return None


def name_column(columns, exclude=()) -> str | None:
    """The first column named 'name' in Russian, Ukrainian or Korean, or ending in 'name' (Facility Name)."""
    found = next((c for c in columns if c not in exclude and str(c).strip().lower() in NAME_WORDS), None)
    return found or next((c for c in columns if c not in exclude and words(c)[-1:] == ("name",)), None)
