"""Ships on the page (streamlit.testing.v1.AppTest): an AIS export imported into the workspace gives
a dated layer of port calls, gaps and encounters, their evidence panels, a vessel card, and beside
the claims that count calls at Rajin what the tracks give, labelled as derived, never merged."""
import json
import re

import pytest
from streamlit.testing.v1 import AppTest

import ship_tracks
from conftest import ROOT
from geo.imports.importer import read_file
from geo.render import layers
from geo.store.workspace import Workspace
from geo.view import ships

APP = str(ROOT / "app.py")


def run(at: AppTest) -> AppTest:
    at.run()
    assert not at.exception, at.exception
    return at


@pytest.fixture
def ais_workspace(tmp_path, monkeypatch):
    target = tmp_path / "ws.sqlite"
    monkeypatch.setenv("GEO_WORKSPACE", str(target))
    Workspace(str(target)).add(read_file(ship_tracks.ais_csv().encode(), filename="ais_export.csv"))
    return target


def deck(at) -> dict:
    return json.loads(at.get("deck_gl_json_chart")[0].proto.json)


def layer_data(at, name: str) -> list:
    for layer in deck(at)["layers"]:
        if layers.layer_name(layer["id"]) == name:
            return layer.get("data") or []
    return []


def deck_layer_names(at) -> set:
    return {layers.layer_name(l["id"]) for l in deck(at)["layers"]}


def panel(at) -> str:
    texts = [m.value for m in at.markdown if 'data-testid="evidence-panel"' in m.value]
    assert texts, "no evidence panel on the page"
    return texts[0]


def legend(at) -> str:
    return next(m.value for m in at.markdown if 'data-testid="legend"' in m.value)


def detection_id(kind, **match):
    from geo.page import ships as page_ships
    found, _ = page_ships.find(str(Workspace().where), Workspace().snapshot(), page_ships.params_from({}))
    rows = found[found["kind"] == kind]
    for column, value in match.items():
        rows = rows[rows[column] == value]
    return rows.iloc[0]["id"]


def test_the_month_of_the_voyages_draws_calls_gaps_and_encounters_and_the_legend_names_them(ais_workspace):
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params.update({"date": "2024-09", "view": "sea"})
    run(at)
    assert {"detections-port-call", "detections-gap", "detections-gap-hit", "detections-encounter"} <= deck_layer_names(at)
    calls = layer_data(at, "detections-port-call")
    assert sorted(r["name"] for r in calls).count("Port call: ANGARA at Rajin") == 2
    assert len(calls) == sum(ship_tracks.voyages()[1]["calls"].values())
    gap = layer_data(at, "detections-gap-hit")
    assert len(gap) == 1 and "(inferred)" in gap[0]["detail"] and gap[0]["name"].startswith("AIS gap: ANGARA")
    text = legend(at)
    assert "port call (your tracks)" in text and "AIS gap, inferred (your tracks)" in text and "encounter" in text
    # A month without voyages draws none of them, and the legend says nothing of them.
    at2 = AppTest.from_file(APP, default_timeout=60)
    at2.query_params.update({"date": "2024-07", "view": "sea"})
    run(at2)
    assert not {n for n in deck_layer_names(at2) if n.startswith("detections")}
    assert "your tracks" not in legend(at2)


def test_the_claim_of_64_calls_at_rajin_shows_beside_it_what_the_tracks_give_and_its_figure_stays(ais_workspace):
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params["claim"] = "F090"
    run(at)
    text = panel(at)
    derived = re.findall(r'<li class="derived" data-testid="derived">([^<]*)</li>', text)
    line = next(d for d in derived if "Rajin" in d)
    truth = ship_tracks.voyages()[1]
    assert f"Your tracks: {truth['calls']['Rajin']} calls at Rajin by {truth['rajin_vessels']} vessels, September 2024" \
        in line
    assert "derived from your imported AIS data; not a claim" in line
    # The claim's own figure is as the source gave it, and the headline knows nothing of the tracks.
    assert "64 voyages" in text
    headline = next(m.value for m in at.markdown if 'data-testid="headline"' in m.value) if any(
        'data-testid="headline"' in m.value for m in at.markdown) else ""
    assert "Your tracks" not in headline


