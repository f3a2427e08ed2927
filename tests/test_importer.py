"""The importer on real-shaped files: where things land, what is kept, and what is refused (quickly, in one line)."""
import hashlib
import json
import subprocess
import sys
import time
import zipfile

from geo import export as exports
import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Point, Polygon

import sample_files as sf
from conftest import ROOT
from geo.imports import importer, readers
from geo.imports.importer import ImportProblem, Limits, read_file
from geo.store.workspace import Workspace, front_on


@pytest.fixture(autouse=True)
def private_workspace(tmp_path, monkeypatch):
    path = tmp_path / "store" / "workspace.sqlite"
    monkeypatch.setenv("GEO_WORKSPACE", str(path))
    return path


# --- coordinates and formats ---------------------------------------------------------------------------

def test_state_plane_point_lands_on_the_empire_state_building(tmp_path):
    result = read_file(sf.projected_gpkg(tmp_path / "landmarks.gpkg"))
    assert result.input_crs == "EPSG:2263"
    assert result.frame.crs.to_epsg() == 4326
    point = result.frame.geometry.iloc[0]
    assert point.x == pytest.approx(sf.EMPIRE_STATE_LONLAT[0], abs=2e-4)
    assert point.y == pytest.approx(sf.EMPIRE_STATE_LONLAT[1], abs=2e-4)
    assert result.frame["name"].iloc[0] == "Empire State Building"


def test_zipped_shapefile_with_an_empty_prj_is_taken_as_lonlat_with_a_warning(tmp_path):
    result = read_file(sf.shapefile_zip(tmp_path / "stations.zip"))
    assert result.format == "shapefile" and len(result.frame) == 2
    assert result.input_crs is None
    assert any(".prj empty" in w for w in result.warnings)
    assert any("lon/lat (EPSG:4326) is assumed" in w for w in result.warnings)
    assert result.summary()["bounds_lonlat"] == pytest.approx([130.6081, 42.4214, 130.644, 42.429])


def test_zipped_shapefile_without_crs_and_with_metres_is_refused(tmp_path):
    path = sf.shapefile_zip(tmp_path / "utm.zip", points=((500000, 4700000), (501000, 4701000)))
    with pytest.raises(ImportProblem, match="no CRS given and the coordinates are not lon/lat"):
        read_file(path)


def test_zipped_shapefile_with_a_prj_is_reprojected(tmp_path):
    prj = gpd.GeoSeries([], crs="EPSG:32652").crs.to_wkt("WKT1_ESRI")
    utm = gpd.GeoSeries([Point(130.6081, 42.4214)], crs=4326).to_crs(32652).iloc[0]
    result = read_file(sf.shapefile_zip(tmp_path / "utm.zip", prj=prj, points=((utm.x, utm.y),)))
    assert result.input_crs == "EPSG:32652"
    assert result.frame.geometry.iloc[0].x == pytest.approx(130.6081, abs=1e-6)


@pytest.mark.parametrize("make", [lambda p: sf.kml(p / "sightings.kml"),
                                  lambda p: sf.kml(p / "bare.kml", namespace=False),
                                  lambda p: sf.kmz(p / "sightings.kmz")], ids=["kml", "kml-no-namespace", "kmz"])
def test_kml_with_two_folders_imports_both(tmp_path, make):
    result = read_file(make(tmp_path))
    frame = result.frame
    assert len(frame) == 3
    assert set(frame["layer"]) == {"Ports", "Rail"}
    assert set(frame.loc[frame["layer"] == "Ports", "name"]) == {"Rajin", "Dunai"}
    assert set(frame.geom_type) == {"Point", "LineString"}
    assert not frame.has_z.any() and any("dropped Z" in w for w in result.warnings)
    assert "extrude" not in frame.columns  # KML display settings are not data


