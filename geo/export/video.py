"""Video for slides: the presenter's scenes (data/scenes.csv), or the months between two
dates, as MP4 (H.264) or GIF, rendered offline with matplotlib (no browser).

Each shot is the PNG export's slide (geo.export.slide_figure: the same records the map
draws, its legend, the month) with the scene's caption where the PNG has its footer; a
closing frame lists the sources: every claimant and outlet whose claims the shots showed,
the basemap and rail track, and the data version.

Encoding uses imageio with the ffmpeg binary that the imageio-ffmpeg wheel ships (libx264,
yuv420p, so PowerPoint, Keynote and browsers play it) and Pillow for GIF. Each shot is
rendered once; MP4 repeats it for `seconds_per_shot` at `fps`, GIF shows it once with that
duration.

`render(...)` and `write(...)` take `progress(fraction, message)`, called after every
rendered frame and while encoding, for a progress bar. No Streamlit here.
"""
from __future__ import annotations

import tempfile
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from geo.export import formats as export
from geo.model import timeline
from geo.render import layers
from geo.safetext import plain_text_figures
from geo.view import claims_table, records
from geo.view import ships as ship_view

SIZES = {"1280x720": (1280, 720), "1920x1080": (1920, 1080)}
FORMATS = ("mp4", "gif")
SECONDS_PER_SHOT = 4.0
CLOSING_SECONDS = 6.0
FPS = 10
Progress = Callable[[float, str], None]


@dataclass(frozen=True)
class Shot:
    state: records.MapState
    heading: str
    caption: str


# --- what to show ------------------------------------------------------------------------------------

def scene_ids(spec: str | None, available: list[str]) -> list[str]:
    """'S1-S7', 'S2,S5', 'S3' or None (all) as scene ids in file order; ValueError names a bad one."""
    if not spec:
        return list(available)
    chosen = []
    for part in (p.strip() for p in spec.split(",") if p.strip()):
        if "-" in part:
            first, last = (x.strip() for x in part.split("-", 1))
            for end in (first, last):
                if end not in available:
                    raise ValueError(f"unknown scene {end!r}; scenes are {', '.join(available)}")
            i, j = available.index(first), available.index(last)
            if i > j:
                raise ValueError(f"scene range {part!r} runs backwards")
            chosen += available[i:j + 1]
        elif part in available:
            chosen.append(part)
        else:
            raise ValueError(f"unknown scene {part!r}; scenes are {', '.join(available)}")
    return chosen


def scene_shots(data, spec: str | None = None, present: bool = True, filters=None) -> list[Shot]:
    """One shot per scene: its month, view, layers and caption, as presenter mode shows it."""
    scenes = data.scenes.set_index("id", drop=False)
    shots = []
    for sid in scene_ids(spec, list(scenes["id"])):
        s = scenes.loc[sid]
        state = records.MapState(date=timeline.month_end(s["date"]), layers=tuple(s["layers"]), view=s["view"],
                                present=present, focus=records.scene_focus(data.areas, s), topic=s["topic"],
                                **({"filters": filters} if filters is not None else {}))
        shots.append(Shot(state, f"{sid} {s['title']}", s["caption"]))
    return shots


def month_shots(data, first: str, last: str, view: str = "overview", layer_ids=None, mode: str = timeline.CUMULATIVE,
                present: bool = True, filters=None, snapshot=None) -> list[Shot]:
    """One shot per month from `first` to `last` (YYYY-MM), captioned with that month's events
    from events.csv and the workspace's (`snapshot`) events files (their titles, as logged; an
    imported one names its file)."""
    if pd.Period(first, "M") > pd.Period(last, "M"):
        raise ValueError(f"--from {first} is after --to {last}")
    if view not in layers.style.VIEWS:
        raise ValueError(f"unknown view {view!r}")
    chosen = tuple(layer_ids) if layer_ids else records.DEFAULT_LAYERS
    events = claims_table.events_frame(data, snapshot).sort_values("date", kind="stable")
    events = events.assign(title=[f"{t} (your file {f})" if f else t for t, f in zip(events["title"],
                                                                                    events["source_file"])])
    shots = []
    for month in timeline.months(f"{first}-01", f"{last}-01"):
        end = timeline.month_end(f"{month}-01")
        these = events[(events["date"] >= timeline.month_start(end)) & (events["date"] <= end)]
        titles = list(these["title"])
        caption = ("This month: " + "; ".join(titles[:3]) + (f"; and {len(titles) - 3} more." if len(titles) > 3
                                                              else ".")) if titles else \
            "No event in the log this month; the map shows the claims known by its end."
        state = records.MapState(date=end, mode=mode, layers=chosen, view=view, present=present,
                                **({"filters": filters} if filters is not None else {}))
        shots.append(Shot(state, f"{end:%B %Y}", caption))
    return shots