def test_a_gap_opens_its_rule_times_and_positions_and_leads_to_the_vessel_card(ais_workspace):
    gap = detection_id("gap")
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params.update({"date": "2024-09", "view": "sea", "sel": f"detection:{gap}"})
    run(at)
    text = panel(at)
    assert "AIS gap: ANGARA" in text and "at least 12 h with no position" in text and "gap_hours = 12 h" in text
    assert "Went dark" in text and "Reappeared" in text and "Positions behind it" in text
    assert "inferred" in text
    mark = [l for l in deck(at)["layers"] if layers.layer_name(l["id"]) == "selected-line"]
    assert mark and len(mark[0]["data"][0]["path"]) == 2  # the selected gap glows on the map, from a link too
    at.button(key="vessel_card_0").click()
    run(at)
    card = panel(at)
    # The registry knows Angara by name only (it holds no IMO or MMSI for it), and says so.
    assert "Vessel: Angara" in card and "matched by name only: another ship may bear the same name" in card
    assert "Port calls in your tracks (4)" in card and "AIS gaps in your tracks (1)" in card
    assert "Flag: Russia" in card and "Sanctions (" in card and "South Korea&#x27;s unilateral sanctions, from 2024-04-02" in card
    assert "claim(s) naming this vessel" in card and 'data-claim="F082"' in card  # RUSI's Angara and Maria


def test_an_encounter_names_both_vessels_and_the_rule_s_parameters(ais_workspace):
    meet = detection_id("encounter")
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params.update({"date": "2024-09", "view": "sea", "sel": f"detection:{meet}"})
    run(at)
    text = panel(at)
    assert "Encounter: ANGARA and TEST DRIFTER" in text and "within 500 m" in text and "Global Fishing Watch" in text
    assert "Other vessel" in text and "511333330" in text
    assert [b.label for b in at.button if b.key and b.key.startswith("vessel_card_")] == \
        ["Vessel card: ANGARA", "Vessel card: TEST DRIFTER"]


def test_changing_the_gap_threshold_finds_the_gaps_again(ais_workspace):
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params.update({"date": "2024-09", "view": "sea"})
    run(at)
    assert len(layer_data(at, "detections-gap-hit")) == 1
    at.number_input(key="ship_gap_hours").set_value(20.0)  # Angara was dark for 14.5 h: no longer a gap
    run(at)
    assert layer_data(at, "detections-gap-hit") == []
    assert "AIS gap" not in legend(at)


def test_text_from_the_file_reaches_the_panels_escaped(tmp_path, monkeypatch):
    target = tmp_path / "ws.sqlite"
    monkeypatch.setenv("GEO_WORKSPACE", str(target))
    hostile = ship_tracks.ais_csv().replace("TEST DRIFTER", "<img src=x onerror=alert(1)>")
    Workspace(str(target)).add(read_file(hostile.encode(), filename="ais_export.csv"))
    meet = detection_id("encounter")
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params.update({"date": "2024-09", "view": "sea", "sel": f"detection:{meet}"})
    run(at)
    text = panel(at)
    assert "<img" not in text and "&lt;img src=x onerror=alert(1)&gt;" in text


def test_detections_are_found_once_per_workspace_version_and_parameters(ais_workspace, monkeypatch):
    from geo.page import resources, ships as page_ships
    calls = []
    real = page_ships.find
    monkeypatch.setattr(page_ships, "find", lambda *a: calls.append(a[2]) or real(*a))
    resources._detections.clear()
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params.update({"date": "2024-08", "view": "sea"})
    run(at)
    for month in ("2024-09", "2024-10", "2024-09"):
        at.select_slider(key="date").set_value(month)
        run(at)
    assert len(calls) == 1


