"""What one map state shows, worked out once and rendered by everything else.

`build_view` turns the dataset (ranked once by geo.view.records.prepare), the workspace content
on display and a MapState into a MapView: the records each layer draws, the legend of
what those records actually look like, the headline figures, and notices about data that
could not be placed. The deck (geo.render.layers.deck_for), the side panels, the charts and every
export render that one object, so they cannot disagree about what the view shows.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field, replace

import pandas as pd
import shapely

from geo import style
from geo.model import timeline
from geo.model.evidence import Evidence, claim_row, evidence_for, headline, voyages_along
from geo.data.schema import SELECTION_KINDS
from geo.ships import registry as vessel_registry
from geo.store.workspace import Snapshot
from geo.view import fronts, imagery, overlay, ships
from geo.view.claims_table import totals_evidence
from geo.view.legend import (LegendEntry, frame_within, legend_entries, records_within, same_symbol,
                             workspace_entries)
from geo.view.records import (PRESENTER_STRIKES, MapState, Prepared, area_features, event_records, flow_records,
                              prepare, railcar_records, route_records)





@dataclass
class MapView:
    """What one state shows: every layer's records, the legend of exactly those symbols, the
    headline figures, notices, and what they were built from (the dataset with the workspace's
    claims joined in, its ranking, the workspace content on display)."""

    state: MapState
    records: dict[str, object]  # layer id -> list of records, or a FeatureCollection for areas
    legend: list[LegendEntry]
    headline: dict[str, list[dict]]
    notices: list[str] = field(default_factory=list)
    railcar_radii: tuple[float, ...] = ()  # of every sighting any date shows: the markers' image holds them all
    data: object = None  # the Dataset, with imported claims when the workspace is shown
    prepared: Prepared | None = None
    snapshot: Snapshot | None = None
    shown: dict = field(default_factory=dict)  # workspace layer id -> the frame it draws (geo.view.overlay)
    images: pd.DataFrame | None = None  # imported images drawn (geo.view.imagery.shown), oldest first
    imagery: object = None  # the workspace's images (geo.view.imagery.Imagery), for their bytes
    detections: pd.DataFrame | None = None  # every detection in the imported tracks (geo.view.ships.prepared)
    ship_params: object = None  # the parameters they were found with
    ship_coverage: tuple | None = None  # (first, last) time of the imported positions they were found in

    def features(self, layer_id: str) -> list[dict]:
        """A layer's records as a flat list (area FeatureCollections give their properties)."""
        rows = self.records.get(layer_id, [])
        if isinstance(rows, dict):
            return [f["properties"] for f in rows.get("features", [])]
        return list(rows)

    def claims_known_all(self) -> pd.DataFrame:
        """Every claim, bundled and imported, under the filters (the vessel card picks those known by the date)."""
        return self.prepared.claims if self.prepared is not None else pd.DataFrame()

    def claims_known(self) -> pd.DataFrame:
        """Claims published by the date (in period mode: within its month), after the filters,
        bundled and imported alike: the claims the exports list."""
        known = timeline.known_claims(self.prepared.claims, self.state.date, self.state.mode)
        if "source_file" not in known.columns:  # no workspace claims joined: every claim is bundled
            known = known.assign(source_file="")
        return known.sort_values(["metric", "as_of_date", "claimant", "id"]).reset_index(drop=True)


def build_view(data, prepared: Prepared, state: MapState, extra_legend: list[LegendEntry] = ()) -> MapView:
    """The bundled layers of `state` from a ranking (`prepared`); `extra_legend` describes layers
    drawn from the workspace. view_for is the one entry everything else calls."""
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
    view = MapView(state, records, [], figures, notices, prepared.railcar_radii, data=data, prepared=prepared)
    view.legend = legend_entries(view, palette) + fronts.legend(extra_legend, replacing)
    return view


# Rankings are kept per dataset, workspace version and filter set: a date step only selects and
# formats. Shared by every session of a server (all read-only), so a lock guards the dict alone.
PREPARED_ENTRIES = 8
_prepared: OrderedDict = OrderedDict()
_prepared_lock = threading.Lock()


def claims_version(snapshot: Snapshot | None, state: MapState) -> str:
    """Which workspace claims the view joins: none unless the workspace's layer is shown."""
    if snapshot is None or "imported" not in state.layers or not (snapshot.features["kind"] == "claims").any():
        return ""
    return snapshot.version


