"""How long until the first map shows: the floor page, this dashboard and kepler.gl, in one run.

One process starts three loopback servers: the floor (`bench/floor_app.py`, one pydeck point
layer in Streamlit), this dashboard (`app.py`, opened as an analyst and in presenter mode) and
kepler.gl 3.2.6 built offline by `../shared/peers/kepler/setup.sh`. Each case gets its own page
in one headless Chromium (1440×900), is loaded once to warm the server and the browser cache,
and then the cases take turns, round after round, so a slow spell on the machine hits them
all alike. Finish lines are the team's own: `../shared/tools/page_timing.py`'s lit pixels in
the pydeck chart for the Streamlit pages, and `time_kepler.py --signal pixels` for kepler.gl.
`--cold` adds one load of each case in a fresh browser (empty cache, new profile).

    python -m bench.pageload [--rounds 5] [--cold] [--json out.json] [--shots DIR] [--compare CHECKOUT]
    python -m bench.pageload --trace trace.json [--query present=1] [--target ../before/app.py]

Prints the medians and the ratios as a markdown table. Without the kepler build (run
`bash ../shared/peers/kepler/setup.sh` first) the kepler row is left out.
"""
from __future__ import annotations

import argparse
import functools
import importlib.util
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.browser import CHROMIUM, CHROMIUM_ARGS, ROOT, Server, free_port

SHARED = ROOT.parent / "shared"
KEPLER_WWW = Path("/tmp/keplerpeer/www")
VIEWPORT = {"width": 1440, "height": 900}
TIMEOUT_S = 120


@functools.cache
def shared(relative: str):
    """A script from ../shared (the team's timing tools), imported once."""
    path = SHARED / relative
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class StreamlitCase:
    """A Streamlit page timed to page_timing.py's finish line: goto until the chart is lit."""

    def __init__(self, name: str, url: str, query: str = ""):
        self.name, self.url = name, url + (f"?{query}" if query else "")

    def load(self, page) -> float:
        t0 = time.perf_counter()
        page.goto(self.url)
        shared("tools/page_timing.py").wait_drawn(page, 500, timeout_s=TIMEOUT_S)
        return time.perf_counter() - t0


class KeplerCase:
    """kepler.gl on the peer's routes dataset, timed by time_kepler.py's own pixel signal."""

    name = "kepler.gl"

    def __init__(self, base: str):
        self.url = f"{base}index.html?data=routes"
        self.shot = tempfile.mktemp(suffix=".png")

    def load(self, page) -> float:
        load = shared("peers/kepler/time_kepler.py").one_load(page, self.url, TIMEOUT_S * 1000, self.shot, "pixels")
        return load["ready_ms"] / 1000


def kepler_server(log: Path) -> tuple[subprocess.Popen, str] | None:
    """The kepler.gl build served on loopback by time_kepler.py's own server, or None if not built."""
    if not (KEPLER_WWW / "index.html").exists():
        print("kepler.gl is not built; run: bash ../shared/peers/kepler/setup.sh", file=sys.stderr)
        return None
    port = free_port()
    server = shared("peers/kepler/time_kepler.py").start_server(str(KEPLER_WWW), port, str(log))
    return server, f"http://127.0.0.1:{port}/"


def interleaved(browser, cases, rounds: int, warm_s: dict) -> dict:
    """Each case in a page of its own, loaded once to warm the server, the browser cache and the
    JIT, then timed in turns, round after round, into warm_s. Returns the pages."""
    pages = {c.name: browser.new_page(viewport=VIEWPORT) for c in cases}
    for c in cases:
        c.load(pages[c.name])
    for _ in range(rounds):
        for c in cases:
            warm_s[c.name].append(round(c.load(pages[c.name]), 3))
    return pages


