"""Browser timings with BENCH_TRACKS=N synthetic tracks. A page open is timed the way
shared/tools/page_timing.py times it: the map counts as drawn once the chart's screenshot
has enough "lit" pixels (differing from its most common colour by more than 30 in a
channel). A date step is timed inside the page: a probe records every WebGL draw call and
every WebSocket message, so the redraw is the last draw before the map goes quiet (to the
frame, not to a screenshot poll), and the deck's arrival is the rerun's largest message.
A step counts only if the chart's screenshot then differs from the one before it.

    python -m bench.browser [N] [--view overview] [--month 2024-07] [--steps 7] [--shot page.png]
    python -m bench.browser 0 --view tumen --month 2024-06 --images 2   # with two imported images

N = 0 times the bundled data alone. With --images K, K noisy 1024-pixel GeoTIFFs of the Tumangang
yard, dated in successive quarters from June 2024, are imported into the server's workspace first,
the page is set to show each place's latest image, and every step also counts the image bytes the
browser fetched (the media requests). The browser tests reuse Server and the Chromium flags.
"""
from __future__ import annotations

import base64
import io
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from PIL import Image, ImageChops

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
CHART = '.st-key-map_box [data-testid="stDeckGlJsonChart"]'  # the main map, not an import preview
LIT = 500
STEP_PIXELS = 50
STALE = f"el => !!el.closest('[data-stale=\"true\"]')"


def lit_pixels(im: Image.Image) -> int:
    counts = im.getcolors(im.width * im.height)
    bg = max(counts)[1]
    return sum(n for n, c in counts if max(abs(a - b) for a, b in zip(c, bg)) > 30)


def changed_pixels(a: Image.Image, b: Image.Image) -> int:
    if a.size != b.size:
        return a.width * a.height
    diff = ImageChops.difference(a, b).convert("L").point(lambda v: 255 if v > 30 else 0)
    return diff.histogram()[255]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """`streamlit run app.py` on a free loopback port, with extra environment (and with `base_path`,
    under that path, as behind a proxy that serves the page at /<base_path>/); stopped by its own
    process id. If it dies or never answers /_stcore/health, the error carries its log."""

    def __init__(self, env: dict | None = None, target: str = "app.py", base_path: str = ""):
        self.port = free_port()
        self.base_path = base_path.strip("/")
        self.log = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", target, "--server.headless", "true", "--server.port",
             str(self.port), "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false"]
            + (["--server.baseUrlPath", self.base_path] if self.base_path else []),
            cwd=ROOT, env={**os.environ, **(env or {})}, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 60
        while time.time() < deadline and self.proc.poll() is None:
            try:
                if urllib.request.urlopen(f"{self.url}_stcore/health", timeout=1).read() == b"ok":
                    return
            except OSError:
                time.sleep(0.3)
        self.stop()
        self.log.seek(0)
        raise RuntimeError("streamlit did not come up: " + self.log.read().decode(errors="replace")[-2000:])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/" + (f"{self.base_path}/" if self.base_path else "")

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


class Chart:
    """Screenshots of the chart's box through DevTools: about twice as fast as Playwright's."""

    def __init__(self, page):
        self.page, self.cdp = page, page.context.new_cdp_session(page)
        self.locate()

    def locate(self):
        box = self.page.locator(CHART).first.bounding_box()
        self.clip = {"x": box["x"], "y": box["y"], "width": box["width"], "height": box["height"], "scale": 1}

    def shot(self) -> Image.Image:
        png = self.cdp.send("Page.captureScreenshot",
                            {"format": "png", "clip": self.clip, "optimizeForSpeed": True})
        return Image.open(io.BytesIO(base64.b64decode(png["data"]))).convert("RGB")

    def stale(self) -> bool:
        return self.page.locator(CHART).first.evaluate(STALE)


def wait_drawn(page, chart: Chart, timeout_s=90) -> None:
    page.wait_for_selector(CHART + " canvas", timeout=timeout_s * 1000)
    chart.locate()
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        if lit_pixels(chart.shot()) >= LIT:
            return
        page.wait_for_timeout(50)
    raise RuntimeError(f"the map showed fewer than {LIT} lit pixels within {timeout_s} s")


def settle(chart: Chart, quiet=3, timeout_s=30) -> Image.Image:
    """The chart once three screenshots in a row, 200 ms apart, agree and it is not stale."""
    last, same = chart.shot(), 0
    deadline = time.time() + timeout_s
    while same < quiet and time.time() < deadline:
        chart.page.wait_for_timeout(200)
        now = chart.shot()
        same = same + 1 if not chart.stale() and changed_pixels(last, now) == 0 else 0
        last = now
    return last