def test_a_track_of_an_mmsi_leads_to_its_vessel_card(ais_workspace):
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params.update({"date": "2024-09", "view": "sea", "sel": "track:273222220"})
    run(at)
    assert "MARIA" in panel(at)
    at.button(key="vessel_card_0").click()
    run(at)
    card = panel(at)
    assert "Vessel: Maria" in card and "Port calls in your tracks (4)" in card and "AIS gaps in your tracks (0)" in card
    assert "blacklisted by the US State Department, from 2023-12-12" in card  # the registry's cited sanction


def test_a_claim_from_before_the_tracks_says_they_do_not_reach_it(ais_workspace):
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params["claim"] = "F083"  # CSIS, at least six trips by 16 Oct 2023
    run(at)
    derived = re.findall(r'<li class="derived" data-testid="derived">([^<]*)</li>', panel(at))
    assert derived and all("nothing to set beside this claim: they run September 2024, outside its period" in d
                           for d in derived if "Rajin" in d or "Vostochny" in d)


def test_without_imported_tracks_no_claim_carries_a_derived_line(tmp_path, monkeypatch):
    monkeypatch.setenv("GEO_WORKSPACE", str(tmp_path / "ws.sqlite"))
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params["claim"] = "F090"
    run(at)
    assert "64 voyages" in panel(at) and 'data-testid="derived"' not in panel(at)


def synthetic(rows) -> "pd.DataFrame":
    import pandas as pd
    return ships.prepared(pd.DataFrame(rows))


def test_a_month_draws_at_most_the_latest_detections_and_the_page_says_how_many_it_holds():
    import pandas as pd
    from geo.data import dataset
    from geo.view import mapview
    from geo.view.records import DEFAULT_LAYERS, MapState
    n = ships.MAX_DRAWN + 25
    det = synthetic([{"kind": "loitering", "vessel": "V", "mmsi": f"{273000000 + i}",
                      "start": pd.Timestamp("2024-05-01") + pd.Timedelta(hours=i), "lon": 131.0, "lat": 41.5}
                     for i in range(n)])
    view = mapview.view_for(dataset.load(), None, MapState(date=pd.Timestamp("2024-05-31"),
                                                           layers=DEFAULT_LAYERS + ("detections",)),
                            track_paths=False, detections=det)
    shown = view.shown["detections"]
    assert len(shown) == ships.MAX_DRAWN and shown["start"].min() == det["start"].sort_values().iloc[25]
    assert f"{n:,} detections in your tracks this month: the map draws the latest {ships.MAX_DRAWN:,}." in view.notices


def test_a_yearly_or_monthly_claim_counts_the_calls_of_its_own_year_or_month():
    import pandas as pd
    det = synthetic([{"kind": "port_call", "vessel": "A", "mmsi": "273000001", "place": "Rajin",
                      "start": when, "end": when, "lon": 130.3, "lat": 42.24}
                     for when in ("2023-12-30", "2024-03-01", "2024-11-02", "2025-01-05")])
    year = {"id": "N002", "metric": "ship_voyages_annual", "as_of": "2024-12-31"}
    line = ships.derived_line(year, det, pd.Timestamp("2025-06-30"), "annual")
    assert line.startswith("Your tracks: 2 calls at Rajin by 1 vessel, March 2024 – November 2024, in 2024")
    month = {"id": "N128", "metric": "rason_arms_ship_calls_month", "as_of": "2025-01-31"}
    assert ships.derived_line(month, det, pd.Timestamp("2025-06-30"), "per_month").startswith(
        "Your tracks: 1 call at Rajin by 1 vessel, January 2025, in January 2025")
    # Never past the month the page shows.
    cumulative = {"id": "F090", "metric": "ship_voyages", "as_of": "2025-03-31"}
    assert ships.derived_line(cumulative, det, pd.Timestamp("2024-06-30")).startswith(
        "Your tracks: 2 calls at Rajin by 1 vessel, December 2023 – March 2024, up to 30 June 2024")
    # A claim about one named ship counts that ship's calls alone (Maia-1 has none here).
    single = {"id": "F089", "metric": "ship_voyages_single_vessel", "as_of": "2024-03-31",
              "note": "Maia-1 only: at least nine trips to North Korea in the five months to Feb 2024"}
    assert ships.derived_line(single, det, pd.Timestamp("2025-06-30")).startswith(
        "Your tracks: no call at Rajin by Maia-1 up to 31 March 2024")
    maia = synthetic([{"kind": "port_call", "vessel": "MAIA 1", "mmsi": "273000009", "place": "Rajin",
                       "start": "2024-01-10", "end": "2024-01-11", "lon": 130.3, "lat": 42.24}])
    line = ships.derived_line(single, pd.concat([det, maia]), pd.Timestamp("2025-06-30"))
    assert line.startswith("Your tracks: 1 call at Rajin by Maia-1, January 2024, up to 31 March 2024")
    assert "found by its name alone" in line
    assert ships.derived_line({"id": "X", "metric": "troops_deployed", "as_of": "2025-03-31"}, det,
                              pd.Timestamp("2025-06-30")) is None


