"""What was known when: claims, areas, events and route volumes as of a date.

The rules, also stated in data/README.md:
- A claim is *known* on a date once the claimant has said it (statement_date <= date; a claim
  without a statement date, as an imported one may be, is known from its reported_date).
- For each metric and claimant, the known claim with the latest as-of date stands
  (ties: the later publication, then the higher id). Claimants are never merged.
- "This period" mode keeps only claims whose as-of date falls inside the period.
"""
from __future__ import annotations

from datetime import date
from functools import cached_property

import geopandas as gpd
import numpy as np
import pandas as pd

CUMULATIVE, PERIOD = "cumulative", "period"
CURRENT_WINDOW = pd.Timedelta(days=365)
DISPUTE_WINDOW = pd.Timedelta(days=31)


def as_timestamp(when) -> pd.Timestamp:
    return pd.Timestamp(when).normalize()


TRACK_WINDOW_DAYS = 31  # the map draws each track's last month


def track_window(when, days: int | None = TRACK_WINDOW_DAYS) -> tuple[pd.Timestamp, pd.Timestamp]:
    """The one rule for which track positions a date shows: from `days` before the end of
    `when`'s day (inclusive) to the end of that day (exclusive); days=None reaches back to the start.
    The live map, the exports, the track panel and the voyages along a leg all use it."""
    until = as_timestamp(when).normalize() + pd.Timedelta(days=1)
    return (until - pd.Timedelta(days=days) if days else pd.Timestamp.min), until


def month_end(when) -> pd.Timestamp:
    return as_timestamp(when) + pd.offsets.MonthEnd(0)


def month_start(when) -> pd.Timestamp:
    return as_timestamp(when).replace(day=1)


def months(first, last) -> list[str]:
    """Month labels (YYYY-MM) from first to last, inclusive."""
    return [p.strftime("%Y-%m") for p in pd.period_range(as_timestamp(first), as_timestamp(last), freq="M")]


def plain(frame: pd.DataFrame) -> pd.DataFrame:
    """The table without geometry: pandas operations on a GeoDataFrame cost several times more."""
    return pd.DataFrame(frame.drop(columns="geometry")) if "geometry" in frame.columns else frame


def said_on(claims: pd.DataFrame) -> pd.Series:
    """The day each claim became known: the claimant's statement date, or, for a claim without one
    (an imported file need not give it), the day it was published."""
    if "statement_date" in claims.columns:
        return claims["statement_date"].fillna(claims["reported_date"])
    return claims["reported_date"]


def known_claims(claims: pd.DataFrame, when, mode: str = CUMULATIVE) -> pd.DataFrame:
    """Claims said by `when`; in period mode only those whose as-of date is in when's month."""
    when = as_timestamp(when)
    claims = plain(claims)
    known = claims[said_on(claims) <= when]
    if mode == PERIOD:
        known = known[(known["as_of_date"] >= month_start(when)) & (known["as_of_date"] <= when)]
    return known


def days(values) -> np.ndarray:
    """Dates as whole days since 1970, for comparisons in numpy."""
    return np.asarray(values, dtype="datetime64[ns]").astype("datetime64[D]").astype(np.int64)


class Standing:
    """Claims ranked once, so "the standing claim per group and claimant on a date" is an
    array lookup for each date step rather than a sort and a groupby (the date control
    reruns often, and pandas spends milliseconds per operation even on a hundred rows).

    `rows` are the claims sorted by group, claimant, as-of date, publication date and id
    (`records`: the same as dicts); on() returns the positions of the standing claims.
    `who` is the column that says whose claim it is: "claimant" (the organisation) or
    "government" (its top organisation, so a government's agencies stand as one voice).
    """

    def __init__(self, claims: pd.DataFrame, group: str = "metric", who: str = "claimant"):
        self.rows = plain(claims).sort_values([group, who, "as_of_date", "reported_date", "id"],
                                              kind="stable").reset_index(drop=True)
        codes = pd.MultiIndex.from_frame(self.rows[[group, who]]).codes
        self.key = codes[0].astype(np.int64) * (len(self.rows) + 1) + codes[1]
        self.as_of = days(self.rows["as_of_date"])
        self.said = days(said_on(self.rows))

    @cached_property
    def records(self) -> list[dict]:
        return self.rows.to_dict("records")

    def on(self, when, mode: str = CUMULATIVE) -> np.ndarray:
        day = days([as_timestamp(when)])[0]
        known = self.said <= day
        if mode == PERIOD:
            known &= (self.as_of >= days([month_start(when)])[0]) & (self.as_of <= day)
        at = np.flatnonzero(known)
        key = self.key[at]
        return at[np.r_[key[1:] != key[:-1], True]] if len(at) else at


