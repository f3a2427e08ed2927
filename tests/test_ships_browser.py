"""Ships on the page in headless Chromium against a real `streamlit run`: an analyst imports an AIS
export and a sanctions list through the sidebar, reads beside the claim of calls at Rajin what
their tracks give, clicks a gap and an encounter on the map, and opens a vessel card with its
sanctions. Screenshots go to artifacts/.

Skips without Chromium on a laptop; fails under CI=true, where .ci/run installs it.
"""
import io
import json
import re

import pandas as pd
import pytest

import ship_tracks
from test_browser import (WAIT_MS, chromium, click_open, page, server, open_app, point_at, screen_xy, shot, wait_drawn,  # noqa: F401
                          wait_idle)

pytestmark = pytest.mark.browser
PANEL = '[data-testid="evidence-panel"]'
SANCTIONS = [  # a made-up list in FollowTheMoney's shape: one vessel, one sanction naming it
    {"id": "test-vessel-1", "schema": "Vessel", "properties": {"name": ["ANGARA"], "mmsi": ["273111110"]},
     "topics": ["sanction"], "datasets": ["test_list"]},
    {"id": "test-sanction-1", "schema": "Sanction", "datasets": ["test_list"],
     "properties": {"entity": ["test-vessel-1"], "authority": ["Test Authority"], "program": ["TEST-PROGRAM"],
                    "listingDate": ["2024-02-24"]}},
]


def upload(page, path, name_in_message: str):
    """Drop a file on the sidebar's importer, wait for its preview, press Import, wait for the batch."""
    page.locator('[data-testid="stSidebar"] input[type="file"]').set_input_files(str(path))
    button = page.get_by_role("button", name="Import", exact=True)
    page.wait_for_function("""() => { const b = [...document.querySelectorAll('[data-testid="stSidebar"] button')]
        .find(b => b.innerText.trim() === 'Import'); return b && !b.disabled; }""", timeout=WAIT_MS)
    button.click()
    page.get_by_text(re.compile(rf"Imported .* from {re.escape(name_in_message)}")).wait_for(timeout=WAIT_MS)
    wait_idle(page)


def detections_of(csv_text: str) -> pd.DataFrame:
    """Where the synthetic file's events lie (the engine's own answer, used only to aim the clicks)."""
    from geo.ships import detections
    df = pd.read_csv(io.StringIO(csv_text), dtype=str)
    return detections.detect(pd.DataFrame({"mmsi": df.MMSI, "imo": df.IMO.fillna(""), "name": df.VesselName,
                                           "t": pd.to_datetime(df.BaseDateTime), "lon": df.LON.astype(float),
                                           "lat": df.LAT.astype(float), "sog": df.SOG.astype(float)}))


def click_panel(page, x, y, tooltip_word: str) -> str:
    assert tooltip_word in point_at(page, x, y)
    click_open(page, x, y, PANEL)
    wait_idle(page)
    return page.locator(PANEL).inner_text()


