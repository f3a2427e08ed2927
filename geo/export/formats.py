"""Exports of the current view, each carrying what it shows, as of when, from which data and whose claims.

Every export is built from the same MapState the map uses and the same records the map
draws (geo.render.layers for the bundled data, geo.view.overlay for the workspace), so an export
never shows something the map does not, or the other way round.

Metadata travels with each format:
- GeoJSON: a top-level "metadata" member.
- GeoPackage: non-spatial tables `metadata` (key, value) and `sources`.
- KML: the Document's description (and one Folder per layer).
- CSV: a zip of claims.csv, sources.csv and about.csv (key, value). Comment lines at the
  top of a CSV break spreadsheets, so the metadata goes beside it, not inside it. Every
  text cell that a spreadsheet would run as a formula (=, +, -, @, tab, CR) is prefixed
  with an apostrophe; numbers stay numbers. UTF-8 with a BOM, so Excel reads accents.
- HTML: a visible footer; the file is standalone (deck.gl inlined, no request leaves it).
- PNG: a footer under the map.

The data version is the bundled data's (geo.data.dataset.data_version) plus, when workspace
content is included, the workspace's (`<data>+ws<workspace>`).
"""
from __future__ import annotations

import csv
import html
import io
import json
import re
import tempfile
import textwrap
import zipfile
from dataclasses import asdict
from datetime import datetime, timezone
from pathlib import Path

from geo.view import records
from geo.render import overlay as draw_overlay
import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
from PIL import Image

from geo import style
from geo.geometry.projection import WGS84
from geo.geometry.screenlines import mercator
from geo.export import slidemap
from geo.render import basemap_layers, imagery as draw_imagery, layers, panels
from geo.render import ships as draw_ships
from geo.safetext import plain_text_figures
from geo.store.workspace import Snapshot
from geo.view import overlay as imported
from geo.view import imagery as image_view
from geo.view import ships as ship_view
from geo.view import view_for
from geo.view.mapview import legend_within

TITLE = "DPRK → Russia arms pipeline"
NATURAL_EARTH = ("Basemap and rail track: Natural Earth 1:10m Admin 0 countries, provinces, rivers, lakes, populated "
                 "places, seas and railroads (public domain), naturalearthdata.com")
COLUMNS = ["layer", "id", "name", "kind", "detail", "claimants", "when", "url"]
# A detection's own fields, which only the detections layer carries (geo.view.ships.export_rows).
DETECTION_COLUMNS = ["vessel", "other_vessel", "mmsi", "imo", "start", "end", "place", "derived"]
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


# --- what the view shows ---------------------------------------------------------------------------------

def view_features(data, state: records.MapState, snapshot: Snapshot | None = None,
                  ships: ship_view.Findings | None = None) -> gpd.GeoDataFrame:
    """Every feature visible in `state`, one row each, with a `layer` column and plain-text fields:
    the records of geo.view.build_view, the same the map draws, plus the workspace's layers
    (tracks over the map's window, not their whole history) and, when the detections layer is on,
    the month's detections in the analyst's tracks (`ships`), each with its vessel, start, end and
    place and marked as derived from those tracks, never as a claim (no claimant)."""
    view = view_for(data, snapshot, state, **ship_view.view_args(ships))
    data = view.data  # imported claims joined in, when the workspace is shown
    tables = {"routes": (data.routes, "source_url"), "flows": (data.flows, None), "front": (data.areas, "source_url"),
              "factories": (data.areas, "source_url"), "events": (data.events, "url"),
              "strikes": (data.events, "url")}
    kinds = {"flows": "flow", "front": "front", "factories": "factory_region", "railcars": "railcars"}
    claims = data.claims.set_index("id")
    parts = []
    for layer_id in ("routes", "flows", "railcars", "front", "factories", "events", "strikes"):
        for r in view.features(layer_id):
            if layer_id == "railcars":
                parts.append(row(layer_id, r, shapely.Point(r["position"]), "railcars",
                                 plain(claims.at[r["feature_id"], "url"]) if r["feature_id"] in claims.index else ""))
                continue
            frame, url_column = tables[layer_id]
            feature = frame[frame["id"] == r["feature_id"]].iloc[0]
            kind = kinds.get(layer_id) or feature.get("mode") or feature.get("kind", "")
            parts.append(row(layer_id, r, feature.geometry, kind, feature[url_column] if url_column else ""))
    if "places" in state.layers:
        for p, r in zip(data.places.itertuples(), layers.place_records(data.places)):
            parts.append(row("places", r, p.geometry, p.kind, p.source_url))
    shown = view.shown
    for layer_id in ("imported-front", "imported"):
        for _, f in shown.get(layer_id, imported.empty_frame([])).iterrows():
            when = f.get("date")
            parts.append(row(layer_id, {"feature_id": f"ws{f['feature_id']}", "name": f.get("name") or "",
                                        "detail": imported.describe(f), "claimant": "",
                                        "when": f"{when:%Y-%m-%d}" if pd.notna(when) else ""},
                             f.geometry, f["kind"], plain(f.get("url", ""))))
    for t in shown.get("tracks", imported.empty_frame([])).itertuples():
        parts.append(row("tracks", {"feature_id": str(t.track_id), "name": t.name,
                                    "detail": f"{t.points} position(s)", "claimant": "",
                                    "when": f"{t.first:%Y-%m-%d %H:%M} to {t.last:%Y-%m-%d %H:%M} UTC"},
                         t.geometry, "track"))
    found = ship_view.export_rows(shown.get("detections"))
    for d in found:
        geometry = (shapely.LineString([(d["lon"], d["lat"]), (d["end_lon"], d["end_lat"])])
                    if d["end_lon"] is not None else shapely.Point(d["lon"], d["lat"]))
        parts.append(row("detections", {"feature_id": d["id"], "name": d["name"], "detail": d["detail"],
                                        "claimant": "", "when": d["when"]}, geometry, d["kind"])
                     | {c: plain(d[c]) for c in DETECTION_COLUMNS})
    columns = COLUMNS + (DETECTION_COLUMNS if found else [])
    if not parts:
        return gpd.GeoDataFrame({c: pd.Series(dtype=object) for c in COLUMNS},
                                geometry=gpd.GeoSeries([], crs=WGS84), crs=WGS84)
    return gpd.GeoDataFrame(parts, geometry="geometry", crs=WGS84)[columns + ["geometry"]]


