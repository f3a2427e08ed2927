"""Reading a file, apart from recognising what it is: one reader per format, each returning
the same `Loaded` records (attributes, one geometry per record, row numbers) plus its warnings.

`READERS` maps the format sniffed from the bytes (geo.imports.filecheck.sniff) to its reader, as
geopandas' read_file dispatches over engines. GDAL (through pyogrio, with per-call options
only) reads GeoJSON, TopoJSON, GeoPackage, FlatGeobuf, GPX and shapefiles; pyarrow reads
GeoParquet; CSV and KML are read here (KML so ExtendedData keeps its names in any script and
TimeStamp/TimeSpan become dates). A reader refuses with ImportProblem and lets nothing else
escape for a bad file: the exceptions each library raises for bad input are caught by name
where the library is called, so anything else is a bug and surfaces as one.
"""
from __future__ import annotations

import csv
import sys
import io
import json
import zipfile
import zlib
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
from pyogrio.errors import DataLayerError, DataSourceError, FieldError, GeometryError
from shapely.errors import GEOSException

from geo.geometry.projection import WGS84
from geo.imports import coords, dbfcodes, sheets, textlines
from geo.imports.filecheck import (MB, SHAPEFILE_PARTS, ImportProblem, Limits, check_zip, decode_text, first_line,
                                   precheck_geojson, precheck_gpx, precheck_kml, refuse_views, sniff)
from geo.safetext import escape

# A cell may be as long as the file (a WKT polygon, a 60 MB line): the csv module's limit is
# process-wide, so it is set once here and never lowered or restored, which would race with
# another import reading in the same process. The file's own size limit bounds every cell.
csv.field_size_limit(min(sys.maxsize, 2**31 - 1))
GDAL_ERRORS = (DataSourceError, DataLayerError, FieldError, GeometryError, GEOSException)


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
    coord_how: str | None = None  # "by name", "by value range", "as asked"
    details: dict = field(default_factory=dict)  # what recognition chose: date column and format, track id


@dataclass(frozen=True)
class ReadOptions:
    coord_columns: tuple[str, str] | None = None  # (lon, lat) column names, instead of finding them
    kind: str | None = None  # a kind asked for, where it changes what is read (GPX as tracks)
    sheet: str | None = None  # a workbook's sheet, instead of the first that holds a table
    encoding: str | None = None  # a shapefile's text encoding, instead of its .cpg or what is detected


def load(raw: bytes, filename: str, tmp: Path, limits: Limits, options: ReadOptions = ReadOptions(),
         depth: int = 0) -> Loaded:
    fmt = sniff(raw, filename)
    if fmt == "zip" and sheets.is_xlsx(raw):
        check_zip(raw, filename, limits)
        return read_workbook(raw, filename, limits, options, "xlsx")
    if fmt == "zip":
        if depth:
            raise ImportProblem(filename, "a zip inside a zip is not supported")
        return load_zip(raw, filename, tmp, limits, options)
    return READERS[fmt](raw, filename, tmp, limits, options)


def scrub(message: str, path: Path, filename: str) -> str:
    """A library's message without the temporary path the file was read from."""
    return message.replace(str(path), filename).replace(str(path.parent) + "/", "").replace(str(path.parent), "")


def write_temp(raw: bytes, tmp: Path, name: str) -> Path:
    path = tmp / name
    path.write_bytes(raw)
    return path


# --- one reader per format ---------------------------------------------------------------------

def read_geojson(raw, filename, tmp, limits, options):
    if textlines.is_geojsonseq(raw):
        return read_geojsonseq(raw, filename, limits)
    precheck_geojson(raw, filename, limits)
    return load_vector(write_temp(raw, tmp, "input.geojson"), filename, "geojson", limits)


