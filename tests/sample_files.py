"""Builders for real-shaped files an analyst might import, written the way other tools write them."""
from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
from shapely.geometry import Point, Polygon, box

# The Empire State Building in New York State Plane, Long Island zone (EPSG:2263, US survey feet).
EMPIRE_STATE_LONLAT = (-73.9857, 40.7484)
EMPIRE_STATE_2263 = (988_224.0, 211_951.0)


def projected_gpkg(path: Path) -> Path:
    frame = gpd.GeoDataFrame({"name": ["Empire State Building"]},
                             geometry=[Point(*EMPIRE_STATE_2263)], crs="EPSG:2263")
    frame.to_file(path, driver="GPKG", layer="landmarks")
    return path


def shapefile_zip(path: Path, prj: str = "", points=((130.6081, 42.4214), (130.644, 42.429))) -> Path:
    """A zipped shapefile written by GDAL, with its .prj replaced (empty by default)."""
    folder = path.parent / (path.stem + "_parts")
    folder.mkdir()
    frame = gpd.GeoDataFrame({"name": [f"p{i}" for i in range(len(points))]},
                             geometry=[Point(p) for p in points], crs="EPSG:4326")
    frame.to_file(folder / "stations.shp")
    (folder / "stations.prj").write_text(prj)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for part in sorted(folder.iterdir()):
            z.write(part, f"export/{part.name}")
    return path


KML_TWO_FOLDERS = """<?xml version="1.0" encoding="UTF-8"?>
<kml{ns}><Document><name>Pipeline sightings</name>
<Folder><name>Ports</name>
<Placemark><name>Rajin</name><description>loading piers</description>
<Point><coordinates>130.30,42.25,0</coordinates></Point></Placemark>
<Placemark><name>Dunai</name><Point><coordinates>132.35,42.88,0</coordinates></Point></Placemark>
</Folder>
<Folder><name>Rail</name>
<Placemark><name>Tumen bridge</name>
<LineString><coordinates>130.6081,42.4214 130.644,42.429</coordinates></LineString></Placemark>
</Folder></Document></kml>"""


def kml(path: Path, namespace: bool = True) -> Path:
    ns = ' xmlns="http://www.opengis.net/kml/2.2"' if namespace else ""
    path.write_text(KML_TWO_FOLDERS.format(ns=ns), encoding="utf-8")
    return path


def kmz(path: Path) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("doc.kml", KML_TWO_FOLDERS.format(ns=' xmlns="http://www.opengis.net/kml/2.2"'))
    return path


def cp1252_csv(path: Path) -> Path:
    text = ("name;lat;lon;note\r\n"
            "Café Zürich;47.3769;8.5417;“quoted” by a witness\r\n"
            "Bäckerei;48.2082;16.3738;\"two\r\nlines\"\r\n")
    path.write_bytes(text.encode("cp1252"))
    return path


ACLED_HEADER = ["event_id_cnty", "event_date", "year", "event_type", "sub_event_type", "actor1", "country",
                "admin1", "location", "latitude", "longitude", "source", "notes", "fatalities", "timestamp"]


def acled_csv(path: Path) -> Path:
    rows = [
        ["UKR123", "17 January 2024", "2024", "Explosions/Remote violence", "Shelling/artillery/missile attack",
         "Military Forces of Russia", "Ukraine", "Kharkiv", "Kharkiv", "49.9935", "36.2304", "Ukrainska Pravda",
         "On 17 January 2024, a missile struck Kharkiv.", "0", "1705900000"],
        ["UKR124", "02/01/2024", "2024", "Explosions/Remote violence", "Air/drone strike",
         "Military Forces of Russia", "Ukraine", "Kyiv", "Kyiv", "50.4501", "30.5234", "Kyiv Independent",
         "=HYPERLINK(\"x\")", "4", "1705900000"],
    ]
    import csv
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(ACLED_HEADER)
        w.writerows(rows)
    return path


def ucdp_csv(path: Path) -> Path:
    path.write_text("id,year,conflict_name,dyad_name,where_description,latitude,longitude,date_start,date_end,"
                    "best,source_article\n"
                    "501,2024,Russia - Ukraine,Government of Russia - Government of Ukraine,Kharkiv city,"
                    "49.99,36.23,2024-01-02,2024-01-02,3,\"Reuters 2024-01-02\"\n", encoding="utf-8")
    return path


