"""The workspace store, once per store (SQLite and PostGIS): all-or-nothing imports, data that
survives a restart, writers that do not collide, snapshots that match their version, and
viewers who cannot change anything."""
import hashlib
import re
import sqlite3
import subprocess
import sys
import threading
import time
from contextlib import contextmanager

import numpy as np
import pandas as pd
import pytest

import sample_files as sf
from conftest import ROOT
from geo.store import access, workspace
from geo.imports.importer import read_file
from geo.store.workspace import NotAllowed, Workspace, WorkspaceError, front_on

VIEWER = access.User("vera", editor=False, source=access.HEADER)
EDITOR = access.User("edith", editor=True, source=access.HEADER)


@pytest.fixture
def store_path(tmp_path, monkeypatch):
    """The SQLite store alone, for what only a file can show (its bytes, its lock, its journal)."""
    path = tmp_path / "store" / "workspace.sqlite"
    monkeypatch.setenv("GEO_WORKSPACE", str(path))
    return path


def cli(*args, env=None):
    return subprocess.run([sys.executable, "-m", "geo", *map(str, args)], cwd=ROOT, capture_output=True, text=True,
                          timeout=120, env=env)


def digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def contents(target) -> str:
    """Everything a store holds, to compare before and after: the SQLite file's bytes, or every
    row of every PostGIS table (identity counters aside: PostgreSQL never rolls those back)."""
    if not workspace.is_url(target):
        return digest(__import__("pathlib").Path(target))
    import psycopg
    with psycopg.connect(target) as con:
        tables = ["meta", "batches", "features", "track_points", "audit", "images", "image_levels"]
        return hashlib.sha256(repr([con.execute(f"SELECT * FROM {t} ORDER BY 1").fetchall()
                                    for t in tables]).encode()).hexdigest()


def test_store_lives_where_GEO_WORKSPACE_says_and_defaults_outside_the_repo(store_path, monkeypatch, tmp_path):
    assert Workspace().path == store_path and store_path.exists()
    monkeypatch.delenv("GEO_WORKSPACE")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert workspace.default_path() == tmp_path / "home/.local/share/dprk-pipeline/workspace.sqlite"
    assert ROOT not in workspace.default_path().parents


def test_a_url_opens_postgis_and_a_path_sqlite(store):
    ws = Workspace()
    assert ws.store == ("postgis" if store.startswith("postgresql://") else "sqlite")
    assert isinstance(ws, Workspace) and ws.version() == "empty"


def test_a_new_object_and_a_new_process_read_back_what_was_added(tmp_path, store):
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


def test_both_stores_give_the_same_results(tmp_path, postgres):
    files = [sf.projected_gpkg(tmp_path / "esb.gpkg"), sf.track_csv(tmp_path / "ais.csv"),
             sf.acled_csv(tmp_path / "acled.csv"), sf.front_geojson(tmp_path / "front.geojson", "2024-08-20"),
             sf.claims_csv(tmp_path / "claims.csv", 50), sf.kml(tmp_path / "sightings.kml")]
    lite, pg = Workspace(tmp_path / "ws.sqlite"), Workspace(postgres.new_database())
    for ws in (lite, pg):
        for f in files:
            ws.add(read_file(f))
        ws.remove(3)
    a, b = lite.snapshot(), pg.snapshot()
    assert a.version == b.version != "empty"
    # Who imported differs by design: PostGIS records the database role beside a local user's name.
    pd.testing.assert_frame_equal(a.batches.drop(columns=["imported_at", "imported_by"]),
                                  b.batches.drop(columns=["imported_at", "imported_by"]))
    assert all(f"{who[:-1]}, db role" in pg_who or f"{who} (db role" in pg_who
               for who, pg_who in zip(a.batches["imported_by"], b.batches["imported_by"]))
    pd.testing.assert_frame_equal(a.tracks, b.tracks, check_exact=True)
    for left, right in ((a.features, b.features), (a.fronts, b.fronts)):
        assert list(left.columns) == list(right.columns)
        pd.testing.assert_frame_equal(pd.DataFrame(left.drop(columns="geometry")),
                                      pd.DataFrame(right.drop(columns="geometry")))
        assert list(left.geometry.to_wkb()) == list(right.geometry.to_wkb())
    assert lite.counts() == pg.counts()
    window = dict(since="2023-10-02", until="2023-10-05 12:00")
    pd.testing.assert_frame_equal(lite.tracks(**window), pg.tracks(**window))
    assert 0 < len(pg.tracks(**window)) < len(b.tracks)