def read_geojsonseq(raw, filename, limits) -> Loaded:
    """Newline-delimited GeoJSON (GeoJSONSeq): one feature per line, read line by line; a line
    that is not a feature is a problem on that row."""
    records, geoms, rows, problems = [], [], [], {}
    for number, feature, problem in textlines.geojsonseq_records(raw):
        if len(rows) >= max(limits.max_features, limits.max_track_points):
            raise ImportProblem(filename, f"too many features (limit {max(limits.max_features, limits.max_track_points):,})")
        rows.append(number)
        if problem:
            problems[number] = ("geometry", problem)
            records.append({})
            geoms.append(None)
            continue
        props = feature.get("properties") or {}
        records.append(props if isinstance(props, dict) else {})
        geometry = feature.get("geometry")
        try:
            geoms.append(shapely.from_geojson(json.dumps(geometry)) if geometry else None)
        except (GEOSException, ValueError, TypeError) as err:
            problems[number] = ("geometry", f"unreadable GeoJSON geometry ({first_line(err)[:80]})")
            geoms.append(None)
    if not rows:
        raise ImportProblem(filename, "the file holds no features")
    frame = pd.DataFrame.from_records(records) if any(records) else pd.DataFrame(index=range(len(rows)))
    arr = np.array(geoms + [None], dtype=object)[:-1]
    coords.check_vertices(arr, filename, limits.max_vertices)
    return Loaded(frame, arr, np.array(rows), "geojsonseq", WGS84, [f"read {len(rows):,} lines as GeoJSONSeq (one feature per line)"],
                  problems)


def read_topojson(raw, filename, tmp, limits, options):
    precheck_geojson(raw, filename, limits)
    loaded = load_vector(write_temp(raw, tmp, "input.topojson"), filename, "topojson", limits)
    return loaded


def read_gpkg(raw, filename, tmp, limits, options):
    path = write_temp(raw, tmp, "input.gpkg")
    refuse_gpkg_views(path, filename)
    return load_vector(path, filename, "gpkg", limits)


def refuse_gpkg_views(path: Path, filename: str):
    """A GeoPackage is a SQLite database, and a view in it is SQL that runs when the layer is
    read: it may recurse forever or build rows of any size. Layers that are views, and views
    standing in for the GeoPackage's own tables, are refused (geo.imports.filecheck.refuse_views)."""
    import sqlite3
    try:
        con = sqlite3.connect(f"file:{path}?mode=ro&immutable=1", uri=True)
    except sqlite3.Error:
        raise ImportProblem(filename, "unreadable gpkg: damaged: not a valid SQLite database") from None
    try:
        refuse_views(con, filename)
    finally:
        con.close()


def read_flatgeobuf(raw, filename, tmp, limits, options):
    return load_vector(write_temp(raw, tmp, "input.fgb"), filename, "flatgeobuf", limits)


GPX_LAYERS = ("waypoints", "routes", "tracks")


def read_gpx(raw, filename, tmp, limits, options):
    """Waypoints, routes and tracks (as lines), with a `layer` column; track points are kept
    out (the tracks hold them)."""
    precheck_gpx(raw, filename, limits)
    path = write_temp(raw, tmp, "input.gpx")
    if options.kind == "tracks":
        return gpx_track_points(path, filename, limits)
    if options.kind is None and b"<trkpt" in raw and b"<time" in raw:  # a recording: timed points are a track
        loaded = gpx_track_points(path, filename, limits)
        if loaded.frame["time"].notna().sum() >= 2:
            waypoints = raw.count(b"<wpt")
            if waypoints:
                loaded.warnings.append(
                    f"the file also holds {waypoints} waypoint(s), not imported with the tracks; to import them "
                    "as points, choose 'generic' under 'Import as' on the page, or --as generic on the command line")
            return loaded
    return load_vector(path, filename, "gpx", limits, only=GPX_LAYERS, always_layer=True)


def gpx_track_points(path: Path, filename: str, limits: Limits) -> Loaded:
    """A GPX file read as tracks: one row per track point with its time, the track's name
    (or `track N`) as its id."""
    loaded = load_vector(path, filename, "gpx", limits, only=("track_points",))
    try:
        names = pyogrio.read_dataframe(path, layer="tracks", read_geometry=False)
    except GDAL_ERRORS as err:
        raise ImportProblem(filename, f"unreadable gpx: {scrub(first_line(err), path, filename)}") from None
    fids = loaded.frame["track_fid"].astype(int)
    label = {i: (str(n).strip() if isinstance(n, str) and n.strip() else f"track {i + 1}")
             for i, n in enumerate(names["name"] if "name" in names.columns else [None] * len(names))}
    ids = fids.map(lambda i: label.get(i, f"track {i + 1}"))
    loaded.frame = pd.DataFrame({"track_id": ids, "name": ids, "time": loaded.frame.get("time")})
    loaded.warnings.append(f"read the GPX track points ({len(ids):,}) as tracks")
    return loaded


