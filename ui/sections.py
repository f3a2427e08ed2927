"""Sections of the page that app.py places: the search box, the table of every claim, the About
panel, the events list, the video controls and the sidebar's import and export tools. Widgets
and layout only, as app.py (which lays out the map and calls these).
What they show is worked out in geo.page.search, geo.page.about and geo.view.claims_table."""
from __future__ import annotations

from html import escape
from urllib.parse import urlencode

import streamlit as st

from geo import export as exports
from geo.export import video
from geo.imagery.raster import credit
from geo.page import about, compare, degrade, resources, search, ships, uploadgate, uploads
from geo.page.text import plain
from geo.render import panels, previewmap
from geo.store import access
from geo.view import claims_table

SCOPES = ("known by this month", "all claims")


@st.cache_resource(show_spinner=False, max_entries=8)
def search_index(_data, version: str, _snapshot, workspace_version: str | None):
    return search.build_index(_data, _snapshot)


def search_box(data, nav, ss) -> None:
    """One box: type, press Enter, click a result."""
    query = st.text_input("Search", key="search_q", placeholder="a place, claimant, outlet, figure, event…",
                          help="Finds places, legs, claimants, outlets, metrics, events and figures "
                               "(\"20,000\", \"KN-23\", \"200 factories\"), and what your files hold, "
                               "and takes you there.")
    if not query.strip():
        return
    snapshot = nav.snapshot
    hits = search.find(search_index(data, data.version, snapshot, snapshot.version if snapshot is not None else None),
                       query, limit=8)
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
    items, placeless = [], 0
    for e in claims_table.events_list(view):
        on_map = ""
        if e["sel"]:
            href = "?" + urlencode({**params, "date": e["date"][:7], "sel": f'{e["sel"]["kind"]}:{e["id"]}'})
            on_map = f' · <a href="{escape(href, quote=True)}" target="_self">on the map</a>'
        else:
            placeless += 1
            on_map = f' · <span class="no-place">{escape(e["note"])}</span>'
        mine = f' · <span class="your-file">your file {escape(e["source_file"])}</span>' if e["source_file"] else ""
        items.append(f'<li data-event="{escape(e["id"], quote=True)}">{escape(e["date"])}: '
                     f'{panels.link(e["url"], e["title"])}{mine}{on_map}</li>')
    head = f"{len(items)} event(s) by this date" + (f"; {placeless} with no place given, listed here only"
                                                     if placeless else "")
    st.markdown(f'<div class="events-list" data-testid="events-list"><b>{head}</b>'
                f'<ul>{"".join(items)}</ul></div>', unsafe_allow_html=True)


def about_tab(data) -> None:
    st.markdown(about.about_markdown(data))


def video_controls(where: str, data, nav, map_state, snapshot, ss, images=None, ships=None):
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
                                   mode=map_state.mode, filters=map_state.filters, snapshot=snapshot))
        ss.video = (fmt, size, video.to_bytes(fmt, data, shots, video.SIZES[size], snapshot,
                                              progress=lambda f, m="": bar.progress(min(1.0, f), text=m or "Rendering…"),
                                              images=images, image_mode=ss.get("image_show") or "month",
                                              ships=ships))
        bar.empty()
    if ss.get("video"):
        fmt_, size_, clip = ss.video
        st.download_button(f"Download the {fmt_.upper()} ({size_}, {len(clip) / 1e6:.1f} MB)", clip,
                           file_name=f"dprk-pipeline.{fmt_}", mime="video/mp4" if fmt_ == "mp4" else "image/gif",
                           key=f"video_download_{where}", on_click="ignore")


