"""One importer for every file an analyst brings, read into a GeoDataFrame in EPSG:4326 of one
known *kind*: CSV/TSV, GeoJSON, TopoJSON, GeoPackage, FlatGeobuf, GeoParquet, GPX, KML/KMZ,
and shapefiles (zipped, given by the path of the .shp with its parts beside it, or uploaded
as several parts).

Used by the CLI (`python -m geo inspect|import`) and the app's uploader alike, so both
accept and refuse exactly the same files. The work is split by concern:

- geo.imports.filecheck: the cheap checks every file passes first (size, zip members, byte-level
  estimates), standard library only; a hostile file is refused in well under a second.
- geo.imports.readers: one reader per format (`READERS`), each returning the same `Loaded` records.
- geo.imports.coords: coordinate columns, CRS, lon/lat, swapped axes.
- geo.imports.dates: dates and times, read per column and never guessed silently.
- geo.imports.recognise: the kind, and our own tables checked by the bundled data's validation.
- geo.imports.bigcsv: large track CSVs streamed in chunks.
- geo.imports.textlines (CSV preambles, GeoJSONSeq), geo.imports.sheets (Excel), geo.imports.dbfcodes
  (shapefile text encodings), geo.imports.names (column names in Russian, Ukrainian and Korean),
  geo.imports.edges (coordinates at ±180/±90, swapped axes per feature), geo.imports.frontlayers
  (front exports split by status), geo.imports.sandbox (every file read in a worker, within limits).

The rules:

- Every refusal is one ImportProblem whose str() is a single line naming the file (and the
  row and column where there is one). Readers convert the exceptions their libraries raise
  for bad input; anything else is a bug and propagates (the CLI and the page turn it into
  one line, tests see it as what it is).
- Rows are counted as a spreadsheet shows them: in a CSV the header is row 1 and the first
  record row 2; in other formats the row is the feature's position, from 1.
- A bad row is skipped and reported (`row N, column C: reason`), unless strict, where the
  first bad row fails the whole import. An import is all or nothing.
- `preview()` returns what would be imported (format, kind, count, CRS, bounds, the date
  column and how it was read, warnings, skipped rows) with the same overrides.

Kinds: claims, events (ours, ACLED- or UCDP-GED-shaped), places, front (dated front-line or
control snapshots), tracks (timestamped points of vessels or trains), generic, and vessels (a
vessel list with sanctions, OpenSanctions' maritime CSV or FollowTheMoney JSON lines, read by
geo.imports.vesselfiles; a table without geometry).
"""
from __future__ import annotations

import csv
import hashlib
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.imagery.headers import ALL_WORLD_EXTS, IMAGE_EXTS
from geo.imports import bigcsv, coords, images, readers, recognise, sheets, textlines, vesselfiles
from geo.imports.coords import WGS84, present_mask
from geo.imports.dates import date_from_name, parse_date, parse_dates, parse_times  # noqa: F401  (the old names)
from geo.imports.filecheck import SHAPEFILE_PARTS, ImportProblem, Limits, MB, decode_text, read_bytes, sniff  # noqa: F401
from geo.imports.readers import Loaded, ReadOptions, extract, load  # noqa: F401
from geo.imports.recognise import KindOptions, guess_kind  # noqa: F401