def detection_count(features: gpd.GeoDataFrame) -> int:
    return int((features["layer"] == "detections").sum()) if len(features) else 0


def layer_part(features: gpd.GeoDataFrame, layer_id: str) -> gpd.GeoDataFrame:
    """One layer's rows, without the detection columns unless it is the detections layer."""
    part = features[features["layer"] == layer_id]
    if layer_id != "detections":
        part = part.drop(columns=[c for c in DETECTION_COLUMNS if c in part.columns])
    return part.reset_index(drop=True)


def row(layer_id, record, geometry, kind="", url="") -> dict:
    return {"layer": layer_id, "id": str(record["feature_id"]), "name": plain(record["name"]), "kind": plain(kind),
            "detail": plain(record.get("detail", "")), "claimants": plain(record.get("claimant", "")),
            "when": plain(record.get("when", "")), "url": plain(url), "geometry": geometry}


def plain(value) -> str:
    if value is None or value is pd.NA or value is pd.NaT or (isinstance(value, (float, np.floating)) and np.isnan(value)):
        return ""
    return str(value)


def claims_on(data, state: records.MapState, snapshot: Snapshot | None = None) -> pd.DataFrame:
    """Claims published by the date (in period mode: dated within its month), after the filters;
    imported claims too when the workspace is shown."""
    return view_for(data, snapshot, state).claims_known()


def sources(data, state: records.MapState, snapshot: Snapshot | None = None,
            features: gpd.GeoDataFrame | None = None, ships: ship_view.Findings | None = None) -> pd.DataFrame:
    """Whose claims and which pages stand behind the export: claimant, outlet and URL of every
    claim known on the date, then the source pages of the features shown, the basemap and
    the imported files."""
    claims = claims_on(data, state, snapshot)
    rows = [{"type": "claim", "claimant": c.claimant, "outlet": c.outlet, "url": plain(c.url),
             "note": f"{c.metric}, as of {c.as_of_date:%Y-%m-%d}"} for c in claims.itertuples()]
    features = view_features(data, state, snapshot, ships) if features is None else features
    for url in sorted(set(features["url"]) - {""} - {r["url"] for r in rows}):
        rows.append({"type": "feature source", "claimant": "", "outlet": "", "url": url, "note": ""})
    rows.append({"type": "basemap", "claimant": "", "outlet": "Natural Earth", "url": "https://www.naturalearthdata.com/",
                 "note": "public domain"})
    rows.append({"type": "rail track", "claimant": "", "outlet": "Natural Earth 1:10m railroads",
                 "url": "https://www.naturalearthdata.com/", "note": "public domain; the track the rail legs follow"})
    if detection_count(features):
        rows.append({"type": "derived", "claimant": "", "outlet": "the analyst's tracks", "url": "",
                     "note": f"{detection_count(features)} detection(s) drawn: {ship_view.EXPORT_DERIVED}"})
    if snapshot is not None and set(state.layers) & {"imported", "tracks", "detections"}:
        for b in snapshot.batches.itertuples():
            rows.append({"type": "imported file", "claimant": "", "outlet": b.filename, "url": "",
                         "note": f"batch {b.id}, {b.kind}, {b.feature_count} record(s), sha256 {b.sha256[:12]}"})
    return pd.DataFrame(rows, columns=["type", "claimant", "outlet", "url", "note"]).drop_duplicates()


def version(data, snapshot: Snapshot | None = None) -> str:
    if snapshot is None or snapshot.version == "empty":
        return data.version
    return f"{data.version}+ws{snapshot.version}"


