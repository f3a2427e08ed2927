"""Round three of bring-your-own-data: tables, encodings and tracks as analysts have them, each
case with a file the test writes itself."""
import time

import pandas as pd
import pytest

from geo.view import legend
from geo.imports import importer
from geo.imports.importer import ImportProblem, read_file


@pytest.fixture(autouse=True)
def private_workspace(tmp_path, monkeypatch):
    path = tmp_path / "store" / "workspace.sqlite"
    monkeypatch.setenv("GEO_WORKSPACE", str(path))
    return path


# --- readers linear in their input ---------------------------------------------------------------------

def test_a_header_of_20000_columns_is_read_in_time_proportional_to_it(tmp_path):
    path = tmp_path / "wide.csv"
    width = 20_000
    header = ",".join(f"c{i}" for i in range(width)) + ",lat,lon"
    row = ",".join(str(i % 7) for i in range(width)) + ",42.1,130.2"
    path.write_text(f"{header}\n{row}\n{row}\n")
    start = time.perf_counter()
    found = importer.preview(path)
    took = time.perf_counter() - start
    assert found["feature_count"] == 2 and found["coordinate_columns"] == ["lon", "lat"]
    assert len(found["source_columns"]) == width + 2
    assert took < 8, f"{took:.1f} s for a 20,000-column header (was 36 s when quadratic)"


def test_a_single_line_of_20_mb_costs_time_in_proportion(tmp_path):
    path = tmp_path / "long.csv"
    path.write_text("name,lat,lon,note\n" + "a,42.1,130.2," + "x" * 20_000_000 + "\nb,42.2,130.3,short\n")
    start = time.process_time()
    found = importer.preview(path)
    took = time.process_time() - start
    assert found["feature_count"] == 2 and found["date_column"] is None
    assert took < 8, f"{took:.1f} s of CPU for one 20 MB line (a regex over the whole cell took minutes)"


def test_duplicate_names_in_a_wide_header_are_still_refused(tmp_path):
    path = tmp_path / "wide.csv"
    names = [f"c{i}" for i in range(5000)] + ["c17", "lat", "lon"]
    path.write_text(",".join(names) + "\n" + ",".join("1" for _ in names) + "\n")
    with pytest.raises(ImportProblem, match="duplicate column name"):
        read_file(path)


# --- the cases of round three, each with its own file ----------------------------------------------------

import json  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402

import round3_files as rf  # noqa: E402
from conftest import ROOT, shown  # noqa: E402
from geo.view import overlay as imported
from geo.store import workspace as wsmod  # noqa: E402
from geo.store.workspace import Workspace  # noqa: E402


def inspect(path, *args):
    """`python -m geo inspect` as a user runs it: (seconds, exit code, JSON or the error line)."""
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "geo", "inspect", str(path), *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    took = time.perf_counter() - start
    return took, proc.returncode, (json.loads(proc.stdout) if proc.returncode == 0 else proc.stderr.strip())


def approx_bounds(found, expected):
    assert found == pytest.approx(expected, abs=1e-6)


def test_an_xlsx_workbook_lists_its_sheets_and_reads_the_first_table_below_its_titles(tmp_path):
    path = rf.xlsx_workbook(tmp_path / "tests.xlsx")
    took, code, found = inspect(path)
    assert code == 0, found
    assert found["format"] == "xlsx" and found["kind"] == "generic" and found["feature_count"] == 3
    assert found["sheets"] == ["About", "Tests", "Sites"] and found["sheet"] == "Tests"
    assert found["header_row"] == 4
    approx_bounds(found["bounds_lonlat"], [125.1, 38.9, 127.5, 40.0])
    assert found["coordinate_columns"] == ["Facility Longitude", "Facility Latitude"]
    assert found["date_column"] == "Date"
    assert [r["date"] for r in found["sample_rows"]] == ["2024-01-14", "2024-01-24", "2024-02-02"]
    assert [r["name"] for r in found["sample_rows"]] == ["site A", "site B", "site C"]
    words = " ".join(found["warnings"])
    assert "About (no table), Tests (3 rows), Sites (2 rows)" in words
    assert "below 2 title rows" in words and "--sheet" in words and "'Sheet' on the page" in words
    assert took < 10


