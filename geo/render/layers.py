"""pydeck layers for a map state: pure functions from the dataset to a deck spec.

Every layer has an explicit id (the names used in the `layers` URL parameter; helper
layers add a suffix), data is passed as plain records with no NaN and no timestamps,
and every pickable record carries the same four text fields (name, detail, claimant,
when) that the one global tooltip template reads, plus kind / feature_id / place_id
for the evidence panel.
"""
from __future__ import annotations

import functools
import hashlib
import importlib.util
import json
import math
import secrets
import sys

import numpy as np
import pandas as pd
import pydeck as pdk
import shapely
from pydeck.bindings.json_tools import default_serialize
from shapely.geometry import box, mapping

from geo import style
from geo.render import basemap_layers as basemap_detail, labelatlas, labels, markers, scalebar
from geo.geometry import railways, screenlines
from geo.geometry.projection import from_world_pixel, world_pixel
from geo.view.legend import notes as legend_notes
from geo.view.mapview import build_view, legend_within
from geo.view.records import (EVENT_RADII, PLACE_RADII, PRESENTER_STRIKES, TOOLTIP_FIELDS, MapState, Prepared,
                              prepare, rgba, tooltip_record)

# Every pydeck Deck() tries to import its Jupyter widget, and without ipywidgets that import
# fails and is retried from disk each time (~3 ms a deck). A None entry makes it fail at once.
if importlib.util.find_spec("ipywidgets") is None:
    sys.modules.setdefault("pydeck.widget", None)

# Every layer draws in painter's order (the map is flat), and every line reads its width and
# colour per record. Software WebGL builds one pipeline per program, depth state and
# vertex-input layout at the first frame, and a constant accessor is a layout of its own. The
# bundled map uses three cheap programs: polygons, straight lines (LineLayer: PathLayer's joint
# program alone cost a second at the first frame) and stamped images (place names and every
# round marker, geo.render.markers).
FLAT = {"depthCompare": "always"}




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

    With `keep_id`, the layer is only serialised once: its id stays and the browser compares its
    data as usual (the place names, whose one image all views share).

    Its id gains a digest of its content and the browser is told to treat its data as
    unchanged between reruns (dataComparator), so deck.gl keeps what it parsed and
    tessellated instead of redoing it on every date step; other content means another id,
    hence a fresh layer. `id`, `type` and `data` are the layer's own, for callers that look.
    """

    def __init__(self, layer: pdk.Layer, keep_id: bool = False):
        self.id, self.type, self.data = layer.id, layer.type, layer.data
        spec = json.loads(compact_json(layer))
        if not keep_id:
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


def shared_accessors(rows: list[dict], keys: tuple[str, ...]) -> tuple[list[dict], dict[str, str]]:
    """`rows` without the fields every row has the same value of, and an accessor per key: that
    value as an expression where shared, else the field's name. deck.gl evaluates an expression
    per record, as it reads a field, so the layer keeps its program's vertex layout (see FLAT)
    without a copy of the value in each record."""
    shared = {k: rows[0][k] for k in keys if rows and all(r[k] == rows[0][k] for r in rows)}
    accessors = {k: json.dumps(shared[k]) if k in shared else k for k in keys}
    return ([{k: v for k, v in r.items() if k not in shared} for r in rows] if shared else rows), accessors


def packed(records: list[tuple], fixed: int, names: tuple[str, ...]) -> tuple[list[list], dict[str, str]]:
    """Records as bare arrays: `fixed` leading numbers, then each named value (a number or a
    list) that differs between records; a value all records share becomes a constant expression
    instead. Returns the rows and an accessor expression per name, reading `this[i]`.

    A date step sends the map thousands of line pieces and joint dots: field names and repeated
    colours would more than double what it sends."""
    if not records:
        return [], {}
    accessors, columns, at = {}, [], fixed
    for i, name in enumerate(names):
        values = [r[fixed + i] for r in records]
        if all(v == values[0] for v in values):
            accessors[name] = json.dumps(values[0])
            continue
        size = len(values[0]) if isinstance(values[0], (list, tuple)) else 1
        accessors[name] = (f"[{','.join(f'this[{at + k}]' for k in range(size))}]" if isinstance(values[0], (list, tuple))
                           else f"this[{at}]")
        columns.append(i)
        at += size
    rows = []
    for r in records:
        row = list(r[:fixed])
        for i in columns:
            value = r[fixed + i]
            row.extend(value) if isinstance(value, (list, tuple)) else row.append(value)
        rows.append(row)
    return rows, accessors


def line_layer(layer_id: str, rows: list[dict], **props) -> pdk.Layer:
    """Path records (path, width in pixels, RGBA colour) drawn as their straight pieces, one
    record [x0, y0, x1, y1, ...] each (see packed). Pieces are drawn, never picked: a leg's
    click band answers for it."""
    pieces = [(*a, *b, r["width"], list(r["color"])) for r in rows for a, b in zip(r["path"][:-1], r["path"][1:])]
    data, get = packed(pieces, 4, ("width", "color"))
    return pdk.Layer("LineLayer", id=layer_id, data=data, get_source_position="[this[0],this[1]]",
                     get_target_position="[this[2],this[3]]", get_width=get.get("width", "1"),
                     get_color=get.get("color", "[0,0,0,255]"), width_units="'pixels'", pickable=False,
                     parameters=FLAT, **props)


def line_pieces(layer: dict) -> list[dict]:
    """A LineLayer spec's records read back as {s, t, width, color} (for tests and checks)."""
    def read(expression: str, row: list):
        expression = expression.removeprefix("@@=")
        return eval(expression, {}, {"this": row})  # our own accessors: [this[i], ...] or a literal
    return [{"s": read(layer["getSourcePosition"], r), "t": read(layer["getTargetPosition"], r),
             "width": read(layer["getWidth"], r), "color": read(layer["getColor"], r)} for r in layer["data"]]


