"""The bundled dataset: counts, citations, and geometry that makes geographic sense."""
import pandas as pd
import pytest
import shapely
from shapely.geometry import Point

from geo.data.validate import km_between

SEA_PORT_ALLOWANCE_KM = 5


def test_bundled_data_meets_its_minimum_size(data):
    assert len(data.claims) >= 110
    assert len(data.places) >= 30
    assert len(data.events) >= 45
    assert len(data.routes) >= 10


def test_every_claim_is_cited(data):
    claims = data.claims
    assert (claims["claimant"] != "").all() and (claims["outlet"] != "").all()
    assert claims["url"].str.match(r"^https?://").all()
    assert claims["as_of_date"].notna().all() and claims["reported_date"].notna().all()
    assert (claims["as_of_date"] <= claims["reported_date"]).all()
    assert claims["statement_date"].notna().all()
    assert ((claims["as_of_date"] <= claims["statement_date"]) & (claims["statement_date"] <= claims["reported_date"])).all()


def test_wsj_seed_figures_are_present(data):
    """Every figure of the WSJ report of December 2024, each with the claimant its summaries give."""
    wsj = data.claims[data.claims["id"].str.startswith("S")].set_index("id")
    assert len(wsj) == 10
    assert set(wsj["reported_date"].dt.strftime("%Y-%m")) == {"2024-12"}
    assert (wsj.loc[["S003", "S004", "S005", "S008", "S009"], "verification"] == "verified").all()
    # Two summaries credit different claimants with the shells and the missiles: both are kept.
    assert set(wsj.loc[["S004", "S005"], "claimant_alt_id"]) == {"UA_GOV"}
    assert set(wsj.loc[["S004", "S005"], "claimant_id"]) == {"US_KR_OFFICIALS"}
    assert wsj.loc["S009", "qualifier"] == "up_to"  # "nearly a third"
    assert wsj.loc["S009", "metric"] == "share_of_russian_ballistic_launches_pct"
    assert not wsj["note"].str.contains("No stored copy").any()
    titles = " ".join(data.events.loc[data.events["date"] == "2024-12-22", "title"])
    assert "240 mm" in titles and "600 mm" in titles


def test_capacity_estimates_are_labelled_as_such(data):
    capacity = data.claims[data.claims["metric"] == "artillery_shells_capacity_152mm_equiv"]
    assert len(capacity) >= 4 and (capacity["basis"] == "capacity_estimate").all()


@pytest.mark.parametrize("place,country", [
    ("LOC_KHASAN_STN", "RUS"), ("LOC_TUMANGANG_STN", "PRK"), ("LOC_RAJIN_PORT", "PRK"),
    ("LOC_DUNAI_PORT", "RUS"), ("LOC_KURSK", "RUS"), ("LOC_KHARKIV", "UKR"),
])
def test_named_places_lie_in_their_country(data, place, country):
    point = data.places.set_index("id").geometry[place]
    detail = data.countries_detail
    countries = detail if detail.total_bounds[0] <= point.x <= detail.total_bounds[2] else data.countries
    shapes = countries[countries["iso3"] == country].geometry
    # Tumangang sits on the river; the 1:10m border puts it ~100 m into Russia.
    assert min(km_between(point, g) for g in shapes) <= 1.5


@pytest.mark.parametrize("lon,lat", [(34.10, 44.95), (33.52, 44.60)])  # Simferopol, Sevastopol
def test_basemap_shows_crimea_as_part_of_ukraine(data, lon, lat):
    holders = data.countries[data.countries.contains(Point(lon, lat))]["iso3"].tolist()
    assert holders == ["UKR"]


def test_every_place_lies_in_its_declared_country(data):
    from geo.data.dataset import check_countries
    from geo.data.validate import RawTable
    records = data.places[["id", "lon", "lat", "country"]].to_dict("records")
    raw = RawTable(None, records, list(range(2, len(records) + 2)), [])
    assert check_countries(records, raw, {"detail": data.countries_detail, "overview": data.countries}) == []


def test_sea_legs_cross_no_land_beyond_their_ports(data):
    land = shapely.union_all(data.countries_detail.geometry)
    places = data.places.set_index("id").geometry
    sea = data.routes[data.routes["mode"] == "sea"]
    assert len(sea) >= 3
    for leg in sea.itertuples():
        ends = [places[leg.from_place], places[leg.to_place]]
        # ~5 km around each port, in degrees at this latitude.
        harbours = shapely.union_all([shapely.buffer(p, SEA_PORT_ALLOWANCE_KM / 111.32 / 0.74) for p in ends])
        at_sea = leg.geometry.difference(harbours)
        assert not at_sea.intersects(land), f"{leg.id} crosses land"


def test_route_legs_end_at_their_places(data):
    places = data.places.set_index("id").geometry
    for leg in data.routes.itertuples():
        start, end = Point(leg.geometry.coords[0]), Point(leg.geometry.coords[-1])
        assert km_between(start, places[leg.from_place]) < 3, leg.id
        assert km_between(end, places[leg.to_place]) < 3, leg.id


def test_rail_legs_follow_waypoints_not_straight_lines(data):
    rail = data.routes[(data.routes["mode"] == "rail")]
    long_legs = rail[rail.geometry.map(lambda g: km_between(Point(g.coords[0]), Point(g.coords[-1])) > 500)]
    assert len(long_legs) >= 3
    assert (long_legs.geometry.map(lambda g: len(g.coords)) >= 8).all()


def test_reported_legs_have_sources_and_inferred_legs_say_so(data):
    reported = data.routes[data.routes["status"] == "reported"]
    assert reported["source_url"].str.match(r"^https?://").all()
    assert set(data.routes["status"]) == {"reported", "inferred"}


