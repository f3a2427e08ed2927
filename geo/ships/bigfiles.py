"""AIS exports too large for the importer, imported by streaming them into the positions store.

The importer (geo.imports) reads a file whole in a worker process, within its limits (5,000,000
records, GEO_IMPORT_ROWS; 1 GB for a track CSV); what it reads goes to the workspace's track
tables and, for vessel tracks, to the positions store as well. An AIS export beyond those limits
(a CSV in public AIS export columns, `MMSI,BaseDateTime,LAT,LON,...` or their lower-case
variants, or the same in Parquet) is instead streamed chunk by chunk (geo.ships.ais.read_chunks)
straight into a batch of the positions store, in bounded memory, inside the workspace's
transaction for that batch: the batch is listed, audited and removable like any other, and a
failure anywhere leaves neither its row nor its positions.

`plan(path)` (or `plan_bytes(raw, name)` for an upload) decides cheaply, from the header and one
pass over the bytes (lines counted, SHA-256 taken), whether a file goes this way, and returns
an ImportResult of kind tracks whose `stream` names it; the workspace's `add` streams it.
"""
from __future__ import annotations

import csv
import hashlib
import io
import os
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from geo.imports import sandbox
from geo.imports.filecheck import ImportProblem, Limits
from geo.imports.importer import ImportResult
from geo.ships import ais

PARQUET_EXTS = (".parquet", ".geoparquet", ".pq")
BLOCK = 16 * 1024 * 1024
SAMPLE_ROWS = 10
# The batch's format as listed: a streamed batch's positions are in the positions store only, so the
# map reads them from there (geo.page.ships.window_tracks), window by window.
STREAMED_FORMATS = {"csv": "ais-csv", "parquet": "ais-parquet"}
DISPLAY_SECONDS = 3 * 3600  # the map's thinned level keeps a vessel's last position in each 3 hours


@dataclass
class AisStream:
    """An AIS export to stream: where its bytes are (a path, or an upload's bytes), what it holds."""

    filename: str
    format: str  # csv or parquet
    rows: int  # records (lines after the header for a CSV: an upper bound when some are blank)
    size: int  # bytes
    path: str | None = None
    data: bytes | None = None
    strict: bool = False

    @contextmanager
    def opened(self):
        """A path to read: the file itself, or the upload's bytes written to a temporary file."""
        if self.path is not None:
            yield Path(self.path)
            return
        suffix = ".parquet" if self.format == "parquet" else ".csv"
        handle, name = tempfile.mkstemp(prefix="geo-ais-", suffix=suffix)
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(self.data)
            yield Path(name)
        finally:
            os.unlink(name)


def row_limit() -> int:
    """The importer's record limit: its default, lowered by GEO_IMPORT_ROWS (geo.imports.sandbox)."""
    try:
        rows = sandbox.bounds().rows
    except ValueError:
        rows = Limits().max_track_points
    return min(Limits().max_track_points, rows)


def header_of(head: bytes) -> list[str]:
    """The first line's fields read as CSV; none when it is no line of text (a GeoPackage, a
    workbook, a zip: any binary file the importer reads in its own way)."""
    line = head.split(b"\n", 1)[0]
    if b"\0" in line:
        return []
    try:
        return next(csv.reader([line.decode("utf-8-sig", errors="replace").strip()]), [])
    except csv.Error:  # a bare carriage return or NUL inside: not a CSV header
        return []


def plan(path, filename: str | None = None, *, strict: bool = False, kind: str | None = None,
         limit: int | None = None, limits: Limits = Limits()) -> ImportResult | None:
    """An ImportResult to stream, if `path` is an AIS export beyond the importer's limits; else None
    (the importer reads it, or refuses it, as any file)."""
    path = Path(path)
    filename = filename or path.name
    if kind not in (None, "tracks") or not path.is_file():
        return None
    size = path.stat().st_size
    if path.suffix.lower() in PARQUET_EXTS:
        return parquet_plan(str(path), filename, size, strict, limit, limits, path=str(path))
    try:
        with open(path, "rb") as handle:
            head = handle.read(64 * 1024)
            if not ais.is_ais(header_of(head)):
                return None
            handle.seek(0)
            digest, lines, last = hashlib.sha256(), 0, b"\n"
            while block := handle.read(BLOCK):
                digest.update(block)
                lines += block.count(b"\n")
                last = block[-1:]
    except OSError:
        return None
    rows = lines - 1 + (last != b"\n")
    return csv_plan(head, filename, size, rows, digest.hexdigest(), strict, limit, limits, path=str(path))


def plan_bytes(raw: bytes, filename: str, *, strict: bool = False, kind: str | None = None,
               limit: int | None = None, limits: Limits = Limits()) -> ImportResult | None:
    """plan() for an upload's bytes."""
    if kind not in (None, "tracks"):
        return None
    if Path(filename).suffix.lower() in PARQUET_EXTS or raw[:4] == b"PAR1":
        return parquet_plan(pa.BufferReader(raw), filename, len(raw), strict, limit, limits, data=raw,
                            digest=hashlib.sha256(raw).hexdigest())
    head = bytes(raw[:64 * 1024])
    if not ais.is_ais(header_of(head)):
        return None
    rows = raw.count(b"\n") - 1 + (not raw.endswith(b"\n"))
    return csv_plan(head, filename, len(raw), rows, None, strict, limit, limits, data=raw)


