"""The workspace in PostGIS: the same calls and results as the SQLite store, for several app
servers (and the command line) sharing one database. GEO_WORKSPACE=postgresql://user@host/db.

Tables (schema version in meta; MIGRATIONS below is the path from each version to the next):
- batches: as in SQLite; imported_at / removed_at / purged_at are timestamptz, warnings / skipped json.
- features: geom is geometry(Geometry, 4326) with a GiST index; properties is json (not
  jsonb, which would reorder the keys and so the columns an export writes).
- track_points: id, batch_id, track_id, name, t (timestamptz), lon, lat and geom
  (geometry(Point, 4326), generated from lon/lat), indexed on t for the map's time window,
  on (track_id, t) and with GiST on geom. Bulk-loaded with COPY.
- audit: as in SQLite.
- images, image_levels: as in SQLite; images.date is a date, images.footprint a
  geometry(Polygon, 4326) with a GiST index (QGIS shows the footprints as a layer), png bytea.
- gis_points, gis_lines, gis_areas, gis_tracks: views with one typed geometry column each
  (EPSG:4326), for adding the workspace to QGIS or any GDAL client as layers; like every read,
  they leave out removed batches (kept for UNDO_HOURS, see geo.store.workspace).

Every write is one transaction, so an import is all-or-nothing; concurrent imports each get
their own identity value and do not wait on each other. A snapshot reads in one REPEATABLE
READ transaction, so its version always describes the data it holds. Each operation borrows a
connection of its own (a few idle ones are kept for the next), so a Workspace may be shared
across Streamlit's threads; no transaction is ever held between operations.
The index on track_points.t serves Workspace.tracks(since=, until=) and GIS clients' time
filters (QGIS's temporal controller).
"""
from __future__ import annotations

import csv
import dataclasses
import io
import json
import threading

import geopandas as gpd
import numpy as np
import pandas as pd

from geo.imports.importer import ImportResult
from geo.safetext import escape
from geo.ships import positions
from geo.store import access
from geo.store.workspace import (AUDIT_COLUMNS, BACKENDS, BATCH_COLUMNS, IMAGE_INSERT, IMAGE_SELECT, Snapshot, Workspace,
                                 WorkspaceError, as_fronts, batches_frame, default_target, feature_rows, features_frame,
                                 image_rows, image_window, images_frame, millis, now_iso, positions_staged,
                                 stage_positions, stored_frame, tracks_frame, version_of, EXPIRED_SQL, LIVE_BATCHES,
                                 PURGE_SQL, UNDO_HOURS, check_restorable, restorable_until, undo_cutoff)

SCHEMA_VERSION = 3
MIGRATION_LOCK = 0x6E0_13  # pg_advisory_xact_lock key: two servers starting at once migrate one at a time
COPY_ROWS = 200_000  # track points per COPY chunk: bounded memory for files of millions of points
IDLE_CONNECTIONS = 4  # kept open per Workspace (per server process): reruns are short and frequent

