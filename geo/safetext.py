"""Text from outside (file names, user names from a header, an exception's message) made safe to
show and to log: one line, read in the order it is stored.

Control characters (NUL, newline, carriage return, escape ...), the Unicode bidirectional
controls (a right-to-left override shows "gpj.exe" as "exe.jpg") and other invisible format
characters become visible escapes such as `\\x00`, `\\n` or `\\u202e`. A backslash is left as
it is: the escapes only have to make the text unforgeable, not reversible. Nothing else
changes, so names in any script read as they were given.
"""
from __future__ import annotations

import unicodedata

NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
BIDI = set("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def escape(text, limit: int | None = None) -> str:
    """`text` as one line with every control, bidirectional or format character escaped;
    cut to `limit` characters (with an ellipsis) when given."""
    text = "" if text is None else str(text)
    out = []
    for ch in text:
        if ch in NAMED:
            out.append(NAMED[ch])
        elif ch in BIDI or unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Zl", "Zp"):
            code = ord(ch)
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")
        else:
            out.append(ch)
    safe = "".join(out)
    if limit is not None and len(safe) > limit:
        safe = safe[: max(0, limit - 1)] + "…"
    return safe


def number(value: float, digits: int = 6) -> str:
    """A coordinate or measure for a message: never hundreds of digits, whatever its size."""
    try:
        value = float(value)
    except (TypeError, ValueError):
        return escape(value, 40)
    if value != value:
        return "not a number"
    if abs(value) >= 1e7 or (value and abs(value) < 1e-4):
        return f"{value:.{digits}g}"
    return f"{value:,.{digits}g}" if abs(value) < 1e6 else f"{value:,.0f}"


def plain_text_figures(draw):
    """Decorate a function that builds matplotlib figures so every text in them is drawn as
    given: a `$` in a file name or caption is a dollar sign, never mathematical markup (which
    fails on text such as `$x^_$`). Set for the whole process, never restored, so threads
    drawing at once cannot undo it for each other; nothing here wants mathtext."""
    import functools

    @functools.wraps(draw)
    def plain(*args, **kwargs):
        import matplotlib
        matplotlib.rcParams["text.parse_math"] = False
        return draw(*args, **kwargs)
    return plain