def prepared_for(data, snapshot: Snapshot | None, state: MapState) -> tuple[object, Prepared]:
    """The dataset with the workspace's claims joined in (when shown), and its ranking."""
    version = claims_version(snapshot, state)
    key = (id(data), data.version, version, state.filters)
    with _prepared_lock:
        hit = _prepared.get(key)
        if hit is not None and hit[0] is data:
            _prepared.move_to_end(key)
            return hit[1], hit[2]
    merged = replace(data, claims=overlay.with_imported_claims(data, snapshot)) if version else data
    ranked = prepare(merged, state.filters)
    with _prepared_lock:
        _prepared[key] = (data, merged, ranked)
        while len(_prepared) > PREPARED_ENTRIES:
            _prepared.popitem(last=False)
    return merged, ranked


def view_for(data, snapshot: Snapshot | None, state: MapState, track_paths: bool = True,
             images: "imagery.Imagery | None" = None, image_mode: str = imagery.MONTH,
             detections: pd.DataFrame | None = None, ship_params=None, has_tracks: bool | None = None,
             ship_coverage: tuple | None = None) -> MapView:
    """What `state` shows, bundled data and the analyst's workspace together: the one answer the
    page, the command line's exports, the slides and the video all render. The live page passes
    `track_paths=False`: it draws tracks through geo.render.tracks' bounded layers instead.
    `images` (geo.view.imagery) are drawn when the `images` layer is on: those of the month,
    or with `image_mode` LATEST each place's latest image by the date.
    `detections` (geo.view.ships.prepared, found with `ship_params`) are drawn for the month when
    the `detections` layer is on; `has_tracks` says whether the live map draws tracks (by default,
    whether the snapshot holds any)."""
    merged, ranked = prepared_for(data, snapshot, state)
    shown = overlay.visible(snapshot, state, track_paths)
    if detections is not None and "detections" in state.layers:
        shown["detections"] = ships.on_date(detections, state.date, state.mode)
        month = len(ships.in_month(detections, state.date))
        more = month - len(shown["detections"])
    entries = workspace_entries(shown) + ships.legend_entries(shown.get("detections"))
    if has_tracks is None:
        has_tracks = snapshot is not None and len(snapshot.tracks) > 0
    if not track_paths and "tracks" in state.layers and has_tracks:
        entries.append(LegendEntry("line", overlay.TRACK_RGB, "imported track", width="sized"))
    view = build_view(merged, ranked, state, entries)
    view.snapshot, view.shown = snapshot, shown
    view.imagery = images
    view.images = imagery.shown(images if "images" in state.layers else None, state.date, image_mode)
    view.legend += [LegendEntry("image", imagery.IMAGE_RGB, imagery.credit(r)) for _, r in view.images.iterrows()]
    view.detections, view.ship_params, view.ship_coverage = detections, ship_params, ship_coverage
    if "detections" in shown and more > 0:
        view.notices.append(f"{month:,} detections in your tracks this month: the map draws the latest "
                            f"{len(shown['detections']):,}.")
    front = shown.get("imported-front")
    if front is not None and len(front):
        view.notices.insert(0, f"Imported front line as of {front['as_of'].max():%d %B %Y}, from "
                               f"{', '.join(sorted(set(front['source_file'])))}.")
    return view