def test_import_via_the_cli_prints_the_batch_and_counts(tmp_path, store):
    proc = cli("import", sf.acled_csv(tmp_path / "acled.csv"))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("batch 1: 2 events record(s) from acled.csv")
    again = cli("import", tmp_path / "acled.csv")
    assert again.returncode == 2 and "already imported as batch 1" in again.stderr
    assert Workspace().counts()["features"] == 2


def test_failed_strict_import_at_row_900_leaves_the_store_unchanged(tmp_path, store):
    Workspace().add(read_file(sf.acled_csv(tmp_path / "acled.csv")))
    before = contents(store)
    proc = cli("import", sf.claims_csv(tmp_path / "claims.csv", 1000, bad_row=900), "--strict")
    assert proc.returncode == 2
    assert proc.stderr.strip() == ("error: claims.csv: row 900, column as_of_date: '2024-13-45' is not a date "
                                   "(YYYY-MM-DD)")
    assert contents(store) == before
    assert Workspace().counts() == {"batches": 1, "features": 2, "track_points": 0, "images": 0}


def test_a_write_that_fails_midway_rolls_back_completely(tmp_path, monkeypatch, store):
    ws = Workspace()
    ws.add(read_file(sf.acled_csv(tmp_path / "acled.csv")))
    counts, version, before = ws.counts(), ws.version(), contents(store)
    real = workspace.feature_rows

    def dies_at_row_900(*args):
        for i, row in enumerate(real(*args)):
            if i == 899:
                raise OSError("disk unplugged")
            yield row

    monkeypatch.setattr(workspace, "feature_rows", dies_at_row_900)
    monkeypatch.setattr("geo.store.postgis.feature_rows", dies_at_row_900, raising=False)
    with pytest.raises(OSError):
        ws.add(read_file(sf.claims_csv(tmp_path / "claims.csv", 1000)))
    assert ws.counts() == counts and ws.version() == version and contents(store) == before
    assert list(ws.batches()["filename"]) == ["acled.csv"]


def test_a_bad_track_point_the_database_refuses_late_rolls_back_the_whole_file(tmp_path, monkeypatch, store):
    """The store itself refuses the last point (NULL longitude), after PostGIS has been sent
    earlier COPY chunks: nothing of the file may stay."""
    monkeypatch.setattr("geo.store.postgis.COPY_ROWS", 4, raising=False)
    ws = Workspace()
    ws.add(read_file(sf.acled_csv(tmp_path / "acled.csv")))
    before = contents(store)
    result = read_file(sf.track_csv(tmp_path / "ais.csv"))
    result.frame.loc[result.frame.index[-1], "lon"] = np.nan
    with pytest.raises(WorkspaceError, match="(?i)null"):
        ws.add(result)
    assert contents(store) == before and ws.counts() == {"batches": 1, "features": 2, "track_points": 0, "images": 0}


@contextmanager
def writers_held(target):
    """Hold every writer at the door while the test starts them: SQLite's write lock, or an
    exclusive lock on the PostGIS batches table."""
    if workspace.is_url(target):
        import psycopg
        with psycopg.connect(target) as con:
            con.execute("LOCK TABLE batches IN ACCESS EXCLUSIVE MODE")
            yield
            con.commit()
    else:
        gate = sqlite3.connect(target, isolation_level=None)
        gate.execute("BEGIN IMMEDIATE")
        yield
        gate.execute("COMMIT")
        gate.close()


