"""The railway network: metric distance to track, routing over junctions, joins and penalties."""
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
