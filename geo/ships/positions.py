"""The positions store: AIS positions as Parquet files, one folder per import batch, split by month.

Layout, under the store's root (`root_for(target)`):

    <root>/batch=000012/month=2024-01/part-00000.parquet
    <root>/batch=000012/month=2024-02/part-00000.parquet
    <root>/.staging-000013-<random>/...     # a batch being written; never read

- Columns (COLUMNS): mmsi (text), imo (text, '' when unknown), name (text), t (timestamp, UTC,
  milliseconds, stored without a zone as the workspace stores every time), lon, lat (float64,
  EPSG:4326), sog, cog (float64, knots and degrees; NaN when the file had none) and batch_id.
  Rows within a file are sorted by mmsi and t. The files are plain Parquet with lon/lat columns,
  not GeoParquet: GeoParquet needs a geometry column, which would hold the same two numbers a
  second time; the file's metadata (key `geo_positions`) names the CRS and the coordinate columns.
- A batch is written to a staging folder and renamed into place when the workspace commits the
  import (`BatchWriter.commit`), so a reader sees all of a batch or none of it; a failed import
  removes its staging folder (`abort`). Removing a batch renames its folder to
  `.removed-NNNNNN` (`hold_batch`), where no reader looks; restoring it renames it back
  (`release_batch`); purging it, once the removal can no longer be undone, deletes it (`purge_held`).
- Where: `GEO_POSITIONS_DIR` if set; else beside a SQLite workspace (`<workspace file>.positions/`);
  else, for a PostGIS workspace, `~/.local/share/dprk-pipeline/positions/` on the machine that
  imports (share it, e.g. on a network file system, for several servers to read the same).

Reading goes through DuckDB (plain SQL; the spatial extension is not used, so nothing is fetched
at run time): `read_window` opens only the month folders that overlap the window and lets
Parquet's row-group statistics skip what lies outside the time and box asked for; `grid` counts
positions and vessels per cell for a zoomed-out view without bringing positions into Python.
"""
from __future__ import annotations

import json
import os
import shutil
import uuid
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

COLUMNS = ("mmsi", "imo", "name", "t", "lon", "lat", "sog", "cog", "batch_id")
SCHEMA = pa.schema([("mmsi", pa.string()), ("imo", pa.string()), ("name", pa.string()), ("t", pa.timestamp("ms")),
                    ("lon", pa.float64()), ("lat", pa.float64()), ("sog", pa.float64()), ("cog", pa.float64()),
                    ("batch_id", pa.int64())],
                   metadata={"geo_positions": json.dumps({"crs": "EPSG:4326", "x": "lon", "y": "lat",
                                                          "t": "UTC"})})
DEFAULT_ROOT = Path("~/.local/share/dprk-pipeline/positions")
ROW_GROUP = 256_000
FLUSH_ROWS = 1_000_000


def root_for(target=None) -> Path:
    """The positions folder of a workspace target (a SQLite path or a postgresql:// URL)."""
    env = os.environ.get("GEO_POSITIONS_DIR")
    if env:
        return Path(env).expanduser()
    if target is None:
        target = os.environ.get("GEO_WORKSPACE") or "~/.local/share/dprk-pipeline/workspace.sqlite"
    text = str(target)
    if "://" in text:
        return DEFAULT_ROOT.expanduser()
    return Path(text + ".positions").expanduser()


def batch_dir(root: Path, batch_id: int) -> Path:
    return Path(root) / f"batch={int(batch_id):06d}"


def month_key(month) -> str:
    return pd.Timestamp(month).strftime("%Y-%m")


def text_array(values, n: int) -> pa.Array:
    if values is None:
        return pa.array(np.full(n, "", dtype=object), pa.string())
    array = pa.array(values, from_pandas=True) if not isinstance(values, (pa.Array, pa.ChunkedArray)) else values
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    if not pa.types.is_string(array.type):
        if pa.types.is_floating(array.type):
            array = pc.cast(pc.round(array), pa.int64())
        array = pc.cast(array, pa.string())
    return pc.fill_null(array, "")


