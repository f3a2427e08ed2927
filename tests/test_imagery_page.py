"""Imported images on the page (AppTest): two GeoTIFFs of the Tumangang yard, made with rasterio and
imported through the importer into the workspace, drawn in their months, clickable, in the legend,
with the yard's series and a before/after pair. The browser test (tests/test_imagery_browser.py)
uploads them through the sidebar."""
import json

import pytest
from streamlit.testing.v1 import AppTest

from conftest import ROOT, shown
from imagery_files import BLUE, RED, geotiff
from geo.render import layers

APP = str(ROOT / "app.py")


@pytest.fixture
def yard_images(tmp_path, monkeypatch):
    """A fresh SQLite workspace holding two dated images of the yard (June red, August blue)."""
    monkeypatch.setenv("GEO_WORKSPACE", str(tmp_path / "ws.sqlite"))
    from geo.imports.importer import read_file
    from geo.store.workspace import Workspace
    ws = Workspace()
    ws.add(read_file(geotiff(tmp_path / "yard_june.tif", RED, "2024-06-17", crs="EPSG:32652"),
                     image_source="Test imagery A", image_licence="CC BY 4.0"))
    ws.add(read_file(geotiff(tmp_path / "yard_august.tif", BLUE, "2024-08-05"),
                     image_source="<b>Test imagery B</b>", image_licence="public domain"))
    return ws


def run(at: AppTest) -> AppTest:
    at.run()
    assert not at.exception, at.exception
    return at


def deck(at) -> dict:
    return json.loads(at.get("deck_gl_json_chart")[0].proto.json)


def bitmaps(at) -> list[dict]:
    return [l for l in deck(at)["layers"] if l["@@type"] == "BitmapLayer"]


def opened(month: str, **params) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params.update({"date": month, "view": "tumen", **params})
    return run(at)


def legend(at) -> str:
    return "\n".join(m.value for m in at.markdown if 'data-testid="legend"' in m.value)


def test_each_image_shows_in_its_month_under_the_vector_layers_and_in_the_legend(yard_images):
    at = opened("2024-06")
    ids = [layers.layer_name(l["id"]) for l in deck(at)["layers"]]
    assert [b["id"] for b in bitmaps(at)] == ["image-1"]
    assert ids.index("image-1") < ids.index("routes-hit") < ids.index("routes") < ids.index("places")
    # the picture goes by the server's media address (AppTest's is /mock/media/...), not inside the deck
    assert "/media/" in bitmaps(at)[0]["image"] and bitmaps(at)[0]["image"].endswith(".png")
    assert "Image 2024-06-17: Test imagery A, CC BY 4.0" in legend(at)
    at.select_slider(key="date").set_value("2024-07")
    run(at)
    assert bitmaps(at) == [] and "Image 2024-" not in legend(at)
    at.select_slider(key="date").set_value("2024-08")
    run(at)
    assert [b["id"] for b in bitmaps(at)] == ["image-2"]
    assert "&lt;b&gt;Test imagery B&lt;/b&gt;" in legend(at) and "<b>Test imagery B" not in legend(at)


def test_the_latest_image_setting_and_the_opacity_control(yard_images):
    at = opened("2024-07")
    assert bitmaps(at) == []
    at.sidebar.segmented_control(key="image_show").set_value("latest")
    run(at)
    assert [b["id"] for b in bitmaps(at)] == ["image-1"] and bitmaps(at)[0]["opacity"] == 1.0
    at.sidebar.slider(key="image_opacity").set_value(40)
    run(at)
    assert bitmaps(at)[0]["opacity"] == 0.4
    at.select_slider(key="date").set_value("2024-09")
    run(at)
    assert [b["id"] for b in bitmaps(at)] == ["image-2"]


def test_an_image_clicked_shows_its_date_source_and_licence_and_opens_the_yards_series(yard_images):
    at = opened("2024-08", sel="image:img2")
    panel = next(m.value for m in at.markdown if 'data-testid="evidence-panel"' in m.value)
    assert "Image dated 2024-08-05; source: &lt;b&gt;Test imagery B&lt;/b&gt;; licence: public domain." in panel
    assert 'data-testid="evidence-images"' in panel and "<img src=" in panel
    button = at.button(key="series_open_LOC_TUMANGANG_STN")
    assert shown(button.label) == "Images of Tumangang station (Rason): 2 — open the series"
    button.click()
    run(at)
    strip = [shown(m.value) for m in at.markdown if shown(m.value).startswith("**2024-")]
    assert [s.split("**")[1] for s in strip] == ["2024-06-17", "2024-08-05"]
    assert "on the map" in strip[1] and "on the map" not in strip[0]
    pictures = at.get("image")
    assert len(pictures) == 4  # two thumbnails in the strip, and the before/after pair
    assert [shown(c) for p in pictures[2:] for c in p.captions] == ["Image 2024-06-17: Test imagery A, CC BY 4.0",
                                                              "Image 2024-08-05: <b>Test imagery B</b>, public domain"]
    assert at.selectbox(key="series_before").value == 1 and at.selectbox(key="series_after").value == 2  # image ids
    # the series follows the date control: in June the June image is the one on the map
    at.select_slider(key="date").set_value("2024-06")
    run(at)
    strip = [shown(m.value) for m in at.markdown if shown(m.value).startswith("**2024-")]
    assert "on the map" in strip[0] and "on the map" not in strip[1]


