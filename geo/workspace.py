"""The analyst's own data, kept between sessions in one SQLite file (stdlib sqlite3).

Where: $GEO_WORKSPACE, else ~/.local/share/dprk-pipeline/workspace.sqlite, outside the
repo so imported material is never committed by accident.

Tables (schema version in meta):
- batches: one row per imported file. id (never reused: AUTOINCREMENT), filename, kind,
  format, imported_at (UTC, ISO 8601), feature_count, sha256 (of the file's bytes),
  input_crs, warnings and skipped (JSON lists of the importer's messages).
- features: every imported record but track points. batch_id, kind, name, date
  (YYYY-MM-DD or NULL: a front's as_of, an event's date, a claim's as_of_date),
  properties (a JSON object of the other columns) and geometry (WKB in EPSG:4326, NULL
  for claims and for events placed only by a place id).
- track_points: batch_id, track_id, name, t (Unix milliseconds, UTC), lon, lat. Kept as
  plain columns: a track file may hold millions of points.

Every write is one `BEGIN IMMEDIATE` transaction: an import is all-or-nothing (a failure
midway rolls back to exactly the store before it), and concurrent writers queue on the
lock (busy_timeout) instead of failing or interleaving. WAL lets readers carry on meanwhile.
Each operation opens its own short-lived connection, so a Workspace may be shared across
Streamlit's threads, and the file is checkpointed (no -wal left over) when idle.
"""
from __future__ import annotations

import hashlib
import json
import math
import os
import sqlite3
import time
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.importer import ImportResult

