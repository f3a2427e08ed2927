"""AIS exports beyond the importer's limits: streamed into the positions store as a batch of the
workspace, from the command line and the page; the limit is lowered with GEO_IMPORT_ROWS, as an
operator would, so a small file stands for a large one."""
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import ship_tracks
from geo.ships import positions
from geo.store import workspace

ROOT = Path(__file__).resolve().parent.parent


def cli(*args, env=None):
    return subprocess.run([sys.executable, "-m", "geo", *args], cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=300)


@pytest.fixture
def ais_file(tmp_path) -> Path:
    path = tmp_path / "ais_export.csv"
    path.write_text(ship_tracks.ais_csv())
    return path


@pytest.fixture
def scale_store(store, tmp_path, monkeypatch):
    """A fresh workspace (SQLite and PostGIS), its positions in this test's folder, and an importer
    whose limit the test file exceeds."""
    root = tmp_path / "positions"
    monkeypatch.setenv("GEO_POSITIONS_DIR", str(root))
    monkeypatch.setenv("GEO_IMPORT_ROWS", "100")
    return store, root


def test_an_ais_export_beyond_the_limit_is_streamed_into_a_batch_with_progress(scale_store, ais_file):
    target, root = scale_store
    rows = len(ais_file.read_text().splitlines()) - 1
    done = cli("import", str(ais_file), "--progress")
    assert done.returncode == 0, done.stderr
    assert f"{rows:,} positions from ais_export.csv" in done.stdout
    progress = [line for line in done.stderr.splitlines() if line.startswith("progress: importing")]
    assert progress and "rows read" in progress[-1] and "100.0% of" in progress[-1]
    assert f"{rows:,} rows read" in progress[-1]
    ws = workspace.Workspace(target)
    batch = ws.batches().iloc[0]
    assert (batch["kind"], int(batch["feature_count"]), batch["filename"]) == ("tracks", rows, "ais_export.csv")
    assert len(ws.tracks()) == 0  # nothing in the track tables: the positions store holds them
    assert positions.batch_ids(root) == [int(batch["id"])]
    stored = positions.read_window(root=root)
    truth = pd.read_csv(ais_file, dtype=str)
    assert len(stored) == rows and set(stored["mmsi"]) == set(truth["MMSI"])
    assert list(ws.audit()["action"]) == ["import"]
    # The same file again is refused, as any other file would be; removing it removes its positions.
    again = cli("import", str(ais_file))
    assert again.returncode == 2 and "already imported as batch" in again.stderr
    assert cli("workspace", "remove", str(batch["id"])).returncode == 0
    assert positions.batch_ids(root) == [] and not list(root.glob(".staging-*"))


def test_below_the_limit_the_importer_reads_the_file_as_before(store, ais_file, tmp_path, monkeypatch):
    monkeypatch.setenv("GEO_POSITIONS_DIR", str(tmp_path / "positions"))
    done = cli("import", str(ais_file))
    assert done.returncode == 0, done.stderr
    assert "record(s) from ais_export.csv" in done.stdout
    assert len(workspace.Workspace(store).tracks()) == len(ais_file.read_text().splitlines()) - 1


def test_binary_files_are_no_ais_export_and_reach_the_importer_as_before(tmp_path):
    """A GeoPackage or a workbook, whose first bytes hold carriage returns and NULs, is not taken
    for a CSV header: the importer reads it (it once failed with 'new-line character seen')."""
    import geopandas as gpd
    from shapely.geometry import Point
    from geo.ships import bigfiles
    gpkg = tmp_path / "depots.gpkg"
    gpd.GeoDataFrame({"name": ["Depot"]}, geometry=[Point(130.6, 42.4)], crs=4326).to_file(gpkg)
    assert bigfiles.plan(gpkg) is None and bigfiles.plan_bytes(gpkg.read_bytes(), gpkg.name) is None
    odd = tmp_path / "odd.csv"
    odd.write_bytes(b"MMSI,Base\rDateTime,\0LAT\nx\n")
    assert bigfiles.plan(odd) is None
    done = cli("inspect", str(gpkg))
    assert done.returncode == 0 and '"format": "gpkg"' in done.stdout, done.stderr


