"""An imported image under a path prefix, in headless Chromium against a real
`streamlit run --server.baseUrlPath dashboard` (a team serving the page at /dashboard/ behind a
proxy): the image's address carries the prefix, so the map draws it and its panel shows its
thumbnail.

Skips without Chromium on a laptop; fails under CI=true."""
import io

import pytest
from PIL import Image

from bench.browser import CHART, Server
from imagery_files import RED, geotiff
from test_browser import WAIT_MS, chromium, open_app, page, screen_xy, shot  # noqa: F401

pytestmark = pytest.mark.browser
WIDE = (130.45, 42.33, 130.75, 42.50)
PROBE = (130.50, 42.485)  # inside the image, near its north-west corner, clear of names and rails


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    from geo.imports.importer import read_file
    from geo.store.workspace import Workspace
    folder = tmp_path_factory.mktemp("prefix")
    target = str(folder / "ws.sqlite")
    Workspace(target).add(read_file(geotiff(folder / "yard_june.tif", RED, "2024-06-17", bounds=WIDE, size=(600, 340)),
                                    image_source="Test imagery A", image_licence="CC BY 4.0"))
    srv = Server({"GEO_WORKSPACE": target}, base_path="dashboard")
    yield srv
    srv.stop()


def test_an_imported_image_draws_under_the_path_prefix(page, server):
    assert server.url.endswith("/dashboard/")
    media = []
    page.on("response", lambda r: media.append((r.url, r.status)) if "/media/" in r.url and "/static/" not in r.url
            else None)  # the server's media files (images), not the page's own fonts
    open_app(page, server.url, "date=2024-06&view=tumen&sel=image:img1")
    x, y = screen_xy(page, *PROBE, "tumen")
    box = page.locator(CHART).first.bounding_box()
    im = Image.open(io.BytesIO(page.locator(CHART).first.screenshot())).convert("RGB")
    rgb = im.getpixel((round(x - box["x"]), round(y - box["y"])))
    assert rgb[0] > 170 and rgb[1] < 90 and rgb[2] < 90, rgb  # the red June image, drawn
    thumb = page.locator('[data-testid="evidence-images"] img')
    thumb.wait_for(timeout=WAIT_MS)
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=thumb.element_handle(),
                           timeout=WAIT_MS)
    assert thumb.get_attribute("src").startswith("/dashboard/media/")
    shot(page, "imagery-under-prefix")
    assert media and all(status == 200 and "/dashboard/media/" in url for url, status in media), media
    assert page.errors == []
