"""An image, read with rasterio (which brings its own GDAL), reprojected once to Web Mercator
(EPSG:3857) as RGBA with transparent nodata, and cut into a small pyramid of PNGs.

    image = raster.read_image(source, "yard_2024-06-17.tif", Placement(...), Meta(...), Caps())

The pyramid's level 0 is the whole image at its own resolution, but never more than TOP_PX
(2048) pixels on its long side; each next level halves it, down to the first at or below
BOTTOM_PX (256). The footprint is the reprojected raster's bounds in lon/lat, which, Web
Mercator being a grid of meridians and parallels, is a lon/lat box.

Nothing here reaches the network or reads a file beside the one given: GDAL is told not to
look for sidecar files, and the drivers it may use are named.
"""
from __future__ import annotations

import hashlib
import io
import logging
import math
import re
import warnings
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image as PILImage

from geo.imagery import headers
from geo.imagery.headers import NEEDS_CRS, Header, ImageProblem, date_in_name, date_in_text, header_of_bytes, \
    read_header

WEB_MERCATOR = "EPSG:3857"
TOP_PX = 2048  # level 0's long side at most
BOTTOM_PX = 256  # the pyramid stops at the first level this small
OVERSAMPLE = 2  # the source is read at up to twice the pixels level 0 needs, then warped down
MERCATOR_LAT = 85.05112878
DRIVERS = {"tiff": "GTiff", "png": "PNG", "jpeg": "JPEG"}
GDAL_ENV = dict(GDAL_DISABLE_READDIR_ON_OPEN="EMPTY_DIR", GDAL_CACHEMAX=256, GDAL_NUM_THREADS=1,
                GDAL_PAM_ENABLED="NO", CPL_VSIL_CURL_ALLOWED_EXTENSIONS=".none", GTIFF_REPORT_COMPD_CS="NO")
# Where a file's own metadata says when it was taken, most telling first (GDAL's names).
DATE_TAGS = ("ACQUISITIONDATETIME", "ACQUISITION_DATETIME", "ACQUISITIONDATE", "ACQUISITION_DATE",
             "DATE_ACQUIRED", "SENSING_TIME", "SENSING_START", "PRODUCT_START_TIME", "DATATAKE_1_DATATAKE_SENSING_START",
             "EXIF_DateTimeOriginal", "EXIF_DateTimeDigitized", "TIFFTAG_DATETIME", "EXIF_DateTime")


@dataclass(frozen=True)
class Caps:
    max_pixels: int = 1_000_000_000


@dataclass(frozen=True)
class Placement:
    """Where the image lies when the file does not say (or to override what it says)."""

    world: tuple | None = None  # an affine (a, b, c, d, e, f) from a world file
    world_name: str | None = None
    assume_crs: str | None = None  # the CRS the user names (a world file's, or a GeoTIFF's without one)
    corners: tuple | None = None  # lon/lat of the upper-left, upper-right, lower-right, lower-left corners (KML)
    quad: bool = False  # corners need not be a parallelogram (gx:LatLonQuad)


@dataclass(frozen=True)
class Meta:
    name: str | None = None
    date: str | None = None  # from the user (wins) ...
    found_date: str | None = None  # ... else from a KML TimeStamp/TimeSpan, then the file, then its name
    source: str = ""
    licence: str = ""


@dataclass
class Level:
    width: int
    height: int
    png: bytes


@dataclass
class Image:
    name: str
    date: str  # YYYY-MM-DD
    date_from: str  # where the date came from, said in words
    source: str
    licence: str
    crs_in: str
    bounds: tuple[float, float, float, float]  # west, south, east, north (lon/lat): the footprint
    mercator_bounds: tuple[float, float, float, float]  # left, bottom, right, top in EPSG:3857
    source_width: int
    source_height: int
    levels: list[Level]
    sha256: str
    warnings: list[str] = field(default_factory=list)

    @property
    def width(self) -> int:
        return self.levels[0].width

    @property
    def height(self) -> int:
        return self.levels[0].height

    @property
    def footprint(self) -> list[tuple[float, float]]:
        """The four corners in lon/lat, counter-clockwise from the south-west, closed."""
        w, s, e, n = self.bounds
        return [(w, s), (e, s), (e, n), (w, n), (w, s)]


def credit(source: str, licence: str) -> str:
    """The credit line of an image: `Source: X · Licence: Y`, "not given" for an empty field."""
    return f"Source: {source.strip() or 'not given'} · Licence: {licence.strip() or 'not given'}"


