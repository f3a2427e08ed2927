"""Synthetic AIS positions: hand-built scenarios with known events (for tests) and a generator of
N positions for the scale benchmark (python -m bench.ships). Every vessel and position is made up;
MMSI numbers start at 100000000, which no real ship carries in this area's data."""
from __future__ import annotations

import numpy as np
import pandas as pd

KM_PER_DEG_LAT = 111.195
KNOT_KMH = 1.852


def km_per_deg_lon(lat: float) -> float:
    return KM_PER_DEG_LAT * np.cos(np.radians(lat))


def offset(lon: float, lat: float, east_km: float, north_km: float) -> tuple[float, float]:
    return lon + east_km / km_per_deg_lon(lat), lat + north_km / KM_PER_DEG_LAT


def leg(mmsi, name, start, points, knots, every_min=10.0, imo="") -> pd.DataFrame:
    """Positions along a polyline at a steady speed, one every `every_min` minutes, start included,
    the last point included."""
    t0 = pd.Timestamp(start)
    out = []
    elapsed_h = 0.0
    for (x0, y0), (x1, y1) in zip(points[:-1], points[1:]):
        dx = (x1 - x0) * km_per_deg_lon((y0 + y1) / 2)
        dy = (y1 - y0) * KM_PER_DEG_LAT
        km = float(np.hypot(dx, dy))
        hours = km / (knots * KNOT_KMH)
        n = max(1, int(np.floor(hours * 60 / every_min)))
        for k in range(n):
            f = k * every_min / 60 / hours if hours else 0
            out.append((t0 + pd.Timedelta(hours=elapsed_h + f * hours), x0 + f * (x1 - x0), y0 + f * (y1 - y0)))
        elapsed_h += hours
    out.append((t0 + pd.Timedelta(hours=elapsed_h), points[-1][0], points[-1][1]))
    frame = pd.DataFrame(out, columns=["t", "lon", "lat"])
    frame["t"] = frame["t"].dt.round("s")
    return frame.assign(mmsi=str(mmsi), imo=str(imo), name=name, sog=float(knots), cog=0.0)


def stay(mmsi, name, start, lon, lat, hours, every_min=10.0, sog=0.2, drift_m=0.0, imo="") -> pd.DataFrame:
    """Positions at one place (drifting `drift_m` metres east over the stay) for `hours`."""
    n = int(np.floor(hours * 60 / every_min)) + 1
    t = pd.Timestamp(start) + pd.to_timedelta(np.arange(n) * every_min, unit="min")
    east = np.linspace(0, drift_m / 1000.0, n)
    return pd.DataFrame({"t": t.round("s"), "lon": lon + east / km_per_deg_lon(lat), "lat": np.full(n, lat),
                         "mmsi": str(mmsi), "imo": str(imo), "name": name, "sog": float(sog), "cog": 0.0})


def end_of(frame: pd.DataFrame):
    return frame["t"].iloc[-1]


def track(*parts) -> pd.DataFrame:
    return pd.concat(parts, ignore_index=True)


