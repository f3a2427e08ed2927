"""Synthetic tracks and claims for benchmarks: reproducible (fixed seed), shaped like the real data,
and plainly marked as synthetic. Nothing here writes into data/.

Tracks: ships on the two reported sea lanes (Rajin-Dunai, Rajin-Vostochny) at 10-15 knots
with a smooth wander off the lane and GPS jitter, and trains on the Ussuriysk-Tikhoretsk
rail corridor at 25-40 km/h, voyages spread over 2023-08..2025-11 with irregular (AIS-like)
sampling. The number of voyages grows with the square root of the points, so bigger sets
have both more voyages and denser sampling.

Claims: the schema of data/claims.csv, with metrics, units, places and legs copied from
real claims, values scattered around the real ones, and synthetic claimants, outlets and
URLs (https://example.org/synthetic/N).
"""
from __future__ import annotations

import math
from dataclasses import replace
from functools import lru_cache

import geopandas as gpd
import numpy as np
import pandas as pd

from geo.data import dataset, schema

SEED = 20240912
START, END = pd.Timestamp("2023-08-15"), pd.Timestamp("2025-11-30")
SHIP_LANES = ("L_SEA_RAJIN_DUNAI", "L_SEA_RAJIN_VOSTOCHNY")
RAIL_LANE = "L_RAIL_USSURIYSK_TIKHORETSK"
LANE_SHARE = {"L_SEA_RAJIN_DUNAI": 0.40, "L_SEA_RAJIN_VOSTOCHNY": 0.35, RAIL_LANE: 0.25}
KNOT_KMH = 1.852
SHIP_KNOTS = (10.0, 15.0)
TRAIN_KMH = (25.0, 40.0)
WANDER_KM = (0.5, 3.0)  # ships' largest distance off the drawn lane, mid-voyage
JITTER_KM = 0.015  # GPS noise, one standard deviation
VESSELS = tuple(f"SYNTHETIC VESSEL {c}" for c in "ABCDEFGHJKLM")
SOURCE = "synthetic (bench.synthetic)"
CLAIMANTS = 60
KM_PER_DEG = 111.195


@lru_cache(maxsize=1)
def lanes() -> dict[str, tuple[np.ndarray, pd.Timestamp]]:
    """Lane coordinates and opening dates from data/routes.geojson (read only)."""
    routes = gpd.read_file(dataset.DATA_DIR / "routes.geojson")
    out = {}
    for row in routes.itertuples():
        if row.id in LANE_SHARE:
            out[row.id] = (np.asarray(row.geometry.coords)[:, :2], pd.Timestamp(row.active_from))
    return out


def lane_km(coords: np.ndarray) -> np.ndarray:
    """Cumulative great-circle distance along the lane's vertices."""
    lon, lat = np.radians(coords[:, 0]), np.radians(coords[:, 1])
    h = np.sin(np.diff(lat) / 2) ** 2 + np.cos(lat[:-1]) * np.cos(lat[1:]) * np.sin(np.diff(lon) / 2) ** 2
    return np.r_[0.0, np.cumsum(2 * 6371.0 * np.arcsin(np.sqrt(h)))]


def voyage(lane_id: str, depart: pd.Timestamp, n: int, rng: np.random.Generator, reverse: bool = False,
           speed_kmh: float | None = None) -> pd.DataFrame:
    """n positions of one voyage along a lane: t, lon, lat (first and last at the lane's ends)."""
    coords, _ = lanes()[lane_id]
    coords = coords[::-1] if reverse else coords
    ship = lane_id != RAIL_LANE
    if speed_kmh is None:
        speed_kmh = rng.uniform(*SHIP_KNOTS) * KNOT_KMH if ship else rng.uniform(*TRAIN_KMH)
    cum = lane_km(coords)
    hours = cum[-1] / speed_kmh
    u = np.sort(rng.uniform(0, 1, n))
    u[0], u[-1] = 0.0, 1.0
    k, a = rng.integers(1, 4), rng.uniform(0, 0.05)  # speed varies by up to 5 %, smoothly
    along = cum[-1] * (u + a * np.sin(2 * np.pi * k * u) / (2 * np.pi * k))
    lon, lat = np.interp(along, cum, coords[:, 0]), np.interp(along, cum, coords[:, 1])
    seg = np.clip(np.searchsorted(cum, along, side="right") - 1, 0, len(cum) - 2)
    dx = (coords[seg + 1, 0] - coords[seg, 0]) * np.cos(np.radians(lat))
    dy = coords[seg + 1, 1] - coords[seg, 1]
    norm = np.hypot(dx, dy)
    nx, ny = -dy / np.where(norm > 0, norm, 1), dx / np.where(norm > 0, norm, 1)
    off = np.zeros(n)
    if ship:
        phase = rng.uniform(0, 2 * np.pi, 2)
        off = rng.uniform(*WANDER_KM) * np.sin(np.pi * u) * (
            0.7 * np.sin(2 * np.pi * 1.5 * u + phase[0]) + 0.3 * np.sin(2 * np.pi * 4 * u + phase[1]))
    east = off * nx + rng.normal(0, JITTER_KM, n)
    north = off * ny + rng.normal(0, JITTER_KM, n)
    lat_out = lat + north / KM_PER_DEG
    lon_out = lon + east / (KM_PER_DEG * np.cos(np.radians(lat)))
    t = depart + pd.to_timedelta(np.round(u * hours * 3600), unit="s")
    return pd.DataFrame({"t": t.astype("datetime64[s]"), "lon": np.round(lon_out, 6), "lat": np.round(lat_out, 6)})