def read_geoparquet(raw, filename, tmp, limits, options):
    import pyarrow as pa
    path = write_temp(raw, tmp, "input.parquet")
    try:
        frame = gpd.read_parquet(path)
    except (ValueError, pa.ArrowException, OSError) as err:  # no geo metadata, damaged, or not Parquet
        message = scrub(first_line(err), path, filename)
        if "geo" in message.lower() and "metadata" in message.lower():
            return parquet_table(path, filename, options)
        raise ImportProblem(filename, f"unreadable GeoParquet: {message}") from None
    if len(frame) > max(limits.max_features, limits.max_track_points):
        raise ImportProblem(filename, f"{len(frame):,} records (limit {max(limits.max_features, limits.max_track_points):,})")
    geoms = np.asarray(frame.geometry.values, dtype=object)
    coords.check_vertices(geoms, filename, limits.max_vertices)
    attrs = pd.DataFrame(frame.drop(columns=frame.geometry.name))
    crs = frame.crs.to_string() if frame.crs is not None else None
    return Loaded(attrs, geoms, np.arange(1, len(frame) + 1), "geoparquet", crs)


def parquet_table(path: Path, filename: str, options) -> Loaded:
    """A plain Parquet table (no geo metadata): points from its coordinate columns."""
    import pyarrow as pa
    try:
        frame = pd.read_parquet(path)
    except (ValueError, pa.ArrowException, OSError) as err:
        raise ImportProblem(filename, f"unreadable Parquet: {scrub(first_line(err), path, filename)}") from None
    loaded = Loaded(frame, None, np.arange(1, len(frame) + 1), "parquet", None)
    table_geometry(loaded, filename, options, Limits())
    return loaded


def read_workbook(raw, filename, limits, options, fmt) -> Loaded:
    """An Excel sheet as a table (geo.imports.sheets), its points found as a CSV's are."""
    header, records, rows, notes, details = sheets.load_sheet(raw, filename, limits, fmt, options.sheet)
    frame = pd.DataFrame(records, columns=header, dtype=object) if records else pd.DataFrame(columns=header)
    loaded = Loaded(frame, None, np.array(rows, dtype=int), fmt, None, notes, {}, details=details)
    table_geometry(loaded, filename, options, limits)
    return loaded


def read_xls(raw, filename, tmp, limits, options):
    return read_workbook(raw, filename, limits, options, "xls")


def read_csv(raw, filename, tmp, limits, options):
    return load_csv(raw, filename, limits, options)


def read_kml(raw, filename, tmp, limits, options):
    precheck_kml(raw, filename, limits)
    return load_kml(raw, filename, limits)


# --- zip, shapefile, KMZ -----------------------------------------------------------------------------

def load_zip(raw: bytes, filename: str, tmp: Path, limits: Limits, options: ReadOptions = ReadOptions()) -> Loaded:
    """Check every member (names, types, declared sizes) before extracting the few we read."""
    archive, infos = check_zip(raw, filename, limits)
    files = [i for i in infos if not i.is_dir() and not PurePosixPath(i.filename).name.startswith(".")
             and "__MACOSX" not in i.filename]
    by_ext: dict[str, list[zipfile.ZipInfo]] = {}
    for info in files:
        by_ext.setdefault(PurePosixPath(info.filename).suffix.lower(), []).append(info)
    if by_ext.get(".shp"):
        groups = []
        for shp in by_ext[".shp"]:
            stem = str(PurePosixPath(shp.filename).with_suffix("")).lower()
            parts = {}
            for ext in SHAPEFILE_PARTS:
                member = next((i for i in by_ext.get(ext, [])
                               if str(PurePosixPath(i.filename).with_suffix("")).lower() == stem), None)
                if member is not None:
                    parts[ext] = (lambda m=member: extract(archive, m, limits, filename))
            groups.append((shp.filename, parts))
        return load_shapefiles(groups, filename, tmp, limits, "in the zip", options.encoding)
    for ext in (".kml", ".gpkg", ".geojson", ".json", ".topojson", ".fgb", ".gpx", ".parquet", ".csv", ".tsv",
                ".txt"):
        if by_ext.get(ext):
            members = by_ext[ext]
            member = next((m for m in members if PurePosixPath(m.filename).name.lower() == "doc.kml"), members[0])
            inner = extract(archive, member, limits, filename)
            loaded = load(inner, PurePosixPath(member.filename).name, tmp, limits, options, depth=1)
            loaded.format = "kmz" if ext == ".kml" else f"zip/{loaded.format}"
            if len(members) > 1:
                loaded.warnings.append(f"zip holds {len(members)} {ext} files; read {member.filename!r} only")
            return loaded
    names = ", ".join(i.filename for i in files[:5]) or "nothing"
    raise ImportProblem(filename, f"zip holds no .shp, .kml, .gpkg, .geojson, .fgb, .gpx or .csv (found {names})")


