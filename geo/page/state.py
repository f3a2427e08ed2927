"""The page's state in its URL: parameters to widget values and back, by stable ids.

Every state a person can set (month, count mode, view, layers, filters, presenter mode,
scene, selected feature) travels in the link under its id, never its label, so a copied
link reopens the same page. A link must never crash the page: a bad value falls back to
its default and adds a notice that names the parameter and exactly the values ignored
(shown as text, never as HTML).
"""
from __future__ import annotations

import json
import re
from urllib.parse import unquote

from geo import style
from geo.data import schema
from geo.data.schema import BASES, CLAIMANT_TYPES, FAMILIES, SELECTION_KINDS
from geo.view import imagery

TRUE_WORDS, FALSE_WORDS = {"1", "true", "yes", "on"}, {"0", "false", "no", "off", ""}
LIST_PARAMS = {"layers": schema.LAYER_IDS, "claimant_type": CLAIMANT_TYPES, "basis": BASES, "family": FAMILIES}
MODES = ("cumulative", "period")
# Written in this order, so one state always gives one link.
ORDER = ("date", "mode", "view", "layers", "claimant_type", "basis", "family", "group_by", "present", "scene",
         "sel", "claim", "image_show", "image_opacity", "series", "compare", "series_before", "series_after",
         "series_divider")
# The imported images' settings and a place's before/after pair (geo.page.compare checks the place and images).
CHOICE_PARAMS = {"image_show": imagery.SHOW_CHOICES, "compare": imagery.COMPARE_CHOICES}
NUMBER_PARAMS = {"image_opacity": (0, 100), "series_divider": (0, 100), "series_before": (1, 10**12),
                 "series_after": (1, 10**12)}
CLAIM_ID = re.compile(r"[A-Za-z0-9_.-]{1,40}")
GROUPINGS = ("organisation", "government")


def as_list(raw) -> list[str]:
    """Repeated parameters (?a=x&a=y) and comma-separated ones (?a=x,y) both become a list."""
    values = raw if isinstance(raw, list) else [raw]
    return [part.strip() for value in values for part in str(value).split(",") if part.strip()]


def shorten(value, limit=40) -> str:
    text = str(value)
    return text if len(text) <= limit else text[:limit] + "…"


def parse_month(raw: str, months: list[str]) -> str | None:
    """'2024-06' or '2024-06-17' -> '2024-06' when that month is on the date control."""
    match = re.fullmatch(r"(\d{4}-\d{2})(-\d{2})?", raw.strip())
    return match.group(1) if match and match.group(1) in months else None