def test_another_sheet_is_chosen_by_name_and_a_wrong_name_lists_the_sheets(tmp_path):
    path = rf.xlsx_workbook(tmp_path / "tests.xlsx")
    result = read_file(path, sheet="Sites")
    assert result.details["sheet"] == "Sites" and list(result.frame["name"]) == ["depot 1", "depot 2"]
    assert result.summary()["bounds_lonlat"] == pytest.approx([130.30, 42.25, 132.35, 42.88])
    _, code, line = inspect(path, "--sheet", "Nope")
    assert code == 2 and line == "error: tests.xlsx: no sheet 'Nope'; the workbook's sheets are About, Tests, Sites"
    with pytest.raises(ImportProblem, match="sheet 'About' holds no table"):
        read_file(path, sheet="About")


def test_a_csv_preamble_of_comments_is_skipped_and_said(tmp_path):
    result = read_file(rf.csv_with_preamble(tmp_path / "preamble.csv"))
    assert result.kind == "generic" and len(result.frame) == 2 and result.skipped == []
    assert list(result.frame["date"]) == [pd.Timestamp("2024-01-17"), pd.Timestamp("2024-01-18")]
    assert result.summary()["bounds_lonlat"] == pytest.approx([130.30, 42.25, 132.35, 42.88])
    found = importer.preview_of(result)
    assert found["preamble_lines"] == 3
    assert "skipped 3 lines above the header (comment lines); the header is line 4" in found["warnings"]
    assert "skipped 1 comment line among the rows" in found["warnings"]
    assert importer.header_columns({"preamble.csv": (tmp_path / "preamble.csv").read_bytes()}) == \
        ["name", "lat", "lon", "date"]


def test_title_lines_above_a_csv_header_are_skipped_and_rows_keep_their_line_numbers(tmp_path):
    path = rf.csv_with_title(tmp_path / "titled.csv")
    with open(path, "a", encoding="utf-8") as f:
        f.write("site C,not a number,125.0\n")
    result = read_file(path)
    assert len(result.frame) == 2 and list(result.frame["name"]) == ["site A", "site B"]
    assert any("2 title lines" in w and "header is line 3" in w for w in result.warnings)
    assert result.skipped == ["row 6, column latitude: 'not a number' is not a number"]


def test_a_refusal_says_what_to_do_on_the_page_and_on_the_command_line(tmp_path):
    path = tmp_path / "plain.csv"
    path.write_text("# export\nname,a,b\nx,1,2\n")
    _, code, line = inspect(path)
    assert code == 2
    assert "on the page as Longitude and Latitude under 'Change what was found'" in line
    assert "on the command line with --coords LON,LAT" in line


def test_no_temporary_path_in_a_refusal(tmp_path):
    path = tmp_path / "broken.geojson"
    path.write_text('{"type": "FeatureCollection", "features": [{"type": "Feature", "geometry": {"type": "Point", '
                    '"coordinates": [1, 2]}, "properties": {}}, }]}')
    _, code, line = inspect(path)
    assert code == 2 and line.startswith("error: broken.geojson: ")
    assert "geo-import-" not in line and "/tmp" not in line and "input.geojson" not in line


@pytest.mark.parametrize("name, rs", [("points.geojsonl", False), ("points.geojson", False), ("points.json", True)])
def test_newline_delimited_geojson_is_read_as_features(tmp_path, name, rs):
    took, code, found = inspect(rf.geojsonseq(tmp_path / name, rs=rs))
    assert code == 0, found
    assert found["format"] == "geojsonseq" and found["kind"] == "generic" and found["feature_count"] == 3
    approx_bounds(found["bounds_lonlat"], [130.30, 42.25, 132.35, 43.1])
    assert found["date_column"] == "date"
    assert [r["date"] for r in found["sample_rows"]] == ["2024-01-17", "2024-01-18", "2024-01-19"]
    assert "read 3 lines as GeoJSONSeq (one feature per line)" in found["warnings"]


