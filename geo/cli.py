"""Command line: `python -m geo validate [DATA_DIR]`, and inspect / import / workspace / detections / export for the analyst's own files.

Bad data is reported as one line per problem and a non-zero exit, never a traceback.
"""
from __future__ import annotations

import argparse
import json
import sys

from geo import style
from geo.data import schema


def validate(args) -> int:
    from geo.data import dataset
    args.data_dir = args.data_dir or str(dataset.DATA_DIR)
    data, problems = dataset.check(args.data_dir)
    if problems:
        for problem in problems:
            print(problem)
        print(f"{len(problems)} problem(s) in {args.data_dir}", file=sys.stderr)
        return 1
    for key, value in data.summary().items():
        print(f"{key:>11}: {value}")
    print(f"{'version':>11}: {data.version}")
    return 0


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="python -m geo", description=__doc__.splitlines()[0])
    commands = root.add_subparsers(dest="command", required=True)
    check = commands.add_parser("validate", help="check every data file and the links between them")
    check.add_argument("data_dir", nargs="?", help="default: the bundled data folder")
    check.set_defaults(run=validate)
    add_data_commands(commands)
    return root


def main(argv=None) -> int:
    args = parser().parse_args(argv)
    if args.command == "validate":
        return args.run(args)
    return run_data_command(args)


# --- bring your own data: inspect, import, workspace, export ----------------------------------------
# Every failure here is one `error: ...` line on stderr and exit code 2, never a traceback.

EXPORT_FORMATS = ("geojson", "gpkg", "kml", "csv", "html", "png", "mp4", "gif")  # geo.export.FORMATS, unimported
VIDEO_FORMATS = ("mp4", "gif")
VIDEO_SIZES = ("1280x720", "1920x1080")  # geo.export.video.SIZES
KINDS = ("claims", "events", "places", "front", "tracks", "generic", "vessels", "images")  # geo.imports.importer.KINDS, likewise