def extract(archive: zipfile.ZipFile, info: zipfile.ZipInfo, limits: Limits, filename: str | None = None) -> bytes:
    """A member's bytes, read in chunks and cut off at the limit whatever its header claims."""
    out, size = io.BytesIO(), 0
    try:
        with archive.open(info) as member:
            while chunk := member.read(MB):
                size += len(chunk)
                if size > limits.max_bytes:
                    raise ImportProblem(filename or archive.filename or "zip", "refused: a zip member unpacks past the size limit")
                out.write(chunk)
    except (zipfile.BadZipFile, zlib.error, EOFError) as err:  # a lying size or CRC, or torn compressed data
        what = "does not match its checksum" if "CRC" in str(err) else "cannot be unpacked"
        raise ImportProblem(filename or archive.filename or "zip", f"archive damaged: member {escape(info.filename, 80)!r} "
                                                       f"{what}") from None
    return out.getvalue()


def shapefile_groups(parts: dict[str, bytes]) -> list[tuple[str, dict]]:
    """{file name: bytes} of shapefile parts (a multi-file upload, or a .shp and its siblings)
    grouped by stem: [(shp name, {ext: bytes getter})]."""
    by_stem: dict[str, dict] = {}
    names: dict[str, str] = {}
    for name, raw in parts.items():
        path = PurePosixPath(name.replace("\\", "/"))
        ext = path.suffix.lower()
        if ext not in SHAPEFILE_PARTS:
            continue
        stem = path.stem.lower()
        by_stem.setdefault(stem, {})[ext] = (lambda r=raw: r)
        if ext == ".shp":
            names[stem] = path.name
    return [(names[stem], group) for stem, group in by_stem.items() if stem in names]


def load_shapefiles(groups, filename, tmp: Path, limits: Limits, where: str = "", asked: str | None = None) -> Loaded:
    """Every .shp (with its sidecars), under names we choose, joined with a `layer` column.
    A missing or empty .prj is a warning: coords.to_lonlat then accepts the file only when every
    coordinate is plainly lon/lat."""
    parts = []
    for n, (shp_name, members) in enumerate(groups):
        for ext, get in members.items():
            (tmp / f"layer{n}{ext}").write_bytes(get())
        missing = [ext for ext in (".shx", ".dbf") if ext not in members]
        if missing:
            raise ImportProblem(filename, f"{PurePosixPath(shp_name).name!r} lacks its {' and '.join(missing)}"
                                          f"{' ' + where if where else ''}: a shapefile needs its .shp, .shx and "
                                          ".dbf (and .prj) together")
        notes = []
        prj = tmp / f"layer{n}.prj"
        if not prj.exists() or not prj.read_bytes().strip():
            notes.append(f"{PurePosixPath(shp_name).name}: no CRS (.prj {'empty' if prj.exists() else 'missing'}); "
                         "lon/lat is assumed only if every coordinate fits")
            prj.unlink(missing_ok=True)
        cpg = tmp / f"layer{n}.cpg"
        encoding, note = dbfcodes.choose((tmp / f"layer{n}.dbf").read_bytes(), cpg.read_text("latin-1")
                                         if cpg.exists() else None, asked, filename, PurePosixPath(shp_name).name)
        if note:
            notes.append(note)
        loaded = load_vector(tmp / f"layer{n}.shp", filename, "shapefile", limits, encoding=encoding)
        if encoding:
            loaded.details["encoding"] = encoding
        loaded.warnings = notes + loaded.warnings
        parts.append((PurePosixPath(shp_name).stem, loaded))
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
    details = {k: v for _, p in parts for k, v in p.details.items()}
    return Loaded(frame, np.array(geoms, dtype=object), np.array(rows), fmt, crs, notes, details=details)


