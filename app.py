"""DPRK → Russia arms pipeline: reported flows on a map, over time, each figure traceable to its claimant.

A thin layout script: all data handling and layer building lives in geo/.
"""
import dataclasses
import os
import time

import pandas as pd
import streamlit as st

from geo import (charts, dataset, export, imported, importer, layers, panels, previewmap, state, style, timeline,
                 tracks, workspace)
from geo.evidence import Evidence, Filters, evidence_for, headline, voyages_along
from geo.schema import BASES, CLAIMANT_TYPES, FAMILIES, LAYER_IDS

st.set_page_config(page_title="DPRK → Russia arms pipeline", page_icon="🗺️", layout="wide")

PLAY_SECONDS = 1.5
EXPORT_TYPES = {"geojson": ("GeoJSON", "application/geo+json"), "gpkg": ("GeoPackage", "application/geopackage+sqlite3"),
                "kml": ("KML", "application/vnd.google-earth.kml+xml"), "csv": ("CSV (zip)", "application/zip"),
                "html": ("Offline HTML map", "text/html"), "png": ("PNG for slides", "image/png")}
UPLOAD_TYPES = ["csv", "tsv", "txt", "geojson", "json", "gpkg", "zip", "kml", "kmz"]


@st.cache_resource(show_spinner=False)
def load_data() -> dataset.Dataset:
    """Shared read-only by every session and rerun (nothing mutates it): st.cache_data would
    unpickle a fresh copy on every rerun, 0.2 s for a log of 10^5 claims."""
    return dataset.load()


@st.cache_resource(show_spinner=False)
def basemap(present: bool, detailed: bool) -> dict:
    data = load_data()
    return layers.basemap_features(data.countries, data.countries_detail if detailed else None,
                                   style.palette(present))


@st.cache_resource(show_spinner=False)
def frozen_layers(present: bool, view: str) -> dict:
    """The basemap and place layers, serialised once per view and palette (see geo.layers.FrozenLayer)."""
    return layers.static_layers(load_data(), view, present, basemap(present, style.VIEWS[view].detailed))


@st.cache_resource(show_spinner=False, max_entries=8)
def prepared_claims(key: tuple, _data: dataset.Dataset) -> layers.Prepared:
    """The dataset ranked for date steps (geo.layers.prepare), per claims_key: filters, imported claims."""
    return layers.prepare(_data, Filters(*key[0]))


@st.cache_resource(show_spinner=False, max_entries=32)
def chart_spec(name: str, key: tuple, _claims) -> dict:
    """One chart's Vega-Lite spec without the date, per claims_key (the claims are filtered already)."""
    if name == "Events":
        return charts.events_timeline(load_data().events)
    return charts.step_chart(_claims, charts.CHART_METRICS[name])


@st.cache_resource(show_spinner=False)
def open_workspace(path: str) -> workspace.Workspace | None:
    try:
        return workspace.Workspace(path)
    except workspace.WorkspaceError as err:
        st.error(f"Your imported data is unavailable: {err}")
        return None


@st.cache_resource(show_spinner=False, max_entries=2)
def workspace_snapshot(path: str, version: str) -> workspace.Snapshot | None:
    """Read once per workspace version and shared read-only by every session (tracks can be large)."""
    ws = open_workspace(path)
    return ws.snapshot() if ws else None


@st.cache_resource(show_spinner=False, max_entries=2)
def prepared_tracks(source: str, _points) -> tracks.PreparedTracks | None:
    """Tracks simplified once per source (workspace version, or benchmark size), so a date step
    only cuts a time window. The points are not hashed: `source` names them."""
    return tracks.prepare_tracks(_points) if _points is not None and len(_points) else None


@st.cache_resource(show_spinner=False, max_entries=2)
def tracks_by_leg(source: str, _points):
    """Which legs each imported track ran along (seconds at 10^6 points, so once per source)."""
    return tracks.tracks_near_legs(_points, load_data().routes) if _points is not None and len(_points) else None


