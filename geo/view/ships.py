"""Ships as evidence: what the analyst's imported AIS tracks show on a date, and beside the claims.

Detections (port calls, AIS gaps, encounters, loitering) are found by geo.ships.detections from
the workspace's positions; this module only decides what of them a view shows and how they
read: the records the map draws for the selected month, the legend rows, the evidence panel of
one detection (its rule, parameters, times, vessels and the positions behind it), the vessel
card, and, beside a claim that counts calls or voyages, what the tracks give for the same ports
and period. That last line is labelled as derived from the analyst's data and is never merged
into a claim's figures, charts or headline.

Input: a DataFrame in geo.ships.detections' columns (kind, vessel, mmsi, imo, other_mmsi, start,
end, place, lon, lat, end_lon, end_lat, distance_km, implied_knots, positions, detail).
"""
from __future__ import annotations

import dataclasses
import re

import numpy as np
import pandas as pd

from geo import style
from geo.data.vessels import folded, imo_number
from geo.model import timeline
from geo.model.evidence import Evidence, claim_row
from geo.ships import detections as engine
from geo.ships import registry as vessel_registry
from geo.ships import sanctions as sanction_lists
from geo.view.legend import LegendEntry
from geo.view.records import rgba, tooltip_record

KINDS = ("port_call", "gap", "encounter", "loitering")
COLUMNS = ("kind", "vessel", "mmsi", "imo", "other_mmsi", "start", "end", "place", "lon", "lat", "end_lon",
           "end_lat", "distance_km", "implied_knots", "positions", "detail")
WORDS = {"port_call": "port call", "gap": "AIS gap", "encounter": "encounter", "loitering": "loitering"}
RGB = {"port_call": style.OKABE_ITO["green"], "gap": style.OKABE_ITO["vermillion"],
       "encounter": style.OKABE_ITO["purple"], "loitering": style.OKABE_ITO["orange"]}
# Symbols of their own: the legend's notes on leg widths and this month's larger dots are not about these.
LEGEND = {"port_call": ("detection", "port call (your tracks)"),
          "gap": ("gap", "AIS gap, inferred (your tracks)"),
          "encounter": ("detection", "encounter (your tracks)"),
          "loitering": ("detection", "loitering (your tracks)")}
MMSI = re.compile(r"\d{9}")  # a track whose id is an MMSI (an AIS export's) is that vessel's
DERIVED = "derived from your imported AIS data; not a claim"
GAP_DASH = (4, 3)  # dash, gap in line widths: the dark stretch is inferred, as the inferred legs are

# The rules as the README states them; {name} fields are filled from the detection parameters
# (geo.ships.detections.Params), and each panel lists the parameters its rule uses, with units.
RULES = {
    "port_call": "A port call runs from a vessel's first position inside a port's polygon to its last one "
                 "before it leaves (a call without a final exit ends at the last position seen).",
    "gap": "An AIS gap is a stretch of at least {gap_hours} h with no position from a vessel, outside areas of "
           "poor reception; it runs from where the vessel went dark to where it reappeared, and the straight line "
           "between them is inferred.",
    "encounter": "An encounter is two vessels within {encounter_distance_m} m of each other for at least "
                 "{encounter_hours} h, both below {encounter_knots} knots, at least {encounter_port_km} km from any "
                 "port (Global Fishing Watch's published rule).",
    "loitering": "Loitering is one vessel below {loiter_knots} knots for at least {loiter_hours} h, at least "
                 "{loiter_port_km} km from any port.",
}
PARAMS = {  # per kind: the parameters its rule uses, and their units
    "port_call": (("call_min_minutes", "min"),),
    "gap": (("gap_hours", "h"),),
    "encounter": (("encounter_distance_m", "m"), ("encounter_hours", "h"), ("encounter_knots", "kn"),
                  ("encounter_port_km", "km"), ("encounter_step_minutes", "min"), ("encounter_max_gap_hours", "h")),
    "loitering": (("loiter_knots", "kn"), ("loiter_hours", "h"), ("loiter_port_km", "km")),
}