def test_an_unreadable_positions_store_leaves_the_page_with_a_notice_and_no_detections(ais_workspace):
    from geo.ships import positions
    root = positions.root_for(ais_workspace)
    for part in root.rglob("*.parquet"):
        part.write_bytes(b"not parquet")  # a file gone bad on disk
    Workspace(str(ais_workspace)).add(read_file(b"name,lat,lon\nDepot,42.0,131.0\n", filename="depot.csv"))  # a new version
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params.update({"date": "2024-09", "view": "sea"})
    run(at)
    assert not {n for n in deck_layer_names(at) if n.startswith("detections")}
    assert any("Detections in your tracks are unavailable" in w.value for w in at.warning)


# --- the exports carry the detections the map draws ---------------------------------------------------

SEA_LAYERS = ("basemap", "places", "routes", "tracks", "detections")


@pytest.fixture(scope="module")
def voyages_view(tmp_path_factory):
    """The synthetic voyages imported into a workspace, their detections found as the page finds them
    (geo.page.ships.find with the session's parameters, handed on by geo.page.ships.findings), and the
    state of September 2024 in the sea view with the detections layer on."""
    import pandas as pd
    from geo.data import dataset
    from geo.page import ships as page_ships
    from geo.view.records import MapState
    ws = Workspace(str(tmp_path_factory.mktemp("voyages") / "ws.sqlite"))
    ws.add(read_file(ship_tracks.ais_csv().encode(), filename="ais_export.csv"))
    snapshot = ws.snapshot()
    params = page_ships.params_from({})
    found, coverage = page_ships.find(ws, snapshot, params)
    state = MapState(date=pd.Timestamp("2024-09-30"), layers=SEA_LAYERS, view="sea")
    return dataset.load(), snapshot, page_ships.findings(found, params, coverage), state