KINDS = ("claims", "events", "places", "front", "tracks", "generic", "vessels", "images")


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
    details: dict = field(default_factory=dict)  # date column and format, coordinate columns, track id column
    images: list = field(default_factory=list)  # kind images: geo.imagery.raster.Image each (frame: their footprints)
    stream: object = None  # an AIS export beyond the limits, streamed by the workspace (geo.ships.bigfiles)

    def summary(self) -> dict:
        geoms = self.frame.geometry
        present = geoms[geoms.notna() & ~geoms.is_empty] if len(geoms) else geoms
        bounds = [round(float(v), 6) for v in present.total_bounds] if len(present) else None
        if bounds is None and self.kind == "tracks" and len(self.frame):  # streamed tracks: lon/lat only
            lon, lat = self.frame["lon"], self.frame["lat"]
            bounds = [round(float(v), 6) for v in (lon.min(), lat.min(), lon.max(), lat.max())]
        if self.stream is not None:  # its frame is a sample: the count is the file's, the bounds unknown until read
            bounds = None
        return {
            "file": self.filename, "format": self.format, "kind": self.kind,
            "feature_count": int(self.stream.rows if self.stream is not None else len(self.frame)),
            "geometry_types": sorted(set(present.geom_type)) if len(present) else
            (["Point"] if self.kind == "tracks" and len(self.frame) else []),
            "input_crs": self.input_crs,
            "bounds_lonlat": bounds,
            "columns": [c for c in self.frame.columns if c != "geometry"],
            "date_column": self.details.get("date_column"),
            "date_format": self.details.get("date_format"),
            "coordinate_columns": self.details.get("coordinate_columns"),
            "skipped_rows": len(self.skipped),
            "warnings": list(self.warnings),
        }


@dataclass(frozen=True)
class Options:
    """Everything an analyst may choose instead of what the importer finds."""

    kind: str | None = None
    strict: bool = False
    assume_crs: str | None = None
    date_column: str | None = None
    dayfirst: bool | None = None  # None: decided from the values
    coord_columns: tuple[str, str] | None = None  # (lon, lat)
    swap_axes: bool = False
    sheet: str | None = None  # a workbook's sheet (default: the first that holds a table)
    encoding: str | None = None  # a shapefile's text encoding (default: its .cpg if right, else detected)
    image_date: str | None = None  # an image's date (YYYY-MM-DD), instead of its metadata's or name's
    image_source: str | None = None  # an image's source and licence, as the user gives them
    image_licence: str | None = None


# --- entry points ------------------------------------------------------------------------------------

def read_file(source, filename: str | None = None, kind: str | None = None, limits: Limits = Limits(),
              strict: bool = False, assume_crs: str | None = None, *, date_column: str | None = None,
              dayfirst: bool | None = None, coord_columns: tuple[str, str] | None = None, swap_axes: bool = False,
              progress=None, sheet: str | None = None, encoding: str | None = None, image_date: str | None = None,
              image_source: str | None = None, image_licence: str | None = None) -> ImportResult:
    """Read a path or bytes; raise ImportProblem (one line) for anything unusable.

    A path to a .shp (or its .dbf/.shx) is read with the parts beside it, a path to an image with
    its world file, a .kml with the overlay images beside it. `progress(fraction)` is called with
    0..1 as the file is read (often, for a large track CSV; 1.0 at the end)."""
    opts = Options(kind, strict, assume_crs, date_column, dayfirst, tuple(coord_columns) if coord_columns else None,
                   swap_axes, sheet or None, encoding or None, image_date or None, image_source or None,
                   image_licence or None)
    if isinstance(source, (str, Path)) and Path(source).suffix.lower() in (".shp", ".shx", ".dbf"):
        return read_parts(shapefile_siblings(Path(source), limits), filename=filename, limits=limits,
                          progress=progress, **options_kwargs(opts))
    filename = filename or (Path(source).name if isinstance(source, (str, Path)) else "upload")
    check_kind(opts.kind, filename)
    if isinstance(source, (str, Path)) and Path(source).suffix.lower() in IMAGE_EXTS:
        return guarded(lambda: done(ImportResult(**images.read_path(Path(source), filename, limits, opts)), progress),
                       filename)
    raw = read_bytes(source, filename, limits)
    if isinstance(source, (str, Path)) and Path(source).suffix.lower() == ".kml" and images.kml_has_overlay(raw) \
            and opts.kind in (None, images.KIND):
        return guarded(lambda: done(ImportResult(**images.read_kml_path(Path(source), raw, filename, limits, opts)),
                                    progress), filename)
    return guarded(lambda: _read(raw, filename, limits, opts, progress), filename)


