"""Text files as analysts get them: a CSV's preamble (comment lines, titles, blank lines above
the header) found and skipped, and newline-delimited GeoJSON (GeoJSONSeq, RFC 8142, with or
without the record separator) read as features.

Only the first HEAD characters are looked at to find a preamble, and GeoJSONSeq is read line by
line, so both cost time in proportion to the file.
"""
from __future__ import annotations

import csv
import io
import json
from collections import Counter
from dataclasses import dataclass

HEAD = 65536
COMMENT_MARKS = ("#", "//")


@dataclass
class Preamble:
    lines: int = 0  # physical lines above the header
    comments: bool = False  # the file marks comments with COMMENT_MARKS: skip such lines below the header too
    titles: int = 0  # title lines (not comments, not blank) among them

    def note(self) -> str | None:
        if not self.lines:
            return None
        what = []
        if self.comments:
            what.append("comment lines")
        if self.titles:
            what.append(f"{self.titles} title line{'s' if self.titles > 1 else ''}")
        return (f"skipped {self.lines} line{'s' if self.lines > 1 else ''} above the header "
                f"({' and '.join(what) or 'blank lines'}); the header is line {self.lines + 1}")


def is_comment(line: str) -> bool:
    return line.lstrip().startswith(COMMENT_MARKS)


def find_preamble(text: str, delimiter: str) -> Preamble:
    """Lines above the header: comments (#, //), blank lines, and title lines with fewer fields
    than the table's rows below them."""
    head = text[:HEAD]
    lines = head.split("\n")
    if len(text) > HEAD:
        lines = lines[:-1]  # the last one may be cut
    lines = lines[:200]
    widths = []
    for line in lines:
        if not line.strip() or is_comment(line):
            widths.append(0)
            continue
        widths.append(len(next(csv.reader([line], delimiter=delimiter), [])))
    counted = Counter(w for w in widths if w > 1)
    width = max(counted, key=lambda w: (counted[w], w)) if counted else 1
    out = Preamble()
    for i, (line, w) in enumerate(zip(lines, widths)):
        if w > width / 2:  # the header (a header a field short of its rows is still the header)
            break
        if not line.strip():
            continue
        if is_comment(line):
            out.comments = True
        elif w < width:
            out.titles += 1
    else:
        return Preamble()
    out.lines = i
    return out


def skip_lines(text: str, count: int) -> io.StringIO:
    """The text as a stream positioned after its first `count` lines."""
    stream = io.StringIO(text, newline="")
    for _ in range(count):
        stream.readline()
    return stream


# --- GeoJSONSeq ------------------------------------------------------------------------------------

RS = b"\x1e"


def is_geojsonseq(raw: bytes) -> bool:
    """One GeoJSON object per line (or after each record separator), not one document."""
    head = raw[:HEAD].lstrip(b"\xef\xbb\xbf").lstrip()
    if head.startswith(RS):
        return True
    if not head.startswith(b"{"):
        return False
    first, _, rest = head.partition(b"\n")
    try:
        doc = json.loads(first)
    except ValueError:
        return False
    return isinstance(doc, dict) and doc.get("type") in ("Feature", "Point", "LineString", "Polygon", "MultiPoint",
                                                        "MultiLineString", "MultiPolygon", "GeometryCollection") \
        and rest.strip().startswith((b"{", RS))


def geojsonseq_records(raw: bytes):
    """(line number, feature dict or None, problem or None) for every non-blank record."""
    text = raw.decode("utf-8-sig", errors="replace")
    for number, line in enumerate(text.split("\n"), start=1):
        line = line.strip().lstrip("\x1e").strip()
        if not line:
            continue
        try:
            doc = json.loads(line)
        except ValueError as err:
            yield number, None, f"not JSON ({str(err).splitlines()[0][:80]})"
            continue
        if not isinstance(doc, dict):
            yield number, None, "not a GeoJSON object"
            continue
        if doc.get("type") != "Feature":
            doc = {"type": "Feature", "properties": {}, "geometry": doc}
        yield number, doc, None


def without_comments(text: str) -> str:
    """The head of the text without comment and blank lines (for sniffing the delimiter)."""
    return "\n".join(l for l in text[:HEAD].split("\n") if l.strip() and not is_comment(l))