def test_areas_are_labelled_approximate(data):
    assert (data.areas["precision"] == "approximate").all()
    kursk = data.areas[data.areas["name"].str.contains("Kursk salient")]
    assert len(kursk) >= 3


def test_every_claim_names_registry_ids_and_says_how_it_was_checked(data):
    claims = data.claims
    assert set(claims["claimant_id"]) <= set(data.claimants["id"])
    assert set(claims["metric"]) <= set(data.metrics["id"])
    verified = claims["verification"] == "verified"
    assert (claims.loc[verified, "checked"].notna() & (claims.loc[verified, "checked_url"] != "")).all()
    assert set(claims["verification"]) <= {"verified", "unverified"}


@pytest.mark.parametrize("claim_id,qualifier", [
    ("F003", "about"), ("F012", "more_than"), ("F018", "about"), ("F019", "more_than"), ("F025", "more_than"),
    ("F027", "about"), ("F036", "at_least"), ("F059", "about"), ("F074", "about"),
])
def test_hedges_the_sources_use_are_kept(data, claim_id, qualifier):
    assert data.claims.set_index("id").loc[claim_id, "qualifier"] == qualifier


def test_scope_faults_of_issue_11_stay_fixed(data):
    c = data.claims.set_index("id")
    assert c.loc["F042", "metric"] == "ballistic_missiles_fired_cumulative"  # a war-to-date total
    assert c.loc["F023", "metric"] == "artillery_shells_capacity_152mm_equiv"
    assert c.loc["F026", "basis"] == "capacity_estimate" and c.loc["F026", "metric_kind"] == "capacity_estimate"
    assert f"{c.loc['F011', 'reported_date']:%Y-%m-%d}" == "2024-06-22"
    assert c.loc["S007", "restates"] == "F061"
    annual = c[c["metric"] == "artillery_shells_annual"]
    assert {"F027", "F029", "F030"} <= set(annual.index) and set(annual["unit"]) == {"rounds per year"}
    fleet = c[c["metric"] == "ship_voyages"]
    assert set(fleet["unit"]) == {"voyages"} and not {"F088", "F089"} & set(fleet.index)


def test_one_concept_one_metric(data):
    """The merges and splits of data/README.md: what counts one thing shares a metric, what does not is apart."""
    c = data.claims.set_index("id")
    assert not set(c["metric"]) & {"troops_deployed_cumulative", "ship_visits_najin", "containers_received_vostochny"}
    assert c.loc["F085", "metric"] == c.loc["F090", "metric"] == "ship_voyages"  # loading calls at Rajin
    assert c.loc["F093", "metric"] == "revenue_usd_cumulative"  # value of deliveries
    assert c.loc["F095", "metric"] == "dprk_gains_usd_cumulative"  # total gains, troops and technology included
    assert c.loc["F031", "metric"] == "artillery_and_rocket_rounds_annual"  # shells plus rockets
    assert c.loc["S009", "metric"] == c.loc["F043", "metric"] == "share_of_russian_ballistic_launches_pct"
    assert c.loc["F006", "unit"] == "shipments"  # the source's word, not containers
    assert c.loc["N004", "metric"] == "laborers_dispatched_annual" and c.loc["N040", "metric"] == "laborers_in_russia"


def test_the_claimant_is_who_the_source_names(data):
    c = data.claims.set_index("id")
    assert set(c.loc[["F100", "F101", "N010"], "claimant_id"]) == {"UA_INTEL_UNSPECIFIED"}
    assert c.loc["N041", "claimant_id"] == "KR_GOV" and c.loc["F060", "claimant_id"] == "KR_GOV"
    assert set(c.loc[["F041", "F043", "N011", "N012"], "claimant_id"]) == {"UA_GOV"}
    assert c.loc["F013", "claimant_alt_id"] == "REUTERS_OSC"
    assert data.claimants.set_index("id").loc["UA_INTEL_UNSPECIFIED", "parent"] == ("UA_GOV",)


def test_restatements_of_the_issue_are_marked(data):
    c = data.claims.set_index("id")
    assert c.loc["N085", "restates"] == c.loc["N044", "restates"] == "F052"
    assert [c.loc[i, "restates"] for i in ("N081", "N082", "N083")] == ["N087", "N088", "N089"]
    assert c.loc["F042", "restates"] == "N011" and c.loc["S009", "restates"] == "F043"


def test_statement_dates_of_the_issue(data):
    c = data.claims.set_index("id")
    said = {i: f"{c.loc[i, 'statement_date']:%Y-%m-%d}" for i in ("F018", "N028", "F013", "F032", "F090")}
    assert said == {"F018": "2024-01-15", "N028": "2024-05-02", "F013": "2025-04-15", "F032": "2025-04-15",
                    "F090": "2025-04-15"}
    assert f"{c.loc['F018', 'reported_date']:%Y-%m-%d}" == "2024-01-21"


def test_capacity_estimates_live_only_in_capacity_metrics(data):
    capacity = data.claims["basis"] == "capacity_estimate"
    assert (capacity == (data.claims["metric_kind"] == "capacity_estimate")).all()
    assert (data.claims.loc[capacity, "caveat"].str.contains("capacity estimate, not a count")).all()


def test_one_government_is_one_registry_tree(data):
    us = data.claims[data.claims["claimant_id"].isin(["US_NSC", "US_STATE", "US_DOD", "US_UN_MISSION", "US_GOV"])]
    assert set(us["government"]) == {"United States government"}
    joint = data.claims[data.claims["claimant_id"] == "US_KR_OFFICIALS"]
    assert len(joint) and set(joint["government_id"]) == {"US_KR_OFFICIALS"}, "a joint claimant is never filed under one"
    assert not data.claimants["name"].str.contains(r"\bvia\b|as summari|Zelensky|Kirby|Shoigu|Budanov").any()
