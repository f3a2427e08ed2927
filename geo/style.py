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
    sea: tuple[int, int, int]
    land: tuple[int, int, int, int]
    land_focus: dict  # iso3 -> RGBA for the countries the story runs through
    border: tuple[int, int, int, int]
    mode: dict  # route mode -> RGB
    family: dict  # claim family -> RGB
    text: tuple[int, int, int, int]
    text_outline: tuple[int, int, int, int]
    label_size: int
    line_scale: float


# Arcs never take a leg's colour (rail vermillion, sea blue, air purple): a troops arc must not read as a sea lane.
FAMILY_COLOURS = {
    "munitions": (35, 35, 35), "missiles": OKABE_ITO["sky"], "troops": (117, 80, 170),
    "money": OKABE_ITO["green"], "rail": OKABE_ITO["vermillion"], "sea": OKABE_ITO["blue"],
    "industry": OKABE_ITO["orange"], "reverse": OKABE_ITO["green"],
}
MODE_COLOURS = {"rail": OKABE_ITO["vermillion"], "sea": OKABE_ITO["blue"], "air": OKABE_ITO["purple"],
                "road": OKABE_ITO["orange"]}

ANALYST = Palette(
    name="analyst",
    background=(246, 246, 243),
    sea=(186, 211, 232),
    land=(236, 233, 225, 255),
    land_focus={"PRK": (246, 226, 196, 255), "RUS": (229, 227, 236, 255), "UKR": (230, 239, 210, 255)},
    border=(150, 150, 150, 255),
    mode=MODE_COLOURS, family=FAMILY_COLOURS,
    text=(30, 30, 30, 255), text_outline=(255, 255, 255, 230), label_size=13, line_scale=1.0,
)
PRESENTER = Palette(
    name="presenter",
    background=(255, 255, 255),
    sea=(170, 205, 235),
    land=(228, 228, 228, 255),
    land_focus={"PRK": (250, 225, 185, 255), "RUS": (238, 238, 245, 255), "UKR": (220, 240, 195, 255)},
    border=(60, 60, 60, 255),
    mode=MODE_COLOURS, family=FAMILY_COLOURS,
    text=(0, 0, 0, 255), text_outline=(255, 255, 255, 255), label_size=20, line_scale=1.6,
)

# Legs are drawn in straight pieces, which overlap at every bend: a translucent colour would
# darken there. So each leg's colour is worked out once as it would look at its alpha over the
# ground it crosses (the land, or for a sea leg the sea) and drawn opaque. The band of a leg's
# highest claim is the leg's colour at BAND_ALPHA.
BAND_ALPHA = 70


def over_ground(rgb, alpha: int, mode: str, p: "Palette") -> tuple[int, int, int]:
    """`rgb` at `alpha` over the land, or over the sea for a sea leg, as one opaque colour."""
    under = p.sea if mode == "sea" else p.land[:3]
    return tuple(round(c * alpha / 255 + u * (1 - alpha / 255)) for c, u in zip(rgb, under))


# Dashes (dash, gap) in line widths: reported legs solid, inferred dashed.
DASH = {"reported": (0, 0), "inferred": (4, 3)}
# Route width in pixels: a leg with no reported volume is a hairline; others scale with
# the square root of volume relative to the largest figure of the same metric.
MIN_WIDTH, MAX_WIDTH, NO_VOLUME_WIDTH = 3.0, 12.0, 1.5


# Label placement (text anchor, pixel offset) for places that crowd each other when zoomed in.
LABEL_PLACEMENT = {
    "LOC_TUMANGANG_STN": ("end", [-10, -4]),
    "LOC_KHASAN_STN": ("start", [10, -8]),
    "LOC_FRIENDSHIP_BRIDGE": ("start", [10, 18]),
    "LOC_VLADIVOSTOK": ("start", [10, 0]),
    "LOC_USSURIYSK": ("middle", [0, -10]),
    # Kyiv and Brovary are 20 km apart: their names go to either side. Toropets and the
    # cosmodrome sit at the rail view's edges: their names point inwards.
    "LOC_KYIV_SVIATOSHYNSKYI": ("end", [-10, 0]),
    "LOC_BROVARY": ("start", [10, 0]),
    "LOC_TOROPETS": ("start", [10, 0]),
    "LOC_VOSTOCHNY_COSMODROME": ("end", [-10, 0]),
}


@dataclass(frozen=True)
class View:
    """A camera preset, and the places worth a label from it (None: every place in view).
    Each preset frames all its labelled places on the analyst's and the presenter's map in a
    1440-pixel-wide window (tests/test_layers.py checks it)."""

    label: str
    longitude: float
    latitude: float
    zoom: float
    labels: tuple[str, ...] | None = None
    detailed: bool = False  # draw the 1:10m Tumen basemap
    pitch: float = 0


VIEWS = {
    "overview": View("Overview", 81.5, 51.0, 2.0, labels=(
        "LOC_RAJIN_PORT", "LOC_VLADIVOSTOK", "LOC_TIKHORETSK", "LOC_KURSK", "LOC_PYONGYANG", "LOC_TOROPETS",
        "LOC_KYIV_SVIATOSHYNSKYI", "LOC_USSURIYSK", "LOC_MOZDOK")),
    "tumen": View("Tumen crossing", 130.47, 42.33, 9.3, detailed=True),
    "sea": View("Sea route", 131.42, 42.8, 6.9, detailed=True, labels=(
        "LOC_RAJIN_PORT", "LOC_DUNAI_PORT", "LOC_VOSTOCHNY_PORT", "LOC_VLADIVOSTOK", "LOC_CHONGJIN",
        "LOC_KHASAN_STN", "LOC_USSURIYSK")),
    "rail": View("Russian rail corridor", 81.8, 50.6, 2.15, labels=(
        "LOC_USSURIYSK", "LOC_TIKHORETSK", "LOC_MOZDOK", "LOC_TOROPETS", "LOC_KURSK",
        "LOC_VOSTOCHNY_COSMODROME")),  # not Yegorlyk: at this zoom its name sits on Tikhoretsk's
    "front": View("The front", 35.5, 48.9, 5.2, labels=(
        "LOC_KURSK", "LOC_SUDZHA", "LOC_SUMY", "LOC_KHARKIV", "LOC_KYIV_SVIATOSHYNSKYI", "LOC_DONETSK",
        "LOC_VUHLEDAR", "LOC_ZAPORIZHZHIA", "LOC_TIKHORETSK", "LOC_YEGORLYK", "LOC_BROVARY")),
}


PRESENTER_ZOOM = 0.45
# The map size (width, height in pixels) each preset's zoom frames its places for.
REFERENCE_MAP = (726, 600)
# The presenter's map in a 1280×720 window, measured: the size scenes are framed for until
# the page reports its own.
PRESENTER_MAP = (978, 530)


def palette(present: bool) -> Palette:
    return PRESENTER if present else ANALYST
