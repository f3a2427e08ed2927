"""The before/after pair swiped on the map, in headless Chromium against a real `streamlit run`:
two GeoTIFFs of the Tumangang yard (red in June 2024, blue in August) in the workspace, the yard's
series opened, the swipe chosen, and the divider dragged: west of it the map shows the June image,
east of it the August one.

Skips without Chromium on a laptop; fails under CI=true."""
import io

import pytest
from PIL import Image

from bench.browser import CHART, Server, changed_pixels
from imagery_files import BLUE, RED, geotiff
from test_imagery_browser import bluish, colour_at, reddish
from test_browser import ARTIFACTS, WAIT_MS, chromium, open_app, page, screen_xy, shot, wait_drawn, wait_idle  # noqa: F401

pytestmark = pytest.mark.browser
WIDE = (130.45, 42.33, 130.75, 42.50)  # the yard and its approaches, some 250 px across in the Tumen view
NORTH = 42.485  # the probes' latitude: near the images' north edge, clear of the station's name and the rail


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    from geo.imports.importer import read_file
    from geo.store.workspace import Workspace
    folder = tmp_path_factory.mktemp("swipe")
    target = str(folder / "ws.sqlite")
    ws = Workspace(target)
    ws.add(read_file(geotiff(folder / "yard_june.tif", RED, "2024-06-17", bounds=WIDE, size=(600, 340)),
                     image_source="Test imagery A", image_licence="CC BY 4.0"))
    ws.add(read_file(geotiff(folder / "yard_august.tif", BLUE, "2024-08-05", bounds=WIDE, size=(600, 340)),
                     image_source="Test imagery B", image_licence="public domain"))
    srv = Server({"GEO_WORKSPACE": target})
    yield srv
    srv.stop()


def row_at(page, lon, lat, half=5):
    """The map's pixels from `half` left to `half` right of a lon/lat."""
    x, y = screen_xy(page, lon, lat, "tumen")
    box = page.locator(CHART).first.bounding_box()
    im = Image.open(io.BytesIO(page.locator(CHART).first.screenshot())).convert("RGB")
    return [im.getpixel((round(x - box["x"]) + dx, round(y - box["y"]))) for dx in range(-half, half + 1)]


def lon_at(share: float) -> float:
    return WIDE[0] + (WIDE[2] - WIDE[0]) * share


