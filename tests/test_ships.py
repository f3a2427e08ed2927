"""Ships as evidence: port polygons, the positions store, the detections and their engines, the AIS
import through the real importer and workspace, and `python -m geo detections`."""
from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bench import shipsdata as S
from geo.imports import importer
from geo.ships import ais, detections, ports, positions
from geo.store.workspace import Workspace

ROOT = Path(__file__).resolve().parent.parent
RAJIN = (130.3, 42.243)
VOSTOCHNY = (133.06, 42.74)
OPEN_SEA = (131.5, 41.6)  # far from every port polygon
H = pd.Timedelta(hours=1)


# --- the scenario: every event known ---------------------------------------------------------------------

def scenario() -> tuple[pd.DataFrame, list[tuple]]:
    """Synthetic tracks and the events they hold: (kind, mmsi, other_mmsi, start, end, place)."""
    parts, expected = [], []
    # A: sails into Rajin, stays a day, leaves; goes dark across the January/February boundary;
    # reappears, sails into Vostochny and the track ends there (an open call).
    sea_rajin = S.offset(*RAJIN, 0, -40)
    a1 = S.leg(101, "ALPHA", "2024-01-30 00:00", [sea_rajin, RAJIN], 10, imo="IMO9000001")
    a2 = S.stay(101, "ALPHA", S.end_of(a1) + 0.5 * H, *RAJIN, 24, every_min=30, sog=0.0, imo="IMO9000001")
    a3 = S.leg(101, "ALPHA", S.end_of(a2) + 0.5 * H, [RAJIN, sea_rajin], 10, imo="IMO9000001")
    dark_from = S.end_of(a3)
    east = S.offset(*VOSTOCHNY, 0, -60)
    a4 = S.leg(101, "ALPHA", dark_from + 20 * H, [east, VOSTOCHNY], 11, imo="IMO9000001")
    a5 = S.stay(101, "ALPHA", S.end_of(a4) + 0.5 * H, *VOSTOCHNY, 6, every_min=30, sog=0.0, imo="IMO9000001")
    alpha = S.track(a1, a2, a3, a4, a5)
    parts.append(alpha)
    inside_rajin = alpha[(alpha["t"] <= S.end_of(a2) + H) & in_port(alpha, "Rajin")]
    expected.append(("port_call", "101", "", inside_rajin["t"].min(), inside_rajin["t"].max(), "Rajin"))
    expected.append(("gap", "101", "", dark_from, dark_from + 20 * H, ""))
    inside_v = alpha[in_port(alpha, "Vostochny")]
    expected.append(("port_call", "101", "", inside_v["t"].min(), pd.NaT, "Vostochny"))
    # B and C: meet at sea, 200 m apart and drifting for 3 h; both loiter while they do.
    meet = pd.Timestamp("2024-02-10 06:00")
    for mmsi, name, north in ((102, "BRAVO", 0.0), (103, "CHARLIE", 0.2)):
        here = S.offset(*OPEN_SEA, 0, north)
        come = S.leg(mmsi, name, meet - 2 * H, [S.offset(*here, -45, 0), here], 12)
        come = come.assign(t=come["t"] - (S.end_of(come) - meet))
        drift = S.stay(mmsi, name, meet + pd.Timedelta(minutes=5), *here, 3, every_min=5, sog=0.4, drift_m=300)
        go = S.leg(mmsi, name, S.end_of(drift) + pd.Timedelta(minutes=5), [here, S.offset(*here, 45, 0)], 12)
        parts.append(S.track(come, drift, go))
        expected.append(("loitering", str(mmsi), "", meet, S.end_of(drift), ""))
    # D and E: side by side inside Rajin, slow, for 4 h: two port calls, no encounter, no loitering.
    for mmsi, name, north in ((104, "DELTA", 0.0), (105, "ECHO", 0.1)):
        here = S.offset(*RAJIN, 0.5, north)
        stay = S.stay(mmsi, name, "2024-02-12 00:00", *here, 4, every_min=10, sog=0.1)
        out = S.leg(mmsi, name, S.end_of(stay) + pd.Timedelta(minutes=10), [here, S.offset(*here, 0, -30)], 10)
        both = S.track(stay, out)
        parts.append(both)
        expected.append(("port_call", str(mmsi), "", stay["t"].min(), both.loc[in_port(both, "Rajin"), "t"].max(),
                         "Rajin"))
    # F and G: pass each other at 12 kn, 100 m apart: nothing.
    centre = S.offset(*OPEN_SEA, 60, 60)
    parts.append(S.leg(106, "FOXTROT", "2024-02-15 00:00", [S.offset(*centre, -30, 0), S.offset(*centre, 30, 0)],
                       12, every_min=2))
    parts.append(S.leg(107, "GOLF", "2024-02-15 00:00", [S.offset(*centre, 30, 0.1), S.offset(*centre, -30, 0.1)],
                       12, every_min=2))
    # H: alone, slow for 5 h at sea: loitering. I: slow for only 1 h: nothing.
    lone = S.offset(*OPEN_SEA, -80, 40)
    h_stay = S.stay(108, "HOTEL", "2024-02-20 00:00", *lone, 5, every_min=15, sog=1.0)
    parts.append(S.track(S.leg(108, "HOTEL", "2024-02-19 20:00", [S.offset(*lone, -40, 0), S.offset(*lone, -1, 0)],
                               12), h_stay))
    expected.append(("loitering", "108", "", h_stay["t"].min(), S.end_of(h_stay), ""))
    parts.append(S.track(S.stay(109, "INDIA", "2024-02-21 00:00", *S.offset(*lone, 0, -50), 1, sog=1.0),
                         S.leg(109, "INDIA", "2024-02-21 01:10", [S.offset(*lone, 0, -50), S.offset(*lone, 0, -90)], 12)))
    # The encounter of B and C: the steps within 500 m at which both are slow.
    expected.append(("encounter", "102", "103", meet + pd.Timedelta(minutes=10), meet + 3 * H, ""))
    frame = pd.concat(parts, ignore_index=True)
    return frame, expected