def legend_within(view: MapView, box) -> list[LegendEntry]:
    """The legend of the symbols `view` draws inside `box` (lon0, lat0, lon1, lat1: the map's extent
    on screen, geo.render.layers.visible_box), in the legend's order and words (a missile strike is
    no "missile or drone strike" where the drone strike lies outside): a symbol whose every feature
    lies outside the map, bundled or imported, is not listed. None: the whole view's legend."""
    if box is None:
        return list(view.legend)
    area = shapely.box(*box)
    drawn = legend_entries(replace(view, records=records_within(view.records, area)),
                           style.palette(view.state.present))
    places = view.data.places if view.data is not None else None
    if places is not None and not shapely.intersects(shapely.points(places["lon"], places["lat"]), area).any():
        drawn = [e for e in drawn if e.symbol != "marker"]
    shown = {k: frame_within(v, area) for k, v in view.shown.items()}
    extra = workspace_entries(shown) + ships.legend_entries(shown.get("detections"))
    track = LegendEntry("line", overlay.TRACK_RGB, "imported track", width="sized")
    if track in view.legend and track not in extra:  # the live map's tracks (geo.render.tracks): any position by the date
        tracks = view.snapshot.tracks if view.snapshot is not None else None
        # No track points but a track row: streamed AIS batches, which the map reads from the
        # positions store for its own window and box (geo.page.ships.window_tracks), so they are in.
        streamed = tracks is None or tracks.empty
        if not streamed and "t" in tracks.columns:
            tracks = tracks[tracks["t"] < timeline.track_window(view.state.date, None)[1]]
        if streamed or len(frame_within(tracks, area)):
            extra.append(track)
    # The images' credits as the view words them (a swiped pair's own included), less those whose
    # every image of the month lies outside the map.
    inside, outside = set(), set()
    if view.images is not None and len(view.images) and "footprint" in view.images.columns:
        for _, r in view.images.iterrows():
            seen = r["footprint"] is not None and r["footprint"].intersects(area)
            (inside if seen else outside).add(imagery.credit(r))
    extra += [e for e in view.legend if e.symbol == "image" and (e.label in inside or e.label not in outside)]
    worded = {same_symbol(e): e for e in view.legend}  # an imported front's row as the whole view words it
    return drawn + [worded.get(same_symbol(e), e) for e in extra]


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
    kind, feature_id = sel["kind"], sel["feature_id"]
    if kind == "imported":
        if snapshot is None or not feature_id.startswith("ws"):
            return None
        rows = snapshot.features[snapshot.features["feature_id"].astype(str) == feature_id[2:]]
        if rows.empty:
            return None
        row = rows.iloc[0]
        when = pd.to_datetime(row.get("date"), errors="coerce")
        return Evidence(title=str(row.get("name") or row.get("source_file") or feature_id),
                        description=f"{overlay.describe(row)} {'' if pd.isna(when) else f'{when:%Y-%m-%d}'}".strip())
    if kind == "track":
        if snapshot is None or snapshot.tracks is None or not len(snapshot.tracks):
            return Evidence(title=sel.get("name") or feature_id, description=sel.get("detail", "")) \
                if sel.get("name") else None
        points = snapshot.tracks[snapshot.tracks["track_id"].astype(str) == feature_id]
        if points.empty:
            return None
        until = points[points["t"] < timeline.track_window(state.date, None)[1]]
        return Evidence(title=str(points["name"].iloc[0]),
                        description=f"imported track: {len(until):,} of {len(points):,} position(s) by this date, "
                                    f"{points['t'].min():%Y-%m-%d} to {points['t'].max():%Y-%m-%d}")
    tables = {"route": data.routes, "flow": data.flows, "place": data.places, "area": data.areas,
              "strike": data.events, "event": data.events, "railcars": data.claims}
    if not (tables[kind]["id"] == feature_id).any():
        return None
    return evidence_for(data, kind, feature_id, selection_place(data, kind, feature_id), state.date, state.filters)


def streamed_track_evidence(summary: dict) -> Evidence:
    """The panel of a vessel track only the positions store holds (geo.page.ships.streamed_vessel)."""
    last = summary["last_by_date"]
    return Evidence(
        title=summary["name"] or f"MMSI {summary['mmsi']}",
        description=(f"imported AIS track (MMSI {summary['mmsi']}, from {', '.join(summary['files'])}): "
                     f"{summary['positions_by_date']:,} of {summary['positions']:,} position(s) by this date"
                     + (f", last {last:%Y-%m-%d %H:%M} UTC" if last is not None else "")
                     + f"; all positions {summary['first']:%Y-%m-%d} to {summary['last']:%Y-%m-%d}"))