def front_geojson(path: Path, date_attr: str | None = "2024-08-20", shift: float = 0.0) -> Path:
    props = {"name": "Russian-held area"}
    if date_attr:
        props["as_of"] = date_attr
    doc = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": props,
         "geometry": json.loads(gpd.GeoSeries([box(35 + shift, 47, 38, 49)]).to_json())["features"][0]["geometry"]},
        {"type": "Feature", "properties": dict(props, name="front line"),
         "geometry": {"type": "LineString", "coordinates": [[35 + shift, 47], [35 + shift, 49]]}},
    ]}
    path.write_text(json.dumps(doc))
    return path


def mercator_geojson(path: Path) -> Path:
    """A legacy GeoJSON (2008 spec) in Web Mercator with a `crs` member naming it by URN."""
    x, y = gpd.GeoSeries([Point(130.6081, 42.4214)], crs=4326).to_crs(3857).iloc[0].coords[0]
    doc = {"type": "FeatureCollection",
           "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::3857"}},
           "features": [{"type": "Feature", "properties": {"name": "Tumangang"},
                         "geometry": {"type": "Point", "coordinates": [x, y]}}]}
    path.write_text(json.dumps(doc))
    return path


def track_csv(path: Path, n: int = 20) -> Path:
    lines = ["mmsi,vessel_name,timestamp,lat,lon"]
    for i in range(n):
        lines.append(f"273000001,ANGARA,2023-10-{1 + i // 4:02d}T{(i % 4) * 6:02d}:00:00Z,"
                     f"{42.25 + i * 0.03:.4f},{130.30 + i * 0.1:.4f}")
    lines.append("273000002,LADY R,2023-10-05 10:00:00+03:00,42.9,132.35")
    path.write_text("\n".join(lines) + "\n")
    return path


def claims_csv(path: Path, rows: int = 1000, bad_row: int | None = None, prefix: str = "X") -> Path:
    """A claims table in our schema; `bad_row` (spreadsheet row, header = 1) gets an impossible date."""
    header = ("id,metric,family,value,value_high,qualifier,unit,basis,as_of_date,reported_date,claimant,"
              "attribution,claimant_type,outlet,url,place_id,route_ids,note")
    lines = [header]
    for i in range(rows):
        as_of = "2024-13-45" if bad_row is not None and i + 2 == bad_row else "2024-02-01"
        lines.append(f"{prefix}{i:04d},test_metric,munitions,{i + 1},,about,containers,estimate,{as_of},2024-02-10,"
                     f"Analyst {i % 3},Analyst {i % 3},think_tank,Outlet {i % 5},https://example.org/{i},,,note {i}")
    path.write_text("\n".join(lines) + "\n")
    return path


def big_polygon_geojson(path: Path, vertices: int) -> Path:
    t = np.linspace(0, 2 * np.pi, vertices)
    coords = ",".join(f"[{130 + np.cos(a):.5f},{42 + np.sin(a):.5f}]" for a in t)
    path.write_text('{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"name":"x"},'
                    '"geometry":{"type":"Polygon","coordinates":[[' + coords + ']]}}]}')
    return path


def zip_bomb(path: Path, megabytes: int = 300) -> Path:
    """A zip whose one member declares (and really holds) `megabytes` of zeros; ~300 KB on disk."""
    chunk = b"\0" * (1024 * 1024)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        with z.open("data/points.csv", "w", force_zip64=True) as member:
            for _ in range(megabytes):
                member.write(chunk)
    return path


def traversal_zip(path: Path) -> Path:
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("points.csv", "name,lon,lat\na,130,42\n")
        z.writestr("../evil.txt", "gotcha")
    return path


def garbage(path: Path, size: int = 200_000) -> Path:
    path.write_bytes(np.random.default_rng(7).bytes(size))
    return path


