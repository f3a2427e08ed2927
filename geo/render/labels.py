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


# The analyst's legend floats over a corner of the map (geo.render.panels.legend), in a box of exactly
# the width and at most the height placed here (the page sets both; what does not fit scrolls inside
# it), so the box worked out here is the one on screen. One column of 15-pixel rows (a label
# that wraps takes two), a title, padding and a note of 15-pixel lines; 10 pixels from the map's edges.
LEGEND_CORNERS = ("ne", "nw", "se", "sw")  # by preference: north and east are steppe, taiga and sea
LEGEND_MARGIN, LEGEND_ROW, LEGEND_CHROME = 10, 15, 66  # chrome: title, padding, border, the note's margin
LEGEND_WIDTH = 262  # pixels: the longest label ("rail, inferred routing, no volume yet") on one line
LEGEND_NARROW = 200  # pixels: narrower where that clears a name (the longer labels then wrap)
LEGEND_MAX_WIDTH = 0.4  # of the map's width, on a small map (its labels then wrap)
LEGEND_MAX_SHARE = 0.2  # of the map's area the legend may cover
LEGEND_CLOSED = 26  # pixels: the legend folded to its title, where no corner has room for three rows
LEGEND_GAP = 2  # pixels kept between the legend and a name or the scale bar
NOTE_CHARS_PER_LINE = 40  # of the note's text on one line of the legend's width


@dataclass(frozen=True)
class LegendPlace:
    """Where the legend stands: its corner, its box on the map (left, top, right, bottom; the
    page draws it that wide and at most that high) and whether it opens folded."""

    corner: str
    box: tuple[float, float, float, float]
    open: bool = True

    @property
    def width(self) -> int:  # whole pixels, never past the box
        return math.floor(self.box[2] - self.box[0])

    @property
    def height(self) -> int:
        return math.floor(self.box[3] - self.box[1])


def legend_width(camera: Camera, width: float = LEGEND_WIDTH) -> float:
    return min(width, LEGEND_MAX_WIDTH * camera.width)


def legend_height(entries: int, note_chars: int = 0, width: float = LEGEND_WIDTH) -> float:
    """The unfolded legend's height: rows (two for a label of a narrow legend), title and note."""
    per_line = max(1, NOTE_CHARS_PER_LINE * width / LEGEND_WIDTH)
    rows = max(entries, 1) * (1 if width >= LEGEND_WIDTH else 1.5)
    return LEGEND_CHROME + LEGEND_ROW * (math.ceil(rows) + math.ceil(note_chars / per_line))


def legend_box(corner: str, camera: Camera, height: float, width: float = LEGEND_WIDTH) -> tuple[float, float, float, float]:
    width = legend_width(camera, width)
    left = camera.width - LEGEND_MARGIN - width if corner.endswith("e") else LEGEND_MARGIN
    top = LEGEND_MARGIN if corner.startswith("n") else camera.height - LEGEND_MARGIN - height
    return left, top, left + width, top + height


def room(corner: str, camera: Camera, wanted: float, blocks: list, width: float = LEGEND_WIDTH) -> float:
    """How tall the legend can stand in `corner` (up to `wanted`) before it reaches one of `blocks`."""
    left, _, right, _ = legend_box(corner, camera, wanted, width)
    across = [b for b in blocks if b[0] < right + LEGEND_GAP and left - LEGEND_GAP < b[2]]
    if corner.startswith("n"):
        reach = [b[1] - LEGEND_GAP - LEGEND_MARGIN for b in across if b[3] > LEGEND_MARGIN]
    else:
        bottom = camera.height - LEGEND_MARGIN
        reach = [bottom - b[3] - LEGEND_GAP for b in across if b[1] < bottom]
    return max(0.0, min([wanted] + reach))


def legend_place(blocks: list, camera: Camera, entries: int, paths: list = (), note_chars: int = 0,
                 minor: list = ()) -> LegendPlace:
    """Where the legend hides none of `blocks` (the dashboard's place names and markers and the
    scale bar, as screen boxes): the corner where it stands whole, over the fewest of `minor` (the
    basemap's own names and town dots) and then of the vertices of `paths` (the legs and arcs,
    lon/lat), by preference the upper right; where no corner has room for it whole, the corner with
    the most room, the legend cut to that height (it scrolls); where none has room for three rows,
    folded to its title. Never over more than LEGEND_MAX_SHARE of the map."""
    xs, ys = camera.pixels(*np.asarray([point for path in paths for point in path], float).reshape(-1, 2).T)
    options = {}
    for width in dict.fromkeys((legend_width(camera), legend_width(camera, LEGEND_NARROW))):
        wanted = min(legend_height(entries, note_chars, width), LEGEND_MAX_SHARE * camera.width * camera.height / width)
        for corner in LEGEND_CORNERS:
            height = room(corner, camera, wanted, blocks, width)
            box = left, top, right, bottom = legend_box(corner, camera, height, width)
            covered = sum(overlaps(box, b) for b in minor)
            inside_ = int(((xs >= left) & (xs <= right) & (ys >= top) & (ys <= bottom)).sum())
            whole = height >= wanted
            key = (0 if whole else 1, covered if whole else 0, inside_ if whole else -height * width, -width,
                   LEGEND_CORNERS.index(corner))
            options[key] = corner, width, height
    corner, width, height = options[min(options)]
    if height < LEGEND_CHROME + 3 * LEGEND_ROW:
        return LegendPlace(corner, legend_box(corner, camera, LEGEND_CLOSED, width), open=False)
    return LegendPlace(corner, legend_box(corner, camera, height, width))