def metric_series(claims: pd.DataFrame, metric: str) -> pd.DataFrame:
    """One row per claim of a metric, ordered per claimant by as-of date, for step charts, with
    `known`: the day it became known (said_on), so a chart shows only what was known by a date."""
    rows = claims[claims["metric"] == metric]
    rows = rows.assign(known=said_on(rows))
    columns = ["claimant", "as_of_date", "reported_date", "known", "value", "value_high", "id", "basis", "unit"]
    if "government" not in rows.columns:  # claims without the registry's words: each its own government
        rows = rows.assign(government=rows["claimant"])
    columns.append("government")
    if "place_id" not in rows.columns:
        rows = rows.assign(place_id="")
    columns.append("place_id")
    return rows.sort_values(["claimant", "as_of_date", "reported_date", "id"])[columns].reset_index(drop=True)


def covers(start, end, when) -> bool:
    """A [start, end] interval covers `when`; an empty end means still valid."""
    return start <= when and (pd.isna(end) or end >= when)


def event_window(when, mode: str = CUMULATIVE) -> tuple[pd.Timestamp, pd.Timestamp]:
    """The dates whose events show on `when`: all until then, or in period mode its month."""
    when = as_timestamp(when)
    return (month_start(when) if mode == PERIOD else pd.Timestamp.min), when


def claims_for(claims: pd.DataFrame, route_id: str) -> pd.DataFrame:
    """Every claim that names a route leg or flow as what it is evidence for."""
    return claims[claims["route_ids"].map(lambda ids: route_id in ids)]


VOLUME_COLUMNS = ["id", "metric", "unit", "value_low", "value_high", "n_claimants", "claimants", "claim_ids",
                  "latest_as_of", "by_government"]


def by_government(records) -> str:
    """Claimants named under their governments, each agency still named on its own (grouping
    by government labels figures, never merges them): "United States government: US Department
    of State, US Mission to the United Nations; Government of Ukraine"."""
    agencies: dict[str, list[str]] = {}
    for r in records:
        government = r.get("government") or r["claimant"]
        names = agencies.setdefault(government, [])
        agency = r["claimant"] if r["claimant"] != government else ""
        if agency and agency not in names:
            names.append(agency)
    return "; ".join(g + (f": {', '.join(names)}" if names else "") for g, names in agencies.items())


