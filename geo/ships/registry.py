"""The vessel registry: who a track is, by IMO number or MMSI, on the day of the track.

data/vessels.csv names each vessel once; data/vessel_facts.csv holds every fact about it (IMO,
MMSI, names, former names, flags, owners, sanctions), one per row, each valid over an optional
interval [valid_from, valid_to) and cited with the page it was read in and a verbatim quote.
A ship keeps its IMO number for life, but its name, flag and MMSI change: `vessel_for` answers
with the facts in force on the day asked, so a track of an MMSI that a ship gave up is not
joined to it, and the name shown is the one the ship bore then.

`vessel_card` puts together what the page shows for one vessel: identity over time with
sources, sanctions (the registry's own, cited, and those of imported sanction lists), the
detections of the workspace's tracks that concern it, and the claims whose text names it.
Everything in a card is plain text from the files; the page escapes it.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import pandas as pd

from geo.data import dataset, schema
from geo.data.dataset import DataError
from geo.data.validate import parse_table, read_raw
from geo.data.vessels import check_vessels, folded, imo_number, mmsi_number
from geo.ships import sanctions as sanction_lists

IDENTITY_FIELDS = ("name", "former_name", "imo", "mmsi", "flag", "home_port", "type", "built", "owner", "operator",
                   "manager", "linked_company")
FACT_COLUMNS = ("id", "field", "value", "valid_from", "valid_to", "authority", "outlet", "url", "read", "quote",
                "note")
# Claim columns searched for a vessel's names.
CLAIM_TEXT_COLUMNS = ("note", "attribution", "outlet")


@dataclass(frozen=True)
class Registry:
    """The vessels (id, name, note) and their facts (vessel_id, field, value, valid_from,
    valid_to as Timestamps or NaT, authority, outlet, url, read, quote, note)."""

    vessels: pd.DataFrame
    facts: pd.DataFrame

    def vessel_for(self, mmsi=None, imo=None, when=None) -> dict | None:
        """The vessel a track belongs to: by IMO number first (a ship keeps it for life), else
        by the MMSI it used on `when` (any time when `when` is None). None if no vessel matches.

        The answer: vessel_id, name and flag in force on `when` (the registry's name when no
        dated name covers it), imo, mmsi, and matched_by ('imo' or 'mmsi')."""
        stamp = None if when is None else day_of(when)
        wanted_imo = imo_number(imo) if imo not in (None, "") else None
        if wanted_imo:
            found = self.facts_in_force("imo", stamp, value=wanted_imo)
            if len(found):
                return self.identity(found["vessel_id"].iloc[0], stamp, "imo")
        wanted_mmsi = mmsi_number(str(mmsi).split(".")[0]) if mmsi not in (None, "") else None
        if wanted_mmsi:
            found = self.facts_in_force("mmsi", stamp, value=wanted_mmsi)
            if len(found):
                return self.identity(found["vessel_id"].iloc[0], stamp, "mmsi")
        return None

    def join(self, rows: pd.DataFrame, time_column: str = "start") -> pd.DataFrame:
        """The registry vessel of each row of a track or of its detections (columns mmsi, imo and
        a time), on that row's own day, as vessel_for answers: by the IMO number when the row
        carries one the registry holds in force then (whatever its MMSI), else by the MMSI in force
        that day, so the rows of an MMSI that passed from one ship to another join each to its own.
        Columns vessel_id, name (the one the ship bore that day) and matched_by; '' where none."""
        out = pd.DataFrame({"vessel_id": "", "name": "", "matched_by": ""}, index=rows.index)
        seen: dict = {}
        for i, mmsi, imo, when in zip(rows.index, rows.get("mmsi", pd.Series("", index=rows.index)),
                                      rows.get("imo", pd.Series("", index=rows.index)), rows[time_column]):
            mmsi = "" if mmsi is None or mmsi != mmsi else str(mmsi).strip()
            imo = "" if imo is None or imo != imo else str(imo).strip()
            day = None if pd.isna(when) else day_of(when).normalize()
            key = (mmsi, imo, day)
            if key not in seen:
                seen[key] = self.vessel_for(mmsi=mmsi or None, imo=imo or None, when=when if day is not None else None)
            found = seen[key]
            if found:
                out.loc[i] = [found["vessel_id"], found["name"], found["matched_by"]]
        return out

    def facts_in_force(self, field: str, when: pd.Timestamp | None, value: str | None = None,
                       vessel_id: str | None = None) -> pd.DataFrame:
        facts = self.facts[self.facts["field"] == field]
        if value is not None:
            facts = facts[facts["value"] == value]
        if vessel_id is not None:
            facts = facts[facts["vessel_id"] == vessel_id]
        if when is None:
            return facts
        starts, ends = facts["valid_from"], facts["valid_to"]
        return facts[(starts.isna() | (starts <= when)) & (ends.isna() | (when < ends))]

    def value_on(self, vessel_id: str, field: str, when: pd.Timestamp | None) -> str:
        """The value of a field in force on `when`: a fact whose interval (either end given)
        covers it, the latest start winning, else an undated one; '' when none."""
        facts = self.facts_in_force(field, when, vessel_id=vessel_id)
        if facts.empty:
            return ""
        bounded = facts[facts["valid_from"].notna() | facts["valid_to"].notna()]
        if when is not None and len(bounded):
            facts = bounded
        return str(facts.sort_values(["valid_from", "id"], na_position="first")["value"].iloc[-1])

    def identity(self, vessel_id: str, when: pd.Timestamp | None, matched_by: str) -> dict:
        row = self.vessels[self.vessels["id"] == vessel_id].iloc[0]
        return {
            "vessel_id": vessel_id,
            "name": self.value_on(vessel_id, "name", when) or str(row["name"]),
            "flag": self.value_on(vessel_id, "flag", when),
            "imo": self.value_on(vessel_id, "imo", when),
            "mmsi": self.value_on(vessel_id, "mmsi", when),
            "matched_by": matched_by,
        }

    def find(self, key) -> str | None:
        """A vessel id from an id, an IMO number, an MMSI or any name the vessel bore."""
        text = str(key or "").strip()
        if not text:
            return None
        if text in set(self.vessels["id"]):
            return text
        number = imo_number(text)
        if number:
            hit = self.facts[(self.facts["field"] == "imo") & (self.facts["value"] == number)]
            if len(hit):
                return str(hit["vessel_id"].iloc[0])
        if mmsi_number(text):
            hit = self.facts[(self.facts["field"] == "mmsi") & (self.facts["value"] == text)]
            if len(hit):
                return str(hit["vessel_id"].iloc[0])
        wanted = folded(text)
        for vessel_id, name in zip(self.vessels["id"], self.vessels["name"]):
            if folded(name) == wanted:
                return str(vessel_id)
        names = self.facts[self.facts["field"].isin(("name", "former_name"))]
        hit = names[names["value"].map(folded) == wanted]
        return str(hit["vessel_id"].iloc[0]) if len(hit) else None

    def names_of(self, vessel_id: str) -> list[str]:
        """Every name the vessel is known by: the registry's, then its dated and former names."""
        row = self.vessels[self.vessels["id"] == vessel_id]
        names = [str(row["name"].iloc[0])] if len(row) else []
        facts = self.facts[(self.facts["vessel_id"] == vessel_id) & self.facts["field"].isin(("name", "former_name"))]
        for name in facts["value"]:
            if folded(name) not in {folded(n) for n in names}:
                names.append(str(name))
        return names