def test_two_processes_importing_at_once_both_land_with_distinct_batch_ids(tmp_path, store):
    Workspace()  # create the schema first, as the app would have
    files = [sf.claims_csv(tmp_path / f"claims_{i}.csv", 3000, prefix=f"P{i}_") for i in range(2)]
    with writers_held(store):
        procs = [subprocess.Popen([sys.executable, "-m", "geo", "import", str(f)], cwd=ROOT, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True) for f in files]
        time.sleep(4)
        assert [p.poll() for p in procs] == [None, None], "both must be waiting for the lock"
    outputs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    ws = Workspace()
    assert ws.counts() == {"batches": 2, "features": 6000, "track_points": 0, "images": 0}
    batches = ws.batches()
    assert sorted(batches["feature_count"]) == [3000, 3000] and batches["id"].is_unique
    said = sorted(int(out.split(":")[0].split()[1]) for out, _ in outputs)
    assert said == sorted(batches["id"])
    for prefix in ("P0_", "P1_"):  # each file's rows all went to one batch
        mine = ws.features()[lambda f: f["id"].str.startswith(prefix)]
        assert len(mine) == 3000 and mine["batch_id"].nunique() == 1
    if not workspace.is_url(store):
        with sqlite3.connect(store) as con:
            assert con.execute("PRAGMA integrity_check").fetchone() == ("ok",)
            assert con.execute("PRAGMA journal_mode").fetchone() == ("wal",)


def test_remove_takes_a_batch_out_and_restores_the_earlier_version(tmp_path, store):
    ws = Workspace()
    ws.add(read_file(sf.acled_csv(tmp_path / "acled.csv")))
    version = ws.version()
    batch = ws.add(read_file(sf.track_csv(tmp_path / "ais.csv")))
    assert ws.version() != version
    proc = cli("workspace", "remove", batch)
    until = workspace.restorable_until(ws.batches(removed=True).set_index("id").loc[batch, "removed_at"])
    assert proc.returncode == 0 and proc.stdout.splitlines() == [
        f"removed batch {batch}", f"restore it until {until} with: python -m geo workspace restore {batch}"]
    assert ws.version() == version and ws.tracks().empty
    missing = cli("workspace", "remove", 99)
    assert missing.returncode == 2 and missing.stderr.strip() == "error: no batch 99 in the workspace"
    twice = cli("workspace", "remove", batch)
    assert twice.returncode == 2 and f"batch {batch} was removed already" in twice.stderr


def test_fronts_come_back_dated_and_front_on_picks_the_snapshot(tmp_path, store):
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


def test_an_unreachable_database_is_one_clear_error_without_the_password(monkeypatch):
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens here once the socket closes
    monkeypatch.setenv("GEO_WORKSPACE", f"postgresql://ana:s3cret@127.0.0.1:{port}/geo")
    with pytest.raises(WorkspaceError, match=f"cannot open the workspace postgresql://ana@127.0.0.1:{port}/geo"):
        Workspace()
    proc = cli("workspace", "list")
    assert proc.returncode == 2 and proc.stderr.startswith("error: cannot open the workspace")
    assert "s3cret" not in proc.stderr and "Traceback" not in proc.stderr and proc.stderr.count("\n") == 1


# --- one snapshot, one version ------------------------------------------------------------------------

def import_meanwhile(monkeypatch, store, files):
    """Make the next snapshot's feature read wait until `files` are imported over another
    connection: the import lands between the snapshot's reads."""
    landed = []

    def during(read):
        def wrapped(*args, **kw):
            if not landed:
                worker = threading.Thread(target=lambda: landed.extend(Workspace(store).add(read_file(f))
                                                                      for f in files))
                worker.start()
                worker.join(60)
                assert len(landed) == len(files), "the concurrent import did not land"
            return read(*args, **kw)
        return wrapped

    if workspace.is_url(store):
        from geo.store import postgis
        monkeypatch.setattr(postgis, "feature_rows_of", during(postgis.feature_rows_of))
    else:
        monkeypatch.setattr(workspace.SqliteWorkspace, "_feature_rows",
                            staticmethod(during(workspace.SqliteWorkspace._feature_rows)))
    return landed


def consistent(snap) -> bool:
    counts = snap.batches.groupby(snap.batches["kind"] == "tracks")["feature_count"].sum()
    return (snap.version == workspace.version_of(snap.batches)
            and len(snap.features) == counts.get(False, 0) and len(snap.tracks) == counts.get(True, 0)
            and set(snap.features["batch_id"]) <= set(snap.batches["id"]))