def to_table(frame: pd.DataFrame, batch_id: int) -> pa.Table:
    """A frame in the store's columns and types (missing columns empty), sorted by mmsi and t."""
    n = len(frame)
    t = frame["t"]
    if getattr(t.dt, "tz", None) is not None:
        t = t.dt.tz_convert("UTC").dt.tz_localize(None)
    columns = {c: text_array(frame[c] if c in frame.columns else None, n) for c in ("mmsi", "imo", "name")}
    columns["t"] = pa.array(np.asarray(t, dtype="datetime64[ms]"))
    for c in ("lon", "lat", "sog", "cog"):
        columns[c] = pa.array(pd.to_numeric(frame[c], errors="coerce").to_numpy(float) if c in frame.columns
                              else np.full(n, np.nan))
    columns["batch_id"] = pa.array(np.full(n, int(batch_id), dtype=np.int64))
    return pa.table(columns, schema=SCHEMA).sort_by([("mmsi", "ascending"), ("t", "ascending")])


def normalise(frame: pd.DataFrame, batch_id: int) -> pd.DataFrame:
    """to_table's rows as a pandas frame."""
    out = to_table(frame, batch_id).to_pandas()
    out["t"] = out["t"].astype("datetime64[ms]")
    return out


class BatchWriter:
    """Writes one batch's positions into a staging folder; `commit()` puts it in place at once.

    Each month of the batch is one Parquet file, written a row group at a time: positions are
    buffered per month until a month holds ROW_GROUP rows (or all months together FLUSH_ROWS),
    so memory stays bounded however long the file and however many months it spans."""

    def __init__(self, root: Path | str, batch_id: int, display_seconds: float | None = None):
        self.root = Path(root)
        self.batch_id = int(batch_id)
        self.display = DisplayWriter(self, display_seconds) if display_seconds else None
        self.root.mkdir(parents=True, exist_ok=True)
        self.staging = self.root / f".staging-{self.batch_id:06d}-{uuid.uuid4().hex[:8]}"
        self.staging.mkdir()
        self.parts: dict[str, int] = {}  # month -> rows written
        self.rows = 0
        self._buffers: dict[str, list[pa.Table]] = {}
        self._buffered: dict[str, int] = {}
        self._writers: dict[str, pq.ParquetWriter] = {}

    def write(self, frame: pd.DataFrame) -> None:
        """Add positions (any columns of COLUMNS; mmsi, t, lon, lat needed); each month to its file."""
        if not len(frame):
            return
        table = to_table(frame, self.batch_id)
        if self.display is not None:
            self.display.write(table)
        stamps = table.column("t").to_numpy().astype("datetime64[M]")
        for value in np.unique(stamps):
            month = str(value)  # YYYY-MM
            part = table.filter(pa.array(stamps == value))
            self._buffers.setdefault(month, []).append(part)
            self._buffered[month] = self._buffered.get(month, 0) + part.num_rows
            if self._buffered[month] >= ROW_GROUP:
                self._flush(month)
        self.rows += table.num_rows
        if sum(self._buffered.values()) >= FLUSH_ROWS:
            for month in list(self._buffers):
                self._flush(month)

    def _flush(self, month: str) -> None:
        parts = self._buffers.pop(month, [])
        self._buffered.pop(month, None)
        if not parts:
            return
        table = pa.concat_tables(parts).sort_by([("mmsi", "ascending"), ("t", "ascending")])
        writer = self._writers.get(month)
        if writer is None:
            folder = self.staging / f"month={month}"
            folder.mkdir(exist_ok=True)
            writer = self._writers[month] = pq.ParquetWriter(folder / "part-00000.parquet", SCHEMA,
                                                             compression="zstd")
        writer.write_table(table, row_group_size=ROW_GROUP)
        self.parts[month] = self.parts.get(month, 0) + table.num_rows

    def _close(self) -> None:
        for writer in self._writers.values():
            writer.close()
        self._writers.clear()
        if self.display is not None:
            self.display.close()

    def commit(self) -> Path:
        for month in list(self._buffers):
            self._flush(month)
        self._close()
        final = batch_dir(self.root, self.batch_id)
        if final.exists():  # a batch id is never reused; a folder left by a crash is stale
            shutil.rmtree(final)
        os.replace(self.staging, final)
        return final

    def abort(self) -> None:
        try:
            self._close()
        finally:
            self._buffers.clear()
            shutil.rmtree(self.staging, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, kind, value, tb):
        if kind is not None:
            self.abort()


