"""Reading a file in a worker process, within limits on time, memory and rows.

The page's preview and the command line's inspect and import read every file here, never in
their own process: a file that would recurse forever, swell to gigabytes or crash a library
costs its worker, which is killed past a limit, and nothing else. The refusal is one line
naming the file and the limit:

    hostile.gpkg: refused: reading took longer than 120 s (limit GEO_IMPORT_SECONDS)

Limits, from the environment (defaults in brackets):
- GEO_IMPORT_SECONDS [120]: wall time for reading one file, preview included.
- GEO_IMPORT_MEMORY_MB [2048]: the worker's resident memory (RSS, watched ten times a
  second), and four times that as its address-space limit (RLIMIT_AS) as a backstop.
- GEO_IMPORT_ROWS [5,000,000]: records one file may yield (the readers stop counting there).

Each worker is a fresh interpreter (`python -m geo.imports.sandbox`), never a fork of the app, so it
inherits none of the app's threads, locks or connections; a server keeps one started ahead
(warm()), so a preview does not wait for the libraries to load. Workers run at a lower
priority (nice 10), so the sessions of a busy server keep their turn while a file is read.
"""
from __future__ import annotations

import errno
import logging
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from multiprocessing.connection import Connection
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Mapping

from geo.imports import importer  # loaded before a job comes: that is what a spare worker is for
from geo.imports.filecheck import MB, IMAGE_EXTS, ImportProblem, Limits, check_image_file, check_image_parts
from geo.safetext import escape

log = logging.getLogger("geo.imports.sandbox")
POLL_SECONDS = 0.1


@dataclass(frozen=True)
class Bounds:
    seconds: float = 120.0
    memory_mb: int = 2048
    rows: int = 5_000_000


class ImporterFailed(Exception):
    """The importer hit a bug on a file (not the file's fault); str() is one line without the
    exception's name; `details` holds the worker's traceback for the server's log."""

    def __init__(self, filename: str, details: str):
        super().__init__(f"{filename}: the importer failed on this file; please report it (details in the log)")
        self.details = details


def bounds(env: Mapping[str, str] | None = None) -> Bounds:
    """The limits from GEO_IMPORT_SECONDS, GEO_IMPORT_MEMORY_MB and GEO_IMPORT_ROWS."""
    env = os.environ if env is None else env
    default = Bounds()

    def number(name, cast, fallback):
        text = env.get(name)
        if not text:
            return fallback
        try:
            value = cast(text)
        except ValueError:
            raise ValueError(f"{name}={text!r} is not a number") from None
        if value <= 0:
            raise ValueError(f"{name} must be above zero")
        return value
    return Bounds(number("GEO_IMPORT_SECONDS", float, default.seconds),
                  number("GEO_IMPORT_MEMORY_MB", int, default.memory_mb),
                  number("GEO_IMPORT_ROWS", int, default.rows))


def safe_name(name: str | None) -> str | None:
    """A file name as it will be shown, stored and logged: one line, controls escaped, and no
    NUL byte (which no path may hold)."""
    return None if name is None else escape(name, 200)


# --- the calls, as geo.imports.importer's ------------------------------------------------------------------

def read_file(source, filename: str | None = None, *, limits: Limits = Limits(), bounds_: Bounds | None = None,
              progress=None, **options):
    """geo.imports.importer.read_file in a worker. A path is passed as a path (the worker reads it)."""
    name = safe_name(filename or (Path(source).name if isinstance(source, (str, Path)) else "upload"))
    if options.get("kind") in (None, "images"):  # an image's header, size and world file: refused here, at once
        if isinstance(source, (str, Path)) and Path(source).suffix.lower() in IMAGE_EXTS:
            check_image_file(source, limits, bool(options.get("assume_crs")))
        elif isinstance(source, (bytes, bytearray, memoryview)):
            check_image_parts([(name, source)], limits, bool(options.get("assume_crs")))
    if isinstance(source, (str, Path)):
        source = str(source)
    return run("read_file", name, (source,), dict(filename=name, **options), limits,
               bounds_, progress)