def evidence(view: MapView, sel: dict, points: pd.DataFrame | None = None, near_legs=None,
             streamed: dict | None = None):
    """The evidence panel of a selection in this view: selected_evidence, plus for a leg the
    imported voyages along it up to the date (`near_legs` from tracks_near_legs of `points`); for
    the national totals (sel totals:national), the claims no drawn feature stands for; for a
    detection in the imported tracks, its rule and positions; for a track only the positions store
    holds, its summary (`streamed`, geo.page.ships.streamed_vessel); for a vessel (sel vessel:imo:N or
    vessel:mmsi:N), its card: identity from the bundled registry, sanctions from it and from the
    workspace's imported lists (kind vessels).
    Beside a claim that counts calls or voyages, what the imported tracks give (ships.derived_for)."""
    if sel["kind"] == "totals":
        return totals_evidence(view)
    if sel["kind"] == "image":
        return image_evidence(view, sel["feature_id"])
    if sel["kind"] == "detection":
        return ships.detection_evidence(view.detections, sel["feature_id"], view.ship_params)
    if sel["kind"] == "vessel":
        return ships.vessel_evidence(sel["feature_id"], view.detections, view.claims_known_all(), view.state.date,
                                     vessel_registry.bundled_registry(),
                                     view.snapshot.features if view.snapshot is not None else None)
    tracks = view.snapshot.tracks if view.snapshot is not None else None
    if streamed is not None and sel["kind"] == "track" and (
            tracks is None or not (tracks["track_id"].astype(str) == sel["feature_id"]).any()):
        found = streamed_track_evidence(streamed)  # the positions store's own count, not the click's
    else:
        found = selected_evidence(view.data, view.snapshot, sel, view.state)
    if found is not None and sel["kind"] == "route" and points is not None and len(points) and near_legs is not None:
        names = points.drop_duplicates("track_id").set_index("track_id")["name"].to_dict()
        found.voyages = voyages_along(near_legs, names, sel["feature_id"], view.state.date)
    if found is not None and sel["kind"] == "track" and ships.MMSI.fullmatch(sel["feature_id"]):
        found.vessels = [{"key": ships.vessel_key(mmsi=sel["feature_id"]), "name": found.title}]
    if found is not None and found.claims and view.detections is not None:
        found.derived = ships.derived_for(view.data, found.claims, view.detections, view.state.date,
                                          view.ship_coverage)
    if found is not None and sel["kind"] == "place":
        with_imported_under(view, found, sel["feature_id"])
    if found is not None:
        with_images(view, found, sel)
    return found


def with_imported_under(view: MapView, found: Evidence, place_id: str) -> None:
    """A place's marker is drawn over the analyst's own features: its panel lists those drawn within
    overlay.NEAR_KM of it, each with a button to its own panel (`opens`), so a point imported at a
    bundled place is never hidden by it."""
    place = view.data.places[view.data.places["id"] == place_id]
    if place.empty:
        return
    near = overlay.features_near(view.shown.get("imported"), float(place["lon"].iloc[0]), float(place["lat"].iloc[0]))
    if near:
        found.sections.append((f"Your files: {len(near)} feature(s) within {overlay.NEAR_KM:g} km of this place",
                               [f["line"] for f in near]))
        found.opens = [{"sel": f["sel"], "name": f["name"]} for f in near]


def image_places(view: MapView, image_id=None) -> list[dict]:
    """Places with images (of image `image_id`, or of any): id, name and how many images hold them."""
    inside = imagery.places_in(view.imagery, view.data.places, image_id)
    if image_id is not None:  # how many images each of these places has in all
        inside = imagery.places_in(view.imagery, view.data.places[view.data.places["id"].isin(inside["id"])])
    return [{"id": r.id, "name": r.name, "images": int(r.images)} for r in inside.itertuples()]


def with_images(view: MapView, found: Evidence, sel: dict) -> None:
    """The images a selection's claims name (thumbnails), and for a place, its series of images."""
    if view.imagery is None or not len(view.imagery):
        return
    names = {n.strip() for c in found.claims for n in str(c.get("images", "")).split(";") if n.strip()}
    meta = view.imagery.meta
    found.images = [image_item(r) for _, r in meta[meta["name"].isin(names) | meta["file"].isin(names)].iterrows()]
    if sel["kind"] == "place":
        found.image_places = [p for p in image_places(view) if p["id"] == sel["feature_id"]]


def image_item(r) -> dict:
    return {"id": int(r["id"]), "name": str(r["name"]), "date": f"{pd.Timestamp(r['date']):%Y-%m-%d}",
            "credit": imagery.credit(r), "level": imagery.thumb_level(r["levels"])}


def image_evidence(view: MapView, feature_id: str) -> Evidence | None:
    """An image's panel: its date, source and licence, its thumbnail, the claims that name it
    (known by the date) and the places it shows, each with its series."""
    if view.imagery is None or not feature_id.startswith("img"):
        return None
    r = view.imagery.row(feature_id[3:])
    if r is None:
        return None
    known = timeline.known_claims(view.prepared.claims, view.state.date)
    named = imagery.claims_pointing_at(known, r["name"], r["file"]).sort_values(["metric", "as_of_date", "claimant", "id"])
    when = pd.Timestamp(r["date"])
    found = Evidence(title=r["name"] or f"image {feature_id[3:]}",
                     description=f"Image dated {when:%Y-%m-%d}; source: {r['source'] or 'not given'}; "
                                 f"licence: {r['licence'] or 'not given'}.",
                     claims=[claim_row(c) for _, c in named.iterrows()])
    found.images = [image_item(r)]
    found.image_places = image_places(view, r["id"])
    return found
