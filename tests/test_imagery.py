"""Imported images: GeoTIFFs in EPSG:4326, a UTM zone and EPSG:3857, a PNG with a world file and a
KMZ ground overlay, built here with rasterio, imported through the importer's worker (as the page
and the command line read them) into a real workspace, once per store (SQLite and PostGIS).

Each keeps its footprint (within one pixel of what GDAL gives for the same raster), its date
(from its metadata, its name, the KML or the user), a pyramid of PNGs in Web Mercator, and goes
when its batch is removed. Hostile and broken rasters are refused in one line within 2 s, with
nothing stored."""
import io
import json
import math
import re
import resource
import struct
import subprocess
import sys
import time
import zipfile

import numpy as np
import pytest
import rasterio
from PIL import Image as PILImage
from rasterio.transform import from_origin
from rasterio.warp import transform as warp_points
from rasterio.warp import transform_bounds

from conftest import ROOT
from geo.imagery import raster
from geo.imports import sandbox
from geo.imports.filecheck import ImportProblem
from geo.store.workspace import Workspace, WorkspaceError

# Near the Tumangang and Khasan yards.
UTM_ORIGIN = (632_000.0, 4_697_000.0)  # EPSG:32652, upper-left corner
LONLAT_ORIGIN = (130.58, 42.44)


def cli(*args, env=None):
    return subprocess.run([sys.executable, "-m", "geo", *map(str, args)], cwd=ROOT, capture_output=True, text=True,
                          timeout=120, env=env)


