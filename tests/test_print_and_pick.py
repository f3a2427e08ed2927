"""In headless Chromium: a printed evidence panel holds every claim, not only those in its scroll
box's view; and a point imported through the sidebar at a bundled place's coordinates, under that
place's marker, is offered by what opens on a click there, and its own panel one click on."""
import pytest

from geo import style
from geo.model import evidence
from test_browser import (ARTIFACTS, WAIT_MS, chromium, click_open, import_previewed, open_app, page, point_at,  # noqa: F401
                          screen_xy, server, shot, wait_drawn, wait_idle)

pytestmark = pytest.mark.browser
PANEL = '[data-testid="evidence-panel"]'

# Every claim row of the panel, with whatever clips it: the panel's own box or any scrolling or
# hidden-overflow box round it, as laid out for the medium emulated.
CLIPPED = """panel => {
  const rows = [...panel.querySelectorAll('li.claim[data-claim]')];
  const out = {ids: rows.map(r => r.dataset.claim), clipped: [], empty: [],
               scroll: [panel.scrollHeight, panel.clientHeight]};
  for (const row of rows) {
    const r = row.getBoundingClientRect();
    if (r.height < 1 || r.width < 1) { out.empty.push(row.dataset.claim); continue; }
    for (let box = row.parentElement; box; box = box.parentElement) {
      const css = getComputedStyle(box);
      if ([css.overflowX, css.overflowY].every(v => v === 'visible')) continue;
      const b = box.getBoundingClientRect();
      if (r.top < b.top - 1 || r.bottom > b.top + box.clientHeight + 1) {
        out.clipped.push(row.dataset.claim + ' by ' + (box.dataset.testid || box.className || box.tagName));
        break;
      }
    }
  }
  return out;
}"""


def test_printing_an_open_panel_prints_every_claim(page, server, data):
    page.set_viewport_size({"width": 1280, "height": 720})
    behind = evidence.evidence_for(data, "flow", "FL_MUNITIONS", "", "2025-11-30")
    ids = [c["id"] for c in behind.claims]
    assert len(ids) >= 30
    open_app(page, server.url, "date=2025-11&sel=flow:FL_MUNITIONS")
    panel = page.locator(PANEL)
    panel.wait_for(timeout=WAIT_MS)
    on_screen = panel.evaluate(CLIPPED)
    assert sorted(on_screen["ids"]) == sorted(ids)
    assert on_screen["scroll"][0] > on_screen["scroll"][1] and len(on_screen["clipped"]) > len(ids) // 2, \
        "on screen the panel scrolls: most claims are out of its view"
    page.emulate_media(media="print")
    printed = panel.evaluate(CLIPPED)
    assert printed["empty"] == [] and printed["clipped"] == []
    assert printed["scroll"][0] == printed["scroll"][1], "printed, the panel is as tall as its claims"
    assert page.locator('[data-testid="stSidebar"]').evaluate("e => getComputedStyle(e).display") == "none"
    page.screenshot(path=str(ARTIFACTS / "print-panel.png"), full_page=True)
    (ARTIFACTS / "print-panel.pdf").write_bytes(page.pdf(format="A4", print_background=True))
    page.emulate_media(media="screen")
    assert panel.evaluate(CLIPPED)["clipped"], "back on screen, the panel scrolls again"


TUMANGANG = (130.6081, 42.4214)  # LOC_TUMANGANG_STN in data/places.csv


def test_a_point_imported_under_a_place_marker_is_offered_when_the_place_is_clicked(page, server, tmp_path, data):
    place = data.places.set_index("id").loc["LOC_TUMANGANG_STN"]
    assert (place["lon"], place["lat"]) == TUMANGANG
    page.set_viewport_size({"width": 1280, "height": 720})
    upload = tmp_path / "yard_sighting.geojson"
    upload.write_text('{"type":"FeatureCollection","features":[{"type":"Feature","properties":'
                      '{"name":"Sighting at the yard"},"geometry":{"type":"Point","coordinates":[130.6081,42.4214]}}]}')
    open_app(page, server.url, "date=2022-10&view=tumen")
    page.locator('[data-testid="stSidebar"] input[type="file"]').set_input_files(str(upload))
    page.get_by_text("1 generic feature(s) (geojson)").wait_for(timeout=WAIT_MS)
    import_previewed(page, "Imported 1 generic feature(s) from yard_sighting.geojson")
    x, y = screen_xy(page, *TUMANGANG, style.VIEWS["tumen"])
    tip = point_at(page, x, y)
    assert "Tumangang station" in tip  # the place's marker is on top
    panel = click_open(page, x, y, PANEL)
    page.wait_for_function("sel => document.querySelector(sel).innerText.includes('Sighting at the yard')",
                           arg=PANEL, timeout=WAIT_MS)
    text = panel.inner_text()
    assert "Tumangang station" in text
    assert "Your files: 1 feature(s) within 1 km of this place" in text
    assert "Sighting at the yard: imported feature; from yard_sighting.geojson; 0 m from here" in text
    wait_idle(page)
    shot(page, "imported-under-place")
    page.get_by_role("button", name="Open: Sighting at the yard").click()  # its own panel, one click on
    page.wait_for_function("sel => document.querySelector(sel).querySelector('h4').innerText === 'Sighting at the yard'",
                           arg=PANEL, timeout=WAIT_MS)
    assert "imported feature; from yard_sighting.geojson" in panel.inner_text()
    wait_idle(page)
    shot(page, "imported-under-place-opened")
    assert page.errors == []
