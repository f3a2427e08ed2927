"""What each kind of WebGL program in the map costs the first map, on this machine.

Software WebGL builds a pipeline for every program at the first frame. This takes the deck the
dashboard sends an analyst (the overview, today's month), puts it alone on a bare Streamlit page
(`bench/deck_app.py`) and times the first map, as bench.pageload does, with the deck cut to its
polygons, then polygons and lines, and so on up to the whole deck; beside the floor, the
dashboard itself and kepler.gl, all interleaved round by round in one browser.

    python -m bench.programs [--rounds 7] [--json out.json]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
from pathlib import Path

from bench.browser import CHROMIUM, CHROMIUM_ARGS, ROOT, Server
from bench.pageload import VIEWPORT, KeplerCase, StreamlitCase, interleaved, kepler_server

# Cumulative: each row adds the layers of one more program, those the deck has, in this order.
STEPS = {"SolidPolygonLayer": "polygons", "LineLayer": "+ straight lines", "IconLayer": "+ stamped images",
         "ScatterplotLayer": "+ dots", "PathLayer": "+ paths", "TextLayer": "+ text"}


def analyst_deck() -> str:
    """The deck JSON the dashboard sends on a first visit, as AppTest sees it."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.run()
    return at.get("deck_gl_json_chart")[0].proto.json


def run(rounds: int) -> dict:
    from playwright.sync_api import sync_playwright

    workspace = Path(tempfile.mkdtemp(prefix="bench-programs-"))
    os.environ.setdefault("GEO_WORKSPACE", str(workspace / "apptest.sqlite"))
    spec = workspace / "deck.json"
    spec.write_text(analyst_deck(), encoding="utf-8")
    present = {layer["@@type"] for layer in json.loads(spec.read_text(encoding="utf-8"))["layers"]}
    servers = [("floor (one pydeck layer)", Server(target="bench/floor_app.py"))]
    types = []
    for layer_type in [t for t in STEPS if t in present] + sorted(present - set(STEPS)):
        types.append(layer_type)
        name = STEPS.get(layer_type, f"+ {layer_type}") + (" (the whole deck)" if len(types) == len(present) else "")
        servers.append((f"deck alone: {name}", Server({"DECK_SPEC": str(spec), "DECK_TYPES": ",".join(types)},
                                                      target="bench/deck_app.py")))
    servers.append(("dashboard, analyst", Server({"GEO_WORKSPACE": str(workspace / "ws.sqlite")})))
    cases = [StreamlitCase(name, server.url) for name, server in servers]
    kepler = kepler_server(workspace / "kepler.log")
    if kepler:
        cases.append(KeplerCase(kepler[1]))
    out = {"rounds": rounds, "viewport": VIEWPORT, "cpus": os.cpu_count(), "deck_bytes": spec.stat().st_size,
           "loadavg_before": round(os.getloadavg()[0], 2), "warm_s": {c.name: [] for c in cases}}
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            out["chromium"] = browser.version
            interleaved(browser, cases, rounds, out["warm_s"])
            browser.close()
    finally:
        for _, server in servers:
            server.stop()
        if kepler:
            kepler[0].terminate()
    out["median_s"] = {name: round(statistics.median(v), 3) for name, v in out["warm_s"].items()}
    out["loadavg_after"] = round(os.getloadavg()[0], 2)
    return out


def table(out: dict) -> str:
    med = out["median_s"]
    floor, kepler = med["floor (one pydeck layer)"], med.get("kepler.gl")
    rows = [f"Headless Chromium {out['chromium']}, {out['cpus']} cores, {out['viewport']['width']}×"
            f"{out['viewport']['height']}, {out['rounds']} rounds, load average {out['loadavg_before']}–"
            f"{out['loadavg_after']}; the whole deck is {out['deck_bytes'] / 1000:.0f} KB.", "",
            "| page | median to first map | every load | × floor | × kepler.gl |", "|---|---:|---|---:|---:|"]
    for name, m in med.items():
        rows.append(f"| {name} | {m:.2f} s | {', '.join(f'{v:.2f}' for v in out['warm_s'][name])} | "
                    f"{m / floor:.2f} | " + (f"{m / kepler:.2f} |" if kepler else "– |"))
    return "\n".join(rows)


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m bench.programs", description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--json", default=None, help="write the raw timings here")
    a = ap.parse_args(argv)
    out = run(a.rounds)
    if a.json:
        Path(a.json).write_text(json.dumps(out, indent=1))
    print(table(out))


if __name__ == "__main__":
    main()
