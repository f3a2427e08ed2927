"""The legend: exactly the symbols a view draws, bundled and imported, nothing else."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import shapely
from shapely.geometry import shape

from geo import style
from geo.view.overlay import FRONT_RGB, IMPORTED_RGB, OTHER_STATUS_RGB, STATUS_RGB, TRACK_RGB

FAMILY_LABELS = {"munitions": "munitions", "missiles": "missiles", "troops": "troops", "money": "money",
                 "rail": "rail", "sea": "sea", "industry": "industry", "reverse": "goods to North Korea"}


@dataclass(frozen=True)
class LegendEntry:
    """One symbol the map draws: its shape, colour, dash and width class, and what it means."""

    symbol: str  # line, band, arc, ring, dot, marker, area; gap and detection (geo.view.ships)
    rgb: tuple[int, int, int]
    label: str
    dashed: bool = False
    width: str = ""  # line widths: "hairline" (no reported volume) or "sized" (by volume)
    as_of: str = ""  # an imported front snapshot's date (geo.view.fronts)


def legend_entries(view, palette: style.Palette) -> list[LegendEntry]:
    """Exactly the symbols the view's records are drawn with, in drawing order, nothing else."""
    entries: list[LegendEntry] = []

    def add(entry: LegendEntry):
        if entry not in entries:
            entries.append(entry)

    routes = view.features("routes")
    for r in sorted(routes, key=lambda r: (r["mode"], r["status"] != "reported", not r["has_volume"])):
        words = [r["mode"]] + ([] if r["status"] == "reported" else ["inferred routing"]) + \
                ([] if r["has_volume"] else ["no volume yet"])
        add(LegendEntry("line", tuple(r["color"][:3]), ", ".join(words), dashed=r["status"] != "reported",
                        width="sized" if r["has_volume"] else "hairline"))
    for r in routes:
        if r["width_high"] > r["width"]:
            add(LegendEntry("band", tuple(r["band_color"][:3]), f"{r['mode']}: highest claim"))
    for f in view.features("flows"):
        add(LegendEntry("arc", tuple(f["color"][:3]),
                        f"arc: {FAMILY_LABELS.get(f['family'], f['family'])} flow"))
    if view.features("railcars"):
        add(LegendEntry("ring", tuple(palette.mode["rail"]), "railcars in imagery"))
    strikes = view.features("strikes")
    if strikes:
        drone = any("drone" in f"{r['name']} {r['detail']}".lower() for r in strikes)
        add(LegendEntry("dot", style.OKABE_ITO["vermillion"], "missile or drone strike" if drone else "missile strike"))
    if view.features("events"):
        add(LegendEntry("dot", style.OKABE_ITO["yellow"], "other event"))
    if view.features("factories"):
        add(LegendEntry("area", style.OKABE_ITO["orange"], "factory region (approx.)"))
    if view.features("front"):
        add(LegendEntry("area", style.OKABE_ITO["blue"], "front area (approx.)"))
    if "places" in view.state.layers:
        add(LegendEntry("marker", (255, 255, 255), "place"))
    return entries



def workspace_entries(shown: dict) -> list[LegendEntry]:
    """Legend rows for the workspace layers that draw something (geo.view.overlay.visible)."""
    entries = []
    fronts = shown.get("imported-front", ())
    if len(fronts):  # a front export split by status draws each status in its own colour
        as_of = f"{pd.Timestamp(fronts['as_of'].max()):%Y-%m-%d}"
        statuses = fronts["front_status"] if "front_status" in fronts.columns else pd.Series([], dtype=object)
        if statuses.isna().any() or not len(statuses):
            entries.append(LegendEntry("area", FRONT_RGB, "imported front line", as_of=as_of))
        for status in sorted({s for s in statuses.dropna() if isinstance(s, str) and s}):
            entries.append(LegendEntry("area", STATUS_RGB.get(status, OTHER_STATUS_RGB), f"imported front: {status}",
                                       as_of=as_of))
    for shape in imported_shapes(shown.get("imported", ())):
        entries.append(IMPORTED_ENTRIES[shape])
    if len(shown.get("tracks", ())):
        entries.append(LegendEntry("line", TRACK_RGB, "imported track", width="sized"))
    return entries


