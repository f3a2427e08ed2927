"""One importer for every file an analyst brings: CSV/TSV, GeoJSON, GeoPackage, zipped
shapefiles, KML and KMZ, read into a GeoDataFrame in EPSG:4326 of one known *kind*.

Used by the CLI (`python -m geo inspect|import`) and the app's uploader alike, so both
accept and refuse exactly the same files. The rules:

- The file is checked before anything expensive is done with it (geo.filecheck, standard
  library only): its size, a zip's member names and declared unpacked size (before
  extracting anything, and only into a private temp dir), and for text formats a
  byte-level estimate of the largest geometry and of the feature count. A hostile file
  is refused in well under a second.
- Every refusal is one ImportProblem whose str() is a single line naming the file (and
  the row and column where there is one). Nothing else escapes read_file().
- Rows are counted as a spreadsheet shows them: in a CSV the header is row 1 and the
  first record row 2 (a quoted newline does not start a new row); in other formats the
  row is the feature's position, from 1.
- A bad row is skipped and reported (`row N, column C: reason`), unless strict, where
  the first bad row fails the whole import.
- Coordinates end up in EPSG:4326. A file with no CRS is accepted only when every
  coordinate is plainly lon/lat, with a warning. Z is dropped and invalid geometries are
  repaired with make_valid, each with a warning.
- Dates are ISO (YYYY-MM-DD) or day-first ("17 January 2024", "17/01/2024"), as ACLED
  and European spreadsheets write them; times are returned as naive UTC.

Kinds: claims, events (ours, ACLED- or UCDP-GED-shaped), places, front (dated front-line
or control snapshots), tracks (timestamped points of vessels or trains) and generic.
"""
from __future__ import annotations

import csv
import hashlib
import io
import logging
import re
import tempfile
import warnings
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path, PurePosixPath

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
from pyproj import CRS

from geo import schema
from geo.filecheck import (MB, SHAPEFILE_PARTS, ImportProblem, Limits, check_zip, decode_text,
                           first_line, precheck_geojson, precheck_kml, read_bytes, sniff)
from geo.validate import parse_cell

KINDS = ("claims", "events", "places", "front", "tracks", "generic")
WGS84 = "EPSG:4326"


@dataclass
class ImportResult:
    filename: str
    format: str
    kind: str
    frame: gpd.GeoDataFrame  # EPSG:4326; tracks: track_id, name, t, lon, lat (+ point geometry)
    input_crs: str | None
    sha256: str
    warnings: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # `row N, column C: reason`

    def summary(self) -> dict:
        geoms = self.frame.geometry
        present = geoms[geoms.notna() & ~geoms.is_empty] if len(geoms) else geoms
        bounds = [round(float(v), 6) for v in present.total_bounds] if len(present) else None
        return {
            "file": self.filename, "format": self.format, "kind": self.kind,
            "feature_count": int(len(self.frame)),
            "geometry_types": sorted(set(present.geom_type)) if len(present) else [],
            "input_crs": self.input_crs,
            "bounds_lonlat": bounds,
            "columns": [c for c in self.frame.columns if c != "geometry"],
            "skipped_rows": len(self.skipped),
            "warnings": list(self.warnings),
        }


@dataclass
class Loaded:
    """A file's records before they are given a kind: typed columns (text for CSV), one
    geometry per record (None where the format has none), and each record's row number."""

    frame: pd.DataFrame
    geometry: list | np.ndarray | None
    rows: np.ndarray
    format: str
    crs: str | None
    warnings: list[str] = field(default_factory=list)
    problems: dict = field(default_factory=dict)  # row -> (column, message)
    coord_columns: tuple[str, str] | None = None  # the CSV columns the points came from


# --- entry point -------------------------------------------------------------------------------------

def read_file(source, filename: str | None = None, kind: str | None = None, limits: Limits = Limits(),
              strict: bool = False, assume_crs: str | None = None) -> ImportResult:
    """Read a path or bytes; raise ImportProblem (one line) for anything unusable."""
    filename = filename or (Path(source).name if isinstance(source, (str, Path)) else "upload")
    try:
        return _read(source, filename, kind, limits, strict, assume_crs)
    except ImportProblem:
        raise
    except MemoryError:
        raise ImportProblem(filename, "not enough memory to read this file") from None
    except Exception as err:  # a reader we rely on failed in a way we did not foresee
        raise ImportProblem(filename, f"unreadable ({type(err).__name__}: {first_line(err)})") from None


