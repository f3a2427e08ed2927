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

from geo.model.evidence import format_value
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


def build_index(data) -> list[Entry]:
    """Every claim, place, leg, arc, event, claimant, outlet and metric of the dataset."""
    out: list[Entry] = []
    for c in data.claims.itertuples():
        value = format_value(c.value, c.value_high, c.qualifier, c.unit)
        label = f"{value}: {metric_label(c.metric)}, {c.claimant} ({c.id}, published {c.reported_date:%Y-%m-%d})"
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
    for name in sorted(set(data.claims["claimant"])):
        out.append(Entry(f"{name} (claimant: its claims in the table)", "claimant", name, squash(name)))
    for name in sorted(set(data.claims["outlet"])):
        out.append(Entry(f"{name} (outlet: its claims in the table)", "outlet", name, squash(name)))
    for metric in sorted(set(data.claims["metric"])):
        label = metric_label(metric)
        out.append(Entry(f"{label} (metric: its claims in the table)", "metric", metric, squash(f"{label} {metric}")))
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
    else:  # claimant, outlet, metric: the table, narrowed to it, with every month
        ss.update(tab=TABLE_TAB, table_query=entry.label.split(" (")[0] if entry.kind == "metric" else entry.key,
                  table_scope="all claims")