def test_an_analyst_imports_ais_tracks_and_reads_them_beside_the_claims_and_on_the_map(page, server, tmp_path):
    csv_text = ship_tracks.ais_csv()
    (tmp_path / "ais_export.csv").write_text(csv_text)
    (tmp_path / "sanctions.ftm.json").write_text("\n".join(json.dumps(e) for e in SANCTIONS) + "\n")
    truth = ship_tracks.voyages()[1]

    open_app(page, server.url, "date=2024-09")
    upload(page, tmp_path / "ais_export.csv", "ais_export.csv")
    upload(page, tmp_path / "sanctions.ftm.json", "sanctions.ftm.json")

    # The claim of 64 calls at Rajin, opened from a link: beside it, what the imported tracks give.
    open_app(page, server.url, "claim=F090")
    opened = page.locator(f"{PANEL} ul.opened")
    opened.wait_for(timeout=WAIT_MS)
    assert "64 voyages" in opened.inner_text()
    derived = opened.locator('[data-testid="derived"]').inner_text()
    assert derived.startswith(f"Your tracks: {truth['calls']['Rajin']} calls at Rajin by {truth['rajin_vessels']} "
                              "vessels, September 2024")
    assert "derived from your imported AIS data; not a claim" in derived
    shot(page, "ships-claim-derived")

    found = detections_of(csv_text)
    open_app(page, server.url, "date=2024-09&view=sea&layers=basemap,detections")
    legend = page.locator('[data-testid="legend"]').inner_text()
    assert "port call (your tracks)" in legend and "AIS gap" in legend and "encounter" in legend
    # The gap: its dashed line, clicked at its middle.
    gap = found[found["kind"] == "gap"].iloc[0]
    x, y = screen_xy(page, (gap.lon + gap.end_lon) / 2, (gap.lat + gap.end_lat) / 2, "sea")
    text = click_panel(page, x, y, "AIS gap")
    assert "AIS gap: ANGARA" in text and "Went dark" in text and "Reappeared" in text
    assert "at least 12 h with no position" in text and "Positions behind it" in text
    shot(page, "ships-gap-panel")
    page.locator("h1").first.click()
    page.keyboard.press("Escape")
    page.locator(PANEL).wait_for(state="detached", timeout=WAIT_MS)
    wait_idle(page)
    wait_drawn(page)

    # The encounter at sea, then the card of one of its vessels, with the imported list's sanction.
    meet = found[found["kind"] == "encounter"].iloc[0]
    text = click_panel(page, *screen_xy(page, meet.lon, meet.lat, "sea"), "Encounter")
    assert "Encounter: ANGARA and TEST DRIFTER" in text and "within 500 m" in text
    page.get_by_role("button", name=re.compile("Vessel card: ANGARA")).click()
    page.wait_for_function("() => document.querySelector('[data-testid=\"evidence-panel\"] h4')?.innerText"
                           ".startsWith('Vessel:')", timeout=WAIT_MS)
    wait_idle(page)
    card = page.locator(PANEL).inner_text()
    assert "Vessel: Angara" in card and "Flag: Russia" in card
    assert "test_list; Test Authority; listed 2024-02-24; matched by mmsi" in card
    assert "Port calls in your tracks (4)" in card and "AIS gaps in your tracks (1)" in card
    page.locator(PANEL).screenshot(path=str(shot_path("ships-vessel-card-panel")))
    shot(page, "ships-vessel-card")

    # A track leads to its vessel's card too: Maria, sanctioned in the registry's cited sources.
    open_app(page, server.url, "date=2024-09&view=sea&layers=basemap,tracks")
    rows = [r for r in ship_tracks.voyages()[0] if r[0] == "273222220"]
    _, _, lat, lon, *_ = rows[len(rows) // 3]  # at sea between Dunai and Rajin
    assert "MARIA" in click_panel(page, *screen_xy(page, lon, lat, "sea"), "MARIA")
    page.get_by_role("button", name=re.compile("Vessel card: MARIA")).click()
    page.wait_for_function("() => document.querySelector('[data-testid=\"evidence-panel\"] h4')?.innerText"
                           ".startsWith('Vessel:')", timeout=WAIT_MS)
    card = page.locator(PANEL).inner_text()
    assert "Vessel: Maria" in card and "blacklisted by the US State Department, from 2023-12-12" in card
    assert page.errors == []


def shot_path(name):
    from test_browser import ARTIFACTS
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS / f"{name}.png"


def test_the_offline_html_export_draws_the_months_calls_and_their_legend_without_the_network(chromium, tmp_path):
    """The HTML export of September 2024 with the detections layer on, opened from disk in Chromium with
    every request refused: the port-call markers are drawn (their green is on the canvas, and not
    with the layer off) and the legend lists them as the analyst's tracks."""
    import numpy as np
    from PIL import Image
    from geo import export as exports
    from geo.data import dataset
    from geo.imports.importer import read_file
    from geo.page import ships as page_ships
    from geo.store.workspace import Workspace
    from geo.view import ships as ship_view
    from geo.view.records import MapState
    ws = Workspace(str(tmp_path / "ws.sqlite"))
    ws.add(read_file(ship_tracks.ais_csv().encode(), filename="ais_export.csv"))
    snapshot, params = ws.snapshot(), page_ships.params_from({})
    found, coverage = page_ships.find(ws, snapshot, params)
    findings = page_ships.findings(found, params, coverage)
    data = dataset.load()
    with_layer = ("basemap", "routes", "detections")
    green = np.array(ship_view.RGB["port_call"])
    counts = {}
    for name, chosen in (("on", with_layer), ("off", with_layer[:-1])):
        state = MapState(date=pd.Timestamp("2024-09-30"), layers=chosen, view="sea")
        path = tmp_path / f"{name}.html"
        path.write_bytes(exports.export("html", data, state, snapshot, ships=findings))
        view = chromium.new_page(viewport={"width": 1280, "height": 800})
        requests, errors = [], []
        view.route("**/*", lambda r: r.continue_() if r.request.url.startswith("file:")
                   else (requests.append(r.request.url), r.abort()))
        view.on("pageerror", lambda e: errors.append(str(e)))
        view.goto(path.as_uri())
        view.wait_for_selector("#deck-container canvas", timeout=WAIT_MS)
        png = wait_drawn(view, "#deck-container canvas", min_lit=0, timeout_ms=WAIT_MS)
        pixels = np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(int)
        counts[name] = int((np.abs(pixels - green).sum(axis=2) < 40).sum())
        legend = view.locator('[data-testid="legend"]').text_content() or ""
        assert ("port call (your tracks)" in legend) == (name == "on"), legend
        assert requests == [] and errors == []
        view.close()
    assert counts["on"] > counts["off"] + 30, counts