def test_the_geojson_export_holds_each_detection_of_the_month_marked_as_derived_and_apart_from_the_claims(
        voyages_view):
    from dataclasses import replace
    from geo import export as exports
    data, snapshot, findings, state = voyages_view
    truth = ship_tracks.voyages()[1]
    doc = json.loads(exports.export("geojson", data, state, snapshot, ships=findings))
    found = [f for f in doc["features"] if f["properties"]["layer"] == "detections"]
    calls = [f["properties"] for f in found if f["properties"]["kind"] == "port_call"]
    for port, n in truth["calls"].items():
        assert sum(c["place"] == port for c in calls) == n, port
    assert len({c["vessel"] for c in calls if c["place"] == "Rajin"}) == truth["rajin_vessels"]
    gaps = [f for f in found if f["properties"]["kind"] == "gap"]
    assert len(gaps) == truth["gaps"] and gaps[0]["geometry"]["type"] == "LineString"
    assert gaps[0]["properties"]["vessel"] == "ANGARA (MMSI 273111110)"
    assert sum(f["properties"]["kind"] == "encounter" for f in found) == truth["encounters"]
    for f in found:
        p = f["properties"]
        assert p["start"].endswith("UTC") and p["derived"].startswith("derived from the analyst's tracks")
        assert p["claimants"] == "" and "not a claim" in p["derived"]
    # Both ships' last calls have no final exit: open, no end; a closed call has one.
    assert sorted(c["place"] for c in calls if c["end"] == "") == ["Dunai", "Vostochny"]
    # Never merged with the claims: no claimant, no claim source, and the other layers carry none of their fields.
    meta = doc["metadata"]
    assert meta["detections"]["count"] == len(found) and meta["detections"]["kinds"]["port_call"] == len(calls)
    assert not [s for s in meta["sources"] if s["type"] == "claim" and "track" in s["note"]]
    assert "derived" not in next(f for f in doc["features"] if f["properties"]["layer"] == "routes")["properties"]
    # The layer off, or another month: none.
    off = json.loads(exports.export("geojson", data, replace(state, layers=SEA_LAYERS[:-1]), snapshot, ships=findings))
    assert not [f for f in off["features"] if f["properties"]["layer"] == "detections"] and "detections" not in \
        off["metadata"]
    july = json.loads(exports.export("geojson", data, replace(state, date=state.date.replace(month=7, day=31)),
                                     snapshot, ships=findings))
    assert not [f for f in july["features"] if f["properties"]["layer"] == "detections"]


def test_the_html_and_png_exports_draw_the_detections_with_their_legend(voyages_view):
    import numpy as np
    from geo import export as exports
    from geo.export import formats
    data, snapshot, findings, state = voyages_view
    page = exports.export("html", data, state, snapshot, ships=findings).decode()
    assert {"detections-port-call", "detections-gap", "detections-encounter"} <= {
        layers.layer_name(n) for n in re.findall(r'"id": ?"([^"]+)"', page)}
    assert "port call (your tracks)" in page and "AIS gap, inferred (your tracks)" in page
    assert "Port call: ANGARA at Rajin" in page and 'data-testid="detections-note"' in page
    fig, meta = formats.slide_figure(data, state, snapshot, ships=findings)
    legend_texts = [t.get_text() for t in fig.legends[0].get_texts()]
    assert "port call (your tracks)" in legend_texts and "encounter (your tracks)" in legend_texts
    green = np.array(ships.RGB["port_call"]) / 255
    dots = [c for c in fig.axes[0].collections if len(c.get_offsets()) and np.allclose(
        c.get_facecolors()[0][:3], green, atol=0.01)]
    assert sum(len(c.get_offsets()) for c in dots) == sum(ship_tracks.voyages()[1]["calls"].values())
    assert any("Detections drawn (8 port calls" in t.get_text() for t in fig.texts)  # the footer says what they are
    without, _ = formats.slide_figure(data, state, snapshot)
    assert "port call (your tracks)" not in [t.get_text() for t in without.legends[0].get_texts()]


def test_a_video_of_the_months_draws_the_detections_and_its_closing_frame_says_they_are_derived(voyages_view, tmp_path):
    import imageio.v3 as iio
    import numpy as np
    from geo.export import video
    data, snapshot, findings, state = voyages_view
    shots = video.month_shots(data, "2024-09", "2024-09", view="sea", layer_ids=SEA_LAYERS)
    with_them = iio.imread(video.write("gif", data, shots, tmp_path / "with.gif", snapshot=snapshot, ships=findings),
                           index=None)
    plain_gif = iio.imread(video.write("gif", data, shots, tmp_path / "without.gif", snapshot=snapshot), index=None)
    green = np.array(ships.RGB["port_call"])

    def greens(frame):
        return int((np.abs(frame[..., :3].astype(int) - green).sum(axis=2) < 12).sum())
    assert greens(with_them[0]) > greens(plain_gif[0]) + 100  # the call markers and their legend entry
    assert np.abs(with_them[1][..., :3].astype(int) - plain_gif[1][..., :3].astype(int)).mean() > 0.05  # the note