# Claims that count calls or voyages, and the ports whose calls in the imported tracks stand beside
# them. A run from Rajin is one loaded call there (data/metrics.csv says how each metric counts).
COUNTED = {
    "ship_voyages": ("Rajin",),
    "ship_voyages_annual": ("Rajin",),
    "rason_arms_ship_calls_month": ("Rajin",),
    "ship_voyages_single_vessel": ("Rajin",),  # by the one ship the claim names (SINGLE_VESSEL)
    "dark_vessel_visits_vostochny": ("Vostochny",),
    "oil_tanker_voyages_to_dprk": ("Vostochny",),
}
SINGLE_VESSEL = ("ship_voyages_single_vessel",)
CAVEATS = {
    "dark_vessel_visits_vostochny": "a call made with AIS off leaves no positions and is not among these",
    "oil_tanker_voyages_to_dprk": "calls by any vessel in your tracks, tanker or not",
}


# --- the frame -----------------------------------------------------------------------------------

def text(value) -> str:
    """A cell as text: '' for a missing one, an integer MMSI without '.0'."""
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA or value is pd.NaT:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def detection_id(kind, mmsi, start, other="") -> str:
    """A detection's id in links: its kind, vessel(s) and start minute (stable across reruns and
    servers, as long as the tracks and parameters are the same)."""
    when = pd.Timestamp(start)
    return "~".join(p for p in (kind, text(mmsi) or "?", text(other), f"{when:%Y%m%dT%H%M}") if p)


def prepared(detections: pd.DataFrame | None) -> pd.DataFrame:
    """The engine's detections with times as naive UTC, text columns as text and an `id` column."""
    if detections is None:
        detections = pd.DataFrame(columns=list(COLUMNS))
    frame = detections.copy()
    for column in COLUMNS:
        if column not in frame.columns:
            frame[column] = None
    for column in ("start", "end"):
        times = pd.to_datetime(frame[column], errors="coerce", utc=True)
        frame[column] = times.dt.tz_localize(None)
    for column in ("vessel", "mmsi", "imo", "other_mmsi", "place", "detail", "kind"):
        frame[column] = [text(v) for v in frame[column]]
    for column in ("lon", "lat", "end_lon", "end_lat", "distance_km", "implied_knots", "positions"):
        frame[column] = pd.to_numeric(frame[column], errors="coerce")
    frame = frame[frame["kind"].isin(KINDS) & frame["start"].notna()].copy()
    frame["open"] = frame["end"].isna()  # a call the track ends in: no exit seen
    frame["end"] = frame["end"].fillna(frame["start"])
    if "other_vessel" not in frame.columns:
        frame["other_vessel"] = ""
    frame["other_vessel"] = [text(v) for v in frame["other_vessel"]]
    frame["id"] = [detection_id(k, m, s, o) for k, m, s, o in
                   zip(frame["kind"], frame["mmsi"], frame["start"], frame["other_mmsi"])]
    return frame.drop_duplicates("id").sort_values(["start", "id"]).reset_index(drop=True)


MAX_DRAWN = 400  # detections drawn in one month at most (the latest): each costs bytes and, for a gap, dashes


def in_month(detections: pd.DataFrame, when) -> pd.DataFrame:
    """Detections under way at any time in `when`'s month, up to the end of its day."""
    if detections is None or detections.empty:
        return prepared(None)
    when = timeline.as_timestamp(when)
    since, until = timeline.month_start(when), when + pd.Timedelta(days=1)
    return detections[(detections["start"] < until) & (detections["end"] >= since)]


def on_date(detections: pd.DataFrame, when, mode: str = timeline.CUMULATIVE) -> pd.DataFrame:
    """The detections the map shows on `when`: those under way at any time in its month, up to
    the end of its day (in either count mode: a month's ships, as the tracks show a month's
    trails; nothing after the date), at most MAX_DRAWN of them, the latest."""
    month = in_month(detections, when)
    return month if len(month) <= MAX_DRAWN else month.sort_values("start").tail(MAX_DRAWN)


