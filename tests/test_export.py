"""Exports of a map state: each reads back with what the map shows, carries its sources, and is safe to open."""
import csv
import io
import json
import zipfile

from geo.model import evidence
from geo.view import records
from geo import export as exports
import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
from PIL import Image

import sample_files as sf
from conftest import require_chromium, valid_on
from test_browser import wait_drawn
from geo import style
from geo.export import formats as export
from geo.render import layers
from geo.model import timeline
from geo.imports.importer import read_file
from geo.store.workspace import Workspace

HOSTILE = "<img src=x onerror=alert(1)>"
ALL_LAYERS = records.DEFAULT_LAYERS + ("imported", "tracks")


@pytest.fixture(autouse=True)
def private_workspace(tmp_path, monkeypatch):
    monkeypatch.setenv("GEO_WORKSPACE", str(tmp_path / "ws.sqlite"))


@pytest.fixture(scope="module")
def snapshot(tmp_path_factory):
    """A workspace with an ACLED file, a front snapshot, a track, hostile names and hostile claims."""
    folder = tmp_path_factory.mktemp("imports")
    ws = Workspace(folder / "workspace.sqlite")
    centre = style.VIEWS["overview"]
    hostile = folder / "named.csv"
    hostile.write_text(f'name,lon,lat\n"{HOSTILE}",{centre.longitude},{centre.latitude}\n'
                       f'"Café & Bar",131.0,43.0\n', encoding="utf-8")
    claims = folder / "my_claims.csv"
    claims.write_text(
        "id,metric,family,value,value_high,qualifier,unit,basis,as_of_date,reported_date,claimant,attribution,"
        "claimant_type,outlet,url,place_id,route_ids,note\n"
        "M1,test_metric,munitions,-5,,,containers,estimate,2024-01-01,2024-01-05,\"=cmd|' /C calc'!A0\",x,"
        "think_tank,+SUM(A1),https://example.org/m1,,,@evil\n", encoding="utf-8")
    for path in (hostile, claims, sf.acled_csv(folder / "acled.csv"), sf.track_csv(folder / "ais.csv"),
                 sf.front_geojson(folder / "deepstate_2024-01-10.geojson", None)):
        ws.add(read_file(path))
    return ws.snapshot()


def state(month="2024-06", **kw):
    kw.setdefault("layers", ALL_LAYERS)
    return records.MapState(date=timeline.month_end(month + "-01"), **kw)


def test_view_follows_the_date(data, snapshot):
    early, late = export.view_features(data, state("2023-12"), snapshot), export.view_features(data, state(), snapshot)
    routes = lambda f: set(f.loc[f["layer"] == "routes", "id"])
    assert routes(late) == set(valid_on(data.routes, state().date, "active_from", "active_to")["id"])
    assert routes(early) != routes(late)
    imported = lambda f: set(f.loc[f["layer"] == "imported", "name"])
    assert "Explosions/Remote violence — Kharkiv" not in imported(early), "an event after the date must not show"
    assert "Explosions/Remote violence — Kharkiv" in imported(late)
    assert len(late[late["layer"] == "imported-front"]) == 2 and early[early["layer"] == "imported-front"].empty
    hidden = export.view_features(data, state(layers=("routes",)), snapshot)
    assert set(hidden["layer"]) == {"routes"}


def test_geojson_reads_back_with_its_metadata(data, snapshot):
    st = state()
    payload = export.to_geojson(data, st, snapshot)
    back = gpd.read_file(io.BytesIO(payload))
    assert len(back) == len(export.view_features(data, st, snapshot)) > 50
    assert HOSTILE in set(back["name"])
    meta = json.loads(payload)["metadata"]
    assert meta["data_version"] == f"{data.version}+ws{snapshot.version}"
    assert meta["date"] == "2024-06-30" and meta["layers"] == list(ALL_LAYERS)
    assert "Imported file: acled.csv" in meta["attribution"] and "Natural Earth" in meta["attribution"][0]
    known = timeline.known_claims(data.claims, st.date)
    assert set(known["url"]) <= {s["url"] for s in meta["sources"]}


def test_the_version_changes_with_the_workspace(data, snapshot):
    bundled = json.loads(export.to_geojson(data, state(), None))["metadata"]
    assert bundled["data_version"] == data.version
    assert "Imported file: acled.csv" not in bundled["attribution"]


