"""DPRK → Russia arms pipeline: reported flows on a map, over time, each figure traceable to its claimant.

A thin layout script: all data handling and layer building lives in geo/.
"""
import dataclasses
import os
from pathlib import Path

import pandas as pd
import streamlit as st

from geo import (access, charts, dataset, degrade, export, imported, importer, layers, panels, previewmap, sandbox,
                 state, style, timeline, tracks, video, view as views, workspace)
from geo.safetext import escape
from geo.evidence import BASIS_LABELS, GROUPINGS, Filters, voyages_along
from geo.schema import BASES, CLAIMANT_TYPES, FAMILIES, LAYER_IDS

st.set_page_config(page_title="DPRK → Russia arms pipeline", page_icon="🗺️", layout="wide")

PLAY_SECONDS = 1.5
PRESENTER_TOP = 152  # pixels above and below the presenter's map: title bar, two-line caption, margin
controls = st.components.v2.component(
    "pipeline_controls", js=(Path(__file__).parent / "ui" / "controls.js").read_text(encoding="utf-8"))
EXPORT_TYPES = {"geojson": ("GeoJSON", "application/geo+json"), "gpkg": ("GeoPackage", "application/geopackage+sqlite3"),
                "kml": ("KML", "application/vnd.google-earth.kml+xml"), "csv": ("CSV (zip)", "application/zip"),
                "html": ("Offline HTML map", "text/html"), "png": ("PNG for slides", "image/png")}


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


@st.cache_resource(show_spinner=False, max_entries=64)
def frozen_layers(present: bool, view: str, viewport: tuple | None, focus: tuple = ()) -> dict:
    """The basemap and place layers, serialised once per view, palette, map size and scene focus
    (see geo.layers.FrozenLayer)."""
    return layers.static_layers(load_data(), view, present, basemap(present, style.VIEWS[view].detailed), viewport,
                                focus)


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
def open_workspace(path: str) -> workspace.Workspace:
    """Cached once opened; a failure raises, and Streamlit caches no failure: the next rerun tries again."""
    return workspace.Workspace(path)


@st.cache_resource(show_spinner=False, max_entries=2)
def workspace_snapshot(path: str, version: str) -> workspace.Snapshot:
    """Read once per workspace version and shared read-only by every session (tracks can be large)."""
    return open_workspace(path).snapshot()


def release_uploads(keep) -> int:
    """Free the uploads Streamlit holds for this session but no uploader shows now (an import
    done, a file dropped, anything a viewer sent to the upload endpoint); returns how many."""
    try:
        from streamlit.runtime import get_instance
        from streamlit.runtime.scriptrunner import get_script_run_ctx
        session, manager = get_script_run_ctx().session_id, get_instance().uploaded_file_mgr
    except Exception:  # no server runtime (an AppTest)
        return 0
    held = list(getattr(manager, "file_storage", {}).get(session, {}))
    for file_id in set(held) - set(keep):
        manager.remove_file(session, file_id)
    return len(set(held) - set(keep))


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
reached = degrade.reach(open_workspace, workspace_snapshot, WORKSPACE_PATH)  # a store that is down: a notice
ws, snapshot = reached.store, reached.snapshot
last_day = max([timeline.default_date(data.claims, data.events)] + imported.last_dates(snapshot))
MONTHS = timeline.months("2022-09-01", last_day)
SCENES = data.scenes.reset_index(drop=True)
LAYER_CHOICES = list(LAYER_IDS)
# What a state with nothing set shows; the URL leaves these out (geo.state.to_params).
DEFAULTS = {"mode": "cumulative", "view": "overview", "layers": LAYER_CHOICES, "claimant_type": [], "basis": [],
            "family": [], "group_by": "organisation", "present": False, "scene": None, "sel": None}
HUMAN = {"claimant_type": lambda v: v.replace("_", " "), "basis": lambda v: BASIS_LABELS[v].split(" (")[0],
         "family": lambda v: views.FAMILY_LABELS.get(v, v), "layers": lambda v: v.replace("-", " ")}