# --- GDAL-read formats -------------------------------------------------------------------------------

def load_vector(path: Path, filename: str, fmt: str, limits: Limits,
                only: tuple[str, ...] | None = None, always_layer: bool = False, encoding: str | None = None) -> Loaded:
    """Through pyogrio: every layer that has features, joined with a `layer` column when there
    is more than one (GPKG tables, GPX waypoints and tracks)."""
    opts = {"encoding": encoding} if encoding else {}  # per call only: GDAL finds the driver from the content
    try:
        listed = pyogrio.list_layers(path)
        layers = [str(name) for name, geom_type in listed]
        spatial = [str(name) for name, geom_type in listed if geom_type is not None]
        layers = spatial or layers
        if only:
            layers = [name for name in layers if name in only]
        total = 0
        for layer in layers:
            total += max(pyogrio.read_info(path, layer=layer, **opts).get("features", 0), 0)
            if total > limits.max_track_points:
                raise ImportProblem(filename, f"{total:,}+ features (limit {limits.max_track_points:,})")
        parts = []
        for layer in layers:
            frame = pyogrio.read_dataframe(path, layer=layer, **opts)
            if len(frame):
                parts.append((layer, frame))
    except GDAL_ERRORS as err:  # pyogrio's DataSourceError family and GDAL's own failures
        message = scrub(first_line(err), path, filename)
        if fmt in ("geojson", "topojson") and ("JSON" in message or "json" in message):
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
            coords.check_vertices(geoms, filename, limits.max_vertices)
        attrs = pd.DataFrame(frame.drop(columns="geometry", errors="ignore"))
        if fmt == "gpx":
            attrs = attrs[[c for c in attrs.columns if attrs[c].notna().any()]]
        crs = frame.crs.to_string() if getattr(frame, "crs", None) is not None else None
        loaded.append((layer, Loaded(attrs, geoms, np.arange(1, len(frame) + 1), fmt, crs)))
    if len(loaded) == 1 and not always_layer:
        return loaded[0][1]
    return concat_layers(loaded, fmt)


# --- KML, read here ----------------------------------------------------------------------------------

def local(tag) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def child(element, name):
    return next((c for c in element if local(c.tag) == name), None)


def child_text(element, name) -> str | None:
    found = child(element, name)
    return found.text.strip() if found is not None and found.text and found.text.strip() else None


def kml_coords(element) -> list[tuple]:
    node = child(element, "coordinates")
    if node is None or not node.text:
        return []
    out = []
    for item in node.text.split():
        parts = item.split(",")
        out.append(tuple(float(p) for p in parts[:3] if p != ""))
    return out


def kml_geometry(element):
    """A shapely geometry for a KML geometry element, or None."""
    name = local(element.tag)
    if name == "Point":
        pts = kml_coords(element)
        return shapely.Point(pts[0]) if pts else None
    if name in ("LineString", "LinearRing"):
        pts = kml_coords(element)
        return shapely.LineString(pts) if len(pts) >= 2 else None
    if name == "Polygon":
        rings = []
        for boundary in element:
            if local(boundary.tag) in ("outerBoundaryIs", "innerBoundaryIs"):
                ring = child(boundary, "LinearRing")
                if ring is not None:
                    rings.append((local(boundary.tag), kml_coords(ring)))
        outer = next((r for kind, r in rings if kind == "outerBoundaryIs"), None)
        if not outer:
            return None
        return shapely.Polygon(outer, [r for kind, r in rings if kind == "innerBoundaryIs"])
    if name == "MultiGeometry":
        parts = [g for g in (kml_geometry(c) for c in element) if g is not None]
        if not parts:
            return None
        types = {g.geom_type for g in parts}
        if types == {"Point"}:
            return shapely.MultiPoint(parts)
        if types == {"LineString"}:
            return shapely.MultiLineString(parts)
        if types <= {"Polygon", "MultiPolygon"}:
            return shapely.MultiPolygon([p for g in parts for p in getattr(g, "geoms", [g])])
        return shapely.GeometryCollection(parts)
    if name == "Track":  # gx:Track: its gx:coord values as a line
        pts = [tuple(float(v) for v in c.text.split()[:3]) for c in element if local(c.tag) == "coord" and c.text]
        return shapely.LineString(pts) if len(pts) >= 2 else (shapely.Point(pts[0]) if pts else None)
    return None


