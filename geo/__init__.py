"""Pure functions from the bundled data to GeoDataFrames to pydeck layers. Never imports streamlit."""
import logging

# Library convention: callers decide where log records go. Without this, Python's last-resort
# handler would print refusals to stderr, breaking the command line's one-line errors.
logging.getLogger("geo").addHandler(logging.NullHandler())
