"""One search box for the whole dashboard: places, legs and arcs, claimants, outlets, metrics,
events and figures, each taking the person where it is shown.

`build_index(data)` lists one entry per thing, with the words it is found by and where it leads
(`go`): a claim opens on the map with its month and feature (Navigator.open_claim); a place, leg
or arc opens its evidence panel; an event moves to its month and opens it when it has a place,
else the events list; a claimant, an outlet or a metric opens the table of claims narrowed to it.
`find(index, query)` is the box's matching (every word of the query, in any order, ignoring case
and the thousands separators of figures), `go(...)` applies an entry to a session.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import MutableMapping

import pandas as pd

from geo.model import timeline
from geo.model.evidence import format_value
from geo.view import overlay
from geo.view.claims_table import metric_label

TABLE_TAB, MAP_TAB = "Every claim", "Map"


@dataclass(frozen=True)
class Entry:
    label: str  # what the box shows
    kind: str  # claim, place, route, flow, event, claimant, outlet, metric
    key: str  # the claim, place, leg, arc or event id; the claimant, outlet or metric for the table
    words: str  # what it is found by (lower case)


def squash(text: str) -> str:
    """Lower case, figures without thousands separators: '20,000' and '20000' read alike."""
    return re.sub(r"(?<=\d)[,\u202f ](?=\d{3}\b)", "", str(text).lower())


def build_index(data, snapshot=None) -> list[Entry]:
    """Every claim, place, leg, arc, event, claimant, outlet and metric of the dataset, and of the
    workspace (`snapshot`) its claims, points, lines, areas, events and tracks, each naming its file."""
    out: list[Entry] = []
    mine = overlay.imported_claims(data, snapshot) if snapshot is not None else data.claims.iloc[0:0]
    claims = pd.concat([timeline.plain(data.claims), mine], ignore_index=True)
    for c in claims.itertuples():
        value = format_value(c.value, c.value_high, c.qualifier, c.unit)
        source = getattr(c, "source_file", "")
        file = f"your file {source}, " if isinstance(source, str) and source else ""
        label = f"{value}: {metric_label(c.metric)}, {c.claimant} ({c.id}, {file}published {c.reported_date:%Y-%m-%d})"
        out.append(Entry(label, "claim", c.id, squash(f"{label} {c.attribution} {c.outlet} {c.note}")))
    for p in data.places.itertuples():
        out.append(Entry(f"{p.name} (place)", "place", p.id, squash(f"{p.name} {p.id} {p.description}")))
    for kind, frame in (("route", data.routes), ("flow", data.flows)):
        for r in frame.itertuples():
            what = "leg" if kind == "route" else "arc"
            out.append(Entry(f"{r.name} ({what})", kind, r.id, squash(f"{r.name} {r.id} {r.description}")))
    for e in data.events.itertuples():
        label = f"{e.date:%Y-%m-%d}: {e.title} (event)"
        out.append(Entry(label, "event", e.id, squash(f"{label} {e.id} {e.description}")))
    out += workspace_entries(snapshot)
    for name in sorted(set(claims["claimant"])):
        out.append(Entry(f"{name} (claimant: its claims in the table)", "claimant", name, squash(name)))
    for name in sorted(set(claims["outlet"])):
        out.append(Entry(f"{name} (outlet: its claims in the table)", "outlet", name, squash(name)))
    for metric in sorted(set(claims["metric"])):
        label = metric_label(metric)
        out.append(Entry(f"{label} (metric: its claims in the table)", "metric", metric, squash(f"{label} {metric}")))
    return out


def workspace_entries(snapshot) -> list[Entry]:
    """The workspace's points, lines, areas and events (kind `imported`, key ws<feature id>) and its
    tracks (kind `track`), each by its name, file and, when dated, its day."""
    out: list[Entry] = []
    if snapshot is None:
        return out
    features = snapshot.features
    shown = features[features["kind"].isin(overlay.SHOWN_KINDS)]
    for f in shown.itertuples():
        day = f" {f.date:%Y-%m-%d}" if pd.notna(f.date) else ""
        what = {"events": "event", "places": "place"}.get(f.kind, "feature")
        label = f"{f.name or f.source_file}{day} ({what}, your file {f.source_file})"
        text = " ".join(str(getattr(f, c, "") or "") for c in ("description", "title", "id"))
        out.append(Entry(label, "imported", f"ws{f.feature_id}", squash(f"{label} {text}")))
    tracks = snapshot.tracks
    if tracks is not None and len(tracks):
        for track_id, points in tracks.groupby("track_id", sort=True):
            name = points["name"].iloc[-1] or track_id
            label = f"{name} (track {track_id}, your file {points['source_file'].iloc[-1]})" \
                if "source_file" in points.columns else f"{name} (track {track_id})"
            out.append(Entry(label, "track", str(track_id), squash(f"{label} {points['t'].max():%Y-%m-%d}")))
    return out


def find(index: list[Entry], query: str, limit: int = 50) -> list[Entry]:
    """The entries holding every word of `query`; those whose label holds them first."""
    words = squash(query).split()
    if not words:
        return []
    hits = [e for e in index if all(w in e.words for w in words)]
    return sorted(hits, key=lambda e: not all(w in squash(e.label) for w in words))[:limit]


def go(ss: MutableMapping, nav, entry: Entry) -> None:
    """Take the session where `entry` is shown (nav: a geo.page.session.Navigator)."""
    data = nav.data
    ss["table_query"] = ""
    if entry.kind == "claim":
        ss["sel"] = None
        nav.open_claim(ss, entry.key)
        ss["tab"] = MAP_TAB
    elif entry.kind in ("place", "route", "flow"):
        ss.update(sel={"kind": entry.kind, "feature_id": entry.key}, claim=None, tab=MAP_TAB)
        if entry.kind != "place":  # an arc is drawn once a claim sizes it: the month of its latest
            ids = data.claims["route_ids"].map(lambda r: entry.key in (r if isinstance(r, tuple) else ()))
            when = data.claims.loc[ids, "reported_date"].max()
            if pd.notna(when) and f"{when:%Y-%m}" in nav.months:
                ss["date"] = max(ss.get("date") or "", f"{when:%Y-%m}")
    elif entry.kind == "event":
        e = data.events[data.events["id"] == entry.key].iloc[0]
        month = f"{e.date:%Y-%m}"
        ss.update(date=month if month in nav.months else nav.months[-1], claim=None, tab=MAP_TAB)
        if isinstance(e.place_id, str) and e.place_id:
            ss["sel"] = {"kind": "strike" if e.kind == "strike" else "event", "feature_id": entry.key}
        else:
            ss.update(sel=None, chart="Events")
    elif entry.kind in ("imported", "track"):  # the analyst's own: its layer on, its month, its panel
        layer = "imported" if entry.kind == "imported" else "tracks"
        layers = list(ss.get("layers") or [])
        ss.update(sel={"kind": entry.kind, "feature_id": entry.key}, claim=None, tab=MAP_TAB,
                  layers=layers + [layer] * (layer not in layers))
        month = workspace_month(nav.snapshot, entry)
        if month is not None:
            ss["date"] = month if month in nav.months else nav.months[-1]
    else:  # claimant, outlet, metric: the table, narrowed to it, with every month
        ss.update(tab=TABLE_TAB, table_query=entry.label.split(" (")[0] if entry.kind == "metric" else entry.key,
                  table_scope="all claims")


def workspace_month(snapshot, entry: Entry) -> str | None:
    """The month a workspace entry shows in: a dated feature's, a track's last; None when undated."""
    if snapshot is None:
        return None
    if entry.kind == "track":
        points = snapshot.tracks[snapshot.tracks["track_id"].astype(str) == entry.key]
        return f"{points['t'].max():%Y-%m}" if len(points) else None
    rows = snapshot.features[snapshot.features["feature_id"].astype(str) == entry.key[2:]]
    when = rows["date"].iloc[0] if len(rows) else None
    return f"{when:%Y-%m}" if when is not None and pd.notna(when) else None
