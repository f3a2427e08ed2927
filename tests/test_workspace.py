"""The workspace store: all-or-nothing imports, data that survives a restart, and writers that do not collide."""
import hashlib
import sqlite3
import subprocess
import sys
import time

import pandas as pd
import pytest

import sample_files as sf
from conftest import ROOT
from geo import workspace
from geo.importer import read_file
from geo.workspace import Workspace, WorkspaceError, front_on


@pytest.fixture(autouse=True)
def store_path(tmp_path, monkeypatch):
    path = tmp_path / "store" / "workspace.sqlite"
    monkeypatch.setenv("GEO_WORKSPACE", str(path))
    return path


def cli(*args, env=None):
    return subprocess.run([sys.executable, "-m", "geo", *map(str, args)], cwd=ROOT, capture_output=True, text=True,
                          timeout=120, env=env)


def digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_store_lives_where_GEO_WORKSPACE_says_and_defaults_outside_the_repo(store_path, monkeypatch, tmp_path):
    assert Workspace().path == store_path and store_path.exists()
    monkeypatch.delenv("GEO_WORKSPACE")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert workspace.default_path() == tmp_path / "home/.local/share/dprk-pipeline/workspace.sqlite"
    assert ROOT not in workspace.default_path().parents


def test_a_new_object_and_a_new_process_read_back_what_was_added(tmp_path, store_path):
    ws = Workspace()
    landmark = ws.add(read_file(sf.projected_gpkg(tmp_path / "esb.gpkg")))
    ws.add(read_file(sf.track_csv(tmp_path / "ais.csv")))
    again = Workspace()
    point = again.features().set_index("batch_id").loc[landmark, "geometry"]
    assert (point.x, point.y) == pytest.approx(sf.EMPIRE_STATE_LONLAT, abs=2e-4)
    tracks = again.tracks()
    assert len(tracks) == 21 and list(tracks.columns) == ["track_id", "name", "t", "lon", "lat"]
    assert tracks.loc[tracks.track_id == "273000002", "t"].iloc[0] == pd.Timestamp("2023-10-05 07:00")
    proc = cli("workspace", "list")
    assert proc.returncode == 0, proc.stderr
    assert "esb.gpkg" in proc.stdout and "ais.csv" in proc.stdout and again.version() in proc.stdout


def test_import_via_the_cli_prints_the_batch_and_counts(tmp_path):
    proc = cli("import", sf.acled_csv(tmp_path / "acled.csv"))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("batch 1: 2 events record(s) from acled.csv")
    again = cli("import", tmp_path / "acled.csv")
    assert again.returncode == 2 and "already imported as batch 1" in again.stderr
    assert Workspace().counts()["features"] == 2


def test_failed_strict_import_at_row_900_leaves_the_store_unchanged(tmp_path, store_path):
    Workspace().add(read_file(sf.acled_csv(tmp_path / "acled.csv")))
    before = digest(store_path)
    proc = cli("import", sf.claims_csv(tmp_path / "claims.csv", 1000, bad_row=900), "--strict")
    assert proc.returncode == 2
    assert proc.stderr.strip() == ("error: claims.csv: row 900, column as_of_date: '2024-13-45' is not a date "
                                   "(YYYY-MM-DD)")
    assert digest(store_path) == before
    assert Workspace().counts() == {"batches": 1, "features": 2, "track_points": 0}


def test_a_write_that_fails_midway_rolls_back_completely(tmp_path, monkeypatch):
    ws = Workspace()
    ws.add(read_file(sf.acled_csv(tmp_path / "acled.csv")))
    counts, version = ws.counts(), ws.version()
    real = workspace.feature_rows

    def dies_at_row_900(*args):
        for i, row in enumerate(real(*args)):
            if i == 899:
                raise OSError("disk unplugged")
            yield row

    monkeypatch.setattr(workspace, "feature_rows", dies_at_row_900)
    with pytest.raises(OSError):
        ws.add(read_file(sf.claims_csv(tmp_path / "claims.csv", 1000)))
    assert ws.counts() == counts and ws.version() == version
    assert list(ws.batches()["filename"]) == ["acled.csv"]


def test_two_processes_importing_at_once_both_land(tmp_path, store_path):
    Workspace()  # create the schema first, as the app would have
    files = [sf.claims_csv(tmp_path / f"claims_{i}.csv", 3000, prefix=f"P{i}_") for i in range(2)]
    # Hold the write lock while both start, so they are certain to meet at the door.
    gate = sqlite3.connect(store_path, isolation_level=None)
    gate.execute("BEGIN IMMEDIATE")
    procs = [subprocess.Popen([sys.executable, "-m", "geo", "import", str(f)], cwd=ROOT, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for f in files]
    time.sleep(3)
    assert [p.poll() for p in procs] == [None, None], "both must be waiting for the lock"
    gate.execute("COMMIT")
    gate.close()
    outputs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    ws = Workspace()
    assert ws.counts() == {"batches": 2, "features": 6000, "track_points": 0}
    assert sorted(ws.batches()["feature_count"]) == [3000, 3000]
    with sqlite3.connect(store_path) as con:
        assert con.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert con.execute("PRAGMA journal_mode").fetchone() == ("wal",)


def test_remove_takes_a_batch_out_and_restores_the_earlier_version(tmp_path):
    ws = Workspace()
    ws.add(read_file(sf.acled_csv(tmp_path / "acled.csv")))
    version = ws.version()
    batch = ws.add(read_file(sf.track_csv(tmp_path / "ais.csv")))
    assert ws.version() != version
    proc = cli("workspace", "remove", batch)
    assert proc.returncode == 0 and proc.stdout.strip() == f"removed batch {batch}"
    assert ws.version() == version and ws.tracks().empty
    missing = cli("workspace", "remove", 99)
    assert missing.returncode == 2 and missing.stderr.strip() == "error: no batch 99 in the workspace"


def test_fronts_come_back_dated_and_front_on_picks_the_snapshot(tmp_path):
    ws = Workspace()
    ws.add(read_file(sf.front_geojson(tmp_path / "front.geojson", "2024-08-20")))
    ws.add(read_file(sf.front_geojson(tmp_path / "deepstate_2024-09-01.geojson", None, shift=0.5)))
    fronts = ws.fronts()
    assert sorted(set(fronts["as_of"])) == [pd.Timestamp("2024-08-20"), pd.Timestamp("2024-09-01")]
    shown = front_on(fronts, "2024-08-31")
    assert len(shown) == 2 and set(shown["source_file"]) == {"front.geojson"}
    assert set(front_on(fronts, "2024-12-31")["source_file"]) == {"deepstate_2024-09-01.geojson"}
    assert front_on(fronts, "2024-01-01").empty


def test_a_file_that_is_not_a_database_is_one_clear_error(tmp_path, monkeypatch):
    bogus = tmp_path / "bogus.sqlite"
    bogus.write_bytes(b"this is not sqlite" * 100)
    monkeypatch.setenv("GEO_WORKSPACE", str(bogus))
    with pytest.raises(WorkspaceError, match="not a database"):
        Workspace()
    proc = cli("workspace", "list")
    assert proc.returncode == 2 and proc.stderr.startswith("error: ") and "Traceback" not in proc.stderr