def in_port(frame, name):
    polys = ports.load()
    index = int(np.flatnonzero(polys["name"].to_numpy() == name)[0])
    return ports.port_at(polys, frame["lon"].to_numpy(), frame["lat"].to_numpy()) == index


def as_tuples(found: pd.DataFrame) -> list[tuple]:
    return sorted((r.kind, r.mmsi, r.other_mmsi, r.start, r.end, r.place) for r in found.itertuples())


def sorted_expected(expected):
    return sorted(expected, key=lambda e: (e[0], e[1], e[2], e[3], e[4] if e[4] is not pd.NaT else pd.Timestamp.max,
                                           e[5]))


def check_events(found: pd.DataFrame, expected: list[tuple]):
    """Every expected event found, none extra; times within a sampling step where the rule
    measures at steps (encounters), exact otherwise."""
    assert len(found) == len(expected), found[["kind", "vessel", "start", "end", "place"]].to_string()
    got = {(r.kind, r.mmsi, r.other_mmsi, r.place): r for r in found.itertuples()}
    for kind, mmsi, other, start, end, place in expected:
        row = got.get((kind, mmsi, other, place))
        assert row is not None, f"missing {kind} {mmsi} {other} {place}"
        tolerance = pd.Timedelta(minutes=10) if kind in ("encounter", "loitering") else pd.Timedelta(0)
        assert abs(row.start - pd.Timestamp(start)) <= tolerance, (kind, mmsi, row.start, start)
        if pd.isna(end):
            assert pd.isna(row.end), (kind, mmsi, row.end)
        else:
            assert abs(row.end - pd.Timestamp(end)) <= tolerance, (kind, mmsi, row.end, end)


@pytest.fixture(scope="module")
def known():
    return scenario()


# --- ports --------------------------------------------------------------------------------------------------

