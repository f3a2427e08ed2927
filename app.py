"""DPRK → Russia arms pipeline: reported flows on a map, over time, each figure traceable to its claimant.

Widgets and layout only. What the map shows is decided in geo.view (view_for); the session's
navigation, the import workflow and what is kept between reruns live in geo.page.
"""
from pathlib import Path

import streamlit as st

from ui import sections

from geo import style
from geo.data.schema import BASES, CLAIMANT_TYPES, FAMILIES
from geo.model.evidence import GROUPINGS
from geo.page import compare, degrade, resources, search, session, ships, state
from geo.page.text import plain
from geo.render import charts, imagery as image_layers, layers, overlay, panels, selection, tracks
from geo.store import access
from geo.view import claims_table, mapview, view_for

st.set_page_config(page_title="DPRK → Russia arms pipeline", page_icon="🗺️", layout="wide")
PLAY_SECONDS = 1.5
controls = st.components.v2.component(
    "pipeline_controls", js=(Path(__file__).parent / "ui" / "controls.js").read_text(encoding="utf-8"))
ss = st.session_state

data = resources.dataset()
WORKSPACE = resources.workspace_target()
ws, ws_problem = resources.workspaces.open(WORKSPACE)
snapshot, snap_problem = resources.snapshot(WORKSPACE, ws)
images = resources.imagery(WORKSPACE, ws, snapshot)
nav = session.Navigator.for_data(data, snapshot)


def current_user() -> access.User:
    """Who sent this request (geo.store.access), worked out afresh in every callback."""
    return access.identify(st.context.headers, session.login_of(st.user))


nav.seed(ss, st.query_params.to_dict() | {k: st.query_params.get_all(k) for k in state.LIST_PARAMS
                                         if k in st.query_params})
nav.keep_valid(ss)
present = ss.get("present", False)
# The window's size as the page last reported it, or as this browser remembered it from its last visit.
viewport = ss.get("viewport") or state.parse_viewport(st.context.cookies.get(state.viewport_cookie(present))) or {}
st.html(panels.page_style(present))
# Always first in the page, so the elements after it keep their place in the tree across reruns:
# an element that moves is remounted, and a remounted map goes blank and forgets its camera.
controls(key="controls", data={"index": nav.current_step(ss), "count": nav.step_count(ss),
                               "ack": ss.get("step_ack", 0), "interval": int(PLAY_SECONDS * 1000),
                               "playing": bool(ss.get("playing")) and not present,
                               "cookie": state.viewport_cookie(present), "viewport": viewport},
         on_step_change=lambda: nav.on_step(ss, ss.controls.get("step")),
         on_viewport_change=lambda: ss.update(viewport=ss.controls.get("viewport")),
         on_escape_change=lambda: nav.on_escape(ss, ss.controls.get("escape")),
         on_clicks_change=lambda: None, height=0)

with st.sidebar:
    sections.search_box(data, nav, ss)
    st.header("Map")
    st.select_slider("Month", nav.months, key="date")
    steps = st.columns([1, 2, 1])
    steps[0].button("◀", key="prev_month", help="Previous month (←)", on_click=lambda: nav.step_to(ss, nav.current_step(ss) - 1))
    steps[1].toggle("Play", key="playing", help="Step through the months, one every 1.5 s")
    steps[2].button("▶", key="next_month", help="Next month (→)", on_click=lambda: nav.step_to(ss, nav.current_step(ss) + 1))
    st.segmented_control("Count", ["cumulative", "period"], key="mode",
                         help="Cumulative: what was known by the end of the month. "
                         "Period: only figures dated within the month.")
    st.selectbox("View", list(style.VIEWS), format_func=lambda v: style.VIEWS[v].label, key="view")
    st.multiselect("Layers", session.LAYER_CHOICES, key="layers", format_func=session.HUMAN["layers"])
    sections.image_controls(images, ss)
    st.header("Filter claims")
    st.multiselect("Claimant type", CLAIMANT_TYPES, key="claimant_type", format_func=session.HUMAN["claimant_type"])
    st.multiselect("Basis", BASES, key="basis", format_func=session.HUMAN["basis"])
    st.multiselect("Metric family", FAMILIES, key="family", format_func=session.HUMAN["family"])
    st.segmented_control("Group claimants by", list(GROUPINGS), key="group_by",
                         help="Organisation: each agency speaks for itself. Government: a government's agencies "
                         "are one voice, its latest figure standing.")
    st.toggle("Presenter mode", key="present", on_change=lambda: nav.toggle_present(ss))

