import csv
import os
import shutil
from pathlib import Path

import pytest

from geo.data import dataset

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "data"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")


@pytest.fixture(autouse=True, scope="session")
def private_workspace(tmp_path_factory):
    """Nothing a test imports may reach the user's own workspace."""
    path = tmp_path_factory.mktemp("workspace") / "workspace.sqlite"
    os.environ["GEO_WORKSPACE"] = str(path)
    return path


@pytest.fixture(scope="session")
def data():
    return dataset.load(DATA)


@pytest.fixture
def data_copy(tmp_path) -> Path:
    """A scratch copy of the bundled data that a test may break."""
    target = tmp_path / "data"
    shutil.copytree(DATA, target)
    return target


def read_rows(path: Path) -> list[dict]:
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def write_rows(path: Path, rows: list[dict], fieldnames=None):
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=fieldnames or list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def require_chromium():
    """Browser tests skip on a laptop without Chromium, but fail under CI, where it must be installed."""
    if Path(CHROMIUM).exists():
        return CHROMIUM
    if os.environ.get("CI"):
        pytest.fail(f"CI=true but Chromium is missing at {CHROMIUM}")
    pytest.skip(f"Chromium not found at {CHROMIUM}")


@pytest.fixture(scope="session")
def postgres():
    """A throwaway PostgreSQL + PostGIS server (tests/pg_server.py). Skipped on a laptop without
    PostgreSQL; under CI=true, where .ci/run installs it, failing to start it is a failure."""
    try:
        import pg_server
        server = pg_server.Server()
    except Exception as err:  # Unavailable, or psycopg missing
        if os.environ.get("CI"):
            pytest.fail(f"CI=true but no PostgreSQL/PostGIS server could be started: {err}")
        pytest.skip(f"no PostgreSQL/PostGIS here: {err}")
    yield server
    server.stop()


@pytest.fixture(params=["sqlite", "postgis"])
def store(request, tmp_path, monkeypatch) -> str:
    """GEO_WORKSPACE for one test, once per store: a fresh SQLite file, or a fresh PostGIS database."""
    if request.param == "sqlite":
        target = str(tmp_path / "store" / "workspace.sqlite")
    else:
        target = request.getfixturevalue("postgres").new_database()
    monkeypatch.setenv("GEO_WORKSPACE", target)
    return target


def shown(markdown: str) -> str:
    """What a reader sees of a Markdown string the page escaped (geo.page.text.plain)."""
    import re
    return re.sub(r"\\(.)", r"\1", markdown).replace("\u200b", "")


def valid_on(frame, when, start: str, end: str):
    """A test's own reckoning of the rows whose [start, end] covers `when` (an empty end: still
    valid), to hold the map's record builders (geo.model.timeline.covers) against."""
    import pandas as pd
    when = pd.Timestamp(when)
    return frame[(frame[start] <= when) & (frame[end].isna() | (frame[end] >= when))]
