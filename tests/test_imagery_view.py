"""Imported images on the map, in the panels and in the exports (geo.view.imagery, geo.render.imagery).

The images here are given as the workspace gives them (one row per image and pyramid level, PNG
bytes per level: geo.store's `images()` and `image_bytes()`); tests/test_imagery_page.py imports
real GeoTIFFs through the page."""
import io
import json

import numpy as np
import pandas as pd
import pytest
from PIL import Image
from shapely.geometry import box

from geo import export as exports
from geo import style
from geo.render import imagery as draw, layers, panels
from geo.view import imagery, mapview, view_for
from geo.view.records import MapState

YARD = (130.595, 42.412, 130.625, 42.430)  # a box round Tumangang station (LOC_TUMANGANG_STN 130.6081, 42.4214)
RED, BLUE = (220, 20, 20), (20, 40, 220)
LAYERS = ("basemap", "places", "routes", "railcars", "images")
HOSTILE = "<img src=x onerror=alert(1)>"


def png(colour, width: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, width * 6 // 10), colour).save(out, "PNG")
    return out.getvalue()


def store_rows(images) -> tuple[pd.DataFrame, dict]:
    """(metadata rows, bytes by (id, level)) for images given as (name, date, colour, source, licence)."""
    rows, blobs = [], {}
    for image_id, (name, date, colour, source, licence) in enumerate(images, 1):
        for level, width in enumerate((1024, 512, 256, 128)):
            blobs[(image_id, level)] = png(colour, width)
            rows.append({"id": image_id, "batch_id": image_id, "name": name, "date": date, "source": source,
                         "licence": licence, "crs_in": "EPSG:32652", "footprint": box(*YARD).wkt, "width": width,
                         "height": width * 6 // 10, "level": level, "bytes": len(blobs[(image_id, level)]),
                         "sha256": ""})
    return pd.DataFrame(rows), blobs


@pytest.fixture
def two_images():
    rows, blobs = store_rows([("yard_june.tif", "2024-06-17", RED, "Test imagery A", "CC BY 4.0"),
                              ("yard_august.tif", "2024-08-05", BLUE, HOSTILE, "public domain")])
    reads = []

    def read(image_id, level):
        reads.append((image_id, level))
        return blobs[(image_id, level)]
    found = imagery.from_rows(rows, read, "v1")
    found.reads = reads
    return found


def state(month: str, view="tumen", mode=None) -> MapState:
    return MapState(date=pd.Timestamp(month) + pd.offsets.MonthEnd(0), view=view, layers=LAYERS)


def test_an_image_shows_in_its_month_or_as_the_latest_of_its_place(data, two_images):
    by_month = {m: list(imagery.shown(two_images, state(m).date)["name"]) for m in ("2024-05", "2024-06", "2024-07",
                                                                                     "2024-08", "2024-09")}
    assert by_month == {"2024-05": [], "2024-06": ["yard_june.tif"], "2024-07": [], "2024-08": ["yard_august.tif"],
                        "2024-09": []}
    latest = {m: list(imagery.shown(two_images, state(m).date, imagery.LATEST)["name"])
              for m in ("2024-05", "2024-07", "2024-09")}
    assert latest == {"2024-05": [], "2024-07": ["yard_june.tif"], "2024-09": ["yard_august.tif"]}
    view = view_for(data, None, state("2024-06"), images=two_images)
    assert [e.label for e in view.legend if e.symbol == "image"] == ["Image 2024-06-17: Test imagery A, CC BY 4.0"]
    off = view_for(data, None, MapState(date=state("2024-06").date, view="tumen", layers=LAYERS[:-1]),
                   images=two_images)
    assert not len(off.images) and not [e for e in off.legend if e.symbol == "image"]


def test_the_bitmap_lies_under_every_vector_layer_at_the_level_the_view_needs(data, two_images):
    view = view_for(data, None, state("2024-06"), images=two_images)
    deck = layers.deck_for(data, view, layers.basemap_features(data.countries, data.countries_detail,
                                                                style.palette(False)),
                           images=draw.view_layers(view, (1280, 720)))
    spec = json.loads(deck.to_json())
    ids = [layers.layer_name(l["id"]) for l in spec["layers"]]
    assert ids.index("image-1") < ids.index("routes-hit") < ids.index("routes")
    assert ids.index("image-1") > ids.index("basemap")
    bitmap = spec["layers"][ids.index("image-1")]
    assert bitmap["@@type"] == "BitmapLayer" and bitmap["bounds"] == pytest.approx(list(YARD))
    assert bitmap["image"].startswith("data:image/png;base64,")  # a plain string, never an expression
    # the yard is ~2.5 km across: at the Tumen view's zoom that is under 128 pixels, so the smallest level is sent
    assert imagery.screen_width(box(*YARD), layers.camera(view.state, (1280, 720)).zoom) < 128
    assert two_images.reads == [(1, 3)]
    # zoomed in far enough, a larger level is chosen
    assert imagery.level_for(two_images.row(1)["levels"], 700) == 0
    assert imagery.level_for(two_images.row(1)["levels"], 300) == 1


def test_a_date_step_that_keeps_the_image_sends_the_same_image_prop(data, two_images):
    """With each place's latest image shown, June to July keeps the June image: its layer is the
    same, byte for byte, so the browser's deck keeps the decoded image (and the page's media
    address for it does not change)."""
    def image_layer(month):
        view = view_for(data, None, state(month), images=two_images, image_mode=imagery.LATEST)
        urls = lambda i, lv: f"/media/{i}-{lv}.png"  # noqa: E731 - what the page's media store gives
        return [json.loads(layers.compact_json(l)) for l in draw.view_layers(view, (1280, 720), urls)]
    june, july, august = image_layer("2024-06"), image_layer("2024-07"), image_layer("2024-08")
    assert june[0] == july[0] and june[0]["image"] == "/media/1-3.png"
    assert august[0]["id"] == "image-2" and august[0]["image"] == "/media/2-3.png"


def test_clicking_an_image_opens_its_date_source_and_licence_escaped(data, two_images):
    view = view_for(data, None, state("2024-08"), images=two_images)
    hit = draw.view_layers(view, (1280, 720))[-1]
    assert hit.id == "images-hit" and hit.pickable
    record = hit.data[0]
    assert mapview.picked_feature(record) == {"kind": "image", "feature_id": "img2", "place_id": "",
                                              "name": "yard_august.tif", "detail": record["detail"],
                                              "when": "2024-08-05"}
    found = mapview.evidence(view, mapview.picked_feature(record))
    html = panels.evidence_panel(found, "", lambda i, lv: f"/media/{i}-{lv}.png")
    assert "Image dated 2024-08-05" in html and "licence: public domain" in html
    assert HOSTILE not in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    assert 'src="/media/2-2.png"' in html  # the thumbnail: the smallest level at least 160 pixels wide
    assert found.image_places == [{"id": "LOC_TUMANGANG_STN", "name": "Tumangang station (Rason)", "images": 2}]


def test_a_places_series_lists_its_images_in_date_order_with_the_claims_of_each_month(data, two_images):
    place = data.places.set_index("id").loc["LOC_TUMANGANG_STN"].to_dict() | {"id": "LOC_TUMANGANG_STN"}
    claims = view_for(data, None, state("2024-08")).prepared.claims
    strip = imagery.series(two_images, place, claims, state("2024-08").date)
    assert [(s["date"], s["on_map"]) for s in strip] == [("2024-06-17", False), ("2024-08-05", True)]
    july = imagery.series(two_images, place, claims, state("2024-07").date)  # no image dated in July...
    assert [s["on_map"] for s in july] == [False, False]
    july = imagery.series(two_images, place, claims, state("2024-07").date, imagery.LATEST)  # ...the June one stays
    assert [s["on_map"] for s in july] == [True, False]
    june_claims = claims[(claims["place_id"] == "LOC_TUMANGANG_STN") & (claims["as_of_date"] >= "2024-06-01")
                         & (claims["as_of_date"] <= "2024-06-30") & (claims["reported_date"] <= "2024-08-31")]
    assert len(june_claims) and {c["id"] for c in strip[0]["claims"]} == set(june_claims["id"])
    assert imagery.places_in(two_images, data.places)["id"].tolist() == ["LOC_TUMANGANG_STN"]
    # a place's own panel offers its series
    view = view_for(data, None, state("2024-08"), images=two_images)
    found = mapview.evidence(view, {"kind": "place", "feature_id": "LOC_TUMANGANG_STN"})
    assert found.image_places[0]["images"] == 2


def test_the_png_slide_and_the_html_carry_the_image_and_its_credit_line(data, two_images):
    june = state("2024-06")
    slide = Image.open(io.BytesIO(exports.export("png", data, june, images=two_images))).convert("RGB")
    from geo.export import formats
    from geo.geometry.screenlines import mercator
    fig, _ = formats.slide_figure(data, june, images=two_images)  # the same slide: where the yard falls on it
    fig.canvas.draw()
    # the yard's south-east corner, a little inside it (the station's marker, name and rail line sit further in)
    x, y = fig.axes[0].transData.transform(np.array(mercator(YARD[2] - 0.002, YARD[1] + 0.0015), float))
    r, g, b = slide.getpixel((round(float(x)), round(slide.height - float(y))))
    assert r > 180 and g < 80 and b < 80, (r, g, b)
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert any("Image 2024-06-17: Test imagery A, CC BY 4.0" in t for t in texts)
    page = exports.export("html", data, june, images=two_images).decode()
    assert page.count('"@@type":"BitmapLayer"') == 1 and "data:image/png;base64," in page
    assert "Imagery: Image 2024-06-17: Test imagery A, CC BY 4.0." in page
    august = exports.export("html", data, state("2024-08"), images=two_images).decode()
    assert HOSTILE not in august


def test_a_claim_may_name_the_images_it_was_read_from(tmp_path, data, two_images, store):
    from geo.imports.importer import read_file
    from geo.store.workspace import Workspace
    claims = tmp_path / "counts.csv"
    claims.write_text(
        "id,metric,family,value,unit,basis,as_of_date,reported_date,claimant,attribution,claimant_type,outlet,url,"
        "place_id,note,images\n"
        "IMG1,railcars_seen,rail,120,railcars,imagery_count,2024-08-05,2024-08-20,Analyst A,Analyst A,think_tank,"
        "Blog,https://example.org/a,LOC_TUMANGANG_STN,counted on the August image,yard_august.tif\n")
    ws = Workspace()
    ws.add(read_file(claims))
    view = view_for(data, ws.snapshot(), MapState(date=state("2024-08").date, view="tumen",
                                                  layers=LAYERS + ("imported",)), images=two_images)
    found = mapview.evidence(view, {"kind": "place", "feature_id": "LOC_TUMANGANG_STN"})
    assert [c["images"] for c in found.claims if c["id"] == "IMG1"] == ["yard_august.tif"]
    assert [i["name"] for i in found.images] == ["yard_august.tif"]
    html = panels.evidence_panel(found, "", lambda i, lv: f"/media/{i}-{lv}.png")
    assert 'data-testid="evidence-images"' in html and 'src="/media/2-2.png"' in html


def test_the_swiped_pair_splits_at_the_divider_and_falls_back_to_the_series_ends(two_images):
    assert imagery.pair_ids([3, 5, 9]) == (3, 9)
    assert imagery.pair_ids([3, 5, 9], "9", 5) == (9, 5)
    assert imagery.pair_ids([3, 5, 9], 7, "x") == (3, 9)  # not of this series: its ends
    west, south, east, north = YARD
    for divider, at in ((0, west), (25, west + (east - west) / 4), (100, east), (-10, west), (140, east)):
        pair = imagery.swipe(two_images, 1, 2, divider, 14)
        assert pair["before"]["clip"] == pytest.approx([west, south, at, north], abs=1e-6)
        assert pair["after"]["clip"] == pytest.approx([at, south, east, north], abs=1e-6)
        assert [c for p in pair["line"] for c in p] == pytest.approx([at, south, at, north], abs=1e-6)
    assert imagery.swipe(two_images, 1, 99, 50, 14) is None
    layers_ = draw.swipe_layers(imagery.swipe(two_images, 2, 1, 50, 14), lambda i, lv: f"/media/{i}-{lv}.png", 0.5)
    assert [(l.id, getattr(l, "image", None)) for l in layers_][:2] == [("swipe-before", "/media/2-0.png"),
                                                                       ("swipe-after", "/media/1-0.png")]


def test_an_image_address_carries_the_servers_path_prefix():
    from ui.sections import under_base_path
    assert under_base_path("/media/ab.png", "dashboard") == "/dashboard/media/ab.png"
    assert under_base_path("/media/ab.png", "/dashboard/") == "/dashboard/media/ab.png"
    assert under_base_path("/media/ab.png", "") == "/media/ab.png"
    assert under_base_path("/dashboard/media/ab.png", "dashboard") == "/dashboard/media/ab.png"
    assert under_base_path("data:image/png;base64,AAAA", "dashboard") == "data:image/png;base64,AAAA"


def test_an_image_under_the_swiped_pair_leaves_the_map_and_the_legend(data):
    """September, latest by then: August's image is on the map; swiping June against a July image,
    August's would show through the pair, so it leaves the map and its credit the legend."""
    from geo.page import compare
    rows, blobs = store_rows([("june.tif", "2024-06-17", RED, "A", "CC BY 4.0"),
                              ("july.tif", "2024-07-09", RED, "B", "CC BY 4.0"),
                              ("august.tif", "2024-08-05", BLUE, "C", "public domain")])
    pictures = imagery.from_rows(rows, lambda i, lv: blobs[(i, lv)])
    view = view_for(data, None, state("2024-09"), images=pictures, image_mode=imagery.LATEST)
    assert list(view.images["name"]) == ["august.tif"]
    pair = draw.swipe_for(view, (1000, 700), 1, 2, 50)
    drawn = [l.id for l in draw.view_layers(view, (1000, 700), lambda i, lv: f"/media/{i}-{lv}.png", 1.0, pair)]
    assert drawn == ["swipe-before", "swipe-after", "swipe-divider"]
    credits = [e.label for e in compare.legend(view, pair) if e.symbol == "image"]
    assert credits == ["Image 2024-06-17: A, CC BY 4.0", "Image 2024-07-09: B, CC BY 4.0"]
    assert [e.label for e in compare.legend(view, None) if e.symbol == "image"] == ["Image 2024-08-05: C, public domain"]
