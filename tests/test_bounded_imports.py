"""Bounded imports: every file is read in a worker process (geo.imports.sandbox) that is killed past its
wall time, memory or row limit, with one line naming the limit; a GeoPackage whose layer is a
view (SQL that runs when read: here one that recurses forever) is refused before GDAL runs it.
The command line and the page's preview both read through it."""
import json
import os
import sqlite3
import struct
import subprocess
import sys
import time

import pytest

import sample_files as sf
from conftest import ROOT
from geo.imports import sandbox
from bench.load import hostile_gpkg
from geo.imports.filecheck import ImportProblem
from geo.store.workspace import Workspace

def cli(*args, env=None, timeout=90):
    return subprocess.run([sys.executable, "-m", "geo", *map(str, args)], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, **(env or {})})


@pytest.fixture(autouse=True)
def no_spare_worker():
    """An app run earlier in this process (AppTest) keeps a worker started ahead (sandbox.warm):
    these tests count the workers reading their own files, so none is kept meanwhile."""
    sandbox.cool()
    yield
    sandbox.cool()


def workers_running() -> list[int]:
    """This process's children that are import workers and still run (not zombies)."""
    from pathlib import Path
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            state, parent = stat.read_text().rsplit(")", 1)[1].split()[:2]
            command = (stat.parent / "cmdline").read_bytes()
        except OSError:
            continue
        if int(parent) == os.getpid() and state != "Z" and b"geo.imports.sandbox" in command:
            found.append(int(stat.parent.name))
    return found


def track_rows(n: int) -> bytes:
    return ("name,lon,lat,note\n" + "\n".join(f"p{i},{100 + i % 50 / 100},{47 + i % 40 / 100},{'x' * 60}"
                                               for i in range(n)) + "\n").encode()


def test_a_geopackage_whose_layer_is_a_recursive_view_is_refused_in_seconds(tmp_path):
    path = hostile_gpkg(tmp_path / "hostile.gpkg")
    assert 80_000 < path.stat().st_size < 110_000
    began = time.monotonic()
    for command in ("inspect", "import"):
        done = cli(command, path, timeout=60)  # before: GDAL ran the view, for ever
        assert done.returncode == 2 and done.stderr.count("\n") == 1, done.stderr
        assert done.stderr.startswith("error: hostile.gpkg: refused: layer 'hostile' is a view"), done.stderr
    assert time.monotonic() - began < 40
    assert Workspace().counts()["batches"] == 0


@pytest.mark.parametrize("variable, value, limit", [
    ("GEO_IMPORT_SECONDS", "0.5", "reading took longer than 0.5 s (limit GEO_IMPORT_SECONDS)"),
    ("GEO_IMPORT_MEMORY_MB", "350", "more than 350 MB of memory (limit GEO_IMPORT_MEMORY_MB)"),
    ("GEO_IMPORT_ROWS", "1000", "limit 1,000"),
])
def test_a_file_past_a_limit_is_refused_naming_the_limit_and_its_worker_is_gone(monkeypatch, variable, value, limit):
    monkeypatch.setenv(variable, value)
    raw = track_rows(400_000)  # 33 MB of positions: seconds, and hundreds of MB, to read
    with pytest.raises(ImportProblem) as caught:
        sandbox.read_file(raw, "positions.csv")
    assert str(caught.value).startswith("positions.csv: ") and limit in str(caught.value), caught.value
    assert not workers_running()


def test_the_reading_is_done_by_the_worker_not_by_the_server(monkeypatch):
    """The server's own processor time stays small while a worker does the reading, so its other
    sessions keep their share (measured as CPU time: the shared machine's load cannot skew it)."""
    import resource
    monkeypatch.setenv("GEO_IMPORT_SECONDS", "120")
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    own = time.process_time()
    result = sandbox.read_file(track_rows(300_000), "positions.csv")
    own = time.process_time() - own
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    worker = (after.ru_utime + after.ru_stime) - (children.ru_utime + children.ru_stime)
    assert len(result.frame) == 300_000
    assert worker > 2 * own, f"the worker used {worker:.2f} s of CPU, this process {own:.2f} s"


def test_names_with_nul_newline_or_rtl_override_are_escaped_before_they_are_shown_or_stored(tmp_path):
    doc = json.dumps({"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {"name": "a"},
                      "geometry": {"type": "Point", "coordinates": [130.6, 42.3]}}]}).encode()
    name = "depot\x00\n2026-01-01 edith import done\u202egpj.geojson"
    result = sandbox.read_parts([(name, doc)])
    assert result.filename == "depot\\x00\\n2026-01-01 edith import done\\u202egpj.geojson"
    ws = Workspace(tmp_path / "ws.sqlite")
    ws.add(result)
    stored = ws.batches()["filename"].iloc[0]
    assert "\n" not in stored and "\x00" not in stored and "\u202e" not in stored
    with pytest.raises(ImportProblem) as caught:
        sandbox.read_parts([("bad\x00name\u202e.csv", b"a,b\n1,2\n")])
    assert "\x00" not in str(caught.value) and "\u202e" not in str(caught.value) and "bad\\x00name" in str(caught.value)


def mounted_tmpfs(path, kilobytes):
    path.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={kilobytes}k", "tmpfs", str(path)],
                          capture_output=True, text=True)
    if done.returncode:
        pytest.skip(f"cannot mount a small file system here to fill: {done.stderr.strip()[:120]}")
    return path


def test_a_full_temporary_folder_is_named_as_such(tmp_path):
    tiny = mounted_tmpfs(tmp_path / "tiny", 64)
    try:
        path = sf.big_polygon_geojson(tmp_path / "area.geojson", 20_000)  # ~400 KB, written to TMPDIR to read
        done = cli("inspect", path, env={"TMPDIR": str(tiny)})
    finally:
        subprocess.run(["umount", str(tiny)])
    assert done.returncode == 2 and done.stderr.count("\n") == 1, done.stderr
    assert f"the temporary folder {tiny} is full" in done.stderr and "Error" not in done.stderr, done.stderr


def test_a_full_disk_under_sqlite_says_so_and_leaves_the_store_as_it_was(tmp_path, monkeypatch):
    tiny = mounted_tmpfs(tmp_path / "disk", 200)
    try:
        monkeypatch.setenv("GEO_WORKSPACE", str(tiny / "workspace.sqlite"))
        first = cli("import", sf.acled_csv(tmp_path / "acled.csv"))
        assert first.returncode == 0, first.stderr
        big = tmp_path / "many.geojson"
        big.write_text(json.dumps({"type": "FeatureCollection", "features": [
            {"type": "Feature", "properties": {"name": f"p{i}", "note": "x" * 200},
             "geometry": {"type": "Point", "coordinates": [100 + i / 1e4, 47]}} for i in range(3000)]}))
        done = cli("import", big)
        listed = cli("workspace", "list")
    finally:
        subprocess.run(["umount", str(tiny)])
    assert done.returncode == 2 and done.stderr.count("\n") == 1, done.stderr
    assert "the disk holding the workspace" in done.stderr and "is full: nothing was imported" in done.stderr, \
        done.stderr
    assert "cannot rollback" not in done.stderr
    assert listed.returncode == 0 and "1 batch(es)" in listed.stdout, listed.stdout + listed.stderr
