"""The app in-process (streamlit.testing.v1.AppTest): it runs, its deck spec matches geo/, links reproduce views."""
import json

import pytest
from streamlit.testing.v1 import AppTest

from conftest import ROOT, shown, valid_on
from geo.view import records
from geo import style
from geo.render import layers
from geo.model import timeline

APP = str(ROOT / "app.py")


def run(params=None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=30)
    for key, value in (params or {}).items():
        at.query_params[key] = value
    at.run()
    assert not at.exception, at.exception
    return at


def deck(at) -> dict:
    charts = at.get("deck_gl_json_chart")
    assert len(charts) == 1
    return json.loads(charts[0].proto.json)


def layer(at, layer_id):
    return next(l for l in deck(at)["layers"] if layers.layer_name(l["id"]) == layer_id)


def feature_ids(layer_spec) -> set:
    rows = layer_spec["data"]["features"] if isinstance(layer_spec["data"], dict) else layer_spec["data"]
    return {(r.get("properties") or r)["feature_id"] for r in rows}


def test_imported_data_joins_the_map(tmp_path, monkeypatch):
    from geo.imports import importer
    from geo.store import workspace
    monkeypatch.setenv("GEO_WORKSPACE", str(tmp_path / "ws.sqlite"))
    ws = workspace.Workspace()
    point = ('{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"name":"Depot X"},'
             '"geometry":{"type":"Point","coordinates":[100.5,47.5]}}]}')
    ws.add(importer.read_file(point.encode(), filename="depot.geojson"))
    track = "track_id,name,timestamp,lon,lat\nA1,Angara,2024-03-12T00:00:00Z,130.3,42.2\nA1,Angara,2024-03-13T00:00:00Z,131.0,42.4\n"
    ws.add(importer.read_file(track.encode(), filename="angara.csv", kind="tracks"))
    at = run({"date": "2024-06"})
    ids = {layers.layer_name(l["id"]) for l in deck(at)["layers"]}
    assert {"imported", "tracks"} <= ids
    assert "Depot X" in json.dumps(layer(at, "imported")["data"])


def test_default_state_runs_and_holds_every_layer():
    at = run()
    ids = {layers.layer_name(l["id"]) for l in deck(at)["layers"]}
    assert set(records.DEFAULT_LAYERS) <= ids
    assert json.loads(at.get("deck_gl_json_chart")[0].proto.tooltip)["html"].count("{") == 4
    assert not at.warning


@pytest.mark.parametrize("scene", ["S1", "S2", "S3", "S4", "S5", "S6", "S7"])
def test_each_scene_runs(scene):
    at = run({"present": "1", "scene": scene})
    from geo.data import dataset
    title = dataset.load().scenes.set_index("id").at[scene, "title"]
    assert title in shown(at.markdown[0].value), "the scene's title heads the page"
    assert deck(at)["layers"], "a scene must draw something"
    assert not at.warning


def test_changing_the_date_changes_routes_strikes_and_front(data):
    at = run()
    at.select_slider(key="date").set_value("2024-01").run()
    def shown(at):  # every leg is picked from the click band under its line
        out = {k: feature_ids(layer(at, k)) for k in ("strikes", "front")}
        out["routes"] = feature_ids(layer(at, "routes-hit"))
        return out

    early = shown(at)
    early_routes = layer(at, "routes")["data"]
    at.select_slider(key="date").set_value("2025-02").run()
    late = shown(at)
    when = timeline.month_end("2025-02-01")
    assert late["strikes"] == {e for e in data.events[(data.events.kind == "strike") & (data.events.date <= when)].id}
    assert late["front"] == set(valid_on(data.areas[data.areas.kind == "front"], when, "valid_from", "valid_to").id)
    assert late["routes"] == set(valid_on(data.routes, when, "active_from", "active_to").id)
    assert early != late
    assert early_routes != layer(at, "routes")["data"]


