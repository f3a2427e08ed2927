"""Large track CSVs (millions of AIS or GPS positions), streamed in chunks with
pyarrow.csv.open_csv so memory stays a small multiple of the columns kept.

Only the columns a track needs (id, name, time, lon, lat) are read, as text, one block at a
time; coordinates become float64 arrays, ids dictionary-encoded (a pandas Categorical), and
times are parsed once the whole column is known, so day-first against month-first is still
decided by the whole column (geo.imports.dates rules). The result is the same tracks frame as the
ordinary path (track_id, name, t, lon, lat) except that it carries no shapely point per row
(its geometry is empty; lon/lat are the data), and the same rules apply: bad rows are
problems with their spreadsheet row number, strict fails on the first, and nothing is
returned until the whole file has been read.

Used when a CSV of at least STREAM_BYTES looks like tracks from its first rows (or is
imported as tracks).
"""
from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from geo.imports import coords, dates, readers, recognise
from geo.imports.filecheck import ImportProblem, Limits, sniff

STREAM_BYTES = 8 * 1024 * 1024
BLOCK_BYTES = 8 * 1024 * 1024
PARSE_ROWS = 500_000
HEAD_BYTES = 256 * 1024


def head_of(raw: bytes) -> bytes:
    head = raw[:HEAD_BYTES]
    return head[: head.rfind(b"\n") + 1] if len(raw) > HEAD_BYTES else head


def plan(raw: bytes, filename: str, opts) -> dict | None:
    """The columns to stream, from the file's first rows; None if it is not a track CSV."""
    if opts.kind not in (None, "tracks") or sniff(raw, filename) != "csv":
        return None
    head = head_of(raw)
    encoding = "utf8"
    try:
        head.decode("utf-8")
    except UnicodeDecodeError:
        encoding = "cp1252"
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return None
    try:
        sample = readers.load_csv(head, filename, Limits(), readers.ReadOptions(opts.coord_columns))
    except ImportProblem:
        return None
    if sample.coord_columns is None or sample.geometry is None:
        return None
    if opts.kind is None and recognise.guess_kind(sample, ["Point"], filename) != "tracks":
        return None
    low = {str(c).strip().lower(): c for c in sample.frame.columns}
    frame = recognise.by_lower(sample.frame)
    try:
        id_col, time_col, name_col = recognise.track_columns(frame, sample, filename,
                                                             recognise.KindOptions(opts.date_column, opts.dayfirst))
    except ImportProblem:
        return None
    delimiter = readers.sniff_delimiter(head.decode(encoding if encoding == "utf8" else "cp1252", errors="replace"))
    lon, lat = sample.coord_columns
    vessel = {ours: low[col] for ours, col in recognise.vessel_columns(frame.columns).items()}
    return {"id": low[id_col], "time": low[time_col], "name": low[name_col] if name_col else None, "lon": lon,
            "lat": lat, "vessel": vessel, "delimiter": delimiter, "encoding": encoding, "header": list(sample.frame.columns),
            "coord_how": sample.coord_how, "skip": sample.details.get("preamble_lines", 0)}


def worth_streaming(raw: bytes, filename: str, opts) -> bool:
    return len(raw) >= STREAM_BYTES and opts.kind in (None, "tracks")


