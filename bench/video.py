"""Time the video export: render the seven scenes at 1280x720, then encode them.

    python -m bench.video --runs 5

Prints each run and the median of: rendering the 7 scene frames and the sources frame
(geo.export.video.render; wall clock, and the CPU time of this process, which other work on a
shared machine disturbs less), encoding them to MP4 and to GIF, and the CLI end to end
(a fresh process: imports, data load, render, encode). The bundled data only.
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--size", default="1280x720")
    args = ap.parse_args(argv)
    from geo.data import dataset
    from geo.export import video

    data = dataset.load()
    size = video.parse_size(args.size)
    shots = video.scene_shots(data, "S1-S7")
    video.render(data, shots[:1], size)  # warm: fonts, matplotlib, the prepared layers
    results = {"render 7 scenes + sources": [], "encode mp4": [], "encode gif": [], "cli mp4 end to end": [],
               "render, CPU time of this process": []}
    with tempfile.TemporaryDirectory(prefix="bench-video-") as tmp:
        for run in range(args.runs):
            t0, c0 = time.perf_counter(), time.process_time()
            frames = video.render(data, shots, size)
            t1, c1 = time.perf_counter(), time.process_time()
            video.encode("mp4", frames, Path(tmp) / "talk.mp4")
            t2 = time.perf_counter()
            video.encode("gif", frames, Path(tmp) / "talk.gif")
            t3 = time.perf_counter()
            subprocess.run([sys.executable, "-m", "geo", "export", "mp4", str(Path(tmp) / "cli.mp4"), "--scenes",
                            "S1-S7", "--size", args.size, "--no-workspace"], cwd=ROOT, check=True,
                           capture_output=True)
            t4 = time.perf_counter()
            for key, value in zip(results, (t1 - t0, t2 - t1, t3 - t2, t4 - t3, c1 - c0)):
                results[key].append(value)
            print(f"run {run + 1}: " + ", ".join(f"{k} {v[-1]:.2f} s" for k, v in results.items()), flush=True)
    print(f"median of {args.runs} runs at {args.size}:")
    for key, values in results.items():
        print(f"  {key}: {statistics.median(values):.2f} s (min {min(values):.2f}, max {max(values):.2f})")


if __name__ == "__main__":
    main()