def test_url_reproduces_date_layers_and_view():
    at = run({"date": "2024-06", "layers": ["basemap", "routes", "railcars"], "view": "tumen"})
    spec = deck(at)
    names = {layers.layer_name(l["id"]) for l in spec["layers"]}
    assert {n for n in names if not n.startswith("basemap-") or n == "basemap-lines"} == {
        "basemap", "basemap-lines", "routes", "routes-range", "routes-range-joints", "routes-hit", "routes-dashes",
        "routes-joints", "railcars"}
    assert {"basemap-scale", "basemap-towns"} <= names  # the basemap's detail comes with the basemap
    assert spec["initialViewState"]["zoom"] == pytest.approx(style.VIEWS["tumen"].zoom)
    assert at.session_state["date"] == "2024-06"
    assert not at.warning
    assert dict(at.query_params) == {"date": "2024-06", "view": "tumen", "layers": "basemap,routes,railcars"}


def test_presenter_link_without_a_scene_opens_scene_one_whole():
    at = run({"present": "1"})
    first = at.session_state["scene_index"]
    assert first == 0
    from geo.data import dataset
    scene = dataset.load().scenes.iloc[0]
    assert at.session_state["date"] == f"{scene.date:%Y-%m}" and at.session_state["view"] == scene.view
    assert scene.title in shown(at.markdown[0].value) and f"{scene.date:%B %Y}" in at.markdown[0].value
    assert at.query_params["present"] == "1" and at.query_params["scene"] == scene.id


def test_turning_presenter_mode_on_applies_scene_one_and_exit_keeps_the_month():
    at = run({"date": "2025-02"})
    at.toggle(key="present").set_value(True).run()
    assert at.session_state["scene_index"] == 0 and at.session_state["date"] == "2023-10"
    at.button(key="exit_present").click().run()
    assert at.session_state["present"] is False and at.session_state["date"] == "2023-10"
    assert "present" not in at.query_params


def test_full_dates_and_comma_lists_in_links_are_understood():
    at = run({"date": "2024-06-17", "layers": "basemap,flows"})
    assert at.session_state["date"] == "2024-06"
    names = {layers.layer_name(l["id"]) for l in deck(at)["layers"]}
    assert {n for n in names if not n.startswith("basemap-") or n == "basemap-lines"} == {
        "basemap", "basemap-lines", "flows", "flows-hit"}


@pytest.mark.parametrize("params,word", [
    ({"date": "not-a-date"}, "date"),
    ({"date": "1999-01"}, "date"),
    ({"view": "<script>"}, "view"),
    ({"layers": "everything"}, "layers"),
    ({"present": "maybe"}, "present"),
    ({"family": "lasers"}, "family"),
])
def test_garbage_parameters_show_a_notice_and_the_defaults(params, word):
    at = run(params)
    assert any(word in shown(w.value) for w in at.warning), [shown(w.value) for w in at.warning]
    assert set(records.DEFAULT_LAYERS) <= {layers.layer_name(l["id"]) for l in deck(at)["layers"]}


def test_tracks_layer_draws_a_bounded_window_of_many_points(monkeypatch):
    monkeypatch.setenv("BENCH_TRACKS", "20000")
    at = run({"date": "2024-03", "view": "sea"})
    spec = deck(at)
    ids = {layers.layer_name(l["id"]) for l in spec["layers"]}
    assert {"tracks", "tracks-path", "tracks-density"} <= ids
    assert layer(at, "tracks")["data"], "synthetic voyages run through March 2024"
    assert len(at.get("deck_gl_json_chart")[0].proto.json) < 1_000_000