def polygon_layers(layer_id: str, features: dict, pickable: bool, outline: bool, zoom: float | None = None,
                   near: tuple | None = None, line_tolerance: float = 0.25, dash: tuple | None = None) -> list[pdk.Layer]:
    """Fills and outlines; for a camera's `zoom`, the outlines as drawn_path draws them (coarser
    outside `near`, the camera's neighbourhood), cut into `dash` (dash, gap in line widths) if given."""
    fills, lines = fills_and_outlines(features, outline)
    if zoom is not None:
        lines = [dict(r, path=drawn_path(r["path"], zoom, line_tolerance, near)) for r in lines]
    if dash and zoom is not None:
        lines = screenlines.dash_records([dict(r, dash=dash) for r in lines], zoom, near, digits_for(zoom),
                                         keep=("width", "color"))
    fills, get = shared_accessors(fills, ("fill",))
    return [pdk.Layer("SolidPolygonLayer", id=layer_id, data=fills, get_polygon="polygon", get_fill_color=get["fill"],
                      pickable=pickable, auto_highlight=pickable, parameters=FLAT),
            line_layer(f"{layer_id}-lines", lines)]


def basemap_layers(features: dict, zoom: float | None = None, near: tuple | None = None) -> list[pdk.Layer]:
    """Country fills and land borders (see polygon_layers)."""
    return polygon_layers("basemap", features, pickable=False, outline=False, zoom=zoom, near=near,
                          line_tolerance=BORDER_TOLERANCE)


# --- places ----------------------------------------------------------------------------------------

def place_records(places) -> list[dict]:
    rows = []
    for p in places.itertuples():
        approx = "" if p.precision == "exact" else f" (location {p.precision})"
        rec = tooltip_record("place", p.id, p.name, p.kind.replace("_", " ") + approx, "", "", p.id)
        anchor, offset = style.LABEL_PLACEMENT.get(p.id, ("middle", [0, -10]))
        rec.update(position=[round(p.lon, 4), round(p.lat, 4)], label=p.name.split(" (")[0].split(",")[0],
                   anchor=anchor, offset=offset,
                   radius=PLACE_RADII[1] if p.kind in ("crossing", "port", "rail_station", "depot") else PLACE_RADII[0])
        rows.append(rec)
    return rows


def icon_layer(layer_id: str, data, sheet: labelatlas.Atlas, pickable: bool, *, position: str = "position",
               icon: str = "icon", size: str = "size", color: str = "[0,0,0,255]", offset: str = "[0,0]") -> pdk.Layer:
    """Images stamped from `sheet` at a pixel size. Every icon layer reads all five accessors
    per record, constants included, so that they share one vertex layout (see FLAT)."""
    return pdk.Layer("IconLayer", id=layer_id, data=data, pickable=pickable, get_position=position, get_icon=icon,
                     get_size=size, size_units="'pixels'", get_color=color, get_pixel_offset=offset,
                     icon_atlas=f"'{sheet.url}'", icon_mapping=sheet.mapping, parameters=FLAT)