DISPLAY = "display"  # <root>/batch=N/display/month=YYYY-MM/part-00000.parquet: the map's thinned level
DISPLAY_SCHEMA = pa.schema([("mmsi", pa.string()), ("name", pa.string()), ("t", pa.timestamp("ms")),
                           ("lon", pa.float64()), ("lat", pa.float64()), ("c", pa.int64())])


class DisplayWriter:
    """A batch's display level, written beside its months as they are written: of each vessel, its
    last position in each `seconds` of time, with `c` the positions it stands for. The map reads
    it for a date step (geo.page.ships.window_tracks) instead of every position of the window.
    Chunks are thinned one by one, so a vessel whose positions fall in two chunks may keep two
    positions for one slice: a little more than needed, never fewer."""

    def __init__(self, batch: "BatchWriter", seconds: float):
        self.batch, self.seconds = batch, float(seconds)
        self._writers: dict[str, pq.ParquetWriter] = {}

    def write(self, table: pa.Table) -> None:
        """Add a chunk in the store's columns, sorted by mmsi and t (as to_table gives it)."""
        n = table.num_rows
        if not n:
            return
        t = table.column("t").combine_chunks()
        k = t.cast(pa.int64()).to_numpy() // np.int64(self.seconds * 1000)
        mmsi = table.column("mmsi").combine_chunks()
        ends = np.ones(n, dtype=bool)  # the last row of each (mmsi, slice): the next row is another
        if n > 1:
            ends[:-1] = pc.not_equal(mmsi.slice(0, n - 1), mmsi.slice(1)).to_numpy(zero_copy_only=False) \
                | (k[:-1] != k[1:])
        at = np.flatnonzero(ends)
        counts = np.diff(np.r_[-1, at])
        last = table.select(["mmsi", "name", "t", "lon", "lat"]).take(pa.array(at)).append_column(
            "c", pa.array(counts.astype(np.int64))).replace_schema_metadata(None)
        months = last.column("t").to_numpy().astype("datetime64[M]")
        for value in np.unique(months):
            part = last.filter(pa.array(months == value)).cast(DISPLAY_SCHEMA)
            month = str(value)
            writer = self._writers.get(month)
            if writer is None:
                folder = self.batch.staging / DISPLAY / f"month={month}"
                folder.mkdir(parents=True, exist_ok=True)
                writer = self._writers[month] = pq.ParquetWriter(folder / "part-00000.parquet", DISPLAY_SCHEMA,
                                                                 compression="zstd")
            writer.write_table(part)

    def close(self) -> None:
        for writer in self._writers.values():
            writer.close()
        self._writers.clear()


def write_batch(root: Path | str, batch_id: int, frame: pd.DataFrame) -> Path:
    """Write and commit one batch in one go (the workspace commits separately: see BatchWriter)."""
    writer = BatchWriter(root, batch_id)
    try:
        writer.write(frame)
        return writer.commit()
    except BaseException:
        writer.abort()
        raise


def remove_batch(root: Path | str, batch_id: int) -> bool:
    """Delete a batch's positions; True if there were any."""
    folder = batch_dir(Path(root), batch_id)
    if not folder.exists():
        return False
    aside = Path(root) / f".removing-{int(batch_id):06d}-{uuid.uuid4().hex[:8]}"
    os.replace(folder, aside)
    shutil.rmtree(aside, ignore_errors=True)
    return True


def held_dir(root: Path, batch_id: int) -> Path:
    return Path(root) / f".removed-{int(batch_id):06d}"


