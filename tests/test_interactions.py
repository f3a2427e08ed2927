"""The analyst's dashboard as a person uses it, in headless Chromium at 1280×720: every kind of
feature opens its evidence where the person is looking, links reopen the same picture, Play
never blanks the map, and quick key presses all count. Screenshots go to artifacts/.

Skips without Chromium on a laptop; fails under CI=true, where .ci/run installs it.
"""
import io
import math
import urllib.parse

import pytest
from PIL import Image

from bench.browser import CHART, changed_pixels
from conftest import DATA
from test_browser import (WAIT_MS, chromium, click_open, lit_pixels, open_app, point_at, route_vertex, screen_xy, server,  # noqa: F401
                          shot, wait_drawn, wait_idle)

pytestmark = pytest.mark.browser
SIZE = {"width": 1280, "height": 720}
PANEL = '[data-testid="evidence-panel"]'


@pytest.fixture
def page(chromium):
    page = chromium.new_page(viewport=SIZE)
    page.errors = []
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    yield page
    page.close()


def map_image(page) -> Image.Image:
    return Image.open(io.BytesIO(page.locator(CHART).first.screenshot())).convert("RGB")


def click_and_read_panel(page, x, y) -> str:
    # As a person does: point at the feature, see its tooltip (the map has drawn and picks it), click.
    panel = click_open(page, x, y, PANEL)
    wait_idle(page)
    box = panel.bounding_box()
    assert box["x"] >= 0 and box["y"] >= 0, box
    assert box["x"] + box["width"] <= SIZE["width"] and box["y"] + box["height"] <= SIZE["height"], \
        f"the evidence panel must open inside the window, not below it: {box}"
    return panel.inner_text()


def close_panel(page):
    page.locator("h1").first.click()
    page.keyboard.press("Escape")
    page.locator(PANEL).wait_for(state="detached", timeout=WAIT_MS)
    wait_idle(page)


def vertex(data, table, feature_id, fraction=None):
    """A point along a feature; for legs, by default the one farthest from every other leg."""
    if fraction is None:
        return route_vertex(data, feature_id)
    geom = getattr(data, table).set_index("id").geometry[feature_id]
    point = geom.interpolate(fraction, normalized=True)
    return point.x, point.y


