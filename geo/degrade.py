"""The page without its store: when the workspace cannot be reached (PostGIS stopped or
restarting, a SQLite file on a disk that went away), the bundled map goes on with a notice,
and the next rerun tries again, so the page recovers by itself when the store answers.

Nothing here is cached: the app caches an opened store and a snapshot per version only when
they succeed (Streamlit does not cache a call that raises), so a failure is never remembered.
"""
from __future__ import annotations

from dataclasses import dataclass

from geo.safetext import escape
from geo.workspace import Snapshot, Workspace, WorkspaceError

UNAVAILABLE = ("Your imported data is unavailable ({why}). The map shows the bundled data; your imports come back "
               "by themselves once the workspace answers again.")


@dataclass(frozen=True)
class Reached:
    store: Workspace | None
    snapshot: Snapshot | None
    notice: str | None  # one line for the page, None when all is well


def reach(open_store, snapshot_of, target: str) -> Reached:
    """open_store(target) -> Workspace and snapshot_of(target, version) -> Snapshot, as the app
    caches them; any WorkspaceError becomes a notice instead of an error page."""
    try:
        store = open_store(target)
        return Reached(store, snapshot_of(target, store.version()), None)
    except WorkspaceError as err:
        return Reached(None, None, UNAVAILABLE.format(why=escape(err, 300)))


def attempt(work, fallback=None):
    """work() or, if the store fails meanwhile, (fallback, the failure as one line)."""
    try:
        return work(), None
    except WorkspaceError as err:
        return fallback, escape(err, 300)
