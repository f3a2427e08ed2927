"""The page's ships: the detection parameters a person sets, and the detections of the workspace.

The sidebar's "Ship detections" expander (ui/sections.py) keeps three numbers in the session:
the AIS gap threshold and the encounter distance and duration. Everything else is
geo.ships.detections.Params' default (the README gives each with its source).
"""
from __future__ import annotations

import threading
from dataclasses import replace
from typing import MutableMapping

import pandas as pd

from geo import style
from geo.model import timeline
from geo.ships import bigfiles
from geo.ships import detections as engine
from geo.ships import positions as store
from geo.view import ships as ship_view

# session key -> (Params field, default, smallest, largest, step)
FIELDS = {
    "ship_gap_hours": ("gap_hours", engine.Params.gap_hours, 1.0, 720.0, 1.0),
    "ship_encounter_m": ("encounter_distance_m", engine.Params.encounter_distance_m, 50.0, 10_000.0, 50.0),
    "ship_encounter_hours": ("encounter_hours", engine.Params.encounter_hours, 0.5, 72.0, 0.5),
}


def seed(ss: MutableMapping) -> None:
    """The defaults, once a session, before the widgets that keep them."""
    for key, (_, default, *_rest) in FIELDS.items():
        ss.setdefault(key, float(default))


def params_from(ss: MutableMapping) -> engine.Params:
    """The detection parameters of this session (defaults for any not set or out of range)."""
    values = {}
    for key, (name, default, low, high, _) in FIELDS.items():
        try:
            value = float(ss.get(key, default))
        except (TypeError, ValueError):
            value = float(default)
        values[name] = value if low <= value <= high else float(default)
    return replace(engine.Params(), **values)


def track_positions(tracks: pd.DataFrame) -> pd.DataFrame:
    """The workspace's track points in the columns the rules read (a track's id is its vessel key:
    an AIS export's MMSI)."""
    frame = pd.DataFrame({"mmsi": tracks["track_id"].astype(str), "name": tracks.get("name"), "t": tracks["t"],
                          "lon": tracks["lon"], "lat": tracks["lat"]})
    for column in ("imo", "sog"):
        if column in tracks.columns:
            frame[column] = tracks[column]
    return frame


def find(target: str, snapshot, params: engine.Params, parts=None) -> tuple[pd.DataFrame | None, tuple | None]:
    """Detections in the workspace's positions store, or else in its track points; (None, None)
    when it holds neither. Returns them prepared for the view, with the (first, last) month the
    positions cover. The store's are found batch by batch (engine.detect_batches), each batch's
    part kept in `parts` (a mapping the caller keeps between calls), so that after an import only
    the new batch, and vessels it shares with others, are read."""
    root = engine.root_of(target)
    months = store.months(root) if root is not None and root.exists() else []
    if months:
        found = engine.detect_batches(target, params, cache=parts)
        first = pd.Timestamp(months[0])
        last = pd.Timestamp(months[-1]) + pd.offsets.MonthEnd(0) + pd.Timedelta(hours=23, minutes=59)  # month's end
        return ship_view.prepared(found), (first, last)
    tracks = getattr(snapshot, "tracks", None)
    if tracks is None or not len(tracks):
        return None, None
    found = engine.detect(track_positions(tracks), params)
    return ship_view.prepared(found), (pd.Timestamp(tracks["t"].min()), pd.Timestamp(tracks["t"].max()))


def findings(detections: pd.DataFrame | None, params: engine.Params, coverage: tuple | None):
    """What the exports of this view are handed to draw the detections as the map does (None when
    the workspace holds no positions)."""
    return None if detections is None else ship_view.Findings(detections, params, coverage)


# The track layer of streamed AIS batches (geo.ships.bigfiles), read window by window from the
# positions store: never the whole batch.
WIDE_ZOOM = 5.0  # views zoomed out further draw positions counted per cell
CELL_DEG = {True: 0.5, False: 0.1}  # cell size for a wide view, and for a close one too full for paths
MAX_PATH_POSITIONS = 3_000_000  # a window holding more is drawn as cells
PATH_POSITIONS = 8_000  # positions kept for paths, spread over the window's vessels
MIN_TRAIL_POSITIONS = 12  # fewer a vessel would make a scatter, not a trail: more vessels are drawn as cells


_database: list = []  # one DuckDB database for the page's reads: opening one costs more than a step's query
_database_lock = threading.Lock()


def connection():
    """A cursor of the page's DuckDB database (a cursor per read: one is not shared across threads)."""
    with _database_lock:
        if not _database:
            _database.append(store.connect())
        return _database[0].cursor()


def streamed_batches(snapshot) -> list[int]:
    """The workspace's batches whose positions are in the positions store only."""
    batches = getattr(snapshot, "batches", None)
    if batches is None or not len(batches):
        return []
    return sorted(int(i) for i in batches.loc[batches["format"].isin(tuple(bigfiles.STREAMED_FORMATS.values())),
                                              "id"])


def view_box(view: str) -> tuple[float, float, float, float]:
    """A box around a view preset, wide enough for a 2,400 by 1,600 pixel map (lon0, lat0, lon1, lat1)."""
    preset = style.VIEWS[view]
    half = 360.0 / (512 * 2.0 ** preset.zoom) * 1200
    return (max(-180.0, preset.longitude - half), max(-90.0, preset.latitude - half * 0.67),
            min(180.0, preset.longitude + half), min(90.0, preset.latitude + half * 0.67))


def window_tracks(target, snapshot, when, view: str):
    """What the map draws of the streamed batches at `when` in `view`, read from the positions store
    for the track window (geo.model.timeline.track_window) and the view's box only:
    ("paths", positions thinned per vessel as track points), ("cells", positions counted per cell,
    cell size) for a wide view or a window too full (over MAX_PATH_POSITIONS positions, or so many
    vessels that each would keep fewer than MIN_TRAIL_POSITIONS), or None when there is nothing to draw."""
    ids = streamed_batches(snapshot)
    if not ids:
        return None
    root = engine.root_of(target)
    since, until = timeline.track_window(when)
    wide = style.VIEWS[view].zoom < WIDE_ZOOM
    box = view_box(view)
    con = connection()
    try:
        if not wide:  # counted first: a window too full for paths is never thinned only to be dropped
            held, vessels = store.held(since, until, box, root=root, batches=ids, con=con)
            if not held:
                return None
            if held <= MAX_PATH_POSITIONS and vessels * MIN_TRAIL_POSITIONS <= PATH_POSITIONS:
                points = store.thinned(since, until, box, total=PATH_POSITIONS, root=root, batches=ids, con=con)
                return "paths", points.rename(columns={"mmsi": "track_id"})
        cell = CELL_DEG[wide]
        cells = store.grid(since, until, box, cell, root=root, batches=ids, con=con, display=True)
        return ("cells", cells, cell) if len(cells) else None
    finally:
        con.close()


def streamed_vessel(target, snapshot, sel: dict | None, when) -> dict | None:
    """For a selected track that only the positions store holds (a streamed AIS batch), its summary
    up to `when` (geo.ships.positions.vessel_summary); None for any other selection."""
    ids = streamed_batches(snapshot)
    if not sel or sel.get("kind") != "track" or not ids:
        return None
    con = connection()
    try:
        found = store.vessel_summary(sel["feature_id"], timeline.track_window(when)[1],
                                     root=engine.root_of(target), batches=ids, con=con)
    finally:
        con.close()
    if found is not None:  # the streamed files it may come from: the display level does not keep its batch
        found["files"] = sorted(set(snapshot.batches.loc[snapshot.batches["id"].isin(ids), "filename"]))
    return found
