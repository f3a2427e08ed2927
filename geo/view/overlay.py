"""The workspace on the map: what of the analyst's own data shows on a date, and its layers.

Pure functions from a workspace Snapshot (geo.store.workspace) and a MapState: the app draws
them live and the exports draw the very same records. Records follow geo.render.layers' tooltip
convention (name, detail, claimant, when, kind, feature_id, place_id).

Layer ids: `imported` (points, lines and areas of every kind but claims and fronts) and
`imported-front` (the latest front snapshot on or before the date) are drawn when
`imported` is among the state's layers; `tracks` (each track up to the date, as a path)
when `tracks` is.
"""
from __future__ import annotations

import math

import geopandas as gpd
import pandas as pd
import shapely
import shapely.ops
from shapely.geometry import LineString, Point, mapping

from geo import style
from geo.data import claims
from geo.model import timeline
from geo.view.records import MapState, rgba, tooltip_record
from geo.store.workspace import Snapshot, front_on
from geo.geometry.projection import WGS84

IMPORTED_RGB = style.OKABE_ITO["sky"]
DATED_POINT_ALPHA = 220  # an imported dated point (an event) is a solid dot; an undated one a ring
FRONT_RGB = style.OKABE_ITO["blue"]
# A front export split by status (geo.imports.frontlayers): each status its own layer and colour; any other status grey.
STATUS_RGB = {"occupied": style.OKABE_ITO["vermillion"], "contested": style.OKABE_ITO["orange"],
              "liberated": style.OKABE_ITO["green"], "unknown": (150, 150, 150)}
OTHER_STATUS_RGB = (150, 150, 150)
TRACK_RGB = (70, 70, 70)
SHOWN_KINDS = ("generic", "places", "events")


def empty_frame(columns) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({c: pd.Series(dtype=object) for c in columns}, geometry=gpd.GeoSeries([], crs=WGS84),
                            crs=WGS84)


def features_on(features: gpd.GeoDataFrame, when, mode: str = timeline.CUMULATIVE) -> gpd.GeoDataFrame:
    """Undated features always; dated ones (events) once their date has come (in period mode,
    only those of the month)."""
    when = timeline.as_timestamp(when)
    shown = features[features["kind"].isin(SHOWN_KINDS) & features.geometry.notna()]
    start = timeline.month_start(when) if mode == timeline.PERIOD else pd.Timestamp.min
    dated = shown["date"].notna()
    return shown[~dated | ((shown["date"] >= start) & (shown["date"] <= when))]


def tracks_until(tracks: pd.DataFrame, when, window_days: int | None = timeline.TRACK_WINDOW_DAYS) -> gpd.GeoDataFrame:
    """Each track's path in the `window_days` before the end of `when`'s day, as the map draws
    it (None: its whole history); a lone point while it has one fix."""
    since, until = timeline.track_window(when, window_days)
    seen = tracks[(tracks["t"] < until) & (tracks["t"] >= since)]
    rows = []
    for track_id, points in seen.groupby("track_id", sort=True):
        points = points.sort_values("t")
        xy = list(zip(points["lon"], points["lat"]))
        rows.append({"track_id": track_id, "name": points["name"].iloc[-1] or track_id,
                     "first": points["t"].iloc[0], "last": points["t"].iloc[-1], "points": len(points),
                     "geometry": LineString(xy) if len(xy) > 1 else Point(xy[0])})
    if not rows:
        return empty_frame(["track_id", "name", "first", "last", "points"])
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=WGS84)


def imported_claims(data, snapshot: Snapshot | None) -> pd.DataFrame:
    """The workspace's claims in the bundled claims' loaded shape (geo.data.claims.complete_imported),
    so the map, panels and exports treat them exactly as bundled ones."""
    like = pd.DataFrame(data.claims.drop(columns="geometry", errors="ignore")).iloc[0:0]
    if snapshot is None:
        return like.assign(source_file=pd.Series(dtype=object))
    mine = snapshot.features[snapshot.features["kind"] == "claims"]
    mine = pd.DataFrame(mine.drop(columns="geometry"))
    if mine.empty:
        return like.assign(source_file=pd.Series(dtype=object))
    for column in ("as_of_date", "statement_date", "reported_date"):
        if column in mine.columns:
            mine[column] = pd.to_datetime(mine[column], errors="coerce").astype("datetime64[s]")
    for column in ("value", "value_high"):
        mine[column] = pd.to_numeric(mine.get(column), errors="coerce")
    mine["route_ids"] = mine["route_ids"].map(
        lambda v: tuple(p.strip() for p in v.split(";") if p.strip()) if isinstance(v, str) else
        tuple(v) if isinstance(v, (list, tuple)) else ())
    text = [c for c in mine.columns if c not in ("as_of_date", "statement_date", "reported_date", "value", "value_high",
                                                 "route_ids")]
    mine[text] = mine[text].astype(object).fillna("").astype(str)  # empty columns arrive as float NaN
    return claims.complete_imported(mine, data.claimants, data.metrics, like)


def last_dates(snapshot: Snapshot | None) -> list:
    """The latest date in each dated part of the workspace, so the date control can reach it."""
    if snapshot is None:
        return []
    dates = [snapshot.fronts["as_of"].max() if len(snapshot.fronts) else None,
             snapshot.tracks["t"].max() if len(snapshot.tracks) else None,
             pd.to_datetime(snapshot.features["date"], errors="coerce").max() if len(snapshot.features) else None]
    today = pd.Timestamp.now().normalize()
    return [min(pd.Timestamp(d), today).date() for d in dates if d is not None and pd.notna(d)]