# How each shape of an analyst's own features is drawn (geo.view.overlay.feature_collection), in
# the legend's order: a dated point (an event) as a solid dot, an undated one as a ring, so the two
# read apart; lines as thin lines, areas filled.
IMPORTED_ENTRIES = {
    "dated point": LegendEntry("dot", IMPORTED_RGB, "imported dated point (your files)"),
    "point": LegendEntry("ring", IMPORTED_RGB, "imported point (your files)"),
    "line": LegendEntry("line", IMPORTED_RGB, "imported line (your files)", width="hairline"),
    "area": LegendEntry("area", IMPORTED_RGB, "imported area (your files)"),
}


def imported_shape(geometry, date) -> str:
    """Which of IMPORTED_ENTRIES a feature is drawn as."""
    kind = getattr(geometry, "geom_type", "")
    if kind in ("Point", "MultiPoint"):
        return "dated point" if date is not None and pd.notna(date) else "point"
    if kind in ("LineString", "MultiLineString", "LinearRing"):
        return "line"
    return "area"


def imported_shapes(frame) -> list[str]:
    """The shapes of IMPORTED_ENTRIES that `frame` (the workspace's features on the map) draws."""
    if not len(frame):
        return []
    dates = frame["date"] if "date" in frame.columns else [None] * len(frame)
    found = {imported_shape(g, d) for g, d in zip(frame.geometry, dates) if g is not None and not g.is_empty}
    return [shape for shape in IMPORTED_ENTRIES if shape in found]


def notes(entries) -> list[str]:
    """The legend's notes under its rows, for the symbols it lists (an analyst's dots are not sized)."""
    symbols = {e.symbol for e in entries}
    sized_dots = any(e.symbol == "dot" and not e.label.startswith("imported") for e in entries)
    return (["Line width: lowest standing claim; pale band: highest.", "Dashed: routing inferred."]
            if symbols & {"line", "band"} else []) + (["Larger dots: this month."] if sized_dots else [])


# --- what a map's visible extent draws -------------------------------------------------------------

def drawn_inside(record: dict, area) -> bool:
    """Whether a record of a layer draws anything inside `area` (a shapely box in lon/lat): a leg or
    arc along its path, a dot at its position, an area (a GeoJSON feature) anywhere in its outline."""
    if "geometry" in record and isinstance(record.get("properties"), dict):
        return bool(record["geometry"]) and shape(record["geometry"]).intersects(area)
    if record.get("path"):
        path = np.asarray(record["path"], float).reshape(-1, 2)
        return bool(shapely.intersects(shapely.linestrings(path) if len(path) > 1 else shapely.points(path[0]), area))
    if record.get("position") is not None:
        return bool(shapely.intersects(shapely.points(*record["position"][:2]), area))
    return True  # a record with no place of its own stands for the layer as a whole


def records_within(records: dict, area) -> dict:
    """A view's records (layer id -> list, or FeatureCollection) with only those drawn inside `area`."""
    out = {}
    for layer_id, rows in records.items():
        if isinstance(rows, dict):
            out[layer_id] = {**rows, "features": [f for f in rows.get("features", []) if drawn_inside(f, area)]}
        else:
            out[layer_id] = [r for r in rows if drawn_inside(r, area)]
    return out


def frame_within(frame, area):
    """The rows of a workspace frame drawn inside `area`: by geometry, else by their lon/lat (a
    detection by either end), else all of them."""
    if frame is None or not len(frame):
        return frame
    if "geometry" in getattr(frame, "columns", ()):
        geoms = np.asarray(frame.geometry, dtype=object)
        keep = np.array([g is not None and not g.is_empty and g.intersects(area) for g in geoms], dtype=bool)
        return frame[keep]
    if {"lon", "lat"} <= set(frame.columns):
        keep = np.zeros(len(frame), dtype=bool)
        for lon, lat in (("lon", "lat"), ("end_lon", "end_lat")):
            if lon in frame.columns:
                xs = pd.to_numeric(frame[lon], errors="coerce").to_numpy(float)
                ys = pd.to_numeric(frame[lat], errors="coerce").to_numpy(float)
                ok = ~(np.isnan(xs) | np.isnan(ys))
                keep[ok] |= shapely.intersects(shapely.points(xs[ok], ys[ok]), area)
        return frame[keep]
    return frame


def same_symbol(entry: LegendEntry):
    """What identifies a legend row whatever its words: an imported front's row is reworded when its
    snapshot stands in for the approximate areas (geo.view.fronts.legend)."""
    return (entry.symbol, entry.rgb, entry.as_of) if entry.as_of else entry
