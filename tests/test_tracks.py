"""Tracks: a bounded payload whatever the data size, simplification that keeps ends and positions,
deterministic layers, legs found from voyages, and a reproducible synthetic generator.

Position tolerance: wherever the map draws a track (and so where the TripsLayer puts its head
at the selected date) lies within one screen pixel at the view's zoom of the linear
interpolation of the raw positions, plus coordinate rounding: 1.1 pixels in all (see
geo/tracks.py and docs/performance.md).
"""
import json
import pickle

import numpy as np
import pandas as pd
import pytest

from bench import synthetic
from conftest import DATA
from geo.model import timeline
from geo.view import records
from geo import style
from geo.render import layers, tracks

N = 100_000
DATES = ["2023-11-30", "2024-06-30", "2025-03-31"]
PIXELS = 1.1  # the stated tolerance: 1 pixel of simplification + 0.1 of rounding


@pytest.fixture(scope="module")
def points():
    return synthetic.synthetic_tracks(N)


@pytest.fixture(scope="module")
def prepared(points):
    return tracks.prepare_tracks(points)


def track_json(layer_list) -> str:
    return layers.CompactDeck(layers=layer_list, map_provider=None).to_json()


def layer_bytes(layer_list) -> int:
    return len(track_json(layer_list).encode()) - len(track_json([]).encode())


def by_id(layer_list, layer_id):
    return next(l for l in json.loads(track_json(layer_list))["layers"] if l["id"] == layer_id)


def pixels_apart(a, b, view) -> float:
    tol = tracks.pixel_degrees(style.VIEWS[view].zoom)
    return float(np.hypot(a[0] - b[0], tracks.mercator_y(a[1]) - tracks.mercator_y(b[1])) / tol)


def raw(prepared, track_id, secs):
    return tracks.position_at(prepared, track_id, tracks.as_time(secs))


# --- payload ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("view", list(style.VIEWS))
def test_payload_stays_within_the_budget_at_1e5_points(prepared, view):
    for date in DATES:
        for window, budget in ((31, 900_000), (365, 900_000), (31, 60_000), (365, 25_000)):
            built = tracks.track_layers(prepared, pd.Timestamp(date), view, window_days=window,
                                        budget_bytes=budget)
            assert layer_bytes(built) <= budget, (view, date, window, budget)


def test_over_budget_the_window_becomes_density_cells_plus_the_latest_trails(prepared):
    when = pd.Timestamp("2024-06-30")
    full = tracks.track_layers(prepared, when, "tumen", window_days=365)
    small = tracks.track_layers(prepared, when, "tumen", window_days=365, budget_bytes=60_000)
    assert by_id(full, "tracks-density")["data"] == []
    cells = by_id(small, "tracks-density")["data"]
    assert cells and all(c["kind"] == "track-density" for c in cells)
    shown = {r["feature_id"] for r in by_id(small, "tracks")["data"]}
    assert 0 < len(shown) < len(by_id(full, "tracks")["data"])
    latest = max(by_id(full, "tracks")["data"], key=lambda r: (r["timestamps"][-1], r["feature_id"]))
    assert latest["feature_id"] in shown, "the most recent trail is the last to go"


# --- simplification and positions ------------------------------------------------------------------

def test_every_level_keeps_each_tracks_first_and_last_point(prepared):
    ends = np.r_[prepared.bounds[:-1], prepared.bounds[1:] - 1]
    for view in style.VIEWS:
        assert np.isin(ends, prepared.level(view).idx).all(), view
        assert len(prepared.level(view).idx) < prepared.n_points


