"""The dashboard in headless Chromium against a real `streamlit run`: what a person sees and does.

Skips without Chromium on a laptop; fails under CI=true, where .ci/run installs it.
"""
import io
import math
import os
import shutil

import pytest
from PIL import Image

from bench.browser import CHART, CHROMIUM_ARGS, Server, lit_pixels as lit_image
from conftest import DATA, ROOT, read_rows, require_chromium, write_rows
from geo.view import records
from geo import style

pytestmark = pytest.mark.browser
ARTIFACTS = ROOT / "artifacts"
HOSTILE = "<img src=x onerror=alert(1)>"
# deck.gl's JSON converter would read this as a constant lookup and stop drawing the map.
HOSTILE_DECK = "@@#GL.evil"
WAIT_MS = 90_000  # software WebGL on two cores: the deck chunk alone takes seconds


@pytest.fixture(scope="module")
def chromium():
    executable = require_chromium()
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    srv = Server({"GEO_WORKSPACE": str(tmp_path_factory.mktemp("ws") / "ws.sqlite")})
    yield srv
    srv.stop()


@pytest.fixture
def page(chromium):
    page = chromium.new_page(viewport={"width": 1440, "height": 1000})
    page.errors = []
    page.dialogs = []
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    page.on("dialog", lambda d: (page.dialogs.append(d.message), d.dismiss()))
    yield page
    page.close()


def open_app(page, url, query=""):
    page.goto(url + (f"?{query}" if query else ""))
    page.wait_for_selector(f"{CHART} canvas", timeout=WAIT_MS)
    # The page reports its map's size and the server fits the camera to it: wait for that run.
    page.wait_for_selector('[data-testid="map-fitted"]:not([data-size=""])', state="attached", timeout=WAIT_MS)
    wait_idle(page)
    wait_drawn(page)


def wait_idle(page):
    page.wait_for_selector('[data-test-script-state="notRunning"]', state="attached", timeout=WAIT_MS)


