"""geo.view: one object says what a map state shows; the legend, notices and disputes follow from it."""
import json

import pandas as pd
import pytest

from geo.view import records
from geo import style
from geo.render import layers, panels
from geo.model import timeline
from geo.view import mapview as views
from geo.model.evidence import Filters


def state(month="2024-06", **kw):
    return records.MapState(date=timeline.month_end(month + "-01"), **kw)


def build(data, st):
    return views.build_view(data, records.prepare(data, st.filters), st)


def icon_rgb(layer: dict, key: str, edge: bool = False) -> tuple:
    """The colour an IconLayer stamps for `key`, read from its image: the centre (the fill) or
    the left rim (the outline)."""
    import base64
    import io
    from PIL import Image
    sheet = Image.open(io.BytesIO(base64.b64decode(layer["iconAtlas"].split(",", 1)[1]))).convert("RGBA")
    box = layer["iconMapping"][key]
    x = box["x"] + (2 if edge else box["width"] // 2)
    return tuple(sheet.getpixel((x, box["y"] + box["height"] // 2))[:3])


def near(a: tuple, b: tuple, tolerance: int = 6) -> bool:
    return all(abs(int(x) - int(y)) <= tolerance for x, y in zip(a, b))


def drawn_symbols(deck: dict, palette) -> set:
    """(symbol, colour, dashed, width class) of every record the deck's layers draw, read off the
    deck JSON itself, not the view."""
    out = set()
    for layer in deck["layers"]:
        name, data = layers.layer_name(layer["id"]), layer.get("data")
        rows = data["features"] if isinstance(data, dict) else data or []
        if name.endswith("-joints"):  # dots rounding the bends of lines counted below, in their colours
            continue
        if layer["@@type"] == "LineLayer":  # pieces are bare arrays: read them back through the accessors
            rows = layers.line_pieces(layer)
        for r in rows:
            props = r.get("properties", r)
            if name in ("routes", "routes-dashes"):  # solid legs; inferred legs cut into dashes
                hair = props["width"] <= style.NO_VOLUME_WIDTH * palette.line_scale
                out.add(("line", tuple(props["color"][:3]), name == "routes-dashes", "hairline" if hair else "sized"))
            elif name == "routes-range":
                out.add(("band", tuple(props["color"][:3]), False, ""))
            elif name == "flows":
                out.add(("arc", tuple(props["color"][:3]), False, ""))
            elif name == "railcars":  # the ring's outline, as stamped in the layer's own image
                out.add(("ring", icon_rgb(layer, props["icon"], edge=True), False, ""))
            elif name in ("strikes", "events"):
                out.add(("dot", icon_rgb(layer, props["icon"]), False, ""))
            elif name in ("front", "factories"):
                out.add(("area", tuple(props["line"][:3]), False, ""))
            elif name == "places":
                out.add(("marker", (255, 255, 255), False, ""))
    return out


@pytest.mark.parametrize("month,view,present", [("2023-10", "overview", False), ("2024-06", "tumen", False),
                                                ("2024-11", "front", True), ("2025-06", "rail", False)])
def test_the_legend_lists_exactly_what_the_deck_draws(data, month, view, present):
    st = state(month, view=view, present=present)
    v = build(data, st)
    basemap = layers.basemap_features(data.countries, None, style.palette(present))
    deck = json.loads(layers.deck_for(data, v, basemap).to_json())
    legend = {(e.symbol, tuple(e.rgb), e.dashed, e.width) for e in v.legend}
    drawn = drawn_symbols(deck, style.palette(present))
    # Stamped images hold their colours through a 16-colour palette: match within a few levels.
    matched = {next((l for l in legend if l[0] == d[0] and l[2:] == d[2:] and near(l[1], d[1])), d) for d in drawn}
    assert legend == matched, (legend ^ matched)
    html = panels.legend(v.legend)
    assert html.count("<li") == len(v.legend)


def test_the_legend_shows_each_arc_in_the_colour_it_is_drawn(data):
    v = build(data, state("2025-06", layers=("flows",)))
    arcs = {e.rgb: e.label for e in v.legend if e.symbol == "arc"}
    families = {f["family"] for f in v.features("flows")}
    assert len(arcs) == len(families) >= 2, arcs
    assert any("troops" in label for label in arcs.values())


def test_a_layer_that_is_off_has_no_legend_row(data):
    v = build(data, state("2025-06", layers=("basemap", "routes")))
    assert {e.symbol for e in v.legend} <= {"line", "band"}


def test_a_railcar_claim_at_an_unknown_place_is_left_out_with_a_notice(data):
    claims = data.claims.copy()
    row = claims[claims["metric"] == "railcars_observed_tumangang"].iloc[[0]].assign(
        id="X1", place_id="LOC_NOWHERE", source_file="sightings.csv")
    broken = data.__class__(**{**data.__dict__, "claims": pd.concat([claims, row], ignore_index=True)})
    v = build(broken, state("2025-06"))
    assert any("sightings.csv" in n and "X1" in n and "LOC_NOWHERE" in n for n in v.notices), v.notices
    assert all(r["place_id"] != "LOC_NOWHERE" for r in v.features("railcars"))


def dispute_across_bases(data):
    """A month, a headline claim and its basis, where every claimant disputing it used another basis."""
    for month in timeline.months("2023-01-01", "2025-11-30"):
        v = build(data, state(month))
        for c in (c for rows in v.headline.values() for c in rows if c["disputed"]):
            row = data.claims.set_index("id").loc[c["id"]]
            others = timeline.disputants(data.claims, dict(row, id=c["id"]), timeline.month_end(month + "-01"))
            bases = set(data.claims.loc[data.claims["claimant"].isin(others), "basis"])
            if row["basis"] not in bases:
                return month, c["id"], row["basis"]
    pytest.fail("the data holds no dispute between claims of different bases")


def test_filters_never_hide_a_dispute(data):
    """The ⚠ mark reflects every claimant; the one the filters hide is named."""
    month, claim_id, basis = dispute_across_bases(data)
    filtered = build(data, state(month, filters=Filters(bases=(basis,))))
    same = next(c for rows in filtered.headline.values() for c in rows if c["id"] == claim_id)
    assert same["disputed"], "filtering out the other claimant must not make the figure look settled"
    assert same["hidden_disputants"], "the panel names who disputes it"
    assert "hidden by the filters" in panels.headline_panel(filtered.headline)


def test_a_click_on_an_area_reads_its_fields_from_properties():
    picked = views.picked_feature({"type": "Feature", "properties": {"kind": "area", "feature_id": "A1",
                                                                     "place_id": "LOC_KURSK", "name": "Salient"}})
    assert picked["kind"] == "area" and picked["feature_id"] == "A1"
    assert views.picked_feature({"kind": "route", "feature_id": "L1"})["feature_id"] == "L1"
    assert views.picked_feature({"name": "no kind"}) is None


def test_each_shape_of_an_analyst_s_features_has_its_own_legend_row_drawn_as_shown(tmp_path):
    """An imported dated point (an event) is a solid dot and says so; an undated point a ring; a
    line a line; an area an area: the legend rows and the map's fills agree, through the workspace."""
    from geo.imports import importer
    from geo.store import workspace
    from geo.view import legend, overlay
    ws = workspace.Workspace(tmp_path / "ws.sqlite")
    doc = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"name": "shelling", "date": "2024-05-03"},
         "geometry": {"type": "Point", "coordinates": [37.6, 50.6]}},
        {"type": "Feature", "properties": {"name": "depot"}, "geometry": {"type": "Point", "coordinates": [100.5, 47.5]}},
        {"type": "Feature", "properties": {"name": "spur"},
         "geometry": {"type": "LineString", "coordinates": [[130.0, 42.0], [131.0, 43.0]]}},
        {"type": "Feature", "properties": {"name": "yard"},
         "geometry": {"type": "Polygon", "coordinates": [[[120, 40], [121, 40], [121, 41], [120, 40]]]}}]}
    ws.add(importer.read_file(json.dumps(doc).encode(), filename="mine.geojson", kind="generic"))
    state = records.MapState(date=pd.Timestamp("2024-06-30"), view="overview", layers=("imported",))
    shown = overlay.visible(ws.snapshot(), state, track_paths=False)
    rows = {e.label: e.symbol for e in legend.workspace_entries(shown)}
    assert rows == {"imported dated point (your files)": "dot", "imported point (your files)": "ring",
                    "imported line (your files)": "line", "imported area (your files)": "area"}
    fills = {f["properties"]["name"]: f["properties"]["fill"][3]
             for f in overlay.feature_collection(shown["imported"], overlay.IMPORTED_RGB, "imported")["features"]}
    assert fills["shelling"] == overlay.DATED_POINT_ALPHA and fills["depot"] == 0 and fills["yard"] > 0
    html = panels.legend(legend.workspace_entries(shown))
    assert "Larger dots" not in html, "an analyst's dots are not sized by the month"


