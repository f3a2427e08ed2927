"""Files and names written to hurt: each is made here, byte by byte, and each must end in one line
that says what happened (or in the data coming back unchanged), never a traceback or an
exception's class name."""
import io
import json
import re
import xml.etree.ElementTree as ET
import zipfile

import pandas as pd
import pytest
from PIL import Image

from geo import safetext
from geo.export import formats as export
from geo.view import records
from geo.render import layers
from geo.model import timeline
from geo.imports.importer import ImportProblem, read_file
from geo.store.workspace import Workspace

CLASS_NAME = re.compile(r"\b[A-Z][a-z]+(Error|Exception|ZipFile)\b")


def refusal(raw, name, **kw) -> str:
    with pytest.raises(ImportProblem) as caught:
        read_file(raw, filename=name, **kw)
    message = str(caught.value)
    assert "\n" not in message and not CLASS_NAME.search(message), message
    return message


def geojson(*features) -> bytes:
    return json.dumps({"type": "FeatureCollection", "features": list(features)}).encode()


def point(lon, lat, **props):
    return {"type": "Feature", "properties": props, "geometry": {"type": "Point", "coordinates": [lon, lat]}}


# --- messages that say what happened ---------------------------------------------------------------

def test_a_zip_whose_member_lies_about_its_size_is_called_damaged():
    doc = geojson(*[point(100 + i / 100, 47, name=f"p{i}") for i in range(200)])
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("depots.geojson", doc)
    raw = bytearray(buffer.getvalue())
    for signature, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):  # uncompressed size, both headers
        at = raw.find(signature)
        raw[at + offset:at + offset + 4] = (len(doc) // 2).to_bytes(4, "little")
    message = refusal(bytes(raw), "lying.zip")
    assert message.startswith("lying.zip: archive damaged") and "depots.geojson" in message, message


def test_a_gpx_of_nan_coordinates_says_no_valid_coordinates():
    raw = (b'<?xml version="1.0"?><gpx version="1.1" creator="t" xmlns="http://www.topografix.com/GPX/1/1">'
           b'<trk><name>t</name><trkseg><trkpt lat="NaN" lon="NaN"><time>2024-01-01T00:00:00Z</time></trkpt>'
           b'<trkpt lat="NaN" lon="NaN"><time>2024-01-01T01:00:00Z</time></trkpt></trkseg></trk></gpx>')
    message = refusal(raw, "nan.gpx")
    assert "no valid coordinates" in message and "projected" not in message, message


@pytest.mark.parametrize("name, raw", [
    ("huge.geojson", geojson(point(1e300, 1e300))),
    ("huge.csv", b"name,x,y\na,1e300,-1e300\n"),
])
def test_coordinates_of_1e300_are_not_printed_digit_by_digit(name, raw):
    message = refusal(raw, name)
    assert "1e+300" in message and not re.search(r"\d{20}", message), message


def test_names_with_controls_are_escaped_into_one_visible_line():
    assert safetext.escape("evil\u202egpj.exe") == "evil\\u202egpj.exe"
    assert safetext.escape("a\nb\x00c\r\x1b") == "a\\nb\\x00c\\r\\x1b"
    assert safetext.escape("Хасан 羅津 Rason") == "Хасан 羅津 Rason"
    assert safetext.escape("x" * 50, 10) == "x" * 9 + "…"


# --- dates of any year ------------------------------------------------------------------------------

EVENTS = ("id,date,title,kind,description,url,lon,lat\n"
          "E1,0001-03-04,first,strike,d,https://example.org/1,130.6,42.3\n"
          "E2,0050-06-01,second,strike,d,https://example.org/2,130.6,42.3\n"
          "E3,0099-12-31,third,strike,d,https://example.org/3,130.6,42.3\n"
          "E4,0999-01-02,fourth,strike,d,https://example.org/4,130.6,42.3\n")


def test_years_before_1000_come_back_unchanged_from_either_store(store):
    ws = Workspace(store)
    ws.add(read_file(EVENTS.encode(), filename="old.csv", kind="events"))
    back = ws.features("events").sort_values("name")
    wanted = ["0001-03-04", "0050-06-01", "0099-12-31", "0999-01-02"]
    assert [f"{d.year:04d}-{d.month:02d}-{d.day:02d}" for d in back["date"]] == \
        [wanted[i] for i in (0, 3, 1, 2)]  # fourth, first, second, third by name


# --- exports that escape for their format -----------------------------------------------------------

def state(month="2024-06", **kw):
    kw.setdefault("layers", records.DEFAULT_LAYERS + ("imported",))
    return records.MapState(date=timeline.month_end(month + "-01"), **kw)


@pytest.fixture
def hostile_snapshot(tmp_path):
    ws = Workspace(tmp_path / "ws.sqlite")
    doc = geojson(point(130.6, 42.3, name="Depot <b>bold</b>", description="<script>alert(1)</script> & more"),
                  point(131.0, 43.0, name="No link"), point(131.2, 43.1, name="Linked", url="https://example.org/a"))
    ws.add(read_file(doc, filename="$x^_$ and $\\frac{a}{b}$.geojson"))
    return ws.snapshot()


def test_png_draws_a_file_name_with_dollar_signs_as_text(data, hostile_snapshot):
    png = export.to_png(data, state(), hostile_snapshot)
    assert Image.open(io.BytesIO(png)).size == (1600, 900)


def test_video_draws_a_file_name_with_dollar_signs_as_text(data, hostile_snapshot):
    from geo.export import video
    shots = video.month_shots(data, "2024-05", "2024-06", layer_ids=state().layers)
    shot = video.Shot(shots[-1].state, "Depots of $x^_$", "A caption with $\\frac{a}{b}$ and $^_$ in it")
    for frame in (video.shot_frame(data, shot, (1280, 720), hostile_snapshot),
                  video.closing_frame(data, shots, (1280, 720), hostile_snapshot)):
        assert frame.shape == (720, 1280, 3)


def test_kml_descriptions_are_escaped_as_the_html_export_escapes_them(data, hostile_snapshot):
    root = ET.fromstring(export.to_kml(data, state(), hostile_snapshot))
    descriptions = [e.text or "" for e in root.iter() if e.tag.endswith("description")]
    imported = [d for d in descriptions if "alert(1)" in d]
    assert imported and all("<script>" not in d and "&lt;script&gt;" in d for d in imported), imported


def test_missing_urls_are_empty_never_nan(data, hostile_snapshot):
    features = json.loads(export.to_geojson(data, state(), hostile_snapshot))
    urls = [f["properties"]["url"] for f in features["features"]]
    assert "nan" not in urls and "" in urls
    with zipfile.ZipFile(io.BytesIO(export.to_csv(data, state(), hostile_snapshot))) as archive:
        names = [n for n in archive.namelist() if n.endswith("sources.csv")]
        sources = pd.read_csv(archive.open(names[0]), keep_default_na=False)
    assert "nan" not in set(sources["url"])


# --- an audit log no name can forge ------------------------------------------------------------------

def test_a_name_with_a_newline_cannot_forge_a_line_of_the_audit_log(tmp_path, monkeypatch):
    import os
    import subprocess
    import sys
    from conftest import ROOT
    import sample_files as sf
    monkeypatch.setenv("GEO_WORKSPACE", str(tmp_path / "ws.sqlite"))
    Workspace().add(read_file(sf.acled_csv(tmp_path / "acled.csv")))
    forged = "carol\n2026-01-01T00:00:00+00:00  edith            remove  done     batch 1\u202e"
    env = dict(os.environ, GEO_USER=forged, GEO_EDITORS="dave")
    refused = subprocess.run([sys.executable, "-m", "geo", "workspace", "remove", "1"], cwd=ROOT, env=env,
                             capture_output=True, text=True, timeout=120)
    assert refused.returncode == 2 and refused.stderr.count("\n") == 1, refused.stderr
    log = subprocess.run([sys.executable, "-m", "geo", "workspace", "log"], cwd=ROOT, capture_output=True, text=True,
                         timeout=120).stdout.splitlines()
    assert len(log) == 2  # the import, and the refusal: nothing else
    assert "carol\\n2026-01-01" in log[1] and "refused" in log[1] and "\u202e" not in log[1]
    assert not any(line.startswith("2026-01-01T00:00:00") for line in log)