def test_an_imported_claim_at_an_unknown_place_leaves_the_page_working_and_removable(tmp_path, monkeypatch):
    import csv
    import io
    from conftest import DATA, read_rows
    from geo.imports import importer
    from geo.store import workspace
    from geo.data.schema import IMPORTED_CLAIMS
    monkeypatch.setenv("GEO_WORKSPACE", str(tmp_path / "ws.sqlite"))
    row = next(r for r in read_rows(DATA / "claims.csv") if r["metric"] == "railcars_observed_tumangang")
    row = {c.name: row.get(c.name, "") for c in IMPORTED_CLAIMS.columns} | {
        "id": "X900", "place_id": "LOC_NOWHERE", "family": "rail", "claimant_type": "think_tank",
        "claimant": "Imagery Watch", "as_of_date": "2025-05-01", "statement_date": "2025-05-01",
        "reported_date": "2025-05-10"}
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(row))
    writer.writeheader()
    writer.writerow(row)
    ws = workspace.Workspace()
    # The importer checks references as the validator does; this one passed when imported and its
    # place has since left data/places.csv (a rename, say), which the page must survive.
    from geo.imports import recognise
    places, routes = recognise.bundled_reference_ids()
    monkeypatch.setattr(recognise, "bundled_reference_ids", lambda: (places | {"LOC_NOWHERE"}, routes))
    batch = ws.add(importer.read_file(out.getvalue().encode(), filename="sightings.csv", kind="claims"))
    monkeypatch.undo()
    monkeypatch.setenv("GEO_WORKSPACE", str(tmp_path / "ws.sqlite"))
    at = run({"date": "2025-06", "view": "tumen"})
    assert any("sightings.csv" in shown(w.value) and "LOC_NOWHERE" in shown(w.value) for w in at.warning), \
        [shown(w.value) for w in at.warning]
    assert deck(at)["layers"], "the map still draws"
    at.button(key=f"remove_{batch}").click().run()
    at.button(key="remove_confirm").click().run()
    assert not at.exception
    assert not any("LOC_NOWHERE" in shown(w.value) for w in at.warning)


def headline_html(at) -> str:
    return next(m.value for m in at.markdown if 'data-testid="headline"' in m.value)


def test_headline_groups_by_organisation_or_by_government():
    at = run({"date": "2025-06"})
    by_org = headline_html(at)
    assert 'data-group-by="organisation"' in by_org
    assert "US National Security Council" in by_org and "US Department of State" in by_org
    assert "more than 20,000 containers" in by_org  # the MSMT's hedge, as stated
    assert "(capacity estimate, not a count)" in by_org
    at.segmented_control(key="group_by").set_value("government").run()
    assert not at.exception, at.exception
    by_gov = headline_html(at)
    assert 'data-group-by="government"' in by_gov
    containers = by_gov.split("<h5>Containers</h5>")[1].split("<h5>")[0]
    assert containers.count("United States government") == 1
    from geo.data import dataset
    from geo.model.evidence import headline
    us = [c for c in headline(dataset.load().claims, "2025-06-30")["Containers"]
          if c["government"] == "United States government"]
    latest = max(us, key=lambda c: (c["as_of"], c["published"], c["id"]))
    assert f'<small class="agency">{latest["agency"]}</small>' in containers, "the agency of the latest US figure"


def test_grouped_by_government_the_chart_and_the_tooltips_follow():
    at = run({"date": "2025-06", "group_by": "government"})
    at.selectbox(key="chart").set_value("Troops deployed").run()
    assert not at.exception, at.exception
    spec = json.loads(at.get("vega_lite_chart")[0].proto.spec)
    assert spec["layer"][0]["encoding"]["color"]["field"] == "government"
    tooltips = json.dumps(layer(at, "flows-hit"))  # what hover picks, and the tooltip shows
    assert "Government of South Korea: South Korea Joint Chiefs of Staff" in tooltips
    assert "United States government: US National Security Council" in tooltips