@dataclasses.dataclass(frozen=True)
class Findings:
    """The detections a view may draw, the parameters they were found with and the (first, last)
    time of the positions they were found in: what the page found once, handed to the exports so
    that a file shows the month's detections as the map does."""

    detections: pd.DataFrame | None = None
    params: object = None
    coverage: tuple | None = None

    def view_args(self) -> dict:
        """The keyword arguments of geo.view.view_for that carry them."""
        return {"detections": self.detections, "ship_params": self.params, "ship_coverage": self.coverage}


def view_args(findings: "Findings | None") -> dict:
    return findings.view_args() if findings is not None else {}


# --- words ---------------------------------------------------------------------------------------

def vessel_words(name: str, mmsi: str = "", imo: str = "") -> str:
    ids = ", ".join(p for p in (f"MMSI {mmsi}" if mmsi else "", f"IMO {imo}" if imo else "") if p)
    if name and name not in (mmsi, imo):
        return f"{name} ({ids})" if ids else name
    return ids or "unknown vessel"


def hours(start, end) -> str:
    h = (pd.Timestamp(end) - pd.Timestamp(start)) / pd.Timedelta(hours=1)
    if h >= 72:
        return f"{h / 24:,.1f} days ({h:,.0f} h)"
    return f"{h:,.0f} h" if float(h).is_integer() or h >= 10 and round(h, 1) == round(h) else f"{h:,.1f} h"


def stamp(when) -> str:
    return f"{pd.Timestamp(when):%Y-%m-%d %H:%M} UTC" if pd.notna(when) else ""


def title_of(d) -> str:
    if d["kind"] == "port_call":
        return f"Port call: {d['vessel'] or d['mmsi']} at {d['place'] or 'a port'}"
    if d["kind"] == "gap":
        return f"AIS gap: {d['vessel'] or d['mmsi']}, dark {hours(d['start'], d['end'])}"
    if d["kind"] == "encounter":
        return f"Encounter: {d['vessel'] or d['mmsi']} and {d.get('other_vessel') or d['other_mmsi'] or 'another vessel'}"
    return f"Loitering: {d['vessel'] or d['mmsi']}"


def param_values(params) -> dict:
    """The detection parameters as a flat dict (a dataclass such as geo.ships.detections.Params,
    or a dict), with the names the rules use."""
    if params is None:
        return {}
    values = dataclasses.asdict(params) if dataclasses.is_dataclass(params) else dict(params)
    return {k: v for k, v in values.items() if isinstance(v, (int, float, str, bool))}


def number(v) -> str:
    return f"{v:g}" if isinstance(v, float) else str(v)


def rule_text(kind: str, params) -> str:
    """The rule of a kind, its thresholds filled in (a threshold the parameters lack is named)."""
    values = {k: number(v) for k, v in param_values(params).items()}

    class Named(dict):
        def __missing__(self, key):
            return key.replace("_", " ")
    return RULES[kind].format_map(Named(values))


def params_words(kind: str, params) -> str:
    values = param_values(params)
    return ", ".join(f"{name} = {number(values[name])} {unit}" for name, unit in PARAMS[kind] if name in values)


# --- the map -------------------------------------------------------------------------------------

def tooltip_of(d) -> dict:
    where = f" at {d['place']}" if d["place"] else ""
    detail = f"{WORDS[d['kind']]}{where}, {hours(d['start'], d['end'])}"
    if d["kind"] == "gap" and pd.notna(d["distance_km"]):
        detail += f", {d['distance_km']:,.0f} km" + (f" at {d['implied_knots']:,.1f} kn implied"
                                                    if pd.notna(d["implied_knots"]) else "")
    if d["kind"] == "gap":
        detail += " (inferred)"
    return tooltip_record("detection", d["id"], title_of(d), detail, DERIVED.split(";")[0],
                          f"{stamp(d['start'])} to {stamp(d['end'])}")


def map_records(shown: pd.DataFrame) -> dict[str, list[dict]]:
    """Records per kind: markers (position) for calls, encounters and loitering, and for gaps the
    straight path from where the vessel went dark to where it reappeared."""
    out = {k: [] for k in KINDS}
    for d in shown.to_dict("records"):
        if pd.isna(d["lon"]) or pd.isna(d["lat"]):
            continue
        rec = tooltip_of(d)
        start = [round(float(d["lon"]), 5), round(float(d["lat"]), 5)]
        if d["kind"] == "gap":
            if pd.isna(d["end_lon"]) or pd.isna(d["end_lat"]):
                continue
            end = [round(float(d["end_lon"]), 5), round(float(d["end_lat"]), 5)]
            rec.update(path=[start, end], width=2.5, color=rgba(RGB["gap"]), dash=GAP_DASH)
        else:
            rec.update(position=start, radius=7 if d["kind"] == "port_call" else 6)
        out[d["kind"]].append(rec)
    return out


