"""The selected feature on the map, drawn from the page's state rather than the browser's memory.

Streamlit's map remembers the last clicked object per layer id and dims everything else until
that object is clicked away; the page's own selection (`sel`, in the link) may close (Esc, ✕, a
scene step) while the browser still holds it. Two things keep the map true to `sel`:

- `fresh_ids`: after a selection closes, the pickable layers take new ids (`routes-hit~3`), and
  the browser drops a selection whose layer is gone, with its dimming. Only a close changes them,
  so a date step redraws nothing more than before.
- `marked`: the selected feature is outlined by a layer of its own, under the lines and over the
  basemap, so a copied link with a selection reopens with the feature marked.
"""
from __future__ import annotations

import copy
import re

import pydeck as pdk

from geo.render.layers import FrozenLayer

MARK_RGBA = [255, 196, 0, 200]  # a glow the legs' and arcs' colours do not use
RING_RGBA = [20, 20, 20, 255]


def pickable(layer) -> bool:
    if isinstance(layer, FrozenLayer):
        return '"pickable":true' in layer.json
    return bool(getattr(layer, "pickable", False))


def renamed(layer, epoch: int):
    """A copy of `layer` whose id ends in ~epoch."""
    if isinstance(layer, FrozenLayer):
        out = copy.copy(layer)
        out.json = re.sub(r'"id":"([^"]*)"', lambda m: f'"id":"{m.group(1)}~{epoch}"', layer.json, count=1)
        return out
    out = copy.copy(layer)
    out.id = f"{layer.id}~{epoch}"
    return out


def fresh_ids(deck, epoch: int):
    """`deck` with its pickable layers renamed for selection `epoch` (0: as they are)."""
    if epoch:
        deck.layers = [renamed(l, epoch) if pickable(l) else l for l in deck.layers]
    return deck


def mark_layers(view, sel: dict | None) -> list[pdk.Layer]:
    """The outline of the selected feature in this view, or nothing (no selection, or not drawn)."""
    if not sel:
        return []
    kind, fid = sel.get("kind"), sel.get("feature_id")
    for layer_id in ("routes", "flows"):
        for r in view.features(layer_id):
            if r["kind"] == kind and r["feature_id"] == fid:
                return [pdk.Layer("PathLayer", id="selected-line", data=[{"path": r["path"]}], get_path="path",
                                  get_color=MARK_RGBA, get_width=float(r["width"]) + 8, width_units="'pixels'",
                                  cap_rounded=True, joint_rounded=True, pickable=False)]
    for layer_id in ("railcars", "strikes", "events"):
        for r in view.features(layer_id):
            if r["kind"] == kind and r["feature_id"] == fid:
                return [ring([r["position"]], float(r.get("radius", 8)) + 5)]
    for layer_id in ("factories", "front"):
        for f in view.records.get(layer_id, {}).get("features", []) if layer_id in view.records else []:
            if f["properties"]["feature_id"] == fid and kind == "area":
                return [pdk.Layer("GeoJsonLayer", id="selected-area", data={"type": "FeatureCollection",
                                                                             "features": [f]},
                                  stroked=True, filled=False, get_line_color=MARK_RGBA, line_width_units="'pixels'",
                                  get_line_width=6, pickable=False)]
    if kind == "detection":  # a detection in the imported tracks: its marker ringed, or its gap glowing
        shown = view.shown.get("detections")
        rows = shown[shown["id"] == fid] if shown is not None and len(shown) else ()
        if len(rows):
            d = rows.iloc[0]
            if d["kind"] == "gap" and d["end_lon"] == d["end_lon"]:
                return [pdk.Layer("PathLayer", id="selected-line", get_path="path", get_color=MARK_RGBA, get_width=10,
                                  data=[{"path": [[float(d["lon"]), float(d["lat"])],
                                                  [float(d["end_lon"]), float(d["end_lat"])]]}],
                                  width_units="'pixels'", cap_rounded=True, pickable=False)]
            return [ring([[float(d["lon"]), float(d["lat"])]], 12)]
    if kind == "place" and "places" in view.state.layers:
        rows = view.data.places[view.data.places["id"] == fid]
        if len(rows):
            return [ring([[float(rows.iloc[0]["lon"]), float(rows.iloc[0]["lat"])]], 11)]
    return []


def ring(positions, radius: float) -> pdk.Layer:
    return pdk.Layer("ScatterplotLayer", id="selected-point", data=[{"p": p} for p in positions], get_position="p",
                     get_radius=radius, radius_units="'pixels'", stroked=True, filled=False, line_width_units="'pixels'",
                     get_line_width=4, get_line_color=MARK_RGBA, pickable=False)


def marked(deck, view, sel: dict | None, epoch: int):
    """`deck` with the selection outlined (under the first pickable layer) and fresh ids after a close."""
    extra = mark_layers(view, sel)
    fresh_ids(deck, epoch)
    if extra:
        at = next((i for i, l in enumerate(deck.layers) if pickable(l)), len(deck.layers))
        deck.layers = deck.layers[:at] + extra + deck.layers[at:]
    return deck
