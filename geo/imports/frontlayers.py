"""Front-line exports that mix statuses (DeepStateMap's raw layer: occupied, liberated,
contested, unknown; areas, lines and points together) split into one snapshot layer per status.

Each area or line gets `front_status` (the status as written, lower case; blank -> unknown):
the map draws the latest snapshot of each status as its own layer, in its own colour
(geo.view.overlay.STATUS_RGB). Points are no part of an area: they are kept as events
(`stored_as` = events, dated by the snapshot), shown with the other imported events.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import shapely

from geo.imports.names import find_column

STATUS_NAMES = ("status", "state", "control", "controlled_by", "status_name", "type_status", "статус", "стан",
                "статус_территории", "상태")


def status_column(columns) -> str | None:
    return find_column(columns, STATUS_NAMES)


def split_by_status(low, loaded):
    """The front frame with `front_status` and `stored_as` columns, and a note; unchanged when the
    file has no status column and no points."""
    column = status_column([c for c in low.columns if c != "geometry"])
    geoms = np.asarray(low.geometry.array, dtype=object)
    kinds = shapely.get_type_id(geoms)
    points = np.isin(kinds, (0, 4))  # Point, MultiPoint
    if column is None and not points.any():
        return low
    out = low.copy()
    if column is not None:
        status = out[column].map(lambda v: "" if v is None or (isinstance(v, float) and v != v) else str(v).strip()
                                 .lower())
        out["front_status"] = status.where(status != "", "unknown")
    out["stored_as"] = np.where(points, "events", "front")
    parts = []
    if column is not None:
        counts = out.loc[~points, "front_status"].value_counts(sort=False)
        layers = {str(k): int(v) for k, v in counts.items()}
        loaded.details["layers"] = layers
        parts.append(f"split by {column} into {len(layers)} snapshot layer(s): "
                     + ", ".join(f"{k} ({v})" for k, v in layers.items()))
    if points.any():
        parts.append(f"{int(points.sum())} point(s) kept as events, not merged into the areas")
        loaded.details.setdefault("layers", {})["events (points)"] = int(points.sum())
    loaded.warnings.append("; ".join(parts))
    return out


def latest_per_status(known: pd.DataFrame) -> pd.DataFrame:
    """Of dated front features, the latest snapshot of each status (all of them if none has one)."""
    if "front_status" not in known.columns:
        return known[known["as_of"] == known["as_of"].max()]
    key = known["front_status"].fillna("").astype(str)
    latest = known.groupby(key)["as_of"].transform("max")
    return known[known["as_of"] == latest]
