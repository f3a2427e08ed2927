"""The vessel registry and sanction lists: every bundled fact cited, tracks joined to vessels by
IMO or by the MMSI in force on their day, OpenSanctions' maritime CSV and FollowTheMoney JSON
lines imported through the real importer into a real workspace (SQLite and PostGIS) and
marking the right vessels, and broken files refused in one line with nothing stored."""
import csv
import json
import re
import subprocess
import sys

import pandas as pd
import pytest

import sample_files as sf
from conftest import DATA, ROOT
from geo.data import dataset, schema
from geo.data.vessels import imo_number
from geo.imports.importer import ImportProblem, read_file
from geo.page import uploads
from geo.ships import registry as reg
from geo.ships.sanctions import mark_sanctioned, read_sanctions
from geo.store import access
from geo.store.workspace import Workspace
from test_workspace import contents

EDITOR = access.User("edith", editor=True, source=access.HEADER)
FACT_HEADER = [c.name for c in schema.VESSEL_FACTS.columns]


def cli(*args):
    return subprocess.run([sys.executable, "-m", "geo", *map(str, args)], cwd=ROOT, capture_output=True, text=True,
                          timeout=180)


def write_csv(path, header, rows):
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)
    return path


def fact(i, vessel, field, value, start="", end="", authority="", quote=None):
    return [f"T{i:03d}", vessel, field, value, start, end, authority, "Example Outlet",
            f"https://example.org/ship/{i}", "2026-12-06", quote or f"The ship {value} is named here.", ""]


@pytest.fixture
def renamed(tmp_path):
    """A registry of one ship that changed its name, flag and MMSI on 1 June 2023."""
    folder = tmp_path / "registry"
    folder.mkdir()
    write_csv(folder / "vessels.csv", ["id", "name", "note"], [["V_STAR", "New Star", ""]])
    write_csv(folder / "vessel_facts.csv", FACT_HEADER, [
        fact(1, "V_STAR", "name", "Old Star", end="2023-06-01"),
        fact(2, "V_STAR", "name", "New Star", start="2023-06-01"),
        fact(3, "V_STAR", "imo", "9074729", quote="IMO 9074729 is the ship's number."),
        fact(4, "V_STAR", "mmsi", "273111111", end="2023-06-01", quote="It called as MMSI 273111111."),
        fact(5, "V_STAR", "mmsi", "273222222", start="2023-06-01", quote="It now calls as MMSI 273222222."),
        fact(6, "V_STAR", "flag", "Panama", end="2023-06-01", quote="It flew the flag of Panama."),
        fact(7, "V_STAR", "flag", "Russia", start="2023-06-01", quote="It flies the Russian flag."),
    ])
    return reg.load_registry(folder)


# --- the bundled registry ----------------------------------------------------------------------------

def test_the_bundled_registry_loads_and_every_fact_has_its_page_and_a_quote():
    registry = reg.load_registry(DATA)
    facts = registry.facts
    assert set(registry.vessels["name"]) >= {"Angara", "Maria", "Maia-1", "Lady R", "Sparta IV"}
    assert len(facts) >= 40
    assert facts["url"].str.match(r"^https?://\S+$").all()
    assert (facts["quote"].str.len() >= 20).all()
    assert facts["read"].notna().all() and facts["outlet"].str.strip().astype(bool).all()
    for _, row in facts[facts["field"].isin(["name", "former_name", "imo"])].iterrows():
        assert re.sub(r"\W", "", row["value"].lower()) in re.sub(r"\W", "", row["quote"].lower()), row["id"]
    assert (facts.loc[facts["field"] == "sanction", "authority"].str.len() > 0).all()
    # every vessel has a cited name, and each fact belongs to a vessel of the registry
    assert set(facts.loc[facts["field"] == "name", "vessel_id"]) == set(registry.vessels["id"])
    assert set(facts["vessel_id"]) <= set(registry.vessels["id"])
    assert all(imo_number(v) for v in facts.loc[facts["field"] == "imo", "value"])


def test_python_m_geo_validate_checks_the_registry_and_names_file_row_and_column(data_copy):
    assert cli("validate", DATA).returncode == 0
    path = data_copy / "vessel_facts.csv"
    rows = list(csv.DictReader(path.open(encoding="utf-8")))
    imo_row = next(i for i, r in enumerate(rows) if r["field"] == "imo")
    rows[imo_row]["value"] = "9743034"  # wrong check digit
    rows[3]["quote"] = ""
    rows[5]["vessel_id"] = "V_NOWHERE"
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=FACT_HEADER, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    proc = cli("validate", data_copy)
    assert proc.returncode == 1
    lines = proc.stdout.splitlines()
    assert f"vessel_facts.csv:{imo_row + 2}:value: '9743034' is not a valid IMO number (seven digits, the last a " \
           "check digit)" in lines
    assert "vessel_facts.csv:5:quote: empty value" in lines
    assert "vessel_facts.csv:7:vessel_id: unknown vessel id 'V_NOWHERE'" in lines