def test_tracks_that_start_or_end_in_the_window_are_drawn_to_their_ends(prepared):
    when = pd.Timestamp("2024-06-30")
    since, until = timeline.track_window(when)  # the one rule for the window's edges
    start, end = tracks.seconds(since), tracks.seconds(until)
    digits = prepared.level("sea").digits
    for rec in by_id(tracks.track_layers(prepared, when, "sea"), "tracks")["data"]:
        i = prepared.track_index(rec["feature_id"])
        a, b = prepared.bounds[i], prepared.bounds[i + 1] - 1
        if prepared.t[a] >= start:
            assert rec["timestamps"][0] == prepared.t[a]
            assert rec["path"][0] == [round(prepared.lon[a], digits), round(prepared.lat[a], digits)]
        if prepared.t[b] <= end:
            assert rec["timestamps"][-1] == prepared.t[b]
            assert rec["path"][-1] == [round(prepared.lon[b], digits), round(prepared.lat[b], digits)]


@pytest.mark.parametrize("view", list(style.VIEWS))
def test_simplified_position_at_any_time_is_within_one_pixel(prepared, view):
    rng = np.random.default_rng(1)
    for i in rng.choice(prepared.n_tracks, 40, replace=False):
        track_id = prepared.track_ids[i]
        first, last = prepared.t[prepared.bounds[i]], prepared.t[prepared.bounds[i + 1] - 1]
        for secs in rng.integers(first, last + 1, 10):
            when = tracks.as_time(secs)
            drawn = tracks.position_at(prepared, track_id, when, view=view)
            assert pixels_apart(drawn, raw(prepared, track_id, secs), view) <= 1.0 + 1e-9


def test_position_at_agrees_between_a_raw_frame_and_prepared_tracks(points, prepared):
    track_id = prepared.track_ids[7]
    one = points[points["track_id"] == track_id]
    mid = one["t"].iloc[0] + (one["t"].iloc[-1] - one["t"].iloc[0]) / 3
    a = tracks.position_at(one, track_id, mid)
    b = tracks.position_at(prepared, track_id, mid)
    assert a == pytest.approx(b, abs=1e-9)
    assert tracks.position_at(one, track_id, one["t"].iloc[0] - pd.Timedelta(days=1)) is None


@pytest.mark.parametrize("view", ["overview", "sea", "tumen"])
def test_trails_heads_and_paths_sit_within_the_stated_tolerance(prepared, view):
    """Where the TripsLayer draws a track at the selected date, and at any time in the window."""
    rng = np.random.default_rng(2)
    for date in DATES:
        when = pd.Timestamp(date)
        end = tracks.seconds(timeline.track_window(when)[1])
        trips = by_id(tracks.track_layers(prepared, when, view), "tracks")
        assert trips["currentTime"] == end and trips["trailLength"] == 31 * tracks.DAY
        assert trips["data"], date
        for rec in trips["data"]:
            ts, path = np.array(rec["timestamps"]), np.array(rec["path"])
            assert (np.diff(ts) >= 0).all() and ts[0] >= end - 31 * tracks.DAY and ts[-1] <= end
            probes = list(rng.integers(ts[0], ts[-1] + 1, 5)) + [ts[-1]]
            for secs in probes:
                x, y = tracks.interpolate(ts, path[:, 0], tracks.mercator_y(path[:, 1]), int(secs))
                drawn = (x, float(tracks.latitude(y)))
                assert pixels_apart(drawn, raw(prepared, rec["feature_id"], secs), view) <= PIXELS


# --- the layers as sent ---------------------------------------------------------------------------

def test_layer_json_is_deterministic_with_explicit_ids_and_no_nan(prepared):
    when = pd.Timestamp("2024-06-30")
    for budget in (900_000, 30_000):
        first = track_json(tracks.track_layers(prepared, when, "sea", budget_bytes=budget))
        assert first == track_json(tracks.track_layers(prepared, when, "sea", budget_bytes=budget))
        assert "NaN" not in first and "Infinity" not in first and "T00:00:00" not in first
        spec = json.loads(first)
        assert [l["id"] for l in spec["layers"]] == ["tracks-density", "tracks-hit", "tracks-path", "tracks"]
        assert {l["@@type"] for l in spec["layers"]} == {"ScatterplotLayer", "PathLayer", "TripsLayer"}
        assert {l["widthUnits"] for l in spec["layers"] if "widthUnits" in l} == {"pixels"}
        assert spec["layers"][0]["radiusUnits"] == "common"


