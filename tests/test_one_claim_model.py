"""The analyst's own data, treated exactly like ours: imported through the real importer into a
real workspace, then read by the page (AppTest), the command line and the slide renderer."""
import csv
import io
import json
import subprocess
import sys

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from conftest import DATA, ROOT, read_rows, shown
from geo.data import claims as claim_rules, dataset
from geo.export import formats
from geo.imports import importer, recognise
from geo.imports.filecheck import ImportProblem
from geo.model.evidence import HEADLINES
from geo.store.workspace import Workspace
from geo.view import view_for
from geo.view.records import DEFAULT_LAYERS, MapState

APP = str(ROOT / "app.py")
UNITS = {r["id"]: r["unit"] for r in read_rows(DATA / "metrics.csv")}
HEADER = ["id", "metric", "family", "value", "value_high", "qualifier", "unit", "basis", "as_of_date", "reported_date",
          "claimant", "attribution", "claimant_type", "outlet", "url", "place_id", "route_ids", "note"]
CLAIMANTS = (("Imagery Desk Alpha", "think_tank"), ("Harbour Watch Beta", "media"))
PLACE = "LOC_RAJIN_PORT"


def claims_file(rows: list[dict]) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=HEADER, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode()


def claim(i: int, metric: str, claimant: str, kind: str, value: float, **over) -> dict:
    row = {"id": f"A{i:03d}", "metric": metric, "family": "munitions", "value": value, "value_high": "",
           "qualifier": "", "unit": UNITS[metric], "basis": "estimate", "as_of_date": "2024-05-01",
           "reported_date": "2024-05-10", "claimant": claimant, "attribution": claimant, "claimant_type": kind,
           "outlet": "Test outlet", "url": f"https://example.org/{i}", "place_id": PLACE, "route_ids": "",
           "note": f"test figure {i}"}
    return row | over


def headline_rows() -> list[dict]:
    """Two claimants, each with a figure in every headline metric, at Rajin."""
    rows, i = [], 0
    for label, metrics in HEADLINES.items():
        for (name, kind), value in zip(CLAIMANTS, (111_111, 222_222)):
            i += 1
            rows.append(claim(i, metrics[0], name, kind, value + i))
    return rows


@pytest.fixture
def workspace_with_claims(tmp_path, monkeypatch):
    monkeypatch.setenv("GEO_WORKSPACE", str(tmp_path / "ws.sqlite"))
    ws = Workspace(tmp_path / "ws.sqlite")
    result = importer.read_file(claims_file(headline_rows()), filename="analyst.csv")
    assert result.kind == "claims" and len(result.frame) == 2 * len(HEADLINES)
    batch = ws.add(result)
    return ws, batch


def run(params: dict) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    for key, value in params.items():
        at.query_params[key] = value
    at.run()
    assert not at.exception, at.exception
    return at


def headline_html(at) -> str:
    return next(m.value for m in at.markdown if 'data-testid="headline"' in m.value)


@pytest.mark.parametrize("group_by", ["organisation", "government"])
def test_imported_claims_in_every_headline_metric_stand_beside_each_other(workspace_with_claims, group_by):
    at = run({"date": "2024-06", "group_by": group_by})
    html = headline_html(at)
    for label in HEADLINES:
        section = html.split(f"<h5>{label}</h5>", 1)[1].split("<h5>", 1)[0]
        for name, _ in CLAIMANTS:
            assert name in section, f"{name} missing under {label} when grouped by {group_by}"


def test_the_evidence_panel_of_their_place_lists_both_claimants(workspace_with_claims):
    at = run({"date": "2024-06", "sel": f"place:{PLACE}"})
    panel = next(m.value for m in at.markdown if 'data-testid="evidence-panel"' in m.value)
    for name, _ in CLAIMANTS:
        assert panel.count(name) >= len(HEADLINES), name


def test_an_imported_claim_with_a_bundled_id_or_a_broken_rule_is_refused_with_its_row_and_column():
    bundled_id = read_rows(DATA / "claims.csv")[0]["id"]
    metric = HEADLINES["Containers"][0]
    capacity_metric = next(r["id"] for r in read_rows(DATA / "metrics.csv") if r["kind"] == "capacity_estimate")
    cases = {
        "id": claim(1, metric, "X", "media", 10, id=bundled_id),
        "as_of_date": claim(2, metric, "X", "media", 10, as_of_date="2024-06-01", reported_date="2024-05-01"),
        "value_high": claim(3, metric, "X", "media", 10, value_high=5, qualifier="range"),
        "unit": claim(4, metric, "X", "media", 10, unit="tonnes"),
        "basis": claim(5, capacity_metric, "X", "media", 10, unit=UNITS[capacity_metric], basis="estimate"),
        "qualifier": claim(6, metric, "X", "media", 10, note="officials said about 10 containers went"),
    }
    for column, row in cases.items():
        with pytest.raises(ImportProblem) as err:
            importer.read_file(claims_file([row]), filename="mine.csv", strict=True)
        assert (err.value.filename, err.value.row, err.value.column) == ("mine.csv", 2, column), str(err.value)
        assert str(err.value).startswith(f"mine.csv: row 2, column {column}: ")


def test_the_validator_and_the_importer_call_one_rule_function(monkeypatch, tmp_path):
    calls = []
    real = claim_rules.check_claims

    def spy(records, rows, filename="claims.csv", *args, **kwargs):
        calls.append(filename)
        return real(records, rows, filename, *args, **kwargs)

    monkeypatch.setattr(claim_rules, "check_claims", spy)
    monkeypatch.setattr(dataset, "check_claims", spy, raising=False)
    dataset.check(DATA)
    importer.read_file(claims_file([claim(1, HEADLINES["Troops"][0], "X", "media", 10)]), filename="mine.csv")
    assert calls == ["claims.csv", "mine.csv"], "both paths must go through geo.data.claims.check_claims"
    assert recognise.claims.check_claims is spy