def done(result: ImportResult, progress) -> ImportResult:
    if progress:
        progress(1.0)
    return result


def read_parts(parts, filename: str | None = None, limits: Limits = Limits(), progress=None,
               **options) -> ImportResult:
    """Several files imported as one: a shapefile's parts (a multi-file upload, as (name, bytes)
    pairs or a {name: bytes} dict). One part alone is read as any file."""
    parts = dict(parts)
    opts = Options(**options)
    if len(parts) > 1 and not any(Path(n).suffix.lower() == ".shp" for n in parts) and \
            any(images.is_image_bytes(bytes(raw[:16])) for raw in parts.values()):
        name = filename or next(n for n, raw in parts.items() if images.is_image_bytes(bytes(raw[:16])))
        check_kind(opts.kind, name)
        digest = hashlib.sha256()
        for part in sorted(parts):
            digest.update(part.encode() + b"\0" + bytes(parts[part]))
        if sum(len(raw) for raw in parts.values()) > limits.image_bytes:
            raise ImportProblem(name, f"the files are {sum(len(r) for r in parts.values()) / MB:,.1f} MB "
                                      f"(limit {limits.image_bytes / MB:,.0f} MB for an image)")
        return guarded(lambda: done(ImportResult(**images.read_parts_images(
            {n: bytes(r) for n, r in parts.items()}, name, limits, opts, digest.hexdigest())), progress), name)
    if len(parts) == 1:
        (name, raw), = parts.items()
        return read_file(raw, filename=filename or name, limits=limits, progress=progress, **options_kwargs(opts))
    shp = [n for n in parts if Path(n).suffix.lower() == ".shp"]
    filename = filename or (Path(shp[0]).name if len(shp) == 1 else f"{len(parts)} files")
    check_kind(opts.kind, filename)
    if not shp:
        raise ImportProblem(filename, "several files given, but no .shp among them: only a shapefile's parts "
                                      "(.shp, .shx, .dbf, .prj) are imported together; import other files one by one")
    total = sum(len(raw) for raw in parts.values())
    if total > limits.max_bytes:
        raise ImportProblem(filename, f"the parts are {total / MB:,.1f} MB (limit {limits.max_bytes / MB:,.0f} MB)")
    others = [n for n in parts if Path(n).suffix.lower() not in SHAPEFILE_PARTS + (".xml", ".sbn", ".sbx", ".qix",
                                                                                    ".qmd", ".shp.xml")]
    digest = hashlib.sha256()
    for name in sorted(parts):
        digest.update(name.encode() + b"\0" + bytes(parts[name]))

    def run():
        with tempfile.TemporaryDirectory(prefix="geo-import-") as tmp:
            loaded = readers.load_shapefiles(readers.shapefile_groups(parts), filename, Path(tmp), limits,
                                             "among the files given", opts.encoding)
            if others:
                loaded.warnings.append(f"ignored {', '.join(sorted(others))}: not part of a shapefile")
            result = finish(loaded, filename, digest.hexdigest(), limits, opts)
        if progress:
            progress(1.0)
        return result
    return guarded(run, filename)


def preview(source=None, filename: str | None = None, *, parts=None, limits: Limits = Limits(), **options) -> dict:
    """What the importer finds, without storing anything: the summary of read_file() (format,
    kind, feature count, CRS, bounds, date column and how it was read, warnings, skipped rows),
    plus the columns an analyst may pick from. Takes the same overrides as read_file()."""
    result = read_parts(parts, filename=filename, limits=limits, **options) if parts is not None else \
        read_file(source, filename=filename, limits=limits, **options)
    return preview_of(result)


def preview_of(result: ImportResult) -> dict:
    """preview()'s dict for a result already read (the page keeps the result to import it)."""
    summary = result.summary()
    summary["skipped"] = result.skipped[:50]
    summary["kinds"] = list(KINDS)
    summary["source_columns"] = result.details.get("source_columns", summary["columns"])
    summary["swap_suggested"] = any("swapped" in w and "as asked" not in w for w in result.warnings)
    summary["sample_rows"] = sample_rows(result.frame)
    for key in ("sheet", "sheets", "header_row", "encoding", "preamble_lines", "undated_rows", "layers",
                "record_count"):
        if key in result.details:
            summary[key] = result.details[key]
    return summary


