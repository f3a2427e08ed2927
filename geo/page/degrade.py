"""The page without its store: when the workspace cannot be reached (PostGIS stopped or
restarting, a SQLite file on a disk that went away), the bundled map goes on with a notice,
and the next rerun tries again, so the page recovers by itself when the store answers.

Nothing here is cached: geo.page.resources keeps an opened store and a snapshot per version
only when they succeed, so a failure is never remembered.
"""
from __future__ import annotations

from geo.safetext import escape
from geo.store.workspace import Snapshot, Workspace, WorkspaceError

UNAVAILABLE = ("Your imported data is unavailable ({why}). The map shows the bundled data; your imports come back "
               "by themselves once the workspace answers again.")


def notice(problem: str) -> str:
    """The page's one line for a store that does not answer."""
    return UNAVAILABLE.format(why=escape(problem, 300))


def attempt(work, fallback=None):
    """work() or, if the store fails meanwhile, (fallback, the failure as one line)."""
    try:
        return work(), None
    except WorkspaceError as err:
        return fallback, escape(err, 300)