def test_a_bad_row_under_strict_is_one_line_naming_file_row_and_column_and_nothing_is_kept(scale_store, ais_file):
    target, root = scale_store
    lines = ais_file.read_text().splitlines()
    bad = lines[250].split(",")
    bad[2] = "north"  # LAT
    lines[250] = ",".join(bad)
    ais_file.write_text("\n".join(lines) + "\n")
    done = cli("import", str(ais_file), "--strict")
    assert done.returncode == 2
    error = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert error == ["error: ais_export.csv: row 251, column LAT: not a latitude (-90..90) ('north')"]
    assert "Traceback" not in done.stderr
    ws = workspace.Workspace(target)
    assert len(ws.batches(removed=True)) == 0 and len(ws.audit()) == 0
    assert positions.batch_ids(root) == [] and not list(root.glob(".staging-*"))
    # Without --strict the row is skipped and said.
    done = cli("import", str(ais_file))
    assert done.returncode == 0, done.stderr
    assert "warning: skipped row 251, column LAT: not a latitude" in done.stderr
    batch = ws.batches().iloc[0]
    assert int(batch["feature_count"]) == len(lines) - 2
    assert batch["skipped"] == ["row 251, column LAT: not a latitude (-90..90) ('north')"]


def test_a_parquet_export_streams_too(scale_store, ais_file, tmp_path):
    target, root = scale_store
    frame = pd.read_csv(ais_file, dtype=str)
    frame["LAT"] = frame["LAT"].astype(float)
    frame["LON"] = frame["LON"].astype(float)
    path = tmp_path / "ais_export.parquet"
    pq.write_table(pa.Table.from_pandas(frame.rename(columns=str.lower), preserve_index=False), path)
    done = cli("import", str(path))
    assert done.returncode == 0, done.stderr
    assert f"{len(frame):,} positions from ais_export.parquet (ais-parquet" in done.stdout
    assert len(positions.read_window(root=root)) == len(frame)


def test_a_failure_midway_leaves_no_batch_and_no_positions(scale_store, ais_file, monkeypatch):
    """A disk that fails after some chunks were written: the batch's row and its staged files go."""
    target, root = scale_store
    from geo.ships import bigfiles
    result = bigfiles.plan(ais_file)
    assert result is not None and result.stream.rows == len(ais_file.read_text().splitlines()) - 1
    calls = []

    def failing(fraction, rows):
        calls.append(rows)
        if rows:
            raise OSError(28, "No space left on device")
    with pytest.raises(OSError):
        workspace.Workspace(target).add(result, progress=failing)
    assert calls
    ws = workspace.Workspace(target)
    assert len(ws.batches(removed=True)) == 0
    assert positions.batch_ids(root) == [] and not list(root.glob(".staging-*"))


# --- detections per batch ---------------------------------------------------------------------------------

def voyages_frame() -> pd.DataFrame:
    rows, _ = ship_tracks.voyages()
    frame = pd.DataFrame(rows, columns=["mmsi", "t", "lat", "lon", "sog", "name", "imo"])
    frame["t"] = pd.to_datetime(frame["t"])
    return frame


def test_detections_per_batch_are_those_of_the_whole_store_row_for_row(tmp_path):
    """Three batches: the voyages split in time (so a vessel's gap, calls and its encounter with the
    drifter straddle two batches), the drifter alone in a third, and made-up ships in a fourth."""
    from bench import shipsdata
    from geo.ships import detections
    root = tmp_path / "positions"
    frame = voyages_frame()
    middle = frame["t"].min() + (frame["t"].max() - frame["t"].min()) / 2
    drifter = frame["mmsi"] == "511333330"
    positions.write_batch(root, 1, frame[~drifter & (frame["t"] < middle)])
    positions.write_batch(root, 2, frame[~drifter & (frame["t"] >= middle)])
    positions.write_batch(root, 3, frame[drifter])
    positions.write_batch(root, 4, shipsdata.generate(30_000, seed=3, vessels=6, start="2024-09-01", days=20))
    whole = detections.detect_store(root)
    assert {"port_call", "gap", "encounter", "loitering"} <= set(whole["kind"])
    cache = {}
    pd.testing.assert_frame_equal(detections.detect_batches(root, cache=cache), whole)
    assert sorted(k[1] for k in cache) == [1, 2, 3, 4]
    # A new batch costs its own part only: the others come from the cache, and the result is still
    # the whole store's, also with other parameters.
    positions.write_batch(root, 5, shipsdata.generate(5_000, seed=4, vessels=2, start="2024-09-05", days=5))
    parts = {k: id(v) for k, v in cache.items()}
    pd.testing.assert_frame_equal(detections.detect_batches(root, cache=cache), detections.detect_store(root))
    assert all(id(cache[k]) == v for k, v in parts.items()) and len(cache) == 5
    params = detections.Params(gap_hours=6, encounter_distance_m=1_000)
    pd.testing.assert_frame_equal(detections.detect_batches(root, params, cache=cache),
                                  detections.detect_store(root, params=params))


