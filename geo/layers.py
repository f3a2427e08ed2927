"""pydeck layers for a map state: pure functions from the dataset to a deck spec.

Every layer has an explicit id (the names used in the `layers` URL parameter; helper
layers add a suffix), data is passed as plain records with no NaN and no timestamps,
and every pickable record carries the same four text fields (name, detail, claimant,
when) that the one global tooltip template reads, plus kind / feature_id / place_id
for the evidence panel.
"""
from __future__ import annotations

import hashlib
import importlib.util
import json
import math
import secrets
import sys
from functools import cached_property
from dataclasses import dataclass, field

import pandas as pd
import pydeck as pdk
import shapely
from pydeck.bindings.json_tools import default_serialize
from shapely.geometry import box, mapping

from geo import labels, railways, screenlines, style, timeline
from geo.evidence import Filters, format_range, format_value, headline_standing

# Every pydeck Deck() tries to import its Jupyter widget, and without ipywidgets that import
# fails and is retried from disk each time (~3 ms a deck). A None entry makes it fail at once.
if importlib.util.find_spec("ipywidgets") is None:
    sys.modules.setdefault("pydeck.widget", None)

DEFAULT_LAYERS = ("basemap", "places", "routes", "flows", "railcars", "factories", "front", "strikes", "events")
# Every layer draws in painter's order (the map is flat), and every path reads its width and
# colour per record. Software WebGL builds one pipeline per program, depth state and
# vertex-input layout, about a second each at the first frame, and a constant accessor is a
# layout of its own: with one layout per program the first frame builds a handful, not a dozen.
FLAT = {"depthCompare": "always"}


@dataclass(frozen=True)
class MapState:
    """What the map shows: a date (the end of the selected month), what to count, which layers, from where."""

    date: pd.Timestamp
    mode: str = timeline.CUMULATIVE
    layers: tuple[str, ...] = DEFAULT_LAYERS
    view: str = "overview"
    present: bool = False
    filters: Filters = field(default_factory=Filters)
    group_by: str = "organisation"  # headline claimants: each organisation, or one voice per government
    focus: tuple[str, ...] = ()  # place ids the camera must frame (a presenter's scene), instead of the preset
    topic: str = ""  # the headline figure that leads (a presenter's scene)