EXPORT_DERIVED = "derived from the analyst's tracks (imported AIS positions); not a claim"
EXPORT_NOTE = ("Detections (port calls, AIS gaps, encounters, loitering) are derived from the analyst's tracks "
               "(imported AIS positions) by the rules of geo.ships.detections; they are not claims and are never "
               "counted with them.")


def export_rows(shown: pd.DataFrame | None) -> list[dict]:
    """One plain-text row per detection a view draws, for the exports: id, name, kind, vessel, start,
    end ('' for an open call), place, detail, when, derived (the marking that it is no claim), the
    coordinates it is drawn at (lon, lat; end_lon, end_lat for a gap's line) and its MMSI and IMO."""
    if shown is None or shown.empty:
        return []
    out = []
    for d in shown.to_dict("records"):
        if pd.isna(d["lon"]) or pd.isna(d["lat"]):
            continue
        tip = tooltip_of(d)
        line = d["kind"] == "gap" and pd.notna(d["end_lon"]) and pd.notna(d["end_lat"])
        out.append({"id": d["id"], "name": title_of(d), "kind": d["kind"], "detail": tip["detail"],
                    "when": tip["when"], "vessel": vessel_words(d["vessel"], d["mmsi"], d["imo"]),
                    "other_vessel": vessel_words(d.get("other_vessel", ""), d["other_mmsi"]) if d["other_mmsi"]
                    else "", "mmsi": d["mmsi"], "imo": d["imo"],
                    "start": stamp(d["start"]), "end": "" if d.get("open") else stamp(d["end"]),
                    "place": d["place"], "derived": EXPORT_DERIVED,
                    "lon": float(d["lon"]), "lat": float(d["lat"]),
                    "end_lon": float(d["end_lon"]) if line else None, "end_lat": float(d["end_lat"]) if line else None})
    return out


def legend_entries(shown: pd.DataFrame | None) -> list[LegendEntry]:
    """Legend rows for the kinds the map draws on this date, none for the others."""
    if shown is None or shown.empty:
        return []
    present = set(shown["kind"])
    return [LegendEntry(LEGEND[k][0], RGB[k], LEGEND[k][1], dashed=k == "gap", width="hairline" if k == "gap" else "")
            for k in KINDS if k in present]


# --- panels --------------------------------------------------------------------------------------

def vessel_key(mmsi: str = "", imo: str = "") -> str:
    return f"imo:{imo}" if imo else f"mmsi:{mmsi}" if mmsi else ""


