"""Vessel lists with their sanctions: OpenSanctions' maritime export and FollowTheMoney entities.

Two formats are read into one table of vessels (kind `vessels`), one row per vessel:

- OpenSanctions' maritime CSV (`maritime.csv`): the columns type, caption, imo, risk, countries,
  flag, mmsi, id, url, datasets, aliases; several values in a cell are separated by `;`. Rows of
  type ORGANIZATION (companies with an IMO company number) are left out. A vessel is sanctioned
  when its risk holds the topic `sanction`; the file carries no listing dates.
- FollowTheMoney entities, one JSON object per line (`.jsonl`, `.ftm.json`): entities of schema
  `Vessel` (properties name, imoNumber, mmsi, flag, ...; topics, datasets, first_seen,
  last_change at the top level) and `Sanction` entities that point at a vessel through their
  `entity` property (authority, program, listingDate, startDate, sourceUrl). A vessel is
  sanctioned when a Sanction names it or its topics hold `sanction`; its date is the earliest
  listing (or start) date of its sanctions.

Text from the file is kept as the file has it (names can hold anything); it is escaped where
it is shown. A line that is not JSON, or a CSV without the export's columns, refuses the whole
file with one line naming the file and the line. A bad value (an IMO number whose check digit
fails, an MMSI that is not nine digits, a date that is not a date) is a problem of that row and
field: the row is skipped and reported, or with strict the file is refused.
"""
from __future__ import annotations

import csv
import io
import json
import re

import pandas as pd

from geo.data.vessels import imo_number, mmsi_number
from geo.imports.filecheck import ImportProblem, decode_text, is_ftm_lines

MARITIME_COLUMNS = ("type", "caption", "imo", "risk", "countries", "flag", "mmsi", "id", "url", "datasets", "aliases")
MARITIME_REQUIRED = ("type", "caption", "imo", "risk", "id")
FORMATS = {"opensanctions-maritime": "OpenSanctions maritime CSV", "ftm": "FollowTheMoney JSON lines"}
# The table every reader returns, in this order.
# sanction_date is the earliest full date (YYYY-MM-DD) of the vessel's sanctions; sanction_dates lists
# every date as the file gives it (a bare year or month too).
COLUMNS = ("name", "imo", "mmsi", "flag", "aliases", "sanctioned", "lists", "authorities", "programs",
           "sanction_date", "sanction_dates", "topics", "entity_id", "url", "first_seen", "last_change")
DATE_RE = re.compile(r"^\d{4}(-\d{2}(-\d{2})?)?([T ][0-9:.]+Z?)?$")


def recognise(raw: bytes, filename: str) -> str | None:
    """'opensanctions-maritime', 'ftm' or None, from the first record of the file."""
    if is_ftm_lines(raw):
        return "ftm"
    head = raw[:65536]
    if head.startswith(b"\xef\xbb\xbf"):
        head = head[3:]
    text = head.decode("utf-8", errors="replace")
    first = next((line for line in text.splitlines() if line.strip()), "")
    if first.lstrip().startswith(("{", "[", "<")):
        return None
    cells = {c.strip().lower() for c in next(csv.reader([first]), [])}
    if set(MARITIME_REQUIRED) <= cells:
        return "opensanctions-maritime"
    return None


def read(raw: bytes, filename: str, fmt: str) -> tuple[pd.DataFrame, list[str], dict]:
    """(vessels, warnings, problems) from a file of format `fmt`; problems maps row -> (field, message).
    Raises ImportProblem for a file that cannot be read at all."""
    text, _ = decode_text(raw, filename)
    if fmt == "opensanctions-maritime":
        return read_maritime(text, filename)
    if fmt == "ftm":
        return read_ftm(text, filename)
    raise ImportProblem(filename, f"unknown vessel list format {fmt!r}")


def cell(value) -> str:
    return str(value if value is not None else "")


def as_list(value) -> list:
    """A top-level FtM list (topics, datasets); a lone string counts as one value."""
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value) if isinstance(value, (list, tuple)) else [value]


def split(value) -> list[str]:
    """The values of a `;`-separated cell (None and NaN: none)."""
    if value is None or (isinstance(value, float) and value != value):
        return []
    return [v.strip() for v in str(value).split(";") if v.strip()]


