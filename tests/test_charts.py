"""Chart specs: built once without the date, with the date added as one rule layer."""
import json

from geo.render import charts
from geo.model import timeline


def test_step_chart_keeps_every_claimant_and_labels_capacity_estimates(data):
    spec = charts.step_chart(data.claims, charts.CHART_METRICS["Artillery shells"])
    rows = [r for rows in spec["datasets"].values() for r in rows]
    shells = data.claims[data.claims["metric"].isin(charts.CHART_METRICS["Artillery shells"])]
    assert len(rows) == len(shells), "one point per claim, nothing merged"
    series = {r["series"] for r in rows}
    assert set(shells["claimant"]) <= {s.replace(" (capacity estimate)", "") for s in series}
    assert any(s.endswith("(capacity estimate)") for s in series)


def test_the_date_rule_sits_on_the_selected_day_and_leaves_the_cached_spec_alone(data):
    spec = charts.events_timeline(data.events)
    before = json.dumps(spec, sort_keys=True)
    dated = charts.at_date(spec, timeline.month_end("2024-06-01"))
    rule = dated["layer"][-1]
    assert rule["mark"]["type"] == "rule"
    assert rule["encoding"]["x"]["datum"] == {"year": 2024, "month": 6, "date": 30}
    assert len(dated["layer"]) == len(spec["layer"]) + 1
    assert json.dumps(spec, sort_keys=True) == before


def test_the_plot_keeps_its_height_whatever_the_legend_needs(data):
    # Streamlit fits a stretched chart into its height; with "fit" the legend squeezed the plot to nothing.
    for spec in (charts.step_chart(data.claims, charts.CHART_METRICS["Troops deployed"]),
                 charts.events_timeline(data.events)):
        assert spec["autosize"]["type"] == "fit-x" and spec["height"] >= 140


def test_the_time_axis_names_the_years_and_ids_become_words(data):
    spec = charts.step_chart(data.claims, charts.CHART_METRICS["Containers shipped"])
    text = json.dumps(spec)
    assert '"format": "%b %Y"' in text
    rows = [r for rows in spec["datasets"].values() for r in rows]
    assert {r["basis_name"] for r in rows} <= set(charts.BASIS_NAMES.values())
    assert "imagery_count" not in {r["basis_name"] for r in rows}


def test_a_chart_with_no_claim_under_the_filters_is_none_not_an_empty_plot(data):
    assert charts.step_chart(data.claims.iloc[0:0], charts.CHART_METRICS["Troops deployed"]) is None


def test_grouped_by_government_the_colours_are_governments_and_every_claimant_keeps_its_line(data):
    metrics = charts.CHART_METRICS["Troops deployed"]
    troops = data.claims[data.claims["metric"].isin(metrics)]
    by_org = charts.step_chart(data.claims, metrics)
    by_gov = charts.step_chart(data.claims, metrics, group_by="government")
    assert by_org["layer"][0]["encoding"]["color"]["field"] == "series"
    colour = by_gov["layer"][0]["encoding"]["color"]
    assert colour["field"] == "government" and colour["title"] == "government"
    assert by_gov["layer"][0]["encoding"]["detail"]["field"] == "series", "one line per claimant"
    rows = [r for rows in by_gov["datasets"].values() for r in rows]
    assert len(rows) == len(troops), "one point per claim, nothing merged, averaged or summed"
    assert sorted(r["value"] for r in rows) == sorted(troops["value"])
    assert {r["government"] for r in rows} == set(troops["government"])
    assert len({r["series"] for r in rows}) == troops["claimant"].nunique(), "each claimant its own series"
    us = {r["series"] for r in rows if r["government"] == "United States government"}
    assert "United States government: US Department of Defense" in us and len(us) > 1