# --- the map's tracks of a streamed batch ---------------------------------------------------------------

def test_the_map_reads_a_streamed_batch_for_the_window_and_box_it_draws(tmp_path, monkeypatch):
    from bench import shipsdata
    from geo.model import timeline
    from geo.page import resources, ships as page_ships
    from geo.render import tracks
    from geo.ships import bigfiles
    target = str(tmp_path / "ws.sqlite")
    monkeypatch.setenv("GEO_IMPORT_ROWS", "1000")
    frame = shipsdata.generate(60_000, seed=7, vessels=12, start="2024-08-01", days=61)
    path = tmp_path / "ais.csv"
    shipsdata.write_ais_csv(path, [frame])
    frame = pd.read_csv(path, dtype={"MMSI": str}, parse_dates=["BaseDateTime"]).rename(columns={
        "MMSI": "mmsi", "BaseDateTime": "t", "LON": "lon", "LAT": "lat", "VesselName": "name"})  # as the file says
    ws = workspace.Workspace(target)
    ws.add(bigfiles.plan(path))
    snapshot = ws.snapshot()
    assert len(snapshot.tracks) == 0 and page_ships.streamed_batches(snapshot) == [1]
    when = pd.Timestamp("2024-09-30")
    since, until = timeline.track_window(when)
    box = page_ships.view_box("sea")
    inside = frame[(frame["t"] >= since) & (frame["t"] < until) & frame["lon"].between(box[0], box[2])
                   & frame["lat"].between(box[1], box[3])]
    kind, points = page_ships.window_tracks(target, snapshot, when, "sea")
    assert kind == "paths" and points.attrs["positions"] == len(inside)
    assert points["t"].between(since, until, inclusive="left").all() and 0 < len(points) <= 8_000 + 12
    assert points.groupby("track_id")["positions"].first().to_dict() == inside.groupby("mmsi").size().to_dict()
    last = inside.sort_values("t").groupby("mmsi").tail(1).set_index("mmsi")["t"]  # every trail's head kept
    heads = points.groupby("track_id")["t"].max()
    assert heads.sort_index().tolist() == last.astype("datetime64[ms]").sort_index().tolist()
    # More vessels than can each keep a trail of 12 positions: counted per cell, not scattered.
    with monkeypatch.context() as m:
        m.setattr(page_ships, "PATH_POSITIONS", 12 * page_ships.MIN_TRAIL_POSITIONS - 1)
        kind, cells, cell = page_ships.window_tracks(target, snapshot, when, "sea")
        assert kind == "cells" and cell == 0.1 and cells["positions"].sum() == len(inside)
    # Zoomed out: positions counted per cell, the counts the store's own.
    kind, cells, cell = page_ships.window_tracks(target, snapshot, when, "overview")
    assert kind == "cells" and cells["positions"].sum() == len(frame[(frame["t"] >= since) & (frame["t"] < until)])
    # On the page: the same bounded track layers as the workspace's own tracks, under their own ids.
    state = type("State", (), {"date": when, "view": "sea", "layers": ("tracks",)})()
    drawn = resources.window_track_layers(target, snapshot, state)
    assert [layer.id for layer in drawn] == ["positions-tracks-density", "positions-tracks-hit",
                                             "positions-tracks-path", "positions-tracks"]
    assert {r["name"] for r in drawn[1].data} == set(inside["name"])
    assert tracks.prepare_tracks(points, views=("sea",)).n_tracks == inside["mmsi"].nunique()


