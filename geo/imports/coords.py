"""Coordinates to lon/lat (EPSG:4326): which columns hold them, which CRS they are in, and
whether their axes look swapped.

- Coordinate columns are found by name (lat, latitude, Facility Latitude, lat_dd,
  `Latitude (deg)`, coord_lat, y; lon, lng, long, longitude, x, ...; a shared prefix or
  suffix pairs them) and, failing that, by value ranges (two decimal columns within
  ±90 and ±180). A geometry column holds WKT (`POINT (130 42)`, optionally `SRID=n;`) or
  GeoJSON geometries (`{"type": "Point", ...}`).
- A row whose coordinate cell is blank or not a number is a problem on that row (the
  importer skips it and counts it); it never refuses the file.
- A file with no CRS is accepted only when every coordinate is plainly lon/lat.
- Swapped axes: when swapping x and y moves the data into range or onto the countries
  this dashboard covers and the given order does not, a warning says so; swapping is an
  option of the import (`swap_axes=True`, `--swap-axes`), never done silently.
"""
from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS
from pyproj.exceptions import CRSError
from shapely.errors import GEOSException

from geo.geometry.projection import WGS84
from geo.imports import edges, names
from geo.imports.filecheck import ImportProblem, first_line
from geo.safetext import number

DATA = Path(__file__).resolve().parents[2] / "data"

LAT_TOKENS = {"lat", "latitude", "lati", "ylat", "latitud", "breite"}
LON_TOKENS = {"lon", "lng", "long", "longitude", "longi", "xlon", "longitud", "laenge"}
X_TOKENS, Y_TOKENS = {"x", "easting"}, {"y", "northing"}
WKT_NAMES = ("wkt", "geometry", "geom", "the_geom", "shape", "wkt_geom", "geojson", "location_geometry")
WKT_RE = re.compile(r"^\s*(SRID=\d+;)?\s*(POINT|LINESTRING|POLYGON|MULTIPOINT|MULTILINESTRING|MULTIPOLYGON|"
                    r"GEOMETRYCOLLECTION)\b", re.I)
GEOJSON_RE = re.compile(r'^\s*\{\s*"(type|coordinates)"\s*:')


def tokens(name: str) -> list[str]:
    """'Facility Latitude' -> ['facility', 'latitude']; 'Latitude (deg)' -> ['latitude']; 'decimalLatitude'
    -> ['decimal', 'latitude']."""
    return list(names.words(name))  # words in any script (Широта, 위도)


def axis_of(name: str) -> tuple[str, int, tuple] | None:
    """('lat'|'lon', score, the other tokens) for a coordinate-looking column name."""
    parts = tokens(name)
    for i, t in enumerate(parts):
        rest = tuple(parts[:i] + parts[i + 1:])
        if t in LAT_TOKENS or t.startswith("latitude") or t in names.LAT_WORDS:
            return "lat", 3 if not rest else 2, rest
        if t in LON_TOKENS or t.startswith("longitude") or t in names.LON_WORDS:
            return "lon", 3 if not rest else 2, rest
        if t in Y_TOKENS:
            return "lat", 1, rest
        if t in X_TOKENS:
            return "lon", 1, rest
    return None


def numeric_share(values: pd.Series) -> tuple[float, np.ndarray]:
    text = values.astype("string").fillna("").str.strip()
    number = pd.to_numeric(text.str.replace(",", ".", regex=False).where(~text.str.contains(r"\d,\d{3}\.")),
                           errors="coerce").to_numpy(dtype=float)
    filled = (text != "").to_numpy()
    share = float(np.isfinite(number[filled]).mean()) if filled.any() else 0.0
    return share, number


