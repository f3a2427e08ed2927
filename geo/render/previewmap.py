"""A small map of where an import's features lie (its bounds over a coarse copy of the bundled
basemap), for the page's import preview. pydeck only: no Streamlit, no network (no map style
is set), and the basemap is simplified once per process to keep the preview's JSON small."""
from __future__ import annotations

import json
import math
from functools import lru_cache
from pathlib import Path

import pydeck as pdk
import shapely

BASEMAP = Path(__file__).resolve().parents[2] / "data" / "basemap" / "countries_overview.geojson"
LAND, BORDER, BOX = [214, 210, 200], [150, 150, 150], [230, 120, 20]


@lru_cache(maxsize=1)
def coarse_countries() -> tuple:
    """The overview countries simplified to about 20 km."""
    doc = json.loads(BASEMAP.read_text(encoding="utf-8"))
    geoms = [shapely.simplify(shapely.from_geojson(json.dumps(f["geometry"])), 0.2, preserve_topology=True)
             for f in doc["features"]]
    return tuple(shapely.set_precision(g, 0.01) for g in geoms if not g.is_empty)


def coarse_basemap(around) -> dict:
    """The coarse countries that meet a box twice the size of `around` (min x, min y, max x, max y)."""
    minx, miny, maxx, maxy = around
    pad = max(maxx - minx, maxy - miny, 1.0)
    view = shapely.box(minx - pad, miny - pad, maxx + pad, maxy + pad)
    return {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {}, "geometry": json.loads(shapely.to_geojson(g))}
        for g in coarse_countries() if g.intersects(view)]}


def bounds_deck(bounds) -> pdk.Deck:
    """The bounds (lon/lat: min x, min y, max x, max y) as an outlined box, framed."""
    minx, miny, maxx, maxy = (float(v) for v in bounds)
    ring = [[minx, miny], [maxx, miny], [maxx, maxy], [minx, maxy], [minx, miny]]
    span = max(maxx - minx, (maxy - miny) * 1.6, 0.02)
    zoom = max(0.0, min(11.0, math.log2(360.0 / span) - 1.2))
    land = pdk.Layer("GeoJsonLayer", id="preview-basemap", data=coarse_basemap((minx, miny, maxx, maxy)), filled=True, stroked=True,
                     get_fill_color=LAND, get_line_color=BORDER, line_width_min_pixels=1, pickable=False)
    box = pdk.Layer("PolygonLayer", id="preview-bounds", data=[{"polygon": ring}], get_polygon="polygon",
                    filled=True, stroked=True, get_fill_color=BOX + [50], get_line_color=BOX + [255],
                    line_width_min_pixels=2, pickable=False)
    view = pdk.ViewState(longitude=(minx + maxx) / 2, latitude=(miny + maxy) / 2, zoom=zoom, pitch=0)
    return pdk.Deck(layers=[land, box], initial_view_state=view, map_provider=None, tooltip=False)