def hold_batch(root: Path | str, batch_id: int) -> bool:
    """Put a removed batch's positions aside, unread but kept for a restore; True if it had any."""
    folder, held = batch_dir(Path(root), batch_id), held_dir(Path(root), batch_id)
    if not folder.exists():
        return False
    if held.exists():  # left by an earlier crash; a batch id is never reused
        shutil.rmtree(held)
    os.replace(folder, held)
    return True


def release_batch(root: Path | str, batch_id: int) -> bool:
    """Put a restored batch's positions back in place; True if it had any."""
    folder, held = batch_dir(Path(root), batch_id), held_dir(Path(root), batch_id)
    if not held.exists():
        return False
    os.replace(held, folder)
    return True


def purge_held(root: Path | str, batch_id: int) -> None:
    """Delete a removed batch's positions for good."""
    held = held_dir(Path(root), batch_id)
    if held.exists():
        aside = Path(root) / f".removing-{int(batch_id):06d}-{uuid.uuid4().hex[:8]}"
        os.replace(held, aside)
        shutil.rmtree(aside, ignore_errors=True)


def batch_ids(root: Path | str) -> list[int]:
    root = Path(root)
    if not root.exists():
        return []
    return sorted(int(p.name.split("=", 1)[1]) for p in root.glob("batch=*") if p.is_dir())


def months(root: Path | str) -> list[str]:
    root = Path(root)
    return sorted({p.name.split("=", 1)[1] for p in root.glob("batch=*/month=*") if p.is_dir()})


def files_for(root: Path | str, since=None, until=None, batches=None, display: bool = False) -> list[str]:
    """The Parquet files of the months that overlap [since, until) (all months if open); with
    display=True, those of the batches' display level (DisplayWriter) instead."""
    root = Path(root)
    lo = month_key(since) if since is not None else None
    hi = month_key(pd.Timestamp(until) - pd.Timedelta(milliseconds=1)) if until is not None else None
    wanted = None if batches is None else {f"batch={int(b):06d}" for b in batches}
    out = []
    for folder in sorted(root.glob(f"batch=*/{DISPLAY}/month=*" if display else "batch=*/month=*")):
        month = folder.name.split("=", 1)[1]
        batch = folder.parent.parent.name if display else folder.parent.name
        if (lo and month < lo) or (hi and month > hi) or (wanted is not None and batch not in wanted):
            continue
        out.extend(str(p) for p in sorted(folder.glob("*.parquet")))
    return out


def connect(threads: int | None = None, memory_limit: str | None = None):
    import duckdb
    con = duckdb.connect(config={"threads": threads or min(4, os.cpu_count() or 1)})
    if memory_limit or os.environ.get("GEO_DUCKDB_MEMORY"):
        con.execute(f"SET memory_limit = '{memory_limit or os.environ['GEO_DUCKDB_MEMORY']}'")
    return con


def stamp(when) -> str:
    value = pd.Timestamp(when)
    if value.tzinfo is not None:
        value = value.tz_convert("UTC").tz_localize(None)
    return value.isoformat()


def where_clause(since=None, until=None, bbox=None, extra: str | None = None) -> str:
    parts = []
    if since is not None:
        parts.append(f"t >= TIMESTAMP '{stamp(since)}'")
    if until is not None:
        parts.append(f"t < TIMESTAMP '{stamp(until)}'")
    if bbox is not None:
        x0, y0, x1, y1 = (float(v) for v in bbox)
        parts.append(f"lon BETWEEN {x0!r} AND {x1!r} AND lat BETWEEN {y0!r} AND {y1!r}")
    if extra:
        parts.append(extra)
    return (" WHERE " + " AND ".join(parts)) if parts else ""


def source(files: list[str]) -> str:
    listed = ", ".join("'" + f.replace("'", "''") + "'" for f in files)
    return f"read_parquet([{listed}])"