def url_state() -> dict:
    """Everything the URL holds, read from the session (geo.state.ORDER names it)."""
    ss = st.session_state
    scene = SCENES.id.iloc[ss.scene_index] if ss.get("present") and "scene_index" in ss else None
    return {"date": ss.get("date"), "mode": ss.get("mode") or "cumulative", "view": ss.get("view"),
            "layers": list(ss.get("layers", LAYER_CHOICES)), "claimant_type": list(ss.get("claimant_type", [])),
            "basis": list(ss.get("basis", [])), "family": list(ss.get("family", [])),
            "group_by": ss.get("group_by") or "organisation",
            "present": bool(ss.get("present")), "scene": scene, "sel": ss.get("sel")}


def seed_from_url():
    """On a session's first run, turn the link's parameters into widget values (bad ones become
    notices, shown until the state next changes)."""
    if "seeded" in st.session_state:
        return
    params = st.query_params.to_dict() | {k: st.query_params.get_all(k) for k in state.LIST_PARAMS
                                          if k in st.query_params}
    values, notices = state.parse_params(params, MONTHS, list(SCENES["id"]))
    scene = values.pop("scene", None)
    for key, value in values.items():
        st.session_state[key] = value
    for key, value in (("date", MONTHS[-1]), ("mode", "cumulative"), ("view", "overview"), ("layers", LAYER_CHOICES),
                       ("group_by", "organisation")):
        st.session_state.setdefault(key, value)
    if st.session_state.get("present"):
        apply_scene(int(SCENES.index[SCENES["id"] == scene][0]) if scene else 0)
    st.session_state.notices = notices
    st.session_state.noticed_state = None  # taken at the end of this run, once every widget has its value
    st.session_state.seeded = True


def apply_scene(i: int):
    """A scene is state: month, view, layers and caption all follow it."""
    scene = SCENES.iloc[i % len(SCENES)]
    st.session_state.update(scene_index=int(i % len(SCENES)), date=f"{scene.date:%Y-%m}", view=scene.view,
                            layers=[l for l in LAYER_CHOICES if l in scene.layers], sel=None)


def step_to(index: int):
    """Show step `index`: a scene in presenter mode, a month otherwise. Play stops at the end."""
    if st.session_state.get("present"):
        apply_scene(max(0, min(len(SCENES) - 1, index)))
        return
    index = max(0, min(len(MONTHS) - 1, index))
    st.session_state.date = MONTHS[index]
    if index == len(MONTHS) - 1:
        st.session_state.playing = False


def current_step() -> int:
    if st.session_state.get("present"):
        return st.session_state.get("scene_index", 0)
    return MONTHS.index(st.session_state.get("date", MONTHS[-1]))


def on_key_step():
    """The page's keyboard or Play clock asks for an absolute step (ui/controls.js)."""
    step = st.session_state.controls.get("step") or {}
    if "index" in step:
        st.session_state.step_ack = step.get("seq", 0)
        step_to(int(step["index"]))


def on_viewport():
    st.session_state.viewport = st.session_state.controls.get("viewport")


def close_panel():
    st.session_state.sel = None


def on_map_select():
    """A click on the map: the clicked feature (or nothing, on empty map) becomes the selection."""
    objects = st.session_state.map.selection.objects or {}
    picked = next((objs[0] for objs in objects.values() if objs), None)
    st.session_state.sel = views.picked_feature(picked)


def toggle_present():
    if st.session_state.get("present"):
        apply_scene(0)
    st.session_state.playing = False


def current_user() -> access.User:
    """Who sent this request (geo.access): the proxy's header, st.login, or the local user.
    Worked out afresh in every callback, from nothing a browser can set in session state."""
    try:
        login = st.user.to_dict()
    except Exception:  # no script context (outside a request)
        login = None
    return access.identify(st.context.headers, login)


