"""Large track CSVs, streamed in chunks."""
from __future__ import annotations


def worth_streaming(raw, filename, opts) -> bool:
    return False


def read_tracks(raw, filename, limits, opts, progress):
    return None