MIGRATIONS = {
    1: """
CREATE EXTENSION IF NOT EXISTS postgis;
CREATE TABLE batches (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    filename text NOT NULL,
    kind text NOT NULL,
    format text NOT NULL,
    imported_at timestamptz NOT NULL,
    imported_by text NOT NULL DEFAULT '',
    feature_count integer NOT NULL,
    sha256 text NOT NULL,
    input_crs text,
    warnings json NOT NULL DEFAULT '[]',
    skipped json NOT NULL DEFAULT '[]',
    removed_at timestamptz,
    removed_by text
);
CREATE TABLE features (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    batch_id bigint NOT NULL REFERENCES batches(id),
    kind text NOT NULL,
    name text NOT NULL DEFAULT '',
    date date,
    properties json NOT NULL,
    geom geometry(Geometry, 4326)
);
CREATE INDEX features_batch ON features(batch_id);
CREATE INDEX features_kind_date ON features(kind, date);
CREATE INDEX features_geom ON features USING gist(geom);
CREATE TABLE track_points (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    batch_id bigint NOT NULL REFERENCES batches(id),
    track_id text NOT NULL,
    name text NOT NULL DEFAULT '',
    t timestamptz NOT NULL,
    lon double precision NOT NULL,
    lat double precision NOT NULL,
    geom geometry(Point, 4326) GENERATED ALWAYS AS (ST_SetSRID(ST_MakePoint(lon, lat), 4326)) STORED
);
CREATE INDEX track_points_batch ON track_points(batch_id);
CREATE INDEX track_points_t ON track_points(t);
CREATE INDEX track_points_track_t ON track_points(track_id, t);
CREATE INDEX track_points_geom ON track_points USING gist(geom);
CREATE TABLE audit (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at timestamptz NOT NULL,
    user_name text NOT NULL,
    action text NOT NULL,
    batch_id bigint,
    outcome text NOT NULL,
    detail text NOT NULL DEFAULT ''
);
CREATE VIEW gis_points AS
    SELECT f.id, f.batch_id, b.filename, f.kind, f.name, f.date, f.properties::text AS properties,
           ST_Multi(f.geom)::geometry(MultiPoint, 4326) AS geom
    FROM features f JOIN batches b ON b.id = f.batch_id
    WHERE GeometryType(f.geom) IN ('POINT', 'MULTIPOINT');
CREATE VIEW gis_lines AS
    SELECT f.id, f.batch_id, b.filename, f.kind, f.name, f.date, f.properties::text AS properties,
           ST_Multi(f.geom)::geometry(MultiLineString, 4326) AS geom
    FROM features f JOIN batches b ON b.id = f.batch_id
    WHERE GeometryType(f.geom) IN ('LINESTRING', 'MULTILINESTRING');
CREATE VIEW gis_areas AS
    SELECT f.id, f.batch_id, b.filename, f.kind, f.name, f.date, f.properties::text AS properties,
           ST_Multi(f.geom)::geometry(MultiPolygon, 4326) AS geom
    FROM features f JOIN batches b ON b.id = f.batch_id
    WHERE GeometryType(f.geom) IN ('POLYGON', 'MULTIPOLYGON');
CREATE VIEW gis_tracks AS
    SELECT (row_number() OVER (ORDER BY p.batch_id, p.track_id))::bigint AS id, p.batch_id, b.filename,
           p.track_id, max(p.name) AS name, min(p.t) AS first_t, max(p.t) AS last_t, count(*)::integer AS points,
           ST_MakeLine(p.geom ORDER BY p.t)::geometry(LineString, 4326) AS geom
    FROM track_points p JOIN batches b ON b.id = p.batch_id
    GROUP BY p.batch_id, b.filename, p.track_id
    HAVING count(*) > 1;
""",
    2: """
CREATE TABLE images (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    batch_id bigint NOT NULL REFERENCES batches(id),
    name text NOT NULL DEFAULT '',
    date date NOT NULL,
    date_from text NOT NULL DEFAULT '',
    source text NOT NULL DEFAULT '',
    licence text NOT NULL DEFAULT '',
    crs_in text NOT NULL DEFAULT '',
    footprint geometry(Polygon, 4326) NOT NULL,
    west double precision NOT NULL,
    south double precision NOT NULL,
    east double precision NOT NULL,
    north double precision NOT NULL,
    width integer NOT NULL,
    height integer NOT NULL,
    levels integer NOT NULL,
    sha256 text NOT NULL
);
CREATE INDEX images_batch ON images(batch_id);
CREATE INDEX images_date ON images(date);
CREATE INDEX images_footprint ON images USING gist(footprint);
CREATE TABLE image_levels (
    image_id bigint NOT NULL REFERENCES images(id),
    level integer NOT NULL,
    width integer NOT NULL,
    height integer NOT NULL,
    png bytea NOT NULL,
    PRIMARY KEY (image_id, level)
);
""",
    3: """
ALTER TABLE batches ADD COLUMN purged_at timestamptz;
UPDATE batches SET purged_at = removed_at WHERE removed_at IS NOT NULL;
CREATE OR REPLACE VIEW gis_points AS
    SELECT f.id, f.batch_id, b.filename, f.kind, f.name, f.date, f.properties::text AS properties,
           ST_Multi(f.geom)::geometry(MultiPoint, 4326) AS geom
    FROM features f JOIN batches b ON b.id = f.batch_id
    WHERE GeometryType(f.geom) IN ('POINT', 'MULTIPOINT') AND b.removed_at IS NULL;
CREATE OR REPLACE VIEW gis_lines AS
    SELECT f.id, f.batch_id, b.filename, f.kind, f.name, f.date, f.properties::text AS properties,
           ST_Multi(f.geom)::geometry(MultiLineString, 4326) AS geom
    FROM features f JOIN batches b ON b.id = f.batch_id
    WHERE GeometryType(f.geom) IN ('LINESTRING', 'MULTILINESTRING') AND b.removed_at IS NULL;
CREATE OR REPLACE VIEW gis_areas AS
    SELECT f.id, f.batch_id, b.filename, f.kind, f.name, f.date, f.properties::text AS properties,
           ST_Multi(f.geom)::geometry(MultiPolygon, 4326) AS geom
    FROM features f JOIN batches b ON b.id = f.batch_id
    WHERE GeometryType(f.geom) IN ('POLYGON', 'MULTIPOLYGON') AND b.removed_at IS NULL;
CREATE OR REPLACE VIEW gis_tracks AS
    SELECT (row_number() OVER (ORDER BY p.batch_id, p.track_id))::bigint AS id, p.batch_id, b.filename,
           p.track_id, max(p.name) AS name, min(p.t) AS first_t, max(p.t) AS last_t, count(*)::integer AS points,
           ST_MakeLine(p.geom ORDER BY p.t)::geometry(LineString, 4326) AS geom
    FROM track_points p JOIN batches b ON b.id = p.batch_id
    WHERE b.removed_at IS NULL
    GROUP BY p.batch_id, b.filename, p.track_id
    HAVING count(*) > 1;
""",
}

