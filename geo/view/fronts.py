"""An imported front snapshot dated in the month shown replaces the hand-drawn front areas.

The bundled front areas are approximations drawn by hand (dashed, "approx." in the legend and the
tooltip). When the analyst has imported a dated front-line snapshot (DeepStateMap, ISW or their
own) whose date falls in the month the map shows, that snapshot is what the map draws: the
approximate areas are left out, and the legend says which snapshot stands in their place.
"""
from __future__ import annotations

from dataclasses import replace

import pandas as pd

from geo.model import timeline

IMPORTED_FRONT = "imported front line"
NO_AREAS = {"type": "FeatureCollection", "features": []}


def replacing(state, extra_legend) -> object | None:
    """The imported front's legend entry when its snapshot is dated in the month of `state`."""
    start, end = timeline.month_start(state.date), pd.Timestamp(state.date)
    for entry in extra_legend:
        if entry.label.startswith("imported front") and getattr(entry, "as_of", "") and \
                start <= pd.Timestamp(entry.as_of) <= end:
            return entry
    return None


def legend(extra_legend, entry) -> list:
    """The workspace's legend rows, the replacing snapshot's saying so."""
    if entry is None:
        return list(extra_legend)
    label = (f"{IMPORTED_FRONT} of {entry.as_of}" if entry.label == IMPORTED_FRONT else
             f"{entry.label} ({entry.as_of})") + ", in place of the approximate front areas"
    said = replace(entry, label=label)
    return [said if e is entry else e for e in extra_legend]
