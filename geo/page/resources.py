"""What the page keeps between reruns and sessions, and for how long: the cache policy.

Everything here is read-only once built and shared by every session of one server process
(Streamlit imports geo/ once; only app.py runs again on each rerun). Each cache says what it is
keyed by. A failure is never kept: a workspace that cannot be opened yet (PostGIS still
starting, a folder not yet mounted) is tried again by the next rerun, at most every
RETRY_SECONDS, so sessions recover by themselves.
"""
from __future__ import annotations

import functools
import logging
import os
import re
import threading
import time
from collections import OrderedDict

from geo import style
from geo.safetext import escape
from geo.data import dataset as datasets
from geo.imports import sandbox
from geo.page import ships as ship_page
from geo.render import charts, layers, tracks
from geo.render import ships as ship_layers
from geo.store import workspace
from geo.view import claims_table
from geo.view import imagery as images

RETRY_SECONDS = 0.0  # a store that failed is tried again on the next rerun: it may be back


log = logging.getLogger(__name__)


class Lru:
    """A small thread-safe LRU of built things, keyed by whatever names them."""

    def __init__(self, size: int):
        self.size, self.items, self.lock = size, OrderedDict(), threading.Lock()

    def get(self, key, build):
        with self.lock:
            if key in self.items:
                self.items.move_to_end(key)
                return self.items[key]
        value = build()  # outside the lock: a slow build must not hold up other sessions
        with self.lock:
            self.items[key] = value
            self.items.move_to_end(key)
            while len(self.items) > self.size:
                self.items.popitem(last=False)
        return value

    def clear(self):
        with self.lock:
            self.items.clear()


@functools.lru_cache(maxsize=1)
def dataset() -> datasets.Dataset:
    """The bundled data, loaded once (nothing mutates it)."""
    return datasets.load()


@functools.lru_cache(maxsize=4)
def basemap(present: bool, detailed: bool) -> dict:
    data = dataset()
    return layers.basemap_features(data.countries, data.countries_detail if detailed else None,
                                   style.palette(present))


_frozen = Lru(64)


def frozen_layers(present: bool, view: str, viewport: tuple | None, focus: tuple = (), keep_clear: tuple = ()) -> dict:
    """The basemap and place layers, serialised once per palette, view, map size, scene focus and
    legend box (`keep_clear`: no basemap name under it) (geo.render.layers.FrozenLayer)."""
    return _frozen.get((present, view, viewport, focus, keep_clear), lambda: layers.static_layers(
        dataset(), view, present, basemap(present, style.VIEWS[view].detailed), viewport, focus, keep_clear))


_charts = Lru(32)


def chart_spec(name: str, claims_key: tuple, claims, group_by: str = "organisation") -> dict:
    """One chart's Vega-Lite spec without the date, per chart, claims_key (filters and the
    workspace's claims version: `claims` are those, filtered) and grouping of claimants."""
    return _charts.get((name, claims_key, group_by),
                       lambda: charts.step_chart(claims, charts.CHART_METRICS[name], group_by=group_by,
                                                 **chart_places(name)))


def events_spec(view) -> dict | None:
    """The events timeline's spec without the date: bundled events and the workspace's, per version."""
    version = view.snapshot.version if view.snapshot is not None else None
    return _charts.get(("Events", version), lambda: charts.events_timeline(claims_table.all_events(view)))


def chart_places(name: str) -> dict:
    """For a chart of counts at places, the places' short names ("Khasan station", without the
    region in brackets, so the legend's labels are whole) and what to call a place."""
    if name not in charts.CHART_METRICS or name not in charts.PLACE_CHARTS:
        return {}
    places = dataset().places
    short = [re.sub(r"\s*\([^)]*\)$", "", n) or n for n in places["name"]]
    return {"places": dict(zip(places["id"], short)), "place_word": charts.PLACE_CHARTS[name]}


