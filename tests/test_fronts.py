"""An imported front snapshot dated in the month shown replaces the hand-drawn front areas on the
map, in the exports and in the legend; outside that month the approximate areas stay, dashed."""
import json

import pytest

import sample_files as sf
from geo.view import records, view_for
from geo.export import formats as export
from geo.render import layers
from geo.model import timeline
from geo.imports.importer import read_file
from geo.store.workspace import Workspace

LAYERS = ("basemap", "front", "imported")


@pytest.fixture(scope="module")
def snapshot(tmp_path_factory):
    folder = tmp_path_factory.mktemp("fronts")
    ws = Workspace(folder / "workspace.sqlite")
    ws.add(read_file(sf.front_geojson(folder / "front.geojson", "2024-12-05")))
    return ws.snapshot()


def view_of(data, month, snapshot):
    st = records.MapState(date=timeline.month_end(month + "-01"), layers=LAYERS, view="front")
    return st, view_for(data, snapshot, st)


def test_a_snapshot_of_the_month_replaces_the_approximate_areas(data, snapshot):
    st, view = view_of(data, "2024-12", snapshot)
    labels = [e.label for e in view.legend]
    assert view.features("front") == []
    assert "front area (approx.)" not in labels
    assert "imported front line of 2024-12-05, in place of the approximate front areas" in labels
    deck = json.loads(export.export_deck(data, st, {"type": "FeatureCollection", "features": []}, snapshot).to_json())
    assert not [l for l in deck["layers"] if layers.layer_name(l["id"]) == "front" and l["data"]]
    assert "front" not in set(export.view_features(data, st, snapshot)["layer"])


def test_in_a_later_month_the_approximate_areas_show_dashed(data, snapshot):
    st, view = view_of(data, "2025-01", snapshot)
    labels = [e.label for e in view.legend]
    assert view.features("front") and "front area (approx.)" in labels and "imported front line" in labels
    spec = json.loads(layers.deck_for(data, view, {"type": "FeatureCollection", "features": []}).to_json())
    outline = next(l for l in spec["layers"] if layers.layer_name(l["id"]) == "front-lines")
    pieces = layers.line_pieces(outline)
    rings = sum(len(r) for f in view.records["front"]["features"]
                for r in ([f["geometry"]["coordinates"]] if f["geometry"]["type"] == "Polygon"
                          else f["geometry"]["coordinates"]))
    assert len(pieces) > 3 * rings, "the outline is cut into dashes"