def day_of(when) -> pd.Timestamp:
    stamp = pd.Timestamp(when)
    if stamp.tzinfo is not None:
        stamp = stamp.tz_convert("UTC").tz_localize(None)
    return stamp


def load_registry(data_dir: Path | str | None = None) -> Registry:
    """The registry in data_dir (default: the bundled data), checked as `python -m geo validate`
    checks it; raises geo.data.dataset.DataError listing every problem."""
    data_dir = Path(data_dir or dataset.DATA_DIR)
    problems, parsed = [], {}
    for table in (schema.VESSELS, schema.VESSEL_FACTS):
        raw, found = read_raw(data_dir / table.filename, table)
        problems += found
        records, found = parse_table(raw, table.filename)
        problems += found
        parsed[table.name] = (records, raw.rows)
    (vessels, vessel_rows), (facts, fact_rows) = parsed["vessels"], parsed["vessel_facts"]
    problems += check_vessels(vessels, vessel_rows, facts, fact_rows)
    if problems:
        raise DataError(problems)
    return registry_of(vessels, facts)


def registry_of(vessels: list[dict], facts: list[dict]) -> Registry:
    frame = dataset.frame(facts, schema.VESSEL_FACTS)
    frame.loc[frame["field"] == "imo", "value"] = frame.loc[frame["field"] == "imo", "value"].map(imo_number)
    return Registry(vessels=dataset.frame(vessels, schema.VESSELS), facts=frame)


@lru_cache(maxsize=4)
def _bundled(data_dir: str, stamp: float) -> Registry:
    return load_registry(data_dir)


def bundled_registry() -> Registry:
    """The bundled registry, read again only when a file of it changes."""
    data_dir = Path(dataset.DATA_DIR)
    stamp = max((data_dir / t.filename).stat().st_mtime for t in (schema.VESSELS, schema.VESSEL_FACTS))
    return _bundled(str(data_dir), stamp)


def vessel_for(mmsi=None, imo=None, when=None, registry: Registry | None = None) -> dict | None:
    """Registry.vessel_for on the bundled registry (or the one given)."""
    return (registry or bundled_registry()).vessel_for(mmsi=mmsi, imo=imo, when=when)


# --- the vessel card ----------------------------------------------------------------------------------