def defuse(value):
    """Layer data with every string that deck.gl would not read as text made plain.

    deck.gl's JSON converter reads any string in the spec, data included, that starts with
    "@@=" as an expression and "@@#" as a constant lookup, and any object with an "@@type" or
    "@@function" key as a class or a call: a name like that from a file would become code or
    stop the map from drawing. A zero-width space in front keeps it text, looking the same.
    Coordinate lists are passed through untouched (they hold only numbers).
    """
    if isinstance(value, str):
        return "\u200b" + value if value.startswith("@@") else value
    if isinstance(value, dict):
        return {defuse(k): defuse(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        first = value[0] if len(value) else None
        if isinstance(first, (int, float)) or (
                isinstance(first, (list, tuple)) and first and isinstance(first[0], (int, float))):
            return value
        return [defuse(v) for v in value]
    return value


def layer_spec(o):
    """pydeck's serialiser, with layer data defused."""
    spec = default_serialize(o)
    if isinstance(o, pdk.Layer) and "data" in spec:
        spec["data"] = defuse(spec["data"])
    return spec


def compact_json(o) -> str:
    return json.dumps(o, sort_keys=True, default=layer_spec, separators=(",", ":"), allow_nan=False)


class FrozenLayer:
    """A layer that no date step changes (the basemap, the place markers and labels),
    serialised once and spliced into every deck that shows it.

    Its id gains a digest of its content and the browser is told to treat its data as
    unchanged between reruns (dataComparator), so deck.gl keeps what it parsed and
    tessellated instead of redoing it on every date step; other content means another id,
    hence a fresh layer. `id`, `type` and `data` are the layer's own, for callers that look.
    """

    def __init__(self, layer: pdk.Layer):
        self.id, self.type, self.data = layer.id, layer.type, layer.data
        spec = json.loads(compact_json(layer))
        digest = hashlib.blake2b(compact_json(spec).encode(), digest_size=5).hexdigest()
        spec.update(id=f"{layer.id}#{digest}", dataComparator="@@=true")
        self.json = compact_json(spec)


def layer_name(layer_id: str) -> str:
    """The layer's name in a deck spec's id: a frozen layer's id carries '#digest'."""
    return layer_id.split("#", 1)[0]


class CompactDeck(pdk.Deck):
    """A Deck that serialises without indentation, refuses NaN, defuses data strings and
    splices in frozen layers as they are.

    Streamlit sends to_json() to the browser on every rerun; pydeck's default indent=2
    roughly doubles the payload, and a NaN would make the browser's JSON.parse fail.
    """

    def to_json(self):
        frozen, token = {}, secrets.token_hex(8)

        def encode(o):
            if isinstance(o, FrozenLayer):
                key = f"@@frozen-{token}-{len(frozen)}"
                frozen[key] = o.json
                return key
            return layer_spec(o)

        text = json.dumps(self, sort_keys=True, default=encode, separators=(",", ":"), allow_nan=False)
        for key, body in frozen.items():
            text = text.replace(f'"{key}"', body, 1)
        return text


def rgba(rgb, alpha=255) -> list[int]:
    return [int(c) for c in rgb[:3]] + [int(alpha)]


def tooltip_record(kind, feature_id, name, detail="", claimant="", when="", place_id="") -> dict:
    return {"kind": kind, "feature_id": feature_id, "place_id": place_id or "", "name": str(name),
            "detail": str(detail), "claimant": str(claimant), "when": str(when)}


def path_coords(geom, ndigits=4) -> list[list[float]]:
    return [[round(x, ndigits), round(y, ndigits)] for x, y in geom.coords]


# Views that zoom into the Tumen estuary draw legs at full detail inside this box (the 1:10m
# basemap's) and thin them beyond it, where those views never look closely: the long rail
# legs follow real track across Russia, and at full detail would push the deck JSON past
# its 300 KB budget.
DETAIL_BOX = (126.0, 39.0, 135.0, 45.5)
FAR_TOLERANCE_DEG = 0.05


def thinned_outside(geom, box=DETAIL_BOX, tolerance=FAR_TOLERANCE_DEG) -> list[list[float]]:
    """The leg's path with the stretches outside `box` simplified (Douglas-Peucker); the
    inside is untouched."""
    return path_coords(railways.simplify_outside(geom, box, lambda line: shapely.simplify(line, tolerance)))


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
                "fill": [0, 0, 0, 0], "line": list(palette.border), "line_width": 1}})
    return {"type": "FeatureCollection", "features": features}


def fills_and_outlines(features: dict, outline: bool) -> tuple[list[dict], list[dict]]:
    """A FeatureCollection as SolidPolygonLayer records (one per polygon, its properties at the
    top level) and PathLayer records: the polygons' rings when `outline`, and the line features.
    The map draws them with the polygon and path programs every other layer shares, where a
    GeoJsonLayer would add pipelines of its own (see FLAT)."""
    fills, lines = [], []
    for f in features["features"]:
        geom, props = f["geometry"], f["properties"]
        kind, coords = geom["type"], geom["coordinates"]
        polygons = [coords] if kind == "Polygon" else coords if kind == "MultiPolygon" else []
        for rings in polygons:
            fills.append(dict(props, polygon=rings))
            if outline:
                lines.extend({"path": ring, "width": props["line_width"], "color": props["line"]} for ring in rings)
        for path in [coords] if kind == "LineString" else coords if kind == "MultiLineString" else []:
            lines.append({"path": path, "width": props["line_width"], "color": props["line"]})
    return fills, lines


def polygon_layers(layer_id: str, features: dict, pickable: bool, outline: bool) -> list[pdk.Layer]:
    fills, lines = fills_and_outlines(features, outline)
    return [pdk.Layer("SolidPolygonLayer", id=layer_id, data=fills, get_polygon="polygon", get_fill_color="fill",
                      pickable=pickable, auto_highlight=pickable, parameters=FLAT),
            pdk.Layer("PathLayer", id=f"{layer_id}-lines", data=lines, get_path="path", get_width="width",
                      get_color="color", width_units="'pixels'", pickable=False, parameters=FLAT)]