def test_port_polygons_are_drawn_from_cited_points_by_their_rule():
    bundled = ports.load()
    assert list(bundled["name"]) == ["Rajin", "Chongjin", "Vostochny", "Dunai", "Nakhodka", "Vladivostok"]
    assert set(bundled["precision"]) == {"approximate"}
    assert all(url.startswith("http") for url in bundled["source_url"])
    places = pd.read_csv(ROOT / "data" / "places.csv").set_index("id")
    for row in bundled.itertuples():
        if row.place_id:
            assert (row.lon, row.lat) == (places.loc[row.place_id, "lon"], places.loc[row.place_id, "lat"])
            assert row.source_url == places.loc[row.place_id, "source_url"]
        assert f"{row.radius_km:g} km" in row.rule
        edge_km = detections.haversine_km(row.lon, row.lat, *np.asarray(row.geometry.exterior.coords).T)
        assert np.allclose(edge_km, row.radius_km, rtol=0.005)  # a sphere against the ellipsoid
    assert (ROOT / "data" / "ports.geojson").read_text(encoding="utf-8") == ports.to_geojson(ports.build())


# --- detections on the scenario -------------------------------------------------------------------------------

def test_every_known_event_is_found_and_nothing_else(known):
    frame, expected = known
    found = detections.detect(frame)
    check_events(found, expected)
    assert list(found.columns)[:9] == ["kind", "vessel", "mmsi", "imo", "other_mmsi", "other_vessel", "start", "end",
                                       "place"]


def test_the_gap_across_the_month_boundary_is_found_once_with_where_it_went_dark(known):
    frame, _ = known
    gap = detections.detect(frame).query("kind == 'gap'")
    assert len(gap) == 1
    row = gap.iloc[0]
    assert row.start.month == 1 and row.end.month == 2
    assert row.vessel == "ALPHA" and row.imo == "9000001"
    km = detections.haversine_km(row.lon, row.lat, row.end_lon, row.end_lat)
    assert row.distance_km == pytest.approx(km) and row.distance_km > 50
    assert row.implied_knots == pytest.approx(row.distance_km / 1.852 / 20)


def test_a_call_without_a_final_exit_ends_open_and_says_so(known):
    frame, _ = known
    calls = detections.detect(frame).query("kind == 'port_call' and place == 'Vostochny'")
    assert len(calls) == 1 and pd.isna(calls.iloc[0].end)
    assert calls.iloc[0].detail.startswith("open: no position after")


def test_two_ships_meeting_in_a_port_and_a_fast_pass_are_no_encounters(known):
    frame, _ = known
    found = detections.detect(frame)
    encounters = found.query("kind == 'encounter'")
    assert [(r.mmsi, r.other_mmsi) for r in encounters.itertuples()] == [("102", "103")]
    assert not set(found["mmsi"]) & {"106", "107"}
    assert set(found.loc[found["mmsi"].isin(["104", "105"]), "kind"]) == {"port_call"}


def test_calls_at_a_port_in_a_period_for_a_claims_panel(known):
    frame, _ = known
    found = detections.detect(frame)
    assert detections.calls_at(found, "Rajin") == {
        "calls": 3, "vessels": 3, "first": found.query("place == 'Rajin'")["start"].min(),
        "last": pd.Timestamp("2024-02-12 00:00")}
    assert detections.calls_at(found, ["Rajin", "Vostochny"], "2024-02-01", "2024-02-11")["calls"] == 1
    assert detections.calls_at(found, "Dunai")["calls"] == 0


def test_parameters_change_what_is_found(known):
    frame, _ = known
    longer = detections.detect(frame, detections.Params(gap_hours=21))
    assert "gap" not in set(longer["kind"])
    poor = detections.detect(frame, detections.Params(poor_reception=((130.0, 41.5, 131.0, 42.5),)))
    assert "gap" not in set(poor["kind"])  # it went dark inside the box
    strict = detections.detect(frame, detections.Params(encounter_distance_m=100))
    assert "encounter" not in set(strict["kind"])


def test_detections_are_deterministic_whatever_the_row_order(known):
    frame, _ = known
    first = detections.detect(frame)
    shuffled = detections.detect(frame.sample(frac=1.0, random_state=7))
    pd.testing.assert_frame_equal(first, shuffled)
    assert first["start"].is_monotonic_increasing