ISO = """to_char({0} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"+00:00"')"""  # as the SQLite store writes it
BATCH_SELECT = ", ".join(ISO.format(c) if c in ("imported_at", "removed_at", "purged_at") else
                         f"{c}::text" if c in ("warnings", "skipped") else c for c in BATCH_COLUMNS)


def redact(url: str) -> str:
    """The URL without its password, for messages and the sidebar."""
    from psycopg.conninfo import conninfo_to_dict
    try:
        parts = conninfo_to_dict(url)
    except Exception:
        return "postgresql://(unreadable URL)"
    user = parts.get("user", "")
    host = parts.get("host", "")
    port = f":{parts['port']}" if parts.get("port") else ""
    return f"postgresql://{user + '@' if user else ''}{host}{port}/{parts.get('dbname', '')}"


class PostgisWorkspace(Workspace):
    store = "postgis"

    def __init__(self, target: str | None = None):
        import psycopg  # only a PostGIS workspace needs the driver
        self._psycopg = psycopg
        self.url = str(default_target() if target is None else target)
        self.path = None
        self.where = redact(self.url)
        self.positions_root = positions.root_for(self.url)
        self._lock = threading.Lock()
        self._idle = []
        with self._connect() as con, con.transaction():
            self.schema_version = migrate(con, self.where)

    # --- connections ---------------------------------------------------------------------------------

    def _connect(self):
        try:
            return self._psycopg.connect(self.url, connect_timeout=10, options="-c TimeZone=UTC")
        except self._psycopg.Error as err:
            raise WorkspaceError(f"cannot open the workspace {self.where}: {one_line(err)}") from None

    def _run(self, work, read_only=False):
        """work(con) in one transaction; database errors become one line. Connections are reused
        (a few idle ones are kept): the app asks for the version on every rerun, and a new
        connection costs more than the query."""
        psycopg = self._psycopg
        con = self._borrow()
        try:
            # Set on every use: a reused connection must not carry the last caller's mode.
            con.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ if read_only else None
            con.read_only = read_only  # read-only: one consistent view for every query in work
            with con.transaction():
                result = work(con)
        except psycopg.OperationalError as err:
            con.close()
            raise WorkspaceError(f"workspace {self.where}: {one_line(err)}") from None
        except psycopg.Error as err:
            self._give_back(con)
            raise WorkspaceError(f"workspace {self.where}: {one_line(err)}") from None
        except BaseException:
            self._give_back(con)  # the transaction was rolled back; the connection is fine
            raise
        self._give_back(con)
        return result

    def _borrow(self):
        """An idle connection that still answers, else a new one. The check runs before any work,
        so an idle connection the server dropped (a restart, a timeout) costs a reconnect, never
        a half-done write."""
        with self._lock:
            con = self._idle.pop() if self._idle else None
        if con is not None:
            try:
                con.execute("SELECT 1")
                con.rollback()
                return con
            except self._psycopg.Error:
                con.close()
                self.close()  # the others most likely went the same way
        return self._connect()

    def _give_back(self, con):
        idle = con.info.transaction_status == self._psycopg.pq.TransactionStatus.IDLE
        with self._lock:
            if idle and not con.closed and len(self._idle) < IDLE_CONNECTIONS:
                self._idle.append(con)
                return
        con.close()

    def close(self):
        """Close the idle connections (done too when the object is collected)."""
        with self._lock:
            idle, self._idle = self._idle, []
        for con in idle:
            con.close()

    def __del__(self):
        if getattr(self, "_idle", None):
            self.close()

    # --- writing -------------------------------------------------------------------------------------

    def _add(self, result: ImportResult, user: access.User, progress=None) -> int:
        frame = stored_frame(result)

        def work(con):
            for writer in staged:  # an earlier attempt's
                writer.abort()
            staged.clear()
            batch_id = con.execute(
                "INSERT INTO batches(filename, kind, format, imported_at, imported_by, feature_count, sha256, "
                "input_crs, warnings, skipped) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING id",
                (escape(result.filename, 300), result.kind, result.format, now_iso(), user.label, len(frame), result.sha256,
                 result.input_crs, json.dumps(result.warnings), json.dumps(result.skipped))).fetchone()[0]
            if result.kind == "tracks":
                copy_tracks(con, batch_id, frame)
            elif result.kind == "images":
                insert_images(con, batch_id, result)
            else:
                copy_features(con, batch_id, result.kind, frame)
            audit(con, user.label, "import", batch_id, "done", result.filename)
            streamed = stage_positions(self.positions_root, batch_id, result, staged, progress)
            if streamed:
                con.execute("UPDATE batches SET feature_count = %s, skipped = %s WHERE id = %s",
                            (streamed["rows"], json.dumps(streamed["skipped"]), batch_id))
            return batch_id

        with positions_staged() as staged:
            return self._run(work)

    def _remove(self, batch_id: int, user: access.User) -> None:
        def work(con):
            row = con.execute(f"SELECT {ISO.format('removed_at')}, removed_by FROM batches WHERE id = %s FOR UPDATE",
                              (batch_id,)).fetchone()
            if row is None:
                raise KeyError(f"no batch {batch_id} in the workspace")
            if row[0] is not None:
                raise KeyError(f"batch {batch_id} was removed already, by {row[1]} at {row[0]}")
            at = now_iso()
            con.execute("UPDATE batches SET removed_at = %s, removed_by = %s WHERE id = %s", (at, user.label, batch_id))
            audit(con, user.label, "remove", batch_id, "done", f"restorable until {restorable_until(at)}")

        self._run(work)

    def _restore(self, batch_id: int, user: access.User) -> None:
        def work(con):
            check_restorable(batch_id, con.execute(
                f"SELECT {ISO.format('removed_at')}, removed_by, {ISO.format('purged_at')} FROM batches "
                "WHERE id = %s FOR UPDATE", (batch_id,)).fetchone())
            con.execute("UPDATE batches SET removed_at = NULL, removed_by = NULL WHERE id = %s", (batch_id,))
            audit(con, user.label, "restore", batch_id, "done", "")

        self._run(work)

    def _expired(self) -> bool:
        return self._run(lambda con: con.execute(EXPIRED_SQL.format(p="%s") + " LIMIT 1", (undo_cutoff(),))
                         .fetchone() is not None, read_only=True)

    def _purge(self) -> list[int]:
        return self._run(purge)

    def track_count(self, batch_id: int) -> int:
        return self._run(lambda con: con.execute("SELECT count(DISTINCT track_id) FROM track_points "
                                                 "WHERE batch_id = %s", (int(batch_id),)).fetchone()[0], read_only=True)

    def vouch(self, user: access.User) -> access.User:
        """A local user (the command line) is recorded with the database role it writes as."""
        if user.source != access.LOCAL or user.db_role:
            return user
        if getattr(self, "_role", None) is None:
            self._role = self._run(lambda con: con.execute("SELECT current_user").fetchone()[0], read_only=True)
        return dataclasses.replace(user, db_role=str(self._role))

    def _record(self, user_name, action, batch_id, outcome, detail) -> None:
        self._run(lambda con: audit(con, user_name, action, batch_id, outcome, detail))

    # --- reading -------------------------------------------------------------------------------------

    def batches(self, removed: bool = False) -> pd.DataFrame:
        return self._run(lambda con: read_batches(con, removed), read_only=True)

    def audit(self) -> pd.DataFrame:
        columns = ", ".join(ISO.format(c) if c == "at" else c for c in AUDIT_COLUMNS)
        rows = self._run(lambda con: con.execute(f"SELECT {columns} FROM audit ORDER BY id").fetchall(),
                         read_only=True)
        return pd.DataFrame.from_records(rows, columns=list(AUDIT_COLUMNS))

    def version(self) -> str:
        rows = self._run(lambda con: con.execute(
            "SELECT id, kind, feature_count, sha256 FROM batches WHERE removed_at IS NULL ORDER BY id").fetchall(),
            read_only=True)
        return version_of(pd.DataFrame.from_records(rows, columns=["id", "kind", "feature_count", "sha256"]))

    def features(self, kind: str | None = None) -> gpd.GeoDataFrame:
        return features_frame(self._run(lambda con: feature_rows_of(con, kind), read_only=True))

    def tracks(self, batch_id: int | None = None, since=None, until=None) -> pd.DataFrame:
        return self._run(lambda con: read_tracks(con, batch_id, since, until), read_only=True)

    def images(self, since=None, until=None) -> gpd.GeoDataFrame:
        return self._run(lambda con: read_images(con, since, until), read_only=True)

    def image_bytes(self, image_id: int, level: int = 0) -> bytes:
        row = self._run(lambda con: con.execute(
            "SELECT l.png FROM image_levels l JOIN images i ON i.id = l.image_id JOIN batches b ON b.id = i.batch_id "
            "WHERE l.image_id = %s AND l.level = %s AND b.removed_at IS NULL", (int(image_id), int(level))).fetchone(),
            read_only=True)
        if row is None:
            raise KeyError(f"no image {image_id} with a level {level} in the workspace")
        return bytes(row[0])

    def counts(self) -> dict[str, int]:
        return self._run(lambda con: dict(zip(("batches", "features", "track_points", "images"), con.execute(
            "SELECT (SELECT count(*) FROM batches WHERE removed_at IS NULL), "
            + ", ".join(f"(SELECT count(*) FROM {t} WHERE batch_id IN {LIVE_BATCHES})"
                        for t in ("features", "track_points", "images"))).fetchone())), read_only=True)

    def snapshot(self) -> Snapshot:
        """Batches, features and tracks read in one REPEATABLE READ transaction."""
        batches, rows, tracks, images = self._run(
            lambda con: (read_batches(con), feature_rows_of(con), read_tracks(con), read_images(con)), read_only=True)
        return Snapshot(version=version_of(batches), batches=batches, features=features_frame(rows),
                        fronts=as_fronts(features_frame([r for r in rows if r[3] == "front"])), tracks=tracks,
                        images=images)


