"""The time functions against answers worked out by hand on a small fixture."""
import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import LineString, box

from geo.model import timeline

T = pd.Timestamp


def claims_fixture() -> pd.DataFrame:
    rows = [
        # id, metric, value, high, as_of, reported, claimant, routes
        ("C1", "containers", 1000, None, "2023-10-01", "2023-10-13", "US", ("LEG",)),
        ("C2", "containers", 5000, None, "2023-12-29", "2023-12-29", "ROK", ("LEG",)),
        ("C3", "containers", 10000, None, "2024-02-23", "2024-02-23", "US", ("LEG",)),
        # Two claimants disagree on the same day.
        ("C4", "containers", 6700, None, "2024-02-23", "2024-02-27", "ROK", ("LEG",)),
        # Published long after its as-of date: unknown until then.
        ("C5", "containers", 16000, 20000, "2024-03-31", "2025-04-16", "OSC", ("LEG",)),
        ("C6", "shells", 1000000, None, "2023-11-01", "2023-11-02", "ROK", ()),
        ("C7", "voyages", 6, None, "2023-10-16", "2023-10-16", "CSIS", ("LEG",)),
    ]
    df = pd.DataFrame(rows, columns=["id", "metric", "value", "value_high", "as_of_date", "reported_date",
                                     "claimant", "route_ids"])
    for col in ("as_of_date", "reported_date"):
        df[col] = pd.to_datetime(df[col])
    df["value_high"] = df["value_high"].astype("float64")
    df["unit"] = "units"
    df["basis"] = "official_statement"
    return df


def standing(claims, when, mode=timeline.CUMULATIVE) -> pd.DataFrame:
    """The standing claims on `when`, as the map ranks them (timeline.Standing)."""
    index = timeline.Standing(claims)
    return index.rows.iloc[index.on(when, mode)]


def route_volumes(routes, claims, when) -> pd.DataFrame:
    return timeline.RouteVolumes(routes, claims).on(when)


def disputed_metrics(claims, when) -> set:
    ids = timeline.disputed_claims(claims, when)
    return set(claims.loc[claims["id"].isin(ids), "metric"])


def test_latest_claim_per_metric_and_claimant_never_merges_claimants():
    latest = standing(claims_fixture(), "2024-03-01")
    containers = latest[latest.metric == "containers"].set_index("claimant")["value"].to_dict()
    assert containers == {"ROK": 6700, "US": 10000}


def test_a_claim_is_unknown_before_it_is_published():
    before = standing(claims_fixture(), "2024-02-25")
    assert before[before.metric == "containers"].set_index("claimant")["value"].to_dict() == \
        {"ROK": 5000, "US": 10000}
    assert "OSC" not in set(standing(claims_fixture(), "2025-04-15").claimant)
    assert "OSC" in set(standing(claims_fixture(), "2025-04-16").claimant)


def test_period_mode_keeps_only_claims_as_of_that_month():
    period = standing(claims_fixture(), timeline.month_end("2024-02"), timeline.PERIOD)
    assert sorted(period["id"]) == ["C3", "C4"]


def test_route_volume_is_a_range_across_claimants():
    routes = pd.DataFrame({"id": ["LEG", "EMPTY"], "volume_metric": ["containers", "containers"]})
    volumes = route_volumes(routes, claims_fixture(), "2024-03-01").set_index("id")
    assert volumes.loc["LEG", "value_low"] == 6700
    assert volumes.loc["LEG", "value_high"] == 10000
    assert volumes.loc["LEG", "n_claimants"] == 2
    assert set(volumes.loc["LEG", "claim_ids"]) == {"C3", "C4"}
    assert volumes.loc["EMPTY", "n_claimants"] == 0
    assert pd.isna(volumes.loc["EMPTY", "value_low"])