@st.cache_resource(show_spinner=False, max_entries=1)
def bench_tracks(n: int):
    """BENCH_TRACKS=N synthetic tracks, generated once (0.5 s at 10^5), not on every rerun."""
    from bench.synthetic import synthetic_tracks
    return synthetic_tracks(n) if n else None


def track_points():
    """Imported tracks, or BENCH_TRACKS=N synthetic ones for the benchmark (python -m bench.browser N)."""
    if os.environ.get("BENCH_TRACKS"):
        n = int(os.environ["BENCH_TRACKS"])
        return f"bench-{n}", bench_tracks(n)
    return f"ws-{snapshot.version}" if snapshot is not None else "none", snapshot.tracks if snapshot else None


data = load_data()
WORKSPACE_PATH = str(workspace.default_path())
ws = open_workspace(WORKSPACE_PATH)
snapshot = workspace_snapshot(WORKSPACE_PATH, ws.version()) if ws else None
last_day = max([timeline.default_date(data.claims, data.events)] + imported.last_dates(snapshot))
MONTHS = timeline.months("2022-09-01", last_day)
SCENES = data.scenes.reset_index(drop=True)
LAYER_CHOICES = list(LAYER_IDS)


def seed_from_url():
    """On a session's first run, turn the link's parameters into widget values (bad ones become notices)."""
    if "seeded" in st.session_state:
        return
    params = st.query_params.to_dict() | {k: st.query_params.get_all(k) for k in state.LIST_PARAMS
                                          if k in st.query_params}
    values, notices = state.parse_params(params, MONTHS, list(SCENES["id"]))
    if "scene" in values:
        apply_scene(SCENES.index[SCENES["id"] == values.pop("scene")][0])
    for key, value in values.items():
        st.session_state[key] = value
    st.session_state.notices = notices
    st.session_state.seeded = True


def apply_scene(i: int):
    scene = SCENES.iloc[i % len(SCENES)]
    st.session_state.update(scene_index=int(i % len(SCENES)), date=f"{scene.date:%Y-%m}", view=scene.view,
                            layers=[l for l in LAYER_CHOICES if l in scene.layers])
    st.query_params["scene"] = scene.id  # the other scene settings travel in their bound widgets


def step_month(delta: int):
    i = MONTHS.index(st.session_state.get("date", MONTHS[-1]))
    st.session_state.date = MONTHS[max(0, min(len(MONTHS) - 1, i + delta))]


def step_scene(delta: int):
    apply_scene(st.session_state.get("scene_index", -1 if delta > 0 else 0) + delta)


def advance_playback():
    """While playing, move one month per tick; stop at the last month."""
    if not st.session_state.get("playing"):
        return
    if time.monotonic() - st.session_state.get("last_tick", 0) >= PLAY_SECONDS:
        st.session_state.last_tick = time.monotonic()
        if st.session_state.get("date", MONTHS[-1]) == MONTHS[-1]:
            st.session_state.playing = False
        else:
            step_month(+1)


def remove_batch(batch_id: int):
    ws.remove(batch_id)
    st.session_state.import_report = ("success", f"Removed batch {batch_id}.", [])


@st.fragment(run_every=PLAY_SECONDS)
def playback_clock():
    """Ticks while playing; a tick reruns the whole page, whose first step advances the month.
    The fragment also runs inside every full run, where it must not rerun again."""
    if time.monotonic() - st.session_state.get("last_tick", 0) >= 0.8 * PLAY_SECONDS:
        st.rerun()


seed_from_url()
advance_playback()
present = st.session_state.get("present", False)
palette = style.palette(present)
st.html(panels.page_style(present))