def test_windows_1252_csv_keeps_accents_curly_quotes_and_quoted_newlines(tmp_path):
    result = read_file(sf.cp1252_csv(tmp_path / "cafes.csv"))
    frame = result.frame
    assert list(frame["name"]) == ["Café Zürich", "Bäckerei"]
    assert frame["note"].iloc[0] == "“quoted” by a witness"
    assert frame["note"].iloc[1] == "two\r\nlines" or frame["note"].iloc[1] == "two\nlines"
    assert any("Windows-1252" in w for w in result.warnings)
    assert frame.geometry.iloc[0].coords[0] == pytest.approx((8.5417, 47.3769))


def test_acled_export_with_day_first_dates(tmp_path):
    result = read_file(sf.acled_csv(tmp_path / "acled_ukraine.csv"))
    frame = result.frame.set_index("id")
    assert result.kind == "events"
    assert frame.loc["UKR123", "date"] == pd.Timestamp("2024-01-17")
    assert frame.loc["UKR124", "date"] == pd.Timestamp("2024-01-02"), "02/01/2024 is 2 January (day first)"
    assert frame.loc["UKR124", "fatalities"] == 4
    assert frame.loc["UKR123", "source"] == "Ukrainska Pravda"
    assert frame.loc["UKR123", "geometry"].coords[0] == pytest.approx((36.2304, 49.9935))


def test_ucdp_ged_export(tmp_path):
    result = read_file(sf.ucdp_csv(tmp_path / "ged.csv"))
    row = result.frame.iloc[0]
    assert result.kind == "events"
    assert (row["date"], row["fatalities"], row["id"]) == (pd.Timestamp("2024-01-02"), 3, "501")


def test_front_snapshots_dated_by_attribute_or_file_name_and_front_on(tmp_path):
    by_attr = read_file(sf.front_geojson(tmp_path / "front.geojson", "2024-08-20"))
    by_name = read_file(sf.front_geojson(tmp_path / "deepstate_20240901.geojson", None, shift=0.5))
    assert by_attr.kind == by_name.kind == "front"
    assert set(by_attr.frame["as_of"]) == {pd.Timestamp("2024-08-20")}
    assert set(by_name.frame["as_of"]) == {pd.Timestamp("2024-09-01")}
    assert any("file name" in w for w in by_name.warnings)
    fronts = pd.concat([by_attr.frame, by_name.frame], ignore_index=True)
    assert front_on(fronts, "2024-08-19").empty
    assert set(front_on(fronts, "2024-08-31")["as_of"]) == {pd.Timestamp("2024-08-20")}
    assert set(front_on(fronts, "2024-09-01")["as_of"]) == {pd.Timestamp("2024-09-01")}
    assert len(front_on(fronts, "2025-01-01")) == 2


def test_a_front_file_without_any_date_is_refused_when_forced(tmp_path):
    with pytest.raises(ImportProblem, match="needs a date"):
        read_file(sf.front_geojson(tmp_path / "lines.geojson", None), kind="front")


def test_legacy_geojson_crs_member_in_web_mercator(tmp_path):
    result = read_file(sf.mercator_geojson(tmp_path / "legacy.geojson"))
    assert result.input_crs == "EPSG:3857"
    assert result.frame.geometry.iloc[0].coords[0] == pytest.approx((130.6081, 42.4214), abs=1e-6)


def test_geojson_that_says_lonlat_but_holds_metres_is_refused(tmp_path):
    path = tmp_path / "mislabelled.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {}, "geometry": {"type": "Point", "coordinates": [14539000, 5220000]}}]}))
    with pytest.raises(ImportProblem, match="projected CRS without saying so"):
        read_file(path)


def test_track_csv_becomes_sorted_points_in_utc(tmp_path):
    result = read_file(sf.track_csv(tmp_path / "ais.csv"))
    frame = result.frame
    assert result.kind == "tracks"
    assert list(frame.columns[:5]) == ["track_id", "name", "t", "lon", "lat"]
    assert frame["t"].dtype.kind == "M" and frame["t"].dt.tz is None
    lady = frame[frame["track_id"] == "273000002"].iloc[0]
    assert lady["t"] == pd.Timestamp("2023-10-05 07:00:00"), "+03:00 must become 07:00 UTC"
    angara = frame[frame["track_id"] == "273000001"]
    assert len(angara) == 20 and angara["t"].is_monotonic_increasing
    assert set(angara["name"]) == {"ANGARA"}