# Installed before any page script runs: the time of every WebGL draw call and of every
# WebSocket message, so a redraw is timed to the frame rather than to a screenshot poll.
PROBE = """
(() => {
  const probe = window.__probe = {lastDraw: 0, draws: 0, messages: []};
  for (const proto of [WebGLRenderingContext.prototype, WebGL2RenderingContext.prototype]) {
    for (const name of ["drawArrays", "drawElements", "drawArraysInstanced", "drawElementsInstanced"]) {
      const draw = proto[name];
      if (!draw) continue;
      proto[name] = function (...args) { probe.lastDraw = performance.now(); probe.draws++; return draw.apply(this, args); };
    }
  }
  const Socket = window.WebSocket;
  window.WebSocket = function (...args) {
    const socket = new Socket(...args);
    socket.addEventListener("message", e => probe.messages.push(
      [performance.now(), e.data.byteLength ?? e.data.size ?? e.data.length ?? 0]));
    return socket;
  };
  window.WebSocket.prototype = Socket.prototype;
  Object.assign(window.WebSocket, {CONNECTING: 0, OPEN: 1, CLOSING: 2, CLOSED: 3});
})();
"""
QUIET_MS = 400


def step(chart: Chart, slider, timeout_s=30, key: str = "ArrowRight") -> dict:
    """One date step: milliseconds from the key press to the deck's message arriving (the
    largest WebSocket message after the press: the rerun's deck JSON) and to the last WebGL
    draw before the map goes quiet for QUIET_MS, checked against a screenshot that must
    differ from the one before the step. Streamlit must no longer mark the chart stale."""
    page = chart.page
    before = settle(chart)
    slider.focus()
    t0 = page.evaluate("(() => { window.__probe.messages = []; return performance.now(); })()")
    draws0 = page.evaluate("window.__probe.draws")
    slider.press(key)
    deadline = time.perf_counter() + timeout_s
    while time.perf_counter() < deadline:
        page.wait_for_timeout(50)
        p = page.evaluate("({now: performance.now(), last: window.__probe.lastDraw, draws: window.__probe.draws,"
                          " messages: window.__probe.messages, script: document.querySelector("
                          "'[data-test-script-state]')?.getAttribute('data-test-script-state')})")
        # The rerun must have started (a message came) and ended: on a busy machine it can take
        # longer than QUIET_MS, and a redraw of the old deck while it runs is not the step.
        rerun_done = bool(p["messages"]) and p["script"] == "notRunning"
        if p["draws"] > draws0 and rerun_done and p["now"] - p["last"] > QUIET_MS and p["last"] > t0 \
                and not chart.stale():
            deck_at, deck_bytes = max(p["messages"], key=lambda m: m[1])
            changed = changed_pixels(before, chart.shot()) >= STEP_PIXELS
            return {"redraw_ms": round(p["last"] - t0) if changed else None,
                    "deck_arrived_ms": round(deck_at - t0), "deck_message_bytes": deck_bytes}
    return {"redraw_ms": None, "deck_arrived_ms": None, "deck_message_bytes": None}


IMAGE_CHIP = (130.55, 42.39, 130.635, 42.45)  # lon/lat box round the Tumangang yard


def import_images(target: str, count: int, folder: Path) -> list[str]:
    """`count` GeoTIFFs of random pixels (so their PNG levels do not compress) over IMAGE_CHIP, dated
    a quarter apart from 17 June 2024, imported into the workspace at `target`. Returns their dates."""
    import numpy as np
    import rasterio
    from rasterio.transform import from_bounds

    import pandas as pd

    from geo.imports.importer import read_file
    from geo.store.workspace import Workspace
    store, dates, rng = Workspace(target), [], np.random.default_rng(7)
    for i in range(count):
        date = pd.Timestamp("2024-06-17") + pd.DateOffset(months=3 * i)
        path = folder / f"bench_yard_{i}.tif"
        with rasterio.open(path, "w", driver="GTiff", width=1024, height=1024, count=3, dtype="uint8",
                           crs="EPSG:4326", transform=from_bounds(*IMAGE_CHIP, 1024, 1024)) as dst:
            dst.write(rng.integers(0, 255, (3, 1024, 1024), dtype=np.uint8))
            dst.update_tags(TIFFTAG_DATETIME=f"{date:%Y:%m:%d} 10:00:00")
        store.add(read_file(path, image_source="benchmark noise", image_licence="none"))
        dates.append(f"{date:%Y-%m-%d}")
    return dates


