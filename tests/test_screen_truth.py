"""What lands on screen says only what is true of the map as drawn, in headless Chromium against a
real `streamlit run`: the step charts draw only the claims known by the selected month; every
entry of a presenter scene's legend is drawn inside the map's box; no basemap name sits under
the analyst's legend. Screenshots go to artifacts/.

Skips without Chromium on a laptop; fails under CI=true."""
import pytest

from test_browser import WAIT_MS, chromium, open_app, pick_option, server, shot, wait_idle  # noqa: F401

pytestmark = pytest.mark.browser
CHART_BOX = '[data-testid="stVegaLiteChart"]'


def choose_chart(page, name: str):
    """Pick a chart from the Chart list under the map by clicking its option, as a person does; a
    rerun that lands while the list is open closes it, so open it again until the choice is taken."""
    choice = page.locator('.st-key-chart [data-testid="stSelectbox"]')
    choice.scroll_into_view_if_needed()

    def chosen() -> str:
        field = choice.locator("input")
        return choice.inner_text() + " " + (field.first.input_value() if field.count() else "")

    if name in chosen():
        return
    pick_option(page, choice, name)
    wait_idle(page)
    assert name in chosen()


def drawn_marks(page, role: str, field: str) -> list[str]:
    """One field of each mark the chart draws (`role`: point, tick), read from its SVG marks: Vega
    writes each mark's fields, those of its tooltip, into its aria-label."""
    marks = f"{CHART_BOX} svg [aria-roledescription={role}]"
    page.locator(CHART_BOX).first.scroll_into_view_if_needed()
    page.wait_for_function(f"() => document.querySelector('{marks}')", timeout=WAIT_MS)
    labels = page.evaluate(f"() => [...document.querySelectorAll('{marks}')].map(e => e.getAttribute('aria-label'))")
    return [part.split(": ", 1)[1] for label in labels for part in label.split("; ") if part.startswith(f"{field}: ")]


