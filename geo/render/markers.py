"""Round markers stamped from a small image, as the place names are (geo.render.labelatlas).

Each layer type is one more program for software WebGL to build before the first frame, about
a third of a second apiece on the machines analysts meet in the field (docs/performance.md).
Drawn as icons, the places, events, strikes, railcar sightings and the dots that round the
bends of thick lines share the place names' program instead of needing a scatterplot's.

A stroked marker is drawn per radius, at twice its screen size, so its outline keeps the same
width in pixels at every radius, centred on the radius as deck.gl's ScatterplotLayer drew it.
The dots at bends have no outline: one white disc, tinted per record, serves every radius.
"""
from __future__ import annotations

import base64
import io
from functools import lru_cache

from PIL import Image, ImageDraw

from geo.render.labelatlas import ATLAS_WIDTH, Atlas

SCALE = 2  # atlas pixels per screen pixel
SUPERSAMPLE = 4  # drawn this much larger again, then reduced: smooth edges
DISC = "disc"  # the white disc of the tinted dots
DISC_PX = 48  # its diameter in the atlas; the GPU's mipmaps shrink it


def quantize(radius: float) -> float:
    """Radii to half a pixel: a marker per radius, and no difference anyone can see."""
    return round(radius * 2) / 2


def icon_key(radius: float) -> str:
    return f"r{quantize(radius):g}"


def icon_size(radius: float, line_px: float) -> float:
    """The marker's height on screen: its outline is centred on the radius."""
    return quantize(radius) * 2 + line_px


def _disc(diameter: int, fill: tuple, line: tuple = (0, 0, 0, 0), line_px: float = 0) -> Image.Image:
    big = diameter * SUPERSAMPLE
    image = Image.new("RGBA", (big, big), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)  # writes, does not blend: the fill replaces the outline inside
    draw.ellipse((0, 0, big - 1, big - 1), fill=tuple(line if line_px else fill))
    inset = line_px * SCALE * SUPERSAMPLE
    if line_px:
        draw.ellipse((inset, inset, big - 1 - inset, big - 1 - inset), fill=tuple(fill))
    return image.resize((diameter, diameter), Image.Resampling.BOX)


@lru_cache(maxsize=64)
def atlas(fill: tuple, line: tuple, line_px: float, radii: tuple[float, ...]) -> Atlas:
    """A marker filled `fill` with a `line_px` outline for each radius (screen pixels), keyed by
    icon_key and anchored at its centre."""
    return _sheet({icon_key(r): (_disc(round(icon_size(r, line_px) * SCALE), fill, line, line_px), False)
                   for r in sorted({quantize(r) for r in radii})})


@lru_cache(maxsize=1)
def disc() -> Atlas:
    """The white DISC, which the map tints per record."""
    return _sheet({DISC: (_disc(DISC_PX, (255, 255, 255, 255)), True)})


def _sheet(images: dict[str, tuple[Image.Image, bool]]) -> Atlas:
    mapping, x, y, row = {}, 0, 0, 0
    for key, (image, mask) in images.items():
        if x + image.width > ATLAS_WIDTH:
            x, y, row = 0, y + row + 2, 0
        mapping[key] = {"x": x, "y": y, "width": image.width, "height": image.height,
                        "anchorX": image.width / 2, "anchorY": image.height / 2, "mask": mask}
        x, row = x + image.width + 2, max(row, image.height)
    # At least a pixel: a layer whose records any date can show are none still needs an image.
    sheet = Image.new("RGBA", (max([1] + [m["x"] + m["width"] for m in mapping.values()]), max(1, y + row)),
                      (0, 0, 0, 0))
    for key, (image, _) in images.items():
        sheet.paste(image, (mapping[key]["x"], mapping[key]["y"]))
    buffer = io.BytesIO()  # two colours and their blends: sixteen palette entries hold them (see geo.render.labelatlas)
    sheet.quantize(colors=16, method=Image.Quantize.FASTOCTREE).save(buffer, "PNG", optimize=True)
    return Atlas("data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii"), mapping)