def parse_params(params: dict, months: list[str], scene_ids: list[str]) -> tuple[dict, list[str]]:
    """Widget values for the parameters that are present and valid, and a notice per bad one."""
    values, notices = {}, []

    def bad(name, raw, expected):
        notices.append(f"Ignored {name}={shorten(raw)!r}: expected {expected}. Showing the default instead.")

    if "date" in params:
        raw = as_list(params["date"])[-1:] or [""]
        month = parse_month(raw[0], months)
        if month:
            values["date"] = month
        else:
            bad("date", raw[0], f"a month from {months[0]} to {months[-1]} (YYYY-MM)")
    if "view" in params:
        raw = as_list(params["view"])[-1:] or [""]
        if raw[0] in style.VIEWS:
            values["view"] = raw[0]
        else:
            bad("view", raw[0], "one of " + ", ".join(style.VIEWS))
    if "mode" in params:
        raw = as_list(params["mode"])[-1:] or [""]
        if raw[0] in MODES:
            values["mode"] = raw[0]
        else:
            bad("mode", raw[0], "cumulative or period")
    if "group_by" in params:
        raw = (as_list(params["group_by"])[-1:] or [""])[0]
        if raw in GROUPINGS:
            values["group_by"] = raw
        else:
            bad("group_by", raw, "organisation or government")
    if "present" in params:
        raw = (as_list(params["present"])[-1:] or [""])[0].lower()
        if raw in TRUE_WORDS | FALSE_WORDS:
            values["present"] = raw in TRUE_WORDS
        else:
            bad("present", raw, "1 or 0")
    if "scene" in params:
        raw = (as_list(params["scene"])[-1:] or [""])[0]
        if raw in scene_ids:
            values["scene"] = raw
        else:
            bad("scene", raw, "one of " + ", ".join(scene_ids))
    if "sel" in params:  # one value, never split at commas: a feature id may hold one
        raw = params["sel"][-1] if isinstance(params["sel"], list) and params["sel"] else params["sel"]
        raw = str(raw or "").strip()
        kind, _, feature_id = raw.partition(":")
        if kind in SELECTION_KINDS and feature_id:
            values["sel"] = {"kind": kind, "feature_id": feature_id}
        else:
            bad("sel", raw, "kind:id, e.g. route:L_RAIL_TUMEN_BRIDGE")
    if "claim" in params:  # checked against the claims by the caller (geo.page.session.Navigator.seed)
        raw = str((as_list(params["claim"])[-1:] or [""])[0])
        if CLAIM_ID.fullmatch(raw):
            values["claim"] = raw
        else:
            bad("claim", raw, "a claim id such as F001")
    for name, allowed in CHOICE_PARAMS.items():
        raw = (as_list(params[name])[-1:] or [""])[0] if name in params else None
        if raw is not None and raw in allowed:
            values[name] = raw
        elif raw is not None:
            bad(name, raw, "one of " + ", ".join(allowed))
    for name, (low, high) in NUMBER_PARAMS.items():
        raw = (as_list(params[name])[-1:] or [""])[0] if name in params else None
        if raw is not None and re.fullmatch(r"\d{1,13}", raw) and low <= int(raw) <= high:
            values[name] = int(raw)
        elif raw is not None:
            bad(name, raw, f"a whole number from {low} to {high}" if high <= 100 else "an image id")
    if "series" in params:
        raw = str((as_list(params["series"])[-1:] or [""])[0])
        if CLAIM_ID.fullmatch(raw):
            values["series"] = raw
        else:
            bad("series", raw, "a place id such as LOC_TUMANGANG_STN")
    for name, allowed in LIST_PARAMS.items():
        if name not in params:
            continue
        items = as_list(params[name])
        good = [i for i in items if i in allowed]
        unknown = [i for i in items if i not in allowed]
        if name == "layers" and not items:
            values[name] = []  # ?layers= is a map with every layer off, which a person can set
        if good:
            values[name] = list(dict.fromkeys(good))
        if unknown and good:
            notices.append(f"Ignored {name} value(s) {shorten(','.join(unknown))!r}: expected values from "
                           f"{', '.join(allowed)}. Kept {', '.join(values[name])}.")
        elif unknown:
            bad(name, ",".join(unknown), "values from " + ", ".join(allowed))
    return values, notices


def to_params(values: dict, defaults: dict) -> dict[str, str]:
    """The URL parameters of a state: ids only, comma lists, values equal to `defaults` left
    out (except the month, which is always written: the default month moves as data grows)."""
    out = {}
    for name in ORDER:
        value = values.get(name)
        if value is None or (name != "date" and value == defaults.get(name)):
            continue
        if name == "present":
            out[name] = "1" if value else "0"
        elif name == "sel":
            out[name] = f"{value['kind']}:{value['feature_id']}"
        elif isinstance(value, (list, tuple)):
            out[name] = ",".join(value)
        else:
            out[name] = str(value)
    return out


# --- the window's size, remembered between visits ---------------------------------------------------

def viewport_cookie(present: bool) -> str:
    """The cookie ui/controls.js keeps the window's and the map's size in, per page layout."""
    return "pipeline_viewport_present" if present else "pipeline_viewport"


def parse_viewport(raw: str | None) -> dict | None:
    """A remembered {width, height, map_width} (URL-encoded JSON from the page), or None when
    it is missing or not a plausible window: a cookie is the browser's to change."""
    if not isinstance(raw, str) or not raw or len(raw) > 200:
        return None
    try:
        value = json.loads(unquote(raw))
    except ValueError:
        return None
    if not isinstance(value, dict):
        return None
    size = {k: value.get(k) for k in ("width", "height", "map_width")}
    if not all(isinstance(v, int) and not isinstance(v, bool) and 200 <= v <= 20_000 for v in size.values()):
        return None
    return size if size["map_width"] <= size["width"] else None
