"""A large AIS export through `python -m geo import`, as an analyst runs it: time and peak memory.

    python -m bench.ships_import FILE.csv [FILE.csv ...] [--limit N] [--dir DIR]

Each file (generate one with bench.shipsdata, e.g. `python -m bench.ships_import --generate 1e7
--dir DIR`) is imported into a fresh workspace in DIR (default: a temporary folder) by
`python -m geo import FILE --progress` in a child process, while this process samples the
resident memory of that child and all of its children every 0.1 s. `--limit` sets
GEO_IMPORT_ROWS for the child, so a file above it is streamed into the positions store
(geo.ships.bigfiles) even when it is smaller than the importer's default limit. Prints one JSON
line per file: rows, seconds, peak RSS of the tree, size of the positions store.

    python -m bench.ships_import --steps WORKSPACE [--view sea] [--months 2024-01,...]

times date steps with the tracks layer on over a workspace that holds a streamed batch, as the
page builds them on the server: the deck of the bundled layers (geo.render.layers.build_deck)
plus the streamed batches' track layers read from the positions store for the month's window
(geo.page.resources.window_track_layers), serialised to the JSON Streamlit sends. Each step is a
new month (nothing cached from the one before); the first warms up and is not counted. Prints a
JSON line per step and a summary: server seconds (median), deck bytes and the tracks' share.

    python -m bench.ships_import --clicks WORKSPACE [--vessels 9] [--months ...]

times what a click on a streamed vessel's track adds on the server: its panel's read of the
positions store (geo.page.ships.streamed_vessel: counts from the display level, exact times from
the full positions of the months they fall in), for that many vessels of the store, each at one
of the months in turn, with a fresh DuckDB cursor. The first read warms up and is not counted.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def sampled(cmd, env) -> tuple[subprocess.CompletedProcess, float, int]:
    """Run cmd; (completed, seconds, peak RSS in bytes of it and its children)."""
    import psutil
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak, done = [0], threading.Event()

    def sample():
        try:
            parent = psutil.Process(proc.pid)
        except psutil.NoSuchProcess:
            return
        while not done.is_set():
            total = 0
            try:
                for p in [parent] + parent.children(recursive=True):
                    try:
                        total += p.memory_info().rss
                    except psutil.NoSuchProcess:
                        pass
            except psutil.NoSuchProcess:
                return
            peak[0] = max(peak[0], total)
            done.wait(0.1)

    watcher = threading.Thread(target=sample, daemon=True)
    watcher.start()
    out, err = proc.communicate()
    seconds = time.perf_counter() - started
    done.set()
    watcher.join()
    return subprocess.CompletedProcess(cmd, proc.returncode, out, err), seconds, peak[0]


def import_one(path: Path, base: Path, limit: int | None) -> dict:
    ws = base / f"ws-{path.stem}.sqlite"
    for old in base.glob(f"ws-{path.stem}.sqlite*"):
        if old.is_dir():
            import shutil
            shutil.rmtree(old)
        else:
            old.unlink()
    env = {**os.environ, "GEO_WORKSPACE": str(ws)}
    env.pop("GEO_POSITIONS_DIR", None)
    if limit:
        env["GEO_IMPORT_ROWS"] = str(limit)
    done, seconds, peak = sampled([sys.executable, "-m", "geo", "import", str(path), "--progress"], env)
    if done.returncode != 0:
        raise SystemExit(f"import of {path} failed: {done.stderr.strip().splitlines()[-1]}")
    store = Path(str(ws) + ".positions")
    return {"file": path.name, "csv_mb": round(path.stat().st_size / 1e6), "said": done.stdout.strip(),
            "seconds": round(seconds, 1), "peak_tree_rss_mb": round(peak / 2**20),
            "parquet_mb": round(sum(p.stat().st_size for p in store.rglob("*.parquet")) / 1e6),
            "progress_lines": sum(1 for line in done.stderr.splitlines() if line.startswith("progress:"))}


def steps(target: str, view: str, months: list[str]) -> dict:
    import statistics
    from types import SimpleNamespace
    from geo import style
    from geo.data import dataset
    from geo.model import timeline
    from geo.model.evidence import Filters
    from geo.page import resources
    from geo.render import layers
    from geo.store import workspace
    from geo.view import records
    data = dataset.load()
    preset = style.VIEWS[view]
    basemap = layers.basemap_features(data.countries, data.countries_detail if preset.detailed else None,
                                      style.ANALYST)
    static = layers.static_layers(data, view, False, basemap)
    ranked = records.prepare(data, Filters())
    snapshot = workspace.Workspace(target).snapshot()
    empty = len(layers.CompactDeck(layers=[], map_provider=None).to_json())
    out = []
    for i, month in enumerate(months):
        state = records.MapState(date=timeline.month_end(month + "-01"), view=view)
        started = time.perf_counter()
        deck = layers.build_deck(data, state, basemap, static, ranked)
        t1 = time.perf_counter()
        extra = resources.window_track_layers(target, snapshot, SimpleNamespace(
            date=state.date, view=view, layers=("tracks",)))
        t2 = time.perf_counter()
        deck.layers.extend(extra)
        text = deck.to_json()
        done = time.perf_counter()
        step = {"month": month, "server_s": round(done - started, 3), "tracks_s": round(t2 - t1, 3),
                "deck_bytes": len(text.encode()),
                "track_bytes": len(layers.CompactDeck(layers=extra, map_provider=None).to_json()) - empty,
                "layers": [f"{layer.id}:{len(layer.data)}" for layer in extra]}
        print(json.dumps(step), flush=True)
        if i:
            out.append(step)
    return {"view": view, "steps": len(out), "server_s": statistics.median(s["server_s"] for s in out),
            "server_s_each": [s["server_s"] for s in out],
            "tracks_s": statistics.median(s["tracks_s"] for s in out),
            "deck_bytes": int(statistics.median(s["deck_bytes"] for s in out)),
            "deck_bytes_max": max(s["deck_bytes"] for s in out),
            "track_bytes": int(statistics.median(s["track_bytes"] for s in out))}


def clicks(target: str, vessels: int, months: list[str]) -> dict:
    import statistics
    from geo.model import timeline
    from geo.page import ships as ship_page
    from geo.ships import detections, positions
    from geo.store import workspace
    snapshot = workspace.Workspace(target).snapshot()
    root = detections.root_of(target)
    con = positions.connect()
    try:
        files = positions.files_for(root, display=True)
        mmsis = [r[0] for r in con.execute(f"SELECT DISTINCT mmsi FROM {positions.source(files)} "
                                           f"ORDER BY mmsi LIMIT {int(vessels) + 1}").fetchall()]
    finally:
        con.close()
    out = []
    for i, mmsi in enumerate(mmsis):
        when = timeline.month_end(months[i % len(months)] + "-01")
        started = time.perf_counter()
        found = ship_page.streamed_vessel(target, snapshot, {"kind": "track", "feature_id": mmsi}, when)
        took = time.perf_counter() - started
        step = {"mmsi": mmsi, "month": f"{when:%Y-%m}", "seconds": round(took, 3),
                "positions": found and found["positions"], "by_date": found and found["positions_by_date"]}
        print(json.dumps(step), flush=True)
        if i:
            out.append(step)
    return {"clicks": len(out), "seconds": round(statistics.median(s["seconds"] for s in out), 3),
            "seconds_each": [s["seconds"] for s in out]}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.ships_import", description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="*")
    parser.add_argument("--limit", type=int, help="GEO_IMPORT_ROWS for the import (default: the importer's own)")
    parser.add_argument("--dir", help="where the workspaces (and generated files) go")
    parser.add_argument("--generate", help="first write a file of this many positions (bench.shipsdata), e.g. 1e7")
    parser.add_argument("--steps", metavar="WORKSPACE", help="time date steps over this workspace instead")
    parser.add_argument("--clicks", metavar="WORKSPACE", help="time the panel's read of a streamed vessel instead")
    parser.add_argument("--vessels", type=int, default=9)
    parser.add_argument("--view", default="sea")
    parser.add_argument("--months", default="2024-01,2024-02,2024-03,2024-04,2024-05,2024-06,2024-07,2024-08,"
                                            "2024-09,2024-10")
    args = parser.parse_args(argv)
    if args.clicks:
        print(json.dumps(clicks(args.clicks, args.vessels, args.months.split(","))), flush=True)
        return 0
    if args.steps:
        print(json.dumps(steps(args.steps, args.view, args.months.split(","))), flush=True)
        return 0
    base = Path(args.dir) if args.dir else Path(tempfile.mkdtemp(prefix="ships-import-"))
    base.mkdir(parents=True, exist_ok=True)
    files = [Path(f) for f in args.files]
    if args.generate:
        from bench import shipsdata
        n = int(float(args.generate))
        path = base / f"ais_{n}.csv"
        shipsdata.write_ais_csv(path, shipsdata.generate_chunks(n, seed=1))
        files.append(path)
    for path in files:
        print(json.dumps(import_one(path, base, args.limit)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