def test_route_volume_upper_bound_counts_toward_high():
    routes = pd.DataFrame({"id": ["LEG"], "volume_metric": ["containers"]})
    volumes = route_volumes(routes, claims_fixture(), "2025-05-01").set_index("id")
    assert volumes.loc["LEG", "value_low"] == 6700
    assert volumes.loc["LEG", "value_high"] == 20000


def test_a_claimant_overtaken_by_a_year_newer_figure_leaves_the_range():
    claims = pd.concat([claims_fixture(), claims_fixture().iloc[[0]].assign(
        id="C8", value=28000, as_of_date=T("2025-07-13"), reported_date=T("2025-07-13"), claimant="DIA")])
    routes = pd.DataFrame({"id": ["LEG"], "volume_metric": ["containers"]})
    volumes = route_volumes(routes, claims, "2025-08-01").set_index("id")
    # US (Feb 2024) and ROK (Feb 2024) are over a year older than DIA (Jul 2025); OSC (Mar 2024) too.
    assert volumes.loc["LEG", "value_low"] == 28000
    assert volumes.loc["LEG", "n_claimants"] == 1


def test_same_month_disagreement_is_disputed_but_change_over_time_is_not():
    assert disputed_metrics(claims_fixture(), "2024-03-01") == {"containers"}
    assert timeline.disputed_claims(claims_fixture(), "2024-03-01") == {"C3", "C4"}
    # US 1,000 (1 Oct) and ROK 5,000 (29 Dec) are three months apart: a change, not a dispute.
    assert disputed_metrics(claims_fixture(), "2023-12-31") == set()


def test_metric_series_is_ordered_per_claimant():
    series = timeline.metric_series(claims_fixture(), "containers")
    assert list(series["id"]) == ["C5", "C2", "C4", "C1", "C3"]


def test_areas_valid_on_a_date_include_open_ended_ones():
    areas = gpd.GeoDataFrame({
        "id": ["PEAK", "LATE", "PLANT"],
        "valid_from": pd.to_datetime(["2024-08-20", "2024-12-01", "2022-10-01"]),
        "valid_to": pd.to_datetime(["2024-11-30", "2025-03-07", None]),
    }, geometry=[box(0, 0, 1, 1)] * 3)
    def on(when):
        return [a.id for a in areas.itertuples() if timeline.covers(a.valid_from, a.valid_to, T(when))]
    assert on("2024-11-30") == ["PEAK", "PLANT"]
    assert on("2024-12-01") == ["LATE", "PLANT"]
    assert on("2022-09-30") == []


def test_routes_on_respects_activity_dates():
    routes = gpd.GeoDataFrame({
        "id": ["DUNAI", "VOSTOCHNY"],
        "active_from": pd.to_datetime(["2023-08-15", "2023-10-15"]),
        "active_to": pd.to_datetime([None, None]),
    }, geometry=[LineString([(0, 0), (1, 1)])] * 2)
    assert [r.id for r in routes.itertuples() if timeline.covers(r.active_from, r.active_to, T("2023-09-30"))] == ["DUNAI"]


@pytest.mark.parametrize("first,last,expected", [
    ("2023-11-15", "2024-02-01", ["2023-11", "2023-12", "2024-01", "2024-02"]),
    ("2024-02-29", "2024-02-29", ["2024-02"]),
])
def test_month_steps(first, last, expected):
    assert timeline.months(first, last) == expected


def test_counted_disputes_match_a_pairwise_check_on_random_claims():
    import numpy as np
    rng = np.random.default_rng(7)
    n = 400
    claims = pd.DataFrame({
        "id": [f"R{i}" for i in range(n)],
        "metric": rng.choice(["a", "b", "c"], n),
        "claimant": rng.choice(["US", "ROK", "HUR", "CSIS"], n),
        "value": rng.choice([1, 2, 3], n).astype(float),
        "as_of_date": T("2024-01-01") + pd.to_timedelta(rng.integers(0, 400, n), unit="D"),
    })
    claims["reported_date"] = claims["as_of_date"]
    expected = set()
    rows = list(claims.itertuples())
    for a in rows:
        for b in rows:
            if a.metric == b.metric and a.claimant != b.claimant and a.value != b.value and \
                    abs(a.as_of_date - b.as_of_date) <= timeline.DISPUTE_WINDOW:
                expected.add(a.id)
    assert timeline.disputed_claims(claims, "2026-01-01") == expected