# --- the positions store ---------------------------------------------------------------------------------------

def test_store_reads_only_the_window_and_area_asked_and_grids(tmp_path, known):
    frame, expected = known
    positions.write_batch(tmp_path, 1, frame)
    assert positions.months(tmp_path) == ["2024-01", "2024-02"]
    january = positions.read_window("2024-01-01", "2024-02-01", root=tmp_path)
    assert len(january) == int((frame["t"] < "2024-02-01").sum())
    assert positions.files_for(tmp_path, "2024-01-01", "2024-02-01") == \
        [str(p) for p in sorted((tmp_path / "batch=000001" / "month=2024-01").glob("*.parquet"))]
    box = (130.0, 42.0, 130.6, 42.5)
    inside = positions.read_window("2024-01-01", "2024-03-01", bbox=box, root=tmp_path)
    assert len(inside) == int(frame["lon"].between(130.0, 130.6).mul(frame["lat"].between(42.0, 42.5)).sum())
    cells = positions.grid("2024-01-01", "2024-03-01", None, 0.5, root=tmp_path)
    assert int(cells["positions"].sum()) == len(frame)
    check_events(detections.detect_store(tmp_path), expected)
    check_events(detections.detect_store(tmp_path, vessels_per_pass=500), expected)  # several passes
    assert positions.remove_batch(tmp_path, 1) and positions.read_window(root=tmp_path).empty


# --- import through the real importer and workspace ------------------------------------------------------------

def write_ais_csv(path: Path, frame: pd.DataFrame, lower: bool = False) -> None:
    header = ["MMSI", "BaseDateTime", "LAT", "LON", "SOG", "COG", "Heading", "VesselName", "IMO", "CallSign",
              "VesselType", "Status", "Length", "Width", "Draft", "Cargo", "TransceiverClass"]
    if lower:
        header = ["mmsi", "base_date_time", "latitude", "longitude", "sog", "cog", "heading", "vessel_name", "imo",
                  "call_sign", "vessel_type", "status", "length", "width", "draft", "cargo", "transceiver"]
    with open(path, "w", newline="", encoding="utf-8") as handle:
        out = csv.writer(handle)
        out.writerow(header)
        for r in frame.itertuples():
            out.writerow([r.mmsi, r.t.strftime("%Y-%m-%dT%H:%M:%S"), f"{r.lat:.6f}", f"{r.lon:.6f}", r.sog, r.cog,
                          511, r.name, f"IMO{r.imo}" if r.imo and not str(r.imo).startswith("IMO") else r.imo,
                          "", 80, "", "", "", "", "", "A"])


def test_an_ais_export_imports_as_tracks_with_no_options_and_removal_deletes_its_partitions(tmp_path, known):
    frame, expected = known
    path = tmp_path / "AIS_2024_02.csv"
    write_ais_csv(path, frame)
    result = importer.read_file(path)
    assert result.kind == "tracks" and {"mmsi", "imo", "sog"} <= set(result.frame.columns)
    ws = Workspace(tmp_path / "ws.sqlite")
    batch = ws.add(result)
    root = tmp_path / "ws.sqlite.positions"
    assert ws.positions_root == root and positions.batch_ids(root) == [batch]
    assert len(ws.tracks()) == len(frame)  # the track drawing keeps its points
    stored = positions.read_window(root=root)
    assert len(stored) == len(frame) and set(stored["imo"]) == {"", "9000001"}
    check_events(detections.detect_store(ws), expected)
    ws.remove(batch)
    assert positions.batch_ids(root) == [] and not list(root.glob("batch=*"))
    assert detections.detect_store(ws).empty


def test_a_large_ais_export_streamed_by_the_importer_keeps_its_vessel_columns(tmp_path, known, monkeypatch):
    from geo.imports import bigcsv
    frame, expected = known
    path = tmp_path / "AIS_big.csv"
    write_ais_csv(path, frame)
    monkeypatch.setattr(bigcsv, "STREAM_BYTES", 1024)
    result = importer.read_file(path)
    assert result.details.get("streamed") and result.kind == "tracks"
    assert set(result.frame["imo"].astype(str)) == {"", "9000001"}
    ws = Workspace(tmp_path / "ws.sqlite")
    ws.add(result)
    stored = positions.read_window(root=ws.positions_root)
    assert len(stored) == len(frame) and stored["sog"].notna().all()
    check_events(detections.detect_store(ws), expected)


