"""The workspace: the analyst's imported batches, behind one interface (geo.store.workspace.Workspace).

SQLite is the embedded default; a postgresql:// target opens the team's PostGIS store. Importing
this package registers every store, so `Workspace(target)` can pick one by its target.
"""
from geo.store import postgis, workspace  # noqa: F401  (postgis registers itself in workspace.BACKENDS)
