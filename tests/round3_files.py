"""Builders for the files of round three (tables, encodings and tracks analysts really have),
written the way the tools that make them write them. Used by tests/test_importer_round3.py and
by bench/inspect_cases.py, which times `python -m geo inspect` on each."""
from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import geopandas as gpd
from shapely.geometry import LineString, Point, Polygon


def xlsx_workbook(path: Path) -> Path:
    """Three sheets: a cover sheet of text only, a table under two title rows, a plain table."""
    import openpyxl
    book = openpyxl.Workbook()
    cover = book.active
    cover.title = "About"
    cover["A1"] = "Test sites workbook"
    cover["A3"] = "Compiled for the importer's tests; every value is made up."
    tests = book.create_sheet("Tests")
    tests["A1"] = "Launch events (made-up values)"
    tests["A2"] = "Sheet compiled 2024-02-01"
    tests.append([])
    tests.append(["Date", "Event", "Facility Name", "Facility Latitude", "Facility Longitude"])
    tests.append([dt.datetime(2024, 1, 14), "event 1", "site A", 39.03, 125.75])
    tests.append([dt.datetime(2024, 1, 24), "event 2", "site B", 40.0, 127.5])
    tests.append(["2024-02-02", "event 3", "site C", 38.9, 125.1])
    sites = book.create_sheet("Sites")
    sites.append(["name", "lat", "lon"])
    sites.append(["depot 1", 42.25, 130.30])
    sites.append(["depot 2", 42.88, 132.35])
    book.save(path)
    return path


def csv_with_preamble(path: Path) -> Path:
    path.write_text("# source: made-up export for the importer's tests\n"
                    "# retrieved 2024-02-01\n"
                    "\n"
                    "name,lat,lon,date\n"
                    "depot 1,42.25,130.30,2024-01-17\n"
                    "# a comment between rows\n"
                    "depot 2,42.88,132.35,2024-01-18\n", encoding="utf-8")
    return path


def csv_with_title(path: Path) -> Path:
    path.write_text("Facility list (made-up values)\n"
                    "Compiled 2024\n"
                    "name,latitude,longitude\n"
                    "site A,39.03,125.75\n"
                    "site B,40.00,127.50\n", encoding="utf-8")
    return path


def geojsonseq(path: Path, rs: bool = False) -> Path:
    lines = []
    for i, (x, y) in enumerate(((130.30, 42.25), (132.35, 42.88), (131.9, 43.1))):
        feature = {"type": "Feature", "properties": {"name": f"p{i}", "date": f"2024-01-{17 + i}"},
                   "geometry": {"type": "Point", "coordinates": [x, y]}}
        lines.append(("\x1e" if rs else "") + json.dumps(feature))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def gpx_handheld(path: Path, waypoints: bool = True) -> Path:
    """A handheld GPS's recording: one track of timed points (and two waypoints)."""
    points = "".join(f'<trkpt lat="{42.25 + i * 0.01:.2f}" lon="{130.30 + i * 0.01:.2f}"><ele>10</ele>'
                     f"<time>2024-01-17T10:{i:02d}:00Z</time></trkpt>" for i in range(6))
    wpts = ('<wpt lat="42.25" lon="130.30"><name>start</name></wpt>'
            '<wpt lat="42.30" lon="130.35"><name>end</name></wpt>') if waypoints else ""
    path.write_text('<?xml version="1.0" encoding="UTF-8"?>\n<gpx version="1.1" creator="handheld" '
                    'xmlns="http://www.topografix.com/GPX/1/1">' + wpts +
                    f"<trk><name>walk</name><trkseg>{points}</trkseg></trk></gpx>", encoding="utf-8")
    return path


def gpx_waypoints(path: Path) -> Path:
    path.write_text('<?xml version="1.0" encoding="UTF-8"?>\n<gpx version="1.1" creator="x" '
                    'xmlns="http://www.topografix.com/GPX/1/1">'
                    '<wpt lat="42.25" lon="130.30"><name>a</name></wpt>'
                    '<wpt lat="42.30" lon="130.35"><name>b</name></wpt></gpx>', encoding="utf-8")
    return path


def russian_csv(path: Path) -> Path:
    path.write_text("Название;Широта;Долгота;Дата\n"
                    "пункт 1;42,25;130,30;17.01.2024\n"
                    "пункт 2;42,88;132,35;18.01.2024\n", encoding="utf-8")
    return path


def ukrainian_csv(path: Path) -> Path:
    path.write_text("Назва,Широта,Довгота,Дата події\n"
                    "пункт 1,48.02,37.80,2024.01.17\n"
                    "пункт 2,48.59,38.00,2024.01.18\n", encoding="utf-8")
    return path


def korean_csv(path: Path) -> Path:
    path.write_text("이름,위도,경도,날짜\n"
                    "지점 1,39.03,125.75,2024.01.17\n"
                    "지점 2,40.00,127.50,2024.01.18\n", encoding="utf-8")
    return path


def kml_russian_date(path: Path) -> Path:
    marks = "".join(
        f'<Placemark><name>пункт {i}</name><ExtendedData><Data name="дата"><value>2024.01.{17 + i}</value></Data>'
        f"</ExtendedData><Point><coordinates>{130.3 + i},42.25,0</coordinates></Point></Placemark>"
        for i in range(2))
    path.write_text('<?xml version="1.0" encoding="UTF-8"?><kml xmlns="http://www.opengis.net/kml/2.2">'
                    f"<Document>{marks}</Document></kml>", encoding="utf-8")
    return path


