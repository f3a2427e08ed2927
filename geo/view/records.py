"""What each bundled layer draws on a date, as plain records: no pydeck here.

`prepare(data, filters)` ranks the claims once per dataset and filter set (Prepared); the
record builders then only select and format on a date step. Every pickable record carries
the same tooltip fields (kind, feature_id, place_id, name, detail, claimant, when), which the
renderer's one tooltip template and the evidence panel read.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cached_property

import pandas as pd
import shapely
from shapely.geometry import mapping

from geo import style
from geo.geometry import railways, screenlines
from geo.model import timeline
from geo.model.evidence import Filters, format_range, format_value, headline_standing

DEFAULT_LAYERS = ("basemap", "places", "routes", "flows", "railcars", "factories", "front", "strikes", "events")


PLACE_RADII = (4, 6)  # pixels: a place, and a crossing, port, station or depot


EVENT_RADII = (6, 9)  # pixels: an event, and one in the month shown


PRESENTER_STRIKES = 1.6  # across a room, the strikes stand out from the places


@dataclass(frozen=True)
class MapState:
    """What the map shows: a date (the end of the selected month), what to count, which layers, from where."""

    date: pd.Timestamp
    mode: str = timeline.CUMULATIVE
    layers: tuple[str, ...] = DEFAULT_LAYERS
    view: str = "overview"
    present: bool = False
    filters: Filters = field(default_factory=Filters)
    group_by: str = "organisation"  # headline claimants: each organisation, or one voice per government
    focus: tuple[str, ...] = ()  # place and area ids the camera must frame (a presenter's scene: scene_focus)
    topic: str = ""  # the headline figure that leads (a presenter's scene)


AREA_LAYERS = {"front": "front", "factory_region": "factories"}  # area kind -> the layer that draws it


def scene_focus(areas, scene) -> tuple[str, ...]:
    """What a presenter's scene frames: its places, and the areas it draws at them on its date
    (a front area of Sudzha in a scene about Kursk and Sudzha), so no scene crops its own areas.
    `scene` is a row of data.scenes."""
    when = timeline.month_end(scene["date"])
    places = tuple(scene["focus"])
    shown = [kind for kind, layer in AREA_LAYERS.items() if layer in scene["layers"]]
    drawn = areas[areas["kind"].isin(shown) & areas["place_id"].isin(places)]
    on = [timeline.covers(a, b, when) for a, b in zip(drawn["valid_from"], drawn["valid_to"])]
    drawn = drawn.loc[pd.Series(on, index=drawn.index, dtype=bool)]
    return places + tuple(drawn["id"])


def rgba(rgb, alpha=255) -> list[int]:
    return [int(c) for c in rgb[:3]] + [int(alpha)]


def tooltip_record(kind, feature_id, name, detail="", claimant="", when="", place_id="") -> dict:
    return {"kind": kind, "feature_id": feature_id, "place_id": place_id or "", "name": str(name),
            "detail": str(detail), "claimant": str(claimant), "when": str(when)}


def path_coords(geom, ndigits=4) -> list[list[float]]:
    return [[round(x, ndigits), round(y, ndigits)] for x, y in geom.coords]


# Views that zoom into the Tumen estuary draw legs at full detail inside this box (the 1:10m
# basemap's) and thin them beyond it, where those views never look closely: the long rail
# legs follow real track across Russia, and at full detail would push the deck JSON past
# its 300 KB budget.
DETAIL_BOX = (126.0, 39.0, 135.0, 45.5)


FAR_TOLERANCE_DEG = 0.05


def thinned_outside(geom, box=DETAIL_BOX, tolerance=FAR_TOLERANCE_DEG) -> list[list[float]]:
    """The leg's path with the stretches outside `box` simplified (Douglas-Peucker); the
    inside is untouched."""
    return path_coords(railways.simplify_outside(geom, box, lambda line: shapely.simplify(line, tolerance)))


def metric_peaks(claims) -> dict[str, float]:
    """The largest figure ever claimed per metric: widths scale against it, so growth over time shows."""
    highs = claims["value_high"].fillna(claims["value"])
    return highs.groupby(claims["metric"]).max().to_dict()


RAILCAR_METRICS = ("railcars_observed_tumangang", "railcars_observed_khasan")


@dataclass(frozen=True)
class Prepared:
    """What every date step of one dataset and filter set reuses, worked out once: the
    claims after the filters, ranked per metric and claimant (headline figures, railcar
    sightings), the legs' and flows' volume links, each metric's peak, and the legs, flows,
    places, events and areas as plain records with their coordinates already rounded. Cache it per dataset and filters:
    a date step then only selects and formats (pandas costs milliseconds per operation even
    on a hundred rows, and the date control reruns often)."""

    claims: pd.DataFrame
    all_claims: pd.DataFrame  # before the filters: a dispute stays marked when the filters hide one side
    standing: timeline.Standing
    volumes: timeline.RouteVolumes
    flow_volumes: timeline.RouteVolumes
    peaks: dict
    routes: list[dict]
    flows: list[dict]
    places: dict[str, dict]
    events: list[dict]
    areas: list[dict]

    @cached_property
    def railcar_radii(self) -> tuple[float, ...]:
        """Every railcar marker's radius any date can show."""
        values = self.claims.loc[self.claims["metric"].isin(RAILCAR_METRICS), "value"].dropna()
        return tuple(sorted({railcar_radius(v) for v in values}))

    @cached_property
    def headline_standings(self) -> dict:
        return {}

    def standing_for(self, group_by: str = "organisation") -> timeline.Standing:
        """The headline's ranking (verified claims, no restatements) per grouping, built once."""
        cache = self.headline_standings
        if group_by not in cache:
            cache[group_by] = headline_standing(self.claims, group_by)
        return cache[group_by]