def _read(source, filename, kind, limits, strict, assume_crs) -> ImportResult:
    if kind is not None and kind not in KINDS:
        raise ImportProblem(filename, f"unknown kind {kind!r}; use one of {', '.join(KINDS)}")
    raw = read_bytes(source, filename, limits)
    digest = hashlib.sha256(raw).hexdigest()
    with tempfile.TemporaryDirectory(prefix="geo-import-") as tmp, warnings.catch_warnings(), \
            quiet_gdal():
        warnings.simplefilter("ignore")
        loaded = load(raw, filename, Path(tmp), limits)
        geom_types = geometry_types(loaded.geometry)
        kind = kind or guess_kind(loaded.frame.columns, geom_types, filename)
        cap = limits.max_track_points if kind == "tracks" else limits.max_features
        if len(loaded.frame) > cap:
            raise ImportProblem(filename, f"{len(loaded.frame):,} records (limit {cap:,} for {kind})")
        frame, input_crs, notes = to_lonlat(loaded, filename, kind, limits, assume_crs)
        loaded.warnings += notes
        frame = NORMALISERS[kind](frame, loaded, filename)
    problems = sorted(loaded.problems.items())
    if problems and strict:
        row, (column, message) = problems[0]
        more = f" (and {len(problems) - 1} more bad rows)" if len(problems) > 1 else ""
        raise ImportProblem(filename, message + more, row, column or "-")
    if frame.empty:
        why = f"; first problem: {format_problem(*problems[0])}" if problems else ""
        raise ImportProblem(filename, f"no usable {kind} records{why}")
    skipped = [format_problem(row, prob) for row, prob in problems]
    if skipped:
        loaded.warnings.append(f"skipped {len(skipped)} bad row(s); first: {skipped[0]}")
    return ImportResult(filename=filename, format=loaded.format, kind=kind, frame=frame.reset_index(drop=True),
                        input_crs=input_crs, sha256=digest, warnings=loaded.warnings, skipped=skipped)


def geometry_types(geoms) -> list[str]:
    if geoms is None:
        return []
    arr = np.asarray(geoms, dtype=object)
    ids = np.unique(shapely.get_type_id(arr[present_mask(arr)]))
    return sorted(GEOM_NAMES[i] for i in ids if i >= 0)


GEOM_NAMES = {0: "Point", 1: "LineString", 2: "LinearRing", 3: "Polygon", 4: "MultiPoint", 5: "MultiLineString",
              6: "MultiPolygon", 7: "GeometryCollection"}


def present_mask(arr) -> np.ndarray:
    """True where a geometry exists and is not empty."""
    arr = np.asarray(arr, dtype=object)
    return ~shapely.is_missing(arr) & ~shapely.is_empty(arr)


def format_problem(row, problem) -> str:
    column, message = problem
    return f"row {row}, column {column or '-'}: {message}"


class quiet_gdal:
    """GDAL reports through Python logging; keep it off the CLI's stderr (errors still raise)."""

    def __enter__(self):
        self.logger = logging.getLogger("pyogrio")
        self.level = self.logger.level
        self.logger.setLevel(logging.CRITICAL)

    def __exit__(self, *exc):
        self.logger.setLevel(self.level)


# --- formats -----------------------------------------------------------------------------------------

def load(raw: bytes, filename: str, tmp: Path, limits: Limits, depth: int = 0) -> Loaded:
    fmt = sniff(raw, filename)
    if fmt == "zip":
        if depth:
            raise ImportProblem(filename, "a zip inside a zip is not supported")
        return load_zip(raw, filename, tmp, limits)
    if fmt == "csv":
        return load_csv(raw, filename, limits)
    if fmt == "geojson":
        precheck_geojson(raw, filename, limits)
        return load_vector(write_temp(raw, tmp, "input.geojson"), filename, "geojson", limits)
    if fmt == "kml":
        precheck_kml(raw, filename, limits)
        return load_vector(write_temp(raw, tmp, "input.kml"), filename, "kml", limits)
    return load_vector(write_temp(raw, tmp, "input.gpkg"), filename, "gpkg", limits)


def write_temp(raw: bytes, tmp: Path, name: str) -> Path:
    path = tmp / name
    path.write_bytes(raw)
    return path


# --- zip, shapefile, KMZ -----------------------------------------------------------------------------

def load_zip(raw: bytes, filename: str, tmp: Path, limits: Limits) -> Loaded:
    """Check every member (names, types, declared sizes) before extracting the few we read."""
    archive, infos = check_zip(raw, filename, limits)
    files = [i for i in infos if not i.is_dir() and not PurePosixPath(i.filename).name.startswith(".")
             and "__MACOSX" not in i.filename]
    by_ext: dict[str, list[zipfile.ZipInfo]] = {}
    for info in files:
        by_ext.setdefault(PurePosixPath(info.filename).suffix.lower(), []).append(info)
    if by_ext.get(".shp"):
        return load_shapefiles(archive, by_ext, filename, tmp, limits)
    for ext in (".kml", ".gpkg", ".geojson", ".json", ".csv", ".tsv", ".txt"):
        if by_ext.get(ext):
            members = by_ext[ext]
            member = next((m for m in members if PurePosixPath(m.filename).name.lower() == "doc.kml"), members[0])
            inner = extract(archive, member, limits)
            loaded = load(inner, filename, tmp, limits, depth=1)
            loaded.format = "kmz" if ext == ".kml" else f"zip/{loaded.format}"
            if len(members) > 1:
                loaded.warnings.append(f"zip holds {len(members)} {ext} files; read {member.filename!r} only")
            return loaded
    names = ", ".join(i.filename for i in files[:5]) or "nothing"
    raise ImportProblem(filename, f"zip holds no .shp, .kml, .gpkg, .geojson or .csv (found {names})")


