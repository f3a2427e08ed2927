"""Charts linked to the selected date: step lines per claimant and an events timeline.

Each is built once with altair as a Vega-Lite spec without the date; at_date adds the
dashed rule for the selected month as one plain layer and keeps, of a step chart, only the
claims known by then, as the map and the headline do. A date step then costs no altair
work (building and validating a spec takes ~100 ms, and the date control reruns often).
"""
from __future__ import annotations

import altair as alt
import pandas as pd

from geo.model import timeline

CHART_METRICS = {
    "Containers shipped": ("containers_shipped_cumulative",),
    "Artillery shells": ("artillery_shells_cumulative", "artillery_shells_capacity_152mm_equiv"),
    "Railcars seen at the crossing": ("railcars_observed_tumangang", "railcars_observed_khasan"),
    "Troops deployed": ("troops_deployed",),
}
# Charts of counts at places (one image of one station): a series per place, never one line
# joining two stations' counts.
PLACE_CHARTS = {"Railcars seen at the crossing": "station"}


# Vega's "tableau20", its ten strong hues first: a claimant's colour is fixed whichever month hides
# others, and the first ten claimants of a chart never share a hue.
CATEGORY_COLOURS = ("#4c78a8", "#f58518", "#54a24b", "#b79a20", "#439894", "#e45756", "#79706e", "#d67195",
                    "#b279a2", "#9e765f", "#9ecae9", "#ffbf79", "#88d27a", "#f2cf5b", "#83bcb6", "#ff9d98",
                    "#bab0ac", "#fcbfd2", "#d6a5c9", "#d8b5a5")
SHAPES = ("circle", "square", "triangle-up", "diamond", "cross", "triangle-down")
BASIS_NAMES = {"count": "count", "imagery_count": "imagery count", "capacity_estimate": "capacity estimate",
               "estimate": "estimate", "official_statement": "official statement"}
TIME_AXIS = {"format": "%b %Y", "labelAngle": 0, "tickCount": "month", "labelOverlap": "greedy"}


def step_chart(claims: pd.DataFrame, metrics: tuple[str, ...], height: int = 220,
               group_by: str = "organisation", places: dict[str, str] | None = None,
               place_word: str = "place") -> dict | None:
    """Each claimant's figures over time as a step line (capacity estimates labelled so), or
    None when no claim of these metrics passes the filters: the page then says so, where an
    empty plot would show a meaningless axis.

    Grouped by government, the colours and the legend are governments, and each claimant keeps
    its own line, labelled "government (agency)": one government's agencies share a colour but
    their figures are never joined, averaged or summed.

    With `places` (place id -> name), each claimant at each place is a series of its own ("CSIS
    Beyond Parallel at Khasan station"): counts at two stations are never one line."""
    rows = pd.concat([timeline.metric_series(claims, m).assign(metric=m) for m in metrics])
    if rows.empty:
        return None
    capacity = (rows["basis"] == "capacity_estimate") | rows["metric"].str.contains("capacity")
    suffix = capacity.map({True: " (capacity estimate)", False: ""})
    government = rows["government"].where(rows["government"] != "", rows["claimant"])
    by_government = group_by == "government"
    who = [timeline.by_government([{"claimant": c, "government": g}]) if by_government else c
           for c, g in zip(rows["claimant"], government)]
    if places is not None:
        place = rows["place_id"].map(lambda p: places.get(p, p) or "no place given")
        suffix = suffix + " at " + place
        rows = rows.assign(place=place)
    rows = rows.assign(series=pd.Series(who, index=rows.index) + suffix, government=government + suffix,
                       as_of=rows["as_of_date"].dt.strftime("%Y-%m-%d"), basis_name=rows["basis"].map(BASIS_NAMES),
                       known=pd.to_datetime(rows["known"]).dt.strftime("%Y-%m-%d"))
    unit = rows["unit"].iloc[0] if rows["unit"].nunique() == 1 else None
    legend = alt.Legend(orient="bottom", columns=1, labelLimit=320)
    field = "government" if by_government and places is None else "series"
    # Each claimant keeps its colour, and each basis its shape, whichever month shows it (at_date
    # narrows these scales to the claims known by then).
    names = sorted(rows[field].unique())
    colours = alt.Scale(domain=names, range=[CATEGORY_COLOURS[i % len(CATEGORY_COLOURS)] for i in range(len(names))])
    bases = sorted(rows["basis_name"].unique())
    shapes = alt.Scale(domain=bases, range=[SHAPES[i % len(SHAPES)] for i in range(len(bases))])
    colour = alt.Color(f"{field}:N", legend=legend, scale=colours,
                       title=f"claimant at {place_word}" if places is not None
                       else "government" if by_government else "claimant")
    # The axis spans every claim's as-of date and the day the last became known, whatever the month:
    # stepping the months, the lines grow and the axis stays.
    first, last = rows["as_of_date"].min(), max(rows["as_of_date"].max(), pd.Timestamp(rows["known"].max()))
    span = [alt.DateTime(year=d.year, month=d.month, date=d.day) for d in (first, last)]
    base = alt.Chart(rows).encode(
        x=alt.X("as_of_date:T", title="as of", axis=alt.Axis(**TIME_AXIS), scale=alt.Scale(domain=span)),
        y=alt.Y("value:Q", title=unit, axis=alt.Axis(format="~s")),
        color=colour, detail="series:N",  # one line per claimant, whatever the colour groups
    )
    lines = base.mark_line(interpolate="step-after")
    points = base.mark_point(filled=True, size=50).encode(
        shape=alt.Shape("basis_name:N", title="basis", legend=alt.Legend(orient="bottom"), scale=shapes),
        tooltip=[alt.Tooltip("series", title="claimant"), alt.Tooltip("as_of", title="as of"),
                 alt.Tooltip("value", format=",.0f"), alt.Tooltip("basis_name", title="basis"),
                 alt.Tooltip("id", title="claim")])
    return fit_width(alt.layer(lines, points).properties(height=height).to_dict())


