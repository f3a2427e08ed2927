"""One claim model: a claim has one shape and one set of rules, whether it came with the
dashboard or from an analyst's file.

`check_claims` holds every rule (the validator and the importer both call it) and
`with_registries` / `complete_imported` give every claim the same loaded shape: registry
words joined in (claimant name and type, government, agency, family, metric kind), `checked`
a date or missing, a caveat spelled out, and `source_file` ("" for bundled claims).
"""
from __future__ import annotations

import re

import pandas as pd

from geo.data.validate import Problem

# Words by which a source hedges a figure: a note using one needs a qualifier.
HEDGES = ("more than", "over", "about", "around", "at least", "up to", "nearly", "roughly", "approximately",
          "almost", "no fewer than", "as many as", "some")


HEDGE_RE = re.compile(r"\b(" + "|".join(h.replace(" ", r"\s+") for h in HEDGES) + r")\s+(?:\$|US\$)?(?:\d|(?:one|two|three|four|five|six|seven|eight|nine|ten|half|a (?:million|"
                      r"billion|thousand|hundred|dozen|third|quarter|half))\b)",
                      re.IGNORECASE)


# Restatements (data/README.md): the same claimant, metric and value said again within RESTATE_DAYS,
# or the same figure credited to several agencies of one government within GOVERNMENT_DAYS, is one
# assessment: every such pair must be linked through `restates` (both lead back to one original row).
RESTATE_DAYS = 31
GOVERNMENT_DAYS = 14

# Words by which a source attributes a figure to nobody in particular. A claim so attributed belongs to
# a generic claimant ("Ukrainian intelligence (unspecified)") or a government, never to one agency,
# unless the attribution also names that agency.
GENERIC_ATTRIBUTION = re.compile(r"\b(?:unnamed|unidentified|anonymous|unspecified)\b|"
                                 r"\ban?\s+(?:[A-Z][a-z]+\s+)?intelligence\s+assessment\b|"
                                 r"\bintelligence\s+sources\b", re.IGNORECASE)
GENERIC_NAME = re.compile(r"\((?:unspecified|unnamed)\)\s*$")


def hedge_in(note: str) -> str | None:
    match = HEDGE_RE.search(note or "")
    return match.group(1).lower() if match else None


