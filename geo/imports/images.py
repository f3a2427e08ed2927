"""Images as the importer's kind `images`: a GeoTIFF/COG, a PNG or JPEG with its world file, a
KML or KMZ GroundOverlay, or a zip of an image and its world file; each file one batch of one or
more images (a KML may hold several overlays). geo.imagery does the reading, warping and pyramid;
this module finds the parts (the world file beside the image, the overlay's image in the KMZ),
turns geo.imagery's refusals into ImportProblem and builds the ImportResult the store takes.

Paths are read where they lie (the world file and a .kml's image are siblings on disk); uploads
come as bytes, one file or several parts (an image and its world file together).
"""
from __future__ import annotations

import hashlib
import re
from pathlib import Path, PurePosixPath

import geopandas as gpd
import pandas as pd
import shapely

from geo.geometry.projection import WGS84
from geo.imagery import headers
from geo.imagery import overlay as overlays
from geo.imagery import raster
from geo.imagery.headers import (ImageProblem, header_of_bytes, is_image_name, is_world_name, parse_world_file,
                                 sniff_image)
from geo.imports.filecheck import MB, ImportProblem, Limits, check_zip, decode_text, too_big
from geo.imports.readers import extract
from geo.safetext import escape

KIND = "images"
COLUMNS = ("name", "date", "source", "licence", "crs_in", "width", "height", "levels", "date_from")


def refusing(filename):
    """Run geo.imagery under the importer's rules: its one-line refusals become ImportProblem."""
    class Guard:
        def __enter__(self):
            return self

        def __exit__(self, kind, err, tb):
            if isinstance(err, ImageProblem):  # a member of a KMZ or zip, a world file: named after the file given
                inner = "" if err.filename in (filename, "") else f"{err.filename}: "
                raise ImportProblem(filename, inner + err.message) from None
            return False
    return Guard()


def caps(limits: Limits) -> raster.Caps:
    return raster.Caps(max_pixels=limits.image_pixels)


def meta(opts, name=None, found_date=None) -> raster.Meta:
    return raster.Meta(name=name, date=opts.image_date, found_date=found_date, source=opts.image_source or "",
                       licence=opts.image_licence or "")


def check_kind(opts, filename):
    if opts.kind not in (None, KIND):
        raise ImportProblem(filename, f"an image is imported as {KIND}, not as {opts.kind}")


# --- what is an image ------------------------------------------------------------------------------------

def is_image_bytes(raw: bytes) -> bool:
    return sniff_image(raw[:16]) is not None


def kml_has_overlay(raw: bytes) -> bool:
    return overlays.has_ground_overlay(raw)


def zip_image_kind(raw: bytes, filename: str, limits: Limits) -> str | None:
    """'world' for a zip of images with world files, 'kmz' for a KMZ with a GroundOverlay, else None."""
    archive, infos = check_zip(raw, filename, limits)
    names = [i.filename for i in infos if not i.is_dir() and "__MACOSX" not in i.filename
             and not PurePosixPath(i.filename).name.startswith(".")]
    kml = [n for n in names if n.lower().endswith(".kml")]
    if kml:
        doc = next((n for n in kml if PurePosixPath(n).name.lower() == "doc.kml"), kml[0])
        info = archive.getinfo(doc)
        return "kmz" if kml_has_overlay(extract(archive, info, limits, filename)) else None
    if any(n.lower().endswith(".shp") for n in names):
        return None
    return "world" if any(is_image_name(n) for n in names) else None


# --- entry points --------------------------------------------------------------------------------------

def read_path(path: Path, filename: str, limits: Limits, opts):
    """An image file on disk, with its world file beside it if it has one."""
    check_kind(opts, filename)
    try:
        size = path.stat().st_size
    except OSError as err:
        raise ImportProblem(filename, f"cannot open the file ({err.strerror or err})") from None
    if size > limits.image_bytes:
        raise too_big(size, filename, limits)
    with refusing(filename):
        with path.open("rb") as f:
            fmt = sniff_image(f.read(16))
        if fmt is None:
            raise ImageProblem(filename, "not a TIFF, PNG or JPEG image, whatever its extension says")
        world, world_name = sibling_world(path, fmt, filename)
        image = raster.read_image(path, filename, placement(world, world_name, opts), meta(opts), caps(limits))
    return result(filename, fmt_label(fmt, world_name), image.sha256, [image], opts)


