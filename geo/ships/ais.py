"""Public AIS exports, read in chunks straight into the positions store.

Columns are found by name, in any letter case: MarineCadastre/NOAA's
`MMSI,BaseDateTime,LAT,LON,SOG,COG,Heading,VesselName,IMO,CallSign,VesselType,...`, their later
lower-case spelling (`mmsi,base_date_time,latitude,longitude,sog,cog,...,vessel_name,imo,...`)
and the same in a Parquet or GeoParquet file (where a WKB point geometry may stand for lon/lat).
IMO values such as `IMO9234567` keep their digits.

`read_chunks` yields frames of at most `chunk_rows` positions (mmsi, imo, name, t, lon, lat, sog,
cog) and keeps memory to a few chunks whatever the file's size; `import_file` writes them to a
batch of the positions store, committed only when the whole file has been read (all or nothing).
A bad row (an empty MMSI, a time or coordinate that cannot be read, a coordinate out of range,
a line with the wrong number of fields) is skipped and listed as `row N, column C: reason`,
rows counted as a spreadsheet shows them (the header is row 1); with strict=True the first one
refuses the file with one line naming file, row and column (geo.imports' ImportProblem).

This is the path for files too large for the workspace's track tables; geo.imports reads
smaller AIS files as tracks, and the workspace stores their positions here as well.
"""
from __future__ import annotations

import csv
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import shapely

from geo.imports.filecheck import ImportProblem
from geo.ships import positions as store

NAMES = {
    "mmsi": ("mmsi",),
    "t": ("basedatetime", "base_date_time", "timestamp", "datetime", "time", "t"),
    "lat": ("lat", "latitude"),
    "lon": ("lon", "longitude", "long"),
    "sog": ("sog", "speed_over_ground"),
    "cog": ("cog", "course_over_ground"),
    "name": ("vesselname", "vessel_name", "shipname", "ship_name", "name"),
    "imo": ("imo", "imo_number", "imonumber"),
}
REQUIRED = ("mmsi", "t", "lat", "lon")
CHUNK_ROWS = 250_000
BLOCK_BYTES = 4 * 1024 * 1024  # larger blocks cost more memory than they save time


def columns_of(header) -> dict[str, str]:
    """Our column -> the file's column, for the columns found by name."""
    low = {}
    for column in header:
        low.setdefault(re.sub(r"[\s\-]+", "_", str(column).strip().lower()), column)
        low.setdefault(str(column).strip().lower().replace("_", ""), column)
    found = {}
    for ours, names in NAMES.items():
        for name in names:
            if name in low:
                found[ours] = low[name]
                break
    return found


def is_ais(header) -> bool:
    """True for the columns of a public AIS export: an MMSI, a time, and lat/lon."""
    found = columns_of(header)
    return all(c in found for c in REQUIRED)


TIME_FORMATS = ("%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S")


def as_text(column: pa.ChunkedArray | pa.Array) -> pa.Array:
    """A column as trimmed text ('' for null); integers and floats without a '.0'."""
    column = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    if pa.types.is_floating(column.type):
        column = pc.cast(pc.round(column), pa.int64())
    if not pa.types.is_string(column.type) and not pa.types.is_large_string(column.type):
        column = pc.cast(column, pa.string())
    return pc.utf8_trim_whitespace(pc.fill_null(column, ""))


def as_number(column) -> np.ndarray:
    column = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    if pa.types.is_floating(column.type) or pa.types.is_integer(column.type):
        return pc.cast(column, pa.float64()).to_numpy(zero_copy_only=False)
    text = as_text(column)
    try:
        return pc.cast(pc.if_else(pc.equal(text, ""), pa.scalar(None, pa.string()), text),
                       pa.float64()).to_numpy(zero_copy_only=False)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return pd.to_numeric(pd.Series(text.to_numpy(zero_copy_only=False)), errors="coerce").to_numpy(float)


def as_time(column) -> np.ndarray:
    """UTC times (datetime64[ms], NaT where unreadable): ISO 8601 as AIS exports write it, fast;
    anything else through pandas' ISO 8601 reader (zones converted to UTC)."""
    column = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    if pa.types.is_timestamp(column.type):
        if column.type.tz:
            column = pc.cast(column, pa.timestamp(column.type.unit, "UTC"))
        return pc.cast(column, pa.timestamp("ms", column.type.tz)).to_numpy(zero_copy_only=False).astype(
            "datetime64[ms]")
    text = as_text(column)
    out = None
    for fmt in TIME_FORMATS:
        parsed = pc.strptime(text, format=fmt, unit="ms", error_is_null=True)
        out = parsed if out is None else pc.coalesce(out, parsed)
        if out.null_count == 0:
            break
    times = out.to_numpy(zero_copy_only=False).astype("datetime64[ms]")
    rest = np.flatnonzero(np.isnat(times) & (text.to_numpy(zero_copy_only=False) != ""))
    if len(rest):
        values = pd.Series(text.take(pa.array(rest)).to_numpy(zero_copy_only=False))
        parsed = pd.to_datetime(values, utc=True, errors="coerce", format="ISO8601")
        times[rest] = parsed.dt.tz_localize(None).to_numpy().astype("datetime64[ms]")
    return times