def check_claims(claims: list[dict], rows: list[int], filename: str = "claims.csv", metrics=(),
                 bundled_ids: frozenset = frozenset(), claimants=()) -> list[Problem]:
    """Every rule a claim is held to, bundled or imported: one function, called by
    `python -m geo validate` (geo.data.dataset.check) and by the importer (geo.imports.recognise).
    `claims` are parsed records (geo.data.validate.parse_table), `rows` their line numbers in
    `filename`; `bundled_ids` are ids an imported claim may not take; `claimants` the registry's
    parsed records (for the generic-claimant and one-government restatement rules)."""
    problems = []
    metric = {m["id"]: m for m in metrics if m.get("id")}
    registry = {c["id"]: c for c in claimants if c.get("id")}
    for record, row in zip(claims, rows):
        if record.get("id") in bundled_ids:
            problems.append(Problem(filename, row, "id", f"id {record['id']!r} is a bundled claim's id: give your "
                                                         "claims ids of their own"))
        low, high = record.get("value"), record.get("value_high")
        if low is not None and high is not None and high < low:
            problems.append(Problem(filename, row, "value_high", f"upper value {high:g} is below value {low:g}"))
        as_of, reported = record.get("as_of_date"), record.get("reported_date")
        said = record.get("statement_date")
        if as_of and reported and as_of > reported:
            problems.append(Problem(filename, row, "as_of_date",
                                    f"as-of date {as_of} is after the publication date {reported}"))
        if said and as_of and said < as_of:
            problems.append(Problem(filename, row, "statement_date",
                                    f"statement date {said} is before the as-of date {as_of}: a figure cannot "
                                    "describe a day after it was stated (a plan or forecast is dated as of "
                                    "its statement)"))
        if said and reported and said > reported:
            problems.append(Problem(filename, row, "statement_date",
                                    f"statement date {said} is after the publication date {reported}"))
        if record.get("claimant_alt") and record.get("claimant_alt") == record.get("claimant"):
            problems.append(Problem(filename, row, "claimant_alt",
                                    "claimant_alt repeats the claimant: name the claimant the other copy credits"))
        if bool(record.get("claimant_alt")) != bool(record.get("alt_url")):
            column, what = (("alt_url", "the copy that credits claimant_alt") if record.get("claimant_alt")
                            else ("claimant_alt", "the claimant the copy at alt_url credits"))
            problems.append(Problem(filename, row, column, f"a disputed claimant needs {what}"))
        problem = specific_claimant_problem(record, registry)
        if problem:
            problems.append(Problem(filename, row, "claimant", problem))
        m = metric.get(record.get("metric"))
        if m and record.get("unit") and record["unit"] != m["unit"]:
            problems.append(Problem(filename, row, "unit", f"unit {record['unit']!r} differs from metric "
                                                               f"{m['id']!r}'s unit {m['unit']!r}"))
        if m and record.get("basis"):
            capacity_metric = m["kind"] == "capacity_estimate"
            if (record["basis"] == "capacity_estimate") != capacity_metric:
                problems.append(Problem(filename, row, "basis",
                                        f"basis {record['basis']!r} in {m['kind']} metric {m['id']!r}: capacity "
                                        "estimates belong in capacity metrics only, and only they do"))
        hedge = hedge_in(record.get("note"))
        if hedge and not record.get("qualifier"):
            problems.append(Problem(filename, row, "qualifier",
                                    f"the note hedges ({hedge!r}) but qualifier is empty"))
        if record.get("verification") == "verified" and not (record.get("checked") and record.get("checked_url")):
            problems.append(Problem(filename, row, "checked",
                                    "a verified claim needs the date (checked) and the page (checked_url) it "
                                    "was read against"))
        if record.get("checked") and reported and record["checked"] < reported:
            problems.append(Problem(filename, row, "checked",
                                    f"checked {record['checked']} before it was published ({reported})"))
    problems += check_duplicates(claims, rows, filename, claimants)
    return problems


def is_generic(claimant: dict | None) -> bool:
    """A claimant that names nobody in particular: a "(unspecified)" or "(unnamed)" registry entry, a
    top organisation (a government, unnamed Western intelligence) or a joint attribution."""
    if not claimant:
        return True
    return bool(GENERIC_NAME.search(claimant.get("name") or "")) or len(claimant.get("parent") or ()) != 1


def names_agency(attribution: str, claimant: dict) -> bool:
    """Does the attribution name the agency itself (its acronym in brackets, or its full name)?"""
    name = claimant.get("name") or ""
    short = re.findall(r"\(([A-Z][A-Za-z]{1,9})\)", name)
    full = re.sub(r"\s*\([^)]*\)", "", name).strip()
    return any(re.search(rf"\b{re.escape(a)}\b", attribution) for a in short) or \
        (bool(full) and full.lower() in attribution.lower())


def specific_claimant_problem(record: dict, registry: dict) -> str | None:
    """A generic attribution ("unnamed officials", "a Ukrainian intelligence assessment") filed under one
    specific agency the attribution does not name: as far as a rule can tell, the claimant was inferred."""
    claimant = registry.get(record.get("claimant"))
    attribution = record.get("attribution") or ""
    found = GENERIC_ATTRIBUTION.search(attribution)
    if not found or claimant is None or is_generic(claimant) or names_agency(attribution, claimant):
        return None
    return (f"attribution {found.group(0)!r} names no agency, yet the claimant is {claimant['id']!r}: file it "
            "under a generic claimant (\"... (unspecified)\") or the government, or name the agency the source "
            "names in attribution")


def origin(record: dict, by_id: dict) -> str:
    """The row a restatement chain leads back to (a row that restates nothing is its own origin)."""
    seen, at = set(), record
    while at.get("restates") and at["restates"] in by_id and at["id"] not in seen:
        seen.add(at["id"])
        at = by_id[at["restates"]]
    return at["id"]


