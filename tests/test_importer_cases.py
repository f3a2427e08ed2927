"""Round two of bring-your-own-data: the faults found with real third-party files, each with a
file the test writes itself."""
import json
import subprocess
import sys

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import LineString, Point

import sample_files as sf
from conftest import ROOT
from geo.imports import dates, importer, recognise
from geo.imports.importer import ImportProblem, read_file, read_parts
from geo.store.workspace import Workspace


@pytest.fixture(autouse=True)
def private_workspace(tmp_path, monkeypatch):
    path = tmp_path / "store" / "workspace.sqlite"
    monkeypatch.setenv("GEO_WORKSPACE", str(path))
    return path


# --- dates -------------------------------------------------------------------------------------------

def test_acled_day_first_dates_with_a_time(tmp_path):
    result = read_file(sf.acled_with_times(tmp_path / "acled.csv"))
    frame = result.frame.set_index("id")
    assert result.kind == "events" and result.skipped == []
    assert frame.loc["UKR900", "date"] == pd.Timestamp("2020-08-14")
    assert frame.loc["UKR901", "date"] == pd.Timestamp("2020-09-03"), "03/09 follows the column's 14/08: day first"
    assert any("day first" in w and "14/08/2020" in w for w in result.warnings)


def test_ambiguous_dates_are_read_day_first_with_a_warning_and_can_be_read_month_first(tmp_path):
    path = tmp_path / "places.csv"
    path.write_text("name,lat,lon,date\na,42.1,130.1,02/01/2024\nb,42.2,130.2,03/04/2024\n")
    result = read_file(path)
    assert list(result.frame["date"]) == [pd.Timestamp("2024-01-02"), pd.Timestamp("2024-04-03")]
    assert any("ambiguous" in w for w in result.warnings)
    assert result.summary()["date_column"] == "date"
    flipped = read_file(path, dayfirst=False)
    assert list(flipped.frame["date"]) == [pd.Timestamp("2024-02-01"), pd.Timestamp("2024-03-04")]
    assert any("month first, as asked" in w for w in flipped.warnings)


def test_a_timestamp_with_an_offset_is_an_instant_in_utc():
    """... while a track's timestamp is an instant, converted to UTC."""
    out = dates.parse_times(pd.Series(["2023-10-05 10:00:00+03:00", "2024-03-01T00:30:00+09:00"]), [2, 3], "t", {})
    assert list(out) == [pd.Timestamp("2023-10-05 07:00"), pd.Timestamp("2024-02-29 15:30")]


@pytest.mark.parametrize("values, expected, note", [
    (["13/01/2024", "02/01/2024"], ["2024-01-13", "2024-01-02"], "day first"),
    (["01/13/2024", "02/01/2024"], ["2024-01-13", "2024-02-01"], "month first"),
    (["2/25/2016 0:00", "3/1/2016 13:30"], ["2016-02-25 00:00", "2016-03-01 13:30"], "month first"),
    (["Sep-84", "Oct-01"], ["1984-09-01", "2001-10-01"], "two-digit years"),
    (["14.08.20", "01.09.20"], ["2020-08-14", "2020-09-01"], "two-digit years"),
    (["2024-W03", "2024-W05-3"], ["2024-01-15", "2024-01-31"], "ISO weeks"),
    (["17 January 2024", "January 18, 2024"], ["2024-01-17", "2024-01-18"], None),
    # A date keeps the wall-clock time written beside its offset (its calendar day never moves) ...
    (["2023-10-05 10:00:00+03:00", "2023-10-01T00:00:00Z"], ["2023-10-05 10:00", "2023-10-01 00:00"], None),
])
def test_date_shapes_and_the_note_saying_how_they_were_read(values, expected, note):
    problems, notes = {}, []
    out, _ = dates.parse_column(pd.Series(values), [2, 3], "d", problems, notes)
    assert list(out) == [pd.Timestamp(e) for e in expected]
    assert problems == {}
    if note:
        assert any(note in n for n in notes), notes


