"""What a loaded file is: claims, events, places, front (dated snapshots), tracks or generic,
and the normaliser that turns its records into that kind's frame.

Our own tables (claims, places, events) are checked by the very code that checks the
bundled data (geo.data.validate.parse_table), so an imported claim is held to exactly the rules
of a bundled one; dates in other shapes are first read by geo.imports.dates and written as ISO.
ACLED and UCDP-GED exports map onto our events. Tracks are points with an id (track_id,
mmsi, imo, vessel, id_track, train, ...) and a time (t, timestamp, date_add, ... or a column
whose values are dates with times), split by that id.
"""
from __future__ import annotations

import functools

import re
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.data import claims, dataset, schema, validate
from geo.imports import dates, frontlayers, names
from geo.imports.coords import WGS84, present_mask
from geo.imports.filecheck import ImportProblem
from geo.imports.names import find_column, norm
from geo.imports.readers import Loaded

TRACK_ID_NAMES = ("track_id", "id_track", "trackid", "track", "mmsi", "imo", "vessel_id", "id_vessel", "vesselid",
                  "vessel", "ship_id", "ship", "train_id", "train", "train_no", "train_number", "callsign")
TRACK_TIME_NAMES = ("t", "time", "timestamp", "datetime", "date_time", "basetimeutc", "basedatetime", "time_utc",
                    "utc", "date_add", "date_added", "position_time", "ts", "fix_time", "gps_time", "date")
TRACK_NAME_NAMES = ("name", "vesselname", "vessel_name", "ship_name", "shipname", "train_name")
FRONT_DATE_NAMES = ("as_of", "as_of_date", "snapshot_date", "snapshot", "date", "valid_on", "datetime")
DATE_NAMES = ("date", "as_of", "event_date", "timestamp", "time", "datetime", "when", "begin", "date_start")
NAME_NAMES = ("name", "title", "label", "id")


@dataclass(frozen=True)
class KindOptions:
    """What the analyst may choose instead of what was found."""

    date_column: str | None = None
    dayfirst: bool | None = None


def columns_lower(columns) -> set[str]:
    return {str(c).strip().lower() for c in columns}


def required(table: schema.Table) -> set[str]:
    return {c.name for c in table.columns if c.required}


def track_time_column(frame: pd.DataFrame, id_col: str | None = None, exclude=()) -> str | None:
    named = find_column([c for c in frame.columns if c not in exclude and c != id_col], TRACK_TIME_NAMES) or \
        names.date_column_by_name(frame.columns, tuple(exclude) + (id_col,))
    if named is not None:
        return named
    for column in frame.columns:
        if column in exclude or column == id_col or frame[column].dtype.kind in "if":
            continue
        if pd.api.types.is_datetime64_any_dtype(frame[column]):
            return column
        if frame[column].dtype == object and dates.looks_like_dates(frame[column]):
            return column
    return None


def guess_kind(loaded: Loaded, geom_types: list[str], filename: str) -> str:
    columns = loaded.frame.columns
    cols = columns_lower(columns)
    if required(schema.IMPORTED_CLAIMS) <= cols:
        return "claims"
    if {"id", "name", "kind", "lon", "lat", "country", "precision"} <= cols:
        return "places"
    if {"id", "date", "title", "kind"} <= cols or event_source(cols):
        return "events"
    has_points = bool(geom_types) and set(geom_types) <= {"Point"}
    if has_points:
        id_col = find_column(columns, TRACK_ID_NAMES)
        if id_col is not None and track_time_column(loaded.frame.head(500), id_col, loaded.coord_columns or ()):
            return "tracks"
    shapes = {"Polygon", "MultiPolygon", "LineString", "MultiLineString"}
    if geom_types and set(geom_types) & shapes and \
            (find_column(columns, FRONT_DATE_NAMES) or names.date_column_by_name(columns) or
             dates.date_from_name(filename)):
        return "front"
    return "generic"


def event_source(cols: set[str]) -> str | None:
    if {"event_date", "latitude", "longitude"} <= cols and ({"event_id_cnty", "event_type"} & cols):
        return "acled"
    if {"date_start", "latitude", "longitude"} <= cols and ({"best", "source_article", "id"} & cols):
        return "ucdp"
    if {"id", "date", "title", "kind"} <= cols:
        return "events"
    return None


def text(value) -> str:
    if value is None or value is pd.NA or value is pd.NaT or (isinstance(value, float) and np.isnan(value)):
        return ""
    return str(value).strip()


