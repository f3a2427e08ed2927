"""Place names drawn once into one image, which the map stamps with deck.gl's IconLayer.

A TextLayer with a background box is two programs of its own (glyphs and boxes), and software
WebGL compiles each at the first frame, about half a second apiece on the machines analysts
meet in the field. Here each name is drawn with its white box into an atlas at twice the size
it is shown, so it stays sharp on high-density screens; the map needs one image program.

The glyphs are DejaVu Sans, the font matplotlib ships (and the slide export uses), so a name
has the same width here, in geo.render.labels' placement and on every machine.
"""
from __future__ import annotations

import base64
import io
from dataclasses import dataclass
from functools import lru_cache

from matplotlib import font_manager
from PIL import Image, ImageDraw, ImageFont

SCALE = 2  # atlas pixels per screen pixel
PAD_X, PAD_Y = 3, 1  # screen pixels of box around the text
LINE_EM = 1.2  # the box's text height, in ems
ATLAS_WIDTH = 1024


@lru_cache(maxsize=8)
def font(px: float) -> ImageFont.FreeTypeFont:
    path = font_manager.findfont(font_manager.FontProperties(family="DejaVu Sans"), fallback_to_default=True)
    return ImageFont.truetype(path, round(px * SCALE))


def text_width(text: str, font_px: float) -> float:
    """The name's advance in screen pixels, without its box."""
    return font(font_px).getlength(text) / SCALE


def box_size(text: str, font_px: float) -> tuple[float, float]:
    """Width and height, in screen pixels, of the name with its box, as the map draws it."""
    return text_width(text, font_px) + 2 * PAD_X, LINE_EM * font_px + 2 * PAD_Y


@dataclass(frozen=True)
class Atlas:
    url: str  # a PNG as a data: URL, so the offline page and the export need no server
    mapping: dict  # key -> {x, y, width, height, anchorX, anchorY} in atlas pixels, anchored top left


@lru_cache(maxsize=16)
def atlas(names: tuple[tuple[str, str], ...], font_px: float, text_rgba: tuple, box_rgba: tuple) -> Atlas:
    """An atlas of (key, text) names, each in its box, packed in rows."""
    face = font(font_px)
    boxes = []
    for key, text in names:
        w, h = box_size(text, font_px)
        boxes.append((key, text, round(w * SCALE), round(h * SCALE)))
    mapping, x, y, row = {}, 0, 0, 0
    for key, _, w, h in boxes:
        if x + w > ATLAS_WIDTH:
            x, y, row = 0, y + row + 2, 0
        mapping[key] = {"x": x, "y": y, "width": w, "height": h, "anchorX": 0, "anchorY": 0}
        x, row = x + w + 2, max(row, h)
    image = Image.new("RGBA", (ATLAS_WIDTH, max(1, y + row)), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    for key, text, w, h in boxes:
        m = mapping[key]
        draw.rectangle([m["x"], m["y"], m["x"] + w - 1, m["y"] + h - 1], fill=tuple(box_rgba))
        # Centre the line's ascent and descent in the box, as the TextLayer did.
        ascent, descent = face.getmetrics()
        top = m["y"] + (h - (ascent + descent)) / 2
        draw.text((m["x"] + PAD_X * SCALE, top), text, font=face, fill=tuple(text_rgba))
    # Two colours, their blend at the glyphs' edges, and clear: sixteen palette entries draw it
    # unchanged at a third of the size, and the map is sent it on every date step.
    buffer = io.BytesIO()
    image.quantize(colors=16, method=Image.Quantize.FASTOCTREE).save(buffer, "PNG", optimize=True)
    return Atlas("data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii"), mapping)
