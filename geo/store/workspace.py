"""The analyst's own data, kept between sessions: one interface, two stores.

GEO_WORKSPACE names the store. A path (the default, ~/.local/share/dprk-pipeline/
workspace.sqlite, outside the repo so imported material is never committed by accident) is a
SQLite file (stdlib sqlite3, this module). A postgresql:// URL is a PostGIS database shared
by several app servers and the command line (geo.store.postgis). `Workspace(target)` picks the
store; both answer the same calls with the same results.

Tables, SQLite (schema version in meta; geo.store.postgis describes its own):
- batches: one row per imported file. id (never reused: AUTOINCREMENT), filename, kind,
  format, imported_at (UTC, ISO 8601), imported_by, feature_count, sha256 (of the file's
  bytes), input_crs, warnings and skipped (JSON lists of the importer's messages),
  removed_at / removed_by (set on removal: the row stays as the audit of what was there),
  purged_at (set when a removed batch's rows were deleted, UNDO_HOURS after its removal).
- features: every imported record but track points. batch_id, kind, name, date
  (YYYY-MM-DD or NULL: a front's as_of, an event's date, a claim's as_of_date, a listed
  vessel's sanction_date),
  properties (a JSON object of the other columns) and geometry (WKB in EPSG:4326, NULL
  for claims and for events placed only by a place id).
- track_points: batch_id, track_id, name, t (Unix milliseconds, UTC), lon, lat. Kept as
  plain columns: a track file may hold millions of points.
- audit: every import and removal, and every refused attempt, with who and when.
- images: one row per imported image (kind `images`): batch_id, name, date (YYYY-MM-DD),
  date_from (where the date came from), source, licence (as the user gave them; '' when not
  given), crs_in (the file's CRS), footprint (a GeoJSON Polygon in EPSG:4326, the reprojected
  bounds' four corners) with west/south/east/north beside it, width and height (of level 0),
  levels (how many), sha256 (of the image file).
- image_levels: the pyramid: image_id, level (0 the largest, each next one half as wide),
  width, height, png (the level as PNG bytes, RGBA in EPSG:3857). Kept apart from images, so
  listing images never reads a picture.

Vessel tracks (a track file with an MMSI or IMO column, such as a public AIS export) also keep
their positions, with MMSI, IMO, speed and course, in the positions store beside the workspace
(geo.ships.positions: `<workspace file>.positions/`, or GEO_POSITIONS_DIR), for the detections of
geo.ships. They are written to a staging folder inside the import's transaction and put in place
once it commits; removing the batch moves them aside (`.removed-NNNNNN`), where no reader looks.

Removal is undoable: remove() only marks the batch (removed_at, removed_by), and every read skips
marked batches, so no session shows them; restore() clears the mark and puts the positions back,
exactly as they were. A removed batch stays restorable for UNDO_HOURS; the first write after that
(an import, a removal or a restoration, from any program; purge() first, in a transaction of its
own) purges it: its features, track points, images and positions are deleted and purged_at is set.
The audit records each removal, restoration and purge.

Writes take a geo.store.access.User: viewers are refused (and the refusal is logged) here, not
only in the UI, so no client can get around it.

Every write is one `BEGIN IMMEDIATE` transaction: an import is all-or-nothing (a failure
midway rolls back to exactly the store before it), and concurrent writers queue on the
lock (queued, with on_wait told how long) instead of failing or interleaving. WAL lets readers carry on meanwhile,
and a snapshot reads inside one transaction, so it never mixes two versions.
Each operation opens its own short-lived connection, so a Workspace may be shared across
Streamlit's threads, and the file is checkpointed (no -wal left over) when idle.
"""
from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import sqlite3
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.geometry.projection import WGS84
from geo.imports.frontlayers import latest_per_status
from geo.imports.importer import ImportResult
from geo.safetext import escape
from geo.ships import ais, bigfiles, positions
from geo.store import access

SCHEMA_VERSION = "4"
UNDO_HOURS = 24  # how long a removed batch can be restored (geo.page.uploads, `geo workspace restore`)
DEFAULT_PATH = Path("~/.local/share/dprk-pipeline/workspace.sqlite")
BUSY_TIMEOUT_MS = 30_000
WAIT_STEP_MS = 1_000  # a queued writer looks up (and says it is waiting) once a second
DATE_COLUMNS = {"front": "as_of", "events": "date", "claims": "as_of_date", "generic": "date",
                "vessels": "sanction_date"}
META_COLUMNS = ("feature_id", "batch_id", "source_file", "kind", "name", "date")
BATCH_COLUMNS = ("id", "filename", "kind", "format", "imported_at", "imported_by", "feature_count", "sha256",
                 "input_crs", "warnings", "skipped", "removed_at", "removed_by", "purged_at")