def test_a_bad_line_of_geojsonseq_is_a_skipped_row(tmp_path):
    path = rf.geojsonseq(tmp_path / "points.geojsonl")
    with open(path, "a") as f:
        f.write('{"type": "Feature", "geometry": \n')
    result = read_file(path)
    assert len(result.frame) == 3 and len(result.skipped) == 1 and result.skipped[0].startswith("row 4, ")


def test_a_handheld_gps_track_is_a_track_and_its_waypoints_are_named(tmp_path):
    took, code, found = inspect(rf.gpx_handheld(tmp_path / "walk.gpx"))
    assert code == 0, found
    assert found["kind"] == "tracks" and found["feature_count"] == 6
    approx_bounds(found["bounds_lonlat"], [130.30, 42.25, 130.35, 42.30])
    assert found["date_column"] == "time"
    assert found["sample_rows"][0]["t"] == "2024-01-17 10:00:00" and found["sample_rows"][0]["track_id"] == "walk"
    assert any("2 waypoint(s), not imported with the tracks" in w and "--as generic" in w for w in found["warnings"])
    points = read_file(rf.gpx_waypoints(tmp_path / "wpt.gpx"))
    assert points.kind == "generic" and len(points.frame) == 2
    assert set(points.frame.geometry.geom_type) == {"Point"}


@pytest.mark.parametrize("builder, date_column, dates_read, bounds", [
    (rf.russian_csv, "Дата", ["2024-01-17", "2024-01-18"], [130.30, 42.25, 132.35, 42.88]),
    (rf.ukrainian_csv, "Дата події", ["2024-01-17", "2024-01-18"], [37.80, 48.02, 38.00, 48.59]),
    (rf.korean_csv, "날짜", ["2024-01-17", "2024-01-18"], [125.75, 39.03, 127.50, 40.00]),
])
def test_dates_and_coordinates_by_russian_ukrainian_and_korean_names(tmp_path, builder, date_column, dates_read,
                                                                     bounds):
    took, code, found = inspect(builder(tmp_path / "table.csv"))
    assert code == 0, found
    assert found["kind"] == "generic" and found["feature_count"] == 2
    approx_bounds(found["bounds_lonlat"], bounds)
    assert found["date_column"] == date_column
    assert [r["date"] for r in found["sample_rows"]] == dates_read
    assert found["sample_rows"][0]["name"] in ("пункт 1", "지점 1")


def test_a_kml_date_in_extended_data_named_in_russian(tmp_path):
    result = read_file(rf.kml_russian_date(tmp_path / "points.kml"))
    assert result.kind == "generic" and len(result.frame) == 2
    assert result.details["date_column"] == "дата" and result.details["date_format"] == "YYYY.MM.DD"
    assert list(result.frame["date"]) == [pd.Timestamp("2024-01-17"), pd.Timestamp("2024-01-18")]
    assert result.summary()["bounds_lonlat"] == pytest.approx([130.3, 42.25, 131.3, 42.25])


def test_month_names_with_two_digit_years_and_one_value_that_is_no_date(tmp_path):
    result = read_file(rf.month_names_csv(tmp_path / "months.csv"))
    assert len(result.frame) == 4, "an undated row is kept"
    assert result.frame["date"].tolist()[:2] == [pd.Timestamp("1984-04-09"), pd.Timestamp("2024-01-17")]
    assert pd.isna(result.frame["date"].iloc[2]) and result.frame["date"].iloc[3] == pd.Timestamp("2024-03-03")
    assert result.details["undated_rows"] == [4]
    assert any("1 of 4 value(s) are not dates" in w and "row 4: 'unknown'" in w for w in result.warnings)
    assert any("two-digit years" in w and "9-Apr-84" in w for w in result.warnings)