# --- joining tracks to vessels -----------------------------------------------------------------------

def test_a_track_joins_by_the_mmsi_in_force_on_its_day_and_takes_the_name_of_that_day(renamed):
    before = renamed.vessel_for(mmsi=273111111, when="2023-05-31 23:00")
    assert before == {"vessel_id": "V_STAR", "name": "Old Star", "flag": "Panama", "imo": "9074729",
                      "mmsi": "273111111", "matched_by": "mmsi"}
    after = renamed.vessel_for(mmsi="273222222", when="2023-06-01")
    assert (after["name"], after["flag"], after["mmsi"]) == ("New Star", "Russia", "273222222")
    # an MMSI the ship gave up, or had not yet taken, is not this ship on that day
    assert renamed.vessel_for(mmsi=273111111, when="2023-06-02") is None
    assert renamed.vessel_for(mmsi=273222222, when="2023-05-01") is None
    assert renamed.vessel_for(mmsi=999999999, when="2023-05-01") is None


def test_a_track_joins_by_imo_at_any_time_with_the_name_of_its_day(renamed):
    assert renamed.vessel_for(imo="IMO 9074729", when="2023-01-15")["name"] == "Old Star"
    assert renamed.vessel_for(imo=9074729, when=pd.Timestamp("2024-03-01", tz="UTC"))["name"] == "New Star"
    assert renamed.vessel_for(imo="9074729")["matched_by"] == "imo"
    assert renamed.vessel_for(imo="9074728") is None  # check digit wrong: no ship
    # the IMO number wins over an MMSI that belongs to no one that day
    assert renamed.vessel_for(imo="9074729", mmsi=273111111, when="2024-01-01")["mmsi"] == "273222222"


def test_the_bundled_registry_joins_sparta_iv_by_its_cited_imo_number():
    found = reg.vessel_for(imo="9743033", when="2023-03-01")
    assert (found["vessel_id"], found["name"], found["flag"]) == ("V_SPARTA_IV", "Sparta IV", "Russia")


def test_the_bundled_registry_joins_the_rajin_ships_and_ursa_major_by_their_cited_numbers():
    angara = reg.vessel_for(imo="IMO 9179842", when="2024-06-18")
    assert (angara["vessel_id"], angara["name"], angara["flag"]) == ("V_ANGARA", "Angara", "Russia")
    assert reg.vessel_for(imo="9161003", when="2024-03-12")["vessel_id"] == "V_LADY_R"
    ursa = reg.vessel_for(mmsi="273396130", when="2024-12-20")
    assert (ursa["vessel_id"], ursa["imo"], ursa["matched_by"]) == ("V_URSA_MAJOR", "9538892", "mmsi")
    # a former name finds the ship, and her card lists every name she bore
    registry = reg.load_registry(DATA)
    card = reg.vessel_card("Sparta III", registry)
    assert card["id"] == "V_URSA_MAJOR"
    assert {"Scan Britania", "Hyundai Britania", "EIT Palmina", "Sparta III", "Ursa Major"} <= set(card["names"])


# --- sanction lists through the importer --------------------------------------------------------------

MARITIME_HEADER = ["type", "caption", "imo", "risk", "countries", "flag", "mmsi", "id", "url", "datasets", "aliases"]


def maritime_csv(path, bad_imo=False):
    return write_csv(path, MARITIME_HEADER, [
        ["VESSEL", "SPARTA IV", "9743033", "sanction;poi", "ru", "ru", "", "os-sparta", "https://example.org/os-sparta",
         "us_ofac_sdn;gb_fcdo_sanctions", "SPARTA-IV"],
        ["VESSEL", "ANGARA", "9188881" if not bad_imo else "9743034", "", "sl", "sl", "", "os-angara",
         "https://example.org/os-angara", "some_registry", ""],
        ["ORGANIZATION", "SC SOUTH", "5873291", "sanction", "ru", "", "", "os-scsouth", "https://example.org/co",
         "us_ofac_sdn", ""],
    ])