def basemap_layers(features: dict) -> list[pdk.Layer]:
    return polygon_layers("basemap", features, pickable=False, outline=False)


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


def place_markers_layer(places, palette: style.Palette) -> pdk.Layer:
    return pdk.Layer("ScatterplotLayer", id="places", data=place_records(places), pickable=True,
                     get_position="position", get_radius="radius", radius_units="'pixels'",
                     get_fill_color=rgba((255, 255, 255)), get_line_color=rgba(palette.text[:3]), stroked=True,
                     line_width_min_pixels=1.5, parameters=FLAT)


def place_labels_layer(places, view: style.View, palette: style.Palette, cam: "labels.Camera | None" = None
                       ) -> pdk.Layer:
    """The names geo.labels places for this camera and map size: none overlapping, none clipped."""
    cam = cam or labels.Camera(view.longitude, view.latitude, view.zoom, *style.REFERENCE_MAP)
    chosen = [{k: r[k] for k in ("label", "position", "anchor", "offset")}
              for r in labels.place_labels(places, view, cam, palette.label_size)]
    return pdk.Layer("TextLayer", id="places-labels", data=chosen, pickable=False, get_position="position",
                     get_text="label", get_size=palette.label_size, size_units="'pixels'",
                     get_color=list(palette.text), background=True, get_background_color=list(palette.text_outline),
                     background_padding=[labels.PAD_X, labels.PAD_Y], get_pixel_offset="offset",
                     get_text_anchor="anchor", get_alignment_baseline="'bottom'", font_family="'sans-serif'",
                     parameters=FLAT)


# --- routes and flows ------------------------------------------------------------------------------

def metric_peaks(claims) -> dict[str, float]:
    """The largest figure ever claimed per metric: widths scale against it, so growth over time shows."""
    highs = claims["value_high"].fillna(claims["value"])
    return highs.groupby(claims["metric"]).max().to_dict()


RAILCAR_METRICS = ("railcars_observed_tumangang", "railcars_observed_khasan")


@dataclass(frozen=True)
class Prepared:
    """What every date step of one dataset and filter set reuses, worked out once: the
    claims after the filters, ranked per metric and claimant (headline figures, railcar
    sightings), the legs' and flows' volume links, each metric's peak, and the legs, flows,
    places, events and areas as plain records with their coordinates already rounded. Cache it per dataset and filters:
    a date step then only selects and formats (pandas costs milliseconds per operation even
    on a hundred rows, and the date control reruns often)."""

    claims: pd.DataFrame
    all_claims: pd.DataFrame  # before the filters: a dispute stays marked when the filters hide one side
    standing: timeline.Standing
    volumes: timeline.RouteVolumes
    flow_volumes: timeline.RouteVolumes
    peaks: dict
    routes: list[dict]
    flows: list[dict]
    places: dict[str, dict]
    events: list[dict]
    areas: list[dict]

    @cached_property
    def headline_standings(self) -> dict:
        return {}

    def standing_for(self, group_by: str = "organisation") -> timeline.Standing:
        """The headline's ranking (verified claims, no restatements) per grouping, built once."""
        cache = self.headline_standings
        if group_by not in cache:
            cache[group_by] = headline_standing(self.claims, group_by)
        return cache[group_by]


def plain_records(frame) -> list[dict]:
    return timeline.plain(frame).to_dict("records")


def prepare(data, filters: Filters) -> Prepared:
    claims = timeline.plain(filters.apply(data.claims))
    routes = [dict(r, path=path_coords(g), path_far=thinned_outside(g))
              for r, g in zip(plain_records(data.routes), data.routes.geometry)]
    flows = [dict(f, source=[round(g.coords[0][0], 4), round(g.coords[0][1], 4)],
                  target=[round(g.coords[-1][0], 4), round(g.coords[-1][1], 4)],
                  path=screenlines.arc_path(g.coords[0], g.coords[-1]))
             for f, g in zip(plain_records(data.flows), data.flows.geometry)]
    located = data.events[data.events["place_id"] != ""].sort_values("date", kind="stable")
    events = [dict(e, position=[round(g.x, 4), round(g.y, 4)])
              for e, g in zip(plain_records(located), located.geometry)]
    areas = [dict(a, geometry=mapping(shapely.set_precision(g, 1e-4)))
             for a, g in zip(plain_records(data.areas), data.areas.geometry)]
    return Prepared(claims, timeline.plain(data.claims), timeline.Standing(claims), timeline.RouteVolumes(data.routes, claims),
                    timeline.RouteVolumes(data.flows, claims), metric_peaks(claims), routes, flows, {p["id"]: p for p in plain_records(data.places)}, events, areas)