def fact_record(row) -> dict:
    out = {}
    for column in FACT_COLUMNS:
        value = row[column]
        if isinstance(value, pd.Timestamp):
            value = f"{value:%Y-%m-%d}"
        elif value is None or value is pd.NaT or (isinstance(value, float) and value != value):
            value = ""
        out[column] = str(value)
    return out


def vessel_card(vessel_key, registry: Registry, sanctions=None, detections=None, claims=None) -> dict:
    """What the page shows for one vessel (an id, IMO number, MMSI or name), as plain data:

    - id, name, imo, mmsi (every MMSI the registry knows), names (every name it bore)
    - identity: the registry's facts other than sanctions, by field and date, each with
      outlet, url and quote
    - sanctions: the registry's sanction facts (source 'registry', with quote) and the rows of
      imported sanction lists that name the vessel (source 'import', with file and list),
      each with list, authority, date (YYYY-MM-DD or '') and url
    - detections: the rows of `detections` (columns kind, vessel, mmsi, imo, start, end, place)
      whose vessel, MMSI or IMO is this vessel's, as dicts
    - claims: the claims whose text (note, attribution, outlet) names the vessel: id, name
      found, note, outlet, url

    Raises KeyError when no vessel answers to the key."""
    vessel_id = registry.find(vessel_key)
    if vessel_id is None:
        raise KeyError(f"no vessel {str(vessel_key)[:80]!r} in the registry")
    row = registry.vessels[registry.vessels["id"] == vessel_id].iloc[0]
    facts = registry.facts[registry.facts["vessel_id"] == vessel_id].copy()
    facts["order"] = facts["field"].map({f: i for i, f in enumerate(IDENTITY_FIELDS + ("sanction",))})
    facts = facts.sort_values(["order", "valid_from", "id"], na_position="first")
    imos = sorted(set(facts.loc[facts["field"] == "imo", "value"]))
    mmsis = sorted(set(facts.loc[facts["field"] == "mmsi", "value"]))
    names = registry.names_of(vessel_id)
    identity = [fact_record(f) for _, f in facts[facts["field"] != "sanction"].iterrows()]
    own = [dict(fact_record(f), list=str(f["value"]), date=fact_record(f)["valid_from"], source="registry")
           for _, f in facts[facts["field"] == "sanction"].iterrows()]
    listed = sanction_lists.sanctions_for(sanctions, imos=imos, mmsis=mmsis, names=names)
    return {
        "id": vessel_id,
        "name": str(row["name"]),
        "note": str(row["note"]),
        "imo": imos[0] if imos else "",
        "mmsi": mmsis,
        "names": names,
        "identity": identity,
        "sanctions": own + listed,
        "sanctioned": bool(own or any(s["sanctioned"] for s in listed)),
        "detections": detections_for(detections, names, imos, mmsis),
        "claims": claims_naming(claims, names),
    }


def detections_for(detections, names, imos, mmsis) -> list[dict]:
    if detections is None or len(detections) == 0:
        return []
    frame = pd.DataFrame(detections)

    def column(name):
        return frame[name].astype(str).str.strip() if name in frame.columns else pd.Series("", index=frame.index)
    wanted_names = {folded(n) for n in names}
    mine = column("imo").isin(imos) | column("mmsi").map(lambda v: v.split(".")[0]).isin(mmsis) | \
        column("vessel").map(folded).isin(wanted_names | set(imos) | set(mmsis))
    return [{k: cell_text(v) for k, v in record.items()} for record in frame[mine].to_dict("records")]


def cell_text(value):
    if isinstance(value, pd.Timestamp):
        return value.isoformat(sep=" ")
    if value is None or value is pd.NaT or (isinstance(value, float) and value != value):
        return ""
    return value


def name_pattern(name: str) -> re.Pattern:
    """A vessel's name as a whole word, whatever the dash, case or spacing ('Maia-1', 'MAIA 1')."""
    parts = [re.escape(p) for p in re.split(r"[\s\-‐‑–—_]+", name.strip()) if p]
    return re.compile(r"(?<![\w-])" + r"[\s\-‐‑–—_]?".join(parts) + r"(?![\w-])", re.IGNORECASE)


def claims_naming(claims, names) -> list[dict]:
    """The claims whose note, attribution or outlet names one of the vessel's names."""
    if claims is None or len(claims) == 0:
        return []
    patterns = [(n, name_pattern(n)) for n in names if n.strip()]
    out = []
    for record in pd.DataFrame(claims).to_dict("records"):
        text = " ".join(str(record.get(c) or "") for c in CLAIM_TEXT_COLUMNS)
        found = next((n for n, p in patterns if p.search(text)), None)
        if found:
            out.append({"id": str(record.get("id") or ""), "name_found": found, "note": str(record.get("note") or ""),
                        "outlet": str(record.get("outlet") or ""), "url": str(record.get("url") or ""),
                        "reported_date": cell_text(record.get("reported_date"))})
    return out
