"""Layer builders: explicit ids, deterministic JSON, and contents that follow the date."""
import dataclasses
import json
import re
import math

import pandas as pd
import pytest

from conftest import valid_on
from geo.view import records
from geo import style
from geo.render import layers, panels
from geo.model import timeline
from geo.model.evidence import Evidence, Filters, evidence_for, format_value

ALL = records.DEFAULT_LAYERS


def state(month="2024-06", **kw):
    return records.MapState(date=timeline.month_end(month + "-01"), **kw)


@pytest.fixture(scope="module")
def basemap(data):
    return layers.basemap_features(data.countries, None, style.ANALYST)


def spec(data, basemap, st):
    return json.loads(layers.build_deck(data, st, basemap).to_json())


def by_id(spec_, layer_id):
    return next(l for l in spec_["layers"] if l["id"] == layer_id)


def test_every_layer_has_its_stable_id(data, basemap):
    ids = {l["id"] for l in spec(data, basemap, state())["layers"]}
    assert set(ALL) <= ids
    assert ids - set(ALL) <= {"routes-range", "routes-range-joints", "routes-hit", "routes-dashes", "routes-joints",
                              "flows-hit", "places-labels", "basemap-lines", "front-lines", "factories-lines",
                              "basemap-lakes", "basemap-detail-0", "basemap-towns", "basemap-scale", "basemap-names-0",
                              "basemap-names-1", "basemap-names-2"}


def test_deck_json_is_deterministic_and_clean(data, basemap):
    first = layers.build_deck(data, state(), basemap).to_json()
    assert first == layers.build_deck(data, state(), basemap).to_json()
    text = re.sub(r"data:image/png;base64,[A-Za-z0-9+/=]*", "", first)  # an image's base64 may spell NaN
    assert "NaN" not in text and "Infinity" not in text
    assert "T00:00:00" not in first, "timestamps must be formatted before they reach the deck"
    assert '"mapStyle":"__MAP_STYLE__"' in first.replace(" ", ""), "no tile basemap may be requested"


def test_close_up_views_thin_long_legs_only_outside_the_detail_box(data, basemap):
    def path(view):  # the leg's whole path, before the map cuts it into dashes
        rows = records.route_records(records.prepare(data, Filters()), state("2025-11", view=view), style.palette(False))
        return next(r["path"] for r in rows if r["feature_id"] == "L_RAIL_USSURIYSK_TIKHORETSK")

    def inside(p):
        x0, y0, x1, y1 = records.DETAIL_BOX
        return [xy for xy in p if x0 <= xy[0] <= x1 and y0 <= xy[1] <= y1]

    full, thin = path("overview"), path("tumen")
    assert len(thin) < len(full) / 2
    assert inside(thin) == inside(full) and len(inside(full)) > 5
    assert thin[0] == full[0] and thin[-1] == full[-1]


@pytest.mark.parametrize("view", ["overview", "tumen", "sea"])
def test_payload_stays_small(data, view):
    # Streamlit re-sends the whole deck on every date step. Lines drawn as straight pieces and the
    # place names' image (one for every view, so a view change loads none) cost ~35 KB more in the
    # close-up views than paths and a TextLayer did, bought back at the first frame; a date step
    # in the sea view measured no slower (docs/performance.md).
    detail = data.countries_detail if style.VIEWS[view].detailed else None
    basemap = layers.basemap_features(data.countries, detail, style.ANALYST)
    size = len(layers.build_deck(data, state("2025-11", view=view), basemap).to_json().encode())
    assert size < 411_000, size  # the largest view, the sea, sent 374 KB before the basemap's detail: +10 %


# The basemap's detail in the overview (geo.render.basemap_layers): lakes, rivers, town dots, scale bar, names.
BASEMAP_DETAIL = {"basemap-lakes", "basemap-detail-0", "basemap-towns", "basemap-scale", "basemap-names-0",
                  "basemap-names-1"}


def test_only_requested_layers_are_built(data, basemap):
    ids = {l["id"] for l in spec(data, basemap, state(layers=("basemap", "routes")))["layers"]}
    assert ids == {"basemap", "basemap-lines", "routes", "routes-range", "routes-range-joints", "routes-hit",
                   "routes-dashes", "routes-joints"} | BASEMAP_DETAIL


def leg_records(data, st) -> dict[str, dict]:
    """The legs as the deck draws them (solid, or cut into dashes), by id."""
    rows = records.route_records(records.prepare(data, st.filters), st, style.palette(st.present))
    return {r["feature_id"]: r for r in rows}


