"""What an image file claims, read from its first bytes with the standard library alone.

A TIFF's first directory (size, georeference tags, where its strips or tiles lie), a PNG's IHDR
and a JPEG's frame header are enough to refuse a pixel bomb (a small file claiming 100000 x
100000 pixels), a truncated or damaged TIFF and a TIFF with no georeference before GDAL, PROJ or
even numpy are loaded. Also here: world files (.jgw, .pgw, .tfw, .wld, ...), and dates in
metadata text and file names.
"""
from __future__ import annotations

import io
import re
import struct
from dataclasses import dataclass
from datetime import date
from pathlib import Path, PurePosixPath

IMAGE_EXTS = (".tif", ".tiff", ".png", ".jpg", ".jpeg")
# World files by the image's extension: the short form, the extension + "w", and .wld for any.
WORLD_EXTS = {
    "png": (".pgw", ".pngw", ".wld"),
    "jpeg": (".jgw", ".jpgw", ".jpegw", ".wld"),
    "tiff": (".tfw", ".tifw", ".tiffw", ".wld"),
}
ALL_WORLD_EXTS = tuple(sorted({e for exts in WORLD_EXTS.values() for e in exts}))
NEEDS_CRS = "name the CRS of the world file, e.g. EPSG:32652"

# TIFF tags read here.
WIDTH, HEIGHT, STRIP_OFFSETS, STRIP_COUNTS, DATETIME, TILE_OFFSETS, TILE_COUNTS = 256, 257, 273, 279, 306, 324, 325
PIXEL_SCALE, TIEPOINT, TRANSFORMATION, GEOKEYS = 33550, 33922, 34264, 34735
TYPE_SIZES = {1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8, 13: 4, 16: 8, 17: 8, 18: 8}
MAX_TIFF_ENTRIES = 4096
MAX_OFFSETS = 4_000_000  # strips or tiles in one image


class ImageProblem(Exception):
    """An image cannot be imported. str() is one line: `file: message`."""

    def __init__(self, filename: str, message: str):
        self.filename = filename
        self.message = " ".join(str(message).split())
        super().__init__(f"{filename}: {self.message}")


@dataclass(frozen=True)
class Header:
    format: str  # "tiff", "png" or "jpeg"
    width: int
    height: int
    georeferenced: bool = False  # a TIFF's tie points or transformation (GeoTIFF)
    has_crs: bool = False  # a TIFF's GeoKeyDirectory
    datetime: str | None = None  # a TIFF's DateTime tag, as written

    @property
    def pixels(self) -> int:
        return self.width * self.height