def find_coordinate_columns(frame: pd.DataFrame) -> tuple[str, str, str] | None:
    """(lon column, lat column, how they were found) or None."""
    named = {}
    for column in frame.columns:
        found = axis_of(column)
        if found:
            named[column] = found
    lats = [c for c, (a, _, _) in named.items() if a == "lat"]
    lons = [c for c, (a, _, _) in named.items() if a == "lon"]
    pairs = []
    for lat in lats:
        for lon in lons:
            (_, s1, r1), (_, s2, r2) = named[lat], named[lon]
            pairs.append((s1 + s2 + (2 if r1 == r2 else 0), -list(frame.columns).index(lat), lon, lat))
    for _, _, lon, lat in sorted(pairs, reverse=True):
        share_x, x = numeric_share(frame[lon].head(2000))
        share_y, y = numeric_share(frame[lat].head(2000))
        if share_x >= 0.5 and share_y >= 0.5:
            return lon, lat, "by name"
    # by value ranges: exactly two decimal columns, one within ±90 and both within ±180
    candidates, cells = [], head_cells(frame)
    for column in frame.columns:
        if column in named and named[column][1] > 1:
            continue
        if not might_hold(cells[column], DECIMAL_RE.match):
            continue
        sample = frame[column].head(2000)
        share, number = numeric_share(sample)
        number = number[np.isfinite(number)]
        if share < 0.95 or not len(number) or not (np.abs(number) <= 180).all():
            continue
        text = sample.astype("string").fillna("")
        if not text.str.contains(r"\.\d", regex=True).mean() > 0.9:
            continue
        candidates.append((column, float(np.abs(number).max())))
    if len(candidates) == 2:
        (a, amax), (b, bmax) = candidates
        if amax > 90 >= bmax:
            return a, b, "by value range"
        if bmax > 90 >= amax:
            return b, a, "by value range"
        return b, a, "by value range (both within ±90: the first read as latitude)"
    return None


DECIMAL_RE = re.compile(r"^\s*[+-]?\d*[.,]\d")


def head_cells(frame: pd.DataFrame) -> dict:
    """Each column's first cells as a plain array, taken from the frame at once."""
    head = frame.head(500).to_numpy(dtype=object)
    return {column: head[:, j] for j, column in enumerate(frame.columns)}


def might_hold(values, test, sample: int = 20) -> bool:
    """Whether any of a column's first non-empty cells passes `test`: a cheap look before the
    column-wide checks, so a file of tens of thousands of columns costs time in proportion."""
    seen = 0
    for value in values:
        if value is None or (isinstance(value, float) and value != value):
            continue
        text = str(value)
        if not text.strip():
            continue
        if test(text):
            return True
        seen += 1
        if seen >= sample:
            return False
    return False


def geometry_column(frame: pd.DataFrame) -> tuple[str, str] | None:
    """(column, 'wkt'|'geojson') for a column of WKT or GeoJSON geometries."""
    lower = {str(c).strip().lower(): c for c in frame.columns}
    first = [lower[n] for n in WKT_NAMES if n in lower]
    cells = head_cells(frame)
    ordered = first + [c for c in frame.columns if c not in set(first)]
    for column in ordered:
        if not might_hold(cells[column], lambda v: WKT_RE.match(v) or GEOJSON_RE.match(v)):
            continue  # a plain look at the first cells: pandas per column is too slow for wide files
        sample = frame[column].astype("string").fillna("").head(500)
        sample = sample[sample.str.strip() != ""]
        if not len(sample):
            continue
        if sample.str.match(WKT_RE.pattern, case=False).mean() > 0.5:
            return column, "wkt"
        if sample.str.match(GEOJSON_RE.pattern).mean() > 0.5:
            return column, "geojson"
    return None


def points_from_columns(frame: pd.DataFrame, rows, lon: str, lat: str, problems: dict) -> np.ndarray:
    """One point per row; a blank or non-numeric cell leaves None and records a problem."""
    geoms = np.full(len(frame), None, dtype=object)
    values = {}
    for column in (lon, lat):
        _, number = numeric_share(frame[column])
        values[column] = number
        text = frame[column].astype("string").fillna("").str.strip().to_numpy(dtype=object)
        for i in np.flatnonzero(~np.isfinite(number)):
            problems.setdefault(int(rows[i]), (column, f"{text[i]!r} is not a number" if text[i] else
                                               "empty coordinate"))
    x, y = values[lon], values[lat]
    ok = np.isfinite(x) & np.isfinite(y)
    geoms[ok] = shapely.points(x[ok], y[ok])
    return geoms