def synthetic_tracks(n_points: int, seed: int = SEED) -> pd.DataFrame:
    """About sqrt(n_points) voyages holding exactly n_points positions, in the workspace's track
    contract (track_id, name, t, lon, lat) plus a source column that marks them synthetic."""
    rng = np.random.default_rng(seed)
    n_voyages = max(3, min(int(round(math.sqrt(n_points))), n_points // 2))
    lane_ids = list(LANE_SHARE)
    chosen = rng.choice(len(lane_ids), size=n_voyages, p=list(LANE_SHARE.values()))
    sizes = np.full(n_voyages, n_points // n_voyages)
    sizes[: n_points % n_voyages] += 1
    frames = []
    for i, (lane_i, n) in enumerate(zip(chosen, sizes)):
        lane_id = lane_ids[lane_i]
        opened = max(START, lanes()[lane_id][1])
        span = (END - pd.Timedelta(days=15) - opened).total_seconds()
        depart = opened + pd.Timedelta(seconds=int(rng.uniform(0, span)))
        reverse = bool(rng.random() < 0.5)
        part = voyage(lane_id, depart, int(n), rng, reverse)
        if lane_id == RAIL_LANE:
            name = f"SYNTHETIC TRAIN {i:05d}"
        else:
            name = VESSELS[int(rng.integers(len(VESSELS)))]
        part.insert(0, "name", name)
        part.insert(0, "track_id", f"SYN-{i:06d}")
        frames.append(part)
    out = pd.concat(frames, ignore_index=True)
    out["source"] = SOURCE
    return out


def synthetic_claims(n_claims: int, seed: int = SEED, real: pd.DataFrame | None = None) -> pd.DataFrame:
    """n_claims rows in the schema and dtypes of Dataset.claims (without geometry).

    Each copies a real claim's metric, family, unit, basis, qualifier, place and legs; its
    value is the real one times a log-normal factor; its dates are spread over 2022-09..2025-11;
    claimants, outlets and URLs are synthetic.
    """
    if real is None:
        real = dataset.load().claims
    rng = np.random.default_rng(seed)
    pick = real.iloc[rng.integers(0, len(real), n_claims)].reset_index(drop=True)
    factor = np.exp(rng.normal(0, 0.35, n_claims))
    value = (pick["value"].to_numpy(float) * factor).round(0).clip(min=1)
    high = (pick["value_high"].to_numpy(float) * factor).round(0)
    high = np.where(np.isnan(high), np.nan, np.maximum(high, value))
    first, last = pd.Timestamp("2022-09-01"), END
    days = (last - first).days
    as_of = first + pd.to_timedelta(rng.integers(0, days, n_claims), unit="D")
    lag = pd.to_timedelta(np.minimum(rng.exponential(20, n_claims).astype(int), 400), unit="D")
    reported = pd.Series(as_of + lag).clip(upper=last)
    who = rng.integers(0, CLAIMANTS, n_claims)
    types = np.asarray(schema.CLAIMANT_TYPES)[np.random.default_rng(seed + 1).integers(
        0, len(schema.CLAIMANT_TYPES), CLAIMANTS)]
    claimant = pd.Series([f"Synthetic claimant {w:03d}" for w in who], dtype=object)
    ids = np.arange(n_claims)
    out = pd.DataFrame({
        "id": pd.Series([f"SYN{i:06d}" for i in ids], dtype=object),
        "metric": pick["metric"], "family": pick["family"],
        "value": value, "value_high": high, "qualifier": pick["qualifier"], "unit": pick["unit"],
        "basis": pick["basis"],
        "as_of_date": pd.Series(as_of).astype("datetime64[s]"),
        "statement_date": pd.Series(reported).astype("datetime64[s]"),
        "reported_date": pd.Series(reported).astype("datetime64[s]"),
        "claimant": claimant,
        "attribution": claimant + " (synthetic)",
        "claimant_type": pd.Series(types[who], dtype=object),
        "outlet": pd.Series(["Synthetic outlet"] * n_claims, dtype=object),
        "url": pd.Series([f"https://example.org/synthetic/{i}" for i in ids], dtype=object),
        "place_id": pick["place_id"], "route_ids": pick["route_ids"],
        "note": pd.Series(["Synthetic claim for benchmarks; not a real report."] * n_claims, dtype=object),
    })
    # The columns the loader joins in from the registries (see dataset.with_registries).
    out["claimant_id"] = pd.Series([f"SYN_{w:03d}" for w in who], dtype=object)
    out["checked"] = pd.Series(pd.NaT, index=out.index).astype("datetime64[s]")
    out["checked_url"], out["verification"], out["restates"] = "", "", ""
    out["claimant_alt"], out["alt_url"], out["claimant_alt_id"] = "", "", ""
    out["government_id"], out["government"], out["agency"] = out["claimant_id"], claimant, ""
    out["metric_kind"] = pick["metric_kind"]
    out["caveat"] = ""
    for column in ("checked_url", "verification", "restates", "agency", "caveat", "claimant_alt", "alt_url",
                   "claimant_alt_id"):
        out[column] = out[column].astype(object)
    return out[[c for c in real.columns if c != "geometry"]]


def with_claims(data: dataset.Dataset, claims: pd.DataFrame) -> dataset.Dataset:
    """A copy of the bundled dataset whose claims are `claims`, placed like Dataset.claims."""
    where = data.places.set_index("id").geometry
    geometry = claims["place_id"].map(lambda p: where.get(p))
    return replace(data, claims=gpd.GeoDataFrame(claims, geometry=geometry.to_numpy(), crs=dataset.CRS))