AUDIT_COLUMNS = ("id", "at", "user_name", "action", "batch_id", "outcome", "detail")
IMAGE_COLUMNS = ("image_id", "batch_id", "source_file", "name", "date", "date_from", "source", "licence", "crs_in",
                 "west", "south", "east", "north", "width", "height", "levels", "sha256")
log = logging.getLogger("geo.store.workspace")

# Version 1: the tables as first shipped. Kept verbatim: a new store is built by running the
# same steps an old one is migrated by, so both end up identical.
SCHEMA_V1 = """
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

# Each step takes the store from version N-1 to N, inside the same transaction as the new number.
MIGRATIONS = {
    2: """
ALTER TABLE batches ADD COLUMN imported_by TEXT NOT NULL DEFAULT '';
ALTER TABLE batches ADD COLUMN removed_at TEXT;
ALTER TABLE batches ADD COLUMN removed_by TEXT;
CREATE TABLE audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    user_name TEXT NOT NULL,
    action TEXT NOT NULL,
    batch_id INTEGER,
    outcome TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT ''
);
CREATE INDEX track_points_t ON track_points(t);
""",
    3: """
CREATE TABLE images (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    batch_id INTEGER NOT NULL REFERENCES batches(id) ON DELETE CASCADE,
    name TEXT NOT NULL DEFAULT '',
    date TEXT NOT NULL,
    date_from TEXT NOT NULL DEFAULT '',
    source TEXT NOT NULL DEFAULT '',
    licence TEXT NOT NULL DEFAULT '',
    crs_in TEXT NOT NULL DEFAULT '',
    footprint TEXT NOT NULL,
    west REAL NOT NULL,
    south REAL NOT NULL,
    east REAL NOT NULL,
    north REAL NOT NULL,
    width INTEGER NOT NULL,
    height INTEGER NOT NULL,
    levels INTEGER NOT NULL,
    sha256 TEXT NOT NULL
);
CREATE INDEX images_batch ON images(batch_id);
CREATE INDEX images_date ON images(date);
CREATE TABLE image_levels (
    image_id INTEGER NOT NULL REFERENCES images(id) ON DELETE CASCADE,
    level INTEGER NOT NULL,
    width INTEGER NOT NULL,
    height INTEGER NOT NULL,
    png BLOB NOT NULL,
    PRIMARY KEY (image_id, level)
);
""",
    4: """