def imo_digits(text: pa.Array) -> np.ndarray:
    bare = pc.replace_substring_regex(text, r"^(?i:imo)\s*", "")
    ok = pc.match_substring_regex(bare, r"^\d{7}$")
    return pc.if_else(ok, bare, "").to_numpy(zero_copy_only=False)


def to_positions(table: pa.Table, found: dict, filename: str, rows: np.ndarray, problems: list,
                 strict: bool) -> pd.DataFrame:
    """A chunk in the file's columns -> positions; bad rows noted (or refused when strict)."""
    n = table.num_rows

    def text(ours):
        return as_text(table.column(found[ours])) if ours in found else pa.array([""] * n, pa.string())

    def number(ours):
        return as_number(table.column(found[ours])) if ours in found else np.full(n, np.nan)

    mmsi = text("mmsi").to_numpy(zero_copy_only=False)
    t = as_time(table.column(found["t"]))
    lon, lat = number("lon"), number("lat")
    bad = np.zeros(n, dtype=bool)
    checks = (
        (mmsi == "", "mmsi", "empty value"),
        (np.isnat(t), "t", "not a time"),
        (~np.isfinite(lon) | (np.abs(lon) > 180), "lon", "not a longitude (-180..180)"),
        (~np.isfinite(lat) | (np.abs(lat) > 90), "lat", "not a latitude (-90..90)"),
    )
    for mask, ours, message in checks:
        for i in np.flatnonzero(mask & ~bad):
            value = table.column(found[ours])[int(i)].as_py() if ours in found else ""
            problem = (int(rows[i]), str(found.get(ours, ours)), f"{message} ({str(value)[:40]!r})")
            if strict:
                raise ImportProblem(filename, problem[2], problem[0], problem[1])
            if len(problems) < 10_000:
                problems.append(problem)
        bad |= mask
    keep = ~bad
    return pd.DataFrame({"mmsi": mmsi[keep], "imo": imo_digits(text("imo"))[keep],
                         "name": text("name").to_numpy(zero_copy_only=False)[keep], "t": t[keep], "lon": lon[keep],
                         "lat": lat[keep], "sog": number("sog")[keep], "cog": number("cog")[keep]})


def read_chunks(path: Path | str, filename: str | None = None, chunk_rows: int = CHUNK_ROWS, progress=None,
                strict: bool = False, problems: list | None = None, records=None):
    """Positions of an AIS export (CSV or Parquet), chunk by chunk. Bad rows go to `problems`
    as (row, column, message); `progress(fraction)` is told how far the file has been read, and
    `records(n)` (if given) how many records have been read so far, just before."""
    path = Path(path)
    filename = filename or path.name
    problems = problems if problems is not None else []
    size = max(1, path.stat().st_size)
    if path.suffix.lower() in (".parquet", ".geoparquet", ".pq"):
        yield from parquet_chunks(path, filename, chunk_rows, progress, strict, problems, records)
        return
    try:
        with open(path, "rb") as handle:
            header = next(csv.reader([handle.readline().decode("utf-8-sig", errors="replace").strip()]), [])
    except OSError as err:
        raise ImportProblem(filename, f"cannot open the file ({err.strerror or err})") from None
    found = columns_of(header)
    missing = [c for c in REQUIRED if c not in found]
    if missing:
        raise ImportProblem(filename, "not an AIS export: no column for " + ", ".join(missing) +
                            " (expected MMSI, BaseDateTime, LAT, LON, as public AIS exports name them)", 1)
    wanted = list(dict.fromkeys(found.values()))
    width = len(header)
    invalid: list[int] = []

    def on_invalid(row):
        if row.text.strip():
            if strict:
                raise ImportProblem(filename, f"{row.actual_columns} fields but the header has {width}",
                                    row.number, "-")
            problems.append((int(row.number), "-", f"{row.actual_columns} fields but the header has {width}"))
        invalid.append(int(row.number))
        return "skip"

    try:
        reader = pacsv.open_csv(
            str(path), read_options=pacsv.ReadOptions(use_threads=False, block_size=BLOCK_BYTES, encoding="utf8"),
            parse_options=pacsv.ParseOptions(invalid_row_handler=on_invalid),
            convert_options=pacsv.ConvertOptions(include_columns=wanted, column_types={c: pa.string() for c in wanted},
                                                 strings_can_be_null=True))
    except (pa.ArrowInvalid, pa.ArrowKeyError, OSError) as err:
        raise ImportProblem(filename, f"unreadable CSV: {str(err).splitlines()[0][:200]}") from None
    told = records
    records = 0
    pending: list[pd.DataFrame] = []
    pending_rows = 0
    try:
        for batch in reader:
            frame = pa.Table.from_batches([batch])
            rows = np.arange(records, records + frame.num_rows, dtype=np.int64) + 2
            for line in sorted(invalid):  # lines skipped before these records push their rows down
                rows[rows >= line] += 1
            records += frame.num_rows
            part = to_positions(frame, found, filename, rows, problems, strict)
            pending.append(part)
            pending_rows += len(part)
            if pending_rows >= chunk_rows:
                joined = pd.concat(pending, ignore_index=True)
                cut = len(joined) - len(joined) % chunk_rows
                for start in range(0, cut, chunk_rows):
                    yield joined.iloc[start:start + chunk_rows].reset_index(drop=True)
                pending = [joined.iloc[cut:].reset_index(drop=True)]
                pending_rows = len(pending[0])
                del joined
            if told:
                told(records)
            if progress:
                progress(min(0.99, records * (batch.nbytes / max(1, batch.num_rows)) / size))
    except pa.ArrowInvalid as err:
        raise ImportProblem(filename, f"unreadable CSV: {str(err).splitlines()[0][:200]}") from None
    if pending:
        yield pd.concat(pending, ignore_index=True)
    if progress:
        progress(1.0)


