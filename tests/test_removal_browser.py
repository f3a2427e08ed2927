"""In headless Chromium at 1280x720: a batch's ✕ asks before it removes, Remove takes the batch's
features off the map, and Undo puts them back."""
import io

import numpy as np
import pytest
from PIL import Image

from bench.browser import CHART
from geo import style
from test_browser import (WAIT_MS, chromium, import_previewed, open_app, page, screen_xy, server,  # noqa: F401
                          shot, wait_drawn, wait_idle)

pytestmark = pytest.mark.browser
DEPOT = (100.5, 47.5)  # far from every bundled feature: only the imported dot is drawn there


def around(page, x, y, half=12) -> np.ndarray:
    """The map's pixels in a box round (x, y), once the map holds still."""
    png = wait_drawn(page)
    box = page.locator(CHART).first.bounding_box()
    cx, cy = round(x - box["x"]), round(y - box["y"])
    image = Image.open(io.BytesIO(png)).convert("RGB").crop((cx - half, cy - half, cx + half, cy + half))
    return np.asarray(image, dtype=int)


def changed(a: np.ndarray, b: np.ndarray) -> int:
    """How many pixels differ by more than a rounding's worth."""
    return int((np.abs(a - b).sum(axis=2) > 30).sum())


def test_remove_asks_then_takes_the_batch_off_the_map_and_undo_brings_it_back(page, server, tmp_path):
    page.set_viewport_size({"width": 1280, "height": 720})
    upload = tmp_path / "depots.geojson"
    upload.write_text('{"type":"FeatureCollection","features":[{"type":"Feature","properties":'
                      '{"name":"Depot X"},"geometry":{"type":"Point","coordinates":[100.5,47.5]}}]}')
    open_app(page, server.url, "date=2025-06")
    x, y = screen_xy(page, *DEPOT, style.VIEWS["overview"])
    before = around(page, x, y)  # the map there without the import
    page.locator('[data-testid="stSidebar"] input[type="file"]').set_input_files(str(upload))
    page.get_by_text("1 generic feature(s) (geojson)").wait_for(timeout=WAIT_MS)
    import_previewed(page, "Imported 1 generic feature(s) from depots.geojson as batch 1")
    assert changed(around(page, x, y), before) > 20  # the imported dot

    wait_idle(page)
    page.locator(".st-key-remove_1 button").first.click()
    question = page.get_by_text("Remove batch 1: 1 generic feature(s) from depots.geojson? You can undo it for 24 hours.")
    question.wait_for(timeout=WAIT_MS)
    wait_idle(page)
    shot(page, "remove-question")
    assert changed(around(page, x, y), before) > 20  # asked, not yet removed

    page.locator(".st-key-remove_confirm button").first.click()
    page.get_by_text("Removed batch 1: 1 generic feature(s) from depots.geojson.").wait_for(timeout=WAIT_MS)
    wait_idle(page)
    assert changed(around(page, x, y), before) == 0
    undo = page.locator(".st-key-undo_1 button").first
    assert undo.inner_text() == "Undo: restore batch 1"
    shot(page, "remove-done-undo-offered")

    undo.click()
    page.get_by_text("Restored batch 1.").wait_for(timeout=WAIT_MS)
    wait_idle(page)
    assert changed(around(page, x, y), before) > 20  # the imported dot
    assert page.locator(".st-key-undo_1").count() == 0
    shot(page, "remove-undone")
    assert page.errors == []