def add_data_commands(commands) -> None:

    def limits_options(p):
        p.add_argument("file")
        p.add_argument("--as", dest="kind", choices=KINDS, help="read as this kind instead of guessing")
        p.add_argument("--strict", action="store_true", help="fail on the first bad row instead of skipping it")
        p.add_argument("--crs", help="the CRS to assume when the file names none, e.g. EPSG:32652 (an image's "
                                     "world file names none)")
        p.add_argument("--date", help="an image's date, YYYY-MM-DD (default: from its metadata, else its name)")
        p.add_argument("--source", help="an image's source, e.g. 'Sentinel-2 L2A, Copernicus' (shown with it)")
        p.add_argument("--licence", "--license", dest="licence", help="an image's licence, e.g. CC BY 4.0")
        p.add_argument("--max-mb", type=float, help="refuse files (and zip contents) larger than this")
        p.add_argument("--max-vertices", type=int, help="refuse a geometry with more vertices than this")
        p.add_argument("--date-column", help="the column holding the date or time, instead of the one found")
        order = p.add_mutually_exclusive_group()
        order.add_argument("--day-first", dest="dayfirst", action="store_const", const=True,
                           help="read dates such as 02/01/2024 day first (2 January)")
        order.add_argument("--month-first", dest="dayfirst", action="store_const", const=False,
                           help="read dates such as 02/01/2024 month first (1 February)")
        p.add_argument("--coords", metavar="LON,LAT", help="the columns holding longitude and latitude")
        p.add_argument("--swap-axes", action="store_true", help="the file holds lat, lon: swap them")
        p.add_argument("--sheet", help="the workbook sheet to read (default: the first that holds a table)")
        p.add_argument("--encoding", help="a shapefile's text encoding, e.g. cp1251 or cp949 (default: its .cpg "
                                          "when right, else detected)")
        p.add_argument("--progress", action="store_true", help="print progress on stderr (default: on a terminal)")

    inspect = commands.add_parser("inspect", help="summarise a data file as JSON without importing it")
    limits_options(inspect)
    inspect.set_defaults(run=inspect_file)
    load = commands.add_parser("import", help="add a data file to the workspace ($GEO_WORKSPACE)")
    limits_options(load)
    load.add_argument("--again", action="store_true", help="import a file even if the same bytes are in already")
    load.set_defaults(run=import_file)
    ws = commands.add_parser("workspace", help="list, remove, restore or audit imported batches")
    ws_commands = ws.add_subparsers(dest="ws_command", required=True)
    listing = ws_commands.add_parser("list", help="every imported batch")
    listing.add_argument("--json", action="store_true")
    listing.add_argument("--removed", action="store_true", help="with --json: removed batches too")
    listing.set_defaults(run=workspace_list)
    history = ws_commands.add_parser("log", help="who imported and removed what, and refused attempts")
    history.set_defaults(run=workspace_log)
    remove = ws_commands.add_parser("remove", help="remove one batch and its features (restorable for "
                                    "24 hours with `workspace restore`)")
    remove.add_argument("batch_id", type=int)
    remove.set_defaults(run=workspace_remove)
    restore = ws_commands.add_parser("restore", help="undo the removal of a batch, within 24 hours of it")
    restore.add_argument("batch_id", type=int)
    restore.set_defaults(run=workspace_restore)
    found = commands.add_parser("detections", help="port calls, AIS gaps, encounters and loitering in the "
                                "workspace's vessel tracks, one row per detection")
    found.add_argument("--format", default="csv", choices=("csv", "json"))
    found.add_argument("--since", help="from this time (UTC; YYYY-MM-DD or YYYY-MM-DDTHH:MM)")
    found.add_argument("--until", help="up to this time (UTC), not included")
    found.add_argument("--gap-hours", type=float, help="hours without a position that make a gap (default 12)")
    found.add_argument("--engine", default="duckdb", choices=("duckdb", "dask"),
                       help="duckdb: in this process; dask: on the cluster at $GEO_DASK_SCHEDULER, or a local one")
    found.set_defaults(run=list_detections)
    out = commands.add_parser("export", help="export a view of the map: " + ", ".join(EXPORT_FORMATS))
    out.add_argument("format", choices=EXPORT_FORMATS)
    out.add_argument("out", help="output file (the csv format writes a zip of claims, sources and about)")
    out.add_argument("--date", help="month YYYY-MM (default: the latest)")
    out.add_argument("--layers", help="comma-separated layer ids (default: the map's, plus imported and tracks)")
    out.add_argument("--view", default="overview")
    out.add_argument("--mode", default="cumulative", choices=("cumulative", "period"))
    out.add_argument("--present", action="store_true", help="presenter palette")
    out.add_argument("--no-workspace", action="store_true", help="bundled data only")
    for flag, choices in (("--claimant-type", schema.CLAIMANT_TYPES), ("--basis", schema.BASES),
                          ("--family", schema.FAMILIES)):
        out.add_argument(flag, help=f"only claims of these, comma-separated ({', '.join(choices)}), as the "
                                    "page's filters (png, html, csv, geojson, gpkg, kml)")
    out.add_argument("--images", default="month", choices=("month", "latest"),
                     help="imported images drawn (png, html, mp4, gif): those dated in the month, or each place's "
                          "latest by then")
    video = out.add_argument_group("mp4 and gif (presenter palette)")
    video.add_argument("--scenes", help="scenes to show, e.g. S1-S7 or S2,S5 (default: every scene in scenes.csv)")
    video.add_argument("--from", dest="first", help="first month YYYY-MM: show the months from here to --to "
                       "in --view with --layers, instead of the scenes")
    video.add_argument("--to", dest="last", help="last month YYYY-MM (default: the latest)")
    video.add_argument("--size", default="1280x720", choices=VIDEO_SIZES)
    video.add_argument("--seconds", type=float, default=4.0, help="seconds each slide stays on screen (default 4)")
    out.set_defaults(run=export_view)