def check_duplicates(claims: list[dict], rows: list[int], filename: str = "claims.csv",
                     claimants=()) -> list[Problem]:
    """The restatement rule, across the whole file: two rows with the same claimant, metric and value
    (and upper value; the hedge may differ, as speakers word one figure differently) stated at most
    RESTATE_DAYS apart, or the same metric and value from agencies of one government at most
    GOVERNMENT_DAYS apart, are one assessment; they must be linked through `restates` (one names
    the other, or both lead back to the same row). Dates are statement dates (as-of when missing)."""
    top = governments_of(claimants)
    by_id = {r["id"]: r for r in claims if r.get("id")}
    problems, groups = [], {}
    for record, row in zip(claims, rows):
        when = record.get("statement_date") or record.get("as_of_date")
        if record.get("claimant") and record.get("metric") and record.get("value") is not None and when:
            key = (record["metric"], record["value"], record.get("value_high"))
            groups.setdefault(key, []).append((record, row, when))
    for members in groups.values():
        for i, (a, row_a, when_a) in enumerate(members):
            for b, row_b, when_b in members[:i]:
                gap = abs((when_a - when_b).days)
                same = a["claimant"] == b["claimant"]
                one_government = not same and top.get(a["claimant"], a["claimant"]) == \
                    top.get(b["claimant"], b["claimant"])
                if not ((same and gap <= RESTATE_DAYS) or (one_government and gap <= GOVERNMENT_DAYS)):
                    continue
                if origin(a, by_id) == origin(b, by_id):
                    continue
                # The later statement is the restatement: report it, naming the earlier.
                (later, at), (first, first_at) = ((b, row_b), (a, row_a)) if when_b > when_a else \
                    ((a, row_a), (b, row_b))
                why = (f"same claimant, metric and value as {first['id']} (row {first_at}) stated within "
                       f"{RESTATE_DAYS} days" if same else
                       f"same metric and value as {first['id']} (row {first_at}) from another agency of the same "
                       f"government within {GOVERNMENT_DAYS} days")
                problems.append(Problem(filename, at, "restates",
                                        f"{why}: one assessment stored twice? Set restates to {first['id']!r} if "
                                        f"{later['id']} restates it"))
    return problems


def governments_of(claimants) -> dict[str, str]:
    """governments() for parsed registry records (a list of dicts)."""
    if not claimants:
        return {}
    return governments(pd.DataFrame.from_records(
        [{"id": c["id"], "parent": tuple(c.get("parent") or ())} for c in claimants if c.get("id")]))


def governments(claimants: pd.DataFrame) -> dict[str, str]:
    """Each claimant's top organisation: follow a single parent up to the root. A joint
    claimant (two parents) is its own top, never silently filed under one of them."""
    parent = {r.id: r.parent for r in claimants.itertuples()}
    top = {}
    for cid in parent:
        at, seen = cid, set()
        while len(parent.get(at, ())) == 1 and at not in seen:
            seen.add(at)
            at = parent[at][0]
        top[cid] = at
    return top


def with_registries(claims: pd.DataFrame, claimants: pd.DataFrame, metrics: pd.DataFrame) -> pd.DataFrame:
    """Claims with the registries' words joined in. `claimant_id` keeps the registry id and
    `claimant` becomes the organisation's name, so everything that groups or prints by claimant
    works on organisations; `government` and `government_id` name its top organisation and
    `agency` the claimant itself when it is not that top (for "group by government").
    `family` and `metric_kind` come from the metric, `claimant_type` from the claimant."""
    name = dict(zip(claimants["id"], claimants["name"]))
    kind = dict(zip(claimants["id"], claimants["type"]))
    top = governments(claimants)
    out = claims.rename(columns={"claimant": "claimant_id"})
    ids = out["claimant_id"]
    out.insert(out.columns.get_loc("claimant_id") + 1, "claimant", ids.map(name))
    out["claimant_type"] = ids.map(kind)
    out["government_id"] = ids.map(top)
    out["government"] = out["government_id"].map(name)
    out["agency"] = [n if t != c else "" for n, t, c in zip(out["claimant"], out["government_id"], ids)]
    if "claimant_alt" in out.columns:  # the claimant another copy credits, by name like claimant
        alt = out["claimant_alt"].astype(object).fillna("").astype(str).astype(object)
        out["claimant_alt_id"] = alt
        out["claimant_alt"] = pd.Series([name.get(a, a) if a else "" for a in alt], index=out.index, dtype=object)
    out["family"] = out["metric"].map(dict(zip(metrics["id"], metrics["family"])))
    out["metric_kind"] = out["metric"].map(dict(zip(metrics["id"], metrics["kind"])))
    # Spelled out for exports and tooltips: what the figure is not.
    out["caveat"] = ["; ".join(w for w, on in (("capacity estimate, not a count", k == "capacity_estimate"),
                                               ("unverified", v == "unverified")) if on)
                     for k, v in zip(out["metric_kind"], out["verification"])]
    # Plain Python strings, as frame() keeps them (cheaper to sort and take than Arrow strings).
    for column in ("claimant", "claimant_type", "government_id", "government", "agency", "family", "metric_kind",
                   "caveat"):
        out[column] = out[column].astype(object).fillna("")
    return out



