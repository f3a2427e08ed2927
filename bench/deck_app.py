"""One deck spec on an otherwise empty Streamlit page, cut to some of its layer types:
bench.programs times it beside the floor to price each WebGL program of the map.

    DECK_SPEC=deck.json DECK_TYPES=SolidPolygonLayer,LineLayer streamlit run bench/deck_app.py
"""
import json
import os

import pydeck as pdk
import streamlit as st

st.set_page_config(layout="wide")
spec = json.loads(open(os.environ["DECK_SPEC"], encoding="utf-8").read())
types = os.environ.get("DECK_TYPES")
if types:
    spec["layers"] = [layer for layer in spec["layers"] if layer["@@type"] in types.split(",")]
text = json.dumps(spec, separators=(",", ":"))


class SpecDeck(pdk.Deck):
    def to_json(self):
        return text


st.pydeck_chart(SpecDeck(map_provider=None), height=700)