def drag_divider(page, share: float, key: str = "series_divider", start_share: float = 0.5):
    """Drag a slider's thumb from `start_share` to about `share` of its track, as a hand would
    (the slider's box is about as wide as its track; the test reads the value it landed on)."""
    slider = page.locator(f".st-key-{key}")
    slider.scroll_into_view_if_needed()
    width = slider.bounding_box()["width"]
    start = slider.get_by_role("slider").bounding_box()
    x, y = start["x"] + start["width"] / 2, start["y"] + start["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + (share - start_share) * width, y, steps=8)
    page.mouse.up()


def test_the_divider_splits_the_map_between_the_before_and_the_after_image(page, server):
    open_app(page, server.url, "date=2024-07&view=tumen&sel=place:LOC_TUMANGANG_STN")  # July: no image of its own
    assert not reddish(colour_at(page, lon_at(0.2), NORTH)) and not bluish(colour_at(page, lon_at(0.8), NORTH))
    page.get_by_role("button", name="Images of Tumangang station (Rason): 2 — open the series").click()
    page.locator(".st-key-image_series").wait_for(timeout=WAIT_MS)
    wait_idle(page)
    page.get_by_text("swipe on the map", exact=True).click()
    page.locator(".st-key-series_divider").wait_for(timeout=WAIT_MS)
    wait_idle(page)
    wait_drawn(page)
    left, right = colour_at(page, lon_at(0.3), NORTH), colour_at(page, lon_at(0.7), NORTH)
    assert reddish(left) and bluish(right), (left, right)  # June west of the divider at half way, August east
    page.locator("h1").first.scroll_into_view_if_needed()
    shot(page, "imagery-swipe-half")
    line = row_at(page, lon_at(0.5), NORTH)
    assert any(min(rgb) > 220 for rgb in line), line  # the divider's white line on its dark edge

    drag_divider(page, 0.75)
    value = page.locator('.st-key-series_divider input[type="range"]')
    page.wait_for_function("input => input.value !== '50'", arg=value.element_handle(), timeout=WAIT_MS)
    wait_idle(page)
    wait_drawn(page)
    share = int(value.input_value()) / 100
    assert 0.6 <= share <= 0.9, share  # where the hand let go
    west, east = colour_at(page, lon_at(share - 0.08), NORTH), colour_at(page, lon_at(share + 0.08), NORTH)
    assert reddish(west) and bluish(east), (share, west, east)
    assert reddish(colour_at(page, lon_at(0.6), NORTH))  # east of the old divider, west of the new: now June
    page.locator("h1").first.scroll_into_view_if_needed()
    shot(page, "imagery-swipe-moved")
    assert page.errors == []


def controls(page) -> dict:
    """What the image controls show: the chosen image setting and compare mode, the two sliders."""
    def active(label):
        return page.get_by_role("radio", name=label, exact=True).get_attribute("aria-checked") == "true"
    return {"latest": active("latest by then"), "swipe": active("swipe on the map"),
            "opacity": page.locator('.st-key-image_opacity input[type="range"]').input_value(),
            "divider": page.locator('.st-key-series_divider input[type="range"]').input_value(),
            "before": page.locator(".st-key-series_before").inner_text(),
            "after": page.locator(".st-key-series_after").inner_text()}


def test_a_copied_link_reopens_the_same_images_settings_and_swipe(page, server, chromium):
    open_app(page, server.url, "date=2024-09&view=tumen&sel=place:LOC_TUMANGANG_STN")
    page.get_by_text("latest by then", exact=True).click()
    wait_idle(page)
    page.locator('.st-key-image_opacity input[type="range"]').focus()
    for _ in range(8):  # 5 % a press: 100 % down to 60 %
        page.keyboard.press("ArrowLeft")
    page.wait_for_function("() => location.search.includes('image_opacity=60')", timeout=WAIT_MS)
    wait_idle(page)
    page.get_by_role("button", name="Images of Tumangang station (Rason): 2 — open the series").click()
    page.locator(".st-key-image_series").wait_for(timeout=WAIT_MS)
    wait_idle(page)
    page.get_by_text("swipe on the map", exact=True).click()
    page.locator(".st-key-series_divider").wait_for(timeout=WAIT_MS)
    wait_idle(page)
    drag_divider(page, 0.3)
    page.wait_for_function("() => /series_divider=\\d/.test(location.search)", timeout=WAIT_MS)
    wait_idle(page)
    page.locator("h1").first.scroll_into_view_if_needed()
    first = Image.open(io.BytesIO(wait_drawn(page))).convert("RGB")
    here = controls(page)
    assert here["latest"] and here["swipe"] and here["opacity"] != "100" and here["divider"] != "50", here
    copied = page.url
    for name in ("image_show=latest", "image_opacity=", "series=LOC_TUMANGANG_STN", "compare=swipe",
                 "series_before=1", "series_after=2", "series_divider="):
        assert name in copied, (name, copied)

    other = chromium.new_page(viewport={"width": 1440, "height": 1000})
    other.errors = []
    other.on("pageerror", lambda e: other.errors.append(str(e)))
    try:
        open_app(other, copied)
        other.locator(".st-key-series_divider").wait_for(timeout=WAIT_MS)
        assert controls(other) == here
        other.locator("h1").first.scroll_into_view_if_needed()
        second = Image.open(io.BytesIO(wait_drawn(other))).convert("RGB")
        other.screenshot(path=str(ARTIFACTS / "imagery-link-reopened.png"))
        assert first.size == second.size
        assert changed_pixels(first, second) < 0.002 * first.width * first.height  # the same picture
        share = int(here["divider"]) / 100
        west, east = colour_at(other, lon_at(share - 0.08), NORTH), colour_at(other, lon_at(share + 0.08), NORTH)
        # June west, August east, each faded to 60 % over the basemap, and nothing showing through
        # (225, 63, 56) and (63, 79, 223) here; with August's image under the pair, June's side was crimson
        assert west[0] > 200 and west[2] < 110 and east[2] > 200 and east[0] < 110, (west, east)
        assert other.errors == [] and page.errors == []
    finally:
        other.close()