def one_line(err) -> str:
    return " ".join(str(err).split()) or type(err).__name__


def migrate(con, where) -> int:
    """Bring the database to SCHEMA_VERSION, one step per transaction-held advisory lock."""
    con.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
    con.execute("CREATE TABLE IF NOT EXISTS meta (key text PRIMARY KEY, value text NOT NULL)")
    row = con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    found = int(row[0]) if row else 0
    known = max(MIGRATIONS)
    if found > known:
        raise WorkspaceError(f"{where} has schema version {found}; this program reads up to {known}")
    for step in range(found + 1, known + 1):
        con.execute(MIGRATIONS[step])
        con.execute("INSERT INTO meta(key, value) VALUES ('schema_version', %s) "
                    "ON CONFLICT (key) DO UPDATE SET value = excluded.value", (str(step),))
    return known


def purge(con) -> list[int]:
    """Delete the data of removals past the undo window (rows locked, so two writers purge each
    batch once); audited; returns their batch ids."""
    ids = [r[0] for r in con.execute(EXPIRED_SQL.format(p="%s") + " FOR UPDATE", (undo_cutoff(),)).fetchall()]
    for batch_id in ids:
        for statement in PURGE_SQL:
            con.execute(statement.format(p="%s"), (batch_id,))
        con.execute("UPDATE batches SET purged_at = %s WHERE id = %s", (now_iso(), batch_id))
        audit(con, "workspace", "purge", batch_id, "done", f"removed more than {UNDO_HOURS} h ago")
    return ids