def your_data(data, nav, ss, ws, snapshot, map_state, basemap, current_user, images=None, ships=None) -> None:
    """The sidebar's lower half: who you are, importing a file (preview, change what was found,
    import), the batches and their removal, export of this view and the video for slides."""
    st.header("Your data")
    user = current_user()
    if user.claimed and ws is not None and not ss.get("forged_logged"):  # audited once a session
        ss.forged_logged = degrade.attempt(lambda: ws.record_refusal(
            user, "sign-in", f"identity header {user.claimed!r} sent without the proxy's secret"), False)[1] is None
    if user.source == access.LOGIN and not user.name:
        st.button("Sign in to import", key="sign_in", on_click=st.login)
    elif user.source != access.LOCAL or not user.editor:
        st.caption(f"Signed in as **{plain(user.label)}**, " + ("editor." if user.editor else
                   "viewer: you can see and export; editors import and remove."))
    # Upload (a shapefile as its parts), preview what was found, change it, then import. Viewers get no
    # uploader at all; no type= list: Streamlit checks it against the name on every rerun and raises for
    # good on a name holding a NUL byte, and the importer sniffs the content anyway.
    if user.editor and ws is not None:
        resources.warm_importer()
    offer_uploads(user, user.editor and ws is not None)  # serve.py's gate refuses every other session's uploads
    files = None if not user.editor or ws is None else st.file_uploader(
        "Import a file", key=f"upload_{ss.setdefault('upload_round', 0)}", accept_multiple_files=True,
        help="CSV/TSV, GeoJSON, TopoJSON, GeoPackage, FlatGeobuf, GeoParquet, GPX, KML/KMZ, or a shapefile (its "
             ".shp, .shx, .dbf and .prj together, or zipped): claims, events, places, dated front lines, vessel or "
             "train tracks, or any points, lines and areas.")
    if files:
        reading = st.progress(0.0, text=plain(f"Reading {files[0].name[:120]}…"))
        result, problem, columns, sheets = uploads.preview(ss, [(u.file_id, u.name, u.getvalue()) for u in files],
                                                           lambda f: reading.progress(min(1.0, f)))
        reading.empty()
        if problem:
            st.error(plain(problem))
        if result is not None:
            found = uploads.summary(result)
            st.markdown(plain(found["what"]))
            st.caption(plain(found["how"]))
            if found["bounds"]:
                st.pydeck_chart(previewmap.bounds_deck(found["bounds"]), height=180, key="import_preview_map")
            st.dataframe(found["sample_rows"], height=150, hide_index=True)
            notes = found["notes"]
            if notes:
                with st.expander(f"{len(notes)} note(s) before importing"):
                    st.text("\n".join(notes))
        if uploads.looks_like_image([u.name for u in files], result):  # credited on the map and in every export
            st.text_input("Image source", key="import_image_source", placeholder="e.g. Sentinel-2 L2A, ESA")
            st.text_input("Image licence", key="import_image_licence", placeholder="e.g. CC BY-SA 3.0 IGO")
            st.text_input("Image date (YYYY-MM-DD)", key="import_image_date",
                          help="Only if the file's metadata or name gives none, or the wrong one")
            # What the import will store, read back from the server: a field typed but not yet sent shows here.
            st.caption(plain("Credited on the map and in exports as: " + credit(
                ss.get("import_image_source", ""), ss.get("import_image_licence", ""))))
        with st.expander("Change what was found", expanded=result is None):
            st.selectbox("Import as", ("guess",) + uploads.KINDS, key="import_kind")
            if sheets or ss.get("import_sheet", uploads.AS_FOUND) != uploads.AS_FOUND:
                st.selectbox("Sheet", [uploads.AS_FOUND] + sheets, key="import_sheet")
            if any(u.name.lower().endswith((".zip", ".dbf", ".shp")) for u in files):
                st.selectbox("Shapefile text encoding", uploads.ENCODINGS, key="import_encoding")
            st.selectbox("Date or time column", columns, key="import_date_column")
            st.selectbox("Dates such as 02/01/2024", uploads.ORDERS, key="import_order")
            pair = st.columns(2)
            pair[0].selectbox("Longitude", columns, key="import_lon")
            pair[1].selectbox("Latitude", columns, key="import_lat")
            st.checkbox("Swap lat/lon (the file holds lat, lon)", key="import_swap")
            st.checkbox("Strict: refuse the whole file if any row is bad", key="strict")
        if uploads.is_streamed(ss):  # read now, with a bar: rows read and the share of the file's bytes
            if st.button("Import", key="import_button", type="primary", disabled=ws is None):
                bar = st.progress(0.0, text=plain(f"Importing {files[0].name[:120]}…"))
                uploads.import_previewed(ss, ws, current_user(), lambda f, rows: bar.progress(
                    min(1.0, f), text=plain(f"Importing {files[0].name[:120]}: {rows:,} positions read, {f:.0%}")))
                st.rerun()
        else:
            st.button("Import", key="import_button", type="primary", disabled=result is None or ws is None,
                      on_click=lambda: uploads.import_previewed(ss, ws, current_user()))
    else:
        uploads.preview(ss, [])
    if release_uploads([u.file_id for u in files or []]) and not user.editor and ws is not None:
        degrade.attempt(lambda: ws.record_refusal(user, "import", "upload sent by a viewer; discarded"))
    # Read on every rerun, not from the cached snapshot: removing the newest batch brings back the
    # earlier version, whose snapshot was cached before the removal.
    history = degrade.attempt(lambda: ws.batches(removed=True))[0] if ws is not None else None
    removed = history[history["removed_at"].notna()] if history is not None else []
    restorable = uploads.restorable_ids(removed)
    status, message, details = ss.get("import_report", (None, "", []))
    if status:
        (st.error if status == "error" else st.success)(plain(message))
        if details:
            with st.expander(f"{len(details)} note(s) from the import"):
                st.text("\n".join(details[:200]))
    for batch_id in [b for b in ss.get("undo_batches", []) if b in restorable][-3:]:  # this session's removals
        st.button(f"Undo: restore batch {batch_id}", key=f"undo_{batch_id}", disabled=not user.editor,
                  on_click=lambda b=batch_id: uploads.restore_batch(ss, ws, current_user(), b))
    for batch in (snapshot.batches.itertuples() if snapshot is not None else ()):
        row = st.columns([4, 1])
        row[0].caption(plain(uploads.batch_line(batch)))
        # Shown to viewers too, disabled; the callback and the store refuse them anyway.
        row[1].button("✕", key=f"remove_{batch.id}", help=f"Remove batch {batch.id}", disabled=not user.editor,
                      on_click=lambda b=batch.id: uploads.ask_remove(ss, b))
        if ss.get("remove_asked") == batch.id:
            st.warning(plain(degrade.attempt(lambda b=batch: uploads.removal_question(ws, b))[0]
                             or f"Remove batch {batch.id}?"))
            answer = st.columns(2)
            answer[0].button("Remove", key="remove_confirm", type="primary", disabled=not user.editor,
                             on_click=lambda b=batch.id: uploads.remove_batch(ss, ws, current_user(), b))
            answer[1].button("Cancel", key="remove_cancel", on_click=lambda: uploads.cancel_remove(ss))
    if len(removed):
        with st.expander(f"Removed batches ({len(removed)})"):
            for batch in removed.itertuples():
                st.caption(plain(uploads.batch_line(batch)))
                if int(batch.id) in restorable:
                    st.button(f"Restore batch {batch.id}", key=f"restore_{batch.id}", disabled=not user.editor,
                              on_click=lambda b=int(batch.id): uploads.restore_batch(ss, ws, current_user(), b))
    st.header("Export this view")
    fmt = st.selectbox("Format", list(exports.PAGE_FORMATS), format_func=lambda f: exports.PAGE_FORMATS[f][0],
                       key="export_format")
    st.download_button("Download", key="download", data=lambda: exports.export(
        fmt, data, map_state, snapshot, basemap, images, ss.get("image_show") or "month", ships),
                       file_name=exports.file_name(fmt, map_state), mime=exports.PAGE_FORMATS[fmt][1], on_click="ignore")
    with st.expander("Video for slides"):
        video_controls("sidebar", data, nav, map_state, snapshot, ss, images, ships)
    st.caption(f"Data version {data.version}. Basemap and rail track: Natural Earth (public domain).")


