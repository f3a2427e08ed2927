"""The legend: exactly the symbols a view draws, bundled and imported, nothing else."""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from geo import style
from geo.view.overlay import FRONT_RGB, IMPORTED_RGB, OTHER_STATUS_RGB, STATUS_RGB, TRACK_RGB

FAMILY_LABELS = {"munitions": "munitions", "missiles": "missiles", "troops": "troops", "money": "money",
                 "rail": "rail", "sea": "sea", "industry": "industry", "reverse": "goods to North Korea"}


@dataclass(frozen=True)
class LegendEntry:
    """One symbol the map draws: its shape, colour, dash and width class, and what it means."""

    symbol: str  # line, band, arc, ring, dot, marker, area; gap and detection (geo.view.ships)
    rgb: tuple[int, int, int]
    label: str
    dashed: bool = False
    width: str = ""  # line widths: "hairline" (no reported volume) or "sized" (by volume)
    as_of: str = ""  # an imported front snapshot's date (geo.view.fronts)


def legend_entries(view, palette: style.Palette) -> list[LegendEntry]:
    """Exactly the symbols the view's records are drawn with, in drawing order, nothing else."""
    entries: list[LegendEntry] = []

    def add(entry: LegendEntry):
        if entry not in entries:
            entries.append(entry)

    routes = view.features("routes")
    for r in sorted(routes, key=lambda r: (r["mode"], r["status"] != "reported", not r["has_volume"])):
        words = [r["mode"]] + ([] if r["status"] == "reported" else ["inferred routing"]) + \
                ([] if r["has_volume"] else ["no volume yet"])
        add(LegendEntry("line", tuple(r["color"][:3]), ", ".join(words), dashed=r["status"] != "reported",
                        width="sized" if r["has_volume"] else "hairline"))
    for r in routes:
        if r["width_high"] > r["width"]:
            add(LegendEntry("band", tuple(r["band_color"][:3]), f"{r['mode']}: highest claim"))
    for f in view.features("flows"):
        add(LegendEntry("arc", tuple(f["color"][:3]),
                        f"arc: {FAMILY_LABELS.get(f['family'], f['family'])} flow"))
    if view.features("railcars"):
        add(LegendEntry("ring", tuple(palette.mode["rail"]), "railcars in imagery"))
    strikes = view.features("strikes")
    if strikes:
        drone = any("drone" in f"{r['name']} {r['detail']}".lower() for r in strikes)
        add(LegendEntry("dot", style.OKABE_ITO["vermillion"], "missile or drone strike" if drone else "missile strike"))
    if view.features("events"):
        add(LegendEntry("dot", style.OKABE_ITO["yellow"], "other event"))
    if view.features("factories"):
        add(LegendEntry("area", style.OKABE_ITO["orange"], "factory region (approx.)"))
    if view.features("front"):
        add(LegendEntry("area", style.OKABE_ITO["blue"], "front area (approx.)"))
    if "places" in view.state.layers:
        add(LegendEntry("marker", (255, 255, 255), "place"))
    return entries



def workspace_entries(shown: dict) -> list[LegendEntry]:
    """Legend rows for the workspace layers that draw something (geo.view.overlay.visible)."""
    entries = []
    fronts = shown.get("imported-front", ())
    if len(fronts):  # a front export split by status draws each status in its own colour
        as_of = f"{pd.Timestamp(fronts['as_of'].max()):%Y-%m-%d}"
        statuses = fronts["front_status"] if "front_status" in fronts.columns else pd.Series([], dtype=object)
        if statuses.isna().any() or not len(statuses):
            entries.append(LegendEntry("area", FRONT_RGB, "imported front line", as_of=as_of))
        for status in sorted({s for s in statuses.dropna() if isinstance(s, str) and s}):
            entries.append(LegendEntry("area", STATUS_RGB.get(status, OTHER_STATUS_RGB), f"imported front: {status}",
                                       as_of=as_of))
    if len(shown.get("imported", ())):
        entries.append(LegendEntry("area", IMPORTED_RGB, "imported feature (your files)"))
    if len(shown.get("tracks", ())):
        entries.append(LegendEntry("line", TRACK_RGB, "imported track", width="sized"))
    return entries
