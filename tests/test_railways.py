"""Rail legs follow real track: the bundled Natural Earth railroads, within 2 km along their length."""
import re

import numpy as np
import pytest
import shapely
from shapely.geometry import LineString, Point

from conftest import DATA
from geo.geometry import railways

TRACK_TOLERANCE_KM = 2.0
SAMPLE_STEP_KM = 2.0
PRK_LEGS = ("L_RAIL_RAJIN_TUMANGANG", "L_RAIL_FACTORIES_RAJIN", "L_RAIL_HAMHUNG_RAJIN", "L_TUMEN_BRIDGE")


@pytest.fixture(scope="module")
def track():
    return railways.Track.from_lines(railways.read_lines(DATA / railways.RAILWAYS_FILE))


def test_railway_source_and_licence_are_recorded():
    source = (DATA / "railways" / "SOURCE.md").read_text(encoding="utf-8")
    for words in ("Natural Earth", "ne_10m_railroads", "public domain", "naturalearthdata.com/about/terms-of-use",
                  "@worldwideview/wwv-plugin-osm-rail-network@1.0.0", "tools/build_railways.py",
                  # North Korea: all of Natural Earth's categories, from z8 tiles in a GitHub repository
                  "North Korea: all categories", "bovine3dom/fahrtle", "public/train_tiles",
                  "9335621720e026d7fd54b75c42441208f06009d3", "BSD 2-clause", "Friendship Bridge"):
        assert words in source, words
    assert "no track bundled" not in source
    readme = (DATA / "README.md").read_text(encoding="utf-8")
    assert "railways/SOURCE.md" in readme and "public domain" in readme and "bovine3dom/fahrtle" in readme


def test_bundled_track_is_small_and_covers_the_corridor(track):
    assert (DATA / railways.RAILWAYS_FILE).stat().st_size < 2_000_000
    # Khasan, Ussuriysk, Tikhoretsk, Toropets and Kursk stations all lie on bundled track
    for lon, lat in [(130.644, 42.429), (131.9519, 43.7975), (40.126, 45.8546), (31.6364, 56.4986),
                     (36.1926, 51.7304)]:
        assert track.distance_km(np.array([[lon, lat]]))[0] < 3.0, (lon, lat)
    # and North Korea's: Rajin port, Tumangang, Chongjin, Kanggye and Huichon
    for lon, lat in [(130.3, 42.243), (130.6081, 42.4214), (129.7756, 41.7956), (126.6, 40.9667),
                     (126.2767, 40.1711)]:
        assert track.distance_km(np.array([[lon, lat]]))[0] < 2.0, (lon, lat)


def source_md():
    return (DATA / "railways" / "SOURCE.md").read_text(encoding="utf-8")


def spurs():
    """{(leg id, "starts"/"ends"): km} for the straight spurs SOURCE.md lists: a place more than
    3 km (the data's route-end tolerance) from any track is joined to the nearest track point."""
    found = re.findall(r"^- `(\w+)` (starts|ends) with a straight ([\d.]+) km spur", source_md(), flags=re.M)
    return {(leg, which): float(km) for leg, which, km in found}


def without_spurs(leg_id, line):
    """The leg less the listed spur at either end (each spur is the leg's first or last segment)."""
    coords = list(line.coords)
    if (leg_id, "starts") in spurs():
        coords = coords[1:]
    if (leg_id, "ends") in spurs():
        coords = coords[:-1]
    return LineString(coords)


def test_every_rail_leg_lies_within_2_km_of_the_track_along_its_length(data, track):
    """Every point of every rail leg, North Korean legs and the Tumen crossing included,
    sampled every 2 km, within 2 km of bundled track; only the straight spurs that SOURCE.md
    lists (a place more than 3 km from any track) are left out, and checked below."""
    rail = data.routes[data.routes["mode"] == "rail"]
    assert set(PRK_LEGS) <= set(rail["id"])
    checked = 0
    for leg in rail.itertuples():
        points = railways.sample_along(without_spurs(leg.id, leg.geometry), SAMPLE_STEP_KM)
        distance = track.distance_km(points)
        worst = int(np.argmax(distance))
        assert distance[worst] <= TRACK_TOLERANCE_KM, \
            f"{leg.id}: {distance[worst]:.2f} km off the track at {points[worst].round(4).tolist()}"
        checked += len(points)
    assert checked > 10_000  # about 30,000 km of rail legs sampled every 2 km


def test_north_korean_legs_are_drawn_along_track(data):
    legs = data.routes.set_index("id").geometry
    for leg, (low, high) in {"L_RAIL_RAJIN_TUMANGANG": (30, 60), "L_RAIL_HAMHUNG_RAJIN": (350, 550),
                             "L_RAIL_FACTORIES_RAJIN": (700, 1100), "L_TUMEN_BRIDGE": (4, 15)}.items():
        assert low < railways.length_km(legs[leg]) < high, leg
        assert len(legs[leg].coords) >= 4, leg
    # the factories leg runs south by the Manpo line through Huichon, then east to the coast
    assert shapely.distance(legs["L_RAIL_FACTORIES_RAJIN"], Point(126.2767, 40.1711)) < 0.03


