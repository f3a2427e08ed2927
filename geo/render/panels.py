"""HTML fragments for the panels beside the map. Every value from data is escaped here.

Links are written only for http(s) URLs, and always open in a new tab without an opener.
"""
from __future__ import annotations

from html import escape

from geo import style
from geo.model.evidence import Evidence, metric_words
from geo.data.validate import URL_RE
from geo.view.legend import notes as legend_notes


def link(url: str, text: str) -> str:
    if not URL_RE.match(url or ""):
        return escape(text)
    return f'<a href="{escape(url, quote=True)}" target="_blank" rel="noopener noreferrer">{escape(text)}</a>'


def disputed_mark(disputed: bool, hidden: list[str] = ()) -> str:
    if not disputed:
        return ""
    note = (f' <span class="hidden-disputant">by {escape(", ".join(hidden))}, hidden by the filters</span>'
            if hidden else "")
    return (' <span class="disputed" title="Another claimant gave a different figure for the same metric within a '
            f'month">⚠ disputed</span>{note}')


def unverified_mark(claim: dict) -> str:
    return (' <span class="unverified" title="Not confirmed against a stored copy of its source">unverified</span>'
            if claim.get("verification") == "unverified" else "")


def capacity_mark(claim: dict) -> str:
    return ' <span class="capacity">(capacity estimate, not a count)</span>' if claim.get("capacity") else ""


def checked_line(claim: dict) -> str:
    """When and against what the row was read. An unverified row says that no stored copy confirmed
    it (and links the copy that was read, if any): never "checked against" what did not confirm it."""
    if not claim.get("checked"):
        return ""
    if claim.get("verification") == "unverified":
        read = f' (the copy read: {link(claim["checked_url"], "this page")})' if claim.get("checked_url") else ""
        return (f'<br/><span class="checked">unverified: looked for on {escape(claim["checked"])}, no stored copy '
                f'confirmed the figure, its hedge and dates{read}</span>')
    where = link(claim["checked_url"], "source copy") if claim.get("checked_url") else "its source"
    return f'<br/><span class="checked">checked {escape(claim["checked"])} against {where}</span>'


def dates_line(claim: dict) -> str:
    """The three dates: what the figure describes (as of), when the claimant said it, and when the
    cited report was first published; said and published are one phrase when they fall on one day."""
    said, published = claim.get("said") or claim["published"], claim["published"]
    when = (f'<span class="said">said and published {escape(published)}</span>' if said == published else
            f'<span class="said">said {escape(said)}</span> · <span class="published">published {escape(published)}</span>')
    return f'<span class="as-of">as of {escape(claim["as_of"])}</span> · {when}'


def claimant_dispute_line(claim: dict) -> str:
    """Two copies of one report credit different claimants: both are named, each with its copy."""
    if not claim.get("claimant_alt"):
        return ""
    first = link(claim.get("checked_url") or claim["url"], "one copy")
    other = link(claim.get("alt_url", ""), "another copy")
    return (f'<br/><span class="claimant-disputed">claimant disputed between summaries: '
            f'{escape(claim["claimant"])} in {first}, {escape(claim["claimant_alt"])} in {other}</span>')


def claim_item(claim: dict, disputed: bool = False, opened: bool = False, hidden: list[str] = ()) -> str:
    restates = (f' <span class="restates">(restates {escape(claim["restates"])})</span>'
                if claim.get("restates") else "")
    return (f'<li class="claim{" opened-claim" if opened else ""}" data-claim="{escape(claim["id"], quote=True)}"><b>{escape(claim["value"])}</b>{capacity_mark(claim)}{disputed_mark(disputed, hidden)}'
            f'{unverified_mark(claim)}{restates}'
            f' <span class="basis">[{escape(claim["basis"])}]</span><br/>'
            f'{escape(claim["claimant"])} · {dates_line(claim)}{claimant_dispute_line(claim)}<br/>'
            f'<span class="attribution">{escape(claim.get("attribution", ""))}</span> · '
            f'<span class="outlet">{link(claim["url"], claim["outlet"])}</span>'
            f'<br/><span class="note">{escape(claim["note"])}</span>{checked_line(claim)}{file_line(claim)}</li>')


