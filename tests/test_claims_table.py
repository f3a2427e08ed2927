"""The table of every claim, ?claim= links, search, national totals and the events list, without a browser."""
import pandas as pd
import pytest

from geo.model.evidence import Filters
from geo.page import about, search, session
from geo.view import MapState, claims_table, mapview, view_for
from geo.view.records import DEFAULT_LAYERS


def last_view(data, **kw):
    nav = session.Navigator.for_data(data)
    return view_for(data, None, MapState(date=pd.Timestamp(nav.months[-1]) + pd.offsets.MonthEnd(0), **kw))


def test_the_table_lists_every_claim_with_its_hedge_dates_basis_source_and_map_link(data):
    view = last_view(data)
    rows = claims_table.table_rows(view.prepared.claims)
    assert set(rows["id"]) == set(data.claims["id"])
    s003 = rows.set_index("id").loc["S003"]
    assert s003["value"] == "about 20,000 containers"
    assert (s003["as_of"], s003["published"]) == ("2024-12-22", "2024-12-23")
    assert s003["open"] == "?claim=S003" and s003["url"].startswith("http")
    assert s003["verification"] == "verified"  # stored copies of the report confirm it
    csv = claims_table.to_csv(rows).decode()
    assert csv.splitlines()[0].startswith("id,metric,value,claimant") and "?claim=S003" in csv


def test_the_table_follows_the_filters_and_the_month(data):
    view = last_view(data, filters=Filters(claimant_types=("media",)))
    everything = claims_table.table_rows(view.prepared.claims)
    assert set(everything["id"]) == set(data.claims.loc[data.claims["claimant_type"] == "media", "id"])
    december = claims_table.table_rows(view.prepared.claims, pd.Timestamp("2024-12-31"))
    assert 0 < len(december) < len(everything)
    assert (pd.to_datetime(december["published"]) <= "2024-12-31").all()
    assert list(claims_table.table_rows(view.prepared.claims, query="asiapress")["claimant"].unique()) == ["ASIAPRESS"]


def test_a_claim_link_opens_the_month_it_became_known_and_its_feature(data):
    nav = session.Navigator.for_data(data)
    ss = {}
    nav.seed(ss, {"claim": "S002"})
    assert ss["date"] == "2024-12" and ss["claim"] == "S002"
    assert ss["sel"] == claims_table.TOTALS  # about 200 factories: no place, no leg
    assert nav.params(ss)["claim"] == "S002" and nav.params(ss)["sel"] == "totals:national"
    ss2 = {}
    nav.seed(ss2, {"claim": "F001"})
    assert ss2["date"] == "2023-10" and ss2["sel"] == {"kind": "flow", "feature_id": "FL_MUNITIONS"}
    # Closing the panel lets the marked claim go too.
    ss2["sel"] = None
    nav.keep_valid(ss2)
    assert "claim" not in nav.params(ss2)
    bad = {}
    nav.seed(bad, {"claim": "F999999"})
    assert any("F999999" in n for n in bad["notices"]) and not bad.get("sel")


def test_a_link_s_own_date_stands_beside_its_claim(data):
    nav = session.Navigator.for_data(data)
    ss = {}
    nav.seed(ss, {"claim": "S003", "date": "2025-03"})
    assert ss["date"] == "2025-03" and ss["claim"] == "S003"


def reached_ids(view) -> tuple[set, set]:
    """Every claim id and event id a person reaches from this view: each drawn feature's evidence
    panel (the production path, mapview.evidence), the national totals panel and the events list."""
    claims, events = set(), set()
    for layer in ("routes", "flows", "railcars", "strikes", "events", "factories", "front"):
        for r in view.features(layer):
            found = mapview.evidence(view, {"kind": r["kind"], "feature_id": r["feature_id"]})
            claims |= {c["id"] for c in found.claims}
    for place_id in view.data.places["id"]:
        found = mapview.evidence(view, {"kind": "place", "feature_id": place_id})
        claims |= {c["id"] for c in found.claims}
    claims |= {c["id"] for c in mapview.evidence(view, dict(claims_table.TOTALS)).claims}
    events |= {e["id"] for e in claims_table.events_list(view)}
    return claims, events


def test_every_claim_and_every_event_is_reachable_from_the_map(data):
    view = last_view(data)
    assert set(view.state.layers) >= set(DEFAULT_LAYERS)
    claims, events = reached_ids(view)
    assert claims == set(data.claims["id"])
    assert events == set(data.events["id"])
    totals = {c["id"] for c in mapview.evidence(view, dict(claims_table.TOTALS)).claims}
    assert {"S002", "S008"} <= totals  # about 200 factories, up to 5.5 billion USD
    assert any(c["metric"] == "mrl_240mm_delivered" for c in mapview.evidence(view, dict(claims_table.TOTALS)).claims)


def test_with_places_off_their_claims_move_to_the_national_totals(data):
    layers = tuple(l for l in DEFAULT_LAYERS if l != "places")
    view = last_view(data, layers=layers)
    claims, _ = reached_ids(view)
    assert claims == set(data.claims["id"])


@pytest.mark.parametrize("query,first_kind,key", [
    ("200 factories", "claim", "S002"), ("5.5 billion", "claim", None), ("KN-23", "flow", "FL_MISSILES"),
    ("20,000", "claim", None), ("20000", "claim", None),
])
def test_search_finds_places_figures_and_names(data, query, first_kind, key):
    hits = search.find(search.build_index(data), query)
    assert hits and hits[0].kind == first_kind
    if key:
        assert key in [h.key for h in hits]


