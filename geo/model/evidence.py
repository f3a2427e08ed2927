"""The claims behind what the map shows: formatting, filters, headline figures and evidence lists."""
from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from geo.model import timeline

QUALIFIER_WORDS = {"about": "about ", "at_least": "at least ", "more_than": "more than ", "up_to": "up to "}
BASIS_LABELS = {
    "count": "count",
    "imagery_count": "imagery count",
    "capacity_estimate": "capacity estimate (a conversion of containers or tonnage), not a count",
    "estimate": "estimate",
    "official_statement": "official statement",
}

CAPACITY_LABEL = "capacity estimate, not a count"
UNVERIFIED_LABEL = "unverified"
# Grouping of claimants in the headline: each organisation on its own, or by government.
GROUPINGS = {"organisation": "claimant", "government": "government"}

# The headline figures beside the map: label -> metrics, in the order they are shown.
HEADLINES = {
    "Containers": ("containers_shipped_cumulative",),
    "Shells": ("artillery_shells_cumulative", "artillery_shells_capacity_152mm_equiv"),
    "Missiles": ("ballistic_missiles_delivered", "ballistic_missiles_fired_cumulative"),
    "Troops": ("troops_deployed",),
}


@dataclass(frozen=True)
class Filters:
    """Claim filters; an empty tuple means no filter on that field."""

    claimant_types: tuple[str, ...] = ()
    bases: tuple[str, ...] = ()
    families: tuple[str, ...] = ()

    def apply(self, claims: pd.DataFrame) -> pd.DataFrame:
        keep = pd.Series(True, index=claims.index)
        for column, allowed in (("claimant_type", self.claimant_types), ("basis", self.bases),
                                ("family", self.families)):
            if allowed:
                keep &= claims[column].isin(allowed)
        return claims[keep]

    def words(self) -> str:
        """The filters in force, in words ('' when none): what a slide names beside its figures."""
        named = (("claimant type", self.claimant_types, lambda v: v.replace("_", " ")),
                 ("basis", self.bases, lambda v: BASIS_LABELS.get(v, v).split(" (")[0]),
                 ("family", self.families, lambda v: v.replace("_", " ")))
        return "; ".join(f"{label}: {', '.join(map(say, values))}" for label, values, say in named if values)


def short_number(value: float) -> str:
    if value >= 1e9:
        return f"{value / 1e9:.3g} billion"
    if value >= 1e6:
        return f"{value / 1e6:.3g} million"
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"


def format_value(value: float, high: float | None = None, qualifier: str | None = None, unit: str = "") -> str:
    """A figure as its claimant stated it: '4 million–6 million rounds', 'more than 10,000 containers'."""
    text = short_number(value)
    if high is not None and pd.notna(high) and high != value:
        text = f"{text}–{short_number(high)}"
    words = QUALIFIER_WORDS.get(qualifier or "", "")
    if unit.startswith("multiple of "):  # '3 times the pre-summit level', not '3 multiple of pre-summit level'
        return f"{words}{text} times the {unit[len('multiple of '):]}"
    unit = "%" if unit == "percent" else f" {unit}" if unit else ""
    return f"{words}{text}{unit}"


def format_range(low: float, high: float, unit: str) -> str:
    if pd.isna(low):
        return "no reported volume"
    return format_value(low, high if high != low else None, None, unit)


def metric_words(metric: str) -> str:
    """A metric id as words: 'share_of_russian_missile_strikes_pct' -> 'Share of Russian missile strikes (%)'."""
    words = str(metric).replace("_", " ")
    for raw, nice in ((" pct", " (%)"), ("usd", "US$"), ("dprk", "North Korea"), ("russian", "Russian"),
                      ("mrl", "MRL"), ("spg", "SPG"), ("152mm", "152 mm"), ("170mm", "170 mm"), ("240mm", "240 mm")):
        words = words.replace(raw, nice)
    return words[:1].upper() + words[1:]


def is_capacity(claim) -> bool:
    return claim.get("basis") == "capacity_estimate" or claim.get("metric_kind") == "capacity_estimate"


def text_of(claim, column: str) -> str:
    value = claim.get(column, "")
    return "" if value is None or (isinstance(value, float) and pd.isna(value)) else str(value)