def pyramid_sizes(width: int, height: int) -> list[tuple[int, int]]:
    """Each level's (width, height) from level 0's: halving until the long side is <= BOTTOM_PX."""
    sizes = [(width, height)]
    while max(sizes[-1]) > BOTTOM_PX:
        w, h = sizes[-1]
        sizes.append((max(1, math.ceil(w / 2)), max(1, math.ceil(h / 2))))
    return sizes


# --- reading -----------------------------------------------------------------------------------------

def read_image(source, filename: str, placement: Placement = Placement(), meta: Meta = Meta(),
               caps: Caps = Caps()) -> Image:
    """One image from a path or bytes, or ImageProblem (one line naming the file)."""
    import rasterio
    from rasterio.errors import CRSError, RasterioError

    if isinstance(source, (str, Path)):
        path = Path(source)
        size = path.stat().st_size
        with path.open("rb") as f:
            header = read_header(f, size, filename, caps.max_pixels)
        digest = file_sha256(path)
    else:
        raw = bytes(source)
        header = header_of_bytes(raw, filename, caps.max_pixels)
        digest = hashlib.sha256(raw).hexdigest()
    precheck(header, filename, placement)
    try:
        with warnings.catch_warnings(), quiet_gdal(), rasterio.Env(**GDAL_ENV):
            warnings.simplefilter("ignore")
            if isinstance(source, (str, Path)):
                with rasterio.open(source, driver=DRIVERS[header.format]) as src:
                    return build(src, header, filename, placement, meta, digest)
            from rasterio.io import MemoryFile
            with MemoryFile(raw) as memory, memory.open(driver=DRIVERS[header.format]) as src:
                return build(src, header, filename, placement, meta, digest)
    except CRSError as err:
        raise ImageProblem(filename, f"cannot read its CRS ({first_line(err, source, filename)})") from None
    except Exception as err:  # GDAL's errors on bad data (RasterioError, or its CPLE_* errors); anything else is a bug
        if not isinstance(err, RasterioError) and not type(err).__module__.startswith("rasterio"):
            raise
        cause = err.__cause__ if err.__cause__ is not None and "previous exception" in str(err) else err
        raise ImageProblem(filename, f"damaged or unreadable {header.format.upper()} ({first_line(cause, source, filename)})") \
            from None


@contextmanager
def quiet_gdal():
    """GDAL's complaints about a bad file go to the log of rasterio at WARNING; the refusal says
    what matters in one line, so they are held back while a file is read."""
    logger = logging.getLogger("rasterio")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        logger.setLevel(level)


def precheck(header: Header, filename: str, placement: Placement) -> None:
    if placement.corners is None:
        headers.precheck(header, filename, placement.world_name if placement.world is not None else None,
                         bool(placement.assume_crs))


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


MEMORY_NAME = re.compile(r"(/vsimem/)?[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}(/[0-9a-f-]+)?(\.\w+)?")


def first_line(err, source, filename: str = "the file") -> str:
    """A library's message as one line, with no path of this machine and no in-memory file name."""
    text = " ".join(str(err).split()) or type(err).__name__
    if isinstance(source, (str, Path)):
        text = text.replace(str(source), Path(source).name)
    return MEMORY_NAME.sub(filename, text).replace("/vsimem/", "")[:200]


def user_crs(text: str, filename: str):
    from rasterio.crs import CRS
    from rasterio.errors import CRSError
    try:
        crs = CRS.from_user_input(text.strip())
    except (CRSError, ValueError):
        raise ImageProblem(filename, f"cannot read the CRS {text.strip()[:60]!r}: name it as EPSG:NNNN, "
                                     "e.g. EPSG:32652") from None
    return crs


def crs_label(crs) -> str:
    epsg = crs.to_epsg()
    return f"EPSG:{epsg}" if epsg else (crs.to_string()[:200] or "unnamed CRS")