def sniff_image(head: bytes) -> str | None:
    """'tiff', 'png' or 'jpeg' from the first bytes, else None."""
    if head[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        return "tiff"
    if head[:8] == b"\x89PNG\r\n\x1a\n":
        return "png"
    if head[:3] == b"\xff\xd8\xff":
        return "jpeg"
    return None


def is_image_name(name: str) -> bool:
    return PurePosixPath(name.replace("\\", "/")).suffix.lower() in IMAGE_EXTS


def is_world_name(name: str) -> bool:
    return PurePosixPath(name.replace("\\", "/")).suffix.lower() in ALL_WORLD_EXTS


def read_header(f, size: int, filename: str, max_pixels: int) -> Header:
    """The header of an image file (a seekable binary file of `size` bytes), or ImageProblem for a
    damaged file or one claiming more than `max_pixels` pixels."""
    f.seek(0)
    head = f.read(16)
    kind = sniff_image(head)
    if kind == "tiff":
        header = tiff_header(f, size, filename)
    elif kind == "png":
        header = png_header(f, size, filename)
    elif kind == "jpeg":
        header = jpeg_header(f, size, filename)
    else:
        raise ImageProblem(filename, "not a TIFF, PNG or JPEG image")
    if header.width <= 0 or header.height <= 0:
        raise ImageProblem(filename, f"damaged {kind.upper()}: the image claims {header.width} x {header.height} pixels")
    if header.pixels > max_pixels:
        raise ImageProblem(filename, f"refused: the image claims {header.width:,} x {header.height:,} pixels "
                                     f"(limit {max_pixels:,} pixels, GEO_IMAGE_MAX_PIXELS)")
    return header


def header_of_bytes(raw: bytes, filename: str, max_pixels: int) -> Header:
    return read_header(io.BytesIO(raw), len(raw), filename, max_pixels)


# --- TIFF ------------------------------------------------------------------------------------------

def tiff_header(f, size: int, filename: str) -> Header:
    damaged = "damaged or truncated TIFF"
    f.seek(0)
    head = f.read(16)
    order = "<" if head[:2] == b"II" else ">"
    big = struct.unpack(order + "H", head[2:4])[0] == 43
    try:
        if big:
            ifd = struct.unpack(order + "Q", head[8:16])[0]
            count_fmt, entry_size, value_size = "Q", 20, 8
        else:
            ifd = struct.unpack(order + "I", head[4:8])[0]
            count_fmt, entry_size, value_size = "H", 12, 4
    except struct.error:
        raise ImageProblem(filename, f"{damaged}: the file ends inside its header") from None
    count_size = struct.calcsize(count_fmt)
    if ifd < 8 or ifd + count_size > size:
        raise ImageProblem(filename, f"{damaged}: its first directory lies outside the file")
    f.seek(ifd)
    n = struct.unpack(order + count_fmt, f.read(count_size))[0]
    if n == 0 or n > MAX_TIFF_ENTRIES or ifd + count_size + n * entry_size > size:
        raise ImageProblem(filename, f"{damaged}: its first directory claims {n:,} entries")
    table = f.read(n * entry_size)
    entries = {}
    for i in range(n):
        raw = table[i * entry_size:(i + 1) * entry_size]
        if big:
            tag, typ, count = struct.unpack(order + "HHQ", raw[:12])
            value = raw[12:20]
        else:
            tag, typ, count = struct.unpack(order + "HHI", raw[:8])
            value = raw[8:12]
        entries[tag] = (typ, count, value)

    def values(tag, limit=MAX_OFFSETS):
        if tag not in entries:
            return None
        typ, count, value = entries[tag]
        width = TYPE_SIZES.get(typ)
        if width is None or count > limit:
            raise ImageProblem(filename, f"{damaged}: tag {tag} has type {typ} and {count:,} values")
        nbytes = width * count
        if nbytes <= value_size:
            data = value[:nbytes]
        else:
            offset = struct.unpack(order + ("Q" if big else "I"), value)[0]
            if offset + nbytes > size:
                raise ImageProblem(filename, f"{damaged}: tag {tag}'s values lie past the end of the file")
            f.seek(offset)
            data = f.read(nbytes)
        if typ == 2:
            return data.split(b"\0", 1)[0].decode("latin-1", "replace")
        fmt = {1: "B", 3: "H", 4: "I", 6: "b", 8: "h", 9: "i", 11: "f", 12: "d", 13: "I", 16: "Q", 17: "q",
               18: "Q"}.get(typ)
        if fmt is None:  # rationals and undefined bytes: not needed here
            return data
        return struct.unpack(f"{order}{count}{fmt}", data)

    width, height = values(WIDTH, 1), values(HEIGHT, 1)
    if not width or not height:
        raise ImageProblem(filename, f"{damaged}: no image width or height")
    offsets = values(TILE_OFFSETS) or values(STRIP_OFFSETS)
    counts = values(TILE_COUNTS) or values(STRIP_COUNTS)
    if not offsets or not counts or len(offsets) != len(counts):
        raise ImageProblem(filename, f"{damaged}: no strips or tiles of image data")
    for offset, length in zip(offsets, counts):
        if length and offset + length > size:
            raise ImageProblem(filename, f"{damaged}: image data at byte {offset + length:,} lies past the end "
                                         f"of the file ({size:,} bytes)")
    stamp = values(DATETIME, 64) if DATETIME in entries else None
    return Header("tiff", int(width[0]), int(height[0]),
                  georeferenced=TIEPOINT in entries or TRANSFORMATION in entries,
                  has_crs=GEOKEYS in entries, datetime=stamp if isinstance(stamp, str) else None)


# --- PNG and JPEG ------------------------------------------------------------------------------------

def png_header(f, size: int, filename: str) -> Header:
    f.seek(8)
    chunk = f.read(25)
    if len(chunk) < 25 or chunk[4:8] != b"IHDR":
        raise ImageProblem(filename, "damaged PNG: no IHDR header")
    width, height = struct.unpack(">II", chunk[8:16])
    return Header("png", width, height)


SOF_MARKERS = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}


def jpeg_header(f, size: int, filename: str) -> Header:
    pos = 2
    for _ in range(1000):
        f.seek(pos)
        marker = f.read(4)
        if len(marker) < 4 or marker[0] != 0xFF:
            break
        if marker[1] == 0xFF:  # fill byte
            pos += 1
            continue
        length = struct.unpack(">H", marker[2:4])[0]
        if marker[1] in SOF_MARKERS:
            frame = f.read(5)
            if len(frame) < 5:
                break
            height, width = struct.unpack(">HH", frame[1:5])
            return Header("jpeg", width, height)
        if marker[1] in (0xD9, 0xDA):  # end of image or start of scan before any frame header
            break
        pos += 2 + length
    raise ImageProblem(filename, "damaged JPEG: no frame header")


# --- world files -------------------------------------------------------------------------------------

def parse_world_file(text: str, filename: str) -> tuple[float, float, float, float, float, float]:
    """A world file's six numbers as an affine transform (a, b, c, d, e, f) of the pixel grid's
    corner, as rasterio's Affine takes them: x = a*col + b*row + c, y = d*col + e*row + f.
    The file gives A, D, B, E, C, F with C, F the centre of the upper-left pixel."""
    numbers = []
    for line in text.splitlines():
        if line.strip():
            try:
                numbers.append(float(line.strip()))
            except ValueError:
                raise ImageProblem(filename, f"not a world file: {line.strip()[:40]!r} is not a number") from None
    if len(numbers) != 6:
        raise ImageProblem(filename, f"not a world file: {len(numbers)} numbers (a world file has six lines)")
    a, d, b, e, c, f = numbers
    if not all(map(_finite, numbers)) or a * e - b * d == 0:
        raise ImageProblem(filename, "not a usable world file: its pixel size is zero or not a number")
    return a, b, c - a / 2 - b / 2, d, e, f - d / 2 - e / 2