def geometries_from_text(values: pd.Series, rows, column: str, encoding: str, problems: dict,
                         max_vertices: int, filename: str) -> tuple[np.ndarray, set]:
    geoms = np.full(len(values), None, dtype=object)
    srids = set()
    for i, text in enumerate(values.astype("string").fillna("")):
        text = text.strip()
        if not text:
            continue
        row = int(rows[i])
        if text.count(",") + 1 > max_vertices * (2 if encoding == "geojson" else 1):
            raise ImportProblem(filename, f"refused: a geometry has about {text.count(',') + 1:,} vertices "
                                          f"(limit {max_vertices:,})", row, column)
        try:
            if encoding == "geojson":
                doc = json.loads(text)
                geoms[i] = shapely.from_geojson(json.dumps(doc.get("geometry", doc)) if doc.get("type") == "Feature"
                                                else text)
            else:
                match = re.match(r"^\s*SRID=(\d+);", text, re.I)
                if match:
                    srids.add(match.group(1))
                    text = text[match.end():]
                geoms[i] = shapely.from_wkt(text)
        except (GEOSException, ValueError, AttributeError) as err:  # json's and shapely's parse errors
            problems.setdefault(row, (column, f"unreadable {'GeoJSON' if encoding == 'geojson' else 'WKT'} "
                                              f"({first_line(err)[:80]})"))
    return geoms, srids


# --- ranges, swapped axes -----------------------------------------------------------------------

def present_mask(arr) -> np.ndarray:
    """True where a geometry exists and is not empty."""
    arr = np.asarray(arr, dtype=object)
    return ~shapely.is_missing(arr) & ~shapely.is_empty(arr)


def in_lonlat_range(geoms) -> np.ndarray:
    """Per geometry: every coordinate within ±180 / ±90 (None and empty count as in range)."""
    arr = np.asarray(geoms, dtype=object)
    ok = np.ones(len(arr), dtype=bool)
    present = np.flatnonzero(~shapely.is_missing(arr))
    if len(present):
        coords, index = shapely.get_coordinates(arr[present], return_index=True)
        bad = (np.abs(coords[:, 0]) > 180) | (np.abs(coords[:, 1]) > 90) | ~np.isfinite(coords).all(axis=1)
        ok[present[np.unique(index[bad])]] = False
    return ok


@lru_cache(maxsize=1)
def subject_area():
    """The countries the bundled places lie in (the dashboard's subject), from the bundled basemap."""
    try:
        places = pd.read_csv(DATA / "places.csv", usecols=["country"])
        codes = set(places["country"].dropna())
        doc = json.loads((DATA / "basemap" / "countries_overview.geojson").read_text(encoding="utf-8"))
    except (OSError, ValueError, KeyError):
        return None, ()
    shapes = [shapely.from_geojson(json.dumps(f["geometry"])) for f in doc["features"]
              if f["properties"].get("iso3") in codes]
    names = tuple(sorted(f["properties"].get("name", "") for f in doc["features"]
                         if f["properties"].get("iso3") in codes))
    if not shapes:
        return None, ()
    area = shapely.union_all(shapes).buffer(0.5)
    shapely.prepare(area)
    return area, names


def swap_axes(geoms: np.ndarray) -> np.ndarray:
    out = np.asarray(geoms, dtype=object).copy()
    present = present_mask(out)
    out[present] = shapely.transform(out[present], lambda xy: xy[:, ::-1])
    return out