def read_parts(parts, filename: str | None = None, *, limits: Limits = Limits(), bounds_: Bounds | None = None,
               progress=None, **options):
    """geo.imports.importer.read_parts in a worker; the parts' names are escaped first."""
    parts = [(safe_name(name), bytes(raw)) for name, raw in dict(parts).items()]
    name = safe_name(filename) or (parts[0][0] if len(parts) == 1 else
                                   next((n for n, _ in parts if n.lower().endswith(".shp")), f"{len(parts)} files"))
    if options.get("kind") in (None, "images"):
        check_image_parts(parts, limits, bool(options.get("assume_crs")))
    return run("read_parts", name, (parts,), dict(filename=safe_name(filename), **options), limits, bounds_,
               progress)


def preview(source=None, filename: str | None = None, *, parts=None, limits: Limits = Limits(),
            bounds_: Bounds | None = None, **options) -> dict:
    """geo.imports.importer.preview, read in a worker."""
    result = read_parts(parts, filename, limits=limits, bounds_=bounds_, **options) if parts is not None else \
        read_file(source, filename, limits=limits, bounds_=bounds_, **options)
    return importer.preview_of(result)


# --- the worker ------------------------------------------------------------------------------------

ROOT = Path(__file__).resolve().parents[2]
_spare_lock = threading.Lock()
_spare: list = []  # at most one idle worker, its imports done, in a server that asked for it (warm())


class Worker:
    """`python -m geo.imports.sandbox FD FD`: a fresh interpreter that loads the importer, then reads one
    job from its job pipe and answers on its result pipe. Never forked from the app (whose
    threads and connections it must not inherit), so it starts cold: warm() keeps one ready."""

    def __init__(self):
        job_r, self._job_w = os.pipe()
        self._result_r, result_w = os.pipe()
        env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT)] + [p for p in [os.environ.get("PYTHONPATH")]
                                                                           if p]))
        self.proc = subprocess.Popen([sys.executable, "-m", "geo.imports.sandbox", str(job_r), str(result_w)], cwd=ROOT,
                                     env=env, pass_fds=(job_r, result_w), stdin=subprocess.DEVNULL)
        os.close(job_r)
        os.close(result_w)
        self.jobs = Connection(self._job_w, readable=False)
        self.results = Connection(self._result_r, writable=False)

    @property
    def pid(self):
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self):
        for conn in (self.jobs, self.results):
            try:
                conn.close()
            except OSError:
                pass
        if self.alive():
            self.proc.kill()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            pass


def warm() -> None:
    """Keep one worker started ahead from now on (a server calls this once): a preview then
    starts in milliseconds instead of the seconds the importer's libraries take to load."""
    with _spare_lock:
        if not _spare or not _spare[0].alive():
            _spare[:] = [Worker()]


def cool() -> None:
    """Stop keeping a worker ahead, and stop the one kept (a process that asked for warm() and
    no longer reads files: a test run, a server shutting down)."""
    with _spare_lock:
        spares, _spare[:] = list(_spare), []
    for worker in spares:
        worker.stop()


def take_worker() -> Worker:
    with _spare_lock:
        ready = _spare.pop() if _spare else None
        if ready is not None:
            _spare.append(Worker())  # the next one loads while this one reads
    return ready if ready is not None and ready.alive() else Worker()