def _finite(x: float) -> bool:
    return x == x and abs(x) != float("inf")


def world_file_names(image_name: str, fmt: str) -> list[str]:
    """The names a world file of `image_name` may have, most specific first."""
    stem = PurePosixPath(image_name.replace("\\", "/")).stem
    ext = PurePosixPath(image_name.replace("\\", "/")).suffix.lower()
    names = [stem + e for e in WORLD_EXTS.get(fmt, ())]
    if ext:  # GDAL's third form: the image's extension with its first and last letters and a w (.tfw)
        names.insert(0, stem + "." + ext[1] + ext[-1] + "w")
    return list(dict.fromkeys(names))


def find_world(image_name: str, fmt: str, names) -> str | None:
    """Which of `names` (files beside the image, or parts given with it) is its world file."""
    by_lower = {PurePosixPath(n.replace("\\", "/")).name.lower(): n for n in names}
    for candidate in world_file_names(PurePosixPath(image_name.replace("\\", "/")).name, fmt):
        if candidate.lower() in by_lower:
            return by_lower[candidate.lower()]
    return None


def sibling_world(path: Path, fmt: str) -> Path | None:
    """The world file beside an image on disk (any letter case), or None."""
    try:
        beside = [p.name for p in path.parent.iterdir() if p.suffix.lower() in ALL_WORLD_EXTS and p.is_file()]
    except OSError:
        return None
    found = find_world(path.name, fmt, beside)
    return path.parent / found if found else None


def precheck(header: Header, filename: str, world_name: str | None, crs_given: bool) -> None:
    """Refusals that need only the header and the names of the files given: an image with no
    georeference at all, a world file without a CRS."""
    if world_name is None:
        if header.format == "tiff" and not header.georeferenced:
            raise ImageProblem(filename, "no georeference: the TIFF has no GeoTIFF tags (tie points or a "
                                         "transformation) and no world file (.tfw, .wld) came with it")
        if header.format in ("png", "jpeg"):
            ext = ".pgw, .pngw" if header.format == "png" else ".jgw, .jpgw"
            raise ImageProblem(filename, f"no georeference: a {header.format.upper()} needs its world file "
                                         f"({ext} or .wld) beside it, or zipped with it")
        return
    if not crs_given and not (header.format == "tiff" and header.has_crs):
        raise ImageProblem(filename, f"the world file {world_name} gives no CRS: {NEEDS_CRS} "
                                     "(--crs on the command line, CRS on the page)")


def check_path(path: Path, max_bytes: int, max_pixels: int, crs_given: bool) -> Header:
    """Everything about an image on disk that needs no library: its size (from the file system:
    a 2 GB file is refused unread), its header, its world file beside it and a CRS for that."""
    name = path.name
    size = path.stat().st_size
    if size > max_bytes:
        raise ImageProblem(name, f"refused: file is {size / 2**20:,.1f} MB (limit {max_bytes / 2**20:,.0f} MB for an "
                                 "image, GEO_IMAGE_MAX_MB)")
    if size == 0:
        raise ImageProblem(name, "file is empty")
    with path.open("rb") as f:
        header = read_header(f, size, name, max_pixels)
    world = sibling_world(path, header.format)
    precheck(header, name, world.name if world else None, crs_given)
    return header


# --- dates -------------------------------------------------------------------------------------------

DATE_TEXT = re.compile(r"(?<!\d)(\d{4})[-:/.]?(\d{2})[-:/.]?(\d{2})(?!\d)")
NAME_DATE = re.compile(r"(?<!\d)(\d{4})([-_.]?)(\d{2})\2(\d{2})(?!\d)")


def valid_day(y: int, m: int, d: int) -> str | None:
    if not 1900 <= y <= 2100:
        return None
    try:
        return date(y, m, d).isoformat()
    except ValueError:
        return None


def date_in_text(text: str | None) -> str | None:
    """The first date in a metadata value (`2024:06:17 02:06:51`, `2024-06-17T02:06:51Z`), as YYYY-MM-DD."""
    if not text:
        return None
    for match in DATE_TEXT.finditer(str(text)):
        day = valid_day(*map(int, match.groups()))
        if day:
            return day
    return None


def date_in_name(name: str) -> str | None:
    """A date in a file name: YYYY-MM-DD (or with _ or .) or YYYYMMDD (as in Sentinel-2's
    `..._20240617T020651_...`), as YYYY-MM-DD."""
    stem = PurePosixPath(name.replace("\\", "/")).name
    for match in NAME_DATE.finditer(stem):
        y, _, m, d = match.groups()
        day = valid_day(int(y), int(m), int(d))
        if day:
            return day
    return None
