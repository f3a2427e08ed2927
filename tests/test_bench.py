"""The benchmark: CI's smoke run finishes and reports every figure; the browser probe times a step."""
import json
import subprocess
import sys

import pytest

from conftest import DATA, ROOT, require_chromium

OURS = {"load_s", "prepare_s", "load_and_prepare_s", "rerun_s", "rerun_s_each", "cache_hit_s", "base_s",
        "tracks_s", "json_s", "tracks_only_s", "deck_bytes", "peak_rss_mb", "track_bytes", "density_steps",
        "trails"}
NAIVE = {"load_and_prepare_s", "rerun_s", "tracks_only_s", "deck_bytes", "peak_rss_mb"}


def test_smoke_run_prints_one_json_line_per_case_with_every_figure(tmp_path):
    before = sorted(p.name for p in DATA.rglob("*"))
    out = tmp_path / "bench.json"
    done = subprocess.run([sys.executable, "-m", "bench", "--smoke", "--out", str(out)], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert len(lines) == 1
    line = lines[0]
    assert line["case"] == "tracks" and line["n"] == 1000
    assert OURS <= set(line["ours"])
    for key in ("naive", "naive_window"):
        assert line[key] == "timeout" or NAIVE <= set(line[key])
    assert {"ratio_rerun", "speedup_rerun", "ratio_rerun_window", "speedup_rerun_window", "speedup_tracks_only",
            "speedup_tracks_only_window"} <= set(line)
    assert line["ours"]["peak_rss_mb"] > 50 and line["ours"]["deck_bytes"] > 0
    assert line["ours"]["track_bytes"] <= 900_000
    saved = json.loads(out.read_text())
    assert saved["cases"] == lines
    assert {"nproc", "cpu", "memory_gib", "python", "libraries"} <= set(saved["machine"])
    assert sorted(p.name for p in DATA.rglob("*")) == before, "the benchmark never writes into data/"


@pytest.mark.browser
def test_the_browser_benchmark_times_a_date_step_to_the_frame():
    """The in-page probe sees the deck arrive and the map redraw; without it the figures in
    docs/performance.md would silently turn into nothing."""
    require_chromium()
    from bench import browser
    out = browser.measure(0, view="overview", loads=1, steps=2, month="2024-07")
    assert out["page_errors"] == []
    assert all(ms is not None for ms in out["step_ms"]), out  # August and September 2024 change the map
    assert 0 < out["step_deck_arrived_median_ms"] < out["step_median_ms"] < 30_000
    assert out["deck_message_bytes"] > 100_000, "the largest message of a rerun is the deck"