def test_a_place_with_images_offers_its_series_in_its_panel(yard_images):
    at = opened("2024-08", sel="place:LOC_TUMANGANG_STN")
    panel = next(m.value for m in at.markdown if 'data-testid="evidence-panel"' in m.value)
    assert "Images of Tumangang station (Rason): 2" in panel
    at.button(key="series_open_LOC_TUMANGANG_STN").click()
    run(at)
    assert any("**Images of Tumangang station (Rason)** (2)" in shown(m.value) for m in at.markdown)


def test_the_command_line_s_html_and_video_carry_the_images_with_their_credit(yard_images, tmp_path):
    import subprocess
    import sys

    from PIL import Image as PILImage
    out = tmp_path / "june.html"
    done = subprocess.run([sys.executable, "-m", "geo", "export", "html", str(out), "--date", "2024-06", "--view",
                           "tumen"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    page = out.read_text()
    assert page.count('"@@type":"BitmapLayer"') == 1 and "data:image/png;base64," in page
    assert "Imagery: Image 2024-06-17: Test imagery A, CC BY 4.0." in page
    gif = tmp_path / "months.gif"
    done = subprocess.run([sys.executable, "-m", "geo", "export", "gif", str(gif), "--from", "2024-06", "--to",
                           "2024-08", "--view", "tumen"], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    frames = PILImage.open(gif)
    assert frames.n_frames == 4  # June, July, August and the sources

    # each month's frame draws that month's image (geo.export.video renders these very slides)
    from geo.data import dataset
    from geo.export import formats, video
    from geo.view import imagery
    from geo.view.records import DEFAULT_LAYERS
    data, pictures = dataset.load(), imagery.from_workspace(yard_images)
    drawn = []
    for shot in video.month_shots(data, "2024-06", "2024-08", view="tumen", layer_ids=DEFAULT_LAYERS + ("images",)):
        fig, _ = formats.slide_figure(data, shot.state, None, 1280, 720, 80, heading=shot.heading,
                                      caption=shot.caption, images=pictures)
        drawn.append(([i.get_gid() for i in fig.axes[0].images],
                      [t.get_text() for t in fig.axes[0].texts if t.get_gid() == "image-credits"]))
    assert drawn == [(["image-1"], ["Imagery: Image 2024-06-17: Test imagery A, CC BY 4.0."]), ([], []),
                     (["image-2"], ["Imagery: Image 2024-08-05: <b>Test imagery B</b>, public domain."])]


def swiped(at) -> dict:
    return {l["id"]: l for l in deck(at)["layers"] if l["id"].startswith("swipe-")}


def test_the_pair_swiped_on_the_map_splits_at_the_divider(yard_images):
    """Swipe: the before image west of the divider, the after image east of it, one over the other
    on the map (each clipped to its side), the divider drawn, both credited in the legend."""
    from geo.view import imagery
    at = opened("2024-07", sel="place:LOC_TUMANGANG_STN")  # a month with no image of its own
    at.button(key="series_open_LOC_TUMANGANG_STN").click()
    run(at)
    assert swiped(at) == {} and len(at.get("image")) == 4  # side by side at first
    at.segmented_control(key="compare").set_value("swipe")
    run(at)
    assert len(at.get("image")) == 2  # the strip's thumbnails; the pair is on the map
    layers_ = swiped(at)
    assert set(layers_) == {"swipe-before", "swipe-after", "swipe-divider"}
    names = [layers.layer_name(l["id"]) for l in deck(at)["layers"]]
    assert names.index("swipe-after") < names.index("routes")  # under the vector layers
    before, after = layers_["swipe-before"], layers_["swipe-after"]
    assert before["extensions"] == [{"@@type": "ClipExtension"}] == after["extensions"]
    assert before["image"] != after["image"] and before["image"].endswith(".png")
    first, second = before["image"], after["image"]
    pictures = imagery.from_workspace(yard_images)
    west, south, east, north = pictures.meta["footprint"].iloc[0].union(pictures.meta["footprint"].iloc[1]).bounds
    assert before["clipBounds"][2] == after["clipBounds"][0] == pytest.approx(west + (east - west) / 2, abs=1e-6)
    assert before["clipBounds"][0] == pytest.approx(west, abs=1e-6) and after["clipBounds"][2] == pytest.approx(east, abs=1e-6)
    assert "Image 2024-06-17: Test imagery A, CC BY 4.0" in legend(at)
    assert "Image 2024-08-05: &lt;b&gt;Test imagery B&lt;/b&gt;, public domain" in legend(at)
    at.slider(key="series_divider").set_value(25)
    run(at)
    before, after = swiped(at)["swipe-before"], swiped(at)["swipe-after"]
    assert before["clipBounds"][2] == after["clipBounds"][0] == pytest.approx(west + (east - west) / 4, abs=1e-6)
    at.selectbox(key="series_before").set_value(2)
    at.selectbox(key="series_after").set_value(1)
    run(at)
    assert (swiped(at)["swipe-before"]["image"], swiped(at)["swipe-after"]["image"]) == (second, first)
    at.button(key="series_close").click()
    run(at)
    assert swiped(at) == {}


def test_the_link_holds_the_image_settings_and_the_swiped_pair(yard_images):
    """Image setting, opacity, the series, its pair, the compare mode and the divider all travel in
    the link: set on the page, written to the URL, and a page opened from that URL shows the same."""
    at = opened("2024-07", sel="place:LOC_TUMANGANG_STN")
    at.sidebar.segmented_control(key="image_show").set_value("latest")
    at.sidebar.slider(key="image_opacity").set_value(60)
    run(at)
    at.button(key="series_open_LOC_TUMANGANG_STN").click()
    run(at)
    at.segmented_control(key="compare").set_value("swipe")
    run(at)
    at.slider(key="series_divider").set_value(30)
    at.selectbox(key="series_before").set_value(2)
    at.selectbox(key="series_after").set_value(1)
    run(at)
    link = {k: at.query_params[k] for k in at.query_params}
    assert {k: link[k] for k in ("image_show", "image_opacity", "series", "compare", "series_before", "series_after",
                                 "series_divider")} == {
        "image_show": "latest", "image_opacity": "60", "series": "LOC_TUMANGANG_STN", "compare": "swipe",
        "series_before": "2", "series_after": "1", "series_divider": "30"}
    picture = {k: v for k, v in swiped(at).items()}
    again = opened(link.pop("date"), **link)
    assert again.sidebar.segmented_control(key="image_show").value == "latest"
    assert again.sidebar.slider(key="image_opacity").value == 60
    assert again.segmented_control(key="compare").value == "swipe" and again.slider(key="series_divider").value == 30
    assert (again.selectbox(key="series_before").value, again.selectbox(key="series_after").value) == (2, 1)
    assert swiped(again) == picture and picture["swipe-before"]["opacity"] == 0.6
    # June's image, the latest by July, would lie under the pair and show through it: the pair stands alone
    assert [b["id"] for b in bitmaps(again)] == ["swipe-before", "swipe-after"]
    assert not any("Ignored" in w.value for w in again.warning)


def test_a_bad_image_value_in_the_link_gets_a_one_line_notice_and_the_default(yard_images):
    at = opened("2024-08", image_show="sometimes", image_opacity="150", series="LOC_TUMANGANG_STN", compare="spin",
                series_before="99", series_divider="-4")
    notices = [shown(w.value) for w in at.warning]
    for words in ("Ignored image_show='sometimes': expected one of month, latest.",
                  "Ignored image_opacity='150': expected a whole number from 0 to 100.",
                  "Ignored compare='spin': expected one of side, swipe.",
                  "Ignored series_divider='-4': expected a whole number from 0 to 100.",
                  "Ignored series_before='99': not an image of this place."):
        assert any(n.startswith(words) for n in notices), (words, notices)
    assert all("\n" not in n for n in notices)
    assert at.sidebar.segmented_control(key="image_show").value == "month"
    assert at.sidebar.slider(key="image_opacity").value == 100 and bitmaps(at)[0]["opacity"] == 1.0
    assert at.segmented_control(key="compare").value == "side" and swiped(at) == {}
    assert (at.selectbox(key="series_before").value, at.selectbox(key="series_after").value) == (1, 2)
    nowhere = opened("2024-08", series="LOC_NOWHERE")
    assert any(shown(w.value).startswith("Ignored series='LOC_NOWHERE': no imported image holds that place.")
               for w in nowhere.warning)


def test_every_image_setting_reopens_from_its_link():
    """to_params then parse_params gives the images' settings and the pair back, for every value
    the controls can take (the defaults left out of the link)."""
    import itertools

    from geo.page import session, state
    for show, opacity, compare, divider in itertools.product(("month", "latest"), range(0, 101, 5), ("side", "swipe"),
                                                             (0, 1, 50, 99, 100)):
        want = {"date": "2024-06", "image_show": show, "image_opacity": opacity, "series": "LOC_TUMANGANG_STN",
                "compare": compare, "series_before": 12, "series_after": 3, "series_divider": divider}
        params = state.to_params(want, session.DEFAULTS)
        values, notices = state.parse_params(params, ["2024-06"], [])
        got = {**session.DEFAULTS, **values}
        assert not notices and {k: got.get(k) for k in want} == want, (want, params)