def detection_evidence(detections: pd.DataFrame, feature_id: str, params=None) -> Evidence | None:
    """A detection's panel: its rule and parameters, times, vessel(s), place, and the positions
    behind it (how many, the first and the last)."""
    rows = detections[detections["id"] == feature_id] if detections is not None and len(detections) else []
    if not len(rows):
        return None
    d = rows.iloc[0].to_dict()
    facts = [("Rule", rule_text(d["kind"], params))]
    if params_words(d["kind"], params):
        facts.append(("Parameters", params_words(d["kind"], params)))
    facts.append(("Vessel", vessel_words(d["vessel"], d["mmsi"], d["imo"])))
    if d["kind"] == "encounter":
        facts.append(("Other vessel", vessel_words(d.get("other_vessel", ""), d["other_mmsi"])))
    if d["place"]:
        facts.append(("Place", d["place"]))
    if d.get("open"):
        facts += [("Start", stamp(d["start"])), ("End", "open: the track ends before the vessel is seen leaving")]
    else:
        facts += [("Start", stamp(d["start"])), ("End", stamp(d["end"])), ("Duration", hours(d["start"], d["end"]))]
    first = f"{stamp(d['start'])} at {d['lat']:.4f}° N, {d['lon']:.4f}° E" if pd.notna(d["lat"]) else stamp(d["start"])
    last = (f"{stamp(d['end'])} at {d['end_lat']:.4f}° N, {d['end_lon']:.4f}° E" if pd.notna(d["end_lat"])
            else stamp(d["end"]))
    if d["kind"] == "gap":
        facts += [("Went dark", first), ("Reappeared", last)]
        if pd.notna(d["distance_km"]):
            facts.append(("Distance", f"{d['distance_km']:,.1f} km in a straight line"))
        if pd.notna(d["implied_knots"]):
            facts.append(("Implied speed", f"{d['implied_knots']:,.1f} knots"))
    count = f"{int(d['positions']):,}" if pd.notna(d["positions"]) else "not given"
    if d["kind"] == "encounter":  # counted in the rule's interpolated steps, not in received positions
        step = param_values(params).get("encounter_step_minutes")
        facts.append(("Positions behind it", f"{count} steps of {number(step) if step else 'a few'} min, each "
                                             f"interpolated between received positions of both vessels; first "
                                             f"{first}; last {stamp(d['end'])}"))
    else:
        facts.append(("Positions behind it", f"{count}; first {first}; last {last}"))
    if d["detail"]:
        facts.append(("Detail", d["detail"]))
    vessels = [{"key": vessel_key(d["mmsi"], d["imo"]), "name": d["vessel"] or d["mmsi"]}]
    if d["other_mmsi"]:
        vessels.append({"key": vessel_key(d["other_mmsi"]), "name": d.get("other_vessel") or d["other_mmsi"]})
    return Evidence(title=title_of(d), note=f"Detected in your imported tracks: {DERIVED}.", facts=facts,
                    vessels=[v for v in vessels if v["key"]], no_claims="",
                    description="The dashed line on the map is inferred: no position was received along it."
                    if d["kind"] == "gap" else "")


def detection_lines(rows: pd.DataFrame, limit: int = 30) -> list[str]:
    lines = []
    for d in rows.head(limit).to_dict("records"):
        where = f" at {d['place']}" if d["place"] else ""
        extra = (f", {d['distance_km']:,.0f} km" if d["kind"] == "gap" and pd.notna(d["distance_km"]) else "")
        if d.get("open"):
            lines.append(f"{d['start']:%Y-%m-%d %H:%M} UTC{where}, open (the track ends before the vessel leaves)")
            continue
        lines.append(f"{d['start']:%Y-%m-%d %H:%M} – {d['end']:%Y-%m-%d %H:%M} UTC{where} "
                     f"({hours(d['start'], d['end'])}{extra})")
    if len(rows) > limit:
        lines.append(f"… and {len(rows) - limit:,} more")
    return lines


def claims_naming(claims: pd.DataFrame, names) -> pd.DataFrame:
    """Claims whose note names one of `names` as a word, whatever its dash or case ('Maia-1',
    'MAIA 1'), as geo.ships.registry reads them; an MMSI or IMO number is no name."""
    names = [n for n in {str(n).strip() for n in names} if len(n) >= 3 and not n.replace(" ", "").isdigit()
             and not n.startswith(("MMSI ", "IMO "))]
    if not names or claims is None or claims.empty:
        return claims.iloc[0:0] if claims is not None else pd.DataFrame()
    patterns = [vessel_registry.name_pattern(n) for n in names]
    notes = claims["note"].fillna("").astype(str)
    return claims[[any(p.search(note) for p in patterns) for note in notes]]


FIELD_WORDS = {"name": "Name", "former_name": "Former name", "imo": "IMO", "mmsi": "MMSI", "flag": "Flag",
               "home_port": "Home port", "type": "Type", "built": "Built", "owner": "Owner", "operator": "Operator",
               "manager": "Manager", "linked_company": "Linked company"}


def span_words(start: str, end: str) -> str:
    if start and end:
        return f" ({start} to {end})"
    return f" (from {start})" if start else f" (until {end})" if end else ""


