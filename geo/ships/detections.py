"""What AIS positions show: port calls, AIS gaps, encounters and loitering, each by a written rule.

A vessel is its MMSI (or, when a file has no MMSI, its IMO number); its name is the name it
broadcast most often (ties: the first in alphabetical order). Positions are taken in time order
per vessel; two positions of one vessel at the same time count once. A position's speed is its
reported SOG; where a file gives none, the speed implied by the distance from the vessel's
previous position (great circle) over the time between them.

Rules (every number is a field of `Params`, with its default):

- **port_call**: a run of consecutive positions of one vessel inside the same port polygon
  (geo.ships.ports; `call_min_minutes`, default 0, drops shorter runs). `start` is the first
  position inside, `end` the last position inside. When no position follows the run (the track
  ends in port) the call is *open*: `end` is NaT and `detail` says when it was last seen inside.
  When the track begins inside, `detail` says so (the call began before the data). A ship that
  crosses a polygon without stopping makes a call too, unless `call_min_minutes` asks for a stay.
- **gap**: two consecutive positions of one vessel at least `gap_hours` apart (default 12 h).
  `lon`/`lat` is where it went dark, `end_lon`/`end_lat` where it reappeared, `distance_km`
  the great-circle distance between them and `implied_knots` the speed that distance needs in
  that time. Not counted when either end lies in an area of poor reception (`poor_reception`:
  boxes of (lon0, lat0, lon1, lat1); default none). A gap is found from the positions on both
  sides of it, whatever month they are stored in, so one that spans a month boundary is found
  once.
- **encounter** (Global Fishing Watch's published rule: two vessels within 500 m of each other
  for at least 2 hours, travelling at a median speed under 2 knots, at least 10 km from a
  coastal anchorage; here, from a port polygon): each vessel's track is sampled every
  `encounter_step_minutes` (10) by linear interpolation between consecutive positions no more
  than `encounter_max_gap_hours` (1 h) apart; a step counts when both vessels are below
  `encounter_knots` (2) there (interpolated SOG), both are at least `encounter_port_km` (10 km)
  from every port polygon and they are within `encounter_distance_m` (500 m). An encounter is
  a run of consecutive counting steps spanning at least `encounter_hours` (2 h). Requiring
  every step below 2 knots is stricter than GFW's median. One row per pair of vessels: `mmsi`
  is the lower key, `other_mmsi` the higher; `lon`/`lat` the median midpoint, `positions` the
  number of steps, `distance_km` the median separation.
- **loitering** (after Global Fishing Watch's loitering events: one vessel at an average speed
  under 2 knots, far from shore): a run of consecutive positions of one vessel below
  `loiter_knots` (2), each at least `loiter_port_km` (10 km) from every port polygon, with no
  gap of `gap_hours` inside it, lasting at least `loiter_hours` (2 h). GFW measures distance from
  the shore (20 nautical miles on average); there is no coastline here, so it is measured from
  the ports, and the 2 h minimum is this project's choice (GFW's portal filters from 1 h).

`detect(positions, params, ports)` returns one row per detection, sorted by start, kind, mmsi,
other_mmsi and end (deterministic for the same input); `detect_store(...)` runs it over the
positions store, one group of vessels at a time for calls, gaps and loitering, and over the
slow steps of all vessels for encounters.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field, fields
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import shapely

from geo.ships import ports as port_polygons
from geo.ships import positions as store

KINDS = ("port_call", "gap", "encounter", "loitering")
OUTPUT = ("kind", "vessel", "mmsi", "imo", "other_mmsi", "other_vessel", "start", "end", "place", "lon", "lat",
          "end_lon", "end_lat", "distance_km", "implied_knots", "positions", "detail")
EARTH_KM = 6371.0088
KNOT_KMH = 1.852
NEEDED = ("mmsi", "imo", "name", "t", "lon", "lat", "sog")


@dataclass(frozen=True)
class Params:
    """Every parameter of the rules, with its default (see the module's docstring and README)."""

    gap_hours: float = 12.0
    poor_reception: tuple = ()  # boxes (lon0, lat0, lon1, lat1) where a gap is not counted
    call_min_minutes: float = 0.0
    encounter_distance_m: float = 500.0
    encounter_hours: float = 2.0
    encounter_knots: float = 2.0
    encounter_port_km: float = 10.0
    encounter_step_minutes: float = 10.0
    encounter_max_gap_hours: float = 1.0
    loiter_knots: float = 2.0
    loiter_hours: float = 2.0
    loiter_port_km: float = 10.0
    kinds: tuple = field(default=KINDS)

    def describe(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass
class Context:
    """The port polygons and the zones around them, prepared once per run."""

    ports: gpd.GeoDataFrame
    encounter_zone: object
    loiter_zone: object

    @classmethod
    def make(cls, ports=None, params: Params | None = None) -> "Context":
        params = params or Params()
        ports = port_polygons.load() if ports is None else ports
        ports = ports.reset_index(drop=True)
        return cls(ports, port_polygons.zone(ports, params.encounter_port_km),
                   port_polygons.zone(ports, params.loiter_port_km))


# --- helpers -----------------------------------------------------------------------------------------

def haversine_km(lon1, lat1, lon2, lat2):
    lon1, lat1, lon2, lat2 = (np.radians(np.asarray(v, dtype=float)) for v in (lon1, lat1, lon2, lat2))
    a = np.sin((lat2 - lat1) / 2) ** 2 + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    return 2 * EARTH_KM * np.arcsin(np.sqrt(np.clip(a, 0, 1)))


def in_zone(zone, lon, lat) -> np.ndarray:
    if zone is None or zone.is_empty or not len(lon):
        return np.zeros(len(lon), dtype=bool)
    shapely.prepare(zone)
    xmin, ymin, xmax, ymax = zone.bounds
    out = np.zeros(len(lon), dtype=bool)
    near = np.flatnonzero((lon >= xmin) & (lon <= xmax) & (lat >= ymin) & (lat <= ymax))
    if len(near):
        out[near] = shapely.contains_xy(zone, lon[near], lat[near])
    return out


def in_boxes(boxes, lon, lat) -> np.ndarray:
    out = np.zeros(len(lon), dtype=bool)
    for x0, y0, x1, y1 in boxes or ():
        out |= (lon >= x0) & (lon <= x1) & (lat >= y0) & (lat <= y1)
    return out


def text_column(positions: pd.DataFrame, column: str) -> np.ndarray:
    """A text column trimmed, '' for missing, as an object array (fast through Arrow)."""
    if column not in positions.columns:
        return np.full(len(positions), "", dtype=object)
    array = store.text_array(positions[column], len(positions))
    return pc.utf8_trim_whitespace(array).to_numpy(zero_copy_only=False)


def prepare(positions: pd.DataFrame) -> pd.DataFrame:
    """Positions with a vessel key, sorted by key and t, one per (key, t), with a speed in knots."""
    mmsi = text_column(positions, "mmsi") if "mmsi" in positions.columns else text_column(positions, "track_id")
    imo = pc.replace_substring_regex(pa.array(text_column(positions, "imo"), pa.string()), r"^(?i:imo)\s*", "")
    key = pc.if_else(pc.not_equal(pa.array(mmsi, pa.string()), ""), pa.array(mmsi, pa.string()),
                     pc.binary_join_element_wise("IMO", imo, ""))
    t = np.asarray(pd.to_datetime(positions["t"]), dtype="datetime64[ms]") if len(positions) else \
        np.array([], dtype="datetime64[ms]")
    lon = pd.to_numeric(positions["lon"], errors="coerce").to_numpy(float)
    lat = pd.to_numeric(positions["lat"], errors="coerce").to_numpy(float)
    sog = pd.to_numeric(positions["sog"], errors="coerce").to_numpy(float) if "sog" in positions.columns \
        else np.full(len(positions), np.nan)
    codes, keys = pd.factorize(key.to_numpy(zero_copy_only=False), sort=True)
    ok = (keys[np.maximum(codes, 0)] != "IMO") & (codes >= 0) & ~np.isnat(t) & np.isfinite(lon) & np.isfinite(lat) \
        if len(keys) else np.zeros(len(positions), dtype=bool)
    ti = t.astype("int64")
    order = np.flatnonzero(ok)
    order = order[np.lexsort((lat[order], lon[order], ti[order], codes[order]))]
    codes, ti = codes[order], ti[order]
    dup = np.zeros(len(order), dtype=bool)
    dup[1:] = (codes[1:] == codes[:-1]) & (ti[1:] == ti[:-1])
    order, codes, ti = order[~dup], codes[~dup], ti[~dup]
    lon, lat, sog = lon[order], lat[order], sog[order]
    same = np.zeros(len(order), dtype=bool)
    same[1:] = codes[1:] == codes[:-1]
    step_km = np.zeros(len(order))
    step_h = np.full(len(order), np.nan)
    if len(order) > 1:
        step_km[1:] = haversine_km(lon[:-1], lat[:-1], lon[1:], lat[1:])
        step_h[1:] = (ti[1:] - ti[:-1]) / 3_600_000
    implied = np.where(same & (step_h > 0), step_km / KNOT_KMH / np.where(step_h > 0, step_h, 1), np.nan)
    speed = sog.copy()
    missing = ~np.isfinite(speed)
    speed[missing] = implied[missing]
    names = text_column(positions, "name")
    return pd.DataFrame({
        "mmsi": mmsi[order], "imo": imo.to_numpy(zero_copy_only=False)[order], "name": names[order],
        "t": ti.astype("datetime64[ms]"), "lon": lon, "lat": lat, "sog": sog,
        "key": np.asarray(keys, dtype=object)[codes] if len(order) else np.array([], dtype=object),
        "speed": speed,  # NaN only for a vessel's first position without SOG
        "first": ~same,
    })


def vessel_names(frame: pd.DataFrame) -> pd.DataFrame:
    """Per key: the name broadcast most often (ties alphabetical), the IMO likewise, the MMSI."""
    def most(column):
        values = frame.loc[frame[column] != "", ["key", column]]
        if values.empty:
            return pd.Series(dtype=object)
        counted = values.groupby(["key", column], sort=True).size().reset_index(name="n")
        counted = counted.sort_values(["key", "n", column], ascending=[True, False, True], kind="stable")
        return counted.drop_duplicates("key").set_index("key")[column]
    keys = pd.Index(pd.unique(frame["key"]), name="key")
    out = pd.DataFrame(index=keys)
    out["name"] = most("name").reindex(keys).fillna("")
    out["imo"] = most("imo").reindex(keys).fillna("")
    mmsi = frame.drop_duplicates("key").set_index("key")["mmsi"]
    out["mmsi"] = mmsi.reindex(keys).fillna("")
    out["vessel"] = [n or (f"MMSI {m}" if m else f"IMO {i}") for n, m, i in zip(out["name"], out["mmsi"], out["imo"])]
    return out


def iso(value) -> str:
    return "" if pd.isna(value) else pd.Timestamp(value).strftime("%Y-%m-%d %H:%M")


# --- per vessel: port calls, gaps, loitering ----------------------------------------------------------

def runs(mask: np.ndarray, breaks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(first, last) index of each run of True in mask; a run also ends where breaks is True
    (breaks[i]: position i starts anew)."""
    if not mask.any():
        return np.array([], dtype=int), np.array([], dtype=int)
    start = mask & (np.r_[True, ~mask[:-1]] | breaks)
    end = mask & (np.r_[~mask[1:], True] | np.r_[breaks[1:], True])
    return np.flatnonzero(start), np.flatnonzero(end)


def port_calls(frame: pd.DataFrame, ctx: Context, params: Params) -> pd.DataFrame:
    lon, lat = frame["lon"].to_numpy(), frame["lat"].to_numpy()
    port = port_polygons.port_at(ctx.ports, lon, lat)
    first = frame["first"].to_numpy()
    breaks = first | np.r_[False, port[1:] != port[:-1]]
    a, b = runs(port >= 0, breaks)
    t = frame["t"].to_numpy()
    last_of_vessel = np.r_[first[1:], True]
    minutes = (t[b] - t[a]).astype("timedelta64[ms]").astype("int64") / 60_000
    keep = minutes >= params.call_min_minutes
    a, b = a[keep], b[keep]
    open_ = last_of_vessel[b]
    names = ctx.ports["name"].to_numpy()
    details = []
    for i, j, is_open in zip(a, b, open_):
        text = []
        if first[i]:
            text.append("already inside at the vessel's first position")
        if is_open:
            text.append(f"open: no position after {iso(t[j])}, last seen inside")
        else:
            text.append(f"left: first position outside at {iso(t[j + 1])}")
        details.append("; ".join(text))
    end = t[b].copy()
    end[open_] = np.datetime64("NaT")
    return rows("port_call", key=frame["key"].to_numpy()[a], start=t[a], end=end, place=names[port[a]],
                lon=lon[a], lat=lat[a], end_lon=lon[b], end_lat=lat[b], positions=(b - a + 1), detail=details)


def gaps(frame: pd.DataFrame, ctx: Context, params: Params) -> pd.DataFrame:
    t = frame["t"].to_numpy().astype("int64")
    first = frame["first"].to_numpy()
    if len(frame) < 2:
        return rows("gap", key=[])
    hours = np.r_[np.nan, (t[1:] - t[:-1]) / 3_600_000]
    j = np.flatnonzero(~first & (hours >= params.gap_hours))
    i = j - 1
    lon, lat = frame["lon"].to_numpy(), frame["lat"].to_numpy()
    poor = in_boxes(params.poor_reception, lon[i], lat[i]) | in_boxes(params.poor_reception, lon[j], lat[j])
    i, j = i[~poor], j[~poor]
    km = haversine_km(lon[i], lat[i], lon[j], lat[j])
    h = hours[j]
    port = port_polygons.port_at(ctx.ports, lon[i], lat[i])
    names = ctx.ports["name"].to_numpy()
    place = np.where(port >= 0, names[np.maximum(port, 0)], "")
    knots = km / KNOT_KMH / h
    details = [f"dark for {hh:.1f} h over {d:.1f} km (implies {k:.1f} kn)" for hh, d, k in zip(h, km, knots)]
    ts = frame["t"].to_numpy()
    return rows("gap", key=frame["key"].to_numpy()[i], start=ts[i], end=ts[j], place=place, lon=lon[i], lat=lat[i],
                end_lon=lon[j], end_lat=lat[j], distance_km=km, implied_knots=knots, positions=np.full(len(i), 2),
                detail=details)


def loitering(frame: pd.DataFrame, ctx: Context, params: Params) -> pd.DataFrame:
    lon, lat = frame["lon"].to_numpy(), frame["lat"].to_numpy()
    speed = frame["speed"].to_numpy()
    t = frame["t"].to_numpy()
    ti = t.astype("int64")
    first = frame["first"].to_numpy()
    slow = (speed < params.loiter_knots) & ~in_zone(ctx.loiter_zone, lon, lat)
    gap = np.r_[False, (ti[1:] - ti[:-1]) >= params.gap_hours * 3_600_000]
    a, b = runs(slow, first | gap)
    long_enough = (ti[b] - ti[a]) >= params.loiter_hours * 3_600_000
    a, b = a[long_enough], b[long_enough]
    out_lon, out_lat, mean_speed = [], [], []
    for i, j in zip(a, b):
        out_lon.append(float(np.median(lon[i:j + 1])))
        out_lat.append(float(np.median(lat[i:j + 1])))
        mean_speed.append(float(np.mean(speed[i:j + 1])))
    km = haversine_km(lon[a], lat[a], lon[b], lat[b])
    hours = (ti[b] - ti[a]) / 3_600_000
    details = [f"{h:.1f} h below {params.loiter_knots:g} kn (average {s:.1f} kn)" for h, s in zip(hours, mean_speed)]
    return rows("loitering", key=frame["key"].to_numpy()[a], start=t[a], end=t[b], place=[""] * len(a),
                lon=out_lon, lat=out_lat, end_lon=lon[b], end_lat=lat[b], distance_km=km,
                implied_knots=mean_speed, positions=(b - a + 1), detail=details)


def vessel_events(frame: pd.DataFrame, ctx: Context, params: Params) -> pd.DataFrame:
    """Port calls, gaps and loitering of the prepared positions of whole vessels (keyed by `key`)."""
    parts = []
    if "port_call" in params.kinds:
        parts.append(port_calls(frame, ctx, params))
    if "gap" in params.kinds:
        parts.append(gaps(frame, ctx, params))
    if "loitering" in params.kinds:
        parts.append(loitering(frame, ctx, params))
    parts = [p for p in parts if len(p)]
    return pd.concat(parts, ignore_index=True) if parts else rows("gap", key=[])


# --- across vessels: encounters -------------------------------------------------------------------------

TICK_COLUMNS = ("key", "tick", "lon", "lat", "speed")


def collect(frame: pd.DataFrame, ctx: "Context", params: "Params", found: list, names: list, ticks: list) -> None:
    """Add one read of vessels' positions to a pass's results: their calls, gaps and loitering, their
    names, and (when encounters are asked for) their encounter steps, paired once all are read."""
    found.append(vessel_events(frame, ctx, params))
    names.append(vessel_names(frame))
    if "encounter" in params.kinds:
        ticks.append(vessel_ticks(frame, ctx, params))


def vessel_ticks(frame: pd.DataFrame, ctx: Context, params: Params) -> pd.DataFrame:
    """Each vessel sampled every encounter_step_minutes between positions at most
    encounter_max_gap_hours apart, kept where slow and away from ports. tick: Unix ms."""
    step = int(round(params.encounter_step_minutes * 60_000))
    t = frame["t"].to_numpy().astype("int64")
    if len(frame) < 2:
        return pd.DataFrame({c: [] for c in TICK_COLUMNS})
    first = frame["first"].to_numpy()
    pair = np.flatnonzero(~first[1:] & ((t[1:] - t[:-1]) <= params.encounter_max_gap_hours * 3_600_000)) + 1
    t0, t1 = t[pair - 1], t[pair]
    k0 = -(-t0 // step)  # ceil
    k1 = -(-t1 // step)  # ticks in [t0, t1)
    n = np.maximum(k1 - k0, 0)
    total = int(n.sum())
    if not total:
        return pd.DataFrame({c: [] for c in TICK_COLUMNS})
    which = np.repeat(np.arange(len(pair)), n)
    offset = np.arange(total) - np.repeat(np.cumsum(n) - n, n)
    tick = (k0[which] + offset) * step
    f = (tick - t0[which]) / (t1[which] - t0[which])
    lon, lat = frame["lon"].to_numpy(), frame["lat"].to_numpy()
    i0, i1 = pair[which] - 1, pair[which]
    x = lon[i0] + f * (lon[i1] - lon[i0])
    y = lat[i0] + f * (lat[i1] - lat[i0])
    sog = frame["sog"].to_numpy()
    speed = frame["speed"].to_numpy()
    s0 = np.where(np.isfinite(sog[i0]), sog[i0], speed[i1])
    s1 = np.where(np.isfinite(sog[i1]), sog[i1], speed[i1])
    s = s0 + f * (s1 - s0)
    keep = (s < params.encounter_knots) & ~in_zone(ctx.encounter_zone, x, y)
    return pd.DataFrame({"key": frame["key"].to_numpy()[i1][keep], "tick": tick[keep], "lon": x[keep],
                         "lat": y[keep], "speed": s[keep]})


def tick_pairs(ticks: pd.DataFrame, params: Params) -> pd.DataFrame:
    """Pairs of vessels within encounter_distance_m at the same tick: a, b (a < b), tick, metres,
    midpoint. Works on any subset of ticks that holds every vessel's ticks for the times it holds."""
    out_cols = ["a", "b", "tick", "metres", "mid_lon", "mid_lat"]
    if len(ticks) < 2:
        return pd.DataFrame({c: [] for c in out_cols})
    metres = params.encounter_distance_m
    cos = max(np.cos(np.radians(min(85.0, float(np.abs(ticks["lat"]).max()) + 1))), 0.05)
    cell = metres / (111_320.0 * cos)
    codes, keys = pd.factorize(ticks["key"].to_numpy(), sort=True)  # codes keep the keys' order
    lon, lat = ticks["lon"].to_numpy(float), ticks["lat"].to_numpy(float)
    tick = ticks["tick"].to_numpy().astype(np.int64)
    cx, cy = np.floor(lon / cell).astype(np.int64), np.floor(lat / cell).astype(np.int64)
    base = pd.DataFrame({"tick": tick, "cx": cx, "cy": cy, "row": np.arange(len(tick))})
    left, right = [], []
    for dx in (-1, 0, 1):
        for dy in (-1, 0, 1):
            other = pd.DataFrame({"tick": tick, "cx": cx + dx, "cy": cy + dy, "other": np.arange(len(tick))})
            merged = base.merge(other, on=["tick", "cx", "cy"])
            i, j = merged["row"].to_numpy(), merged["other"].to_numpy()
            keep = codes[i] < codes[j]
            left.append(i[keep])
            right.append(j[keep])
    i, j = np.concatenate(left), np.concatenate(right)
    metres_apart = haversine_km(lon[i], lat[i], lon[j], lat[j]) * 1000.0
    close = metres_apart <= metres
    i, j, metres_apart = i[close], j[close], metres_apart[close]
    if not len(i):
        return pd.DataFrame({c: [] for c in out_cols})
    seen = pd.DataFrame({"a": codes[i], "b": codes[j], "tick": tick[i]}).duplicated().to_numpy()
    i, j, metres_apart = i[~seen], j[~seen], metres_apart[~seen]
    keys = np.asarray(keys, dtype=object)
    return pd.DataFrame({"a": keys[codes[i]], "b": keys[codes[j]], "tick": tick[i], "metres": metres_apart,
                         "mid_lon": (lon[i] + lon[j]) / 2, "mid_lat": (lat[i] + lat[j]) / 2})


def encounters_from_pairs(pairs: pd.DataFrame, params: Params) -> pd.DataFrame:
    if pairs.empty:
        return rows("encounter", key=[])
    step = int(round(params.encounter_step_minutes * 60_000))
    pairs = pairs.sort_values(["a", "b", "tick"], kind="stable").reset_index(drop=True)
    a, b, tick = pairs["a"].to_numpy(), pairs["b"].to_numpy(), pairs["tick"].to_numpy().astype("int64")
    new = np.r_[True, (a[1:] != a[:-1]) | (b[1:] != b[:-1]) | (tick[1:] - tick[:-1] != step)]
    run = np.cumsum(new) - 1
    grouped = pairs.assign(run=run).groupby("run", sort=True)
    agg = grouped.agg(a=("a", "first"), b=("b", "first"), start=("tick", "min"), end=("tick", "max"),
                      lon=("mid_lon", "median"), lat=("mid_lat", "median"), metres=("metres", "median"),
                      closest=("metres", "min"), steps=("tick", "size"), end_lon=("mid_lon", "last"),
                      end_lat=("mid_lat", "last"))
    agg = agg[(agg["end"] - agg["start"]) >= params.encounter_hours * 3_600_000]
    hours = (agg["end"] - agg["start"]) / 3_600_000
    details = [f"{h:.1f} h within {params.encounter_distance_m:g} m (median {m:.0f} m, closest {c:.0f} m), "
               f"both below {params.encounter_knots:g} kn" for h, m, c in zip(hours, agg["metres"], agg["closest"])]
    return rows("encounter", key=agg["a"].to_numpy(), other_key=agg["b"].to_numpy(),
                start=pd.to_datetime(agg["start"].to_numpy(), unit="ms").astype("datetime64[ms]"),
                end=pd.to_datetime(agg["end"].to_numpy(), unit="ms").astype("datetime64[ms]"),
                place=[""] * len(agg), lon=agg["lon"].to_numpy(), lat=agg["lat"].to_numpy(),
                end_lon=agg["end_lon"].to_numpy(), end_lat=agg["end_lat"].to_numpy(),
                distance_km=agg["metres"].to_numpy() / 1000.0, implied_knots=[np.nan] * len(agg),
                positions=agg["steps"].to_numpy(), detail=details)


# --- putting it together -------------------------------------------------------------------------------

def rows(kind, key, other_key=None, **columns) -> pd.DataFrame:
    n = len(key)
    data = {"kind": [kind] * n, "key": list(key), "other_key": list(other_key) if other_key is not None else [""] * n}
    for column in OUTPUT:
        if column in ("kind", "vessel", "mmsi", "imo", "other_mmsi", "other_vessel"):
            continue
        data[column] = list(columns[column]) if column in columns else [None] * n
    return pd.DataFrame(data)


def finish(found: pd.DataFrame, names: pd.DataFrame) -> pd.DataFrame:
    """Identity columns from the vessel names, types fixed, rows sorted."""
    if found.empty:
        return empty()
    found = found.reset_index(drop=True)
    ident = names.reindex(found["key"])
    other = names.reindex(found["other_key"].replace("", np.nan))
    out = pd.DataFrame({
        "kind": found["kind"].to_numpy(),
        "vessel": ident["vessel"].to_numpy(), "mmsi": ident["mmsi"].to_numpy(), "imo": ident["imo"].to_numpy(),
        "other_mmsi": other["mmsi"].fillna("").to_numpy(), "other_vessel": other["vessel"].fillna("").to_numpy(),
        "start": pd.to_datetime(found["start"]).astype("datetime64[ms]").to_numpy(),
        "end": pd.to_datetime(found["end"]).astype("datetime64[ms]").to_numpy(),
        "place": found["place"].fillna("").astype(str).to_numpy(),
    })
    for column in ("lon", "lat", "end_lon", "end_lat", "distance_km", "implied_knots"):
        out[column] = pd.to_numeric(found[column], errors="coerce").astype(float).to_numpy()
    out["positions"] = pd.to_numeric(found["positions"], errors="coerce").fillna(0).astype("int64").to_numpy()
    out["detail"] = found["detail"].fillna("").astype(str).to_numpy()
    out["_key"] = found["key"].to_numpy()
    out["_other"] = found["other_key"].fillna("").to_numpy()
    out = out.sort_values(["start", "kind", "_key", "_other", "end"], kind="stable", na_position="last")
    return out.drop(columns=["_key", "_other"]).reset_index(drop=True)


def empty() -> pd.DataFrame:
    types = {"start": "datetime64[ms]", "end": "datetime64[ms]", "lon": "float64", "lat": "float64",
             "end_lon": "float64", "end_lat": "float64", "distance_km": "float64", "implied_knots": "float64",
             "positions": "int64"}
    return pd.DataFrame({c: pd.Series([], dtype=types.get(c, "object")) for c in OUTPUT})


def detect(positions: pd.DataFrame, params: Params | None = None, ports=None) -> pd.DataFrame:
    """Every detection in a frame of positions (columns mmsi or track_id, imo, name, t, lon, lat,
    sog; missing ones are treated as empty), one row per detection in the columns of OUTPUT."""
    params = params or Params()
    ctx = Context.make(ports, params)
    frame = prepare(positions)
    if frame.empty:
        return empty()
    found = [vessel_events(frame, ctx, params)]
    if "encounter" in params.kinds:
        found.append(encounters_from_pairs(tick_pairs(vessel_ticks(frame, ctx, params), params), params))
    found = [f for f in found if len(f)]
    if not found:
        return empty()
    return finish(pd.concat(found, ignore_index=True), vessel_names(frame))


def key_buckets(root, since, until, buckets: int, con) -> list[str]:
    return [f"hash(CASE WHEN mmsi <> '' THEN mmsi ELSE 'IMO' || imo END) % {buckets} = {b}" for b in range(buckets)]


def detect_store(workspace_or_dir=None, since=None, until=None, params: Params | None = None, ports=None,
                 *, vessels_per_pass: int = 2_000_000) -> pd.DataFrame:
    """detect() over the positions store of a workspace (a Workspace, its target, or a positions
    folder): calls, gaps and loitering one hash bucket of vessels at a time (about
    `vessels_per_pass` positions per pass), encounters over the slow steps of every vessel."""
    root = root_of(workspace_or_dir)
    params = params or Params()
    ctx = Context.make(ports, params)
    files = store.files_for(root, since, until)
    if not files:
        return empty()
    con = store.connect()
    try:
        total = int(con.execute(f"SELECT count(*) FROM {store.source(files)}"
                                f"{store.where_clause(since, until)}").fetchone()[0])
        buckets = max(1, -(-total // max(1, vessels_per_pass)))
        found, names, ticks = [], [], []
        for where in key_buckets(root, since, until, buckets, con):
            part = store.read_window(since, until, columns=NEEDED, root=root, where=where, con=con)
            frame = prepare(part)
            del part
            if frame.empty:
                continue
            collect(frame, ctx, params, found, names, ticks)
    finally:
        con.close()
    if not names:
        return empty()
    if ticks:
        found.append(encounters_from_pairs(tick_pairs(pd.concat(ticks, ignore_index=True), params), params))
    found = [f for f in found if len(f)]
    if not found:
        return empty()
    return finish(pd.concat(found, ignore_index=True), pd.concat(names).sort_index())


# --- per batch: found once when a batch is new, combined for the whole store ------------------------------

KEY_SQL = "CASE WHEN mmsi <> '' THEN mmsi ELSE 'IMO' || imo END"


@dataclass(frozen=True)
class BatchPart:
    """What one batch of the positions store gives on its own, for Params: its vessels' keys, the
    calls, gaps and loitering of each vessel, the vessels' names and their encounter steps."""

    keys: frozenset
    found: pd.DataFrame
    names: pd.DataFrame
    ticks: pd.DataFrame


def batch_part(root, batch_id: int, params: Params | None = None, ports=None, *,
               vessels_per_pass: int = 2_000_000) -> BatchPart:
    """One batch's part (its positions read a hash bucket of vessels at a time, as detect_store)."""
    params = params or Params()
    ctx = Context.make(ports, params)
    files = store.files_for(root, None, None, [batch_id])
    found, names, ticks, keys = [], [], [], set()
    if files:
        con = store.connect()
        try:
            total = int(con.execute(f"SELECT count(*) FROM {store.source(files)}").fetchone()[0])
            buckets = max(1, -(-total // max(1, vessels_per_pass)))
            for where in key_buckets(root, None, None, buckets, con):
                frame = prepare(store.read_window(columns=NEEDED, root=root, batches=[batch_id], where=where,
                                                  con=con))
                if frame.empty:
                    continue
                keys.update(pd.unique(frame["key"]))
                collect(frame, ctx, params, found, names, ticks)
        finally:
            con.close()
    return BatchPart(frozenset(keys), pd.concat(found, ignore_index=True) if found else rows("port_call", key=[]),
                     pd.concat(names) if names else pd.DataFrame(columns=["name", "imo", "mmsi", "vessel"]),
                     pd.concat(ticks, ignore_index=True) if ticks else pd.DataFrame({c: [] for c in TICK_COLUMNS}))


def detect_batches(workspace_or_dir=None, params: Params | None = None, ports=None, *, cache=None) -> pd.DataFrame:
    """detect_store() over the whole store, from each batch's part (batch_part), so that a new batch
    costs its own positions, not the store's. `cache` (a mapping the caller keeps, such as a dict)
    holds the parts by (root, batch id, params) between calls.

    A vessel's calls, gaps and loitering need all of its positions in time order, and an encounter
    two vessels' steps: so a vessel found in one batch only keeps its batch's part, and a vessel
    found in several (a file of January and one of February) is read again from all of them and
    found afresh, calls, gaps, loitering, name and steps alike; the encounters are then paired over
    the steps of every vessel of every batch at once. The result is detect_store's, row for row."""
    root = root_of(workspace_or_dir)
    params = params or Params()
    ids = store.batch_ids(root)
    if not ids:
        return empty()
    cache = {} if cache is None or ports is not None else cache
    parts = {}
    for batch_id in ids:
        key = (str(root), batch_id, params)
        if key not in cache:
            cache[key] = batch_part(root, batch_id, params, ports)
        parts[batch_id] = cache[key]
    seen, shared = set(), set()
    for part in parts.values():
        shared |= seen & part.keys
        seen |= part.keys
    found, names, ticks = [], [], []
    for part in parts.values():
        found.append(part.found[~part.found["key"].isin(shared)] if shared else part.found)
        names.append(part.names[~part.names.index.isin(shared)] if shared else part.names)
        ticks.append(part.ticks[~part.ticks["key"].isin(shared)] if shared and len(part.ticks) else part.ticks)
    if shared:
        ctx = Context.make(ports, params)
        listed = ", ".join("'" + k.replace("'", "''") + "'" for k in sorted(shared))
        frame = prepare(store.read_window(columns=NEEDED, root=root, batches=ids, where=f"{KEY_SQL} IN ({listed})"))
        if not frame.empty:
            collect(frame, ctx, params, found, names, ticks)
    names = [n for n in names if len(n)]
    if not names:
        return empty()
    ticks = [t for t in ticks if len(t)]
    if "encounter" in params.kinds and ticks:
        found.append(encounters_from_pairs(tick_pairs(pd.concat(ticks, ignore_index=True), params), params))
    found = [f for f in found if len(f)]
    if not found:
        return empty()
    return finish(pd.concat(found, ignore_index=True), pd.concat(names).sort_index())


def root_of(workspace_or_dir):
    """The positions folder of a Workspace, a workspace target or a folder itself."""
    if workspace_or_dir is None:
        return store.root_for()
    positions_root = getattr(workspace_or_dir, "positions_root", None)
    if positions_root is not None:
        return positions_root
    text = str(workspace_or_dir)
    if "://" not in text and (text.endswith(".positions") or (Path(text).is_dir()
                                                              and any(Path(text).glob("batch=*")))):
        return Path(text)
    return store.root_for(workspace_or_dir)


# --- for a claim's evidence panel ---------------------------------------------------------------------

def calls_at(found: pd.DataFrame, places, since=None, until=None) -> dict:
    """What the detections give for calls at `places` (port names) starting in [since, until):
    {calls, vessels, first, last} (first/last: the first and last call's start, NaT if none).
    Derived from the analyst's positions, for showing beside a claim that counts calls."""
    places = {places} if isinstance(places, str) else set(places)
    calls = found[(found["kind"] == "port_call") & found["place"].isin(places)]
    if since is not None:
        calls = calls[calls["start"] >= pd.Timestamp(since)]
    if until is not None:
        calls = calls[calls["start"] < pd.Timestamp(until)]
    return {"calls": int(len(calls)), "vessels": int(calls["mmsi"].where(calls["mmsi"] != "", calls["imo"]).nunique()),
            "first": calls["start"].min() if len(calls) else pd.NaT,
            "last": calls["start"].max() if len(calls) else pd.NaT}


# --- for people: the command line's table -----------------------------------------------------------------

TABLE_COLUMNS = ("kind", "vessel", "start", "end", "place", "mmsi", "imo", "other_mmsi", "other_vessel", "lon",
                 "lat", "end_lon", "end_lat", "distance_km", "implied_knots", "positions", "detail")


def parse_when(text: str | None, option: str = "time"):
    """A time from the command line (UTC when it names no zone); None for none; ValueError, one line."""
    if not text:
        return None
    try:
        value = pd.Timestamp(text)
    except (ValueError, TypeError):
        value = pd.NaT
    if value is pd.NaT:
        raise ValueError(f"{option} {text!r} is not a date or time (use YYYY-MM-DD or YYYY-MM-DDTHH:MM)")
    return value.tz_convert("UTC").tz_localize(None) if value.tzinfo else value


def as_table(found: pd.DataFrame) -> pd.DataFrame:
    out = found[list(TABLE_COLUMNS)].copy()
    for column in ("start", "end"):
        out[column] = [f"{v:%Y-%m-%d %H:%M:%S}" if not pd.isna(v) else "" for v in out[column]]
    return out


def as_csv(found: pd.DataFrame) -> str:
    return as_table(found).to_csv(index=False, float_format="%.6g", lineterminator="\n")


def as_json(found: pd.DataFrame) -> str:
    records = [{k: (None if isinstance(v, float) and v != v else v) for k, v in row.items()}
               for row in as_table(found).to_dict("records")]
    return json.dumps(records, indent=1, ensure_ascii=False, default=str) + "\n"
