"""The dashboard's server: the page (app.py) on Streamlit's own server, with one addition in front
of its routes: the upload endpoint takes files only from sessions the page offers an uploader
(editors), and refuses any other with 403 before reading the body (geo.page.uploadgate).

    python3 -m streamlit run serve.py   # takes the same --server.* options as `streamlit run app.py`

`streamlit run app.py` serves the same page without the gate: fine on a laptop, where the one
local user is an editor, but a server with viewers should run this file.
"""
import streamlit as st
from starlette.middleware import Middleware

from geo.page.uploadgate import UploadGate

app = st.App("app.py", middleware=[Middleware(UploadGate)])
