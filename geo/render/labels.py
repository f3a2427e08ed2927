"""Which place names the map shows, and on which side of their marker, for one camera and map size.

deck.gl draws every label it is given, so crowded places (Rajin, Vladivostok and Ussuriysk
in the overview) piled up and names ran off the map's edge. Here each label's screen box is
worked out from the camera, exactly as deck.gl's Web Mercator projects it, and labels are
placed greedily in priority order: the first side (the preferred one, then right, left,
above, below) whose box stays inside the map and clear of every label already placed and of
every other marker wins; a label with no such side is left out. Each box is the one the map
stamps (geo.render.labelatlas draws the names, so their widths are measured, not guessed).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from geo import style
from geo.geometry import projection
from geo.render import labelatlas

WORLD = 512  # deck.gl's Web Mercator world is 512 pixels wide at zoom 0
LINE_EM = labelatlas.LINE_EM
PAD_X, PAD_Y = labelatlas.PAD_X, labelatlas.PAD_Y  # the box around each name
EDGE = 4  # pixels kept clear at the map's edge
MARKER = 7  # a marker's radius in pixels, plus its outline
KIND_RANK = {"crossing": 0, "port": 1, "rail_station": 2, "depot": 3, "capital": 4, "strike_site": 5,
             "front_area": 6, "factory_region": 7, "summit_site": 8}


@dataclass(frozen=True)
class Camera:
    longitude: float
    latitude: float
    zoom: float
    width: int
    height: int

    def pixel(self, lon: float, lat: float) -> tuple[float, float]:
        """Screen position of lon/lat on this map, in pixels from its top left corner."""
        x, y = self.pixels(lon, lat)
        return float(x), float(y)

    def pixels(self, lon, lat):
        """The same for arrays of longitudes and latitudes, at once."""
        scale = WORLD * 2 ** self.zoom / (2 * math.pi)

        def merc(lo, la):
            return scale * np.radians(lo), -scale * projection.merc_y(la)

        x, y = merc(lon, lat)
        cx, cy = merc(self.longitude, self.latitude)
        return self.width / 2 + x - cx, self.height / 2 + y - cy


def text_box(x: float, y: float, text: str, anchor: str, offset, font_px: float) -> tuple[float, float, float, float]:
    """The box (left, top, right, bottom) of a name whose text starts (anchor 'start'), centres
    ('middle') or ends ('end') at x + offset[0], with the box's bottom at y + offset[1]."""
    width, height = labelatlas.box_size(text, font_px)
    x, y = x + offset[0], y + offset[1]
    left = {"start": x - PAD_X, "middle": x - width / 2, "end": x - width + PAD_X}[anchor]
    return left, y - height, left + width, y


def overlaps(a, b) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def inside(box, camera: Camera) -> bool:
    return box[0] >= EDGE and box[1] >= EDGE and box[2] <= camera.width - EDGE and box[3] <= camera.height - EDGE


def sides(font_px: float) -> tuple:
    """Candidate (text anchor, pixel offset) pairs: right of the marker, left, above, below."""
    mid = round(LINE_EM * font_px / 2)
    return (("start", (10, mid)), ("end", (-10, mid)), ("middle", (0, -9)), ("middle", (0, round(9 + 2 * mid))))


def label_text(name: str) -> str:
    return name.split(" (")[0].split(",")[0]


def place_labels(places, view: style.View, camera: Camera, font_px: float, reserved: tuple = ()) -> list[dict]:
    """Label records (label, position, anchor, offset, box) for the places `view` labels
    (all places on screen when it names none), none overlapping and none clipped, and clear of
    the `reserved` screen boxes (the scale bar and credit, geo.render.scalebar)."""
    rows = {p.id: p for p in places.itertuples()}
    if view.labels is not None:
        wanted = [rows[i] for i in view.labels if i in rows]
    else:
        wanted = sorted(rows.values(), key=lambda p: (KIND_RANK.get(p.kind, 9), p.id))
    screen = {p.id: camera.pixel(p.lon, p.lat) for p in rows.values()}
    markers = {pid: (x - MARKER, y - MARKER, x + MARKER, y + MARKER) for pid, (x, y) in screen.items()}
    placed: list[dict] = []
    for p in wanted:
        x, y = screen[p.id]
        if not (0 <= x <= camera.width and 0 <= y <= camera.height):
            continue
        text = label_text(p.name)
        preferred = style.LABEL_PLACEMENT.get(p.id)
        options = [(a, o, text_box(x, y, text, a, o, font_px)) for a, o in ((preferred,) if preferred else ())
                   + sides(font_px)]
        free = [(a, o, b) for a, o, b in options
                if inside(b, camera) and not any(overlaps(b, q["box"]) for q in placed)
                and not any(overlaps(b, r) for r in reserved)]
        # Clear of other markers if any side is; in a tight cluster, a name over a marker beats no name.
        clear = [(a, o, b) for a, o, b in free if not any(overlaps(b, m) for pid, m in markers.items() if pid != p.id)]
        if clear or free:
            anchor, offset, box = (clear or free)[0]
            placed.append({"label": text, "position": [round(p.lon, 4), round(p.lat, 4)], "anchor": anchor,
                           "offset": list(offset), "box": box, "place_id": p.id})
    return placed


# The analyst's legend floats over a corner of the map (geo.render.panels.legend). Its size as the page's
# CSS lays it out: at most 46% of the map's width, two columns of 17-pixel rows, a title and a
# two-line note; 10 pixels from the map's edges.
LEGEND_CORNERS = ("ne", "nw", "se", "sw")  # by preference: north and east are steppe, taiga and sea
LEGEND_MARGIN, LEGEND_ROW, LEGEND_CHROME = 10, 17, 62


def legend_box(corner: str, camera: Camera, entries: int) -> tuple[float, float, float, float]:
    width = min(0.46 * camera.width, 430)
    height = LEGEND_CHROME + LEGEND_ROW * math.ceil(max(entries, 1) / 2)
    left = camera.width - LEGEND_MARGIN - width if corner.endswith("e") else LEGEND_MARGIN
    top = LEGEND_MARGIN if corner.startswith("n") else camera.height - LEGEND_MARGIN - height
    return left, top, left + width, top + height


def legend_corner(placed: list[dict], camera: Camera, entries: int, paths: list = ()) -> str:
    """The corner whose legend hides the fewest of the names `place_labels` placed and their
    markers, then the fewest vertices of `paths` (the legs and arcs drawn, lon/lat): the upper
    right unless the view's own places or lines are there (the Tumen crossing)."""
    markers = [(x - MARKER, y - MARKER, x + MARKER, y + MARKER) for x, y in (camera.pixel(*p["position"]) for p in placed)]
    # Thousands of vertices on every date step: projected at once.
    xs, ys = camera.pixels(*np.asarray([point for path in paths for point in path], float).reshape(-1, 2).T)

    def hidden(corner: str) -> tuple[int, int, int]:
        left, top, right, bottom = box = legend_box(corner, camera, entries)
        names = sum(overlaps(box, b) for b in [p["box"] for p in placed] + markers)
        inside = int(((xs >= left) & (xs <= right) & (ys >= top) & (ys <= bottom)).sum())
        return names, inside, LEGEND_CORNERS.index(corner)
    return min(LEGEND_CORNERS, key=hidden)
