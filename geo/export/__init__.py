"""Exports of one view, each format a renderer in one registry.

Every renderer draws what geo.view decided for the state (records, legend, claims, sources),
so a GeoJSON, a slide and a video of the same state cannot disagree. A new format is a new
entry in RENDERERS, never a new copy of the query.
"""
from __future__ import annotations

from geo import style
from geo.export import formats, video
from geo.render import layers


def _html(data, state, snapshot=None, basemap: dict | None = None, ships=None, **images) -> bytes:
    if basemap is None:
        detail = data.countries_detail if style.VIEWS[state.view].detailed else None
        basemap = layers.basemap_features(data.countries, detail, style.palette(state.present))
    return formats.to_html(data, state, basemap, snapshot, ships=ships, **images).encode("utf-8")


def _video(fmt: str):
    def render(data, state, snapshot=None, basemap=None, ships=None, **images) -> bytes:
        # the presenter's scene sequence at 1280x720, with this view's filters; geo.export.video
        # renders other sequences and sizes, with a progress callback
        return video.to_bytes(fmt, data, video.scene_shots(data, present=True, filters=state.filters),
                              snapshot=snapshot, ships=ships, **images)
    return render


# Renderers take (data, state, snapshot, basemap) and `ships` (geo.view.ships.Findings: the detections in
# the analyst's tracks, drawn when the view's detections layer is on); those that draw the map also take
# the workspace's images (`images`, a geo.view.imagery.Imagery) and `image_mode`; the others ignore them.
RENDERERS = {
    "geojson": lambda data, state, snapshot=None, basemap=None, ships=None, **_: formats.to_geojson(
        data, state, snapshot, ships),
    "gpkg": lambda data, state, snapshot=None, basemap=None, ships=None, **_: formats.to_gpkg(data, state, snapshot, ships),
    "kml": lambda data, state, snapshot=None, basemap=None, ships=None, **_: formats.to_kml(data, state, snapshot, ships),
    "csv": lambda data, state, snapshot=None, basemap=None, ships=None, **_: formats.to_csv(data, state, snapshot, ships),
    "html": _html,
    "png": lambda data, state, snapshot=None, basemap=None, ships=None, **images: formats.to_png(
        data, state, snapshot, ships=ships, **images),
    "mp4": _video("mp4"),
    "gif": _video("gif"),
}
FORMATS = tuple(RENDERERS)
VIDEO_FORMATS = video.FORMATS  # a sequence of slides, not one view


# The formats the page offers for one view (the video has its own controls): label and MIME type.
PAGE_FORMATS = {"geojson": ("GeoJSON", "application/geo+json"), "gpkg": ("GeoPackage", "application/geopackage+sqlite3"),
                "kml": ("KML", "application/vnd.google-earth.kml+xml"), "csv": ("CSV (zip)", "application/zip"),
                "html": ("Offline HTML map", "text/html"), "png": ("PNG for slides", "image/png")}


def file_name(fmt: str, state) -> str:
    """dprk-pipeline-2024-06.geojson: the view's month, and .zip for the CSV tables."""
    return f"dprk-pipeline-{state.date:%Y-%m}.{'zip' if fmt == 'csv' else fmt}"


def export(fmt: str, data, state, snapshot=None, basemap: dict | None = None, images=None,
           image_mode: str = "month", ships=None) -> bytes:
    """Any format by name (see FORMATS), as bytes; the map's formats draw `images` as the map does,
    and every format the month's detections in `ships` (geo.view.ships.Findings) when the view's
    detections layer is on."""
    if fmt not in RENDERERS:
        raise ValueError(f"unknown export format {fmt!r}; use one of {', '.join(FORMATS)}")
    return RENDERERS[fmt](data, state, snapshot, basemap, ships=ships, images=images, image_mode=image_mode)