def width_for(value: float, peak: float, scale: float) -> float:
    if pd.isna(value) or not peak:
        return style.NO_VOLUME_WIDTH * scale
    share = math.sqrt(max(value, 0) / peak)
    return round((style.MIN_WIDTH + (style.MAX_WIDTH - style.MIN_WIDTH) * share) * scale, 2)


def volume_text(v: dict) -> tuple[str, str, str]:
    if v["n_claimants"] == 0:
        return "no reported volume", "", ""
    spread = (f" ({v['n_claimants']} claimants disagree)"
              if v["n_claimants"] > 1 and v["value_low"] != v["value_high"] else "")
    return (format_range(v["value_low"], v["value_high"], v["unit"]) + spread, v["claimants"],
            f"latest as of {v['latest_as_of']:%Y-%m-%d}")


def volumes_by_id(volumes: timeline.RouteVolumes, state: MapState) -> dict[str, dict]:
    return {v["id"]: v for v in volumes.records(state.date, state.mode)}


def route_records(prepared: Prepared, state: MapState, palette: style.Palette) -> list[dict]:
    when = timeline.as_timestamp(state.date)
    volumes = volumes_by_id(prepared.volumes, state)
    path_key = "path_far" if style.VIEWS[state.view].detailed else "path"
    rows = []
    for r in prepared.routes:
        if not timeline.covers(r["active_from"], r["active_to"], when):
            continue
        v, peak = volumes[r["id"]], prepared.peaks.get(r["volume_metric"])
        detail, claimant, when_text = volume_text(v)
        rec = tooltip_record("route", r["id"], r["name"], f"{r['mode']}, {r['status']}: {detail}", claimant, when_text)
        rec.update(path=r[path_key], status=r["status"], mode=r["mode"],
                   color=rgba(palette.mode[r["mode"]], 235 if r["status"] == "reported" else 190),
                   width=width_for(v["value_low"], peak, palette.line_scale),
                   width_high=width_for(v["value_high"], peak, palette.line_scale),
                   dash=list(style.DASH[r["status"]]), has_volume=bool(v["n_claimants"]))
        rows.append(rec)
    # deck.gl draws (and picks) later records on top: legs that carry figures win where legs share track.
    return sorted(rows, key=lambda rec: (rec["has_volume"], rec["width"]))


TOOLTIP_FIELDS = ("kind", "feature_id", "place_id", "name", "detail", "claimant", "when")
HIT_WIDTH = 14  # pixels around a leg that count as a click on it, so hairlines can be clicked


def hit_path(path: list, zoom: float) -> list:
    """A leg's path simplified to a pixel at `zoom`: the click band is HIT_WIDTH pixels wide, so
    that much error is invisible to a click and halves what the band adds to the deck."""
    tolerance = 360.0 / (512 * 2 ** zoom)
    digits = max(1, math.ceil(-math.log10(tolerance)))
    line = shapely.simplify(shapely.LineString(path), tolerance) if len(path) > 2 else shapely.LineString(path)
    return path_coords(line, digits)


