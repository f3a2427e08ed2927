"""Presenter mode as a room sees it, at the window sizes people share (1280×720, 1366×768,
1920×1080): every scene fills the window without scrolling, names its month, frames the places
its caption speaks of, and its figures lead with its topic. Screenshots go to artifacts/.

Skips without Chromium on a laptop; fails under CI=true, where .ci/run installs it.
"""
import pytest

from geo import style
from geo.render import labels
from test_browser import (WAIT_MS, chromium, map_camera, open_app, server, shot, wait_drawn, wait_idle)  # noqa: F401

pytestmark = pytest.mark.browser
SIZES = [(1280, 720), (1366, 768), (1920, 1080)]


def inside(box, outer, margin=0) -> bool:
    return (box["x"] >= outer["x"] + margin and box["y"] >= outer["y"] + margin and
            box["x"] + box["width"] <= outer["x"] + outer["width"] - margin and
            box["y"] + box["height"] <= outer["y"] + outer["height"] - margin)


def check_scene(page, scene, data, size, palette=style.PRESENTER):
    window = {"x": 0, "y": 0, "width": size[0], "height": size[1]}
    title = page.locator("h1").first.inner_text()
    assert scene.title in title and f"{scene.date:%B %Y}" in title, title
    canvas = page.locator('.st-key-map_box [data-testid="stDeckGlJsonChart"] canvas').first.bounding_box()
    assert inside(canvas, window), f"the map runs off the window: {canvas}"
    assert canvas["y"] + canvas["height"] >= size[1] - 30, f"the map must fill the window's height: {canvas}"
    legend = page.locator('[data-testid="legend"]').first.bounding_box()
    assert legend and inside(legend, window), f"the legend runs off the window: {legend}"
    scroll = page.evaluate("() => { const m = document.querySelector('[data-testid=stMain]');"
                           " return [m.scrollHeight, m.clientHeight]; }")
    assert scroll[0] <= scroll[1] + 1, f"the page scrolls: {scroll}"
    cam, box = map_camera(page, scene.view, True, scene.focus)
    places = data.places.set_index("id")
    for place_id in scene.focus:
        x, y = cam.pixel(places.lon[place_id], places.lat[place_id])
        assert 40 <= x <= cam.width - 40 and 40 <= y <= cam.height - 40, f"{scene.id}: {place_id} at {x:.0f},{y:.0f}"
    placed = {p["place_id"]: p for p in labels.place_labels(data.places, style.VIEWS[scene.view], cam,
                                                            palette.label_size)}
    named = [placed[p]["box"] for p in scene.focus if p in placed]
    assert len(named) >= len(scene.focus) - 1, f"{scene.id}: the caption's places must be named"
    for i, a in enumerate(named):
        assert not any(labels.overlaps(a, b) for b in named[i + 1:])
    headline = page.locator('[data-testid="headline"] h5').first.inner_text()
    assert headline == scene.topic, f"{scene.id}: the figures must lead with {scene.topic}, not {headline}"


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_every_scene_fills_the_window_and_frames_what_its_caption_names(chromium, server, data, size):
    page = chromium.new_page(viewport={"width": size[0], "height": size[1]})
    try:
        open_app(page, server.url, "present=1")
        scenes = list(data.scenes.itertuples())
        for i, scene in enumerate(scenes):
            if i:
                page.keyboard.press("ArrowRight")
                page.wait_for_function(f"() => location.search.includes('scene={scene.id}')", timeout=WAIT_MS)
                page.wait_for_function(f"() => document.querySelector('h1').innerText.includes({scene.title!r})",
                                       timeout=WAIT_MS)
                wait_idle(page)
                wait_drawn(page)
            check_scene(page, scene, data, size)
            if size == (1280, 720):
                shot(page, f"scene-{scene.id}-1280x720")
    finally:
        page.close()


def test_a_presenter_link_opens_scene_one_a_reload_keeps_it_and_exit_returns_to_the_month(chromium, server, data):
    page = chromium.new_page(viewport={"width": 1280, "height": 720})
    try:
        first = data.scenes.iloc[0]
        open_app(page, server.url, "present=1")
        assert f"{first.date:%B %Y}" in page.locator("h1").first.inner_text()
        assert "scene=S1" in page.url and "present=1" in page.url
        page.keyboard.press("ArrowRight")
        page.wait_for_function("() => location.search.includes('scene=S2')", timeout=WAIT_MS)
        wait_idle(page)
        page.reload()
        page.wait_for_selector('[data-testid="map-fitted"]:not([data-size=""])', state="attached", timeout=WAIT_MS)
        wait_idle(page)
        second = data.scenes.iloc[1]
        assert second.title in page.locator("h1").first.inner_text(), "a reload keeps presenter mode and the scene"
        page.get_by_role("button", name="✕ Exit").click()
        page.wait_for_function("() => !location.search.includes('present')", timeout=WAIT_MS)
        wait_idle(page)
        assert page.locator('[data-testid="stSidebar"]').is_visible()
        caption = page.locator('[data-testid="stMain"] [data-testid="stCaptionContainer"]').first
        assert f"{second.date:%d %B %Y}" in caption.inner_text(), "the analyst's page opens on the scene's month"
    finally:
        page.close()