def test_under_a_claimant_filter_the_evidence_panel_names_the_hidden_disputant():
    # Media's 2024 figure for the Dunai sea leg (F087) is contradicted by CSIS and RUSI, both think tanks.
    at = run({"date": "2025-06", "claimant_type": "media", "sel": "route:L_SEA_RAJIN_DUNAI"})
    panel = next(m.value for m in at.markdown if 'data-testid="evidence-panel"' in m.value)
    item = panel.split('data-claim="F087"')[1].split("</li>")[0]
    assert "⚠ disputed" in item
    hidden = item.split('class="hidden-disputant">')[1].split("</span>")[0]
    assert hidden == "by CSIS Beyond Parallel, Royal United Services Institute (RUSI), hidden by the filters"
    at = run({"date": "2025-06", "sel": "route:L_SEA_RAJIN_DUNAI"})  # nobody hidden, nobody named as hidden
    panel = next(m.value for m in at.markdown if 'data-testid="evidence-panel"' in m.value)
    assert "⚠ disputed" in panel and "hidden-disputant" not in panel


def test_an_unverified_row_never_says_it_was_checked_against_its_source():
    from geo.data import dataset
    claims = dataset.load().claims
    for claim_id in ("F006", "N098"):  # unverified, one with the copy that was read, one without
        assert claims.set_index("id").loc[claim_id, "verification"] == "unverified"
        at = run({"claim": claim_id})
        panel = next(m.value for m in at.markdown if 'data-testid="evidence-panel"' in m.value)
        item = panel.split(f'data-claim="{claim_id}"')[1].split("</li>")[0]
        assert ">unverified</span>" in item
        checked = item.split('class="checked">')[1].split("</span>")[0]
        assert "checked" not in checked and "against" not in checked, checked
        assert "no stored copy confirmed the figure" in checked
    at = run({"claim": "F077"})  # a verified row keeps its check
    panel = next(m.value for m in at.markdown if 'data-testid="evidence-panel"' in m.value)
    assert "checked 2026-12-06 against" in panel.split('data-claim="F077"')[1].split("</li>")[0]


def test_the_page_renders_a_video_of_the_months_for_slides():
    import imageio.v3 as iio
    at = run({"date": "2024-06"})
    at.radio(key="video_what_sidebar").set_value("a range of months").run()
    at.select_slider(key="video_months_sidebar").set_value(("2024-04", "2024-06")).run()
    at.selectbox(key="video_fmt_sidebar").set_value("gif").run()
    at.button(key="video_render_sidebar").click().run(timeout=240)
    assert not at.exception, at.exception
    fmt, size, clip = at.session_state["video"]
    frames = iio.imread(clip, index=None, extension=".gif")
    assert fmt == "gif" and frames.shape[0] == 4, "three months and the closing frame of sources"
    assert frames.shape[1:3] == (720, 1280)
    assert (frames[0] != frames[-1]).any()


def test_the_events_list_says_which_events_have_no_place_and_the_side_column_counts_them():
    at = run({"date": "2025-06"})
    beside = [c.value for c in at.caption if "have no place given" in c.value]
    assert len(beside) == 1 and "choose Events under the chart" in beside[0]
    at.selectbox(key="chart").set_value("Events").run()
    assert not at.exception, at.exception
    listed = next(m.value for m in at.markdown if 'data-testid="events-list"' in m.value)
    assert "with no place given, listed here only" in listed
    assert 'data-event="E001"' in listed  # the first report of the purchases names no place
    first = listed.split('data-event="E001"')[1].split("</li>")[0]
    assert "no place given: not on the map" in first and "on the map</a>" not in first


