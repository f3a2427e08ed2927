"""Every claim as one table row, where each claim lives on the map, and the national totals.

The table beside the map lists the claims of a view (the same filters, the same claims the map
and exports use: MapView.prepared.claims), either those known by the view's month or all of
them. Each row carries a link that opens the claim on the map: `?claim=F001` shows the month
it became known with the feature it rests on selected and the claim marked in the panel
(claim_target). Claims that rest on no place and no leg (factories, money, launcher counts,
shares of strikes) and claims whose feature is not drawn in a view are listed on the
"national totals" panel (totals_evidence), so every claim is one click from the map.
"""
from __future__ import annotations

import io

import pandas as pd

from geo.model import timeline
from geo.model.evidence import HEADLINES, Evidence, claim_row, headline_claims, metric_words

# The selection of the national totals panel: the link's sel=totals:national.
TOTALS = {"kind": "totals", "feature_id": "national"}
COLUMNS = ("id", "metric", "value", "claimant", "as_of", "published", "basis", "outlet", "url", "verification",
           "open")


def metric_label(metric: str, metrics: pd.DataFrame | None = None) -> str:
    """A metric as words (geo.model.evidence.metric_words)."""
    return metric_words(metric)


def filtered_out(view) -> set[str]:
    """The headline figures with no claim under the view's filters but some without them: the
    headline says they are filtered out, not that nobody has claimed them yet."""
    everyone = headline_claims(timeline.known_claims(view.prepared.all_claims, view.state.date, view.state.mode))
    return {label for label, metrics in HEADLINES.items()
            if not view.headline.get(label) and everyone["metric"].isin(metrics).any()}


def claim_link(claim_id: str) -> str:
    """The page address that opens one claim on the map."""
    return f"?claim={claim_id}"


def table_rows(claims: pd.DataFrame, when=None, mode: str = timeline.CUMULATIVE, query: str = "") -> pd.DataFrame:
    """The table of `claims` (already filtered), all of them or (`when` given) those known by
    `when` in `mode`, newest publication first, narrowed to rows whose id, metric, value,
    claimant or outlet holds `query` (any case); plain text, escaped by whatever shows it."""
    shown = claims if when is None else timeline.known_claims(claims, when, mode)
    shown = shown.sort_values(["reported_date", "id"], ascending=[False, True])
    rows = []
    for _, c in shown.iterrows():
        r = claim_row(c)
        rows.append({"id": r["id"], "metric": metric_label(r["metric"]), "value": r["value"],
                     "claimant": r["claimant"], "as_of": r["as_of"], "published": r["published"],
                     "basis": r["basis"], "outlet": r["outlet"], "url": r["url"],
                     "verification": r["verification"] or "", "open": claim_link(r["id"])})
    table = pd.DataFrame(rows, columns=list(COLUMNS))
    if query.strip():
        text = table[["id", "metric", "value", "claimant", "outlet"]].agg(" ".join, axis=1).str.lower()
        table = table[text.str.contains(query.strip().lower(), regex=False)].reset_index(drop=True)
    return table


def to_csv(rows: pd.DataFrame) -> bytes:
    """The table as UTF-8 CSV, with the claim's map link as a column."""
    out = io.StringIO()
    rows.to_csv(out, index=False)
    return out.getvalue().encode("utf-8")


def claim_target(data, claim_id: str) -> dict | None:
    """Where a claim lives on the map: {month, sel} with the month it became known (its
    publication) and the feature whose panel lists it (the first leg or arc it names, else
    its place), or the national totals panel; None for an unknown id."""
    rows = data.claims[data.claims["id"] == claim_id]
    if rows.empty:
        return None
    c = rows.iloc[0]
    routes = tuple(c["route_ids"]) if isinstance(c["route_ids"], (tuple, list)) else ()
    sel = dict(TOTALS)
    for rid in routes:
        if (data.routes["id"] == rid).any():
            sel = {"kind": "route", "feature_id": rid}
            break
        if (data.flows["id"] == rid).any():
            sel = {"kind": "flow", "feature_id": rid}
            break
    else:
        if isinstance(c["place_id"], str) and c["place_id"] and (data.places["id"] == c["place_id"]).any():
            sel = {"kind": "place", "feature_id": c["place_id"]}
    return {"month": f"{c['reported_date']:%Y-%m}", "sel": sel, "claim": claim_id}