def read_tracks(raw: bytes, filename: str, limits: Limits, opts, progress=None):
    """(tracks frame, Loaded with its warnings and problems), or None if this is not a track CSV."""
    cols = plan(raw, filename, opts)
    if cols is None:
        return None
    wanted = [c for c in dict.fromkeys((cols["id"], cols["name"], cols["time"], cols["lon"], cols["lat"],
                                        *cols["vessel"].values())) if c]
    vessel_parts: dict[str, list] = {ours: [] for ours in cols["vessel"]}
    invalid: list[tuple[int, str]] = []
    width = len(cols["header"])

    def on_invalid(row):
        if row.text.strip():
            invalid.append((row.number, f"{row.actual_columns} fields but the header has {width}"))
        else:
            invalid.append((row.number, ""))
        return "skip"

    try:
        reader = pacsv.open_csv(
            pa.BufferReader(raw),
            read_options=pacsv.ReadOptions(use_threads=False, block_size=BLOCK_BYTES, encoding=cols["encoding"],
                                           skip_rows=cols["skip"]),
            parse_options=pacsv.ParseOptions(delimiter=cols["delimiter"], ignore_empty_lines=False,
                                              invalid_row_handler=on_invalid),
            convert_options=pacsv.ConvertOptions(include_columns=wanted,
                                                 column_types={c: pa.string() for c in wanted},
                                                 strings_can_be_null=False, quoted_strings_can_be_null=False))
    except (pa.ArrowInvalid, pa.ArrowKeyError) as err:
        raise ImportProblem(filename, f"unreadable CSV: {str(err).splitlines()[0][:200]}") from None
    ids, names, times, lons, lats, empty_rows = [], [], [], [], [], []
    problems_at: dict[int, tuple[str, str]] = {}  # record index -> problem
    count = 0
    try:
        for batch in reader:
            n = batch.num_rows
            if count + n > limits.max_track_points:
                raise ImportProblem(filename, f"too many rows (limit {limits.max_track_points:,})")
            table = {name: batch.column(name) for name in wanted}
            stripped = {name: pc.utf8_trim_whitespace(col) for name, col in table.items()}
            blank = np.ones(n, dtype=bool)
            for col in stripped.values():
                blank &= (pc.equal(col, "").to_numpy(zero_copy_only=False))
            empty_rows.append(np.flatnonzero(blank) + count)
            for axis, store in (("lon", lons), ("lat", lats)):
                text = stripped[cols[axis]]
                number = to_float(text)
                store.append(number)
                for i in np.flatnonzero(~np.isfinite(number) & ~blank):
                    value = text[int(i)].as_py()
                    problems_at.setdefault(count + int(i), (cols[axis], f"{value!r} is not a number" if value else
                                                            "empty coordinate"))
            idc = stripped[cols["id"]]
            for i in np.flatnonzero(pc.equal(idc, "").to_numpy(zero_copy_only=False) & ~blank):
                problems_at.setdefault(count + int(i), (recognise_name(cols["id"]), "empty value"))
            ids.append(idc)
            if cols["name"]:
                names.append(stripped[cols["name"]])
            times.append(stripped[cols["time"]])
            for ours, column in cols["vessel"].items():
                vessel_parts[ours].append(stripped[column] if ours in ("mmsi", "imo") else to_float(stripped[column]))
            count += n
            if progress:
                progress(min(0.8, 0.8 * reader_position(raw, count, batch)))
    except pa.ArrowInvalid as err:
        raise ImportProblem(filename, f"unreadable CSV: {str(err).splitlines()[0][:200]}") from None
    if not count:
        raise ImportProblem(filename, "no usable tracks records")
    lon, lat = np.concatenate(lons), np.concatenate(lats)
    empty = np.concatenate(empty_rows) if empty_rows else np.array([], dtype=int)
    time_text = pa.chunked_array(times)
    warnings: list[str] = []
    dayfirst, note = time_order(time_text, cols["time"], opts.dayfirst)
    if note:
        warnings.append(note)
    t = np.empty(count, dtype="datetime64[ms]")
    time_problems: dict = {}
    time_notes: list[str] = []
    for start in range(0, count, PARSE_ROWS):
        piece = time_text.slice(start, PARSE_ROWS).to_pandas()
        rows = np.arange(start, start + len(piece))  # record indices, mapped to rows below
        out, _ = dates.parse_column(piece, rows, recognise_name(cols["time"]), time_problems, time_notes,
                                    dayfirst, "timestamp")
        t[start:start + len(piece)] = out.to_numpy()
        if progress:
            progress(0.8 + 0.15 * min(1.0, (start + len(piece)) / count))
    for note in dict.fromkeys(n for n in time_notes if "as asked" not in n):
        warnings.append(note)
    for record, problem in time_problems.items():
        problems_at.setdefault(record, problem)
    # coordinates outside lon/lat
    outside = np.isfinite(lon) & np.isfinite(lat) & ((np.abs(lon) > 180) | (np.abs(lat) > 90))
    for i in np.flatnonzero(outside)[:100_000]:
        column, message = (cols["lon"], f"lon {lon[i]:g} out of range (-180..180)") if abs(lon[i]) > 180 else \
            (cols["lat"], f"lat {lat[i]:g} out of range (-90..90)")
        problems_at.setdefault(int(i), (column, message))
    swapped = coords.swapped_note(sample_points(lon, lat)) if not opts.swap_axes else None
    if opts.swap_axes:
        lon, lat = lat, lon
        warnings.append("x and y swapped as asked (the file holds lat, lon)")
    elif swapped:
        warnings.append(swapped)
    # map record indices to spreadsheet rows: header is row 1; invalid lines take their own rows
    skipped_lines = np.array(sorted(n for n, _ in invalid), dtype=np.int64)
    record_rows = np.arange(count, dtype=np.int64) + 2 + cols["skip"]
    for line in skipped_lines:
        record_rows[record_rows >= line] += 1
    loaded = readers.Loaded(pd.DataFrame(), None, record_rows, "csv" if cols["delimiter"] != "\t" else "tsv", None,
                            warnings)
    loaded.coord_columns, loaded.coord_how = (cols["lon"], cols["lat"]), cols["coord_how"]
    for line, message in invalid:
        if message:
            loaded.problems[int(line)] = (None, message)
    keep = np.ones(count, dtype=bool)
    keep[empty] = False
    for record, problem in problems_at.items():
        if keep[record]:
            loaded.problems.setdefault(int(record_rows[record]), problem)
        keep[record] = False
    if cols["delimiter"] != ",":
        warnings.insert(0, f"delimiter {cols['delimiter']!r}")
    if cols["encoding"] != "utf8":
        warnings.insert(0, "decoded as Windows-1252 (cp1252): the file is not UTF-8")
    if cols["coord_how"] not in ("by name", "as asked"):
        warnings.append(f"coordinate columns {cols['lon']}/{cols['lat']} found {cols['coord_how']}")
    warnings.append(f"read in chunks ({count:,} rows)")
    loaded.details.update(date_column=recognise_name(cols["time"]), track_id_column=recognise_name(cols["id"]),
                          date_format=("day first" if dayfirst else "month first") if note else None,
                          source_columns=cols["header"], streamed=True)
    id_codes = pa.chunked_array(ids).dictionary_encode().combine_chunks()
    track = pd.Categorical.from_codes(id_codes.indices.to_numpy(zero_copy_only=False).astype(np.int32),
                                      categories=pd.Index(id_codes.dictionary.to_pylist(), dtype=object))
    if cols["name"]:
        name_codes = pa.chunked_array(names).dictionary_encode().combine_chunks()
        name = pd.Categorical.from_codes(name_codes.indices.to_numpy(zero_copy_only=False).astype(np.int32),
                                         categories=pd.Index(name_codes.dictionary.to_pylist(), dtype=object))
    else:
        name = track
    del ids, names, times, time_text
    index = np.flatnonzero(keep)
    order = index[np.lexsort((t[index], np.asarray(track.codes)[index]))] if len(index) else index
    vessel = {}
    if cols["vessel"]:
        text = {ours: pa.chunked_array(vessel_parts[ours]).to_pandas() for ours in ("mmsi", "imo") if ours in vessel_parts}
        numbers = {ours: np.concatenate(vessel_parts[ours]) for ours in ("sog", "cog") if ours in vessel_parts}
        values = recognise.vessel_values(pd.DataFrame({**text, **numbers}), {k: k for k in cols["vessel"]})
        vessel = {ours: pd.Categorical(values[ours][order]) if ours == "imo" else values[ours][order]
                  for ours in values}  # text as categories: a file of millions of positions has few vessels
        if cols["vessel"].get("mmsi") == cols["id"]:
            vessel["mmsi"] = sorted_categories(track.take(order))
    del vessel_parts
    frame = gpd.GeoDataFrame({
        "track_id": sorted_categories(track.take(order)), "name": sorted_categories(name.take(order)),
        "t": t[order], "lon": lon[order], "lat": lat[order], **vessel,
    }, geometry=gpd.GeoSeries(np.full(len(order), None, dtype=object), crs=coords.WGS84), crs=coords.WGS84)
    if progress:
        progress(1.0)
    return frame, loaded