def dots_layer(layer_id: str, rows: list[dict], fill: list[int], line: list[int], line_px: float,
               radii: tuple = ()) -> pdk.Layer:
    """Pickable round markers, `radius` pixels, with a `line_px` outline: icons (geo.render.markers).
    The image holds a marker for every radius in `radii` as well as the records': a date step
    that only changes which radii show sends the same image, and the map loads no new one."""
    sheet = markers.atlas(tuple(fill), tuple(line), line_px, tuple(sorted({*radii, *(r["radius"] for r in rows)})))
    data = [dict(r, icon=markers.icon_key(r["radius"]), size=markers.icon_size(r["radius"], line_px)) for r in rows]
    return icon_layer(layer_id, data, sheet, pickable=True)


def place_markers_layer(places, palette: style.Palette) -> pdk.Layer:
    return dots_layer("places", place_records(places), rgba((255, 255, 255)), rgba(palette.text[:3]), 1.5,
                      PLACE_RADII)


def place_labels_layer(places, view: style.View, palette: style.Palette, cam: "labels.Camera | None" = None
                       ) -> pdk.Layer:
    """The names geo.render.labels places for this camera and map size (none overlapping, none clipped),
    stamped from geo.render.labelatlas's image: each record puts its name's box where geo.render.labels put it."""
    cam = cam or labels.Camera(view.longitude, view.latitude, view.zoom, *style.REFERENCE_MAP)
    chosen = labels.place_labels(places, view, cam, palette.label_size, basemap_detail.reserved(cam, palette))
    # Every place's name, whichever this view shows: one image per palette for all views, which the
    # browser loads once (the layer keeps its id across views, see static_layers).
    names = labelatlas.atlas(tuple((p.id, labels.label_text(p.name)) for p in places.itertuples()),
                             palette.label_size, tuple(palette.text), tuple(palette.text_outline))
    rows = []
    for r in chosen:
        x, y = cam.pixel(*r["position"])
        left, top, right, bottom = r["box"]
        rows.append({"label": r["label"], "icon": r["place_id"], "position": r["position"],
                     "size": round(bottom - top, 2), "offset": [round(left - x, 2), round(top - y, 2)]})
    return icon_layer("places-labels", rows, names, pickable=False, offset="offset")


# --- routes and flows ------------------------------------------------------------------------------




















HIT_WIDTH = 14  # pixels around a leg or arc that count as a click on it, so hairlines can be clicked
HOVER = [0, 0, 0, 60]  # the soft shade under the leg or arc the pointer rests on
JOINT_WIDTH = 3  # pixels: thinner lines bend without a visible notch
BORDER_TOLERANCE = 0.5  # pixels a land border may stray: a one-pixel grey line, so half a pixel is unseen


def digits_for(zoom: float) -> int:
    """Decimal places of a degree that keep a coordinate within a tenth of a pixel at `zoom`."""
    return max(1, math.ceil(-math.log10(360.0 / (512 * 2 ** zoom) / 10)))


def drawn_path(path: list, zoom: float, tolerance_px: float = 0.25, near: tuple | None = None) -> list:
    """A path as the map draws it at `zoom`: within `tolerance_px` pixels of the original (a
    quarter pixel stays true two zoom steps in), and outside `near` (a mercator box, see
    geo.geometry.screenlines.neighbourhood) as the overview would draw it. Real track has hundreds of
    vertices a pixel apart, and a line drawn in straight pieces sends and shows each."""
    if len(path) < 3:
        return path
    return cached_drawn(tuple(map(tuple, path)), zoom, tolerance_px, near)


def tolerance_for(width: float) -> float:
    """How far, in pixels, a line of `width` pixels may stray: a quarter pixel, or a quarter of
    its width for a thick line, whose own width hides more."""
    return max(0.25, round(width) / 4)


@functools.lru_cache(maxsize=1024)
def cached_drawn(path: tuple, zoom: float, tolerance_px: float, near: tuple | None) -> list:
    x, y = screenlines.mercator(*np.asarray(path, float).T)
    line = shapely.LineString(np.column_stack([x, y]))
    if near is not None and zoom > screenlines.FAR_ZOOM:
        far = tolerance_px * screenlines.metres_per_pixel(screenlines.FAR_ZOOM)
        line = railways.simplify_outside(line, near, lambda stretch: shapely.simplify(stretch, far))
    line = shapely.simplify(line, tolerance_px * screenlines.metres_per_pixel(zoom))
    return screenlines.lonlat_rounded(*np.asarray(line.coords).T, digits_for(zoom))