def metadata(data, state: records.MapState, snapshot: Snapshot | None = None,
             features: gpd.GeoDataFrame | None = None, ships: ship_view.Findings | None = None) -> dict:
    features = view_features(data, state, snapshot, ships) if features is None else features
    src = sources(data, state, snapshot, features, ships)
    claims = src[src["type"] == "claim"]
    meta = {
        "title": TITLE,
        "date": f"{state.date:%Y-%m-%d}",
        "mode": state.mode,
        "view": state.view,
        "layers": list(state.layers),
        "filters": {k: list(v) for k, v in asdict(state.filters).items()},
        "data_version": version(data, snapshot),
        "generated_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "claimants": sorted(set(claims["claimant"])),
        "outlets": sorted(set(claims["outlet"])),
        "sources": src.to_dict("records"),
        "attribution": [NATURAL_EARTH] + [f"Imported file: {f}" for f in src.loc[src["type"] == "imported file",
                                                                                   "outlet"]],
        "note": "Every figure is a claim by the named claimant, as published by the outlet; not a verified count.",
    }
    drawn = detection_count(features)
    if drawn:  # beside the claims, never among them
        kinds = features.loc[features["layer"] == "detections", "kind"].value_counts()
        meta["detections"] = {"count": drawn, "kinds": {k: int(kinds.get(k, 0)) for k in ship_view.KINDS if k in kinds},
                              "parameters": ship_view.param_values(ships.params if ships is not None else None),
                              "note": ship_view.EXPORT_NOTE}
        meta["attribution"] = meta["attribution"] + [f"Detections: {drawn} drawn, each {ship_view.EXPORT_DERIVED}"]
    return meta


def summary_lines(meta: dict) -> list[str]:
    """The metadata as a few sentences, for KML descriptions, HTML and PNG footers."""
    filters = "; ".join(f"{k.replace('_', ' ')}: {', '.join(v)}" for k, v in meta["filters"].items() if v)
    return ([
        f"{meta['title']}, as of {meta['date']} ({meta['mode']}; view {meta['view']}; layers "
        f"{', '.join(meta['layers'])}{'; filters ' + filters if filters else ''}).",
        "Claims from: " + ("; ".join(meta["claimants"]) or "none") + ".",
        "Outlets: " + ("; ".join(meta["outlets"]) or "none") + ".",
        " ".join(meta["attribution"]) + f". Data version {meta['data_version']}, generated {meta['generated_at']}.",
        meta["note"],
    ] + ([detections_sentence(meta)] if meta.get("detections") else []))


def detections_sentence(meta: dict, short: bool = False) -> str:
    """What the detections drawn are, and that they are no claim."""
    found = meta["detections"]
    kinds = ", ".join(f"{n} {ship_view.WORDS[k]}{'s' if n != 1 and k != 'loitering' else ''}"
                      for k, n in found["kinds"].items())
    if short:
        return f"Detections drawn ({kinds}): {ship_view.EXPORT_DERIVED}."
    return f"Detections drawn: {kinds}. {found['note']}"


# --- vector formats ----------------------------------------------------------------------------------

def to_geojson(data, state, snapshot=None, ships: ship_view.Findings | None = None) -> bytes:
    features = view_features(data, state, snapshot, ships)
    doc = json.loads(features.to_json(drop_id=True, na="null"))
    for feature in doc["features"]:  # a detection's own fields on the detections only
        if feature["properties"]["layer"] != "detections":
            for column in DETECTION_COLUMNS:
                feature["properties"].pop(column, None)
    doc["metadata"] = metadata(data, state, snapshot, features, ships)
    return json.dumps(doc, ensure_ascii=False, allow_nan=False).encode("utf-8")


def write_layers(features: gpd.GeoDataFrame, path: Path, driver: str, **first_options):
    for i, layer_id in enumerate(pd.unique(features["layer"])):
        options = dict(first_options) if i == 0 else {}
        part = layer_part(features, layer_id)
        pyogrio.write_dataframe(part, path, layer=layer_id.replace("-", "_"),
                                driver=driver, append=i > 0, **options)


def to_gpkg(data, state, snapshot=None, ships: ship_view.Findings | None = None) -> bytes:
    features = view_features(data, state, snapshot, ships)
    meta = metadata(data, state, snapshot, features, ships)
    with tempfile.TemporaryDirectory(prefix="geo-export-") as tmp:
        path = Path(tmp) / "export.gpkg"
        write_layers(features, path, "GPKG")
        table = pd.DataFrame([(k, json.dumps(v, ensure_ascii=False) if not isinstance(v, str) else v)
                              for k, v in meta.items() if k != "sources"], columns=["key", "value"])
        pyogrio.write_dataframe(table, path, layer="metadata", driver="GPKG", append=path.exists())
        pyogrio.write_dataframe(pd.DataFrame(meta["sources"]), path, layer="sources", driver="GPKG", append=True)
        return path.read_bytes()