def routes_layers(rows: list[dict], view: style.View) -> list[pdk.Layer]:
    """A translucent band for the highest claim under a line for the lowest: disagreement stays visible.

    Inferred legs are dashed as geometry (geo.screenlines), so one path program draws every
    line. Their dashes are drawn, not picked: a dash carries only its colour and width, or a
    close-up view would send each leg's tooltip a thousand times.

    Under all, an invisible band answers for the legs: HIT_WIDTH pixels wide around thin legs
    (Streamlit's chart passes no pickingRadius to deck.gl) and as wide as the line under dashed
    ones. It is drawn, and so picked, under the visible solid lines: a click on a drawn leg picks
    that leg, a click beside a hairline picks the hairline. Its opacity, not its colour, hides
    it, because a selection redraws colours at full alpha.
    """
    zoom = view.zoom
    dashed = [r for r in rows if all(r["dash"])]
    band = [{"path": r["path"], "width": r["width_high"], "color": r["color"][:3] + [70]}
            for r in rows if r["width_high"] > r["width"]]
    hit = [dict({k: r[k] for k in TOOLTIP_FIELDS}, path=hit_path(r["path"], zoom),
                width=max(HIT_WIDTH, r["width"]), color=[0, 0, 0, 255])
           for r in rows if r["width"] < HIT_WIDTH / 2 or all(r["dash"])]
    solid = [dict({k: r[k] for k in TOOLTIP_FIELDS}, path=r["path"], width=r["width"], color=r["color"])
             for r in rows if not all(r["dash"])]
    dashes = screenlines.dash_records(dashed, zoom, screenlines.neighbourhood(
        view.longitude, view.latitude, zoom, style.REFERENCE_MAP), digits=4, keep=("width", "color"))
    # Every path layer reads width and colour per record, never as a constant (see FLAT).
    line = dict(get_path="path", get_width="width", get_color="color", width_units="'pixels'", parameters=FLAT)
    return [
        pdk.Layer("PathLayer", id="routes-hit", data=hit, pickable=True, opacity=0.004, cap_rounded=True, **line),
        pdk.Layer("PathLayer", id="routes-range", data=band,
                  pickable=False, cap_rounded=True, joint_rounded=True, **line),
        pdk.Layer("PathLayer", id="routes", data=solid, pickable=True, auto_highlight=True, width_min_pixels=1,
                  **line),  # painter's order, so picking follows draw order
        pdk.Layer("PathLayer", id="routes-dashes", data=dashes, pickable=False, width_min_pixels=1, **line),
    ]


def flow_records(prepared: Prepared, state: MapState, palette: style.Palette) -> list[dict]:
    volumes = volumes_by_id(prepared.flow_volumes, state)
    rows = []
    for f in prepared.flows:
        v = volumes[f["id"]]
        if v["n_claimants"] == 0:
            continue  # a summary arc appears once a claim gives it a size
        detail, claimant, when = volume_text(v)
        rec = tooltip_record("flow", f["id"], f["name"], detail, claimant, when)
        width = width_for(v["value_low"], prepared.peaks.get(f["volume_metric"]), palette.line_scale)
        rec.update(source=f["source"], target=f["target"], path=f["path"], width=round(width / 2, 2),
                   family=f["family"], color=rgba(palette.family[f["family"]], 170))
        rows.append(rec)
    return rows


def flows_layer(rows: list[dict]) -> pdk.Layer:
    """Summary arcs, drawn as the flat arcs deck.gl's ArcLayer would draw, by the path program."""
    return pdk.Layer("PathLayer", id="flows", data=rows, pickable=True, auto_highlight=True, get_path="path",
                     get_width="width", width_units="'pixels'", get_color="color", cap_rounded=True,
                     parameters=FLAT)


# --- dated points: railcars, strikes, events --------------------------------------------------------

def railcar_records(prepared: Prepared, state: MapState, notices: list | None = None) -> list[dict]:
    """One marker per place: the latest sighting there, whoever made it. A sighting whose place
    is unknown is left out, with a notice naming its file and claim (when `notices` is given)."""
    latest: dict[str, dict] = {}
    standing = (prepared.standing.records[i] for i in prepared.standing.on(state.date, state.mode))
    for c in (c for c in standing if c["metric"] in RAILCAR_METRICS):
        if c["place_id"] not in prepared.places:
            if notices is not None:
                where = c.get("source_file") or "data/claims.csv"
                notices.append(f"{where}: claim {c['id']}: place_id {c['place_id']!r} is not a known place, "
                               "so its railcars are not on the map.")
            continue
        if c["place_id"] not in latest or (c["as_of_date"], c["id"]) >= (latest[c["place_id"]]["as_of_date"],
                                                                        latest[c["place_id"]]["id"]):
            latest[c["place_id"]] = c
    rows = []
    for c in sorted(latest.values(), key=lambda c: (c["as_of_date"], c["id"])):
        p = prepared.places[c["place_id"]]
        rec = tooltip_record("railcars", c["id"], f"Railcars at {p['name']}",
                             format_value(c["value"], c["value_high"], c["qualifier"], c["unit"]) + " seen in imagery"
                             + (" (unverified)" if c.get("verification") == "unverified" else ""),
                             c["claimant"], f"seen {c['as_of_date']:%Y-%m-%d}", c["place_id"])
        rec.update(position=[round(p["lon"], 4), round(p["lat"], 4)],
                   radius=round(5 + 1.6 * math.sqrt(c["value"]), 1))
        rows.append(rec)
    return rows


