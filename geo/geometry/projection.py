"""The project's two coordinate systems, defined once.

WGS 84 longitude/latitude (EPSG:4326) is what every file, table and record holds. Web Mercator
on a sphere (EPSG:3857) is how the map, the slides and the label placement draw it: deck.gl's
world is WORLD pixels wide at zoom 0, latitudes are clipped at MAX_LAT, the projection's edge.
"""
from __future__ import annotations

import math

import numpy as np

WGS84 = "EPSG:4326"
EARTH = 6378137.0  # the Web Mercator sphere's radius, metres
WORLD = 512  # deck.gl's Web Mercator world, pixels wide at zoom 0
MAX_LAT = 85.051129  # the square world's edge


def merc_y(lat):
    """Latitude (degrees) to Mercator y in radians of the sphere: ln tan(pi/4 + phi/2), clipped."""
    phi = np.radians(np.clip(np.asarray(lat, float), -MAX_LAT, MAX_LAT))
    return np.log(np.tan(np.pi / 4 + phi / 2))


def lat_of(y):
    """Mercator y (radians of the sphere) back to latitude in degrees."""
    return np.degrees(np.arctan(np.sinh(np.asarray(y, float))))


def to_metres(lon, lat):
    """EPSG:3857 metres."""
    return EARTH * np.radians(np.asarray(lon, float)), EARTH * merc_y(lat)


def from_metres(x, y):
    return np.degrees(np.asarray(x, float) / EARTH), lat_of(np.asarray(y, float) / EARTH)


def world_pixel(lon: float, lat: float) -> tuple[float, float]:
    """deck.gl's world pixel at zoom 0 (y grows southwards)."""
    return (lon + 180) / 360 * WORLD, float((1 - merc_y(lat) / math.pi) / 2 * WORLD)


def from_world_pixel(x: float, y: float) -> tuple[float, float]:
    return x / WORLD * 360 - 180, float(lat_of(math.pi * (1 - 2 * y / WORLD)))
