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


DUPLICATE_DAYS = 7


def hedge_in(note: str) -> str | None:
    match = HEDGE_RE.search(note or "")
    return match.group(1).lower() if match else None


def check_claims(claims: list[dict], rows: list[int], filename: str = "claims.csv", metrics=(),
                 bundled_ids: frozenset = frozenset()) -> list[Problem]:
    """Every rule a claim is held to, bundled or imported: one function, called by
    `python -m geo validate` (geo.data.dataset.check) and by the importer (geo.imports.recognise).
    `claims` are parsed records (geo.data.validate.parse_table), `rows` their line numbers in
    `filename`; `bundled_ids` are ids an imported claim may not take."""
    problems = []
    metric = {m["id"]: m for m in metrics if m.get("id")}
    for record, row in zip(claims, rows):
        if record.get("id") in bundled_ids:
            problems.append(Problem(filename, row, "id", f"id {record['id']!r} is a bundled claim's id: give your "
                                                         "claims ids of their own"))
        low, high = record.get("value"), record.get("value_high")
        if low is not None and high is not None and high < low:
            problems.append(Problem(filename, row, "value_high", f"upper value {high:g} is below value {low:g}"))
        as_of, reported = record.get("as_of_date"), record.get("reported_date")
        if as_of and reported and as_of > reported:
            problems.append(Problem(filename, row, "as_of_date",
                                    f"as-of date {as_of} is after the publication date {reported}"))
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
    problems += check_duplicates(claims, rows, filename)
    return problems


def check_duplicates(claims: list[dict], rows: list[int], filename: str = "claims.csv") -> list[Problem]:
    """Same claimant, metric and value with as-of dates at most DUPLICATE_DAYS apart is one claim
    stored twice, unless one row says it restates the other."""
    problems, groups = [], {}
    for record, row in zip(claims, rows):
        if record.get("claimant") and record.get("metric") and record.get("value") is not None \
                and record.get("as_of_date"):
            groups.setdefault((record["claimant"], record["metric"], record["value"]), []).append((record, row))
    for rows in groups.values():
        for i, (a, row_a) in enumerate(rows):
            for b, row_b in rows[:i]:
                if abs((a["as_of_date"] - b["as_of_date"]).days) > DUPLICATE_DAYS:
                    continue
                if a.get("restates") == b["id"] or b.get("restates") == a["id"]:
                    continue
                problems.append(Problem(filename, row_a, "restates",
                                        f"same claimant, metric and value as {b['id']} (row {row_b}) within "
                                        f"{DUPLICATE_DAYS} days: one claim stored twice? Set restates to "
                                        f"{b['id']!r} if this row restates it"))
    return problems


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
    columns = list(like.columns) + [c for c in ("source_file",) if c not in like.columns]
    return registry.reindex(columns=[c for c in columns if c != "geometry"])