def test_a_failed_import_leaves_no_partitions(tmp_path, known, monkeypatch):
    frame, _ = known
    path = tmp_path / "ais.csv"
    write_ais_csv(path, frame.head(200))
    result = importer.read_file(path)
    ws = Workspace(tmp_path / "ws.sqlite")

    def broken(*args, **kwargs):
        raise OSError("disk full")
    monkeypatch.setattr("geo.store.workspace.track_rows", broken)
    with pytest.raises(OSError):
        ws.add(result)
    root = tmp_path / "ws.sqlite.positions"
    assert not list(root.glob("*")) and ws.batches().empty


def test_streaming_import_of_a_large_export_in_chunks(tmp_path, known):
    frame, expected = known
    path = tmp_path / "ais_lower.csv"
    write_ais_csv(path, frame, lower=True)
    seen = []
    out = ais.import_file(path, tmp_path / "pos", 7, chunk_rows=300, progress=seen.append)
    assert out["rows"] == len(frame) and out["problems"] == []
    assert seen[-1] == 1.0 and len(seen) >= 1
    months = sorted(p.parent.name for p in (tmp_path / "pos" / "batch=000007").rglob("*.parquet"))
    assert months == ["month=2024-01", "month=2024-02"]  # one file per month, written chunk by chunk
    check_events(detections.detect_store(tmp_path / "pos"), expected)


def test_bad_rows_are_named_by_row_and_column(tmp_path, known):
    frame, _ = known
    path = tmp_path / "bad.csv"
    write_ais_csv(path, frame.head(50))
    lines = path.read_text(encoding="utf-8").splitlines()
    cells = lines[10].split(",")
    cells[2] = "north"  # LAT on row 11
    lines[10] = ",".join(cells)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = ais.import_file(path, tmp_path / "pos", 1)
    assert out["rows"] == 49 and out["problems"][0].startswith("row 11, column LAT: not a latitude")
    with pytest.raises(importer.ImportProblem) as err:
        ais.import_file(path, tmp_path / "pos", 2, strict=True)
    assert str(err.value).startswith("bad.csv: row 11, column LAT:") and "\n" not in str(err.value)
    assert positions.batch_ids(tmp_path / "pos") == [1]  # nothing of the refused file


def test_parquet_input(tmp_path, known):
    frame, expected = known
    path = tmp_path / "ais.parquet"
    frame.rename(columns={"t": "BaseDateTime", "lon": "LON", "lat": "LAT", "mmsi": "MMSI"}).to_parquet(path)
    out = ais.import_file(path, tmp_path / "pos", 3)
    assert out["rows"] == len(frame)
    check_events(detections.detect_store(tmp_path / "pos"), expected)


def test_the_generated_parquet_export_imports_to_the_same_store_as_the_generated_csv(tmp_path):
    """The benchmark's two formats carry the same positions, so sizes measured in either compare."""
    S.write_ais_csv(tmp_path / "ais.csv", S.generate_chunks(60_000, seed=2, vessels=6, chunk_rows=20_000))
    written = S.write_ais_parquet(tmp_path / "ais.parquet", S.generate_arrays(60_000, seed=2, vessels=6,
                                                                               chunk_rows=20_000))
    assert written == 60_000
    from_csv = ais.import_file(tmp_path / "ais.csv", tmp_path / "csv", 1)
    from_parquet = ais.import_file(tmp_path / "ais.parquet", tmp_path / "pq", 1)
    assert from_csv["rows"] == from_parquet["rows"] == 60_000 and not from_parquet["problems"]
    a = positions.read_window(root=tmp_path / "csv").drop(columns="batch_id")
    b = positions.read_window(root=tmp_path / "pq").drop(columns="batch_id")
    pd.testing.assert_frame_equal(a, b)
    assert set(b["imo"]) == {"", "9000001", "9000002", "9000004", "9000005"}
    pd.testing.assert_frame_equal(detections.detect_store(tmp_path / "csv"), detections.detect_store(tmp_path / "pq"))


