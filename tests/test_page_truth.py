"""What lands on screen never misleads, in headless Chromium at 1280×720 against a real `streamlit run`:
a closed panel leaves no dimming, a link's selection is marked, presenter mode says which filters
apply, the legend names what is drawn. Screenshots go to artifacts/.

Skips without Chromium on a laptop; fails under CI=true."""
import pytest

from bench.browser import changed_pixels
from test_browser import WAIT_MS, chromium, open_app, server, shot, screen_xy, wait_drawn, wait_idle  # noqa: F401
from test_interactions import PANEL, click_and_read_panel, close_panel, map_image, page, vertex  # noqa: F401

pytestmark = pytest.mark.browser
GLOW = (255, 196, 0)  # geo.render.selection.MARK_RGBA


def glow_pixels(img) -> int:
    return sum(1 for r, g, b in img.getdata() if r > 235 and 170 < g < 215 and b < 70)


def settle(page):
    wait_idle(page)
    wait_drawn(page)  # the map's frames hold still: software WebGL draws after the run ends


def test_closing_the_panel_undims_the_map_and_a_copied_link_marks_its_feature(page, server, data):
    open_app(page, server.url, "date=2025-06&layers=basemap,routes")
    before = map_image(page)
    # Halfway along the Trans-Siberian, in open Siberia (two legs share the track there).
    clicked = click_and_read_panel(page, *screen_xy(page, *vertex(data, "routes", "L_RAIL_USSURIYSK_TIKHORETSK", 0.5),
                                          "overview"))
    page.wait_for_function("() => location.search.includes('sel=route')", timeout=WAIT_MS)
    settle(page)
    selected = map_image(page)
    link = page.url
    total = before.width * before.height
    assert changed_pixels(before, selected) > 0.05 * total, "a selection dims the rest of the map"
    close_panel(page)
    page.wait_for_function("() => !location.search.includes('sel=')", timeout=WAIT_MS)
    settle(page)
    closed = map_image(page)
    shot(page, "panel-closed")
    assert changed_pixels(before, closed) < 0.01 * total, "after closing, the map is as it was before the click"
    # A month step keeps it so.
    page.keyboard.press("ArrowLeft")
    page.wait_for_function("() => location.search.includes('date=2025-05')", timeout=WAIT_MS)
    settle(page)
    assert glow_pixels(map_image(page)) == 0
    # The copied link reopens with the feature marked.
    open_app(page, link)
    assert page.locator(PANEL).inner_text().splitlines()[0] == clicked.splitlines()[0]
    settle(page)
    assert glow_pixels(map_image(page)) > 200, "the selected leg is marked on the map"
    shot(page, "link-with-selection")


def test_presenter_mode_names_the_analyst_s_filters_and_clears_them(page, server):
    open_app(page, server.url, "present=1&scene=S7&claimant_type=media")
    side = page.locator(".st-key-side")
    side.get_by_text("Filtered").wait_for(timeout=WAIT_MS)
    assert "claimant type: media" in side.inner_text()
    headline = page.locator('[data-testid="headline"]').inner_text()
    assert "none under these filters" in headline
    shot(page, "presenter-filtered")
    side.get_by_role("button", name="Clear filters").click()
    page.wait_for_function("() => !location.search.includes('claimant_type')", timeout=WAIT_MS)
    wait_idle(page)
    assert "Filtered" not in page.locator(".st-key-side").inner_text()
    assert "none under these filters" not in page.locator('[data-testid="headline"]').inner_text()
    shot(page, "presenter-cleared")


def test_the_legend_names_a_drone_strike_and_arcs_apart_from_legs(page, server):
    open_app(page, server.url, "date=2025-06")
    legend = page.locator('[data-testid="legend"]').inner_text()
    assert "missile or drone strike" in legend
    from geo import style
    arcs = {style.FAMILY_COLOURS[f] for f in ("munitions", "missiles", "troops")}
    assert not arcs & set(style.MODE_COLOURS.values())
    # Each mixed headline row names its metric, never a raw id.
    headline = page.locator('[data-testid="headline"]').inner_text()
    assert "Ballistic missiles delivered" in headline and "_" not in headline


