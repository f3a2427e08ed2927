"""The slide's map (PNG export and video frames, geo.export.slide_figure) on the live map's camera:
the same framing per view and scene, the same names in the same boxes (geo.render.labels and
geo.render.basemap_layers place them; nothing overlaps, nothing is clipped), the basemap's detail, the
scale bar and the Natural Earth credit.

Positions are worked out in the map's own pixels (the camera's width and height), as on the
page, and drawn on the matplotlib axes in axes fractions, so a 1920-pixel frame draws what a
1280-pixel frame does, larger.
"""
from __future__ import annotations

import numpy as np

from geo.render import basemap_layers, labelatlas, labels, layers, scalebar
from geo.geometry.screenlines import mercator

LABEL_GID = "map-label"  # the boxes of every name drawn on the map, for tests and checks


def map_camera(data, state, width_px: float, height_px: float, px_scale: float) -> labels.Camera:
    """The live map's camera (geo.render.layers.label_camera) for a map of this many frame pixels."""
    size = (max(1, round(width_px / px_scale)), max(1, round(height_px / px_scale)))
    return layers.label_camera(state, size, data.places, data.countries.total_bounds, data.areas)


def extent(cam: labels.Camera) -> tuple[float, float, float, float]:
    """The camera's box in Web Mercator metres: x0, x1, y0, y1."""
    lon0, lat0 = scalebar.unproject(cam, 0, cam.height)
    lon1, lat1 = scalebar.unproject(cam, cam.width, 0)
    (x0, x1), (y0, y1) = mercator([lon0, lon1], [lat0, lat1])
    return float(x0), float(x1), float(y0), float(y1)


def draw_name(ax, cam, box, text: str, font_px: float, pt: float, text_rgba, box_rgba, z: float) -> None:
    """A name in its box, where the map stamps it (geo.render.labelatlas draws the same box)."""
    from matplotlib.patches import Rectangle

    left, top, right, bottom = box
    w, h = cam.width, cam.height
    ax.add_patch(Rectangle((left / w, 1 - bottom / h), (right - left) / w, (bottom - top) / h,
                           transform=ax.transAxes, facecolor=np.array(box_rgba) / 255, edgecolor="none",
                           zorder=z, gid=LABEL_GID, clip_on=True))
    ax.text((left + labelatlas.PAD_X) / w, 1 - (top + bottom) / 2 / h, text, transform=ax.transAxes, ha="left",
            va="center", fontsize=font_px * pt, color=np.array(text_rgba) / 255, zorder=z + 0.01, clip_on=True,
            family="DejaVu Sans")


def draw(ax, data, state, cam: labels.Camera, palette, pt: float, show_places: bool, draw_line, polygon_patches,
         colour) -> list[dict]:
    """The place names (when `show_places`), then the basemap's detail and its names, the scale
    bar and the credit. Returns the place names drawn (geo.render.labels records)."""
    view = layers.style.VIEWS[state.view]
    reserve = basemap_layers.reserved(cam, palette)
    placed = labels.place_labels(data.places, view, cam, palette.label_size, reserve) if show_places else []
    lay = basemap_layers.layout(cam, palette, placed, list(zip(data.places["lon"], data.places["lat"])))
    st = basemap_layers.detail_style(palette)
    import shapely
    if lay.lakes:
        polygon_patches([shapely.Polygon(r["polygon"][0]) for r in lay.lakes], colour(st.lake), "none", 0, 1.15)
    for r in lay.lines:
        draw_line(shapely.LineString(r["path"]), colour(r["color"]), r["width"] * pt, 1.2)
    if lay.towns:
        xs, ys = mercator([t["position"][0] for t in lay.towns], [t["position"][1] for t in lay.towns])
        ax.scatter(xs, ys, s=[(t["radius"] * 2 * pt) ** 2 for t in lay.towns], c=[colour(st.town_fill)] * len(xs),
                   edgecolors=colour(st.town_line), linewidths=0.8, zorder=8.5)
    for n in lay.names:
        draw_name(ax, cam, n["box"], n["label"], n["font_px"], pt, n["color"], st.name_box, 9.5)
    for r in placed:
        draw_name(ax, cam, r["box"], r["label"], palette.label_size, pt, palette.text, palette.text_outline, 9.6)
    bar = lay.scale
    for piece in bar.pieces(cam):
        draw_line(shapely.LineString(piece), colour(st.town_line), 2 * pt, 10)
    draw_name(ax, cam, bar.label_box, bar.label, st.small_px, pt, st.region_text, st.name_box, 10)
    draw_name(ax, cam, bar.credit_box, scalebar.ATTRIBUTION, st.small_px, pt, st.region_text, st.name_box, 10)
    return placed