def georeference(src, header: Header, filename: str, placement: Placement):
    """(transform or None, gcps or None, crs, warnings) of the full-size source."""
    from rasterio.transform import Affine
    from rasterio.control import GroundControlPoint
    from rasterio.crs import CRS
    notes = []
    if placement.corners is not None:
        crs = CRS.from_epsg(4326)
        (ulx, uly), (urx, ury), (lrx, lry), (llx, lly) = placement.corners
        w, h = src.width, src.height
        if placement.quad:
            gcps = [GroundControlPoint(row, col, x, y, 0.0) for (row, col), (x, y) in
                    zip(((0, 0), (0, w), (h, w), (h, 0)), placement.corners)]
            return None, gcps, crs, notes
        return Affine((urx - ulx) / w, (llx - ulx) / h, ulx, (ury - uly) / w, (lly - uly) / h, uly), None, crs, notes
    file_crs = src.crs if src.crs and src.crs.is_valid else None
    if placement.world is not None:
        crs = user_crs(placement.assume_crs, filename) if placement.assume_crs else file_crs
        if crs is None:
            raise ImageProblem(filename, f"the world file gives no CRS: {NEEDS_CRS}")
        if file_crs is not None and placement.assume_crs and crs != file_crs:
            notes.append(f"the CRS given ({crs_label(crs)}) is used with the world file, not the file's own "
                         f"({crs_label(file_crs)})")
        return Affine(*placement.world), None, crs, notes
    gcps, gcp_crs = src.gcps
    if gcps and src.transform.is_identity:
        if not (gcp_crs and gcp_crs.is_valid):
            if header.has_crs or not placement.assume_crs:
                raise ImageProblem(filename, "cannot read the CRS of its control points")
            gcp_crs = user_crs(placement.assume_crs, filename)
        return None, list(gcps), gcp_crs, notes
    if header.format == "tiff" and header.has_crs and file_crs is None:
        raise ImageProblem(filename, "cannot read its CRS: the GeoTIFF's CRS keys name none that PROJ knows")
    crs = file_crs
    if crs is None:
        if not placement.assume_crs:
            raise ImageProblem(filename, "the GeoTIFF is placed but names no CRS: name it, e.g. EPSG:32652 "
                                         "(--crs on the command line, CRS on the page)")
        crs = user_crs(placement.assume_crs, filename)
        notes.append(f"CRS {crs_label(crs)} as given: the file names none")
    if not src.transform.is_identity:
        return src.transform, None, crs, notes
    raise ImageProblem(filename, "no georeference: the file has neither a transform nor control points")


def found_date(src, meta: Meta, filename: str) -> tuple[str, str, list[str]]:
    """(YYYY-MM-DD, where it came from, warnings): the user's date wins; else the KML's, the
    file's metadata, then its name."""
    notes = []
    from_file = None
    tags = {}
    try:
        tags = src.tags()
    except Exception:  # noqa: BLE001 a file whose metadata GDAL cannot list still has pixels
        tags = {}
    for key in DATE_TAGS:
        day = date_in_text(tags.get(key))
        if day:
            from_file = (day, f"metadata ({key})")
            break
    candidates = ([(meta.found_date, "KML TimeStamp/TimeSpan")] if meta.found_date else []) + \
        ([from_file] if from_file else []) + \
        ([(date_in_name(filename), "file name")] if date_in_name(filename) else [])
    if meta.date:
        day = date_in_text(meta.date)
        if not day:
            raise ImageProblem(filename, f"the date given, {meta.date[:40]!r}, is not a date (YYYY-MM-DD)")
        if candidates and candidates[0][0] != day:
            notes.append(f"dated {day} as given; the {candidates[0][1]} says {candidates[0][0]}")
        return day, "given", notes
    if candidates:
        return candidates[0][0], candidates[0][1], notes
    raise ImageProblem(filename, "no date in its metadata or name: give one (--date YYYY-MM-DD on the command "
                                 "line, Date on the page)")


def build(src, header: Header, filename: str, placement: Placement, meta: Meta, digest: str) -> Image:
    from rasterio.warp import transform as transform_points
    transform, gcps, crs, notes = georeference(src, header, filename, placement)
    day, date_from, date_notes = found_date(src, meta, filename)
    notes += date_notes
    dst_transform, width, height = destination(src.width, src.height, transform, gcps, crs, filename)
    rgba, read_transform, read_gcps, stretch = read_rgba(src, transform, gcps, width, height, filename)
    if stretch:
        notes.append(stretch)
    top = warp(rgba, read_transform, read_gcps, crs, dst_transform, width, height)
    if not top[3].any():
        raise ImageProblem(filename, "every pixel is nodata: nothing to show")
    left, top_y = dst_transform.c, dst_transform.f
    right, bottom = left + dst_transform.a * width, top_y + dst_transform.e * height
    lons, lats = transform_points(WEB_MERCATOR, "EPSG:4326", [left, right], [bottom, top_y])
    levels = [Level(w, h, encode(rgba_level)) for (w, h), rgba_level in zip(pyramid_sizes(width, height),
                                                                            halvings(top))]
    return Image(name=meta.name or Path(filename).stem, date=day, date_from=date_from, source=meta.source.strip(),
                 licence=meta.licence.strip(), crs_in=crs_label(crs),
                 bounds=(float(lons[0]), float(lats[0]), float(lons[1]), float(lats[1])),
                 mercator_bounds=(float(left), float(bottom), float(right), float(top_y)),
                 source_width=src.width, source_height=src.height, levels=levels, sha256=digest, warnings=notes)