GEOMETRY_TAGS = {"Point", "LineString", "LinearRing", "Polygon", "MultiGeometry", "Track"}


def load_kml(raw: bytes, filename: str, limits: Limits) -> Loaded:
    """Placemarks in document order: name, description, every ExtendedData Data and SchemaData
    SimpleData field under its own name (any script), TimeStamp as `date` and TimeSpan as
    `date`/`date_end`, and the innermost Folder's name as `layer`."""
    try:
        root = ET.fromstring(raw)
    except ET.ParseError as err:
        raise ImportProblem(filename, f"unreadable KML: {first_line(err)}") from None
    records, geoms = [], []
    default_layer = Path(filename).stem

    def walk(element, layer):
        for node in element:
            name = local(node.tag)
            if name == "Folder":
                walk(node, child_text(node, "name") or layer)
            elif name == "Document":
                walk(node, layer)
            elif name == "Placemark":
                placemark(node, layer)

    def placemark(node, layer):
        record = {"name": child_text(node, "name") or "", "description": child_text(node, "description") or ""}
        extended = child(node, "ExtendedData")
        if extended is not None:
            for item in extended.iter():
                tag = local(item.tag)
                if tag == "Data" and item.get("name"):
                    record[item.get("name")] = child_text(item, "value") or ""
                elif tag == "SimpleData" and item.get("name"):
                    record[item.get("name")] = (item.text or "").strip()
        stamp, span = child(node, "TimeStamp"), child(node, "TimeSpan")
        if stamp is not None:
            record["date"] = child_text(stamp, "when") or ""
        elif span is not None:
            record["date"] = child_text(span, "begin") or ""
            record["date_end"] = child_text(span, "end") or ""
        record["layer"] = layer
        geom = None
        for item in node:
            if local(item.tag) in GEOMETRY_TAGS:
                try:
                    geom = kml_geometry(item)
                except (ValueError, GEOSException, IndexError):  # malformed numbers or rings
                    geom = None
                break
        records.append(record)
        geoms.append(geom)

    walk(root, default_layer)
    if not records:
        raise ImportProblem(filename, "the file holds no features")
    frame = pd.DataFrame.from_records(records).fillna("")
    order = ["name", "description"] + [c for c in frame.columns if c not in ("name", "description", "layer")]
    frame = frame[order + ["layer"]]
    if frame["layer"].nunique() == 1 and frame["layer"].iat[0] == default_layer:
        frame = frame.drop(columns="layer")
    arr = np.array(geoms + [None], dtype=object)[:-1]
    coords.check_vertices(arr, filename, limits.max_vertices)
    loaded = Loaded(frame, arr, np.arange(1, len(frame) + 1), "kml", WGS84)
    for col in ("date", "date_end"):
        if col in frame.columns:
            loaded.warnings.append(f"KML {'TimeSpan end' if col == 'date_end' else 'TimeStamp/TimeSpan'} read "
                                   f"into column {col}")
            break
    return loaded


# --- CSV ---------------------------------------------------------------------------------------------

def sniff_delimiter(text: str) -> str:
    sample = text[:65536]
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
    except csv.Error:
        header = sample.split("\n", 1)[0]
        return max(",;\t|", key=header.count) if any(d in header for d in ",;\t|") else ","