def to_kml(data, state, snapshot=None, ships: ship_view.Findings | None = None) -> bytes:
    features = view_features(data, state, snapshot, ships)
    meta = metadata(data, state, snapshot, features, ships)
    # Description balloons are HTML: escaped as the HTML export escapes its tooltips.
    kml = features.rename(columns={"name": "Name"}).assign(description=features["detail"].map(html.escape))
    with tempfile.TemporaryDirectory(prefix="geo-export-") as tmp:
        path = Path(tmp) / "export.kml"
        write_layers(kml, path, "LIBKML", dataset_options={
            "NAME": f"{TITLE}, as of {meta['date']}", "DESCRIPTION": "\n".join(summary_lines(meta))})
        return path.read_bytes()


# --- CSV ---------------------------------------------------------------------------------------------

def spreadsheet_safe(value):
    """Text a spreadsheet would run as a formula gets a leading apostrophe; numbers pass as they are."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def csv_bytes(frame: pd.DataFrame) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([spreadsheet_safe(str(c)) for c in frame.columns])
    for record in frame.itertuples(index=False):
        writer.writerow([cell_text(v) if is_number(v) else spreadsheet_safe(cell_text(v)) for v in record])
    return out.getvalue().encode("utf-8-sig")


def is_number(value) -> bool:
    return isinstance(value, (int, float, np.number)) and not isinstance(value, bool)


def cell_text(value):
    if value is None or value is pd.NA or value is pd.NaT:
        return ""
    if isinstance(value, float):
        return "" if np.isnan(value) else (f"{value:.0f}" if value.is_integer() else repr(value))
    if isinstance(value, pd.Timestamp):
        return f"{value:%Y-%m-%d}"
    if isinstance(value, tuple):
        return ";".join(value)
    return str(value)


def claims_csv(data, state, snapshot=None) -> bytes:
    claims = claims_on(data, state, snapshot)
    columns = [c for c in data.claims.columns if c != "geometry"] + ["source_file"]
    return csv_bytes(claims[columns])


def to_csv(data, state, snapshot=None, ships: ship_view.Findings | None = None) -> bytes:
    """A zip: claims.csv (the claims known on the date after filters), sources.csv, about.csv, and
    when the view draws detections in the analyst's tracks, detections.csv apart from the claims."""
    features = view_features(data, state, snapshot, ships)
    meta = metadata(data, state, snapshot, features, ships)
    about = pd.DataFrame([(k, v if isinstance(v, str) else json.dumps(v, ensure_ascii=False))
                          for k, v in meta.items() if k != "sources"], columns=["key", "value"])
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("claims.csv", claims_csv(data, state, snapshot))
        z.writestr("sources.csv", csv_bytes(pd.DataFrame(meta["sources"])))
        z.writestr("about.csv", csv_bytes(about))
        if detection_count(features):
            found = layer_part(features, "detections")
            table = pd.DataFrame(found.drop(columns=["layer", "claimants", "url", "geometry"]))
            table.insert(len(table.columns) - 1, "wkt", [g.wkt for g in found.geometry])
            z.writestr("detections.csv", csv_bytes(table))
    return out.getvalue()


# --- HTML --------------------------------------------------------------------------------------------

class SafeDeck(layers.CompactDeck):
    """A deck whose JSON cannot close the <script> it is pasted into: <, > and & are written
    as \\u escapes, which JavaScript reads back as the same characters."""

    def to_json(self):
        text = super().to_json()
        return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def escape_records(value, skip=()):
    """html.escape every string in layer data (tooltips are put into the page as HTML),
    except the fields named in `skip`."""
    if isinstance(value, str):
        return html.escape(value)
    if isinstance(value, dict):
        return {k: (v if k in skip else escape_records(v, skip)) for k, v in value.items()}
    if isinstance(value, list):
        return [escape_records(v, skip) for v in value]
    return value


def export_deck(data, state, basemap: dict, snapshot=None, images=None, image_mode: str = image_view.MONTH,
                ships: ship_view.Findings | None = None) -> SafeDeck:
    view = view_for(data, snapshot, state, images=images, image_mode=image_mode, **ship_view.view_args(ships))
    # imported images go in as data URLs: the file stands alone
    deck = layers.deck_for(view.data, view, basemap,
                           extra=draw_overlay.imported_layers(view.shown) + draw_ships.detection_layers(view),
                           images=draw_imagery.view_layers(view))
    for layer in deck.layers:
        # The place names' icon keys look up their image in the layer's icon mapping, never
        # parsed as HTML: escaped, a name's key would miss its image. The JSON-level escaping in
        # SafeDeck still keeps them out of the markup.
        skip = ("icon",) if layer.type == "IconLayer" else ()
        layer.data = escape_records(layer.data, skip)
    return SafeDeck(layers=deck.layers, views=deck.views, initial_view_state=deck.initial_view_state,
                    map_provider=None, tooltip=deck._tooltip)