def drawn_claim_points(page) -> list[str]:
    """The claim ids of the points the step chart draws."""
    return drawn_marks(page, "point", "claim")


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
            claims = data.claims[data.claims["metric"].isin(charts.CHART_METRICS[name])]
            # Vega draws the chosen chart a moment after the run: wait until its points are this metric's.
            for _ in range(WAIT_MS // 500):
                drawn = drawn_claim_points(page)
                if drawn and set(drawn) <= set(claims["id"]):
                    break
                page.wait_for_timeout(500)
            assert set(drawn) <= set(claims["id"]), f"the chart drawn is not {name}: {drawn}"
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


# --- the legend names what is drawn inside the map, and nothing else ----------------------------------

FAMILY_WORDS = {"munitions": "munitions", "missiles": "missiles", "troops": "troops", "money": "money",
                "rail": "rail", "sea": "sea", "industry": "industry", "reverse": "goods to North Korea"}


def label_keys(labels: list[str]) -> set:
    """What each legend row says is on the map, as a symbol key (the test's own reading of its words)."""
    keys = set()
    for label in labels:
        if label.startswith("arc: "):
            keys.add(("arc", label[len("arc: "):-len(" flow")]))
        elif label.endswith(": highest claim"):
            keys.add(("band", label.split(":")[0]))
        elif label.split(",")[0] in ("rail", "sea", "air", "road"):
            keys.add(("leg", label.split(",")[0], "inferred routing" in label, "no volume yet" not in label))
        elif "strike" in label:
            keys.add(("strike", "drone" in label))
        else:
            keys.add(({"railcars in imagery": "railcars", "other event": "event", "factory region (approx.)": "factory",
                       "front area (approx.)": "front", "place": "place"}.get(label, label),))
    return keys


def drawn_keys(view, data, cam) -> set:
    """The symbol keys of everything the view draws inside the map of camera `cam`, worked out from
    the records each layer draws, projected as deck.gl projects them."""
    import numpy as np
    import shapely
    from shapely.geometry import shape
    screen = shapely.box(0, 0, cam.width, cam.height)

    def seen(geom) -> bool:
        coords = shapely.get_coordinates(geom)
        xs, ys = cam.pixels(coords[:, 0], coords[:, 1])
        return bool(shapely.transform(geom, lambda _: np.column_stack([xs, ys])).intersects(screen))

    keys = set()
    for r in view.features("routes"):
        line = shapely.LineString(r["path"])
        if seen(line):
            keys.add(("leg", r["mode"], r["status"] != "reported", bool(r["has_volume"])))
            if r["width_high"] > r["width"]:
                keys.add(("band", r["mode"]))
    keys |= {("arc", FAMILY_WORDS[f["family"]]) for f in view.features("flows") if seen(shapely.LineString(f["path"]))}
    for layer, key in (("railcars", "railcars"), ("events", "event")):
        if any(seen(shapely.Point(r["position"])) for r in view.features(layer)):
            keys.add((key,))
    strikes = [r for r in view.features("strikes") if seen(shapely.Point(r["position"]))]
    if strikes:
        keys.add(("strike", any("drone" in f"{r['name']} {r['detail']}".lower() for r in strikes)))
    for layer, key in (("front", "front"), ("factories", "factory")):
        if any(seen(shape(f["geometry"])) for f in view.records.get(layer, {}).get("features", [])):
            keys.add((key,))
    if "places" in view.state.layers and any(seen(shapely.Point(x, y)) for x, y in zip(data.places["lon"],
                                                                                          data.places["lat"])):
        keys.add(("place",))
    return keys


def scene_view(data, scene):
    """The map a presenter's scene draws (its month, view, layers and focus), as every renderer gets it."""
    from geo.model import timeline
    from geo.view import MapState, records, view_for
    state = MapState(date=timeline.month_end(scene["date"]), view=scene["view"], layers=tuple(scene["layers"]),
                     present=True, focus=records.scene_focus(data.areas, scene))
    return view_for(data, None, state, track_paths=False)


@pytest.mark.parametrize("width,height", [(1280, 720), (1920, 1080)])
def test_every_entry_of_a_scene_s_legend_is_drawn_inside_the_map_and_the_scene_frames_its_places(
        chromium, server, data, width, height):
    """S5 (missiles at the front) drew the Kursk front areas above the map's top edge and listed them."""
    from test_browser import map_camera, wait_drawn
    page = chromium.new_page(viewport={"width": width, "height": height})
    try:
        scenes = data.scenes.to_dict("records")
        open_app(page, server.url, f"present=1&scene={scenes[0]['id']}")
        for i, scene in enumerate(scenes):
            if i:
                page.keyboard.press("ArrowRight")
                page.wait_for_function(f"() => location.search.includes('scene={scene['id']}')", timeout=WAIT_MS)
                wait_idle(page)
                page.wait_for_selector('[data-testid="map-fitted"]:not([data-size=""])', state="attached",
                                       timeout=WAIT_MS)
                wait_drawn(page)
            view = scene_view(data, scene)
            cam, _ = map_camera(page, scene["view"], present=True, focus=view.state.focus)
            labels = [t.strip() for t in page.locator('.st-key-side [data-testid="legend"] li').all_inner_texts()]
            listed, drawn = label_keys(labels), drawn_keys(view, data, cam)
            assert listed - drawn == set(), f"{scene['id']} at {width}x{height}: listed, not drawn on the map"
            assert drawn - listed == set(), f"{scene['id']} at {width}x{height}: drawn on the map, not listed"
            # The scene frames its places and its areas at them whole, clear of the map's edges.
            places = data.places[data.places["id"].isin(view.state.focus)]
            for name, x, y in zip(places["name"], *cam.pixels(places["lon"].to_numpy(), places["lat"].to_numpy())):
                assert 0 <= x <= cam.width and 0 <= y <= cam.height, f"{scene['id']}: {name} is off the map"
            for geom in data.areas.geometry[data.areas["id"].isin(view.state.focus).to_numpy()]:
                x0, y0, x1, y1 = geom.bounds
                (left, right), (bottom, top) = cam.pixels([x0, x1], [y0, y1])
                assert left >= 0 and top >= 0 and right <= cam.width and bottom <= cam.height, scene["id"]
            if scene["id"] == "S5" and width == 1280:
                shot(page, "scene-S5-legend-1280")
    finally:
        page.close()


# --- no basemap name under the analyst's legend -------------------------------------------------------

def watch_decks(page) -> list[bytes]:
    """Collect what the server sends the page over its websocket: the map's deck spec is in there."""
    frames: list[bytes] = []

    def on_socket(ws):
        ws.on("framereceived", lambda payload: frames.append(payload if isinstance(payload, bytes)
                                                              else payload.encode()))
    page.on("websocket", on_socket)
    return frames


def last_deck(frames: list[bytes]) -> dict:
    """The last deck spec the page received (the JSON of Streamlit's pydeck element)."""
    import json
    for frame in reversed(frames):
        if b'"basemap-names-' not in frame:
            continue
        text = frame.decode("utf-8", errors="replace")
        start = text.find('{"')
        while start >= 0:
            try:
                spec, _ = json.JSONDecoder().raw_decode(text, start)
                if isinstance(spec, dict) and "layers" in spec:
                    return spec
            except ValueError:
                pass
            start = text.find('{"', start + 1)
    raise AssertionError("no deck with basemap names reached the page")


def drawn_name_boxes(deck: dict, width: int, height: int) -> list[tuple[str, tuple]]:
    """The screen box of every basemap name (and the scale's label and the credit) the page was sent,
    in the canvas's pixels: where deck.gl stamps each icon, from the deck's own camera."""
    from geo.render import labels
    view = deck["initialViewState"]
    cam = labels.Camera(view["longitude"], view["latitude"], view["zoom"], width, height)
    out = []
    for layer in deck["layers"]:
        if not layer["id"].startswith("basemap-names"):
            continue
        mapping = layer["iconMapping"]
        for row in layer["data"]:
            icon = mapping[row["icon"]]
            x, y = cam.pixel(*row["position"])
            left, top = x + row["offset"][0], y + row["offset"][1]
            out.append((row["icon"], (left, top, left + icon["width"] * row["size"] / icon["height"],
                                      top + row["size"])))
    return out


@pytest.mark.parametrize("width,height", [(1280, 720), (1440, 900)])
def test_no_basemap_name_sits_under_the_legend_in_the_front_view(chromium, server, width, height):
    """At 1280x720 the front view's legend covered a faint province name (Voronezh)."""
    from geo.render import labels
    from test_browser import CHART
    page = chromium.new_page(viewport={"width": width, "height": height})
    try:
        frames = watch_decks(page)
        open_app(page, server.url, "date=2025-06&view=front")
        canvas = page.locator(f"{CHART} canvas").first.bounding_box()
        own = page.locator('.st-key-map_box details.legend').bounding_box()
        legend = (own["x"] - canvas["x"], own["y"] - canvas["y"], own["x"] - canvas["x"] + own["width"],
                  own["y"] - canvas["y"] + own["height"])
        names = drawn_name_boxes(last_deck(frames), round(canvas["width"]), round(canvas["height"]))
        assert len(names) > 5, "the front view draws the basemap's names"
        under = [key for key, box in names if labels.overlaps(box, legend)]
        shot(page, f"front-names-clear-{width}")
        assert not under, f"front view at {width}x{height}: the legend {tuple(map(round, legend))} covers {under}"
        share = own["width"] * own["height"] / (canvas["width"] * canvas["height"])
        assert share <= 0.20, f"the legend covers {share:.0%} of the map"
    finally:
        page.close()
