"""pydeck layers for a map state: pure functions from the dataset to a deck spec.

Every layer has an explicit id (the names used in the `layers` URL parameter; helper
layers add a suffix), data is passed as plain records with no NaN and no timestamps,
and every pickable record carries the same four text fields (name, detail, claimant,
when) that the one global tooltip template reads, plus kind / feature_id / place_id
for the evidence panel.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field

import pandas as pd
import pydeck as pdk
import shapely
from pydeck.bindings.json_tools import default_serialize
from shapely.geometry import box, mapping

from geo import style, timeline
from geo.evidence import Filters, format_range, format_value

DEFAULT_LAYERS = ("basemap", "places", "routes", "flows", "railcars", "factories", "front", "strikes", "events")
PATH_STYLE = {"@@type": "PathStyleExtension", "dash": True, "highPrecisionDash": True}


@dataclass(frozen=True)
class MapState:
    """What the map shows: a date (the end of the selected month), what to count, which layers, from where."""

    date: pd.Timestamp
    mode: str = timeline.CUMULATIVE
    layers: tuple[str, ...] = DEFAULT_LAYERS
    view: str = "overview"
    present: bool = False
    filters: Filters = field(default_factory=Filters)


class CompactDeck(pdk.Deck):
    """A Deck that serialises without indentation and refuses NaN.

    Streamlit sends to_json() to the browser on every rerun; pydeck's default indent=2
    roughly doubles the payload, and a NaN would make the browser's JSON.parse fail.
    """

    def to_json(self):
        return json.dumps(self, sort_keys=True, default=default_serialize, separators=(",", ":"), allow_nan=False)


def rgba(rgb, alpha=255) -> list[int]:
    return [int(c) for c in rgb[:3]] + [int(alpha)]


def tooltip_record(kind, feature_id, name, detail="", claimant="", when="", place_id="") -> dict:
    return {"kind": kind, "feature_id": feature_id, "place_id": place_id or "", "name": str(name),
            "detail": str(detail), "claimant": str(claimant), "when": str(when)}


def path_coords(geom, ndigits=4) -> list[list[float]]:
    return [[round(x, ndigits), round(y, ndigits)] for x, y in geom.coords]


# --- basemap ---------------------------------------------------------------------------------------

def land_borders(geoms) -> list:
    """Lines shared by two neighbouring countries. Coasts need no stroke (land meets the sea
    colour), and clip-box edges, which are not borders, never appear."""
    geoms = list(geoms)
    tree = shapely.STRtree(geoms)
    lines = []
    for i, j in zip(*tree.query(geoms, predicate="intersects")):
        if i < j:
            shared = shapely.line_merge(shapely.intersection(geoms[i].boundary, geoms[j].boundary))
            if not shared.is_empty and shared.length > 0:
                lines.append(shared)
    return lines


def basemap_features(countries, detail, palette: style.Palette) -> dict:
    """The overview countries, with the 1:10m Tumen clip replacing them inside its box when
    `detail` is given, as one FeatureCollection of fills plus land-border lines.

    Both come from the same Natural Earth file, so they meet without seams at the box edge.
    The detail costs ~80 KB a rerun, so the app sends it only to views that zoom in that far.
    """
    # 0.01 degrees (about 1 km) is below a pixel at every overview preset; the detail keeps 1e-4.
    parts = [(countries.geometry, countries["iso3"], 1e-2)]
    if detail is not None:
        detail_box = box(*detail.total_bounds)
        parts = [([g.difference(detail_box) for g in countries.geometry], countries["iso3"], 1e-2),
                 (detail.geometry, detail["iso3"], 1e-4)]
    features = [{"type": "Feature", "geometry": mapping(box(*countries.total_bounds)),
                 "properties": {"fill": rgba(palette.sea)}}]
    for geoms, iso3s, grid in parts:
        geoms = [shapely.set_precision(g, grid) for g in geoms]
        for geom, iso3 in zip(geoms, iso3s):
            if not geom.is_empty:
                features.append({"type": "Feature", "geometry": mapping(geom), "properties": {
                    "fill": list(palette.land_focus.get(iso3, palette.land))}})
        for line in land_borders([g for g in geoms if not g.is_empty]):
            features.append({"type": "Feature", "geometry": mapping(line), "properties": {
                "fill": [0, 0, 0, 0]}})
    return {"type": "FeatureCollection", "features": features}


def basemap_layer(features: dict, palette: style.Palette) -> pdk.Layer:
    return pdk.Layer("GeoJsonLayer", id="basemap", data=features, pickable=False, stroked=False, filled=True,
                     get_fill_color="properties.fill", get_line_color=list(palette.border),
                     line_width_min_pixels=1, line_width_units="'pixels'")


# --- places ----------------------------------------------------------------------------------------

def place_records(places) -> list[dict]:
    rows = []
    for p in places.itertuples():
        approx = "" if p.precision == "exact" else f" (location {p.precision})"
        rec = tooltip_record("place", p.id, p.name, p.kind.replace("_", " ") + approx, "", "", p.id)
        anchor, offset = style.LABEL_PLACEMENT.get(p.id, ("middle", [0, -10]))
        rec.update(position=[round(p.lon, 4), round(p.lat, 4)], label=p.name.split(" (")[0].split(",")[0],
                   anchor=anchor, offset=offset,
                   radius=6 if p.kind in ("crossing", "port", "rail_station", "depot") else 4)
        rows.append(rec)
    return rows


def places_layers(places, view: style.View, palette: style.Palette) -> list[pdk.Layer]:
    rows = place_records(places)
    labelled = [{k: r[k] for k in ("label", "position", "anchor", "offset")} for r in rows
                if view.labels is None or r["feature_id"] in view.labels]
    return [
        pdk.Layer("ScatterplotLayer", id="places", data=rows, pickable=True, get_position="position",
                  get_radius="radius", radius_units="'pixels'", get_fill_color=rgba((255, 255, 255)),
                  get_line_color=rgba(palette.text[:3]), stroked=True, line_width_min_pixels=1.5),
        pdk.Layer("TextLayer", id="places-labels", data=labelled, pickable=False, get_position="position",
                  get_text="label", get_size=palette.label_size, size_units="'pixels'",
                  get_color=list(palette.text), background=True, get_background_color=list(palette.text_outline),
                  background_padding=[3, 1], get_pixel_offset="offset", get_text_anchor="anchor",
                  get_alignment_baseline="'bottom'",
                  font_family="'sans-serif'"),
    ]


# --- routes and flows ------------------------------------------------------------------------------

def metric_peaks(claims) -> dict[str, float]:
    """The largest figure ever claimed per metric: widths scale against it, so growth over time shows."""
    highs = claims["value_high"].fillna(claims["value"])
    return highs.groupby(claims["metric"]).max().to_dict()


def width_for(value: float, peak: float, scale: float) -> float:
    if pd.isna(value) or not peak:
        return style.NO_VOLUME_WIDTH * scale
    share = math.sqrt(max(value, 0) / peak)
    return round((style.MIN_WIDTH + (style.MAX_WIDTH - style.MIN_WIDTH) * share) * scale, 2)


def volume_text(v) -> tuple[str, str, str]:
    if v.n_claimants == 0:
        return "no reported volume", "", ""
    spread = f" ({v.n_claimants} claimants disagree)" if v.n_claimants > 1 and v.value_low != v.value_high else ""
    return (format_range(v.value_low, v.value_high, v.unit) + spread, v.claimants,
            f"latest as of {v.latest_as_of:%Y-%m-%d}")


def route_records(routes, claims, state: MapState, palette: style.Palette) -> list[dict]:
    active = timeline.routes_on(routes, state.date)
    volumes = timeline.route_volumes(active, claims, state.date, state.mode).set_index("id")
    peaks = metric_peaks(claims)
    rows = []
    for r in active.itertuples():
        v = volumes.loc[r.id]
        detail, claimant, when = volume_text(v)
        detail = f"{r.mode}, {r.status}: {detail}"
        rec = tooltip_record("route", r.id, r.name, detail, claimant, when)
        rec.update(path=path_coords(r.geometry), status=r.status,
                   color=rgba(palette.mode[r.mode], 235 if r.status == "reported" else 190),
                   width=width_for(v.value_low, peaks.get(r.volume_metric), palette.line_scale),
                   width_high=width_for(v.value_high, peaks.get(r.volume_metric), palette.line_scale),
                   dash=list(style.DASH[r.status]), has_volume=bool(v.n_claimants))
        rows.append(rec)
    # deck.gl draws (and picks) later records on top: legs that carry figures win where legs share track.
    return sorted(rows, key=lambda rec: (rec["has_volume"], rec["width"]))


def routes_layers(rows: list[dict]) -> list[pdk.Layer]:
    """A translucent band for the highest claim under a line for the lowest: disagreement stays visible."""
    band = [dict(r, color=r["color"][:3] + [70]) for r in rows if r["width_high"] > r["width"]]
    return [
        pdk.Layer("PathLayer", id="routes-range", data=band, pickable=False, get_path="path",
                  get_width="width_high", width_units="'pixels'", get_color="color", cap_rounded=True,
                  joint_rounded=True),
        pdk.Layer("PathLayer", id="routes", data=rows, pickable=True, auto_highlight=True, get_path="path",
                  get_width="width", width_units="'pixels'", width_min_pixels=1, get_color="color",
                  get_dash_array="dash", dash_justified=True, extensions=[PATH_STYLE],
                  parameters={"depthCompare": "always"}),  # painter's order, so picking follows draw order
    ]


def flow_records(flows, claims, state: MapState, palette: style.Palette) -> list[dict]:
    volumes = timeline.route_volumes(flows, claims, state.date, state.mode).set_index("id")
    peaks = metric_peaks(claims)
    rows = []
    for f in flows.itertuples():
        v = volumes.loc[f.id]
        if v.n_claimants == 0:
            continue  # a summary arc appears once a claim gives it a size
        detail, claimant, when = volume_text(v)
        rec = tooltip_record("flow", f.id, f.name, detail, claimant, when)
        (x0, y0), (x1, y1) = f.geometry.coords
        rec.update(source=[round(x0, 4), round(y0, 4)], target=[round(x1, 4), round(y1, 4)],
                   width=round(width_for(v.value_low, peaks.get(f.volume_metric), palette.line_scale) / 2, 2),
                   color=rgba(palette.family[f.family], 170))
        rows.append(rec)
    return rows


def flows_layer(rows: list[dict]) -> pdk.Layer:
    return pdk.Layer("ArcLayer", id="flows", data=rows, pickable=True, auto_highlight=True,
                     get_source_position="source", get_target_position="target", get_width="width",
                     width_units="'pixels'", get_source_color="color", get_target_color="color",
                     get_height=0.12, get_tilt=-90)


# --- dated points: railcars, strikes, events --------------------------------------------------------

def railcar_records(claims, places, state: MapState) -> list[dict]:
    sightings = claims[claims["metric"].isin(["railcars_observed_tumangang", "railcars_observed_khasan"])]
    standing = timeline.latest_per_claimant(sightings, state.date, state.mode)
    # One marker per place: the latest sighting there, whoever made it.
    standing = standing.sort_values(["as_of_date", "id"]).groupby("place_id").tail(1)
    where = places.set_index("id")
    rows = []
    for c in standing.itertuples():
        p = where.loc[c.place_id]
        rec = tooltip_record("railcars", c.id, f"Railcars at {p['name']}",
                             format_value(c.value, c.value_high, c.qualifier, c.unit) + " seen in imagery",
                             c.claimant, f"seen {c.as_of_date:%Y-%m-%d}", c.place_id)
        rec.update(position=[round(p.lon, 4), round(p.lat, 4)], radius=round(5 + 1.6 * math.sqrt(c.value), 1))
        rows.append(rec)
    return rows


def railcars_layer(rows, palette: style.Palette) -> pdk.Layer:
    return pdk.Layer("ScatterplotLayer", id="railcars", data=rows, pickable=True, get_position="position",
                     get_radius="radius", radius_units="'pixels'", stroked=True, line_width_min_pixels=2,
                     get_fill_color=rgba(palette.mode["rail"], 90), get_line_color=rgba(palette.mode["rail"]))


def event_records(events, state: MapState, strikes: bool) -> list[dict]:
    shown = timeline.events_until(events[events["place_id"] != ""], state.date, state.mode)
    shown = shown[(shown["kind"] == "strike") == strikes]
    month = timeline.month_start(state.date)
    rows = []
    for e in shown.sort_values("date").itertuples():
        recent = e.date >= month
        rec = tooltip_record("strike" if strikes else "event", e.id, e.title, e.description, "",
                             f"{e.date:%Y-%m-%d}", e.place_id)
        x, y = e.geometry.x, e.geometry.y
        rec.update(position=[round(x, 4), round(y, 4)], radius=9 if recent else 6, recent=recent)
        rows.append(rec)
    return rows


def points_layer(layer_id, rows, rgb, palette: style.Palette) -> pdk.Layer:
    return pdk.Layer("ScatterplotLayer", id=layer_id, data=rows, pickable=True, get_position="position",
                     get_radius="radius", radius_units="'pixels'", stroked=True, line_width_min_pixels=1.5,
                     get_fill_color=rgba(rgb, 220), get_line_color=rgba(palette.text[:3]))


# --- areas -----------------------------------------------------------------------------------------

def area_features(areas, kind: str, state: MapState, rgb) -> dict:
    shown = timeline.areas_on(areas[areas["kind"] == kind], state.date)
    features = []
    for a in shown.itertuples():
        until = f"{a.valid_to:%Y-%m-%d}" if pd.notna(a.valid_to) else "still valid"
        detail = f"approximate outline; {a.plants}" if a.plants else "approximate outline"
        props = tooltip_record("area", a.id, a.name, detail, "", f"{a.valid_from:%Y-%m-%d} to {until}",
                               a.place_id)
        props.update(fill=rgba(rgb, 70), line=rgba(rgb, 230))
        features.append({"type": "Feature", "geometry": mapping(shapely.set_precision(a.geometry, 1e-4)),
                         "properties": props})
    return {"type": "FeatureCollection", "features": features}


def area_layer(layer_id, features: dict) -> pdk.Layer:
    return pdk.Layer("GeoJsonLayer", id=layer_id, data=features, pickable=True, auto_highlight=True,
                     stroked=True, filled=True, get_fill_color="properties.fill",
                     get_line_color="properties.line", line_width_min_pixels=2, line_width_units="'pixels'")


# --- the deck --------------------------------------------------------------------------------------

def tooltip(palette: style.Palette) -> dict:
    size = "18px" if palette.name == "presenter" else "13px"
    return {"html": "<b>{name}</b><br/>{detail}<br/><i>{claimant}</i><br/>{when}",
            "style": {"fontSize": size, "maxWidth": "360px", "backgroundColor": "rgba(20,20,20,0.92)",
                      "color": "white", "whiteSpace": "normal"}}


def build_layers(data, state: MapState, basemap: dict) -> list[pdk.Layer]:
    palette = style.palette(state.present)
    claims = state.filters.apply(data.claims)
    builders = {
        "basemap": lambda: [basemap_layer(basemap, palette)],
        "front": lambda: [area_layer("front", area_features(data.areas, "front", state, style.OKABE_ITO["blue"]))],
        "factories": lambda: [area_layer("factories", area_features(
            data.areas, "factory_region", state, style.OKABE_ITO["orange"]))],
        "routes": lambda: routes_layers(route_records(data.routes, claims, state, palette)),
        "flows": lambda: [flows_layer(flow_records(data.flows, claims, state, palette))],
        "railcars": lambda: [railcars_layer(railcar_records(claims, data.places, state), palette)],
        "events": lambda: [points_layer("events", event_records(data.events, state, strikes=False),
                                        style.OKABE_ITO["yellow"], palette)],
        "strikes": lambda: [points_layer("strikes", event_records(data.events, state, strikes=True),
                                         style.OKABE_ITO["vermillion"], palette)],
        "places": lambda: places_layers(data.places, style.VIEWS[state.view], palette),
    }
    # Drawing order, bottom to top; the order in state.layers does not matter.
    order = ("basemap", "front", "factories", "routes", "flows", "railcars", "events", "strikes", "places")
    return [layer for layer_id in order if layer_id in state.layers for layer in builders[layer_id]()]


def build_deck(data, state: MapState, basemap: dict) -> CompactDeck:
    view = style.VIEWS[state.view]
    # The presenter's map is about 1.4 times wider (no sidebar): zoom in to frame the same area.
    zoom = view.zoom + (style.PRESENTER_ZOOM if state.present else 0)
    return CompactDeck(
        layers=build_layers(data, state, basemap),
        initial_view_state=pdk.ViewState(longitude=view.longitude, latitude=view.latitude, zoom=zoom,
                                         pitch=view.pitch, bearing=0),
        views=[pdk.View(type="MapView", controller=True)],
        map_provider=None,
        tooltip=tooltip(style.palette(state.present)),
    )