def claim_row(claim) -> dict:
    """One claim as the evidence panel and exports show it (plain text; escaping happens at output).
    `value` keeps the claimant's own hedge ("more than 20,000 containers")."""
    checked = claim.get("checked")
    return {
        "id": claim["id"],
        "metric": claim["metric"],
        "value": format_value(claim["value"], claim["value_high"], claim["qualifier"], claim["unit"]),
        "basis": BASIS_LABELS[claim["basis"]],
        "as_of": f"{claim['as_of_date']:%Y-%m-%d}",
        "published": f"{claim['reported_date']:%Y-%m-%d}",
        # When the claimant said it; a claim without a statement date (imported) was said when published.
        "said": day_of(claim.get("statement_date")) or f"{claim['reported_date']:%Y-%m-%d}",
        "claimant": claim["claimant"],
        "attribution": claim["attribution"],
        "claimant_type": claim["claimant_type"].replace("_", " "),
        "outlet": claim["outlet"],
        "url": claim["url"],
        "note": claim["note"],
        "qualifier": text_of(claim, "qualifier"),
        "capacity": is_capacity(claim),
        "government": text_of(claim, "government") or claim["claimant"],
        "agency": text_of(claim, "agency"),
        "verification": text_of(claim, "verification"),
        "checked": f"{checked:%Y-%m-%d}" if checked is not None and pd.notna(checked) else "",
        "checked_url": text_of(claim, "checked_url"),
        "restates": text_of(claim, "restates"),
        # Another copy of the same report credits another claimant: disputed between summaries.
        "claimant_alt": text_of(claim, "claimant_alt"),
        "alt_url": text_of(claim, "alt_url"),
        # The imported images the figure was read from (names, ;-separated; imported claims only).
        "images": text_of(claim, "images"),
        "source_file": text_of(claim, "source_file"),  # the analyst's file it was imported from; "" if bundled
    }


def day_of(value) -> str:
    return f"{value:%Y-%m-%d}" if value is not None and pd.notna(value) else ""


def headline_claims(claims: pd.DataFrame) -> pd.DataFrame:
    """The claims a headline may show: not marked unverified, and not a restatement of another row."""
    keep = pd.Series(True, index=claims.index)
    if "verification" in claims.columns:
        keep &= claims["verification"].fillna("") != "unverified"
    if "restates" in claims.columns:
        keep &= claims["restates"].fillna("") == ""
    return claims[keep]


def headline_standing(claims: pd.DataFrame, group_by: str = "organisation") -> timeline.Standing:
    """The headline's claims ranked per metric and organisation (or government)."""
    who = GROUPINGS.get(group_by, "claimant")
    shown = headline_claims(claims)
    if who not in shown.columns:  # imported claims alone carry no registry columns
        shown = shown.assign(government=shown["claimant"])
    return timeline.Standing(shown, who=who)


@dataclass
class Evidence:
    """Everything behind one map feature."""

    title: str
    description: str = ""
    claims: list[dict] = field(default_factory=list)
    disputed: set[str] = field(default_factory=set)  # ids of contradicted claims
    # claim id -> the claimants who contradict it but whose contradicting claims the filters hide
    hidden_disputants: dict[str, list[str]] = field(default_factory=dict)
    events: list[dict] = field(default_factory=list)
    source_url: str = ""
    voyages: list[dict] = field(default_factory=list)  # imported tracks that ran along the leg
    images: list[dict] = field(default_factory=list)  # imported images behind it: id, name, date, credit, level
    image_places: list[dict] = field(default_factory=list)  # places with a series of images: id, name, images
    # What the analyst's own tracks show (geo.view.ships): never a claim, never merged with one.
    facts: list[tuple[str, str]] = field(default_factory=list)  # label, value: a detection's or vessel's table
    sections: list[tuple[str, list[str]]] = field(default_factory=list)  # heading, plain lines
    cited: list[tuple[str, list[dict]]] = field(default_factory=list)  # heading, lines {text, outlet, url}
    derived: dict[str, str] = field(default_factory=dict)  # claim id -> what the imported tracks give beside it
    vessels: list[dict] = field(default_factory=list)  # {key, name}: vessel cards this panel leads to
    opens: list[dict] = field(default_factory=list)  # {sel, name}: features of the analyst's files under this one
    claims_heading: str = ""  # instead of "N claim(s) known by this date"
    no_claims: str | None = None  # instead of "No claim behind this feature ..." ('' says nothing)
    note: str = ""  # a line under the title, in italics: what kind of evidence this is


def voyages_along(near: pd.DataFrame | None, names: dict, leg_id: str, when, min_points: int = 3) -> list[dict]:
    """Imported tracks with at least `min_points` positions near a leg by the end of `when`'s day
    (tracks.tracks_near_legs rows), most positions first, counting only positions up to then: a
    voyage seen along the sea leg is evidence for it, and the panel never shows what came later."""
    if near is None or near.empty:
        return []
    _, until = timeline.track_window(when, None)  # positions up to the end of the day, none after
    out = []
    for r in near[near["leg_id"] == leg_id].itertuples():
        seen = r.times[r.times < until.to_datetime64()]
        if len(seen) >= min_points:
            out.append({"name": names.get(r.track_id, r.track_id), "n_points": int(len(seen)),
                        "first": f"{pd.Timestamp(seen[0]):%Y-%m-%d}", "last": f"{pd.Timestamp(seen[-1]):%Y-%m-%d}"})
    return sorted(out, key=lambda v: -v["n_points"])