@functools.lru_cache(maxsize=1024)
def cached_dashes(path: tuple, width: float, dash: tuple, zoom: float, near: tuple) -> list:
    """The dashes of one inferred leg (geo.geometry.screenlines.dash_records), as paths."""
    leg = {"path": [list(p) for p in path], "width": width, "dash": dash}
    return [d["path"] for d in screenlines.dash_records([leg], zoom, near, digits=digits_for(zoom), keep=())]


def joints(rows: list[dict], ends: bool = False) -> list[tuple]:
    """A dot the line's width across at each bend of every thick line (and, with `ends`, at its
    ends): straight pieces leave a notch on the outside of each bend, which the dot fills, so a
    leg bends round as it did when deck.gl drew it with rounded joints."""
    out = []
    for r in rows:
        if r["width"] < JOINT_WIDTH or len(r["path"]) < 2:
            continue
        points = r["path"] if ends else r["path"][1:-1]
        out.extend((*p, r["width"] / 2, list(r["color"])) for p in points)
    return out


def joints_layer(layer_id: str, rows: list[dict], ends: bool = False) -> pdk.Layer:
    """The joint dots: the white disc of geo.render.markers, tinted and sized per record. The icon is an
    expression read per record too (a quoted name would be a constant: another vertex layout)."""
    data, get = packed(joints(rows, ends), 2, ("radius", "fill"))
    return icon_layer(layer_id, data, markers.disc(), pickable=False, position="[this[0],this[1]]",
                      icon=f"this && '{markers.DISC}'", size=f"2*{get.get('radius', '1')}", color=get.get("fill", "[0,0,0,0]"))


def hit_band(path: list, zoom: float, width_px: float) -> list:
    """The polygon (rings of lon/lat) `width_px` pixels wide along `path` at `zoom`, to a pixel.
    Buffering is the slowest step of a date step's deck, and a leg's band changes only with its
    width, so bands are kept (by value: a path is a list)."""
    return cached_band(tuple(map(tuple, path)), zoom, round(width_px))


@functools.lru_cache(maxsize=512)
def cached_band(path: tuple, zoom: float, width_px: int) -> list:
    x, y = screenlines.mercator(*np.asarray(path, float).T)
    metres = screenlines.metres_per_pixel(zoom)
    band = shapely.LineString(np.column_stack([x, y])).buffer(width_px / 2 * metres, quad_segs=2).simplify(metres)
    band = max(shapely.get_parts(band), key=lambda part: part.area)  # one line buffers to one polygon
    return [screenlines.lonlat_rounded(*np.asarray(ring.coords).T, digits_for(zoom) - 1)  # to a pixel
            for ring in [band.exterior, *band.interiors]]


def hit_layer(layer_id: str, rows: list[dict], zoom: float, near: tuple | None = None) -> pdk.Layer:
    """One click band per leg or arc, under its line: a polygon at least HIT_WIDTH pixels wide
    at the view's zoom, carrying the feature's tooltip fields.

    Lines are drawn in straight pieces (LineLayer), and a piece is not a feature: the band is
    what hover and click pick, so the tooltip, the shade on hover and the selection cover the
    whole feature. Its fill is the feature's colour at zero alpha: invisible, until Streamlit
    draws the selected feature at full alpha and the clicked leg stands out in its own colour.
    """
    data = []
    for r in rows:
        width = max(HIT_WIDTH, r["width"] + 4)
        band = hit_band(drawn_path(r["path"], zoom, tolerance_for(width), near), zoom, width)
        data.append(dict({k: r[k] for k in TOOLTIP_FIELDS}, fill=r["color"][:3] + [0], polygon=band))
    return pdk.Layer("SolidPolygonLayer", id=layer_id, data=data, get_polygon="polygon", get_fill_color="fill",
                     pickable=True, auto_highlight=True, highlight_color=HOVER, parameters=FLAT)


def neighbourhood(view: style.View) -> tuple:
    """Where a view's close-up detail is drawn (geo.geometry.screenlines.neighbourhood of its camera)."""
    return screenlines.neighbourhood(view.longitude, view.latitude, view.zoom, style.REFERENCE_MAP)