def test_invalid_polygon_is_repaired_with_a_warning(tmp_path):
    bowtie = Polygon([(130, 42), (131, 43), (131, 42), (130, 43), (130, 42)])
    path = tmp_path / "bowtie.geojson"
    gpd.GeoDataFrame({"name": ["bow"]}, geometry=[bowtie], crs=4326).to_file(path)
    result = read_file(path)
    assert result.frame.is_valid.all()
    assert any("make_valid" in w for w in result.warnings)


def test_mixed_geometry_types_are_fine(tmp_path):
    path = tmp_path / "mixed.csv"
    path.write_text("name,wkt\npoint,POINT (130 42)\nline,\"LINESTRING (130 42, 131 43)\"\n"
                    "area,\"POLYGON ((130 42, 131 42, 131 43, 130 42))\"\n")
    result = read_file(path)
    assert result.summary()["geometry_types"] == ["LineString", "Point", "Polygon"]


# --- bad rows ------------------------------------------------------------------------------------------

def test_non_strict_skips_and_reports_bad_rows(tmp_path):
    result = read_file(sf.claims_csv(tmp_path / "claims.csv", 1000, bad_row=900))
    assert result.kind == "claims" and len(result.frame) == 999
    assert result.skipped == ["row 900, column as_of_date: '2024-13-45' is not a date (YYYY-MM-DD)"]
    assert "X0898" not in set(result.frame["id"])


def test_strict_fails_on_the_first_bad_row(tmp_path):
    with pytest.raises(ImportProblem) as err:
        read_file(sf.claims_csv(tmp_path / "claims.csv", 1000, bad_row=900), strict=True)
    assert str(err.value).startswith("claims.csv: row 900, column as_of_date: '2024-13-45' is not a date")
    assert "\n" not in str(err.value)


def test_bad_coordinates_are_reported_by_row_and_column(tmp_path):
    path = tmp_path / "points.csv"
    path.write_text("name,lat,lon\na,42,130\nb,95,130\nc,north,130\nd,42.5,130.5\n")
    result = read_file(path)
    assert len(result.frame) == 2
    assert result.skipped == ["row 3, column lat: lat 95 out of range (-90..90)",
                              "row 4, column lat: 'north' is not a number"]


def test_forcing_a_kind_the_columns_do_not_fit(tmp_path):
    with pytest.raises(ImportProblem, match="missing column"):
        read_file(sf.track_csv(tmp_path / "ais.csv"), kind="claims")


# --- limits and hostile input --------------------------------------------------------------------------

def test_limits_are_configurable(tmp_path):
    csv_path = sf.track_csv(tmp_path / "ais.csv")
    with pytest.raises(ImportProblem, match="limit 10"):
        read_file(csv_path, limits=Limits(max_track_points=10))
    with pytest.raises(ImportProblem, match="file is"):
        read_file(csv_path, limits=Limits(max_bytes=100))
    poly = Polygon([(130 + np.cos(a), 42 + np.sin(a)) for a in np.linspace(0, 6.28, 5000)])
    gpkg = tmp_path / "big.gpkg"
    gpd.GeoDataFrame({"name": ["big"]}, geometry=[poly], crs=4326).to_file(gpkg, driver="GPKG")
    with pytest.raises(ImportProblem, match=r"row 1, column geometry: refused: a geometry has 5,001 vertices"):
        read_file(gpkg, limits=Limits(max_vertices=1000))