IMPORTED_SOURCE = "imported"  # claimant_type of an imported claimant the file does not type


def complete_imported(frame: pd.DataFrame, claimants: pd.DataFrame, metrics: pd.DataFrame,
                      like: pd.DataFrame) -> pd.DataFrame:
    """Imported claims (the importer's columns) in the loaded shape of `like`, the bundled claims.

    A claimant that is a registry id or name takes the registry's words; any other claimant is an
    organisation of its own: its own government, so grouping by government never merges it with
    another. The metric's family and kind come from the registry when it knows the metric, else
    from the file (family) and the basis (kind). `checked` is the file's own, or missing."""
    if frame.empty:
        return like.iloc[0:0].copy()
    out = pd.DataFrame(frame).copy()
    by_name = dict(zip(claimants["name"], claimants["id"]))
    given = out["claimant"].fillna("").astype(str)
    ids = [c if c in set(claimants["id"]) else by_name.get(c, "") for c in given]
    known = pd.Series([bool(i) for i in ids], index=out.index)
    registry = with_registries(out.assign(claimant=[i or "-" for i in ids], verification=out.get("verification", "")),
                               claimants, metrics)
    text = {"claimant": given, "claimant_type": out.get("claimant_type", pd.Series("", index=out.index)),
            "government": given, "government_id": given, "agency": pd.Series("", index=out.index),
            "claimant_id": given}
    for column, own in text.items():
        registry[column] = registry[column].where(known, own.fillna("").astype(str))
    registry["claimant_type"] = registry["claimant_type"].replace("", IMPORTED_SOURCE)
    family = out["family"] if "family" in out.columns else pd.Series("", index=out.index)
    registry["family"] = registry["family"].where(registry["family"] != "", family.fillna("").astype(str))
    kind = registry["metric_kind"]
    registry["metric_kind"] = kind.where(kind != "", ["capacity_estimate" if b == "capacity_estimate" else "count"
                                                      for b in out["basis"]])
    # The analyst's own record of reading it, when the file keeps one (a date, or missing).
    registry["checked"] = pd.to_datetime(out["checked"] if "checked" in out.columns else pd.NaT,
                                         errors="coerce").astype("datetime64[s]")
    for column in ("checked_url", "restates", "verification"):
        if column not in out.columns:
            registry[column] = ""
    registry["caveat"] = ["; ".join(w for w, on in (("capacity estimate, not a count", k == "capacity_estimate"),
                                                    ("unverified", v == "unverified"), ("imported", True)) if on)
                          for k, v in zip(registry["metric_kind"], registry["verification"])]
    registry["source_file"] = out["source_file"].fillna("").astype(str) if "source_file" in out.columns else ""
    # The images a claim was read from (names, ;-separated): only imported claims name them.
    registry["images"] = out["images"].fillna("").astype(str) if "images" in out.columns else ""
    columns = list(like.columns) + [c for c in ("source_file", "images") if c not in like.columns]
    return registry.reindex(columns=[c for c in columns if c != "geometry"])
