"""Validation of the bundled data files, reporting every problem as `file:row:column: message`.

Rows are counted the way an editor shows them: in a CSV the header is line 1 and the
first record line 2; in a GeoJSON file "row" is the feature's position, from 1.
Nothing here raises on bad data: each check adds a Problem and carries on, so one
run lists everything that needs fixing.
"""
from __future__ import annotations

import csv
import io
import json
import math
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import shapely
from shapely.geometry import Point, shape

from geo.data import schema

ID_RE = re.compile(r"^[A-Za-z0-9_\-]+$")
DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
ISO3_RE = re.compile(r"^[A-Z]{3}$")
URL_RE = re.compile(r"^https?://[^\s<>\"']+$")

# How far (km) a route leg's end may sit from its place, and a place from its country.
# Borders in the Tumen estuary are drawn with straight segments at 1:10m, so stations
# on the river fall a few hundred metres on the wrong side (see data/README.md).
ROUTE_END_TOLERANCE_KM = 3.0
COUNTRY_TOLERANCE_KM = 1.5
KM_PER_DEGREE = 111.32


@dataclass(frozen=True)
class Problem:
    file: str
    row: int | None
    column: str | None
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.row if self.row is not None else '-'}:{self.column or '-'}: {self.message}"


@dataclass
class RawTable:
    """A table's records as text, each with the row number it came from."""

    table: schema.Table
    records: list[dict]
    rows: list[int]
    geometries: list  # shapely geometries for GeoJSON tables, else empty


def decode(raw: bytes, filename: str) -> tuple[str | None, Problem | None]:
    """UTF-8 text (a BOM is dropped), or a problem naming the line of the first bad byte."""
    try:
        return raw.decode("utf-8-sig"), None
    except UnicodeDecodeError as err:
        line = raw[: err.start].count(b"\n") + 1
        return None, Problem(filename, line, None, f"undecodable bytes (not UTF-8) at byte {err.start}")


def read_raw(path: Path, table: schema.Table) -> tuple[RawTable, list[Problem]]:
    """Read one file as text records; problems cover a missing, empty or unparseable file."""
    name = path.name
    empty = RawTable(table, [], [], [])
    if not path.exists():
        return empty, [Problem(name, None, None, "file is missing")]
    text, problem = decode(path.read_bytes(), name)
    if problem:
        return empty, [problem]
    if not text.strip():
        return empty, [Problem(name, None, None, "file is empty")]
    if table.is_geojson:
        return read_geojson(text, name, table)
    return read_csv(text, name, table)


def read_csv(text: str, name: str, table: schema.Table) -> tuple[RawTable, list[Problem]]:
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = reader.fieldnames or []
    problems = [Problem(name, 1, col, "missing column") for col in table.column_names if col not in header]
    records, rows = [], []
    try:
        for record in reader:
            if None in record:
                problems.append(Problem(name, reader.line_num, None, "more fields than the header has"))
            records.append({k: (v or "").strip() for k, v in record.items() if k is not None})
            rows.append(reader.line_num)
    except csv.Error as err:
        problems.append(Problem(name, reader.line_num, None, f"unreadable CSV: {err}"))
    if not records and not problems:
        problems.append(Problem(name, None, None, "file has a header but no rows"))
    return RawTable(table, records, rows, []), problems


def read_geojson(text: str, name: str, table: schema.Table) -> tuple[RawTable, list[Problem]]:
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as err:
        return RawTable(table, [], [], []), [Problem(name, err.lineno, None, f"invalid JSON: {err.msg}")]
    features = doc.get("features") if isinstance(doc, dict) else None
    if not isinstance(features, list) or not features:
        return RawTable(table, [], [], []), [Problem(name, None, None, "not a FeatureCollection with features")]
    problems, records, geoms = [], [], []
    allowed = schema.GEOMETRY_TYPES[table.name]
    for i, feature in enumerate(features, start=1):
        props = feature.get("properties") or {}
        missing = [c for c in table.column_names if c not in props]
        problems += [Problem(name, i, c, "missing property") for c in missing]
        records.append({k: "" if v is None else str(v).strip() for k, v in props.items()})
        geom, problem = read_geometry(feature.get("geometry"), allowed, name, i)
        geoms.append(geom)
        if problem:
            problems.append(problem)
    return RawTable(table, records, list(range(1, len(features) + 1)), geoms), problems


