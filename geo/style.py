"""Colours, widths and camera presets: everything about how the map looks, in one place.

Two palettes: the analyst palette and a presenter palette with higher contrast and
larger type. Both use Okabe-Ito hues, which stay apart for the common forms of colour
blindness; confidence is carried by dash and width too, so the map also reads in greyscale.
"""
from __future__ import annotations

from dataclasses import dataclass

# Okabe-Ito: orange, sky blue, bluish green, yellow, blue, vermillion, reddish purple.
OKABE_ITO = {
    "orange": (230, 159, 0), "sky": (86, 180, 233), "green": (0, 158, 115), "yellow": (240, 228, 66),
    "blue": (0, 114, 178), "vermillion": (213, 94, 0), "purple": (204, 121, 167), "black": (0, 0, 0),
}


@dataclass(frozen=True)
class Palette:
    name: str
    background: tuple[int, int, int]
    land: tuple[int, int, int, int]
    land_focus: dict  # iso3 -> RGBA for the countries the story runs through
    border: tuple[int, int, int, int]
    mode: dict  # route mode -> RGB
    family: dict  # claim family -> RGB
    no_volume: tuple[int, int, int]
    text: tuple[int, int, int, int]
    text_outline: tuple[int, int, int, int]
    label_size: int
    line_scale: float


FAMILY_COLOURS = {
    "munitions": OKABE_ITO["vermillion"], "missiles": OKABE_ITO["purple"], "troops": OKABE_ITO["blue"],
    "money": OKABE_ITO["green"], "rail": OKABE_ITO["vermillion"], "sea": OKABE_ITO["blue"],
    "industry": OKABE_ITO["orange"], "reverse": OKABE_ITO["green"],
}
MODE_COLOURS = {"rail": OKABE_ITO["vermillion"], "sea": OKABE_ITO["blue"], "air": OKABE_ITO["purple"],
                "road": OKABE_ITO["orange"]}

ANALYST = Palette(
    name="analyst",
    background=(246, 246, 243),
    land=(226, 224, 218, 255),
    land_focus={"PRK": (238, 226, 206, 255), "RUS": (222, 226, 232, 255), "UKR": (232, 236, 218, 255)},
    border=(150, 150, 150, 255),
    mode=MODE_COLOURS, family=FAMILY_COLOURS, no_volume=(120, 120, 120),
    text=(30, 30, 30, 255), text_outline=(255, 255, 255, 230), label_size=13, line_scale=1.0,
)
PRESENTER = Palette(
    name="presenter",
    background=(255, 255, 255),
    land=(215, 215, 215, 255),
    land_focus={"PRK": (250, 235, 205, 255), "RUS": (205, 220, 240, 255), "UKR": (225, 240, 200, 255)},
    border=(60, 60, 60, 255),
    mode=MODE_COLOURS, family=FAMILY_COLOURS, no_volume=(80, 80, 80),
    text=(0, 0, 0, 255), text_outline=(255, 255, 255, 255), label_size=20, line_scale=1.6,
)

# Dashes (dash, gap) in line widths: reported legs solid, inferred dashed.
DASH = {"reported": (0, 0), "inferred": (4, 3)}
# Route width in pixels: a leg with no reported volume is a hairline; others scale with
# the square root of volume relative to the largest figure of the same metric.
MIN_WIDTH, MAX_WIDTH, NO_VOLUME_WIDTH = 3.0, 16.0, 1.5


@dataclass(frozen=True)
class View:
    label: str
    longitude: float
    latitude: float
    zoom: float
    pitch: float = 0


VIEWS = {
    "overview": View("Overview", 88.0, 50.0, 2.3),
    "tumen": View("Tumen crossing", 130.55, 42.36, 10.0),
    "sea": View("Sea route", 131.6, 42.55, 7.2),
    "rail": View("Russian rail corridor", 86.0, 52.0, 2.9),
    "front": View("The front", 35.5, 49.6, 5.4),
}


def palette(present: bool) -> Palette:
    return PRESENTER if present else ANALYST
