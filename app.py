"""DPRK → Russia arms pipeline: reported flows on a map, over time, each figure traceable to its claimant.

A thin layout script: all data handling and layer building lives in geo/.
"""
import time

import streamlit as st

from geo import charts, dataset, layers, panels, state, style, timeline
from geo.evidence import Filters, evidence_for, headline
from geo.schema import BASES, CLAIMANT_TYPES, FAMILIES, LAYER_IDS

st.set_page_config(page_title="DPRK → Russia arms pipeline", page_icon="🗺️", layout="wide")


@st.cache_data(show_spinner=False)
def load_data() -> dataset.Dataset:
    return dataset.load()


@st.cache_resource(show_spinner=False)
def basemap(present: bool, detailed: bool) -> dict:
    data = load_data()
    return layers.basemap_features(data.countries, data.countries_detail if detailed else None,
                                   style.palette(present))


data = load_data()
MONTHS = timeline.months("2022-09-01", timeline.default_date(data.claims, data.events))
SCENES = data.scenes.reset_index(drop=True)
SHOWN_LAYERS = [l for l in LAYER_IDS if l in layers.DEFAULT_LAYERS]
PLAY_SECONDS = 1.5


def seed_from_url():
    """On a session's first run, turn the link's parameters into widget values (bad ones become notices)."""
    if "seeded" in st.session_state:
        return
    values, notices = state.parse_params(st.query_params.to_dict() | {
        k: st.query_params.get_all(k) for k in state.LIST_PARAMS if k in st.query_params}, MONTHS,
        list(SCENES["id"]))
    if "scene" in values:
        apply_scene(SCENES.index[SCENES["id"] == values.pop("scene")][0])
    for key, value in values.items():
        st.session_state[key] = value
    st.session_state.notices = notices
    st.session_state.seeded = True


def apply_scene(i: int):
    scene = SCENES.iloc[i % len(SCENES)]
    st.session_state.update(scene_index=int(i % len(SCENES)), date=f"{scene.date:%Y-%m}", view=scene.view,
                            layers=[l for l in SHOWN_LAYERS if l in scene.layers])
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
    st.multiselect("Layers", SHOWN_LAYERS, default=SHOWN_LAYERS, key="layers", bind="query-params")
    st.header("Filter claims")
    st.multiselect("Claimant type", CLAIMANT_TYPES, key="claimant_type", bind="query-params")
    st.multiselect("Basis", BASES, key="basis", bind="query-params")
    st.multiselect("Metric family", FAMILIES, key="family", bind="query-params")
    st.toggle("Presenter mode", key="present", bind="query-params")
    st.caption(f"Data version {data.version}. Basemap: Natural Earth (public domain).")

@st.fragment(run_every=PLAY_SECONDS)
def playback_clock():
    """Ticks while playing; a tick reruns the whole page, whose first step advances the month.
    The fragment also runs inside every full run, where it must not rerun again."""
    if time.monotonic() - st.session_state.get("last_tick", 0) >= 0.8 * PLAY_SECONDS:
        st.rerun()


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
claims = map_state.filters.apply(data.claims)

if present:
    scene = SCENES.iloc[st.session_state.get("scene_index", 0)]
    st.markdown(f"# {scene.title} — as of {map_state.date:%B %Y}")
    st.markdown(panels.scene_caption(scene.caption), unsafe_allow_html=True)
else:
    st.title("DPRK → Russia arms pipeline")
    st.caption(f"Reported flows as of **{map_state.date:%d %B %Y}** ({map_state.mode}). "
               "Every figure is a claim: click a line or a dot for its sources.")

map_col, side_col = st.columns([3, 1] if not present else [4, 1])
with map_col:
    deck = layers.build_deck(data, map_state, basemap(present, style.VIEWS[map_state.view].detailed))
    event = st.pydeck_chart(deck, height=720 if present else 600, on_select="rerun",
                            selection_mode="single-object", key="map",
                            alt=f"Map of the reported pipeline as of {map_state.date:%Y-%m-%d}")
with side_col:
    st.markdown(panels.headline_panel(headline(claims, map_state.date, map_state.mode)), unsafe_allow_html=True)
    st.markdown(panels.legend(palette), unsafe_allow_html=True)

picked = next((objs[0] for objs in (event.selection.objects or {}).values() if objs), None) if event else None
with map_col:
    if picked and picked.get("feature_id"):
        ev = evidence_for(data, picked["kind"], picked["feature_id"], picked.get("place_id", ""),
                          map_state.date, map_state.filters)
        st.markdown(panels.evidence_panel(ev), unsafe_allow_html=True)
    elif not present:
        st.info("Click a route, arc, marker or area to list every claim behind it.")

if not present:
    # One chart at a time: each costs ~60 ms a rerun, and the date control reruns often.
    chart = st.segmented_control("Chart", list(charts.CHART_METRICS) + ["Events"], key="chart",
                                 default="Containers shipped")
    if chart == "Events":
        st.altair_chart(charts.events_timeline(data.events, map_state.date), width="stretch")
    elif chart:
        st.altair_chart(charts.step_chart(claims, charts.CHART_METRICS[chart], map_state.date), width="stretch")