def test_zip_members_are_checked_before_anything_is_extracted(tmp_path, monkeypatch):
    extracted = []
    monkeypatch.setattr(readers, "extract", lambda *a, **k: extracted.append(a) or b"")
    with pytest.raises(ImportProblem, match="path traversal"):
        read_file(sf.traversal_zip(tmp_path / "evil.zip"))
    assert extracted == []
    path = tmp_path / "abs.zip"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("points.csv", "name,lon,lat\na,130,42\n")
        z.writestr("/etc/cron.d/evil", "x")
    with pytest.raises(ImportProblem, match="absolute path"):
        read_file(path)
    assert extracted == []


def zeros_polygon(path, vertices=2_000_000):
    """A GeoJSON polygon with `vertices` vertices, written in a blink (the ring repeats itself)."""
    ring = b"[130.0,42.0],[131.0,42.0],[131.0,43.0],[130.0,43.0]," * (vertices // 4) + b"[130.0,42.0]"
    path.write_bytes(b'{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"name":"x"},'
                     b'"geometry":{"type":"Polygon","coordinates":[[' + ring + b']]}}]}')
    return path


def write(path, data: bytes):
    path.write_bytes(data)
    return path


HOSTILE = {
    "zip-bomb": (lambda p: sf.zip_bomb(p / "bomb.zip"), "zip would unpack to 300 MB"),
    "path-traversal": (lambda p: sf.traversal_zip(p / "evil.zip"), "path traversal"),
    "2M-vertex-polygon": (lambda p: zeros_polygon(p / "huge.geojson"), "about 2,000,00"),
    "binary-garbage": (lambda p: sf.garbage(p / "data.csv"), "binary content"),
    "truncated-json": (lambda p: sf.truncated_geojson(p / "cut.geojson"), "truncated JSON"),
    "empty": (lambda p: write(p / "empty.csv", b" \n"), "file is empty"),
    "bad-encoding": (lambda p: write(p / "enc.csv", b"name,lon,lat\n\x81\x8d\x90,130,42\n"), "unreadable encoding"),
    "garbage-gpkg": (lambda p: write(p / "x.gpkg", b"SQLite format 3\x00" + b"\x07" * 5000), "unreadable gpkg"),
}


def file_hash(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("case", list(HOSTILE))
def test_hostile_file_is_refused_quickly_in_one_line_and_the_store_is_untouched(tmp_path, private_workspace, case):
    store = Workspace()
    store.add(read_file(sf.track_csv(tmp_path / "ais.csv")))
    before, counts = file_hash(private_workspace), store.counts()
    make, expected = HOSTILE[case]
    path = make(tmp_path)
    start = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "geo", "import", str(path)], cwd=ROOT, capture_output=True,
                          text=True, timeout=60)
    elapsed = time.monotonic() - start
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {path.name}: "), proc.stderr
    assert expected in lines[0]
    assert "Traceback" not in proc.stderr + proc.stdout
    assert elapsed < 2.0, f"{case} took {elapsed:.2f} s"
    assert file_hash(private_workspace) == before and Workspace().counts() == counts


def test_inspect_prints_a_json_summary(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "geo", "inspect", str(sf.projected_gpkg(tmp_path / "esb.gpkg"))],
                          cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    assert summary["format"] == "gpkg" and summary["kind"] == "generic" and summary["feature_count"] == 1
    assert summary["input_crs"] == "EPSG:2263" and summary["geometry_types"] == ["Point"]
    assert summary["bounds_lonlat"][:2] == pytest.approx(list(sf.EMPIRE_STATE_LONLAT), abs=2e-4)
    assert summary["columns"] == ["name"] and summary["warnings"] == []


def test_inspect_of_a_missing_file_is_one_error_line(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "geo", "inspect", str(tmp_path / "nope.csv")], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and proc.stderr.startswith("error: nope.csv: cannot open the file")
    assert len(proc.stderr.strip().splitlines()) == 1


def test_the_cli_lists_the_same_kinds_and_formats_as_the_modules():
    from geo import cli
    assert cli.KINDS == importer.KINDS and cli.EXPORT_FORMATS == exports.FORMATS