SCHEMA_VERSION = "1"
DEFAULT_PATH = Path("~/.local/share/dprk-pipeline/workspace.sqlite")
BUSY_TIMEOUT_MS = 30_000
DATE_COLUMNS = {"front": "as_of", "events": "date", "claims": "as_of_date"}
META_COLUMNS = ("feature_id", "batch_id", "source_file", "kind", "name", "date")
WGS84 = "EPSG:4326"

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS batches (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    filename TEXT NOT NULL,
    kind TEXT NOT NULL,
    format TEXT NOT NULL,
    imported_at TEXT NOT NULL,
    feature_count INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    input_crs TEXT,
    warnings TEXT NOT NULL DEFAULT '[]',
    skipped TEXT NOT NULL DEFAULT '[]'
);
CREATE TABLE IF NOT EXISTS features (
    id INTEGER PRIMARY KEY,
    batch_id INTEGER NOT NULL REFERENCES batches(id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    name TEXT NOT NULL DEFAULT '',
    date TEXT,
    properties TEXT NOT NULL,
    geometry BLOB
);
CREATE INDEX IF NOT EXISTS features_batch ON features(batch_id);
CREATE INDEX IF NOT EXISTS features_kind_date ON features(kind, date);
CREATE TABLE IF NOT EXISTS track_points (
    batch_id INTEGER NOT NULL REFERENCES batches(id) ON DELETE CASCADE,
    track_id TEXT NOT NULL,
    name TEXT NOT NULL DEFAULT '',
    t INTEGER NOT NULL,
    lon REAL NOT NULL,
    lat REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS track_points_batch ON track_points(batch_id);
CREATE INDEX IF NOT EXISTS track_points_track ON track_points(track_id, t);
"""


class WorkspaceError(Exception):
    """The store cannot be opened or changed; str() is one line."""


def default_path() -> Path:
    return Path(os.environ.get("GEO_WORKSPACE") or DEFAULT_PATH).expanduser()


@dataclass(frozen=True)
class Snapshot:
    """Everything in the store at one version, for drawing and exporting without touching SQLite again."""

    version: str
    batches: pd.DataFrame
    features: gpd.GeoDataFrame  # every kind but tracks
    fronts: gpd.GeoDataFrame
    tracks: pd.DataFrame


class Workspace:
    def __init__(self, path: str | Path | None = None):
        self.path = Path(path).expanduser() if path else default_path()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        except OSError as err:
            raise WorkspaceError(f"cannot create the folder for {self.path}: {err.strerror or err}") from None
        with self._connect() as con:
            self._set_wal(con)
        with self._write() as con:
            for statement in SCHEMA.split(";"):
                if statement.strip():
                    con.execute(statement)
            con.execute("INSERT OR IGNORE INTO meta(key, value) VALUES ('schema_version', ?)", (SCHEMA_VERSION,))
            found = con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()[0]
        if found != SCHEMA_VERSION:
            raise WorkspaceError(f"{self.path} has schema version {found}; this program reads {SCHEMA_VERSION}")

    # --- connections ---------------------------------------------------------------------------------

    @contextmanager
    def _connect(self):
        try:
            con = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
        except sqlite3.Error as err:
            raise WorkspaceError(f"cannot open the workspace {self.path}: {err}") from None
        try:
            con.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            con.execute("PRAGMA foreign_keys = ON")
            yield con
        except sqlite3.DatabaseError as err:
            raise WorkspaceError(f"workspace {self.path}: {err}") from None
        finally:
            con.close()

    @staticmethod
    def _set_wal(con):
        # Switching to WAL needs a moment alone with the file; another process may hold it.
        for attempt in range(100):
            try:
                con.execute("PRAGMA journal_mode = WAL")
                con.execute("PRAGMA synchronous = NORMAL")
                return
            except sqlite3.OperationalError as err:
                if "locked" not in str(err) and "busy" not in str(err):
                    raise
                time.sleep(0.05)
        raise WorkspaceError("the workspace stayed locked while switching it to WAL")

    @contextmanager
    def _write(self):
        """One IMMEDIATE transaction: committed whole, or rolled back whole on any exception."""
        with self._connect() as con:
            con.execute("BEGIN IMMEDIATE")
            try:
                yield con
            except BaseException:
                con.execute("ROLLBACK")
                raise
            con.execute("COMMIT")

    # --- writing -------------------------------------------------------------------------------------

    def add(self, result: ImportResult) -> int:
        """Store one import; returns its batch id."""
        frame = result.frame
        with self._write() as con:
            cur = con.execute(
                "INSERT INTO batches(filename, kind, format, imported_at, feature_count, sha256, input_crs, "
                "warnings, skipped) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (result.filename, result.kind, result.format,
                 datetime.now(timezone.utc).isoformat(timespec="seconds"), len(frame), result.sha256,
                 result.input_crs, json.dumps(result.warnings), json.dumps(result.skipped)))
            batch_id = cur.lastrowid
            if result.kind == "tracks":
                con.executemany("INSERT INTO track_points(batch_id, track_id, name, t, lon, lat) "
                                "VALUES (?, ?, ?, ?, ?, ?)", track_rows(batch_id, frame))
            else:
                con.executemany("INSERT INTO features(batch_id, kind, name, date, properties, geometry) "
                                "VALUES (?, ?, ?, ?, ?, ?)", feature_rows(batch_id, result.kind, frame))
        return batch_id

    def remove(self, batch_id: int) -> None:
        with self._write() as con:
            if con.execute("SELECT 1 FROM batches WHERE id = ?", (int(batch_id),)).fetchone() is None:
                raise KeyError(f"no batch {batch_id} in the workspace")
            con.execute("DELETE FROM features WHERE batch_id = ?", (int(batch_id),))
            con.execute("DELETE FROM track_points WHERE batch_id = ?", (int(batch_id),))
            con.execute("DELETE FROM batches WHERE id = ?", (int(batch_id),))

    # --- reading -------------------------------------------------------------------------------------

    def batches(self) -> pd.DataFrame:
        with self._connect() as con:
            frame = pd.read_sql_query("SELECT id, filename, kind, format, imported_at, feature_count, sha256, "
                                      "input_crs, warnings, skipped FROM batches ORDER BY id", con)
        for column in ("warnings", "skipped"):
            frame[column] = frame[column].map(json.loads)
        return frame

    def version(self) -> str:
        """A short hash of what the store holds (each batch's id, kind, count and file hash):
        exports made from the same store carry the same version."""
        with self._connect() as con:
            rows = con.execute("SELECT id, kind, feature_count, sha256 FROM batches ORDER BY id").fetchall()
        if not rows:
            return "empty"
        return hashlib.sha256(json.dumps(rows).encode()).hexdigest()[:12]

    def features(self, kind: str | None = None) -> gpd.GeoDataFrame:
        """Stored features (all kinds but tracks), their properties spread into columns."""
        sql = ("SELECT f.id, f.batch_id, b.filename, f.kind, f.name, f.date, f.properties, f.geometry "
               "FROM features f JOIN batches b ON b.id = f.batch_id")
        args = ()
        if kind:
            sql, args = sql + " WHERE f.kind = ?", (kind,)
        with self._connect() as con:
            rows = con.execute(sql + " ORDER BY f.id", args).fetchall()
        return features_frame(rows)

    def fronts(self) -> gpd.GeoDataFrame:
        """Dated front snapshots, with as_of (datetime64) for front_on()."""
        frame = self.features("front")
        return frame.assign(as_of=frame["date"])

    def tracks(self, batch_id: int | None = None) -> pd.DataFrame:
        sql, args = "SELECT track_id, name, t, lon, lat FROM track_points", ()
        if batch_id is not None:
            sql, args = sql + " WHERE batch_id = ?", (int(batch_id),)
        with self._connect() as con:
            frame = pd.read_sql_query(sql + " ORDER BY track_id, t", con, params=args)
        frame["t"] = pd.to_datetime(frame["t"], unit="ms").astype("datetime64[ms]")
        return frame

    def counts(self) -> dict[str, int]:
        with self._connect() as con:
            return {table: con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
                    for table in ("batches", "features", "track_points")}

    def snapshot(self) -> Snapshot:
        return Snapshot(version=self.version(), batches=self.batches(), features=self.features(),
                        fronts=self.fronts(), tracks=self.tracks())


def front_on(fronts: pd.DataFrame, when) -> pd.DataFrame:
    """The latest snapshot on or before `when` (every feature of that as_of date); empty if none."""
    when = pd.Timestamp(when).normalize()
    known = fronts[fronts["as_of"].notna() & (fronts["as_of"] <= when)]
    if known.empty:
        return known
    return known[known["as_of"] == known["as_of"].max()]


# --- conversions ---------------------------------------------------------------------------------------

def json_value(value):
    """A cell as JSON: dates as YYYY-MM-DD (times kept when not midnight), NaN as null."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, (pd.Timestamp, datetime)):
        stamp = pd.Timestamp(value)
        return stamp.strftime("%Y-%m-%d") if stamp == stamp.normalize() else stamp.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return None if math.isnan(value) or math.isinf(value) else float(value)
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, (tuple, list, np.ndarray)):
        return [json_value(v) for v in value]
    if isinstance(value, bytes):
        return None
    return str(value) if not isinstance(value, (int, str)) else value


def feature_rows(batch_id: int, kind: str, frame: gpd.GeoDataFrame):
    columns = [c for c in frame.columns if c != frame.geometry.name]
    date_column = DATE_COLUMNS.get(kind)
    geoms = np.asarray(frame.geometry.array, dtype=object)
    wkb = shapely.to_wkb(geoms)  # None stays None
    records = frame[columns].to_dict("records")
    for record, blob in zip(records, wkb):
        props = {k: json_value(v) for k, v in record.items()}
        day = props.get(date_column) if date_column else None
        yield (batch_id, kind, str(props.get("name") or ""), day[:10] if isinstance(day, str) else None,
               json.dumps(props, ensure_ascii=False, allow_nan=False), blob)


def track_rows(batch_id: int, frame: pd.DataFrame):
    millis = pd.to_datetime(frame["t"]).astype("datetime64[ms]").astype("int64").to_numpy()
    for track_id, name, t, lon, lat in zip(frame["track_id"].astype(str), frame["name"].astype(str), millis,
                                           frame["lon"].astype(float), frame["lat"].astype(float)):
        yield batch_id, track_id, name, int(t), lon, lat


def features_frame(rows) -> gpd.GeoDataFrame:
    if not rows:
        empty = pd.DataFrame({c: pd.Series(dtype=object) for c in META_COLUMNS})
        empty["date"] = pd.Series(dtype="datetime64[s]")
        return gpd.GeoDataFrame(empty, geometry=gpd.GeoSeries([], crs=WGS84), crs=WGS84)
    ids, batch_ids, files, kinds, names, dates, props, blobs = zip(*rows)
    properties = pd.DataFrame.from_records([json.loads(p) for p in props])
    properties = properties.drop(columns=["name"], errors="ignore")  # kept in its own column
    properties = properties.rename(columns={c: f"prop_{c}" for c in properties.columns
                                            if c in META_COLUMNS or c == "geometry"})
    meta = pd.DataFrame({"feature_id": ids, "batch_id": batch_ids, "source_file": files, "kind": kinds,
                         "name": names,
                         "date": pd.to_datetime(pd.Series(dates, dtype=object)).astype("datetime64[s]")})
    geometry = shapely.from_wkb(np.array(blobs, dtype=object))
    return gpd.GeoDataFrame(pd.concat([meta, properties], axis=1), geometry=list(geometry), crs=WGS84)