def extract(archive: zipfile.ZipFile, info: zipfile.ZipInfo, limits: Limits) -> bytes:
    """A member's bytes, read in chunks and cut off at the limit whatever its header claims."""
    out, size = io.BytesIO(), 0
    with archive.open(info) as member:
        while chunk := member.read(MB):
            size += len(chunk)
            if size > limits.max_bytes:
                raise ImportProblem(archive.filename or "zip", "refused: a zip member unpacks past the size limit")
            out.write(chunk)
    return out.getvalue()


def load_shapefiles(archive, by_ext, filename, tmp: Path, limits: Limits) -> Loaded:
    """Every .shp in the zip (with its sidecars), under names we choose, joined with a `layer` column."""
    parts = []
    for n, shp in enumerate(by_ext[".shp"]):
        stem = str(PurePosixPath(shp.filename).with_suffix("")).lower()
        for ext in SHAPEFILE_PARTS:
            member = next((i for i in by_ext.get(ext, [])
                           if str(PurePosixPath(i.filename).with_suffix("")).lower() == stem), None)
            if member is not None:
                (tmp / f"layer{n}{ext}").write_bytes(extract(archive, member, limits))
        if not (tmp / f"layer{n}.dbf").exists() or not (tmp / f"layer{n}.shx").exists():
            raise ImportProblem(filename, f"{shp.filename!r} lacks its .dbf or .shx in the zip")
        notes = []
        prj = tmp / f"layer{n}.prj"
        if not prj.exists() or not prj.read_bytes().strip():
            notes.append(f"{PurePosixPath(shp.filename).name}: no CRS (.prj {'empty' if prj.exists() else 'missing'})")
            prj.unlink(missing_ok=True)
        loaded = load_vector(tmp / f"layer{n}.shp", filename, "shapefile", limits)
        loaded.warnings += notes
        parts.append((PurePosixPath(shp.filename).stem, loaded))
    if len(parts) == 1:
        return parts[0][1]
    return concat_layers(parts, "shapefile")


def concat_layers(parts: list[tuple[str, Loaded]], fmt: str) -> Loaded:
    crss = {p.crs for _, p in parts}
    if len(crss) > 1:  # bring each layer to lon/lat first
        for _, p in parts:
            if p.crs and p.geometry is not None:
                p.geometry = np.asarray(gpd.GeoSeries(p.geometry, crs=p.crs).to_crs(WGS84).values, dtype=object)
                p.crs = WGS84
        crss = {p.crs for _, p in parts}
    frames, geoms, rows, notes, offset = [], [], [], [], 0
    for name, p in parts:
        frames.append(p.frame.assign(layer=name))
        geoms.extend(list(p.geometry) if p.geometry is not None else [None] * len(p.frame))
        rows.extend(np.asarray(p.rows) + offset)
        notes += p.warnings
        offset += len(p.frame)
    frame = pd.concat(frames, ignore_index=True)
    crs = next(iter(crss)) if len(crss) == 1 else None
    return Loaded(frame, np.array(geoms, dtype=object), np.array(rows), fmt, crs, notes)


# --- GDAL-read formats -------------------------------------------------------------------------------

def load_vector(path: Path, filename: str, fmt: str, limits: Limits) -> Loaded:
    """GeoJSON, GeoPackage, shapefile and KML through pyogrio; every layer that has features,
    joined with a `layer` column when there is more than one (KML folders, GPKG tables)."""
    pyogrio.set_gdal_config_options({"OGR_GEOJSON_MAX_OBJ_SIZE": "0"})  # our own limits apply
    try:
        listed = pyogrio.list_layers(path)
        layers = [str(name) for name, geom_type in listed]
        spatial = [str(name) for name, geom_type in listed if geom_type is not None]
        layers = spatial or layers
        total = 0
        for layer in layers:
            total += max(pyogrio.read_info(path, layer=layer).get("features", 0), 0)
            if total > limits.max_track_points:
                raise ImportProblem(filename, f"{total:,}+ features (limit {limits.max_track_points:,})")
        parts = []
        for layer in layers:
            frame = pyogrio.read_dataframe(path, layer=layer)
            if len(frame):
                parts.append((layer, frame))
    except ImportProblem:
        raise
    except Exception as err:  # pyogrio's DataSourceError family and GDAL's own failures
        message = first_line(err)
        if fmt == "geojson" and ("JSON" in message or "json" in message):
            message = f"invalid JSON ({message})"
        elif "not a database" in message:
            message = "damaged: not a valid SQLite database"
        raise ImportProblem(filename, f"unreadable {fmt}: {message}") from None
    if not parts:
        raise ImportProblem(filename, "the file holds no features")
    loaded = []
    for layer, frame in parts:
        geoms = np.asarray(frame.geometry.values, dtype=object) if isinstance(frame, gpd.GeoDataFrame) else None
        if geoms is not None:
            check_vertices(geoms, filename, limits)
        attrs = pd.DataFrame(frame.drop(columns="geometry", errors="ignore"))
        attrs = tidy_columns(attrs, fmt)
        crs = frame.crs.to_string() if getattr(frame, "crs", None) is not None else None
        loaded.append((layer, Loaded(attrs, geoms, np.arange(1, len(frame) + 1), fmt, crs)))
    if len(loaded) == 1 and fmt != "kml":
        return loaded[0][1]
    return concat_layers(loaded, fmt)


KML_STYLE_COLUMNS = ("id", "altitudeMode", "tessellate", "extrude", "visibility", "drawOrder", "icon")


