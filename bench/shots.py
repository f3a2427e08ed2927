"""Screenshots of every presenter scene and the analyst views, at 1280×720 and 1920×1080, for
before/after comparisons: one streamlit server per checkout, one headless Chromium, each page
waited on until its map is drawn and its picture has stopped changing, saved as JPEG.

    python -m bench.shots OUT_DIR [--checkout PATH] [--prefix after] [--quality 80]
"""
from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from bench.browser import CHROMIUM, CHROMIUM_ARGS, Chart, Server, settle, wait_drawn

SIZES = [(1280, 720), (1920, 1080)]
SCENES = [f"S{i}" for i in range(1, 8)]
VIEWS = {"tumen": "2024-06", "sea": "2024-02", "rail": "2024-09", "front": "2025-03"}


def pages() -> list[tuple[str, str]]:
    out = [(f"scene-{s}", f"present=1&scene={s}") for s in SCENES]
    return out + [(f"analyst-{v}", f"date={d}&view={v}") for v, d in VIEWS.items()]


def run(out: Path, checkout: str | None, prefix: str, quality: int) -> list[Path]:
    from playwright.sync_api import sync_playwright

    out.mkdir(parents=True, exist_ok=True)
    workspace = Path(tempfile.mkdtemp(prefix="bench-shots-"))
    target = str(Path(checkout) / "app.py") if checkout else "app.py"
    server = Server({"GEO_WORKSPACE": str(workspace / "ws.sqlite")}, target=target)
    saved = []
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            for width, height in SIZES:
                page = browser.new_page(viewport={"width": width, "height": height})
                for name, query in pages():
                    page.goto(f"{server.url}?{query}")
                    chart = Chart(page)
                    wait_drawn(page, chart)
                    settle(chart)
                    path = out / f"{prefix}-{name}-{width}x{height}.jpg"
                    page.screenshot(path=str(path), type="jpeg", quality=quality)
                    saved.append(path)
                    print(path, flush=True)
                page.close()
            browser.close()
    finally:
        server.stop()
    return saved


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out", type=Path)
    ap.add_argument("--checkout", default=None, help="another checkout's app.py (say, before a change)")
    ap.add_argument("--prefix", default="after")
    ap.add_argument("--quality", type=int, default=80)
    a = ap.parse_args(argv)
    run(a.out, a.checkout, a.prefix, a.quality)


if __name__ == "__main__":
    main()