def test_every_picked_record_carries_the_tooltip_fields(prepared):
    """Hover and click pick the density cells and the tracks' click bands, which carry what the
    tooltip and the selection read; the trail and the faint path are drawn, not picked."""
    built = tracks.track_layers(prepared, pd.Timestamp("2024-06-30"), "sea", window_days=365, budget_bytes=50_000)
    picked = [layer for layer in json.loads(track_json(built))["layers"] if layer.get("pickable")]
    assert [layer["id"] for layer in picked] == ["tracks-density", "tracks-hit"]
    for layer in picked:
        assert layer["data"], layer["id"]
        for row in layer["data"]:
            assert {"name", "detail", "claimant", "when", "kind", "feature_id", "place_id"} <= set(row)
    band = by_id(built, "tracks-hit")
    assert band["widthMinPixels"] >= tracks.HIT_PIXELS and band["getColor"][3] == 0, "a wide band, unseen"
    assert [r["path"] for r in band["data"]] == [r["path"] for r in by_id(built, "tracks")["data"]]
    trip = band["data"][0]
    assert trip["kind"] == "track" and trip["place_id"] == "" and trip["feature_id"].startswith("SYN-")
    assert trip["name"].startswith("SYNTHETIC") and trip["claimant"] == synthetic.SOURCE
    assert " positions, 20" in trip["detail"] and trip["when"].endswith("UTC")


def test_tracks_join_the_bundled_deck(data, prepared):
    state = records.MapState(date=pd.Timestamp("2024-06-30"), view="sea")
    deck = layers.build_deck(data, state, layers.basemap_features(data.countries, None, style.ANALYST))
    deck.layers.extend(tracks.track_layers(prepared, state.date, state.view))
    ids = [l["id"] for l in json.loads(deck.to_json())["layers"]]
    assert len(ids) == len(set(ids)) and {"tracks", "tracks-path", "tracks-density"} <= set(ids)


def test_prepared_tracks_survive_pickling_for_st_cache_data(prepared):
    again = pickle.loads(pickle.dumps(prepared))
    when = pd.Timestamp("2024-06-30")
    assert track_json(tracks.track_layers(again, when, "sea")) == \
        track_json(tracks.track_layers(prepared, when, "sea"))


def test_edge_cases_single_points_ties_empty_windows_and_bad_input():
    pts = pd.DataFrame({
        "track_id": ["b", "a", "a", "a", "c"], "name": ["B", "A", "A", "A", "C"],
        "t": pd.to_datetime(["2024-05-01", "2024-05-02", "2024-05-02", "2024-05-03", "2024-05-10"]),
        "lon": [130.0, 131.0, 131.1, 131.2, np.nan], "lat": [42.0, 42.1, 42.2, 42.3, 42.0]})
    p = tracks.prepare_tracks(pts)
    assert p.track_ids == ("a", "b") and p.n_points == 4  # the row without a position is dropped
    assert p.meta[0]["claimant"] == tracks.DEFAULT_SOURCE and p.meta[0]["detail"].startswith("3 positions")
    built = tracks.track_layers(p, pd.Timestamp("2024-05-04"), "overview")
    assert {r["feature_id"] for r in by_id(built, "tracks")["data"]} == {"a", "b"}
    empty = tracks.track_layers(p, pd.Timestamp("2020-01-01"), "overview")
    assert all(l["data"] == [] for l in json.loads(track_json(empty))["layers"])
    assert tracks.track_layers(tracks.prepare_tracks(pts.iloc[0:0]), pd.Timestamp("2024-05-04"), "sea")
    with pytest.raises(ValueError, match="unknown view"):
        tracks.track_layers(p, pd.Timestamp("2024-05-04"), "moon")
    with pytest.raises(ValueError, match="lack column"):
        tracks.prepare_tracks(pts.drop(columns="name"))
    aware = tracks.position_at(p, "a", pd.Timestamp("2024-05-02 12:00", tz="Europe/Moscow"))
    assert aware == pytest.approx(tracks.position_at(p, "a", pd.Timestamp("2024-05-02 09:00")))