map_state = nav.map_state(ss)
ships.seed(ss)
ship_params = ships.params_from(ss)
detections, ship_coverage, ship_problem = resources.detections(WORKSPACE, snapshot, ship_params)
the_view = view_for(data, snapshot, map_state, track_paths=False, images=images,  # what this state shows: geo.view
                    image_mode=ss.get("image_show") or "month", detections=detections,
                    ship_params=ship_params, ship_coverage=ship_coverage,
                    has_tracks=resources.has_tracks(snapshot))
ship_findings = ships.findings(detections, ship_params, ship_coverage)  # the exports draw them as the map does
compare.keep_valid(ss, images, the_view.data.places)  # the series' place and pair, from a link or a click
claims_key = (map_state.filters, mapview.claims_version(snapshot, map_state))

if present:
    scene = nav.scene(ss)
    bar = st.columns([6, 1, 1], vertical_alignment="center")
    bar[0].markdown(f"# {plain(scene.title)} — as of {map_state.date:%B %Y}")
    with bar[1].popover("Video", icon=":material/movie:", help="The scenes as a video for your slides"):
        sections.video_controls("present", data, nav, map_state, snapshot, ss, images, ship_findings)
    bar[2].button("✕ Exit", help="Leave presenter mode: the month stays, your own view and layers come back", key="exit_present",
                  on_click=lambda: nav.exit_present(ss))
    st.markdown(panels.scene_caption(scene.caption), unsafe_allow_html=True)
else:
    st.title("DPRK → Russia arms pipeline")
    st.caption(f"Reported flows as of **{map_state.date:%d %B %Y}** ({map_state.mode}). "
               "Every figure is a claim: click a line, an arc, a dot or an area for its sources; "
               "*About & method* says what the words mean.")
problems = [degrade.notice(p) for p in (ws_problem, snap_problem) if p] + ([ship_problem] if ship_problem else [])

tabs = st.tabs([search.MAP_TAB, search.TABLE_TAB, "About & method"], key="tab", on_change="rerun")
if ss.get("tab") == search.TABLE_TAB:
    with tabs[1]:
        sections.claims_tab(the_view, ss)
if ss.get("tab") == "About & method":
    with tabs[2]:
        sections.about_tab(data)
map_col, side_col = tabs[0].columns([5, 2] if not present else [4, 1])
map_height, map_size = session.map_frame(viewport, present)
track_source, points = resources.track_points(snapshot)
swiped = compare.swiping(ss, map_state)  # the series' before and after, one over the other, split by a divider
pair = image_layers.swipe_for(the_view, map_size, *swiped) if swiped else None
the_view.legend = compare.legend(the_view, pair)  # the pair's credits, not the images it covers
legend = layers.visible_legend(the_view.data, the_view, map_size)  # what the fitted map shows, nothing else
# The analyst's legend floats over the map: its corner and box, which the basemap's names keep clear of.
legend_box = None if present else layers.legend_place(the_view.data, the_view, map_size, legend)
with map_col, st.container(key="map_box"):
    extra = overlay.imported_layers(the_view.shown) + resources.detection_layers(WORKSPACE, snapshot, ship_params, the_view)
    track_set = resources.prepared_tracks(track_source, points) if "tracks" in map_state.layers else None
    if track_set is not None:
        extra += tracks.track_layers(track_set, map_state.date, map_state.view, budget_bytes=700_000)
    extra += resources.window_track_layers(WORKSPACE, snapshot, map_state)  # streamed AIS: the window only
    basemap = resources.basemap(present, style.VIEWS[map_state.view].detailed)
    pictures = image_layers.view_layers(the_view, map_size, lambda i, lv: sections.image_url(images, i, lv),
                                        ss.get("image_opacity", 100) / 100, pair)
    deck = layers.deck_for(the_view.data, the_view, basemap,
                           resources.frozen_layers(present, map_state.view, map_size, map_state.focus,
                                                   (legend_box.box,) if legend_box else ()), extra, map_size,
                           pictures)
    selection.marked(deck, the_view, ss.get("sel"), nav.selection_epoch(ss))  # the map shows `sel`, no more
    st.pydeck_chart(deck, height=map_height, selection_mode="single-object", key="map",
                    on_select=lambda: nav.pick(ss, mapview.picked_feature(next(
                        (o[0] for o in (ss.map.selection.objects or {}).values() if o), None)),
                        ss.controls.get("clicks")),
                    alt=f"Map of the reported pipeline as of {map_state.date:%Y-%m-%d}")
    if not present:  # the presenter's legend stands beside the map, clear of what the scene is about
        st.markdown(panels.legend(legend, legend_box), unsafe_allow_html=True)