def offer_uploads(user, offered: bool) -> None:
    """Tell the upload endpoint's gate (geo.page.uploadgate) whether this session sees an uploader."""
    try:
        from streamlit.runtime.scriptrunner import get_script_run_ctx
        session_id = get_script_run_ctx().session_id
    except Exception:  # no server runtime (an AppTest)
        return
    uploadgate.offer(session_id, user, offered)


def release_uploads(keep) -> int:
    """Free the uploads Streamlit holds for this session but no uploader shows now (an import
    done, a file dropped, anything a viewer sent to the upload endpoint); returns how many."""
    try:
        from streamlit.runtime import get_instance
        from streamlit.runtime.scriptrunner import get_script_run_ctx
        session_id, manager = get_script_run_ctx().session_id, get_instance().uploaded_file_mgr
    except Exception:  # no server runtime (an AppTest)
        return 0
    gone = set(getattr(manager, "file_storage", {}).get(session_id, {})) - set(keep)
    for file_id in gone:
        manager.remove_file(session_id, file_id)
    return len(gone)


# --- imported images -----------------------------------------------------------------------------------

def image_url(imagery, image_id: int, level: int) -> str:
    """Where the browser finds an image level: the server's media address, which stays the same while
    the image does, so a date step sends a short string, not the image again (deck.gl then neither
    fetches nor decodes it anew). Without a server runtime (an AppTest), a data URL."""
    png = imagery.png(image_id, level)
    try:
        from streamlit.runtime import exists, get_instance
        if exists():
            url = get_instance().media_file_mgr.add(png, "image/png", f"imagery-{int(image_id)}-{int(level)}")
            return under_base_path(url, st.get_option("server.baseUrlPath"))
    except Exception:  # a runtime without a media store: fall back to the bytes themselves
        pass
    from geo.render.imagery import data_url
    return data_url(png)