def test_a_column_mostly_not_dates_stays_text_unless_named(tmp_path):
    path = tmp_path / "notes.csv"
    path.write_text("name,lat,lon,date\na,42,130,2024-01-17\nb,42,130,soon\nc,42,130,later\n")
    result = read_file(path)
    assert "date" in result.frame.columns and result.frame["date"].tolist() == ["2024-01-17", "soon", "later"]
    assert any("kept as text" in w for w in result.warnings)
    named = read_file(path, date_column="date")
    assert named.frame["date"].iloc[0] == pd.Timestamp("2024-01-17") and named.details["undated_rows"] == [3, 4]


@pytest.mark.parametrize("folder, names, encoding, cpg, expected, said", [
    ("utf8", rf.KOREAN_NAMES, "utf-8", None, "UTF-8", "detected (no .cpg)"),
    ("wrong", rf.KOREAN_NAMES, "utf-8", "1252", "UTF-8", "the .cpg says '1252' but the text is UTF-8"),
    ("cp1251", rf.RUSSIAN_NAMES, "cp1251", None, "CP1251", "cp1251 (Cyrillic), detected"),
    ("cp949", rf.KOREAN_NAMES, "cp949", None, "CP949", "cp949 (Korean), detected"),
    ("right", rf.RUSSIAN_NAMES, "cp1251", "1251", "CP1251", None),
])
def test_shapefile_text_by_its_cpg_when_right_else_detected(tmp_path, folder, names, encoding, cpg, expected, said):
    shp = rf.shapefile(tmp_path / folder, names, encoding, cpg)
    took, code, found = inspect(shp)
    assert code == 0, found
    assert found["feature_count"] == 2 and [r["name"] for r in found["sample_rows"]] == list(names)
    assert found["encoding"] == expected
    approx_bounds(found["bounds_lonlat"], [125, 39, 130, 42])
    if said:
        assert any(said in w and "--encoding" in w for w in found["warnings"]), found["warnings"]
    else:
        assert not any("decoded" in w for w in found["warnings"])


def test_a_shapefile_encoding_can_be_named(tmp_path):
    shp = rf.shapefile(tmp_path / "x", rf.RUSSIAN_NAMES, "cp1251", None)
    result = read_file(shp, encoding="cp1251")
    assert list(result.frame["name"]) == list(rf.RUSSIAN_NAMES)
    assert any("as asked" in w for w in result.warnings)
    with pytest.raises(ImportProblem, match="unknown encoding 'klingon'"):
        read_file(shp, encoding="klingon")


def test_a_vertex_a_hair_past_180_is_clamped_and_counted_not_dropped(tmp_path):
    result = read_file(rf.countries_past_180(tmp_path / "countries.geojson"))
    assert len(result.frame) == 2 and result.skipped == []
    assert result.summary()["bounds_lonlat"] == [125.0, 38.0, 180.0, 65.0]
    assert any("moved 2 coordinate(s) in 1 feature(s)" in w for w in result.warnings)


def test_a_file_partly_in_lat_lon_order_gets_the_swap_warning_with_its_count(tmp_path):
    path = rf.rail_partly_swapped(tmp_path / "rail.geojson")
    found = importer.preview(path)
    assert found["feature_count"] == 13 and found["swap_suggested"]
    assert any("5 of 13 features would move into" in w for w in found["warnings"])
    approx_bounds(found["bounds_lonlat"], [52.2, 21.0, 56.2, 38.7])
    swapped = importer.preview(path, swap_axes=True)
    approx_bounds(swapped["bounds_lonlat"], [21.0, 52.2, 38.7, 56.2])


def test_a_file_in_lon_lat_order_gets_no_swap_warning(tmp_path):
    found = importer.preview(rf.countries_past_180(tmp_path / "countries.geojson"))
    assert not found["swap_suggested"]


