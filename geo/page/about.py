"""The About and method panel: what the dashboard shows, its sources, and its words, each with
an example taken from the dataset (never a figure written here). Markdown; every string from
the data goes through geo.page.text.plain."""
from __future__ import annotations

import pandas as pd

from geo.model import timeline
from geo.model.evidence import format_value
from geo.page.text import plain
from geo.view.claims_table import metric_label


def claim_words(c) -> str:
    """'about 20,000 containers (Containers shipped cumulative), US and South Korean officials, as of
    2024-12-22, published 2024-12-23 by Evrim Agaci: claim S003', escaped for Markdown."""
    value = format_value(c["value"], c["value_high"], c["qualifier"], c["unit"])
    return plain(f"{value} ({metric_label(c['metric'])}), {c['claimant']}, as of {c['as_of_date']:%Y-%m-%d}, "
                 f"published {c['reported_date']:%Y-%m-%d} by {c['outlet']}: claim {c['id']}")


def examples(data) -> dict[str, str]:
    """One claim or leg from the dataset for each word the page uses ('' when none exists)."""
    claims = data.claims.sort_values(["reported_date", "id"])
    out = {}
    capacity = claims[claims["basis"] == "capacity_estimate"]
    out["capacity"] = claim_words(capacity.iloc[0]) if len(capacity) else ""
    unverified = claims[claims["verification"] == "unverified"]
    out["unverified"] = claim_words(unverified.iloc[0]) if len(unverified) else ""
    last = claims["reported_date"].max()
    disputed = timeline.disputed_claims(claims, last)
    hits = claims[claims["id"].isin(disputed) & (claims["metric"] == "troops_deployed")]
    hits = hits if len(hits) else claims[claims["id"].isin(disputed)]
    out["disputed"] = claim_words(hits.iloc[0]) if len(hits) else ""
    standing = claims[(claims["metric"] == "containers_shipped_cumulative") & (claims["verification"] != "unverified")
                      & (claims["restates"].fillna("") == "")]
    out["standing"] = claim_words(standing.iloc[-1]) if len(standing) else ""
    inferred = data.routes[data.routes["status"] == "inferred"]
    out["inferred"] = plain(f"{inferred.iloc[0]['name']} ({inferred.iloc[0]['id']})") if len(inferred) else ""
    return out


def wsj_claims(data) -> pd.DataFrame:
    """The rows from The Wall Street Journal's report of December 2024 (ids S…)."""
    return data.claims[data.claims["id"].str.startswith("S")].sort_values("id")


def about_markdown(data) -> str:
    ex = examples(data)
    outlets = data.claims["outlet"].nunique()
    claimants = data.claims["claimant"].nunique()
    wsj = wsj_claims(data)
    wsj_lines = "\n".join(f"  - {claim_words(c)}" for _, c in wsj.iterrows())
    return f"""
**What this shows.** The reported flow of munitions, missiles and troops from North Korea to Russia,
on a map and over time. Nothing here is measured by the dashboard: every figure is a *claim*,
shown with who made it, the date it describes (*as of*), the date it was published, the outlet
it was read in and a link. Claimants are never averaged or merged; when they disagree both are shown.

**Sources.** {len(data.claims)} claims from {claimants} claimants, read in {outlets} outlets, and
{len(data.events)} dated events. Among them, The Wall Street Journal's report of December 2024
(claims S001 to S{len(wsj):03d}, read through the summaries cited on each row):
{wsj_lines}

**Words used on the map and in the panels**
- **standing**: the figure that counts for a claimant on a date: its latest verified claim for
  that metric, not a restatement of another row. The headline lists one standing figure per
  claimant. Example: {ex['standing'] or 'none in the data'}.
- **⚠ disputed**: another claimant gave a different figure for the same metric with an as-of
  date within a month of it; both stand, neither is chosen. Example: {ex['disputed'] or 'none in the data'}.
- **capacity estimate**: a conversion (containers or tonnage into shells), not a count; shown
  apart from counts. Example: {ex['capacity'] or 'none in the data'}.
- **unverified**: no stored copy of the source confirmed the figure, its hedge and dates; it is
  listed in panels and the table but never stands in the headline. Example:
  {ex['unverified'] or 'none in the data'}.
- **inferred routing** (dashed line): a leg that no source traces; the route is the likely
  railway or sea lane between two reported points. Example: {ex['inferred'] or 'none in the data'}.

**How to use it.** Pick a month (or press ← →), click any line, arc, dot or area for the claims
behind it, or open *National totals* for figures with no place. *Every claim* lists them all;
the search box finds places, claimants, outlets, metrics, events and figures.
"""
