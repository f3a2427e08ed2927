"""The same detections on a Dask cluster (dask.distributed), for positions beyond one machine.

How the work is split, so that every rule sees what it needs and nothing is found twice:

1. **By vessel.** The vessels are split into hash buckets (the same DuckDB `hash()` of the vessel
   key as `detect_store`); one task per bucket reads that bucket's positions of the window from
   the Parquet files (DuckDB on the worker, only the month folders of the window) and finds its
   port calls, gaps and loitering, which need one vessel's positions only. It also returns the
   vessel's names and its encounter steps (the 10-minute samples where it is slow and away
   from ports), which are few.
2. **By time.** Encounters need pairs across vessels. Every step is a moment, and a pair is
   tested at one moment only, so the steps are split into time slices (one task each) with no
   overlap needed: a pair found in a slice is found in no other, and the tasks' pairs are
   simply put together. (The cells inside a slice, which limit the candidate pairs, are a
   search aid: a pair is kept only if it is within the distance, whatever the cells.)
3. **On the client**, the pairs are joined into runs (the 2-hour rule) and everything is sorted
   by `detections.finish`, the same code as the embedded engine, so the two give identical
   results on the same data.

The cluster: `GEO_DASK_SCHEDULER=tcp://host:8786` (or `client=`) uses a running scheduler; its
workers need this project importable (the same requirements) and the positions folder at the
same path (a shared file system; set `GEO_POSITIONS_DIR` on both sides). Without it, a
`LocalCluster` of `GEO_DASK_WORKERS` (default 2) worker processes is started for the call and
closed after it.
"""
from __future__ import annotations

import logging
import os
from contextlib import contextmanager

import pandas as pd
import pyarrow.parquet as pq

from geo.ships import detections
from geo.ships import positions as store

ROWS_PER_TASK = 1_000_000


@contextmanager
def cluster(client=None, workers: int | None = None):
    """A dask.distributed Client: the one given, the scheduler at $GEO_DASK_SCHEDULER, or a
    LocalCluster of worker processes that lives as long as the block."""
    if client is not None:
        yield client
        return
    from distributed import Client, LocalCluster
    address = os.environ.get("GEO_DASK_SCHEDULER")
    if address:
        with Client(address) as remote:
            yield remote
        return
    workers = workers or int(os.environ.get("GEO_DASK_WORKERS", "2"))
    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None,
                      memory_limit=os.environ.get("GEO_DASK_WORKER_MEMORY", "2GiB"),
                      silence_logs=logging.ERROR) as local, Client(local) as own:
        yield own


def bucket_task(files, since, until, where, params, ports):
    """One bucket of vessels: (events, names, steps)."""
    ctx = detections.Context.make(ports, params)
    con = store.connect(threads=1)
    try:
        part = read_files(con, files, since, until, where)
    finally:
        con.close()
    frame = detections.prepare(part)
    del part
    if frame.empty:
        return detections.rows("gap", key=[]), pd.DataFrame(), pd.DataFrame()
    ticks = detections.vessel_ticks(frame, ctx, params) if "encounter" in params.kinds else pd.DataFrame()
    return detections.vessel_events(frame, ctx, params), detections.vessel_names(frame), ticks


def read_files(con, files, since, until, where):
    sql = (f"SELECT {', '.join(detections.NEEDED)} FROM {store.source(files)}"
           f"{store.where_clause(since, until, None, where)} ORDER BY mmsi, t")
    frame = con.execute(sql).df()
    frame["t"] = frame["t"].astype("datetime64[ms]")
    return frame


def slice_pairs(tick_parts, lo, hi, params):
    """Pairs among every vessel's steps with lo <= tick < hi."""
    parts = [p[(p["tick"] >= lo) & (p["tick"] < hi)] for p in tick_parts if len(p)]
    parts = [p for p in parts if len(p)]
    if not parts:
        return pd.DataFrame()
    return detections.tick_pairs(pd.concat(parts, ignore_index=True), params)


def rows_in(files) -> int:
    return sum(pq.ParquetFile(f).metadata.num_rows for f in files)


def detect_dask(workspace_or_dir=None, since=None, until=None, params: detections.Params | None = None, ports=None,
                *, client=None, workers: int | None = None, rows_per_task: int = ROWS_PER_TASK) -> pd.DataFrame:
    """detections.detect_store's answer, computed on a Dask cluster (see the module's docstring)."""
    params = params or detections.Params()
    root = detections.root_of(workspace_or_dir)
    files = store.files_for(root, since, until)
    if not files:
        return detections.empty()
    ports = detections.port_polygons.load() if ports is None else ports
    with cluster(client, workers) as dask_client:
        n_workers = max(1, len(dask_client.scheduler_info().get("workers", {})) or 1)
        buckets = max(2 * n_workers, -(-rows_in(files) // max(1, rows_per_task)))
        wheres = detections.key_buckets(root, since, until, buckets, None)
        futures = [dask_client.submit(bucket_task, files, since, until, where, params, ports, pure=False)
                   for where in wheres]
        # the steps stay on the workers; each time slice gathers its own
        ticks = [dask_client.submit(steps_of, f, pure=False) for f in futures]
        pair_futures = []
        if "encounter" in params.kinds:
            bounds = dask_client.gather([dask_client.submit(tick_bounds, t, pure=False) for t in ticks])
            lows = [b[0] for b in bounds if b is not None]
            highs = [b[1] for b in bounds if b is not None]
            if lows:
                lo, hi = min(lows), max(highs) + 1
                slices = max(1, 2 * n_workers)
                width = -(-(hi - lo) // slices)
                for k in range(slices):
                    pair_futures.append(dask_client.submit(slice_pairs, ticks, lo + k * width,
                                                           lo + (k + 1) * width, params, pure=False))
        results = dask_client.gather(futures)
        pairs = [p for p in dask_client.gather(pair_futures) if len(p)]
    found = [r[0] for r in results if len(r[0])]
    names = [r[1] for r in results if len(r[1])]
    if not names:
        return detections.empty()
    if pairs:
        found.append(detections.encounters_from_pairs(pd.concat(pairs, ignore_index=True), params))
    found = [f for f in found if len(f)]
    if not found:
        return detections.empty()
    return detections.finish(pd.concat(found, ignore_index=True), pd.concat(names).sort_index())


def steps_of(result):
    return result[2]


def tick_bounds(ticks: pd.DataFrame):
    if ticks is None or not len(ticks):
        return None
    return int(ticks["tick"].min()), int(ticks["tick"].max())