def read_kml_path(path: Path, raw: bytes, filename: str, limits: Limits, opts):
    """A .kml on disk: its overlays' images are found beside it (never outside its folder)."""
    folder = path.parent.resolve()

    def fetch(href):
        relative = overlays.member_path(href, "", filename)
        target = (folder / relative).resolve()
        if not target.is_relative_to(folder):
            raise ImageProblem(filename, f"refused: the overlay's image {href[:80]!r} lies outside the KML's folder")
        if not target.is_file():
            raise ImageProblem(filename, f"the overlay's image {relative!r} is not beside the KML")
        if target.stat().st_size > limits.image_bytes:
            raise ImageProblem(filename, f"refused: the overlay's image {relative!r} is "
                                         f"{target.stat().st_size / MB:,.1f} MB (limit {limits.image_bytes / MB:,.0f} MB)")
        return target.read_bytes(), relative
    return read_overlays(raw, filename, fetch, "kml", hashlib.sha256(raw).hexdigest(), limits, opts)


def read_bytes_source(raw: bytes, filename: str, limits: Limits, opts, fmt: str):
    """Uploaded bytes: an image alone (a GeoTIFF), a KML, or a zip (image + world file, or KMZ)."""
    check_kind(opts, filename)
    digest = hashlib.sha256(raw).hexdigest()
    if fmt == "image":
        return read_parts_images({filename: raw}, filename, limits, opts, digest)
    if fmt == "kml":
        def fetch(href):
            relative = overlays.member_path(href, "", filename)
            raise ImageProblem(filename, f"the overlay's image {relative!r} is not in the file: import the KML "
                                         "zipped with its image (a KMZ), or from the folder that holds both")
        return read_overlays(raw, filename, fetch, "kml", digest, limits, opts)
    archive, infos = check_zip(raw, filename, limits)
    members = {i.filename: i for i in infos if not i.is_dir() and "__MACOSX" not in i.filename
               and not PurePosixPath(i.filename).name.startswith(".")}
    kml = [n for n in members if n.lower().endswith(".kml")]
    if kml:
        doc = next((n for n in kml if PurePosixPath(n).name.lower() == "doc.kml"), kml[0])
        base = str(PurePosixPath(doc).parent) if "/" in doc else ""
        lower = {n.lower(): n for n in members}

        def fetch(href):
            name = overlays.member_path(href, base, filename)
            found = members.get(name) or members.get(lower.get(name.lower(), ""))
            if found is None:
                raise ImageProblem(filename, f"the KMZ holds no image {name!r} (the overlay's Icon/href)")
            return extract(archive, found, limits, filename), name
        return read_overlays(extract(archive, members[doc], limits, filename), filename, fetch, "kmz", digest,
                             limits, opts)
    parts = {n: extract(archive, members[n], limits, filename) for n in members
             if is_image_name(n) or is_world_name(n)}
    return read_parts_images(parts, filename, limits, opts, digest, zipped=True)