def measure(n: int, view: str = "sea", loads: int = 3, steps: int = 7, month: str = "2024-03",
            shot: str | None = None, present: bool = False, images: int = 0) -> dict:
    """Page-open and date-step timings with BENCH_TRACKS=n; `shot` saves a final screenshot there.
    With `present`, the steps are presenter mode's scene steps (→ through the scenes, then ←).
    With `images`, that many imported images of the Tumangang yard (see import_images)."""
    from playwright.sync_api import sync_playwright

    workspace = Path(tempfile.mkdtemp(prefix="bench-ws-"))
    image_dates = import_images(str(workspace / "ws.sqlite"), images, workspace) if images else []
    server = Server({"BENCH_TRACKS": str(n), "GEO_WORKSPACE": str(workspace / "ws.sqlite")})
    url = f"{server.url}?present=1" if present else f"{server.url}?view={view}&date={month}"
    out = {"case": "browser-scenes" if present else "browser", "n": n, "view": view, "month": month,
           "chromium": CHROMIUM, "page_errors": [], "images": image_dates,
           "loadavg_before": round(os.getloadavg()[0], 2)}
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1440, "height": 900})
            page.add_init_script(PROBE)
            page.on("pageerror", lambda e: out["page_errors"].append(str(e)[:200]))
            fetched = []  # (url, bytes) of every image the browser fetched from the server's media store
            page.on("requestfinished", lambda r: fetched.append((r.url, r.sizes()["responseBodySize"]))
                    if "/media/" in r.url else None)
            chart, opens = None, []
            for i in range(loads + 1):  # the first load warms the server's caches and is not counted
                t0 = time.perf_counter()
                page.goto(url)
                page.wait_for_selector(CHART, timeout=90_000)
                chart = chart or Chart(page)
                wait_drawn(page, chart)
                # The page reports its map's size and the server refits the camera in one more run:
                # a step timed before that would time the refit too.
                page.wait_for_selector('[data-testid="map-fitted"]:not([data-size=""])', state="attached",
                                       timeout=90_000)
                page.wait_for_selector('[data-test-script-state="notRunning"]', state="attached", timeout=90_000)
                if i:
                    opens.append(time.perf_counter() - t0)
            if present:  # the page's own keys step the scenes: forward to the last one, then back
                scenes = len(__import__("geo.data.dataset", fromlist=["load"]).load().scenes)
                keys = (["ArrowRight"] * (scenes - 1) + ["ArrowLeft"] * (scenes - 1)) * steps
                page.wait_for_timeout(2000)  # the map-size report and its rerun
                steps_seen = [step(chart, page.locator("body"), key=k) for k in keys[:steps]]
            else:
                if images:  # each place's latest image: a step within a quarter keeps the same one
                    page.get_by_text("latest by then").click()
                    page.wait_for_selector('[data-test-script-state="notRunning"]', state="attached",
                                           timeout=90_000)
                    settle(chart)
                slider = page.get_by_role("slider", name="Month")
                steps_seen = []
                for _ in range(steps):
                    fetched.clear()
                    done = step(chart, slider)
                    done["image_fetches"], done["image_bytes"] = len(fetched), sum(b for _, b in fetched)
                    steps_seen.append(done)
            if shot:
                page.screenshot(path=shot)
            browser.close()
    finally:
        server.stop()
        shutil.rmtree(workspace, ignore_errors=True)
    def median(key, values):
        done = [v[key] for v in values if v[key] is not None]
        return round(statistics.median(done)) if done else None

    out.update(open_ms=[round(t * 1000) for t in opens], open_median_ms=round(statistics.median(opens) * 1000),
               step_ms=[s["redraw_ms"] for s in steps_seen], step_median_ms=median("redraw_ms", steps_seen),
               step_deck_arrived_ms=[s["deck_arrived_ms"] for s in steps_seen],
               step_deck_arrived_median_ms=median("deck_arrived_ms", steps_seen),
               deck_message_bytes=median("deck_message_bytes", steps_seen),
               step_deck_message_bytes=[s["deck_message_bytes"] for s in steps_seen],
               step_image_fetches=[s.get("image_fetches") for s in steps_seen],
               step_image_bytes=[s.get("image_bytes") for s in steps_seen],
               loadavg_after=round(os.getloadavg()[0], 2))
    return out


if __name__ == "__main__":
    import argparse
    import json
    ap = argparse.ArgumentParser(prog="python -m bench.browser", description="page-open and date-step timings")
    ap.add_argument("n", nargs="?", type=int, default=100_000, help="synthetic track points (0: none)")
    ap.add_argument("--view", default="sea")
    ap.add_argument("--month", default="2024-03")
    ap.add_argument("--loads", type=int, default=3)
    ap.add_argument("--steps", type=int, default=7)
    ap.add_argument("--shot", default=None)
    ap.add_argument("--present", action="store_true", help="time presenter mode's scene steps instead")
    ap.add_argument("--images", type=int, default=0, help="imported images of the Tumangang yard (see import_images)")
    a = ap.parse_args()
    print(json.dumps(measure(a.n, view=a.view, month=a.month, loads=a.loads, steps=a.steps, shot=a.shot,
                             present=a.present, images=a.images)))
