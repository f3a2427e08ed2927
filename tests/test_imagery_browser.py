"""Imported images in headless Chromium against a real `streamlit run`: two GeoTIFFs of the
Tumangang yard (made here with rasterio, red in June 2024, blue in August) uploaded through the
sidebar's importer, the month stepped and the picture at the yard's point changing, the image
clicked for its date and source, the yard's series and its before/after pair opened.

Skips without Chromium on a laptop; fails under CI=true."""
import io

import pytest
from PIL import Image

from bench.browser import CHART
from imagery_files import BLUE, RED, geotiff
from test_browser import (WAIT_MS, chromium, click_open, page, server, import_previewed, open_app, point_at, screen_xy, shot,  # noqa: F401
                          wait_drawn, wait_idle)

pytestmark = pytest.mark.browser
# A chip of the yard and its approaches, large enough to be seen at the Tumen view's zoom (~70 px across)
CHIP = (130.55, 42.39, 130.635, 42.45)
PROBE = (130.559, 42.444)  # the chip's north-west corner: clear of the station's name, the rail and the railcar rings


def colour_at(page, lon, lat):
    """The map's colour at a lon/lat: the median of the 5x5 pixels round where the camera puts it."""
    x, y = screen_xy(page, lon, lat, "tumen")
    box = page.locator(CHART).first.bounding_box()
    im = Image.open(io.BytesIO(page.locator(CHART).first.screenshot())).convert("RGB")
    cx, cy = round(x - box["x"]), round(y - box["y"])
    patch = sorted(im.getpixel((cx + dx, cy + dy)) for dx in range(-2, 3) for dy in range(-2, 3))
    return patch[len(patch) // 2]


def reddish(rgb) -> bool:
    return rgb[0] > 170 and rgb[1] < 90 and rgb[2] < 90


def bluish(rgb) -> bool:
    return rgb[2] > 170 and rgb[0] < 90 and rgb[1] < 110


def upload_image(page, path, source, licence, message):
    sidebar = page.locator('[data-testid="stSidebar"]')
    sidebar.locator('input[type="file"]').set_input_files(str(path))
    sidebar.get_by_text(f"{path.name}: 1 image(s)").wait_for(timeout=WAIT_MS)  # the preview
    # Type each field and press Enter, as a person does, and read the credit line the server sends back
    # before importing: a rerun that lands just after a field was typed into can drop what was typed.
    credited = sidebar.get_by_text(f"Credited on the map and in exports as: Source: {source} · Licence: {licence}")
    for _ in range(3):
        for label, value in (("Image source", source), ("Image licence", licence)):
            field = sidebar.get_by_label(label)
            if field.input_value() != value:
                field.fill(value)
                field.press("Enter")
        try:
            credited.wait_for(timeout=20_000)
            break
        except Exception:
            wait_idle(page)
    credited.wait_for(timeout=WAIT_MS)
    import_previewed(page, message)


def step(page, key, month_text):
    page.locator("h1").first.click()  # the page, not a widget, has the keyboard
    page.keyboard.press(key)
    page.wait_for_function(f"() => document.body.innerText.includes({month_text!r})", timeout=WAIT_MS)
    wait_idle(page)
    wait_drawn(page)


def test_two_images_of_the_yard_step_with_the_month_click_open_and_compare(page, server, tmp_path):
    june = geotiff(tmp_path / "yard_june.tif", RED, "2024-06-17", bounds=CHIP, crs="EPSG:32652")
    august = geotiff(tmp_path / "yard_august.tif", BLUE, "2024-08-05", bounds=CHIP)
    open_app(page, server.url, "date=2024-06&view=tumen")
    before = colour_at(page, *PROBE)
    assert not reddish(before) and not bluish(before), before
    upload_image(page, june, "Test imagery A", "CC BY 4.0", "Imported 1 image(s) from yard_june.tif")
    upload_image(page, august, "Test imagery B", "public domain", "Imported 1 image(s) from yard_august.tif")
    assert reddish(colour_at(page, *PROBE)), colour_at(page, *PROBE)
    legend = page.locator('[data-testid="legend"]').inner_text()
    assert "Image 2024-06-17: Test imagery A, CC BY 4.0" in legend
    shot(page, "imagery-june")

    step(page, "ArrowRight", "31 July 2024")  # no image dated in July
    july = colour_at(page, *PROBE)
    assert not reddish(july) and not bluish(july), july
    step(page, "ArrowRight", "31 August 2024")
    shot(page, "imagery-august")
    assert bluish(colour_at(page, *PROBE)), colour_at(page, *PROBE)

    x, y = screen_xy(page, *PROBE, "tumen")
    tip = point_at(page, x, y)
    assert "2024-08-05" in tip and "Test imagery B" in tip and "public domain" in tip
    panel = click_open(page, x, y)
    assert "Image dated 2024-08-05; source: Test imagery B; licence: public domain." in panel.inner_text()
    thumb = panel.locator('[data-testid="evidence-images"] img')
    thumb.wait_for(timeout=WAIT_MS)
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=thumb.element_handle(),
                           timeout=WAIT_MS)
    shot(page, "imagery-panel")

    page.get_by_role("button", name="Images of Tumangang station (Rason): 2 — open the series").click()
    series = page.locator(".st-key-image_series")
    series.wait_for(timeout=WAIT_MS)
    wait_idle(page)
    text = series.inner_text()
    assert text.index("2024-06-17") < text.index("2024-08-05") and "on the map" in text
    assert "258 railcars" in text  # CSIS's count at Tumangang as of 17 June 2024, beside the June image
    compare = page.locator(".st-key-series_compare img")
    compare.nth(1).wait_for(timeout=WAIT_MS)
    assert compare.count() == 2
    for i, colour in ((0, reddish), (1, bluish)):  # before (June, red) and after (August, blue), side by side
        handle = compare.nth(i).element_handle()
        page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=handle, timeout=WAIT_MS)
        im = Image.open(io.BytesIO(compare.nth(i).screenshot())).convert("RGB")
        assert colour(im.getpixel((im.width // 2, im.height // 2))), i
    series.scroll_into_view_if_needed()
    shot(page, "imagery-series")
    assert page.errors == []
