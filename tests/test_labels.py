"""Place names on the map: none overlaps another and none runs off the map, in every view, at the
window sizes people use. The map sizes are measured in headless Chromium (tests/test_interactions.py
runs at the first): the analyst's map beside the sidebar and panel, the presenter's full-width map."""
import itertools
import json

import pytest

from geo.view import records
from geo import style
from geo.render import labels, layers
from geo.model import timeline

MAPS = {  # window -> (analyst map, presenter map), width x height in pixels
    "1280x720": ((658, 526), (978, 530)),
    "1440x900": ((772, 617), (1106, 710)),
    "1920x1080": ((1115, 892), (1490, 890)),
}
MUST_SHOW = {
    "overview": ("LOC_RAJIN_PORT", "LOC_VLADIVOSTOK", "LOC_KURSK"),
    "tumen": ("LOC_TUMANGANG_STN", "LOC_KHASAN_STN", "LOC_FRIENDSHIP_BRIDGE"),
    "sea": ("LOC_RAJIN_PORT", "LOC_DUNAI_PORT", "LOC_VOSTOCHNY_PORT"),
    "rail": ("LOC_USSURIYSK", "LOC_TIKHORETSK", "LOC_TOROPETS"),
    "front": ("LOC_KURSK", "LOC_SUDZHA", "LOC_KHARKIV"),
}


def placed(data, view, size, present):
    state = records.MapState(date=timeline.month_end("2024-06-01"), view=view, present=present)
    cam = layers.label_camera(state, size, data.places, data.countries.total_bounds)
    return labels.place_labels(data.places, style.VIEWS[view], cam, style.palette(present).label_size), cam


@pytest.mark.parametrize("present", [False, True], ids=["analyst", "presenter"])
@pytest.mark.parametrize("window", MAPS)
@pytest.mark.parametrize("view", style.VIEWS)
def test_no_label_overlaps_another_or_leaves_the_map(data, view, window, present):
    size = MAPS[window][present]
    shown, cam = placed(data, view, size, present)
    for a, b in itertools.combinations(shown, 2):
        assert not labels.overlaps(a["box"], b["box"]), (a["label"], b["label"])
    for label in shown:
        left, top, right, bottom = label["box"]
        assert 0 <= left and right <= size[0] and 0 <= top and bottom <= size[1], label
    names = {label["place_id"] for label in shown}
    assert set(MUST_SHOW[view]) <= names, f"{view} at {window} must name {set(MUST_SHOW[view]) - names}"


def test_the_deck_draws_exactly_the_placed_labels(data):
    size = MAPS["1280x720"][0]
    state = records.MapState(date=timeline.month_end("2024-06-01"), view="overview")
    basemap = layers.basemap_features(data.countries, None, style.ANALYST)
    from geo.view import mapview as views
    deck = json.loads(layers.deck_for(data, views.build_view(data, records.prepare(data, state.filters), state),
                                      basemap, viewport=size).to_json())
    drawn = next(l for l in deck["layers"] if l["id"] == "places-labels")["data"]
    shown, _ = placed(data, "overview", size, False)
    assert [d["label"] for d in drawn] == [s["label"] for s in shown]


def test_a_label_that_would_cover_another_moves_to_a_free_side(data):
    """Rajin, Vladivostok and Ussuriysk sit within a few pixels of each other in the overview."""
    shown, cam = placed(data, "overview", MAPS["1280x720"][0], False)
    names = {s["place_id"]: s for s in shown}
    assert {"LOC_RAJIN_PORT", "LOC_VLADIVOSTOK", "LOC_USSURIYSK"} <= set(names)
    assert len({tuple(names[p]["offset"]) + (names[p]["anchor"],) for p in
                ("LOC_RAJIN_PORT", "LOC_VLADIVOSTOK", "LOC_USSURIYSK")}) >= 2


@pytest.mark.parametrize("present", [False, True], ids=["analyst", "presenter"])
@pytest.mark.parametrize("window", MAPS)
@pytest.mark.parametrize("view", style.VIEWS)
def test_the_map_never_shows_past_the_bundled_basemap(data, view, window, present):
    """Beyond the basemap's box there is only blank canvas (the overview's white band)."""
    size = MAPS[window][present]
    scenes = [()] if not present else [tuple(s.focus) for s in data.scenes.itertuples() if s.view == view] or [()]
    x0, y0, x1, y1 = data.countries.total_bounds
    for focus in scenes:
        state = records.MapState(date=None, view=view, present=present, focus=focus)
        cam = layers.label_camera(state, size, data.places, data.countries.total_bounds)
        left, top = cam.pixel(x0, y1)
        right, bottom = cam.pixel(x1, y0)
        assert left <= 1 and top <= 1 and right >= size[0] - 1 and bottom >= size[1] - 1, (focus, left, top, right,
                                                                                            bottom)


@pytest.mark.parametrize("window", MAPS)
@pytest.mark.parametrize("view", MUST_SHOW)
def test_the_legend_hides_no_place_name_marker_or_scale_bar(data, view, window):
    """The analyst's legend floats over a corner, in a box the page draws exactly that wide and at
    most that high: one that hides none of the view's names and markers, nor the scale bar (the
    Tumen crossing sits in the upper right at 1280x720, Ussuriysk below the upper right corner of
    the overview at 1440x900, the scale bar in the lower left)."""
    from geo.render import basemap_layers, scalebar
    from geo.view import mapview as views
    from geo.model.evidence import Filters

    size = MAPS[window][0]
    state = records.MapState(date=timeline.month_end("2025-11-01"), view=view)
    the_view = views.build_view(data, records.prepare(data, Filters()), state)
    place = layers.legend_place(data, the_view, size)
    cam = layers.label_camera(state, size, data.places, data.countries.total_bounds)
    names = labels.place_labels(data.places, style.VIEWS[view], cam, style.ANALYST.label_size,
                                basemap_layers.reserved(cam, style.ANALYST))
    assert {n["place_id"] for n in names} >= set(MUST_SHOW[view])
    hidden = [n["label"] for n in names if labels.overlaps(place.box, n["box"])]
    markers = [p.name for p in data.places.itertuples() for x, y in [cam.pixel(p.lon, p.lat)]
               if labels.overlaps(place.box, (x - labels.MARKER, y - labels.MARKER, x + labels.MARKER, y + labels.MARKER))]
    bar = scalebar.scale_bar(cam, basemap_layers.detail_style(style.ANALYST).small_px).boxes()
    assert not hidden and not markers, (place, hidden, markers)
    assert not any(labels.overlaps(place.box, b) for b in bar), (place, bar)
    assert place.open and place.height >= labels.LEGEND_CHROME + 3 * labels.LEGEND_ROW, place
    assert place.width * place.height <= 0.2 * size[0] * size[1]
    if view == "overview":
        assert place.corner == "ne"  # steppe, taiga and sea: where it always stood