SIZES = [(1280, 720), (1440, 900), (1920, 1080)]


def analyst_view(date: str, view: str):
    """The map this state draws, from the one view every renderer uses (geo.view.view_for)."""
    import pandas as pd
    from geo.data import dataset
    from geo.view import MapState, view_for
    state = MapState(date=pd.Timestamp(date + "-01") + pd.offsets.MonthEnd(0), view=view)
    return view_for(dataset.load(), None, state, track_paths=False)


@pytest.mark.parametrize("width,height", SIZES)
def test_the_legend_lists_what_is_drawn_and_covers_at_most_a_fifth_of_the_map(chromium, server, width, height):
    from geo.data import dataset
    from test_browser import CHART, map_camera
    from test_screen_truth import drawn_keys, label_keys
    page = chromium.new_page(viewport={"width": width, "height": height})
    try:
        for view in ("overview", "tumen", "sea", "rail", "front"):
            open_app(page, server.url, f"date=2025-06&view={view}")
            legend = page.locator('.st-key-map_box [data-testid="legend"]')
            labels = [t.strip() for t in legend.locator("li").all_inner_texts()]
            # Each row names a symbol drawn inside the map as fitted, and each symbol drawn there has its row.
            cam, _ = map_camera(page, view)
            drawn = drawn_keys(analyst_view("2025-06", view), dataset.load(), cam)
            assert label_keys(labels) == drawn, (view, labels)
            box = page.locator('.st-key-map_box [data-testid="stElementContainer"]:has(.legend)').bounding_box()
            canvas = page.locator(f"{CHART} canvas").first.bounding_box()
            share = box["width"] * box["height"] / (canvas["width"] * canvas["height"])
            assert share <= 0.20, f"{view} at {width}x{height}: the legend covers {share:.0%} of the map"
            if view == "front" and width == 1280:
                shot(page, "front-legend-1280")
    finally:
        page.close()


def drawn_obstacles(page, view: str):
    """What the map draws that the legend must leave clear, in the canvas's pixels, worked out for
    the camera the page was fitted to: the place names as placed, the places' markers and the scale
    bar, each with its name for the message."""
    from geo import style
    from geo.data import dataset
    from geo.render import basemap_layers, labels, scalebar
    from test_browser import map_camera
    cam, _ = map_camera(page, view)
    data, palette = dataset.load(), style.ANALYST
    placed = labels.place_labels(data.places, style.VIEWS[view], cam, palette.label_size,
                                 basemap_layers.reserved(cam, palette))
    out = [(p["label"], p["box"]) for p in placed]
    for p in data.places.itertuples():
        x, y = cam.pixel(p.lon, p.lat)
        if 0 <= x <= cam.width and 0 <= y <= cam.height:
            out.append((f"the marker of {p.name}", (x - 5, y - 5, x + 5, y + 5)))
    bar = scalebar.scale_bar(cam, basemap_layers.detail_style(palette).small_px)
    out += [("the scale bar", box) for box in bar.boxes()]
    return out


