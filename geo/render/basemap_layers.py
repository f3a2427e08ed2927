"""The basemap's detail for one camera: provincial boundaries, rivers and lakes, towns, province
and sea names, the scale bar and the Natural Earth credit.

Each feature of data/basemap/detail_*.geojson (tools/basemap_detail.py) says from which zoom it
is readable (`minzoom`, on the 726x600 reference map); the camera's own zoom picks what is drawn,
clipped to the camera's neighbourhood and thinned to half a pixel, so a view is sent only the
detail it shows. Names join geo.render.labels' placement: after the dashboard's own place names, in
priority order (capitals, seas, towns by rank, provinces), each takes the first side whose box
stays inside the map and clear of every name, marker, scale bar and credit already placed; a
name with no such side is left out, and so is its town's dot.

Everything is drawn with the map's existing programs: lakes as polygons, boundaries, rivers and
the scale bar as straight line pieces, town dots and names as stamped images (geo.render.markers,
geo.render.labelatlas). geo.export draws the same layout with matplotlib.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
import shapely

from geo.render import labelatlas, labels, markers, scalebar
from geo.geometry import screenlines

BASEMAP_DIR = Path(__file__).resolve().parents[2] / "data" / "basemap"
FILES = ("detail_lines", "detail_lakes", "detail_names")
KIND_ORDER = {"capital": 0, "sea": 1, "town": 2, "river": 3, "region": 4}
TOWN_RADIUS = {"capital": 3.5, "town": 2.5}
SAME_PLACE_DEG = 0.08  # a town this close to one of the dashboard's places is that place
RIVER_NAMES_ZOOM = 4.0  # in the overview, river names would crowd the capitals and the story's places
RIVER_NAME_AT = (0.5, 0.35, 0.65, 0.2, 0.8)  # where along a river its name may sit, by preference
LINE_TOLERANCE_PX = 1.0  # a one-pixel line may stray a pixel: the bends still read
ADMIN_TOLERANCE_PX = 1.5  # a pale boundary, more


@dataclass(frozen=True)
class Style:
    """Colours and sizes of the detail for one palette."""

    river: tuple
    lake: tuple
    admin: tuple
    town_text: tuple
    region_text: tuple
    sea_text: tuple
    river_text: tuple
    name_box: tuple
    town_fill: tuple
    town_line: tuple
    scale: tuple
    town_px: float
    region_px: float
    sea_px: float
    small_px: float
    line_scale: float


def detail_style(palette) -> Style:
    sea = palette.sea
    river = tuple(round(c * 0.72) for c in sea) + (255,)
    admin = (140, 140, 140, 255) if palette.name == "analyst" else (100, 100, 100, 255)
    size = palette.label_size
    return Style(river=river, lake=tuple(sea) + (255,), admin=admin, town_text=(50, 50, 50, 255),
                 region_text=(115, 115, 115, 255), sea_text=(40, 90, 140, 255), river_text=(40, 90, 140, 255), name_box=(255, 255, 255, 150),
                 town_fill=(255, 255, 255, 255), town_line=(70, 70, 70, 255), scale=(115, 115, 115, 255),
                 town_px=round(size * 0.85), region_px=round(size * 0.75), sea_px=round(size * 0.85),
                 small_px=round(size * 0.75), line_scale=1.0 if palette.name == "analyst" else 1.3)


@lru_cache(maxsize=2)
def load(directory: Path = BASEMAP_DIR) -> dict[str, list[dict]]:
    """The detail files as plain features with shapely geometry; missing files give no detail."""
    out = {}
    for stem in FILES:
        path = Path(directory) / f"{stem}.geojson"
        features = json.loads(path.read_text(encoding="utf-8"))["features"] if path.exists() else []
        out[stem] = [dict(f["properties"], geometry=shapely.geometry.shape(f["geometry"])) for f in features]
    return out


def readable(props: dict, zoom: float) -> bool:
    return props["minzoom"] <= zoom + 1e-9 and zoom < props.get("maxzoom", math.inf)


def bounds(cam: labels.Camera, margin: float = 0.0) -> tuple[float, float, float, float]:
    """lon/lat box of the map, widened by `margin` map widths and heights on each side."""
    mx, my = margin * cam.width, margin * cam.height
    lon0, lat0 = scalebar.unproject(cam, -mx, cam.height + my)
    lon1, lat1 = scalebar.unproject(cam, cam.width + mx, -my)
    return lon0, lat0, lon1, lat1


@dataclass
class Layout:
    lines: list[dict] = field(default_factory=list)  # {path, width, color}
    lakes: list[dict] = field(default_factory=list)  # {polygon (rings), fill}
    towns: list[dict] = field(default_factory=list)  # {position, radius, kind}
    names: list[dict] = field(default_factory=list)  # {label, kind, position, box, font_px, color}
    scale: scalebar.ScaleBar | None = None

    def boxes(self) -> list[tuple]:
        return [n["box"] for n in self.names] + (self.scale.boxes() if self.scale else [])


def path_lists(geom) -> list[list[list[float]]]:
    return [[list(map(float, xy)) for xy in g.coords] for g in shapely.get_parts(geom)
            if g.geom_type == "LineString" and len(g.coords) > 1]


def thinned(path: list, zoom: float, tolerance_px: float = LINE_TOLERANCE_PX) -> list:
    x, y = screenlines.mercator(*np.asarray(path, float).T)
    line = shapely.simplify(shapely.LineString(np.column_stack([x, y])),
                            tolerance_px * screenlines.metres_per_pixel(zoom))
    # Rounded to a pixel's width of a degree or finer: at most half a pixel off.
    digits = max(1, math.ceil(-math.log10(360.0 / (512 * 2 ** zoom))))
    return screenlines.lonlat_rounded(*np.asarray(line.coords).T, min(digits, 4))


def reserved(cam: labels.Camera, palette) -> list[tuple]:
    """Screen boxes the scale bar and credit take: kept clear of every name."""
    return scalebar.scale_bar(cam, detail_style(palette).small_px).boxes()


def layout(cam: labels.Camera, palette, placed: list[dict] = (), place_points: list = (),
           directory: Path = BASEMAP_DIR, keep_clear: tuple = ()) -> Layout:
    """What the camera shows of the basemap's detail. `placed` are the place names already on the
    map (geo.render.labels.place_labels) and `place_points` (lon, lat) the dashboard's places: both stay
    clear, and a town on one of those places is left to it. `keep_clear` are screen boxes that float
    over the map (the analyst's legend): a name goes to a side clear of them, or is left out with its
    town's dot."""
    st = detail_style(palette)
    detail = load(Path(directory))
    out = Layout(scale=scalebar.scale_bar(cam, st.small_px))
    clip = shapely.box(*bounds(cam, 0.05))
    view = shapely.box(*bounds(cam))
    river_names = []
    for f in detail["detail_lines"]:
        if not readable(f, cam.zoom) or not f["geometry"].intersects(clip):
            continue
        geom = shapely.intersection(f["geometry"], clip)
        river = f["kind"] == "river"
        if river and f["name"] and cam.zoom >= RIVER_NAMES_ZOOM:
            seen = [g for g in shapely.get_parts(shapely.intersection(f["geometry"], view)) if g.length > 0]
            if seen:  # the name sits halfway along the longest stretch in view
                longest = max(seen, key=lambda g: g.length)
                river_names.append({"kind": "river", "name": f["name"], "minzoom": f["minzoom"],
                                    "rank": f.get("rank", 9), "geometry": longest.interpolate(0.5, normalized=True),
                                    "along": [longest.interpolate(t, normalized=True) for t in RIVER_NAME_AT]})
        width = 1.6 if river and f.get("rank", 9) <= 4 else 1.0
        for path in path_lists(geom):
            drawn = thinned(path, cam.zoom, LINE_TOLERANCE_PX if river and cam.zoom >= 6.5 else ADMIN_TOLERANCE_PX)
            if len(drawn) > 1:
                out.lines.append({"path": drawn, "width": round(width * st.line_scale, 2),
                                  "color": list(st.river if river else st.admin)})
    for f in detail["detail_lakes"]:
        if not readable(f, cam.zoom) or not f["geometry"].intersects(clip):
            continue
        for poly in shapely.get_parts(shapely.intersection(f["geometry"], clip)):
            if poly.geom_type == "Polygon" and not poly.is_empty:
                rings = [thinned(list(poly.exterior.coords), cam.zoom, ADMIN_TOLERANCE_PX)]
                if len(rings[0]) >= 4:
                    out.lakes.append({"polygon": rings, "fill": list(st.lake)})
    out.towns, out.names = place_names(cam, st, detail["detail_names"] + river_names, list(placed), list(place_points),
                                       out.scale.boxes() + list(keep_clear))
    return out


def grown(box, px: float = 1.0) -> tuple:
    return box[0] - px, box[1] - px, box[2] + px, box[3] + px


def place_names(cam, st: Style, features: list[dict], placed: list[dict], place_points: list, reserve: list):
    view = shapely.box(*bounds(cam))
    own_names = {p["label"].lower() for p in placed}
    points = np.asarray(place_points, float).reshape(-1, 2)
    px, py = cam.pixels(points[:, 0], points[:, 1]) if len(points) else (np.array([]), np.array([]))
    blocked = list(reserve) + [p["box"] for p in placed] + [
        (x - labels.MARKER, y - labels.MARKER, x + labels.MARKER, y + labels.MARKER) for x, y in zip(px, py)]
    candidates = [f for f in features if readable(f, cam.zoom) and f["name"] and view.contains(f["geometry"])]
    candidates.sort(key=lambda f: (KIND_ORDER[f["kind"]], f["minzoom"], f.get("rank", 9), f["name"]))
    towns, names = [], []
    for f in candidates:
        lon, lat = f["geometry"].x, f["geometry"].y
        kind, text = f["kind"], f["name"]
        if kind in TOWN_RADIUS:
            if text.lower() in own_names or (len(points) and np.hypot(points[:, 0] - lon, points[:, 1] - lat).min()
                                            < SAME_PLACE_DEG):
                continue
        x, y = cam.pixel(lon, lat)
        if kind in TOWN_RADIUS:
            font_px, colour = st.town_px, st.town_text
            r = TOWN_RADIUS[kind] + 1
            dot = (x - r, y - r, x + r, y + r)
            if not labels.inside(dot, cam) or any(labels.overlaps(dot, b) for b in blocked):
                continue
            options = [labels.text_box(x, y, text, a, o, font_px) for a, o in labels.sides(font_px)]
        else:
            text = text.upper() if kind == "region" else text
            font_px = st.region_px if kind == "region" else st.sea_px
            colour = st.region_text if kind == "region" else st.sea_text if kind == "sea" else st.river_text
            half = labelatlas.box_size(text, font_px)[1] / 2
            spots = [(g.x, g.y) for g in f.get("along", [f["geometry"]])]
            options = [labels.text_box(*cam.pixel(*xy), text, "middle", (0, half), font_px) for xy in spots]
            dot = None
        # A pixel apart: the stamped image is its box rounded to the atlas's pixels.
        free = [b for b in options if labels.inside(b, cam) and not any(labels.overlaps(grown(b), q) for q in blocked)]
        if dot is not None:
            free = [b for b in free if not labels.overlaps(b, dot)]
        if not free:
            continue
        box = free[0]
        if dot is None:  # the name's own spot (a river's may be off its middle)
            x = (box[0] + box[2]) / 2
            lon, lat = scalebar.unproject(cam, x, box[3] - labelatlas.box_size(text, font_px)[1] / 2)
        blocked.append(box)
        if dot is not None:
            blocked.append(dot)
            towns.append({"position": [round(lon, 4), round(lat, 4)], "radius": TOWN_RADIUS[kind], "kind": kind})
        names.append({"label": text, "kind": kind, "position": [round(lon, 4), round(lat, 4)], "box": box,
                      "font_px": font_px, "color": colour})
    return towns, names