def points_file(rows: list[tuple[str, float, float, str]]) -> bytes:
    return ("name,lon,lat,date\n" + "".join(f"{n},{lon},{lat},{d}\n" for n, lon, lat, d in rows)).encode()


def test_imported_dated_points_show_from_their_date_on_and_keep_the_calendar_day_written(tmp_path, data):
    ws = Workspace(tmp_path / "ws.sqlite")
    result = importer.read_file(points_file([("Depot sighting", 130.5, 42.5, "2024-03-01T00:30:00+09:00")]),
                                filename="sightings.csv", kind="generic")
    ws.add(result)
    snap = ws.snapshot()
    assert snap.features["date"].iloc[0] == pd.Timestamp("2024-03-01"), "the day written in the file, not UTC's"
    layers = DEFAULT_LAYERS + ("imported",)

    def shown(month):
        state = MapState(date=pd.Timestamp(month) + pd.offsets.MonthEnd(0), layers=layers)
        return len(view_for(data, snap, state).shown["imported"])

    assert shown("2024-02-01") == 0, "a dated point must not show before its date"
    assert shown("2024-03-01") == 1


def test_removing_the_batch_that_reached_the_latest_month_leaves_open_sessions_working(tmp_path, monkeypatch):
    monkeypatch.setenv("GEO_WORKSPACE", str(tmp_path / "ws.sqlite"))
    ws = Workspace(tmp_path / "ws.sqlite")
    batch = ws.add(importer.read_file(points_file([("Late", 130.5, 42.5, "2026-11-20")]), filename="late.csv",
                                      kind="generic"))
    at = run({"date": "2026-11"})
    assert at.session_state["date"] == "2026-11"
    Workspace(tmp_path / "ws.sqlite").remove(batch)  # from the command line, or another replica
    at.run()
    assert not at.exception, at.exception
    assert at.session_state["date"] < "2026-11"
    assert any("2026-11 is no longer on the date control" in shown(w.value) for w in at.warning)


def test_the_page_the_command_line_and_the_slides_show_the_same_features_and_values(tmp_path, monkeypatch, data):
    """Railcar sightings imported beside the bundled ones: every renderer takes them from view_for."""
    monkeypatch.setenv("GEO_WORKSPACE", str(tmp_path / "ws.sqlite"))
    ws = Workspace(tmp_path / "ws.sqlite")
    metric = "railcars_observed_tumangang"
    rows = [claim(1, metric, "Imagery Desk Alpha", "think_tank", 999, place_id="LOC_TUMANGANG_STN",
                  family="rail", basis="imagery_count", as_of_date="2024-05-20", reported_date="2024-05-25")]
    ws.add(importer.read_file(claims_file(rows), filename="railcars.csv"))
    params = {"date": "2024-06", "view": "tumen"}
    at = run(params)
    deck = json.loads(at.get("deck_gl_json_chart")[0].proto.json)
    page = {r["feature_id"]: r["detail"] for l in deck["layers"] if l["id"] == "railcars" for r in l["data"]}
    out = tmp_path / "view.geojson"
    proc = subprocess.run([sys.executable, "-m", "geo", "export", "geojson", str(out), "--date", "2024-06",
                           "--view", "tumen"], cwd=ROOT, capture_output=True, text=True, timeout=120,
                          env={**__import__("os").environ, "GEO_WORKSPACE": str(tmp_path / "ws.sqlite")})
    assert proc.returncode == 0, proc.stderr
    features = json.loads(out.read_text())["features"]
    cli = {f["properties"]["id"]: f["properties"]["detail"] for f in features if f["properties"]["layer"] == "railcars"}
    state = MapState(date=pd.Timestamp("2024-06-30"), view="tumen",
                     layers=DEFAULT_LAYERS + ("imported", "tracks"))
    slide = {r["feature_id"]: r["detail"] for r in formats.slide_view(data, state, ws.snapshot()).features("railcars")}
    assert "A001" in page and "999" in page["A001"], page
    assert page == cli == slide


def test_an_imported_claim_names_its_file_in_the_panel_escaped(tmp_path):
    """The panel says which of the analyst's files a claim came from; a hostile file name is text."""
    import sample_files as sf
    from geo.render import panels
    from geo.view import mapview
    hostile = "<img src=x onerror=alert(1)>.csv"
    ws = Workspace(str(tmp_path / "ws.sqlite"))
    ws.add(importer.read_file(sf.claims_csv(tmp_path / "mine.csv", rows=2, prefix="MINE").read_bytes(),
                              filename=hostile))
    view = view_for(dataset.load(), ws.snapshot(), MapState(date=pd.Timestamp("2024-03-31"),
                                                            layers=DEFAULT_LAYERS + ("imported",)))
    found = mapview.evidence(view, {"kind": "totals", "feature_id": "national"})
    html = panels.evidence_panel(found)
    item = html.split('data-claim="MINE0001"')[1].split("</li>")[0]
    assert "from your file &lt;img src=x onerror=alert(1)&gt;.csv" in item and "<img" not in item
    items = [part.split("</li>")[0] for part in html.split('data-claim="')[1:]]
    bundled = [i for i in items if not i.startswith("MINE")]
    assert bundled and not any("your-file" in i for i in bundled), "a bundled claim names no file"