def test_a_front_export_with_statuses_is_split_into_one_layer_per_status_and_keeps_its_points(tmp_path):
    path = rf.front_statuses(tmp_path / "deepstate_2024-08-20.geojson")
    result = read_file(path)
    assert result.kind == "front" and len(result.frame) == 7
    assert result.details["layers"] == {"occupied": 2, "liberated": 1, "contested": 1, "unknown": 1,
                                        "events (points)": 2}
    assert any("split by status into 4 snapshot layer(s)" in w and "2 point(s) kept as events" in w
               for w in result.warnings)
    store = Workspace()
    store.add(result)
    snap = store.snapshot()
    assert len(snap.fronts) == 5 and set(snap.fronts.geometry.geom_type) == {"Polygon"}
    events = snap.features[snap.features["kind"] == "events"]
    assert len(events) == 2 and set(events.geometry.geom_type) == {"Point"}
    assert set(events["date"]) == {pd.Timestamp("2024-08-20")}
    shown = wsmod.front_on(snap.fronts, "2024-09-01")
    assert sorted(shown["front_status"]) == ["contested", "liberated", "occupied", "occupied", "unknown"]
    labels = [e.label for e in legend.workspace_entries({"imported-front": shown})]
    assert labels == ["imported front: contested", "imported front: liberated", "imported front: occupied",
                      "imported front: unknown"]
    colours = {f["properties"]["detail"].split(";")[0]: f["properties"]["fill"] for f in
               imported.feature_collection(shown, imported.FRONT_RGB, "imported-front")["features"]}
    assert colours["occupied"] != colours["liberated"]


def test_a_later_snapshot_of_one_status_replaces_only_that_status(tmp_path):
    store = Workspace()
    store.add(read_file(rf.front_statuses(tmp_path / "deepstate_2024-08-20.geojson")))
    later = tmp_path / "deepstate_2024-08-27.geojson"
    later.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"status": "occupied"},
         "geometry": {"type": "Polygon", "coordinates": [[[37, 47], [38, 47], [38, 48], [37, 47]]]}}]}))
    store.add(read_file(later))
    shown = wsmod.front_on(store.snapshot().fronts, "2024-09-01")
    by_status = shown.groupby("front_status")["as_of"].max()
    assert by_status["occupied"] == pd.Timestamp("2024-08-27") and by_status["liberated"] == pd.Timestamp("2024-08-20")
    assert (shown["front_status"] == "occupied").sum() == 1


@pytest.mark.parametrize("case", ["xlsx workbook", "CSV comment preamble", "GeoJSONSeq", "GPX handheld track",
                                  "Russian headers", "shapefile cp949, no .cpg", "front statuses"])
def test_inspect_reads_each_case_as_a_user_runs_it(tmp_path, case):
    """`python -m geo inspect` on each case answers with its JSON. How long it takes is measured by
    `python -m bench.inspect_cases` (the README's table of measures), not here: a timed test on a shared
    machine fails on the machine's load, not on the code."""
    path = rf.write_all(tmp_path)[case]
    took, code, found = inspect(path)
    assert code == 0, found
    assert found["feature_count"] > 0 and found["kind"], found


def test_both_stores_keep_a_front_exports_points_as_events(tmp_path, postgres):
    result = read_file(rf.front_statuses(tmp_path / "deepstate_2024-08-20.geojson"))
    for store in (Workspace(tmp_path / "ws.sqlite"), Workspace(postgres.new_database())):
        store.add(result)
        snap = store.snapshot()
        assert sorted(snap.features["kind"]) == ["events", "events"] + ["front"] * 5, store.where
        assert len(snap.fronts) == 5 and sorted(snap.fronts["front_status"].unique()) == \
            ["contested", "liberated", "occupied", "unknown"]