def file_line(claim: dict) -> str:
    """An imported claim names the analyst's file it came from: never mistaken for a bundled row."""
    return (f'<br/><span class="your-file">from your file {escape(claim["source_file"])}</span>'
            if claim.get("source_file") else "")


def image_figure(item: dict, src: str) -> str:
    """A thumbnail of an imported image with its date and credit line (all text escaped)."""
    return (f'<figure class="image-thumb" data-image="{escape(str(item["id"]), quote=True)}">'
            f'<img src="{escape(src, quote=True)}" alt="{escape(item["name"], quote=True)}"/>'
            f'<figcaption>{escape(item["name"])}<br/>{escape(item["credit"])}</figcaption></figure>')


def derived_item(text: str) -> str:
    """What the analyst's own tracks give beside a claim: set apart, and never a figure of the claim."""
    return f'<li class="derived" data-testid="derived">{escape(text)}</li>'


def facts_table(facts) -> str:
    rows = "".join(f'<tr><th>{escape(label)}</th><td>{escape(value)}</td></tr>' for label, value in facts)
    return f'<table class="facts" data-testid="facts">{rows}</table>'


def evidence_panel(ev: Evidence, opened: str = "", thumb_url=None) -> str:
    """The claims and events behind a feature; `opened`, a claim opened from a link or the table,
    stands first, marked, and again in its place in the list. Beside a claim that counts calls or
    voyages, what the imported tracks give for the same ports and period (ev.derived), apart.
    `thumb_url(image_id, level)` gives the address of an image's thumbnail (without it, images
    are listed by name)."""
    parts = [f'<div class="evidence" data-testid="evidence-panel"><h4>{escape(ev.title)}</h4>']
    if ev.note:
        parts.append(f'<p class="evidence-note"><i>{escape(ev.note)}</i></p>')
    if ev.images:
        parts.append('<div class="image-thumbs" data-testid="evidence-images">')
        parts += [image_figure(i, thumb_url(i["id"], i["level"])) if thumb_url else
                  f'<p>{escape(i["name"])}: {escape(i["credit"])}</p>' for i in ev.images]
        parts.append("</div>")
    for p in ev.image_places:
        parts.append(f'<p class="image-place" data-place="{escape(p["id"], quote=True)}">Images of '
                     f'{escape(p["name"])}: {p["images"]}</p>')
    first = next((c for c in ev.claims if c["id"] == opened), None)
    if first is not None:
        parts.append(f'<p><b>Claim {escape(opened)}</b></p><ul class="opened">'
                     f'{claim_item(first, first["id"] in ev.disputed, True, ev.hidden_disputants.get(opened, []))}'
                     f'{derived_item(ev.derived[opened]) if opened in ev.derived else ""}</ul>')
    if ev.description:
        parts.append(f"<p>{escape(ev.description)}</p>")
    if ev.facts:
        parts.append(facts_table(ev.facts))
    if ev.source_url:
        parts.append(f"<p>Source: {link(ev.source_url, ev.source_url)}</p>")
    for heading, lines in ev.cited:
        parts.append(f'<p><b>{escape(heading)}</b></p><ul class="cited">')
        parts += [f'<li>{escape(line["text"])}' + (f' · <span class="outlet">{link(line.get("url", ""), line["outlet"])}</span>'
                                                   if line.get("outlet") else "") +
                  (f'<br/><span class="note">{escape(line["note"])}</span>' if line.get("note") else "") + "</li>"
                  for line in lines]
        parts.append("</ul>")
    for heading, lines in ev.sections:
        parts.append(f'<p><b>{escape(heading)}</b></p><ul class="section">')
        parts += [f"<li>{escape(line)}</li>" for line in lines]
        parts.append("</ul>")
    if ev.claims:
        parts.append(f"<p><b>{escape(ev.claims_heading or f'{len(ev.claims)} claim(s) known by this date')}</b></p><ul>")
        metric = None
        for claim in ev.claims:
            if claim["metric"] != metric:
                metric = claim["metric"]
                parts.append(f'<li class="metric">{escape(metric_words(metric))}</li>')
            parts.append(claim_item(claim, claim["id"] in ev.disputed, claim["id"] == opened,
                                    ev.hidden_disputants.get(claim["id"], [])))
            if claim["id"] in ev.derived:
                parts.append(derived_item(ev.derived[claim["id"]]))
        parts.append("</ul>")
    elif ev.no_claims is None:
        parts.append("<p>No claim behind this feature is known by this date (or the filters hide them).</p>")
    elif ev.no_claims:
        parts.append(f"<p>{escape(ev.no_claims)}</p>")
    if ev.voyages:
        parts.append("<p><b>Imported tracks along this leg</b></p><ul>")
        parts += [f'<li>{escape(v["name"])}: {v["n_points"]:,} positions within 10 km, '
                  f'{escape(v["first"])} to {escape(v["last"])}</li>' for v in ev.voyages]
        parts.append("</ul>")
    if ev.events:
        parts.append("<p><b>Events here</b></p><ul>")
        parts += [f'<li>{escape(e["date"])}: {link(e["url"], e["title"])}</li>' for e in ev.events]
        parts.append("</ul>")
    parts.append("</div>")
    return "".join(parts)