def joined(values) -> str:
    seen = []
    for value in values:
        value = cell(value).strip()
        if value and value not in seen:
            seen.append(value)
    return ";".join(seen)


def checked_imos(values, problems, row, field) -> list[str] | None:
    out = []
    for value in values:
        found = imo_number(value)
        if found is None:
            problems[row] = (field, f"{cell(value)[:40]!r} is not a valid IMO number (seven digits, the last a "
                                    "check digit)")
            return None
        out.append(found)
    return out


def checked_mmsis(values, problems, row, field) -> list[str] | None:
    out = []
    for value in values:
        found = mmsi_number(value)
        if found is None:
            problems[row] = (field, f"{cell(value)[:40]!r} is not an MMSI (nine digits)")
            return None
        out.append(found)
    return out


def iso_day(value, problems, row, field) -> str | None:
    """YYYY-MM-DD (a bare year or month kept as given) of a date or timestamp; None and a problem
    if it is not a date."""
    text = cell(value).strip()
    if not text:
        return ""
    if not DATE_RE.match(text):
        problems[row] = (field, f"{text[:40]!r} is not a date (YYYY-MM-DD)")
        return None
    day = text[:10]
    try:
        if len(day) == 10:
            pd.Timestamp(day)
    except ValueError:
        problems[row] = (field, f"{text[:40]!r} is not a date (YYYY-MM-DD)")
        return None
    return day


def read_maritime(text: str, filename: str) -> tuple[pd.DataFrame, list[str], dict]:
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = [str(c).strip().lower() for c in (reader.fieldnames or [])]
    missing = [c for c in MARITIME_REQUIRED if c not in header]
    if missing:
        raise ImportProblem(filename, f"not an OpenSanctions maritime export: no column {', '.join(missing)} "
                                      f"(expected {', '.join(MARITIME_COLUMNS)})", 1)
    reader.fieldnames = header
    records, problems, warnings, organisations = [], {}, [], 0
    try:
        for record in reader:
            row = reader.line_num
            if None in record:
                problems[row] = ("-", "more fields than the header has")
                continue
            kind = (record.get("type") or "").strip().upper()
            if kind == "ORGANIZATION":
                organisations += 1
                continue
            if kind != "VESSEL":
                problems[row] = ("type", f"{cell(kind)[:40]!r} is neither VESSEL nor ORGANIZATION")
                continue
            imos = checked_imos(split(record.get("imo")), problems, row, "imo")
            mmsis = checked_mmsis(split(record.get("mmsi")), problems, row, "mmsi")
            if imos is None or mmsis is None:
                continue
            name = cell(record.get("caption")).strip()
            if not name and not imos:
                problems[row] = ("caption", "a vessel with neither a name nor an IMO number")
                continue
            topics = split(record.get("risk"))
            datasets = split(record.get("datasets"))
            records.append({
                "name": name, "imo": joined(imos), "mmsi": joined(mmsis), "flag": joined(split(record.get("flag"))),
                "aliases": joined(split(record.get("aliases"))), "sanctioned": "sanction" in topics,
                "lists": joined(datasets) if "sanction" in topics else "", "authorities": "", "programs": "",
                "sanction_date": "", "sanction_dates": "", "topics": joined(topics), "entity_id": cell(record.get("id")).strip(),
                "url": cell(record.get("url")).strip(), "first_seen": "", "last_change": "", "row": row})
    except csv.Error as err:
        raise ImportProblem(filename, f"unreadable CSV: {err}", reader.line_num) from None
    if organisations:
        warnings.append(f"left out {organisations} ORGANIZATION row(s): only vessels are imported")
    if records:
        warnings.append("the maritime export carries no listing dates: sanctioned vessels have a list but no date")
    return frame_of(records), warnings, problems