def audit(con, user_name, action, batch_id, outcome, detail):
    con.execute("INSERT INTO audit(at, user_name, action, batch_id, outcome, detail) VALUES (%s, %s, %s, %s, %s, %s)",
                (now_iso(), escape(user_name, 300), action, batch_id, outcome, escape(detail, 300)))


def copy_features(con, batch_id, kind, frame):
    """COPY into a staging table (WKB as bytea), then one INSERT that builds the PostGIS geometry."""
    con.execute("CREATE TEMP TABLE staging_features (ord bigint, kind text, name text, date date, properties text, "
                "wkb bytea) ON COMMIT DROP")
    with con.cursor().copy("COPY staging_features (ord, kind, name, date, properties, wkb) FROM STDIN") as copy:
        for i, (_, row_kind, name, day, props, blob) in enumerate(feature_rows(batch_id, kind, frame)):
            copy.write_row((i, row_kind, name, day, props, blob))
    con.execute("INSERT INTO features (batch_id, kind, name, date, properties, geom) "
                "SELECT %s, kind, name, date, properties::json, ST_GeomFromWKB(wkb, 4326) FROM staging_features "
                "ORDER BY ord", (batch_id,))


def copy_tracks(con, batch_id, frame):
    """COPY track points as CSV in chunks; times go over as ISO 8601 UTC with milliseconds."""
    t = pd.to_datetime(frame["t"]).astype("datetime64[ms]").to_numpy()
    with con.cursor().copy("COPY track_points (batch_id, track_id, name, t, lon, lat) FROM STDIN "
                           "(FORMAT csv, FORCE_NOT_NULL (track_id, name))") as copy:
        for start in range(0, len(frame), COPY_ROWS):
            part = slice(start, start + COPY_ROWS)
            chunk = pd.DataFrame({"batch_id": batch_id, "track_id": frame["track_id"].astype(str).to_numpy()[part],
                                  "name": frame["name"].astype(str).to_numpy()[part],
                                  "t": np.datetime_as_string(t[part], unit="ms", timezone="UTC"),
                                  "lon": frame["lon"].astype(float).to_numpy()[part],
                                  "lat": frame["lat"].astype(float).to_numpy()[part]})
            buffer = io.StringIO()
            # repr-exact floats: a coordinate must come back bit for bit
            chunk.to_csv(buffer, header=False, index=False, quoting=csv.QUOTE_MINIMAL, float_format=None)
            copy.write(buffer.getvalue())


