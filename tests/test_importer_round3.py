"""Round three of bring-your-own-data: tables, encodings and tracks as analysts have them, each
case with a file the test writes itself."""
import time

import pandas as pd
import pytest

from geo import importer
from geo.importer import ImportProblem, read_file


@pytest.fixture(autouse=True)
def private_workspace(tmp_path, monkeypatch):
    path = tmp_path / "store" / "workspace.sqlite"
    monkeypatch.setenv("GEO_WORKSPACE", str(path))
    return path


# --- readers linear in their input ---------------------------------------------------------------------

def test_a_header_of_20000_columns_is_read_in_time_proportional_to_it(tmp_path):
    path = tmp_path / "wide.csv"
    width = 20_000
    header = ",".join(f"c{i}" for i in range(width)) + ",lat,lon"
    row = ",".join(str(i % 7) for i in range(width)) + ",42.1,130.2"
    path.write_text(f"{header}\n{row}\n{row}\n")
    start = time.perf_counter()
    found = importer.preview(path)
    took = time.perf_counter() - start
    assert found["feature_count"] == 2 and found["coordinate_columns"] == ["lon", "lat"]
    assert len(found["source_columns"]) == width + 2
    assert took < 8, f"{took:.1f} s for a 20,000-column header (was 36 s when quadratic)"


def test_duplicate_names_in_a_wide_header_are_still_refused(tmp_path):
    path = tmp_path / "wide.csv"
    names = [f"c{i}" for i in range(5000)] + ["c17", "lat", "lon"]
    path.write_text(",".join(names) + "\n" + ",".join("1" for _ in names) + "\n")
    with pytest.raises(ImportProblem, match="duplicate column name"):
        read_file(path)