def railcars_layer(rows, palette: style.Palette) -> pdk.Layer:
    return pdk.Layer("ScatterplotLayer", id="railcars", data=rows, pickable=True, get_position="position",
                     get_radius="radius", radius_units="'pixels'", stroked=True, line_width_min_pixels=2,
                     get_fill_color=rgba(palette.mode["rail"], 90), get_line_color=rgba(palette.mode["rail"]),
                     parameters=FLAT)


def event_records(prepared: Prepared, state: MapState, strikes: bool) -> list[dict]:
    """Located events (strikes, or everything else) up to the date; this month's drawn larger."""
    start, end = timeline.event_window(state.date, state.mode)
    month = timeline.month_start(state.date)
    rows = []
    for e in prepared.events:
        if not start <= e["date"] <= end or (e["kind"] == "strike") != strikes:
            continue
        recent = e["date"] >= month
        rec = tooltip_record("strike" if strikes else "event", e["id"], e["title"], e["description"], "",
                             f"{e['date']:%Y-%m-%d}", e["place_id"])
        rec.update(position=e["position"], radius=9 if recent else 6, recent=recent)
        rows.append(rec)
    return rows


def points_layer(layer_id, rows, rgb, palette: style.Palette) -> pdk.Layer:
    return pdk.Layer("ScatterplotLayer", id=layer_id, data=rows, pickable=True, get_position="position",
                     get_radius="radius", radius_units="'pixels'", stroked=True, line_width_min_pixels=1.5,
                     get_fill_color=rgba(rgb, 220), get_line_color=rgba(palette.text[:3]), parameters=FLAT)


# --- areas -----------------------------------------------------------------------------------------

def area_features(prepared: Prepared, kind: str, state: MapState, rgb) -> dict:
    when = timeline.as_timestamp(state.date)
    features = []
    for a in prepared.areas:
        if a["kind"] != kind or not timeline.covers(a["valid_from"], a["valid_to"], when):
            continue
        until = f"{a['valid_to']:%Y-%m-%d}" if pd.notna(a["valid_to"]) else "still valid"
        detail = f"approximate outline; {a['plants']}" if a["plants"] else "approximate outline"
        props = tooltip_record("area", a["id"], a["name"], detail, "", f"{a['valid_from']:%Y-%m-%d} to {until}",
                               a["place_id"])
        props.update(fill=rgba(rgb, 70), line=rgba(rgb, 230), line_width=2)
        features.append({"type": "Feature", "geometry": a["geometry"], "properties": props})
    return {"type": "FeatureCollection", "features": features}


def area_layers(layer_id, features: dict) -> list[pdk.Layer]:
    return polygon_layers(layer_id, features, pickable=True, outline=True)


# --- the deck --------------------------------------------------------------------------------------

def tooltip(palette: style.Palette) -> dict:
    size = "18px" if palette.name == "presenter" else "13px"
    return {"html": "<b>{name}</b><br/>{detail}<br/><i>{claimant}</i><br/>{when}",
            "style": {"fontSize": size, "maxWidth": "360px", "backgroundColor": "rgba(20,20,20,0.92)",
                      "color": "white", "whiteSpace": "normal"}}