def claims_behind(claims: pd.DataFrame, kind: str, feature_id: str, place_id: str) -> pd.DataFrame:
    """A route or flow rests on the claims that name it; anything else on the claims tied to its place."""
    if kind in ("route", "flow"):
        return timeline.claims_for(claims, feature_id)
    return claims[claims["place_id"] == place_id] if place_id else claims.iloc[0:0]


def evidence_for(data, kind: str, feature_id: str, place_id: str, when, filters: Filters = Filters()) -> Evidence:
    """Every claim (known by `when`, after filters) and every event behind a selected feature."""
    when = timeline.as_timestamp(when)
    behind = claims_behind(filters.apply(data.claims), kind, feature_id, place_id)
    known = timeline.known_claims(behind, when).sort_values(["metric", "as_of_date", "claimant", "id"])
    # Disputes count every claimant, filtered or not: a filter must not make a figure look settled.
    everyone = timeline.known_claims(claims_behind(data.claims, kind, feature_id, place_id), when)
    events = data.events[(data.events["place_id"] == place_id) & (data.events["date"] <= when)] \
        if place_id else data.events.iloc[0:0]
    title, description, url = describe(data, kind, feature_id)
    disputed = timeline.disputed_claims(everyone, when) & set(known["id"])
    hidden = {}  # who contradicts a claim with figures the filters hide: named, as the headline does
    for _, c in known[known["id"].isin(disputed)].iterrows():
        names = sorted(set(timeline.disputants(everyone, c, when)) - set(timeline.disputants(known, c, when)))
        if names:
            hidden[c["id"]] = names
    return Evidence(
        title=title, description=description, source_url=url,
        claims=[claim_row(c) for _, c in known.iterrows()],
        disputed=disputed, hidden_disputants=hidden,
        events=[{"date": f"{e.date:%Y-%m-%d}", "title": e.title, "description": e.description, "url": e.url}
                for e in events.sort_values("date").itertuples()],
    )


def describe(data, kind: str, feature_id: str) -> tuple[str, str, str]:
    """Name, description and source URL of a feature from whichever table holds it."""
    tables = {"route": (data.routes, "source_url"), "flow": (data.flows, None), "area": (data.areas, "source_url"),
              "event": (data.events, "url"), "strike": (data.events, "url")}
    frame, url_column = tables.get(kind, (data.places, "source_url"))
    rows = frame[frame["id"] == feature_id]
    if kind == "railcars":
        rows = data.claims[data.claims["id"] == feature_id]
        if len(rows):
            row = rows.iloc[0]
            return f"Railcars seen: {row['claimant']}", row["note"], row["url"]
    if rows.empty:
        return feature_id, "", ""
    row = rows.iloc[0]
    name = row.get("name", None) if "name" in row else row.get("title", feature_id)
    text = row.get("description", "")
    url = (row.get(url_column) or "") if url_column else ""
    return str(name), str(text), str(url)


def headline(claims: pd.DataFrame, when, mode: str = timeline.CUMULATIVE,
             standing: timeline.Standing | None = None, group_by: str = "organisation",
             all_claims: pd.DataFrame | None = None) -> dict[str, list[dict]]:
    """The standing claims for each headline figure, one per organisation (group_by
    "organisation") or per government ("government": a government's agencies are one voice,
    its latest figure standing, and the row names the agency that gave it), largest first.
    Unverified claims and restatements never stand in a headline.
    `standing` is headline_standing(claims, group_by), ranked once to reuse across dates.

    Disputes are judged against `all_claims` (the claims before any filter, when given), so a
    filter never hides that a figure is contested: the claim keeps its ⚠ mark, and
    `hidden_disputants` names the claimants the filters hide."""
    index = standing or headline_standing(claims, group_by)
    who = GROUPINGS.get(group_by, "claimant")
    known = sorted((index.records[i] for i in index.on(when, mode)),
                   key=lambda c: (c["metric"], -c["value"], c.get(who) or c["claimant"]))
    everyone = claims if all_claims is None else all_claims
    disputed = timeline.disputed_claims(everyone, when, mode)
    shown = set(claims["claimant"])
    out = {}
    for label, metrics in HEADLINES.items():
        rows = []
        for c in (c for c in known if c["metric"] in metrics):
            row = dict(claim_row(c), disputed=c["id"] in disputed, hidden_disputants=[])
            if row["disputed"] and all_claims is not None:
                row["hidden_disputants"] = sorted(set(timeline.disputants(everyone, c, when, mode)) - shown)
            rows.append(row)
        out[label] = rows
    return out
