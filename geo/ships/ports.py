"""Port polygons for port calls: Rajin, Chongjin, Vostochny, Dunai, Nakhodka and Vladivostok.

Every polygon is drawn by one rule from one cited point, and says so in its properties:

- the point is a row of data/places.csv (its lon/lat and source_url), except Nakhodka, which has
  no place row: its point is the town of Nakhodka in the bundled Natural Earth populated places
  (data/basemap/detail_names.geojson), whose source is Natural Earth;
- the polygon is a circle of `radius_km` around that point, drawn in an azimuthal equidistant
  projection centred on the point (64 segments) and kept in lon/lat to 5 decimals. Points that
  stand for a port (precision approximate in places.csv) get 3 km; points that stand for a town
  (Vladivostok, Chongjin, Nakhodka: the place row says "the point is the city") get 5 km, so the
  harbour beside the town falls inside. The circle is not clipped to the sea: it covers land too.
- precision is `approximate` for all of them: none is a surveyed port limit.

`build()` draws them from the data; `load()` reads data/ports.geojson (what detections use by
default). `python -m geo.ships.ports` rewrites the bundled file; a test checks it is what the
rule gives.
"""
from __future__ import annotations

import csv
import json
from functools import lru_cache
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyproj
import shapely
from shapely.geometry import Point, mapping

DATA_DIR = Path(__file__).resolve().parents[2] / "data"
PORTS_FILE = DATA_DIR / "ports.geojson"
NATURAL_EARTH_URL = "https://www.naturalearthdata.com/downloads/10m-cultural-vectors/10m-populated-places/"

# (port id, name, where its point comes from, radius in km)
PORTS = (
    ("PORT_RAJIN", "Rajin", ("places", "LOC_RAJIN_PORT"), 3.0),
    ("PORT_CHONGJIN", "Chongjin", ("places", "LOC_CHONGJIN"), 5.0),
    ("PORT_VOSTOCHNY", "Vostochny", ("places", "LOC_VOSTOCHNY_PORT"), 3.0),
    ("PORT_DUNAI", "Dunai", ("places", "LOC_DUNAI_PORT"), 3.0),
    ("PORT_NAKHODKA", "Nakhodka", ("basemap", "Nakhodka"), 5.0),
    ("PORT_VLADIVOSTOK", "Vladivostok", ("places", "LOC_VLADIVOSTOK"), 5.0),
)
SEGMENTS = 64


def rule_text(radius_km: float, point_from: str) -> str:
    return (f"a circle of {radius_km:g} km radius around the point of {point_from}, drawn in an azimuthal "
            "equidistant projection centred on it; not clipped to the sea (it covers land too)")


