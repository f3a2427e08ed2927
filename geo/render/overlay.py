"""pydeck layers for the workspace's content on the map (geo.view.overlay says what shows)."""
from __future__ import annotations

import geopandas as gpd
import pydeck as pdk

from geo.render.layers import FLAT
from geo.view.overlay import FRONT_RGB, IMPORTED_RGB, feature_collection, track_records

def geojson_layer(layer_id: str, features: dict) -> pdk.Layer:
    return pdk.Layer("GeoJsonLayer", id=layer_id, data=features, pickable=True, auto_highlight=True,
                     stroked=True, filled=True, get_fill_color="properties.fill", get_line_color="properties.line",
                     get_line_width="properties.line_width", line_width_units="'pixels'", point_type="'circle'",
                     get_point_radius=5, point_radius_units="'pixels'", parameters=FLAT)


def imported_layers(shown: dict[str, gpd.GeoDataFrame]) -> list[pdk.Layer]:
    """pydeck layers for visible(), for geo.render.layers.view_layers' `extra` (drawn over the legs' click
    bands, under the legs and places)."""
    out = []
    if "imported-front" in shown and len(shown["imported-front"]):
        out.append(geojson_layer("imported-front", feature_collection(shown["imported-front"], FRONT_RGB,
                                                                      "imported-front", 60)))
    if "imported" in shown and len(shown["imported"]):
        out.append(geojson_layer("imported", feature_collection(shown["imported"], IMPORTED_RGB, "imported")))
    if "tracks" in shown and len(shown["tracks"]):
        out.append(pdk.Layer("PathLayer", id="tracks", data=track_records(shown["tracks"]), pickable=True,
                             auto_highlight=True, get_path="path", get_width="width", width_units="'pixels'",
                             get_color="color", joint_rounded=True, cap_rounded=True, parameters=FLAT))
    return out