# --- evidence from voyages -------------------------------------------------------------------------

def test_a_rajin_dunai_voyage_counts_for_the_sea_leg(data):
    rng = np.random.default_rng(5)
    ship = synthetic.voyage("L_SEA_RAJIN_DUNAI", pd.Timestamp("2024-02-01"), 400, rng).assign(track_id="ship")
    train = synthetic.voyage(synthetic.RAIL_LANE, pd.Timestamp("2024-02-01"), 400, rng).assign(track_id="train")
    near = tracks.tracks_near_legs(pd.concat([ship, train]), data.routes, km=10)
    assert list(near.columns) == ["track_id", "leg_id", "n_points", "first_t", "last_t", "times"]
    assert all(len(r.times) == r.n_points and (np.diff(r.times) >= np.timedelta64(0)).all() for r in near.itertuples())
    by_track = {k: g.set_index("leg_id") for k, g in near.groupby("track_id")}
    assert by_track["ship"]["n_points"].idxmax() == "L_SEA_RAJIN_DUNAI"
    assert by_track["ship"].loc["L_SEA_RAJIN_DUNAI", "n_points"] > 300
    assert by_track["ship"].loc["L_SEA_RAJIN_DUNAI", "first_t"] == ship["t"].min()
    assert synthetic.RAIL_LANE in by_track["train"].index
    assert "L_SEA_RAJIN_DUNAI" not in by_track["train"].index


def test_tracks_far_from_every_leg_match_nothing(data):
    far = pd.DataFrame({"track_id": ["x"], "name": ["X"], "t": [pd.Timestamp("2024-01-01")],
                        "lon": [150.0], "lat": [-30.0]})
    assert tracks.tracks_near_legs(far, data.routes).empty


# --- the generator ---------------------------------------------------------------------------------

def test_the_generator_is_reproducible_and_marked_synthetic():
    before = sorted(p.name for p in DATA.rglob("*"))
    a, b = synthetic.synthetic_tracks(3_000), synthetic.synthetic_tracks(3_000)
    pd.testing.assert_frame_equal(a, b)
    assert not synthetic.synthetic_tracks(3_000, seed=synthetic.SEED + 1).equals(a)
    assert len(a) == 3_000 and list(a.columns[:5]) == ["track_id", "name", "t", "lon", "lat"]
    assert a["t"].between(synthetic.START, synthetic.END).all()
    assert (a["source"] == synthetic.SOURCE).all() and a["name"].str.startswith("SYNTHETIC").all()
    c, d = synthetic.synthetic_claims(500), synthetic.synthetic_claims(500)
    pd.testing.assert_frame_equal(c, d)
    assert sorted(p.name for p in DATA.rglob("*")) == before, "synthetic data never lands in data/"


def test_synthetic_ships_sail_at_10_to_15_knots():
    pts = synthetic.synthetic_tracks(3_000)
    ships = pts[~pts["name"].str.startswith("SYNTHETIC TRAIN")]
    for _, v in ships.groupby("track_id"):
        km = synthetic.lane_km(v[["lon", "lat"]].to_numpy())[-1]
        hours = (v["t"].iloc[-1] - v["t"].iloc[0]).total_seconds() / 3600
        assert 9 * synthetic.KNOT_KMH <= km / hours <= 17 * synthetic.KNOT_KMH


def test_synthetic_claims_follow_the_claims_schema(data):
    claims = synthetic.synthetic_claims(2_000, real=data.claims)
    assert list(claims.columns) == [c for c in data.claims.columns if c != "geometry"]
    assert (claims.dtypes == data.claims.drop(columns="geometry").dtypes).all()
    assert set(claims["metric"]) <= set(data.claims["metric"])
    assert claims["url"].str.startswith("https://example.org/synthetic/").all()
    assert claims["claimant"].str.startswith("Synthetic claimant").all()
    assert (claims["as_of_date"] <= claims["reported_date"]).all()
    assert claims["id"].is_unique
    placed = synthetic.with_claims(data, claims)
    assert len(placed.claims) == 2_000 and placed.places is data.places