def test_geopackage_has_one_table_per_layer_and_a_metadata_table(data, snapshot, tmp_path):
    st = state()
    path = tmp_path / "view.gpkg"
    path.write_bytes(export.to_gpkg(data, st, snapshot))
    listed = {str(name): geom for name, geom in pyogrio.list_layers(path)}
    spatial = [name for name, geom in listed.items() if geom is not None]
    assert listed["metadata"] is None and listed["sources"] is None
    assert sum(len(gpd.read_file(path, layer=name)) for name in spatial) == len(export.view_features(data, st, snapshot))
    meta = pyogrio.read_dataframe(path, layer="metadata").set_index("key")["value"]
    assert meta["data_version"] == f"{data.version}+ws{snapshot.version}"
    assert json.loads(meta["filters"]) == {"claimant_types": [], "bases": [], "families": []}


def test_kml_has_a_folder_per_layer_and_says_where_it_comes_from(data, snapshot, tmp_path):
    st = state()
    path = tmp_path / "view.kml"
    path.write_bytes(export.to_kml(data, st, snapshot))
    names = [str(name) for name, _ in pyogrio.list_layers(path)]
    assert {"routes", "places", "imported"} <= set(names)
    assert sum(len(gpd.read_file(path, layer=n)) for n in names) == len(export.view_features(data, st, snapshot))
    text = path.read_text(encoding="utf-8")
    assert f"Data version {data.version}+ws{snapshot.version}" in text
    assert "Natural Earth" in text and HOSTILE not in text.replace("<![CDATA[" + HOSTILE, "")


def read_csv(blob: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(blob.decode("utf-8-sig"))))


def test_csv_zip_is_safe_in_spreadsheets_and_carries_its_sources(data, snapshot):
    st = state()
    with zipfile.ZipFile(io.BytesIO(export.to_csv(data, st, snapshot))) as z:
        assert sorted(z.namelist()) == ["about.csv", "claims.csv", "sources.csv"]
        claims, sources, about = (read_csv(z.read(n)) for n in ("claims.csv", "sources.csv", "about.csv"))
        assert z.read("claims.csv").startswith(b"\xef\xbb\xbf"), "a BOM, so Excel reads UTF-8"
    header, rows = claims[0], claims[1:]
    assert len(rows) == len(export.claims_on(data, st, snapshot))
    mine = dict(zip(header, next(r for r in rows if r[0] == "M1")))
    assert mine["claimant"] == "'=cmd|' /C calc'!A0"
    assert mine["outlet"] == "'+SUM(A1)" and mine["note"] == "'@evil"
    assert mine["value"] == "-5", "numbers stay numbers"
    risky = [cell for row in claims + sources + about for cell in row
             if cell.startswith(export.FORMULA_START) and not is_number(cell)]
    assert risky == []
    assert ["basemap", "", "Natural Earth", "https://www.naturalearthdata.com/", "public domain"] in sources
    assert ["data_version", f"{data.version}+ws{snapshot.version}"] in about