def plain_records(frame) -> list[dict]:
    return timeline.plain(frame).to_dict("records")


def prepare(data, filters: Filters) -> Prepared:
    claims = timeline.plain(filters.apply(data.claims))
    routes = [dict(r, path=path_coords(g), path_far=thinned_outside(g))
              for r, g in zip(plain_records(data.routes), data.routes.geometry)]
    flows = [dict(f, source=[round(g.coords[0][0], 4), round(g.coords[0][1], 4)],
                  target=[round(g.coords[-1][0], 4), round(g.coords[-1][1], 4)],
                  path=screenlines.arc_path(g.coords[0], g.coords[-1]))
             for f, g in zip(plain_records(data.flows), data.flows.geometry)]
    located = data.events[data.events["place_id"] != ""].sort_values("date", kind="stable")
    events = [dict(e, position=[round(g.x, 4), round(g.y, 4)])
              for e, g in zip(plain_records(located), located.geometry)]
    areas = [dict(a, geometry=mapping(shapely.set_precision(g, 1e-4)))
             for a, g in zip(plain_records(data.areas), data.areas.geometry)]
    return Prepared(claims, timeline.plain(data.claims), timeline.Standing(claims), timeline.RouteVolumes(data.routes, claims),
                    timeline.RouteVolumes(data.flows, claims), metric_peaks(claims), routes, flows, {p["id"]: p for p in plain_records(data.places)}, events, areas)


def width_for(value: float, peak: float, scale: float) -> float:
    if pd.isna(value) or not peak:
        return style.NO_VOLUME_WIDTH * scale
    share = math.sqrt(max(value, 0) / peak)
    return round((style.MIN_WIDTH + (style.MAX_WIDTH - style.MIN_WIDTH) * share) * scale, 2)


def volume_text(v: dict, group_by: str = "organisation") -> tuple[str, str, str]:
    """A leg's or flow's figures, who gave them (grouped by government when asked, each claimant
    still named) and when."""
    if v["n_claimants"] == 0:
        return "no reported volume", "", ""
    spread = (f" ({v['n_claimants']} claimants disagree)"
              if v["n_claimants"] > 1 and v["value_low"] != v["value_high"] else "")
    who = v["by_government"] if group_by == "government" else v["claimants"]
    return (format_range(v["value_low"], v["value_high"], v["unit"]) + spread, who,
            f"latest as of {v['latest_as_of']:%Y-%m-%d}")


def claimant_text(claim: dict, group_by: str = "organisation") -> str:
    """Who made one claim: the organisation, or grouped by government its government with the agency."""
    return timeline.by_government([claim]) if group_by == "government" else claim["claimant"]


def volumes_by_id(volumes: timeline.RouteVolumes, state: MapState) -> dict[str, dict]:
    return {v["id"]: v for v in volumes.records(state.date, state.mode)}


def route_records(prepared: Prepared, state: MapState, palette: style.Palette) -> list[dict]:
    when = timeline.as_timestamp(state.date)
    volumes = volumes_by_id(prepared.volumes, state)
    path_key = "path_far" if style.VIEWS[state.view].detailed else "path"
    rows = []
    for r in prepared.routes:
        if not timeline.covers(r["active_from"], r["active_to"], when):
            continue
        v, peak = volumes[r["id"]], prepared.peaks.get(r["volume_metric"])
        detail, claimant, when_text = volume_text(v, state.group_by)
        rec = tooltip_record("route", r["id"], r["name"], f"{r['mode']}, {r['status']}: {detail}", claimant, when_text)
        rec.update(path=r[path_key], status=r["status"], mode=r["mode"],
                   color=rgba(style.over_ground(palette.mode[r["mode"]], 235 if r["status"] == "reported" else 190,
                                                r["mode"], palette)),
                   width=width_for(v["value_low"], peak, palette.line_scale),
                   width_high=width_for(v["value_high"], peak, palette.line_scale),
                   band_color=rgba(style.over_ground(palette.mode[r["mode"]], style.BAND_ALPHA, r["mode"], palette)),
                   dash=list(style.DASH[r["status"]]), has_volume=bool(v["n_claimants"]))
        rows.append(rec)
    # deck.gl draws (and picks) later records on top: legs that carry figures win where legs share track.
    return sorted(rows, key=lambda rec: (rec["has_volume"], rec["width"]))