def who_line(c: dict, group_by: str) -> str:
    """The claimant; grouped by government, the government with the agency in smaller type."""
    if group_by == "government":
        agency = f' <small class="agency">{escape(c["agency"])}</small>' if c.get("agency") else ""
        return f'{link(c["url"], c["government"])}{agency}'
    return link(c["url"], c["claimant"])


def headline_panel(figures: dict[str, list[dict]], group_by: str = "organisation",
                   filtered_out: set = frozenset()) -> str:
    """The standing figures; a figure whose claims the filters hide says so (`filtered_out`), and
    where one figure mixes metrics each row names its own."""
    parts = [f'<div class="headline" data-testid="headline" data-group-by="{escape(group_by, quote=True)}">']
    for label, claims in figures.items():
        parts.append(f"<h5>{escape(label)}</h5>")
        if not claims:
            parts.append('<p class="none">' + ("none under these filters (claims exist: clear the filters to see them)"
                                               if label in filtered_out else "no claim yet") + "</p>")
            continue
        mixed = len({c["metric"] for c in claims}) > 1
        parts.append("<ul>")
        for c in claims:
            capacity = " (capacity estimate, not a count)" if c.get("capacity") or c["basis"].startswith("capacity") \
                else ""
            what = (f' <span class="metric-name">{escape(metric_words(c["metric"]))}</span>'
                    if mixed else "")
            parts.append(f'<li><b>{escape(c["value"])}</b>{what}{escape(capacity)}'
                         f'{disputed_mark(c["disputed"], c.get("hidden_disputants", []))}<br/>'
                         f'<span class="who">{who_line(c, group_by)}, as of {escape(c["as_of"])}</span></li>')
        parts.append("</ul>")
    parts.append("</div>")
    return "".join(parts)


def mark(css: str) -> str:
    """A legend symbol: an empty inline box drawn by its CSS."""
    return f'<span class="swatch" style="display:inline-block;vertical-align:middle;{css}"></span>'


def rgb_css(rgb, alpha=None) -> str:
    return f"rgb({rgb[0]},{rgb[1]},{rgb[2]})" if alpha is None else f"rgba({rgb[0]},{rgb[1]},{rgb[2]},{alpha})"


def swatch(rgb, dash=False, width=4) -> str:
    return mark(f"width:28px;border-top:{width}px {'dashed' if dash else 'solid'} {rgb_css(rgb)}")


def arc(rgb) -> str:
    return mark(f"width:24px;height:10px;border:3px solid {rgb_css(rgb)};border-bottom:none;"
                "border-radius:14px 14px 0 0")


def dot(rgb, ring=False, fill=None) -> str:
    """A filled dot, or (ring) a pale disc with a coloured rim, as the railcar markers are drawn."""
    rim = f"2px solid {rgb_css(rgb)}" if ring else "1px solid #222"
    return mark(f"width:11px;height:11px;border-radius:50%;border:{rim};"
                f"background:{fill or rgb_css(rgb, 0.35 if ring else 1)}")