def pattern(height, width, bands=3, dtype="uint8", top=255):
    """Stripes and a gradient: not noise (PNG keeps it small), different in each quarter."""
    rows, cols = np.indices((height, width))
    out = np.stack([(rows * 255 // max(height - 1, 1)), (cols * 255 // max(width - 1, 1)),
                    ((rows // 16 + cols // 16) % 2) * 255][:bands])
    return (out * top // 255).astype(dtype)


def geotiff(path, crs, transform, width, height, *, bands=3, dtype="uint8", nodata=None, tags=None, data=None):
    data = pattern(height, width, bands, dtype, 255 if dtype == "uint8" else 4000) if data is None else data
    with rasterio.open(path, "w", driver="GTiff", width=width, height=height, count=bands, dtype=dtype, crs=crs,
                       transform=transform, nodata=nodata, compress="deflate") as dst:
        dst.write(data)
        if tags:
            dst.update_tags(**tags)
    return path


def gdal_footprint(crs, bounds):
    """GDAL's own lon/lat box of a raster's bounds (OCTTransformBounds, edges densified)."""
    return transform_bounds(crs, "EPSG:4326", *bounds, densify_pts=51)


def assert_within_a_pixel(found, expected, image):
    west, south, east, north = found
    px_lon = (east - west) / image["width"]
    px_lat = (north - south) / image["height"]
    for got, want, tol in zip(found, expected, (px_lon, px_lat, px_lon, px_lat)):
        assert abs(got - want) <= tol, f"footprint {found} is more than a pixel off GDAL's {expected}"


def read(path_or_bytes, filename=None, **options):
    """As the command line reads a file: in a worker process, within the import limits."""
    return sandbox.read_file(path_or_bytes, filename, **options)


def decoded(png: bytes) -> PILImage.Image:
    picture = PILImage.open(io.BytesIO(png))
    picture.load()
    return picture


def check_pyramid(ws, image):
    """Every level decodes as an RGBA PNG of the size it claims: halving from level 0 (at most
    2048 px on the long side) down to the first at or below 256 px."""
    sizes = raster.pyramid_sizes(int(image["width"]), int(image["height"]))
    assert len(sizes) == image["levels"] and max(sizes[0]) <= 2048 and max(sizes[-1]) <= 256
    assert all(max(sizes[i]) > 256 for i in range(len(sizes) - 1))
    for level, (w, h) in enumerate(sizes):
        picture = decoded(ws.image_bytes(int(image["image_id"]), level))
        assert picture.format == "PNG" and picture.mode == "RGBA" and picture.size == (w, h)
        if level:
            assert sizes[level] == (math.ceil(sizes[level - 1][0] / 2), math.ceil(sizes[level - 1][1] / 2))
    with pytest.raises(KeyError):
        ws.image_bytes(int(image["image_id"]), len(sizes))


# --- the five kinds of file ---------------------------------------------------------------------------

def test_geotiffs_in_4326_utm_and_3857_keep_footprint_date_and_pyramid(tmp_path, store):
    lonlat = geotiff(tmp_path / "khasan.tif", "EPSG:4326", from_origin(*LONLAT_ORIGIN, 0.0002, 0.00015), 500, 400,
                     tags={"TIFFTAG_DATETIME": "2024:06:17 10:21:00"})
    utm = geotiff(tmp_path / "tumangang_20240618.tif", "EPSG:32652", from_origin(*UTM_ORIGIN, 2.5, 2.5), 900, 700,
                  bands=1, dtype="uint16", nodata=0)
    x0, y0 = warp_points("EPSG:4326", "EPSG:3857", [130.60], [42.45])
    mercator = geotiff(tmp_path / "rajin.tif", "EPSG:3857", from_origin(x0[0], y0[0], 1.5, 1.5), 3000, 1500,
                       tags={"ACQUISITIONDATETIME": "2024-07-02T01:55:00Z", "TIFFTAG_DATETIME": "2025:01:01 00:00:00"})
    ws = Workspace()
    batch_ids = [ws.add(read(p, image_source="Test scenes", image_licence="CC BY 4.0"))
                 for p in (lonlat, utm, mercator)]
    images = ws.images().set_index("source_file", drop=False)
    assert list(images["batch_id"]) == batch_ids
    expected = {"khasan.tif": ("2024-06-17", "metadata (TIFFTAG_DATETIME)", "EPSG:4326"),
                "tumangang_20240618.tif": ("2024-06-18", "file name", "EPSG:32652"),
                "rajin.tif": ("2024-07-02", "metadata (ACQUISITIONDATETIME)", "EPSG:3857")}
    for name, (day, date_from, crs) in expected.items():
        image = images.loc[name]
        assert str(image["date"].date()) == day and image["date_from"] == date_from and image["crs_in"] == crs
        assert image["source"] == "Test scenes" and image["licence"] == "CC BY 4.0"
        with rasterio.open(tmp_path / name) as src:
            want = gdal_footprint(src.crs, src.bounds)
        found = (image["west"], image["south"], image["east"], image["north"])
        assert_within_a_pixel(found, want, image)
        assert image.geometry.bounds == pytest.approx(found)
        check_pyramid(ws, image)
    assert images.loc["rajin.tif", "width"] == 2048 and images.loc["rajin.tif", "height"] == 1024
    assert images.loc["rajin.tif", "levels"] == 4  # 2048, 1024, 512, 256
    assert images.loc["khasan.tif", "levels"] == 2  # about 500 px wide, then 250


def test_nodata_is_transparent_and_the_picture_is_where_the_map_says(tmp_path, store):
    data = pattern(400, 400, bands=1, dtype="uint16", top=4000)
    data[:, :, :100] = 0  # the western quarter: no data
    data[:, 300:, 300:] = 4000  # the south-east corner: bright
    path = geotiff(tmp_path / "yard_2024-06-17.tif", "EPSG:32652", from_origin(*UTM_ORIGIN, 2, 2), 400, 400,
                   bands=1, dtype="uint16", nodata=0, data=data)
    ws = Workspace()
    ws.add(read(path))
    image = ws.images().iloc[0]
    picture = np.asarray(decoded(ws.image_bytes(int(image["image_id"]), 0)))
    h, w = picture.shape[:2]
    assert picture[h // 2, int(w * 0.1), 3] == 0, "nodata must be transparent"
    assert picture[h // 2, int(w * 0.6), 3] == 255
    assert picture[int(h * 0.9), int(w * 0.9), :3].min() > 200, "the bright corner is in the south-east"
    assert picture[int(h * 0.6), int(w * 0.4), :3].max() < 255


def world_file(path, a, e, x_corner, y_corner):
    path.write_text(f"{a}\n0\n0\n{e}\n{x_corner + a / 2}\n{y_corner + e / 2}\n")


def png_with_world(folder, name="screenshot.png", world_ext=".pgw", size=(600, 450)):
    picture = PILImage.fromarray(np.moveaxis(pattern(size[1], size[0]), 0, -1), "RGB")
    path = folder / name
    picture.save(path)
    world_file(folder / (path.stem + world_ext), 3.0, -3.0, *UTM_ORIGIN)
    return path


def expected_utm_footprint(width, height, res=3.0):
    x0, y0 = UTM_ORIGIN
    return gdal_footprint("EPSG:32652", (x0, y0 - res * height, x0 + res * width, y0))


def test_a_png_with_its_world_file_and_the_crs_named_on_the_command_line(tmp_path, store):
    path = png_with_world(tmp_path)
    proc = cli("import", path, "--crs", "EPSG:32652", "--date", "2024-06-17", "--source", "Screenshot, analyst")
    assert proc.returncode == 0, proc.stderr
    assert "batch" in proc.stdout and "images" in proc.stdout
    assert "no licence given" in proc.stderr
    ws = Workspace()
    image = ws.images().iloc[0]
    assert image["crs_in"] == "EPSG:32652" and str(image["date"].date()) == "2024-06-17"
    assert image["date_from"] == "given" and image["source"] == "Screenshot, analyst" and image["licence"] == ""
    assert_within_a_pixel((image["west"], image["south"], image["east"], image["north"]),
                          expected_utm_footprint(600, 450), image)
    check_pyramid(ws, image)


@pytest.mark.parametrize("world_ext", [".pngw", ".wld"])
def test_a_png_and_its_world_file_zipped_or_uploaded_together(tmp_path, store, world_ext):
    path = png_with_world(tmp_path, "chip_2024-05-02.png", world_ext)
    world = tmp_path / (path.stem + world_ext)
    bundle = io.BytesIO()
    with zipfile.ZipFile(bundle, "w") as z:
        z.write(path, path.name)
        z.write(world, world.name)
    ws = Workspace()
    zipped = read(bundle.getvalue(), "chip.zip", assume_crs="EPSG:32652")
    together = sandbox.read_parts([(path.name, path.read_bytes()), (world.name, world.read_bytes())],
                                  assume_crs="EPSG:32652")
    for result in (zipped, together):
        assert result.kind == "images" and len(result.images) == 1
        ws.add(result)
    images = ws.images()
    assert len(images) == 2 and set(images["date"].dt.strftime("%Y-%m-%d")) == {"2024-05-02"}
    for _, image in images.iterrows():
        assert_within_a_pixel((image["west"], image["south"], image["east"], image["north"]),
                              expected_utm_footprint(600, 450), image)


def kmz(tmp_path, href="files/overlay.png", rotation=30.0, image=True, stamp="<TimeStamp><when>2024-06-18</when>"
        "</TimeStamp>", extra=()):
    box = dict(north=42.46, south=42.43, east=130.62, west=130.57)
    doc = f"""<?xml version="1.0" encoding="UTF-8"?>
<kml xmlns="http://www.opengis.net/kml/2.2"><Document><GroundOverlay><name>Tumangang yard</name>{stamp}
<Icon><href>{href}</href></Icon>
<LatLonBox><north>{box['north']}</north><south>{box['south']}</south><east>{box['east']}</east>
<west>{box['west']}</west><rotation>{rotation}</rotation></LatLonBox></GroundOverlay></Document></kml>"""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        z.writestr("doc.kml", doc)
        if image:
            png = io.BytesIO()
            PILImage.fromarray(np.moveaxis(pattern(300, 500), 0, -1), "RGB").save(png, format="PNG")
            z.writestr("files/overlay.png", png.getvalue())
        for name, data in extra:
            z.writestr(name, data)
    path = tmp_path / "overlay.kmz"
    path.write_bytes(buffer.getvalue())
    return path, box


def rotated_box(box, rotation):
    cx, cy = (box["east"] + box["west"]) / 2, (box["north"] + box["south"]) / 2
    t = math.radians(rotation)
    xs, ys = [], []
    for x, y in ((box["west"], box["north"]), (box["east"], box["north"]), (box["east"], box["south"]),
                 (box["west"], box["south"])):
        xs.append(cx + (x - cx) * math.cos(t) - (y - cy) * math.sin(t))
        ys.append(cy + (x - cx) * math.sin(t) + (y - cy) * math.cos(t))
    return min(xs), min(ys), max(xs), max(ys)


def test_a_kmz_ground_overlay_rotated_in_its_latlonbox(tmp_path, store):
    path, box = kmz(tmp_path)
    ws = Workspace()
    ws.add(read(path))
    image = ws.images().iloc[0]
    assert image["name"] == "Tumangang yard" and str(image["date"].date()) == "2024-06-18"
    assert image["date_from"] == "KML TimeStamp/TimeSpan" and image["crs_in"] == "EPSG:4326"
    assert_within_a_pixel((image["west"], image["south"], image["east"], image["north"]), rotated_box(box, 30), image)
    check_pyramid(ws, image)
    picture = np.asarray(decoded(ws.image_bytes(int(image["image_id"]), 0)))
    h, w = picture.shape[:2]
    assert picture[2, 2, 3] == 0 and picture[h // 2, w // 2, 3] == 255, "turned: the corners of the box are empty"


def test_a_kml_beside_its_image_on_disk(tmp_path, store):
    path, box = kmz(tmp_path, rotation=0)
    with zipfile.ZipFile(path) as z:
        (tmp_path / "files").mkdir()
        (tmp_path / "files" / "overlay.png").write_bytes(z.read("files/overlay.png"))
        (tmp_path / "yard.kml").write_bytes(z.read("doc.kml"))
    result = read(tmp_path / "yard.kml")
    assert result.kind == "images" and result.format == "kml"
    Workspace().add(result)
    image = Workspace().images().iloc[0]
    assert_within_a_pixel((image["west"], image["south"], image["east"], image["north"]),
                          (box["west"], box["south"], box["east"], box["north"]), image)


# --- the workspace ---------------------------------------------------------------------------------------

def test_removing_the_batch_removes_its_images_and_both_are_audited(tmp_path, store):
    first = geotiff(tmp_path / "a_2024-06-17.tif", "EPSG:32652", from_origin(*UTM_ORIGIN, 2, 2), 300, 200)
    second = geotiff(tmp_path / "b_2024-08-01.tif", "EPSG:32652", from_origin(*UTM_ORIGIN, 2, 2), 300, 200)
    ws = Workspace()
    keep, gone = ws.add(read(first)), ws.add(read(second))
    before = ws.images()
    gone_id = int(before.loc[before["batch_id"] == gone, "image_id"].iloc[0])
    assert len(ws.image_bytes(gone_id, 0)) > 0
    assert list(ws.images(since="2024-08-01")["batch_id"]) == [gone]
    assert list(ws.images(until="2024-08-01")["batch_id"]) == [keep]
    assert list(ws.images(since="2024-06-01", until="2024-07-01")["batch_id"]) == [keep]
    assert ws.snapshot().images["batch_id"].tolist() == [keep, gone]
    assert "png" not in ws.snapshot().images.columns
    ws.remove(gone)
    assert ws.images()["batch_id"].tolist() == [keep] and ws.counts()["images"] == 1
    with pytest.raises(KeyError):
        ws.image_bytes(gone_id, 0)
    log = ws.audit()
    assert [(a, b, o) for a, b, o in zip(log["action"], log["batch_id"], log["outcome"])] == \
        [("import", keep, "done"), ("import", gone, "done"), ("remove", gone, "done")]
    batches = ws.batches(removed=True).set_index("id")
    assert batches.loc[gone, "kind"] == "images" and batches.loc[gone, "removed_at"]


def test_an_older_sqlite_store_is_migrated_and_keeps_what_it_held(tmp_path, monkeypatch):
    import sqlite3
    from geo.store import workspace
    path = tmp_path / "old.sqlite"
    con = sqlite3.connect(path)
    con.executescript(workspace.SCHEMA_V1 + workspace.MIGRATIONS[2])
    con.execute("INSERT INTO meta(key, value) VALUES ('schema_version', '2')")
    con.execute("INSERT INTO batches(filename, kind, format, imported_at, feature_count, sha256) "
                "VALUES ('old.csv', 'events', 'csv', '2025-01-01T00:00:00+00:00', 0, 'x')")
    con.commit()
    con.close()
    ws = Workspace(str(path))
    assert ws.schema_version == 4 and ws.batches()["filename"].tolist() == ["old.csv"]
    ws.add(read(geotiff(tmp_path / "n_2024-06-17.tif", "EPSG:4326", from_origin(*LONLAT_ORIGIN, 0.0002, 0.0002),
                        100, 100)))
    assert len(ws.images()) == 1


def test_a_postgis_store_of_version_1_is_migrated_and_keeps_what_it_held(tmp_path, monkeypatch, postgres):
    from geo.store import postgis
    url = postgres.new_database()
    monkeypatch.setattr(postgis, "MIGRATIONS", {1: postgis.MIGRATIONS[1]})  # the store as the last release left it
    monkeypatch.setattr(Workspace, "purge", lambda self: [])  # ... and that release had no undo window to purge
    old = Workspace(url)
    assert old.schema_version == 1
    table = tmp_path / "t.csv"
    table.write_text("name,lat,lon,date\nyard,42.4,130.6,2024-06-17\n")
    kept = old.add(read(table))
    old.close()
    monkeypatch.undo()
    ws = Workspace(url)
    assert ws.schema_version == 3 and ws.batches()["id"].tolist() == [kept] and ws.counts()["features"] == 1
    ws.add(read(geotiff(tmp_path / "n_2024-06-17.tif", "EPSG:4326", from_origin(*LONLAT_ORIGIN, 0.0002, 0.0002),
                        100, 100)))
    assert len(ws.images()) == 1 and ws.counts()["images"] == 1


def test_an_import_that_fails_midway_stores_no_image(tmp_path, store, monkeypatch):
    result = read(geotiff(tmp_path / "y_2024-06-17.tif", "EPSG:32652", from_origin(*UTM_ORIGIN, 2, 2), 300, 200))
    result.images[0].levels[-1].png = None  # a NOT NULL column: the insert of the last level fails
    ws = Workspace()
    with pytest.raises(WorkspaceError):
        ws.add(result)
    assert ws.counts() == {"batches": 0, "features": 0, "track_points": 0, "images": 0}
    assert ws.batches(removed=True).empty


# --- refusals ----------------------------------------------------------------------------------------------

def minimal_tiff(width, height, geo=True) -> bytes:
    """A one-strip 8-bit TIFF claiming width x height, its strip a few bytes: a pixel bomb."""
    entries = [(256, 4, 1, width), (257, 4, 1, height), (258, 3, 1, 8), (259, 3, 1, 8), (262, 3, 1, 1),
               (273, 4, 1, 0), (277, 3, 1, 1), (278, 4, 1, height), (279, 4, 1, 16)]
    extra = b""
    if geo:
        entries += [(33550, 12, 3, None), (33922, 12, 6, None), (34735, 3, 4, None)]
    entries.sort()
    ifd_offset = 8
    data_offset = ifd_offset + 2 + 12 * len(entries) + 4
    blobs = {33550: struct.pack("<3d", 1, 1, 0), 33922: struct.pack("<6d", 0, 0, 0, 500000, 4000000, 0),
             34735: struct.pack("<4H", 1, 1, 0, 0)}
    body, table = b"", b""
    for tag, typ, count, value in entries:
        if value is None:
            table += struct.pack("<HHII", tag, typ, count, data_offset + len(body))
            body += blobs[tag]
        elif typ == 3:
            table += struct.pack("<HHIHH", tag, typ, count, value, 0)
        else:
            table += struct.pack("<HHII", tag, typ, count, value)
    strip_at = data_offset + len(body)
    table = table.replace(struct.pack("<HHII", 273, 4, 1, 0), struct.pack("<HHII", 273, 4, 1, strip_at))
    return b"II*\x00" + struct.pack("<I", ifd_offset) + struct.pack("<H", len(entries)) + table + b"\0\0\0\0" + \
        body + b"\x78\x9c" + b"\0" * 14 + extra


def png_bomb() -> bytes:
    import zlib
    ihdr = struct.pack(">IIBBBBB", 100_000, 100_000, 8, 2, 0, 0, 0)
    chunk = lambda kind, data: struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 1000)) + \
        chunk(b"IEND", b"")


def refusals(tmp_path):
    """(file, bytes or path, options, what the one-line refusal must say)."""
    plain = tmp_path / "plain_2024-06-17.tif"
    with rasterio.open(plain, "w", driver="GTiff", width=64, height=64, count=1, dtype="uint8") as dst:
        dst.write(np.zeros((1, 64, 64), dtype="uint8"))
    good = geotiff(tmp_path / "good_2024-06-17.tif", "EPSG:32652", from_origin(*UTM_ORIGIN, 2, 2), 400, 300)
    raw = good.read_bytes()
    truncated = raw[: len(raw) // 2]
    corrupt = bytearray(raw)
    corrupt[len(raw) // 3: len(raw) // 3 + 3000] = b"\xaa" * 3000
    key = struct.pack("<4H", 3072, 0, 1, 32652)
    bad_crs = raw.replace(key, struct.pack("<4H", 3072, 0, 1, 1234))
    assert bad_crs != raw
    png = png_with_world(tmp_path, "nocrs_2024-06-17.png")
    lonely = tmp_path / "lonely_2024-06-17.png"
    lonely.write_bytes(png.read_bytes())

    def folder(name):
        (tmp_path / name).mkdir()
        return tmp_path / name
    no_image, _ = kmz(folder("a"), image=False)
    escaping, _ = kmz(folder("b"), href="../../../etc/passwd")
    web, _ = kmz(folder("c"), href="https://example.org/x.png")
    evil_member = io.BytesIO()
    with zipfile.ZipFile(evil_member, "w") as z:
        z.writestr("../evil.png", png.read_bytes())
        z.writestr("evil.pgw", "1\n0\n0\n-1\n0\n0\n")
    undated = geotiff(tmp_path / "undated.tif", "EPSG:32652", from_origin(*UTM_ORIGIN, 2, 2), 64, 64)
    bomb_kmz = io.BytesIO()
    with zipfile.ZipFile(bomb_kmz, "w") as z, zipfile.ZipFile(escaping) as source:
        z.writestr("doc.kml", source.read("doc.kml").replace(b"../../../etc/passwd", b"files/overlay.png"))
        z.writestr("files/overlay.png", png_bomb())
    overlay = b"<GroundOverlay><Icon><href>a.png</href></Icon><LatLonBox><north>1</north><south>0</south>" \
        b"<east>1</east><west>0</west></LatLonBox></GroundOverlay>"
    many = b'<kml xmlns="http://www.opengis.net/kml/2.2"><Document>' + overlay * 201 + b"</Document></kml>"
    world = geotiff(tmp_path / "world_2024-06-17.tif", "EPSG:4326", from_origin(-180, 90, 1, 1), 360, 180)
    with zipfile.ZipFile(no_image) as z:
        lone_kml = z.read("doc.kml")
    return [
        ("plain_2024-06-17.tif", plain, {}, "no georeference"),
        ("truncated.tif", truncated, {}, "damaged or truncated TIFF"),
        ("corrupt_2024-06-17.tif", bytes(corrupt), {}, "damaged or unreadable TIFF"),
        ("badcrs_2024-06-17.tif", bad_crs, {}, "cannot read its CRS"),
        ("bomb.tif", minimal_tiff(100_000, 100_000), {}, "100,000 x 100,000 pixels"),
        ("bomb.png", png_bomb(), {}, "100,000 x 100,000 pixels"),
        ("nocrs_2024-06-17.png", png, {}, "name the CRS of the world file, e.g. EPSG:32652"),
        ("nocrs_2024-06-17.png", png, {"assume_crs": "EPSG:999999"}, "cannot read the CRS 'EPSG:999999'"),
        ("lonely_2024-06-17.png", lonely, {"assume_crs": "EPSG:32652"}, "needs its world file"),
        ("overlay.kmz", no_image, {}, "holds no image 'files/overlay.png'"),
        ("overlay.kmz", escaping, {}, "path traversal"),
        ("overlay.kmz", web, {}, "web address"),
        ("evil.zip", evil_member.getvalue(), {}, "climbs out of the folder"),
        ("undated.tif", undated, {}, "no date in its metadata or name"),
        ("good_2024-06-17.tif", good, {"image_date": "17/06/2024x"}, "is not a date"),
        ("world_2024-06-17.tif", world, {}, "beyond 85.05° latitude, where Web Mercator ends"),
        ("yard.kml", lone_kml, {}, "is not in the file: import the KML zipped with its image"),
        ("bomb.kmz", bomb_kmz.getvalue(), {}, "bomb.kmz: files/overlay.png: refused: the image claims 100,000 x "
                                              "100,000 pixels"),
        ("many.kml", many, {}, "refused: 201 GroundOverlays (limit 200)"),
        ("alone.pgw", b"3\n0\n0\n-3\n632001.5\n4696998.5\n", {}, "a world file alone places nothing"),
    ]


AT_ONCE = {"no georeference", "damaged or truncated TIFF", "100,000 x 100,000 pixels", "name the CRS of the world file",
           "needs its world file"}


def cpu_seconds() -> float:
    """CPU time of this process and of its finished children (the workers, reaped after each read)."""
    import resource
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def test_hostile_and_broken_rasters_are_refused_in_one_line_within_2_s_with_nothing_stored(tmp_path, store):
    """What the header and the file names show (no georeference, a pixel bomb, a truncated TIFF,
    a world file without a CRS) is refused before any worker starts: within half a second,
    however busy the machine. What only GDAL can tell (damaged image data, a CRS PROJ does not
    know, a KMZ's insides) costs one worker: under 2 s of CPU time always, and under 2 s of wall
    time when the machine is not busier than it has cores (a loaded machine stretches the
    worker's start, not the refusal)."""
    import os
    ws = Workspace()
    for name, source, options, says in refusals(tmp_path):  # a path as the command line gives it, bytes as uploaded
        quiet = os.getloadavg()[0] < (os.cpu_count() or 1)
        started, cpu = time.monotonic(), cpu_seconds()
        with pytest.raises(ImportProblem) as err:
            read(source, None if hasattr(source, "read_bytes") else name, **options)
        took, spent = time.monotonic() - started, cpu_seconds() - cpu
        message = str(err.value)
        assert message.startswith(f"{name}: ") and says in message and "\n" not in message, message
        assert "/tmp" not in message and "vsimem" not in message, message
        assert not re.search(r"[0-9a-f]{8}-[0-9a-f]{4}-", message), f"an in-memory file's name: {message}"
        if says in AT_ONCE:
            assert took < 0.5, f"{name}: refused from its header, yet it took {took:.1f} s"
        else:
            assert spent < 2.0, f"{name}: the refusal cost {spent:.1f} s of CPU"
            if quiet:
                assert took < 2.0, f"{name} took {took:.1f} s to refuse"
    assert ws.counts() == {"batches": 0, "features": 0, "track_points": 0, "images": 0}


def test_the_command_line_refuses_a_2_gb_image_from_its_size_and_a_bomb_from_its_header(tmp_path, store):
    huge = tmp_path / "huge_2024-06-17.tif"
    with huge.open("wb") as f:
        f.write(minimal_tiff(1000, 1000))
        f.truncate(2 * 1024 ** 3)  # sparse: 2 GB on paper, nothing on disk
    bomb = tmp_path / "bomb_2024-06-17.tif"
    bomb.write_bytes(minimal_tiff(100_000, 100_000))
    lonely = png_with_world(tmp_path, "w_2024-06-17.png")
    for path, args, says in ((huge, (), "refused: file is 2,048.0 MB (limit 500 MB for an image"),
                             (bomb, (), "refused: the image claims 100,000 x 100,000 pixels"),
                             (lonely, (), "w_2024-06-17.png: the world file w_2024-06-17.pgw gives no CRS: name the "
                                          "CRS of the world file, e.g. EPSG:32652")):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        proc = cli("import", path, *args)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        # CPU time, not wall time: a loaded machine stretches the wait, while reading 2 GB would cost CPU.
        spent = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and says in proc.stderr, proc.stderr
        assert "Traceback" not in proc.stderr
        assert spent < 5.0, f"{path.name}: {spent:.1f} s of CPU (the interpreter's start included)"
        assert "reading" not in proc.stderr
    assert Workspace().counts()["images"] == 0 and Workspace().batches(removed=True).empty


def test_an_image_size_limit_of_the_environment(tmp_path, store, monkeypatch):
    path = geotiff(tmp_path / "m_2024-06-17.tif", "EPSG:32652", from_origin(*UTM_ORIGIN, 2, 2), 800, 800)
    monkeypatch.setenv("GEO_IMAGE_MAX_MB", "0.1")
    with pytest.raises(ImportProblem, match=r"m_2024-06-17.tif: refused: file is .* MB \(limit 0 MB for an image, "
                                            r"GEO_IMAGE_MAX_MB\)"):
        read(path)


def test_an_image_read_as_another_kind_or_a_table_as_images_is_refused(tmp_path):
    path = geotiff(tmp_path / "k_2024-06-17.tif", "EPSG:32652", from_origin(*UTM_ORIGIN, 2, 2), 64, 64)
    with pytest.raises(ImportProblem, match="an image is imported as images, not as events"):
        read(path, kind="events")
    table = tmp_path / "t.csv"
    table.write_text("name,lat,lon\na,42.4,130.6\n")
    with pytest.raises(ImportProblem, match="not an image"):
        read(table, kind="images")


def test_preview_of_an_image_says_what_was_found(tmp_path):
    path = geotiff(tmp_path / "p_2024-06-17.tif", "EPSG:32652", from_origin(*UTM_ORIGIN, 2, 2), 300, 200)
    found = sandbox.preview(path)
    assert found["kind"] == "images" and found["format"] == "geotiff" and found["input_crs"] == "EPSG:32652"
    assert found["feature_count"] == 1 and found["date_format"] == "file name"
    assert found["sample_rows"][0]["date"] == "2024-06-17" and found["sample_rows"][0]["levels"] == "2"
    assert any("no source given" in w for w in found["warnings"])
    json.dumps(found, default=str)


# --- more of what analysts bring -----------------------------------------------------------------------

def test_a_jpeg_dated_by_its_exif_with_its_world_file_beside_it(tmp_path, store):
    picture = PILImage.fromarray(np.moveaxis(pattern(300, 400), 0, -1), "RGB")
    exif = PILImage.Exif()
    exif[0x0132] = "2025:01:01 00:00:00"  # when the file was saved
    exif[0x8769] = {0x9003: "2024:06:17 10:11:12"}  # when the picture was taken
    path = tmp_path / "yard.jpg"
    picture.save(path, exif=exif, quality=90)
    world_file(tmp_path / "yard.jgw", 3.0, -3.0, *UTM_ORIGIN)
    Workspace().add(read(path, assume_crs="EPSG:32652"))
    image = Workspace().images().iloc[0]
    assert str(image["date"].date()) == "2024-06-17" and image["date_from"] == "metadata (EXIF_DateTimeOriginal)"
    assert_within_a_pixel((image["west"], image["south"], image["east"], image["north"]),
                          expected_utm_footprint(400, 300), image)


def test_a_kmz_of_two_overlays_one_a_latlonquad_is_one_batch_of_two_images(tmp_path, store):
    # lower left, counter-clockwise: a sheared parallelogram (a quad of any shape is fitted by an affine, as GDAL
    # fits four control points)
    quad = ((130.57, 42.43), (130.62, 42.432), (130.625, 42.462), (130.575, 42.46))
    doc = """<kml xmlns="http://www.opengis.net/kml/2.2" xmlns:gx="http://www.google.com/kml/ext/2.2"><Document>
<Placemark><name>a pin</name><Point><coordinates>130.6,42.44</coordinates></Point></Placemark>
<GroundOverlay><name>box</name><TimeSpan><begin>2024-06-17</begin><end>2024-06-18</end></TimeSpan>
<Icon><href>a.png</href></Icon><LatLonBox><north>42.46</north><south>42.43</south><east>130.62</east>
<west>130.57</west></LatLonBox></GroundOverlay>
<GroundOverlay><name>quad</name><TimeStamp><when>2024-08-01T09:00:00Z</when></TimeStamp><Icon><href>b.png</href></Icon>
<gx:LatLonQuad><coordinates>""" + " ".join(f"{x},{y}" for x, y in quad) + """</coordinates></gx:LatLonQuad>
</GroundOverlay></Document></kml>"""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        z.writestr("doc.kml", doc)
        for name in ("a.png", "b.png"):
            png = io.BytesIO()
            PILImage.fromarray(np.moveaxis(pattern(200, 300), 0, -1), "RGB").save(png, format="PNG")
            z.writestr(name, png.getvalue())
    result = read(buffer.getvalue(), "two.kmz")
    assert any("placemarks were not imported" in w for w in result.warnings)
    batch = Workspace().add(result)
    images = Workspace().images()
    assert images["batch_id"].tolist() == [batch, batch] and images["name"].tolist() == ["box", "quad"]
    assert images["date"].dt.strftime("%Y-%m-%d").tolist() == ["2024-06-17", "2024-08-01"]
    xs, ys = zip(*quad)
    image = images.iloc[1]
    assert_within_a_pixel((image["west"], image["south"], image["east"], image["north"]),
                          (min(xs), min(ys), max(xs), max(ys)), image)
    Workspace().remove(batch)
    assert Workspace().images().empty and Workspace().counts()["images"] == 0


def test_a_geotiff_placed_by_control_points_and_one_with_a_palette(tmp_path, store):
    from rasterio.control import GroundControlPoint
    width, height = 400, 300
    corners = {(0, 0): (130.57, 42.46), (0, width): (130.62, 42.46), (height, width): (130.62, 42.43),
               (height, 0): (130.57, 42.43)}
    gcps = [GroundControlPoint(row, col, x, y, 0.0) for (row, col), (x, y) in corners.items()]
    placed = tmp_path / "gcps_2024-06-17.tif"
    with rasterio.open(placed, "w", driver="GTiff", width=width, height=height, count=3, dtype="uint8",
                       gcps=gcps, crs="EPSG:4326") as dst:
        dst.write(pattern(height, width))
    palette = tmp_path / "classes_2024-06-17.tif"
    classes = np.zeros((1, 200, 200), dtype="uint8")
    classes[:, :, 100:] = 1
    with rasterio.open(palette, "w", driver="GTiff", width=200, height=200, count=1, dtype="uint8", crs="EPSG:32652",
                       transform=from_origin(*UTM_ORIGIN, 5, 5), photometric="palette") as dst:
        dst.write(classes)
        dst.write_colormap(1, {0: (0, 114, 178, 255), 1: (230, 159, 0, 255)})
    ws = Workspace()
    for path in (placed, palette):
        ws.add(read(path))
    images = ws.images().set_index("source_file")
    image = images.loc["gcps_2024-06-17.tif"]
    assert_within_a_pixel((image["west"], image["south"], image["east"], image["north"]),
                          (130.57, 42.43, 130.62, 42.46), image)
    picture = np.asarray(decoded(ws.image_bytes(int(images.loc["classes_2024-06-17.tif", "image_id"]), 0)))
    h, w = picture.shape[:2]
    assert tuple(picture[h // 2, w // 4]) == (0, 114, 178, 255) and tuple(picture[h // 2, 3 * w // 4]) == (230, 159, 0, 255)
