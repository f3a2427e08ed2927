"""Sanctioned vessels from imported lists: which of our vessels a list names, with list and date.

A list is imported like any file (`python -m geo import maritime.csv`, or the page's importer)
as a batch of kind `vessels`: OpenSanctions' maritime CSV or FollowTheMoney `Vessel` entities
with their `Sanction`s, read by geo.imports.vesselfiles into one row per vessel (name, imo,
mmsi, flag, aliases, sanctioned, lists, authorities, programs, sanction_date, sanction_dates,
topics, entity_id, url, first_seen, last_change). A workspace returns them with
`features("vessels")`, a batch removed takes them away again.

A list's row is matched to a vessel by IMO number, else by MMSI, else by name or alias. A match
by name alone is kept but marked: many ships share a name, so it never marks a vessel
sanctioned on its own.
"""
from __future__ import annotations

import pandas as pd

from geo.data.vessels import folded
from geo.imports import importer
from geo.imports.vesselfiles import split as values

NAME_CAVEAT = "matched by name only: another ship may bear the same name"


def read_sanctions(source, filename: str | None = None, strict: bool = False) -> pd.DataFrame:
    """A vessel list read by the importer, as the rows a workspace would store (raises
    geo.imports.filecheck.ImportProblem, one line, for a file that is not one)."""
    result = importer.read_file(source, filename=filename, kind="vessels", strict=strict)
    return pd.DataFrame(result.frame.drop(columns=result.frame.geometry.name)).assign(source_file=result.filename)


def vessel_rows(features) -> pd.DataFrame:
    """The rows of kind vessels among a workspace's features (or a frame from read_sanctions)."""
    if features is None or len(features) == 0:
        return pd.DataFrame()
    frame = pd.DataFrame(features)
    if "kind" in frame.columns:
        frame = frame[frame["kind"] == "vessels"]
    if "geometry" in frame.columns:
        frame = frame.drop(columns="geometry")
    return frame


def is_true(value) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1", "yes")
    return bool(value) and value == value


def day_text(value) -> str:
    if value is None or value is pd.NaT or (isinstance(value, float) and value != value) or value == "":
        return ""
    try:
        return f"{pd.Timestamp(value):%Y-%m-%d}"
    except (ValueError, TypeError):
        return str(value)


def sanctions_for(features, imos=(), mmsis=(), names=()) -> list[dict]:
    """The sanctioned rows of imported lists that name a vessel with these IMO numbers, MMSIs or
    names: list, authority, programs, date (earliest full date, or ''), dates (as the list gives
    them), name (as the list has it), matched_by ('imo', 'mmsi' or 'name'), caveat (for a name
    match), file, batch_id, url, source 'import'."""
    rows = vessel_rows(features)
    if rows.empty:
        return []
    imos, mmsis = set(imos), set(mmsis)
    wanted = {folded(n) for n in names if str(n).strip()}
    out = []
    for record in rows.to_dict("records"):
        if not is_true(record.get("sanctioned")):
            continue
        if imos & set(values(record.get("imo"))):
            how = "imo"
        elif mmsis & set(values(record.get("mmsi"))):
            how = "mmsi"
        elif wanted & {folded(n) for n in [record.get("name") or ""] + values(record.get("aliases")) if n}:
            how = "name"
        else:
            continue
        date = record.get("sanction_date", record.get("date"))
        out.append({
            "list": ";".join(values(record.get("lists"))), "authority": ";".join(values(record.get("authorities"))),
            "programs": ";".join(values(record.get("programs"))), "date": day_text(date),
            "dates": ";".join(values(record.get("sanction_dates"))), "name": str(record.get("name") or ""),
            "matched_by": how, "caveat": NAME_CAVEAT if how == "name" else "",
            "file": str(record.get("source_file") or ""), "batch_id": record.get("batch_id"),
            "url": str(record.get("url") or ""), "source": "import", "sanctioned": how != "name",
        })
    return out


def mark_sanctioned(registry, features) -> pd.DataFrame:
    """One row per registry vessel: vessel_id, name, imo, sanctioned (by an imported list, matched
    by IMO or MMSI), lists, authorities, date (the earliest full date), matched_by, and
    name_matches (rows that match by name alone, never counted as a sanction)."""
    rows = []
    for vessel_id, name in zip(registry.vessels["id"], registry.vessels["name"]):
        facts = registry.facts[registry.facts["vessel_id"] == vessel_id]
        imos = sorted(set(facts.loc[facts["field"] == "imo", "value"].dropna()))
        mmsis = sorted(set(facts.loc[facts["field"] == "mmsi", "value"].dropna()))
        found = sanctions_for(features, imos, mmsis, registry.names_of(vessel_id))
        firm = [s for s in found if s["sanctioned"]]
        dates = sorted(s["date"] for s in firm if s["date"])
        rows.append({
            "vessel_id": vessel_id, "name": name, "imo": imos[0] if imos else "", "sanctioned": bool(firm),
            "lists": ";".join(dict.fromkeys(v for s in firm for v in values(s["list"]))),
            "authorities": ";".join(dict.fromkeys(v for s in firm for v in values(s["authority"]))),
            "date": dates[0] if dates else "", "matched_by": ";".join(dict.fromkeys(s["matched_by"] for s in firm)),
            "name_matches": sum(1 for s in found if not s["sanctioned"]),
        })
    return pd.DataFrame(rows)