with st.sidebar:
    st.header("Map")
    st.select_slider("Month", MONTHS, value=MONTHS[-1], key="date", bind="query-params")
    nav = st.columns(3)
    nav[0].button("◀", key="prev_month", help="Previous month (←)", shortcut="Left",
                  on_click=step_scene if present else step_month, args=(-1,))
    nav[1].toggle("Play", key="playing")
    nav[2].button("▶", key="next_month", help="Next month (→)", shortcut="Right",
                  on_click=step_scene if present else step_month, args=(+1,))
    st.segmented_control("Count", ["cumulative", "period"], key="mode", default="cumulative",
                         bind="query-params", help="Cumulative: what was known by the end of the month. "
                         "Period: only figures dated within the month.")
    st.selectbox("View", list(style.VIEWS), format_func=lambda v: style.VIEWS[v].label, key="view",
                 bind="query-params")
    st.multiselect("Layers", LAYER_CHOICES, default=LAYER_CHOICES, key="layers", bind="query-params")
    st.header("Filter claims")
    st.multiselect("Claimant type", CLAIMANT_TYPES, key="claimant_type", bind="query-params")
    st.multiselect("Basis", BASES, key="basis", bind="query-params")
    st.multiselect("Metric family", FAMILIES, key="family", bind="query-params")
    st.toggle("Presenter mode", key="present", bind="query-params")

if st.session_state.get("playing"):
    playback_clock()

for notice in st.session_state.get("notices", []):
    st.warning(notice, icon="⚠️")

map_state = layers.MapState(
    date=timeline.month_end(st.session_state.date + "-01"),
    mode=st.session_state.mode or "cumulative",
    layers=tuple(st.session_state.layers),
    view=st.session_state.view,
    present=present,
    filters=Filters(tuple(st.session_state.claimant_type), tuple(st.session_state.basis),
                    tuple(st.session_state.family)),
)
# What the claims depend on besides the bundled data: the filters and, when shown, imported claims.
claims_key = (dataclasses.astuple(map_state.filters), "")
if "imported" in map_state.layers and snapshot is not None and (snapshot.features["kind"] == "claims").any():
    data = dataclasses.replace(data, claims=imported.with_imported_claims(data.claims, snapshot))
    claims_key = (claims_key[0], snapshot.version)
prepared = prepared_claims(claims_key, data)
claims = prepared.claims  # filtered once per filter set, not on every rerun
# Live tracks come from geo.tracks (bounded payload); exports draw imported.visible's full paths.
shown_imports = imported.visible(snapshot, dataclasses.replace(
    map_state, layers=tuple(l for l in map_state.layers if l != "tracks")))

if present:
    scene = SCENES.iloc[st.session_state.get("scene_index", 0)]
    st.markdown(f"# {scene.title} — as of {map_state.date:%B %Y}")
    st.markdown(panels.scene_caption(scene.caption), unsafe_allow_html=True)
else:
    st.title("DPRK → Russia arms pipeline")
    st.caption(f"Reported flows as of **{map_state.date:%d %B %Y}** ({map_state.mode}). "
               "Every figure is a claim: click a line or a dot for its sources.")
front = shown_imports.get("imported-front")
if front is not None and len(front):
    st.caption(f"Imported front line as of **{front['as_of'].max():%d %B %Y}**, from "
               f"{', '.join(sorted(set(front['source_file'])))}.")

map_col, side_col = st.columns([3, 1] if not present else [4, 1])
with map_col:
    current_basemap = basemap(present, style.VIEWS[map_state.view].detailed)
    extra = imported.imported_layers(shown_imports)
    track_source, points = track_points()
    if "tracks" in map_state.layers:
        track_set = prepared_tracks(track_source, points)
        if track_set is not None:  # the map state's date is the month's last day: include all of it
            extra += tracks.track_layers(track_set, map_state.date + pd.Timedelta(days=1), map_state.view,
                                         budget_bytes=700_000)
    deck = imported.add_to_deck(layers.build_deck(data, map_state, current_basemap,
                                                  frozen_layers(present, map_state.view), prepared), extra)
    event = st.pydeck_chart(deck, height=720 if present else 600, on_select="rerun",
                            selection_mode="single-object", key="map",
                            alt=f"Map of the reported pipeline as of {map_state.date:%Y-%m-%d}")
    st.markdown(panels.legend(palette), unsafe_allow_html=True)
with side_col:
    st.markdown(panels.headline_panel(headline(claims, map_state.date, map_state.mode, prepared.standing)),
                unsafe_allow_html=True)