def test_the_page_lists_a_workbooks_sheets_and_reads_the_one_chosen(tmp_path):
    from streamlit.testing.v1 import AppTest
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.run()
    assert not at.exception, at.exception
    raw = rf.xlsx_workbook(tmp_path / "tests.xlsx").read_bytes()
    at.file_uploader(key="upload_0").set_value(("tests.xlsx", raw, "application/octet-stream"))
    at.run()
    assert not at.exception, at.exception
    said = "\n".join(shown(m.value) for m in at.sidebar.markdown)
    assert "tests.xlsx: 3 generic feature(s) (xlsx)" in said
    sheet = at.selectbox(key="import_sheet")
    assert list(sheet.options)[1:] == ["About", "Tests", "Sites"]
    sheet.set_value("Sites")
    at.run()
    assert not at.exception, at.exception
    assert "tests.xlsx: 2 generic feature(s) (xlsx)" in "\n".join(shown(m.value) for m in at.sidebar.markdown)


def test_an_old_xls_workbook_is_refused_with_the_way_out(tmp_path):
    path = tmp_path / "vessels.xls"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 4000)
    _, code, line = inspect(path)
    assert code == 2 and line == ("error: vessels.xls: an Excel 97-2003 workbook (.xls) is not read: open it in "
                                  "Excel or LibreOffice, save it as .xlsx (or CSV) and import that")


def test_when_the_first_table_has_no_coordinates_the_page_still_offers_the_sheets_and_columns(tmp_path):
    import openpyxl
    from streamlit.testing.v1 import AppTest
    book = openpyxl.Workbook()
    book.active.title = "Counts"
    book.active.append(["item", "count"])
    book.active.append(["shells", 3])
    sites = book.create_sheet("Sites")
    sites.append(["depot", "y", "x"])
    sites.append(["depot 1", 42.25, 130.30])
    path = tmp_path / "mixed.xlsx"
    book.save(path)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.run()
    at.file_uploader(key="upload_0").set_value(("mixed.xlsx", path.read_bytes(), "application/octet-stream"))
    at.run()
    assert not at.exception, at.exception
    assert "under 'Change what was found'" in at.sidebar.error[0].value
    assert list(at.selectbox(key="import_lon").options)[1:] == ["item", "count"]
    at.selectbox(key="import_sheet").set_value("Sites")
    at.run()
    assert not at.exception, at.exception
    assert "mixed.xlsx: 1 generic feature(s) (xlsx)" in "\n".join(shown(m.value) for m in at.sidebar.markdown)


def test_a_large_track_csv_with_a_comment_preamble_is_streamed_from_its_header(tmp_path):
    path = tmp_path / "ais.csv"
    rows = [f"{273000000 + i % 50},2024-01-17T{(i // 3600) % 24:02d}:{(i // 60) % 60:02d}:{i % 60:02d}Z,"
            f"{42 + (i % 1000) / 10000:.4f},{130 + (i % 997) / 10000:.4f}" for i in range(220_000)]
    path.write_text("# AIS positions, made-up values\n# exported for the tests\nmmsi,timestamp,lat,lon\n"
                    + "\n".join(rows) + "\n")
    assert path.stat().st_size > 8 * 1024 * 1024
    result = read_file(path)
    assert result.kind == "tracks" and len(result.frame) == 220_000 and result.details.get("streamed")
    assert result.frame["track_id"].nunique() == 50
    assert result.summary()["bounds_lonlat"] == pytest.approx([130.0, 42.0, 130.0996, 42.0999])


def test_features_out_of_range_that_swapping_would_bring_in_are_counted(tmp_path):
    path = tmp_path / "mixed.geojson"
    points = [(130.3, 42.25), (132.35, 42.88), (131.9, 43.1), (42.3, 130.4), (43.0, 131.0)]
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"name": f"p{i}"}, "geometry": {"type": "Point", "coordinates": list(p)}}
        for i, p in enumerate(points)]}))
    result = read_file(path)
    assert len(result.frame) == 3 and len(result.skipped) == 2
    assert any("2 of 5 features are out of range as given and would be in range if swapped" in w
               for w in result.warnings)
    assert result.summary()["bounds_lonlat"] == pytest.approx([130.3, 42.25, 132.35, 43.1])