def registry_match(registry, scheme: str, value: str, imos, names, joined: pd.DataFrame | None = None,
                   when=None) -> tuple[str | None, str]:
    """The registry's vessel for a card key, and how it was matched. By the IMO number or MMSI in
    force on the days of the key's detections (`joined`: registry.join of them; the latest
    decides, as an MMSI may pass from one ship to another), or with none, in force on `when`; an
    IMO number the tracks give for an MMSI the registry does not know joins as well. Else (marked)
    by a name the tracks give."""
    if registry is None:
        return None, ""
    if joined is not None and len(joined):
        hit = joined[joined["vessel_id"] != ""]
        if len(hit):
            last = hit.loc[hit["start"].sort_values(kind="stable").index[-1]]
            return str(last["vessel_id"]), str(last["matched_by"])
    else:
        found = registry.vessel_for(mmsi=value if scheme == "mmsi" else None,
                                    imo=value if scheme == "imo" else (imos[0] if imos else None), when=when)
        if found:
            return found["vessel_id"], found["matched_by"]
    for name in names:
        found = registry.find(name)
        if found:
            return found, "name"
    return None, ""


def vessel_evidence(key: str, detections: pd.DataFrame, claims: pd.DataFrame, when, registry=None,
                    sanctions=None) -> Evidence | None:
    """A vessel's card: identity (names and flags over time, with sources, from the bundled
    registry, geo.ships.registry), sanctions (the registry's, cited, and those of imported lists,
    with list and date), its port calls, gaps and encounters in your tracks up to the date, and
    the claims known by the date that name it. `key` is imo:N or mmsi:N; `sanctions` the
    workspace's features of kind vessels."""
    scheme, _, value = key.partition(":")
    if scheme not in ("mmsi", "imo") or not value:
        return None
    mine = detections if detections is not None and len(detections) else prepared(None)
    mine = mine[(mine[scheme] == value) | ((mine["other_mmsi"] == value) if scheme == "mmsi" else False)]
    until = timeline.as_timestamp(when) + pd.Timedelta(days=1)
    mine = mine[mine["start"] < until]
    own = mine[mine[scheme] == value]
    names = {n for n in own["vessel"] if n and n != value}
    if scheme == "mmsi":
        names |= {n for n in mine.loc[mine["other_mmsi"] == value, "other_vessel"] if n}
    names = sorted(names)
    imos = sorted({i for i in own["imo"] if i} | ({value} if scheme == "imo" else set()))
    mmsis = sorted({m for m in own["mmsi"] if m} | ({value} if scheme == "mmsi" else set()))
    joined = registry.join(own).assign(start=own["start"]) if registry is not None and len(own) else None
    vessel_id, matched = registry_match(registry, scheme, value, imos, names, joined, timeline.as_timestamp(when))
    card = vessel_registry.vessel_card(vessel_id, registry, sanctions) if vessel_id else None
    others = joined[(joined["vessel_id"] != "") & (joined["vessel_id"] != vessel_id)] if joined is not None \
        and vessel_id and matched != "name" else None
    name = (card["name"] if card else "") or (names[0] if names else f"{scheme.upper()} {value}")
    facts = [("In your tracks", "; ".join(p for p in (", ".join(names) or "no name given",
                                                        "MMSI " + ", ".join(mmsis) if mmsis else "",
                                                        "IMO " + ", ".join(imos) if imos else "") if p))]
    cited = []
    if card:
        how = {"imo": "by IMO number", "mmsi": "by MMSI",
               "name": "by name only: another ship may bear the same name"}[matched]
        named = joined[joined["vessel_id"] == vessel_id] if joined is not None else None
        then = ""
        if named is not None and len(named):  # the name it bore on the day of its latest detection here
            last = named.loc[named["start"].sort_values(kind="stable").index[-1]]
            then = f"; named {last['name']} on {last['start']:%Y-%m-%d}" if last["name"] != card["name"] else ""
        facts.append(("Registry", f"{card['name']}, matched {how}{then}"))
        if others is not None and len(others):  # the same MMSI, another ship's on those days: not this one's
            for other_id, rows in others.groupby("vessel_id", sort=False):
                facts.append(("Another ship on these days", f"{rows['name'].iloc[0]} ({len(rows)} detection(s), "
                              f"{rows['start'].min():%Y-%m-%d} to {rows['start'].max():%Y-%m-%d}): the registry "
                              f"gives it this {scheme.upper()} then; not counted below"))
            own = own.drop(index=others.index)
        cited.append(("Identity (bundled registry, each fact with its source)", [
            {"text": f"{FIELD_WORDS.get(f['field'], f['field'])}: {f['value']}{span_words(f['valid_from'], f['valid_to'])}",
             "outlet": f["outlet"], "url": f["url"], "note": f.get("note", "")} for f in card["identity"]]))
    else:
        facts.append(("Registry", "not in the bundled vessel registry: names as your tracks give them"))
    listed = list(card["sanctions"]) if card else []
    # Imported lists may name the vessel by the MMSI or IMO of the tracks, which the registry may not hold:
    # such a match is firm, and stands instead of the same list's match by name alone.
    for extra in sanction_lists.sanctions_for(sanctions, imos=[imo_number(i) or i for i in imos],
                                              mmsis=mmsis, names=names):
        same = [i for i, s in enumerate(listed) if s.get("source") == "import" and s.get("list") == extra.get("list")
                and s.get("file") == extra.get("file") and s.get("name") == extra.get("name")]
        if not same:
            listed.append(extra)
        elif extra.get("sanctioned") and not listed[same[0]].get("sanctioned"):
            listed[same[0]] = extra
    lines = []
    for s in listed:
        if s.get("source") == "registry":
            lines.append({"text": f"{s.get('list') or s.get('value')}{', from ' + s['date'] if s.get('date') else ''}",
                          "outlet": s.get("outlet", ""), "url": s.get("url", ""), "note": s.get("note", "")})
        else:
            words = [s.get("list") or "a sanctions list", s.get("authority", ""),
                     f"listed {s['date']}" if s.get("date") else "", f"matched by {s.get('matched_by', '')}",
                     s.get("caveat", ""), f"imported from {s['file']}" if s.get("file") else ""]
            lines.append({"text": "; ".join(w for w in words if w), "outlet": "list entry" if s.get("url") else "",
                          "url": s.get("url", "")})
    if lines:
        cited.append((f"Sanctions ({len(lines)})", lines))
    sections = [] if lines else [("Sanctions", ["none known: neither the registry nor an imported list names this "
                                                "vessel"])]
    calls, gaps = own[own["kind"] == "port_call"], own[own["kind"] == "gap"]
    meets = mine[mine["kind"] == "encounter"]
    sections.append((f"Port calls in your tracks ({len(calls)})", detection_lines(calls) or ["none up to this date"]))
    sections.append((f"AIS gaps in your tracks ({len(gaps)})", detection_lines(gaps) or ["none up to this date"]))
    if len(meets):
        sections.append((f"Encounters in your tracks ({len(meets)})", detection_lines(meets)))
    known = timeline.known_claims(claims, when) if claims is not None and len(claims) else None
    every_name = set(names) | {name} | set(card["names"] if card else [])
    named = claims_naming(known, every_name) if known is not None else None
    rows = [claim_row(c) for _, c in named.sort_values(["metric", "as_of_date", "id"]).iterrows()] \
        if named is not None and len(named) else []
    return Evidence(title=f"Vessel: {name}", note="Port calls, gaps and encounters: derived from your imported AIS "
                    "data, not claims. Identity and sanctions: each with its source.", facts=facts, cited=cited,
                    sections=sections, description=card["note"] if card else "",
                    claims=rows, claims_heading=f"{len(rows)} claim(s) naming this vessel, known by this date",
                    no_claims="No claim known by this date names this vessel.")