def ftm_lines(path, broken_line=None):
    entities = [
        {"id": "v-star", "schema": "Vessel", "caption": "NEW STAR",
         "properties": {"name": ["NEW STAR"], "mmsi": ["273222222"], "flag": ["ru"]},
         "topics": ["sanction"], "datasets": ["us_ofac_sdn"], "first_seen": "2024-02-23T10:00:00",
         "last_change": "2024-06-01T00:00:00"},
        {"id": "s-star", "schema": "Sanction",
         "properties": {"entity": ["v-star"], "authority": ["Office of Foreign Assets Control"],
                        "program": ["RUSSIA-EO14024"], "listingDate": ["2024-02-23"]}, "datasets": ["us_ofac_sdn"]},
        {"id": "v-maria", "schema": "Vessel", "properties": {"name": ["MARIA"], "imoNumber": ["9234563"]},
         "topics": ["sanction"], "datasets": ["eu_fsf"]},
        {"id": "v-hostile", "schema": "Vessel",
         "properties": {"name": ["<img src=x onerror=alert(1)>\u202e"], "imoNumber": ["IMO 9743033"]},
         "datasets": ["x"]},
        {"id": "c-1", "schema": "Company", "properties": {"name": ["SOME OWNER"]}},
    ]
    lines = [json.dumps(e, ensure_ascii=False) for e in entities]
    if broken_line:
        lines[broken_line - 1] = lines[broken_line - 1][:-5]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_a_maritime_csv_and_ftm_lines_import_as_vessels_and_mark_the_right_ships(tmp_path, store, renamed):
    proc = cli("import", maritime_csv(tmp_path / "maritime.csv"))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("batch 1: 2 vessels record(s) from maritime.csv")
    assert "left out 1 ORGANIZATION row(s)" in proc.stderr
    proc = cli("import", ftm_lines(tmp_path / "sdn.ftm.jsonl"))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("batch 2: 3 vessels record(s) from sdn.ftm.jsonl")

    ws = Workspace(store)
    assert list(ws.batches()["kind"]) == ["vessels", "vessels"]
    stored = ws.features("vessels")
    assert len(stored) == 5 and stored.geometry.isna().all()
    # hostile text is kept as text, byte for byte; it is escaped where it is shown
    assert "<img src=x onerror=alert(1)>\u202e" in set(stored["name"])

    bundled = mark_sanctioned(reg.load_registry(DATA), stored).set_index("vessel_id")
    assert bundled.loc["V_SPARTA_IV", "sanctioned"]
    assert bundled.loc["V_SPARTA_IV", "lists"] == "us_ofac_sdn;gb_fcdo_sanctions"
    assert bundled.loc["V_SPARTA_IV", "matched_by"] == "imo"
    # the list's MARIA has another IMO number than any of ours: a name alone never marks a ship
    assert not bundled.loc["V_MARIA", "sanctioned"] and bundled.loc["V_MARIA", "name_matches"] == 1
    assert not bundled.loc[["V_ANGARA", "V_MAIA_1", "V_LADY_R"], "sanctioned"].any()

    star = mark_sanctioned(renamed, stored).set_index("vessel_id").loc["V_STAR"]
    # by the MMSI of the FtM file, with the Sanction entity's authority and listing date
    assert (star["sanctioned"], star["matched_by"], star["date"]) == (True, "mmsi", "2024-02-23")
    assert star["authorities"] == "Office of Foreign Assets Control" and star["lists"] == "us_ofac_sdn"

    card = reg.vessel_card("Sparta IV", reg.load_registry(DATA), stored)
    imported = [s for s in card["sanctions"] if s["source"] == "import"]
    assert [(s["file"], s["matched_by"], s["list"]) for s in imported] == \
        [("maritime.csv", "imo", "us_ofac_sdn;gb_fcdo_sanctions")]

    # removing the FtM batch takes its sanctions away again
    ws.remove(2, EDITOR)
    star = mark_sanctioned(renamed, ws.features("vessels")).set_index("vessel_id").loc["V_STAR"]
    assert not star["sanctioned"]


def test_the_pages_importer_stores_a_vessel_list_as_a_batch(tmp_path, monkeypatch):
    target = tmp_path / "page" / "workspace.sqlite"
    monkeypatch.setenv("GEO_WORKSPACE", str(target))
    ss = {}
    raw = ftm_lines(tmp_path / "list.jsonl").read_bytes()
    result, problem, _, _ = uploads.preview(ss, [("f1", "list.jsonl", raw)])
    assert problem == "" and result.kind == "vessels"
    assert uploads.summary(result)["what"] == "list.jsonl: 3 vessels feature(s) (ftm), 0 row(s) skipped"
    ws = Workspace(str(target))
    uploads.import_previewed(ss, ws, EDITOR)
    assert ss["import_report"][0] == "success", ss["import_report"]
    assert ws.counts() == {"batches": 1, "features": 3, "track_points": 0, "images": 0}


def test_read_sanctions_gives_the_rows_a_workspace_would_store(tmp_path):
    rows = read_sanctions(maritime_csv(tmp_path / "maritime.csv"))
    assert list(rows["name"]) == ["SPARTA IV", "ANGARA"]
    assert list(rows["sanctioned"]) == [True, False]
    assert rows.loc[0, "topics"] == "sanction;poi" and rows.loc[0, "aliases"] == "SPARTA-IV"