ALTER TABLE batches ADD COLUMN purged_at TEXT;
UPDATE batches SET purged_at = removed_at WHERE removed_at IS NOT NULL;
""",
}


class WorkspaceError(Exception):
    """The store cannot be opened or changed; str() is one line."""


class NotAllowed(WorkspaceError):
    """A viewer tried to change the workspace."""


def default_target() -> str:
    return os.environ.get("GEO_WORKSPACE") or str(DEFAULT_PATH)


def is_url(target) -> bool:
    return str(target).startswith(("postgresql://", "postgres://"))


def default_path() -> Path | str:
    """Where the store is: a Path for SQLite, the URL for PostGIS."""
    target = default_target()
    return target if is_url(target) else Path(target).expanduser()


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def version_of(batches: pd.DataFrame) -> str:
    """A short hash of what the store holds (each live batch's id, kind, count and file hash):
    exports made from the same store carry the same version, whichever store it is."""
    rows = [[int(i), str(k), int(n), str(s)] for i, k, n, s in
            zip(batches["id"], batches["kind"], batches["feature_count"], batches["sha256"])]
    if not rows:
        return "empty"
    return hashlib.sha256(json.dumps(rows).encode()).hexdigest()[:12]


@dataclass(frozen=True)
class Snapshot:
    """Everything in the store at one version, for drawing and exporting without touching the store again."""

    version: str
    batches: pd.DataFrame
    features: gpd.GeoDataFrame  # every kind but tracks
    fronts: gpd.GeoDataFrame
    tracks: pd.DataFrame
    images: gpd.GeoDataFrame = field(default_factory=lambda: images_frame([]))  # metadata only, no pictures


# Stores for URL targets, by scheme: each registers itself (geo.store imports them all), so this
# module never imports the stores built on it.
BACKENDS: dict[str, type] = {}


class Workspace:
    """The store named by `target` (a path or a postgresql:// URL; default $GEO_WORKSPACE).

    Writes take `user` (a geo.store.access.User); without one they act as the local user under the
    access configuration, which is what the command line is."""

    where: str  # for messages; never holds a password

    def __new__(cls, target=None):
        if cls is Workspace:
            target = default_target() if target is None else target
            cls = BACKENDS["postgresql"] if is_url(target) else SqliteWorkspace
        return super().__new__(cls)

    # --- writing: the permission check lives here, below every caller -------------------------------

    def add(self, result: ImportResult, user: access.User | None = None, progress=None) -> int:
        """Store one import; returns its batch id. A result to stream (an AIS export beyond the
        importer's limits, geo.ships.bigfiles) is read here, inside the batch's transaction, with
        `progress(fraction of bytes, rows read)` told as it goes."""
        user = self.authorise(user, "import", None, result.filename)
        self.purge()
        return self._add(result, user, progress)

    def remove(self, batch_id: int, user: access.User | None = None) -> str:
        """Take a batch off the map; its row stays, marked with who removed it and when, and its
        data stays for UNDO_HOURS, so restore() can bring it back. Returns the time (UTC, ISO 8601)
        until which it can be restored."""
        user = self.authorise(user, "remove", int(batch_id), "")
        self.purge()
        self._remove(int(batch_id), user)
        positions.hold_batch(self.positions_root, int(batch_id))
        return restorable_until(self.batches(removed=True).set_index("id").loc[int(batch_id), "removed_at"])

    def restore(self, batch_id: int, user: access.User | None = None) -> None:
        """Undo a removal: the batch's rows, positions and images are on the map again, as they
        were. KeyError if there is no such batch, it is not removed, or it was purged."""
        user = self.authorise(user, "restore", int(batch_id), "")
        self.purge()
        self._restore(int(batch_id), user)
        positions.release_batch(self.positions_root, int(batch_id))

    def purge(self) -> list[int]:
        """Delete for good the data of batches removed more than UNDO_HOURS ago (each write
        calls it first, in a transaction of its own); returns their ids."""
        if not self._expired():  # a read: most writes find nothing to purge and take no lock for it
            return []
        purged = self._purge()
        for gone in purged:
            positions.purge_held(self.positions_root, gone)
        return purged

    def authorise(self, user: access.User | None, action: str, batch_id: int | None = None,
                  detail: str = "") -> access.User:
        """The user, if an editor; otherwise log and audit the refusal and raise NotAllowed.
        add() and remove() call it themselves; callers may call it first to refuse early."""
        user = self.vouch(user or access.local_user())
        if user.editor:
            return user
        log.warning("refused %s of %s by viewer %s", action, batch_id if batch_id is not None else detail,
                    user.label)
        self._record(user.label, action, batch_id, "refused", detail)
        what = f"batch {batch_id}" if batch_id is not None else detail
        raise NotAllowed(f"{user.label} may view but not {action} {what}: only editors change the workspace")

    def vouch(self, user: access.User) -> access.User:
        """The user as the store records them (PostGIS adds the database role of a local user)."""
        return user

    def record_refusal(self, user: access.User, action: str, detail: str = "") -> None:
        """Audit an attempt refused before it reached the store: an identity header sent without
        the proxy's secret, a viewer's upload. Names and detail are escaped into one line."""
        log.warning("refused %s by %s: %s", action, user.label, escape(detail, 300))
        self._record(user.label, action, None, "refused", detail)

    # --- reading ---------------------------------------------------------------------------------------

    def version(self) -> str:
        return version_of(self.batches())

    def fronts(self) -> gpd.GeoDataFrame:
        """Dated front snapshots, with as_of (datetime64) for front_on()."""
        return as_fronts(self.features("front"))

    # --- what each store provides ----------------------------------------------------------------------

    def _add(self, result: ImportResult, user: access.User, progress=None) -> int:
        raise NotImplementedError

    def _remove(self, batch_id: int, user: access.User) -> None:
        raise NotImplementedError

    def _restore(self, batch_id: int, user: access.User) -> None:
        raise NotImplementedError

    def _expired(self) -> bool:
        raise NotImplementedError

    def _purge(self) -> list[int]:
        raise NotImplementedError

    def track_count(self, batch_id: int) -> int:
        """How many tracks a batch holds (removed or not, until it is purged)."""
        raise NotImplementedError

    def _record(self, user_name, action, batch_id, outcome, detail) -> None:
        raise NotImplementedError

    def batches(self, removed: bool = False) -> pd.DataFrame:
        """Live batches; with removed=True also the removed ones (removed_at set)."""
        raise NotImplementedError

    def audit(self) -> pd.DataFrame:
        raise NotImplementedError

    def features(self, kind: str | None = None) -> gpd.GeoDataFrame:
        raise NotImplementedError

    def tracks(self, batch_id: int | None = None, since=None, until=None) -> pd.DataFrame:
        raise NotImplementedError

    def images(self, since=None, until=None) -> gpd.GeoDataFrame:
        """Imported images' metadata, no pictures: one row per image (IMAGE_COLUMNS, dates as
        datetime64, the footprint as geometry in EPSG:4326), by date; `since`/`until` cut a
        window of dates [since, until)."""
        raise NotImplementedError

    def image_bytes(self, image_id: int, level: int = 0) -> bytes:
        """One level of an image's pyramid as PNG bytes (level 0 the largest); KeyError if the
        image (or that level) is not in the store."""
        raise NotImplementedError

    def counts(self) -> dict[str, int]:
        raise NotImplementedError

    def snapshot(self) -> Snapshot:
        raise NotImplementedError


def undo_cutoff() -> str:
    """Removals before this time (UTC, ISO 8601) are past undoing: the next write purges them."""
    return (datetime.now(timezone.utc) - timedelta(hours=UNDO_HOURS)).isoformat(timespec="seconds")


def restorable_until(removed_at) -> str:
    """Until when a batch removed at `removed_at` (ISO 8601) can be restored."""
    return (datetime.fromisoformat(str(removed_at)) + timedelta(hours=UNDO_HOURS)).isoformat(timespec="seconds")


def restorable(batch) -> bool:
    """Whether a row of batches(removed=True) is a removed batch that restore() can bring back."""
    removed_at, purged_at = getattr(batch, "removed_at", None), getattr(batch, "purged_at", None)
    return isinstance(removed_at, str) and not isinstance(purged_at, str) and removed_at >= undo_cutoff()


def check_restorable(batch_id: int, row) -> None:
    """KeyError (one line) unless `row` (removed_at, removed_by, purged_at) is a restorable removal."""
    if row is None:
        raise KeyError(f"no batch {batch_id} in the workspace")
    removed_at, removed_by, purged_at = row
    if removed_at is None:
        raise KeyError(f"batch {batch_id} is not removed: nothing to restore")
    if purged_at is not None or str(removed_at) < undo_cutoff():
        raise KeyError(f"batch {batch_id} was removed by {removed_by} at {removed_at}, more than {UNDO_HOURS} h ago, "
                       "and its data is deleted: import the file again")


# Deleting the data of removals past the undo window ({p}: the placeholder).
PURGE_SQL = ("DELETE FROM features WHERE batch_id = {p}",
             "DELETE FROM track_points WHERE batch_id = {p}",
             "DELETE FROM image_levels WHERE image_id IN (SELECT id FROM images WHERE batch_id = {p})",
             "DELETE FROM images WHERE batch_id = {p}")
EXPIRED_SQL = "SELECT id FROM batches WHERE removed_at IS NOT NULL AND purged_at IS NULL AND removed_at < {p}"
LIVE_BATCHES = "(SELECT id FROM batches WHERE removed_at IS NULL)"


def as_fronts(features: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    return features.assign(as_of=features["date"])


def batches_frame(rows) -> pd.DataFrame:
    frame = pd.DataFrame.from_records(rows, columns=list(BATCH_COLUMNS))
    for column in ("warnings", "skipped"):
        frame[column] = frame[column].map(lambda v: json.loads(v) if isinstance(v, str) else list(v))
    for column in ("id", "feature_count"):
        frame[column] = frame[column].astype("int64")
    return frame


def tracks_frame(frame: pd.DataFrame) -> pd.DataFrame:
    frame["t"] = pd.to_datetime(frame["t"], unit="ms").astype("datetime64[ms]")
    return frame


def images_frame(rows) -> gpd.GeoDataFrame:
    """images() from rows of IMAGE_COLUMNS + footprint (GeoJSON text)."""
    frame = pd.DataFrame.from_records([r[:len(IMAGE_COLUMNS)] for r in rows], columns=list(IMAGE_COLUMNS))
    frame["date"] = pd.to_datetime(frame["date"].astype(object), format="ISO8601").astype("datetime64[s]")
    for column in ("image_id", "batch_id", "width", "height", "levels"):
        frame[column] = frame[column].astype("int64")
    for column in ("west", "south", "east", "north"):
        frame[column] = frame[column].astype("float64")
    geometry = [shapely.from_geojson(r[len(IMAGE_COLUMNS)]) for r in rows]
    return gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(geometry, crs=WGS84), crs=WGS84)


def image_rows(result: ImportResult):
    """(image row, [(level, width, height, png)]) for each image of an import."""
    for image in result.images:
        west, south, east, north = image.bounds
        footprint = json.dumps({"type": "Polygon", "coordinates": [[list(p) for p in image.footprint]]})
        yield ((escape(image.name, 300), image.date, image.date_from, escape(image.source, 500),
                escape(image.licence, 300), image.crs_in, footprint, west, south, east, north, image.width,
                image.height, len(image.levels), image.sha256),
               [(n, level.width, level.height, level.png) for n, level in enumerate(image.levels)])


IMAGE_INSERT = ("INSERT INTO images(batch_id, name, date, date_from, source, licence, crs_in, footprint, west, south, "
                "east, north, width, height, levels, sha256) VALUES ({})")


def image_window(since, until) -> tuple[list[str], list[str]]:
    """SQL clauses (with a {} for the placeholder) and values for a window of dates [since, until)."""
    clauses, args = [], []
    if since is not None:
        clauses.append("i.date >= {}"), args.append(pd.Timestamp(since).strftime("%Y-%m-%d"))
    if until is not None:
        clauses.append("i.date < {}"), args.append(pd.Timestamp(until).strftime("%Y-%m-%d"))
    return clauses, args


IMAGE_SELECT = ("SELECT i.id, i.batch_id, b.filename, i.name, i.date{cast}, i.date_from, i.source, i.licence, i.crs_in, "
                "i.west, i.south, i.east, i.north, i.width, i.height, i.levels, i.sha256, {footprint} "
                "FROM images i JOIN batches b ON b.id = i.batch_id WHERE b.removed_at IS NULL")


def millis(when) -> int:
    """Unix milliseconds of a time; naive times are UTC, as the importer stores them."""
    stamp = pd.Timestamp(when)
    if stamp.tzinfo is not None:
        stamp = stamp.tz_convert("UTC").tz_localize(None)
    return int(stamp.value // 1_000_000)


class SqliteWorkspace(Workspace):
    store = "sqlite"

    def __init__(self, target: str | Path | None = None):
        self.path = Path(target).expanduser() if target else Path(default_target()).expanduser()
        self.where = str(self.path)
        self.positions_root = positions.root_for(self.path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        except OSError as err:
            raise WorkspaceError(f"cannot create the folder for {self.path}: {err.strerror or err}") from None
        self.on_wait = None  # called with the seconds waited while another writer holds the store
        with self._connect() as con:
            self._set_wal(con)
            found = stored_version(con)
        if found == int(SCHEMA_VERSION):  # nothing to migrate: no write lock, so opening never waits
            self.schema_version = found
        else:
            with self._write() as con:
                self.schema_version = migrate(con, self.path)

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
            raise WorkspaceError(sqlite_problem(self.path, err)) from None
        finally:
            con.close()

    @staticmethod
    def _set_wal(con):
        # Switching to WAL needs a moment alone with the file; another process may hold it.
        # A store in WAL already stays so (the mode is kept in the file): nothing to wait for.
        if con.execute("PRAGMA journal_mode").fetchone()[0].lower() == "wal":
            return
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
            self._begin_write(con)
            try:
                yield con
            except BaseException:
                if con.in_transaction:  # SQLite rolls back by itself on some errors (a full disk)
                    con.execute("ROLLBACK")
                raise
            con.execute("COMMIT")

    def _begin_write(self, con):
        """BEGIN IMMEDIATE, queued behind another writer (a long import) for up to
        GEO_WRITE_WAIT_SECONDS (default an hour) instead of failing after 30 s; on_wait (or the
        log) hears how long it has waited, once a second."""
        try:
            limit = float(os.environ.get("GEO_WRITE_WAIT_SECONDS") or 3600)
        except ValueError:
            raise WorkspaceError("GEO_WRITE_WAIT_SECONDS must be a number of seconds") from None
        con.execute(f"PRAGMA busy_timeout = {WAIT_STEP_MS}")
        started = time.monotonic()
        while True:
            try:
                con.execute("BEGIN IMMEDIATE")
                break
            except sqlite3.OperationalError as err:
                if "locked" not in str(err) and "busy" not in str(err):
                    raise
                waited = time.monotonic() - started
                if waited > limit:
                    raise WorkspaceError(f"the workspace {self.path} stayed busy for {waited:,.0f} s (another "
                                         "program is still writing to it); nothing was changed, try again later") \
                        from None
                (self.on_wait or (lambda s: log.info("waiting %.0f s for another writer", s)))(waited)
        con.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")

    @contextmanager
    def _read(self):
        """One read transaction: in WAL mode every SELECT in it sees the same committed state."""
        with self._connect() as con:
            con.execute("BEGIN")
            try:
                yield con
            finally:
                con.execute("COMMIT")

    # --- writing -------------------------------------------------------------------------------------

    def _add(self, result: ImportResult, user: access.User, progress=None) -> int:
        frame = stored_frame(result)
        with positions_staged() as staged, self._write() as con:
            batch_id = self._insert(con, result, user, frame)
            streamed = stage_positions(self.positions_root, batch_id, result, staged, progress)
            if streamed:
                con.execute("UPDATE batches SET feature_count = ?, skipped = ? WHERE id = ?",
                            (streamed["rows"], json.dumps(streamed["skipped"]), batch_id))
        return batch_id

    def _expired(self) -> bool:
        with self._connect() as con:
            return con.execute(EXPIRED_SQL.format(p="?") + " LIMIT 1", (undo_cutoff(),)).fetchone() is not None

    def _purge(self) -> list[int]:
        with self._write() as con:
            ids = [r[0] for r in con.execute(EXPIRED_SQL.format(p="?"), (undo_cutoff(),)).fetchall()]
            for batch_id in ids:
                for statement in PURGE_SQL:
                    con.execute(statement.format(p="?"), (batch_id,))
                con.execute("UPDATE batches SET purged_at = ? WHERE id = ?", (now_iso(), batch_id))
                self._audit(con, "workspace", "purge", batch_id, "done", f"removed more than {UNDO_HOURS} h ago")
        return ids

    def _insert(self, con, result: ImportResult, user: access.User, frame) -> int:
        cur = con.execute(
            "INSERT INTO batches(filename, kind, format, imported_at, imported_by, feature_count, sha256, "
            "input_crs, warnings, skipped) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (escape(result.filename, 300), result.kind, result.format, now_iso(), user.label, len(frame), result.sha256,
             result.input_crs, json.dumps(result.warnings), json.dumps(result.skipped)))
        batch_id = cur.lastrowid
        if result.kind == "tracks":
            con.executemany("INSERT INTO track_points(batch_id, track_id, name, t, lon, lat) "
                            "VALUES (?, ?, ?, ?, ?, ?)", track_rows(batch_id, frame))
        elif result.kind == "images":
            for row, levels in image_rows(result):
                image_id = con.execute(IMAGE_INSERT.format(", ".join("?" * 16)), (batch_id, *row)).lastrowid
                con.executemany("INSERT INTO image_levels(image_id, level, width, height, png) "
                                "VALUES (?, ?, ?, ?, ?)", [(image_id, *level) for level in levels])
        else:
            con.executemany("INSERT INTO features(batch_id, kind, name, date, properties, geometry) "
                            "VALUES (?, ?, ?, ?, ?, ?)", feature_rows(batch_id, result.kind, frame))
        self._audit(con, user.label, "import", batch_id, "done", result.filename)
        return batch_id

    def _remove(self, batch_id: int, user: access.User) -> None:
        with self._write() as con:
            row = con.execute("SELECT removed_at, removed_by FROM batches WHERE id = ?", (batch_id,)).fetchone()
            if row is None:
                raise KeyError(f"no batch {batch_id} in the workspace")
            if row[0] is not None:
                raise KeyError(f"batch {batch_id} was removed already, by {row[1]} at {row[0]}")
            at = now_iso()
            con.execute("UPDATE batches SET removed_at = ?, removed_by = ? WHERE id = ?", (at, user.label, batch_id))
            self._audit(con, user.label, "remove", batch_id, "done", f"restorable until {restorable_until(at)}")

    def _restore(self, batch_id: int, user: access.User) -> None:
        with self._write() as con:
            check_restorable(batch_id, con.execute("SELECT removed_at, removed_by, purged_at FROM batches "
                                                   "WHERE id = ?", (batch_id,)).fetchone())
            con.execute("UPDATE batches SET removed_at = NULL, removed_by = NULL WHERE id = ?", (batch_id,))
            self._audit(con, user.label, "restore", batch_id, "done", "")

    def track_count(self, batch_id: int) -> int:
        with self._connect() as con:
            return con.execute("SELECT count(DISTINCT track_id) FROM track_points WHERE batch_id = ?",
                               (int(batch_id),)).fetchone()[0]

    @staticmethod
    def _audit(con, user_name, action, batch_id, outcome, detail):
        con.execute("INSERT INTO audit(at, user_name, action, batch_id, outcome, detail) VALUES (?, ?, ?, ?, ?, ?)",
                    (now_iso(), escape(user_name, 300), action, batch_id, outcome, escape(detail, 300)))

    def _record(self, user_name, action, batch_id, outcome, detail) -> None:
        with self._write() as con:
            self._audit(con, user_name, action, batch_id, outcome, detail)

    # --- reading -------------------------------------------------------------------------------------

    @staticmethod
    def _batches(con, removed=False) -> pd.DataFrame:
        where = "" if removed else " WHERE removed_at IS NULL"
        rows = con.execute(f"SELECT {', '.join(BATCH_COLUMNS)} FROM batches{where} ORDER BY id").fetchall()
        return batches_frame(rows)

    @staticmethod
    def _feature_rows(con, kind=None):
        sql = ("SELECT f.id, f.batch_id, b.filename, f.kind, f.name, f.date, f.properties, f.geometry "
               "FROM features f JOIN batches b ON b.id = f.batch_id WHERE b.removed_at IS NULL")
        args = ()
        if kind:
            sql, args = sql + " AND f.kind = ?", (kind,)
        return con.execute(sql + " ORDER BY f.id", args).fetchall()

    @staticmethod
    def _tracks(con, batch_id=None, since=None, until=None) -> pd.DataFrame:
        clauses, args = [f"batch_id IN {LIVE_BATCHES}"], []
        if batch_id is not None:
            clauses.append("batch_id = ?"), args.append(int(batch_id))
        if since is not None:
            clauses.append("t >= ?"), args.append(millis(since))
        if until is not None:
            clauses.append("t < ?"), args.append(millis(until))
        where = f" WHERE {' AND '.join(clauses)}"
        frame = pd.read_sql_query(f"SELECT track_id, name, t, lon, lat FROM track_points{where} ORDER BY track_id, t",
                                  con, params=args)
        return tracks_frame(frame)

    @staticmethod
    def _images(con, since=None, until=None) -> gpd.GeoDataFrame:
        clauses, args = image_window(since, until)
        sql = IMAGE_SELECT.format(cast="", footprint="i.footprint") + \
            "".join(" AND " + c.format("?") for c in clauses) + " ORDER BY i.date, i.id"
        return images_frame(con.execute(sql, args).fetchall())

    def images(self, since=None, until=None) -> gpd.GeoDataFrame:
        with self._connect() as con:
            return self._images(con, since, until)

    def image_bytes(self, image_id: int, level: int = 0) -> bytes:
        with self._connect() as con:
            row = con.execute("SELECT l.png FROM image_levels l JOIN images i ON i.id = l.image_id "
                              "JOIN batches b ON b.id = i.batch_id WHERE l.image_id = ? AND l.level = ? "
                              "AND b.removed_at IS NULL", (int(image_id), int(level))).fetchone()
        if row is None:
            raise KeyError(f"no image {image_id} with a level {level} in the workspace")
        return bytes(row[0])

    def batches(self, removed: bool = False) -> pd.DataFrame:
        with self._connect() as con:
            return self._batches(con, removed)

    def audit(self) -> pd.DataFrame:
        with self._connect() as con:
            rows = con.execute(f"SELECT {', '.join(AUDIT_COLUMNS)} FROM audit ORDER BY id").fetchall()
        return pd.DataFrame.from_records(rows, columns=list(AUDIT_COLUMNS))

    def version(self) -> str:
        with self._connect() as con:  # the cheap query: the app asks on every rerun
            rows = con.execute("SELECT id, kind, feature_count, sha256 FROM batches WHERE removed_at IS NULL "
                               "ORDER BY id").fetchall()
        return version_of(pd.DataFrame.from_records(rows, columns=["id", "kind", "feature_count", "sha256"]))

    def features(self, kind: str | None = None) -> gpd.GeoDataFrame:
        """Stored features (all kinds but tracks), their properties spread into columns."""
        with self._connect() as con:
            return features_frame(self._feature_rows(con, kind))

    def tracks(self, batch_id: int | None = None, since=None, until=None) -> pd.DataFrame:
        """Track points, by track and time; `since`/`until` cut a time window [since, until)."""
        with self._connect() as con:
            return self._tracks(con, batch_id, since, until)

    def counts(self) -> dict[str, int]:
        with self._read() as con:
            return {"batches": con.execute("SELECT count(*) FROM batches WHERE removed_at IS NULL").fetchone()[0],
                    **{table: con.execute(f"SELECT count(*) FROM {table} WHERE batch_id IN {LIVE_BATCHES}")
                       .fetchone()[0] for table in ("features", "track_points", "images")}}

    def snapshot(self) -> Snapshot:
        """Batches, features and tracks read in one transaction, so the version matches the data."""
        with self._read() as con:
            batches = self._batches(con)
            rows = self._feature_rows(con)
            tracks = self._tracks(con)
            images = self._images(con)
        return Snapshot(version=version_of(batches), batches=batches, features=features_frame(rows),
                        fronts=as_fronts(features_frame([r for r in rows if r[3] == "front"])), tracks=tracks,
                        images=images)


def stored_version(con) -> int | None:
    """The schema version a SQLite store holds (None: a new file), read without a write lock."""
    if con.execute("SELECT 1 FROM sqlite_master WHERE name = 'meta'").fetchone() is None:
        return None
    row = con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    return int(row[0]) if row else 1


def sqlite_problem(path, err) -> str:
    """A SQLite error as one line a user can act on."""
    text = str(err)
    if "disk is full" in text or getattr(err, "sqlite_errorcode", None) == 13:  # SQLITE_FULL
        return (f"the disk holding the workspace {path} is full: nothing was imported or changed; "
                "free some space and try again")
    if "disk I/O error" in text:
        return f"the workspace {path} could not be read or written (disk I/O error): nothing was changed"
    return f"workspace {path}: {text}"


def migrate(con, where) -> int:
    """Bring a SQLite store to SCHEMA_VERSION inside the caller's write transaction."""
    known = int(SCHEMA_VERSION)
    fresh = con.execute("SELECT 1 FROM sqlite_master WHERE name = 'meta'").fetchone() is None
    if fresh:
        for statement in SCHEMA_V1.split(";"):
            if statement.strip():
                con.execute(statement)
        con.execute("INSERT INTO meta(key, value) VALUES ('schema_version', '1')")
    row = con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    found = int(row[0]) if row else 1
    if found > known:
        raise WorkspaceError(f"{where} has schema version {found}; this program reads up to {known}")
    for step in range(found + 1, known + 1):
        for statement in MIGRATIONS[step].split(";"):
            if statement.strip():
                con.execute(statement)
        con.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(step),))
    return known