def test_a_column_of_years_is_read_as_years_not_unix_seconds():
    problems, notes = {}, []
    out, _ = dates.parse_column(pd.Series(["2022", "2024", ""]), [2, 3, 4], "year", problems, notes)
    assert list(out[:2]) == [pd.Timestamp("2022-01-01"), pd.Timestamp("2024-01-01")]
    assert problems == {4: ("year", "empty value")} and any("1 January" in n for n in notes)


def test_a_cell_that_contradicts_the_columns_order_is_a_problem_not_a_guess():
    problems, notes = {}, []
    out, _ = dates.parse_column(pd.Series(["13/01/2024", "01/14/2024", "05/05/2024"]), [2, 3, 4], "d", problems, notes)
    assert out.isna().tolist() == [False, True, False]
    assert problems[3][0] == "d" and "day-first" in problems[3][1]
    assert any("day first" in n and "month first" in n for n in notes)


# --- the listed faults ---------------------------------------------------------------------------------

def test_one_empty_time_cell_skips_that_row_with_a_count(tmp_path):
    result = read_file(sf.vessel_positions(tmp_path / "positions.csv", blank_time_row=4))
    assert result.kind == "tracks" and len(result.frame) == 5
    assert result.skipped == ["row 4, column date_add: empty value"]
    assert any(w.startswith("skipped 1 bad row(s)") for w in result.warnings)


def test_all_numeric_times_like_20240117_are_dates_not_unix_seconds(tmp_path):
    path = tmp_path / "ais.csv"
    path.write_text("mmsi,timestamp,lat,lon\n273000001,20240117,42.2,130.3\n273000001,20240118,42.3,130.4\n")
    result = read_file(path)
    assert list(result.frame["t"]) == [pd.Timestamp("2024-01-17"), pd.Timestamp("2024-01-18")]
    assert any("YYYYMMDD" in w for w in result.warnings)


def test_unix_seconds_are_read_with_a_note_never_silently(tmp_path):
    path = tmp_path / "ais.csv"
    path.write_text("mmsi,timestamp,lat,lon\n273000001,1705900000,42.2,130.3\n273000001,1705900060,42.3,130.4\n")
    result = read_file(path)
    assert result.frame["t"].iloc[0] == pd.Timestamp("2024-01-22 05:06:40")
    assert any("Unix time in seconds" in w for w in result.warnings)


def test_a_numeric_date_column_with_one_blank_cell(tmp_path):
    frame = gpd.GeoDataFrame({"mmsi": [1.0, 1.0, 1.0], "day": [20240117.0, np.nan, 20240119.0]},
                             geometry=[Point(130, 42), Point(130.1, 42.1), Point(130.2, 42.2)], crs=4326)
    path = tmp_path / "positions.gpkg"
    frame.to_file(path, driver="GPKG")
    result = read_file(path, kind="tracks", date_column="day")
    assert list(result.frame["t"]) == [pd.Timestamp("2024-01-17"), pd.Timestamp("2024-01-19")]
    assert result.skipped == ["row 2, column day: empty value"]


def test_a_bug_in_the_importer_surfaces_as_a_bug(tmp_path, monkeypatch):
    def broken(*args):
        raise AttributeError("'NoneType' object has no attribute 'x'")
    monkeypatch.setitem(recognise.NORMALISERS, "generic", broken)
    path = tmp_path / "points.csv"
    path.write_text("name,lon,lat\na,130,42\n")
    with pytest.raises(AttributeError):
        read_file(path)


def test_a_refusal_is_one_line_with_file_row_and_column_and_nothing_is_stored(tmp_path, private_workspace):
    path = sf.vessel_positions(tmp_path / "positions.csv", blank_time_row=3)
    proc = subprocess.run([sys.executable, "-m", "geo", "import", str(path), "--strict"], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert proc.stderr.strip() == "error: positions.csv: row 3, column date_add: empty value"
    assert not private_workspace.exists(), "a refused file never opens the store"


# --- coordinates -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("lat, lon", [("Facility Latitude", "Facility Longitude"), ("y", "x"), ("lat_dd", "lon_dd"),
                                      ("Latitude (deg)", "Longitude (deg)"), ("coord_lat", "coord_lon"),
                                      ("decimalLatitude", "decimalLongitude")])
