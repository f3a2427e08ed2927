"""A place's series of images and its before/after pair, as a session holds them.

The session keys (also the link's parameters, geo.page.state): `series` (the place whose images
are listed), `compare` (SIDE: the pair side by side under the map; SWIPE: one over the
other on the map, split by a divider), `series_before` and `series_after` (image ids) and
`series_divider` (per cent of the pair's width). A value the series cannot take (a place with no
image, an image of another place) falls back to its default and says so once.
"""
from __future__ import annotations

from typing import MutableMapping

from geo.view import imagery
from geo.view.legend import LegendEntry

KEYS = ("series", "compare", "series_before", "series_after", "series_divider")


def open_series(ss: MutableMapping, place_id: str) -> None:
    """Open a place's series: its first image before, its last after (keep_valid sets them)."""
    ss.update(series=place_id, series_before=None, series_after=None)


def strip_ids(images, places, place_id) -> list[int]:
    """The ids of a place's images in date order ([] when the place or its images are gone)."""
    found = places[places["id"] == place_id]
    return [] if found.empty else [int(i) for i in imagery.images_of(images, found.iloc[0])["id"]]


def keep_valid(ss: MutableMapping, images, places) -> None:
    """Make the series' keys values the page can show, before any widget reads them; a value that
    cannot stand (from a link, or left by a removed batch) adds a notice and takes the default."""
    place_id = ss.get("series")
    ids = strip_ids(images, places, place_id) if place_id else []
    if place_id and not ids:
        ss["series"] = None
        ss["notices"] = list(ss.get("notices", [])) + [
            f"Ignored series={str(place_id)[:40]!r}: no imported image holds that place. Showing no series."]
    if not ss.get("series"):
        return
    notices = []
    if ss.get("compare") not in imagery.COMPARE_CHOICES:
        ss["compare"] = imagery.SIDE
    divider = ss.get("series_divider")
    if not isinstance(divider, int) or isinstance(divider, bool) or not 0 <= divider <= 100:
        ss["series_divider"] = imagery.DIVIDER
    before, after = imagery.pair_ids(ids, ss.get("series_before"), ss.get("series_after"))
    for key, value in (("series_before", before), ("series_after", after)):
        if ss.get(key) is not None and ss.get(key) != value:
            notices.append(f"Ignored {key}={str(ss.get(key))[:40]!r}: not an image of this place. "
                           "Showing the default instead.")
        ss[key] = value
    if notices:
        ss["notices"] = list(ss.get("notices", [])) + notices


def swiping(ss: MutableMapping, map_state) -> tuple[int, int, int] | None:
    """(before id, after id, divider) when the map shows the pair one over the other: the series
    open with the swipe chosen, the images layer on, and not in presenter mode."""
    if map_state.present or "images" not in map_state.layers or not ss.get("series") \
            or ss.get("compare") != imagery.SWIPE:
        return None
    if ss.get("series_before") is None or ss.get("series_after") is None:
        return None
    return int(ss["series_before"]), int(ss["series_after"]), int(ss.get("series_divider", imagery.DIVIDER))


def legend(view, pair: dict | None) -> list[LegendEntry]:
    """The view's legend with a swiped pair: the credit of each image the map leaves out under the
    pair gone, the pair's own credits added."""
    if not pair:
        return view.legend
    hidden = set()
    if view.images is not None:
        for _, r in view.images.iterrows():
            if imagery.under(pair, r["footprint"].bounds):
                hidden.add(imagery.credit(r))
    out = [e for e in view.legend if not (e.symbol == "image" and e.label in hidden)]
    for side in ("before", "after"):
        entry = LegendEntry("image", imagery.IMAGE_RGB, pair[side]["credit"])
        if entry not in out:
            out.append(entry)
    return out
