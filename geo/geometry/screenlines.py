"""Dashed legs and summary arcs as plain path geometry, so the map draws every line with one
cheap program (geo.render.layers draws them in straight pieces with deck.gl's LineLayer).

Software WebGL (the machines analysts meet in the field: virtual desktops, old laptops)
compiles each distinct layer program at the first frame, a quarter to a whole second apiece.
deck.gl's PathStyleExtension (dashes) and ArcLayer are programs of their own; cutting the
dashes and sampling the arcs here, in Web Mercator metres, draws the same picture with the line
program the map already needs. The standalone HTML export uses the same geometry (pydeck's
bundle has no PathStyleExtension).
"""
from __future__ import annotations

import numpy as np

from geo.geometry.projection import EARTH, WORLD as TILE, from_metres as lonlat, to_metres as mercator  # noqa: F401

FAR_ZOOM = 3.0  # outside the view's neighbourhood, dashes are as long as the overview draws them
ARC_HEIGHT = 0.12  # deck.gl ArcLayer getHeight: the arc's height as a share of its chord
ARC_SAMPLES = 33


def metres_per_pixel(zoom: float) -> float:
    return 2 * np.pi * EARTH / TILE / 2 ** zoom


def neighbourhood(longitude: float, latitude: float, zoom: float, size: tuple[int, int]) -> tuple:
    """Mercator box two maps across around a camera: where a pan of half a map still lands."""
    cx, cy = mercator(longitude, latitude)
    half_w, half_h = size[0] * metres_per_pixel(zoom), size[1] * metres_per_pixel(zoom)
    return float(cx - half_w), float(cy - half_h), float(cx + half_w), float(cy + half_h)


def lonlat_rounded(x, y, digits: int) -> list[list[float]]:
    lon, lat = lonlat(x, y)
    return [[round(float(a), digits), round(float(b), digits)] for a, b in zip(lon, lat)]


def _dashes(xy: np.ndarray, dash: float, gap: float, unit) -> list[np.ndarray]:
    """Cut a polyline (mercator metres) into dashes of `dash` and gaps of `gap` line units;
    unit(x, y) is the unit's length in metres where a dash starts, so one line can dash finely
    near the view and coarsely far from it."""
    cum = np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(xy, axis=0).T))])
    pieces, start = [], 0.0
    while start < cum[-1]:
        u = unit(np.interp(start, cum, xy[:, 0]), np.interp(start, cum, xy[:, 1]))
        end = min(start + dash * u, cum[-1])
        inner = (cum > start) & (cum < end)
        at = np.concatenate([[start], cum[inner], [end]])
        pieces.append(np.column_stack([np.interp(at, cum, xy[:, 0]), np.interp(at, cum, xy[:, 1])]))
        start = end + gap * u
    return pieces


def dash_records(rows: list[dict], zoom: float, near: tuple | None = None, digits: int = 5,
                 keep: tuple[str, ...] | None = None) -> list[dict]:
    """Records whose `dash` is (dash, gap) in line widths, deck.gl's getDashArray, cut into one
    record per dash as long as the PathStyleExtension draws it at `zoom`; outside `near` (a
    mercator box, see neighbourhood) as long as it is at FAR_ZOOM, so a close-up view does not
    send thousands of dashes it cannot show. Solid records pass; `keep` names the fields
    each dash carries (all, by default)."""
    out = []
    for r in rows:
        dash, gap = (r.get("dash") or (0, 0))[:2]
        if not dash or not gap or len(r["path"]) < 2:
            out.append(r)
            continue
        fine, coarse = r["width"] * metres_per_pixel(zoom), r["width"] * metres_per_pixel(min(zoom, FAR_ZOOM))

        def unit(x, y):
            inside = near is None or (near[0] <= x <= near[2] and near[1] <= y <= near[3])
            return fine if inside else coarse

        x, y = mercator(*np.asarray(r["path"], float).T)
        fields = {k: r[k] for k in keep} if keep else r
        for piece in _dashes(np.column_stack([x, y]), dash, gap, unit):
            out.append(dict(fields, path=lonlat_rounded(piece[:, 0], piece[:, 1], digits)))
    return out


def arc_path(source, target, height: float = ARC_HEIGHT, samples: int = ARC_SAMPLES) -> list[list[float]]:
    """The curve deck.gl's ArcLayer draws flat on the map (getTilt -90, pitch 0): a half-ellipse
    on the chord in Web Mercator, `height` × the chord at its middle, bulging to the right of
    the direction of travel."""
    (x0, x1), (y0, y1) = mercator([source[0], target[0]], [source[1], target[1]])
    t = np.linspace(0.0, 1.0, samples)
    dx, dy = x1 - x0, y1 - y0
    bulge = height * np.sqrt(t * (1 - t))
    x = x0 + dx * t + dy * bulge
    y = y0 + dy * t - dx * bulge
    return lonlat_rounded(x, y, 4)