def test_coordinate_columns_found_by_name(tmp_path, lat, lon):
    path = tmp_path / "facilities.csv"
    pd.DataFrame({"Facility Name": ["Depot A", "Depot B"], lat: [42.4214, 42.429], lon: [130.6081, 130.644],
                  "Count": [3, 4]}).to_csv(path, index=False)
    result = read_file(path)
    assert result.kind == "generic" and len(result.frame) == 2
    assert result.frame.geometry.iloc[0].coords[0] == pytest.approx((130.6081, 42.4214))
    assert result.summary()["coordinate_columns"] == [lon, lat]


def test_coordinate_columns_found_by_value_range_with_a_warning(tmp_path):
    path = tmp_path / "sites.csv"
    path.write_text("site,a,b\nx,42.4214,130.6081\ny,42.429,130.644\n")
    result = read_file(path)
    assert result.frame.geometry.iloc[1].coords[0] == pytest.approx((130.644, 42.429))
    assert any("by value range" in w for w in result.warnings)


def test_coordinate_columns_can_be_named(tmp_path):
    path = tmp_path / "sites.csv"
    path.write_text("site,p,q,lat,lon\nx,130.6081,42.4214,0,0\n")
    result = read_file(path, coord_columns=("p", "q"))
    assert result.frame.geometry.iloc[0].coords[0] == pytest.approx((130.6081, 42.4214))


def test_blank_and_non_numeric_coordinates_skip_their_rows_with_a_count(tmp_path):
    path = tmp_path / "points.csv"
    path.write_text("name,Latitude,Longitude\na,42,130\nb,,130\nc,n/a,130\nd,42.5,130.5\n")
    result = read_file(path)
    assert len(result.frame) == 2
    assert result.skipped == ["row 3, column Latitude: empty coordinate", "row 4, column Latitude: 'n/a' is not a number"]
    assert any("skipped 2 bad row(s)" in w for w in result.warnings)


def test_wkt_and_geojson_geometry_columns(tmp_path):
    path = tmp_path / "shapes.csv"
    pd.DataFrame({"name": ["a", "b"], "shape": ['{"type": "Point", "coordinates": [130.6, 42.4]}',
                                                '{"type": "LineString", "coordinates": [[130, 42], [131, 43]]}']}
                 ).to_csv(path, index=False)
    result = read_file(path)
    assert list(result.frame.geom_type) == ["Point", "LineString"]


def test_a_rail_line_with_lat_lon_axes_is_flagged_and_can_be_swapped(tmp_path):
    path = sf.rail_geojson(tmp_path / "rail.geojson", swapped=True)
    result = read_file(path)
    assert any("swapped" in w for w in result.warnings), result.warnings
    fixed = read_file(path, swap_axes=True)
    assert list(fixed.frame.geometry.iloc[0].coords)[0] == pytest.approx(sf.RAIL_LONLAT[0])
    assert any("swapped as asked" in w for w in fixed.warnings)
    straight = read_file(sf.rail_geojson(tmp_path / "ok.geojson"))
    assert not any("swapped" in w for w in straight.warnings)


def test_points_out_of_range_that_fit_when_swapped_say_so(tmp_path):
    path = tmp_path / "ports.csv"
    path.write_text("name,lon,lat\nRajin,42.25,130.30\nDunai,42.88,132.35\n")
    with pytest.raises(ImportProblem, match="swapped"):
        read_file(path)
    assert read_file(path, swap_axes=True).frame.geometry.iloc[0].coords[0] == pytest.approx((130.30, 42.25))


# --- formats ------------------------------------------------------------------------------------------------

def points_frame():
    return gpd.GeoDataFrame({"name": ["Tumangang", "Khasan"], "count": [3, 4]},
                            geometry=[Point(130.6081, 42.4214), Point(130.644, 42.429)], crs=4326)


def test_flatgeobuf(tmp_path):
    path = tmp_path / "stations.fgb"
    points_frame().to_crs(32652).to_file(path, driver="FlatGeobuf")
    result = read_file(path)
    assert result.format == "flatgeobuf" and result.input_crs == "EPSG:32652"
    tumangang = result.frame.set_index("name").loc["Tumangang"]  # the spatial index may reorder features
    assert tumangang.geometry.coords[0] == pytest.approx((130.6081, 42.4214))