def test_troop_figures_once_under_two_metrics_are_now_compared(data):
    """The MND's 11,000 sent (N047) sat in troops_deployed_cumulative and HUR's nearly 8,000 (N074) in
    troops_deployed: merged into one metric, the dispute check sees the two claimants disagree."""
    c = data.claims.set_index("id")
    assert c.loc["N047", "metric"] == c.loc["N074", "metric"] == "troops_deployed"
    assert c.loc["N047", "value"] != c.loc["N074", "value"]
    assert {"N047", "N074"} <= timeline.disputed_claims(data.claims, "2025-03-01")


def test_shells_and_shells_plus_rockets_are_not_compared(data):
    """Zelensky's 3.5 million shells for 2024 and the MSMT's 9 million shells and rockets count different
    things: split into two metrics, the one never stands as a dispute of the other."""
    c = data.claims.set_index("id")
    assert c.loc["F029", "metric"] == "artillery_shells_annual"
    assert c.loc["F031", "metric"] == "artillery_and_rocket_rounds_annual"
    assert "F029" not in timeline.disputed_claims(data.claims, "2025-06-30")


def test_merged_metric_dispute_on_a_fixture():
    rows = pd.DataFrame({"id": ["A", "B"], "metric": ["artillery_shells_annual"] * 2, "value": [3.5e6, 9e6],
                         "value_high": [float("nan")] * 2, "claimant": ["Ukraine", "MSMT"],
                         "as_of_date": pd.to_datetime(["2024-12-02", "2024-12-15"]),
                         "reported_date": pd.to_datetime(["2024-12-02", "2025-05-29"])})
    assert timeline.disputed_claims(rows, "2025-05-28") == set()  # the MSMT report is not out yet
    assert timeline.disputed_claims(rows, "2025-05-29") == {"A", "B"}


def test_grouping_by_government_lets_one_agency_overtake_another(data):
    from geo.model.evidence import headline
    when = "2025-11-30"
    by_org = headline(data.claims, when)["Containers"]
    by_gov = headline(data.claims, when, group_by="government")["Containers"]
    us_org = [c for c in by_org if c["government"] == "United States government"]
    us_gov = [c for c in by_gov if c["government"] == "United States government"]
    assert len({c["claimant"] for c in us_org}) >= 2 and len(us_gov) == 1
    latest = max(us_org, key=lambda c: (c["as_of"], c["published"], c["id"]))
    assert us_gov[0]["agency"] == latest["agency"] and us_gov[0]["id"] == latest["id"], \
        "the government's latest figure stands, whichever agency gave it"
    assert all(c["verification"] != "unverified" for c in by_org + by_gov)


def test_a_claim_is_known_from_its_statement_date_or_else_its_publication():
    """A is said on 2 Jan and printed on 10 Jan: known from the 2nd. B (an imported claim, say) has no
    statement date: known from its publication."""
    rows = pd.DataFrame({"id": ["A", "B"], "metric": ["m", "m"], "value": [1.0, 2.0],
                         "value_high": [float("nan")] * 2, "claimant": ["x", "y"],
                         "as_of_date": pd.to_datetime(["2024-01-01", "2024-01-01"]),
                         "statement_date": pd.to_datetime(["2024-01-02", None]),
                         "reported_date": pd.to_datetime(["2024-01-10", "2024-01-10"])})
    assert list(timeline.known_claims(rows, "2024-01-05")["id"]) == ["A"]
    assert list(timeline.known_claims(rows, "2024-01-10")["id"]) == ["A", "B"]
    assert list(standing(rows, "2024-01-05")["id"]) == ["A"]