def read_geometry(gj, allowed, name, row):
    if not gj:
        return None, Problem(name, row, "geometry", "missing geometry")
    try:
        geom = shape(gj)
    except Exception as err:  # shapely raises several types for malformed GeoJSON
        return None, Problem(name, row, "geometry", f"unreadable geometry: {err}")
    if geom.geom_type not in allowed:
        return None, Problem(name, row, "geometry", f"{geom.geom_type} where {' or '.join(allowed)} is expected")
    coords = shapely.get_coordinates(geom)
    if not len(coords) or not ((abs(coords[:, 0]) <= 180).all() and (abs(coords[:, 1]) <= 90).all()):
        return None, Problem(name, row, "geometry", "coordinates out of range (expects lon/lat, EPSG:4326)")
    if not geom.is_valid:
        return None, Problem(name, row, "geometry", f"invalid geometry: {shapely.is_valid_reason(geom)}")
    return geom, None


def parse_cell(column: schema.Column, text: str):
    """The cell's value, or raise ValueError with a message for the user."""
    if text == "":
        if column.required:
            raise ValueError("empty value")
        return None
    kind = column.kind
    if kind == "id":
        if not ID_RE.match(text):
            raise ValueError(f"id {text!r} may hold only letters, digits, _ and -")
        return text
    if kind == "number":
        try:
            value = float(text)
        except ValueError:
            raise ValueError(f"{text!r} is not a number") from None
        if not math.isfinite(value):
            raise ValueError(f"{text!r} is not a finite number")
        return value
    if kind == "date":
        try:
            if not DATE_RE.match(text):
                raise ValueError
            return date.fromisoformat(text)
        except ValueError:
            raise ValueError(f"{text!r} is not a date (YYYY-MM-DD)") from None
    if kind == "url":
        if not URL_RE.match(text):
            raise ValueError(f"{text!r} is not an http(s) URL")
        return text
    if kind in ("lon", "lat"):
        limit = 180 if kind == "lon" else 90
        try:
            value = float(text)
        except ValueError:
            raise ValueError(f"{text!r} is not a number") from None
        if not -limit <= value <= limit:
            raise ValueError(f"{kind} {value} out of range (-{limit}..{limit})")
        return value
    if kind == "iso3":
        if not ISO3_RE.match(text):
            raise ValueError(f"{text!r} is not an ISO 3166 alpha-3 code")
        return text
    if kind == "choice":
        if text not in column.choices:
            raise ValueError(f"{text!r} is not one of {', '.join(column.choices)}")
        return text
    if kind == "claimants":
        items = tuple(p.strip() for p in text.split(";") if p.strip())
        bad = [p for p in items if not ID_RE.match(p)]
        if bad:
            raise ValueError(f"id {bad[0]!r} may hold only letters, digits, _ and -")
        return items
    if kind in ("routes", "layers", "places"):
        items = tuple(p.strip() for p in text.split(";") if p.strip())
        if kind == "layers":
            bad = [p for p in items if p not in schema.LAYER_IDS]
            if bad:
                raise ValueError(f"unknown layer {bad[0]!r}")
        return items
    return text  # text and place ids (places are checked across files)


def parse_table(raw: RawTable, filename: str) -> tuple[list[dict], list[Problem]]:
    """Typed records; every bad cell becomes a problem and leaves None in its place."""
    problems, parsed, seen = [], [], {}
    for record, row in zip(raw.records, raw.rows):
        out = {}
        for column in raw.table.columns:
            if column.name not in record:
                out[column.name] = None
                continue
            try:
                out[column.name] = parse_cell(column, record[column.name])
            except ValueError as err:
                out[column.name] = None
                problems.append(Problem(filename, row, column.name, str(err)))
        key = out.get("id")
        if key is not None:
            if key in seen:
                problems.append(Problem(filename, row, "id", f"duplicate id {key!r} (first on row {seen[key]})"))
            seen.setdefault(key, row)
        parsed.append(out)
    return parsed, problems


def km_between(point: Point, geom) -> float:
    """Distance in km from a lon/lat point to a geometry, with longitude scaled at the point's latitude."""
    k = math.cos(math.radians(point.y))
    scaled = shapely.transform(geom, lambda xy: xy * [k, 1.0])
    return shapely.distance(Point(point.x * k, point.y), scaled) * KM_PER_DEGREE


def reference_problems(table: schema.Table, records: list[dict], rows: list[int], filename: str,
                       places: set[str], route_ids: set[str]) -> list[Problem]:
    """Each place, places and routes cell of `records` must name a known place or route/flow id.
    One check for the bundled files (geo.data.dataset.check_links) and for imported ones
    (geo.imports.recognise), so a reference the map could not resolve is caught the same way in both."""
    problems = []
    for record, row in zip(records, rows):
        for column in table.columns:
            value = record.get(column.name)
            if not value or column.kind not in ("place", "places", "routes"):
                continue
            known, what = (route_ids, "route or flow") if column.kind == "routes" else (places, "place")
            for ref in (value if isinstance(value, tuple) else (value,)):
                if ref not in known:
                    problems.append(Problem(filename, row, column.name, f"unknown {what} id {ref!r}"))
    return problems
