"""One import of a large track CSV, in a fresh process so its peak memory is its own.

    python -m bench.importing FILE.csv WORKSPACE.sqlite

Reads the file with geo.imports.importer.read_file (streamed in chunks, geo.imports.bigcsv) and stores it in a
throwaway workspace with Workspace.add, as `python -m geo import` does; prints one JSON line:
read_s, store_s, total_s, points and peak_rss_mb (the process's maximum resident set size).
"""
from __future__ import annotations

import json
import resource
import sys
import time
from pathlib import Path


def peak_rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)  # Linux reports KiB


def main(argv=None) -> int:
    path, store = (argv or sys.argv[1:])[:2]
    from geo.imports import importer
    from geo.store.workspace import Workspace
    start = time.perf_counter()
    result = importer.read_file(path)
    read_s = time.perf_counter() - start
    read_rss = peak_rss_mb()
    Workspace(Path(store)).add(result)
    total_s = time.perf_counter() - start
    print(json.dumps({"points": len(result.frame), "kind": result.kind, "streamed": bool(result.details.get("streamed")),
                      "read_s": round(read_s, 2), "store_s": round(total_s - read_s, 2), "total_s": round(total_s, 2),
                      "peak_rss_read_mb": read_rss, "peak_rss_mb": peak_rss_mb()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