def run_data_command(args) -> int:
    """This process is the CLI's own, so it decides what reaches stderr: GDAL's warnings (which
    pyogrio raises as Python warnings) and log lines are collected here, never changed inside
    geo/, and printed only when the command succeeds."""
    import logging
    import warnings
    from geo.imports.filecheck import ImportProblem
    logging.getLogger("pyogrio").addHandler(logging.NullHandler())
    logging.getLogger("pyogrio").propagate = False
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            code = args.run(args)
        except ImportProblem as err:
            return fail(str(err))
        except Exception as err:  # the promise is one line, whatever went wrong
            return fail(describe_error(err))
        except KeyboardInterrupt:
            return fail("interrupted")
    for warning in {str(w.message).splitlines()[0] for w in caught if issubclass(w.category, RuntimeWarning)}:
        print(f"note: {warning}", file=sys.stderr)
    return code


def describe_error(err: Exception) -> str:
    from geo.data.dataset import DataError
    from geo.imports.sandbox import ImporterFailed
    from geo.store.workspace import WorkspaceError
    if isinstance(err, (WorkspaceError, ImporterFailed)):
        return str(err)
    if isinstance(err, DataError):
        return f"the bundled data has {len(err.problems)} problem(s); run `python -m geo validate`"
    if isinstance(err, OSError):
        return f"{getattr(err, 'filename', '') or ''}: {err.strerror or err}".lstrip(": ")
    return f"unexpected {type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}"


def fail(message: str) -> int:
    print("error: " + " ".join(message.split()), file=sys.stderr)
    return 2


def read_args(args, preview: bool = False):
    """Check the file with the standard library alone (a hostile file is refused before pandas
    and GDAL load), then read it: an ImportResult, or with preview=True importer.preview's dict."""
    from dataclasses import replace
    from pathlib import Path
    from geo.imports import filecheck
    limits = filecheck.Limits()
    if args.max_mb:
        limits = replace(limits, max_bytes=int(args.max_mb * 1024 * 1024),
                         max_image_bytes=int(args.max_mb * 1024 * 1024))
    if args.max_vertices:
        limits = replace(limits, max_vertices=args.max_vertices)
    options = dict(kind=args.kind, strict=args.strict, assume_crs=args.crs, date_column=args.date_column,
                   dayfirst=args.dayfirst, swap_axes=args.swap_axes, sheet=args.sheet, encoding=args.encoding,
                   coord_columns=tuple(c.strip() for c in args.coords.split(",", 1)) if args.coords else None,
                   progress=progress_printer(args), image_date=args.date, image_source=args.source,
                   image_licence=args.licence)
    suffix = Path(args.file).suffix.lower()
    if suffix in (".shp", ".shx", ".dbf"):  # read with the parts beside it
        source, filename = args.file, None
    elif suffix in filecheck.IMAGE_EXTS:  # size and header checked here, then read where it lies (its world file)
        filecheck.check_image_file(args.file, limits, bool(args.crs))
        source, filename = args.file, None
    elif suffix == ".kml":  # a GroundOverlay's image lies beside it
        filecheck.check_file(args.file, limits)
        source, filename = args.file, None
    else:
        source, filename = filecheck.check_file(args.file, limits), Path(args.file).name
    from geo.imports import sandbox  # read in a worker process, within GEO_IMPORT_SECONDS / _MEMORY_MB / _ROWS
    if preview:
        return sandbox.preview(source, filename=filename, limits=limits, **options)
    return sandbox.read_file(source, filename=filename, limits=limits, **options)