class Workspaces:
    """Open stores by target. A store that opens is kept; one that fails is not, and the next
    call after RETRY_SECONDS tries again (the error is returned meanwhile)."""

    def __init__(self, retry_seconds: float = RETRY_SECONDS):
        self.retry_seconds = retry_seconds
        self.open_stores: dict[str, workspace.Workspace] = {}
        self.failures: dict[str, tuple[float, str]] = {}
        self.lock = threading.Lock()

    def open(self, target: str) -> tuple[workspace.Workspace | None, str]:
        with self.lock:
            if target in self.open_stores:
                return self.open_stores[target], ""
            failed = self.failures.get(target)
            if failed and time.monotonic() - failed[0] < self.retry_seconds:
                return None, failed[1]
        try:
            store = workspace.Workspace(target)
        except workspace.WorkspaceError as err:
            with self.lock:
                self.failures[target] = (time.monotonic(), str(err))
            return None, str(err)
        with self.lock:
            self.failures.pop(target, None)
            return self.open_stores.setdefault(target, store), ""


workspaces = Workspaces()


@functools.lru_cache(maxsize=1)
def warm_importer() -> None:
    """Once per server: an import worker started ahead of the first preview (geo.imports.sandbox)."""
    sandbox.warm()


def workspace_target() -> str:
    """Where this server's workspace is ($GEO_WORKSPACE, or the default SQLite file)."""
    return str(workspace.default_path())
_snapshots = Lru(2)


def snapshot(target: str, store: workspace.Workspace | None) -> tuple[workspace.Snapshot | None, str]:
    """The store's content at its current version, read once per version and shared by every
    session (tracks can be large). A store that fails to answer gives (None, why)."""
    if store is None:
        return None, ""
    try:
        version = store.version()
        return _snapshots.get((target, version), store.snapshot), ""
    except workspace.WorkspaceError as err:
        return None, str(err)


_tracks = Lru(2)
_near_legs = Lru(2)


def prepared_tracks(source: str, points):
    """Tracks simplified once per source (workspace version, or benchmark size), so a date step
    only cuts a time window. The points are not hashed: `source` names them."""
    if points is None or not len(points):
        return None
    return _tracks.get(source, lambda: tracks.prepare_tracks(points))


def tracks_by_leg(source: str, points):
    """Which legs each track's positions came near, with their times (seconds at 10^6 points,
    so once per source)."""
    if points is None or not len(points):
        return None
    return _near_legs.get(source, lambda: tracks.tracks_near_legs(points, dataset().routes))


@functools.lru_cache(maxsize=1)
def bench_tracks(n: int):
    """BENCH_TRACKS=N synthetic tracks for the browser benchmark, generated once."""
    from bench.synthetic import synthetic_tracks
    return synthetic_tracks(n) if n else None


def track_points(snapshot_: workspace.Snapshot | None) -> tuple[str, object]:
    """The tracks the live map draws and the name they are cached by: the workspace's, or
    BENCH_TRACKS=N synthetic ones (python -m bench.browser N)."""
    if os.environ.get("BENCH_TRACKS"):
        n = int(os.environ["BENCH_TRACKS"])
        return f"bench-{n}", bench_tracks(n)
    if snapshot_ is None:
        return "none", None
    return f"ws-{snapshot_.version}", snapshot_.tracks


_window_tracks = Lru(8)


def has_tracks(snapshot_: workspace.Snapshot | None) -> bool:
    """Whether the live map has tracks to draw: track points, or streamed AIS batches."""
    return snapshot_ is not None and (len(snapshot_.tracks) > 0 or bool(ship_page.streamed_batches(snapshot_)))


def streamed_vessel(target: str, snapshot_: workspace.Snapshot | None, sel: dict | None, when) -> dict | None:
    """The selected track's summary from the positions store when a streamed batch holds it
    (geo.page.ships.streamed_vessel); None when none does, or the store cannot be read."""
    try:
        return ship_page.streamed_vessel(target, snapshot_, sel, when)
    except Exception as err:  # a positions file unreadable: the panel says the track is not found
        log.warning("streamed track unavailable: %s", escape(str(err), 300))
        return None