# --- beside the claims ---------------------------------------------------------------------------

def metric_period(data, metric: str) -> str:
    rows = data.metrics[data.metrics["id"] == metric] if data is not None else []
    return str(rows.iloc[0]["period"]) if len(rows) else "cumulative"


def month_words(first, last) -> str:
    first, last = f"{pd.Timestamp(first):%B %Y}", f"{pd.Timestamp(last):%B %Y}"
    return first if first == last else f"{first} – {last}"


def derived_line(claim: dict, detections: pd.DataFrame, when, period: str = "cumulative",
                 coverage: tuple | None = None) -> str | None:
    """What the imported tracks give beside one claim that counts calls or voyages: the calls at
    the same port(s) in the same period (up to the claim's as-of date, and never past the date the
    page shows), by how many vessels, and when. None for claims that count something else."""
    ports = COUNTED.get(claim["metric"])
    if ports is None or detections is None:
        return None
    as_of = pd.Timestamp(claim["as_of"])
    until = min(as_of, timeline.as_timestamp(when)) + pd.Timedelta(days=1)
    if period == "annual":
        since, scope = as_of.replace(month=1, day=1), f"in {as_of:%Y}"
    elif period in ("per_month", "single_event"):
        since, scope = as_of.replace(day=1), f"in {as_of:%B %Y}"
    else:
        since, scope = pd.Timestamp.min, f"up to {min(as_of, timeline.as_timestamp(when)):%d %B %Y}"
    calls = detections[detections["kind"] == "port_call"]
    where = " and ".join(ports)
    caveat = f"; {CAVEATS[claim['metric']]}" if claim["metric"] in CAVEATS else ""
    if claim["metric"] in SINGLE_VESSEL:  # one named ship's runs: only its calls, found by the registry's names
        ship = named_vessel(claim)
        if ship is None:
            return None
        vessel_id, name, names, imos, mmsis = ship
        folded_names = {folded(n) for n in names}
        # by the IMO number or the MMSI the registry gives the ship on each call's day, or by a name it bore
        joined = vessel_registry.bundled_registry().join(calls)
        hit = ((joined["vessel_id"] == vessel_id).to_numpy(dtype=bool) |
               np.array([folded(v) in folded_names for v in calls["vessel"]], dtype=bool))
        calls = calls[hit]
        where = f"{where} by {name}"
        if not imos and not mmsis:
            caveat += f"; {name} found by its name alone: another ship may bear it"
    if coverage and coverage[0] is not None:
        runs = month_words(coverage[0], coverage[1])
        if pd.Timestamp(coverage[0]) >= until or pd.Timestamp(coverage[1]) < since:
            return (f"Your tracks: nothing to set beside this claim: they run {runs}, outside its period "
                    f"({DERIVED}).")
        caveat += f"; your tracks run {runs}"
    # Counted by the engine's own count (a call counts in the period it starts in, open or not), so
    # the line beside a claim and geo.ships.detections can never disagree.
    counted = engine.calls_at(calls, ports, None if since is pd.Timestamp.min else since, until)
    if not counted["calls"]:
        return f"Your tracks: no call at {where} {scope} ({DERIVED}{caveat})."
    n, vessels = counted["calls"], counted["vessels"]
    by = "" if claim["metric"] in SINGLE_VESSEL else f" by {vessels} vessel{'s' if vessels != 1 else ''}"
    return (f"Your tracks: {n:,} call{'s' if n != 1 else ''} at {where}{by}, "
            f"{month_words(counted['first'], counted['last'])}, {scope} ({DERIVED}{caveat}).")


def named_vessel(claim: dict):
    """The one registry vessel a claim's note names (id, name, every name it bore, IMO numbers,
    MMSIs), or None when it names none or several."""
    registry = vessel_registry.bundled_registry()
    found = []
    for vessel_id in registry.vessels["id"]:
        names = registry.names_of(vessel_id)
        if any(vessel_registry.name_pattern(n).search(claim.get("note", "")) for n in names):
            facts = registry.facts[registry.facts["vessel_id"] == vessel_id]
            found.append((vessel_id, names[0], names, set(facts.loc[facts["field"] == "imo", "value"]),
                          set(facts.loc[facts["field"] == "mmsi", "value"])))
    return found[0] if len(found) == 1 else None


def derived_for(data, claims: list[dict], detections: pd.DataFrame | None, when,
                coverage: tuple | None = None) -> dict[str, str]:
    """claim id -> derived_line, for the panel's claims that count calls or voyages; `coverage`
    (first, last) is when the imported positions begin and end."""
    if detections is None:
        return {}
    out = {}
    for claim in claims:
        line = derived_line(claim, detections, when, metric_period(data, claim["metric"]), coverage)
        if line:
            out[claim["id"]] = line
    return out