def to_float(text: pa.Array) -> np.ndarray:
    """Text to float64, NaN where a cell is blank or not a number (pyarrow's cast when every cell
    is a number, pandas' lenient parse otherwise)."""
    try:
        return pc.cast(pc.if_else(pc.equal(text, ""), pa.scalar(None, pa.string()), text),
                       pa.float64()).to_numpy(zero_copy_only=False)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return pd.to_numeric(pd.Series(text.to_numpy(zero_copy_only=False)), errors="coerce").to_numpy(float)


def sorted_categories(values) -> pd.Categorical:
    cat = pd.Categorical(values) if not isinstance(values, pd.Categorical) else values
    return cat.reorder_categories(sorted(cat.categories)) if len(cat.categories) else cat


def recognise_name(column: str) -> str:
    return str(column).strip().lower()


def reader_position(raw: bytes, count: int, batch) -> float:
    """A fraction of the file read, estimated from the rows so far and their average width."""
    if not count:
        return 0.0
    average = max(1.0, batch.nbytes / max(1, batch.num_rows))
    return min(1.0, count * average / max(1, len(raw)))


def sample_points(lon: np.ndarray, lat: np.ndarray, n: int = 5000):
    import shapely
    step = max(1, len(lon) // n)
    x, y = lon[::step], lat[::step]
    ok = np.isfinite(x) & np.isfinite(y)
    return shapely.points(x[ok], y[ok])


def time_order(text: pa.ChunkedArray, column: str, dayfirst: bool | None) -> tuple[bool, str | None]:
    """Day first or month first for the whole column: the first value of each kind found anywhere
    decides, as geo.imports.dates.decide_order does for a column held in memory."""
    if dayfirst is not None:
        return dayfirst, f"column {recognise_name(column)}: dates read {'day' if dayfirst else 'month'} first, as asked"
    pattern = r"^(?P<a>\d{1,2})[/.\-](?P<b>\d{1,2})[/.\-]\d{2,4}"
    examples = []
    first = None
    for chunk in text.chunks:
        matched = pc.extract_regex(chunk, pattern)
        valid = matched.is_valid()
        if not pc.any(valid).as_py():
            continue
        a = pc.cast(pc.struct_field(matched, "a"), pa.int32())
        b = pc.cast(pc.struct_field(matched, "b"), pa.int32())
        if first is None:
            first = chunk.filter(valid)[0].as_py()
        for mask in (pc.greater(a, 12), pc.greater(b, 12)):
            mask = pc.fill_null(mask, False)
            if pc.any(mask).as_py():
                examples.append(chunk.filter(mask)[0].as_py())
    if first is None:
        return True, None
    found, note, _ = dates.decide_order([first] + examples, recognise_name(column))
    return found, note


