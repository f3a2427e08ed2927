"""The deck JSON the map sends, per analyst view (reference map size) and presenter scene, in bytes:
this checkout's, and with --compare another checkout's (run in that checkout's own code).

    python -m bench.decksize [--compare CHECKOUT] [--date 2025-11]

Prints a markdown table; the static layers (basemap, its detail, place markers and names) are
built as the app builds them for each view and scene focus.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

MEASURE = r'''
import json, sys
from geo.view import records
from geo import style
from geo.data import dataset
from geo.render import layers
from geo.model import timeline
from geo.view import build_view
date = sys.argv[1]
data = dataset.load()
out = {}
def size(state, view, present, focus=()):
    v = style.VIEWS[view]
    bm = layers.basemap_features(data.countries, data.countries_detail if v.detailed else None, style.palette(present))
    static = layers.static_layers(data, view, present, bm, None, focus)
    made = build_view(data, records.prepare(data, state.filters), state)
    return len(layers.deck_for(data, made, bm, static).to_json().encode())
for present in (False, True):
    for view in style.VIEWS:
        st = records.MapState(date=timeline.month_end(date + "-01"), view=view, present=present)
        out[("presenter " if present else "analyst ") + view] = size(st, view, present)
for s in data.scenes.itertuples():
    st = records.MapState(date=timeline.month_end(s.date), view=s.view, present=True, layers=tuple(s.layers),
                         focus=tuple(s.focus), topic=s.topic)
    out["scene " + s.id] = size(st, s.view, True, tuple(s.focus))
print(json.dumps(out))
'''


def measure(checkout: Path, date: str) -> dict:
    env = {**os.environ, "PYTHONPATH": str(checkout)}
    done = subprocess.run([sys.executable, "-c", MEASURE, date], cwd=checkout, env=env, capture_output=True,
                          text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--compare", default=None, help="another checkout (say, before a change)")
    ap.add_argument("--date", default="2025-11", help="the month of the analyst views (scenes use their own)")
    a = ap.parse_args(argv)
    here = measure(Path(__file__).resolve().parent.parent, a.date)
    other = measure(Path(a.compare).resolve(), a.date) if a.compare else {}
    print("| view | " + (f"{Path(a.compare).name} | " if other else "") + "this checkout | change |")
    print("|---|" + ("---:|" if other else "") + "---:|---:|")
    for key, value in here.items():
        before = other.get(key)
        change = f"{(value / before - 1) * 100:+.1f} %" if before else ""
        print(f"| {key} | " + (f"{before / 1000:.1f} KB | " if other else "") + f"{value / 1000:.1f} KB | {change} |")


if __name__ == "__main__":
    main()
