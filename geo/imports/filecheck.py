"""The cheap checks every file passes before anything heavy is imported or parsed.

Standard library only, so the CLI can refuse a hostile file (zip bomb, path traversal,
a polygon of millions of vertices, binary garbage, truncated JSON, an empty file or an
unreadable encoding) within a fraction of a second of starting, before pandas, GDAL or
PROJ are even loaded. geo.imports.importer runs the same checks again on every read.
"""
from __future__ import annotations

import re
import stat
import zipfile
import io
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

MB = 1024 * 1024


@dataclass(frozen=True)
class Limits:
    """What one import may hold. max_bytes caps the file and everything a zip unpacks to."""

    max_bytes: int = 200 * MB
    max_features: int = 2_000_000
    max_track_points: int = 5_000_000
    max_vertices: int = 1_000_000  # in any one geometry
    max_zip_members: int = 1_000
    max_track_csv_bytes: int | None = None  # a track CSV (streamed) may be this large; default 5 x max_bytes

    @property
    def track_csv_bytes(self) -> int:
        return self.max_track_csv_bytes if self.max_track_csv_bytes is not None else 5 * self.max_bytes


class ImportProblem(Exception):
    """The file cannot be imported. str() is one line: `file: [row N, column C: ]message`."""

    def __init__(self, filename: str, message: str, row: int | None = None, column: str | None = None):
        self.filename, self.row, self.column = filename, row, column
        self.message = " ".join(str(message).split())
        where = "" if row is None else f"row {row}, " + (f"column {column}: " if column else "")
        super().__init__(f"{filename}: {where}{self.message}")




def first_line(err) -> str:
    lines = [l for l in str(err).splitlines() if l.strip()]
    return lines[0][:300] if lines else type(err).__name__




def too_big(size: int, filename: str, limits: Limits) -> ImportProblem:
    more = f"; a track CSV may have up to {limits.track_csv_bytes / MB:,.0f} MB" \
        if Path(filename).suffix.lower() in TEXT_EXTS else ""
    return ImportProblem(filename, f"file is {size / MB:,.1f} MB (limit {limits.max_bytes / MB:,.0f} MB{more})")


def byte_cap(filename: str, limits: Limits) -> int:
    """CSV/TSV files may be larger (up to track_csv_bytes): the importer streams track files
    and refuses any other CSV above max_bytes once it has seen the header."""
    if Path(filename).suffix.lower() in TEXT_EXTS:
        return max(limits.max_bytes, limits.track_csv_bytes)
    return limits.max_bytes


def read_bytes(source, filename: str, limits: Limits) -> bytes:
    cap = byte_cap(filename, limits)
    if isinstance(source, (bytes, bytearray, memoryview)):
        raw = bytes(source)
    else:
        path = Path(source)
        try:
            size = path.stat().st_size
            if not path.is_file():
                raise ImportProblem(filename, "not a regular file")
            if size > cap:
                raise too_big(size, filename, limits)
            raw = path.read_bytes()
        except OSError as err:
            raise ImportProblem(filename, f"cannot open the file ({err.strerror or err})") from None
    if len(raw) > cap:
        raise too_big(len(raw), filename, limits)
    if not raw.strip():
        raise ImportProblem(filename, "file is empty")
    return raw




TEXT_EXTS = (".csv", ".tsv", ".txt", ".tab")
JSON_EXTS = (".geojson", ".json", ".topojson")
SHAPEFILE_PARTS = (".shp", ".shx", ".dbf", ".prj", ".cpg")


SUPPORTED = ("CSV, TSV, Excel (.xlsx), GeoJSON, GeoJSONSeq, TopoJSON, GeoPackage, FlatGeobuf, GeoParquet, GPX, KML, KMZ, or a shapefile "
             "(its parts together, or zipped)")
SHP_MAGIC = b"\x00\x00\x27\x0a"


