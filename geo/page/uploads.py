"""The page's import workflow without Streamlit: upload, preview, change what was found, import,
remove. Works on a session mapping as geo.page.session does.

A preview is kept per set of files and options (`import_preview`: key, result, problem, header);
the outcome of the last import, removal or restoration is `import_report`: (status, message,
details); a batch's ✕ asks first (`remove_asked`) and a removal this session made can be undone
(`undo_batches`, for geo.store.workspace.UNDO_HOURS). Every
message is plain text for geo.page.text.plain; the user is checked at click time, here and in
the store (geo.store.workspace.Workspace.authorise).
"""
from __future__ import annotations

import logging
from typing import Callable, MutableMapping

from geo.imports import importer, sandbox
from geo.ships import bigfiles
from geo.store import workspace

log = logging.getLogger(__name__)
AS_FOUND = "(as found)"
KINDS = importer.KINDS
ORDERS = ("decide from the values", "day first", "month first")
CHOICES = ("import_date_column", "import_lon", "import_lat", "import_sheet", "import_encoding")
UPLOAD_TYPES = ["csv", "tsv", "txt", "geojson", "json", "gpkg", "zip", "kml", "kmz", "topojson", "fgb", "parquet",
                "geoparquet", "gpx", "shp", "shx", "dbf", "prj", "cpg", "xlsx", "geojsonl", "geojsons", "ndjson"]
ENCODINGS = (AS_FOUND, "utf-8", "cp1251", "cp949", "cp1252")  # a shapefile's text, when the .cpg is missing or wrong


def chosen(ss: MutableMapping, key: str):
    value = ss.get(key, AS_FOUND)
    return None if value == AS_FOUND or (key == "import_kind" and value == "guess") else value


def options(ss: MutableMapping) -> dict:
    """The importer's options from the "Change what was found" widgets."""
    lon_lat = (chosen(ss, "import_lon"), chosen(ss, "import_lat"))
    return dict(kind=chosen(ss, "import_kind"), date_column=chosen(ss, "import_date_column"),
                dayfirst={"day first": True, "month first": False}.get(ss.get("import_order")),
                coord_columns=lon_lat if all(lon_lat) else None,
                swap_axes=ss.get("import_swap", False), strict=ss.get("strict", False),
                sheet=chosen(ss, "import_sheet"), encoding=chosen(ss, "import_encoding"),
                **{f"image_{k}": (ss.get(f"import_image_{k}") or "").strip() or None for k in IMAGE_FIELDS})


IMAGE_FIELDS = ("date", "source", "licence")  # an image's date (YYYY-MM-DD), source and licence, as the user gives them
IMAGE_NAMES = (".tif", ".tiff", ".png", ".jpg", ".jpeg", ".jgw", ".pgw", ".wld", ".tfw", ".kmz", ".kml")


def looks_like_image(names, result=None) -> bool:
    """Whether the upload is (or may be) an image: its kind as read, or a file name an image has."""
    return (result is not None and result.kind == "images") or any(n.lower().endswith(IMAGE_NAMES) for n in names)


def preview(ss: MutableMapping, files: list[tuple[str, str, bytes]], progress: Callable[[float], None] = lambda f: None):
    """Read `files` ((file_id, name, bytes) each) with the session's options, once per set of files
    and options; returns (result or None, problem or "", header columns). Other files than last
    time reset the column choices, which named the old file's columns."""
    if not files:
        ss.pop("import_preview", None)
        return None, "", [], []
    ids = tuple(f[0] for f in files)
    earlier = ss.get("import_preview")
    if earlier is not None and earlier[0][0] != ids:
        for choice in CHOICES:
            ss[choice] = AS_FOUND
    opts = options(ss)
    key = (ids, tuple(sorted(opts.items())))
    if ss.get("import_preview", (None,))[0] != key:
        parts = [(name, data) for _, name, data in files]
        result, problem = streamed(parts, opts), ""
        if result is None:
            try:  # read in a worker process, within GEO_IMPORT_SECONDS / _MEMORY_MB / _ROWS (geo.imports.sandbox)
                result = sandbox.read_parts(parts, progress=progress, **opts)
            except (importer.ImportProblem, sandbox.ImporterFailed) as err:  # the traceback is in the server's log
                result, problem = None, str(err)
        ss["import_preview"] = (key, result, problem, importer.header_columns(parts, opts["sheet"]),
                                importer.sheet_names(parts))
    _, result, problem, header, workbook_sheets = ss["import_preview"]
    columns = [AS_FOUND] + (result.details.get("source_columns", []) if result is not None else header)
    sheets = result.details.get("sheets", []) if result is not None else workbook_sheets
    for choice in ("import_date_column", "import_lon", "import_lat"):  # columns of files no longer here
        if ss.get(choice, AS_FOUND) not in columns:
            ss[choice] = AS_FOUND
    if ss.get("import_sheet", AS_FOUND) not in [AS_FOUND] + sheets:
        ss["import_sheet"] = AS_FOUND
    return result, problem, columns, sheets


