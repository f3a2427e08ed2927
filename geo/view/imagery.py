"""Imported images on the timeline: which show on a date, at which pyramid level, and the
images of one place in date order with the claims of each date beside them.

The workspace keeps each image reprojected to Web Mercator as a pyramid of PNG levels
(table `images`: one row per image and level, `Workspace.images()` and `image_bytes(id, level)`).
Everything here works from that metadata; bytes are read only by whoever draws the image, through
`Imagery.read`, and kept per (image, level) in a small cache shared by every session.
"""
from __future__ import annotations

import json
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import pandas as pd
import shapely
from shapely import wkb, wkt
from shapely.geometry import box, mapping, shape

from geo.geometry import screenlines
from geo.model import timeline

MONTH = "month"  # an image shows in the month of its date
LATEST = "latest"  # the latest image of each place on or before the date
SHOW_CHOICES = (MONTH, LATEST)
IMAGE_RGB = (110, 110, 110)  # the legend's swatch for an image (the map shows the image itself)
THUMB_PIXELS = 160  # the evidence panel's and the series' thumbnails: the smallest level at least this wide
COVERS = 0.5  # a later image stands in for an earlier one of the same place when it covers half of it


def footprint_of(value):
    """A footprint as a shapely geometry in lon/lat: from a geometry, WKT, WKB or GeoJSON text,
    in lon/lat or in Web Mercator metres (told apart by range)."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    if isinstance(value, (bytes, bytearray, memoryview)):
        geom = wkb.loads(bytes(value))
    elif isinstance(value, str):
        text = value.strip()
        geom = shape(json.loads(text)) if text.startswith("{") else wkt.loads(text)
    elif isinstance(value, dict):
        geom = shape(value)
    else:
        geom = value
    x0, y0, x1, y1 = geom.bounds
    if max(abs(x0), abs(x1)) > 180 or max(abs(y0), abs(y1)) > 90:  # Web Mercator metres
        geom = shapely.transform(geom, lambda xy: np.column_stack(screenlines.lonlat(xy[:, 0], xy[:, 1])))
    return geom


@dataclass
class Imagery:
    """The workspace's images: one row per image (`meta`, with its levels as a list of
    (level, width, height) from the largest down), and how to read a level's PNG bytes."""

    meta: pd.DataFrame
    read: Callable[[int, int], bytes] | None = None
    version: str = ""
    _bytes: OrderedDict = field(default_factory=OrderedDict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __len__(self) -> int:
        return len(self.meta)

    def png(self, image_id: int, level: int) -> bytes:
        """A level's PNG bytes, read once and kept (the last 64 read)."""
        key = (int(image_id), int(level))
        with self._lock:
            if key in self._bytes:
                self._bytes.move_to_end(key)
                return self._bytes[key]
        data = self.read(*key)
        with self._lock:
            self._bytes[key] = data
            while len(self._bytes) > 64:
                self._bytes.popitem(last=False)
        return data

    def row(self, image_id) -> dict | None:
        rows = self.meta[self.meta["id"].astype(str) == str(image_id)]
        return None if rows.empty else rows.iloc[0].to_dict()


def level_sizes(width: int, height: int, count: int) -> list[tuple[int, int, int]]:
    """(level, width, height) of a pyramid whose level 0 is `width` x `height` and each next level
    half the one before (rounded up), `count` levels in all (as geo.imagery.raster cuts them)."""
    out = [(0, int(width), int(height))]
    while len(out) < max(1, int(count)):
        _, w, h = out[-1]
        out.append((len(out), max(1, -(-w // 2)), max(1, -(-h // 2))))
    return out


def from_rows(rows: pd.DataFrame, read=None, version: str = "") -> Imagery:
    """Imagery from the store's metadata: one row per image (Workspace.images(): image_id, name,
    date, source, licence, width and height of level 0, the number of `levels`, the footprint as
    geometry), or one row per image and level (id, level, width, height, footprint)."""
    columns = ["id", "batch_id", "name", "file", "date", "source", "licence", "footprint", "levels"]
    if rows is None or not len(rows):
        return Imagery(pd.DataFrame({c: pd.Series(dtype=object) for c in columns}), read, version)
    rows = pd.DataFrame(rows).copy()
    if "image_id" in rows.columns:  # one row per image
        rows = rows.rename(columns={"image_id": "id"})
        per_image = [(r, level_sizes(r["width"], r["height"], r["levels"])) for _, r in rows.iterrows()]
    else:  # one row per image and level
        rows["level"] = rows["level"] if "level" in rows.columns else 0
        per_image = [(group.sort_values("level").iloc[0],
                      [(int(r.level), int(r.width), int(r.height)) for r in group.itertuples()])
                     for _, group in rows.groupby("id", sort=True)]
    out = []
    for first, levels in per_image:
        levels = sorted(levels, key=lambda lv: -lv[1])
        foot = first.get("geometry") if "geometry" in first.index and first.get("geometry") is not None \
            else first.get("footprint")
        out.append({"id": int(first["id"]), "batch_id": first.get("batch_id"), "name": str(first.get("name") or ""),
                    "file": str(first.get("source_file") or first.get("name") or ""),
                    "date": pd.to_datetime(first.get("date"), errors="coerce"),
                    "source": str(first.get("source") or ""), "licence": str(first.get("licence") or ""),
                    "footprint": footprint_of(foot), "levels": levels})
    meta = pd.DataFrame(out, columns=columns)
    meta = meta[meta["footprint"].notna() & meta["date"].notna()].sort_values(["date", "id"]).reset_index(drop=True)
    return Imagery(meta, read, version)


def from_workspace(ws, snapshot=None) -> Imagery | None:
    """The store's images (their metadata from `snapshot` when given, else from the store), or None
    when it holds none."""
    if ws is None:
        return None
    rows = snapshot.images if snapshot is not None else ws.images()
    found = from_rows(rows, ws.image_bytes, snapshot.version if snapshot is not None else ws.version())
    return found if len(found) else None


def shown(imagery: Imagery | None, when, how: str = MONTH) -> pd.DataFrame:
    """The images a map of `when` (the end of the selected month) draws, oldest first: those
    dated in its month, or (`how` LATEST) each place's latest image on or before it (an older
    image of a place is dropped once a later one covers half of it)."""
    if imagery is None or not len(imagery):
        return pd.DataFrame(columns=["id"])
    when = timeline.as_timestamp(when)
    meta = imagery.meta
    if how != LATEST:
        start = timeline.month_start(when)
        return meta[(meta["date"] >= start) & (meta["date"] <= when)]
    before = meta[meta["date"] <= when].sort_values(["date", "id"], ascending=False)
    kept, covered = [], []
    for i, r in before.iterrows():
        foot = r["footprint"]
        if any(foot.intersection(c).area >= COVERS * foot.area for c in covered if foot.area > 0):
            continue
        kept.append(i)
        covered.append(foot)
    return meta.loc[sorted(kept, key=lambda i: (meta.at[i, "date"], meta.at[i, "id"]))]


def screen_width(footprint, zoom: float) -> float:
    """How many map pixels wide the footprint is drawn at `zoom`."""
    x0, y0, x1, y1 = footprint.bounds
    (mx0, mx1), _ = screenlines.mercator([x0, x1], [y0, y0])
    return float(mx1 - mx0) / screenlines.metres_per_pixel(zoom)


def level_for(levels: list[tuple[int, int, int]], pixels: float) -> int:
    """The smallest level at least `pixels` wide (the largest there is when none is)."""
    fits = [lv for lv in levels if lv[1] >= pixels]
    return (min(fits, key=lambda lv: lv[1]) if fits else max(levels, key=lambda lv: lv[1]))[0]


def credit(r) -> str:
    """An image's credit line: source, licence and date."""
    when = f"{pd.Timestamp(r['date']):%Y-%m-%d}"
    words = [w for w in (str(r.get("source") or "").strip(), str(r.get("licence") or "").strip()) if w]
    return f"Image {when}: {', '.join(words) if words else 'source not given'}"


def image_records(images: pd.DataFrame, zoom: float) -> list[dict]:
    """What the map draws per image: where (bounds west, south, east, north), at which level,
    and the tooltip fields (kind `image`, feature_id `img<id>`)."""
    out = []
    for _, r in images.iterrows():
        foot = r["footprint"]
        west, south, east, north = foot.bounds
        when = f"{pd.Timestamp(r['date']):%Y-%m-%d}"
        out.append({"kind": "image", "feature_id": f"img{int(r['id'])}", "place_id": "", "name": r["name"],
                    "detail": f"image; source: {r['source'] or 'not given'}; licence: {r['licence'] or 'not given'}",
                    "claimant": "", "when": when, "image_id": int(r["id"]),
                    "level": level_for(r["levels"], screen_width(foot, zoom)),
                    "bounds": [round(west, 6), round(south, 6), round(east, 6), round(north, 6)],
                    "polygon": [[[round(x, 6), round(y, 6)] for x, y in box(west, south, east, north).exterior.coords]],
                    "credit": credit(r)})
    return out


def thumb_level(levels: list[tuple[int, int, int]]) -> int:
    return level_for(levels, THUMB_PIXELS)


# --- places and their series ----------------------------------------------------------------------

def places_in(imagery: Imagery | None, places: pd.DataFrame, image_id=None) -> pd.DataFrame:
    """Places whose point lies in a footprint (of image `image_id`, or of any image), with the
    number of images of each."""
    if imagery is None or not len(imagery):
        return places.iloc[0:0].assign(images=pd.Series(dtype=int))
    meta = imagery.meta if image_id is None else imagery.meta[imagery.meta["id"].astype(str) == str(image_id)]
    points = shapely.points(places["lon"].to_numpy(float), places["lat"].to_numpy(float))
    counts = np.zeros(len(places), dtype=int)
    for foot in meta["footprint"]:
        counts += shapely.contains_xy(foot, places["lon"].to_numpy(float), places["lat"].to_numpy(float)) | \
            shapely.touches(foot, points)
    out = places.assign(images=counts)
    return out[out["images"] > 0]


def images_of(imagery: Imagery | None, place) -> pd.DataFrame:
    """The images whose footprint holds the place's point, in date order."""
    if imagery is None or not len(imagery):
        return pd.DataFrame(columns=["id", "date"])
    meta = imagery.meta
    inside = [bool(shapely.intersects(f, shapely.Point(float(place["lon"]), float(place["lat"]))))
              for f in meta["footprint"]]
    return meta[inside].sort_values(["date", "id"])


def claims_pointing_at(claims: pd.DataFrame, *names: str) -> pd.DataFrame:
    """Claims whose `images` field (names separated by ';') names the image: by its name or file name."""
    names = {n for n in names if n}
    if "images" not in claims.columns or not names:
        return claims.iloc[0:0]
    named = claims["images"].fillna("").astype(str).map(lambda v: bool(names & {p.strip() for p in v.split(";")}))
    return claims[named]


def series(imagery: Imagery | None, place, claims: pd.DataFrame, when, how: str = MONTH) -> list[dict]:
    """A place's images in date order, each with the claims at the place dated in the image's month
    (or naming the image) that were public by `when`, and whether the map of `when` shows it
    (`how`: the map's setting, MONTH or LATEST)."""
    images = images_of(imagery, place)
    if not len(images):
        return []
    known = timeline.known_claims(claims, when)
    here = known[known["place_id"].fillna("").astype(str) == str(place["id"])] if "place_id" in known.columns \
        else known.iloc[0:0]
    month_images = set(shown(imagery, when, how)["id"])
    out = []
    for _, r in images.iterrows():
        start = timeline.month_start(r["date"])
        end = timeline.month_end(r["date"])
        same = here[(here["as_of_date"] >= start) & (here["as_of_date"] <= end)]
        named = claims_pointing_at(known, r["name"], r["file"])
        rows = pd.concat([same, named]).drop_duplicates("id").sort_values(["metric", "as_of_date", "id"])
        out.append({"id": int(r["id"]), "name": r["name"], "date": f"{pd.Timestamp(r['date']):%Y-%m-%d}",
                    "source": r["source"], "licence": r["licence"], "credit": credit(r),
                    "thumb_level": thumb_level(r["levels"]), "on_map": int(r["id"]) in month_images,
                    "claims": [{"id": c["id"], "metric": c["metric"], "value": c["value"],
                                "value_high": c.get("value_high"), "unit": c.get("unit", ""),
                                "claimant": c["claimant"], "as_of": f"{pd.Timestamp(c['as_of_date']):%Y-%m-%d}"}
                               for _, c in rows.iterrows()]})
    return out


def geojson(footprint) -> dict:
    return mapping(footprint)


# --- before and after ---------------------------------------------------------------------------------

SIDE, SWIPE = "side", "swipe"  # the pair side by side under the map, or one over the other on the map
COMPARE_CHOICES = (SIDE, SWIPE)
DIVIDER = 50  # where the divider stands at first: per cent of the pair's width from its west edge


def pair_ids(strip_ids: list[int], before=None, after=None) -> tuple[int, int]:
    """The before and after images of a series (its image ids in date order): the ones asked for
    when the series holds them, else its first and its last."""
    ids = [int(i) for i in strip_ids]
    pick = lambda want, default: int(want) if want is not None and str(want).isdigit() and int(want) in ids \
        else default  # noqa: E731
    return pick(before, ids[0]), pick(after, ids[-1])


def swipe(imagery: Imagery | None, before_id, after_id, divider: float, zoom: float) -> dict | None:
    """The before image and the after image one over the other, split by a north-south divider
    `divider` per cent of the way across the pair's joint extent: what lies west of it shows the
    before image, east of it the after image. Each is an image_records record with `clip` (west,
    south, east, north: the part of the map it may draw on); `line` is the divider's path."""
    if imagery is None:
        return None
    rows = [imagery.meta[imagery.meta["id"].astype(int) == int(i)] for i in (before_id, after_id)]
    if any(r.empty for r in rows):
        return None
    west, south, east, north = shapely.union(rows[0].iloc[0]["footprint"], rows[1].iloc[0]["footprint"]).bounds
    at = round(west + (east - west) * min(100.0, max(0.0, float(divider))) / 100.0, 7)
    before, after = image_records(rows[0], zoom)[0], image_records(rows[1], zoom)[0]
    before["clip"] = [round(west, 7), round(south, 7), at, round(north, 7)]
    after["clip"] = [at, round(south, 7), round(east, 7), round(north, 7)]
    return {"before": before, "after": after, "divider": float(divider), "lon": at,
            "line": [[at, round(south, 7)], [at, round(north, 7)]]}


def under(pair: dict | None, bounds) -> bool:
    """Whether an image at `bounds` (west, south, east, north) would lie under a swiped pair (and
    show through it): the map leaves it out while the pair is swiped."""
    if not pair:
        return False
    west, south, _, north = pair["before"]["clip"]
    east = pair["after"]["clip"][2]
    return not (bounds[2] <= west or bounds[0] >= east or bounds[3] <= south or bounds[1] >= north)