def remove_batch(batch_id: int):
    """The user is checked at click time, here and in the store: the page may have been drawn
    while they could still edit."""
    try:
        if ws is None:
            raise workspace.WorkspaceError("the workspace is unavailable; try again in a moment")
        ws.remove(batch_id, current_user())
    except workspace.WorkspaceError as err:
        st.session_state.import_report = ("error", str(err), [])
        return
    except KeyError as err:  # removed meanwhile, by another session or server
        st.session_state.import_report = ("error", str(err.args[0]), [])
        return
    st.session_state.import_report = ("success", f"Removed batch {batch_id}.", [])


def video_controls(where: str):
    """Render the scenes, or the months between two dates, as MP4 or GIF for slides, with a
    progress bar; the file is kept in the session until something else is rendered."""
    what = st.radio("Video of", ["the scenes", "a range of months"], key=f"video_what_{where}", horizontal=True)
    if what == "a range of months":
        span = st.select_slider("Months", MONTHS, value=(MONTHS[max(0, len(MONTHS) - 13)], MONTHS[-1]),
                                key=f"video_months_{where}")
    cols = st.columns(2)
    fmt = cols[0].selectbox("Format", list(video.FORMATS), key=f"video_fmt_{where}",
                            format_func=lambda f: {"mp4": "MP4 (H.264)", "gif": "GIF"}.get(f, f))
    size = cols[1].selectbox("Size", list(video.SIZES), key=f"video_size_{where}")
    if st.button("Render video", key=f"video_render_{where}"):
        bar = st.progress(0.0, text="Drawing the frames…")
        filters = map_state.filters
        shots = (video.scene_shots(data, filters=filters) if what == "the scenes" else
                 video.month_shots(data, span[0], span[1], view=map_state.view, layer_ids=map_state.layers,
                                   mode=map_state.mode, filters=filters))
        clip = video.to_bytes(fmt, data, shots, video.SIZES[size], snapshot,
                              progress=lambda f, m="": bar.progress(min(1.0, f), text=m or "Rendering…"))
        bar.empty()
        st.session_state.video = (fmt, size, clip)
    if st.session_state.get("video"):
        fmt_, size_, clip = st.session_state.video
        st.download_button(f"Download the {fmt_.upper()} ({size_}, {len(clip) / 1e6:.1f} MB)", clip,
                           file_name=f"dprk-pipeline.{fmt_}", mime="video/mp4" if fmt_ == "mp4" else "image/gif",
                           key=f"video_download_{where}", on_click="ignore")


seed_from_url()
present = st.session_state.get("present", False)
# The window's size as the page last reported it, or as this browser remembered it from its last visit.
viewport = (st.session_state.get("viewport")
            or state.parse_viewport(st.context.cookies.get(state.viewport_cookie(present))) or {})
palette = style.palette(present)
st.html(panels.page_style(present))
# Always first in the page, so the elements after it keep their place in the tree across reruns:
# an element that moves is remounted, and a remounted map goes blank and forgets its camera.
controls(key="controls", data={"index": current_step(), "count": len(SCENES) if present else len(MONTHS),
                               "ack": st.session_state.get("step_ack", 0), "interval": int(PLAY_SECONDS * 1000),
                               "playing": bool(st.session_state.get("playing")) and not present,
                               "cookie": state.viewport_cookie(present), "viewport": viewport},
         on_step_change=on_key_step, on_viewport_change=on_viewport, on_escape_change=close_panel, height=0)