def window_track_layers(target: str, snapshot_: workspace.Snapshot | None, state, budget_bytes: int = 700_000):
    """The track layers of the workspace's streamed AIS batches for this date and view, read from the
    positions store for the track window and the view's box (geo.page.ships.window_tracks), once
    per workspace version, date and view. Empty when there are none, or the store cannot be read."""
    if snapshot_ is None or "tracks" not in state.layers or not ship_page.streamed_batches(snapshot_):
        return []

    def build():
        drawn = ship_page.window_tracks(target, snapshot_, state.date, state.view)
        if drawn is None:
            return []
        if drawn[0] == "cells":
            return tracks.cell_layers(drawn[1], drawn[2])
        return tracks.track_layers(tracks.prepare_tracks(drawn[1], views=(state.view,)), state.date, state.view,
                                   budget_bytes=budget_bytes, prefix="positions-")
    try:
        return _window_tracks.get((target, snapshot_.version, str(state.date), state.view), build)
    except Exception as err:  # a positions file unreadable: the page goes on without these tracks
        log.warning("streamed tracks unavailable: %s", escape(str(err), 300))
        return []


_imagery = Lru(2)


def imagery(target: str, store: workspace.Workspace | None, snapshot_: workspace.Snapshot | None):
    """The workspace's images (geo.view.imagery.Imagery: their metadata, and their bytes as they are
    read), once per store version and shared by every session; None when it holds none."""
    if store is None or snapshot_ is None:
        return None
    try:
        return _imagery.get((target, snapshot_.version), lambda: images.from_workspace(store, snapshot_))
    except workspace.WorkspaceError:
        return None
_detections = Lru(4)


class Bounded(OrderedDict):
    """A mapping that forgets its oldest entries beyond `size`: each batch's detections
    (geo.ships.detections.detect_batches' parts), kept between reruns and sessions."""

    def __init__(self, size: int):
        super().__init__()
        self.size = size
        self.lock = threading.Lock()

    def __setitem__(self, key, value):
        with self.lock:
            super().__setitem__(key, value)
            while len(self) > self.size:
                self.popitem(last=False)


_batch_parts = Bounded(256)


def detections(target: str, snapshot_: workspace.Snapshot | None, params) -> tuple[object, tuple | None, str]:
    """Detections in the workspace's imported positions (geo.ships.detections), as the view reads
    them (geo.view.ships.prepared), the (first, last) time those positions cover, and a problem
    ('' if none): found once per workspace version and parameters and shared by every session, so
    a date step only selects. (None, None, '') when the workspace holds no positions; a store that
    cannot be read gives (None, None, why), is not remembered, and is tried again next rerun."""
    if snapshot_ is None:
        return None, None, ""
    try:
        found, coverage = _detections.get((target, snapshot_.version, params),
                                          lambda: ship_page.find(target, snapshot_, params, _batch_parts))
    except Exception as err:  # a positions file unreadable, a disk gone: the page goes on without detections
        return None, None, f"Detections in your tracks are unavailable ({escape(str(err), 300)})."
    return found, coverage, ""


_detection_layers = Lru(16)


def detection_layers(target: str, snapshot_: workspace.Snapshot | None, params, view) -> list:
    """The deck layers of the month's detections (geo.render.ships), built once per workspace
    version, parameters, date, view and palette: a rerun in the same month (a click, a filter)
    sends the layers it built before without cutting the gaps into dashes again."""
    if snapshot_ is None or not len(view.shown.get("detections", ())):
        return []
    state = view.state
    return _detection_layers.get((target, snapshot_.version, params, state.date, state.view, state.present),
                                 lambda: ship_layers.detection_layers(view))
