"""What one map state shows, worked out once and rendered by everything else.

`build_view` turns the dataset (ranked once by geo.layers.prepare), the workspace content
on display and a MapState into a MapView: the records each layer draws, the legend of
what those records actually look like, the headline figures, and notices about data that
could not be placed. The deck (geo.layers.deck_for), the side panels, the charts and every
export render that one object, so they cannot disagree about what the view shows.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from geo import fronts, style, timeline
from geo.evidence import headline
from geo.state import SELECTION_KINDS
from geo.layers import (PRESENTER_STRIKES, MapState, Prepared, area_features, event_records, flow_records, railcar_records,
                        route_records)

FAMILY_LABELS = {"munitions": "munitions", "missiles": "missiles", "troops": "troops", "money": "money",
                 "rail": "rail", "sea": "sea", "industry": "industry", "reverse": "goods to North Korea"}


@dataclass(frozen=True)
class LegendEntry:
    """One symbol the map draws: its shape, colour, dash and width class, and what it means."""

    symbol: str  # line, band, arc, ring, dot, marker, area
    rgb: tuple[int, int, int]
    label: str
    dashed: bool = False
    width: str = ""  # line widths: "hairline" (no reported volume) or "sized" (by volume)
    as_of: str = ""  # an imported front snapshot's date (geo.fronts)


@dataclass
class MapView:
    state: MapState
    records: dict[str, object]  # layer id -> list of records, or a FeatureCollection for areas
    legend: list[LegendEntry]
    headline: dict[str, list[dict]]
    notices: list[str] = field(default_factory=list)
    railcar_radii: tuple[float, ...] = ()  # of every sighting any date shows: the markers' image holds them all

    def features(self, layer_id: str) -> list[dict]:
        """A layer's records as a flat list (area FeatureCollections give their properties)."""
        rows = self.records.get(layer_id, [])
        if isinstance(rows, dict):
            return [f["properties"] for f in rows.get("features", [])]
        return list(rows)


def build_view(data, prepared: Prepared, state: MapState, extra_legend: list[LegendEntry] = ()) -> MapView:
    """The view of `state`. `extra_legend` describes layers drawn from the workspace."""
    palette = style.palette(state.present)
    notices: list[str] = []
    builders = {
        "routes": lambda: route_records(prepared, state, palette),
        "flows": lambda: flow_records(prepared, state, palette),
        "railcars": lambda: railcar_records(prepared, state, notices),
        "events": lambda: event_records(prepared, state, strikes=False),
        "strikes": lambda: event_records(prepared, state, strikes=True),
        "front": lambda: area_features(prepared, "front", state, style.OKABE_ITO["blue"]),
        "factories": lambda: area_features(prepared, "factory_region", state, style.OKABE_ITO["orange"]),
    }
    records = {layer_id: build() for layer_id, build in builders.items() if layer_id in state.layers}
    replacing = fronts.replacing(state, extra_legend)
    if replacing is not None and "front" in records:  # an imported snapshot of the month stands in for them
        records["front"] = fronts.NO_AREAS
    figures = headline(prepared.claims, state.date, state.mode, prepared.standing_for(state.group_by),
                       state.group_by, prepared.all_claims)
    if state.topic in figures:  # a scene's topic leads the headline
        figures = {state.topic: figures[state.topic]} | {k: v for k, v in figures.items() if k != state.topic}
    if state.present:  # across a room, the strikes must stand out from the places
        for r in records.get("strikes", []):
            r["radius"] = round(r["radius"] * PRESENTER_STRIKES, 1)
    view = MapView(state, records, [], figures, notices, prepared.railcar_radii)
    view.legend = legend_entries(view, palette) + fronts.legend(extra_legend, replacing)
    return view


