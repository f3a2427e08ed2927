"""The workspace on the map: what of the analyst's own data shows on a date, and its layers.

Pure functions from a workspace Snapshot (geo.workspace) and a MapState: the app draws
them live and the exports draw the very same records. Records follow geo.layers' tooltip
convention (name, detail, claimant, when, kind, feature_id, place_id).

Layer ids: `imported` (points, lines and areas of every kind but claims and fronts) and
`imported-front` (the latest front snapshot on or before the date) are drawn when
`imported` is among the state's layers; `tracks` (each track up to the date, as a path)
when `tracks` is.
"""
from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pydeck as pdk
import shapely
from shapely.geometry import LineString, Point, mapping

from geo import style, timeline
from geo.layers import FLAT, MapState, rgba, tooltip_record
from geo.workspace import Snapshot, front_on

IMPORTED_RGB = style.OKABE_ITO["sky"]
FRONT_RGB = style.OKABE_ITO["blue"]
TRACK_RGB = (70, 70, 70)
SHOWN_KINDS = ("generic", "places", "events")
WGS84 = "EPSG:4326"


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


TRACK_WINDOW_DAYS = 31  # the map draws each track's last month (geo.tracks.track_layers)


def tracks_until(tracks: pd.DataFrame, when, window_days: int | None = TRACK_WINDOW_DAYS) -> gpd.GeoDataFrame:
    """Each track's path in the `window_days` before the end of `when`'s day, as the map draws
    it (None: its whole history); a lone point while it has one fix."""
    until = timeline.as_timestamp(when) + pd.Timedelta(days=1)
    since = until - pd.Timedelta(days=window_days) if window_days else pd.Timestamp.min
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


def claims(snapshot: Snapshot | None, like: pd.DataFrame) -> pd.DataFrame:
    """Imported claims shaped like the bundled claims table `like` (without geometry), so the
    map, panels and exports treat them exactly as bundled ones."""
    columns = [c for c in like.columns if c not in ("geometry", "source_file")]
    if snapshot is None:
        return pd.DataFrame(columns=columns)
    mine = snapshot.features[snapshot.features["kind"] == "claims"]
    mine = pd.DataFrame(mine.drop(columns="geometry")).reindex(columns=columns + ["source_file"])
    for column in ("as_of_date", "reported_date"):
        mine[column] = pd.to_datetime(mine[column], errors="coerce").astype("datetime64[s]")
    for column in ("value", "value_high"):
        mine[column] = pd.to_numeric(mine[column], errors="coerce")
    mine["route_ids"] = mine["route_ids"].map(
        lambda v: tuple(p.strip() for p in v.split(";") if p.strip()) if isinstance(v, str) else
        tuple(v) if isinstance(v, (list, tuple)) else ())
    text = [c for c in columns if c not in ("as_of_date", "reported_date", "value", "value_high", "route_ids")]
    mine[text] = mine[text].astype(object).fillna("").astype(str)  # empty columns arrive as float NaN
    return mine


def last_dates(snapshot: Snapshot | None) -> list:
    """The latest date in each dated part of the workspace, so the date control can reach it."""
    if snapshot is None:
        return []
    dates = [snapshot.fronts["as_of"].max() if len(snapshot.fronts) else None,
             snapshot.tracks["t"].max() if len(snapshot.tracks) else None,
             pd.to_datetime(snapshot.features["date"], errors="coerce").max() if len(snapshot.features) else None]
    today = pd.Timestamp.now().normalize()
    return [min(pd.Timestamp(d), today).date() for d in dates if d is not None and pd.notna(d)]


def with_imported_claims(claims_frame: pd.DataFrame, snapshot: Snapshot | None) -> pd.DataFrame:
    """Bundled and imported claims in one table (imported ones carry their source_file)."""
    base = timeline.plain(claims_frame)
    if "source_file" in base.columns:  # already joined (the app passes its merged table): join once
        base = base[base["source_file"].fillna("") == ""]
    base = base.assign(source_file="")
    mine = claims(snapshot, base)
    return base if mine.empty else pd.concat([base, mine[base.columns]], ignore_index=True)


def visible(snapshot: Snapshot | None, state: MapState) -> dict[str, gpd.GeoDataFrame]:
    """Workspace content shown in `state`, by layer id (empty frames for layers that are off)."""
    out = {}
    if snapshot is None:
        return out
    if "imported" in state.layers:
        out["imported"] = features_on(snapshot.features, state.date, state.mode)
        out["imported-front"] = front_on(snapshot.fronts, state.date)
    if "tracks" in state.layers:
        out["tracks"] = tracks_until(snapshot.tracks, state.date)
    return out


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
        props.update(layer=layer_id, fill=rgba(rgb, fill_alpha), line=rgba(rgb, 230), line_width=2)
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


def geojson_layer(layer_id: str, features: dict) -> pdk.Layer:
    return pdk.Layer("GeoJsonLayer", id=layer_id, data=features, pickable=True, auto_highlight=True,
                     stroked=True, filled=True, get_fill_color="properties.fill", get_line_color="properties.line",
                     get_line_width="properties.line_width", line_width_units="'pixels'", point_type="'circle'",
                     get_point_radius=5, point_radius_units="'pixels'", parameters=FLAT)


def imported_layers(shown: dict[str, gpd.GeoDataFrame]) -> list[pdk.Layer]:
    """pydeck layers for visible(), for geo.layers.view_layers' `extra` (drawn over the legs' click
    bands, under the legs and places)."""
    out = []
    if "imported-front" in shown and len(shown["imported-front"]):
        out.append(geojson_layer("imported-front", feature_collection(shown["imported-front"], FRONT_RGB,
                                                                      "imported-front", 60)))
    if "imported" in shown and len(shown["imported"]):
        out.append(geojson_layer("imported", feature_collection(shown["imported"], IMPORTED_RGB, "imported")))
    if "tracks" in shown and len(shown["tracks"]):
        out.append(pdk.Layer("PathLayer", id="tracks", data=track_records(shown["tracks"]), pickable=True,
                             auto_highlight=True, get_path="path", get_width="width", width_units="'pixels'",
                             get_color="color", joint_rounded=True, cap_rounded=True, parameters=FLAT))
    return out


def legend_entries(shown: dict[str, gpd.GeoDataFrame]) -> list:
    """Legend rows for the workspace layers that draw something (see imported_layers)."""
    from geo.view import LegendEntry
    entries = []
    if len(shown.get("imported-front", ())):
        as_of = pd.Timestamp(shown["imported-front"]["as_of"].max())
        entries.append(LegendEntry("area", FRONT_RGB, "imported front line", as_of=f"{as_of:%Y-%m-%d}"))
    if len(shown.get("imported", ())):
        entries.append(LegendEntry("area", IMPORTED_RGB, "imported feature (your files)"))
    if len(shown.get("tracks", ())):
        entries.append(LegendEntry("line", TRACK_RGB, "imported track", width="sized"))
    return entries