def test_railcar_counts_are_one_series_per_station_never_one_line_across_the_border(data):
    from geo.page import resources
    spec = resources.chart_spec("Railcars seen at the crossing", ("test-railcars",), data.claims)
    colour = spec["layer"][0]["encoding"]["color"]
    assert colour["field"] == "series" and colour["title"] == "claimant at station"
    rows = [r for rows in spec["datasets"].values() for r in rows]
    csis = {r["series"]: r["value"] for r in rows if r["series"].startswith("CSIS Beyond Parallel")}
    khasan = [s for s in csis if s.endswith("at Khasan station")]
    tumangang = [s for s in csis if s.endswith("at Tumangang station")]
    assert len(khasan) == 1 and len(tumangang) == 1, "the same claimant's two stations are two lines"
    assert csis[khasan[0]] == 150
    assert {r["place"] for r in rows} == {"Khasan station", "Tumangang station"}


def test_a_step_chart_at_a_date_keeps_only_the_claims_known_by_then_each_in_its_own_colour(data):
    # CSIS counted railcars on 17 June 2024 but published on 8 August: in June 2024 nobody knew.
    metrics = charts.CHART_METRICS["Railcars seen at the crossing"]
    spec = charts.step_chart(data.claims, metrics)
    before = json.dumps(spec, sort_keys=True)
    june = charts.at_date(spec, timeline.month_end("2024-06-01"))
    drawn = {r["id"] for rows in june["datasets"].values() for r in rows}
    claims = data.claims[data.claims["metric"].isin(metrics)]
    known = claims[timeline.said_on(claims) <= "2024-06-30"]
    assert drawn == set(known["id"]) and {"F079", "F080"}.isdisjoint(drawn)
    august = charts.at_date(spec, timeline.month_end("2024-08-01"))
    assert {"F079", "F080"} <= {r["id"] for rows in august["datasets"].values() for r in rows}
    assert json.dumps(spec, sort_keys=True) == before, "the cached spec is left alone"
    # A claimant keeps its colour from month to month, and the legend lists only those drawn.
    full = spec["layer"][0]["encoding"]["color"]["scale"]
    colour = dict(zip(full["domain"], full["range"]))
    for dated in (june, august):
        scale = dated["layer"][0]["encoding"]["color"]["scale"]
        assert scale["domain"] == sorted({r["series"] for rows in dated["datasets"].values() for r in rows})
        assert all(colour[d] == r for d, r in zip(scale["domain"], scale["range"]))
    # The axis keeps its span, and reaches the selected month when it lies beyond the claims.
    assert june["layer"][0]["encoding"]["x"]["scale"] == spec["layer"][0]["encoding"]["x"]["scale"]
    late = charts.at_date(spec, timeline.month_end("2025-11-01"))
    assert late["layer"][0]["encoding"]["x"]["scale"]["domain"][1] == {"year": 2025, "month": 11, "date": 30}
    assert charts.at_date(spec, timeline.month_end("2022-09-01")) is None, "nothing known yet: no empty plot"


def test_the_events_timeline_draws_events_by_the_month_only_and_keeps_its_axis_and_rows(data):
    spec = charts.events_timeline(data.events)
    june = charts.at_date(spec, timeline.month_end("2024-06-01"))
    drawn = [r for rows in june["datasets"].values() for r in rows]
    assert drawn and max(r["day"] for r in drawn) <= "2024-06-30"
    assert len(drawn) == int((data.events["date"] <= "2024-06-30").sum())
    ticks = june["layer"][0]["encoding"]
    first, last = data.events["date"].min(), data.events["date"].max()
    assert ticks["x"]["scale"]["domain"][-1] == {"year": last.year, "month": last.month, "date": last.day}
    assert ticks["x"]["scale"]["domain"][0] == {"year": first.year, "month": first.month, "date": first.day}
    assert ticks["y"]["scale"]["domain"] == sorted(data.events["kind"].unique()), "a row for every kind, every month"
    assert charts.at_date(spec, timeline.month_end("2022-08-01")) is None, "no event yet: no plot"