def run(rounds: int = 5, cold: bool = False, shots: str | None = None, compare: str | None = None) -> dict:
    from playwright.sync_api import sync_playwright

    workspace = Path(tempfile.mkdtemp(prefix="bench-pageload-"))
    floor = Server(target="bench/floor_app.py")
    dashboard = Server({"GEO_WORKSPACE": str(workspace / "ws.sqlite")})
    kepler = kepler_server(workspace / "kepler.log")
    cases = [StreamlitCase("floor (one pydeck layer)", floor.url), StreamlitCase("dashboard, analyst", dashboard.url),
             StreamlitCase("dashboard, presenter", dashboard.url, "present=1")]
    other = None
    if compare:  # another checkout of the dashboard (say, before a change), timed in the same rounds
        other = Server({"GEO_WORKSPACE": str(workspace / "other.sqlite")}, target=str(Path(compare) / "app.py"))
        cases += [StreamlitCase(f"{Path(compare).name}, analyst", other.url),
                  StreamlitCase(f"{Path(compare).name}, presenter", other.url, "present=1")]
    if kepler:
        cases.append(KeplerCase(kepler[1]))
    out = {"rounds": rounds, "viewport": VIEWPORT, "cpus": os.cpu_count(),
           "loadavg_before": round(os.getloadavg()[0], 2), "warm_s": {c.name: [] for c in cases}, "cold_s": {}}
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            out["chromium"] = browser.version
            pages = interleaved(browser, cases, rounds, out["warm_s"])
            if shots:
                Path(shots).mkdir(parents=True, exist_ok=True)
                for c in cases:
                    slug = re.sub(r"[^a-z0-9]+", "-", c.name.lower()).strip("-")
                    pages[c.name].screenshot(path=str(Path(shots) / f"{slug}.png"))
                for name, server in [("dashboard", dashboard)] + ([(Path(compare).name, other)] if other else []):
                    close_up_shots(browser.new_page(viewport=VIEWPORT), server.url, Path(shots) / name)
            browser.close()
            if cold:
                for c in cases:
                    fresh = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                    out["cold_s"][c.name] = round(c.load(fresh.new_page(viewport=VIEWPORT)), 3)
                    fresh.close()
    finally:
        floor.stop()
        dashboard.stop()
        if other:
            other.stop()
        if kepler:
            kepler[0].terminate()
    out["median_s"] = {name: round(statistics.median(v), 3) for name, v in out["warm_s"].items()}
    out["loadavg_after"] = round(os.getloadavg()[0], 2)
    return out


def close_up_shots(page, url: str, prefix: Path) -> None:
    """The map at the Tumen view, then three mouse-wheel steps closer, as PREFIX-tumen.png and
    PREFIX-tumen-zoomed.png: a close look shows whether the basemap stays sharp."""
    StreamlitCase("close-up", url, "date=2024-06&view=tumen").load(page)
    chart = page.locator(shared("tools/page_timing.py").CHART).first
    page.wait_for_timeout(1500)
    chart.screenshot(path=f"{prefix}-tumen.png")
    box = chart.bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    for _ in range(3):
        page.mouse.wheel(0, -240)
        page.wait_for_timeout(400)
    page.wait_for_timeout(1500)
    chart.screenshot(path=f"{prefix}-tumen-zoomed.png")
    page.close()


def table(out: dict) -> str:
    med = out["median_s"]
    floor = med["floor (one pydeck layer)"]
    kepler = med.get("kepler.gl")
    lines = [f"Headless Chromium {out.get('chromium')}, {out['cpus']} cores, {out['viewport']['width']}×"
             f"{out['viewport']['height']}, {out['rounds']} warm rounds interleaved after one warm-up, "
             f"load average {out['loadavg_before']}–{out['loadavg_after']}.", "",
             "| page | median to first map | every load | × floor | × kepler.gl |" + (" cold load |" if out["cold_s"] else ""),
             "|---|---:|---|---:|---:|" + ("---:|" if out["cold_s"] else "")]
    for name, m in med.items():
        row = (f"| {name} | {m:.2f} s | {', '.join(f'{v:.2f}' for v in out['warm_s'][name])} | {m / floor:.2f} | "
               + (f"{m / kepler:.2f} |" if kepler else "– |"))
        if out["cold_s"]:
            row += f" {out['cold_s'][name]:.2f} s |"
        lines.append(row)
    return "\n".join(lines)


