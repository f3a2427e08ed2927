"""Text from links, files, file contents and user names reaches the page through here, as text.

Streamlit reads the strings of st.warning, st.error, st.caption and st.markdown as Markdown: a
link parameter such as `[Sign in again](https://ev.il/x)` or a bare address would become a live
link, `**x**` bold, `:material/x:` an icon and `$x$` mathematics. `plain` escapes every character
Markdown gives a meaning to, so the reader sees exactly the characters that came in. HTML built
by geo.render.panels escapes with html.escape instead.
"""
from __future__ import annotations

import re

from geo.safetext import escape

MARKDOWN = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:&=])")


# Markdown turns bare addresses into links even when their characters are escaped (GFM's autolinks:
# https://…, www.…, a@b.c): an invisible zero-width space where each would start keeps them text.
AUTOLINK = re.compile(r"(?<=:)(?=//)|(?i:(?<=www))(?=\.)|(?=@)")


def plain(text) -> str:
    """`text` for Streamlit's Markdown, to be read as written: one line, nothing interpreted."""
    return MARKDOWN.sub(r"\\\1", AUTOLINK.sub("\u200b", escape(text)))
