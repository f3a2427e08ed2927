"""The page's search box, its table of every claim, its About panel, the events list and the
video controls: widgets and layout only, as app.py (which lays out the map and calls these).
What they show is worked out in geo.page.search, geo.page.about and geo.view.claims_table."""
from __future__ import annotations

from html import escape
from urllib.parse import urlencode

import streamlit as st

from geo.export import video
from geo.page import about, search
from geo.page.text import plain
from geo.render import panels
from geo.view import claims_table

SCOPES = ("known by this month", "all claims")


@st.cache_resource(show_spinner=False)
def search_index(_data, version: str):
    return search.build_index(_data)


def search_box(data, nav, ss) -> None:
    """One box: type, press Enter, click a result."""
    query = st.text_input("Search", key="search_q", placeholder="a place, claimant, outlet, figure, event…",
                          help="Finds places, legs, claimants, outlets, metrics, events and figures "
                               "(\"20,000\", \"KN-23\", \"200 factories\") and takes you there.")
    if not query.strip():
        return
    hits = search.find(search_index(data, data.version), query, limit=8)
    if not hits:
        st.caption(plain(f"Nothing found for {query!r}."))
    for i, hit in enumerate(hits):
        st.button(plain(hit.label), key=f"search_hit_{i}", type="tertiary",
                  on_click=lambda h=hit: search.go(ss, nav, h))


def claims_tab(view, ss) -> None:
    """Every claim under the sidebar's filters, sortable by any column, with CSV export."""
    ss.setdefault("table_scope", SCOPES[0])
    cols = st.columns([2, 3, 1], vertical_alignment="bottom")
    scope = cols[0].segmented_control("Show", SCOPES, key="table_scope") or SCOPES[0]
    query = cols[1].text_input("Narrow to", key="table_query", placeholder="an id, metric, claimant or outlet")
    rows = claims_table.table_rows(view.prepared.claims, None if scope == SCOPES[1] else view.state.date,
                                   view.state.mode, query or "")
    cols[2].download_button("CSV", claims_table.to_csv(rows), file_name="claims.csv", mime="text/csv",
                            key="table_csv", on_click="ignore", icon=":material/download:")
    st.caption(f"{len(rows)} claim(s), under the sidebar's filters. Click a column to sort; "
               "“open” shows the claim on the map, in the month it became known.")
    st.dataframe(rows, hide_index=True, key="claims_table", height=min(560, 35 * len(rows) + 38),
                 column_order=["id", "open"] + [c for c in rows.columns if c not in ("id", "open")], column_config={
        "url": st.column_config.LinkColumn("source", display_text="source ↗"),
        "open": st.column_config.LinkColumn("on the map", display_text="open", width="small"),
        "as_of": "as of", "id": st.column_config.TextColumn("id", width="small")})


def events_list(view, params: dict) -> None:
    """Every event up to the date, each with its source and, when it has a place, a link to it."""
    items = []
    for e in claims_table.events_list(view):
        on_map = ""
        if e["sel"]:
            href = "?" + urlencode({**params, "date": e["date"][:7], "sel": f'{e["sel"]["kind"]}:{e["id"]}'})
            on_map = f' · <a href="{escape(href, quote=True)}" target="_self">on the map</a>'
        items.append(f'<li data-event="{escape(e["id"], quote=True)}">{escape(e["date"])}: '
                     f'{panels.link(e["url"], e["title"])}{on_map}</li>')
    st.markdown(f'<div class="events-list" data-testid="events-list"><b>{len(items)} event(s) by this date</b>'
                f'<ul>{"".join(items)}</ul></div>', unsafe_allow_html=True)


def about_tab(data) -> None:
    st.markdown(about.about_markdown(data))


def video_controls(where: str, data, nav, map_state, snapshot, ss):
    """The scenes, or the months between two dates, as MP4 or GIF for slides, with a progress bar."""
    what = st.radio("Video of", ["the scenes", "a range of months"], key=f"video_what_{where}", horizontal=True)
    if what == "a range of months":
        span = st.select_slider("Months", nav.months, value=(nav.months[max(0, len(nav.months) - 13)], nav.months[-1]),
                                key=f"video_months_{where}")
    cols = st.columns(2)
    fmt = cols[0].selectbox("Format", list(video.FORMATS), key=f"video_fmt_{where}",
                            format_func=lambda f: {"mp4": "MP4 (H.264)", "gif": "GIF"}.get(f, f))
    size = cols[1].selectbox("Size", list(video.SIZES), key=f"video_size_{where}")
    if st.button("Render video", key=f"video_render_{where}"):
        bar = st.progress(0.0, text="Drawing the frames…")
        shots = (video.scene_shots(data, filters=map_state.filters) if what == "the scenes" else
                 video.month_shots(data, span[0], span[1], view=map_state.view, layer_ids=map_state.layers,
                                   mode=map_state.mode, filters=map_state.filters))
        ss.video = (fmt, size, video.to_bytes(fmt, data, shots, video.SIZES[size], snapshot,
                                              progress=lambda f, m="": bar.progress(min(1.0, f), text=m or "Rendering…")))
        bar.empty()
    if ss.get("video"):
        fmt_, size_, clip = ss.video
        st.download_button(f"Download the {fmt_.upper()} ({size_}, {len(clip) / 1e6:.1f} MB)", clip,
                           file_name=f"dprk-pipeline.{fmt_}", mime="video/mp4" if fmt_ == "mp4" else "image/gif",
                           key=f"video_download_{where}", on_click="ignore")