def routes_layers(rows: list[dict], view: style.View) -> list[pdk.Layer]:
    """A pale band for the highest claim under a line for the lowest: disagreement stays visible.

    Inferred legs are dashed as geometry (geo.geometry.screenlines). Every line is drawn, not picked;
    the click bands under them (hit_layer) answer for the legs.
    """
    zoom, near = view.zoom, neighbourhood(view)
    drawn = [dict(r, path=drawn_path(r["path"], zoom, tolerance_for(r["width"]), near)) for r in rows]
    dashed = [r for r in drawn if all(r["dash"])]
    band = [{"path": drawn_path(r["path"], zoom, tolerance_for(r["width_high"]), near), "width": r["width_high"],
             "color": r["band_color"]} for r in rows if r["width_high"] > r["width"]]
    solid = [r for r in drawn if not all(r["dash"])]
    dashes = [{"path": piece, "width": r["width"], "color": r["color"]} for r in dashed
              for piece in cached_dashes(tuple(map(tuple, r["path"])), r["width"], tuple(r["dash"]), zoom, near)]
    return [line_layer("routes-range", band), joints_layer("routes-range-joints", band, ends=True),
            line_layer("routes", solid, width_min_pixels=1),
            line_layer("routes-dashes", dashes, width_min_pixels=1),
            joints_layer("routes-joints", solid + dashes)]




def flows_layer(rows: list[dict]) -> pdk.Layer:
    """Summary arcs, drawn as the flat arcs deck.gl's ArcLayer would draw, in straight pieces
    (their click bands answer for them: hit_layer)."""
    return line_layer("flows", rows)


# --- dated points: railcars, strikes, events --------------------------------------------------------





def railcars_layer(rows, palette: style.Palette, radii: tuple = ()) -> pdk.Layer:
    return dots_layer("railcars", rows, rgba(palette.mode["rail"], 90), rgba(palette.mode["rail"]), 2, radii)




def points_layer(layer_id, rows, rgb, palette: style.Palette) -> pdk.Layer:
    scale = PRESENTER_STRIKES if palette.name == "presenter" and layer_id == "strikes" else 1
    return dots_layer(layer_id, rows, rgba(rgb, 220), rgba(palette.text[:3]), 1.5,
                      tuple(round(r * scale, 1) for r in EVENT_RADII))


# --- areas -----------------------------------------------------------------------------------------



# Front areas are hand-drawn approximations: a dashed outline says so on the map, as "(approx.)"
# does in the legend and the tooltip, so nobody reads them as surveyed lines.
APPROX_DASH = (3, 2)


def area_layers(layer_id, features: dict, cam: labels.Camera | None = None) -> list[pdk.Layer]:
    if layer_id == "front" and cam is not None:  # fine dashes near the camera, coarse ones beyond
        near = screenlines.neighbourhood(cam.longitude, cam.latitude, cam.zoom, (cam.width, cam.height))
        return polygon_layers(layer_id, features, pickable=True, outline=True, zoom=cam.zoom, near=near,
                              dash=APPROX_DASH)
    return polygon_layers(layer_id, features, pickable=True, outline=True)


# --- the deck --------------------------------------------------------------------------------------

def tooltip(palette: style.Palette) -> dict:
    size = "18px" if palette.name == "presenter" else "13px"
    return {"html": "<b>{name}</b><br/>{detail}<br/><i>{claimant}</i><br/>{when}",
            "style": {"fontSize": size, "maxWidth": "360px", "backgroundColor": "rgba(20,20,20,0.92)",
                      "color": "white", "whiteSpace": "normal"}}


def static_layers(data, view: str, present: bool, basemap: dict,
                  viewport: tuple[int, int] | None = None, focus: tuple[str, ...] = (),
                  keep_clear: tuple = ()) -> dict[str, list[FrozenLayer]]:
    """The layers no date step changes (basemap; place markers; place names), frozen. Build
    them once per view, palette, map size, scene focus and the legend's box (`keep_clear`, screen
    boxes no basemap name may sit under) and pass them to build_layers / deck_for."""
    palette = style.palette(present)
    state = MapState(date=pd.Timestamp("2000-01-01"), view=view, present=present, focus=focus)
    cam = label_camera(state, viewport, data.places, data.countries.total_bounds, data.areas)
    near = screenlines.neighbourhood(cam.longitude, cam.latitude, cam.zoom, (cam.width, cam.height))
    under, over = detail_layers(data, style.VIEWS[view], palette, cam, keep_clear)
    return {"basemap": [FrozenLayer(layer) for layer in basemap_layers(basemap, cam.zoom, near)],
            "basemap-detail": [FrozenLayer(layer) for layer in under],
            "basemap-names": [FrozenLayer(layer) for layer in over],
            "places": [FrozenLayer(place_markers_layer(data.places, palette))],
            "labels": [FrozenLayer(place_labels_layer(data.places, style.VIEWS[view], palette, cam), keep_id=True)]}