def test_route_widths_follow_the_reported_volume_on_the_date(data, basemap):
    early, late = state("2023-10"), state("2025-06")
    def trunk(st):
        return leg_records(data, st)["L_RAIL_USSURIYSK_TIKHORETSK"]
    assert trunk(early)["width"] < trunk(late)["width"]
    expected = timeline.RouteVolumes(data.routes, data.claims).on(late.date).set_index("id")
    low = expected.loc["L_RAIL_USSURIYSK_TIKHORETSK", "value_low"]
    assert format_value(low, None, None, "containers").split(" ")[0] in trunk(late)["detail"]


def test_routes_appear_only_once_active(data, basemap):
    ids = lambda m: {r["feature_id"] for r in by_id(spec(data, basemap, state(m)), "routes-hit")["data"]}
    assert "L_SEA_RAJIN_VOSTOCHNY" not in ids("2023-09")
    assert "L_SEA_RAJIN_VOSTOCHNY" in ids("2023-11")


def test_inferred_legs_are_dashed_and_reported_legs_solid(data, basemap):
    deck = spec(data, basemap, state("2025-06"))
    legs = leg_records(data, state("2025-06"))
    picked = {r["feature_id"] for r in by_id(deck, "routes-hit")["data"]}
    assert picked == set(legs), "every leg answers hover and click through the band under it"
    colours = lambda layer_id: {tuple(p["color"]) for p in layers.line_pieces(by_id(deck, layer_id))}
    assert colours("routes") == {tuple(r["color"]) for r in legs.values() if r["status"] == "reported"}
    assert colours("routes-dashes") == {tuple(r["color"]) for r in legs.values() if r["status"] == "inferred"}
    dashes = by_id(deck, "routes-dashes")["data"]
    assert len(dashes) > 3 * len([r for r in legs.values() if r["status"] == "inferred"])


def test_strikes_and_front_follow_the_date(data, basemap):
    def ids(m, layer):
        layer_spec = by_id(spec(data, basemap, state(m)), layer)["data"]
        rows = layer_spec["features"] if isinstance(layer_spec, dict) else layer_spec
        return {(r.get("properties") or r)["feature_id"] for r in rows}
    assert ids("2023-11", "strikes") == set()
    assert "E014" in ids("2024-01", "strikes")
    peak = valid_on(data.areas[data.areas.kind == "front"], state("2024-09").date, "valid_from", "valid_to")["id"]
    assert ids("2024-09", "front") == set(peak)
    assert ids("2024-09", "front") != ids("2025-03", "front")


def test_every_pickable_record_has_the_tooltip_fields(data, basemap):
    for layer in spec(data, basemap, state("2025-06"))["layers"]:
        if not layer.get("pickable"):
            continue
        rows = layer["data"]["features"] if isinstance(layer["data"], dict) else layer["data"]
        for row in rows:
            props = row.get("properties", row)
            assert {"name", "detail", "claimant", "when", "kind", "feature_id"} <= set(props), layer["id"]


def test_filters_change_what_feeds_the_routes(data, basemap):
    # Since the claimant registry, no media organisation feeds the trunk (Reuters' container
    # figure is a Ukrainian government document's); intelligence services do.
    only_intel = state("2025-06", filters=Filters(claimant_types=("intelligence_service",)))
    trunk = leg_records(data, only_intel)["L_RAIL_USSURIYSK_TIKHORETSK"]
    intel = set(data.claims[data.claims.claimant_type == "intelligence_service"].claimant)
    assert trunk["claimant"] and set(trunk["claimant"].split("; ")) <= intel


def test_evidence_lists_every_claim_behind_a_route(data):
    ev = evidence_for(data, "route", "L_RAIL_USSURIYSK_TIKHORETSK", "", "2025-11-30")
    expected = timeline.known_claims(timeline.claims_for(data.claims, "L_RAIL_USSURIYSK_TIKHORETSK"), "2025-11-30")
    assert {c["id"] for c in ev.claims} == set(expected["id"])
    assert all(c["url"].startswith("http") for c in ev.claims)
    assert {"F004", "F005"} <= ev.disputed  # ROK 6,700 and US 10,000 in Feb 2024


HOSTILE = "<img src=x onerror=alert(1)>"


def test_panels_escape_text_from_data():
    claim = {"id": "X", "metric": "m", "value": HOSTILE, "basis": "count", "as_of": "2024-01-01",
             "published": "2024-01-02", "claimant": HOSTILE, "outlet": HOSTILE,
             "url": "javascript:alert(1)", "note": HOSTILE}
    out = panels.evidence_panel(Evidence(title=HOSTILE, description=HOSTILE, claims=[claim]))
    assert "<img" not in out and "&lt;img" in out
    assert "javascript:" not in out.split("href=")[-1] if "href=" in out else True
    assert 'href="javascript' not in out