def read_ftm(text: str, filename: str) -> tuple[pd.DataFrame, list[str], dict]:
    entities = []  # (line, entity)
    for line, raw_line in enumerate(text.splitlines(), start=1):
        stripped = raw_line.strip()
        if not stripped:
            continue
        try:
            entity = json.loads(stripped)
        except ValueError as err:
            raise ImportProblem(filename, f"not a JSON object on this line ({first_words(err)}): a FollowTheMoney "
                                          "file holds one entity per line", line) from None
        if not isinstance(entity, dict):
            raise ImportProblem(filename, "not a JSON object on this line: a FollowTheMoney file holds one entity "
                                          "per line", line)
        entities.append((line, entity))
    problems, warnings = {}, []
    vessels, sanctions, others = {}, [], 0
    for line, entity in entities:
        schema = entity.get("schema")
        props = entity.get("properties")
        if not isinstance(schema, str) or not schema:
            problems[line] = ("schema", "no schema")
            continue
        if not isinstance(props, dict) or not all(isinstance(v, list) for v in props.values()):
            problems[line] = ("properties", "properties must be an object whose values are lists")
            continue
        if schema == "Vessel":
            vessels[cell(entity.get("id"))] = (line, entity)
        elif schema == "Sanction":
            sanctions.append((line, entity))
        else:
            others += 1
    by_vessel: dict[str, list[dict]] = {}
    unlinked = 0
    for line, entity in sanctions:
        props = entity["properties"]
        found = []
        for field in ("listingDate", "startDate"):
            days = [iso_day(v, problems, line, field) for v in props.get(field, [])]
            if None in days:
                break
            found.append(sorted(d for d in days if d))
        else:
            targets = [cell(t) for t in props.get("entity", [])]
            known = [t for t in targets if t in vessels]
            if not known:
                unlinked += 1
                continue
            sanction = {"authority": joined(props.get("authority", [])), "program": joined(props.get("program", [])),
                        "date": (found[0] or found[1] or [""])[0], "datasets": as_list(entity.get("datasets"))}
            for target in known:
                by_vessel.setdefault(target, []).append(sanction)
    records = []
    for entity_id, (line, entity) in vessels.items():
        props = entity["properties"]
        imos = checked_imos(props.get("imoNumber", []), problems, line, "imoNumber")
        mmsis = checked_mmsis(props.get("mmsi", []), problems, line, "mmsi")
        first_seen = iso_day(entity.get("first_seen"), problems, line, "first_seen")
        last_change = iso_day(entity.get("last_change"), problems, line, "last_change")
        if None in (imos, mmsis, first_seen, last_change):
            continue
        names = [cell(n).strip() for n in props.get("name", []) if cell(n).strip()]
        if not names and not imos:
            problems[line] = ("name", "a vessel with neither a name nor an IMO number")
            continue
        topics = [cell(t) for t in as_list(entity.get("topics")) or props.get("topics", [])]
        own = by_vessel.get(entity_id, [])
        sanctioned = bool(own) or "sanction" in topics
        datasets = [cell(d) for d in as_list(entity.get("datasets"))]
        dates = sorted(s["date"] for s in own if s["date"])
        full = [d for d in dates if len(d) == 10]
        records.append({
            "name": names[0] if names else "", "imo": joined(imos), "mmsi": joined(mmsis),
            "flag": joined(props.get("flag", [])), "aliases": joined(names[1:] + list(props.get("previousName", []))
                                                                     + list(props.get("alias", []))),
            "sanctioned": sanctioned,
            "lists": joined([d for s in own for d in s["datasets"]] or (datasets if sanctioned else [])),
            "authorities": joined(s["authority"] for s in own), "programs": joined(s["program"] for s in own),
            "sanction_date": full[0] if full else "", "sanction_dates": joined(dates), "topics": joined(topics), "entity_id": entity_id,
            "url": joined(props.get("sourceUrl", [])), "first_seen": first_seen, "last_change": last_change,
            "row": line})
    if others:
        warnings.append(f"left out {others} entit(ies) of other schemas than Vessel and Sanction")
    if unlinked:
        warnings.append(f"left out {unlinked} sanction(s) of entities that are not vessels in this file")
    return frame_of(records), warnings, problems


def first_words(err) -> str:
    return str(err).split(":")[0][:80]


def frame_of(records: list[dict]) -> pd.DataFrame:
    frame = pd.DataFrame.from_records(records, columns=list(COLUMNS) + ["row"])
    frame["sanctioned"] = frame["sanctioned"].astype(bool)
    for column in ("sanction_date", "first_seen", "last_change"):  # no date is None, never ''
        frame[column] = frame[column].map(lambda v: v or None).astype(object)
    return frame
