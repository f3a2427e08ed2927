"""Imported images as deck layers: one BitmapLayer per image at its footprint, and one
invisible click area over them all (a bitmap's pick carries no record: the area answers with
the image's date, source and licence, as every other feature does).

`url_for(image_id, level)` says where the browser finds a level's PNG. The page passes the
server's media address, which stays the same as long as the image does: a date step that keeps
an image sends the same short string, and deck.gl, seeing the layer's `image` unchanged, neither
fetches nor decodes it again. The exports, which must stand alone, pass `data_url`.
"""
from __future__ import annotations

import base64

import pydeck as pdk

from geo.render import layers
from geo.render.layers import FLAT
from geo.view import imagery
from geo.view.records import TOOLTIP_FIELDS


def data_url(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def image_layers(records: list[dict], url_for, opacity: float = 1.0) -> list[pdk.Layer]:
    """Bitmaps of geo.view.imagery.image_records, oldest first (a newer image draws over an older
    one), then the click area of them all."""
    if not records:
        return []
    # pydeck reads an unquoted string prop as an expression; quoted, it passes the string on as it
    # is (as the icon layers' atlases do). Neither a media path nor a data URL holds a quote.
    out = [pdk.Layer("BitmapLayer", id=f"image-{r['image_id']}", image=f"'{url_for(r['image_id'], r['level'])}'",
                     bounds=r["bounds"], opacity=round(float(opacity), 2), pickable=False, parameters=FLAT)
           for r in records]
    # The fill is read per record, as the legs' click bands read theirs (one vertex layout, see FLAT).
    hit = [dict({k: r[k] for k in TOOLTIP_FIELDS}, polygon=r["polygon"], fill=[255, 255, 255, 0]) for r in records]
    out.append(pdk.Layer("SolidPolygonLayer", id="images-hit", data=hit, get_polygon="polygon",
                         get_fill_color="fill", pickable=True, auto_highlight=True,
                         highlight_color=[255, 255, 255, 50], parameters=FLAT))
    return out


def records_for(view, viewport: tuple[int, int] | None = None) -> list[dict]:
    """geo.view.imagery.image_records of a MapView's images, each at the level its camera needs."""
    if view.images is None or not len(view.images):
        return []
    data = view.data
    cam = layers.camera(view.state, viewport, data.places, data.countries.total_bounds)
    return imagery.image_records(view.images, float(cam.zoom))


def view_layers(view, viewport: tuple[int, int] | None = None, url_for=None, opacity: float = 1.0,
                swiped: dict | None = None) -> list[pdk.Layer]:
    """The image layers of a MapView, each image at the level its camera needs; `url_for` defaults
    to data URLs of the view's images (the standalone exports). With a `swiped` pair (swipe_for),
    its own layers follow, and no other image lies under it: one would show through the pair."""
    if url_for is None:
        url_for = lambda image_id, level: data_url(view.imagery.png(image_id, level))  # noqa: E731
    records = records_for(view, viewport)
    records = [r for r in records if not imagery.under(swiped, r["bounds"])]
    return image_layers(records, url_for, opacity) + swipe_layers(swiped, url_for, opacity)


DIVIDER_RGBA = [255, 255, 255, 255]
DIVIDER_EDGE_RGBA = [20, 20, 20, 200]


def swipe_layers(pair: dict | None, url_for, opacity: float = 1.0) -> list[pdk.Layer]:
    """geo.view.imagery.swipe as deck layers: each image clipped to its side of the divider
    (deck.gl's ClipExtension: the picture stays the one the map already has, so moving the
    divider sends four numbers, not an image), and the divider, white on a dark edge."""
    if not pair:
        return []
    out = [pdk.Layer("BitmapLayer", id=f"swipe-{side}", image=f"'{url_for(r['image_id'], r['level'])}'",
                     bounds=r["bounds"], opacity=round(float(opacity), 2), pickable=False, parameters=FLAT,
                     extensions=[{"@@type": "ClipExtension"}], clip_bounds=r["clip"])
           for side, r in (("before", pair["before"]), ("after", pair["after"]))]
    out.append(layers.line_layer("swipe-divider", [{"path": pair["line"], "width": 5, "color": DIVIDER_EDGE_RGBA},
                                                   {"path": pair["line"], "width": 2, "color": DIVIDER_RGBA}]))
    return out


def swipe_for(view, viewport, before_id, after_id, divider: float) -> dict | None:
    """geo.view.imagery.swipe at the zoom of the view's camera."""
    if view.imagery is None:
        return None
    data = view.data
    cam = layers.camera(view.state, viewport, data.places, data.countries.total_bounds)
    return imagery.swipe(view.imagery, before_id, after_id, divider, float(cam.zoom))