def front_on(fronts: pd.DataFrame, when) -> pd.DataFrame:
    """The latest snapshot on or before `when` (every feature of that as_of date); empty if none."""
    when = pd.Timestamp(when).normalize()
    known = fronts[fronts["as_of"].notna() & (fronts["as_of"] <= when)]
    if known.empty:
        return known

    return latest_per_status(known)  # one snapshot layer per status, when the fronts have one


# --- conversions ---------------------------------------------------------------------------------------

def json_value(value):
    """A cell as JSON: dates as YYYY-MM-DD (times kept when not midnight), NaN as null."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, (pd.Timestamp, datetime)):
        stamp = pd.Timestamp(value)
        day = f"{stamp.year:04d}-{stamp.month:02d}-{stamp.day:02d}"  # strftime drops the zeros of years < 1000
        return day if stamp == stamp.normalize() else day + stamp.isoformat()[stamp.isoformat().index("T"):]
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
        row_kind = props.pop("stored_as", None) or kind  # a front's points are stored as events (geo.imports.frontlayers)
        yield (batch_id, row_kind, str(props.get("name") or ""), day[:10] if isinstance(day, str) else None,
               json.dumps(props, ensure_ascii=False, allow_nan=False), blob)


@contextmanager
def positions_staged():
    """The positions writers a batch's transaction stages (stage_positions): aborted if the
    transaction fails, put in place once it has committed (the with block around it has ended)."""
    staged = []
    try:
        yield staged
    except BaseException:
        for writer in staged:
            writer.abort()
        raise
    for writer in staged:
        writer.commit()


def stored_frame(result: ImportResult) -> pd.DataFrame:
    """The records a batch's tables hold: none for a streamed AIS export (its positions go to the
    positions store only; its frame is a preview's sample)."""
    return result.frame.iloc[:0] if result.stream is not None else result.frame


def stage_positions(root, batch_id: int, result: ImportResult, staged: list, progress=None) -> dict | None:
    """Write a vessel track import's positions to a staging folder of the positions store
    (geo.ships.positions); the caller commits it once the batch is committed, or aborts it.
    A streamed AIS export (geo.ships.bigfiles) is read here; its {rows, skipped} are returned for
    the batch's row."""
    if result.stream is not None:
        writer = positions.BatchWriter(root, batch_id, display_seconds=bigfiles.DISPLAY_SECONDS)
        staged.append(writer)
        return bigfiles.stream_into(writer, result, progress)
    if result.kind != "tracks" or not ais.carries_positions(result.frame):
        return None
    writer = positions.BatchWriter(root, batch_id)
    staged.append(writer)
    step = 1_000_000
    for start in range(0, len(result.frame), step):
        writer.write(ais.positions_of_tracks(result.frame.iloc[start:start + step]))


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
                         "date": pd.to_datetime(pd.Series(dates, dtype=object), format="ISO8601").astype("datetime64[s]")})
    geometry = shapely.from_wkb(np.array(blobs, dtype=object))
    return gpd.GeoDataFrame(pd.concat([meta, properties], axis=1), geometry=list(geometry), crs=WGS84)