def sample_rows(frame, n: int = 10) -> list[dict]:
    """The first rows as plain text, for a preview table."""
    head = frame.drop(columns=frame.geometry.name).head(n) if "geometry" in frame.columns else frame.head(n)
    names = [str(k) for k in head.columns]  # rows as arrays: to_dict("records") is slow for wide frames
    return [{k: cell_text(v) for k, v in zip(names, row)} for row in head.to_numpy(dtype=object)]


def cell_text(value) -> str:
    if value is None or value is pd.NaT or (isinstance(value, float) and value != value):
        return ""
    if isinstance(value, pd.Timestamp):
        return f"{value:%Y-%m-%d}" if value == value.normalize() else value.isoformat(sep=" ")
    return str(value)


def sheet_names(parts) -> list[str]:
    """A workbook's sheet names, for choosing a sheet when a preview failed; [] for other files."""
    parts = dict(parts)
    if len(parts) != 1:
        return []
    (name, raw), = parts.items()
    if not sheets.is_xlsx(bytes(raw)):
        return []
    try:
        return [n for n, _ in sheets.open_sheets(bytes(raw), name, Limits(), "xlsx")]
    except ImportProblem:
        return []


def header_columns(parts, sheet: str | None = None) -> list[str]:
    """A CSV's column names from its header line (below any preamble), or a workbook sheet's
    header row, for choosing columns when a preview failed before they were known; [] for other
    formats or an unreadable header."""
    parts = dict(parts)
    if len(parts) != 1:
        return []
    (name, raw), = parts.items()
    if sheets.is_xlsx(bytes(raw)):
        try:
            return [c for c in sheets.load_sheet(bytes(raw), name, Limits(), "xlsx", sheet)[0]
                    if not c.startswith("column_")]
        except ImportProblem:
            return []
    try:
        if sniff(bytes(raw[:65536]), name) != "csv":
            return []
        text, _ = decode_text(bytes(raw[:65536]), name)
    except ImportProblem:
        return []
    delimiter = readers.sniff_delimiter(textlines.without_comments(text))
    lines = text.splitlines()
    line = lines[min(textlines.find_preamble(text, delimiter).lines, len(lines) - 1)] if lines else ""
    return [c.strip() for c in next(csv.reader([line], delimiter=delimiter), []) if c.strip()]


def options_kwargs(opts: Options) -> dict:
    return {"kind": opts.kind, "strict": opts.strict, "assume_crs": opts.assume_crs, "date_column": opts.date_column,
            "dayfirst": opts.dayfirst, "coord_columns": opts.coord_columns, "swap_axes": opts.swap_axes,
            "sheet": opts.sheet, "encoding": opts.encoding, "image_date": opts.image_date,
            "image_source": opts.image_source, "image_licence": opts.image_licence}


def check_kind(kind, filename):
    if kind is not None and kind not in KINDS:
        raise ImportProblem(filename, f"unknown kind {kind!r}; use one of {', '.join(KINDS)}")


def guarded(run, filename):
    """Only running out of memory becomes a refusal here; every other failure is either an
    ImportProblem already or a bug, which must not be dressed up as a bad file."""
    try:
        return run()
    except MemoryError:
        raise ImportProblem(filename, "not enough memory to read this file") from None