def drawn_keys(view) -> tuple[set[str], set[str]]:
    """The legs and arcs (ids) and the places (ids) a person can click in this view."""
    lines = {r["feature_id"] for layer in ("routes", "flows") for r in view.features(layer)}
    places = {r["place_id"] or (r["feature_id"] if r["kind"] == "place" else "")
              for layer in ("strikes", "events", "railcars", "factories", "front") for r in view.features(layer)}
    if "places" in view.state.layers:
        places |= set(view.data.places["id"])
    return lines, places - {""}


def behind_no_feature(view) -> pd.DataFrame:
    """The claims known in this view that no drawn feature's panel lists (geo.model.evidence.claims_behind)."""
    known = view.claims_known()
    lines, places = drawn_keys(view)

    def on_map(c) -> bool:
        routes = c["route_ids"] if isinstance(c["route_ids"], (tuple, list)) else ()
        return bool(set(routes) & lines) or (isinstance(c["place_id"], str) and c["place_id"] in places)

    keep = [not on_map(c) for _, c in known.iterrows()] if len(known) else []
    return known[pd.Series(keep, index=known.index, dtype=bool)] if len(known) else known


def totals_evidence(view) -> Evidence:
    """The national totals panel: every claim of this view that no feature on the map stands for."""
    rest = behind_no_feature(view).sort_values(["metric", "as_of_date", "claimant", "id"])
    disputed = timeline.disputed_claims(timeline.known_claims(view.prepared.all_claims, view.state.date,
                                                              view.state.mode), view.state.date) & set(rest["id"])
    return Evidence(title="National totals and figures with no place on the map",
                    description="Factories, money, launcher counts, shares of strikes and every other figure that "
                                "no leg, arc, place or area on the map stands for in this view.",
                    claims=[claim_row(c) for _, c in rest.iterrows()], disputed=disputed)


NO_PLACE = "no place given: not on the map"


def all_events(view) -> pd.DataFrame:
    """Every event of any date in the view's data and workspace (events_frame)."""
    return events_frame(view.data, view.snapshot)


def events_frame(data, snapshot) -> pd.DataFrame:
    """Every event of any date, bundled and from the analyst's files alike: id, date, title, kind,
    url, the selection that opens it on the map (None for one with no place) and `source_file`
    ("" for a bundled event). Imported events are those the workspace holds as the events kind."""
    events = data.events
    bundled = pd.DataFrame({
        "id": events["id"], "date": events["date"], "title": events["title"], "kind": events["kind"],
        "url": events["url"], "source_file": "",
        "sel": [{"kind": "strike" if k == "strike" else "event", "feature_id": i}
                if isinstance(p, str) and p else None
                for i, k, p in zip(events["id"], events["kind"], events["place_id"])]})
    if snapshot is None or snapshot.features.empty:
        return bundled
    mine = snapshot.features[(snapshot.features["kind"] == "events") & snapshot.features["date"].notna()]
    if mine.empty:
        return bundled

    def column(name, default=""):
        return mine[name].fillna(default).astype(str) if name in mine.columns else pd.Series(default, index=mine.index)

    kind = column("prop_kind").where(column("prop_kind") != "", column("event_type", "event"))
    imported = pd.DataFrame({
        "id": "ws" + mine["feature_id"].astype(str),  # the workspace's id: a file's own may repeat a bundled one
        "date": mine["date"], "title": column("name").where(column("name") != "", mine["source_file"]),
        "kind": kind.where(kind != "", "event"), "url": column("url"), "source_file": mine["source_file"],
        "sel": [{"kind": "imported", "feature_id": f"ws{f}"} if g is not None and not g.is_empty else None
                for f, g in zip(mine["feature_id"], mine.geometry)]})
    return pd.concat([bundled, imported], ignore_index=True)


def events_list(view) -> list[dict]:
    """Every event up to the view's date, newest first, bundled and imported, with its selection on
    the map when it has a place; an event whose source gives no place says so (`note`), as it is
    on no map, and an imported one names its file (`source_file`)."""
    events = all_events(view)
    events = events[events["date"] <= timeline.as_timestamp(view.state.date)]
    out = []
    for e in events.sort_values(["date", "id"], ascending=[False, True]).itertuples():
        out.append({"id": e.id, "date": f"{e.date:%Y-%m-%d}", "title": e.title, "url": e.url, "sel": e.sel,
                    "note": "" if e.sel else NO_PLACE, "source_file": e.source_file})
    return out


def placeless_note(view) -> str:
    """A line for beside the map: how many events up to the date have no place (and so are on no
    map), and where they are listed; empty when every event has a place."""
    n = sum(1 for e in events_list(view) if not e["sel"])
    return (f"{n} event(s) by this date have no place given and are on no map: choose Events under the "
            f"chart to list them with their sources.") if n else ""