picked = next((objs[0] for objs in (event.selection.objects or {}).values() if objs), None) if event else None
with map_col:
    if picked and picked.get("kind") in ("imported", "track") and picked.get("feature_id"):
        st.markdown(panels.evidence_panel(Evidence(title=picked["name"], description=f"{picked['detail']} "
                                                   f"{picked['when']}".strip())), unsafe_allow_html=True)
    elif picked and picked.get("feature_id"):
        ev = evidence_for(data, picked["kind"], picked["feature_id"], picked.get("place_id", ""),
                          map_state.date, map_state.filters)
        if picked["kind"] == "route" and points is not None and len(points):
            names = points.drop_duplicates("track_id").set_index("track_id")["name"].to_dict()
            ev.voyages = voyages_along(tracks_by_leg(track_source, points), names, picked["feature_id"],
                                       map_state.date)
        st.markdown(panels.evidence_panel(ev), unsafe_allow_html=True)
    elif not present:
        st.info("Click a route, arc, marker or area to list every claim behind it.")

if not present:
    # One chart at a time: each costs tens of milliseconds a rerun, and the date control reruns often.
    chart = st.segmented_control("Chart", list(charts.CHART_METRICS) + ["Events"], key="chart",
                                 default="Containers shipped")
    spec = chart_spec(chart, claims_key, claims) if chart else None
    if spec:
        st.vega_lite_chart(charts.at_date(spec, map_state.date), width="stretch")