def under_base_path(url: str, base_path) -> str:
    """A server-absolute address (/media/...) as the browser must ask for it when the server runs
    under a path (server.baseUrlPath, e.g. a proxy serving the page at /dashboard/): Streamlit's own
    images add the prefix in the browser, but an address inside a map or HTML is used as written."""
    base = str(base_path or "").strip("/")
    return f"/{base}{url}" if base and url.startswith("/") and not url.startswith(f"/{base}/") else url


def image_controls(imagery, ss) -> None:
    """The sidebar's settings for imported images: which show, and how opaque."""
    if imagery is None or not len(imagery):
        return
    ss.setdefault("image_show", "month")
    ss.setdefault("image_opacity", 100)
    st.segmented_control("Images", list(IMAGE_SHOW), key="image_show", format_func=IMAGE_SHOW.get,
                         help="Of the month: images dated in the selected month. Latest: each place's latest "
                              "image on or before it.")
    st.slider("Image opacity", 0, 100, key="image_opacity", step=5, format="%d%%")


COMPARE_PIXELS = 600  # the before/after pair: the smallest level at least this wide
IMAGE_SHOW = {"month": "of the month", "latest": "latest by then"}


def image_places_buttons(found, ss) -> None:
    """Under an evidence panel: the places its images show, each opening its series."""
    for p in found.image_places:
        st.button(plain(f"Images of {p['name']}: {p['images']} — open the series"), key=f"series_open_{p['id']}",
                  icon=":material/photo_library:", on_click=lambda pid=p["id"]: compare.open_series(ss, pid))


def image_series(view, imagery, ss) -> None:
    """A place's images in date order with the claims of each date beside them (the image the map
    shows now marked; it follows the date control), and two of them side by side."""
    from geo.view import imagery as images
    place_id = ss.get("series")
    if not place_id or imagery is None:
        return
    places = view.data.places[view.data.places["id"] == place_id]
    if places.empty:
        return
    place = places.iloc[0]
    strip = images.series(imagery, place, view.prepared.claims, view.state.date, ss.get("image_show") or images.MONTH)
    with st.container(key="image_series", border=True):
        head = st.columns([6, 1], vertical_alignment="center")
        head[0].markdown(f"**Images of {plain(place['name'])}** ({len(strip)}), in date order")
        head[1].button("✕", key="series_close", help="Close the series", on_click=lambda: ss.update(series=None))
        if not strip:
            st.caption("No imported image holds this place.")
            return
        chosen = compare_controls(strip, ss) if len(strip) >= 2 else None  # first: the divider stays near the map
        cols = st.columns(min(len(strip), 4))
        for i, item in enumerate(strip):
            with cols[i % len(cols)], st.container(key=f"series_item_{item['id']}"):
                mark = " ◀ on the map" if item["on_map"] else ""
                st.image(imagery.png(item["id"], item["thumb_level"]), width="stretch")
                st.markdown(f"**{plain(item['date'])}**{mark}  \n{plain(item['credit'])}")
                if item["claims"]:
                    st.markdown("\n".join(f"- {plain(claim_words(c))}" for c in item["claims"]))
                else:
                    st.caption("No claim at this place dated in this image's month.")
        if chosen and ss.get("compare") != images.SWIPE:
            with st.container(key="series_compare"):
                side = st.columns(2)
                for col, item in zip(side, chosen):
                    level = images.level_for(imagery.row(item["id"])["levels"], COMPARE_PIXELS)
                    col.image(imagery.png(item["id"], level), caption=plain(item["credit"]), width="stretch")