def tidy_columns(frame: pd.DataFrame, fmt: str) -> pd.DataFrame:
    """GDAL's KML reader adds display columns (extrude, tessellate, ...) that are not data, and
    time columns that are empty in most files: drop those."""
    if fmt == "kml":
        frame = frame.rename(columns={"Name": "name"}).drop(columns=list(KML_STYLE_COLUMNS), errors="ignore")
        keep = [c for c in frame.columns
                if c in ("name", "description") or frame[c].replace("", np.nan).notna().any()]
        frame = frame[keep]
    return frame


def check_vertices(geoms, filename: str, limits: Limits):
    counts = shapely.get_num_coordinates(np.asarray(geoms, dtype=object))
    if len(counts) and counts.max() > limits.max_vertices:
        row = int(counts.argmax()) + 1
        raise ImportProblem(filename, f"refused: a geometry has {int(counts.max()):,} vertices "
                                      f"(limit {limits.max_vertices:,})", row, "geometry")


# --- CSV ---------------------------------------------------------------------------------------------

LON_NAMES = ("lon", "lng", "long", "longitude", "x")
LAT_NAMES = ("lat", "latitude", "y")
WKT_NAMES = ("wkt", "geometry", "geom", "the_geom", "shape", "wkt_geom")
WKT_RE = re.compile(r"^\s*(SRID=\d+;)?\s*(POINT|LINESTRING|POLYGON|MULTIPOINT|MULTILINESTRING|MULTIPOLYGON|"
                    r"GEOMETRYCOLLECTION)\b", re.I)


def sniff_delimiter(text: str) -> str:
    sample = text[:65536]
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
    except csv.Error:
        header = sample.split("\n", 1)[0]
        return max(",;\t|", key=header.count) if any(d in header for d in ",;\t|") else ","


def load_csv(raw: bytes, filename: str, limits: Limits) -> Loaded:
    text, notes = decode_text(raw, filename)
    delimiter = sniff_delimiter(text)
    old_limit = csv.field_size_limit()
    csv.field_size_limit(max(old_limit, limits.max_bytes))
    problems: dict[int, tuple[str | None, str]] = {}
    records, rows = [], []
    try:
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
        header = [h.strip() for h in next(reader, [])]
        if not any(header):
            raise ImportProblem(filename, "no header row")
        dupes = sorted({h for h in header if header.count(h) > 1 and h})
        if dupes:
            raise ImportProblem(filename, f"duplicate column name(s) {', '.join(dupes)}", 1)
        width = len(header)
        for row, record in enumerate(reader, start=2):
            if not "".join(record).strip():
                continue
            if len(record) > width and any(c.strip() for c in record[width:]):
                problems[row] = (None, f"{len(record)} fields but the header has {width}")
                continue
            record = (record + [""] * width)[:width]
            records.append(record)
            rows.append(row)
            if len(records) > limits.max_track_points:
                raise ImportProblem(filename, f"too many rows (limit {limits.max_track_points:,})")
    except csv.Error as err:
        raise ImportProblem(filename, f"unreadable CSV: {err}", reader.line_num) from None
    finally:
        csv.field_size_limit(old_limit)
    frame = pd.DataFrame(records, columns=header, dtype=object)
    frame.columns = [c if c else f"column_{i + 1}" for i, c in enumerate(frame.columns)]
    for column in frame.columns:  # plain list comprehensions: pandas' .str is several times slower
        frame[column] = [v.strip() for v in frame[column]]
    rows = np.array(rows, dtype=int)
    if delimiter != ",":
        notes.append(f"delimiter {delimiter!r}")
    loaded = Loaded(frame, None, rows, "tsv" if delimiter == "\t" else "csv", None, notes, problems)
    csv_geometry(loaded, filename, limits)
    return loaded


def find_column(columns, names) -> str | None:
    lower = {str(c).strip().lower(): c for c in columns}
    return next((lower[n] for n in names if n in lower), None)


def csv_geometry(loaded: Loaded, filename: str, limits: Limits):
    """Points from lon/lat columns, or shapes from a WKT column. A bad cell is a problem on
    its row; a row with no coordinates gets no geometry (kinds that need one drop it later)."""
    frame = loaded.frame
    lon, lat = find_column(frame.columns, LON_NAMES), find_column(frame.columns, LAT_NAMES)
    if lon is not None and lat is not None:
        x = pd.to_numeric(frame[lon], errors="coerce").to_numpy(dtype=float)
        y = pd.to_numeric(frame[lat], errors="coerce").to_numpy(dtype=float)
        for column, values in ((lon, x), (lat, y)):
            bad = np.flatnonzero(~np.isfinite(values) & (frame[column] != "").to_numpy())
            for i in bad:
                loaded.problems.setdefault(int(loaded.rows[i]), (column, f"{frame[column].iat[i]!r} is not a number"))
        ok = np.isfinite(x) & np.isfinite(y)
        geoms = np.full(len(frame), None, dtype=object)
        geoms[ok] = shapely.points(x[ok], y[ok])
        loaded.geometry = geoms
        loaded.coord_columns = (lon, lat)
        return
    wkt = find_column(frame.columns, WKT_NAMES)
    if wkt is None:
        first = next((c for c in frame.columns if frame[c].map(lambda v: bool(WKT_RE.match(v))).any()), None)
        wkt = first
    if wkt is None:
        return
    geoms = np.full(len(frame), None, dtype=object)
    srids = set()
    for i, text in enumerate(frame[wkt]):
        if not text:
            continue
        row = int(loaded.rows[i])
        if text.count(",") + 1 > limits.max_vertices:
            raise ImportProblem(filename, f"refused: a geometry has about {text.count(',') + 1:,} vertices "
                                          f"(limit {limits.max_vertices:,})", row, wkt)
        match = re.match(r"^\s*SRID=(\d+);", text, re.I)
        if match:
            srids.add(match.group(1))
            text = text[match.end():]
        try:
            geoms[i] = shapely.from_wkt(text)
        except Exception as err:  # shapely's GEOSException
            loaded.problems.setdefault(row, (wkt, f"unreadable WKT ({first_line(err)[:80]})"))
    if len(srids) == 1:
        loaded.crs = f"EPSG:{srids.pop()}"
    loaded.geometry = geoms
    loaded.frame = frame.drop(columns=[wkt])


