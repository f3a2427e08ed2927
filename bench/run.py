"""`python -m bench`: one JSON line per case, ours beside a naive build.

    python -m bench [--sizes 1000 10000 ...] [--claims 100000] [--imports 5000000] [--smoke] [--browser]
                    [--out FILE]

For each size N, synthetic tracks are written to a temporary folder (never data/), then each
of ours / naive / naive-window runs in a fresh subprocess (bench.measure) so peak RSS is
per case; naive ones are cut off after --timeout seconds and reported as "timeout". The
claims case does the same with N synthetic claims. The import case writes N synthetic track
points as an AIS-style CSV and imports it --import-runs times (read_file, then Workspace.add
into a throwaway workspace), each in a fresh process (bench.importing), for time and peak RSS.
--browser adds page timings in headless
Chromium (bench.browser). --out also writes every line, with the machine's description,
to one JSON file for bench.report.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from importlib import metadata
from pathlib import Path

from bench import synthetic

ROOT = Path(__file__).resolve().parent.parent
SIZES = (1_000, 10_000, 100_000, 1_000_000)
CLAIMS = 100_000
LIBRARIES = ("streamlit", "pydeck", "pandas", "numpy", "shapely", "geopandas", "pyarrow", "playwright")


def machine() -> dict:
    """What the figures were measured on."""
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    mem_kb = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
                  if line.startswith("MemTotal"))
    versions = {}
    for name in LIBRARIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return {"nproc": os.cpu_count(), "memory_gib": round(mem_kb / 2 ** 20, 1), "cpu": cpu,
            "python": platform.python_version(), "platform": platform.platform(), "libraries": versions,
            "openblas_env": {k: v for k, v in os.environ.items() if k.startswith("OPENBLAS")}}


def loadavg() -> float:
    return round(os.getloadavg()[0], 2)


def child(mode: str, kind: str, path: Path, steps: int, view: str, timeout: float):
    """Run bench.measure in a fresh process; its summary, or "timeout" (with the steps it finished)."""
    cmd = [sys.executable, "-m", "bench.measure", mode, kind, str(path), "--steps", str(steps), "--view", view]
    try:
        done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as err:
        out = err.stdout.decode() if isinstance(err.stdout, bytes) else (err.stdout or "")
        finished = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
        return "timeout", [round(s["rerun_s"], 3) for s in finished]
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1]), []


def case(kind: str, n: int, a, tmp: Path) -> dict:
    if kind == "tracks":
        path = tmp / f"tracks-{n}.parquet"
        synthetic.synthetic_tracks(n).to_parquet(path)
        view = a.view
    else:
        path = tmp / f"claims-{n}.pkl"
        synthetic.synthetic_claims(n).to_pickle(path)
        view = "overview"
    line = {"case": kind, "n": n, "view": view, "loadavg_before": loadavg()}
    line["ours"], _ = child("ours", kind, path, a.steps, view, a.ours_timeout)
    for mode, key in (("naive", "naive"), ("naive-window", "naive_window")):
        line[key], partial = child(mode, kind, path, a.steps, view, a.timeout)
        if partial:
            line[key + "_finished_steps_s"] = partial
    for key, suffix in (("naive", ""), ("naive_window", "_window")):
        ours, naive = line["ours"], line[key]
        both = isinstance(ours, dict) and isinstance(naive, dict)
        line["ratio_rerun" + suffix] = round(ours["rerun_s"] / naive["rerun_s"], 4) if both else None
        line["speedup_rerun" + suffix] = round(naive["rerun_s"] / ours["rerun_s"], 1) if both else None
        if kind == "tracks":  # the tracks' own share, without the bundled layers both builds share
            line["speedup_tracks_only" + suffix] = round(
                naive["tracks_only_s"] / max(ours["tracks_only_s"], 1e-4), 1) if both else None
    line["loadavg_after"] = loadavg()
    path.unlink()
    return line


def write_track_csv(n: int, path: Path) -> Path:
    """N synthetic positions as an AIS-style CSV (mmsi-like id, vessel name, ISO time, lat, lon)."""
    frame = synthetic.synthetic_tracks(n)
    out = frame[["track_id", "name", "t", "lat", "lon"]].rename(columns={"t": "timestamp"})
    out["timestamp"] = out["timestamp"].dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    out.to_csv(path, index=False, float_format="%.5f", chunksize=500_000)
    return path


def import_case(n: int, a, tmp: Path) -> dict:
    import statistics
    path = write_track_csv(n, tmp / f"synthetic-tracks-{n}.csv")
    line = {"case": "import", "n": n, "file_mb": round(path.stat().st_size / 2 ** 20, 1),
            "loadavg_before": loadavg(), "runs": []}
    for run in range(a.import_runs):
        store = tmp / f"workspace-{run}.sqlite"
        cmd = [sys.executable, "-m", "bench.importing", str(path), str(store)]
        done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=a.ours_timeout)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed:\n{done.stderr[-2000:]}")
        line["runs"].append(json.loads(done.stdout.strip().splitlines()[-1]))
        for leftover in tmp.glob(f"workspace-{run}.sqlite*"):
            leftover.unlink()
    for key in ("read_s", "store_s", "total_s", "peak_rss_mb", "peak_rss_read_mb"):
        line[f"median_{key}"] = round(statistics.median(r[key] for r in line["runs"]), 2)
    line["max_peak_rss_mb"] = max(r["peak_rss_mb"] for r in line["runs"])
    line["loadavg_after"] = loadavg()
    path.unlink()
    return line


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="*", default=list(SIZES), help="track points per case (none: skip)")
    ap.add_argument("--claims", type=int, nargs="*", default=[CLAIMS], help="claims per case (none: skip)")
    ap.add_argument("--imports", type=int, nargs="*", default=[5_000_000],
                    help="track points per import case (a CSV read and stored; none: skip)")
    ap.add_argument("--import-runs", type=int, default=3, help="runs per import case (the median is reported)")
    ap.add_argument("--smoke", action="store_true", help="the smallest tracks case only, two steps (for CI)")
    ap.add_argument("--browser", action="store_true", help="add headless-Chromium timings")
    ap.add_argument("--browser-sizes", type=int, nargs="+", default=[100_000])
    ap.add_argument("--steps", type=int, default=5, help="date steps timed per case (after one warm-up)")
    ap.add_argument("--view", default="sea", help="view preset for the tracks cases")
    ap.add_argument("--timeout", type=float, default=60.0, help="seconds before a naive case is cut off")
    ap.add_argument("--ours-timeout", type=float, default=900.0)
    ap.add_argument("--out", help="also write all lines and the machine description to this JSON file")
    return ap


def main(argv=None) -> int:
    a = parser().parse_args(argv)
    if a.smoke:
        a.sizes, a.claims, a.steps, a.browser, a.imports = [min(a.sizes or SIZES)], [], 2, False, []
    lines = []
    tmp = Path(tempfile.mkdtemp(prefix="bench-"))
    try:
        for kind, sizes in (("tracks", a.sizes or []), ("claims", a.claims or [])):
            for n in sizes:
                lines.append(case(kind, n, a, tmp))
                print(json.dumps(lines[-1]), flush=True)
        for n in a.imports or []:
            lines.append(import_case(n, a, tmp))
            print(json.dumps(lines[-1]), flush=True)
        if a.browser:
            from bench import browser
            for n in a.browser_sizes:
                lines.append(browser.measure(n, view=a.view))
                print(json.dumps(lines[-1]), flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if a.out:
        Path(a.out).parent.mkdir(parents=True, exist_ok=True)
        Path(a.out).write_text(json.dumps({"machine": machine(), "cases": lines}, indent=1) + "\n")
    return 0
