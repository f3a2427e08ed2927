"""Vessel and train tracks on the map: prepared once on load, cut per date, always within a byte budget.

Streamlit re-sends the whole deck JSON on every rerun, so a million positions can never
travel as they are. On load, prepare_tracks sorts the points, turns times into integer
seconds, and for each view preset works out which points survive a time-aware
Douglas-Peucker simplification at one screen pixel of that view's zoom, plus per-day
position counts on a grid of screen cells. A rerun then only slices: the kept vertices
inside the date window, or, when even those would exceed the budget, grid cells for all
of them plus the trails of the most recent tracks that still fit.

Tolerance (what the tests hold us to): simplification measures the *synchronized*
distance, between where a track is at the same instant before and after, in Web Mercator
at one screen pixel of the view's zoom (360 / (512 * 2**zoom) degrees of longitude; about
0.39 km at the sea view, 0.09 km at the Tumen view, 14.5 km at the overview, all at 42°N).
So at any time, and in particular at the selected date where the TripsLayer draws a
track's head, the drawn position is within one pixel of the linear interpolation of the
raw positions, plus rounding of the coordinates to at most a tenth of a pixel.

Input: a DataFrame with track_id (str), name (str), t (datetime64, naive UTC), lon and lat
(floats), as the workspace importer hands it over; an optional source column names where
a track came from (tooltip "claimant"; "imported track" when absent), and an optional
positions column, for thinned points, how many positions the track holds (the tooltip's count).
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pydeck as pdk
import shapely

from geo import style
from geo.geometry import projection
from geo.model import timeline
from geo.view.records import rgba, tooltip_record

# Timestamps sent to deck.gl count seconds from this fixed instant: the TripsLayer keeps
# them in float32 on the GPU, whose step at |t| < 2**26 s (2 years either side) is 4 s.
EPOCH = pd.Timestamp("2024-01-01")
DAY = 86_400
WORLD_PIXELS = 512  # deck.gl's Web Mercator world is 512 pixels wide at zoom 0
CELL_PIXELS = 8  # density cells are this many screen pixels wide at the view's zoom ...
MAX_CELL_PIXELS = 32  # ... or, merged to fit the budget, up to this many; beyond, the sparsest go
TIME_BITS = 36  # search key: track index above, seconds since EPOCH (shifted positive) below
TIME_SHIFT = 1 << (TIME_BITS - 1)
LAYER_OVERHEAD = 3_000  # bytes of layer properties around the data, generously rounded up
DEFAULT_SOURCE = "imported track"
TRACK_RGB = style.OKABE_ITO["black"]
DENSITY_RGB = style.OKABE_ITO["purple"]
# A track is picked by a band this many pixels wide along its path, not by its 2-3 px trail:
# deck.gl picks a click where the pointer went down, which can lie a pixel from where the same
# pointer hovered (the pointer-down position is rounded to whole client pixels, a move's is not,
# and deck's picking radius is 0), so a trail that showed its tooltip could miss the click. The
# band is wide enough for that pixel and narrow enough to leave a leg sailed beside its own
# click band. Invisible (alpha 0) until selected, when Streamlit draws the selected object at
# full alpha: then it glows in the selection's colour under the trail.
HIT_PIXELS = 9
HIT_RGBA = [255, 196, 0, 0]  # geo.render.selection.MARK_RGBA's glow, at zero alpha
HOVER_RGBA = [0, 0, 0, 60]  # the soft shade under the track the pointer rests on, as on the legs
REQUIRED = ("track_id", "name", "t", "lon", "lat")


def pixel_degrees(zoom: float) -> float:
    """One screen pixel at `zoom`, in degrees of longitude (and of Mercator y)."""
    return 360.0 / (WORLD_PIXELS * 2.0 ** zoom)


def mercator_y(lat):
    """Latitude to Web Mercator y, in the same degree units as longitude."""
    return np.degrees(projection.merc_y(lat))


def latitude(y):
    return projection.lat_of(np.radians(y))


def seconds(when) -> int:
    """Whole seconds from EPOCH to `when` (a naive UTC time, or an aware one converted to UTC)."""
    when = pd.Timestamp(when)
    if when.tzinfo is not None:
        when = when.tz_convert("UTC").tz_localize(None)
    return int((when - EPOCH) // pd.Timedelta(seconds=1))


def as_time(secs: int) -> pd.Timestamp:
    return EPOCH + pd.Timedelta(seconds=int(secs))


def digits_for(tolerance: float) -> int:
    """Decimals that round a coordinate by at most a twentieth of the tolerance (a tenth of a
    pixel in Mercator y up to 60°N, where a degree of latitude is twice a degree of longitude)."""
    return max(0, math.ceil(-math.log10(tolerance / 10)))


# --- preparation ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Density:
    """Positions per (UTC day, grid cell), for the windows where too many vertices remain.

    `key` is day * cells_per_side**2 + cell, sorted, so a day range is one contiguous slice.
    """

    cell_deg: float
    side: int
    first_day: int
    key: np.ndarray  # int64
    count: np.ndarray  # int32


@dataclass(frozen=True)
class Level:
    """What one zoom keeps: indices of the surviving points, in (track, time) order."""

    zoom: float
    tolerance: float  # degrees (one screen pixel)
    digits: int
    idx: np.ndarray  # int32 point indices
    key: np.ndarray  # int64 search keys of those points
    density: Density


@dataclass(frozen=True)
class PreparedTracks:
    """Tracks sorted by (track_id, t), in flat arrays; picklable, so st.cache_data can hold it.

    Track i owns points bounds[i]:bounds[i+1]. `levels` maps every view preset to its Level
    (views sharing a zoom share one). `meta` holds each track's tooltip fields, ready to send.
    """

    track_ids: tuple[str, ...]
    meta: tuple[dict, ...]
    meta_bytes: np.ndarray  # int64: JSON length of each meta dict
    bounds: np.ndarray  # int64, n_tracks + 1
    t: np.ndarray  # int64 seconds since EPOCH
    lon: np.ndarray  # float64
    lat: np.ndarray  # float64
    levels: dict

    @property
    def n_points(self) -> int:
        return len(self.t)

    @property
    def n_tracks(self) -> int:
        return len(self.track_ids)

    def level(self, view: str) -> Level:
        if view not in self.levels:
            raise ValueError(f"unknown view {view!r}; expected one of {sorted(self.levels)}")
        return self.levels[view]

    def track_index(self, track_id: str) -> int:
        i = int(np.searchsorted(np.asarray(self.track_ids, dtype=object), track_id))
        if i >= self.n_tracks or self.track_ids[i] != track_id:
            raise KeyError(track_id)
        return i


def search_keys(track: np.ndarray, t: np.ndarray) -> np.ndarray:
    return (track.astype(np.int64) << TIME_BITS) | (t + TIME_SHIFT)


def sed_keep(x, y, t, bounds, tolerance) -> np.ndarray:
    """Top-down Douglas-Peucker by synchronized distance, on every track at once.

    A point is dropped only if the segment between the kept points around it puts the track,
    at that point's time, within `tolerance` of where it really was. Each pass splits every
    open segment at its worst point, so the passes number the depth of the recursion, and
    each costs a few numpy operations over the points still undecided. First and last points
    of every track are always kept.
    """
    keep = np.zeros(len(x), dtype=bool)
    first, last = bounds[:-1], bounds[1:] - 1
    keep[first] = keep[last] = True
    open_ = last - first > 1
    a, b = first[open_], last[open_]
    tol2 = tolerance * tolerance
    while len(a):
        inner = b - a - 1
        seg = np.repeat(np.arange(len(a)), inner)
        offsets = np.cumsum(inner) - inner
        p = a[seg] + 1 + (np.arange(len(seg)) - offsets[seg])
        ta, tb = t[a][seg], t[b][seg]
        span = tb - ta
        frac = np.where(span > 0, (t[p] - ta) / np.where(span > 0, span, 1), 0.0)
        xa, ya = x[a][seg], y[a][seg]
        d2 = (x[p] - xa - frac * (x[b][seg] - xa)) ** 2 + (y[p] - ya - frac * (y[b][seg] - ya)) ** 2
        worst = np.maximum.reduceat(d2, offsets)
        hits = np.flatnonzero(d2 == worst[seg])
        hits = hits[np.r_[True, seg[hits][1:] != seg[hits][:-1]]]  # the first worst point per segment
        split = worst[seg[hits]] > tol2
        at, s = p[hits][split], seg[hits][split]
        keep[at] = True
        a, b = np.concatenate([a[s], at]), np.concatenate([at, b[s]])
        still = b - a > 1
        a, b = a[still], b[still]
    return keep


def density_cube(x, y, t, cell_deg: float) -> Density:
    side = int(math.ceil(360.0 / cell_deg)) + 1
    cx = np.floor((x + 180.0) / cell_deg).astype(np.int64)
    cy = np.floor((y + 180.0) / cell_deg).astype(np.int64)
    days = np.floor_divide(t, DAY)
    first_day = int(days.min()) if len(days) else 0
    key, count = np.unique((days - first_day) * side * side + cx * side + cy, return_counts=True)
    return Density(cell_deg, side, first_day, key, count.astype(np.int32))


def view_zooms() -> dict[float, list[str]]:
    zooms: dict[float, list[str]] = {}
    for name, view in style.VIEWS.items():
        zooms.setdefault(float(view.zoom), []).append(name)
    return zooms


def prepare_tracks(points: pd.DataFrame, views=None) -> PreparedTracks:
    """Sort, convert and simplify once per load; everything a rerun needs, nothing it recomputes.
    `views` limits the levels to those view presets (a window read for one view needs one)."""
    missing = [c for c in REQUIRED if c not in points.columns]
    if missing:
        raise ValueError(f"track points lack column(s) {', '.join(missing)}")
    cols = list(REQUIRED) + [c for c in ("source", "positions") if c in points.columns]
    df = points[cols].dropna(subset=["t", "lon", "lat"])
    df = df.assign(track_id=df["track_id"].astype(str)).sort_values(["track_id", "t"], kind="stable")
    times = pd.to_datetime(df["t"])
    if times.dt.tz is not None:
        times = times.dt.tz_convert("UTC").dt.tz_localize(None)
    t = ((times - EPOCH) // pd.Timedelta(seconds=1)).to_numpy(dtype=np.int64)
    lon = df["lon"].to_numpy(dtype=np.float64)
    lat = df["lat"].to_numpy(dtype=np.float64)
    codes, ids = pd.factorize(df["track_id"], sort=True)
    starts = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]]) if len(codes) else np.zeros(0, np.int64)
    bounds = np.r_[starts, len(codes)].astype(np.int64)
    names = df["name"].astype(str).to_numpy()[starts]
    sources = df["source"].astype(str).to_numpy()[starts] if "source" in df else [DEFAULT_SOURCE] * len(starts)
    counts = df["positions"].to_numpy()[starts] if "positions" in df else np.diff(bounds)  # thinned: all it stands for
    meta = tuple(track_meta(i, n, s, t[a], t[b - 1], int(c))
                 for i, n, s, a, b, c in zip(ids, names, sources, bounds[:-1], bounds[1:], counts))
    y = mercator_y(lat)
    track = np.repeat(np.arange(len(starts)), np.diff(bounds))
    levels = {}
    kept = np.arange(len(t))
    previous_tol = 0.0
    zooms = view_zooms()
    if views is not None:
        zooms = {z: [n for n in names if n in views] for z, names in zooms.items() if set(names) & set(views)}
    for zoom in sorted(zooms, reverse=True):  # finest first; each coarser level thins the last
        tol = pixel_degrees(zoom)
        sub_bounds = np.searchsorted(kept, bounds)
        keep = sed_keep(lon[kept], y[kept], t[kept], sub_bounds, tol - previous_tol)
        kept, previous_tol = kept[keep], tol
        level = Level(zoom, tol, digits_for(tol), kept.astype(np.int32), search_keys(track[kept], t[kept]),
                      density_cube(lon, y, t, CELL_PIXELS * tol))
        for name in zooms[zoom]:
            levels[name] = level
    return PreparedTracks(tuple(ids), meta, np.array([len(json.dumps(m)) for m in meta], dtype=np.int64),
                          bounds, t, lon, lat, levels)


def track_meta(track_id, name, source, first, last, n) -> dict:
    t0, t1 = as_time(first), as_time(last)
    return tooltip_record("track", track_id, name, f"{n:,} positions, {t0:%Y-%m-%d} to {t1:%Y-%m-%d}",
                          source or DEFAULT_SOURCE, f"{t0:%Y-%m-%d %H:%M} to {t1:%Y-%m-%d %H:%M} UTC")


# --- positions ------------------------------------------------------------------------------------

def interpolate(t, x, y, when: int):
    """Position at `when` by linear interpolation in Web Mercator (as deck.gl draws), None outside."""
    if len(t) == 0 or when < t[0] or when > t[-1]:
        return None
    i = int(np.searchsorted(t, when, side="right")) - 1
    if i >= len(t) - 1 or t[i] == when:
        return float(x[i]), float(y[i])
    f = (when - t[i]) / (t[i + 1] - t[i])
    return float(x[i] + f * (x[i + 1] - x[i])), float(y[i] + f * (y[i + 1] - y[i]))


def position_at(prepared_or_track, track_id: str, when, view: str | None = None):
    """(lon, lat) of a track at `when`, or None outside its time span.

    From a DataFrame of raw points, or from PreparedTracks: its raw points, or with `view`
    the vertices that view keeps (what the map draws).
    """
    secs = seconds(when)
    if isinstance(prepared_or_track, PreparedTracks):
        p = prepared_or_track
        i = p.track_index(track_id)
        idx = np.arange(p.bounds[i], p.bounds[i + 1])
        if view is not None:
            level = p.level(view)
            lo, hi = np.searchsorted(level.key, [i << TIME_BITS, (i + 1) << TIME_BITS])
            idx = level.idx[lo:hi]
        t, lon, y = p.t[idx], p.lon[idx], mercator_y(p.lat[idx])
    else:
        frame = prepared_or_track
        rows = frame[frame["track_id"].astype(str) == track_id].sort_values("t", kind="stable")
        t = ((pd.to_datetime(rows["t"]) - EPOCH) // pd.Timedelta(seconds=1)).to_numpy(dtype=np.int64)
        lon, y = rows["lon"].to_numpy(float), mercator_y(rows["lat"].to_numpy(float))
    at = interpolate(t, lon, y, secs)
    return None if at is None else (at[0], float(latitude(at[1])))


# --- per rerun --------------------------------------------------------------------------------------

@dataclass
class Cut:
    """The window's vertices of each active track, boundary points interpolated."""

    tracks: np.ndarray  # track indices
    lon: list  # per track arrays
    lat: list
    t: list