def insert_images(con, batch_id, result):
    """Each image's row (its footprint made a PostGIS polygon) and its pyramid's levels."""
    values = ", ".join(["%s"] * 7 + ["ST_SetSRID(ST_GeomFromGeoJSON(%s), 4326)"] + ["%s"] * 8)
    for row, levels in image_rows(result):
        image_id = con.execute(IMAGE_INSERT.format(values) + " RETURNING id", (batch_id, *row)).fetchone()[0]
        with con.cursor() as cur:
            cur.executemany("INSERT INTO image_levels(image_id, level, width, height, png) VALUES (%s, %s, %s, %s, %s)",
                            [(image_id, *level) for level in levels])


def read_images(con, since=None, until=None):
    clauses, args = image_window(since, until)
    sql = IMAGE_SELECT.format(cast="::text", footprint="ST_AsGeoJSON(i.footprint)") + \
        "".join(" AND " + c.format("%s::date") for c in clauses) + " ORDER BY i.date, i.id"
    return images_frame(con.execute(sql, args).fetchall())


def read_batches(con, removed=False) -> pd.DataFrame:
    where = "" if removed else " WHERE removed_at IS NULL"
    return batches_frame(con.execute(f"SELECT {BATCH_SELECT} FROM batches{where} ORDER BY id").fetchall())