def detail_layers(data, view: style.View, palette: style.Palette, cam: labels.Camera,
                  keep_clear: tuple = ()) -> tuple[list, list]:
    """The basemap's detail for this camera (geo.render.basemap_layers): lakes, boundaries and rivers to
    draw under the map's own layers, and town dots, names, scale bar and credit to draw over them,
    placed clear of the place names and of `keep_clear` (the legend's box)."""
    placed = labels.place_labels(data.places, view, cam, palette.label_size, basemap_detail.reserved(cam, palette))
    lay = basemap_detail.layout(cam, palette, placed, list(zip(data.places["lon"], data.places["lat"])),
                                keep_clear=tuple(keep_clear))
    return detail_under_layers(lay), detail_over_layers(lay, cam, palette)


def label_camera(state: MapState, viewport: tuple[int, int] | None = None, places=None,
                 bounds=None, areas=None) -> labels.Camera:
    cam = camera(state, viewport, places, bounds, areas)
    size = viewport if viewport and viewport[0] and viewport[1] else \
        style.PRESENTER_MAP if state.focus else style.REFERENCE_MAP
    return labels.Camera(cam.longitude, cam.latitude, cam.zoom, int(size[0]), int(size[1]))


def visible_box(data, state: MapState, viewport: tuple[int, int] | None) -> tuple[float, float, float, float]:
    """The lon/lat box the map of `viewport` shows with the camera it is fitted to."""
    return basemap_detail.bounds(label_camera(state, viewport, data.places, data.countries.total_bounds, data.areas))


def visible_legend(data, view, viewport: tuple[int, int] | None) -> list:
    """The legend of a geo.view.MapView for the map as fitted to `viewport`: the symbols drawn inside
    it, none of those the camera leaves outside (geo.view.mapview.legend_within)."""
    return legend_within(view, visible_box(data, view.state, viewport))


def legend_place(data, view, viewport: tuple[int, int] | None, entries: list | None = None) -> labels.LegendPlace:
    """Where the analyst's legend (`entries`, by default the view's) hides none of the names, markers
    and scale bar a geo.view.MapView draws (geo.render.labels.legend_place)."""
    state = view.state
    entries = view.legend if entries is None else entries
    cam = label_camera(state, viewport, data.places, data.countries.total_bounds, data.areas)
    blocks, minor = legend_blocks(data, state, cam)
    paths = [r["path"] for r in view.features("routes") + view.features("flows")]
    return labels.legend_place(blocks, cam, len(entries), paths, len(" ".join(legend_notes(entries))), minor)


_legend_blocks: dict = {}


def legend_blocks(data, state: MapState, cam: labels.Camera) -> tuple[list, list]:
    """The screen boxes the legend must leave clear, the place names and markers (with the places
    layer) and the scale bar (with the basemap), and those it had better leave clear, the basemap's
    own names and town dots, as detail_layers lays them out. No date changes them: kept per view,
    palette, map and layers."""
    shown = ("places" in state.layers, "basemap" in state.layers)
    key = (data.version, state.view, state.present, state.focus, cam, shown)
    if key not in _legend_blocks:
        palette = style.palette(state.present)
        placed = labels.place_labels(data.places, style.VIEWS[state.view], cam, palette.label_size,
                                     basemap_detail.reserved(cam, palette))
        blocks, minor = [], []
        if shown[0]:
            blocks += [p["box"] for p in placed]
            blocks += [(x - labels.MARKER, y - labels.MARKER, x + labels.MARKER, y + labels.MARKER)
                       for x, y in (cam.pixel(lon, lat) for lon, lat in zip(data.places["lon"], data.places["lat"]))]
        if shown[1]:
            lay = basemap_detail.layout(cam, palette, placed if shown[0] else [],
                                        list(zip(data.places["lon"], data.places["lat"])))
            blocks += lay.scale.boxes()
            minor += [n["box"] for n in lay.names]
            minor += [(x - t["radius"] - 1, y - t["radius"] - 1, x + t["radius"] + 1, y + t["radius"] + 1)
                      for t in lay.towns for x, y in [cam.pixel(*t["position"])]]
        if len(_legend_blocks) > 64:
            _legend_blocks.clear()
        _legend_blocks[key] = blocks, minor
    return _legend_blocks[key]