with st.sidebar:
    st.header("Map")
    st.select_slider("Month", MONTHS, key="date")
    nav = st.columns([1, 2, 1])
    nav[0].button("◀", key="prev_month", help="Previous month (←)", on_click=lambda: step_to(current_step() - 1))
    nav[1].toggle("Play", key="playing", help="Step through the months, one every 1.5 s")
    nav[2].button("▶", key="next_month", help="Next month (→)", on_click=lambda: step_to(current_step() + 1))
    st.segmented_control("Count", ["cumulative", "period"], key="mode",
                         help="Cumulative: what was known by the end of the month. "
                         "Period: only figures dated within the month.")
    st.selectbox("View", list(style.VIEWS), format_func=lambda v: style.VIEWS[v].label, key="view")
    st.multiselect("Layers", LAYER_CHOICES, key="layers", format_func=HUMAN["layers"])
    st.header("Filter claims")
    st.multiselect("Claimant type", CLAIMANT_TYPES, key="claimant_type", format_func=HUMAN["claimant_type"])
    st.multiselect("Basis", BASES, key="basis", format_func=HUMAN["basis"])
    st.multiselect("Metric family", FAMILIES, key="family", format_func=HUMAN["family"])
    st.segmented_control("Group claimants by", list(GROUPINGS), key="group_by",
                         help="Organisation: each agency speaks for itself. Government: a government's agencies "
                         "are one voice, its latest figure standing.")
    st.toggle("Presenter mode", key="present", on_change=toggle_present)

map_state = layers.MapState(
    date=timeline.month_end(st.session_state.date + "-01"),
    mode=st.session_state.mode or "cumulative",
    layers=tuple(st.session_state.layers),
    view=st.session_state.view,
    present=present,
    filters=Filters(tuple(st.session_state.claimant_type), tuple(st.session_state.basis),
                    tuple(st.session_state.family)),
    group_by=st.session_state.group_by or "organisation",
)
if present:  # the scene frames the places its caption speaks of, and its topic leads the figures
    scene = SCENES.iloc[st.session_state.get("scene_index", 0)]
    map_state = dataclasses.replace(map_state, focus=tuple(scene.focus), topic=scene.topic or "")
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
the_view = views.build_view(data, prepared, map_state, imported.legend_entries(shown_imports))

if present:
    bar = st.columns([6, 1, 1], vertical_alignment="center")
    bar[0].markdown(f"# {scene.title} — as of {map_state.date:%B %Y}")
    with bar[1].popover("Video", icon=":material/movie:", help="The scenes as a video for your slides"):
        video_controls("present")
    bar[2].button("✕ Exit", help="Leave presenter mode (the month stays)", key="exit_present",
                  on_click=lambda: st.session_state.update(present=False))
    st.markdown(panels.scene_caption(scene.caption), unsafe_allow_html=True)
else:
    st.title("DPRK → Russia arms pipeline")
    st.caption(f"Reported flows as of **{map_state.date:%d %B %Y}** ({map_state.mode}). "
               "Every figure is a claim: click a line, an arc, a dot or an area for its sources.")
# A link's notices stand until the person changes something.
notices = list(st.session_state.get("notices", [])) if st.session_state.get("noticed_state") in (None, url_state()) \
    else []
if reached.notice:
    notices.append(reached.notice)
front = shown_imports.get("imported-front")
if front is not None and len(front):
    notices.append(f"Imported front line as of {front['as_of'].max():%d %B %Y}, from "
                   f"{', '.join(sorted(set(front['source_file'])))}.")
with st.container(key="notices"):  # one fixed slot, so a notice appearing never moves the map
    for notice in notices + the_view.notices:
        st.warning(notice, icon="⚠️")

