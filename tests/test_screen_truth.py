"""What lands on screen says only what is true of the map as drawn, in headless Chromium against a
real `streamlit run`: the step charts draw only the claims known by the selected month; every
entry of a presenter scene's legend is drawn inside the map's box; no basemap name sits under
the analyst's legend. Screenshots go to artifacts/.

Skips without Chromium on a laptop; fails under CI=true."""
import pytest

from test_browser import WAIT_MS, chromium, open_app, server, shot, wait_idle  # noqa: F401

pytestmark = pytest.mark.browser
CHART_BOX = '[data-testid="stVegaLiteChart"]'


def choose_chart(page, name: str):
    """Pick a chart from the Chart list under the map by clicking its option, as a person does; a
    rerun that lands while the list is open closes it, so open it again until the choice is taken."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    choice = page.locator('.st-key-chart [data-testid="stSelectbox"]')
    choice.scroll_into_view_if_needed()

    def chosen() -> str:
        field = choice.locator("input")
        return choice.inner_text() + " " + (field.first.input_value() if field.count() else "")

    if name in chosen():
        return
    option = page.get_by_role("option", name=name, exact=True)
    for _ in range(5):
        choice.click(timeout=WAIT_MS)
        try:
            option.wait_for(state="visible", timeout=10_000)
            option.click(timeout=10_000)
            break
        except PlaywrightTimeout:
            page.keyboard.press("Escape")
            wait_idle(page)
    wait_idle(page)
    assert name in chosen()


def drawn_claim_points(page) -> list[str]:
    """The claim ids of the points the step chart draws, read from its SVG marks (Vega writes
    each mark's fields, the tooltip's claim id among them, into its aria-label)."""
    page.locator(CHART_BOX).first.scroll_into_view_if_needed()
    page.wait_for_function(f"() => document.querySelector('{CHART_BOX} svg [aria-roledescription=point]')",
                           timeout=WAIT_MS)
    labels = page.evaluate(f"() => [...document.querySelectorAll('{CHART_BOX} svg [aria-roledescription=point]')]"
                           ".map(e => e.getAttribute('aria-label'))")
    return [part.split(": ", 1)[1] for label in labels for part in label.split("; ") if part.startswith("claim: ")]


@pytest.mark.parametrize("width,height", [(1280, 720), (1440, 900)])
def test_the_step_charts_draw_only_the_claims_known_by_the_selected_month(chromium, server, data, width, height):
    from geo.model import timeline
    from geo.render import charts
    page = chromium.new_page(viewport={"width": width, "height": height})
    try:
        open_app(page, server.url, "date=2024-06")
        for name in ("Containers shipped", "Railcars seen at the crossing", "Artillery shells"):
            choose_chart(page, name)
            page.wait_for_function(f"() => document.querySelector('{CHART_BOX}')", timeout=WAIT_MS)
            drawn = drawn_claim_points(page)
            claims = data.claims[data.claims["metric"].isin(charts.CHART_METRICS[name])]
            said = dict(zip(claims["id"], timeline.said_on(claims)))
            later = sorted(i for i in drawn if said[i] > timeline.month_end("2024-06-01"))
            assert not later, f"{name}: claims made public after June 2024 are drawn: {later}"
            known = {i for i, day in said.items() if day <= timeline.month_end("2024-06-01")}
            assert sorted(drawn) == sorted(known), f"{name}: every claim known by then is drawn, once"
            caption = page.locator('[data-testid="stCaptionContainer"]').filter(has_text="known by").inner_text()
            assert "known by 30 June 2024" in caption and "made public later are not drawn" in caption
            if name == "Railcars seen at the crossing":  # CSIS's count of 17 June 2024 was published in August
                assert {"F079", "F080"}.isdisjoint(drawn)
                shot(page, f"chart-known-by-{width}")
    finally:
        page.close()