class RouteVolumes:
    """Each leg's (or flow's) reported volume on a date, kept as a range across claimants.

    A leg is fed by the claims that list it in route_ids *and* carry its volume_metric;
    for each claimant the latest of those stands. value_low / value_high are the smallest
    and largest standing figure (a claim's own upper bound counts toward value_high); a
    leg with no such claim has NaN volumes and n_claimants 0. Nothing is averaged. A
    claimant whose figure is more than CURRENT_WINDOW older than the leg's newest one
    drops out of the range: it is overtaken in time, not overruled (the evidence panel
    still lists it). The links are found once; on() is cheap enough for every date step.
    """

    def __init__(self, routes: pd.DataFrame, claims: pd.DataFrame):
        self.ids = list(routes["id"])
        claims = plain(claims)
        if "government" not in claims.columns:  # claims without the registry's words: each its own government
            claims = claims.assign(government=claims["claimant"])
        links = claims.assign(statement_date=lambda c: said_on(c))[
            ["id", "metric", "claimant", "government", "value", "value_high", "unit", "as_of_date", "statement_date",
             "reported_date", "route_ids"]]
        links = links.explode("route_ids").rename(columns={"route_ids": "route_id"})
        links = links.merge(pd.DataFrame({"route_id": routes["id"], "metric": routes["volume_metric"]}),
                            on=["route_id", "metric"])
        self.metric = dict(zip(routes["id"], routes["volume_metric"].fillna("")))
        self.standing = Standing(links, group="route_id")

    def on(self, when, mode: str = CUMULATIVE) -> pd.DataFrame:
        return pd.DataFrame(self.records(when, mode), columns=VOLUME_COLUMNS)

    def records(self, when, mode: str = CUMULATIVE) -> list[dict]:
        """on() as one dict per leg, in the routes' order."""
        fed: dict[str, list[dict]] = {}
        for i in self.standing.on(when, mode):
            record = self.standing.records[i]
            fed.setdefault(record["route_id"], []).append(record)
        out = []
        for route_id in self.ids:
            row = {"id": route_id, "metric": self.metric[route_id], "unit": "", "value_low": np.nan,
                   "value_high": np.nan, "n_claimants": 0, "claimants": "", "claim_ids": (),
                   "latest_as_of": pd.NaT, "by_government": ""}
            standing = fed.get(route_id, [])
            if standing:
                newest = max(r["as_of_date"] for r in standing)
                current = sorted((r for r in standing if r["as_of_date"] >= newest - CURRENT_WINDOW),
                                 key=lambda r: (r["value"], r["claimant"]))
                highs = [r["value"] if pd.isna(r["value_high"]) else r["value_high"] for r in current]
                row.update(unit=current[0]["unit"], value_low=min(r["value"] for r in current),
                           value_high=max(highs), n_claimants=len({r["claimant"] for r in current}),
                           claimants="; ".join(r["claimant"] for r in current),
                           claim_ids=tuple(r["id"] for r in current), latest_as_of=newest,
                           by_government=by_government(current))
            out.append(row)
        return out


def disputed_claims(claims: pd.DataFrame, when, mode: str = CUMULATIVE) -> set[str]:
    """Ids of known claims that another claimant contradicts: same metric, as-of dates at most
    DISPUTE_WINDOW apart, different values. Figures further apart are a change over time,
    not a disagreement.

    Counted, not compared pairwise, so a claims log of 10^5 rows costs n log n: within each
    claim's window, the claims by another claimant with another value number
    window - same claimant - same value + same claimant and value.
    """
    known = known_claims(claims, when, mode).sort_values(["metric", "as_of_date"])
    n = len(known)
    if n < 2:
        return set()
    span = DISPUTE_WINDOW.days
    metric = pd.factorize(known["metric"])[0].astype(np.int64)
    day = known["as_of_date"].to_numpy().astype("datetime64[D]").astype(np.int64)
    key = metric * 10_000_000 + day  # sorted, since rows are sorted by metric then date
    lo = np.searchsorted(key, key - span, "left")
    hi = np.searchsorted(key, key + span, "right")
    position = np.arange(n, dtype=np.int64)

    def same_in_window(codes: np.ndarray) -> np.ndarray:
        """For each row, how many rows in its window share its code (itself included)."""
        combined = np.sort(codes * n + position)
        return np.searchsorted(combined, codes * n + hi) - np.searchsorted(combined, codes * n + lo)

    claimant = pd.factorize(known["claimant"])[0].astype(np.int64)
    value = pd.factorize(known["value"])[0].astype(np.int64)
    both = pd.factorize(pd.Series(list(zip(claimant, value))))[0].astype(np.int64)
    others = (hi - lo) - same_in_window(claimant) - same_in_window(value) + same_in_window(both)
    return set(known["id"].to_numpy()[others > 0])


def disputants(claims: pd.DataFrame, claim: dict, when, mode: str = CUMULATIVE) -> list[str]:
    """The claimants who contradict one claim (the rule of disputed_claims), by name."""
    known = known_claims(claims, when, mode)
    near = known[(known["metric"] == claim["metric"]) & (known["claimant"] != claim["claimant"])
                 & (known["value"] != claim["value"])
                 & ((known["as_of_date"] - claim["as_of_date"]).abs() <= DISPUTE_WINDOW)]
    return sorted(set(near["claimant"]))


def default_date(claims: pd.DataFrame, events: pd.DataFrame) -> date:
    return max(claims["reported_date"].max(), events["date"].max()).date()