map_col, side_col = st.columns([5, 2] if not present else [4, 1])
with map_col, st.container(key="map_box"):
    current_basemap = basemap(present, style.VIEWS[map_state.view].detailed)
    extra = imported.imported_layers(shown_imports)
    track_source, points = track_points()
    if "tracks" in map_state.layers:
        track_set = prepared_tracks(track_source, points)
        if track_set is not None:  # the map state's date is the month's last day: include all of it
            extra += tracks.track_layers(track_set, map_state.date + pd.Timedelta(days=1), map_state.view,
                                         budget_bytes=700_000)
    # The whole map on screen: the window's height less what stands above it (in presenter mode the
    # title and a caption always two lines high, so the map keeps its place from scene to scene).
    map_height = max(400, int(viewport.get("height", 720)) - (PRESENTER_TOP if present else 130))
    if not present and viewport.get("map_width"):  # no taller than the overview's basemap reaches
        map_height = min(map_height, int(0.8 * viewport["map_width"]))
    map_size = (int(viewport["map_width"]), map_height) if viewport.get("map_width") else None
    deck = layers.deck_for(data, the_view, current_basemap, frozen_layers(present, map_state.view, map_size, map_state.focus), extra,
                           map_size)
    st.pydeck_chart(deck, height=map_height, on_select=on_map_select, selection_mode="single-object", key="map",
                    alt=f"Map of the reported pipeline as of {map_state.date:%Y-%m-%d}")
    if not present:  # the presenter's legend stands beside the map, clear of what the scene is about
        st.markdown(panels.legend(the_view.legend, layers.legend_corner(data, the_view, map_size)),
                    unsafe_allow_html=True)
with map_col:  # outside the map's box, whose lower edge the legend may be set against
    # Tells tests (and the curious) which map size the camera was fitted to.
    st.html(f'<span data-testid="map-fitted" data-size="{map_size[0]}x{map_size[1]}"></span>' if map_size
            else '<span data-testid="map-fitted" data-size=""></span>')

# In presenter mode the side column scrolls inside the map's height: the page itself never scrolls.
with side_col, st.container(height=map_height if present else "content", border=False, key="side"):
    sel = st.session_state.get("sel")
    evidence = views.selected_evidence(data, snapshot, sel, map_state) if sel else None
    if evidence is not None:
        if sel["kind"] == "route" and points is not None and len(points):
            names = points.drop_duplicates("track_id").set_index("track_id")["name"].to_dict()
            evidence.voyages = voyages_along(tracks_by_leg(track_source, points), names, sel["feature_id"],
                                             map_state.date)
        st.button("✕ Close (Esc)", key="close_panel", on_click=close_panel)
        st.markdown(panels.evidence_panel(evidence), unsafe_allow_html=True)
    else:
        if sel:
            st.caption(f"Nothing to show for {sel['kind']} {sel['feature_id']!r} in this view.")
        if present:
            st.markdown(panels.legend(the_view.legend), unsafe_allow_html=True)
        st.markdown(panels.headline_panel(the_view.headline, map_state.group_by), unsafe_allow_html=True)
        if not present:
            st.caption("Click a route, arc, marker or area to list every claim behind it.")
            # One chart at a time: each costs tens of milliseconds a rerun, and the date control reruns often.
            chart = st.selectbox("Chart", list(charts.CHART_METRICS) + ["Events"], key="chart")
            spec = chart_spec(chart, claims_key, claims) if chart else None
            if spec:
                st.vega_lite_chart(charts.at_date(spec, map_state.date), width="stretch")
            elif chart:
                st.info(f"No claims of this metric ({chart.lower()}) under these filters.")