def destination(width, height, transform, gcps, crs, filename):
    """Level 0's grid in EPSG:3857: GDAL's suggested warp output (the source's own resolution),
    its extent kept and its pixels made fewer when the long side is above TOP_PX."""
    from rasterio.control import GroundControlPoint
    from rasterio.errors import CRSError
    from rasterio.transform import Affine
    from rasterio.warp import calculate_default_transform
    from rasterio.warp import transform as transform_points
    if gcps:
        xs, ys = [g.x for g in gcps], [g.y for g in gcps]
    else:
        edge = [(c, r) for c in (0, width / 2, width) for r in (0, height / 2, height)]
        xs, ys = zip(*[transform * p for p in edge])
    try:
        lons, lats = transform_points(crs, "EPSG:4326", list(xs), list(ys))
        if not all(map(math.isfinite, list(lons) + list(lats))) or max(map(abs, lats)) > MERCATOR_LAT:
            raise ImageProblem(filename, f"it reaches beyond {MERCATOR_LAT:.2f}° latitude, where Web Mercator ends: "
                                         "crop it to the area of interest first")
        if gcps is None and transform.b == 0 and transform.d == 0:
            left, top = transform.c, transform.f
            right, bottom = left + transform.a * width, top + transform.e * height
            dst, w, h = calculate_default_transform(crs, WEB_MERCATOR, width, height, left=min(left, right),
                                                    bottom=min(top, bottom), right=max(left, right),
                                                    top=max(top, bottom))
        else:
            # GDAL reads a GCP without z as no GCP at all: every point gets z = 0
            points = [GroundControlPoint(g.row, g.col, g.x, g.y, g.z or 0.0) for g in gcps] if gcps else \
                [GroundControlPoint(row, col, *(transform * (col, row)), 0.0)
                 for row in (0, height / 2, height) for col in (0, width / 2, width)]
            dst, w, h = calculate_default_transform(crs, WEB_MERCATOR, width, height, gcps=points)
    except CRSError as err:
        raise ImageProblem(filename, f"cannot read its CRS ({' '.join(str(err).split())[:120]})") from None
    except ImageProblem:
        raise
    except Exception as err:  # GDAL's own failure to place the grid (rasterio's CPLE_* errors)
        if not type(err).__module__.startswith("rasterio"):
            raise
        raise ImageProblem(filename, f"cannot place it in Web Mercator ({' '.join(str(err).split())[:120]})") \
            from None
    if not w or not h or not all(map(math.isfinite, (dst.a, dst.c, dst.e, dst.f))):
        raise ImageProblem(filename, "cannot place it in Web Mercator: its extent lies outside the map")
    scale = max(w, h) / TOP_PX
    if scale > 1:
        new_w, new_h = max(1, math.ceil(w / scale)), max(1, math.ceil(h / scale))
        dst = dst * Affine.scale(w / new_w, h / new_h)
        w, h = new_w, new_h
    return dst, int(w), int(h)


def read_rgba(src, transform, gcps, width, height, filename):
    """The source as RGBA bytes (alpha 0 where there is no data), read at no more than
    OVERSAMPLE times the pixels level 0 needs; its transform (or control points) at that size,
    and a note when values were stretched to 0-255."""
    from rasterio.transform import Affine
    from rasterio.control import GroundControlPoint
    from rasterio.enums import ColorInterp, Resampling
    factor = max(1.0, math.sqrt(src.width * src.height / (OVERSAMPLE ** 2 * width * height)))
    out_w, out_h = max(1, round(src.width / factor)), max(1, round(src.height / factor))
    sx, sy = src.width / out_w, src.height / out_h
    read_transform = transform * Affine.scale(sx, sy) if transform is not None else None
    read_gcps = [GroundControlPoint(g.row / sy, g.col / sx, g.x, g.y, g.z or 0.0) for g in gcps] if gcps else None
    interp = list(src.colorinterp)
    mask = src.dataset_mask(out_shape=(out_h, out_w), resampling=Resampling.nearest) > 0
    note = None
    if interp and interp[0] == ColorInterp.palette:
        index = src.read(1, out_shape=(out_h, out_w), resampling=Resampling.nearest)
        table = np.zeros((256, 4), dtype=np.uint8)
        for key, colour in src.colormap(1).items():
            if 0 <= key < 256:
                table[key] = colour
        rgba = np.moveaxis(table[index.astype(np.intp).clip(0, 255)], -1, 0).copy()
        rgba[3] = np.where(mask, rgba[3], 0)
    else:
        bands = colour_bands(interp, src.count)
        resampling = Resampling.average if factor > 1.01 else Resampling.nearest
        data = src.read([b + 1 for b in bands], out_shape=(len(bands), out_h, out_w), resampling=resampling)
        data, note = to_bytes(data, mask, src.dtypes[0])
        if len(bands) == 1:
            data = np.repeat(data, 3, axis=0)
        rgba = np.concatenate([data, np.where(mask, 255, 0).astype(np.uint8)[None]], axis=0)
    if not rgba[3].any():
        raise ImageProblem(filename, "every pixel is nodata: nothing to show")
    return rgba, read_transform, read_gcps, note