def test_a_snapshot_taken_during_an_import_matches_its_version(tmp_path, monkeypatch, store):
    ws = Workspace()
    ws.add(read_file(sf.acled_csv(tmp_path / "acled.csv")))
    before = ws.version()
    landed = import_meanwhile(monkeypatch, store, [sf.claims_csv(tmp_path / "claims.csv", 500),
                                                   sf.track_csv(tmp_path / "ais.csv")])
    snap = ws.snapshot()
    assert landed and ws.version() != before  # the import really landed mid-snapshot
    assert snap.version == before and consistent(snap)
    assert list(snap.batches["filename"]) == ["acled.csv"] and len(snap.features) == 2 and snap.tracks.empty
    assert consistent(ws.snapshot()) and ws.snapshot().version == ws.version()


def test_snapshots_stay_consistent_while_imports_and_removals_run(tmp_path, store):
    files = [sf.claims_csv(tmp_path / f"c{i}.csv", 300, prefix=f"C{i}_") for i in range(4)] + \
            [sf.track_csv(tmp_path / "ais.csv")]
    Workspace()
    errors = []

    def churn():
        try:
            writer = Workspace(store)
            for f in files:
                writer.remove(writer.add(read_file(f))) if f.name == "c1.csv" else writer.add(read_file(f))
        except Exception as err:  # reported below, in the test's thread
            errors.append(err)

    worker = threading.Thread(target=churn)
    worker.start()
    seen = set()
    while worker.is_alive():
        snap = Workspace(store).snapshot()
        assert consistent(snap), snap.version
        seen.add(snap.version)
    worker.join()
    assert not errors and len(seen) >= 2
    assert consistent(Workspace().snapshot())


# --- schema versions ----------------------------------------------------------------------------------

def test_a_version_1_sqlite_store_is_migrated_and_keeps_its_batches(store_path):
    store_path.parent.mkdir(parents=True)
    with sqlite3.connect(store_path) as con:
        con.executescript(workspace.SCHEMA_V1)
        con.execute("INSERT INTO meta VALUES ('schema_version', '1')")
        con.execute("INSERT INTO batches(filename, kind, format, imported_at, feature_count, sha256) "
                    "VALUES ('old.geojson', 'generic', 'geojson', '2025-01-01T00:00:00+00:00', 1, 'abc')")
        con.execute("INSERT INTO features(batch_id, kind, name, properties) VALUES (1, 'generic', 'old', '{}')")
    ws = Workspace()
    assert ws.schema_version == 4
    batch = ws.batches().iloc[0]
    assert (batch["filename"], batch["imported_by"], batch["removed_at"]) == ("old.geojson", "", None)
    ws.remove(1, EDITOR)
    assert ws.batches(removed=True).iloc[0]["removed_by"] == "edith" and ws.audit()["action"].tolist() == ["remove"]
    with sqlite3.connect(store_path) as con:
        assert con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone() == ("4",)


def test_a_store_newer_than_this_program_is_refused_in_one_line(store):
    Workspace()
    if workspace.is_url(store):
        import psycopg
        with psycopg.connect(store) as con:
            con.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    else:
        with sqlite3.connect(store) as con:
            con.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    with pytest.raises(WorkspaceError, match="has schema version 99; this program reads up to"):
        Workspace()


def test_a_postgis_store_takes_a_new_migration_step_once_and_keeps_its_data(tmp_path, monkeypatch, postgres):
    from geo.store import postgis
    url = postgres.new_database()
    Workspace(url).add(read_file(sf.acled_csv(tmp_path / "acled.csv")))
    step = max(postgis.MIGRATIONS) + 1
    monkeypatch.setattr(postgis, "MIGRATIONS",
                        {**postgis.MIGRATIONS, step: "ALTER TABLE batches ADD COLUMN note text DEFAULT ''"})
    opened = [Workspace(url) for _ in range(2)]  # the second open finds nothing to do
    assert [w.schema_version for w in opened] == [step, step] and opened[1].counts()["features"] == 2
    import psycopg
    with psycopg.connect(url) as con:
        assert con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone() == (str(step),)
        assert con.execute("SELECT note FROM batches").fetchall() == [("",)]


# --- editors and viewers ------------------------------------------------------------------------------

