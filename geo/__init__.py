"""Pure functions from the bundled data to GeoDataFrames to pydeck layers. Never imports streamlit."""