def read_parts_images(parts: dict[str, bytes], filename: str, limits: Limits, opts, digest: str, zipped=False):
    """Images among parts (uploaded together, or from a zip), each with its world file if one is there."""
    check_kind(opts, filename)
    images_ = [n for n in parts if is_image_name(n) or is_image_bytes(parts[n])]
    worlds = {PurePosixPath(n.replace("\\", "/")).name.lower(): n for n in parts if is_world_name(n)}
    others = [n for n in parts if n not in images_ and PurePosixPath(n).name.lower() not in worlds
              and PurePosixPath(n.replace("\\", "/")).suffix.lower() not in (".xml", ".aux", ".prj", ".txt")]
    if not images_:
        raise ImportProblem(filename, "no image (TIFF, PNG, JPEG) among the files")
    if others and not zipped:
        raise ImportProblem(filename, f"{others[0]} is neither an image nor a world file: import it on its own")
    found, fmts = [], set()
    with refusing(filename):
        for name in sorted(images_):
            raw = parts[name]
            shown = PurePosixPath(name.replace("\\", "/")).name if zipped or len(parts) > 1 else filename
            header = header_of_bytes(raw, shown, limits.image_pixels)
            world = world_name = None
            full = headers.find_world(shown, header.format, worlds.values())
            if full is None and len(worlds) == 1 and len(images_) == 1:  # one image, one world file, other stems
                full, = worlds.values()
            if full is not None:
                world_name = PurePosixPath(full.replace("\\", "/")).name
                world = parse_world_file(decode_text(parts[full], world_name)[0], world_name)
            fmts.add(fmt_label(header.format, world_name))
            found.append(raster.read_image(raw, shown, placement(world, world_name, opts),
                                           meta(opts, name=PurePosixPath(shown).stem), caps(limits)))
    label = fmts.pop() if len(fmts) == 1 else "images"
    return result(filename, ("zip/" if zipped else "") + label, digest, found, opts)


def read_overlays(raw: bytes, filename: str, fetch, fmt: str, digest: str, limits: Limits, opts):
    check_kind(opts, filename)
    notes = []
    if re.search(rb"<(\w+:)?Placemark[\s>]", raw):
        notes.append("the file's placemarks were not imported: only its GroundOverlays (import it with --as generic, "
                     "or 'generic' under Import as, for the placemarks)")
    found = []
    with refusing(filename):
        for item in overlays.ground_overlays(raw, filename):
            data, member = fetch(item.href)
            header_of_bytes(data, escape(member, 120), limits.image_pixels)
            place = raster.Placement(corners=item.corners, quad=item.quad)
            found.append(raster.read_image(data, PurePosixPath(member).name, place,
                                           meta(opts, name=item.name, found_date=item.date), caps(limits)))
    return result(filename, fmt, digest, found, opts, notes)


# --- parts -----------------------------------------------------------------------------------------------

def placement(world, world_name, opts) -> raster.Placement:
    return raster.Placement(world=world, world_name=world_name, assume_crs=opts.assume_crs)


def sibling_world(path: Path, fmt: str, filename: str):
    """(affine, name) of the world file beside an image on disk (any letter case), or (None, None)."""
    found = headers.sibling_world(path, fmt)
    if found is None:
        return None, None
    if found.stat().st_size > 64 * 1024:
        raise ImageProblem(found.name, "not a world file: larger than 64 KB")
    text, _ = decode_text(found.read_bytes(), found.name)
    return parse_world_file(text, found.name), found.name


def fmt_label(fmt: str, world_name: str | None) -> str:
    if fmt == "tiff":
        return "geotiff" if world_name is None else "tiff+world"
    return f"{fmt}+world"


def result(filename: str, fmt: str, digest: str, found: list, opts, notes=()) -> dict:
    """The ImportResult's fields (geo.imports.importer builds it)."""
    frame = gpd.GeoDataFrame(
        pd.DataFrame({"name": [i.name for i in found], "date": [i.date for i in found],
                      "source": [i.source for i in found], "licence": [i.licence for i in found],
                      "crs_in": [i.crs_in for i in found], "width": [i.width for i in found],
                      "height": [i.height for i in found], "levels": [len(i.levels) for i in found],
                      "date_from": [i.date_from for i in found]}),
        geometry=[shapely.box(*i.bounds) for i in found], crs=WGS84)
    notes = list(notes) + [w for i in found for w in i.warnings]
    if not (opts.image_source or "").strip():
        notes.append("no source given: shown as 'not given' (--source on the command line)")
    if not (opts.image_licence or "").strip():
        notes.append("no licence given: shown as 'not given' (--licence on the command line)")
    crs = sorted({i.crs_in for i in found})
    return dict(filename=filename, format=fmt, kind=KIND, frame=frame, input_crs=", ".join(crs), sha256=digest,
                warnings=notes, details={"date_column": "date", "date_format": "; ".join(sorted({i.date_from
                                                                                              for i in found}))},
                images=found)