def test_every_kind_of_feature_opens_its_evidence_inside_the_window(page, server, data):
    # A thick reported leg, and a hairline one (no reported volume in 2023-01) clicked 5 px off its line.
    open_app(page, server.url, "date=2025-06&layers=basemap,routes")
    text = click_and_read_panel(page, *screen_xy(page, *vertex(data, "routes", "L_RAIL_USSURIYSK_TIKHORETSK"),
                                                 "overview"))
    assert "Ussuriysk" in text and "claim(s) known by this date" in text
    shot(page, "click-route")
    close_panel(page)

    open_app(page, server.url, "date=2023-01&view=tumen&layers=basemap,routes")
    x, y = screen_xy(page, *vertex(data, "routes", "L_RAIL_RAJIN_TUMANGANG"), "tumen")
    text = click_and_read_panel(page, x + 5, y)
    assert "Rajin" in text and "Tumangang" in text
    shot(page, "click-hairline")

    # An area: the Kursk salient at its peak, clicked inside its outline.
    open_app(page, server.url, "date=2024-10&view=front&layers=basemap,front")
    point = data.areas.set_index("id").geometry["A_KURSK_SALIENT_PEAK"].representative_point()
    text = click_and_read_panel(page, *screen_xy(page, point.x, point.y, "front"))
    assert "Kursk" in text
    shot(page, "click-area")

    # A strike at a city: the strike wins over the city's marker under it.
    open_app(page, server.url, "date=2024-01&view=front&layers=basemap,places,strikes")
    kharkiv = data.places.set_index("id").loc["LOC_KHARKIV"]
    text = click_and_read_panel(page, *screen_xy(page, kharkiv.lon, kharkiv.lat, "front"))
    strike = data.events.set_index("id").loc["E014"]
    assert strike.title in text, text[:300]
    shot(page, "click-strike")

    # A place marker and the railcars seen at the crossing.
    open_app(page, server.url, "date=2024-06&view=tumen&layers=basemap,places")
    rajin = data.places.set_index("id").loc["LOC_RAJIN_PORT"]
    assert "Rajin" in click_and_read_panel(page, *screen_xy(page, rajin.lon, rajin.lat, "tumen"))
    open_app(page, server.url, "date=2024-06&view=tumen&layers=basemap,railcars")
    station = data.places.set_index("id").loc["LOC_TUMANGANG_STN"]
    assert "Railcars" in click_and_read_panel(page, *screen_xy(page, station.lon, station.lat, "tumen"))
    shot(page, "click-railcars")

    # A summary arc, clicked where it is drawn: found on screen along the chord's perpendicular.
    open_app(page, server.url, "date=2025-06&layers=flows&family=munitions")  # the munitions arc alone
    flow = data.flows.set_index("id").geometry["FL_MUNITIONS"]
    (x0, y0), (x1, y1) = (screen_xy(page, *flow.coords[0], "overview"), screen_xy(page, *flow.coords[-1], "overview"))
    image, box = map_image(page), page.locator(CHART).first.bounding_box()
    mx, my, dx, dy = (x0 + x1) / 2, (y0 + y1) / 2, -(y1 - y0), x1 - x0
    norm = (dx * dx + dy * dy) ** 0.5
    lit = set()
    for step in range(-200, 201):
        ix, iy = int(mx + dx / norm * step - box["x"]), int(my + dy / norm * step - box["y"])
        if 0 <= ix < image.width and 0 <= iy < image.height and min(image.getpixel((ix, iy))) < 200:
            lit.add(step)
    assert lit, "the munitions arc must be drawn"
    # Click the middle of the stroke nearest the chord, not its anti-aliased edge.
    first = min(lit, key=abs)
    stroke = [first]
    while stroke[-1] + 1 in lit:
        stroke.append(stroke[-1] + 1)
    while stroke[0] - 1 in lit:
        stroke.insert(0, stroke[0] - 1)
    middle = stroke[len(stroke) // 2]
    px, py = mx + dx / norm * middle, my + dy / norm * middle
    assert "Munitions" in click_and_read_panel(page, px, py) or "munitions" in page.locator(PANEL).inner_text()
    shot(page, "click-arc")
    assert page.errors == []


def test_escape_closes_the_panel_and_the_link_reopens_it(page, server, data):
    open_app(page, server.url, "date=2025-06&layers=basemap,routes")
    click_and_read_panel(page, *screen_xy(page, *vertex(data, "routes", "L_RAIL_USSURIYSK_TIKHORETSK"),
                                          "overview"))
    page.wait_for_function("() => location.search.includes('sel=route')", timeout=WAIT_MS)
    link = page.url
    close_panel(page)
    page.wait_for_function("() => !location.search.includes('sel=')", timeout=WAIT_MS)
    open_app(page, link)
    assert "Ussuriysk" in page.locator(PANEL).inner_text()


STATES = {
    "analyst-default": "",
    "tumen-railcars": "date=2024-06&view=tumen&layers=basemap,routes,railcars",
    "sea-period": "date=2024-02&mode=period&view=sea",
    "filtered": "date=2024-11&claimant_type=think_tank&family=munitions,troops",
    "front-selected": "date=2024-10&view=front&sel=area:A_KURSK_SALIENT_PEAK",
    "presenter": "present=1&scene=S3",
}


def widget_values(page) -> dict:
    return {"url": page.evaluate("() => location.search"),
            "headline": page.locator('[data-testid="headline"]').inner_text()
            if page.locator('[data-testid="headline"]').count() else "",
            "h1": page.locator("h1").first.inner_text()}


@pytest.mark.parametrize("name", STATES)
def test_a_copied_link_reopens_the_same_picture(page, server, chromium, name):
    open_app(page, server.url, STATES[name])
    before, values = map_image(page), widget_values(page)
    shot(page, f"link-{name}")
    copied = page.url
    fresh = chromium.new_page(viewport=SIZE)
    try:
        open_app(fresh, copied)
        after = map_image(fresh)
        assert widget_values(fresh) == values
        assert fresh.url == copied, "opening a link must not rewrite it"
        share = changed_pixels(before, after) / (before.width * before.height)
        if share >= 0.01:  # on a loaded machine one of the two may still have been drawing: both settle again
            for each in (page, fresh):
                wait_drawn(each, still_ms=3000)
            before, after = map_image(page), map_image(fresh)
            share = changed_pixels(before, after) / (before.width * before.height)
        if share >= 0.01:
            shot(fresh, f"link-{name}-reopened")
        assert share < 0.01, f"{share:.1%} of the map differs after reopening {copied}"
        assert not fresh.locator('[data-testid="stAlertContentWarning"]').count(), "a valid link shows no notice"
    finally:
        fresh.close()


def test_a_bad_value_in_a_link_is_named_and_the_notice_goes_once_the_state_changes(page, server):
    open_app(page, server.url, "date=2024-06&layers=routes,bogus")
    alert = page.locator('[data-testid="stAlert"]')
    assert "bogus" in alert.inner_text() and "Kept routes" in alert.inner_text()
    page.locator("h1").first.click()
    page.keyboard.press("ArrowRight")
    page.wait_for_function("() => location.search.includes('date=2024-07')", timeout=WAIT_MS)
    wait_idle(page)
    assert page.locator('[data-testid="stAlert"]').count() == 0


def test_six_quick_key_presses_move_six_months(page, server):
    open_app(page, server.url, "date=2024-06")
    page.locator("h1").first.click()
    for _ in range(6):
        page.keyboard.press("ArrowLeft")
        page.wait_for_timeout(150)  # a person's quick typing, not a wait for the page
    page.wait_for_function("() => location.search.includes('date=2023-12')", timeout=WAIT_MS)
    wait_idle(page)
    wait_drawn(page)
    assert "date=2023-12" in page.url


def test_play_keeps_the_map_drawn_and_the_camera_where_the_analyst_left_it(page, server):
    open_app(page, server.url, "date=2024-01")
    box = page.locator(CHART).first.bounding_box()
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(cx, cy)
    page.mouse.down()
    page.mouse.move(cx + 150, cy + 60, steps=8)
    page.mouse.up()
    wait_drawn(page)
    panned = map_image(page)
    page.get_by_text("Play").click()
    blank, months = [], set()
    for _ in range(16):
        page.wait_for_timeout(400)  # sampling the map while Play runs
        if lit_pixels(page.locator(CHART).first.screenshot()) < 500:
            blank.append(page.evaluate("() => location.search"))
        months.add(page.evaluate("() => new URLSearchParams(location.search).get('date')"))
    assert not blank, f"the map went blank while playing: {blank}"
    assert len(months) >= 3, f"Play must move through the months: {months}"
    page.get_by_text("Play").click()
    wait_idle(page)
    wait_drawn(page)
    assert lit_pixels(page.locator(CHART).first.screenshot()) > 5000
    # The camera stayed panned: the basemap's coastlines sit where the pan put them (the routes
    # change with the months, the coast does not), so most of the picture still matches.
    after = map_image(page)
    share = changed_pixels(panned, after) / (after.width * after.height)
    assert share < 0.2, f"{share:.0%} of the map moved: Play threw away the pan"
    shot(page, "after-play")
    assert page.errors == []


@pytest.fixture(scope="module")
def workspace_server(tmp_path_factory):
    """The app with a workspace holding one imported depot and one vessel's track."""
    from bench.browser import Server
    from geo.imports import importer
    from geo.store import workspace
    path = tmp_path_factory.mktemp("ws-click") / "ws.sqlite"
    ws = workspace.Workspace(path)
    depot = ('{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"name":"Click test depot"},'
             '"geometry":{"type":"Point","coordinates":[100.5,47.5]}}]}')
    ws.add(importer.read_file(depot.encode(), filename="depot.geojson"))
    rows = ["track_id,name,timestamp,lon,lat"] + [
        f"V9,Click test vessel,2024-06-{day:02d}T00:00:00Z,{131.0 + day * 0.05:.2f},{42.0 + day * 0.02:.2f}"
        for day in range(1, 29)]
    ws.add(importer.read_file("\n".join(rows).encode(), filename="vessel.csv", kind="tracks"))
    srv = Server({"GEO_WORKSPACE": str(path)})
    yield srv
    srv.stop()


def test_imported_features_and_tracks_open_their_evidence_too(page, workspace_server):
    open_app(page, workspace_server.url, "date=2024-06&layers=basemap,imported")
    text = click_and_read_panel(page, *screen_xy(page, 100.5, 47.5, "overview"))
    assert "Click test depot" in text
    open_app(page, workspace_server.url, "date=2024-06&view=sea&layers=basemap,tracks")
    # Clicked 3 px beside its 3 px trail, as near a hairline leg is enough: the track's click band
    # answers, wherever in that pixel or the next the browser puts the click.
    x, y = screen_xy(page, 131.0 + 14 * 0.05, 42.0 + 14 * 0.02, "sea")
    text = click_and_read_panel(page, x, y + 3)
    assert "Click test vessel" in text
    assert "sel=track" in page.url
    shot(page, "click-track")


def test_a_tooltip_near_the_map_s_edge_stays_inside_the_map(page, server, data):
    open_app(page, server.url, "date=2024-06&layers=basemap,places")
    box = page.locator(CHART).first.bounding_box()
    right = box["x"] + box["width"]
    spots = {p.id: screen_xy(page, p.lon, p.lat, "overview") for p in data.places.itertuples()}
    # Near the right edge, and the marker the most clear of the others (the Tumen cluster's markers
    # overlap at this zoom, and the one on top is not always the one asked for).
    near_edge = [(pid, xy) for pid, xy in spots.items() if right - 200 < xy[0] < right - 5]
    assert near_edge, "the test needs a place near the right edge"
    pid, (x, y) = max(near_edge, key=lambda item: min(math.dist(item[1], xy) for other, xy in spots.items()
                                                      if other != item[0]))
    point_at(page, x, y)
    tip = page.locator(".deck-tooltip")
    tip.wait_for(state="visible", timeout=WAIT_MS)
    page.wait_for_function("""() => { const t = document.querySelector('.deck-tooltip');
        const r = t.getBoundingClientRect(); const last = window.__tipBox; window.__tipBox = [r.x, r.y].join();
        return last === window.__tipBox; }""", polling=100, timeout=WAIT_MS)  # placed, and still
    own = tip.bounding_box()
    assert own["x"] + own["width"] <= box["x"] + box["width"] + 1, (own, box)
    assert own["y"] + own["height"] <= box["y"] + box["height"] + 1, (own, box)


def test_hedges_and_capacity_estimates_read_on_the_page_as_the_sources_gave_them(page, server):
    """The MSMT said "more than 20,000 containers"; a shell figure from containers × rounds is a
    capacity estimate, and says so wherever it is shown."""
    open_app(page, server.url, "date=2025-06&sel=route:L_RAIL_USSURIYSK_TIKHORETSK")
    panel = page.locator(PANEL).inner_text()
    assert "more than 20,000 containers" in panel
    page.keyboard.press("Escape")
    page.locator(PANEL).wait_for(state="detached", timeout=WAIT_MS)
    headline = page.locator('[data-testid="headline"]').inner_text()
    assert "more than 20,000 containers" in headline
    assert "(capacity estimate, not a count)" in headline


def test_link_text_is_shown_as_text_never_as_a_link(page, server):
    """A crafted link puts Markdown in a parameter: the notice shows the characters, and the page
    holds no link to the address inside them."""
    hostile = "[Sign in again](https://ev.il/x)"
    open_app(page, server.url, "view=" + urllib.parse.quote(hostile) + "&sel=" + urllib.parse.quote("**bold**"))
    notices = page.locator('.st-key-notices')
    notices.get_by_text(hostile, exact=False).wait_for(timeout=WAIT_MS)
    links = page.locator('a[href*="ev.il"]')
    assert links.count() == 0, [links.nth(i).evaluate("a => a.outerHTML") for i in range(links.count())]
    assert notices.locator("strong").count() == 0
    assert "**bold**" in notices.inner_text()


def test_a_claim_shows_when_it_was_said_published_and_about_and_a_disputed_claimant(page, server, data):
    """Clicking the rail leg to the depots: the WSJ's 20,000 containers were said on 22 December 2024
    and published the next day; the 16,000 containers are credited to Ukraine's government by one copy
    of the Reuters report and to the Reuters/OSC investigators by another, and the panel says so."""
    open_app(page, server.url, "date=2025-06&layers=basemap,routes")
    click_and_read_panel(page, *screen_xy(page, *vertex(data, "routes", "L_RAIL_USSURIYSK_TIKHORETSK"), "overview"))
    wsj = page.locator(f"{PANEL} li.claim", has_text="US and South Korean officials (joint)").filter(
        has_text="20,000 containers").inner_text()
    assert "as of 2024-12-22" in wsj and "said 2024-12-22" in wsj and "published 2024-12-23" in wsj, wsj
    disputed = page.locator(f"{PANEL} li.claim", has_text="claimant disputed between summaries")
    text = disputed.inner_text()
    assert "about 16,000 containers" in text
    assert "claimant disputed between summaries: Government of Ukraine in one copy, " \
           "Reuters and Open Source Centre (joint) in another copy" in " ".join(text.split())
    claims = data.claims.set_index("id")
    assert disputed.locator("a", has_text="another copy").get_attribute("href") == claims.loc["F013", "alt_url"]
    assert disputed.locator("a", has_text="one copy").get_attribute("href") == claims.loc["F013", "checked_url"]
    assert "said and published 2025-04-15" in text and "as of 2025-03-31" in text
    shot(page, "claim-dates-and-disputed-claimant")