def pick_option(page, choice, name: str):
    """Open a select box and click its option `name`, as a person does; a rerun that lands while the
    list is open closes it, so open it again until the choice is taken."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    option = page.get_by_role("option", name=name, exact=True)
    for _ in range(5):
        choice.click(timeout=WAIT_MS)
        try:
            option.wait_for(state="visible", timeout=10_000)
            option.click(timeout=10_000)
            return
        except PlaywrightTimeout:
            page.keyboard.press("Escape")
            wait_idle(page)


def wait_drawn(page, selector: str = CHART, min_lit: int = 2000, timeout_ms: int = WAIT_MS, still_ms: int = 1200) -> bytes:
    """Wait until the map has drawn and holds still: its screenshots stay the same for `still_ms`
    and show more than `min_lit` pixels off the background (software WebGL draws the first frame
    seconds after the canvas exists, and a layer program compiled later adds names a frame or two
    later, so one unchanged pair of frames is not enough). Returns the settled image."""
    import time
    deadline, last, since = time.monotonic() + timeout_ms / 1000, None, time.monotonic()
    while True:
        png = page.locator(selector).first.screenshot()
        now = time.monotonic()
        if png != last or lit_pixels(png) <= min_lit:
            last, since = png, now
        elif (now - since) * 1000 >= still_ms:
            return png
        if now > deadline:
            raise AssertionError(f"the map did not settle within {timeout_ms / 1000:.0f} s")
        page.wait_for_timeout(200)  # the polling interval of the condition above


def shot(page, name):
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))


def lit_pixels(png: bytes) -> int:
    return lit_image(Image.open(io.BytesIO(png)).convert("RGB"))


def map_camera(page, view, present=False, focus=()):
    """The camera the server fits to the canvas the page reported (geo.render.layers.camera; a
    scene's `focus` as geo.view.records.scene_focus gives it, areas included), as a
    geo.render.labels.Camera in the canvas's own pixels, and the canvas's box on the page."""
    from geo.data import dataset
    from geo.render import labels, layers
    box = page.locator(f"{CHART} canvas").first.bounding_box()
    view_id = next(k for k, v in style.VIEWS.items() if v == view) if isinstance(view, style.View) else view
    state = records.MapState(date=None, view=view_id, present=present, focus=tuple(focus))
    size = (round(box["width"]), round(box["height"]))
    data = dataset.load()
    cam = layers.camera(state, size, data.places, data.countries.total_bounds, data.areas)
    return labels.Camera(cam.longitude, cam.latitude, cam.zoom, size[0], size[1]), box


def screen_xy(page, lon, lat, view, present=False, focus=()):
    """Where the map puts a lon/lat, in page pixels."""
    cam, box = map_camera(page, view, present, focus)
    x, y = cam.pixel(lon, lat)
    return box["x"] + x, box["y"] + y


def point_at(page, x, y) -> str:
    """Rest the pointer on (x, y) until the feature's tooltip shows, and return its text; a busy
    page may still be drawing its first frame, and deck.gl picks only on pointer moves."""
    import sys
    tip = page.locator(".deck-tooltip")
    # Mostly the point itself; now and then a pixel or two beside it, as a hand would rest, in case
    # the marker's rounded position on this canvas falls a pixel off the computed one.
    nudges = [(0, 0), (0, 0), (1, 0), (0, 0), (-1, 1), (0, 0), (1, -1), (0, 0), (-1, -1), (0, 2)]
    for attempt in range(WAIT_MS // 1000):
        dx, dy = nudges[attempt % len(nudges)]
        page.mouse.move(x + dx - 3, y + dy - 3)
        page.mouse.move(x + dx, y + dy)
        try:
            tip.wait_for(state="visible", timeout=1000)
            return tip.inner_text()
        except Exception:
            pass
        if attempt in (20, 40):  # as a hand does with a map that stopped answering: leave it, come back
            page.mouse.move(2, 2)
            page.locator(CHART).first.screenshot()  # a frame drawn with the pointer outside
        if attempt == 60:  # and then reload it, keeping its link; the log says so
            print(f"point_at: no tooltip at {x:.0f},{y:.0f} for 60 tries; {page_state(page, x, y)}; reloading",
                  file=sys.stderr)
            open_app(page, page.url)
    shot(page, "no-tooltip")  # what was under the pointer, for whoever reads the failure
    raise AssertionError(f"no tooltip at {x:.0f},{y:.0f}: nothing there to click ({page_state(page, x, y)})")


def click_open(page, x, y, panel: str = '[data-testid="evidence-panel"]'):
    """Click (x, y) and wait for the panel it opens, as a person does: the pointer rests there
    first, and a click the page lost (a rerun that lands as it is sent, on a loaded machine:
    no panel and no selection in the address bar after 30 s) is clicked again, twice at most.
    Returns the panel's locator."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    shown = page.locator(panel)
    for attempt in range(3):
        point_at(page, x, y)
        page.mouse.click(x, y)
        try:
            shown.wait_for(timeout=30_000 if attempt < 2 else WAIT_MS)
            return shown
        except PlaywrightTimeout:
            if "sel=" in page.url or attempt == 2:  # the click was taken: its panel is on its way
                shown.wait_for(timeout=WAIT_MS)
                return shown
            wait_idle(page)
    return shown


def page_state(page, x, y) -> str:
    """What a failed pointing found: the camera's size, the canvas, what is under the point, its colour."""
    fitted = page.locator('[data-testid="map-fitted"]').get_attribute("data-size")
    box = page.locator(f"{CHART} canvas").first.bounding_box()
    under = page.evaluate("([x, y]) => { const e = document.elementFromPoint(x, y); "
                          "return e ? e.tagName + '.' + e.className : 'nothing'; }", [x, y])
    image = Image.open(io.BytesIO(page.screenshot())).convert("RGB")
    colour = image.getpixel((int(x), int(y))) if 0 <= x < image.width and 0 <= y < image.height else None
    return (f"camera fitted to {fitted}, canvas {box}, under the point {under}, colour {colour}, "
            f"page errors {getattr(page, 'errors', [])[:3]}")


def headline_text(page) -> str:
    return page.locator('[data-testid="headline"]').inner_text()


def test_page_loads_with_a_drawn_map_and_no_errors(page, server):
    open_app(page, server.url)
    assert page.locator(f"{CHART} canvas").count() >= 1
    assert lit_pixels(page.locator(CHART).first.screenshot()) > 5000
    assert "Containers" in headline_text(page)
    shot(page, "dashboard")
    if os.environ.get("SAVE_README_SCREENSHOT"):
        shutil.copy(ARTIFACTS / "dashboard.png", ROOT / "docs" / "screenshot.png")
    assert page.errors == []


def test_moving_the_date_changes_the_map_and_the_headline(page, server):
    open_app(page, server.url, "date=2025-06")
    before_map, before_text = page.locator(CHART).first.screenshot(), headline_text(page)
    slider = page.get_by_role("slider", name="Month")
    slider.focus()
    for _ in range(18):
        page.keyboard.press("ArrowLeft")
    page.wait_for_function("() => document.body.innerText.includes('December 2023')", timeout=WAIT_MS)
    wait_idle(page)
    wait_drawn(page)
    assert headline_text(page) != before_text
    assert page.locator(CHART).first.screenshot() != before_map
    shot(page, "date-2023-12")
    assert page.errors == []


def test_arrow_keys_step_the_months(page, server):
    open_app(page, server.url, "date=2024-06")
    page.locator("h1").first.click()  # focus the page, not a widget
    page.keyboard.press("ArrowRight")
    page.wait_for_function("() => document.body.innerText.includes('31 July 2024')", timeout=WAIT_MS)


def route_vertex(data, leg_id, index=None):
    """A point of a leg that no other leg runs near (legs along the same railway share track,
    and a click there picks whichever is drawn on top): the point farthest from the others."""
    import shapely
    legs = data.routes.set_index("id").geometry
    leg, others = legs[leg_id], shapely.union_all([g for i, g in legs.items() if i != leg_id])
    points = [leg.interpolate(f / 40, normalized=True) for f in range(2, 39)]
    best = max(points, key=lambda p: p.distance(others))
    return best.x, best.y


def test_hovering_a_route_shows_its_claimant(page, server, data):
    open_app(page, server.url, "date=2025-06&layers=basemap,routes")
    lon, lat = route_vertex(data, "L_RAIL_USSURIYSK_TIKHORETSK")
    x, y = screen_xy(page, lon, lat, style.VIEWS["overview"])
    text = point_at(page, x, y)
    assert "Ussuriysk" in text and "containers" in text
    assert "South Korea Defense Intelligence Agency" in text
    shot(page, "hover-route")


def test_clicking_a_feature_opens_the_evidence_panel_with_source_links(page, server, data):
    open_app(page, server.url, "date=2025-06&layers=basemap,routes")
    lon, lat = route_vertex(data, "L_RAIL_USSURIYSK_TIKHORETSK")
    x, y = screen_xy(page, lon, lat, style.VIEWS["overview"])
    panel = click_open(page, x, y)
    links = panel.locator("a[href^='http']")
    assert links.count() >= 5
    hrefs = {links.nth(i).get_attribute("href") for i in range(links.count())}
    # Claims link their cited page and, once re-checked, the copy they were read against.
    assert hrefs <= set(data.claims["url"]) | set(data.claims["checked_url"]) | \
        set(data.routes["source_url"].dropna()) | set(data.events["url"])
    assert links.first.get_attribute("target") == "_blank"
    assert "capacity estimate" in panel.inner_text() or "containers" in panel.inner_text()
    shot(page, "evidence-panel")


def test_presenter_mode_hides_the_sidebar_and_steps_scenes_with_arrows(page, server, data):
    open_app(page, server.url, "present=1&scene=S1")
    assert not page.locator('[data-testid="stSidebar"]').is_visible()
    titles = list(data.scenes["title"])
    assert titles[0] in page.locator("h1").first.inner_text()
    shot(page, "present-S1")
    page.keyboard.press("ArrowRight")
    page.wait_for_function(f"() => document.querySelector('h1').innerText.includes({titles[1]!r})",
                           timeout=WAIT_MS)
    page.keyboard.press("ArrowLeft")
    page.wait_for_function(f"() => document.querySelector('h1').innerText.includes({titles[0]!r})",
                           timeout=WAIT_MS)
    shot(page, "present-S1-again")


@pytest.fixture(scope="module")
def hostile_server(tmp_path_factory):
    """The app on a copy of the data in which one place's name is an HTML injection and
    another's is a deck.gl JSON directive."""
    data_dir = tmp_path_factory.mktemp("hostile") / "data"
    shutil.copytree(DATA, data_dir)
    rows = read_rows(data_dir / "places.csv")
    for row in rows:
        if row["id"] == "LOC_KHASAN_STN":
            row["name"] = HOSTILE
        if row["id"] == "LOC_TUMANGANG_STN":
            row["name"] = HOSTILE_DECK
    write_rows(data_dir / "places.csv", rows)
    srv = Server({"GEO_DATA_DIR": str(data_dir),
                  "GEO_WORKSPACE": str(tmp_path_factory.mktemp("ws2") / "ws.sqlite")})
    yield srv
    srv.stop()


def hover_place(page, data, place_id, view="tumen") -> tuple[float, float, str]:
    """Move the mouse onto a place's marker; its screen position and the tooltip's text."""
    place = data.places.set_index("id").loc[place_id]
    x, y = screen_xy(page, place.lon, place.lat, style.VIEWS[view])
    return x, y, point_at(page, x, y)


def test_a_hostile_place_name_shows_as_text_and_runs_nothing(page, hostile_server, data):
    open_app(page, hostile_server.url, "view=tumen&layers=basemap,places")
    x, y, text = hover_place(page, data, "LOC_KHASAN_STN")
    assert HOSTILE in text
    panel = click_open(page, x, y)
    assert HOSTILE in panel.inner_text()
    wait_idle(page)
    assert page.locator("img[src='x']").count() == 0
    assert page.dialogs == [] and page.errors == []
    shot(page, "hostile-name")


def test_a_place_name_deck_gl_would_run_shows_as_text_and_the_map_still_draws(page, hostile_server, data):
    open_app(page, hostile_server.url, "view=tumen&layers=basemap,places")
    assert lit_pixels(page.locator(CHART).first.screenshot()) > 5_000, "the map must still draw"
    _, _, text = hover_place(page, data, "LOC_TUMANGANG_STN")
    assert HOSTILE_DECK in text
    assert page.errors == []


def test_play_advances_the_months_by_itself(page, server):
    open_app(page, server.url, "date=2025-08")
    page.get_by_text("Play").click()
    page.wait_for_function("() => document.body.innerText.includes('30 September 2025')", timeout=WAIT_MS)
    page.wait_for_function("() => document.body.innerText.includes('31 October 2025')", timeout=WAIT_MS)
    assert page.errors == []


def test_the_url_follows_the_controls_so_a_copied_link_reopens_the_view(page, server):
    open_app(page, server.url, "date=2024-06")
    page.locator("h1").first.click()
    page.keyboard.press("ArrowRight")
    page.wait_for_function("() => location.search.includes('date=2024-07')", timeout=WAIT_MS)
    copied = page.url
    open_app(page, copied)
    assert page.get_by_text("31 July 2024").count() >= 1


def import_previewed(page, message: str):
    """Press Import under the sidebar's preview and wait until the map holds the batch."""
    page.get_by_role("button", name="Import", exact=True).click()
    page.get_by_text(message).wait_for(timeout=WAIT_MS)
    wait_idle(page)
    wait_drawn(page)


def test_uploading_a_file_in_the_sidebar_puts_its_features_on_the_map(page, server, tmp_path):
    upload = tmp_path / "sightings.geojson"
    upload.write_text('{"type":"FeatureCollection","features":[{"type":"Feature","properties":'
                      '{"name":"Upload test depot"},"geometry":{"type":"Point","coordinates":[100.5,47.5]}}]}')
    open_app(page, server.url, "date=2025-06")
    page.locator('[data-testid="stSidebar"] input[type="file"]').set_input_files(str(upload))
    page.get_by_text("1 generic feature(s) (geojson)").wait_for(timeout=WAIT_MS)  # the preview, nothing stored yet
    import_previewed(page, "Imported 1 generic feature(s) from sightings.geojson")
    assert "Upload test depot" in point_at(page, *screen_xy(page, 100.5, 47.5, style.VIEWS["overview"]))
    shot(page, "uploaded-file")
    assert page.errors == []


def test_a_shapefile_uploaded_as_its_parts_is_previewed_and_its_dates_can_be_read_month_first(page, server, tmp_path):
    import geopandas as gpd
    from shapely.geometry import Point
    folder = tmp_path / "parts"
    folder.mkdir()
    gpd.GeoDataFrame({"name": ["Tumangang", "Khasan"], "date": ["02/01/2024", "03/04/2024"]},
                     geometry=[Point(130.6081, 42.4214), Point(130.644, 42.429)], crs=4326
                     ).to_file(folder / "stations.shp")
    open_app(page, server.url, "date=2025-06")
    page.locator('[data-testid="stSidebar"] input[type="file"]').set_input_files(
        [str(p) for p in sorted(folder.iterdir())])
    sidebar = page.locator('[data-testid="stSidebar"]')
    sidebar.get_by_text("2 generic feature(s) (shapefile)").wait_for(timeout=WAIT_MS)
    sidebar.get_by_text("dates from date (day first)").wait_for(timeout=WAIT_MS)
    sidebar.get_by_text("Change what was found").click()
    sidebar.get_by_text("Date or time column").wait_for(state="visible", timeout=WAIT_MS)
    wait_idle(page)
    choice = sidebar.locator('[data-testid="stSelectbox"]').filter(has_text="Dates such as")
    choice.scroll_into_view_if_needed()
    pick_option(page, choice, "month first")
    sidebar.get_by_text("dates from date (month first)").wait_for(timeout=WAIT_MS)
    assert sidebar.locator('[data-testid="stDeckGlJsonChart"]').count() == 1, "the preview's map of the bounds"
    shot(page, "import-preview")
    assert page.errors == []


def test_the_preview_lets_the_analyst_change_the_kind_before_importing(page, server, tmp_path):
    """Positions guessed as a track, imported instead as points: the change shows in the preview
    first, then on the map."""
    upload = tmp_path / "kinds.csv"
    upload.write_text("ship,time,lat,lon\nKS1,2024-05-01T00:00:00Z,47.5,100.5\n"
                      "KS1,2024-05-02T00:00:00Z,47.6,101.5\nKS1,2024-05-03T00:00:00Z,47.7,102.5\n")
    open_app(page, server.url, "date=2025-06&layers=basemap,imported")
    page.locator('[data-testid="stSidebar"] input[type="file"]').set_input_files(str(upload))
    sidebar = page.locator('[data-testid="stSidebar"]')
    sidebar.get_by_text("3 position(s) in 1 track(s)").first.wait_for(timeout=WAIT_MS)
    sidebar.get_by_text("Change what was found").click()
    sidebar.get_by_text("Date or time column").wait_for(state="visible", timeout=WAIT_MS)
    sidebar.locator('[data-testid="stSelectbox"]').filter(has_text="Import as").click()
    page.get_by_role("option", name="generic", exact=True).click()
    sidebar.get_by_text("3 generic feature(s)").wait_for(timeout=WAIT_MS)
    import_previewed(page, "Imported 3 generic feature(s) from kinds.csv")
    text = point_at(page, *screen_xy(page, 101.5, 47.6, style.VIEWS["overview"]))
    assert "kinds.csv" in text or "KS1" in text
    shot(page, "import-changed-kind")