def area(rgb) -> str:
    return mark(f"width:16px;height:11px;background:{rgb_css(rgb, 0.3)};border:2px solid {rgb_css(rgb)}")


def band(rgb) -> str:
    return mark(f"width:28px;height:10px;background:{rgb_css(rgb)}")  # opaque, as the map draws it


def legend_mark(entry) -> str:
    rgb = entry.rgb
    if entry.symbol == "line":
        return swatch(rgb, dash=entry.dashed, width=2 if entry.width == "hairline" else 5)
    if entry.symbol == "gap":  # a dark stretch in the imported tracks: dashed, inferred
        return swatch(rgb, dash=True, width=2)
    if entry.symbol == "band":
        return band(rgb)
    if entry.symbol == "arc":
        return arc(rgb)
    if entry.symbol == "ring":
        return dot(rgb, ring=True)
    if entry.symbol == "marker":
        return dot((30, 30, 30), fill="#fff")
    if entry.symbol in ("area", "image"):
        return area(rgb)
    return dot(rgb)


def legend(entries, place=None) -> str:
    """The legend of a geo.view.MapView: one row per symbol the map draws right now. With `place`
    (geo.render.labels.LegendPlace) it floats in that corner of the map, exactly that wide and at
    most that high (what does not fit scrolls), folded to its title where the place says so;
    without, it stands in the page's flow (the presenter's, beside the map)."""
    items = "".join(f'<li data-symbol="{escape(e.symbol)}">{legend_mark(e)} {escape(e.label)}</li>' for e in entries)
    if not items:
        items = "<li>nothing drawn: every layer is off or empty on this date</li>"
    notes = legend_notes(entries)
    note = f'<p class="legend-note">{" ".join(notes)}</p>' if notes else ""
    corner, size, opened = "ne", "", " open"
    if place is not None:
        corner, opened = place.corner, " open" if place.open else ""
        size = f' style="width: {place.width}px; max-height: {place.height}px"'
    return (f'<details class="legend legend-{escape(corner)}" data-testid="legend"{size}{opened}>'
            f'<summary>Legend</summary><ul>{items}</ul>{note}</details>')