# --- frames ------------------------------------------------------------------------------------------

def parse_size(text: str) -> tuple[int, int]:
    if text not in SIZES:
        raise ValueError(f"size {text!r}: use one of {', '.join(SIZES)}")
    return SIZES[text]


def figure_rgb(fig) -> np.ndarray:
    fig.canvas.draw()
    return np.asarray(fig.canvas.buffer_rgba())[:, :, :3].copy()


def shot_frame(data, shot: Shot, size: tuple[int, int], snapshot=None, images=None,
               image_mode: str = "month", ships=None) -> np.ndarray:
    width, height = size
    dpi = width / 16  # always a 16 x 9 inch slide: 1280 px at 80 dpi, 1920 px at 120 dpi
    # map sizes in proportion to the frame: 1920 px frames draw what 1280 px frames do, 1.5x larger
    fig, _ = export.slide_figure(data, shot.state, snapshot, width, height, dpi, heading=shot.heading,
                                 caption=shot.caption, px_scale=width / 1280, images=images, image_mode=image_mode,
                                 ships=ships)
    return figure_rgb(fig)


@plain_text_figures
def closing_frame(data, shots: list[Shot], size: tuple[int, int], snapshot=None, ships=None) -> np.ndarray:
    """Every claimant and outlet behind the shots, the basemap and track, and the data version; and
    when a shot drew detections in the analyst's tracks, that they are derived from them, apart."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    claimants, outlets, detections = set(), set(), 0
    for shot in shots:
        meta = export.metadata(data, shot.state, snapshot, ships=ships)
        claimants |= set(meta["claimants"])
        outlets |= set(meta["outlets"])
        detections += meta.get("detections", {}).get("count", 0)
    width, height = size
    dpi = width / 16
    fig = Figure(figsize=(16, 9), dpi=dpi, facecolor="white")
    FigureCanvasAgg(fig)
    fig.text(0.03, 0.94, f"{export.TITLE}: sources", fontsize=22, weight="bold", va="center")
    last = max(s.state.date for s in shots)
    fig.text(0.03, 0.895, f"Claims known by {last:%d %B %Y} on the maps of this video, as published by the outlets. "
             "Every figure is a claim by the named claimant; nothing was averaged.", fontsize=11, va="center",
             color="#333")
    body = [("Claims from", sorted(claimants)), ("Outlets", sorted(outlets))]
    text = "\n\n".join(f"{label} ({len(items)}): " + "; ".join(items) + "." for label, items in body)
    if detections:
        text += f"\n\nDetections in the analyst's tracks ({detections} drawn over the slides): {ship_view.EXPORT_NOTE}"
    # the largest type (14 pt down to 7) at which the listing fits between heading and credit
    for fontsize in np.arange(14, 6.5, -0.5):
        wrap = int(153 * 13 / fontsize)  # characters per line across 94 % of a 16-inch slide
        lines = []
        for para in text.split("\n\n"):
            lines += textwrap.wrap(para, wrap) + [""]
        if len(lines) * fontsize * 1.35 <= 0.76 * 9 * 72:
            break
    fig.text(0.03, 0.85, "\n".join(lines).rstrip(), fontsize=fontsize, va="top", ha="left", color="#111",
             linespacing=1.35)
    fig.text(0.03, 0.05, f"{export.NATURAL_EARTH}. Data version {export.version(data, snapshot)}. "
             "Every source URL is in the CSV export and the evidence panel.", fontsize=9, va="bottom",
             color="#333")
    return figure_rgb(fig)


def render(data, shots: list[Shot], size: tuple[int, int] = SIZES["1280x720"], snapshot=None,
           progress: Progress | None = None, images=None, image_mode: str = "month", ships=None) -> list[np.ndarray]:
    """One image per shot, then the closing frame. `progress(fraction, message)` after each.
    `images` (geo.view.imagery.Imagery) and the detections in `ships` (geo.view.ships.Findings) are
    drawn in the shots whose layers include them."""
    if not shots:
        raise ValueError("nothing to render: no scenes or months chosen")
    total = len(shots) + 1
    frames = []
    for i, shot in enumerate(shots):
        frames.append(shot_frame(data, shot, size, snapshot, images, image_mode, ships))
        if progress:
            progress((i + 1) / total * 0.9, f"rendered {shot.heading} ({i + 1}/{len(shots)})")
    frames.append(closing_frame(data, shots, size, snapshot, ships))
    if progress:
        progress(0.9, "rendered the sources frame")
    return frames


# --- encoding ----------------------------------------------------------------------------------------

def frame_count(fmt: str, shots: int, fps: int = FPS, seconds_per_shot: float = SECONDS_PER_SHOT,
                closing_seconds: float = CLOSING_SECONDS) -> int:
    """Frames in the file: GIF one per shot plus the closing frame; MP4 each held for its seconds."""
    if fmt == "gif":
        return shots + 1
    return shots * round(seconds_per_shot * fps) + round(closing_seconds * fps)


def encode(fmt: str, frames: list[np.ndarray], path: Path, fps: int = FPS, seconds_per_shot: float = SECONDS_PER_SHOT,
           closing_seconds: float = CLOSING_SECONDS, progress: Progress | None = None) -> None:
    import imageio.v2 as imageio

    path = Path(path)
    if fmt == "gif":
        import imageio.v3 as iio
        durations = [int(seconds_per_shot * 1000)] * (len(frames) - 1) + [int(closing_seconds * 1000)]
        iio.imwrite(path, np.stack(frames), extension=".gif", duration=durations, loop=0)
    elif fmt == "mp4":
        holds = [round(seconds_per_shot * fps)] * (len(frames) - 1) + [round(closing_seconds * fps)]
        # macro_block_size 8: 1080 is not a multiple of 16, and ffmpeg would otherwise be asked to resize
        with imageio.get_writer(path, format="FFMPEG", mode="I", fps=fps, codec="libx264", pixelformat="yuv420p",
                                quality=8, macro_block_size=8,
                                output_params=["-preset", "veryfast", "-tune", "stillimage",
                                               "-movflags", "+faststart"]) as writer:
            done, total = 0, sum(holds)
            for frame, hold in zip(frames, holds):
                for _ in range(hold):
                    writer.append_data(frame)
                done += hold
                if progress:
                    progress(0.9 + 0.1 * done / total, f"encoding MP4 ({done}/{total} frames)")
    else:
        raise ValueError(f"unknown video format {fmt!r}; use one of {', '.join(FORMATS)}")
    if progress:
        progress(1.0, f"wrote {fmt.upper()}")


def write(fmt: str, data, shots: list[Shot], path: Path | str, size: tuple[int, int] = SIZES["1280x720"],
          snapshot=None, progress: Progress | None = None, images=None, image_mode: str = "month", ships=None,
          **timing) -> Path:
    """Render the shots and encode them to `path`."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown video format {fmt!r}; use one of {', '.join(FORMATS)}")
    frames = render(data, shots, size, snapshot, progress, images, image_mode, ships)
    encode(fmt, frames, Path(path), progress=progress, **timing)
    return Path(path)


def to_bytes(fmt: str, data, shots: list[Shot], size: tuple[int, int] = SIZES["1280x720"], snapshot=None,
             progress: Progress | None = None, images=None, image_mode: str = "month", ships=None,
             **timing) -> bytes:
    with tempfile.TemporaryDirectory(prefix="geo-video-") as tmp:
        path = write(fmt, data, shots, Path(tmp) / f"video.{fmt}", size, snapshot, progress, images, image_mode,
                     ships, **timing)
        return path.read_bytes()