def shapefile_siblings(path: Path, limits: Limits) -> dict[str, bytes]:
    """provinces.shp and the provinces.shx/.dbf/.prj/.cpg beside it (any letter case)."""
    name = path.name
    folder = path.parent
    try:
        if not path.exists():
            raise ImportProblem(name, "cannot open the file (No such file or directory)")
        stem = path.stem.lower()
        parts, total = {}, 0
        for sibling in folder.iterdir():
            if sibling.stem.lower() == stem and sibling.suffix.lower() in SHAPEFILE_PARTS and sibling.is_file():
                total += sibling.stat().st_size
                if total > limits.max_bytes:
                    raise ImportProblem(name, f"the shapefile's parts exceed {limits.max_bytes / MB:,.0f} MB")
                parts[sibling.name] = sibling.read_bytes()
    except OSError as err:
        raise ImportProblem(name, f"cannot open the file ({err.strerror or err})") from None
    if not any(Path(n).suffix.lower() == ".shp" for n in parts):
        raise ImportProblem(name, f"no {path.stem}.shp beside it")
    return parts


def _read(raw: bytes, filename: str, limits: Limits, opts: Options, progress) -> ImportResult:
    if Path(filename).suffix.lower() in ALL_WORLD_EXTS:
        raise ImportProblem(filename, "a world file alone places nothing: import it with its image (beside it on "
                                      "the command line; on the page, dropped together with it or zipped with it)")
    fmt = sniff(raw, filename)
    if fmt == "image" or (fmt == "kml" and opts.kind in (None, images.KIND) and images.kml_has_overlay(raw)) or \
            (fmt == "zip" and not sheets.is_xlsx(raw) and images.zip_image_kind(raw, filename, limits)):
        return done(ImportResult(**images.read_bytes_source(raw, filename, limits, opts, fmt)), progress)
    if opts.kind == images.KIND:
        raise ImportProblem(filename, "not an image: images are GeoTIFFs, PNGs or JPEGs with a world file, and "
                                      "KML/KMZ GroundOverlays; import this file as another kind")
    digest = hashlib.sha256(raw).hexdigest()
    if opts.kind in (None, "vessels"):
        vessel_format = vesselfiles.recognise(raw, filename)
        if vessel_format is None and opts.kind == "vessels":
            raise ImportProblem(filename, "not a vessel list: expected OpenSanctions' maritime CSV (columns "
                                          f"{', '.join(vesselfiles.MARITIME_COLUMNS)}) or FollowTheMoney entities, "
                                          "one JSON object per line")
        if vessel_format is not None:
            result = vessels_result(raw, filename, digest, limits, opts, vessel_format)
            if progress:
                progress(1.0)
            return result
    if bigcsv.worth_streaming(raw, filename, opts):
        streamed = bigcsv.read_tracks(raw, filename, limits, opts, progress)
        if streamed is not None:
            frame, loaded = streamed
            return result_of(frame, loaded, filename, digest, "tracks", None, opts)
    if len(raw) > limits.max_bytes:
        raise ImportProblem(filename, f"file is {len(raw) / MB:,.1f} MB (limit {limits.max_bytes / MB:,.0f} MB; "
                                      "only a track CSV may be larger)")
    with tempfile.TemporaryDirectory(prefix="geo-import-") as tmp:
        loaded = load(raw, filename, Path(tmp), limits, ReadOptions(opts.coord_columns, opts.kind, opts.sheet,
                                                                    opts.encoding))
        result = finish(loaded, filename, digest, limits, opts)
    if progress:
        progress(1.0)
    return result


def vessels_result(raw: bytes, filename: str, digest: str, limits: Limits, opts: Options, fmt: str) -> ImportResult:
    """A vessel list as an ImportResult of kind vessels: one row per vessel, no geometry."""
    if len(raw) > limits.max_bytes:
        raise ImportProblem(filename, f"file is {len(raw) / MB:,.1f} MB (limit {limits.max_bytes / MB:,.0f} MB)")
    table, warnings, problems = vesselfiles.read(raw, filename, fmt)
    if len(table) > limits.max_features:
        raise ImportProblem(filename, f"{len(table):,} vessels (limit {limits.max_features:,})")
    loaded = Loaded(frame=table, geometry=None, rows=table["row"].to_numpy(), format=fmt, crs=None,
                    warnings=warnings, problems=problems)
    loaded.details["vessel_format"] = vesselfiles.FORMATS[fmt]
    if table["sanction_date"].notna().any():
        loaded.details.update(date_column="sanction_date", date_format="YYYY-MM-DD")
    frame = gpd.GeoDataFrame(table.drop(columns="row"), geometry=gpd.GeoSeries([None] * len(table), crs=WGS84),
                             crs=WGS84)
    return result_of(frame, loaded, filename, digest, "vessels", None, opts)