def generate_arrays(n: int, seed: int = 1, vessels: int | None = None, start="2024-01-01", days: int = 365,
                    chunk_rows: int = 1_000_000):
    """About n positions of `vessels` made-up ships wandering the Sea of Japan between Chongjin and
    Nakhodka: each reports at random intervals (a few per hour), sails at about 9 knots, calls at
    ports by chance and goes dark now and then (18 h, one interval in 2,000). Chunks of whole
    vessels, about chunk_rows positions each, as plain numpy arrays: vessel (index, int64), t (Unix
    ms, int64), lon, lat (rounded to 6 decimals), sog, cog (rounded to 0.1). Deterministic for a
    seed; memory is one chunk whatever n."""
    rng = np.random.default_rng(seed)
    vessels = vessels or max(2, min(5000, int(n // 20_000) + 2))
    per = n // vessels
    start_ms = pd.Timestamp(start).value // 1_000_000
    span_ms = days * 86_400_000
    parts, rows = [], 0

    def joined():
        return {c: np.concatenate([p[c] for p in parts]) for c in parts[0]}

    for v in range(vessels):
        m = per + (n - per * vessels if v == 0 else 0)
        dt = rng.exponential(span_ms / m, m)
        dt[rng.random(m) < 0.0005] += 18 * 3_600_000  # some dark stretches
        elapsed = np.cumsum(dt)
        t = start_ms + (elapsed * (span_ms / elapsed[-1])).astype(np.int64)
        heading = np.cumsum(rng.normal(0, 0.15, m))
        speed = np.clip(rng.normal(9, 4, m), 0, 20)
        step_h = np.r_[0, np.diff(t)] / 3_600_000
        km = speed * KNOT_KMH * np.minimum(step_h, 0.5)
        lon = rng.uniform(129.5, 133.5) + np.cumsum(km * np.sin(heading)) / km_per_deg_lon(42.0)
        lat = rng.uniform(40.5, 43.5) + np.cumsum(km * np.cos(heading)) / KM_PER_DEG_LAT
        lon = 129.5 + np.abs((lon - 129.5) % 8.0 - 4.0)  # folded into 129.5..133.5
        lat = 40.5 + np.abs((lat - 40.5) % 6.0 - 3.0)    # and 40.5..43.5
        parts.append({"vessel": np.full(m, v, dtype=np.int64), "t": t, "lon": np.round(lon, 6),
                      "lat": np.round(lat, 6), "sog": np.round(speed, 1),
                      "cog": np.round(np.degrees(heading) % 360, 1)})
        rows += m
        if rows >= chunk_rows:
            yield joined()
            parts, rows = [], 0
    if parts:
        yield joined()


def mmsi_of(vessel):
    return 100_000_000 + vessel


def imo_of(vessel):
    """IMO number of a made-up vessel; 0 for one in three (no IMO)."""
    return np.where(vessel % 3 != 0, 9_000_000 + vessel, 0)


def name_of(v: int) -> str:
    return f"SYNTH {v:04d}"


def generate_chunks(n: int, seed: int = 1, vessels: int | None = None, start="2024-01-01", days: int = 365,
                    chunk_rows: int = 1_000_000):
    """generate_arrays' chunks as frames in the columns of a positions frame (mmsi, imo, name, t,
    lon, lat, sog, cog)."""
    for a in generate_arrays(n, seed, vessels, start, days, chunk_rows):
        vessel = a["vessel"]
        ids, first = np.unique(vessel, return_index=True)
        counts = np.diff(np.r_[first, len(vessel)])
        imo = imo_of(ids)
        yield pd.DataFrame({
            "mmsi": np.repeat(np.array([str(mmsi_of(v)) for v in ids], dtype=object), counts),
            "imo": np.repeat(np.array([str(i) if i else "" for i in imo], dtype=object), counts),
            "name": np.repeat(np.array([name_of(v) for v in ids], dtype=object), counts),
            "t": pd.to_datetime(a["t"], unit="ms").astype("datetime64[ms]"), "lon": a["lon"], "lat": a["lat"],
            "sog": a["sog"], "cog": a["cog"]})


def generate(n: int, seed: int = 1, vessels: int | None = None, start="2024-01-01", days: int = 365) -> pd.DataFrame:
    """generate_chunks in one frame."""
    return pd.concat(generate_chunks(n, seed, vessels, start, days), ignore_index=True)


AIS_HEADER = ["MMSI", "BaseDateTime", "LAT", "LON", "SOG", "COG", "Heading", "VesselName", "IMO", "CallSign",
              "VesselType", "Status", "Length", "Width", "Draft", "Cargo", "TransceiverClass"]


def write_ais_csv(path, chunks) -> int:
    """Positions written as a public AIS export (MarineCadastre/NOAA columns), chunk by chunk."""
    import pyarrow as pa
    import pyarrow.csv as pacsv
    rows = 0
    schema = pa.schema([(c, pa.string()) for c in AIS_HEADER])
    options = pacsv.WriteOptions(quoting_style="none", include_header=False)
    with open(path, "wb") as handle:
        handle.write((",".join(AIS_HEADER) + "\n").encode())
        for frame in chunks:
            n = len(frame)
            imo = np.where(frame["imo"].to_numpy() != "", "IMO" + frame["imo"].astype(str), "")
            table = pa.table({
                "MMSI": frame["mmsi"].astype(str), "BaseDateTime": frame["t"].dt.strftime("%Y-%m-%dT%H:%M:%S"),
                "LAT": frame["lat"].map("{:.6f}".format), "LON": frame["lon"].map("{:.6f}".format),
                "SOG": frame["sog"].astype(str), "COG": frame["cog"].astype(str), "Heading": ["511"] * n,
                "VesselName": frame["name"].astype(str), "IMO": imo, "CallSign": [""] * n, "VesselType": ["70"] * n,
                "Status": [""] * n, "Length": [""] * n, "Width": [""] * n, "Draft": [""] * n, "Cargo": [""] * n,
                "TransceiverClass": ["A"] * n}, schema=schema)
            pacsv.write_csv(table, handle, write_options=options)
            rows += n
    return rows


def ais_table(a: dict):
    """One chunk of generate_arrays as a public AIS export in Parquet: the columns and values the
    CSV export carries (times to the second, IMO as 'IMO9000001'), typed (MMSI an integer, times a
    timestamp, coordinates and speeds floats); columns the export leaves empty are null."""
    import pyarrow as pa
    import pyarrow.compute as pc
    vessel = a["vessel"]
    n = len(vessel)
    ids = np.unique(vessel)
    index = pa.array(np.searchsorted(ids, vessel).astype(np.int32))
    imo = imo_of(ids)
    names = pa.array([name_of(int(v)) for v in ids], pa.string())
    imos = pa.array([f"IMO{i}" if i else "" for i in imo], pa.string())
    empty = pa.nulls(n, pa.string())
    return pa.table({
        "MMSI": pa.array(mmsi_of(vessel)),
        "BaseDateTime": pa.array(a["t"].astype("datetime64[ms]").astype("datetime64[s]")),
        "LAT": pa.array(a["lat"]), "LON": pa.array(a["lon"]), "SOG": pa.array(a["sog"]), "COG": pa.array(a["cog"]),
        "Heading": pa.array(np.full(n, 511, dtype=np.int16)), "VesselName": pc.take(names, index),
        "IMO": pc.take(imos, index), "CallSign": empty, "VesselType": pa.array(np.full(n, 70, dtype=np.int16)),
        "Status": empty, "Length": empty, "Width": empty, "Draft": empty, "Cargo": empty,
        "TransceiverClass": pa.array(np.full(n, "A", dtype=object), pa.string())})


def write_ais_parquet(path, chunks) -> int:
    """generate_arrays' chunks written as a Parquet AIS export, one row group per chunk (zstd), so
    memory is a chunk whatever the file's length."""
    import pyarrow.parquet as pq
    rows = 0
    writer = None
    try:
        for a in chunks:
            table = ais_table(a)
            if writer is None:
                writer = pq.ParquetWriter(str(path), table.schema, compression="zstd")
            writer.write_table(table, row_group_size=len(a["vessel"]))
            rows += table.num_rows
    finally:
        if writer is not None:
            writer.close()
    return rows