def static_layers(data, view: str, present: bool, basemap: dict,
                  viewport: tuple[int, int] | None = None, focus: tuple[str, ...] = ()) -> dict[str, list[FrozenLayer]]:
    """The layers no date step changes (basemap; place markers; place names), frozen. Build
    them once per view, palette, map size and scene focus and pass them to build_layers / deck_for."""
    palette = style.palette(present)
    state = MapState(date=pd.Timestamp("2000-01-01"), view=view, present=present, focus=focus)
    return {"basemap": [FrozenLayer(layer) for layer in basemap_layers(basemap)],
            "places": [FrozenLayer(place_markers_layer(data.places, palette))],
            "labels": [FrozenLayer(place_labels_layer(data.places, style.VIEWS[view], palette,
                                                      label_camera(state, viewport, data.places, data.countries.total_bounds)))]}


def label_camera(state: MapState, viewport: tuple[int, int] | None = None, places=None,
                 bounds=None) -> labels.Camera:
    cam = camera(state, viewport, places, bounds)
    size = viewport if viewport and viewport[0] and viewport[1] else \
        style.PRESENTER_MAP if state.focus else style.REFERENCE_MAP
    return labels.Camera(cam.longitude, cam.latitude, cam.zoom, int(size[0]), int(size[1]))


def view_layers(data, view, basemap: dict, static: dict | None = None, extra: list | None = None,
                viewport: tuple[int, int] | None = None) -> list:
    """A geo.view.MapView's layers, bottom to top: areas, workspace layers (`extra`), legs and
    arcs, place markers, dated points, then place names over all. `static` (from
    static_layers, for the same view and palette) stands in for the basemap and places."""
    state, records = view.state, view.records
    palette = style.palette(state.present)
    o = style.OKABE_ITO
    builders = {
        "basemap": lambda: basemap_layers(basemap),
        "front": lambda: area_layers("front", records["front"]),
        "factories": lambda: area_layers("factories", records["factories"]),
        "routes": lambda: routes_layers(records["routes"], style.VIEWS[state.view]),
        "flows": lambda: [flows_layer(records["flows"])],
        "places": lambda: [place_markers_layer(data.places, palette)],
        "railcars": lambda: [railcars_layer(records["railcars"], palette)],
        "events": lambda: [points_layer("events", records["events"], o["yellow"], palette)],
        "strikes": lambda: [points_layer("strikes", records["strikes"], o["vermillion"], palette)],
        "labels": lambda: [place_labels_layer(data.places, style.VIEWS[state.view], palette,
                                              label_camera(state, viewport, data.places, data.countries.total_bounds))],
    }
    for layer_id, frozen in (static or {}).items():
        builders[layer_id] = lambda frozen=frozen: frozen
    shown = set(state.layers) | ({"labels"} if "places" in state.layers else set())
    out = []
    for layer_id in ("basemap", "front", "factories", "extra", "routes", "flows", "places", "railcars", "events",
                     "strikes", "labels"):
        if layer_id == "extra":
            out += list(extra or [])
        elif layer_id in shown:
            out += builders[layer_id]()
    return out


def build_layers(data, state: MapState, basemap: dict, static: dict | None = None,
                 prepared: Prepared | None = None) -> list:
    """The map state's layers, bottom to top (geo.view.build_view, then view_layers)."""
    from geo.view import build_view
    prepared = prepared or prepare(data, state.filters)
    return view_layers(data, build_view(data, prepared, state), basemap, static)


FOCUS_PADDING = (110, 70)  # pixels kept clear around a scene's places: room for their names
MAX_FOCUS_ZOOM = 9.5


def world_pixel(lon: float, lat: float) -> tuple[float, float]:
    """deck.gl's Web Mercator at zoom 0: a 512-pixel world, y growing southwards."""
    return (lon + 180) / 360 * 512, (1 - math.log(math.tan(math.pi / 4 + math.radians(lat) / 2)) / math.pi) / 2 * 512