def test_a_streamed_vessel_s_panel_counts_its_positions_by_the_date_from_the_store(tmp_path, monkeypatch):
    """Clicking a track that only the positions store holds opens a panel (it showed a tooltip and
    nothing else): the vessel's positions by the date and in all, as the file gives them."""
    from bench import shipsdata
    from geo.data import dataset
    from geo.model import timeline
    from geo.page import ships as page_ships
    from geo.ships import bigfiles
    from geo.view import MapState, mapview, view_for
    target = str(tmp_path / "ws.sqlite")
    monkeypatch.setenv("GEO_IMPORT_ROWS", "1000")
    frame = shipsdata.generate(30_000, seed=3, vessels=6, start="2024-08-01", days=61)
    path = tmp_path / "ais.csv"
    shipsdata.write_ais_csv(path, [frame])
    frame = pd.read_csv(path, dtype={"MMSI": str}, parse_dates=["BaseDateTime"])
    ws = workspace.Workspace(target)
    ws.add(bigfiles.plan(path))
    snapshot = ws.snapshot()
    mmsi = frame["MMSI"].iloc[0]
    mine = frame[frame["MMSI"] == mmsi].sort_values("BaseDateTime")
    when = timeline.month_end("2024-08-01")
    until = timeline.track_window(when)[1]
    found = page_ships.streamed_vessel(target, snapshot, {"kind": "track", "feature_id": mmsi}, when)
    assert found["positions"] == len(mine) and found["positions_by_date"] == int((mine["BaseDateTime"] < until).sum())
    assert found["first"] == mine["BaseDateTime"].iloc[0] and found["last"] == mine["BaseDateTime"].iloc[-1]
    assert found["last_by_date"] == mine.loc[mine["BaseDateTime"] < until, "BaseDateTime"].max()
    assert found["name"] == mine["VesselName"].iloc[-1] and found["files"] == ["ais.csv"]
    assert page_ships.streamed_vessel(target, snapshot, {"kind": "track", "feature_id": "999999999"}, when) is None
    assert page_ships.streamed_vessel(target, snapshot, {"kind": "place", "feature_id": mmsi}, when) is None

    view = view_for(dataset.load(), snapshot, MapState(date=when, layers=("basemap", "tracks")))
    panel = mapview.evidence(view, {"kind": "track", "feature_id": mmsi}, streamed=found)
    assert panel.title == found["name"]
    assert f"{found['positions_by_date']:,} of {len(mine):,} position(s) by this date" in panel.description
    assert f"MMSI {mmsi}" in panel.description and "ais.csv" in panel.description
    assert panel.vessels and panel.vessels[0]["key"].endswith(mmsi), "the vessel's card is one click on"


def test_the_page_s_import_streams_a_big_upload_with_its_progress_and_refuses_a_bad_row_whole(
        scale_store, ais_file):
    """The sidebar's workflow (geo.page.uploads, as ui/sections.py calls it), with the bar's callback."""
    from geo.page import uploads
    target, root = scale_store
    ws = workspace.Workspace(target)
    raw = ais_file.read_bytes()
    rows = len(raw.decode().splitlines()) - 1
    ss = {}
    result, problem, _, _ = uploads.preview(ss, [("f1", "ais_export.csv", raw)])
    assert problem == "" and result.stream is not None and uploads.is_streamed(ss)
    assert uploads.summary(result)["what"].startswith(f"ais_export.csv: {rows:,} position(s) (ais-csv)")
    told = []
    uploads.import_previewed(ss, ws, None, lambda fraction, read: told.append((fraction, read)))
    status, message, _ = ss["import_report"]
    assert status == "success" and message == f"Imported {rows:,} position(s) from ais_export.csv as batch 1."
    assert told[-1] == (1.0, rows) and [f for f, _ in told] == sorted(f for f, _ in told)
    assert positions.batch_ids(root) == [1]
    # Strict, with a bad row: one line naming file, row and column, and nothing kept.
    lines = raw.decode().splitlines()
    bad = lines[100].split(",")
    bad[3] = "east"  # LON
    lines[100] = ",".join(bad)
    ss = {"strict": True}
    uploads.preview(ss, [("f2", "ais_export.csv", ("\n".join(lines) + "\n").encode())])
    uploads.import_previewed(ss, ws, None, lambda fraction, read: None)
    assert ss["import_report"][:2] == ("error", "ais_export.csv: row 101, column LON: not a longitude (-180..180) "
                                                "('east')")
    assert len(ws.batches()) == 1 and positions.batch_ids(root) == [1] and not list(root.glob(".staging-*"))