def test_the_command_line_export_carries_the_detections_of_the_workspace(ais_workspace, tmp_path, capsys):
    from geo import cli
    out = tmp_path / "sea.geojson"
    assert cli.main(["export", "geojson", str(out), "--date", "2024-09", "--view", "sea"]) == 0
    doc = json.loads(out.read_text(encoding="utf-8"))
    found = [f["properties"] for f in doc["features"] if f["properties"]["layer"] == "detections"]
    assert sum(p["kind"] == "port_call" for p in found) == sum(ship_tracks.voyages()[1]["calls"].values())
    assert sum(p["kind"] == "gap" for p in found) == 1
    assert "layers" in doc["metadata"] and "detections" in doc["metadata"]["layers"]


# --- the count beside a claim is the engine's count ------------------------------------------------------

def test_the_count_beside_a_claim_agrees_with_the_engines_calls_at_across_a_month_end_and_an_open_call(tmp_path):
    """Imported tracks with a call from 30 September into 1 October and a call the track ends in: the
    line beside a claim (geo.view.ships.derived_for, as the claim panel builds it) and
    geo.ships.detections.calls_at on the engine's own detections give the same calls, vessels and months."""
    import pandas as pd
    from geo.data import dataset
    from geo.page import ships as page_ships
    from geo.ships import detections as engine
    rows, truth = ship_tracks.month_end_calls()
    ws = Workspace(str(tmp_path / "ws.sqlite"))
    ws.add(read_file(ship_tracks.ais_csv(rows).encode(), filename="month_end.csv"))
    params = page_ships.params_from({})
    raw = engine.detect_store(ws, params=params)  # what `python -m geo detections` lists
    found, coverage = page_ships.find(ws, ws.snapshot(), params)  # what the page holds
    calls = raw[raw["kind"] == "port_call"]
    assert calls["end"].isna().sum() == 1 and calls.loc[calls["end"].isna(), "vessel"].iloc[0] == "OPEN END"
    spanning = calls[(calls["start"] < pd.Timestamp("2024-10-01")) & (calls["end"] >= pd.Timestamp("2024-10-01"))]
    assert list(spanning["vessel"]) == ["BOUNDARY"]
    claims = [{"id": "SEP", "metric": "rason_arms_ship_calls_month", "as_of": "2024-09-30"},
              {"id": "OCT", "metric": "rason_arms_ship_calls_month", "as_of": "2024-10-31"},
              {"id": "ALL", "metric": "ship_voyages", "as_of": "2024-10-31"}]
    lines = ships.derived_for(dataset.load(), claims, found, pd.Timestamp("2024-12-31"), coverage)
    periods = {"SEP": ("2024-09-01", "2024-10-01", "september"), "OCT": ("2024-10-01", "2024-11-01", "october"),
               "ALL": (None, "2024-11-01", "to_october")}
    for claim_id, (since, until, key) in periods.items():
        engine_count = engine.calls_at(raw, "Rajin", since, until)
        shown = re.match(r"Your tracks: (\d+) calls? at Rajin by (\d+) vessels?, ([^,]+), ", lines[claim_id])
        assert shown, lines[claim_id]
        assert (int(shown[1]), int(shown[2])) == (engine_count["calls"], engine_count["vessels"]) == truth[key]
        assert shown[3] == ships.month_words(engine_count["first"], engine_count["last"])
    assert "September 2024" in lines["SEP"] and "October 2024" not in lines["SEP"].split(", in ")[0]


# --- tracks joined to registry vessels by IMO and by the MMSI in force on their days ----------------------