with st.sidebar:
    st.header("Your data")
    user = current_user()
    if user.source == access.LOGIN and not user.name:
        st.button("Sign in to import", key="sign_in", on_click=st.login)
    elif user.source != access.LOCAL or not user.editor:
        st.caption(f"Signed in as **{user.label}**, " + ("editor." if user.editor else
                   "viewer: you can see and export; editors import and remove."))
    if user.claimed and ws is not None and not st.session_state.get("forged_logged"):  # audited once a session
        st.session_state.forged_logged = degrade.attempt(lambda: ws.record_refusal(
            user, "sign-in", f"identity header {user.claimed!r} sent without the proxy's secret"), False)[1] is None
    # Upload (a shapefile as its parts), preview what was found, change it, then import.
    AS_FOUND, ORDERS = "(as found)", ("decide from the values", "day first", "month first")
    if user.editor and ws is not None:
        st.cache_resource(sandbox.warm)()  # once per server: an import worker started ahead of the first preview
    # Viewers get no uploader at all (and whatever they send the upload endpoint is freed below).
    uploads = None if not user.editor or ws is None else st.file_uploader(
        "Import a file", key=f"upload_{st.session_state.setdefault('upload_round', 0)}", accept_multiple_files=True,
        # No type= list: Streamlit checks it against the name on every rerun and raises, for good, on a
        # name holding a NUL byte (a hand-made upload). The importer sniffs the content instead.
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
        user = current_user()  # checked at click time, here and in the store
        try:
            ws.authorise(user, "import", detail=result.filename)
            batch = ws.add(result, user)
        except workspace.WorkspaceError as err:
            st.session_state.import_report = ("error", str(err), [])
            return
        st.session_state.import_report = (
            "success", f"Imported {len(result.frame):,} {result.kind} feature(s) from {result.filename} as batch "
                       f"{batch}.", result.warnings + result.skipped)
        st.session_state.upload_round += 1
        st.session_state.pop("import_preview", None)

    if release_uploads([u.file_id for u in uploads or []]) and not user.editor and ws is not None:
        degrade.attempt(lambda: ws.record_refusal(user, "import", "upload sent by a viewer; discarded"))
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
            bar = st.progress(0.0, text=f"Reading {escape(uploads[0].name, 120)}…")
            parts = [(u.name, u.getvalue()) for u in uploads]
            try:
                # read in a worker process, within GEO_IMPORT_SECONDS / _MEMORY_MB / _ROWS (geo.sandbox)
                preview = (key, sandbox.read_parts(parts, progress=lambda f: bar.progress(min(1.0, f)), **options), None)
            except (importer.ImportProblem, sandbox.ImporterFailed) as err:  # the traceback is in the server's log
                preview = (key, None, str(err))
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
            row[0].caption(f"#{batch.id} {batch.filename} · {batch.kind} · {batch.feature_count:,} · "
                           f"by {batch.imported_by or '?'}, {batch.imported_at[:16].replace('T', ' ')}")
            # Shown to viewers too, disabled; the callback and the store refuse them anyway.
            row[1].button("✕", key=f"remove_{batch.id}", help=f"Remove batch {batch.id}",
                          on_click=remove_batch, args=(batch.id,), disabled=not user.editor)
    # Read on every rerun, not from the cached snapshot: removing the newest batch brings back the
    # earlier version, whose snapshot was cached before the removal.
    history = degrade.attempt(lambda: ws.batches(removed=True))[0] if ws is not None else None
    removed = history[history["removed_at"].notna()] if history is not None else []
    if len(removed):
        with st.expander(f"Removed batches ({len(removed)})"):
            for batch in removed.itertuples():
                st.caption(f"#{batch.id} {batch.filename} · imported by {batch.imported_by or '?'} · removed by "
                           f"{batch.removed_by}, {batch.removed_at[:16].replace('T', ' ')}")
    st.header("Export this view")
    fmt = st.selectbox("Format", list(EXPORT_TYPES), format_func=lambda f: EXPORT_TYPES[f][0], key="export_format")
    st.download_button(
        "Download", key="download",
        data=lambda: export.export(fmt, data, map_state, snapshot, current_basemap),
        file_name=f"dprk-pipeline-{map_state.date:%Y-%m}.{'zip' if fmt == 'csv' else fmt}",
        mime=EXPORT_TYPES[fmt][1], on_click="ignore")
    with st.expander("Video for slides"):
        video_controls("sidebar")
    st.caption(f"Data version {data.version}. Basemap and rail track: Natural Earth (public domain).")

if st.session_state.get("noticed_state") is None:
    st.session_state.noticed_state = url_state()
# The address bar follows the state, by ids, so a copied link reopens this page.
wanted = state.to_params(url_state(), DEFAULTS)
if st.query_params.to_dict() != wanted:
    st.query_params.from_dict(wanted)