def events_timeline(events: pd.DataFrame, height: int = 140) -> dict | None:
    """A tick per event on a time axis, a row per kind, bundled and imported alike (`source_file`
    names an analyst's file). Like a step chart's claims, at_date keeps the events on or before
    the month (`known` is the event's day) and the axis, rows and colours stay whatever the month."""
    if events.empty:
        return None
    day = events["date"].dt.strftime("%Y-%m-%d")
    source = events["source_file"] if "source_file" in events.columns else pd.Series("", index=events.index)
    rows = pd.DataFrame({"date": events["date"], "day": day, "known": day, "title": events["title"],
                         "kind": events["kind"], "from": source.map(lambda f: f"your file {f}" if f else "bundled")})
    kinds = sorted(rows["kind"].unique())
    colours = alt.Scale(domain=kinds, range=[CATEGORY_COLOURS[i % len(CATEGORY_COLOURS)] for i in range(len(kinds))])
    span = [alt.DateTime(year=d.year, month=d.month, date=d.day) for d in (rows["date"].min(), rows["date"].max())]
    ticks = alt.Chart(rows).mark_tick(thickness=2, size=24).encode(
        x=alt.X("date:T", title=None, axis=alt.Axis(**TIME_AXIS), scale=alt.Scale(domain=span)),
        y=alt.Y("kind:N", title=None, scale=alt.Scale(domain=kinds)),
        color=alt.Color("kind:N", legend=None, scale=colours),
        tooltip=["day", "title", "kind", "from"])
    return fit_width(alt.layer(ticks).properties(height=height).to_dict())


def fit_width(spec: dict) -> dict:
    """Stretch to the column's width but keep `height` for the plot itself: fitted in both
    directions, the two-column claimant legend below took all of it and the plot vanished."""
    return {**spec, "autosize": {"type": "fit-x", "contains": "padding"}}


def at_date(spec: dict, when) -> dict | None:
    """The layered spec with a dashed rule at `when` (local midnight, as the data's dates are).
    Of a step chart, only the claims known by `when` (their `known` day, timeline.said_on): the
    map and the headline show no other. None when no claim of it was known by then. The cached
    spec is left as it was."""
    day = timeline.as_timestamp(when)
    rule = {"mark": {"type": "rule", "color": "black", "strokeDash": [4, 3]},
            "encoding": {"x": {"datum": {"year": day.year, "month": day.month, "date": day.day},
                               "type": "temporal"}}}
    layers = [*spec["layer"], rule]
    datasets = spec.get("datasets", {})
    if not any("known" in r for rows in datasets.values() for r in rows):
        return {**spec, "layer": layers}
    until = f"{day:%Y-%m-%d}"
    datasets = {name: [r for r in rows if r["known"] <= until] for name, rows in datasets.items()}
    kept = [r for rows in datasets.values() for r in rows]
    if not kept:
        return None
    for i, layer in enumerate(layers[:-1]):
        encoding = dict(layer.get("encoding", {}))
        if "domain" in encoding.get("x", {}).get("scale", {}):  # the rule stays on the axis, whatever the month
            lo, hi = encoding["x"]["scale"]["domain"]
            mark = rule["encoding"]["x"]["datum"]
            key = lambda d: (d["year"], d["month"], d["date"])  # noqa: E731
            span = [min(lo, mark, key=key), max(hi, mark, key=key)]
            encoding["x"] = {**encoding["x"], "scale": {**encoding["x"]["scale"], "domain": span}}
        for channel in ("color", "shape"):
            if channel in encoding and "domain" in encoding[channel].get("scale", {}):
                encoding[channel] = narrowed(encoding[channel], {r[encoding[channel]["field"]] for r in kept})
        layers[i] = {**layer, "encoding": encoding}
    return {**spec, "datasets": datasets, "layer": layers}


def narrowed(channel: dict, values: set) -> dict:
    """A colour or shape channel whose scale lists only `values`, each keeping its colour or shape."""
    scale = channel["scale"]
    pairs = [(d, r) for d, r in zip(scale["domain"], scale["range"]) if d in values]
    return {**channel, "scale": {**scale, "domain": [d for d, _ in pairs], "range": [r for _, r in pairs]}}


def caption(when) -> str:
    """What a step chart shows, said under it."""
    day = timeline.as_timestamp(when)
    return (f"Each claimant's figures as known by {day:%d %B %Y}, as on the map and in the headline: a claim "
            "joins its line once it was made public, so figures made public later are not drawn yet. The "
            "dashed rule marks the selected month.")