def month_names_csv(path: Path) -> Path:
    path.write_text("name,lat,lon,date\n"
                    "a,42.25,130.30,9-Apr-84\n"
                    "b,42.88,132.35,17-Jan-24\n"
                    "c,43.10,131.90,unknown\n"
                    "d,43.20,131.95,3-Mar-24\n", encoding="utf-8")
    return path


KOREAN_NAMES = ("함경북도", "평안남도")
RUSSIAN_NAMES = ("Приморский край", "Хабаровский край")


def shapefile(folder: Path, names, encoding: str, cpg: str | None) -> Path:
    """provinces.shp/.shx/.dbf/.prj with text in `encoding`; the .cpg says `cpg` (None: no .cpg)."""
    folder.mkdir(parents=True, exist_ok=True)
    frame = gpd.GeoDataFrame({"name": list(names)},
                             geometry=[Polygon([(129, 41), (130, 41), (130, 42)]),
                                       Polygon([(125, 39), (126, 39), (126, 40)])], crs="EPSG:4326")
    frame.to_file(folder / "provinces.shp", encoding=encoding)
    cpg_path = folder / "provinces.cpg"
    cpg_path.unlink(missing_ok=True)
    if cpg is not None:
        cpg_path.write_text(cpg)
    return folder / "provinces.shp"


def countries_past_180(path: Path) -> Path:
    """Natural Earth's countries have a vertex at 180.00000000000006."""
    russia_east = {"type": "Polygon", "coordinates": [[[170.0, 60.0], [180.00000000000006, 60.0],
                                                       [180.00000000000006, 65.0], [170.0, 65.0], [170.0, 60.0]]]}
    other = {"type": "Polygon", "coordinates": [[[125.0, 38.0], [129.0, 38.0], [129.0, 42.0], [125.0, 38.0]]]}
    doc = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"name": "east"}, "geometry": russia_east},
        {"type": "Feature", "properties": {"name": "korea"}, "geometry": other}]}
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


def rail_partly_swapped(path: Path) -> Path:
    """Thirteen segments written lat, lon: five in Russia, eight in Poland."""
    russia = [((55.75 + i * 0.1, 37.6 + i * 0.2), (55.8 + i * 0.1, 37.9 + i * 0.2)) for i in range(5)]
    poland = [((52.2 + i * 0.1, 21.0 + i * 0.2), (52.3 + i * 0.1, 21.3 + i * 0.2)) for i in range(8)]
    frame = gpd.GeoDataFrame({"name": [f"r{i}" for i in range(5)] + [f"p{i}" for i in range(8)]},
                             geometry=[LineString(s) for s in russia + poland], crs="EPSG:4326")
    path.write_text(frame.to_json(), encoding="utf-8")
    return path


def front_statuses(path: Path) -> Path:
    """A raw front-line export: areas of four statuses and points, no date but the file name's."""
    def square(x, y, d=0.3):
        return Polygon([(x, y), (x + d, y), (x + d, y + d), (x, y + d)])
    rows = [("occupied", square(37.5, 47.5)), ("occupied", square(38.0, 48.0)), ("liberated", square(36.5, 47.0)),
            ("contested", square(37.9, 48.5)), ("unknown", square(35.9, 47.2)),
            ("occupied", Point(37.6, 47.6)), ("contested", Point(37.95, 48.6))]
    frame = gpd.GeoDataFrame({"status": [s for s, _ in rows], "name": [f"f{i}" for i in range(len(rows))]},
                             geometry=[g for _, g in rows], crs="EPSG:4326")
    path.write_text(frame.to_json(), encoding="utf-8")
    return path


def wide_csv(path: Path, width: int = 20_000) -> Path:
    header = ",".join(f"c{i}" for i in range(width)) + ",lat,lon"
    row = ",".join(str(i % 7) for i in range(width)) + ",42.1,130.2"
    path.write_text(f"{header}\n{row}\n{row}\n")
    return path


def write_all(folder: Path) -> dict[str, Path]:
    """Every case, for timing `python -m geo inspect` on each."""
    folder.mkdir(parents=True, exist_ok=True)
    return {
        "xlsx workbook": xlsx_workbook(folder / "tests.xlsx"),
        "CSV comment preamble": csv_with_preamble(folder / "preamble.csv"),
        "CSV title rows": csv_with_title(folder / "titled.csv"),
        "GeoJSONSeq": geojsonseq(folder / "points.geojsonl"),
        "GPX handheld track": gpx_handheld(folder / "walk.gpx"),
        "Russian headers": russian_csv(folder / "ru.csv"),
        "Ukrainian headers": ukrainian_csv(folder / "uk.csv"),
        "Korean headers": korean_csv(folder / "ko.csv"),
        "KML ExtendedData дата": kml_russian_date(folder / "ru.kml"),
        "month names, two-digit years": month_names_csv(folder / "months.csv"),
        "shapefile UTF-8, no .cpg": shapefile(folder / "shp_utf8", KOREAN_NAMES, "utf-8", None),
        "shapefile UTF-8, wrong .cpg": shapefile(folder / "shp_wrong", KOREAN_NAMES, "utf-8", "1252"),
        "shapefile cp1251, no .cpg": shapefile(folder / "shp_1251", RUSSIAN_NAMES, "cp1251", None),
        "shapefile cp949, no .cpg": shapefile(folder / "shp_949", KOREAN_NAMES, "cp949", None),
        "vertex at 180.00000000000006": countries_past_180(folder / "countries.geojson"),
        "rail lat,lon, part in range": rail_partly_swapped(folder / "rail.geojson"),
        "front statuses": front_statuses(folder / "deepstate_2024-08-20.geojson"),
        "CSV of 20,000 columns": wide_csv(folder / "wide.csv"),
    }
