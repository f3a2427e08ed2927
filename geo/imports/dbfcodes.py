"""The text encoding of a shapefile's attributes (.dbf): the .cpg's when it is there and right,
otherwise found from the bytes: UTF-8 first, then the code pages of this region, Windows-1251
(Russian, Ukrainian) and CP949 (Korean, a superset of EUC-KR). An analyst may name another
(`encoding`), and the preview always says which was used and why.

A .cpg is wrong when it names a single-byte code page but the text is valid UTF-8 with letters
beyond ASCII (exports that write UTF-8 and a stale .cpg), or when the bytes do not decode in it.
"""
from __future__ import annotations

import codecs
import re

from geo.imports.filecheck import ImportProblem

# .cpg spellings -> (Python codec, the name GDAL's recoding takes)
CPG_NAMES = {
    "utf8": "utf-8", "utf-8": "utf-8", "65001": "utf-8",
    "1251": "cp1251", "cp1251": "cp1251", "windows-1251": "cp1251", "ansi 1251": "cp1251", "win1251": "cp1251",
    "949": "cp949", "cp949": "cp949", "euc-kr": "cp949", "euckr": "cp949", "ks_c_5601-1987": "cp949",
    "1252": "cp1252", "cp1252": "cp1252", "windows-1252": "cp1252", "ansi 1252": "cp1252",
    "88591": "latin-1", "8859-1": "latin-1", "iso-8859-1": "latin-1", "iso8859-1": "latin-1", "latin1": "latin-1",
    "866": "cp866", "cp866": "cp866", "koi8-r": "koi8-r", "koi8r": "koi8-r", "koi8-u": "koi8-u",
}
GDAL_NAMES = {"utf-8": "UTF-8", "cp1251": "CP1251", "cp949": "CP949", "cp1252": "CP1252", "latin-1": "ISO-8859-1",
              "cp866": "CP866", "koi8-r": "KOI8-R", "koi8-u": "KOI8-U"}
HANGUL = re.compile(r"[\uac00-\ud7a3]")
CYRILLIC = re.compile(r"[\u0400-\u04ff]")


def codec_of(name: str) -> str | None:
    text = " ".join(name.strip().lower().split())
    if text in CPG_NAMES:
        return CPG_NAMES[text]
    try:
        return codecs.lookup(text).name.replace("_", "-")
    except LookupError:
        return None


def dbf_text(dbf: bytes) -> bytes:
    """The records part of a .dbf (after its header), where the text is."""
    if len(dbf) < 32:
        return b""
    start = int.from_bytes(dbf[8:10], "little")
    return dbf[start:start + 4 * 1024 * 1024]


def decodes(data: bytes, codec: str) -> str | None:
    try:
        return data.decode(codec)
    except (UnicodeDecodeError, LookupError):
        return None


def detect(data: bytes) -> str:
    """UTF-8 if the bytes are UTF-8; else CP949 when they read as Korean, else Windows-1251."""
    if decodes(data, "utf-8") is not None:
        return "utf-8"
    korean = decodes(data, "cp949")
    if korean is not None:
        beyond = [c for c in korean if ord(c) > 127]
        if beyond and len(HANGUL.findall(korean)) >= 0.7 * len(beyond):
            return "cp949"
    if decodes(data, "cp1251") is not None:
        return "cp1251"
    return "utf-8"  # GDAL replaces what it cannot decode; the note says it was a guess


def choose(dbf: bytes, cpg: str | None, asked: str | None, filename: str, shp_name: str) -> tuple[str | None, str | None]:
    """(the encoding name for GDAL, or None to leave GDAL's default, and a note for the preview)."""
    how = "choose another under 'Shapefile text encoding' on the page, or --encoding on the command line"
    if asked:
        codec = codec_of(asked)
        if codec is None or codec not in GDAL_NAMES:
            raise ImportProblem(filename, f"unknown encoding {asked!r}; use one of utf-8, cp1251, cp949, cp1252")
        return GDAL_NAMES[codec], f"{shp_name}: text decoded as {codec}, as asked"
    data = dbf_text(dbf)
    if not re.search(rb"[\x80-\xff]", data):
        return None, None  # ASCII: every encoding reads it alike
    declared = codec_of(cpg) if cpg and cpg.strip() else None
    utf8 = decodes(data, "utf-8") is not None
    if declared in GDAL_NAMES and decodes(data, declared) is not None and (declared == "utf-8" or not utf8):
        return GDAL_NAMES[declared], None
    found = detect(data)
    if cpg and cpg.strip():
        why = f"the .cpg says {cpg.strip()!r} but the text {'is UTF-8' if utf8 else 'does not read in it'}"
    else:
        why = "no .cpg"
    sample = decodes(data, found) or ""
    script = " (Korean)" if HANGUL.search(sample) else " (Cyrillic)" if CYRILLIC.search(sample) else ""
    return GDAL_NAMES[found], f"{shp_name}: text decoded as {found}{script}, detected ({why}); if names look wrong, {how}"