def sniff(raw: bytes, filename: str) -> str:
    """The format from the bytes themselves; the extension only breaks ties and words errors."""
    ext = Path(filename).suffix.lower()
    if raw[:4] in (b"PK\x03\x04", b"PK\x05\x06"):
        return "zip"
    if raw[:16] == b"SQLite format 3\x00":
        return "gpkg"
    if raw[:3] == b"fgb" and raw[3:4] == b"\x03":
        return "flatgeobuf"
    if raw[:4] == b"PAR1":
        return "geoparquet"
    if raw[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" and ext in (".xls", ".xlt", ""):  # Excel 97-2003
        return "xls"
    head = strip_bom(raw[:65536]).lstrip()
    if head[:1] == b"\x1e":  # GeoJSONSeq with record separators (RFC 8142)
        return "geojson"
    if head[:1] in (b"{", b"["):
        if re.search(rb'"type"\s*:\s*"Topology"', head):
            return "topojson"
        return "geojson"
    if head[:1] == b"<":
        if re.search(rb"<(\w+:)?kml[\s>]", head[:65536]):
            return "kml"
        if re.search(rb"<(\w+:)?gpx[\s>]", head[:65536]):
            return "gpx"
        raise ImportProblem(filename, f"an XML file that is neither KML nor GPX (supported: {SUPPORTED})")
    if raw[:4] == SHP_MAGIC or ext in (".shp", ".shx", ".dbf"):
        raise ImportProblem(filename, "a shapefile comes in several parts: give the path of the .shp with its "
                                      ".shx, .dbf and .prj beside it, upload the parts together, or zip them")
    if looks_binary(raw):
        raise ImportProblem(filename, f"binary content that is not a supported format (supported: {SUPPORTED})")
    if ext in JSON_EXTS:
        raise ImportProblem(filename, "not JSON: the file does not start with '{'")
    if ext in (".kml",):
        raise ImportProblem(filename, "not KML: no <kml> element at the start of the file")
    return "csv"


def strip_bom(raw: bytes) -> bytes:
    for bom in (b"\xef\xbb\xbf",):
        if raw.startswith(bom):
            return raw[len(bom):]
    return raw


def looks_binary(raw: bytes) -> bool:
    head = raw[:8192]
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return False  # UTF-16 text with a BOM (Excel's "Unicode text")
    if b"\x00" in head:
        return True
    controls = sum(1 for b in head if b < 32 and b not in (9, 10, 12, 13))
    return controls > len(head) * 0.05




def unsafe_member(name: str) -> str | None:
    """Why a zip member's name must not be extracted, or None."""
    if "\x00" in name:
        return "contains a NUL byte"
    norm = name.replace("\\", "/")
    if norm.startswith("/") or re.match(r"^[A-Za-z]:", norm):
        return "is an absolute path"
    if ".." in PurePosixPath(norm).parts:
        return "climbs out of the folder (path traversal)"
    return None




def precheck_geojson(raw: bytes, filename: str, limits: Limits):
    """Refuse truncated JSON, too many features and oversized geometries from the bytes alone:
    GDAL takes seconds to parse (and then reject) a many-million-vertex polygon."""
    tail = raw.rstrip()[-1:]
    if tail not in (b"}", b"]"):
        raise ImportProblem(filename, "truncated JSON: the file ends before the data does")
    features, cap = raw.count(b'"Feature"'), max(limits.max_features, limits.max_track_points)
    if features > cap:
        raise ImportProblem(filename, f"about {features:,} features (limit {cap:,})")
    if raw.count(b"[") <= limits.max_vertices:
        return
    largest = largest_segment(raw, rb'"coordinates"\s*:', lambda seg: seg.count(b"["), 5 * limits.max_vertices)
    if largest > limits.max_vertices:
        raise ImportProblem(filename, f"refused: a geometry has about {largest:,} vertices "
                                      f"(limit {limits.max_vertices:,})")


def precheck_kml(raw: bytes, filename: str, limits: Limits):
    placemarks, cap = raw.count(b"<Placemark"), max(limits.max_features, limits.max_track_points)
    if placemarks > cap:
        raise ImportProblem(filename, f"about {placemarks:,} placemarks (limit {cap:,})")
    largest = largest_segment(raw, rb"<(?:\w+:)?coordinates\b", lambda seg: len(seg.split()),
                              4 * limits.max_vertices)
    if largest > limits.max_vertices:
        raise ImportProblem(filename, f"refused: a geometry has about {largest:,} vertices "
                                      f"(limit {limits.max_vertices:,})")


def precheck_gpx(raw: bytes, filename: str, limits: Limits):
    points = raw.count(b"<trkpt") + raw.count(b"<rtept") + raw.count(b"<wpt")
    if points > max(limits.max_features, limits.max_track_points):
        raise ImportProblem(filename, f"about {points:,} points (limit {max(limits.max_features, limits.max_track_points):,})")


def largest_segment(raw: bytes, start: bytes, count, min_bytes: int) -> int:
    """The largest vertex estimate among geometries, looking only at segments (from one
    coordinates marker to the next) long enough to hold more than the limit."""
    bounds = [m.start() for m in re.finditer(start, raw)] + [len(raw)]
    return max((count(raw[a:b]) for a, b in zip(bounds, bounds[1:]) if b - a > min_bytes), default=0)




def decode_text(raw: bytes, filename: str) -> tuple[str, list[str]]:
    """UTF-8 (with or without BOM), UTF-16 with a BOM, else Windows-1252 with a warning."""
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return raw.decode("utf-16"), []
        except UnicodeDecodeError:
            raise ImportProblem(filename, "unreadable encoding: broken UTF-16") from None
    try:
        return raw.decode("utf-8-sig"), []
    except UnicodeDecodeError as err:
        utf8_error = err
    try:
        return raw.decode("cp1252"), ["decoded as Windows-1252 (cp1252): the file is not UTF-8"]
    except UnicodeDecodeError:
        line = raw[: utf8_error.start].count(b"\n") + 1
        raise ImportProblem(filename, f"unreadable encoding: neither UTF-8 nor Windows-1252 "
                                      f"(first bad byte on line {line})") from None


def check_zip(raw: bytes, filename: str, limits: Limits) -> tuple[zipfile.ZipFile, list[zipfile.ZipInfo]]:
    """The archive and its members, once every member name, type and declared size is
    known to be safe. Nothing is extracted here."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(raw))
        infos = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError) as err:
        raise ImportProblem(filename, f"damaged or truncated zip ({first_line(err)})") from None
    if len(infos) > limits.max_zip_members:
        raise ImportProblem(filename, f"zip holds {len(infos):,} members (limit {limits.max_zip_members:,})")
    total = 0
    for info in infos:
        why = unsafe_member(info.filename)
        if why:
            raise ImportProblem(filename, f"refused: zip member {info.filename[:80]!r} {why}")
        if stat.S_ISLNK(info.external_attr >> 16):
            raise ImportProblem(filename, f"refused: zip member {info.filename[:80]!r} is a symbolic link")
        if info.flag_bits & 0x1:
            raise ImportProblem(filename, f"zip member {info.filename[:80]!r} is encrypted")
        total += info.file_size
    if total > limits.max_bytes:
        raise ImportProblem(filename, f"refused: zip would unpack to {total / MB:,.0f} MB "
                                      f"(limit {limits.max_bytes / MB:,.0f} MB; a zip bomb?)")
    return archive, infos


def refuse_views(con, filename: str):
    """Refuse a GeoPackage (an open sqlite3 connection to it) whose layers, or whose own gpkg_ and
    rtree_ tables, are views: SQL that would run when read. Only sqlite_master, and
    gpkg_contents once it is known to be a table, are read here, so no SQL of the file runs."""
    import sqlite3
    try:
        kinds = dict(con.execute("SELECT name, type FROM sqlite_master WHERE type IN ('table', 'view')"))
        layers = [str(r[0]) for r in con.execute("SELECT table_name FROM gpkg_contents")] \
            if kinds.get("gpkg_contents") == "table" else []
    except sqlite3.DatabaseError:
        raise ImportProblem(filename, "unreadable gpkg: damaged: not a valid SQLite database") from None
    views = [n for n, kind in kinds.items()
             if kind == "view" and (n in layers or n.lower().startswith(("gpkg", "rtree")))]
    if views:
        name = "".join(ch if ch.isprintable() else f"\\u{ord(ch):04x}" for ch in views[0][:80])
        raise ImportProblem(filename, f"refused: layer {name!r} is a view (SQL stored in the file, which runs "
                                      "when it is read); export it as a table and import that")


def precheck_gpkg(raw: bytes, filename: str):
    """refuse_views on the bytes, before anything else opens the file."""
    import sqlite3
    con = sqlite3.connect(":memory:")
    try:
        con.deserialize(raw)
        refuse_views(con, filename)
    except sqlite3.DatabaseError:
        raise ImportProblem(filename, "unreadable gpkg: damaged: not a valid SQLite database") from None
    finally:
        con.close()


def is_ftm_lines(raw: bytes) -> bool:
    """Whether the file's first line is a FollowTheMoney entity (an object with a schema and
    properties, not a GeoJSON feature): such a file is one entity per line, not one JSON document."""
    head = strip_bom(raw[:65536]).lstrip()
    first = head.split(b"\n", 1)[0]
    return first[:1] == b"{" and re.search(rb'"schema"\s*:\s*"', first) is not None and \
        b'"properties"' in first and re.search(rb'"type"\s*:\s*"(Feature|FeatureCollection|Topology)"', first) is None


def check(raw: bytes, filename: str, limits: Limits) -> str:
    """Every check that needs no parsing; returns the sniffed format."""
    fmt = sniff(raw, filename)
    if fmt in ("geojson", "topojson") and is_ftm_lines(raw):
        return "ftm"  # read line by line by geo.imports.vesselfiles, which names a bad line
    if fmt == "zip":
        check_zip(raw, filename, limits)
    elif fmt in ("geojson", "topojson"):
        precheck_geojson(raw, filename, limits)
    elif fmt == "kml":
        precheck_kml(raw, filename, limits)
    elif fmt == "gpx":
        precheck_gpx(raw, filename, limits)
    elif fmt == "gpkg":
        precheck_gpkg(raw, filename)
    elif fmt == "csv":
        decode_text(raw, filename)
    return fmt


def check_file(path, limits: Limits | None = None) -> bytes:
    """Read and check a file; the bytes for geo.imports.importer.read_file, or ImportProblem."""
    raw = read_bytes(path, Path(path).name, limits or Limits())
    check(raw, Path(path).name, limits or Limits())
    return raw