def legend_entries(view: MapView, palette: style.Palette) -> list[LegendEntry]:
    """Exactly the symbols the view's records are drawn with, in drawing order, nothing else."""
    entries: list[LegendEntry] = []

    def add(entry: LegendEntry):
        if entry not in entries:
            entries.append(entry)

    routes = view.features("routes")
    for r in sorted(routes, key=lambda r: (r["mode"], r["status"] != "reported", not r["has_volume"])):
        words = [r["mode"]] + ([] if r["status"] == "reported" else ["inferred routing"]) + \
                ([] if r["has_volume"] else ["no volume yet"])
        add(LegendEntry("line", tuple(r["color"][:3]), ", ".join(words), dashed=r["status"] != "reported",
                        width="sized" if r["has_volume"] else "hairline"))
    for r in routes:
        if r["width_high"] > r["width"]:
            add(LegendEntry("band", tuple(r["band_color"][:3]), f"{r['mode']}: highest claim"))
    for f in view.features("flows"):
        add(LegendEntry("arc", tuple(f["color"][:3]),
                        f"arc: {FAMILY_LABELS.get(f['family'], f['family'])} flow"))
    if view.features("railcars"):
        add(LegendEntry("ring", tuple(palette.mode["rail"]), "railcars in imagery"))
    strikes = view.features("strikes")
    if strikes:
        add(LegendEntry("dot", style.OKABE_ITO["vermillion"], "missile strike"))
    if view.features("events"):
        add(LegendEntry("dot", style.OKABE_ITO["yellow"], "other event"))
    if view.features("factories"):
        add(LegendEntry("area", style.OKABE_ITO["orange"], "factory region (approx.)"))
    if view.features("front"):
        add(LegendEntry("area", style.OKABE_ITO["blue"], "front area (approx.)"))
    if "places" in view.state.layers:
        add(LegendEntry("marker", (255, 255, 255), "place"))
    return entries


def selection_place(data, kind: str, feature_id: str) -> str:
    """The place a bundled feature stands at, for the claims and events tied to it ('' if none)."""
    tables = {"place": (data.places, "id"), "strike": (data.events, "place_id"), "event": (data.events, "place_id"),
              "area": (data.areas, "place_id"), "railcars": (data.claims, "place_id")}
    if kind not in tables:
        return ""
    frame, column = tables[kind]
    rows = frame.loc[frame["id"] == feature_id, column]
    return str(rows.iloc[0]) if len(rows) and pd.notna(rows.iloc[0]) else ""


def picked_feature(obj: dict | None) -> dict | None:
    """The clicked object's fields, wherever the layer keeps them: GeoJSON features carry
    them under `properties`, plain records at the top level."""
    if not obj:
        return None
    props = obj.get("properties") if isinstance(obj.get("properties"), dict) else obj
    if props.get("kind") not in SELECTION_KINDS or not props.get("feature_id"):
        return None
    return {k: str(props.get(k, "") or "") for k in ("kind", "feature_id", "place_id", "name", "detail", "when")}


def selected_evidence(data, snapshot, sel: dict, state: MapState):
    """The evidence panel's content for a selection {kind, feature_id}, from the bundled data or
    the workspace; None when the feature cannot be found (a stale link, a removed batch)."""
    from geo.evidence import Evidence, evidence_for

    kind, feature_id = sel["kind"], sel["feature_id"]
    if kind == "imported":
        if snapshot is None or not feature_id.startswith("ws"):
            return None
        rows = snapshot.features[snapshot.features["feature_id"].astype(str) == feature_id[2:]]
        if rows.empty:
            return None
        row = rows.iloc[0]
        from geo.imported import describe
        when = pd.to_datetime(row.get("date"), errors="coerce")
        return Evidence(title=str(row.get("name") or row.get("source_file") or feature_id),
                        description=f"{describe(row)} {'' if pd.isna(when) else f'{when:%Y-%m-%d}'}".strip())
    if kind == "track":
        if snapshot is None or snapshot.tracks is None or not len(snapshot.tracks):
            return Evidence(title=sel.get("name") or feature_id, description=sel.get("detail", "")) \
                if sel.get("name") else None
        points = snapshot.tracks[snapshot.tracks["track_id"].astype(str) == feature_id]
        if points.empty:
            return None
        until = points[points["t"] <= timeline.as_timestamp(state.date) + pd.Timedelta(days=1)]
        return Evidence(title=str(points["name"].iloc[0]),
                        description=f"imported track: {len(until):,} of {len(points):,} position(s) by this date, "
                                    f"{points['t'].min():%Y-%m-%d} to {points['t'].max():%Y-%m-%d}")
    tables = {"route": data.routes, "flow": data.flows, "place": data.places, "area": data.areas,
              "strike": data.events, "event": data.events, "railcars": data.claims}
    if not (tables[kind]["id"] == feature_id).any():
        return None
    return evidence_for(data, kind, feature_id, selection_place(data, kind, feature_id), state.date, state.filters)
