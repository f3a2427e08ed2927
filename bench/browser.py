"""Browser timings with BENCH_TRACKS=N synthetic tracks, measured the way
shared/tools/page_timing.py measures a page load: a map counts as drawn once the chart's
screenshot has enough "lit" pixels (differing from its most common colour by more than 30
in a channel). Here a date step counts as redrawn once the chart's screenshot differs from
the one before the step in at least STEP_PIXELS pixels while Streamlit no longer marks the
chart stale. Each poll takes a screenshot of the chart's box (DevTools captureScreenshot,
PNG, ~50 ms here), so times carry that poll's granularity (reported as poll_ms). Each poll
also notes when the page's text first changes (step_text_ms): the rerun has reached the
browser; what follows until the redraw is the frontend parsing the deck and drawing it.

    python -m bench.browser [N] [--view overview] [--month 2024-07] [--steps 7] [--shot page.png]

N = 0 times the bundled data alone. The browser tests reuse Server and the Chromium flags.
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
CHART = '[data-testid="stDeckGlJsonChart"]'
MAIN = '[data-testid="stMain"]'
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
    """`streamlit run app.py` on a free loopback port, with extra environment; stopped by its own
    process id. If it dies or never answers /_stcore/health, the error carries its log."""

    def __init__(self, env: dict | None = None, target: str = "app.py"):
        self.port = free_port()
        self.log = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", target, "--server.headless", "true", "--server.port",
             str(self.port), "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false"],
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
        return f"http://127.0.0.1:{self.port}/"

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


def step(chart: Chart, slider, timeout_s=30) -> tuple[float | None, float | None, list[float]]:
    """Seconds from the key press to new text on the page (the rerun has reached the browser)
    and to a redrawn chart, and the poll intervals seen."""
    before = settle(chart)
    main = chart.page.locator(MAIN).first
    text = main.inner_text()
    slider.focus()
    t0 = time.perf_counter()
    slider.press("ArrowRight")
    polls, last, texted = [], t0, None
    while time.perf_counter() - t0 < timeout_s:
        now = chart.shot()
        if texted is None and main.inner_text() != text:
            texted = time.perf_counter() - t0
        polls.append(time.perf_counter() - last)
        last = time.perf_counter()
        if changed_pixels(before, now) >= STEP_PIXELS and not chart.stale():
            return texted, last - t0, polls
    return texted, None, polls


def measure(n: int, view: str = "sea", loads: int = 3, steps: int = 7, month: str = "2024-03",
            shot: str | None = None) -> dict:
    """Page-open and date-step timings with BENCH_TRACKS=n; `shot` saves a final screenshot there."""
    from playwright.sync_api import sync_playwright

    workspace = Path(tempfile.mkdtemp(prefix="bench-ws-"))
    server = Server({"BENCH_TRACKS": str(n), "GEO_WORKSPACE": str(workspace / "ws.sqlite")})
    url = f"{server.url}?view={view}&date={month}"
    out = {"case": "browser", "n": n, "view": view, "month": month, "chromium": CHROMIUM, "page_errors": [],
           "loadavg_before": round(os.getloadavg()[0], 2)}
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1440, "height": 900})
            page.on("pageerror", lambda e: out["page_errors"].append(str(e)[:200]))
            chart, opens = None, []
            for i in range(loads + 1):  # the first load warms the server's caches and is not counted
                t0 = time.perf_counter()
                page.goto(url)
                page.wait_for_selector(CHART, timeout=90_000)
                chart = chart or Chart(page)
                wait_drawn(page, chart)
                if i:
                    opens.append(time.perf_counter() - t0)
            slider = page.get_by_role("slider", name="Month")
            texts, redraws, polls = [], [], []
            for _ in range(steps):
                texted, took, seen = step(chart, slider)
                texts.append(texted)
                redraws.append(took)
                polls += seen
            if shot:
                page.screenshot(path=shot)
            browser.close()
    finally:
        server.stop()
        shutil.rmtree(workspace, ignore_errors=True)
    def ms(values):
        return [None if v is None else round(v * 1000) for v in values]

    def median_ms(values):
        done = [v for v in values if v is not None]
        return round(statistics.median(done) * 1000) if done else None

    out.update(open_ms=ms(opens), open_median_ms=median_ms(opens),
               step_ms=ms(redraws), step_median_ms=median_ms(redraws),
               step_text_ms=ms(texts), step_text_median_ms=median_ms(texts),
               poll_ms=round(statistics.median(polls) * 1000) if polls else None,
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
    a = ap.parse_args()
    print(json.dumps(measure(a.n, view=a.view, month=a.month, loads=a.loads, steps=a.steps, shot=a.shot)))
