"""A scale bar for a camera: a round distance whose bar is drawn at its true length at the
map's centre latitude, and the discreet "Natural Earth" credit beside it.

Web Mercator stretches a degree of longitude by the same number of pixels at every latitude,
so a bar whose ends are a longitude span apart has the same screen length wherever it stands:
drawn in the map's lower left corner, it measures the ground at the centre. The span is worked
out on the WGS84 ellipsoid (the length of a degree along the parallel), and the bar is one of
1, 2 or 5 times a power of ten kilometres, 60 to 150 pixels long.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from geo.render import labelatlas

A, E2 = 6378137.0, 0.00669437999014  # WGS84 semi-major axis (m) and first eccentricity squared
WORLD = 512
MIN_PX, MAX_PX = 60, 150
MARGIN_X, MARGIN_Y = 14, 16  # the bar's left end and baseline, in pixels from the map's lower left
TICK = 5  # pixels the end ticks rise above the bar
ATTRIBUTION = "Natural Earth"


def metres_per_degree_lon(lat: float) -> float:
    """Length of one degree along the parallel at `lat` on the WGS84 ellipsoid."""
    phi = math.radians(lat)
    return math.pi / 180 * A * math.cos(phi) / math.sqrt(1 - E2 * math.sin(phi) ** 2)


def pixels_per_degree(zoom: float) -> float:
    return WORLD * 2 ** zoom / 360


def nice_km(metres_per_px: float, min_px: float = MIN_PX, max_px: float = MAX_PX) -> float:
    """The round length (1, 2 or 5 × 10^n km) whose bar is longest without passing `max_px`."""
    best = None
    for exp in range(-2, 5):
        for m in (1, 2, 5):
            km = m * 10 ** exp
            px = km * 1000 / metres_per_px
            if min_px <= px <= max_px:
                best = km
    if best is None:  # no round length fits the window: the one nearest it
        best = min((m * 10 ** e for e in range(-2, 5) for m in (1, 2, 5)),
                   key=lambda km: abs(math.log(km * 1000 / metres_per_px / ((min_px + max_px) / 2))))
    return best


def km_text(km: float) -> str:
    return f"{km * 1000:g} m" if km < 1 else f"{km:g} km"


@dataclass(frozen=True)
class ScaleBar:
    km: float
    px: float  # the bar's screen length
    start: tuple[float, float]  # lon/lat of its left end
    end: tuple[float, float]  # lon/lat of its right end
    label: str
    label_box: tuple[float, float, float, float]  # screen box of the distance's text
    bar_box: tuple[float, float, float, float]  # screen box of the bar and ticks
    credit_box: tuple[float, float, float, float]  # screen box of the credit
    credit_position: tuple[float, float]  # lon/lat of the credit's lower right corner

    def boxes(self) -> list[tuple[float, float, float, float]]:
        return [self.bar_box, self.label_box, self.credit_box]

    def pieces(self, camera) -> list[list[list[float]]]:
        """The bar and its two end ticks as lon/lat paths."""
        (x0, y), x1 = camera.pixel(*self.start), camera.pixel(*self.end)[0]
        ticks = [[self.start, unproject(camera, x0, y - TICK)], [self.end, unproject(camera, x1, y - TICK)]]
        return [[list(self.start), list(self.end)]] + [[list(a), list(b)] for a, b in ticks]


def unproject(camera, x: float, y: float) -> tuple[float, float]:
    """lon/lat of the screen pixel (x, y) on `camera` (geo.render.labels.Camera's Web Mercator, inverted)."""
    scale = WORLD * 2 ** camera.zoom / (2 * math.pi)
    cx = scale * math.radians(camera.longitude)
    cy = -scale * math.log(math.tan(math.pi / 4 + math.radians(camera.latitude) / 2))
    mx, my = cx + x - camera.width / 2, cy + y - camera.height / 2
    lon = math.degrees(mx / scale)
    lat = math.degrees(2 * math.atan(math.exp(-my / scale)) - math.pi / 2)
    return round(lon, 5), round(lat, 5)


def metres_per_pixel(camera) -> float:
    """Ground metres per screen pixel along the centre's parallel."""
    return metres_per_degree_lon(camera.latitude) / pixels_per_degree(camera.zoom)


def scale_bar(camera, font_px: float) -> ScaleBar:
    km = nice_km(metres_per_pixel(camera))
    span = km * 1000 / metres_per_degree_lon(camera.latitude)  # degrees of longitude
    px = span * pixels_per_degree(camera.zoom)
    x0, y = MARGIN_X, camera.height - MARGIN_Y
    start = unproject(camera, x0, y)
    end = (round(start[0] + span, 5), start[1])
    label = km_text(km)
    w, h = labelatlas.box_size(label, font_px)
    label_box = (x0 + px / 2 - w / 2, y - TICK - 1 - h, x0 + px / 2 + w / 2, y - TICK - 1)
    bar_box = (x0 - 1, y - TICK - 1, x0 + px + 1, y + 2)
    cw, ch = labelatlas.box_size(ATTRIBUTION, font_px)
    right, bottom = camera.width - 6, camera.height - 4
    credit_box = (right - cw, bottom - ch, right, bottom)
    return ScaleBar(km, px, start, end, label, label_box, bar_box, credit_box, unproject(camera, right, bottom))


def screen_length(bar: ScaleBar, camera) -> float:
    xs, _ = camera.pixels(np.array([bar.start[0], bar.end[0]]), np.array([bar.start[1], bar.end[1]]))
    return float(xs[1] - xs[0])