def test_a_viewer_cannot_remove_or_import_and_the_attempt_is_logged(tmp_path, store, caplog):
    ws = Workspace()
    batch = ws.add(read_file(sf.acled_csv(tmp_path / "acled.csv")), EDITOR)
    version = ws.version()
    with pytest.raises(NotAllowed, match="vera may view but not remove batch 1"):
        ws.remove(batch, VIEWER)
    with pytest.raises(NotAllowed, match="vera may view but not import ais.csv"):
        ws.add(read_file(sf.track_csv(tmp_path / "ais.csv")), VIEWER)
    assert ws.version() == version and ws.counts() == {"batches": 1, "features": 2, "track_points": 0, "images": 0}
    assert "refused remove of 1 by viewer vera" in caplog.text
    log = ws.audit()
    assert log[["user_name", "action", "outcome"]].values.tolist() == [
        ["edith", "import", "done"], ["vera", "remove", "refused"], ["vera", "import", "refused"]]
    assert int(log["batch_id"].iloc[1]) == batch


def test_a_removal_by_an_editor_records_who_and_when_and_keeps_the_row(tmp_path, store):
    ws = Workspace()
    keep = ws.add(read_file(sf.acled_csv(tmp_path / "acled.csv")), EDITOR)
    gone = ws.add(read_file(sf.track_csv(tmp_path / "ais.csv")), access.User("ivan", True))
    ws.remove(gone, EDITOR)
    assert list(ws.batches()["id"]) == [keep]
    row = ws.batches(removed=True).set_index("id").loc[gone]
    # a local user (no header) is recorded with the database role it writes as, in PostGIS
    assert (row["imported_by"].split(" (db role")[0], row["removed_by"]) == ("ivan", "edith")
    assert pd.Timestamp(row["removed_at"]) >= pd.Timestamp(row["imported_at"])
    assert ws.audit()[["user_name", "action", "batch_id"]].values.tolist()[-1] == ["edith", "remove", gone]
    listing = cli("workspace", "list")
    assert listing.returncode == 0, listing.stderr
    assert "acled.csv  by edith" in listing.stdout
    assert f"removed:\n{gone:>5}" in listing.stdout and re.search(r"ais\.csv  by ivan( \(db role \w+\))?; removed 20", listing.stdout)
    assert "by edith" in listing.stdout.split("removed:")[1] and listing.stdout.strip().endswith(ws.where)
    assert f"edith            remove  done     batch {gone}" in cli("workspace", "log").stdout


def test_the_command_line_acts_as_the_local_user_under_the_editor_list(tmp_path, store, monkeypatch):
    import os
    batch = Workspace().add(read_file(sf.acled_csv(tmp_path / "acled.csv")))
    env = dict(os.environ, GEO_USER="carol", GEO_EDITORS="dave")
    refused = cli("workspace", "remove", batch, env=env)
    assert refused.returncode == 2
    who = f"carol (os user {access.os_user()}" + (", db role postgres)" if workspace.is_url(store) else ")")
    assert refused.stderr.strip() == f"error: {who} may view but not remove batch {batch}: only editors change the workspace"
    assert Workspace().audit()[["user_name", "action", "outcome"]].values.tolist()[-1] == [who, "remove", "refused"]
    done = cli("workspace", "remove", batch, env=dict(env, GEO_EDITORS="dave,carol"))
    assert done.returncode == 0, done.stderr
    assert Workspace().batches(removed=True)["removed_by"].tolist() == [who]


def test_a_postgis_workspace_reconnects_when_the_server_drops_its_idle_connections(tmp_path, postgres):
    import psycopg
    url = postgres.new_database()
    ws = Workspace(url)
    ws.add(read_file(sf.acled_csv(tmp_path / "acled.csv")))
    version = ws.version()  # leaves idle connections behind for reuse

    def drop_all():
        with psycopg.connect(url, autocommit=True) as con:
            killed = con.execute("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                                 "WHERE datname = current_database() AND pid <> pg_backend_pid()").fetchone()[0]
        assert killed >= 1
        time.sleep(0.2)

    drop_all()
    assert ws.version() == version
    drop_all()
    ws.add(read_file(sf.track_csv(tmp_path / "ais.csv")))  # a write, too, on a fresh connection
    assert ws.counts() == {"batches": 2, "features": 2, "track_points": 21, "images": 0}