def view_layers(data, view, basemap: dict, static: dict | None = None, extra: list | None = None,
                viewport: tuple[int, int] | None = None, images: list | None = None) -> list:
    """A geo.view.MapView's layers, bottom to top: areas, the click bands of legs and arcs,
    workspace layers (`extra`, so an analyst's own points beside a leg stay clickable), legs and
    arcs, place markers, dated points, then place names over all. `static` (from
    static_layers, for the same view and palette) stands in for the basemap and places."""
    state, records = view.state, view.records
    palette = style.palette(state.present)
    o = style.OKABE_ITO
    camera_view = style.VIEWS[state.view]
    near = neighbourhood(camera_view)
    builders = {
        "basemap": lambda: basemap_layers(basemap, camera_view.zoom, near),
        "front": lambda: area_layers("front", records["front"], label_camera(
            state, viewport, data.places, data.countries.total_bounds, data.areas)),
        "factories": lambda: area_layers("factories", records["factories"]),
        "routes-hit": lambda: [hit_layer("routes-hit", records["routes"], camera_view.zoom, near)],
        "flows-hit": lambda: [hit_layer("flows-hit", records["flows"], camera_view.zoom)],
        "routes": lambda: routes_layers(records["routes"], camera_view),
        "flows": lambda: [flows_layer(records["flows"])],
        "places": lambda: [place_markers_layer(data.places, palette)],
        "railcars": lambda: [railcars_layer(records["railcars"], palette, view.railcar_radii)],
        "events": lambda: [points_layer("events", records["events"], o["yellow"], palette)],
        "strikes": lambda: [points_layer("strikes", records["strikes"], o["vermillion"], palette)],
        "labels": lambda: [place_labels_layer(data.places, style.VIEWS[state.view], palette,
                                              label_camera(state, viewport, data.places, data.countries.total_bounds, data.areas))],
    }
    detail = functools.cache(lambda: detail_layers(data, style.VIEWS[state.view], palette, label_camera(
        state, viewport, data.places, data.countries.total_bounds, data.areas)))
    builders.update({"basemap-detail": lambda: detail()[0], "basemap-names": lambda: detail()[1]})
    for layer_id, frozen in (static or {}).items():
        builders[layer_id] = lambda frozen=frozen: frozen
    shown = set(state.layers) | {f"{l}-hit" for l in ("routes", "flows") if l in state.layers} | (
        {"labels"} if "places" in state.layers else set()) | (
        {"basemap-detail", "basemap-names"} if "basemap" in state.layers else set())
    out = []
    for layer_id in ("basemap", "basemap-detail", "images", "front", "factories", "routes-hit", "flows-hit", "extra",
                     "routes", "flows", "places", "railcars", "events", "strikes", "labels", "basemap-names"):
        if layer_id == "extra":
            out += list(extra or [])
        elif layer_id == "images":  # imported images (geo.render.imagery): over the land, under every vector layer
            out += list(images or [])
        elif layer_id in shown:
            out += builders[layer_id]()
    return out


def build_layers(data, state: MapState, basemap: dict, static: dict | None = None,
                 prepared: Prepared | None = None) -> list:
    """The map state's layers, bottom to top (geo.view.build_view, then view_layers)."""
    prepared = prepared or prepare(data, state.filters)
    return view_layers(data, build_view(data, prepared, state), basemap, static)


FOCUS_PADDING = (110, 70)  # pixels kept clear around a scene's places: room for their names
MAX_FOCUS_ZOOM = 9.5


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
    lon, lat = from_world_pixel(cx, cy)
    return lon, lat, zoom


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
    return from_world_pixel(cx, cy)