# --- coordinates -------------------------------------------------------------------------------------

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


def to_lonlat(loaded: Loaded, filename: str, kind: str, limits: Limits, assume_crs):
    """The records as a GeoDataFrame in EPSG:4326, plus the input CRS and warnings."""
    notes = []
    frame = loaded.frame.reset_index(drop=True)
    geoms = loaded.geometry
    if geoms is None or kind == "claims":
        return gpd.GeoDataFrame(frame, geometry=[None] * len(frame), crs=WGS84), None, notes
    geoms = np.asarray(geoms, dtype=object)
    check_vertices(geoms, filename, limits)
    crs_text = loaded.crs or assume_crs
    if loaded.crs is None and assume_crs:
        notes.append(f"no CRS in the file; {assume_crs} assumed as asked")
    present = present_mask(geoms)
    if not present.any():
        raise ImportProblem(filename, "no geometry in any record")
    if shapely.has_z(geoms[present]).any():
        n = int(shapely.has_z(geoms[present]).sum())
        geoms[present] = shapely.force_2d(geoms[present])
        notes.append(f"dropped Z (height) values from {n} geometr{'y' if n == 1 else 'ies'}")
    in_range = in_lonlat_range(geoms)
    named_lonlat = loaded.coord_columns is not None and \
        {c.lower() for c in loaded.coord_columns} & {"lon", "lng", "long", "longitude", "lat", "latitude"}
    if crs_text is None and named_lonlat:
        crs_text = WGS84  # columns called lon/lat say what they hold; a bad row is a bad row
        lonlat_by_name = True
    else:
        lonlat_by_name = False
    if crs_text is None:
        if not in_range[present].all():
            coords = shapely.get_coordinates(geoms[present])
            raise ImportProblem(filename, "no CRS given and the coordinates are not lon/lat (x from "
                                          f"{coords[:, 0].min():,.0f} to {coords[:, 0].max():,.0f}); "
                                          "add a .prj or a crs, or name the CRS with --crs")
        if loaded.coord_columns is None:
            notes.append("no CRS given; the coordinates are all within ±180/±90, so lon/lat (EPSG:4326) "
                         "is assumed")
        else:
            notes.append(f"columns {'/'.join(loaded.coord_columns)} read as lon/lat (EPSG:4326)")
        input_crs = None
        crs = CRS.from_user_input(WGS84)
    else:
        try:
            crs = CRS.from_user_input(crs_text)
        except Exception as err:  # pyproj.exceptions.CRSError
            raise ImportProblem(filename, f"unknown CRS {crs_text!r} ({first_line(err)[:80]})") from None
        input_crs = None if lonlat_by_name else short_crs(crs)
    series = gpd.GeoSeries(geoms, crs=crs)
    if not crs.equals(CRS.from_user_input(WGS84)):
        if crs.is_geographic is False and in_range[present].all() and not series[present].empty:
            coords = shapely.get_coordinates(geoms[present])
            if np.abs(coords).max() <= 180:
                notes.append(f"the file says {input_crs} but the coordinates look like lon/lat; "
                             "check the result lands where it should")
        try:
            series = series.to_crs(WGS84)
        except Exception as err:  # pyproj cannot build the transformation
            raise ImportProblem(filename, f"cannot reproject from {input_crs} ({first_line(err)[:80]})") from None
        in_range = in_lonlat_range(series.values)
    elif not in_range[present].any():
        coords = shapely.get_coordinates(geoms[present])
        raise ImportProblem(filename, "the file says lon/lat (EPSG:4326) but no coordinate is within ±180/±90 "
                                      f"(x from {coords[:, 0].min():,.0f} to {coords[:, 0].max():,.0f}); "
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


# --- dates and times ---------------------------------------------------------------------------------

DATE_FORMATS = ("%d %B %Y", "%d %b %Y", "%d/%m/%Y", "%d.%m.%Y", "%d-%m-%Y", "%Y/%m/%d", "%B %d, %Y",
                "%b %d, %Y", "%Y%m%d")
ISO_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})(?:[T ].*)?$")