APP_CSS = """
.evidence, .headline, .legend { font-size: 0.9rem; line-height: 1.35; }
.image-thumb { margin: 0.3rem 0; } .image-thumb img { max-width: 100%; max-height: 180px; border: 1px solid #999; }
.image-thumb figcaption, .series-claims { font-size: 0.8rem; color: #444; }
.evidence ul, .headline ul { padding-left: 1rem; margin: 0.2rem 0 0.6rem; }
[data-testid="stMainBlockContainer"] { padding: 1.2rem 1.5rem 2rem; }
h1 { font-size: 1.9rem !important; padding: 0 0 0.2rem !important; }
.evidence li.metric { list-style: none; margin: 0.6rem 0 0.2rem -1rem; font-weight: 600; }
.headline .metric-name { color: #555; font-size: 0.85em; }
.evidence .note, .evidence .basis, .headline .who, .hidden-disputant { color: #555; font-size: 0.85em; }
.disputed { color: #b35900; font-weight: 600; white-space: nowrap; }
.unverified { color: #7a1f1f; font-weight: 600; white-space: nowrap; }
.evidence .capacity, .evidence .checked, .evidence .attribution, .headline .agency { color: #555; font-size: 0.85em; }
.headline h5 { margin: 0.5rem 0 0; }
.evidence li.opened-claim { background: #fff3c4; outline: 2px solid #e0a800; padding: 0.1rem 0.2rem; }
/* The evidence panel scrolls inside the window, so its whole box stays on screen. */
.evidence { max-height: calc(100vh - 240px); overflow-y: auto; padding-right: 0.4rem; }
/* The legend floats in the map corner where it hides no name and not the scale bar (geo.render.labels.legend_place). */
.st-key-map_box { position: relative; }
.st-key-map_box [data-testid="stElementContainer"]:has(.legend) {
  position: absolute; right: 10px; top: 10px; z-index: 5; width: auto !important; }
/* Exactly as wide and at most as high as geo.render.labels.legend_place worked out: what does not fit scrolls. */
/* Its own compositing layer: a scrolling legend at a fractional page offset otherwise rasterises its text a
   pixel higher or lower from one load to the next. */
.st-key-map_box .legend { box-sizing: border-box; overflow-y: auto; will-change: transform; }
.st-key-map_box [data-testid="stElementContainer"]:has(.legend-nw, .legend-sw) { right: auto; left: 10px; }
/* Streamlit's markdown box stops a rem short of its last block, the legend: a rem of margin under the legend
   keeps the whole legend inside its box (else a short legend loses its last row), wherever it stands. */
.st-key-map_box .legend { margin-bottom: 1rem; }
.st-key-map_box [data-testid="stElementContainer"]:has(.legend-se, .legend-sw) { top: auto; bottom: 10px; }
.legend { background: rgba(255,255,255,0.92); border: 1px solid #bbb; border-radius: 4px; padding: 0.3rem 0.5rem;
  font-size: 0.74rem; line-height: 1.25; }
.legend ul { list-style: none; padding: 0; margin: 0; columns: 1; }
.legend summary { font-weight: 600; cursor: pointer; }
.legend .legend-note { margin: 0.2rem 0 0; color: #444; white-space: normal; max-width: 26rem; }
.legend li { white-space: normal; break-inside: avoid; }
.legend .swatch { margin-right: 0.3rem; }
.st-key-controls, .st-key-notices:empty { display: none; }
.events-list .no-place { color: #555; font-style: italic; }
/* What the analyst's own tracks give: never a claim, so never drawn like one. */
.evidence li.derived { list-style: none; margin: 0.15rem 0 0.5rem; padding: 0.2rem 0.4rem; background: #eef4fa;
  border-left: 3px solid #0072b2; font-size: 0.85em; color: #123; }
.evidence .evidence-note { color: #444; margin: -0.2rem 0 0.4rem; }
.evidence table.facts { border-collapse: collapse; margin: 0.2rem 0 0.6rem; font-size: 0.85rem; }
.evidence table.facts th { text-align: left; font-weight: 600; padding: 0.1rem 0.6rem 0.1rem 0; vertical-align: top;
  white-space: nowrap; color: #333; }
.evidence table.facts td { padding: 0.1rem 0; }
/* On paper the page is one long sheet: the evidence panel and the page's own scroll boxes stop scrolling,
   so every claim of an open panel is printed, not only those in view; the sidebar and toolbar stay off it. */
@media print {
  .evidence { max-height: none !important; overflow: visible !important; }
  .evidence li { break-inside: avoid; }
  html, body, .stApp, [data-testid="stAppViewContainer"], [data-testid="stMain"], [data-testid="stMainBlockContainer"] {
    height: auto !important; max-height: none !important; overflow: visible !important; }
  [data-testid="stSidebar"], [data-testid="stHeader"], [data-testid="stToolbar"], [data-testid="stDecoration"] {
    display: none !important; }
}
"""

# Presenter mode: no sidebar, large type, high contrast, the map filling the window below one title bar.
PRESENT_CSS = """
[data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"], [data-testid="stExpandSidebarButton"] { display: none !important; }
[data-testid="stMainBlockContainer"] { padding: 0.6rem 1.2rem 0; }
html, body, [data-testid="stMarkdownContainer"] { font-size: 19px; color: #000; }
h1 { font-size: 1.9rem !important; padding: 0 !important; }
[data-testid="stTabs"] [role="tablist"] { display: none; }
[data-testid="stTabs"], [data-testid="stTabs"] > div { gap: 0 !important; }
[data-testid="stTabs"] [role="tabpanel"] { padding: 0 !important; margin: 0 !important; }
.scene-caption { font-size: 1.15rem; max-width: 80rem; margin: 0; line-height: 1.45; min-height: 2.9em; }
.headline h5 { font-size: 1.2rem; }
.legend { font-size: 0.8rem; }
.legend ul { columns: 1; }
.legend li { white-space: normal; }
.legend .legend-note { display: none; }
"""


def page_style(present: bool) -> str:
    return f"<style>{APP_CSS}{PRESENT_CSS if present else ''}</style>"


def scene_caption(caption: str) -> str:
    return f'<p class="scene-caption">{escape(caption)}</p>'
