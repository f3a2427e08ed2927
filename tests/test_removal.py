"""Removing a batch is undoable, in both stores: the removal hides the batch from every reader
(this program and any other), restore() brings back exactly what was there (its rows, its AIS
positions folder, its images), the audit log records both, and after the undo window the next
write purges the data for good."""
import re
import subprocess
import sys

import pandas as pd
import pytest

import imagery_files
import ship_tracks
from conftest import ROOT
from geo.imports.importer import read_file
from geo.ships import positions
from geo.store import access, workspace
from geo.store.workspace import NotAllowed, Workspace

EDITOR = access.User("edith", editor=True, source=access.HEADER)
VIEWER = access.User("vera", editor=False, source=access.HEADER)


def cli(*args):
    return subprocess.run([sys.executable, "-m", "geo", *map(str, args)], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)


def everything(ws) -> dict:
    """What any reader of the store sees: features, tracks, images and their pixels, positions."""
    snap = ws.snapshot()
    images = ws.images()
    return {"version": ws.version(), "counts": ws.counts(),
            "features": snap.features.drop(columns="geometry").to_json(date_format="iso"),
            "geometry": snap.features.geometry.to_wkt().tolist(),
            "tracks": snap.tracks.to_json(date_format="iso"), "images": images.drop(columns="geometry").to_json(),
            "pixels": [ws.image_bytes(i, level) for i, n in zip(images["image_id"], images["levels"])
                       for level in range(n)],
            "positions": positions.read_window(root=ws.positions_root).to_json(date_format="iso")}


@pytest.fixture
def filled(tmp_path, store, monkeypatch):
    """A store holding events, AIS tracks (with their positions folder) and an image."""
    monkeypatch.setenv("GEO_POSITIONS_DIR", str(tmp_path / "positions"))
    ws = Workspace()
    acled = __import__("sample_files").acled_csv(tmp_path / "acled.csv")
    (tmp_path / "AIS_2024_09.csv").write_text(ship_tracks.ais_csv())
    batches = {"events": ws.add(read_file(acled), EDITOR),
               "tracks": ws.add(read_file(tmp_path / "AIS_2024_09.csv"), EDITOR),
               "images": ws.add(read_file(imagery_files.geotiff(tmp_path / "yard_2024-06-17.tif", imagery_files.RED,
                                                                "2024-06-17")), EDITOR)}
    return ws, batches


@pytest.mark.parametrize("kind", ["events", "tracks", "images"])
def test_a_removed_batch_is_hidden_from_every_reader_and_restored_exactly(filled, kind):
    ws, batches = filled
    batch = batches[kind]
    before = everything(ws)
    image_ids = ws.images()["image_id"].tolist()
    assert positions.batch_ids(ws.positions_root) == [batches["tracks"]]
    until = ws.remove(batch, EDITOR)
    other = Workspace()  # another session, another server
    after = everything(other)
    assert after["version"] != before["version"] and after["counts"]["batches"] == 2
    if kind == "events":
        assert after["counts"]["features"] == 0 and after["features"] != before["features"]
    if kind == "tracks":
        assert after["counts"]["track_points"] == 0 and other.tracks().empty
        assert positions.batch_ids(ws.positions_root) == [] and positions.read_window(root=ws.positions_root).empty
    if kind == "images":
        assert other.images().empty and after["counts"]["images"] == 0
        with pytest.raises(KeyError):
            other.image_bytes(image_ids[0])
    gone = other.batches(removed=True).set_index("id").loc[batch]
    assert gone["removed_by"] == "edith" and workspace.restorable(gone)
    assert pd.Timestamp(until) - pd.Timestamp(gone["removed_at"]) == pd.Timedelta(hours=workspace.UNDO_HOURS)

    other.restore(batch, EDITOR)
    assert everything(ws) == before  # rows, positions folder and pixels exactly as they were
    log = ws.audit()
    assert log[["user_name", "action", "batch_id", "outcome"]].values.tolist()[-2:] == [
        ["edith", "remove", batch, "done"], ["edith", "restore", batch, "done"]]
    assert log["detail"].iloc[-2] == f"restorable until {until}"
    assert ws.batches().set_index("id").loc[batch, "removed_at"] is None


def test_restore_refuses_a_live_batch_an_unknown_one_and_a_viewer(filled):
    ws, batches = filled
    with pytest.raises(KeyError, match="is not removed: nothing to restore"):
        ws.restore(batches["events"], EDITOR)
    with pytest.raises(KeyError, match="no batch 99 in the workspace"):
        ws.restore(99, EDITOR)
    ws.remove(batches["events"], EDITOR)
    with pytest.raises(NotAllowed, match="vera may view but not restore batch"):
        ws.restore(batches["events"], VIEWER)
    assert ws.audit()[["user_name", "action", "outcome"]].values.tolist()[-1] == ["vera", "restore", "refused"]
    assert ws.counts()["features"] == 0


def sql(ws, statement, args=()):
    """Run one statement on the store itself (to move time on, or count what is left)."""
    if ws.store == "postgis":
        import psycopg
        with psycopg.connect(ws.url) as con:
            return con.execute(statement.replace("?", "%s"), args).fetchall() if "SELECT" in statement else \
                con.execute(statement.replace("?", "%s"), args)
    import sqlite3
    with sqlite3.connect(ws.path) as con:
        return con.execute(statement, args).fetchall()


