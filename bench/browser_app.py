"""A stand-in page for browser timings until app.py loads BENCH_TRACKS itself.

The bundled deck (geo.layers.build_deck) plus BENCH_TRACKS=N synthetic tracks
(geo.tracks.track_layers) under a month slider and a view select, both bound to the URL,
cached the way the app caches: st.cache_data for data and prepared tracks.

    BENCH_TRACKS=100000 streamlit run bench/browser_app.py
"""
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # streamlit puts bench/ on the path, not the root

import streamlit as st  # noqa: E402

from bench import synthetic  # noqa: E402
from geo import dataset, layers, style, timeline, tracks  # noqa: E402

st.set_page_config(page_title="bench: tracks", layout="wide")


@st.cache_data(show_spinner=False)
def load_data() -> dataset.Dataset:
    return dataset.load()


@st.cache_resource(show_spinner=False)
def basemap(detailed: bool) -> dict:
    data = load_data()
    return layers.basemap_features(data.countries, data.countries_detail if detailed else None, style.ANALYST)


@st.cache_data(show_spinner=False)
def prepared(n: int) -> tracks.PreparedTracks:
    return tracks.prepare_tracks(synthetic.synthetic_tracks(n))


data = load_data()
MONTHS = timeline.months("2023-08-01", "2025-11-30")
with st.sidebar:
    st.select_slider("Month", MONTHS, value="2024-03", key="date", bind="query-params")
    st.selectbox("View", list(style.VIEWS), key="view", bind="query-params")
state = layers.MapState(date=timeline.month_end(st.session_state.date + "-01"), view=st.session_state.view)
deck = layers.build_deck(data, state, basemap(style.VIEWS[state.view].detailed))
N = int(os.environ.get("BENCH_TRACKS", "100000"))
if N:  # BENCH_TRACKS=0: the bundled deck alone, the baseline a date step costs without tracks
    deck.layers.extend(tracks.track_layers(prepared(N), state.date, state.view))
st.pydeck_chart(deck, height=600, key="map", on_select="rerun", selection_mode="single-object")
st.caption(f"Synthetic tracks as of {state.date:%Y-%m-%d}")