def progress_printer(args):
    """Progress on stderr while a file is read: a line rewritten in place on a terminal, one line
    per step of 10 % otherwise (with --progress)."""
    tty = sys.stderr.isatty()
    if not (tty or args.progress):
        return None
    shown = [-1]

    def show(done: float, total: float = 1.0):
        percent = 100 * done / (total or 1)
        if tty:
            print(f"\rreading {args.file}: {percent:5.1f}%", end="\n" if done >= total else "", file=sys.stderr,
                  flush=True)
        elif int(percent // 10) > shown[0]:
            shown[0] = int(percent // 10)
            print(f"progress: reading {args.file}: {percent:.0f}%", file=sys.stderr, flush=True)
    return show


def streamed(args):
    """An AIS export beyond the importer's limits, to stream into the positions store
    (geo.ships.bigfiles), or None: the importer reads the file in its worker as any other."""
    if args.coords or args.date_column or args.swap_axes or args.sheet:
        return None  # options the streaming reader does not take: the importer decides
    from geo.ships import bigfiles
    return bigfiles.plan(args.file, strict=args.strict, kind=args.kind)


def stream_printer(args, size: int):
    """Progress of a streamed import on stderr: rows read and the share of the file's bytes, a
    line rewritten in place on a terminal, or a line per step of 5 % otherwise."""
    tty = sys.stderr.isatty()
    shown = [-1]

    def show(fraction: float, rows: int):
        text = f"importing {args.file}: {rows:,} rows read, {100 * fraction:5.1f}% of {size / 1e6:,.1f} MB"
        if tty:
            print("\r" + text, end="\n" if fraction >= 1 else "", file=sys.stderr, flush=True)
        elif int(100 * fraction // 5) > shown[0]:
            shown[0] = int(100 * fraction // 5)
            print("progress: " + text, file=sys.stderr, flush=True)
    return show


def inspect_file(args) -> int:
    import json
    from geo.imports import importer
    big = streamed(args)
    print(json.dumps(importer.preview_of(big) if big is not None else read_args(args, preview=True), indent=2,
                     ensure_ascii=False, default=str))
    return 0


def imported_before(ws, result) -> int | None:
    """The batch that already holds this file (same bytes, same kind), if any."""
    batches = ws.batches()
    same = batches[(batches["sha256"] == result.sha256) & (batches["kind"] == result.kind)]
    return int(same["id"].iloc[0]) if len(same) else None


def import_file(args) -> int:
    result = streamed(args)
    if result is not None:
        return import_streamed(args, result)
    result = read_args(args)  # read fully before the store is opened: a bad file never touches it
    ws = open_store()
    if (twice := imported_before(ws, result)) is not None and not args.again:
        return fail(f"{result.filename}: already imported as batch {twice} (use --again to import it twice)")
    batch_id = ws.add(result)
    for warning in result.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    print(f"batch {batch_id}: {len(result.frame)} {result.kind} record(s) from {result.filename} ({result.format}); "
          f"{len(result.skipped)} row(s) skipped; workspace {ws.where}")
    return 0


def import_streamed(args, result) -> int:
    """An AIS export beyond the importer's limits, streamed into the positions store as one batch
    (all or nothing: a bad row under --strict, or a failure, leaves no batch and no positions)."""
    ws = open_store()
    if (twice := imported_before(ws, result)) is not None and not args.again:
        return fail(f"{result.filename}: already imported as batch {twice} (use --again to import it twice)")
    batch_id = ws.add(result, progress=stream_printer(args, result.stream.size))
    row = ws.batches().set_index("id").loc[batch_id]
    skipped = json.loads(row["skipped"]) if isinstance(row["skipped"], str) else list(row["skipped"] or [])
    for line in skipped[:20]:
        print(f"warning: skipped {line}", file=sys.stderr)
    print(f"batch {batch_id}: {int(row['feature_count']):,} positions from {result.filename} ({result.format}, "
          f"streamed into the positions store); {len(skipped)} row(s) skipped; workspace {ws.where}")
    return 0


def list_detections(args) -> int:
    from dataclasses import replace
    from geo.ships import detections
    from geo.store.workspace import Workspace
    try:
        since, until = detections.parse_when(args.since, "--since"), detections.parse_when(args.until, "--until")
    except ValueError as err:
        return fail(str(err))
    params = detections.Params()
    if args.gap_hours is not None:
        if not args.gap_hours > 0:
            return fail(f"--gap-hours {args.gap_hours:g}: give a number of hours above 0")
        params = replace(params, gap_hours=args.gap_hours)
    ws = Workspace()
    if args.engine == "dask":
        from geo.ships import distributed
        found = distributed.detect_dask(ws, since, until, params)
    else:
        found = detections.detect_store(ws, since, until, params)
    print(detections.as_json(found) if args.format == "json" else detections.as_csv(found), end="")
    print(f"{len(found)} detection(s) in {ws.where}", file=sys.stderr)
    return 0


def open_store():
    """The workspace, saying on stderr while a write waits behind another program's (a long import)."""
    from geo.store.workspace import Workspace
    ws = Workspace()
    said = [-1]

    def waiting(seconds):
        if int(seconds // 10) > said[0]:  # at once, then every 10 s
            said[0] = int(seconds // 10)
            print(f"waiting for another write to {ws.where} to finish ({seconds:.0f} s)…", file=sys.stderr, flush=True)
    ws.on_wait = waiting
    return ws


def workspace_list(args) -> int:
    from geo.store.workspace import Workspace, restorable, restorable_until
    ws = Workspace()
    everything = ws.batches(removed=True)
    live = everything[everything["removed_at"].isna()]
    if args.json:
        print((everything if args.removed else live).to_json(orient="records", force_ascii=False))
        return 0
    if everything.empty:
        print(f"no batches in {ws.where}")
        return 0
    for b in live.itertuples():
        print(f"{b.id:>5}  {b.imported_at}  {b.kind:<8} {b.format:<10} {b.feature_count:>9}  {b.filename}"
              f"  by {b.imported_by or '?'}")
    gone = everything[everything["removed_at"].notna()]
    if len(gone):
        print("removed:")
        for b in gone.itertuples():
            print(f"{b.id:>5}  {b.imported_at}  {b.kind:<8} {b.format:<10} {b.feature_count:>9}  {b.filename}"
                  f"  by {b.imported_by or '?'}; removed {b.removed_at} by {b.removed_by}"
                  + (f"; restorable until {restorable_until(b.removed_at)}" if restorable(b) else ""))
    print(f"{len(live)} batch(es), version {ws.version()}, in {ws.where}")
    return 0


def workspace_log(args) -> int:
    """Every import and removal, and every refused attempt, oldest first."""
    from geo.safetext import escape
    from geo.store.workspace import Workspace
    for a in Workspace().audit().itertuples():  # escaped again: rows written by older versions were not
        batch = f"batch {int(a.batch_id)}" if a.batch_id is not None and a.batch_id == a.batch_id else ""
        print(f"{a.at}  {escape(a.user_name):<16} {a.action:<7} {a.outcome:<8} {batch} {escape(a.detail)}".rstrip())
    return 0


def workspace_remove(args) -> int:
    try:
        until = open_store().remove(args.batch_id)  # as the local user: refused unless an editor (geo.store.access)
    except KeyError as err:
        return fail(str(err.args[0]))
    print(f"removed batch {args.batch_id}")
    print(f"restore it until {until} with: python -m geo workspace restore {args.batch_id}")
    return 0


def workspace_restore(args) -> int:
    try:
        open_store().restore(args.batch_id)  # as the local user: refused unless an editor
    except KeyError as err:
        return fail(str(err.args[0]))
    print(f"restored batch {args.batch_id}")
    return 0


def export_view(args) -> int:
    from pathlib import Path
    from geo import export as exports
    from geo.data import dataset
    from geo.page import state
    from geo.view import records
    from geo.model import timeline
    from geo.model.evidence import Filters
    from geo.store.workspace import Workspace
    from geo.view import imagery
    data = dataset.load()
    months = timeline.months("2022-09-01", timeline.default_date(data.claims, data.events))
    month = state.parse_month(args.date, months) if args.date else months[-1]
    if month is None:
        return fail(f"--date {args.date!r}: expected a month from {months[0]} to {months[-1]} (YYYY-MM)")
    store = None if args.no_workspace else Workspace()
    snapshot = None if store is None else store.snapshot()
    pictures = None if store is None else imagery.from_workspace(store)
    chosen = tuple(state.as_list(args.layers)) if args.layers else \
        records.DEFAULT_LAYERS + (("imported", "tracks", "images", "detections") if snapshot is not None else ())
    unknown = [l for l in chosen if l not in schema.LAYER_IDS]
    if unknown:
        return fail(f"--layers: unknown layer(s) {', '.join(unknown)}; use {', '.join(schema.LAYER_IDS)}")
    if args.view not in style.VIEWS:
        return fail(f"--view {args.view!r}: use one of {', '.join(style.VIEWS)}")
    if args.format in VIDEO_FORMATS and (args.claimant_type or args.basis or args.family):
        return fail("--claimant-type, --basis and --family are not for the mp4 and gif formats, which tell the story whole")
    ships = export_detections(store, snapshot) if "detections" in chosen else None
    if args.format in VIDEO_FORMATS:
        # the video's own default layers, with the workspace's images when it holds any
        video_layers = chosen if args.layers else (records.DEFAULT_LAYERS + ("images",) if pictures else None)
        return export_video(args, data, months, video_layers, snapshot, pictures, ships)
    if args.scenes or args.first or args.last:
        return fail("--scenes, --from and --to are for the mp4 and gif formats")
    picked = {}
    for name, choices in (("claimant_type", schema.CLAIMANT_TYPES), ("basis", schema.BASES),
                          ("family", schema.FAMILIES)):
        values = tuple(state.as_list(getattr(args, name))) if getattr(args, name) else ()
        wrong = [v for v in values if v not in choices]
        if wrong:
            return fail(f"--{name.replace('_', '-')}: unknown {', '.join(wrong)}; use {', '.join(choices)}")
        picked[name] = values
    filters = Filters(claimant_types=picked["claimant_type"], bases=picked["basis"], families=picked["family"])
    map_state = records.MapState(date=timeline.month_end(month + "-01"), mode=args.mode, layers=chosen,
                                view=args.view, present=args.present, filters=filters)
    payload = exports.export(args.format, data, map_state, snapshot, images=pictures, image_mode=args.images,
                             ships=ships)
    Path(args.out).write_bytes(payload)
    print(f"wrote {args.out} ({len(payload):,} bytes, {args.format}, as of {map_state.date:%Y-%m-%d})")
    return 0


def export_detections(store, snapshot):
    """The detections in the workspace's positions with the default parameters, as the page finds
    them (geo.page.ships.find); None when the workspace holds no positions."""
    if store is None or snapshot is None:
        return None
    from geo.page import ships as ship_page
    from geo.ships import detections
    from geo.view import ships as ship_view
    params = detections.Params()
    found, coverage = ship_page.find(store, snapshot, params)  # its positions folder, whatever the store
    return None if found is None else ship_view.Findings(found, params, coverage)


def export_video(args, data, months, chosen, snapshot, pictures=None, ships=None) -> int:
    """The scenes (or the months --from..--to) as MP4 or GIF, with a progress line on stderr."""
    from geo.page import state
    from geo.export import video
    if args.scenes and (args.first or args.last):
        return fail("use either --scenes or --from/--to, not both")
    try:
        if args.first or args.last:
            first = state.parse_month(args.first, months) if args.first else None
            last = state.parse_month(args.last, months) if args.last else months[-1]
            if first is None or last is None:
                bad = args.first if first is None else args.last
                return fail(f"month {bad!r}: expected a month from {months[0]} to {months[-1]} (YYYY-MM)")
            shots = video.month_shots(data, first, last, view=args.view, layer_ids=chosen, mode=args.mode,
                                      snapshot=snapshot)
        else:
            shots = video.scene_shots(data, args.scenes)
    except ValueError as err:
        return fail(str(err))

    def progress(fraction, message):
        print(f"\r{fraction:4.0%} {message:<60}", end="", file=sys.stderr, flush=True)

    path = video.write(args.format, data, shots, args.out, video.parse_size(args.size), snapshot, progress,
                       images=pictures, image_mode=args.images, ships=ships, seconds_per_shot=args.seconds)
    print(file=sys.stderr)
    print(f"wrote {path} ({path.stat().st_size:,} bytes, {args.format}, {args.size}, {len(shots)} slide(s) "
          f"+ sources, {shots[0].state.date:%Y-%m} to {shots[-1].state.date:%Y-%m})")
    return 0