EXTERNAL = re.compile(r"""<script[^>]*\bsrc=["']?https?:[^>]*>\s*</script>|<link[^>]*\bhref=["']?https?:[^>]*>""",
                      re.I)
CSP = ("default-src 'none'; script-src 'unsafe-inline' 'unsafe-eval'; style-src 'unsafe-inline'; "
       "img-src data: blob:; worker-src blob:; connect-src data: blob:; font-src data:")
LEGEND_CSS = ("details.legend{position:fixed;right:10px;top:10px;z-index:10;background:rgba(255,255,255,.93);"
              "font:12px/1.35 sans-serif;color:#222;padding:6px 10px;border:1px solid #bbb;border-radius:4px;"
              "max-width:46vw}details.legend ul{list-style:none;margin:0;padding:0;columns:2;column-gap:12px}"
              "details.legend summary{font-weight:600;cursor:pointer}details.legend p{margin:4px 0 0}")
FOOTER_CSS = ("#export-footer{position:fixed;left:0;right:0;bottom:0;z-index:10;background:rgba(255,255,255,.93);"
              "font:12px/1.4 sans-serif;color:#222;padding:6px 10px;max-height:30vh;overflow:auto}"
              "#export-footer h1{font-size:15px;margin:0 0 2px}#export-footer p{margin:0}")


def to_html(data, state, basemap: dict, snapshot=None, images=None, image_mode: str = image_view.MONTH,
            ships: ship_view.Findings | None = None) -> str:
    """A standalone page: deck.gl inlined by pydeck (offline=True), every external tag removed,
    a Content-Security-Policy that allows no network at all, and a footer with the metadata
    (and the credit line of each imported image drawn)."""
    deck = export_deck(data, state, basemap, snapshot, images, image_mode, ships)
    page = deck.to_html(offline=True, as_string=True, notebook_display=False)
    page = EXTERNAL.sub("", page)
    meta = metadata(data, state, snapshot, ships=ships)
    lines = summary_lines(meta)
    imported_files = [a for a in meta["attribution"] if a.startswith("Imported file")]
    view = view_for(data, snapshot, state, images=images, image_mode=image_mode, **ship_view.view_args(ships))
    credits = image_credits(view)
    footer = (f'<div id="export-footer" data-testid="export-footer"><h1>{html.escape(TITLE)}, as of '
              f'{html.escape(meta["date"])}</h1><p>{html.escape(lines[0])} Data version '
              f'{html.escape(meta["data_version"])}. {html.escape(NATURAL_EARTH)}. {html.escape(meta["note"])}</p>'
              + (f'<p data-testid="image-credits">{html.escape(credits)}</p>' if credits else "")
              + f'<details><summary>Sources: {len(meta["claimants"])} claimant(s), {len(meta["outlets"])} outlet(s)'
              f'{f", {len(imported_files)} imported file(s)" if imported_files else ""}</summary>'
              + "".join(f"<p>{html.escape(line)}</p>" for line in lines[1:4])
              + (f'<p data-testid="detections-note">{html.escape(detections_sentence(meta))}</p>'
                 if meta.get("detections") else "") + "</details></div>")
    page = page.replace("<title>pydeck</title>", f"<title>{html.escape(TITLE)}, as of {meta['date']}</title>", 1)
    page = page.replace("<head>", f'<head>\n    <meta http-equiv="Content-Security-Policy" content="{CSP}" />', 1)
    page = page.replace("</style>", FOOTER_CSS + LEGEND_CSS + "\n    </style>", 1)
    return page.replace("<body>", "<body>\n    " + panels.legend(view.legend) + footer, 1)


# --- PNG ---------------------------------------------------------------------------------------------

def to_mercator(geom):
    return shapely.transform(geom, lambda xy: np.column_stack(mercator(xy[:, 0], xy[:, 1])))


def image_credits(view) -> str:
    """The credit line of every imported image a view draws ('' when none)."""
    if view.images is None or not len(view.images):
        return ""
    return "Imagery: " + "; ".join(image_view.credit(r) for _, r in view.images.iterrows()) + "."


def draw_images(ax, view, zoom: float, opacity: float = 1.0) -> None:
    """The view's imported images on the slide's axes (Web Mercator metres), each at the level the
    slide's camera needs, over the land and under every vector layer, as on the map."""
    for r in image_view.image_records(view.images, zoom) if view.images is not None else []:
        west, south, east, north = r["bounds"]
        (x0, x1), (y0, y1) = mercator([west, east], [south, north])
        picture = np.asarray(Image.open(io.BytesIO(view.imagery.png(r["image_id"], r["level"]))).convert("RGBA"))
        ax.imshow(picture, extent=(float(x0), float(x1), float(y0), float(y1)), origin="upper", zorder=1.5,
                  alpha=opacity, interpolation="bilinear", gid=f"image-{r['image_id']}")


