"""Dashes and arcs as path geometry: the same picture deck.gl's PathStyleExtension and ArcLayer draw."""
import numpy as np
import pytest

from geo.geometry import screenlines


def lengths_px(rows, zoom):
    out = []
    for r in rows:
        x, y = screenlines.mercator(*np.asarray(r["path"]).T)
        out.append(np.hypot(np.diff(x), np.diff(y)).sum() / screenlines.metres_per_pixel(zoom))
    return np.array(out)


def test_a_dashed_leg_is_cut_into_dashes_as_long_as_deck_gl_draws_them():
    leg = {"path": [[130.0, 42.0], [131.0, 42.5], [132.0, 42.5]], "dash": [4, 3], "width": 2.0, "name": "leg"}
    zoom = 7
    dashes = screenlines.dash_records([leg], zoom)
    px = lengths_px(dashes, zoom)
    # Every dash but the last is 4 line widths long; together they cover 4/7 of the leg.
    assert np.allclose(px[:-1], 8.0, rtol=1e-3)
    total = lengths_px([leg], zoom)[0]
    assert px.sum() == pytest.approx(total * 4 / 7, rel=0.02)
    assert dashes[0]["path"][0] == leg["path"][0] and all(d["name"] == "leg" for d in dashes)
    import shapely
    line = shapely.LineString(leg["path"])  # straight in degrees; a dash is straight in Web Mercator
    assert max(line.distance(shapely.Point(p)) for d in dashes for p in d["path"]) < 2e-3, "dashes stay on the leg"


def test_far_from_the_view_dashes_are_coarser_and_fields_can_be_dropped():
    leg = {"path": [[40.0, 50.0], [130.0, 43.0]], "dash": [4, 3], "width": 2.0, "name": "trunk"}
    near = screenlines.neighbourhood(130.0, 43.0, 8, (726, 600))
    fine = screenlines.dash_records([leg], 8)
    cut = screenlines.dash_records([leg], 8, near, keep=("width",))
    assert len(cut) < len(fine) / 10, "a close-up view does not send dashes it cannot show"
    assert set(cut[0]) == {"width", "path"}
    assert lengths_px(cut[-2:-1], 8)[0] == pytest.approx(8.0, rel=1e-3), "near the view, exact"


def test_solid_records_pass_unchanged():
    leg = {"path": [[130.0, 42.0], [131.0, 42.5]], "dash": [0, 0], "width": 3.0}
    assert screenlines.dash_records([leg], 5) == [leg]


def test_an_arc_bows_to_the_right_of_travel_by_six_percent_of_its_chord():
    # Rajin to Kursk, westward: the arc bows north of the chord, as deck.gl's ArcLayer (tilt -90) drew it.
    source, target = (130.3, 42.25), (36.2, 51.7)
    path = np.asarray(screenlines.arc_path(source, target))
    assert path[0].tolist() == pytest.approx(source, abs=1e-4) and path[-1].tolist() == pytest.approx(target, abs=1e-4)
    x, y = screenlines.mercator(path[:, 0], path[:, 1])
    (x0, x1), (y0, y1) = screenlines.mercator([source[0], target[0]], [source[1], target[1]])
    chord = np.hypot(x1 - x0, y1 - y0)
    mid = len(path) // 2
    offset = ((x[mid] - x0) * (y1 - y0) - (y[mid] - y0) * (x1 - x0)) / chord  # > 0: right of travel
    assert offset == pytest.approx(0.06 * chord, rel=0.01)
    assert y[mid] > (y0 + y1) / 2, "westward, right of travel is north"