def truncated_geojson(path: Path) -> Path:
    text = json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"name": f"p{i}"}, "geometry": {"type": "Point", "coordinates": [130, 42]}}
        for i in range(50)]})
    path.write_text(text[: len(text) // 2])
    return path


# --- round two: files from third parties ------------------------------------------------------------

def acled_with_times(path: Path) -> Path:
    """ACLED's own export writes event_date as day/month/year with a midnight time."""
    path.write_text(
        "event_id_cnty,event_date,year,event_type,location,latitude,longitude,source,notes,fatalities\n"
        "UKR900,14/08/2020 00:00:00,2020,Battles,Avdiivka,48.1394,37.7497,Src,n,1\n"
        "UKR901,03/09/2020 00:00:00,2020,Battles,Avdiivka,48.1394,37.7497,Src,n,0\n", encoding="utf-8")
    return path


def vessel_positions(path: Path, blank_time_row: int | None = None) -> Path:
    """Vessel positions as a port authority exports them: month-first `date_add` with a time."""
    lines = ["vessel id,track id,lat,lon,speed,course,date_add"]
    for i in range(6):
        track = 11 if i < 3 else 12
        when = "" if blank_time_row is not None and i + 2 == blank_time_row else f"2/{24 + i % 3}/2016 {i}:00"
        lines.append(f"V7,{track},{42.2 + i * 0.05:.3f},{130.3 + i * 0.1:.3f},{10 + i},{90 + i},{when}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


# Moscow - Kursk - Belgorod - Kharkiv: swapped, it would lie in Iran and Turkmenistan.
RAIL_LONLAT = [(37.62, 55.75), (36.19, 51.73), (36.59, 50.60), (36.23, 49.99)]


def rail_geojson(path: Path, swapped: bool = False) -> Path:
    coords = [[lat, lon] if swapped else [lon, lat] for lon, lat in RAIL_LONLAT]
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"name": "Trans-Siberian"},
         "geometry": {"type": "LineString", "coordinates": coords}}]}))
    return path


def gpx(path: Path) -> Path:
    path.write_text("""<?xml version="1.0" encoding="UTF-8"?>
<gpx version="1.1" creator="GPS" xmlns="http://www.topografix.com/GPX/1/1">
<wpt lat="42.4214" lon="130.6081"><name>Tumangang</name><time>2024-03-01T08:00:00Z</time></wpt>
<wpt lat="42.429" lon="130.644"><name>Khasan</name></wpt>
<trk><name>crossing</name><trkseg>
<trkpt lat="42.4214" lon="130.6081"><time>2024-03-01T08:00:00Z</time></trkpt>
<trkpt lat="42.425" lon="130.62"><time>2024-03-01T08:10:00Z</time></trkpt>
<trkpt lat="42.429" lon="130.644"><time>2024-03-01T08:20:00Z</time></trkpt>
</trkseg></trk></gpx>
""", encoding="utf-8")
    return path


def topojson(path: Path) -> Path:
    """Two areas sharing an arc, quantised, as topojson writes them."""
    doc = {"type": "Topology",
           "transform": {"scale": [0.001, 0.001], "translate": [130.0, 42.0]},
           "objects": {"areas": {"type": "GeometryCollection", "geometries": [
               {"type": "Polygon", "arcs": [[0, 1]], "properties": {"name": "west"}},
               {"type": "Polygon", "arcs": [[-1, 2]], "properties": {"name": "east"}}]}},
           "arcs": [[[500, 0], [0, 1000]],
                    [[500, 1000], [-500, 0], [0, -1000], [500, 0]],
                    [[500, 0], [500, 0], [0, 1000], [-500, 0]]]}
    path.write_text(json.dumps(doc))
    return path


def shapefile_parts(folder: Path, stem: str = "provinces", prj: str | None = None,
                    points=((130.6081, 42.4214), (130.644, 42.429))) -> Path:
    """A shapefile's parts side by side, as GIS software leaves them; `prj` replaces the .prj
    ("" for an empty one), None keeps GDAL's."""
    folder.mkdir(parents=True, exist_ok=True)
    frame = gpd.GeoDataFrame({"name": [f"p{i}" for i in range(len(points))]},
                             geometry=[Point(p) for p in points], crs="EPSG:4326")
    frame.to_file(folder / f"{stem}.shp")
    if prj is not None:
        (folder / f"{stem}.prj").write_text(prj)
    return folder / f"{stem}.shp"


KML_EXTENDED = """<?xml version="1.0" encoding="UTF-8"?>
<kml xmlns="http://www.opengis.net/kml/2.2"><Document>
<Schema name="stations" id="stations"><SimpleField name="Станция" type="string"/></Schema>
<Placemark><name>Хасан</name><TimeStamp><when>2024-03-05</when></TimeStamp>
<ExtendedData><Data name="Оператор"><value>РЖД</value></Data><Data name="тип"><value>станция</value></Data>
</ExtendedData><Point><coordinates>130.644,42.429</coordinates></Point></Placemark>
<Placemark><name>Туманган</name><TimeSpan><begin>2024-01-01</begin><end>2024-02-01</end></TimeSpan>
<ExtendedData><SchemaData schemaUrl="#stations"><SimpleData name="Станция">Туманган</SimpleData></SchemaData>
</ExtendedData><Point><coordinates>130.6081,42.4214</coordinates></Point></Placemark>
</Document></kml>"""


def kml_extended(path: Path) -> Path:
    path.write_text(KML_EXTENDED, encoding="utf-8")
    return path
