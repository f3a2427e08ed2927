"""The floor a Streamlit map page cannot beat: one pydeck point layer and nothing else.
bench.pageload times it beside the dashboard and kepler.gl."""
import pydeck as pdk
import streamlit as st

st.set_page_config(layout="wide")
points = [{"position": [130.64 + i * 0.5, 42.43 + (i % 5) * 0.4]} for i in range(31)]
st.pydeck_chart(pdk.Deck(
    layers=[pdk.Layer("ScatterplotLayer", data=points, get_position="position", get_radius=20000,
                      get_fill_color=[213, 94, 0])],
    initial_view_state=pdk.ViewState(longitude=132, latitude=43, zoom=5), map_provider=None), height=700)
