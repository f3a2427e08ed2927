"""Round markers drawn as icons (geo.render.markers): one program for every marker and name, outlines
as ScatterplotLayer drew them, and no image reloaded on a date step."""
import base64
import io
import json

import pandas as pd
import pytest
from PIL import Image

from geo.model import evidence
from geo.view import records
from geo import style
from geo.render import layers, markers
from geo.model import timeline


def image(sheet) -> Image.Image:
    return Image.open(io.BytesIO(base64.b64decode(sheet.url.split(",", 1)[1]))).convert("RGBA")


@pytest.fixture(scope="module")
def basemap(data):
    return layers.basemap_features(data.countries, None, style.ANALYST)


def deck(data, basemap, month, **kw):
    state = records.MapState(date=timeline.month_end(month + "-01"), **kw)
    return json.loads(layers.build_deck(data, state, basemap).to_json())


@pytest.mark.parametrize("radius", [4, 6, 9, 24.6])
def test_a_marker_keeps_its_outline_width_at_every_radius(radius):
    fill, line = (240, 228, 66, 220), (30, 30, 30, 255)
    sheet = markers.atlas(fill, line, 1.5, (radius,))
    box = sheet.mapping[markers.icon_key(radius)]
    assert box["height"] == round((markers.quantize(radius) * 2 + 1.5) * markers.SCALE)
    assert (box["anchorX"], box["anchorY"]) == (box["width"] / 2, box["height"] / 2)
    middle = [image(sheet).getpixel((box["x"] + x, box["y"] + box["height"] // 2)) for x in range(box["width"])]
    dark = [x for x, p in enumerate(middle) if p[3] > 128 and max(p[:3]) < 120]
    inside = [x for x, p in enumerate(middle) if abs(p[0] - fill[0]) < 20 and abs(p[2] - fill[2]) < 20]
    # The outline, 1.5 screen pixels at two atlas pixels each, on both sides; the fill between.
    assert 4 <= len(dark) <= 8, middle
    assert len(inside) >= box["width"] - 8


def test_the_map_draws_every_marker_and_name_with_one_image_program(data, basemap):
    spec = deck(data, basemap, "2024-11")
    assert {l["@@type"] for l in spec["layers"]} == {"SolidPolygonLayer", "LineLayer", "IconLayer"}
    icons = [l for l in spec["layers"] if l["@@type"] == "IconLayer"]
    assert {layers.layer_name(l["id"]) for l in icons} >= {"places", "strikes", "events", "railcars", "routes-joints",
                                                           "places-labels"}
    # Every accessor read per record, in every icon layer: one vertex layout, so one pipeline.
    accessors = {"getPosition", "getIcon", "getSize", "getColor", "getPixelOffset"}
    assert {frozenset(k for k in l if k.startswith("get")) for l in icons} == {frozenset(accessors)}
    assert all(l[k].startswith("@@=") for l in icons for k in accessors)
    for l in icons:
        if isinstance(l["data"][0], dict):
            assert {r["icon"] for r in l["data"]} <= set(l["iconMapping"]), l["id"]


def test_a_date_step_keeps_the_railcar_markers_image(data, basemap):
    atlases, radii = set(), set()
    for month in pd.period_range("2022-11", "2025-11", freq="M").strftime("%Y-%m"):
        railcars = [l for l in deck(data, basemap, month)["layers"] if l["id"] == "railcars"]
        if railcars and railcars[0]["data"]:
            atlases.add(railcars[0]["iconAtlas"])
            radii |= {r["radius"] for r in railcars[0]["data"]}
            assert {r["icon"] for r in railcars[0]["data"]} <= set(railcars[0]["iconMapping"])
    assert len(radii) > 1 and len(atlases) == 1  # sightings of different sizes, one image for them all


def test_a_filter_that_leaves_no_railcar_sighting_still_draws_the_map(data, basemap):
    # Think-tank claims about munitions and troops: no railcar counts among them, at any date.
    filters = evidence.Filters(claimant_types=("think_tank",), families=("munitions", "troops"))
    state = records.MapState(date=timeline.month_end("2024-11-01"), filters=filters)
    assert records.prepare(data, filters).railcar_radii == ()
    spec = json.loads(layers.build_deck(data, state, basemap).to_json())
    railcars = next(l for l in spec["layers"] if l["id"] == "railcars")
    assert railcars["data"] == [] and railcars["iconAtlas"].startswith("data:image/png;base64,")