def load_csv(raw: bytes, filename: str, limits: Limits, options: ReadOptions = ReadOptions()) -> Loaded:
    text, notes = decode_text(raw, filename)
    delimiter = sniff_delimiter(textlines.without_comments(text))
    preamble = textlines.find_preamble(text, delimiter)
    if preamble.lines:
        notes.append(preamble.note())
    problems: dict[int, tuple[str | None, str]] = {}
    records, rows = [], []
    reader = csv.reader(textlines.skip_lines(text, preamble.lines), delimiter=delimiter)
    comments = 0
    try:
        header = [h.strip() for h in next(reader, [])]
        if not any(header):
            raise ImportProblem(filename, "no header row")
        seen: dict[str, int] = {}
        for h in header:
            seen[h] = seen.get(h, 0) + 1
        dupes = sorted(h for h, n in seen.items() if n > 1 and h)
        if dupes:
            raise ImportProblem(filename, f"duplicate column name(s) {', '.join(dupes)}", 1 + preamble.lines)
        width = len(header)
        for row, record in enumerate(reader, start=2 + preamble.lines):
            if not "".join(record).strip():
                continue
            if preamble.comments and record and textlines.is_comment(record[0]):
                comments += 1
                continue
            if len(record) > width and any(c.strip() for c in record[width:]):
                problems[row] = (None, f"{len(record)} fields but the header has {width}")
                continue
            record = [v.strip() for v in record[:width]]
            if len(record) < width:
                record += [""] * (width - len(record))
            records.append(record)
            rows.append(row)
            if len(records) > limits.max_track_points:
                raise ImportProblem(filename, f"too many rows (limit {limits.max_track_points:,})")
    except csv.Error as err:
        raise ImportProblem(filename, f"unreadable CSV: {err}", reader.line_num) from None
    frame = pd.DataFrame(records, columns=header, dtype=object)
    frame.columns = [c if c else f"column_{i + 1}" for i, c in enumerate(frame.columns)]
    rows = np.array(rows, dtype=int)
    if comments:
        notes.append(f"skipped {comments} comment line{'s' if comments > 1 else ''} among the rows")
    if preamble.lines:
        loaded_details = {"preamble_lines": preamble.lines}
    else:
        loaded_details = {}
    if delimiter != ",":
        notes.append(f"delimiter {delimiter!r}")
    loaded = Loaded(frame, None, rows, "tsv" if delimiter == "\t" else "csv", None, notes, problems,
                    details=loaded_details)
    table_geometry(loaded, filename, options, limits)
    return loaded


def find_column(columns, names) -> str | None:
    lower = {str(c).strip().lower(): c for c in columns}
    return next((lower[n] for n in names if n in lower), None)


def table_geometry(loaded: Loaded, filename: str, options: ReadOptions, limits: Limits):
    """Points from coordinate columns (as asked, or found by coords), or shapes from a WKT or
    GeoJSON column. A bad cell is a problem on its row; a row with no coordinates gets no
    geometry (kinds that need one drop it later)."""
    frame = loaded.frame
    if options.coord_columns:
        lon, lat = options.coord_columns
        missing = [c for c in (lon, lat) if c not in frame.columns]
        if missing:
            raise ImportProblem(filename, f"no column {missing[0]!r} for the coordinates "
                                          f"(columns: {', '.join(map(str, frame.columns[:20]))})", 1)
        found = (lon, lat, "as asked")
    else:
        found = coords.find_coordinate_columns(frame)
    if found is not None:
        lon, lat, how = found
        loaded.geometry = coords.points_from_columns(frame, loaded.rows, lon, lat, loaded.problems)
        loaded.coord_columns, loaded.coord_how = (lon, lat), how
        return
    geometry = coords.geometry_column(frame)
    if geometry is None:
        return
    column, encoding = geometry
    geoms, srids = coords.geometries_from_text(frame[column], loaded.rows, column, encoding, loaded.problems,
                                               limits.max_vertices, filename)
    if len(srids) == 1:
        loaded.crs = f"EPSG:{srids.pop()}"
    loaded.geometry = geoms
    loaded.frame = frame.drop(columns=[column])


READERS = {
    "csv": read_csv,
    "geojson": read_geojson,
    "topojson": read_topojson,
    "kml": read_kml,
    "gpx": read_gpx,
    "gpkg": read_gpkg,
    "flatgeobuf": read_flatgeobuf,
    "geoparquet": read_geoparquet,
    "xls": read_xls,
}