def parse_date(value) -> date:
    """ISO or day-first (17 January 2024, 17/01/2024); ValueError with a message otherwise."""
    if isinstance(value, (pd.Timestamp, datetime)):
        if pd.isna(value):
            raise ValueError("empty value")
        return value.date()
    if isinstance(value, date):
        return value
    text = "" if value is None or (isinstance(value, float) and np.isnan(value)) else str(value).strip()
    if not text:
        raise ValueError("empty value")
    match = ISO_DATE.match(text)
    if match:
        try:
            return date(*map(int, match.groups()))
        except ValueError:
            raise ValueError(f"{text!r} is not a real date") from None
    for fmt in DATE_FORMATS:
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise ValueError(f"{text!r} is not a date (YYYY-MM-DD or day first, like 17 January 2024)")


def parse_dates(values: pd.Series, rows, column: str, problems: dict) -> pd.Series:
    """Dates as datetime64[s]; a bad cell records a problem and leaves NaT. Parsed per unique value."""
    cache = {}
    for value in pd.unique(values.astype(object)):
        try:
            cache[value] = pd.Timestamp(parse_date(value))
        except ValueError as err:
            cache[value] = err
    out = []
    for value, row in zip(values.astype(object), rows):
        parsed = cache[value]
        if isinstance(parsed, ValueError):
            problems.setdefault(int(row), (column, str(parsed)))
            out.append(pd.NaT)
        else:
            out.append(parsed)
    return pd.Series(pd.to_datetime(pd.Series(out, dtype=object)), index=values.index).astype("datetime64[s]")


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


def parse_times(values: pd.Series, rows, column: str, problems: dict) -> pd.Series:
    """Timestamps as naive UTC: ISO 8601 (an offset is converted, none means UTC) or Unix epoch
    seconds / milliseconds."""
    if pd.api.types.is_datetime64_any_dtype(values):
        out = pd.to_datetime(values, utc=True)
    else:
        text = values.astype("string").str.strip()
        numeric = pd.to_numeric(text, errors="coerce")
        if numeric.notna().all() and len(numeric):
            unit = "ms" if numeric.abs().max() > 1e11 else "s"
            out = pd.to_datetime(numeric, unit=unit, utc=True, errors="coerce")
        else:
            out = pd.to_datetime(text, utc=True, format="ISO8601", errors="coerce")
            if out.isna().any():  # day-first and other shapes, one unique value at a time
                retry = {}
                for value in pd.unique(text[out.isna()].dropna()):
                    try:
                        retry[value] = pd.Timestamp(value, tz="UTC") if ISO_DATE.match(value) else \
                            pd.Timestamp(parse_date(value), tz="UTC")
                    except ValueError:
                        pass
                out = out.fillna(text.map(retry))
    out = out.dt.tz_convert("UTC").dt.tz_localize(None)
    for i in np.flatnonzero(out.isna().to_numpy()):
        problems.setdefault(int(rows[i]), (column, f"{values.iat[i]!r} is not a timestamp"
                                           if str(values.iat[i]).strip() else "empty value"))
    return out.astype("datetime64[ms]")


# --- kinds -------------------------------------------------------------------------------------------

TRACK_ID_NAMES = ("track_id", "mmsi", "imo", "vessel_id", "vessel", "ship", "ship_id", "train_id", "train")
TRACK_TIME_NAMES = ("t", "time", "timestamp", "datetime", "basetimeutc", "basedatetime", "time_utc")
TRACK_NAME_NAMES = ("name", "vesselname", "vessel_name", "ship_name", "shipname", "train_name")
FRONT_DATE_NAMES = ("as_of", "as_of_date", "snapshot_date", "snapshot", "date", "valid_on", "datetime")
NAME_NAMES = ("name", "title", "label", "id")


def columns_lower(columns) -> set[str]:
    return {str(c).strip().lower() for c in columns}


def required(table: schema.Table) -> set[str]:
    return {c.name for c in table.columns if c.required}


def guess_kind(columns, geom_types: list[str], filename: str) -> str:
    cols = columns_lower(columns)
    if required(schema.IMPORTED_CLAIMS) <= cols:
        return "claims"
    if {"id", "name", "kind", "lon", "lat", "country", "precision"} <= cols:
        return "places"
    if {"id", "date", "title", "kind"} <= cols or event_source(cols):
        return "events"
    has_points = not geom_types or set(geom_types) <= {"Point"}
    if find_column(cols, TRACK_ID_NAMES) and find_column(cols, TRACK_TIME_NAMES) and has_points and \
            (geom_types or (find_column(cols, LON_NAMES) and find_column(cols, LAT_NAMES))):
        return "tracks"
    shapes = {"Polygon", "MultiPolygon", "LineString", "MultiLineString"}
    if geom_types and set(geom_types) & shapes and \
            (find_column(cols, FRONT_DATE_NAMES) or date_from_name(filename)):
        return "front"
    return "generic"


def event_source(cols: set[str]) -> str | None:
    if {"event_date", "latitude", "longitude"} <= cols and ({"event_id_cnty", "event_type"} & cols):
        return "acled"
    if {"date_start", "latitude", "longitude"} <= cols and ({"best", "source_article", "id"} & cols):
        return "ucdp"
    if {"id", "date", "title", "kind"} <= cols:
        return "events"
    return None