def window_cut(p: PreparedTracks, level: Level, start: int, end: int) -> Cut:
    """Each track under way in [start, end]: its kept vertices inside, plus the points where
    its simplified path crosses the window's edges when it was already (or still) moving."""
    start, end = max(start, -TIME_SHIFT), min(end, TIME_SHIFT - 1)
    first_t, last_t = p.t[p.bounds[:-1]], p.t[p.bounds[1:] - 1]
    active = np.flatnonzero((first_t <= end) & (last_t >= start))
    base = active.astype(np.int64) << TIME_BITS
    own_lo = np.searchsorted(level.key, base)
    own_hi = np.searchsorted(level.key, base + (1 << TIME_BITS))
    lo = np.searchsorted(level.key, base | (start + TIME_SHIFT), side="left")  # first vertex at or after start
    hi = np.searchsorted(level.key, base | (end + TIME_SHIFT), side="right")  # one past the last at or before end
    idx, t = level.idx, p.t
    cut = Cut(active, [], [], [])
    for a, b, own_a, own_b in zip(lo, hi, own_lo, own_hi):
        inner = idx[a:b]
        lon, lat, times = p.lon[inner], p.lat[inner], t[inner]
        if a > own_a and t[idx[a]] > start:  # under way when the window opened
            x, y = edge(p, idx[a - 1], idx[a], start)
            lon, lat, times = np.r_[x, lon], np.r_[y, lat], np.r_[start, times]
        if b < own_b and t[idx[b - 1]] < end:  # still under way at `end`: the head of the trail
            x, y = edge(p, idx[b - 1], idx[b], end)
            lon, lat, times = np.r_[lon, x], np.r_[lat, y], np.r_[times, end]
        cut.lon.append(lon)
        cut.lat.append(lat)
        cut.t.append(times)
    return cut