def test_a_voyage_along_the_sea_leg_is_listed_as_its_evidence(data):
    from geo.render import tracks
    leg = data.routes.set_index("id").geometry["L_SEA_RAJIN_DUNAI"]
    coords = list(leg.coords)
    points = pd.DataFrame({"track_id": "A1", "name": HOSTILE, "lon": [c[0] for c in coords],
                           "lat": [c[1] for c in coords],
                           "t": pd.date_range("2024-03-12", periods=len(coords), freq="h")})
    near = tracks.tracks_near_legs(points, data.routes)
    from geo.model.evidence import voyages_along
    voyages = voyages_along(near, {"A1": HOSTILE}, "L_SEA_RAJIN_DUNAI", "2024-03-31")
    assert voyages and voyages[0]["n_points"] >= 3 and voyages[0]["first"] == "2024-03-12"
    assert voyages_along(near, {"A1": HOSTILE}, "L_SEA_RAJIN_DUNAI", "2024-02-29") == []
    out = panels.evidence_panel(Evidence(title="Rajin - Dunai", voyages=voyages))
    assert "Imported tracks along this leg" in out and "<img" not in out


# --- the per-rerun fast path: frozen layers and prepared claims ------------------------------------------

def plain_spec(text: str) -> dict:
    """A deck spec with frozen layers' digests and data comparators taken out."""
    out = json.loads(text)
    for l in out["layers"]:
        l.pop("dataComparator", None)
        l["id"] = layers.layer_name(l["id"])
    return out


@pytest.mark.parametrize("view", ["overview", "sea"])
@pytest.mark.parametrize("mode", [timeline.CUMULATIVE, timeline.PERIOD])
def test_the_fast_path_draws_exactly_what_the_plain_build_draws(data, view, mode):
    detail = data.countries_detail if style.VIEWS[view].detailed else None
    features = layers.basemap_features(data.countries, detail, style.ANALYST)
    static = layers.static_layers(data, view, False, features)
    prepared = records.prepare(data, Filters())
    for month in ("2023-09", "2024-03", "2024-11", "2025-06", "2025-11"):
        st = state(month, view=view, mode=mode)
        fast = layers.build_deck(data, st, features, static, prepared).to_json()
        assert plain_spec(fast) == json.loads(layers.build_deck(data, st, features).to_json()), month


def test_frozen_layers_keep_their_id_across_dates_and_change_it_with_content(data, basemap):
    static = layers.static_layers(data, "overview", False, basemap)

    def frozen_ids(month, static_=static):
        deck = json.loads(layers.build_deck(data, state(month), basemap, static_).to_json())
        return {l["id"]: l for l in deck["layers"] if "#" in l["id"]}

    march, june = frozen_ids("2024-03"), frozen_ids("2025-06")
    assert set(march) == set(june) and {layers.layer_name(i) for i in march} == {"basemap", "basemap-lines", "places"} | BASEMAP_DETAIL
    assert all(l["dataComparator"] == "@@=true" for l in march.values()), "the browser keeps their parsed data"
    detailed = layers.basemap_features(data.countries, data.countries_detail, style.ANALYST)
    sea = layers.static_layers(data, "sea", False, detailed)
    other = frozen_ids("2024-03", sea)
    changed = {layers.layer_name(i) for i in set(other) ^ set(march)}
    # the sea view's basemap and its detail differ, the place markers do not
    assert {"basemap", "basemap-lines"} <= changed and all(n.startswith("basemap") for n in changed), \
        "new content, new id: the browser must not keep the old data"

    # The place names keep their id and their image from view to view (the image is loaded once);
    # only which names stand where changes, and the browser compares that as usual.
    def names(static_):
        deck = json.loads(layers.build_deck(data, state("2024-03"), basemap, static_).to_json())
        return next(l for l in deck["layers"] if l["id"] == "places-labels")
    overview, close = names(static), names(sea)
    assert overview["iconAtlas"] == close["iconAtlas"] and "dataComparator" not in overview
    assert overview["data"] != close["data"]