def text(value) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA or value is pd.NaT:
        return ""
    return str(value).strip()


def by_lower(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.rename(columns={c: str(c).strip().lower() for c in frame.columns if c != "geometry"})


def drop_problem_rows(frame: gpd.GeoDataFrame, loaded: Loaded) -> gpd.GeoDataFrame:
    bad = np.isin(loaded.rows, list(loaded.problems)) if loaded.problems else np.zeros(len(frame), bool)
    return frame[~bad]


def need_geometry(frame: gpd.GeoDataFrame, loaded: Loaded, what: str = "geometry") -> None:
    missing = frame.geometry.isna().to_numpy() | frame.geometry.is_empty.to_numpy()
    coords = loaded.coord_columns
    for i in np.flatnonzero(missing):
        column = coords[0] if coords else "geometry"
        loaded.problems.setdefault(int(loaded.rows[i]), (column, f"no {what}"))


def schema_kind(frame: gpd.GeoDataFrame, loaded: Loaded, filename: str, table: schema.Table) -> gpd.GeoDataFrame:
    """Our own tables (claims, places, events): every cell checked by validate.parse_cell."""
    frame = by_lower(frame)
    missing = [c.name for c in table.columns if c.required and c.name not in frame.columns]
    if missing:
        raise ImportProblem(filename, f"not a {table.name} table: missing column(s) {', '.join(missing)}", 1)
    typed = {c.name: [] for c in table.columns}
    for i, row in enumerate(loaded.rows):
        values = {}
        for column in table.columns:
            raw = text(frame[column.name].iat[i]) if column.name in frame.columns else ""
            if column.kind == "date" and raw and not schema_date_ok(raw):
                raw = iso_or_same(raw)
            try:
                values[column.name] = parse_cell(column, raw)
            except ValueError as err:
                loaded.problems.setdefault(int(row), (column.name, str(err)))
                values[column.name] = None
        for name, value in values.items():
            typed[name].append(value)
    out = pd.DataFrame(typed, index=frame.index)
    for column in table.columns:
        if column.kind == "date":
            out[column.name] = pd.to_datetime(out[column.name]).astype("datetime64[s]")
        elif column.kind in ("routes", "layers"):
            out[column.name] = out[column.name].map(lambda v: ";".join(v) if v else "")
        elif column.kind not in ("number", "lon", "lat"):
            out[column.name] = out[column.name].fillna("")
    extra = [c for c in frame.columns if c not in out.columns and c != "geometry"]
    out = pd.concat([out, pd.DataFrame(frame[extra])], axis=1)
    return gpd.GeoDataFrame(out, geometry=frame.geometry.values, crs=WGS84)


def schema_date_ok(raw: str) -> bool:
    return bool(re.match(r"^\d{4}-\d{2}-\d{2}$", raw))


def iso_or_same(raw: str) -> str:
    try:
        return parse_date(raw).isoformat()
    except ValueError:
        return raw


def normalise_claims(frame, loaded, filename):
    out = schema_kind(frame, loaded, filename, schema.IMPORTED_CLAIMS)
    out["name"] = out["metric"].astype(str) + " — " + out["claimant"].astype(str)
    return drop_problem_rows(out, loaded)


def normalise_places(frame, loaded, filename):
    out = schema_kind(frame, loaded, filename, schema.PLACES)
    ok = out["lon"].notna() & out["lat"].notna()
    out.loc[ok, "geometry"] = gpd.points_from_xy(out.loc[ok, "lon"], out.loc[ok, "lat"])
    return drop_problem_rows(out, loaded)


def normalise_events(frame, loaded, filename):
    out = events_frame(frame, loaded, filename)
    return out.assign(name=out["title"])


def events_frame(frame, loaded, filename):
    """Our events table as it is; ACLED and UCDP-GED exports mapped onto it, keeping their other columns."""
    source = event_source(columns_lower(frame.columns))
    if source == "events" or source is None:
        if source is None:
            raise ImportProblem(filename, "not an events table: expected our columns (id, date, title, kind), "
                                          "an ACLED export (event_id_cnty, event_date, latitude, longitude) or "
                                          "a UCDP GED export (id, date_start, latitude, longitude)", 1)
        out = schema_kind(frame, loaded, filename, schema.EVENTS)
        out["origin"] = "events"
        return drop_problem_rows(out, loaded)
    low = by_lower(frame)
    rows = loaded.rows
    need_geometry(low, loaded, "coordinates")

    def col(name, default=""):
        return low[name].map(text) if name in low.columns else pd.Series(default, index=low.index, dtype=object)

    if source == "acled":
        out = pd.DataFrame({
            "id": col("event_id_cnty").where(col("event_id_cnty") != "", [str(r) for r in rows]),
            "date": parse_dates(low["event_date"], rows, "event_date", loaded.problems),
            "title": [" — ".join(p for p in (a, b) if p) or "ACLED event"
                      for a, b in zip(col("event_type"), col("location"))],
            "kind": col("event_type"),
            "description": col("notes"),
            "url": "",
            "source": col("source", "ACLED"),
            "fatalities": pd.to_numeric(col("fatalities"), errors="coerce"),
            "origin": "acled",
        }, index=low.index)
        used = {"event_id_cnty", "event_date", "event_type", "notes", "source", "fatalities", "latitude",
                "longitude"}
    else:
        out = pd.DataFrame({
            "id": col("id").where(col("id") != "", [str(r) for r in rows]),
            "date": parse_dates(low["date_start"], rows, "date_start", loaded.problems),
            "date_end": parse_dates(low["date_end"], rows, "date_end", loaded.problems)
            if "date_end" in low.columns else pd.NaT,
            "title": [a or b or "UCDP event" for a, b in zip(col("dyad_name"), col("conflict_name"))],
            "kind": "ucdp_ged",
            "description": col("where_description"),
            "url": "",
            "source": col("source_article", "UCDP GED"),
            "fatalities": pd.to_numeric(col("best"), errors="coerce"),
            "origin": "ucdp",
        }, index=low.index)
        used = {"id", "date_start", "date_end", "source_article", "best", "latitude", "longitude",
                "where_description"}
    out["place_id"] = ""
    extra = [c for c in low.columns if c not in used and c not in out.columns and c != "geometry"]
    out = pd.concat([out, pd.DataFrame(low[extra])], axis=1)
    result = gpd.GeoDataFrame(out, geometry=low.geometry.values, crs=WGS84)
    return drop_problem_rows(result, loaded)


def normalise_front(frame, loaded, filename):
    """A dated snapshot: `as_of` from a date attribute, else from the file name."""
    low = by_lower(frame)
    need_geometry(low, loaded)
    column = find_column(low.columns, FRONT_DATE_NAMES)
    from_name = date_from_name(filename)
    if column is not None:
        values = low[column]
        if from_name is not None:
            values = values.where(values.map(text) != "", from_name.isoformat())
        as_of = parse_dates(values, loaded.rows, column, loaded.problems)
    elif from_name is not None:
        as_of = pd.Series(pd.Timestamp(from_name), index=low.index).astype("datetime64[s]")
        loaded.warnings.append(f"snapshot date {from_name} taken from the file name")
    else:
        raise ImportProblem(filename, "a front snapshot needs a date: add a date/as_of/snapshot_date attribute "
                                      "or put it in the file name (front_2024-08-20.geojson)")
    low = low.assign(as_of=as_of)
    if "name" not in low.columns:
        name_col = find_column(low.columns, NAME_NAMES[1:])
        low["name"] = low[name_col].map(text) if name_col else Path(filename).stem
    return drop_problem_rows(gpd.GeoDataFrame(low, geometry="geometry", crs=WGS84), loaded)


def normalise_tracks(frame, loaded, filename):
    low = by_lower(frame)
    id_col, time_col = find_column(low.columns, TRACK_ID_NAMES), find_column(low.columns, TRACK_TIME_NAMES)
    if id_col is None or time_col is None:
        raise ImportProblem(filename, "not a track file: needs a track id column (track_id, mmsi, imo, vessel, "
                                      "ship, train) and a time column (t, time, timestamp, datetime, basetimeutc)", 1)
    geoms = low.geometry
    types = set(geoms.dropna().geom_type)
    if types - {"Point"}:
        raise ImportProblem(filename, f"tracks need one point per row with a timestamp, found {', '.join(sorted(types))}")
    need_geometry(low, loaded, "coordinates")
    name_col = find_column([c for c in low.columns if c != id_col], TRACK_NAME_NAMES)
    ids = low[id_col].astype("string").fillna("").str.strip().astype(object)
    if pd.api.types.is_float_dtype(low[id_col]):  # MMSI read as float from a GeoPackage: 273000001.0
        ids = low[id_col].map(lambda v: "" if pd.isna(v) else f"{v:.0f}")
    for i in np.flatnonzero((ids == "").to_numpy()):
        loaded.problems.setdefault(int(loaded.rows[i]), (id_col, "empty value"))
    t = parse_times(low[time_col], loaded.rows, time_col, loaded.problems)
    arr = np.asarray(geoms.array, dtype=object)
    valid = present_mask(arr)
    lon, lat = np.full(len(low), np.nan), np.full(len(low), np.nan)
    lon[valid], lat[valid] = shapely.get_x(arr[valid]), shapely.get_y(arr[valid])
    out = gpd.GeoDataFrame({
        "track_id": ids.to_numpy(),
        "name": (low[name_col].astype("string").fillna("").str.strip().astype(object) if name_col else ids).to_numpy(),
        "t": t.to_numpy(), "lon": lon, "lat": lat,
    }, geometry=geoms.values, crs=WGS84)
    out = drop_problem_rows(out, loaded)
    return out.sort_values(["track_id", "t"], kind="stable")


def normalise_generic(frame, loaded, filename):
    need_geometry(frame, loaded)
    out = frame.copy()
    if "name" not in out.columns:
        name_col = find_column(out.columns, NAME_NAMES)
        out["name"] = out[name_col].map(text) if name_col else \
            [f"{Path(filename).stem} #{r}" for r in loaded.rows]
    return drop_problem_rows(gpd.GeoDataFrame(out, geometry="geometry", crs=WGS84), loaded)


NORMALISERS = {"claims": normalise_claims, "places": normalise_places, "events": normalise_events,
               "front": normalise_front, "tracks": normalise_tracks, "generic": normalise_generic}