COMPARE_WORDS = {"side": "side by side", "swipe": "swipe on the map"}


def compare_controls(strip: list[dict], ss) -> list[dict]:
    """Which two images of the series to compare, and how: side by side under the strip, or one over
    the other on the map with a divider between them (geo.page.compare keeps the keys valid).
    Returns the two strip items, before and after."""
    from geo.view import imagery as images
    words = {s["id"]: f"{s['date']} · {s['name']}" for s in strip}
    pair = st.columns([2, 2, 2])
    pair[0].selectbox("Before", list(words), key="series_before", format_func=lambda i: words.get(i, str(i)))
    pair[1].selectbox("After", list(words), key="series_after", format_func=lambda i: words.get(i, str(i)))
    pair[2].segmented_control("Compare", list(COMPARE_WORDS), key="compare", format_func=COMPARE_WORDS.get,
                              help="Side by side under the images, or one over the other on the map: the before "
                                   "image west of the divider, the after image east of it")
    chosen = [next(s for s in strip if s["id"] == ss[key]) for key in ("series_before", "series_after")]
    if ss.get("compare") == images.SWIPE:
        st.slider("Divider", 0, 100, key="series_divider", format="%d%%",
                  help="Where the divider stands across the two images, from their west edge")
        st.caption(plain(f"On the map, west of the divider: {chosen[0]['credit']}; east of it: {chosen[1]['credit']}."))
    return chosen


def claim_words(c: dict) -> str:
    value = f"{c['value']:,.0f}" if isinstance(c["value"], (int, float)) and c["value"] == c["value"] else str(c["value"])
    return f"{c['metric'].replace('_', ' ')}: {value} {c.get('unit') or ''} ({c['claimant']}, as of {c['as_of']}; {c['id']})"
def ship_detections(ss) -> None:
    """The detection parameters a person may change (geo.page.ships); detections are found again,
    once, for the new values."""
    ships.seed(ss)
    with st.expander("Ship detections in your tracks"):
        labels = {"ship_gap_hours": "AIS gap: no position for at least (hours)",
                  "ship_encounter_m": "Encounter: two vessels within (metres)",
                  "ship_encounter_hours": "Encounter: for at least (hours)"}
        for key, (_, _, low, high, step) in ships.FIELDS.items():
            st.number_input(labels[key], min_value=low, max_value=high, step=step, key=key)
        st.caption("Defaults: a gap of 12 h; an encounter within 500 m for 2 h, both below 2 knots, 10 km from any "
                   "port (Global Fishing Watch's published rule). Each detection's panel states its rule.")


def vessel_buttons(found, ss) -> None:
    """Under a detection's or a track's panel: open the card of each vessel it names; under a
    place's, the panel of each feature of the analyst's files it lists (under its marker)."""
    for i, feature in enumerate(getattr(found, "opens", None) or []):
        st.button(f"Open: {plain(feature['name'])}", key=f"open_here_{i}", icon=":material/place:",
                  on_click=lambda sel=feature["sel"]: ss.update(sel=dict(sel)))
    for i, vessel in enumerate(getattr(found, "vessels", None) or []):
        st.button(f"Vessel card: {plain(vessel['name'])}", key=f"vessel_card_{i}", icon=":material/directions_boat:",
                  on_click=lambda key=vessel["key"]: ss.update(sel={"kind": "vessel", "feature_id": key}))