def with_imported_claims(data, snapshot: Snapshot | None) -> pd.DataFrame:
    """Bundled and imported claims in one table of one shape (imported ones carry their source_file)."""
    base = timeline.plain(data.claims)
    base = base.assign(source_file="") if "source_file" not in base.columns else base
    base = base.assign(images="") if "images" not in base.columns else base  # bundled claims name no image
    mine = imported_claims(data, snapshot)
    if "images" not in mine.columns:
        mine = mine.assign(images="")
    return base if mine.empty else pd.concat([base, mine[base.columns]], ignore_index=True)


def visible(snapshot: Snapshot | None, state: MapState, track_paths: bool = True) -> dict[str, gpd.GeoDataFrame]:
    """Workspace content shown in `state`, by layer id (empty frames for layers that are off).
    Without `track_paths`, tracks are left to the live map's bounded renderer (geo.render.tracks)."""
    out = {}
    if snapshot is None:
        return out
    if "imported" in state.layers:
        out["imported"] = features_on(snapshot.features, state.date, state.mode)
        out["imported-front"] = front_on(snapshot.fronts, state.date)
    if "tracks" in state.layers and track_paths:
        out["tracks"] = tracks_until(snapshot.tracks, state.date)
    return out


NEAR_KM = 1.0  # how close to a bundled place an imported feature is listed in the place's panel


def features_near(frame, lon: float, lat: float, km: float = NEAR_KM) -> list[dict]:
    """The drawn imported features (a frame of visible()'s "imported") within `km` of lon/lat,
    nearest first: what lies under a place's marker, which is drawn over them. Each as
    {line (plain text), sel (its selection, as a click on it gives), name}."""
    if frame is None or not len(frame):
        return []
    here = shapely.Point(lon, lat)
    found = []
    for _, row in frame.iterrows():
        geom = row.geometry
        if geom is None or geom.is_empty:
            continue
        near = shapely.ops.nearest_points(geom, here)[0]
        dlat, dlon = math.radians(near.y - lat), math.radians(near.x - lon)
        a = math.sin(dlat / 2) ** 2 + math.cos(math.radians(lat)) * math.cos(math.radians(near.y)) * \
            math.sin(dlon / 2) ** 2
        distance = 2 * 6371.0088 * math.asin(min(1.0, math.sqrt(a)))
        if distance <= km:
            when = row.get("date")
            when = f", {when:%Y-%m-%d}" if isinstance(when, pd.Timestamp) and pd.notna(when) else ""
            name = str(row.get("name") or "") or "(no name)"
            found.append((distance, {"line": f"{name}: {describe(row)}{when}; {distance * 1000:,.0f} m from here",
                                     "sel": {"kind": "imported", "feature_id": f"ws{row['feature_id']}"},
                                     "name": name}))
    return [f for _, f in sorted(found, key=lambda f: f[0])]


def describe(row) -> str:
    parts = [str(row.get("kind", "")).replace("generic", "imported feature")]
    if str(row.get("description", "") or "").strip() and str(row.get("description")) != "nan":
        parts.append(str(row["description"])[:300])
    parts.append(f"from {row.get('source_file', '')}")
    return "; ".join(p for p in parts if p)


def feature_collection(frame: gpd.GeoDataFrame, rgb, layer_id: str, fill_alpha=70) -> dict:
    features = []
    for _, row in frame.iterrows():
        geom = row.geometry
        if geom is None or geom.is_empty:
            continue
        when = row.get("as_of", row.get("date"))
        when = f"{when:%Y-%m-%d}" if isinstance(when, pd.Timestamp) and pd.notna(when) else ""
        props = tooltip_record("imported", f"ws{row['feature_id']}", row.get("name") or row.get("source_file"),
                               describe(row), "", when)
        colour = rgb
        status = row.get("front_status") if layer_id == "imported-front" else None
        if isinstance(status, str) and status:
            colour = STATUS_RGB.get(status, OTHER_STATUS_RGB)
            props["detail"] = f"{status}; {props.get('detail', '')}".rstrip("; ")
        alpha = fill_alpha
        if layer_id == "imported" and geom.geom_type in ("Point", "MultiPoint"):  # as the legend shows them
            alpha = DATED_POINT_ALPHA if when else 0  # a solid dot for an event, a ring for an undated point
        props.update(layer=layer_id, fill=rgba(colour, alpha), line=rgba(colour, 230), line_width=2)
        features.append({"type": "Feature", "geometry": mapping(shapely.set_precision(geom, 1e-5)),
                         "properties": props})
    return {"type": "FeatureCollection", "features": features}


def track_records(tracks: gpd.GeoDataFrame) -> list[dict]:
    rows = []
    for t in tracks.itertuples():
        coords = [[round(x, 5), round(y, 5)] for x, y in t.geometry.coords]
        rec = tooltip_record("track", str(t.track_id), t.name, f"{t.points} position(s)", "",
                             f"{t.first:%Y-%m-%d %H:%M} to {t.last:%Y-%m-%d %H:%M} UTC")
        rec.update(path=coords if len(coords) > 1 else coords * 2, width=2, color=rgba(TRACK_RGB, 220))
        rows.append(rec)
    return rows






