"""An AIS export beyond the importer's limit, imported through the page in headless Chromium: the
sidebar shows a progress bar while the file streams into the positions store, then the batch is
listed and its tracks are on the map, read from the store for the month shown. The importer's
limit is lowered for this server (GEO_IMPORT_ROWS), as an operator would, so that a file of a few
hundred thousand positions stands for a larger one.

Skips without Chromium on a laptop; fails under CI=true, where .ci/run installs it.
"""
import re

import pytest

from bench import shipsdata
from bench.browser import Server
from geo import style
from test_browser import WAIT_MS, chromium, click_open, page, open_app, point_at, screen_xy, shot, wait_idle  # noqa: F401

pytestmark = pytest.mark.browser
ROWS = 400_000


@pytest.fixture(scope="module")
def big_server(tmp_path_factory):
    folder = tmp_path_factory.mktemp("ws")
    srv = Server({"GEO_WORKSPACE": str(folder / "ws.sqlite"), "GEO_IMPORT_ROWS": "10000"})
    yield srv
    srv.stop()


def test_a_big_ais_export_imported_on_the_page_shows_progress_then_its_tracks(page, big_server, tmp_path):
    frame = shipsdata.generate(ROWS, seed=5, vessels=8, start="2024-09-01", days=29)
    path = tmp_path / "big_ais_export.csv"
    shipsdata.write_ais_csv(path, [frame])

    open_app(page, big_server.url, "date=2024-09&view=sea&layers=basemap,tracks")
    page.locator('[data-testid="stSidebar"] input[type="file"]').set_input_files(str(path))
    page.get_by_text(re.compile(r"big_ais_export\.csv: 400,000 position\(s\) \(ais-csv\)")).wait_for(timeout=WAIT_MS)
    page.get_by_role("button", name="Import", exact=True).click()
    # While the file streams: a bar, with the positions read so far and the share of the bytes.
    page.get_by_text(re.compile(r"Importing big_ais_export\.csv: [\d,]+ positions read, \d+%")).wait_for(
        timeout=WAIT_MS)
    assert page.locator('[data-testid="stSidebar"] [data-testid="stProgress"]').count() == 1
    shot(page, "ships-big-import-progress")
    page.get_by_text(re.compile(r"Imported 400,000 position\(s\) from big_ais_export\.csv as batch \d+")) \
        .wait_for(timeout=WAIT_MS)
    wait_idle(page)
    assert re.search(r"#\d+ big_ais_export\.csv · tracks · 400,000",
                     page.locator('[data-testid="stSidebar"]').inner_text())

    # The tracks, drawn from the positions store: a vessel's last position of the month is its
    # trail's head, and hovering it names the vessel.
    open_app(page, big_server.url, "date=2024-09&view=sea&layers=basemap,tracks")
    legend = page.locator('[data-testid="legend"]').inner_text()
    assert "imported track" in legend
    centre = style.VIEWS["sea"]
    last = frame.sort_values("t").groupby("mmsi").tail(1)
    last = last.iloc[((last["lon"] - centre.longitude) ** 2 + (last["lat"] - centre.latitude) ** 2).argmin()]
    x, y = screen_xy(page, last["lon"], last["lat"], "sea")
    tip = point_at(page, x, y)
    assert "SYNTH" in tip and "positions" in tip
    shot(page, "ships-big-import-tracks")
    # Clicked, the trail opens its panel: the vessel's positions by the date, read from the store.
    panel = click_open(page, x, y)
    wait_idle(page)
    mine = frame[frame["mmsi"] == last["mmsi"]]
    text = panel.inner_text()
    assert f"MMSI {last['mmsi']}" in text and "big_ais_export.csv" in text, text[:400]
    assert f"{len(mine):,} of {len(mine):,} position(s) by this date" in text, text[:400]
    box = panel.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= page.viewport_size["width"], box
    shot(page, "ships-big-import-panel")