def fit_bounds(points: list[tuple[float, float]], size: tuple[int, int],
               padding: tuple[int, int] = FOCUS_PADDING, max_zoom: float = MAX_FOCUS_ZOOM) -> tuple[float, float, float]:
    """Longitude, latitude and zoom that frame `points` on a map of `size` pixels, `padding` from its edges."""
    xy = [world_pixel(lon, lat) for lon, lat in points]
    x0, x1 = min(x for x, _ in xy), max(x for x, _ in xy)
    y0, y1 = min(y for _, y in xy), max(y for _, y in xy)
    room_w, room_h = max(size[0] - 2 * padding[0], 50), max(size[1] - 2 * padding[1], 50)
    scale = min(room_w / (x1 - x0) if x1 > x0 else math.inf, room_h / (y1 - y0) if y1 > y0 else math.inf)
    zoom = min(max_zoom, math.log2(scale)) if math.isfinite(scale) else max_zoom
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    lat = math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * cy / 512))))
    return cx / 512 * 360 - 180, lat, zoom


def inside_bounds(lon: float, lat: float, zoom: float, size: tuple[int, int], bounds) -> tuple[float, float]:
    """The camera's centre moved (never its zoom) so the map of `size` pixels shows nothing
    beyond `bounds` (the basemap's lon/lat box) along each axis the box is large enough for:
    past the bundled basemap there is only blank canvas."""
    (bx0, by1), (bx1, by0) = world_pixel(bounds[0], bounds[1]), world_pixel(bounds[2], bounds[3])
    cx, cy = world_pixel(lon, lat)
    half_w, half_h = size[0] / 2 / 2 ** zoom, size[1] / 2 / 2 ** zoom
    if bx1 - bx0 >= 2 * half_w:
        cx = min(max(cx, bx0 + half_w), bx1 - half_w)
    if by1 - by0 >= 2 * half_h:
        cy = min(max(cy, by0 + half_h), by1 - half_h)
    return cx / 512 * 360 - 180, math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * cy / 512))))


def camera(state: MapState, viewport: tuple[int, int] | None = None, places=None, bounds=None) -> pdk.ViewState:
    """The view's preset camera, zoomed so the map of `viewport` (width, height in pixels)
    frames the same area as the preset's reference map (style.REFERENCE_MAP): the whole
    pipeline at 1280 pixels wide as at 1920. A scene's `focus` places (with `places`, the
    places table) are framed instead, at any size. Without a viewport (the first run, before
    the page has reported its size), the presenter's map is taken at its 1280×720 size."""
    view = style.VIEWS[state.view]
    known = bool(viewport and viewport[0] and viewport[1])
    if state.focus and places is not None:
        size = viewport if known else style.PRESENTER_MAP
        chosen = places[places["id"].isin(state.focus)]
        lon, lat, zoom = fit_bounds(list(zip(chosen["lon"], chosen["lat"])), size)
    elif known:
        ref_w, ref_h = style.REFERENCE_MAP
        size, lon, lat = viewport, view.longitude, view.latitude
        zoom = view.zoom + math.log2(min(viewport[0] / ref_w, viewport[1] / ref_h))
    else:
        size = style.PRESENTER_MAP if state.present else style.REFERENCE_MAP
        lon, lat, zoom = view.longitude, view.latitude, view.zoom + (style.PRESENTER_ZOOM if state.present else 0)
    zoom = round(zoom, 2)  # a few pixels of resize must not move the camera
    if bounds is not None:
        lon, lat = inside_bounds(lon, lat, zoom, size, bounds)
    return pdk.ViewState(longitude=round(lon, 4), latitude=round(lat, 4), zoom=zoom, pitch=view.pitch, bearing=0)


def deck_for(data, view, basemap: dict, static: dict | None = None, extra: list | None = None,
             viewport: tuple[int, int] | None = None) -> CompactDeck:
    """The deck of a geo.view.MapView."""
    return CompactDeck(
        layers=view_layers(data, view, basemap, static, extra, viewport),
        initial_view_state=camera(view.state, viewport, data.places, data.countries.total_bounds),
        views=[pdk.View(type="MapView", controller=True)],
        map_provider=None,
        tooltip=tooltip(style.palette(view.state.present)),
    )


def build_deck(data, state: MapState, basemap: dict, static: dict | None = None,
               prepared: Prepared | None = None) -> CompactDeck:
    from geo.view import build_view
    prepared = prepared or prepare(data, state.filters)
    return deck_for(data, build_view(data, prepared, state), basemap, static)
