"""The rules a vessel registry is held to (data/vessels.csv and data/vessel_facts.csv).

Every fact names its vessel, says what it states (`field`), carries the page it was read in
and a verbatim quote. The checks here are the ones a reader of the file cannot do at a glance:
an IMO number's check digit, an MMSI's nine digits, a validity interval that ends before it
starts, a name or number that the quote does not contain, a sanction without its authority.
Used by the bundled data's validation (geo.data.dataset.check) and by geo.ships.registry.
"""
from __future__ import annotations

import re
import unicodedata

from geo.data.validate import Problem

IMO_RE = re.compile(r"^(?:IMO\s*)?(\d{7})$", re.IGNORECASE)
MMSI_RE = re.compile(r"^\d{9}$")
# Fields whose value must appear word for word in the quote, so a second reader finds it at once.
QUOTED_FIELDS = ("name", "former_name", "imo", "mmsi", "built")
MAX_QUOTE = 600


def imo_number(text) -> str | None:
    """The seven digits of a valid IMO ship number ('IMO 9743033' or '9743033'), or None.

    The last digit is a check digit: the first six digits weighted 7, 6, 5, 4, 3, 2, summed, mod 10."""
    found = IMO_RE.match(str(text or "").strip())
    if not found:
        return None
    digits = found.group(1)
    total = sum(int(d) * w for d, w in zip(digits[:6], (7, 6, 5, 4, 3, 2)))
    return digits if total % 10 == int(digits[6]) else None


def mmsi_number(text) -> str | None:
    """An MMSI as nine digits, or None."""
    text = str(text or "").strip()
    return text if MMSI_RE.match(text) else None


def folded(text: str) -> str:
    """Text compared loosely: case, accents, dashes and quote marks do not matter."""
    text = unicodedata.normalize("NFKD", str(text)).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]+", " ", text).strip()


def check_vessels(vessels: list[dict], vessel_rows: list[int], facts: list[dict], fact_rows: list[int],
                  vessels_file: str = "vessels.csv", facts_file: str = "vessel_facts.csv") -> list[Problem]:
    """Every problem in a registry's parsed records (geo.data.validate.parse_table's output)."""
    problems = []
    known = {v["id"] for v in vessels if v.get("id")}
    names: dict[str, set[str]] = {}
    for fact, row in zip(facts, fact_rows):
        vessel, field, value = fact.get("vessel_id"), fact.get("field"), fact.get("value") or ""
        if vessel and vessel not in known:
            problems.append(Problem(facts_file, row, "vessel_id", f"unknown vessel id {vessel!r}"))
        if field == "imo" and value and imo_number(value) is None:
            problems.append(Problem(facts_file, row, "value", f"{value!r} is not a valid IMO number "
                                                              "(seven digits, the last a check digit)"))
        if field == "mmsi" and value and mmsi_number(value) is None:
            problems.append(Problem(facts_file, row, "value", f"{value!r} is not an MMSI (nine digits)"))
        if field == "sanction" and not fact.get("authority"):
            problems.append(Problem(facts_file, row, "authority", "a sanction needs the authority that imposed it"))
        if field != "sanction" and fact.get("authority"):
            problems.append(Problem(facts_file, row, "authority", "only a sanction has an authority"))
        start, end = fact.get("valid_from"), fact.get("valid_to")
        if start and end and end <= start:
            problems.append(Problem(facts_file, row, "valid_to", f"{end} is not after valid_from {start}"))
        quote = fact.get("quote") or ""
        if len(quote) > MAX_QUOTE:
            problems.append(Problem(facts_file, row, "quote", f"quote of {len(quote)} characters: keep it under "
                                                              f"{MAX_QUOTE}, the words that support the fact"))
        if field in QUOTED_FIELDS and value and quote and folded(value) not in folded(quote):
            problems.append(Problem(facts_file, row, "quote", f"the quote does not contain the {field} {value!r}"))
        if field == "name" and vessel:
            names.setdefault(vessel, set()).add(folded(value))
    for vessel, row in zip(vessels, vessel_rows):
        if vessel.get("id") and folded(vessel.get("name") or "") not in names.get(vessel["id"], set()):
            problems.append(Problem(vessels_file, row, "name", f"no fact of field 'name' in {facts_file} cites the "
                                                               f"name {vessel.get('name')!r}"))
    return problems