def run(call: str, filename: str, args: tuple, kwargs: dict, limits: Limits, bounds_: Bounds | None, progress):
    try:
        b = bounds_ or bounds()
    except ValueError as err:
        raise ImportProblem(filename, f"cannot read it: {err}") from None
    limits = replace(limits, max_features=min(limits.max_features, b.rows),
                     max_track_points=min(limits.max_track_points, b.rows))
    worker = take_worker()
    started, peak = time.monotonic(), 0.0
    try:
        try:
            worker.jobs.send((call, filename, args, kwargs, limits, b))
        except OSError:
            raise died(filename, worker.proc.poll(), b) from None
        while True:
            if worker.results.poll(POLL_SECONDS):
                try:
                    message = worker.results.recv()
                except EOFError:  # the worker died without a word
                    raise died(filename, worker.proc.wait(5), b) from None
                kind = message[0]
                if kind == "progress":
                    if progress:
                        progress(message[1])
                    continue
                if kind == "done":
                    return message[1]
                if kind == "problem":
                    raise ImportProblem(*message[1:])
                log.error("the importer failed on %s:\n%s", filename, message[1])
                raise ImporterFailed(filename, message[1])
            rss = resident_mb(worker.pid)
            peak = max(peak, rss or 0)
            if rss is not None and rss > b.memory_mb:
                raise ImportProblem(filename, f"refused: reading needed more than {b.memory_mb:,} MB of memory "
                                              "(limit GEO_IMPORT_MEMORY_MB)")
            if time.monotonic() - started > b.seconds:
                raise ImportProblem(filename, f"refused: reading took longer than {b.seconds:g} s "
                                              "(limit GEO_IMPORT_SECONDS)")
            if not worker.alive() and not worker.results.poll(0):
                raise died(filename, worker.proc.returncode, b)
    finally:
        worker.stop()
        log.debug("read %s in %.1f s, peak %.0f MB", filename, time.monotonic() - started, peak)


def died(filename: str, exitcode, b: Bounds) -> ImportProblem:
    if exitcode is not None and exitcode < 0 and -exitcode == 9:
        return ImportProblem(filename, f"refused: the reader was stopped, most likely out of memory "
                                       f"(limit GEO_IMPORT_MEMORY_MB={b.memory_mb:,})")
    return ImportProblem(filename, f"the reader stopped unexpectedly (exit {exitcode}); nothing was imported")


def resident_mb(pid) -> float | None:
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except (OSError, ValueError):
        return None
    return None


def work(conn, call, filename, args, kwargs, limits, b: Bounds):
    """In the worker: read, then send ("done", result), ("problem", ...) or ("bug", traceback)."""
    try:
        os.nice(10)
    except OSError:
        pass
    try:
        cap = b.memory_mb * 4 * MB
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    except (ValueError, OSError):
        pass
    last = [0.0, -1.0]

    def progress(fraction):
        now = time.monotonic()
        if fraction >= 1.0 or (now - last[0] > 0.2 and fraction - last[1] >= 0.005):
            last[:] = [now, fraction]
            conn.send(("progress", float(fraction)))

    try:
        result = getattr(importer, call)(*args, limits=limits, progress=progress, **kwargs)
        if len(result.frame) > b.rows:
            raise ImportProblem(filename, f"refused: {len(result.frame):,} rows (limit {b.rows:,}, GEO_IMPORT_ROWS)")
        message = ("done", result)
    except ImportProblem as err:
        message = ("problem", err.filename, err.message, err.row, err.column)
    except MemoryError:
        message = ("problem", filename, f"refused: reading needed more than {b.memory_mb:,} MB of memory "
                                        "(limit GEO_IMPORT_MEMORY_MB)", None, None)
    except OSError as err:
        if err.errno in (errno.ENOSPC, errno.EDQUOT):
            message = ("problem", filename, f"the temporary folder {tempfile.gettempdir()} is full: no space left "
                                            "to unpack this file (free some space, or point TMPDIR elsewhere)",
                       None, None)
        else:
            message = ("bug", traceback.format_exc())
    except Exception:
        message = ("bug", traceback.format_exc())
    try:
        conn.send(message)
    except Exception:  # the result would not pickle: a bug, said as one
        conn.send(("bug", traceback.format_exc()))
    conn.close()


def main(job_fd: int, result_fd: int) -> int:
    """The worker's life: load the importer, take one job, answer, exit."""
    jobs, results = Connection(job_fd, writable=False), Connection(result_fd, readable=False)
    try:
        job = jobs.recv()
    except EOFError:  # the parent went away (a command that ended, a server that stopped)
        return 0
    work(results, *job)
    return 0


if __name__ == "__main__":
    sys.exit(main(int(sys.argv[1]), int(sys.argv[2])))