def swapped_note(geoms: np.ndarray) -> str | None:
    """A warning when x/y look like lat/lon: swapping moves the coordinates into range, or onto
    the dashboard's countries, and the given order does not."""
    arr = np.asarray(geoms, dtype=object)
    arr = arr[present_mask(arr)]
    if not len(arr):
        return None
    coords = shapely.get_coordinates(arr[:: max(1, len(arr) // 5000)])
    if not len(coords):
        return None
    x, y = coords[:, 0], coords[:, 1]
    given = float(((np.abs(x) <= 180) & (np.abs(y) <= 90)).mean())
    swapped = float(((np.abs(y) <= 180) & (np.abs(x) <= 90)).mean())
    advice = "if so, import again with the axes swapped (--swap-axes, or 'Swap lat/lon' in the page)"
    if given < 0.5 and swapped == 1.0:
        return (f"coordinates look swapped (lat, lon instead of lon, lat): {1 - given:.0%} are out of range as "
                f"given and none when swapped; {advice}")
    if given < 1.0:  # some features out of range: would swapping bring them in?
        features, _, movers = edges.swapped_by_feature(arr, None)
        if movers:
            return (f"coordinates look swapped (lat, lon instead of lon, lat) in part of the file: {movers} of "
                    f"{features} features are out of range as given and would be in range if swapped; {advice}")
        return None
    area, names = subject_area()
    if area is None:
        return None
    sample = coords[:: max(1, len(coords) // 2000)]
    inside = float(shapely.contains_xy(area, sample[:, 0], sample[:, 1]).mean())
    inside_swapped = float(shapely.contains_xy(area, sample[:, 1], sample[:, 0]).mean())
    if inside < 0.5 and inside_swapped >= 0.9:
        return (f"coordinates may be swapped (lat, lon instead of lon, lat): as given {inside:.0%} fall in "
                f"{', '.join(names)}, swapped {inside_swapped:.0%} do; {advice}")
    features, inside_features, movers = edges.swapped_by_feature(arr, area)  # part of a file may be swapped
    if movers and movers > inside_features:
        return (f"coordinates may be swapped (lat, lon instead of lon, lat) in part of the file: {movers} of "
                f"{features} features would move into {', '.join(names)} if swapped ({inside_features} are there as "
                f"given); {advice}")
    return None


def range_problem(geom, coord_columns) -> tuple[str, str]:
    coords = shapely.get_coordinates(geom)
    if coord_columns is None or not len(coords):
        return "geometry", "coordinates outside the lon/lat range (±180/±90)"
    x, y = coords[0]
    if not -180 <= x <= 180:
        return coord_columns[0], f"lon {x:g} out of range (-180..180)"
    return coord_columns[1], f"lat {y:g} out of range (-90..90)"


def short_crs(crs: CRS) -> str:
    authority = crs.to_authority(min_confidence=70)
    return ":".join(authority) if authority else crs.to_string()


def check_vertices(geoms, filename: str, max_vertices: int):
    counts = shapely.get_num_coordinates(np.asarray(geoms, dtype=object))
    if len(counts) and counts.max() > max_vertices:
        row = int(counts.argmax()) + 1
        raise ImportProblem(filename, f"refused: a geometry has {int(counts.max()):,} vertices "
                                      f"(limit {max_vertices:,})", row, "geometry")


def to_lonlat(loaded, filename: str, kind: str, max_vertices: int, assume_crs, swap: bool = False):
    """The records as a GeoDataFrame in EPSG:4326, plus the input CRS and warnings."""
    notes = []
    frame = loaded.frame.reset_index(drop=True)
    geoms = loaded.geometry
    if geoms is None or kind == "claims":
        return gpd.GeoDataFrame(frame, geometry=[None] * len(frame), crs=WGS84), None, notes
    geoms = np.asarray(geoms, dtype=object)
    check_vertices(geoms, filename, max_vertices)
    crs_text = loaded.crs or assume_crs
    if loaded.crs is None and assume_crs:
        notes.append(f"no CRS in the file; {assume_crs} assumed as asked")
    present = present_mask(geoms)
    if not present.any():
        if any(g is not None for g in geoms):  # points of NaN (a GPS with no fix) are geometry, not coordinates
            raise ImportProblem(filename, "no valid coordinates: every coordinate in the file is missing or not a "
                                          "number")
        raise ImportProblem(filename, "no geometry in any record")
    if not np.isfinite(shapely.get_coordinates(geoms[present])).any():
        raise ImportProblem(filename, "no valid coordinates: every coordinate in the file is missing or not a number")
    if shapely.has_z(geoms[present]).any():
        n = int(shapely.has_z(geoms[present]).sum())
        geoms[present] = shapely.force_2d(geoms[present])
        notes.append(f"dropped Z (height) values from {n} geometr{'y' if n == 1 else 'ies'}")
    try:
        crs = CRS.from_user_input(crs_text) if crs_text else None
    except CRSError as err:
        raise ImportProblem(filename, f"unknown CRS {crs_text!r} ({first_line(err)[:80]})") from None
    geographic = crs is None or crs.is_geographic
    if geographic:
        geoms, features, moved = edges.clamp_edges(geoms)
        if features:
            notes.append(edges.clamp_note(features, moved))
    if swap:
        if not geographic:
            raise ImportProblem(filename, f"cannot swap axes of projected coordinates ({short_crs(crs)})")
        geoms = swap_axes(geoms)
        notes.append("x and y swapped as asked (the file holds lat, lon)")
    elif geographic:
        note = swapped_note(geoms)
        if note:
            notes.append(note)
    in_range = in_lonlat_range(geoms)
    named_lonlat = loaded.coord_columns is not None and loaded.coord_how == "by name" and \
        any(axis_of(c) and axis_of(c)[1] > 1 for c in loaded.coord_columns)
    lonlat_by_name = crs is None and bool(named_lonlat)
    if crs is None:
        if not lonlat_by_name and not in_range[present].all():
            coords = shapely.get_coordinates(geoms[present])
            raise ImportProblem(filename, "no CRS given and the coordinates are not lon/lat (x from "
                                          f"{number(np.nanmin(coords[:, 0]))} to {number(np.nanmax(coords[:, 0]))}); "
                                          "upload the shapefile's .prj with it or put a crs in the file, or on the "
                                          "command line name the CRS with --crs")
        if loaded.coord_columns is None:
            notes.append("no CRS given; the coordinates are all within ±180/±90, so lon/lat (EPSG:4326) "
                         "is assumed")
        elif not lonlat_by_name:
            notes.append(f"columns {'/'.join(loaded.coord_columns)} read as lon/lat (EPSG:4326)")
        if loaded.coord_columns is not None and loaded.coord_how != "by name":
            notes.append(f"coordinate columns {'/'.join(loaded.coord_columns)} found {loaded.coord_how}")
        input_crs = None
        crs = CRS.from_user_input(WGS84)
    else:
        input_crs = short_crs(crs)
    series = gpd.GeoSeries(geoms, crs=crs)
    if not crs.equals(CRS.from_user_input(WGS84)):
        if crs.is_geographic is False and in_range[present].all():
            coords = shapely.get_coordinates(geoms[present])
            if np.abs(coords).max() <= 180:
                notes.append(f"the file says {input_crs} but the coordinates look like lon/lat; "
                             "check the result lands where it should")
        try:
            series = series.to_crs(WGS84)
        except (CRSError, ValueError) as err:  # pyproj cannot build the transformation
            raise ImportProblem(filename, f"cannot reproject from {input_crs} ({first_line(err)[:80]})") from None
        reprojected, features, moved = edges.clamp_edges(np.asarray(series.values, dtype=object))
        if features:
            series = gpd.GeoSeries(reprojected, crs=WGS84)
            notes.append(edges.clamp_note(features, moved))
        in_range = in_lonlat_range(series.values)
    elif not in_range[present].any() and not swap and not lonlat_by_name:
        coords = shapely.get_coordinates(geoms[present])
        swapped = next((n for n in notes if "swapped" in n), None)
        if swapped:
            raise ImportProblem(filename, swapped)
        raise ImportProblem(filename, "the file says lon/lat (EPSG:4326) but no coordinate is within ±180/±90 "
                                      f"(x from {number(np.nanmin(coords[:, 0]))} to {number(np.nanmax(coords[:, 0]))}); "
                                      "it was probably saved in a projected CRS without saying so")
    values = np.asarray(series.values, dtype=object)
    for i in np.flatnonzero(~in_range & present):
        loaded.problems.setdefault(int(loaded.rows[i]), range_problem(values[i], loaded.coord_columns))
        values[i] = None
    invalid = np.flatnonzero(present_mask(values) & ~shapely.is_valid(values))
    if len(invalid):
        values[invalid] = shapely.make_valid(values[invalid])
        rows = ", ".join(str(int(loaded.rows[i])) for i in invalid[:5])
        notes.append(f"repaired {len(invalid)} invalid geometr{'y' if len(invalid) == 1 else 'ies'} "
                     f"with make_valid (row {rows}{'…' if len(invalid) > 5 else ''})")
    return gpd.GeoDataFrame(frame, geometry=list(values), crs=WGS84), input_crs, notes
