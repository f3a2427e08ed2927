"""The PostGIS workspace as a GIS user meets it: typed, EPSG:4326 geometry layers that GDAL's
PostgreSQL driver (what QGIS uses) and plain SQL read back as they were imported.

pyogrio's bundled GDAL has no PostgreSQL driver (pyogrio.list_drivers() lacks it), so the
GDAL read goes through Debian's `ogr2ogr` (gdal-bin, installed by .ci/run); the same check
also runs through psycopg + ST_AsBinary, which needs nothing but the database.
"""
import json
import os
import shutil
import subprocess

import geopandas as gpd
import pyogrio
import pytest
import shapely

import sample_files as sf
from geo.imports.importer import read_file
from geo.store.workspace import Workspace

LAYERS = {"gis_points": "MULTIPOINT", "gis_lines": "MULTILINESTRING", "gis_areas": "MULTIPOLYGON",
          "gis_tracks": "LINESTRING", "features": "GEOMETRY", "track_points": "POINT",
          "images": "POLYGON"}


@pytest.fixture
def filled(tmp_path, postgres):
    url = postgres.new_database()
    ws = Workspace(url)
    ws.add(read_file(sf.kml(tmp_path / "sightings.kml")))  # two points and a line
    ws.add(read_file(sf.front_geojson(tmp_path / "front.geojson", "2024-08-20")))  # an area and a line
    ws.add(read_file(sf.track_csv(tmp_path / "ais.csv")))  # a 20-point track and a lone fix
    gone = ws.add(read_file(sf.acled_csv(tmp_path / "acled.csv")))
    ws.remove(gone)  # removed batches leave no layer rows
    return url, ws


def pg_string(url) -> str:
    from psycopg.conninfo import conninfo_to_dict
    return "PG:" + " ".join(f"{k}={v}" for k, v in conninfo_to_dict(url).items())


def expected(ws, layer):
    features = ws.features()
    kinds = {"gis_points": ("Point", "MultiPoint"), "gis_lines": ("LineString", "MultiLineString"),
             "gis_areas": ("Polygon", "MultiPolygon")}[layer]
    mine = features[features.geom_type.isin(kinds)].sort_values("feature_id")
    return list(mine["name"]), [shapely.force_2d(g) for g in mine.geometry]


def test_every_layer_is_registered_with_its_type_and_epsg_4326(filled):
    import psycopg
    url, _ = filled
    with psycopg.connect(url) as con:
        rows = con.execute("SELECT f_table_name, type, srid FROM geometry_columns "
                           "WHERE f_table_schema = 'public'").fetchall()
        indexes = {r[0] for r in con.execute("SELECT indexname FROM pg_indexes WHERE schemaname = 'public'")}
    assert {name: (kind, srid) for name, kind, srid in rows} == {n: (k, 4326) for n, k in LAYERS.items()}
    assert {"features_geom", "track_points_geom", "track_points_t"} <= indexes


def test_sql_reads_the_layers_back_as_imported(filled):
    import psycopg
    url, ws = filled
    with psycopg.connect(url) as con:
        for layer in ("gis_points", "gis_lines", "gis_areas"):
            rows = con.execute(f"SELECT name, ST_AsBinary(geom), ST_SRID(geom) FROM {layer} ORDER BY id").fetchall()
            names, geoms = expected(ws, layer)
            assert [r[0] for r in rows] == names and {r[2] for r in rows} == {4326}
            got = [shapely.from_wkb(bytes(r[1])) for r in rows]
            assert all(g.equals(e) for g, e in zip(got, geoms)) and len(got) == len(geoms) > 0
        tracks = con.execute("SELECT track_id, points, ST_AsBinary(geom) FROM gis_tracks ORDER BY id").fetchall()
    assert [(t, n) for t, n, _ in tracks] == [("273000001", 20)]  # the lone fix is no line
    line = shapely.from_wkb(bytes(tracks[0][2]))
    points = ws.tracks()
    points = points[points.track_id == "273000001"]
    assert list(line.coords) == list(zip(points["lon"], points["lat"]))


def test_gdal_s_postgresql_driver_reads_the_layers_as_qgis_would(filled, tmp_path):
    if "PostgreSQL" in pyogrio.list_drivers():
        read = lambda layer: gpd.read_file(pg_string(filled[0]), layer=layer)  # noqa: E731
    elif shutil.which("ogr2ogr"):
        def read(layer):
            out = tmp_path / f"{layer}.geojson"
            done = subprocess.run(["ogr2ogr", "-f", "GeoJSON", str(out), pg_string(filled[0]), layer],
                                  capture_output=True, text=True, timeout=60)
            assert done.returncode == 0, done.stderr
            return gpd.read_file(out)
    elif os.environ.get("CI"):
        pytest.fail("CI=true but GDAL's PostgreSQL driver is missing: pyogrio lacks it and ogr2ogr is not installed")
    else:
        pytest.skip("no GDAL with the PostgreSQL driver here (apt-get install gdal-bin)")
    url, ws = filled
    for layer in ("gis_points", "gis_lines", "gis_areas"):
        frame = read(layer)
        names, geoms = expected(ws, layer)
        assert list(frame["name"]) == names and frame.crs.to_epsg() == 4326
        assert all(g.equals(e) for g, e in zip(frame.geometry, geoms))
        assert {"batch_id", "filename", "kind", "date", "properties"} <= set(frame.columns)
        props = frame["properties"].iloc[0]  # the record's other columns, as JSON (GeoJSON nests it back)
        assert isinstance(props if isinstance(props, dict) else json.loads(props), dict)
    tracks = read("gis_tracks")
    assert list(tracks["track_id"]) == ["273000001"] and list(tracks.geom_type) == ["LineString"]
    assert len(read("track_points")) == 21
