"""pydeck layers of the detections in the analyst's tracks (geo.view.ships says what shows).

Port calls, encounters and loitering are round markers (geo.render.markers' atlas, as the
bundled dots are); a gap is a dashed line from where the vessel went dark to where it reappeared,
cut into dashes as the inferred legs are, with an invisible click band under it so a thin line
can be clicked. Every record carries the tooltip fields, so a click opens its evidence.
"""
from __future__ import annotations

import pydeck as pdk

from geo import style
from geo.geometry import screenlines
from geo.render.layers import digits_for, dots_layer, hit_layer, line_layer, neighbourhood
from geo.view import ships
from geo.view.records import rgba

LAYER_PREFIX = "detections"


def detection_layers(view) -> list[pdk.Layer]:
    """The layers of view.shown['detections'] (none when the layer is off or the month has none)."""
    shown = view.shown.get("detections")
    if shown is None or shown.empty:
        return []
    camera_view = style.VIEWS[view.state.view]
    zoom, near = camera_view.zoom, neighbourhood(camera_view)
    records = ships.map_records(shown)
    out = []
    gaps = records["gap"]
    if gaps:
        out.append(hit_layer(f"{LAYER_PREFIX}-gap-hit", gaps, zoom, near))
        dashes = screenlines.dash_records(gaps, zoom, near, digits_for(zoom), keep=("width", "color"))
        out.append(line_layer(f"{LAYER_PREFIX}-gap", dashes, width_min_pixels=1))
    ink = rgba((30, 30, 30))
    for kind in ("port_call", "loitering", "encounter"):
        if records[kind]:
            out.append(dots_layer(f"{LAYER_PREFIX}-{kind.replace('_', '-')}", records[kind],
                                  rgba(ships.RGB[kind], 235), ink, 1.5))
    return out