TOOLTIP_FIELDS = ("kind", "feature_id", "place_id", "name", "detail", "claimant", "when")


def flow_records(prepared: Prepared, state: MapState, palette: style.Palette) -> list[dict]:
    volumes = volumes_by_id(prepared.flow_volumes, state)
    rows = []
    for f in prepared.flows:
        v = volumes[f["id"]]
        if v["n_claimants"] == 0:
            continue  # a summary arc appears once a claim gives it a size
        detail, claimant, when = volume_text(v, state.group_by)
        rec = tooltip_record("flow", f["id"], f["name"], detail, claimant, when)
        width = width_for(v["value_low"], prepared.peaks.get(f["volume_metric"]), palette.line_scale)
        rec.update(source=f["source"], target=f["target"], path=f["path"], width=round(width / 2, 2),
                   family=f["family"], color=rgba(palette.family[f["family"]], 170))
        rows.append(rec)
    return rows


def railcar_records(prepared: Prepared, state: MapState, notices: list | None = None) -> list[dict]:
    """One marker per place: the latest sighting there, whoever made it. A sighting whose place
    is unknown is left out, with a notice naming its file and claim (when `notices` is given)."""
    latest: dict[str, dict] = {}
    standing = (prepared.standing.records[i] for i in prepared.standing.on(state.date, state.mode))
    for c in (c for c in standing if c["metric"] in RAILCAR_METRICS):
        if c["place_id"] not in prepared.places:
            if notices is not None:
                where = c.get("source_file") or "data/claims.csv"
                notices.append(f"{where}: claim {c['id']}: place_id {c['place_id']!r} is not a known place, "
                               "so its railcars are not on the map.")
            continue
        if c["place_id"] not in latest or (c["as_of_date"], c["id"]) >= (latest[c["place_id"]]["as_of_date"],
                                                                        latest[c["place_id"]]["id"]):
            latest[c["place_id"]] = c
    rows = []
    for c in sorted(latest.values(), key=lambda c: (c["as_of_date"], c["id"])):
        p = prepared.places[c["place_id"]]
        rec = tooltip_record("railcars", c["id"], f"Railcars at {p['name']}",
                             format_value(c["value"], c["value_high"], c["qualifier"], c["unit"]) + " seen in imagery"
                             + (" (unverified)" if c.get("verification") == "unverified" else ""),
                             claimant_text(c, state.group_by), f"seen {c['as_of_date']:%Y-%m-%d}", c["place_id"])
        rec.update(position=[round(p["lon"], 4), round(p["lat"], 4)],
                   radius=railcar_radius(c["value"]))
        rows.append(rec)
    return rows


def railcar_radius(railcars: float) -> float:
    return round(5 + 1.6 * math.sqrt(railcars), 1)


def event_records(prepared: Prepared, state: MapState, strikes: bool) -> list[dict]:
    """Located events (strikes, or everything else) up to the date; this month's drawn larger."""
    start, end = timeline.event_window(state.date, state.mode)
    month = timeline.month_start(state.date)
    rows = []
    for e in prepared.events:
        if not start <= e["date"] <= end or (e["kind"] == "strike") != strikes:
            continue
        recent = e["date"] >= month
        rec = tooltip_record("strike" if strikes else "event", e["id"], e["title"], e["description"], "",
                             f"{e['date']:%Y-%m-%d}", e["place_id"])
        rec.update(position=e["position"], radius=EVENT_RADII[1] if recent else EVENT_RADII[0], recent=recent)
        rows.append(rec)
    return rows


def area_features(prepared: Prepared, kind: str, state: MapState, rgb) -> dict:
    when = timeline.as_timestamp(state.date)
    features = []
    for a in prepared.areas:
        if a["kind"] != kind or not timeline.covers(a["valid_from"], a["valid_to"], when):
            continue
        until = f"{a['valid_to']:%Y-%m-%d}" if pd.notna(a["valid_to"]) else "still valid"
        detail = f"approximate outline; {a['plants']}" if a["plants"] else "approximate outline"
        props = tooltip_record("area", a["id"], a["name"], detail, "", f"{a['valid_from']:%Y-%m-%d} to {until}",
                               a["place_id"])
        props.update(fill=rgba(rgb, 70), line=rgba(rgb, 230), line_width=2)
        features.append({"type": "Feature", "geometry": a["geometry"], "properties": props})
    return {"type": "FeatureCollection", "features": features}