def streamed(parts, opts: dict):
    """An AIS export beyond the importer's limits (geo.ships.bigfiles), which the Import button
    streams into the positions store with a progress bar; None for every other upload."""
    if len(parts) != 1 or any(opts.get(k) for k in ("coord_columns", "date_column", "swap_axes", "sheet")):
        return None
    (name, raw), = parts
    return bigfiles.plan_bytes(bytes(raw), name, strict=bool(opts.get("strict")), kind=opts.get("kind"))


def is_streamed(ss: MutableMapping) -> bool:
    """Whether the previewed file is imported by streaming (the page then shows a progress bar)."""
    result = ss.get("import_preview", (None, None))[1]
    return result is not None and result.stream is not None


def counted(result, records: int) -> str:
    """What a file holds, in the words of its kind: positions in tracks, images, or features."""
    frame = result.frame
    if result.stream is not None:
        return f"{records:,} position(s)"
    if result.kind == "tracks" and frame is not None and "track_id" in frame:
        return f"{records:,} position(s) in {frame['track_id'].nunique():,} track(s)"
    if result.kind == "images":
        return f"{records:,} image(s)"
    return f"{records:,} {result.kind} feature(s)"


def summary(result) -> dict:
    """What the preview shows of a read file: what was found and how it was read (plain lines),
    its lon/lat bounds, sample rows and the notes before importing."""
    found = importer.preview_of(result)
    records = found.get("record_count", found["feature_count"])
    what = (f"{found['file']}: {counted(result, records)} ({found['format']}), "
            f"{found['skipped_rows']:,} row(s) skipped")
    how = " · ".join(part for part in (
        f"CRS {found['input_crs'] or 'lon/lat'}",
        f"coordinates {'/'.join(found['coordinate_columns'])}" if found["coordinate_columns"] else "",
        f"dates from {found['date_column']} ({found['date_format'] or 'as stored'})"
        if found["date_column"] else "no date column") if part)
    return {"what": what, "how": how, "bounds": found["bounds_lonlat"], "sample_rows": found["sample_rows"],
            "notes": found["warnings"] + found["skipped"]}


def batch_line(batch) -> str:
    """One imported batch as the sidebar lists it (a removed one says by whom and when)."""
    if getattr(batch, "removed_at", None) and isinstance(batch.removed_at, str):
        return (f"#{batch.id} {batch.filename} · imported by {batch.imported_by or '?'} · removed by "
                f"{batch.removed_by}, {batch.removed_at[:16].replace('T', ' ')}")
    return (f"#{batch.id} {batch.filename} · {batch.kind} · {batch.feature_count:,} · "
            f"by {batch.imported_by or '?'}, {batch.imported_at[:16].replace('T', ' ')}")