def test_geoparquet(tmp_path):
    path = tmp_path / "stations.parquet"
    points_frame().to_parquet(path)
    result = read_file(path)
    assert result.format == "geoparquet" and list(result.frame["name"]) == ["Tumangang", "Khasan"]
    assert result.frame["count"].tolist() == [3, 4]


def test_gpx_waypoints_and_tracks(tmp_path):
    result = read_file(sf.gpx(tmp_path / "walk.gpx"), kind="generic")  # timed tracks alone are tracks by default
    frame = result.frame
    assert result.format == "gpx"
    assert set(frame["layer"]) == {"waypoints", "tracks"}
    assert set(frame.loc[frame["layer"] == "waypoints", "name"]) == {"Tumangang", "Khasan"}
    line = frame.loc[frame["layer"] == "tracks"].geometry.iloc[0]
    assert line.geom_type == "MultiLineString" and len(line.geoms[0].coords) == 3


def test_gpx_track_points_as_tracks(tmp_path):
    result = read_file(sf.gpx(tmp_path / "walk.gpx"), kind="tracks")
    frame = result.frame
    assert result.kind == "tracks" and list(frame["track_id"].unique()) == ["crossing"]
    assert list(frame["t"]) == [pd.Timestamp("2024-03-01 08:00"), pd.Timestamp("2024-03-01 08:10"),
                                pd.Timestamp("2024-03-01 08:20")]
    assert frame[["lon", "lat"]].iloc[-1].tolist() == pytest.approx([130.644, 42.429])


def test_topojson(tmp_path):
    result = read_file(sf.topojson(tmp_path / "areas.topojson"))
    assert result.format == "topojson"
    areas = result.frame.set_index("name")
    assert areas.loc["west"].geometry.bounds == pytest.approx((130.0, 42.0, 130.5, 43.0))
    assert areas.loc["east"].geometry.bounds == pytest.approx((130.5, 42.0, 131.0, 43.0))