def empty_frame(columns) -> pd.DataFrame:
    types = {"mmsi": "object", "imo": "object", "name": "object", "t": "datetime64[ms]", "lon": "float64",
             "lat": "float64", "sog": "float64", "cog": "float64", "batch_id": "int64"}
    return pd.DataFrame({c: pd.Series([], dtype=types.get(c, "object")) for c in columns})


def read_window(since=None, until=None, bbox=None, columns=None, *, root=None, batches=None,
                where: str | None = None, con=None) -> pd.DataFrame:
    """Positions with since <= t < until inside bbox (lon0, lat0, lon1, lat1), sorted by mmsi and t.

    Only the month folders that overlap the window are opened. `columns` defaults to all of
    COLUMNS; `batches` keeps only those batch ids; `where` is extra SQL over the columns."""
    root = Path(root) if root is not None else root_for()
    columns = list(columns or COLUMNS)
    files = files_for(root, since, until, batches)
    if not files:
        return empty_frame(columns)
    own = con is None
    con = con or connect()
    try:
        sql = (f"SELECT {', '.join(columns)} FROM {source(files)}{where_clause(since, until, bbox, where)} "
               f"ORDER BY mmsi, t" if {"mmsi", "t"} <= set(columns) else
               f"SELECT {', '.join(columns)} FROM {source(files)}{where_clause(since, until, bbox, where)}")
        frame = con.execute(sql).df()
    finally:
        if own:
            con.close()
    if "t" in frame.columns:
        frame["t"] = frame["t"].astype("datetime64[ms]")
    return frame


def grid(since=None, until=None, bbox=None, cell_deg: float = 0.1, *, root=None, con=None,
         batches=None, display: bool = False) -> pd.DataFrame:
    """Positions counted per cell of cell_deg degrees: lon, lat (the cell's centre), positions,
    vessels (distinct MMSI), first_t, last_t; sorted by lat then lon. `batches` keeps only those;
    display=True counts from their display level (DisplayWriter: each row stands for c positions,
    placed where the vessel was last in its slice of time), a smaller read for a map."""
    root = Path(root) if root is not None else root_for()
    files = files_for(root, since, until, batches, display)
    out_cols = ["lon", "lat", "positions", "vessels", "first_t", "last_t"]
    if not files:
        return pd.DataFrame({c: [] for c in out_cols})
    cell = float(cell_deg)
    own = con is None
    con = con or connect()
    try:
        frame = con.execute(
            f"SELECT (floor(lon / {cell!r}) + 0.5) * {cell!r} AS lon, (floor(lat / {cell!r}) + 0.5) * {cell!r} AS lat, "
            f"{'sum(c)' if display else 'count(*)'} AS positions, count(DISTINCT mmsi) AS vessels, "
            f"min(t) AS first_t, max(t) AS last_t FROM {source(files)}{where_clause(since, until, bbox)} "
            f"GROUP BY 1, 2 ORDER BY 2, 1").df()
    finally:
        if own:
            con.close()
    frame["positions"] = frame["positions"].astype("int64")
    frame["vessels"] = frame["vessels"].astype("int64")
    return frame


def count(root=None, since=None, until=None) -> int:
    root = Path(root) if root is not None else root_for()
    files = files_for(root, since, until)
    if not files:
        return 0
    con = connect()
    try:
        return int(con.execute(f"SELECT count(*) FROM {source(files)}{where_clause(since, until)}").fetchone()[0])
    finally:
        con.close()