def circle(lon: float, lat: float, radius_km: float) -> shapely.Polygon:
    aeqd = pyproj.CRS.from_proj4(f"+proj=aeqd +lat_0={lat} +lon_0={lon} +datum=WGS84 +units=m")
    back = pyproj.Transformer.from_crs(aeqd, "EPSG:4326", always_xy=True)
    ring = Point(0, 0).buffer(radius_km * 1000.0, quad_segs=SEGMENTS // 4).exterior.coords
    xs, ys = back.transform(*np.asarray(ring).T)
    return shapely.Polygon(np.round(np.column_stack([xs, ys]), 5))


def point_of(source: tuple[str, str], data_dir: Path) -> tuple[float, float, str, str]:
    """(lon, lat, source_url, what the point is) of a places.csv row or a Natural Earth town."""
    where, key = source
    if where == "places":
        with open(data_dir / "places.csv", encoding="utf-8", newline="") as handle:
            for row in csv.DictReader(handle):
                if row["id"] == key:
                    return float(row["lon"]), float(row["lat"]), row["source_url"], f"place {key} (data/places.csv)"
        raise KeyError(f"no place {key} in {data_dir / 'places.csv'}")
    names = json.loads((data_dir / "basemap" / "detail_names.geojson").read_text(encoding="utf-8"))
    for feature in names["features"]:
        props = feature["properties"]
        if props.get("name") == key and props.get("kind") == "town":
            lon, lat = feature["geometry"]["coordinates"]
            return float(lon), float(lat), NATURAL_EARTH_URL, \
                f"the town of {key} in Natural Earth's populated places (data/basemap/detail_names.geojson)"
    raise KeyError(f"no town {key} in the bundled Natural Earth names")


def build(data_dir: Path = DATA_DIR) -> gpd.GeoDataFrame:
    """The port polygons, drawn by the rule above from the bundled data."""
    rows = []
    for port_id, name, source, radius in PORTS:
        lon, lat, url, what = point_of(source, data_dir)
        rows.append({"id": port_id, "name": name, "place_id": source[1] if source[0] == "places" else "",
                     "lon": lon, "lat": lat, "radius_km": radius, "precision": "approximate",
                     "rule": rule_text(radius, what), "source_url": url, "geometry": circle(lon, lat, radius)})
    return gpd.GeoDataFrame(rows, geometry="geometry", crs="EPSG:4326")


def to_geojson(ports: gpd.GeoDataFrame) -> str:
    features = [{"type": "Feature", "properties": {k: row[k] for k in ports.columns if k != "geometry"},
                 "geometry": mapping(row["geometry"])} for _, row in ports.iterrows()]
    return json.dumps({"type": "FeatureCollection", "features": features}, indent=1, ensure_ascii=False) + "\n"


@lru_cache(maxsize=4)
def _load(path: str, stamp: float) -> gpd.GeoDataFrame:
    return gpd.read_file(path).set_crs("EPSG:4326", allow_override=True)


def load(path: Path | str | None = None) -> gpd.GeoDataFrame:
    """The bundled port polygons (or another file with the same properties)."""
    path = Path(path or PORTS_FILE)
    return _load(str(path), path.stat().st_mtime).copy()


def zone(ports: gpd.GeoDataFrame, km: float) -> shapely.Geometry:
    """Everything within `km` of any port polygon, in lon/lat (each port buffered in its own
    azimuthal equidistant projection, so the distance is true on the ground)."""
    return _zone(tuple(shapely.to_wkb(g) for g in ports.geometry), float(km))


@lru_cache(maxsize=16)
def _zone(wkbs: tuple, km: float) -> shapely.Geometry:
    parts = []
    for geom in (shapely.from_wkb(w) for w in wkbs):
        centre = shapely.centroid(geom)
        lon, lat = centre.x, centre.y
        aeqd = pyproj.CRS.from_proj4(f"+proj=aeqd +lat_0={lat} +lon_0={lon} +datum=WGS84 +units=m")
        there = pyproj.Transformer.from_crs("EPSG:4326", aeqd, always_xy=True)
        back = pyproj.Transformer.from_crs(aeqd, "EPSG:4326", always_xy=True)
        projected = shapely.transform(geom, lambda xy: np.column_stack(there.transform(xy[:, 0], xy[:, 1])))
        if km > 0:
            projected = projected.buffer(km * 1000.0, quad_segs=16)
        parts.append(shapely.transform(projected, lambda xy: np.column_stack(back.transform(xy[:, 0], xy[:, 1]))))
    return shapely.union_all(parts) if parts else shapely.Polygon()


def port_at(ports: gpd.GeoDataFrame, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """The index (row position in `ports`) of the port polygon holding each point, -1 outside all."""
    out = np.full(len(lon), -1, dtype=np.int32)
    for i, geom in enumerate(ports.geometry):
        xmin, ymin, xmax, ymax = geom.bounds
        near = np.flatnonzero((out < 0) & (lon >= xmin) & (lon <= xmax) & (lat >= ymin) & (lat <= ymax))
        if len(near):
            inside = shapely.contains_xy(geom, lon[near], lat[near])
            out[near[inside]] = i
    return out


if __name__ == "__main__":
    PORTS_FILE.write_text(to_geojson(build()), encoding="utf-8")
    print(f"wrote {PORTS_FILE}")