def by_lower(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.rename(columns={c: str(c).strip().lower() for c in frame.columns if c != "geometry"})


def drop_problem_rows(frame: gpd.GeoDataFrame, loaded: Loaded) -> gpd.GeoDataFrame:
    bad = np.isin(loaded.rows, list(loaded.problems)) if loaded.problems else np.zeros(len(frame), bool)
    return frame[~bad]


def need_geometry(frame: gpd.GeoDataFrame, loaded: Loaded, what: str = "geometry") -> None:
    missing = frame.geometry.isna().to_numpy() | frame.geometry.is_empty.to_numpy()
    coords = loaded.coord_columns
    for i in np.flatnonzero(missing):
        column = coords[0] if coords else "geometry"
        loaded.problems.setdefault(int(loaded.rows[i]), (column, f"no {what}"))


def iso_dates(values: pd.Series, rows, column: str, loaded: Loaded, opts: KindOptions) -> pd.Series:
    """Non-ISO dates rewritten as YYYY-MM-DD, so validate.parse_cell (the bundled data's rule)
    reads them; a value that is no date at all is left for parse_cell to refuse."""
    raw = values.map(text)
    odd = (raw != "") & ~raw.str.fullmatch(r"\d{4}-\d{2}-\d{2}")
    if not odd.any():
        return raw
    scratch: dict = {}
    parsed = dates.parse_dates(raw[odd], np.asarray(rows)[odd.to_numpy()], column, scratch, loaded.warnings,
                               opts.dayfirst)
    ok = parsed.notna()
    out = raw.copy()
    out[parsed.index[ok]] = parsed[ok].dt.strftime("%Y-%m-%d")
    return out


@functools.lru_cache(maxsize=4)
def _reference_ids(data_dir: str, stamp: tuple) -> tuple[frozenset, frozenset]:
    places, routes = dataset.reference_ids(data_dir)
    return frozenset(places), frozenset(routes)


def bundled_reference_ids() -> tuple[frozenset, frozenset]:
    """The bundled place and route ids, reread when those files change."""
    folder = Path(dataset.DATA_DIR)
    stamp = tuple((folder / f).stat().st_mtime_ns if (folder / f).exists() else 0
                  for f in (schema.PLACES.filename, schema.ROUTES.filename, schema.FLOWS.filename))
    return _reference_ids(str(folder), stamp)


@functools.lru_cache(maxsize=4)
def _claim_registry(data_dir: str, stamp: tuple) -> tuple[tuple[dict, ...], frozenset, tuple[dict, ...]]:
    metrics, ids, claimants = dataset.claim_registry(data_dir)
    return tuple(metrics), frozenset(ids), tuple(claimants)


def bundled_claim_registry() -> tuple[tuple[dict, ...], frozenset, tuple[dict, ...]]:
    """The bundled metrics and claimants (for the claim rules) and claim ids (which an import may not reuse)."""
    folder = Path(dataset.DATA_DIR)
    stamp = tuple((folder / f).stat().st_mtime_ns if (folder / f).exists() else 0
                  for f in (schema.METRICS.filename, schema.CLAIMS.filename, schema.CLAIMANTS.filename))
    return _claim_registry(str(folder), stamp)


def schema_kind(frame: gpd.GeoDataFrame, loaded: Loaded, filename: str, table: schema.Table,
                opts: KindOptions, rules=None) -> gpd.GeoDataFrame:
    """Our own tables (claims, places, events): every cell checked by validate.parse_table, as
    the bundled files are (duplicate ids included)."""
    frame = by_lower(frame)
    missing = [c.name for c in table.columns if c.required and c.name not in frame.columns]
    if missing:
        raise ImportProblem(filename, f"not a {table.name} table: missing column(s) {', '.join(missing)}", 1)
    cells = {}
    for column in table.columns:
        if column.name not in frame.columns:
            continue
        if column.kind == "date":
            cells[column.name] = iso_dates(frame[column.name], loaded.rows, column.name, loaded, opts).tolist()
        else:
            cells[column.name] = frame[column.name].map(text).tolist()
    names = list(cells)
    records = [dict(zip(names, values)) for values in zip(*(cells[n] for n in names))] if names else []
    raw = validate.RawTable(table, records, [int(r) for r in loaded.rows], [])
    parsed, problems = validate.parse_table(raw, filename)
    # The same cross-file check as the bundled data's: a place or leg the map cannot find is a bad row.
    places, routes = bundled_reference_ids()
    problems += validate.reference_problems(table, parsed, raw.rows, filename, places, routes)
    if rules is not None:  # the table's own rules, as the bundled data is held to them
        problems += rules(parsed, raw.rows, filename)
    for problem in problems:
        loaded.problems.setdefault(int(problem.row), (problem.column, problem.message))
    typed = {c.name: [record.get(c.name) for record in parsed] for c in table.columns}
    out = pd.DataFrame(typed, index=frame.index)
    for column in table.columns:
        if column.kind == "date":
            out[column.name] = pd.to_datetime(out[column.name]).astype("datetime64[s]")
        elif column.kind in ("routes", "layers"):
            out[column.name] = out[column.name].map(lambda v: ";".join(v) if v else "")
        elif column.kind not in ("number", "lon", "lat"):
            out[column.name] = out[column.name].fillna("")
    extra = [c for c in frame.columns if c not in out.columns and c != "geometry"]
    out = pd.concat([out, pd.DataFrame(frame[extra])], axis=1)
    return gpd.GeoDataFrame(out, geometry=frame.geometry.values, crs=WGS84)


def normalise_claims(frame, loaded, filename, opts):
    metrics, bundled_ids, claimants = bundled_claim_registry()
    out = schema_kind(frame, loaded, filename, schema.IMPORTED_CLAIMS, opts,
                      rules=lambda parsed, rows, name: claims.check_claims(parsed, rows, name, metrics, bundled_ids,
                                                                           claimants))
    out["name"] = out["metric"].astype(str) + " — " + out["claimant"].astype(str)
    return drop_problem_rows(out, loaded)


def normalise_places(frame, loaded, filename, opts):
    out = schema_kind(frame, loaded, filename, schema.PLACES, opts)
    ok = out["lon"].notna() & out["lat"].notna()
    out.loc[ok, "geometry"] = gpd.points_from_xy(out.loc[ok, "lon"], out.loc[ok, "lat"])
    return drop_problem_rows(out, loaded)


def normalise_events(frame, loaded, filename, opts):
    out = events_frame(frame, loaded, filename, opts)
    return out.assign(name=out["title"])


def events_frame(frame, loaded, filename, opts):
    """Our events table as it is; ACLED and UCDP-GED exports mapped onto it, keeping their other columns."""
    source = event_source(columns_lower(frame.columns))
    if source == "events" or source is None:
        if source is None:
            raise ImportProblem(filename, "not an events table: expected our columns (id, date, title, kind), "
                                          "an ACLED export (event_id_cnty, event_date, latitude, longitude) or "
                                          "a UCDP GED export (id, date_start, latitude, longitude)", 1)
        out = schema_kind(frame, loaded, filename, schema.EVENTS, opts)
        out["origin"] = "events"
        return drop_problem_rows(out, loaded)
    low = by_lower(frame)
    rows = loaded.rows
    need_geometry(low, loaded, "coordinates")

    def col(name, default=""):
        return low[name].map(text) if name in low.columns else pd.Series(default, index=low.index, dtype=object)

    def day(name):
        chosen: dict = {}
        out = dates.parse_dates(low[name], rows, name, loaded.problems, loaded.warnings, opts.dayfirst, chosen)
        loaded.details.setdefault("date_column", name)
        loaded.details.setdefault("date_format", dates.describe(chosen))
        return out

    if source == "acled":
        out = pd.DataFrame({
            "id": col("event_id_cnty").where(col("event_id_cnty") != "", [str(r) for r in rows]),
            "date": day("event_date"),
            "title": [" — ".join(p for p in (a, b) if p) or "ACLED event"
                      for a, b in zip(col("event_type"), col("location"))],
            "kind": col("event_type"),
            "description": col("notes"),
            "url": "",
            "source": col("source", "ACLED"),
            "fatalities": pd.to_numeric(col("fatalities"), errors="coerce"),
            "origin": "acled",
        }, index=low.index)
        used = {"event_id_cnty", "event_date", "event_type", "notes", "source", "fatalities", "latitude",
                "longitude"}
    else:
        out = pd.DataFrame({
            "id": col("id").where(col("id") != "", [str(r) for r in rows]),
            "date": day("date_start"),
            "date_end": day("date_end") if "date_end" in low.columns else pd.NaT,
            "title": [a or b or "UCDP event" for a, b in zip(col("dyad_name"), col("conflict_name"))],
            "kind": "ucdp_ged",
            "description": col("where_description"),
            "url": "",
            "source": col("source_article", "UCDP GED"),
            "fatalities": pd.to_numeric(col("best"), errors="coerce"),
            "origin": "ucdp",
        }, index=low.index)
        used = {"id", "date_start", "date_end", "source_article", "best", "latitude", "longitude",
                "where_description"}
    out["place_id"] = ""
    extra = [c for c in low.columns if c not in used and c not in out.columns and c != "geometry"]
    out = pd.concat([out, pd.DataFrame(low[extra])], axis=1)
    result = gpd.GeoDataFrame(out, geometry=low.geometry.values, crs=WGS84)
    return drop_problem_rows(result, loaded)


def normalise_front(frame, loaded, filename, opts):
    """A dated snapshot: `as_of` from a date attribute, else from the file name."""
    low = by_lower(frame)
    need_geometry(low, loaded)
    column = opts.date_column.strip().lower() if opts.date_column else \
        find_column(low.columns, FRONT_DATE_NAMES) or names.date_column_by_name(low.columns, ("geometry",))
    if column is not None and column not in low.columns:
        raise ImportProblem(filename, f"no column {opts.date_column!r} for the date", 1)
    from_name = dates.date_from_name(filename)
    if column is not None:
        values = low[column]
        if from_name is not None:
            values = values.where(values.map(text) != "", from_name.isoformat())
        chosen: dict = {}
        as_of = dates.parse_dates(values, loaded.rows, column, loaded.problems, loaded.warnings, opts.dayfirst,
                                  chosen)
        loaded.details.update(date_column=column, date_format=dates.describe(chosen))
    elif from_name is not None:
        as_of = pd.Series(pd.Timestamp(from_name), index=low.index).astype("datetime64[s]")
        loaded.warnings.append(f"snapshot date {from_name} taken from the file name")
        loaded.details["date_column"] = "(file name)"
    else:
        raise ImportProblem(filename, "a front snapshot needs a date: add a date/as_of/snapshot_date attribute "
                                      "or put it in the file name (front_2024-08-20.geojson)")
    low = low.assign(as_of=as_of)
    if "name" not in low.columns:
        name_col = find_column(low.columns, NAME_NAMES[1:])
        low["name"] = low[name_col].map(text) if name_col else Path(filename).stem
    low = frontlayers.split_by_status(low, loaded)
    return drop_problem_rows(gpd.GeoDataFrame(low, geometry="geometry", crs=WGS84), loaded)


def track_ids(values: pd.Series) -> pd.Series:
    """Ids as text: MMSI read as float (273000001.0) loses its '.0'."""
    if pd.api.types.is_float_dtype(values):
        return values.map(lambda v: "" if pd.isna(v) else f"{v:.0f}")
    return pd.Series(values.astype("string").fillna("").str.strip().to_numpy(dtype=object), index=values.index)


def track_columns(frame: pd.DataFrame, loaded: Loaded, filename: str, opts: KindOptions):
    low_cols = list(frame.columns)
    id_col = find_column(low_cols, TRACK_ID_NAMES)
    exclude = tuple(c.lower() for c in (loaded.coord_columns or ()))
    if opts.date_column:
        time_col = opts.date_column.strip().lower()
        if time_col not in frame.columns:
            raise ImportProblem(filename, f"no column {opts.date_column!r} for the time", 1)
    else:
        time_col = track_time_column(frame.head(500), id_col, exclude) if id_col else None
    if id_col is None or time_col is None:
        raise ImportProblem(filename, "not a track file: needs a track id column (track_id, mmsi, imo, vessel, "
                                      "ship, train) and a time column (t, time, timestamp, datetime, date_add); name "
                                      "the time column ('Date or time column' on the page, --date-column on the "
                                      "command line) or import it as another kind ('Import as', --as)", 1)
    name_col = find_column([c for c in low_cols if c != id_col], TRACK_NAME_NAMES)
    if name_col is None and id_col != find_column(low_cols, TRACK_ID_NAMES[4:]):
        name_col = find_column([c for c in low_cols if c != id_col], TRACK_ID_NAMES[4:])  # vessel id beside track id
    return id_col, time_col, name_col


VESSEL_COLUMNS = {"mmsi": ("mmsi",), "imo": ("imo", "imo_number", "imonumber"),
                  "sog": ("sog", "speed_over_ground"), "cog": ("cog", "course_over_ground")}


def vessel_columns(columns) -> dict[str, str]:
    """AIS columns of a vessel track file (ours -> the file's, lower-cased), when it has an MMSI or
    IMO column; {} for other tracks (trains, GPS). The workspace keeps such tracks' positions for
    detections (geo.ships) too."""
    low = [str(c) for c in columns]
    found = {ours: find_column(low, names) for ours, names in VESSEL_COLUMNS.items()}
    found = {k: v for k, v in found.items() if v is not None}
    return found if ("mmsi" in found or "imo" in found) else {}


def imo_text(values: pd.Series) -> np.ndarray:
    text = track_ids(values).astype(str).str.replace(r"^IMO\s*", "", regex=True, case=False)
    return np.where(text.str.fullmatch(r"\d{7}"), text, "").astype(object)


def vessel_values(frame: pd.DataFrame, found: dict[str, str]) -> dict[str, np.ndarray]:
    if not found:
        return {}
    n = len(frame)
    out = {"mmsi": track_ids(frame[found["mmsi"]]).to_numpy(dtype=object) if "mmsi" in found
           else np.full(n, "", dtype=object),
           "imo": imo_text(frame[found["imo"]]) if "imo" in found else np.full(n, "", dtype=object)}
    for ours in ("sog", "cog"):
        out[ours] = pd.to_numeric(frame[found[ours]], errors="coerce").to_numpy(float) if ours in found \
            else np.full(n, np.nan)
    return out


def normalise_tracks(frame, loaded, filename, opts):
    low = by_lower(frame)
    id_col, time_col, name_col = track_columns(low, loaded, filename, opts)
    loaded.details.update(date_column=time_col, track_id_column=id_col)
    geoms = low.geometry
    types = set(geoms.dropna().geom_type)
    if types - {"Point"}:
        raise ImportProblem(filename, f"tracks need one point per row with a timestamp, found {', '.join(sorted(types))}")
    need_geometry(low, loaded, "coordinates")
    ids = track_ids(low[id_col])
    for i in np.flatnonzero((ids == "").to_numpy()):
        loaded.problems.setdefault(int(loaded.rows[i]), (id_col, "empty value"))
    out_t, chosen = dates.parse_column(low[time_col], loaded.rows, time_col, loaded.problems, loaded.warnings,
                                       opts.dayfirst, "timestamp")
    loaded.details["date_format"] = dates.describe(chosen)
    arr = np.asarray(geoms.array, dtype=object)
    valid = present_mask(arr)
    lon, lat = np.full(len(low), np.nan), np.full(len(low), np.nan)
    lon[valid], lat[valid] = shapely.get_x(arr[valid]), shapely.get_y(arr[valid])
    names = track_ids(low[name_col]) if name_col else ids
    out = gpd.GeoDataFrame({
        "track_id": ids.to_numpy(), "name": names.to_numpy(), "t": out_t.to_numpy(), "lon": lon, "lat": lat,
        **vessel_values(low, vessel_columns(low.columns)),
    }, geometry=geoms.values, crs=WGS84)
    out = drop_problem_rows(out, loaded)
    return out.sort_values(["track_id", "t"], kind="stable")


def normalise_generic(frame, loaded, filename, opts):
    need_geometry(frame, loaded)
    out = frame.copy()
    if "name" not in out.columns:
        name_col = find_column(out.columns, NAME_NAMES) or names.name_column(out.columns)
        out["name"] = out[name_col].map(text) if name_col else \
            [f"{Path(filename).stem} #{r}" for r in loaded.rows]
    skip = tuple(loaded.coord_columns or ()) + ("geometry", "name")
    column = opts.date_column or find_column(out.columns, DATE_NAMES) or names.date_column_by_name(out.columns, skip) \
        or names.date_column_by_values(out, skip)
    if opts.date_column and column not in out.columns:
        raise ImportProblem(filename, f"no column {opts.date_column!r} for the date", 1)
    if column is not None and not pd.api.types.is_numeric_dtype(out[column]):
        unread: dict = {}
        chosen: dict = {}
        parsed = dates.parse_dates(out[column], loaded.rows, column, unread, loaded.warnings, opts.dayfirst, chosen)
        bad = sorted((r, m) for r, (_, m) in unread.items() if m != "empty value")
        filled = int(parsed.notna().sum()) + len(bad)
        if bad and (len(bad) * 2 >= filled and not opts.date_column):
            loaded.warnings.append(f"column {column}: {len(bad)} of {filled} value(s) are not dates, so the column "
                                   f"is kept as text (first: row {bad[0][0]})")
        elif parsed.notna().any():
            out["date"] = parsed
            loaded.details.update(date_column=column, date_format=dates.describe(chosen))
            if bad:
                listed = "; ".join(f"row {r}: {m}" for r, m in bad[:5]) + ("; …" if len(bad) > 5 else "")
                loaded.warnings.append(f"column {column}: {len(bad)} of {filled} value(s) are not dates; those rows "
                                       f"are kept without a date ({listed})")
                loaded.details["undated_rows"] = [r for r, _ in bad]
    return drop_problem_rows(gpd.GeoDataFrame(out, geometry="geometry", crs=WGS84), loaded)


NORMALISERS = {"claims": normalise_claims, "places": normalise_places, "events": normalise_events,
               "front": normalise_front, "tracks": normalise_tracks, "generic": normalise_generic}
