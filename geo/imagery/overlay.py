"""KML GroundOverlays: where an image lies (LatLonBox with its rotation, or gx:LatLonQuad), its
name, its date (TimeStamp, or TimeSpan's begin) and which file holds it (Icon/href).

Standard library only. The image itself is found by geo.imagery.raster's caller: inside the KMZ,
or beside a .kml on disk; an href that leaves the archive or the folder, or names a web address,
is refused (nothing is fetched).
"""
from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import PurePosixPath
from urllib.parse import unquote

from geo.imagery.headers import ImageProblem, date_in_text

MAX_OVERLAYS = 200  # images in one KML: each is warped and stored, so a file of thousands is refused


@dataclass(frozen=True)
class GroundOverlay:
    name: str
    href: str
    date: str | None  # YYYY-MM-DD
    # The corners of the image in lon/lat: upper-left, upper-right, lower-right, lower-left.
    corners: tuple[tuple[float, float], ...]
    rotation: float = 0.0
    quad: bool = False  # gx:LatLonQuad: four corners, not necessarily a parallelogram


def local(tag) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def child(node, name):
    return next((c for c in node if local(c.tag) == name), None)


def child_text(node, name) -> str | None:
    found = child(node, name)
    return found.text.strip() if found is not None and found.text else None


def has_ground_overlay(raw: bytes) -> bool:
    return re.search(rb"<(\w+:)?GroundOverlay[\s>]", raw) is not None


def ground_overlays(raw: bytes, filename: str) -> list[GroundOverlay]:
    """Every GroundOverlay of a KML document, in document order."""
    try:
        root = ET.fromstring(raw)
    except ET.ParseError as err:
        raise ImageProblem(filename, f"unreadable KML: {err}") from None
    found = []
    nodes = [n for n in root.iter() if local(n.tag) == "GroundOverlay"]
    if len(nodes) > MAX_OVERLAYS:
        raise ImageProblem(filename, f"refused: {len(nodes):,} GroundOverlays (limit {MAX_OVERLAYS}); split the file")
    for number, node in enumerate(nodes, start=1):
        name = child_text(node, "name") or f"overlay {number}"
        icon = child(node, "Icon")
        href = child_text(icon, "href") if icon is not None else None
        if not href:
            raise ImageProblem(filename, f"GroundOverlay {name!r} names no image (no Icon/href)")
        found.append(GroundOverlay(name, href, overlay_date(node), *placement(node, name, filename)))
    if not found:
        raise ImageProblem(filename, "no GroundOverlay in this KML")
    return found


def overlay_date(node) -> str | None:
    stamp, span = child(node, "TimeStamp"), child(node, "TimeSpan")
    if stamp is not None:
        return date_in_text(child_text(stamp, "when"))
    if span is not None:
        return date_in_text(child_text(span, "begin")) or date_in_text(child_text(span, "end"))
    return None


def number(node, name, filename, overlay) -> float:
    text = child_text(node, name)
    try:
        value = float(text)
    except (TypeError, ValueError):
        raise ImageProblem(filename, f"GroundOverlay {overlay!r}: LatLonBox {name} is {text!r}, not a number") \
            from None
    if not math.isfinite(value):
        raise ImageProblem(filename, f"GroundOverlay {overlay!r}: LatLonBox {name} is not a number")
    return value


def placement(node, name, filename):
    """(corners, rotation) of a LatLonBox (rotated counter-clockwise about its centre by
    `rotation` degrees, as Google Earth draws it) or of a gx:LatLonQuad."""
    box = child(node, "LatLonBox")
    if box is not None:
        north, south = number(box, "north", filename, name), number(box, "south", filename, name)
        east, west = number(box, "east", filename, name), number(box, "west", filename, name)
        rotation = float(child_text(box, "rotation") or 0) if _is_number(child_text(box, "rotation")) else 0.0
        if not (-90 <= south < north <= 90) or not (-180 <= west <= 180 and -180 <= east <= 540):
            raise ImageProblem(filename, f"GroundOverlay {name!r}: LatLonBox north {north}, south {south}, "
                                         f"east {east}, west {west} is not a box on the globe")
        if east <= west:
            east += 360  # the box crosses the antimeridian
        cx, cy = (east + west) / 2, (north + south) / 2
        theta = math.radians(rotation)
        cos, sin = math.cos(theta), math.sin(theta)

        def turn(x, y):
            dx, dy = x - cx, y - cy
            return cx + dx * cos - dy * sin, cy + dx * sin + dy * cos
        corners = tuple(turn(x, y) for x, y in ((west, north), (east, north), (east, south), (west, south)))
        return corners, rotation, False
    quad = next((c for c in node if local(c.tag) == "LatLonQuad"), None)
    if quad is not None:
        text = child_text(quad, "coordinates") or ""
        try:
            points = [tuple(float(v) for v in item.split(",")[:2]) for item in text.split()]
        except ValueError:
            points = []
        if len(points) != 4 or any(len(p) != 2 or not all(map(math.isfinite, p)) for p in points):
            raise ImageProblem(filename, f"GroundOverlay {name!r}: gx:LatLonQuad needs four lon,lat corners")
        lower_left, lower_right, upper_right, upper_left = points  # KML's order: counter-clockwise from lower left
        return (upper_left, upper_right, lower_right, lower_left), 0.0, True
    raise ImageProblem(filename, f"GroundOverlay {name!r} has no LatLonBox: no georeference")


def _is_number(text) -> bool:
    try:
        return text is not None and math.isfinite(float(text))
    except ValueError:
        return False


def member_path(href: str, base: str, filename: str) -> str:
    """The archive member (or relative path) an href names, relative to the KML's own folder
    `base`; refused when it names a web address or climbs out of the archive or folder."""
    text = unquote(href.strip())
    if re.match(r"^[A-Za-z][A-Za-z0-9+.-]*://", text) or text.startswith("//"):
        raise ImageProblem(filename, f"the overlay's image {href[:80]!r} is a web address: nothing is fetched; "
                                     "put the image in a KMZ with the KML")
    norm = text.replace("\\", "/")
    if norm.startswith("/") or re.match(r"^[A-Za-z]:", norm) or "\x00" in norm:
        raise ImageProblem(filename, f"refused: the overlay's image {href[:80]!r} is an absolute path")
    parts = []
    for part in (PurePosixPath(base) / norm).parts if base else PurePosixPath(norm).parts:
        if part in ("", "."):
            continue
        if part == "..":
            if not parts:
                raise ImageProblem(filename, f"refused: the overlay's image {href[:80]!r} lies outside the "
                                             "archive (path traversal)")
            parts.pop()
        else:
            parts.append(part)
    if not parts:
        raise ImageProblem(filename, f"the overlay's image {href[:80]!r} names no file")
    return "/".join(parts)
