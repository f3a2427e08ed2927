"""Time a one-month date step the way a person sees it: from the key press to the map redrawn.

Starts `streamlit run app.py` on a free loopback port, opens it in headless Chromium at
July 2024, then presses → and ← in turn (July ↔ August 2024: the Kursk salient and the
Brovary strike appear in August, so every step changes the map). "Redrawn" means the
chart's screenshot differs from the one before the key press; screenshots are polled as
fast as Chromium takes them (~30-60 ms each here), which bounds the resolution. Prints one
JSON line with every step and the median.

    python tools/date_step_timing.py [--steps 9] [--query "view=sea&layers=basemap,routes"]
        [--chromium /usr/bin/chromium]
"""
import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]  # reuse the browser tests' server and page helpers
from test_browser import CHART, CHROMIUM_ARGS, Server, open_app  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=9)
    ap.add_argument("--query", default="", help="extra URL parameters, e.g. view=sea")
    ap.add_argument("--chromium", default=os.environ.get("CHROMIUM", "/usr/bin/chromium"))
    args = ap.parse_args()
    from playwright.sync_api import sync_playwright
    server = Server()
    steps_ms = []
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=args.chromium, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1440, "height": 1000})
            open_app(page, server.url, "&".join(q for q in ("date=2024-07", args.query) if q))
            chart = page.locator(CHART).first
            page.locator("h1").first.click()  # focus the page so arrows reach the shortcuts
            for i in range(args.steps):
                before = chart.screenshot()
                t0 = time.perf_counter()
                page.keyboard.press("ArrowRight" if i % 2 == 0 else "ArrowLeft")
                while chart.screenshot() == before:
                    if time.perf_counter() - t0 > 30:
                        raise SystemExit("error: the map did not change within 30 s of a date step")
                steps_ms.append(round((time.perf_counter() - t0) * 1000))
                page.wait_for_timeout(1500)  # let the rerun settle before the next step
            browser.close()
    finally:
        server.stop()
    print(json.dumps({"query": args.query, "steps_ms": steps_ms, "median_ms": statistics.median(steps_ms)}))


if __name__ == "__main__":
    main()
