"""The page's ships: the detection parameters a person sets, and the detections of the workspace.

The sidebar's "Ship detections" expander (ui/sections.py) keeps three numbers in the session:
the AIS gap threshold and the encounter distance and duration. Everything else is
geo.ships.detections.Params' default (the README gives each with its source).
"""
from __future__ import annotations

from dataclasses import replace
from typing import MutableMapping

import pandas as pd

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


def find(target: str, snapshot, params: engine.Params) -> tuple[pd.DataFrame | None, tuple | None]:
    """Detections in the workspace's positions store, or else in its track points; (None, None)
    when it holds neither. Returns them prepared for the view, with the (first, last) month the
    positions cover."""
    root = engine.root_of(target)
    months = store.months(root) if root is not None and root.exists() else []
    if months:
        found = engine.detect_store(target, params=params)
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