def camera(state: MapState, viewport: tuple[int, int] | None = None, places=None, bounds=None,
           areas=None) -> pdk.ViewState:
    """The view's preset camera, zoomed so the map of `viewport` (width, height in pixels)
    frames the same area as the preset's reference map (style.REFERENCE_MAP): the whole
    pipeline at 1280 pixels wide as at 1920. A scene's `focus` places (with `places`, the
    places table) are framed instead, at any size, and so are the focus's areas (ids in `areas`,
    geo.view.records.scene_focus), whole. Without a viewport (the first run, before
    the page has reported its size), the presenter's map is taken at its 1280×720 size."""
    view = style.VIEWS[state.view]
    known = bool(viewport and viewport[0] and viewport[1])
    if state.focus and places is not None:
        size = viewport if known else style.PRESENTER_MAP
        chosen = places[places["id"].isin(state.focus)]
        points = list(zip(chosen["lon"], chosen["lat"]))
        if areas is not None:  # an area's box, corner to corner
            for x0, y0, x1, y1 in areas.geometry[areas["id"].isin(state.focus).to_numpy()].bounds.to_numpy():
                points += [(x0, y0), (x1, y1)]
        lon, lat, zoom = fit_bounds(points, size)
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
             viewport: tuple[int, int] | None = None, images: list | None = None) -> CompactDeck:
    """The deck of a geo.view.MapView; `images` are its imported images' layers (geo.render.imagery)."""
    return CompactDeck(
        layers=view_layers(data, view, basemap, static, extra, viewport, images),
        initial_view_state=camera(view.state, viewport, data.places, data.countries.total_bounds, data.areas),
        views=[pdk.View(type="MapView", controller=True)],
        map_provider=None,
        tooltip=tooltip(style.palette(view.state.present)),
    )


def build_deck(data, state: MapState, basemap: dict, static: dict | None = None,
               prepared: Prepared | None = None, extra: list | None = None) -> CompactDeck:
    prepared = prepared or prepare(data, state.filters)
    return deck_for(data, build_view(data, prepared, state), basemap, static, extra)


# --- the basemap's detail as deck layers (geo.render.basemap_layers lays it out) ----------------------

def detail_under_layers(lay) -> list:
    """Lakes, boundaries and rivers: drawn over the country fills, under everything else."""
    fills, get = shared_accessors(lay.lakes, ("fill",))
    # One layer per line style: each piece is then four numbers, its width and colour shared.
    styles = sorted({(r["width"], tuple(r["color"])) for r in lay.lines})
    return [pdk.Layer("SolidPolygonLayer", id="basemap-lakes", data=fills, get_polygon="polygon",
                      get_fill_color=get["fill"], pickable=False, auto_highlight=False, parameters=FLAT)] + [
        line_layer(f"basemap-detail-{i}", [r for r in lay.lines if (r["width"], tuple(r["color"])) == s])
        for i, s in enumerate(styles)]


def detail_over_layers(lay, cam: labels.Camera, palette) -> list:
    """Town dots, the names, the scale bar and the credit: drawn over the map's own """
    st = basemap_detail.detail_style(palette)
    out = []
    radii = tuple(sorted(set(basemap_detail.TOWN_RADIUS.values())))
    dots = [{"position": t["position"], "radius": t["radius"]} for t in lay.towns]
    sheet = markers.atlas(tuple(st.town_fill), tuple(st.town_line), 1.0, radii)
    out.append(icon_layer("basemap-towns", [dict(d, icon=markers.icon_key(d["radius"]),
                                                        size=markers.icon_size(d["radius"], 1.0)) for d in dots],
                                 sheet, pickable=False))
    bar = lay.scale
    out.append(line_layer("basemap-scale", [{"path": p, "width": 2, "color": list(st.town_line)}
                                                   for p in bar.pieces(cam)]))
    groups: dict[tuple, list] = {}
    for i, n in enumerate(lay.names):
        groups.setdefault((n["font_px"], tuple(n["color"])), []).append((f"n{i}", n))
    small = (st.small_px, tuple(st.region_text))  # the scale's and credit's text share the province names' image
    groups.setdefault(small, [])
    groups[small] += [("scale", {"label": bar.label, "box": bar.label_box, "position": list(bar.start)}),
                      ("credit", {"label": scalebar.ATTRIBUTION, "box": bar.credit_box,
                                  "position": list(bar.credit_position)})]
    for j, ((font_px, colour), items) in enumerate(sorted(groups.items())):
        sheet = labelatlas.atlas(tuple((key, n["label"]) for key, n in items), font_px, colour, tuple(st.name_box))
        rows = []
        for key, n in items:
            x, y = cam.pixel(*n["position"])
            left, top, right, bottom = n["box"]
            rows.append({"icon": key, "position": n["position"], "size": round(bottom - top, 2),
                         "offset": [round(left - x, 2), round(top - y, 2)]})
        out.append(icon_layer(f"basemap-names-{j}", rows, sheet, pickable=False, offset="offset"))
    return out