def test_imported_events_are_listed_and_charted_by_their_date_with_their_file(tmp_path, monkeypatch):
    """An analyst's events file, through the importer and workspace: its events join the events list
    (each naming the file; one with no place says it is on no map) and the timeline, and neither
    shows an event before its day."""
    from geo.imports import importer
    from geo.store import workspace
    import sample_files as sf
    monkeypatch.setenv("GEO_WORKSPACE", str(tmp_path / "ws.sqlite"))
    ws = workspace.Workspace()
    ws.add(importer.read_file(sf.acled_csv(tmp_path / "acled.csv")))  # Kharkiv on 17 January 2024
    ours = "id,date,title,kind,place_id,description,url\nMINE1,2024-03-05,A report with no place,transfer,,Shells reported moving,https://example.org/r\n"
    ws.add(importer.read_file(ours.encode(), filename="reports.csv", kind="events"))

    def events_shown(at):
        listed = next(m.value for m in at.markdown if 'data-testid="events-list"' in m.value)
        import pyarrow as pa
        charts = at.get("vega_lite_chart")  # the page sends the chart's rows apart from its spec, as Arrow
        ticks = [t for d in (charts[0].proto.datasets if charts else [])
                 for t in pa.ipc.open_stream(d.data.data).read_all().column("title").to_pylist()]
        return listed, ticks

    at = run({"date": "2023-12"})
    at.selectbox(key="chart").set_value("Events").run()
    listed, ticks = events_shown(at)
    imported_strike = "Explosions/Remote violence — Kharkiv"
    assert imported_strike not in listed and imported_strike not in ticks, "not before its day"
    at = run({"date": "2024-03"})
    at.selectbox(key="chart").set_value("Events").run()
    assert not at.exception, at.exception
    listed, ticks = events_shown(at)
    kharkiv = listed.split("Explosions/Remote violence — Kharkiv")[1].split("</li>")[0]
    assert "your file acled.csv" in kharkiv and "on the map</a>" in kharkiv and "sel=imported%3Aws" in kharkiv
    mine = listed.split("A report with no place")[1].split("</li>")[0]
    assert "your file reports.csv" in mine and "no place given: not on the map" in mine
    assert "Explosions/Remote violence — Kharkiv" in ticks and "A report with no place" in ticks
    beside = next(c.value for c in at.caption if "have no place given" in c.value)
    bundled = sum(1 for e in timeline_events_without_place() if e <= "2024-03-31")
    assert beside.startswith(f"{bundled + 1} event(s) by this date")


def test_an_imported_claim_s_link_opens_it_on_the_map_like_a_bundled_one(tmp_path, monkeypatch):
    """The table's link of an analyst's claim (?claim=<id>) opens its month and panel with the claim
    marked, the workspace's layer turned on; before, it said no claim had that id."""
    from geo.imports import importer
    from geo.store import workspace
    import sample_files as sf
    monkeypatch.setenv("GEO_WORKSPACE", str(tmp_path / "ws.sqlite"))
    workspace.Workspace().add(importer.read_file(sf.claims_csv(tmp_path / "mine.csv", rows=3, prefix="MINE")))
    at = run({"claim": "MINE0001", "layers": "basemap,routes"})
    assert not at.warning, [w.value for w in at.warning]
    panel = next(m.value for m in at.markdown if 'data-testid="evidence-panel"' in m.value)
    assert 'class="claim opened-claim" data-claim="MINE0001"' in panel
    item = panel.split('data-claim="MINE0001"')[1].split("</li>")[0]
    assert '<span class="your-file">from your file mine.csv</span>' in item, "an imported claim names its file"
    assert at.query_params["date"] == "2024-02" and "imported" in at.query_params["layers"]


def timeline_events_without_place() -> list[str]:
    from geo.data import dataset
    events = dataset.load().events
    return [f"{d:%Y-%m-%d}" for d, p in zip(events["date"], events["place_id"]) if not (isinstance(p, str) and p)]


def test_a_month_before_any_claim_of_a_chart_says_so_instead_of_an_empty_plot():
    # The first troop figures were published in October 2024.
    at = run({"date": "2024-06"})
    at.selectbox(key="chart").set_value("Troops deployed").run()
    assert not at.exception, at.exception
    assert not at.get("vega_lite_chart")
    assert any("No claim of this metric (troops deployed) was made public by 30 June 2024" in i.value for i in at.info)
    at.selectbox(key="chart").set_value("Containers shipped").run()
    assert at.get("vega_lite_chart") and any("known by 30 June 2024" in c.value for c in at.caption)
