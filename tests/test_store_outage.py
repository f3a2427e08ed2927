"""A store that degrades: PostGIS stopped in the middle of a session leaves the bundled map with
a notice instead of a traceback, and the page recovers by itself once the server is back; a
store that was down when the page first opened it is tried again on the next rerun."""
import json
import os

import pytest
from streamlit.testing.v1 import AppTest

import sample_files as sf
from conftest import ROOT, shown
from geo.render import layers
from geo.imports.importer import read_file
from geo.store.workspace import Workspace

APP = str(ROOT / "app.py")


@pytest.fixture
def own_server():
    """A PostgreSQL cluster of this test's own: it is stopped and started again, which the
    session's shared server must not be."""
    try:
        import pg_server
        server = pg_server.Server()
    except Exception as err:
        if os.environ.get("CI"):
            pytest.fail(f"CI=true but no PostgreSQL/PostGIS server could be started: {err}")
        pytest.skip(f"no PostgreSQL/PostGIS here: {err}")
    yield server
    server.stop()


def layer_ids(at) -> set:
    return {layers.layer_name(l["id"]) for l in json.loads(at.get("deck_gl_json_chart")[0].proto.json)["layers"]}


def warnings(at) -> str:
    return "\n".join(shown(w.value) for w in at.warning)


def run(at):
    at.run()
    assert not at.exception, at.exception
    assert at.get("deck_gl_json_chart"), "the map is missing"
    return at


def test_the_bundled_map_stays_while_postgis_is_down_and_comes_back_with_it(own_server, tmp_path, monkeypatch):
    url, late = own_server.new_database(), own_server.new_database()
    Workspace(url).add(read_file(sf.acled_csv(tmp_path / "acled.csv")))
    monkeypatch.setenv("GEO_WORKSPACE", url)
    at = AppTest.from_file(APP, default_timeout=90)
    at.query_params["date"] = "2024-06"
    run(at)
    assert "imported" in layer_ids(at) and "unavailable" not in warnings(at)

    own_server.pause()  # mid-session: every pooled connection is dropped
    run(at)
    assert "Your imported data is unavailable" in warnings(at) and "imported" not in layer_ids(at)
    assert {"routes", "basemap"} <= layer_ids(at)  # the bundled map goes on
    # A page opened while the store is down (a store it never opened before) gets the notice too...
    monkeypatch.setenv("GEO_WORKSPACE", late)
    fresh = AppTest.from_file(APP, default_timeout=90)
    run(fresh)
    assert "Your imported data is unavailable" in warnings(fresh)

    own_server.resume()
    # ...and neither page remembers the failure: their next rerun finds the store again.
    run(fresh)
    assert "unavailable" not in warnings(fresh)
    monkeypatch.setenv("GEO_WORKSPACE", url)
    run(at)
    assert "unavailable" not in warnings(at) and "imported" in layer_ids(at)
    assert "#1 acled.csv" in "\n".join(shown(c.value) for c in at.sidebar.caption)


def test_sqlite_readers_never_wait_for_a_long_write_and_a_writer_queues_saying_so(tmp_path, monkeypatch):
    import sqlite3
    import subprocess
    import sys
    import threading
    import time
    path = tmp_path / "workspace.sqlite"
    monkeypatch.setenv("GEO_WORKSPACE", str(path))
    Workspace(path).add(read_file(sf.acled_csv(tmp_path / "acled.csv")))
    # Another program in the middle of a long import: it holds the write lock.
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")
    holder.execute("INSERT INTO audit(at, user_name, action, outcome) VALUES ('now', 'importer', 'import', 'running')")

    def cli(*args):
        return subprocess.run([sys.executable, "-m", "geo", *args], cwd=ROOT, capture_output=True, text=True,
                              timeout=120)
    began = time.monotonic()
    listed = cli("workspace", "list")
    assert listed.returncode == 0 and "1 batch(es)" in listed.stdout, listed.stderr  # before: locked after 30 s
    assert time.monotonic() - began < 20
    release = threading.Timer(6, lambda: holder.execute("COMMIT"))
    release.start()
    try:
        removal = cli("workspace", "remove", "1")
    finally:
        release.join()
        holder.close()
    assert removal.returncode == 0 and "removed batch 1" in removal.stdout, removal.stderr
    assert "waiting for another write to" in removal.stderr and "to finish" in removal.stderr