def vessel_summary(mmsi: str, until, *, root=None, batches=None, con=None) -> dict | None:
    """One vessel's positions: its last name, positions before `until` and in all (counted from the
    batches' display level, each row standing for `c`), and its first, last and last-before-`until`
    times (read exactly from the full positions of the one month each falls in: a display row is
    the last of its three hours, and three-hour slices never cross a month); None when the store
    holds none of it."""
    root = Path(root) if root is not None else root_for()
    files = files_for(root, None, None, batches, display=True)
    if not files:
        return None
    before = f"t < TIMESTAMP '{stamp(until)}'"
    own = con is None
    con = con or connect()
    try:
        row = con.execute(f"SELECT sum(c), sum(c) FILTER (WHERE {before}), min(t), max(t), "
                          f"max(t) FILTER (WHERE {before}), arg_max(name, t) FROM {source(files)} WHERE mmsi = ?",
                          [str(mmsi)]).fetchone()
        if not row or not row[0]:
            return None
        total, by_date, first, last, last_by_date, name = row

        def exact(month_of, pick: str, extra: str = ""):
            if month_of is None:
                return None
            start = pd.Timestamp(month_of).to_period("M").start_time
            month = files_for(root, start, start + pd.offsets.MonthBegin(1), batches)
            value = con.execute(f"SELECT {pick}(t) FROM {source(month)} WHERE mmsi = ?{extra}",
                                [str(mmsi)]).fetchone()[0] if month else None
            return pd.Timestamp(value) if value is not None else None

        return {"mmsi": str(mmsi), "name": name or "", "positions": int(total),
                "positions_by_date": int(by_date or 0), "first": exact(first, "min"), "last": exact(last, "max"),
                "last_by_date": exact(last_by_date, "max", f" AND {before}")}
    finally:
        if own:
            con.close()


def held(since, until, bbox=None, *, root=None, batches=None, con=None) -> tuple[int, int]:
    """(positions, vessels) the window holds, counted from the batches' display level
    (DisplayWriter): one small scan, to choose between paths and cells before reading either."""
    root = Path(root) if root is not None else root_for()
    files = files_for(root, since, until, batches, display=True)
    if not files:
        return 0, 0
    own = con is None
    con = con or connect()
    try:
        found, vessels = con.execute(f"SELECT sum(c), count(DISTINCT mmsi) FROM {source(files)}"
                                     f"{where_clause(since, until, bbox)}").fetchone()
    finally:
        if own:
            con.close()
    return int(found or 0), int(vessels or 0)


def thinned(since, until, bbox=None, *, total: int = 8_000, root=None, batches=None, con=None) -> pd.DataFrame:
    """The window's positions for the map, about `total` in all shared evenly among its vessels, read
    from the batches' display level (DisplayWriter; batches without one give none): of each vessel,
    every m-th display position counted back from its last (so its last position in the window,
    where a trail's head is drawn, is kept), m chosen so it keeps about total / vessels. Columns
    mmsi, name, t, lon, lat and positions (how many positions its vessel has in the window), sorted
    by mmsi and t; `frame.attrs["positions"]` is how many positions of the store the window holds."""
    root = Path(root) if root is not None else root_for()
    columns = ["mmsi", "name", "t", "lon", "lat", "positions"]
    files = files_for(root, since, until, batches, display=True)
    if not files:
        frame = empty_frame(columns[:-1]).assign(positions=pd.Series([], dtype="int64"))
        frame.attrs["positions"] = 0
        return frame
    own = con is None
    con = con or connect()
    try:
        frame = con.execute(
            f"WITH d AS (SELECT mmsi, name, t, lon, lat, c FROM {source(files)}{where_clause(since, until, bbox)}), "
            f"w AS (SELECT count(DISTINCT mmsi) AS vessels, sum(c) AS held FROM d), "
            f"r AS (SELECT d.*, row_number() OVER (PARTITION BY mmsi ORDER BY t DESC) - 1 AS back, "
            f"count(*) OVER (PARTITION BY mmsi) AS n, sum(c) OVER (PARTITION BY mmsi) AS positions FROM d) "
            f"SELECT mmsi, name, t, lon, lat, positions, w.held FROM r, w "
            f"WHERE back % greatest(1, ceil(n * w.vessels / {max(1, int(total))}))::BIGINT = 0 "
            f"ORDER BY mmsi, t").df()
    finally:
        if own:
            con.close()
    held = int(frame["held"].iloc[0]) if len(frame) else 0
    frame = frame.drop(columns="held")
    frame["t"] = frame["t"].astype("datetime64[ms]")
    frame["positions"] = frame["positions"].astype("int64")
    frame.attrs["positions"] = held
    return frame