def trace(query: str, path: str, top: int = 15, target: str = "app.py") -> list[dict]:
    """One warm load of a page (the dashboard unless `target` names another script, such as the
    floor or a checkout's app.py) under Chromium's tracing: the longest tasks, each named by what
    ran inside it (script URL or function, layout, GPU work)."""
    from playwright.sync_api import sync_playwright

    workspace = Path(tempfile.mkdtemp(prefix="bench-trace-"))
    server = Server({"GEO_WORKSPACE": str(workspace / "ws.sqlite")}, target=target)
    case = StreamlitCase(target, server.url, query)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport=VIEWPORT)
            case.load(page)
            browser.start_tracing(page=page, path=path, categories=[
                "devtools.timeline", "disabled-by-default-devtools.timeline", "toplevel", "v8", "blink", "gpu"])
            seconds = case.load(page)
            page.wait_for_timeout(500)
            browser.stop_tracing()
            browser.close()
    finally:
        server.stop()
    return long_tasks(json.loads(Path(path).read_text()), top) + [{"name": "first map", "ms": round(seconds * 1000)}]


def long_tasks(trace: dict, top: int) -> list[dict]:
    events = trace["traceEvents"] if isinstance(trace, dict) else trace
    tasks = [e for e in events if e.get("ph") == "X" and e.get("name") == "ThreadControllerImpl::RunTask"
             and e.get("dur", 0) > 50_000]
    children = [e for e in events if e.get("ph") == "X" and e.get("dur", 0) > 20_000 and e.get("name") not in
                ("RunTask", "ThreadControllerImpl::RunTask", "Scheduler::RunTask")]
    start = min(e["ts"] for e in events if e.get("ts"))
    out = []
    for t in sorted(tasks, key=lambda e: -e["dur"])[:top]:
        inside = [c for c in children if c.get("pid") == t.get("pid") and c.get("tid") == t.get("tid")
                  and t["ts"] <= c["ts"] <= t["ts"] + t["dur"]]
        inside.sort(key=lambda c: -c["dur"])
        what = []
        for c in inside[:4]:
            data = c.get("args", {}).get("data", {})
            label = data.get("url") or data.get("functionName") or data.get("frame") or ""
            what.append(f"{c['name']}{' ' + str(label).split('/')[-1][:40] if label else ''} {c['dur'] / 1000:.0f} ms")
        out.append({"at_ms": round((t["ts"] - start) / 1000), "ms": round(t["dur"] / 1000),
                    "thread": t.get("tid"), "inside": what})
    return sorted(out, key=lambda e: e["at_ms"])


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m bench.pageload", description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--cold", action="store_true", help="add one load per case in a fresh browser")
    ap.add_argument("--json", default=None, help="write the raw timings here")
    ap.add_argument("--shots", default=None, help="save each case's last screenshot in this folder")
    ap.add_argument("--compare", default=None, metavar="CHECKOUT",
                    help="also time the dashboard of another checkout (a git worktree of an older commit)")
    ap.add_argument("--trace", default=None, metavar="PATH",
                    help="instead: trace one warm dashboard load into PATH and list its long tasks")
    ap.add_argument("--query", default="", help="with --trace: the dashboard's query string")
    ap.add_argument("--target", default="app.py",
                    help="with --trace: the page to trace (bench/floor_app.py, or ../before/app.py)")
    a = ap.parse_args(argv)
    if a.trace:
        for task in trace(a.query, a.trace, target=a.target):
            print(json.dumps(task))
        return
    out = run(a.rounds, a.cold, a.shots, a.compare)
    if a.json:
        Path(a.json).write_text(json.dumps(out, indent=1))
    print(table(out))


if __name__ == "__main__":
    main()