def edge(p: PreparedTracks, i: int, j: int, when: int) -> tuple[float, float]:
    """(lon, lat) at `when` on the straight Mercator segment from point i to point j."""
    ti, tj = p.t[i], p.t[j]
    f = 0.0 if tj == ti else (when - ti) / (tj - ti)
    yi, yj = mercator_y(p.lat[i]), mercator_y(p.lat[j])
    return p.lon[i] + f * (p.lon[j] - p.lon[i]), float(latitude(yi + f * (yj - yi)))


def vertex_bytes(digits: int) -> int:
    """Most JSON bytes one [lon,lat], can take: -179.xxxx and -85.xxxx."""
    return 2 + (5 + digits) + 1 + (4 + digits) + 1


def trip_records(p: PreparedTracks, cut: Cut, which, digits: int) -> tuple[list[dict], list[dict], list[dict]]:
    """The trail, faint path and click band of each track in `which`. Only the band is picked,
    so only it carries the tooltip fields; the trail keeps the track's id."""
    trips, paths, hits = [], [], []
    for k in which:
        path = np.column_stack((cut.lon[k], cut.lat[k])).round(digits).tolist()
        meta = p.meta[cut.tracks[k]]
        hits.append(dict(meta, path=path))
        paths.append({"path": path})
        trips.append({"feature_id": meta["feature_id"], "path": path, "timestamps": cut.t[k].tolist()})
    return trips, paths, hits