def star_registry(folder):
    """A registry built here (the bundled one holds no MMSI): Star, IMO 9074729, named Old Star and
    calling as MMSI 273111111 until 1 June 2023, New Star after; from that day MMSI 273111111 is
    Moon's, a second ship's. Every fact made up, cited to an example page."""
    import csv
    from geo.data import schema
    from geo.ships import registry as reg
    folder.mkdir()

    def fact(i, vessel, field, value, start="", end=""):
        return [f"T{i:03d}", vessel, field, value, start, end, "", "Example Outlet", f"https://example.org/ship/{i}",
                "2026-12-06", f"The ship's {field} is {value} here.", ""]
    with (folder / "vessels.csv").open("w", newline="", encoding="utf-8") as f:
        csv.writer(f, lineterminator="\n").writerows([["id", "name", "note"], ["V_STAR", "New Star", ""],
                                                      ["V_MOON", "Moon", ""]])
    with (folder / "vessel_facts.csv").open("w", newline="", encoding="utf-8") as f:
        csv.writer(f, lineterminator="\n").writerows([[c.name for c in schema.VESSEL_FACTS.columns],
            fact(1, "V_STAR", "name", "Old Star", end="2023-06-01"),
            fact(2, "V_STAR", "name", "New Star", start="2023-06-01"),
            fact(3, "V_STAR", "imo", "9074729"),
            fact(4, "V_STAR", "mmsi", "273111111", end="2023-06-01"),
            fact(5, "V_MOON", "name", "Moon"),
            fact(6, "V_MOON", "mmsi", "273111111", start="2023-06-01")])
    return reg.load_registry(folder)


def calls_of(ship, days):
    """`ship` (a ship_tracks.Ship) sails into Rajin and out again on each day."""
    off = (130.50, 42.10)
    for day in days:
        ship.at, ship.t = off, pd_stamp(day)
        ship.sail(ship_tracks.PORTS["Rajin"])
        ship.stay(4)
        ship.sail(off)
    return ship.rows


def pd_stamp(day):
    import pandas as pd
    return pd.Timestamp(f"{day}T06:00:00")


def found_in(tmp_path, rows):
    from geo.page import ships as page_ships
    ws = Workspace(str(tmp_path / "ws.sqlite"))
    ws.add(read_file(ship_tracks.ais_csv(rows).encode(), filename="star.csv"))
    found, _ = page_ships.find(ws, ws.snapshot(), page_ships.params_from({}))
    return found


def test_a_track_whose_mmsi_the_registry_does_not_know_joins_its_vessel_by_the_imo_it_carries(tmp_path):
    import pandas as pd
    registry = star_registry(tmp_path / "registry")
    ship = ship_tracks.Ship("273999990", "STAR", "IMO 9074729", (130.50, 42.10))  # an MMSI no registry row holds
    found = found_in(tmp_path, calls_of(ship, ["2023-03-10", "2023-08-10"]))
    assert set(found.loc[found["kind"] == "port_call", "imo"]) == {"9074729"}
    joined = registry.join(found[found["kind"] == "port_call"])
    assert list(joined["vessel_id"]) == ["V_STAR", "V_STAR"] and list(joined["matched_by"]) == ["imo", "imo"]
    assert list(joined["name"]) == ["Old Star", "New Star"]  # the name the registry gives on each call's day
    card = ships.vessel_evidence("mmsi:273999990", found, pd.DataFrame(), pd.Timestamp("2023-12-31"), registry)
    facts = dict(card.facts)
    assert card.title == "Vessel: New Star" and facts["Registry"] == "New Star, matched by IMO number"
    assert "Port calls in your tracks (2)" in [s[0] for s in card.sections]
    # On a date before the renaming, its latest call so far was made as Old Star, and the card says so.
    early = ships.vessel_evidence("mmsi:273999990", found, pd.DataFrame(), pd.Timestamp("2023-04-30"), registry)
    assert dict(early.facts)["Registry"] == "New Star, matched by IMO number; named Old Star on 2023-03-10"
    assert "Port calls in your tracks (1)" in [s[0] for s in early.sections]


