"""What was known when: claims, areas, events and route volumes as of a date.

The rules, also stated in data/README.md:
- A claim is *known* on a date once it has been published (reported_date <= date).
- For each metric and claimant, the known claim with the latest as-of date stands
  (ties: the later publication, then the higher id). Claimants are never merged.
- "This period" mode keeps only claims whose as-of date falls inside the period.
"""
from __future__ import annotations

from datetime import date

import geopandas as gpd
import numpy as np
import pandas as pd

CUMULATIVE, PERIOD = "cumulative", "period"
CURRENT_WINDOW = pd.Timedelta(days=365)
DISPUTE_WINDOW = pd.Timedelta(days=31)


def as_timestamp(when) -> pd.Timestamp:
    return pd.Timestamp(when).normalize()


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


def known_claims(claims: pd.DataFrame, when, mode: str = CUMULATIVE) -> pd.DataFrame:
    """Claims published by `when`; in period mode only those whose as-of date is in when's month."""
    when = as_timestamp(when)
    claims = plain(claims)
    known = claims[claims["reported_date"] <= when]
    if mode == PERIOD:
        known = known[(known["as_of_date"] >= month_start(when)) & (known["as_of_date"] <= when)]
    return known


def latest_per_claimant(claims: pd.DataFrame, when, mode: str = CUMULATIVE) -> pd.DataFrame:
    """The standing claim per (metric, claimant) on `when`, sorted by metric then value."""
    known = known_claims(claims, when, mode)
    # Rank on the few columns that decide, then fetch whole rows: sorting every text column is slow.
    keys = known[["metric", "claimant", "as_of_date", "reported_date", "id", "value"]]
    latest = keys.sort_values(["metric", "claimant", "as_of_date", "reported_date", "id"]) \
        .groupby(["metric", "claimant"], sort=False).tail(1).sort_values(["metric", "value", "claimant"])
    return known.loc[latest.index].reset_index(drop=True)


def metric_series(claims: pd.DataFrame, metric: str) -> pd.DataFrame:
    """One row per claim of a metric, ordered per claimant by as-of date, for step charts."""
    rows = claims[claims["metric"] == metric]
    columns = ["claimant", "as_of_date", "reported_date", "value", "value_high", "id", "basis", "unit"]
    return rows.sort_values(["claimant", "as_of_date", "reported_date", "id"])[columns].reset_index(drop=True)


def valid_on(frame: pd.DataFrame, when, start: str, end: str) -> pd.DataFrame:
    """Rows whose [start, end] interval covers `when` (an empty end means still valid)."""
    when = as_timestamp(when)
    return frame[(frame[start] <= when) & (frame[end].isna() | (frame[end] >= when))]


def areas_on(areas: gpd.GeoDataFrame, when) -> gpd.GeoDataFrame:
    return valid_on(areas, when, "valid_from", "valid_to")


def routes_on(routes: gpd.GeoDataFrame, when) -> gpd.GeoDataFrame:
    return valid_on(routes, when, "active_from", "active_to")


def events_until(events: pd.DataFrame, when, mode: str = CUMULATIVE) -> pd.DataFrame:
    when = as_timestamp(when)
    start = month_start(when) if mode == PERIOD else pd.Timestamp.min
    return events[(events["date"] >= start) & (events["date"] <= when)]


def claims_for(claims: pd.DataFrame, route_id: str) -> pd.DataFrame:
    """Every claim that names a route leg or flow as what it is evidence for."""
    return claims[claims["route_ids"].map(lambda ids: route_id in ids)]


VOLUME_COLUMNS = ["id", "metric", "unit", "value_low", "value_high", "n_claimants", "claimants", "claim_ids",
                  "latest_as_of"]


def route_volumes(routes: pd.DataFrame, claims: pd.DataFrame, when, mode: str = CUMULATIVE) -> pd.DataFrame:
    """Each leg's (or flow's) reported volume on `when`, kept as a range across claimants.

    A leg is fed by the claims that list it in route_ids *and* carry its volume_metric;
    for each claimant the latest of those stands. value_low / value_high are the smallest
    and largest standing figure (a claim's own upper bound counts toward value_high); a
    leg with no such claim has NaN volumes and n_claimants 0. Nothing is averaged. A
    claimant whose figure is more than CURRENT_WINDOW older than the leg's newest one
    drops out of the range: it is overtaken in time, not overruled (the evidence panel
    still lists it).
    """
    known = known_claims(claims, when, mode)[["id", "metric", "claimant", "value", "value_high", "unit",
                                               "as_of_date", "reported_date", "route_ids"]]
    links = known.explode("route_ids").rename(columns={"route_ids": "route_id"})
    links = links.merge(routes[["id", "volume_metric"]].rename(columns={"id": "route_id"}),
                        left_on=["route_id", "metric"], right_on=["route_id", "volume_metric"])
    latest = links.sort_values(["as_of_date", "reported_date", "id"]).groupby(["route_id", "claimant"]).tail(1)
    newest = latest.groupby("route_id")["as_of_date"].transform("max")
    fed = latest[latest["as_of_date"] >= newest - CURRENT_WINDOW].sort_values(["route_id", "value", "claimant"])
    fed = fed.assign(high=fed["value_high"].fillna(fed["value"]))
    per_route = fed.groupby("route_id").agg(
        unit=("unit", "first"), value_low=("value", "min"), value_high=("high", "max"),
        n_claimants=("claimant", "nunique"), claimants=("claimant", "; ".join),
        claim_ids=("id", tuple), latest_as_of=("as_of_date", "max"))
    out = routes[["id", "volume_metric"]].rename(columns={"volume_metric": "metric"}).join(per_route, on="id")
    out["metric"] = out["metric"].fillna("")
    out["unit"] = out["unit"].fillna("")
    out["n_claimants"] = out["n_claimants"].fillna(0).astype(int)
    out["claimants"] = out["claimants"].fillna("")
    out["claim_ids"] = out["claim_ids"].map(lambda ids: ids if isinstance(ids, tuple) else ())
    return out[VOLUME_COLUMNS].reset_index(drop=True)


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


def disputed_metrics(claims: pd.DataFrame, when, mode: str = CUMULATIVE) -> set[str]:
    ids = disputed_claims(claims, when, mode)
    return set(claims.loc[claims["id"].isin(ids), "metric"])


def default_date(claims: pd.DataFrame, events: pd.DataFrame) -> date:
    return max(claims["reported_date"].max(), events["date"].max()).date()
