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


def known_claims(claims: pd.DataFrame, when, mode: str = CUMULATIVE) -> pd.DataFrame:
    """Claims published by `when`; in period mode only those whose as-of date is in when's month."""
    when = as_timestamp(when)
    known = claims[claims["reported_date"] <= when]
    if mode == PERIOD:
        known = known[(known["as_of_date"] >= month_start(when)) & (known["as_of_date"] <= when)]
    return known


def latest_per_claimant(claims: pd.DataFrame, when, mode: str = CUMULATIVE) -> pd.DataFrame:
    """The standing claim per (metric, claimant) on `when`, sorted by metric then value."""
    known = known_claims(claims, when, mode)
    ordered = known.sort_values(["metric", "claimant", "as_of_date", "reported_date", "id"])
    latest = ordered.groupby(["metric", "claimant"], sort=False).tail(1)
    return latest.sort_values(["metric", "value", "claimant"]).reset_index(drop=True)


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


def route_volumes(routes: pd.DataFrame, claims: pd.DataFrame, when, mode: str = CUMULATIVE) -> pd.DataFrame:
    """Each leg's (or flow's) reported volume on `when`, kept as a range across claimants.

    A leg is fed by the claims that list it in route_ids *and* carry its volume_metric.
    value_low / value_high are the smallest and largest standing figure among claimants
    (a claim's own upper bound counts toward value_high); a leg with no such claim has
    NaN volumes and n_claimants 0. Nothing is averaged. A claimant whose latest figure
    is more than CURRENT_WINDOW older than the newest one drops out of the range: it is
    overtaken in time, not overruled (the evidence panel still lists it).
    """
    rows = []
    for route in routes.itertuples():
        naming = claims[(claims["metric"] == route.volume_metric)
                        & claims["route_ids"].map(lambda ids, rid=route.id: rid in ids)]
        fed = latest_per_claimant(naming, when, mode)
        fed = fed[fed["as_of_date"] >= fed["as_of_date"].max() - CURRENT_WINDOW]
        highs = fed["value_high"].fillna(fed["value"])
        rows.append({
            "id": route.id,
            "metric": route.volume_metric or "",
            "unit": fed["unit"].iloc[0] if len(fed) else "",
            "value_low": float(fed["value"].min()) if len(fed) else np.nan,
            "value_high": float(highs.max()) if len(fed) else np.nan,
            "n_claimants": int(fed["claimant"].nunique()),
            "claimants": "; ".join(fed["claimant"]),
            "claim_ids": tuple(fed["id"]),
            "latest_as_of": fed["as_of_date"].max() if len(fed) else pd.NaT,
        })
    return pd.DataFrame(rows, columns=["id", "metric", "unit", "value_low", "value_high", "n_claimants",
                                       "claimants", "claim_ids", "latest_as_of"])


def disputed_claims(claims: pd.DataFrame, when, mode: str = CUMULATIVE) -> set[str]:
    """Ids of known claims that another claimant contradicts: same metric, as-of dates at most
    DISPUTE_WINDOW apart, different values. Figures further apart are a change over time,
    not a disagreement.
    """
    known = known_claims(claims, when, mode)
    disputed = set()
    for _, group in known.groupby("metric"):
        rows = list(group[["id", "claimant", "as_of_date", "value"]].itertuples(index=False))
        for i, a in enumerate(rows):
            for b in rows[i + 1:]:
                if a.claimant != b.claimant and a.value != b.value and \
                        abs(a.as_of_date - b.as_of_date) <= DISPUTE_WINDOW:
                    disputed |= {a.id, b.id}
    return disputed


def disputed_metrics(claims: pd.DataFrame, when, mode: str = CUMULATIVE) -> set[str]:
    ids = disputed_claims(claims, when, mode)
    return set(claims.loc[claims["id"].isin(ids), "metric"])


def default_date(claims: pd.DataFrame, events: pd.DataFrame) -> date:
    return max(claims["reported_date"].max(), events["date"].max()).date()