def colour_bands(interp, count) -> list[int]:
    """Band indexes (from 0) of red, green and blue, or the one grey band."""
    from rasterio.enums import ColorInterp
    by = {c: i for i, c in enumerate(interp)}
    if all(c in by for c in (ColorInterp.red, ColorInterp.green, ColorInterp.blue)):
        return [by[ColorInterp.red], by[ColorInterp.green], by[ColorInterp.blue]]
    data = [i for i, c in enumerate(interp) if c != ColorInterp.alpha] or [0]
    return data[:3] if len(data) >= 3 else data[:1]


def to_bytes(data: np.ndarray, mask: np.ndarray, dtype: str):
    """Values as 0-255: bytes as they are; other types stretched from their 2nd to 98th
    percentile (one stretch for the three bands, so colours keep their balance)."""
    if np.dtype(dtype) == np.uint8:
        return data.astype(np.uint8), None
    values = data[:, mask]
    step = max(1, values.shape[1] // 1_000_000)  # a million pixels tell the percentiles well enough
    values = values[:, ::step].astype("float64")
    values = values[np.isfinite(values)]
    if values.size == 0:
        return np.zeros(data.shape, dtype=np.uint8), None
    low, high = (float(v) for v in np.percentile(values, [2, 98]))
    if high <= low:
        high = low + 1
    out = np.empty(data.shape, dtype=np.uint8)
    for band in range(data.shape[0]):  # one band at a time in float32: bounded memory for a large read
        scaled = (np.nan_to_num(data[band].astype("float32"), nan=low) - np.float32(low)) * np.float32(255 / (high - low))
        out[band] = scaled.clip(0, 255)
    return out, f"{dtype} values stretched to 0-255 from {low:g}-{high:g} (the 2nd to 98th percentile)"


def level_for(width: int, height: int, pixels: int) -> int:
    """The smallest pyramid level whose long side still has at least `pixels` (the level-0 size
    given): what a view `pixels` wide needs; 0 when even level 0 is smaller."""
    sizes = pyramid_sizes(width, height)
    fitting = [n for n, size in enumerate(sizes) if max(size) >= pixels]
    return fitting[-1] if fitting else 0


def warp(rgba, transform, gcps, crs, dst_transform, width, height) -> np.ndarray:
    from rasterio.enums import Resampling
    from rasterio.warp import reproject
    out = np.zeros((4, height, width), dtype=np.uint8)
    denser = rgba.shape[1] * rgba.shape[2] > 2 * width * height
    reproject(rgba, out, src_transform=transform, gcps=gcps, src_crs=crs, dst_transform=dst_transform,
              dst_crs=WEB_MERCATOR, src_alpha=4, dst_alpha=4,
              resampling=Resampling.average if denser else Resampling.bilinear)
    out[:3, out[3] == 0] = 0
    return out


def halvings(top: np.ndarray):
    """Level 0 and each halving after it, as (H, W, 4) RGBA arrays; alpha-weighted, so no dark fringe."""

    picture = PILImage.fromarray(np.ascontiguousarray(np.moveaxis(top, 0, -1)), "RGBA")
    yield picture
    while max(picture.size) > BOTTOM_PX:
        w, h = picture.size
        picture = picture.convert("RGBa").resize((max(1, math.ceil(w / 2)), max(1, math.ceil(h / 2))),
                                                 PILImage.Resampling.BOX).convert("RGBA")
        yield picture


def encode(picture) -> bytes:
    out = io.BytesIO()
    picture.save(out, format="PNG", compress_level=6)
    return out.getvalue()
