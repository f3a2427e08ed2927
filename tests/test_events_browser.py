"""An analyst's events file on the page, in headless Chromium at 1280×720 against a real
`streamlit run`: uploaded through the sidebar, its events join the Events list and timeline
under the map by their date, each naming its file, one opens on the map from the list and
another from the search box.

Skips without Chromium on a laptop; fails under CI=true."""
import re

import pytest

import sample_files as sf
from test_browser import WAIT_MS, chromium, import_previewed, open_app, server, shot, wait_idle  # noqa: F401
from test_screen_truth import choose_chart, drawn_marks

pytestmark = pytest.mark.browser
IMPORTED = "Explosions/Remote violence — Kharkiv"  # the ACLED sample's strike of 17 January 2024


def drawn_ticks(page) -> list[str]:
    """The titles of the events the timeline draws."""
    return drawn_marks(page, "tick", "title")


def test_an_uploaded_events_file_joins_the_events_list_and_timeline_by_date_and_opens_on_the_map(chromium, server,
                                                                                                   tmp_path):
    page = chromium.new_page(viewport={"width": 1280, "height": 720})
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        open_app(page, server.url, "date=2023-12")
        sidebar = page.locator('[data-testid="stSidebar"]')
        sidebar.locator('input[type="file"]').set_input_files(str(sf.acled_csv(tmp_path / "acled_events.csv")))
        import_previewed(page, "Imported 2 events feature(s) from acled_events.csv")
        choose_chart(page, "Events")
        events = page.locator('[data-testid="events-list"]')
        events.wait_for(timeout=WAIT_MS)
        assert IMPORTED not in events.inner_text() and IMPORTED not in drawn_ticks(page), "not before its day"

        page.locator("h1").first.click()  # the page, not a widget, has the keyboard
        page.keyboard.press("ArrowRight")  # January 2024
        page.wait_for_function("() => document.body.innerText.includes('31 January 2024')", timeout=WAIT_MS)
        wait_idle(page)
        item = events.locator("li", has_text=IMPORTED)
        item.wait_for(timeout=WAIT_MS)
        assert "your file acled_events.csv" in item.inner_text()
        assert IMPORTED in drawn_ticks(page)
        shot(page, "events-imported")

        item.get_by_role("link", name="on the map").click()
        panel = page.locator('[data-testid="evidence-panel"]')
        panel.wait_for(timeout=WAIT_MS)
        wait_idle(page)
        assert "Kharkiv" in panel.inner_text() and "acled_events.csv" in panel.inner_text()
        box = panel.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 1280, box

        # The search box finds the file's other event, and its hit opens it.
        box = sidebar.get_by_label("Search", exact=True)
        box.fill("explosions kyiv")
        box.press("Enter")
        hit = sidebar.get_by_role("button", name=re.compile(r"Kyiv 2024-01-02 \(event, your file acled_events\.csv\)"))
        hit.click(timeout=WAIT_MS)
        page.wait_for_function("() => document.querySelector('[data-testid=\"evidence-panel\"]')"
                               "?.innerText.includes('Kyiv')", timeout=WAIT_MS)
        shot(page, "events-imported-search")
        assert errors == []
    finally:
        page.close()