def test_text_that_deck_gl_would_read_as_code_stays_text(data, basemap):
    places = data.places.copy()
    places.loc[places["id"] == "LOC_KHASAN_STN", "name"] = "@@#GL.evil"
    places.loc[places["id"] == "LOC_RAJIN_PORT", "name"] = "@@=constructor"
    hostile = dataclasses.replace(data, places=places)
    deck = json.loads(layers.build_deck(hostile, state(), basemap, layers.static_layers(
        hostile, "overview", False, basemap)).to_json())

    def strings(value):
        if isinstance(value, str):
            yield value
        elif isinstance(value, dict):
            for k, v in value.items():
                yield k
                yield from strings(v)
        elif isinstance(value, list):
            for v in value:
                yield from strings(v)

    data_strings = [s for l in deck["layers"] for s in strings(l.get("data", []))]
    assert not [s for s in data_strings if s.startswith("@@")]
    assert "\u200b@@#GL.evil" in data_strings and "\u200b@@=constructor" in data_strings


# The map's size in a 1440x900 browser window, measured: analyst layout, presenter layout.
FRAMES = {"analyst": (726, 600, 0.0), "presenter": (982, 720, style.PRESENTER_ZOOM)}


@pytest.mark.parametrize("frame", FRAMES)
@pytest.mark.parametrize("view", [v for v in style.VIEWS if style.VIEWS[v].labels])
def test_each_view_frames_every_place_it_labels(data, view, frame):
    """A presenter stepping to "Across Russia by rail" must see the depots the caption names."""
    width, height, extra_zoom = FRAMES[frame]
    v = style.VIEWS[view]
    scale = 512 * 2 ** (v.zoom + extra_zoom) / (2 * math.pi)  # deck.gl's Web Mercator: 512-pixel world at zoom 0

    def pixel(lon, lat):
        return scale * math.radians(lon), -scale * math.log(math.tan(math.pi / 4 + math.radians(lat) / 2))

    cx, cy = pixel(v.longitude, v.latitude)
    places = data.places.set_index("id")
    for place_id in v.labels:
        x, y = pixel(places.lon[place_id], places.lat[place_id])
        assert abs(x - cx) <= width / 2 - 20 and abs(y - cy) <= height / 2 - 20, place_id


def test_grouped_by_government_the_tooltips_name_governments_and_keep_each_claimant(data):
    from geo.view import view_for
    by_org = view_for(data, None, records.MapState(date=timeline.month_end("2025-06-01")))
    by_gov = view_for(data, None, records.MapState(date=timeline.month_end("2025-06-01"), group_by="government"))
    org = {r["feature_id"]: r for r in by_org.features("flows")}
    gov = {r["feature_id"]: r for r in by_gov.features("flows")}
    troops = gov["FL_TROOPS"]["claimant"]
    assert troops.count("United States government") == 1 and "Government of Ukraine: " in troops
    for name in org["FL_TROOPS"]["claimant"].split("; "):
        assert name in troops, f"{name} is still named"
    assert gov["FL_TROOPS"]["detail"] == org["FL_TROOPS"]["detail"], "the figures are the same, only labelled"
    railcars = {r["feature_id"]: r["claimant"] for r in by_gov.features("railcars")}
    assert railcars["F080"] == "Center for Strategic and International Studies (CSIS): CSIS Beyond Parallel"


@pytest.mark.parametrize("size", [(979, 568), (1048, 616), (1491, 928)])  # presenter maps at 1280, 1366, 1920 wide
@pytest.mark.parametrize("focus", ["LOC_KURSK;LOC_SUDZHA;LOC_SUMY", "LOC_KURSK;LOC_SUDZHA"])  # today's, and before Sumy
def test_a_scene_frames_the_areas_it_draws_at_its_places_whole(data, size, focus):
    from geo.render import labels
    scene = data.scenes.set_index("id", drop=False).loc["S6"].copy()
    scene["focus"] = focus.split(";")
    state = records.MapState(date=timeline.month_end(scene["date"]), view=scene["view"], present=True,
                             layers=tuple(scene["layers"]), focus=records.scene_focus(data.areas, scene))
    from geo.view import view_for
    view = view_for(data, None, state)
    fronts = view.records["front"]["features"]
    assert {f["properties"]["feature_id"] for f in fronts} == {"A_KURSK_SALIENT_LAST", "A_KURSK_DPRK_UNITS"}
    c = layers.camera(state, size, data.places, data.countries.total_bounds, data.areas)
    cam = labels.Camera(c.longitude, c.latitude, c.zoom, *size)
    for area in data.areas[data.areas["id"].isin([f["properties"]["feature_id"] for f in fronts])].itertuples():
        x0, y0, x1, y1 = area.geometry.bounds
        (px0, py1), (px1, py0) = cam.pixel(x0, y0), cam.pixel(x1, y1)
        assert 0 <= px0 and px1 <= size[0] and 0 <= py0 and py1 <= size[1], f"{area.id} cropped: {px0, py0, px1, py1}"