with map_col:  # outside the map's box; tells tests (and the curious) which map size the camera was fitted to
    st.html(f'<span data-testid="map-fitted" data-size="{map_size[0]}x{map_size[1]}"></span>' if map_size
            else '<span data-testid="map-fitted" data-size=""></span>')

# In presenter mode the side column scrolls inside the map's height: the page itself never scrolls.
with side_col, st.container(height=map_height if present else "content", border=False, key="side"):
    with st.container(key="notices"):  # beside the map, never above it: a notice appearing never moves the map
        for notice in problems + nav.notices(ss) + the_view.notices:
            st.warning(plain(notice), icon="⚠️")
    sel = ss.get("sel")
    found = mapview.evidence(the_view, sel, points, resources.tracks_by_leg(track_source, points)
                             if sel and sel["kind"] == "route" else None,
                             resources.streamed_vessel(WORKSPACE, snapshot, sel, map_state.date)) if sel else None
    if found is not None:
        st.button("✕ Close (Esc)", key="close_panel", on_click=lambda: ss.update(sel=None))
        st.markdown(panels.evidence_panel(found, ss.get("claim") or "", lambda i, lv: sections.image_url(images, i, lv)),
                    unsafe_allow_html=True)
        sections.image_places_buttons(found, ss)
        sections.vessel_buttons(found, ss)
    else:
        if sel:
            st.caption(plain(f"Nothing to show for {sel['kind']} {sel['feature_id']!r} in this view."))
        if present:
            st.markdown(panels.legend(legend), unsafe_allow_html=True)
        if present and session.filter_words(ss):  # the analyst's filters apply here too: say so, and offer to clear
            st.markdown(f"**Filtered** ({plain(session.filter_words(ss))}): figures from other claims are hidden.")
            st.button("✕ Clear filters", key="clear_filters", on_click=lambda: session.clear_filters(ss))
        st.button("National totals", key="totals", icon=":material/public:", help="Figures no place on the map stands "
                  "for: factories, money, launcher counts, shares of strikes", on_click=lambda: ss.update(sel=dict(claims_table.TOTALS)))
        st.markdown(panels.headline_panel(the_view.headline, map_state.group_by, claims_table.filtered_out(the_view)),
                    unsafe_allow_html=True)
        if not present:
            st.caption("Click a route, arc, marker or area to list every claim behind it.")
            if placeless := claims_table.placeless_note(the_view):
                st.caption(placeless)
if not present:  # the chart stands directly under the map, as wide as it, its legend whole
    with map_col:
        sections.image_series(the_view, images, ss)  # a place's images in date order, opened from its panel
        # One chart at a time: each costs tens of milliseconds a rerun, and the date control reruns often.
        chart = st.selectbox("Chart", list(charts.CHART_METRICS) + ["Events"], key="chart")
        spec = (resources.events_spec(the_view) if chart == "Events" else
                resources.chart_spec(chart, claims_key, the_view.prepared.claims, map_state.group_by))
        dated = charts.at_date(spec, map_state.date) if spec else None
        if dated:
            st.vega_lite_chart(dated, width="stretch")
            if chart in charts.CHART_METRICS:
                st.caption(charts.caption(map_state.date))
        elif spec and chart == "Events":
            st.info(f"No event by {map_state.date:%d %B %Y}.")
        elif spec:
            st.info(f"No claim of this metric ({chart.lower()}) was made public by {map_state.date:%d %B %Y}.")
        elif chart:
            st.info(f"No claims of this metric ({chart.lower()}) under these filters.")
        if chart == "Events":
            sections.events_list(the_view, nav.params(ss))

with st.sidebar:
    if detections is not None:  # the workspace holds positions: their detections' parameters
        sections.ship_detections(ss)
    sections.your_data(data, nav, ss, ws, snapshot, map_state, basemap, current_user, images, ship_findings)


nav.settle(ss)
# The address bar follows the state, by ids, so a copied link reopens this page.
if st.query_params.to_dict() != nav.params(ss):
    st.query_params.from_dict(nav.params(ss))