def to_png(data, state, snapshot=None, width_px: int = 1600, height_px: int = 900, dpi: int = 100, images=None,
           image_mode: str = image_view.MONTH, ships: ship_view.Findings | None = None) -> bytes:
    """A slide: the same records as the map, drawn with matplotlib (Agg, no display needed)."""
    fig, meta = slide_figure(data, state, snapshot, width_px, height_px, dpi, images=images, image_mode=image_mode,
                             ships=ships)
    out = io.BytesIO()
    fig.savefig(out, format="png", dpi=dpi, facecolor="white",
                metadata={"Title": f"{TITLE}, as of {meta['date']}", "Source": f"data version {meta['data_version']}"})
    return out.getvalue()


def slide_view(data, state, snapshot=None, images=None, image_mode: str = image_view.MONTH,
               ships: ship_view.Findings | None = None):
    """The view a slide (and each video frame) draws: view_for's, as the page's."""
    return view_for(data, snapshot, state, images=images, image_mode=image_mode, **ship_view.view_args(ships))


def slide_subtitle(state, view_label: str) -> str:
    """The slide's second line: the date, the count mode, the view, and the claim filters by name."""
    words = state.filters.words()
    return (f"as of {state.date:%d %B %Y} · {state.mode} · {view_label} view"
            + (f" · claims filtered to {words}" if words else ""))