def test_legs_that_end_on_the_track_end_at_the_point_nearest_their_place(data, track):
    """SOURCE.md lists the legs whose place is more than 2 km from the track; such a leg ends
    on the track, at the track point nearest its place, as far from it as SOURCE.md says."""
    source = source_md()
    listed = re.findall(r"^- `(\w+)` (starts|ends) on the track ([\d.]+) km from its place", source, flags=re.M)
    assert listed
    legs, places = data.routes.set_index("id"), data.places.set_index("id").geometry
    for leg_id, which, km in listed:
        leg = legs.loc[leg_id]
        end = leg.geometry.coords[0 if which == "starts" else -1]
        place = places[leg.from_place if which == "starts" else leg.to_place]
        assert track.distance_km(np.array([end[:2]]))[0] < 0.1, leg_id
        gap = railways.segment_km(np.array([end[:2], place.coords[0]]))[0]
        assert abs(gap - float(km)) < 0.15, (leg_id, gap, km)
        assert abs(track.distance_km(np.array([place.coords[0]]))[0] - gap) < 0.15, leg_id


def test_long_rail_legs_are_drawn_along_track_not_waypoints(data):
    leg = data.routes.set_index("id").geometry["L_RAIL_USSURIYSK_TIKHORETSK"]
    assert len(leg.coords) > 500
    assert 8000 < railways.length_km(leg) < 10_500  # about 9,000 km by rail via the Trans-Siberian


def test_distance_is_metric_at_high_latitude():
    track = railways.Track.from_lines([LineString([(30.0, 60.0), (31.0, 60.0)])])
    # 0.018 deg of latitude is 2.0 km anywhere; 0.036 deg of longitude at 60N is also ~2.0 km
    d = track.distance_km(np.array([[30.5, 60.018], [29.964, 60.0]]))
    assert np.allclose(d, [2.0, 2.0], atol=0.02), d


def test_network_routes_over_junctions_and_joins_small_gaps():
    lines = [LineString([(0, 0), (1, 0), (2, 0)]),          # a main line
             LineString([(1, 0), (1, 1)]),                  # a branch from a junction inside it
             LineString([(1.005, 1.0), (2, 1)]),            # a gap of ~0.5 km at (1, 1)
             LineString([(0, 0), (0, 3), (2, 3), (2, 1)])]  # a long way round
    net = railways.Network.from_lines(lines, join_km=1.5)
    path, k0, k1 = net.route(Point(0, 0.001), Point(2, 1.001))
    assert k0 < 0.2 and k1 < 0.2
    assert net.joins == 1
    assert railways.length_km(path) < 3.2 * 111  # via the junction and the join, not the long way (~6.5 deg)
    assert shapely.distance(path, Point(1, 0.5)) < 1e-6


def test_network_route_can_avoid_penalised_edges():
    lines = [LineString([(0, 0), (1, 0)]), LineString([(0, 0), (0, 1), (1, 1), (1, 0)])]
    net = railways.Network.from_lines(lines)
    short = net.edges.index(next(e for e in net.edges if len(e.coords) == 2))
    path, _, _ = net.route(Point(0, 0), Point(1, 0), weight=lambda e: 100.0 if e == short else 1.0)
    assert railways.length_km(path) > 2.5 * 111


def test_listed_spurs_are_one_straight_segment_from_a_place_far_from_track_to_the_nearest_track(data, track):
    listed = spurs()
    assert ("L_RAIL_HAMHUNG_RAJIN", "starts") in listed  # Natural Earth's Pyongra line keeps to the coast
    legs, places = data.routes.set_index("id"), data.places.set_index("id").geometry
    for (leg_id, which), km in listed.items():
        leg = legs.loc[leg_id]
        coords = list(leg.geometry.coords)
        place, on_track = (coords[0], coords[1]) if which == "starts" else (coords[-1], coords[-2])
        expected = places[leg.from_place if which == "starts" else leg.to_place]
        assert railways.segment_km(np.array([place[:2], expected.coords[0]]))[0] < 0.01, leg_id
        assert track.distance_km(np.array([on_track[:2]]))[0] < 0.1, leg_id
        spur = railways.segment_km(np.array([place[:2], on_track[:2]]))[0]
        assert abs(spur - km) < 0.15 and spur > 3.0, (leg_id, spur)
        # the spur goes to the nearest track (nearest in degrees, as the router picks it: within
        # a few hundred metres of the metric nearest)
        assert 0 <= spur - track.distance_km(np.array([place[:2]]))[0] < 0.5, leg_id