def finish(loaded: Loaded, filename: str, digest: str, limits: Limits, opts: Options) -> ImportResult:
    """Recognise, bring to lon/lat, normalise, and apply the strict / all-or-nothing rules."""
    if opts.kind == "vessels":  # a vessel list is read whole by vessels_result, never as features
        raise ImportProblem(filename, f"not a vessel list (it reads as {loaded.format}): expected OpenSanctions' "
                                      "maritime CSV or FollowTheMoney entities, one JSON object per line")
    geom_types = geometry_types(loaded.geometry)
    kind = opts.kind or guess_kind(loaded, geom_types, filename)
    cap = limits.max_track_points if kind == "tracks" else limits.max_features
    if len(loaded.frame) > cap:
        raise ImportProblem(filename, f"{len(loaded.frame):,} records (limit {cap:,} for {kind})")
    source_columns = [str(c) for c in loaded.frame.columns]
    if loaded.geometry is None and kind in ("front", "tracks", "generic"):
        raise ImportProblem(filename, "no geometry: no coordinate columns (such as lat/lon, latitude/longitude, "
                                      "Facility Latitude, y/x) and no WKT or GeoJSON column found; name the "
                                      "coordinate columns: on the page as Longitude and Latitude under 'Change what "
                                      "was found', on the command line with --coords LON,LAT")
    frame, input_crs, notes = coords.to_lonlat(loaded, filename, kind, limits.max_vertices, opts.assume_crs,
                                               opts.swap_axes)
    loaded.warnings += notes
    frame = recognise.NORMALISERS[kind](frame, loaded, filename, KindOptions(opts.date_column, opts.dayfirst))
    loaded.details["source_columns"] = source_columns
    return result_of(frame, loaded, filename, digest, kind, input_crs, opts)


def result_of(frame, loaded: Loaded, filename, digest, kind, input_crs, opts: Options) -> ImportResult:
    problems = sorted(loaded.problems.items())
    if problems and opts.strict:
        row, (column, message) = problems[0]
        more = f" (and {len(problems) - 1} more bad rows)" if len(problems) > 1 else ""
        raise ImportProblem(filename, message + more, row, column or "-")
    if frame.empty:
        why = f"; first problem: {format_problem(*problems[0])}" if problems else ""
        hint = next((f"; {w}" for w in loaded.warnings if "swapped" in w), "")
        raise ImportProblem(filename, f"no usable {kind} records{why}{hint}")
    skipped = [format_problem(row, prob) for row, prob in problems]
    if skipped:
        loaded.warnings.append(f"skipped {len(skipped)} bad row(s); first: {skipped[0]}")
    if loaded.coord_columns:
        loaded.details["coordinate_columns"] = list(loaded.coord_columns)
    return ImportResult(filename=filename, format=loaded.format, kind=kind, frame=frame.reset_index(drop=True),
                        input_crs=input_crs, sha256=digest, warnings=loaded.warnings, skipped=skipped,
                        details=loaded.details)


def geometry_types(geoms) -> list[str]:
    if geoms is None:
        return []
    arr = np.asarray(geoms, dtype=object)
    ids = np.unique(shapely.get_type_id(arr[present_mask(arr)]))
    return sorted(GEOM_NAMES[i] for i in ids if i >= 0)


GEOM_NAMES = {0: "Point", 1: "LineString", 2: "LinearRing", 3: "Polygon", 4: "MultiPoint", 5: "MultiLineString",
              6: "MultiPolygon", 7: "GeometryCollection"}


def format_problem(row, problem) -> str:
    column, message = problem
    return f"row {row}, column {column or '-'}: {message}"