@plain_text_figures
def slide_figure(data, state, snapshot=None, width_px: int = 1600, height_px: int = 900, dpi: float = 100,
                 heading: str | None = None, caption: str | None = None, px_scale: float = 1.0, images=None,
                 image_mode: str = image_view.MONTH, ships: ship_view.Findings | None = None):
    """The slide as a matplotlib Figure (with an Agg canvas) and its metadata. With a `caption`
    (video frames), the caption takes the footer's place and `heading` follows the title;
    the sources then go on a closing frame of their own (geo.export.video). `px_scale` multiplies
    the map's pixel sizes (line widths, markers, labels), so a larger frame of the same
    slide draws them larger in proportion."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.collections import PatchCollection
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch, PathPatch
    from matplotlib.path import Path as MplPath

    palette = style.palette(state.present)
    view = style.VIEWS[state.view]
    countries = data.countries
    detail = data.countries_detail if view.detailed else None
    pt = 72 / dpi * px_scale  # points per pixel: deck widths are in pixels
    fig = Figure(figsize=(width_px / dpi, height_px / dpi), dpi=dpi, facecolor="white")
    FigureCanvasAgg(fig)
    ax = fig.add_axes((0.01, 0.13, 0.74, 0.78))
    # the live map's camera for a map this size: the same framing per view and scene (geo.export.slidemap)
    cam = slidemap.map_camera(data, state, 0.74 * width_px, 0.78 * height_px, px_scale)
    x0, x1, y0, y1 = slidemap.extent(cam)
    ax.set_xlim(x0, x1)
    ax.set_anchor("W")
    ax.set_ylim(y0, y1)
    ax.set_aspect("equal")
    ax.set_facecolor(np.array(palette.sea) / 255)
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_color("#888")

    def colour(rgba_):
        return tuple(np.array(list(rgba_[:3]) + [rgba_[3] if len(rgba_) > 3 else 255]) / 255)

    def polygon_patches(geoms, face, edge, lw, z, linestyle="solid"):
        patches = []
        for geom in geoms:
            geom = to_mercator(geom)
            for poly in getattr(geom, "geoms", [geom]):
                if poly.geom_type != "Polygon" or poly.is_empty:
                    continue
                rings = [np.asarray(poly.exterior.coords)] + [np.asarray(r.coords) for r in poly.interiors]
                codes = np.concatenate([[MplPath.MOVETO] + [MplPath.LINETO] * (len(r) - 2) + [MplPath.CLOSEPOLY]
                                        for r in rings])
                patches.append(PathPatch(MplPath(np.concatenate(rings), codes)))
        ax.add_collection(PatchCollection(patches, facecolor=face, edgecolor=edge, linewidth=lw, zorder=z,
                                          linestyle=linestyle))

    def draw_line(geom, color, lw, z, dashes=None, alpha=1.0):
        geom = to_mercator(geom)
        for line in getattr(geom, "geoms", [geom]):
            if line.geom_type not in ("LineString", "LinearRing"):
                continue
            xy = np.asarray(line.coords)
            (handle,) = ax.plot(xy[:, 0], xy[:, 1], color=color, linewidth=lw, alpha=alpha, zorder=z,
                                solid_capstyle="round", solid_joinstyle="round")
            if dashes and any(dashes):
                handle.set_linestyle((0, dashes))

    # basemap: overview countries, the 1:10m Tumen clip on top where the view zooms in that far
    base = countries
    if detail is not None:
        box = shapely.box(*detail.total_bounds)
        base = countries.assign(geometry=countries.geometry.difference(box))
    for frame_, z in ((base, 1), (detail, 1.1)):
        if frame_ is None:
            continue
        faces = [colour(palette.land_focus.get(i, palette.land)) for i in frame_["iso3"]]
        for geom, face in zip(frame_.geometry, faces):
            polygon_patches([geom], [face], "none", 0, z)
        # Land borders only, as on the map: coasts need no stroke and the clip box is no border.
        for line in layers.land_borders([g for g in frame_.geometry if not g.is_empty]):
            draw_line(line, colour(palette.border), 0.6, z + 0.05)

    map_view = slide_view(data, state, snapshot, images, image_mode, ships)  # the very records the live map draws
    draw_images(ax, map_view, cam.zoom)
    credits = image_credits(map_view)
    if credits:  # each image's source, licence and date, on the map itself
        ax.text(0.995, 0.005, "\n".join(textwrap.wrap(credits, 110)), transform=ax.transAxes, ha="right", va="bottom",
                fontsize=7.5, color="#111", zorder=11, gid="image-credits",
                bbox={"facecolor": (1, 1, 1, 0.85), "edgecolor": "none", "pad": 2})
    features = view_features(data, state, snapshot, ships)
    o = style.OKABE_ITO
    area_style = {"front": o["blue"], "factories": o["orange"], "imported-front": imported.FRONT_RGB,
                  "imported": imported.IMPORTED_RGB}
    for layer_id, rgb in area_style.items():
        polys = features[(features["layer"] == layer_id) & features.geom_type.isin(["Polygon", "MultiPolygon"])]
        if len(polys):
            polygon_patches(polys.geometry, colour(rgba(rgb, 70)), colour(rgba(rgb, 230)), 1.5, 2,
                            (0, (4, 3)) if layer_id == "front" else "solid")  # hand-drawn: dashed

    for layer_id, rgb in (("imported-front", imported.FRONT_RGB), ("imported", imported.IMPORTED_RGB)):
        lines = features[(features["layer"] == layer_id) & features.geom_type.isin(["LineString", "MultiLineString"])]
        for geom in lines.geometry:
            draw_line(geom, colour(rgba(rgb, 230)), 2.0, 3)
    for geom in features.loc[features["layer"] == "tracks"].geometry:
        if geom.geom_type == "LineString":
            draw_line(geom, colour(rgba(imported.TRACK_RGB, 220)), 1.5, 3)
    if "flows" in state.layers:
        for r in map_view.features("flows"):
            xs, ys = mercator(*np.asarray(r["path"]).T)  # the arc the map draws (geo.geometry.screenlines.arc_path)
            ax.plot(xs, ys, color=colour(r["color"]), linewidth=max(r["width"] * pt, 0.8),
                    alpha=0.8, zorder=3, solid_capstyle="round")
    if "routes" in state.layers:
        for r in map_view.features("routes"):
            line = shapely.LineString(r["path"])
            if r["width_high"] > r["width"]:
                draw_line(line, colour(r["band_color"]), r["width_high"] * pt, 4)
            draw_line(line, colour(r["color"]), r["width"] * pt, 5, dashes=tuple(r["dash"]))

    def scatter(records, face, size_key="radius", z=6, edge=None):
        if not records:
            return
        xs, ys = mercator([r["position"][0] for r in records], [r["position"][1] for r in records])
        sizes = [(r[size_key] * 2 * pt) ** 2 for r in records]
        ax.scatter(xs, ys, s=sizes, c=[face] * len(records), edgecolors=edge or colour(palette.text), linewidths=0.8,
                   zorder=z)

    if "railcars" in state.layers:
        scatter(map_view.features("railcars"), colour(rgba(palette.mode["rail"], 90)), z=6,
                edge=colour(rgba(palette.mode["rail"])))
    for layer_id, rgb, strikes in (("events", o["yellow"], False), ("strikes", o["vermillion"], True)):
        if layer_id in state.layers:
            scatter(map_view.features(layer_id), colour(rgba(rgb, 220)), z=7)
    for geom in features.loc[(features["layer"] == "imported") & (features.geom_type == "Point")].geometry:
        x, y = mercator(geom.x, geom.y)
        ax.scatter([x], [y], s=(10 * pt) ** 2, c=[colour(rgba(imported.IMPORTED_RGB, 230))],
                   edgecolors=colour(palette.text), linewidths=0.8, zorder=7)
    if "places" in state.layers:
        scatter(layers.place_records(data.places), (1, 1, 1, 1), z=8)
    # the month's detections in the analyst's tracks, as the map draws them (geo.render.ships)
    found = ship_view.map_records(map_view.shown.get("detections", ship_view.prepared(None)))
    for r in found["gap"]:
        draw_line(shapely.LineString(r["path"]), colour(r["color"]), max(r["width"] * pt, 0.8), 8.5,
                  dashes=tuple(r["dash"]))
    for kind in ("port_call", "loitering", "encounter"):
        scatter(found[kind], colour(rgba(ship_view.RGB[kind], 235)), z=8.6, edge=colour((30, 30, 30, 255)))
    # names as the live map places them, the basemap's detail, scale bar and credit
    slidemap.draw(ax, data, state, cam, palette, pt, "places" in state.layers, draw_line, polygon_patches, colour)

    # title, legend and footer
    meta = metadata(data, state, snapshot, features, ships)
    fig.text(0.01, 0.965, f"{TITLE}" + (f": {heading}" if heading else ""), fontsize=20, weight="bold",
             va="center")
    fig.text(0.01, 0.93, slide_subtitle(state, view.label), fontsize=12, va="center", color="#333")
    # what the slide's map draws inside its frame, as the live map's legend lists it (geo.view.mapview.legend_within)
    handles = legend_handles(legend_within(map_view, basemap_layers.bounds(cam)), Line2D, Patch, pt)
    fig.legend(handles=handles, loc="upper left", bbox_to_anchor=(0.76, 0.91), frameon=False, fontsize=10,
               title="Legend", title_fontproperties={"weight": "bold", "size": 11}, alignment="left",
               handlelength=3)
    if caption is None:
        fig.text(0.01, 0.115, footer_text(meta), fontsize=8, va="top", ha="left", color="#333", linespacing=1.35)
    else:
        fig.text(0.01, 0.115, "\n".join(textwrap.wrap(caption, CAPTION_WIDTH)[:3]), fontsize=13, va="top", ha="left",
                 color="#111", linespacing=1.3)
        fig.text(0.01, 0.012, f"Every figure is a claim by the named claimant. {NATURAL_EARTH}. Data version "
                 f"{meta['data_version']}. Sources on the closing frame.", fontsize=7.5, va="bottom", ha="left",
                 color="#555")
    return fig, meta


CAPTION_WIDTH = 150  # characters per caption line at 13 pt on a 16-inch-wide slide


def rgba(rgb, alpha=255):
    return records.rgba(rgb, alpha)


def legend_handles(entries, Line2D, Patch, pt) -> list:
    """matplotlib handles for a geo.view.MapView's legend: the same rows as the page's legend."""
    h = []
    marker = dict(marker="o", linestyle="", markeredgecolor="#222", markersize=9)
    for e in entries:
        rgb = tuple(np.array(e.rgb) / 255)
        if e.symbol == "line":
            h.append(Line2D([], [], color=rgb, lw=(1.5 if e.width == "hairline" else 6) * pt,
                            linestyle=(0, (4, 3)) if e.dashed else "-", label=e.label))
        elif e.symbol == "gap":  # a dark stretch in the analyst's tracks: dashed, inferred
            h.append(Line2D([], [], color=rgb, lw=2.5 * pt, linestyle=(0, (4, 3)), label=e.label))
        elif e.symbol == "band":
            h.append(Line2D([], [], color=rgb, lw=12 * pt, label=e.label))
        elif e.symbol == "arc":
            h.append(Line2D([], [], color=rgb, lw=3 * pt, label=e.label))
        elif e.symbol == "image":  # an image's credit line, wrapped to the legend's width
            h.append(Patch(facecolor=rgb, alpha=0.45, edgecolor=rgb, label=textwrap.fill(e.label, 40)))
        elif e.symbol == "area":
            h.append(Patch(facecolor=rgb, alpha=0.45, edgecolor=rgb, label=e.label))
        elif e.symbol == "ring":
            h.append(Line2D([], [], markerfacecolor=rgb, alpha=0.6, label=e.label, **marker))
        else:
            h.append(Line2D([], [], markerfacecolor=rgb, label=e.label, **marker))
    return h


def footer_text(meta: dict, width: int = 235) -> str:
    """Seven lines at most: version, basemap and rail track always, then claimants, outlets and imported
    files, each list cut to its share with 'and N more'."""
    imported_files = [a.split(": ", 1)[1] for a in meta["attribution"] if a.startswith("Imported file")]

    def listing(label, items, lines):
        budget = width * lines
        text = f"{label}: " + "; ".join(items) + "."
        if len(text) <= budget:
            return textwrap.wrap(text, width)
        kept = []
        for item in items:
            if len(f"{label}: " + "; ".join(kept + [item])) > budget - 60:
                break
            kept.append(item)
        return textwrap.wrap(f"{label}: " + "; ".join(kept) + f"; and {len(items) - len(kept)} more "
                             "(full list in the CSV export).", width)[:lines]
    found = meta.get("detections")
    lines = listing("Claims from", meta["claimants"], 2) + listing("Outlets", meta["outlets"], 1 if found else 2)
    if imported_files:
        lines += listing("Imported files", imported_files, 1)
    if found:  # apart from the claims, and said to be no claim
        lines += textwrap.wrap(f"{detections_sentence(meta, short=True)}", width)[:1]
    lines += textwrap.wrap(f"{NATURAL_EARTH}. Data version {meta['data_version']}; generated {meta['generated_at']}. "
                           f"{meta['note']}", width)
    return "\n".join(lines)


