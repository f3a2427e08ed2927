"""Finding any figure: the table of every claim, ?claim= links, the search box, national totals,
the events list and the About panel, in headless Chromium against a real `streamlit run`.

Skips without Chromium on a laptop; fails under CI=true."""
import pytest

from test_browser import ARTIFACTS, WAIT_MS, chromium, open_app, server, shot, wait_idle  # noqa: F401  (fixtures)

pytestmark = pytest.mark.browser
PANEL = '[data-testid="evidence-panel"]'


@pytest.fixture
def page(chromium):
    page = chromium.new_page(viewport={"width": 1280, "height": 720})
    page.errors = []
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    yield page
    page.close()


def panel_claim(page, claim_id):
    page.wait_for_selector(f'{PANEL} li.opened-claim[data-claim="{claim_id}"]', timeout=WAIT_MS)
    return page.locator(PANEL).inner_text()


def test_a_claim_link_opens_its_month_its_feature_and_marks_the_claim(page, server):
    open_app(page, server.url, "claim=S003")
    text = panel_claim(page, "S003")
    assert "about 20,000 containers" in text
    assert "Claim S003" in text
    # The month the claim became known is on the date control and in the link.
    assert "date=2024-12" in page.url and "claim=S003" in page.url
    shot(page, "claim-link-S003")


@pytest.mark.parametrize("query,claim_id,value", [
    ("200 factories", "S002", "about 200 factories"),
    ("20,000 containers US and South Korean", "S003", "about 20,000 containers"),
    ("5 million rounds US and South Korean", "S004", "more than 5 million rounds"),
    ("5.5 billion Unnamed", "S008", "up to 5.5 billion USD"),
    ("up to 33%", "S009", "up to 33%"),  # "nearly a third", said by the Ukrainian government
])
def test_search_finds_each_december_2024_figure_and_opens_it(page, server, query, claim_id, value):
    open_app(page, server.url)
    box = page.locator('input[aria-label="Search"]')
    box.fill(query)
    box.press("Enter")
    hit = page.locator('[data-testid="stSidebar"] button', has_text=f"({claim_id},")
    hit.first.wait_for(timeout=WAIT_MS)
    hit.first.click()
    text = panel_claim(page, claim_id)
    assert value in text
    assert f"claim={claim_id}" in page.url
    if claim_id == "S002":
        shot(page, "search-200-factories")


def test_national_totals_are_one_click_from_the_map(page, server):
    open_app(page, server.url)
    page.get_by_role("button", name="National totals").click()
    page.wait_for_selector(PANEL, timeout=WAIT_MS)
    text = page.locator(PANEL).inner_text()
    for value in ("about 200 factories", "up to 5.5 billion USD"):
        assert value in text
    assert "sel=totals%3Anational" in page.url or "sel=totals:national" in page.url


def test_the_table_follows_the_filters_and_the_date_and_links_to_the_map(page, server):
    open_app(page, server.url, "date=2024-12&claimant_type=media")
    page.get_by_role("tab", name="Every claim").click()
    table = page.locator('.st-key-claims_table, [data-testid="stDataFrame"]').first
    table.wait_for(timeout=WAIT_MS)
    wait_idle(page)
    caption = page.get_by_text("claim(s), under the sidebar's filters").inner_text()
    filtered = int(caption.split()[0])
    shot(page, "claims-table-month")
    page.locator('[data-testid="stMain"] button', has_text="all claims").click()
    wait_idle(page)
    page.wait_for_function("n => !document.body.innerText.includes(n + ' claim(s), under')", arg=str(filtered),
                           timeout=WAIT_MS)
    everything = int(page.get_by_text("claim(s), under the sidebar's filters").inner_text().split()[0])
    assert 0 < filtered < everything
    shot(page, "claims-table")
    assert not page.errors
    # The first row's "open" link (second column) shows that claim on the map.
    grid = page.locator('[data-testid="stDataFrame"]').first.bounding_box()
    first_id = None
    with page.context.expect_page(timeout=WAIT_MS) as opened:
        page.mouse.move(grid["x"] + 98, grid["y"] + 53)
        page.mouse.click(grid["x"] + 98, grid["y"] + 53)
    claim_page = opened.value
    claim_page.wait_for_load_state()
    assert "claim=" in claim_page.url
    first_id = claim_page.url.split("claim=")[1].split("&")[0]
    claim_page.wait_for_selector(f'{PANEL} li.opened-claim[data-claim="{first_id}"]', timeout=WAIT_MS)
    claim_page.close()


def test_about_reachable_from_the_title_explains_the_words_with_examples(page, server):
    open_app(page, server.url)
    page.get_by_role("tab", name="About & method").click()
    about = page.get_by_text("Words used on the map and in the panels")
    about.wait_for(timeout=WAIT_MS)
    body = page.locator('[data-testid="stMain"]').inner_text()
    for word in ("standing", "disputed", "capacity estimate", "unverified", "inferred routing",
                 "Wall Street Journal", "December 2024", "claim S003"):
        assert word in body
    shot(page, "about")