def feature_rows_of(con, kind=None):
    sql = ("SELECT f.id, f.batch_id, b.filename, f.kind, f.name, f.date::text, f.properties::text, "
           "ST_AsBinary(f.geom) FROM features f JOIN batches b ON b.id = f.batch_id WHERE b.removed_at IS NULL")
    args = ()
    if kind:
        sql, args = sql + " AND f.kind = %s", (kind,)
    return [(*r[:7], bytes(r[7]) if r[7] is not None else None)
            for r in con.execute(sql + " ORDER BY f.id", args).fetchall()]


def read_tracks(con, batch_id=None, since=None, until=None) -> pd.DataFrame:
    """The points as CSV through COPY (fast at millions), times as Unix milliseconds."""
    clauses, args = [f"batch_id IN {LIVE_BATCHES}"], []
    if batch_id is not None:
        clauses.append("batch_id = %s"), args.append(int(batch_id))
    if since is not None:
        clauses.append("t >= to_timestamp(%s / 1000.0)"), args.append(millis(since))
    if until is not None:
        clauses.append("t < to_timestamp(%s / 1000.0)"), args.append(millis(until))
    where = f" WHERE {' AND '.join(clauses)}"
    query = (f"SELECT track_id, name, round(extract(epoch FROM t) * 1000)::bigint AS t, lon, lat FROM track_points"
             f"{where} ORDER BY track_id, t")
    buffer = io.BytesIO()
    cur = con.cursor()
    with cur.copy(f"COPY ({query}) TO STDOUT (FORMAT csv, HEADER)", args or None) as copy:
        for block in copy:
            buffer.write(block)
    buffer.seek(0)
    frame = pd.read_csv(buffer, dtype={"track_id": str, "name": str}, keep_default_na=False)
    frame["t"] = frame["t"].astype("int64")
    return tracks_frame(frame)


BACKENDS["postgresql"] = PostgisWorkspace