def test_search_finds_each_december_2024_figure(data):
    index = search.build_index(data)
    for c in about.wsj_claims(data).itertuples():
        label = next(e.label for e in index if e.kind == "claim" and e.key == c.id)
        value = label.split(":")[0]
        assert c.id in [h.key for h in search.find(index, f"{value} {c.claimant}")]


def test_search_takes_a_session_there(data):
    nav = session.Navigator.for_data(data)
    index = search.build_index(data)
    ss = {"date": nav.months[-1]}
    search.go(ss, nav, next(e for e in index if e.key == "S009"))
    assert ss["date"] == "2024-12" and ss["claim"] == "S009" and ss["tab"] == search.MAP_TAB
    event = next(e for e in index if e.kind == "event" and
                 not data.events.set_index("id").loc[e.key, "place_id"])
    search.go(ss, nav, event)
    assert ss["sel"] is None and ss["chart"] == "Events"
    search.go(ss, nav, next(e for e in index if e.kind == "claimant" and e.key == "ASIAPRESS"))
    assert ss["tab"] == search.TABLE_TAB and ss["table_query"] == "ASIAPRESS" and ss["table_scope"] == "all claims"
    search.go(ss, nav, next(e for e in index if e.kind == "place"))
    assert ss["sel"]["kind"] == "place"


def test_search_finds_the_analyst_s_own_claims_events_and_tracks_and_takes_a_session_there(data, tmp_path):
    """Imported through the real importer into a workspace: each is found by its words, names its
    file, and going there turns on its layer, moves to its month and selects it; an imported
    claim's link (?claim=) opens like a bundled one."""
    import sample_files as sf
    from geo.imports import importer
    from geo.store.workspace import Workspace
    ws = Workspace(str(tmp_path / "ws.sqlite"))
    ws.add(importer.read_file(sf.acled_csv(tmp_path / "acled.csv")))  # Kharkiv, 17 January 2024
    ws.add(importer.read_file(sf.claims_csv(tmp_path / "mine.csv", rows=3, prefix="MINE")))
    track = "track_id,name,timestamp,lon,lat\nA1,Angara test,2024-03-12T00:00:00Z,130.3,42.2\n" \
            "A1,Angara test,2024-04-13T00:00:00Z,131.0,42.4\n"
    ws.add(importer.read_file(track.encode(), filename="angara.csv", kind="tracks"))
    snapshot = ws.snapshot()
    nav = session.Navigator.for_data(data, snapshot)
    index = search.build_index(data, snapshot)

    strike = search.find(index, "explosions kharkiv")[0]
    assert strike.kind == "imported" and "your file acled.csv" in strike.label
    ss = {"date": nav.months[-1], "layers": ["basemap", "routes"]}
    search.go(ss, nav, strike)
    assert ss["sel"] == {"kind": "imported", "feature_id": strike.key} and ss["date"] == "2024-01"
    assert "imported" in ss["layers"] and ss["tab"] == search.MAP_TAB

    claim = search.find(index, "MINE0001")[0]
    assert claim.kind == "claim" and "your file mine.csv" in claim.label
    ss = {"date": nav.months[-1], "layers": ["basemap"]}
    search.go(ss, nav, claim)
    assert ss["claim"] == "MINE0001" and ss["date"] == "2024-02" and "imported" in ss["layers"]
    assert any(e.kind == "claimant" and e.key == "Analyst 1" for e in search.find(index, "Analyst 1"))

    boat = search.find(index, "angara test")[0]
    assert boat.kind == "track"
    ss = {"date": nav.months[0], "layers": []}
    search.go(ss, nav, boat)
    assert ss["sel"] == {"kind": "track", "feature_id": "A1"} and ss["date"] == "2024-04" and ss["layers"] == ["tracks"]

    ss = {}
    assert nav.open_claim(ss, "MINE0002") == [] and ss["claim"] == "MINE0002" and "imported" in ss["layers"]
    assert nav.open_claim({}, "NOPE")[0].startswith("Ignored claim='NOPE'")


def test_about_gives_one_example_per_word_from_the_data(data):
    text = about.about_markdown(data)
    ex = about.examples(data)
    assert all(ex.values())
    for claim_id in ("S001", "S002", "S003", "S008", "S009"):
        assert f"claim {claim_id}" in text
    cap = data.claims[data.claims["basis"] == "capacity_estimate"]["id"]
    assert any(f"claim {i}" in ex["capacity"] for i in cap)
    unverified = data.claims[data.claims["verification"] == "unverified"]["id"]
    assert any(f"claim {i}" in ex["unverified"] for i in unverified)


def test_an_event_with_no_place_is_listed_with_a_note_saying_so(data):
    """21 of the events have no place: none is silently missing. The events list names each as
    placeless, and a line beside the map counts them and says where they are listed."""
    view = last_view(data)
    rows = claims_table.events_list(view)
    placeless = {e["id"] for e in rows if e["note"]}
    expected = set(data.events.loc[data.events["place_id"].fillna("") == "", "id"])
    assert placeless == expected and len(placeless) > 0
    assert all(e["note"] == claims_table.NO_PLACE and e["sel"] is None for e in rows if e["id"] in placeless)
    assert all(e["note"] == "" and e["sel"] for e in rows if e["id"] not in placeless)
    assert claims_table.placeless_note(view).startswith(f"{len(placeless)} event(s) by this date have no place given")