with st.sidebar:
    st.header("Your data")
    # Upload (a shapefile as its parts), preview what was found, change it, then import.
    AS_FOUND, ORDERS = "(as found)", ("decide from the values", "day first", "month first")
    uploads = st.file_uploader(
        "Import a file", key=f"upload_{st.session_state.setdefault('upload_round', 0)}", accept_multiple_files=True,
        type=UPLOAD_TYPES + ["topojson", "fgb", "parquet", "geoparquet", "gpx", "shp", "shx", "dbf", "prj", "cpg"],
        help="CSV/TSV, GeoJSON, TopoJSON, GeoPackage, FlatGeobuf, GeoParquet, GPX, KML/KMZ, or a shapefile (its "
             ".shp, .shx, .dbf and .prj together, or zipped): claims, events, places, dated front lines, vessel or "
             "train tracks, or any points, lines and areas.")

    def picked(key):
        value = st.session_state.get(key, AS_FOUND)
        return None if value == AS_FOUND or (key == "import_kind" and value == "guess") else value

    def import_previewed():
        result = st.session_state.get("import_preview", (None, None))[1]
        if result is None or ws is None:
            return
        try:
            batch = ws.add(result)
        except workspace.WorkspaceError as err:
            st.session_state.import_report = ("error", str(err), [])
            return
        st.session_state.import_report = (
            "success", f"Imported {len(result.frame):,} {result.kind} feature(s) from {result.filename} as batch "
                       f"{batch}.", result.warnings + result.skipped)
        st.session_state.upload_round += 1
        st.session_state.pop("import_preview", None)

    if not uploads:
        st.session_state.pop("import_preview", None)
    else:
        earlier = st.session_state.get("import_preview")
        if earlier is not None and earlier[0][0] != tuple(u.file_id for u in uploads):  # other files: found afresh
            for choice in ("import_date_column", "import_lon", "import_lat"):
                st.session_state[choice] = AS_FOUND
        lon_lat = (picked("import_lon"), picked("import_lat"))
        options = dict(kind=picked("import_kind"), date_column=picked("import_date_column"),
                       dayfirst={"day first": True, "month first": False}.get(st.session_state.get("import_order")),
                       coord_columns=lon_lat if all(lon_lat) else None,
                       swap_axes=st.session_state.get("import_swap", False), strict=st.session_state.get("strict", False))
        key = (tuple(u.file_id for u in uploads), tuple(sorted(options.items())))
        if st.session_state.get("import_preview", (None,))[0] != key:
            bar = st.progress(0.0, text=f"Reading {uploads[0].name}…")
            parts = [(u.name, u.getvalue()) for u in uploads]
            try:
                preview = (key, importer.read_parts(parts, progress=lambda f: bar.progress(min(1.0, f)), **options), None)
            except importer.ImportProblem as err:
                preview = (key, None, str(err))
            except Exception as err:  # an importer bug: one line here, the traceback only in the server's log
                import logging
                logging.getLogger(__name__).exception("importer failed on %s", uploads[0].name)
                preview = (key, None, f"{uploads[0].name}: the importer failed ({type(err).__name__}); "
                                      "please report this file")
            bar.empty()
            st.session_state.import_preview = preview + (importer.header_columns(parts),)
        _, result, problem, header = st.session_state.import_preview
        if problem:
            st.error(problem)
        if result is not None:
            found = importer.preview_of(result)
            st.markdown(f"**{found['file']}**: {found['feature_count']:,} {found['kind']} feature(s) "
                        f"({found['format']}), {found['skipped_rows']:,} row(s) skipped")
            st.caption(" · ".join(part for part in (
                f"CRS {found['input_crs'] or 'lon/lat'}",
                f"coordinates {'/'.join(found['coordinate_columns'])}" if found["coordinate_columns"] else "",
                f"dates from {found['date_column']} ({found['date_format'] or 'as stored'})"
                if found["date_column"] else "no date column") if part))
            if found["bounds_lonlat"]:
                st.pydeck_chart(previewmap.bounds_deck(found["bounds_lonlat"]), height=180, key="import_preview_map")
            st.dataframe(pd.DataFrame(found["sample_rows"]), height=150, hide_index=True)
            if found["warnings"] or found["skipped"]:
                with st.expander(f"{len(found['warnings']) + len(found['skipped'])} note(s) before importing"):
                    st.text("\n".join(found["warnings"] + found["skipped"]))
        columns = [AS_FOUND] + (result.details.get("source_columns", []) if result is not None else header)
        for choice in ("import_date_column", "import_lon", "import_lat"):  # columns of files no longer here
            if st.session_state.get(choice, AS_FOUND) not in columns:
                st.session_state[choice] = AS_FOUND
        with st.expander("Change what was found", expanded=result is None):
            st.selectbox("Import as", ("guess",) + importer.KINDS, key="import_kind")
            st.selectbox("Date or time column", columns, key="import_date_column")
            st.selectbox("Dates such as 02/01/2024", ORDERS, key="import_order")
            pair = st.columns(2)
            pair[0].selectbox("Longitude", columns, key="import_lon")
            pair[1].selectbox("Latitude", columns, key="import_lat")
            st.checkbox("Swap lat/lon (the file holds lat, lon)", key="import_swap")
            st.checkbox("Strict: refuse the whole file if any row is bad", key="strict")
        st.button("Import", key="import_button", type="primary", disabled=result is None or ws is None,
                  on_click=import_previewed)
    status, message, details = st.session_state.get("import_report", (None, "", []))
    if status:
        (st.error if status == "error" else st.success)(message)
        if details:
            with st.expander(f"{len(details)} note(s) from the import"):
                st.text("\n".join(details[:200]))
    if snapshot is not None and len(snapshot.batches):
        for batch in snapshot.batches.itertuples():
            row = st.columns([4, 1])
            row[0].caption(f"#{batch.id} {batch.filename} · {batch.kind} · {batch.feature_count:,}")
            row[1].button("✕", key=f"remove_{batch.id}", help=f"Remove batch {batch.id}",
                          on_click=remove_batch, args=(batch.id,))
    st.header("Export this view")
    fmt = st.selectbox("Format", list(EXPORT_TYPES), format_func=lambda f: EXPORT_TYPES[f][0], key="export_format")
    st.download_button(
        "Download", key="download",
        data=lambda: export.export(fmt, data, map_state, snapshot, current_basemap),
        file_name=f"dprk-pipeline-{map_state.date:%Y-%m}.{'zip' if fmt == 'csv' else fmt}",
        mime=EXPORT_TYPES[fmt][1], on_click="ignore")
    st.caption(f"Data version {data.version}. Basemap: Natural Earth (public domain).")