def test_the_legend_of_a_fitted_map_lists_only_what_is_drawn_inside_it(data):
    """S5 (missiles at the front) drew the Kursk front areas and the Tikhoretsk drone strike off its
    map: its legend must list neither, and call the strikes it shows missile strikes."""
    from geo.model import timeline
    from geo.render import layers
    from geo.view import MapState, records, view_for
    scene = data.scenes.set_index("id").loc["S5"]
    state = MapState(date=timeline.month_end(scene["date"]), view=scene["view"], layers=tuple(scene["layers"]),
                     present=True, focus=records.scene_focus(data.areas, scene))
    view = view_for(data, None, state, track_paths=False)
    whole = [e.label for e in view.legend]
    assert "front area (approx.)" in whole and "missile or drone strike" in whole
    shown = [e.label for e in layers.visible_legend(data, view, style.PRESENTER_MAP)]
    assert "front area (approx.)" not in shown and "missile or drone strike" not in shown
    assert {"missile strike", "place"} <= set(shown)
    # Over open sea nothing of the view is drawn, and nothing is listed.
    from geo.view.mapview import legend_within
    assert legend_within(view, (-40.0, 30.0, -39.0, 31.0)) == []
    assert legend_within(view, None) == view.legend


def test_the_imported_tracks_row_stays_while_a_position_by_the_date_lies_inside_the_map():
    from types import SimpleNamespace
    from geo.view import MapState
    from geo.view.legend import LegendEntry
    from geo.view.mapview import MapView, legend_within
    from geo.view.overlay import TRACK_RGB
    track = LegendEntry("line", TRACK_RGB, "imported track", width="sized")
    positions = pd.DataFrame({"track_id": ["1", "1"], "lon": [131.0, 131.1], "lat": [42.0, 42.1],
                              "t": pd.to_datetime(["2024-06-10", "2024-07-10"])})
    view = MapView(MapState(date=pd.Timestamp("2024-06-30"), layers=("tracks",)), {}, [track], {},
                   snapshot=SimpleNamespace(tracks=positions))
    assert legend_within(view, (130.0, 41.0, 132.0, 43.0)) == [track]
    assert legend_within(view, (20.0, 40.0, 40.0, 55.0)) == [], "every position lies outside the map"
    view.state = MapState(date=pd.Timestamp("2024-05-31"), layers=("tracks",))
    assert legend_within(view, (130.0, 41.0, 132.0, 43.0)) == [], "no position by the date"