def beyond(rows: int, size: int, byte_cap: int, limit: int | None) -> bool:
    return rows > (limit if limit is not None else row_limit()) or size > byte_cap


def csv_plan(head, filename, size, rows, digest, strict, limit, limits, path=None, data=None):
    if not beyond(rows, size, limits.track_csv_bytes, limit):
        return None
    if digest is None:
        digest = hashlib.sha256(data).hexdigest()
    stream = AisStream(filename, "csv", rows, size, path, data, strict)
    try:
        sample = pd.read_csv(io.BytesIO(head[: head.rfind(b"\n") + 1] if len(head) < size else head),
                             dtype=str, nrows=SAMPLE_ROWS, keep_default_na=False)
    except (ValueError, pd.errors.ParserError):
        sample = pd.DataFrame()
    return result_of(stream, sample, digest)


def parquet_plan(source, filename, size, strict, limit, limits, path=None, data=None, digest=None):
    try:
        handle = pq.ParquetFile(source)
    except (pa.ArrowInvalid, OSError):
        return None
    names = handle.schema_arrow.names
    found = ais.columns_of(names)
    if not (all(c in found for c in ("mmsi", "t")) and (("lon" in found and "lat" in found) or "geometry" in names)):
        return None
    rows = handle.metadata.num_rows
    if not beyond(rows, size, limits.max_bytes, limit):
        return None
    if digest is None:
        hasher = hashlib.sha256()
        with open(path, "rb") as file:
            while block := file.read(BLOCK):
                hasher.update(block)
        digest = hasher.hexdigest()
    sample = next(handle.iter_batches(batch_size=SAMPLE_ROWS, columns=[c for c in dict.fromkeys(found.values())]),
                  None)
    sample = sample.to_pandas().astype(str) if sample is not None else pd.DataFrame()
    return result_of(AisStream(filename, "parquet", rows, size, path, data, strict), sample, digest)


def result_of(stream: AisStream, sample: pd.DataFrame, digest: str) -> ImportResult:
    """The result the page previews and the workspace stores: kind tracks, a few rows as a
    sample (never stored: the workspace streams the file), and the stream itself."""
    found = ais.columns_of(sample.columns) if len(sample.columns) else {}
    frame = pd.DataFrame({
        "track_id": sample[found["mmsi"]].astype(str) if "mmsi" in found else pd.Series([], dtype=str),
        "name": sample[found["name"]].astype(str) if "name" in found else "",
        "t": pd.to_datetime(sample[found["t"]], errors="coerce", format="ISO8601", utc=True).dt.tz_localize(None)
        if "t" in found else pd.Series([], dtype="datetime64[ns]"),
        "lon": pd.to_numeric(sample[found["lon"]], errors="coerce") if "lon" in found else float("nan"),
        "lat": pd.to_numeric(sample[found["lat"]], errors="coerce") if "lat" in found else float("nan"),
    })
    frame = gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries([None] * len(frame), crs="EPSG:4326"), crs="EPSG:4326")
    note = (f"{stream.rows:,} records, beyond the importer's limit of {row_limit():,}: imported by streaming them "
            "straight into the positions store (the map draws them from there; the rows shown are the first few)")
    return ImportResult(filename=stream.filename, format=STREAMED_FORMATS[stream.format], kind="tracks", frame=frame,
                        input_crs=None, sha256=digest, warnings=[note],
                        details={"source_columns": list(sample.columns), "record_count": stream.rows,
                                 "coordinate_columns": [found.get("lon", "lon"), found.get("lat", "lat")],
                                 "date_column": found.get("t"), "date_format": "ISO 8601 (UTC)"},
                        stream=stream)


def stream_into(writer, result: ImportResult, progress=None) -> dict:
    """Read a streamed result's file into a positions BatchWriter (not committed here).
    `progress(fraction of bytes, records read)`; returns {rows, skipped} (rows: positions kept).
    Raises ImportProblem for a file with no usable positions, or for the first bad row when strict."""
    stream = result.stream
    problems: list = []
    state = {"records": 0}

    def told(fraction):
        if progress:
            progress(fraction, state["records"])

    with stream.opened() as path:
        for chunk in ais.read_chunks(path, stream.filename, progress=told, strict=stream.strict, problems=problems,
                                     records=lambda n: state.update(records=n)):
            writer.write(chunk)
    if not writer.rows:
        first = f"; first problem: row {problems[0][0]}, column {problems[0][1]}: {problems[0][2]}" if problems else ""
        raise ImportProblem(stream.filename, "no usable positions" + first)
    if progress:
        progress(1.0, state["records"])
    return {"rows": writer.rows, "skipped": [f"row {r}, column {c}: {m}" for r, c, m in problems]}