def is_number(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False


def test_csv_claims_follow_date_and_filters(data):
    late = export.claims_on(data, state("2025-11"), None)
    early = export.claims_on(data, state("2023-10"), None)
    assert len(early) < len(late) == len(data.claims[data.claims["statement_date"] <= state("2025-11").date])
    media = export.claims_on(data, state("2025-11", filters=evidence.Filters(claimant_types=("media",))), None)
    assert set(media["claimant_type"]) == {"media"}


def test_png_is_a_slide_with_map_legend_and_footer(data, snapshot):
    png = export.to_png(data, state(view="tumen"), snapshot)
    img = Image.open(io.BytesIO(png)).convert("RGB")
    assert img.size == (1600, 900)
    pixels = np.asarray(img)
    assert len(np.unique(pixels.reshape(-1, 3), axis=0)) > 200, "a blank or flat image"
    legend = pixels[80:450, 1230:]
    # The rail legs' swatch, in the colour the legend gives them (no strike lies in the Tumen frame
    # to lend the legend its vermillion).
    rail_rgb = next(e.rgb for e in export.slide_view(data, state(view="tumen"), snapshot, None, "month").legend
                    if e.label == "rail")
    rail = np.all(np.abs(legend.astype(int) - rail_rgb) < 12, axis=-1)
    assert rail.sum() > 50, "the legend's rail swatch is missing"
    assert (legend.sum(axis=-1) < 150).sum() > 500, "the legend has no text"
    footer = pixels[800:, :]
    assert (footer.sum(axis=-1) < 300).sum() > 1000, "the source footer is missing"
    assert Image.open(io.BytesIO(png)).info["Source"] == f"data version {data.version}+ws{snapshot.version}"


ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def test_html_renders_offline_and_shows_hostile_names_as_text(data, snapshot, tmp_path):
    chromium = require_chromium()
    from playwright.sync_api import sync_playwright
    st = state("2024-06", view="overview")
    page_html = exports.export("html", data, st, snapshot).decode("utf-8")
    assert "<img src=x" not in page_html and "<script src=" not in page_html
    path = tmp_path / "map.html"
    path.write_text(page_html, encoding="utf-8")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            requests, errors, dialogs = [], [], []

            def route(r):
                if r.request.url.startswith("file:"):
                    return r.continue_()
                requests.append(r.request.url)
                return r.abort()

            page.route("**/*", route)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
            page.goto(path.as_uri())
            page.wait_for_selector("#deck-container canvas", timeout=20_000)
            wait_drawn(page, "#deck-container canvas", min_lit=0, timeout_ms=60_000)
            shot = np.asarray(Image.open(io.BytesIO(page.screenshot(clip={"x": 0, "y": 0, "width": 1280,
                                                                           "height": 500}))).convert("RGB"))
            assert len(np.unique(shot.reshape(-1, 3), axis=0)) > 50, "the canvas drew nothing"
            page.mouse.move(640, 400)  # the hostile point sits at the camera's centre
            tooltip = page.wait_for_selector(".deck-tooltip", state="visible", timeout=5000)
            assert HOSTILE in tooltip.inner_text()
            assert page.locator("img").count() == 0
            footer = page.locator("#export-footer").text_content()
            assert f"Data version {data.version}+ws{snapshot.version}" in footer and "Natural Earth" in footer
            assert requests == [] and errors == [] and dialogs == []
        finally:
            browser.close()


def test_cli_export_writes_each_format(tmp_path, data):
    import subprocess
    import sys
    from conftest import ROOT
    for fmt, name in (("geojson", "v.geojson"), ("png", "v.png")):
        proc = subprocess.run([sys.executable, "-m", "geo", "export", fmt, str(tmp_path / name), "--date", "2024-06",
                               "--layers", "basemap,routes,places"], cwd=ROOT, capture_output=True, text=True,
                              timeout=120)
        assert proc.returncode == 0, proc.stderr
        assert (tmp_path / name).stat().st_size > 1000
    back = gpd.read_file(tmp_path / "v.geojson")
    assert set(back["layer"]) == {"routes", "places"}
    bad = subprocess.run([sys.executable, "-m", "geo", "export", "png", str(tmp_path / "x.png"), "--date", "1999-01"],
                         cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and bad.stderr.startswith("error: --date '1999-01'")



def test_cli_export_takes_the_pages_claim_filters(tmp_path, data):
    import subprocess
    import sys
    from conftest import ROOT

    def export(*options):
        return subprocess.run([sys.executable, "-m", "geo", "export", "csv", str(tmp_path / "c.zip"), "--date", "2025-06",
                               "--no-workspace", *options], cwd=ROOT, capture_output=True, text=True, timeout=120)

    assert export("--claimant-type", "media").returncode == 0
    with zipfile.ZipFile(tmp_path / "c.zip") as z:
        media = pd.read_csv(z.open(next(n for n in z.namelist() if n.startswith("claims"))))
    assert len(media) and set(media["claimant_type"]) == {"media"}
    assert export().returncode == 0
    with zipfile.ZipFile(tmp_path / "c.zip") as z:
        every = pd.read_csv(z.open(next(n for n in z.namelist() if n.startswith("claims"))))
    assert len(every) > len(media)
    bad = export("--family", "munitions,bogus")
    assert bad.returncode == 2 and bad.stderr.strip() == (
        "error: --family: unknown bogus; use munitions, missiles, troops, money, rail, sea, industry, reverse")

def view_ids(data, state) -> dict[str, set]:
    from geo.view import mapview as views
    v = views.build_view(data, records.prepare(data, state.filters), state)
    out = {layer_id: {r["feature_id"] for r in v.features(layer_id)} for layer_id in v.records}
    out["places"] = set(data.places["id"])
    return {k: ids for k, ids in out.items() if ids}


def test_every_vector_format_holds_exactly_the_view_and_a_railcar_month_its_railcars(data, tmp_path):
    import pyogrio
    state = records.MapState(date=timeline.month_end("2024-06-01"), view="tumen")
    expected = view_ids(data, state)
    assert expected.get("railcars"), "June 2024 has railcar sightings at the crossing"
    geojson = json.loads(exports.export("geojson", data, state))
    got = {}
    for f in geojson["features"]:
        got.setdefault(f["properties"]["layer"], set()).add(f["properties"]["id"])
    assert got == expected
    for fmt in ("gpkg", "kml"):
        path = tmp_path / f"view.{fmt}"
        path.write_bytes(exports.export(fmt, data, state))
        layers_in_file = {name for name, _ in pyogrio.list_layers(path)} - {"metadata", "sources"}
        got = {}
        for name in layers_in_file:
            frame = pyogrio.read_dataframe(path, layer=name)
            column = "id" if "id" in frame.columns else "Name"
            got[name] = set(frame[column]) if fmt == "gpkg" else set(frame["id"]) if "id" in frame.columns else None
        assert {k for k in got} == set(expected), fmt
        if fmt == "gpkg":
            assert got == expected
    html = exports.export("html", data, state, basemap=layers.basemap_features(data.countries, None, style.ANALYST))
    assert 'data-testid="legend"' in html.decode() if isinstance(html, bytes) else html


def test_the_offline_map_stamps_every_place_name_even_when_its_id_holds_html_characters(data):
    places = data.places.copy()
    places.loc[places["id"] == "LOC_KHASAN_STN", "id"] = "a&b<c>"  # the Tumen view names every place in it
    renamed = data.__class__(**{**data.__dict__, "places": places})
    basemap = layers.basemap_features(data.countries, None, style.ANALYST)
    deck = export.export_deck(renamed, state("2024-06", view="tumen"), basemap)
    names = next(l for l in deck.layers if l.id == "places-labels")
    icons = {r["icon"] for r in names.data}
    assert "a&b<c>" in icons and icons <= set(names.icon_mapping)


def test_imported_claims_are_exported_once_with_one_source_file_column(data, snapshot):
    text = export.claims_csv(data, state("2024-06"), snapshot).decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    ids = [r["id"] for r in rows]
    assert len(ids) == len(set(ids)), "a claim appears twice"
    assert "M1" in ids
    assert next(csv.reader(io.StringIO(text))).count("source_file") == 1


def test_tracks_export_the_month_the_map_draws_not_their_whole_history(data, tmp_path):
    lines = ["track_id,name,timestamp,lon,lat"]
    for day in range(0, 120, 5):  # one position every five days from January to April 2024
        t = pd.Timestamp("2024-01-01") + pd.Timedelta(days=day)
        lines.append(f"V1,Test vessel,{t:%Y-%m-%dT%H:%M:%SZ},{130 + day / 100:.2f},42.0")
    ws = Workspace(tmp_path / "tracks.sqlite")
    ws.add(read_file("\n".join(lines).encode(), filename="vessel.csv", kind="tracks"))
    exported = json.loads(exports.export("geojson", data, state("2024-03"), ws.snapshot()))
    track = next(f for f in exported["features"] if f["properties"]["layer"] == "tracks")
    lons = [c[0] for c in track["geometry"]["coordinates"]]
    first_day = (min(lons) - 130) * 100
    assert first_day >= 60 - 31 - 1, "positions older than the map's 31-day window must not be exported"
    assert max(lons) <= 130 + 91 / 100, "nor positions after the month"


def test_a_slide_names_the_claim_filters_it_was_made_under():
    # A slide that only said "filtered claims" left the audience guessing which claims were left out.
    from geo.export.formats import slide_subtitle
    plain_state = records.MapState(pd.Timestamp("2024-11-01"), "cumulative")
    assert "filtered" not in slide_subtitle(plain_state, "Overview")
    filtered = records.MapState(pd.Timestamp("2024-11-01"), "cumulative",
                                filters=evidence.Filters(claimant_types=("think_tank",), bases=("capacity_estimate",),
                                                         families=("munitions", "troops")))
    line = slide_subtitle(filtered, "Overview")
    assert line.endswith("claims filtered to claimant type: think tank; basis: capacity estimate; "
                         "family: munitions, troops"), line