def test_reading_a_parquet_export_holds_memory_to_a_chunk_however_long_the_file(tmp_path):
    import pyarrow as pa
    path = tmp_path / "ais.parquet"
    S.write_ais_parquet(path, S.generate_arrays(2_000_000, seed=4, vessels=40, chunk_rows=50_000))
    held = []
    for chunk in ais.read_chunks(path, chunk_rows=50_000):
        held.append(pa.total_allocated_bytes())
        del chunk
    assert len(held) == 40
    # a reader that kept what it had read would hold about 40 MB more by the end than after 5 chunks
    assert held[-1] - held[4] < 8 * 2**20, [round(h / 2**20) for h in held]


# --- the command line ------------------------------------------------------------------------------------------

def run_cli(*args, env=None):
    return subprocess.run([sys.executable, "-m", "geo", *args], capture_output=True, text=True, cwd=ROOT,
                          env={**os.environ, **(env or {})}, timeout=300)


def test_cli_detections_lists_what_the_tracks_show(tmp_path, known):
    frame, expected = known
    path = tmp_path / "AIS_2024_02.csv"
    write_ais_csv(path, frame)
    env = {"GEO_WORKSPACE": str(tmp_path / "ws.sqlite"), "GEO_POSITIONS_DIR": ""}
    imported = run_cli("import", str(path), env=env)
    assert imported.returncode == 0, imported.stderr
    listed = run_cli("detections", env=env)
    assert listed.returncode == 0, listed.stderr
    table = pd.read_csv(__import__("io").StringIO(listed.stdout), dtype=str, keep_default_na=False)
    assert list(table.columns)[:5] == ["kind", "vessel", "start", "end", "place"]
    assert len(table) == len(expected)
    assert table.query("kind == 'port_call' and place == 'Vostochny'")["end"].tolist() == [""]
    as_json = json.loads(run_cli("detections", "--format", "json", "--gap-hours", "21", env=env).stdout)
    assert "gap" not in {d["kind"] for d in as_json} and len(as_json) == len(expected) - 1
    window = run_cli("detections", "--since", "2024-02-01", "--until", "2024-02-11", env=env)
    kinds = pd.read_csv(__import__("io").StringIO(window.stdout))["kind"].tolist()
    assert sorted(kinds) == ["encounter", "loitering", "loitering", "port_call"]
    bad = run_cli("detections", "--since", "someday", env=env)
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "Traceback" not in bad.stderr


# --- the distributed engine ------------------------------------------------------------------------------------

def test_embedded_and_distributed_engines_give_identical_detections(tmp_path, known):
    """A real LocalCluster of two worker processes, against DuckDB in this process, on the
    scenario plus generated traffic (so the work is split into several buckets and slices)."""
    from geo.ships import distributed
    frame, expected = known
    noise = S.generate(40_000, seed=3, vessels=8, start="2024-01-25", days=30)
    positions.write_batch(tmp_path, 1, frame)
    positions.write_batch(tmp_path, 2, noise)
    embedded = detections.detect_store(tmp_path, vessels_per_pass=10_000)
    window = ("2024-02-01", "2024-02-11")
    with distributed.cluster(workers=2) as client:
        assert len(client.scheduler_info()["workers"]) == 2
        spread = distributed.detect_dask(tmp_path, client=client, rows_per_task=8_000)
        spread_window = distributed.detect_dask(tmp_path, *window, client=client, rows_per_task=8_000)
    assert len(embedded) > len(expected)  # the generated traffic adds its own events
    pd.testing.assert_frame_equal(embedded, spread)
    pd.testing.assert_frame_equal(detections.detect_store(tmp_path, *window), spread_window)
    ours = embedded[embedded["mmsi"].str.len() == 3]
    check_events(ours[ours["other_mmsi"].str.len() != 9], expected)