def import_previewed(ss: MutableMapping, store: workspace.Workspace | None, user,
                     progress: Callable[[float, int], None] | None = None) -> None:
    """Store the previewed file as a batch (on the Import button). A streamed AIS export is read
    now, `progress(fraction of bytes, rows read)` told as it goes; a bad row under strict, like
    any failure, leaves no batch."""
    result = ss.get("import_preview", (None, None))[1]
    if result is None or store is None:
        return
    try:
        store.authorise(user, "import", detail=result.filename)
        batch = store.add(result, user, progress) if result.stream is not None else store.add(result, user)
    except workspace.WorkspaceError as err:
        ss["import_report"] = ("error", str(err), [])
        return
    except importer.ImportProblem as err:
        ss["import_report"] = ("error", str(err), [])
        ss.pop("import_preview", None)
        return
    records, skipped = len(result.frame), result.skipped
    if result.stream is not None:
        row = store.batches().set_index("id").loc[batch]
        records, skipped = int(row["feature_count"]), list(row["skipped"])
    ss["import_report"] = ("success", f"Imported {counted(result, records)} from "
                                      f"{result.filename} as batch {batch}.", result.warnings + skipped)
    ss["upload_round"] = ss.get("upload_round", 0) + 1  # a fresh uploader: the old file is gone
    ss.pop("import_preview", None)


def batch_holds(store: workspace.Workspace, batch) -> str:
    """What a stored batch holds, in the words the importer used: positions in tracks, images, features."""
    count = int(batch.feature_count)
    if batch.kind == "tracks":
        return f"{count:,} position(s) in {store.track_count(int(batch.id)):,} track(s)"
    if batch.kind == "images":
        return f"{count:,} image(s)"
    return f"{count:,} {batch.kind} feature(s)"


def restorable_ids(removed) -> set[int]:
    """The ids of removed batches (rows of batches(removed=True)) that can still be restored."""
    return {int(b.id) for b in (removed.itertuples() if len(removed) else ()) if workspace.restorable(b)}


def ask_remove(ss: MutableMapping, batch_id: int) -> None:
    """A batch's ✕: ask first (removal_question), remove only on confirm_remove."""
    ss["remove_asked"] = int(batch_id)


def cancel_remove(ss: MutableMapping) -> None:
    ss.pop("remove_asked", None)


def removal_question(store: workspace.Workspace, batch) -> str:
    """The question the ✕ asks, naming what goes: 'Remove batch 12: 50 position(s) in 2 track(s) from kinds.csv?'"""
    return (f"Remove batch {batch.id}: {batch_holds(store, batch)} from {batch.filename}? You can undo it for "
            f"{workspace.UNDO_HOURS} hours.")


def remove_batch(ss: MutableMapping, store: workspace.Workspace | None, user, batch_id: int) -> None:
    """Take a batch out (Remove, after the question). The user is checked at click time, here and
    in the store: the page may have been drawn while they could still edit. The session keeps the
    batch in `undo_batches`, for its Undo button."""
    ss.pop("remove_asked", None)
    if store is None:
        return
    try:
        batch = next((b for b in store.batches().itertuples() if b.id == int(batch_id)), None)
        what = f": {batch_holds(store, batch)} from {batch.filename}" if batch is not None else ""
        until = store.remove(batch_id, user)
    except workspace.WorkspaceError as err:
        ss["import_report"] = ("error", str(err), [])
        return
    except KeyError as err:  # removed meanwhile, by another session or server
        ss["import_report"] = ("error", str(err.args[0]), [])
        return
    ss["undo_batches"] = [b for b in ss.get("undo_batches", []) if b != int(batch_id)] + [int(batch_id)]
    ss["import_report"] = ("success", f"Removed batch {batch_id}{what}. Undo restores it as it was, until "
                                      f"{until[:16].replace('T', ' ')} UTC.", [])


def restore_batch(ss: MutableMapping, store: workspace.Workspace | None, user, batch_id: int) -> None:
    """Undo a removal (the Undo button, or Restore under the removed batches)."""
    if store is None:
        return
    try:
        store.restore(batch_id, user)
    except workspace.WorkspaceError as err:
        ss["import_report"] = ("error", str(err), [])
        return
    except KeyError as err:  # restored meanwhile, or past the undo window
        ss["import_report"] = ("error", str(err.args[0]), [])
        return
    finally:
        ss["undo_batches"] = [b for b in ss.get("undo_batches", []) if b != int(batch_id)]
    ss["import_report"] = ("success", f"Restored batch {batch_id}.", [])