def density_records(level: Level, start: int, end: int, budget: int, claimant: str):
    """Grid cells of the window's positions, merged into bigger cells (up to MAX_CELL_PIXELS) and
    then cut to the densest until they fit: the records, their radius in common units (which
    scale with zoom, like the cells), and the most bytes one record takes."""
    d = level.density
    per_day = d.side * d.side
    lo_day, hi_day = start // DAY - d.first_day, -(-end // DAY) - d.first_day  # days overlapping [start, end)
    a, b = np.searchsorted(d.key, [max(lo_day, 0) * per_day, max(hi_day, 0) * per_day])
    cell, count = d.key[a:b] % per_day, d.count[a:b].astype(np.int64)
    cx, cy, size, side = cell // d.side, cell % d.side, d.cell_deg, d.side
    when = f"{as_time(start):%Y-%m-%d} to {as_time(end):%Y-%m-%d}"
    sample = tooltip_record("track-density", "", "Track density", "999,999,999 positions", claimant, when)
    per_cell = len(json.dumps(sample)) + 2 * vertex_bytes(6) + 40
    while True:
        ids, inverse = np.unique(cx * side + cy, return_inverse=True)
        counts = np.bincount(inverse, weights=count).astype(np.int64)
        if len(ids) * per_cell <= budget or size * 2 > d.cell_deg * MAX_CELL_PIXELS / CELL_PIXELS:
            break
        cx, cy, size, side = cx // 2, cy // 2, size * 2, (side + 1) // 2
    fit = max(0, budget // per_cell)
    if len(ids) > fit:
        top = np.lexsort((ids, -counts))[:fit]
        ids, counts = ids[np.sort(top)], counts[np.sort(top)]
    gx, gy = ids // side, ids % side
    lons = -180.0 + (gx + 0.5) * size
    lats = latitude(-180.0 + (gy + 0.5) * size)
    peak = math.log1p(counts.max()) if len(counts) else 1.0
    digits = digits_for(size / CELL_PIXELS)
    rows = []
    for x, y, n in zip(np.round(lons, digits).tolist(), np.round(lats, digits).tolist(), counts.tolist()):
        rec = tooltip_record("track-density", "", "Track density", f"{n:,} positions", claimant, when)
        rec.update(position=[x, y], color=rgba(DENSITY_RGB, 40 + int(120 * math.log1p(n) / peak)))
        rows.append(rec)
    radius = round(size / 2 * WORLD_PIXELS / 360, 6)  # common units: 512 per world width
    return rows, radius, per_cell


def track_layers(prepared: PreparedTracks, when, view: str, window_days: int = timeline.TRACK_WINDOW_DAYS,
                 budget_bytes: int = 900_000, prefix: str = "") -> list[pdk.Layer]:
    """The tracks in the window of `when` (geo.model.timeline.track_window), as at most
    `budget_bytes` of layer JSON.

    Four layers, always present and always in this order (ids stay stable for selection):
    "tracks-density" (grid cells; empty unless the window's simplified vertices exceed the
    budget), "tracks-hit" (each track's invisible click band, HIT_PIXELS wide, with its
    tooltip fields), "tracks-path" (the window's simplified paths, faint) and "tracks"
    (TripsLayer trails whose heads sit at `when`). The density cells and the click bands are
    what hover and click pick. Over budget, the density layer takes up to half the budget and
    trails go to the most recent tracks that fit in the rest.
    """
    level = prepared.level(view)
    since, until = timeline.track_window(when, window_days)
    start, end = seconds(since), seconds(until)
    cut = window_cut(prepared, level, start, end)
    vb = vertex_bytes(level.digits)
    tb = max(len(str(start)), len(str(end))) + 1
    nv = np.array([len(x) for x in cut.t], dtype=np.int64)
    meta = prepared.meta_bytes[cut.tracks] if len(cut.tracks) else np.zeros(0, np.int64)
    # The band's record (tooltip fields and path), the faint path's, and the trail's (its id, no
    # longer than the tooltip fields that hold it, path and times).
    cost = 2 * meta + 100 + nv * (3 * vb + tb)
    room = budget_bytes - LAYER_OVERHEAD
    density, radius = [], 1.0
    which = np.arange(len(cut.tracks))
    if cost.sum() > room:
        sources = sorted({prepared.meta[i]["claimant"] for i in cut.tracks})
        claimant = "; ".join(sources[:3]) + ("; …" if len(sources) > 3 else "")
        density, radius, per_cell = density_records(level, start, end, room // 2, claimant)
        left = room - per_cell * len(density)
        latest = np.array([x[-1] for x in cut.t], dtype=np.int64)
        order = np.lexsort((cut.tracks, -latest))  # most recent first, ties by track
        fits = np.cumsum(cost[order]) <= left
        which = np.sort(order[fits])
    trips, paths, hits = trip_records(prepared, cut, which, level.digits)
    return [
        pdk.Layer("ScatterplotLayer", id=prefix + "tracks-density", data=density, pickable=True, get_position="position",
                  get_radius=radius, radius_units="'common'", radius_min_pixels=1, stroked=False,
                  get_fill_color="color"),
        pdk.Layer("PathLayer", id=prefix + "tracks-hit", data=hits, pickable=True, get_path="path", get_color=HIT_RGBA,
                  get_width=HIT_PIXELS, width_units="'pixels'", width_min_pixels=HIT_PIXELS, cap_rounded=True,
                  joint_rounded=True, auto_highlight=True, highlight_color=HOVER_RGBA),
        pdk.Layer("PathLayer", id=prefix + "tracks-path", data=paths, pickable=False, get_path="path",
                  get_color=rgba(TRACK_RGB, 70), get_width=1.5, width_units="'pixels'", width_min_pixels=1,
                  cap_rounded=True, joint_rounded=True),
        pdk.Layer("TripsLayer", id=prefix + "tracks", data=trips, pickable=False, get_path="path",
                  get_timestamps="timestamps", get_color=rgba(TRACK_RGB), get_width=3, width_units="'pixels'",
                  width_min_pixels=2, cap_rounded=True, joint_rounded=True, fade_trail=True,
                  current_time=end, trail_length=end - start),
    ]


def cell_layers(cells: pd.DataFrame, cell_deg: float, prefix: str = "positions-") -> list[pdk.Layer]:
    """Positions counted per cell (geo.ships.positions.grid) as one layer of dots, darker where more
    positions lie, for a window too large or a view too wide to draw as paths."""
    if cells is None or not len(cells):
        return []
    counts = cells["positions"].to_numpy(float)
    shade = 60 + (np.log1p(counts) / max(1e-9, np.log1p(counts.max())) * 180).astype(int)
    digits = max(2, digits_for(cell_deg / 10))
    data = [{"position": [round(float(lon), digits), round(float(lat), digits)], "color": [*DENSITY_RGB, int(a)]}
            for lon, lat, a in zip(cells["lon"], cells["lat"], shade)]
    return [pdk.Layer("ScatterplotLayer", id=prefix + "cells", data=data, pickable=False, get_position="position",
                      get_radius=cell_deg * 111_000 / 2 * 0.9, radius_units="'meters'", radius_min_pixels=1,
                      stroked=False, get_fill_color="color")]


# --- evidence -------------------------------------------------------------------------------------

KM_PER_DEG_LAT = 110.574
KM_PER_DEG_LON = 111.320


def tracks_near_legs(points: pd.DataFrame, routes, km: float = 10.0) -> pd.DataFrame:
    """Which route legs each track's points come within `km` of, so a voyage can stand as
    evidence for the leg it sailed.

    A prefilter in degrees (wide enough at the points' highest latitude) finds candidate
    (point, segment) pairs; the exact check is a local equirectangular distance centred on
    each point, accurate to well under 1 % at 10 km. Returns one row per (track, leg):
    track_id, leg_id, n_points, first_t, last_t and times (the near positions' times, sorted),
    ordered by track then first time.
    """
    columns = ["track_id", "leg_id", "n_points", "first_t", "last_t", "times"]
    pts = points.dropna(subset=["lon", "lat", "t"])
    if pts.empty or len(routes) == 0:
        return pd.DataFrame(columns=columns)
    seg_a, seg_b, seg_leg = [], [], []
    for leg, geom in zip(routes["id"], routes.geometry):
        coords = np.asarray(geom.coords)[:, :2]
        seg_a.append(coords[:-1])
        seg_b.append(coords[1:])
        seg_leg += [leg] * (len(coords) - 1)
    seg_a, seg_b, seg_leg = np.vstack(seg_a), np.vstack(seg_b), np.asarray(seg_leg, dtype=object)
    tree = shapely.STRtree(shapely.linestrings(np.stack([seg_a, seg_b], axis=1)))
    lon, lat = pts["lon"].to_numpy(float), pts["lat"].to_numpy(float)
    top = min(89.0, float(np.abs(lat).max()) + km / KM_PER_DEG_LAT)
    reach = km / (KM_PER_DEG_LON * math.cos(math.radians(top)))
    found_pt, found_leg = [], []
    for lo in range(0, len(lon), 200_000):
        sl = slice(lo, lo + 200_000)
        pi, si = tree.query(shapely.points(lon[sl], lat[sl]), predicate="dwithin", distance=reach)
        pi = pi + lo
        near = km_to_segment(lon[pi], lat[pi], seg_a[si], seg_b[si]) <= km
        found_pt.append(pi[near])
        found_leg.append(seg_leg[si[near]])
    pairs = pd.DataFrame({"row": np.concatenate(found_pt), "leg_id": np.concatenate(found_leg)}).drop_duplicates()
    pairs["track_id"] = pts["track_id"].astype(str).to_numpy()[pairs["row"].to_numpy()]
    pairs["t"] = pd.to_datetime(pts["t"]).to_numpy()[pairs["row"].to_numpy()]
    grouped = pairs.groupby(["track_id", "leg_id"], sort=False)["t"]
    out = (grouped.agg(["size", "min", "max"]).reset_index()
           .rename(columns={"size": "n_points", "min": "first_t", "max": "last_t"}))
    # Each pair's own times, sorted, so a date sees only the positions it has reached.
    out["times"] = [np.sort(v.to_numpy()) for _, v in grouped]
    return out.sort_values(["track_id", "first_t", "leg_id"], kind="stable").reset_index(drop=True)[columns]


def km_to_segment(lon, lat, a, b) -> np.ndarray:
    kx = KM_PER_DEG_LON * np.cos(np.radians(lat))
    ax, ay = (a[:, 0] - lon) * kx, (a[:, 1] - lat) * KM_PER_DEG_LAT
    bx, by = (b[:, 0] - lon) * kx, (b[:, 1] - lat) * KM_PER_DEG_LAT
    dx, dy = bx - ax, by - ay
    length2 = dx * dx + dy * dy
    f = np.clip(-(ax * dx + ay * dy) / np.where(length2 > 0, length2, 1), 0.0, 1.0)
    return np.hypot(ax + f * dx, ay + f * dy)