@pytest.mark.parametrize("width,height,view", [(1440, 900, "overview"), (1440, 900, "front"), (1280, 720, "front")])
def test_the_legend_leaves_every_place_name_marker_and_the_scale_bar_in_sight(chromium, server, width, height, view):
    """Ussuriysk in the upper right of the overview and the scale bar in the lower left of the front
    view were under the legend: its corner is chosen, and its box sized, clear of them."""
    from geo.render import labels
    from test_browser import CHART
    page = chromium.new_page(viewport={"width": width, "height": height})
    try:
        open_app(page, server.url, f"date=2025-06&view={view}")
        canvas = page.locator(f"{CHART} canvas").first.bounding_box()
        own = page.locator('.st-key-map_box details.legend').bounding_box()
        box = (own["x"] - canvas["x"], own["y"] - canvas["y"], own["x"] - canvas["x"] + own["width"],
               own["y"] - canvas["y"] + own["height"])
        assert box[0] >= 0 and box[1] >= 0 and box[2] <= canvas["width"] and box[3] <= canvas["height"], box
        hidden = [name for name, b in drawn_obstacles(page, view) if labels.overlaps(box, b)]
        shot(page, f"legend-clear-{view}-{width}")
        assert not hidden, f"{view} at {width}x{height}: the legend {tuple(map(round, box))} hides {hidden}"
        assert own["width"] * own["height"] <= 0.2 * canvas["width"] * canvas["height"]
    finally:
        page.close()


def test_the_chart_stands_directly_under_the_map_with_its_legend_whole(chromium, server):
    from test_browser import CHART
    page = chromium.new_page(viewport={"width": 1440, "height": 900})
    try:
        open_app(page, server.url, "date=2025-06")
        chart = page.locator('[data-testid="stVegaLiteChart"]').first
        chart.wait_for(timeout=WAIT_MS)
        chart.scroll_into_view_if_needed()
        page.wait_for_function("() => { const c = document.querySelector('[data-testid=stVegaLiteChart]');"
                               " return c && c.querySelector('svg, canvas'); }", timeout=WAIT_MS)
        canvas = page.locator(f"{CHART} canvas").first.bounding_box()
        box = chart.bounding_box()
        assert 0 <= box["y"] - (canvas["y"] + canvas["height"]) <= 120, (box, canvas)
        assert box["x"] >= canvas["x"] - 2 and box["x"] + box["width"] <= canvas["x"] + canvas["width"] + 2
        # Vega-Lite draws its legend inside the chart's own box: nothing of it overflows or is clipped.
        overflow = page.evaluate("() => { const c = document.querySelector('[data-testid=stVegaLiteChart]');"
                                 " const g = c.querySelector('svg, canvas'); const a = c.getBoundingClientRect();"
                                 " const b = g.getBoundingClientRect(); return [b.right - a.right, c.scrollWidth - c.clientWidth]; }")
        assert overflow[0] <= 2 and overflow[1] <= 2, overflow
        page.set_viewport_size({"width": 1280, "height": 720})
        open_app(page, server.url, "date=2025-06")
        page.locator('[data-testid="stVegaLiteChart"]').first.scroll_into_view_if_needed()
        shot(page, "chart-under-map-1280")
    finally:
        page.close()


def test_notices_never_move_the_map(page, server):
    from test_browser import CHART
    open_app(page, server.url, "date=2025-06")
    clean = page.locator(f"{CHART} canvas").first.bounding_box()
    bad = "&".join(f"{k}=bogus" for k in ("view", "mode", "group_by", "present", "scene", "sel", "basis", "family"))
    open_app(page, server.url, "date=2025-06&" + bad)
    assert page.locator('.st-key-notices [data-testid="stAlert"]').count() >= 8
    noisy = page.locator(f"{CHART} canvas").first.bounding_box()
    assert abs(noisy["y"] - clean["y"]) <= 1 and abs(noisy["height"] - clean["height"]) <= 1, (clean, noisy)
    shot(page, "notices-beside-map")
    page.keyboard.press("ArrowLeft")  # the state changes: the link's notices go
    page.wait_for_function("() => location.search.includes('date=2025-05')", timeout=WAIT_MS)
    wait_idle(page)
    page.locator('.st-key-notices [data-testid="stAlert"]').first.wait_for(state="detached", timeout=WAIT_MS)
    after = page.locator(f"{CHART} canvas").first.bounding_box()
    assert abs(after["y"] - clean["y"]) <= 1, (clean, after)