# --- broken files ------------------------------------------------------------------------------------

def test_a_broken_ftm_file_is_refused_in_one_line_naming_the_line_and_nothing_is_stored(tmp_path, store):
    assert cli("import", maritime_csv(tmp_path / "maritime.csv")).returncode == 0
    before = contents(store)
    proc = cli("import", ftm_lines(tmp_path / "broken.jsonl", broken_line=3))
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    assert proc.stderr.startswith("error: broken.jsonl: row 3, not a JSON object on this line (")
    assert contents(store) == before


def test_a_bad_imo_number_names_file_row_and_field_and_strict_refuses_the_file(tmp_path, store):
    Workspace(store)  # a new, empty store
    before = contents(store)
    path = maritime_csv(tmp_path / "maritime.csv", bad_imo=True)
    proc = cli("import", path, "--strict")
    assert proc.returncode == 2
    assert proc.stderr.strip() == ("error: maritime.csv: row 3, column imo: '9743034' is not a valid IMO number "
                                   "(seven digits, the last a check digit)")
    assert contents(store) == before
    # without --strict the bad row is skipped and said so, and the rest is imported
    proc = cli("import", path)
    assert proc.returncode == 0, proc.stderr
    assert "row 3, column imo: '9743034' is not a valid IMO number" in proc.stderr
    assert Workspace(store).counts()["features"] == 1


def test_a_file_asked_for_as_vessels_that_is_not_a_vessel_list_is_refused(tmp_path):
    path = write_csv(tmp_path / "points.csv", ["name", "lat", "lon"], [["a", "42.3", "130.6"]])
    proc = cli("inspect", path, "--as", "vessels")
    assert proc.returncode == 2
    assert proc.stderr.startswith("error: points.csv: not a vessel list: expected OpenSanctions' maritime CSV")
    shp = sf.shapefile_parts(tmp_path / "shp", "ports")
    with pytest.raises(ImportProblem, match=r"^ports\.shp: not a vessel list \(it reads as shapefile\): expected"):
        read_file(shp, kind="vessels")


# --- the vessel card ----------------------------------------------------------------------------------

def test_the_vessel_card_gives_identity_with_sources_sanctions_detections_and_the_claims_naming_it(data):
    registry = reg.load_registry(DATA)
    detections = pd.DataFrame([
        {"kind": "port_call", "vessel": "ANGARA", "mmsi": "", "imo": "", "start": pd.Timestamp("2023-09-01 04:00"),
         "end": pd.Timestamp("2023-09-02 10:00"), "place": "Rajin"},
        {"kind": "gap", "vessel": "Angara Star", "mmsi": "", "imo": "", "start": pd.Timestamp("2023-09-03"),
         "end": pd.Timestamp("2023-09-04"), "place": ""},
    ])
    card = reg.vessel_card("angara", registry, None, detections=detections, claims=data.claims)
    assert card["id"] == "V_ANGARA" and card["name"] == "Angara"
    assert {f["field"] for f in card["identity"]} >= {"name", "flag", "owner"}
    assert all(f["url"].startswith("http") and f["quote"] for f in card["identity"] + card["sanctions"])
    korea = [s for s in card["sanctions"] if s["authority"] == "South Korea"]
    assert [(s["date"], s["source"]) for s in korea] == [("2024-04-02", "registry")]
    assert [(d["kind"], d["place"]) for d in card["detections"]] == [("port_call", "Rajin")]
    named = {c["id"] for c in card["claims"]}
    assert {"F082", "F088"} <= named
    assert all("angara" in (c["note"] + c["outlet"]).lower() or c["id"] for c in card["claims"])
    assert "F089" not in named  # Maia-1's own count does not name Angara
    # a former name finds the ship too
    assert reg.vessel_card("Neptune Crow", registry)["id"] == "V_MAIA_1"
    with pytest.raises(KeyError):
        reg.vessel_card("Flying Dutchman", registry)


def test_the_page_lists_a_vessel_list_batch_draws_nothing_for_it_and_drops_it_when_removed(tmp_path, monkeypatch):
    from streamlit.testing.v1 import AppTest
    from test_workspace_app import APP, layer_ids, run, sidebar_text
    monkeypatch.setenv("GEO_WORKSPACE", str(tmp_path / "app" / "workspace.sqlite"))
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params["date"] = "2024-06"
    assert cli("import", ftm_lines(tmp_path / "sdn.jsonl")).returncode == 0
    run(at)
    assert "#1 sdn.jsonl · vessels · 3 · by " in sidebar_text(at)
    assert "imported" not in layer_ids(at)  # a vessel list has no geometry: nothing of it is drawn
    assert cli("workspace", "remove", 1).returncode == 0
    run(at)
    assert "#1 sdn.jsonl · vessels" not in sidebar_text(at) and "removed by" in sidebar_text(at)
