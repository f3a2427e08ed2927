"""Coordinates at the edges of lon/lat, and swapped axes feature by feature.

- A coordinate a hair past ±180 or ±90 (within TOLERANCE degrees: Natural Earth's countries
  have vertices at 180.00000000000006) is moved onto the edge and counted, never a reason to
  drop the feature.
- Swapped axes are checked per feature: the features that lie outside the dashboard's
  countries (or outside lon/lat) as given and inside them swapped are counted, so a file of
  which only a part is in the covered countries still gets the warning, with that count.
"""
from __future__ import annotations

import numpy as np
import shapely

TOLERANCE = 1e-6  # degrees, about 0.1 m


def clamp_edges(geoms: np.ndarray) -> tuple[np.ndarray, int, int]:
    """(geometries, features changed, coordinates moved): coordinates within TOLERANCE past
    ±180/±90 set onto the edge; anything further is left for the range check."""
    arr = np.asarray(geoms, dtype=object)
    present = np.flatnonzero(~shapely.is_missing(arr))
    if not len(present):
        return arr, 0, 0
    coords, index = shapely.get_coordinates(arr[present], return_index=True)
    x, y = np.abs(coords[:, 0]), np.abs(coords[:, 1])
    near = ((x > 180) & (x <= 180 + TOLERANCE)) | ((y > 90) & (y <= 90 + TOLERANCE))
    if not near.any():
        return arr, 0, 0
    touched = present[np.unique(index[near])]
    out = arr.copy()

    def clip(xy):
        xy = xy.copy()
        xs, ys = xy[:, 0], xy[:, 1]
        edge_x = (np.abs(xs) > 180) & (np.abs(xs) <= 180 + TOLERANCE)
        edge_y = (np.abs(ys) > 90) & (np.abs(ys) <= 90 + TOLERANCE)
        xy[edge_x, 0] = np.sign(xs[edge_x]) * 180
        xy[edge_y, 1] = np.sign(ys[edge_y]) * 90
        return xy
    out[touched] = shapely.transform(arr[touched], clip)
    return out, len(touched), int(near.sum())


def clamp_note(features: int, moved: int) -> str:
    return (f"moved {moved} coordinate(s) in {features} feature(s) that lay a hair past ±180/±90 (at most "
            f"{TOLERANCE:g}°) onto the edge")


def swapped_by_feature(geoms: np.ndarray, area) -> tuple[int, int, int]:
    """(features looked at, features inside the area or lon/lat as given, features that would
    move inside by swapping x and y)."""
    arr = np.asarray(geoms, dtype=object)
    present = arr[~shapely.is_missing(arr) & ~shapely.is_empty(arr)]
    if not len(present):
        return 0, 0, 0
    step = max(1, len(present) // 5000)
    present = present[::step]
    points = shapely.point_on_surface(present)  # one representative point per feature
    xs, ys = shapely.get_x(points), shapely.get_y(points)
    range_given = (np.abs(xs) <= 180) & (np.abs(ys) <= 90)
    range_swapped = (np.abs(ys) <= 180) & (np.abs(xs) <= 90)
    if area is not None:
        inside = range_given & shapely.contains_xy(area, xs, ys)
        inside_swapped = range_swapped & shapely.contains_xy(area, ys, xs)
    else:
        inside, inside_swapped = range_given, range_swapped
    movers = int((~inside & inside_swapped).sum())
    return len(present) * step, int(inside.sum()) * step, movers * step
