"""Rail legs follow real track: the bundled Natural Earth railroads, within 2 km along their length."""
import numpy as np
import pytest
import shapely
from shapely.geometry import LineString, Point

from conftest import DATA
from geo import railways

TRACK_TOLERANCE_KM = 2.0
SAMPLE_STEP_KM = 2.0
NO_TRACK = "PRK"  # no open railway geometry for North Korea is bundled (data/railways/SOURCE.md)
BORDER_KM = 1.5  # geo.validate.COUNTRY_TOLERANCE_KM: Tumangang station falls ~140 m into Russia at 1:10m


def local_km(xy, lon0=130.5, lat0=42.0):
    """Kilometres east/north of (lon0, lat0): a tangent plane for the Tumen estuary."""
    xy = np.asarray(xy, dtype=float)
    return np.column_stack([(xy[:, 0] - lon0) * railways.KM_PER_DEG * np.cos(np.radians(lat0)),
                            (xy[:, 1] - lat0) * railways.KM_PER_DEG])


@pytest.fixture(scope="module")
def track():
    return railways.Track.from_lines(railways.read_lines(DATA / railways.RAILWAYS_FILE))


def test_railway_source_and_licence_are_recorded():
    source = (DATA / "railways" / "SOURCE.md").read_text(encoding="utf-8")
    for words in ("Natural Earth", "ne_10m_railroads", "public domain", "naturalearthdata.com/about/terms-of-use",
                  "@worldwideview/wwv-plugin-osm-rail-network@1.0.0", "tools/build_railways.py", "North Korea"):
        assert words in source, words
    readme = (DATA / "README.md").read_text(encoding="utf-8")
    assert "railways/SOURCE.md" in readme and "public domain" in readme


def test_bundled_track_is_small_and_covers_the_corridor(track):
    assert (DATA / railways.RAILWAYS_FILE).stat().st_size < 2_000_000
    # Khasan, Ussuriysk, Tikhoretsk, Toropets and Kursk stations all lie on bundled track
    for lon, lat in [(130.644, 42.429), (131.9519, 43.7975), (40.126, 45.8546), (31.6364, 56.4986),
                     (36.1926, 51.7304)]:
        assert track.distance_km(np.array([[lon, lat]]))[0] < 3.0, (lon, lat)


def test_every_rail_leg_lies_within_2_km_of_the_track_along_its_length(data, track):
    """Every point of a rail leg, sampled every 2 km, within 2 km of bundled track. Legs with a
    place in North Korea are hand-placed there (no open track for North Korea is bundled):
    of those, the points in Russia, clear of the border strip, are checked."""
    detail = data.countries_detail
    prk_km = shapely.transform(shapely.union_all(detail[detail["iso3"] == NO_TRACK].geometry), local_km)
    rus_km = shapely.transform(shapely.union_all(detail[detail["iso3"] == "RUS"].geometry), local_km)
    checkable = rus_km.difference(prk_km.buffer(BORDER_KM))
    country = data.places.set_index("id")["country"]
    rail = data.routes[data.routes["mode"] == "rail"]
    checked = 0
    for leg in rail.itertuples():
        points = railways.sample_along(leg.geometry, SAMPLE_STEP_KM)
        if NO_TRACK in (country[leg.from_place], country[leg.to_place]):
            km = local_km(points)
            points = points[shapely.contains_xy(checkable, km[:, 0], km[:, 1])]
            if not len(points):
                continue
        distance = track.distance_km(points)
        worst = int(np.argmax(distance))
        assert distance[worst] <= TRACK_TOLERANCE_KM, \
            f"{leg.id}: {distance[worst]:.2f} km off the track at {points[worst].round(4).tolist()}"
        checked += len(points)
    assert checked > 10_000  # about 30,000 km of rail legs sampled every 2 km


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