def test_shapefile_from_its_path_with_the_parts_beside_it(tmp_path):
    shp = sf.shapefile_parts(tmp_path / "export")
    result = read_file(shp)
    assert result.format == "shapefile" and len(result.frame) == 2 and result.input_crs == "EPSG:4326"
    proc = subprocess.run([sys.executable, "-m", "geo", "import", str(shp)], cwd=ROOT, capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "2 generic record(s) from provinces.shp (shapefile)" in proc.stdout


def test_shapefile_from_a_multi_file_upload(tmp_path):
    shp = sf.shapefile_parts(tmp_path / "export")
    parts = [(p.name, p.read_bytes()) for p in sorted(shp.parent.iterdir())]
    result = read_parts(parts)
    assert result.filename == "provinces.shp" and len(result.frame) == 2
    with pytest.raises(ImportProblem, match=r"provinces.shp: 'provinces.shp' lacks its .dbf"):
        read_parts([(n, b) for n, b in parts if not n.endswith(".dbf")])
    without_prj = read_parts([(n, b) for n, b in parts if not n.endswith(".prj")])
    assert without_prj.input_crs is None and any(".prj missing" in w for w in without_prj.warnings)
    with pytest.raises(ImportProblem, match="no .shp among them"):
        read_parts([("a.csv", b"x,y\n1,2\n"), ("b.csv", b"x,y\n1,2\n")])


def test_shapefile_with_an_empty_prj_from_its_path(tmp_path):
    shp = sf.shapefile_parts(tmp_path / "export", prj="")
    result = read_file(shp)
    assert result.input_crs is None
    assert any(".prj empty" in w for w in result.warnings)
    assert any("lon/lat (EPSG:4326) is assumed" in w for w in result.warnings)
    metres = sf.shapefile_parts(tmp_path / "utm", prj="", points=((500000, 4700000),))
    with pytest.raises(ImportProblem, match="no CRS given and the coordinates are not lon/lat"):
        read_file(metres)


def test_a_lone_shp_upload_says_how_to_send_a_shapefile(tmp_path):
    shp = sf.shapefile_parts(tmp_path / "export")
    with pytest.raises(ImportProblem, match="upload the parts together"):
        read_file(shp.read_bytes(), filename="provinces.shp")


def test_kml_extended_data_keeps_cyrillic_names_and_reads_timestamps(tmp_path):
    result = read_file(sf.kml_extended(tmp_path / "stations.kml"))
    frame = result.frame.set_index("name")
    assert frame.loc["Хасан", "Оператор"] == "РЖД" and frame.loc["Хасан", "тип"] == "станция"
    assert frame.loc["Туманган", "Станция"] == "Туманган"
    assert frame.loc["Хасан", "date"] == pd.Timestamp("2024-03-05")
    assert frame.loc["Туманган", "date"] == pd.Timestamp("2024-01-01")
    assert frame.loc["Туманган", "date_end"] == "2024-02-01"
    store = Workspace()
    store.add(result)
    props = store.features()
    assert "Оператор" in props.columns


# --- tracks ----------------------------------------------------------------------------------------------

def test_vessel_positions_become_tracks_split_by_track_id(tmp_path):
    result = read_file(sf.vessel_positions(tmp_path / "positions.csv"))
    frame = result.frame
    assert result.kind == "tracks"
    assert sorted(frame["track_id"].unique()) == ["11", "12"]
    assert set(frame["name"]) == {"V7"}
    assert frame["t"].iloc[0] == pd.Timestamp("2016-02-24 00:00")
    assert any("date_add" in w and "month first" in w for w in result.warnings)
    assert result.summary()["date_column"] == "date_add"


# --- large track files, streamed ---------------------------------------------------------------------------

def messy_tracks(path, n=3000):
    """Month-first times where only a late row decides the order, a blank line, a row with too many
    fields, an empty time, a bad latitude."""
    lines = ["mmsi,vessel_name,date_add,lat,lon"]
    for i in range(n):
        month, day = 1 + i % 12, 1 + i % 12
        lines.append(f"{273000000 + i % 7},V{i % 7},{month:02d}/{day:02d}/2024 {i % 24}:{i % 60:02d},"
                     f"{42 + (i % 100) / 100:.3f},{130 + (i % 50) / 50:.3f}")
    lines[2000] = "273000001,V1,01/25/2024 3:00,42.5,130.5"  # the row that decides: month first
    lines[10] = ""
    lines[20] = "273000002,V2,02/02/2024 1:00,42.1,130.1,extra"
    lines[30] = "273000003,V3,,42.1,130.1"
    lines[40] = "273000004,V4,03/03/2024 1:00,north,130.1"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_a_large_track_csv_is_streamed_with_the_same_result_rows_and_warnings(tmp_path, monkeypatch):
    path = messy_tracks(tmp_path / "ais.csv")
    whole = read_file(path)
    from geo.imports import bigcsv
    monkeypatch.setattr(bigcsv, "STREAM_BYTES", 1000)
    monkeypatch.setattr(bigcsv, "BLOCK_BYTES", 20_000)  # many chunks
    seen = []
    streamed = read_file(path, progress=seen.append)
    assert streamed.details.get("streamed") and not whole.details.get("streamed")
    assert streamed.kind == whole.kind == "tracks"
    assert streamed.skipped == whole.skipped == [
        "row 21, column -: 6 fields but the header has 5", "row 31, column date_add: empty value",
        "row 41, column lat: 'north' is not a number"]
    cols = ["track_id", "name", "t", "lon", "lat"]
    a, b = (r.frame[cols].reset_index(drop=True) for r in (whole, streamed))
    for frame in (a, b):
        frame["track_id"], frame["name"] = frame["track_id"].astype(str).tolist(), frame["name"].astype(str).tolist()
    pd.testing.assert_frame_equal(a, b)
    assert any("month first" in w and "01/25/2024" in w for w in streamed.warnings)
    assert streamed.summary()["bounds_lonlat"] == whole.summary()["bounds_lonlat"]
    assert seen and seen[-1] == 1.0 and seen == sorted(seen)
    with pytest.raises(ImportProblem, match=r"ais.csv: row 21, column -: 6 fields"):
        read_file(path, strict=True)


def test_streamed_tracks_are_stored_like_any_other(tmp_path, monkeypatch):
    from geo.imports import bigcsv
    monkeypatch.setattr(bigcsv, "STREAM_BYTES", 1000)
    result = read_file(sf.track_csv(tmp_path / "ais.csv"))
    assert result.details.get("streamed")
    store = Workspace()
    store.add(result)
    assert store.counts()["track_points"] == 21


# --- preview -----------------------------------------------------------------------------------------------

def test_preview_says_what_was_found_and_takes_overrides(tmp_path):
    path = sf.vessel_positions(tmp_path / "positions.csv", blank_time_row=3)
    found = importer.preview(path)
    assert found["format"] == "csv" and found["kind"] == "tracks" and found["feature_count"] == 5
    assert found["date_column"] == "date_add" and found["date_format"] == "month first"
    assert found["coordinate_columns"] == ["lon", "lat"]
    assert found["skipped_rows"] == 1 and found["skipped"] == ["row 3, column date_add: empty value"]
    assert found["bounds_lonlat"][0] == pytest.approx(130.3)
    assert "speed" in found["source_columns"] and len(found["sample_rows"]) == 5
    as_generic = importer.preview(path, kind="generic", coord_columns=("lon", "lat"))
    assert as_generic["kind"] == "generic" and as_generic["feature_count"] == 6
    assert Workspace().counts()["batches"] == 0, "a preview stores nothing"


def test_preview_of_shapefile_parts_and_of_a_swapped_file(tmp_path):
    shp = sf.shapefile_parts(tmp_path / "export")
    found = importer.preview(parts=[(p.name, p.read_bytes()) for p in shp.parent.iterdir()])
    assert found["format"] == "shapefile" and found["file"] == "provinces.shp"
    swapped = importer.preview(sf.rail_geojson(tmp_path / "rail.geojson", swapped=True))
    assert swapped["swap_suggested"] is True


def test_cli_inspect_prints_the_preview(tmp_path):
    path = sf.acled_with_times(tmp_path / "acled.csv")
    proc = subprocess.run([sys.executable, "-m", "geo", "inspect", str(path), "--month-first"], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    found = json.loads(proc.stdout)
    assert found["kind"] == "events" and found["date_column"] == "event_date"
    assert found["date_format"] == "month first"
    assert found["skipped"] == ["row 2, column event_date: '14/08/2020 00:00:00' is not a month-first date "
                                "(column event_date is read month first)"]


@pytest.mark.parametrize("name", ["stations.fgb", "stations.parquet", "areas.topojson", "walk.gpx"])
def test_the_cli_imports_the_new_formats(tmp_path, name):
    path = tmp_path / name
    if name.endswith(".fgb"):
        points_frame().to_file(path, driver="FlatGeobuf")
    elif name.endswith(".parquet"):
        points_frame().to_parquet(path)
    elif name.endswith(".topojson"):
        sf.topojson(path)
    else:
        sf.gpx(path)
    proc = subprocess.run([sys.executable, "-m", "geo", "import", str(path), "--progress"], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert f"from {name}" in proc.stdout
    assert f"progress: reading {path}: 100%" in proc.stderr


def test_an_imported_claim_is_checked_exactly_as_a_bundled_one(tmp_path):
    """Same code as `python -m geo validate`: a duplicate id is refused on its row with the same words."""
    path = sf.claims_csv(tmp_path / "claims.csv", 3)
    lines = path.read_text().splitlines()
    lines[3] = lines[3].replace("X0002", "X0000", 1)
    path.write_text("\n".join(lines) + "\n")
    result = read_file(path)
    assert result.skipped == ["row 4, column id: duplicate id 'X0000' (first on row 2)"]
    from geo.data import validate, schema
    raw, _ = validate.read_raw(path, schema.CLAIMS)
    _, problems = validate.parse_table(raw, "claims.csv")
    assert [p.message for p in problems] == ["duplicate id 'X0000' (first on row 2)"]


def test_claims_with_day_first_dates_are_rewritten_then_validated(tmp_path):
    path = sf.claims_csv(tmp_path / "claims.csv", 2)
    path.write_text(path.read_text().replace("2024-02-01", "13/02/2024").replace("2024-02-10", "14/02/2024"))
    result = read_file(path)
    assert result.skipped == [] and set(result.frame["as_of_date"]) == {pd.Timestamp("2024-02-13")}
    assert any("day first" in w for w in result.warnings)


def test_an_imported_claim_is_checked_against_the_bundled_places_and_legs_as_a_bundled_one_is():
    """One cross-file check (geo.data.validate.reference_problems) for data/ and for imports."""
    from conftest import DATA, read_rows
    from geo.data.schema import IMPORTED_CLAIMS
    row = next(r for r in read_rows(DATA / "claims.csv") if r["metric"] == "railcars_observed_tumangang")
    good = {c.name: row.get(c.name, "") for c in IMPORTED_CLAIMS.columns} | {
        "family": "rail", "claimant_type": "think_tank", "claimant": "Imagery Watch"}
    bad_place = dict(good, id="X2", place_id="LOC_NOWHERE")
    bad_leg = dict(good, id="X3", route_ids="L_NOWHERE")
    lines = [",".join(good)] + [",".join(f'"{r[k]}"' for k in good) for r in (dict(good, id="X1"), bad_place, bad_leg)]
    with pytest.raises(importer.ImportProblem, match=r"row 3, column place_id: unknown place id 'LOC_NOWHERE'"):
        importer.read_file("\n".join(lines).encode(), filename="mine.csv", kind="claims", strict=True)
    result = importer.read_file("\n".join(lines).encode(), filename="mine.csv", kind="claims")
    assert list(result.frame["id"]) == ["X1"]
    assert any("row 4, column route_ids: unknown route or flow id 'L_NOWHERE'" in s for s in result.skipped)


def test_an_imported_claim_is_held_to_the_date_order_and_generic_claimant_rules():
    """The importer calls the same check_claims: a statement after publication and a HUR claim the
    attribution does not name are refused on their rows; a claim without a statement date is kept."""
    header = "id,metric,value,unit,basis,as_of_date,statement_date,reported_date,claimant,attribution,outlet,url,note"
    rows = ["X1,test_metric,1,containers,estimate,2024-02-01,,2024-02-10,Analyst,Analyst,Outlet,https://example.org/1,n",
            "X2,test_metric,2,containers,estimate,2024-02-01,2024-02-11,2024-02-10,Analyst,Analyst,Outlet,"
            "https://example.org/2,n",
            "X3,test_metric,3,containers,estimate,2024-02-01,2024-02-01,2024-02-10,UA_HUR,"
            "a Ukrainian intelligence assessment,Outlet,https://example.org/3,n"]
    result = importer.read_file("\n".join([header] + rows).encode(), filename="mine.csv", kind="claims")
    assert list(result.frame["id"]) == ["X1"]
    assert any(s.startswith("row 3, column statement_date: statement date 2024-02-11 is after the publication "
                            "date 2024-02-10") for s in result.skipped), result.skipped
    assert any(s.startswith("row 4, column claimant: attribution 'a Ukrainian intelligence assessment' names no "
                            "agency, yet the claimant is 'UA_HUR'") for s in result.skipped), result.skipped


def test_concurrent_imports_of_long_cells_never_trip_each_others_field_limit():
    """The csv module's field limit is process-wide: raising and restoring it around each read let
    one import lower it under another's feet ("field larger than field limit")."""
    import threading
    cell = "x" * 300_000  # over the csv module's default limit of 131,072 characters
    raw = ("name,lon,lat,note\n" + "".join(f"P{i},130.{i},42.{i},{cell}\n" for i in range(3))).encode()
    failures = []

    def read_many():
        for _ in range(25):
            try:
                assert len(read_file(raw, filename="long.csv").frame) == 3
            except Exception as err:  # noqa: BLE001  (any failure is what this test looks for)
                failures.append(str(err))

    threads = [threading.Thread(target=read_many) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []
