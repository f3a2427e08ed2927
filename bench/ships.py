"""The ships engine at scale: import, detections on both engines, a window read, growth with size.

    python -m bench.ships --sizes 1e6,1e7[,1e8] [--dir DIR] [--keep] [--engines duckdb,dask]
                          [--format csv|parquet]

For each size N, generated positions (bench.shipsdata: N positions of made-up ships over a year,
written as a public AIS export, CSV by default or Parquet with --format parquet; the same
positions either way) go through, each step in a fresh process so its memory is
its own, while this process samples the resident memory of that process and all its children
(Dask's workers included) every 0.1 s:

- import:  geo.ships.ais.import_file, the file streamed in chunks into a batch of the positions
           store (Parquet by month), as the workspace does for a vessel track file;
- detect:  geo.ships.detections.detect_store (DuckDB, in the process) and
           geo.ships.distributed.detect_dask (a LocalCluster of 2 worker processes, started and
           stopped inside the timed step; its start-up is reported apart);
- window:  what a date step with the tracks layer on asks of the store: one day's positions
           (read_window), one month's (read_window), and one month counted per 0.1° cell for a
           zoomed-out map (grid); seconds in the process, rows and bytes (Arrow for positions,
           JSON as a page would send it for the grid).

Prints one JSON line per step and a Markdown table at the end (also written to
artifacts/ships-bench.md).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DAY = ("2024-06-15", "2024-06-16")
MONTH = ("2024-06-01", "2024-07-01")


# --- steps, each run in a child process -------------------------------------------------------------------

def step_generate(path: str, n: int) -> dict:
    from bench import shipsdata
    start = time.perf_counter()
    if str(path).endswith(".parquet"):
        rows = shipsdata.write_ais_parquet(path, shipsdata.generate_arrays(n, seed=1))
    else:
        rows = shipsdata.write_ais_csv(path, shipsdata.generate_chunks(n, seed=1))
    return {"rows": rows, "seconds": round(time.perf_counter() - start, 2),
            "file_mb": round(os.path.getsize(path) / 2**20, 1)}


def step_import(path: str, root: str) -> dict:
    from geo.ships import ais
    start = time.perf_counter()
    out = ais.import_file(path, root, 1)
    seconds = time.perf_counter() - start
    size = sum(p.stat().st_size for p in Path(root).rglob("*.parquet"))
    return {"rows": out["rows"], "months": len(out["months"]), "seconds": round(seconds, 2),
            "parquet_mb": round(size / 2**20, 1), "problems": len(out["problems"])}


def step_detect(root: str, engine: str) -> dict:
    from geo.ships import detections
    start = time.perf_counter()
    if engine == "dask":
        from geo.ships import distributed
        with distributed.cluster(workers=2) as client:
            up = time.perf_counter() - start
            found = distributed.detect_dask(root, client=client)
    else:
        up = 0.0
        found = detections.detect_store(root)
    seconds = time.perf_counter() - start
    return {"engine": engine, "seconds": round(seconds, 2), "cluster_start_s": round(up, 2),
            "detections": len(found), "by_kind": found["kind"].value_counts().sort_index().to_dict(),
            "digest": digest(found)}


def digest(found) -> str:
    import hashlib
    return hashlib.sha256(found.to_csv(index=False).encode()).hexdigest()[:12]


def step_window(root: str) -> dict:
    import pyarrow as pa
    from geo.ships import positions
    out = {}
    con = positions.connect()
    try:
        positions.read_window(*DAY, root=root, con=con)  # warm: the first query loads DuckDB's Parquet reader
        for name, (since, until) in (("day", DAY), ("month", MONTH)):
            start = time.perf_counter()
            frame = positions.read_window(since, until, root=root, con=con)
            seconds = time.perf_counter() - start
            out[name] = {"seconds": round(seconds, 3), "rows": len(frame),
                         "arrow_mb": round(pa.Table.from_pandas(frame).nbytes / 2**20, 2)}
        start = time.perf_counter()
        cells = positions.grid(*MONTH, None, 0.1, root=root, con=con)
        seconds = time.perf_counter() - start
        payload = json.dumps(cells[["lon", "lat", "positions", "vessels"]].round(3).to_dict("records"))
        out["grid"] = {"seconds": round(seconds, 3), "cells": len(cells), "json_mb": round(len(payload) / 2**20, 3)}
    finally:
        con.close()
    return out


STEPS = {"generate": step_generate, "import": step_import, "detect": step_detect, "window": step_window}


# --- the parent: fresh processes, memory of the tree ---------------------------------------------------------

def run_step(name: str, *args) -> dict:
    import psutil
    proc = subprocess.Popen([sys.executable, "-m", "bench.ships", "--step", name, *map(str, args)], cwd=ROOT,
                            stdout=subprocess.PIPE, text=True)
    peak = [0]
    done = threading.Event()

    def sample():
        try:
            parent = psutil.Process(proc.pid)
        except psutil.NoSuchProcess:
            return
        while not done.is_set():
            try:
                tree = [parent] + parent.children(recursive=True)
                total = 0
                for p in tree:
                    try:
                        total += p.memory_info().rss
                    except psutil.NoSuchProcess:
                        pass
                peak[0] = max(peak[0], total)
            except psutil.NoSuchProcess:
                return
            done.wait(0.1)

    watcher = threading.Thread(target=sample, daemon=True)
    watcher.start()
    started = time.perf_counter()
    output, _ = proc.communicate()
    wall = time.perf_counter() - started
    done.set()
    watcher.join()
    if proc.returncode != 0:
        raise SystemExit(f"step {name} failed with exit code {proc.returncode}")
    result = json.loads(output.strip().splitlines()[-1])
    result.update(step=name, wall_s=round(wall, 2), peak_tree_rss_mb=round(peak[0] / 2**20))
    print(json.dumps(result), flush=True)
    return result


def table(results: dict) -> str:
    lines = ["| positions | file | import (s) | import peak RSS | Parquet | detect DuckDB (s) | peak RSS | "
             "detect Dask, 2 workers (s) | peak RSS (tree) | same detections | detections | one day read | "
             "one month read | month grid 0.1° |",
             "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: | --- | --- | --- |"]
    for n, r in results.items():
        imp, duck, dask, win, gen = r["import"], r.get("duckdb"), r.get("dask"), r["window"], r["generate"]
        same = "yes" if duck and dask and duck["digest"] == dask["digest"] else ("–" if not (duck and dask) else "NO")
        lines.append(
            f"| {n:,} | {gen['file_mb']:,.0f} MB {gen['format']} | {imp['seconds']:.1f} | {imp['peak_tree_rss_mb']:,} MB | "
            f"{imp['parquet_mb']:,.0f} MB | "
            + (f"{duck['seconds']:.1f} | {duck['peak_tree_rss_mb']:,} MB | " if duck else "– | – | ")
            + (f"{dask['seconds']:.1f} (cluster up {dask['cluster_start_s']:.1f}) | {dask['peak_tree_rss_mb']:,} MB | "
               if dask else "– | – | ")
            + f"{same} | {(duck or dask)['detections']:,} | "
            f"{win['day']['seconds']:.2f} s, {win['day']['rows']:,} rows, {win['day']['arrow_mb']:.1f} MB | "
            f"{win['month']['seconds']:.2f} s, {win['month']['rows']:,} rows, {win['month']['arrow_mb']:.1f} MB | "
            f"{win['grid']['seconds']:.2f} s, {win['grid']['cells']:,} cells, {win['grid']['json_mb']:.2f} MB |")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.ships", description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1e6", help="comma-separated position counts, e.g. 1e6,1e7")
    parser.add_argument("--engines", default="duckdb,dask")
    parser.add_argument("--dir", help="where to write the generated files (default: a temporary folder)")
    parser.add_argument("--keep", action="store_true", help="keep the generated file and the Parquet store")
    parser.add_argument("--format", choices=("csv", "parquet"), default="csv",
                        help="the generated AIS export: CSV (default) or Parquet (faster to write and read)")
    parser.add_argument("--step", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.step:
        name, *rest = args.step
        print(json.dumps(STEPS[name](*[int(r) if r.isdigit() else r for r in rest])))
        return 0
    base = Path(args.dir) if args.dir else Path(tempfile.mkdtemp(prefix="ships-bench-"))
    base.mkdir(parents=True, exist_ok=True)
    results = {}
    for size in [int(float(s)) for s in args.sizes.split(",")]:
        path, root = base / f"ais_{size}.{args.format}", base / f"positions_{size}"
        shutil.rmtree(root, ignore_errors=True)
        r = results[size] = {}
        r["generate"] = run_step("generate", path, size)
        r["generate"]["format"] = args.format
        r["import"] = run_step("import", path, root)
        r["window"] = run_step("window", root)
        for engine in args.engines.split(","):
            r[engine] = run_step("detect", root, engine)
        if not args.keep:
            path.unlink(missing_ok=True)
            shutil.rmtree(root, ignore_errors=True)
    text = table(results)
    print(text)
    out = ROOT / "artifacts"
    out.mkdir(exist_ok=True)
    (out / "ships-bench.md").write_text(text + "\n\n" + "\n".join(json.dumps({str(k): v}) for k, v in results.items())
                                        + "\n", encoding="utf-8")
    if not args.keep and not args.dir:
        shutil.rmtree(base, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