def test_after_the_undo_window_the_next_write_purges_the_data_and_restore_says_so(filled, tmp_path):
    ws, batches = filled
    batch = batches["tracks"]
    ws.remove(batch, EDITOR)
    held = tmp_path / "positions" / f".removed-{batch:06d}"
    assert held.is_dir() and sql(ws, "SELECT count(*) FROM track_points")[0][0] > 0
    earlier = (pd.Timestamp.now(tz="UTC") - pd.Timedelta(hours=workspace.UNDO_HOURS, minutes=1)).isoformat()
    sql(ws, "UPDATE batches SET removed_at = ? WHERE id = ?", (earlier, batch))  # a day and a minute on
    assert not workspace.restorable(ws.batches(removed=True).set_index("id").loc[batch])
    with pytest.raises(KeyError, match=rf"more than {workspace.UNDO_HOURS} h ago, and its data is deleted: "
                                       "import the file again"):
        ws.restore(batch, EDITOR)
    assert not held.exists()  # the restore attempt was a write: it purged
    row = ws.batches(removed=True).set_index("id").loc[batch]
    assert row["purged_at"] and row["removed_by"] == "edith"
    assert ws.audit()[["user_name", "action", "batch_id"]].values.tolist()[-1] == ["workspace", "purge", batch]
    assert sql(ws, "SELECT count(*) FROM track_points")[0][0] == 0
    assert sql(ws, "SELECT count(*) FROM features")[0][0] > 0  # the live batches keep theirs


def test_the_command_line_says_how_to_restore_and_restores(filled):
    ws, batches = filled
    batch = batches["events"]
    removed = cli("workspace", "remove", batch)
    assert removed.returncode == 0, removed.stderr
    assert f"with: python -m geo workspace restore {batch}" in removed.stdout
    listing = cli("workspace", "list")
    assert "restorable until" in listing.stdout.split("removed:")[1]
    restored = cli("workspace", "restore", batch)
    assert restored.returncode == 0 and restored.stdout.strip() == f"restored batch {batch}"
    assert ws.counts()["features"] == len(ws.features()) > 0
    again = cli("workspace", "restore", batch)
    assert again.returncode == 2 and again.stderr.strip() == f"error: batch {batch} is not removed: nothing to restore"
    mine = [re.search(r" (remove|restore) +done +batch (\d+)", line)
            for line in cli("workspace", "log").stdout.splitlines()]
    assert [m.groups() for m in mine if m] == [("remove", str(batch)), ("restore", str(batch))]


# --- the page: ✕ asks, Remove takes the batch off the map, Undo brings it back --------------------------

def test_the_page_asks_before_removing_and_undo_brings_the_features_back(tmp_path, monkeypatch):
    import json
    from streamlit.testing.v1 import AppTest
    from conftest import shown
    from geo.render import layers
    monkeypatch.setenv("GEO_WORKSPACE", str(tmp_path / "ws.sqlite"))
    lines = ["track_id,name,timestamp,lon,lat"] + [
        f"{t},{name},2024-03-{day:02d}T00:00:00Z,{130.3 + day * 0.02:.2f},{42.2 + (t == 'ANGARA') * 0.1:.2f}"
        for t, name in (("ANGARA", "Angara"), ("LADYR", "Lady R")) for day in range(1, 26)]
    (tmp_path / "kinds.csv").write_text("\n".join(lines) + "\n")
    batch = Workspace().add(read_file(tmp_path / "kinds.csv", kind="tracks"))

    def tracks_drawn(at) -> set:
        """The ids of the tracks the map draws."""
        deck = json.loads(at.get("deck_gl_json_chart")[0].proto.json)
        return {row["feature_id"] for l in deck["layers"] if layers.layer_name(l["id"]) == "tracks" for row in l["data"]}

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.query_params["date"] = "2024-03"
    at.run()
    assert not at.exception and "ANGARA" in tracks_drawn(at) and "LADYR" in tracks_drawn(at)
    at.button(key=f"remove_{batch}").click().run()
    question = [shown(w.value) for w in at.warning if "Remove batch" in shown(w.value)]
    assert question == [f"Remove batch {batch}: 50 position(s) in 2 track(s) from kinds.csv? "
                        f"You can undo it for {workspace.UNDO_HOURS} hours."]
    assert "ANGARA" in tracks_drawn(at)  # nothing gone yet
    at.button(key="remove_cancel").click().run()
    assert not any("Remove batch" in shown(w.value) for w in at.warning) and "ANGARA" in tracks_drawn(at)
    assert Workspace().batches()["id"].tolist() == [batch]

    at.button(key=f"remove_{batch}").click().run()
    at.button(key="remove_confirm").click().run()
    assert not at.exception
    assert "ANGARA" not in tracks_drawn(at) and "LADYR" not in tracks_drawn(at)
    assert any(shown(s.value).startswith(f"Removed batch {batch}: 50 position(s) in 2 track(s) from kinds.csv. "
                                         "Undo restores it as it was, until ") for s in at.success)
    other = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)  # another session meanwhile
    other.query_params["date"] = "2024-03"
    other.run()
    assert "ANGARA" not in tracks_drawn(other)

    at.button(key=f"undo_{batch}").click().run()
    assert not at.exception and "ANGARA" in tracks_drawn(at) and "LADYR" in tracks_drawn(at)
    assert any(shown(s.value) == f"Restored batch {batch}." for s in at.success)
    assert not [b for b in at.button if b.key == f"undo_{batch}"]
    assert Workspace().audit()["action"].tolist() == ["import", "remove", "restore"]
    other.run()
    assert "LADYR" in tracks_drawn(other)