def test_an_mmsi_that_passed_to_another_ship_joins_each_call_to_the_ship_that_held_it_that_day(tmp_path):
    import pandas as pd
    registry = star_registry(tmp_path / "registry")
    ship = ship_tracks.Ship("273111111", "", "", (130.50, 42.10))  # no name, no IMO: the MMSI alone
    found = found_in(tmp_path, calls_of(ship, ["2023-03-10", "2023-05-20", "2023-08-10"]))
    calls = found[found["kind"] == "port_call"]
    assert list(registry.join(calls)["vessel_id"]) == ["V_STAR", "V_STAR", "V_MOON"]
    card = ships.vessel_evidence("mmsi:273111111", found, pd.DataFrame(), pd.Timestamp("2023-12-31"), registry)
    facts = dict(card.facts)
    assert card.title == "Vessel: Moon" and facts["Registry"] == "Moon, matched by MMSI"
    # Star's two calls and the two gaps that began while it held the MMSI are Star's, not Moon's.
    assert facts["Another ship on these days"].startswith("Old Star (4 detection(s), 2023-03-10 to 2023-05-20)")
    sections = dict(card.sections)
    assert sections["Port calls in your tracks (1)"][0].startswith("2023-08-10")
    assert "AIS gaps in your tracks (0)" in sections
    # Before the MMSI changed hands, the same key is Star's, under the name it bore then.
    spring = ships.vessel_evidence("mmsi:273111111", found, pd.DataFrame(), pd.Timestamp("2023-05-31"), registry)
    assert spring.title == "Vessel: New Star" and "Another ship on these days" not in dict(spring.facts)
    assert dict(spring.facts)["Registry"] == "New Star, matched by MMSI; named Old Star on 2023-05-20"
    assert "Port calls in your tracks (2)" in dict(spring.sections)


def test_a_claim_about_one_ship_counts_its_calls_by_the_imo_the_registry_gives_it_whatever_the_name():
    import pandas as pd
    # Sparta IV's IMO number is cited in the bundled registry; here its calls broadcast another name.
    det = synthetic([{"kind": "port_call", "vessel": "RENAMED", "mmsi": "273000077", "imo": "9743033",
                      "place": "Rajin", "start": when, "end": when, "lon": 130.3, "lat": 42.24}
                     for when in ("2024-01-10", "2024-02-10")] +
                    [{"kind": "port_call", "vessel": "SOMEONE ELSE", "mmsi": "273000078", "place": "Rajin",
                      "start": "2024-02-11", "end": "2024-02-11", "lon": 130.3, "lat": 42.24}])
    single = {"id": "X", "metric": "ship_voyages_single_vessel", "as_of": "2024-03-31",
              "note": "Sparta IV only: trips to North Korea"}
    line = ships.derived_line(single, det, pd.Timestamp("2025-06-30"))
    assert line.startswith("Your tracks: 2 calls at Rajin by Sparta IV, January 2024 – February 2024"), line
    assert "found by its name alone" not in line


def test_the_geopackage_and_csv_exports_keep_the_detections_in_a_table_of_their_own(voyages_view, tmp_path):
    import csv as csv_module
    import io
    import zipfile
    import pyogrio
    from geo import export as exports
    data, snapshot, findings, state = voyages_view
    path = tmp_path / "view.gpkg"
    path.write_bytes(exports.export("gpkg", data, state, snapshot, ships=findings))
    found = pyogrio.read_dataframe(path, layer="detections")
    assert (found["kind"] == "port_call").sum() == sum(ship_tracks.voyages()[1]["calls"].values())
    assert set(found["derived"]) == {"derived from the analyst's tracks (imported AIS positions); not a claim"}
    assert "vessel" not in pyogrio.read_dataframe(path, layer="routes").columns
    with zipfile.ZipFile(io.BytesIO(exports.export("csv", data, state, snapshot, ships=findings))) as z:
        rows = list(csv_module.DictReader(io.StringIO(z.read("detections.csv").decode("utf-8-sig"))))
        claims = z.read("claims.csv").decode("utf-8-sig")
    assert sum(r["kind"] == "gap" for r in rows) == 1 and all(r["start"] and r["place"] is not None for r in rows)
    assert "ANGARA" not in claims  # the claims' table holds claims only