def parquet_chunks(path, filename, chunk_rows, progress, strict, problems, records=None):
    try:
        # pre_buffer (pyarrow's default) keeps every row group's column data read so far for the life
        # of the reader: memory grew with the file (about 20 bytes a position, 2 GB at 10^8)
        handle = pq.ParquetFile(str(path), pre_buffer=False)
    except (pa.ArrowInvalid, OSError) as err:
        raise ImportProblem(filename, f"unreadable Parquet: {str(err).splitlines()[0][:200]}") from None
    header = handle.schema_arrow.names
    found = columns_of(header)
    geometry = None
    if ("lon" not in found or "lat" not in found) and "geometry" in header:
        geometry = "geometry"
    missing = [c for c in REQUIRED if c not in found and not (geometry and c in ("lon", "lat"))]
    if missing:
        raise ImportProblem(filename, "not an AIS export: no column for " + ", ".join(missing), 1)
    wanted = list(dict.fromkeys(list(found.values()) + ([geometry] if geometry else [])))
    done = 0
    total = max(1, handle.metadata.num_rows)
    for batch in handle.iter_batches(batch_size=chunk_rows, columns=wanted):
        frame = pa.Table.from_batches([batch])
        if geometry:
            points = shapely.from_wkb(frame.column(geometry).to_numpy(zero_copy_only=False))
            frame = frame.append_column("__lon", pa.array(shapely.get_x(points))).append_column(
                "__lat", pa.array(shapely.get_y(points)))
            found = {**found, "lon": "__lon", "lat": "__lat"}
        rows = np.arange(done, done + frame.num_rows, dtype=np.int64) + 1  # features count from 1
        done += frame.num_rows
        yield to_positions(frame, found, filename, rows, problems, strict)
        if records:
            records(done)
        if progress:
            progress(done / total)


def import_file(path: Path | str, root: Path | str, batch_id: int, filename: str | None = None,
                chunk_rows: int = CHUNK_ROWS, progress=None, strict: bool = False) -> dict:
    """Stream an AIS export into batch `batch_id` of the positions store at `root`; all or nothing.
    Returns {rows, problems: ['row N, column C: reason', ...], months}."""
    filename = filename or Path(path).name
    problems: list = []
    writer = store.BatchWriter(root, batch_id)
    try:
        for chunk in read_chunks(path, filename, chunk_rows, progress, strict, problems):
            writer.write(chunk)
        if not writer.rows:
            first = f"; first problem: row {problems[0][0]}, column {problems[0][1]}: {problems[0][2]}" \
                if problems else ""
            raise ImportProblem(filename, "no usable positions" + first)
        writer.commit()
    except BaseException:
        writer.abort()
        raise
    return {"rows": writer.rows, "months": sorted(writer.parts),
            "problems": [f"row {r}, column {c}: {m}" for r, c, m in problems]}


def positions_of_tracks(frame: pd.DataFrame) -> pd.DataFrame:
    """The positions of an imported tracks frame that carries AIS columns (geo.imports adds mmsi,
    imo, sog, cog to tracks read from a file with an MMSI or IMO column)."""
    n = len(frame)
    mmsi = frame["mmsi"] if "mmsi" in frame.columns else frame["track_id"]
    return pd.DataFrame({
        "mmsi": np.asarray(mmsi, dtype=object), "imo": np.asarray(frame["imo"], dtype=object) if "imo" in frame
        else np.full(n, "", dtype=object), "name": np.asarray(frame["name"], dtype=object),
        "t": frame["t"].to_numpy(), "lon": frame["lon"].to_numpy(float), "lat": frame["lat"].to_numpy(float),
        "sog": pd.to_numeric(frame["sog"], errors="coerce").to_numpy(float) if "sog" in frame else np.full(n, np.nan),
        "cog": pd.to_numeric(frame["cog"], errors="coerce").to_numpy(float) if "cog" in frame else np.full(n, np.nan),
    })


def carries_positions(frame: pd.DataFrame) -> bool:
    return "mmsi" in frame.columns or "imo" in frame.columns

