"""bench.pageload's report: the long tasks it reads from a trace, and its table's ratios."""
from bench import pageload


def test_long_tasks_name_what_ran_inside_them():
    task = {"ph": "X", "name": "ThreadControllerImpl::RunTask", "ts": 1_000_000, "dur": 2_000_000, "pid": 1, "tid": 2}
    inside = {"ph": "X", "name": "FunctionCall", "ts": 1_100_000, "dur": 900_000, "pid": 1, "tid": 2,
              "args": {"data": {"url": "http://127.0.0.1:1/static/js/DeckGlJsonChart.js"}}}
    elsewhere = dict(inside, tid=3)
    short = dict(task, ts=5_000_000, dur=10_000)
    tasks = pageload.long_tasks({"traceEvents": [task, inside, elsewhere, short]}, top=5)
    assert tasks == [{"at_ms": 0, "ms": 2000, "thread": 2, "inside": ["FunctionCall DeckGlJsonChart.js 900 ms"]}]


def test_the_table_gives_ratios_to_the_floor_and_to_kepler():
    out = {"chromium": "156", "cpus": 2, "viewport": {"width": 1440, "height": 900}, "rounds": 2,
           "loadavg_before": 1.0, "loadavg_after": 1.5, "cold_s": {},
           "warm_s": {"floor (one pydeck layer)": [1.0, 1.2], "dashboard, analyst": [5.0, 5.4], "kepler.gl": [4.0, 4.4]},
           "median_s": {"floor (one pydeck layer)": 1.1, "dashboard, analyst": 5.2, "kepler.gl": 4.2}}
    rows = {line.split(" | ")[0].strip("| "): line for line in pageload.table(out).splitlines() if line.startswith("| ")}
    assert "| 5.20 s | 5.00, 5.40 | 4.73 | 1.24 |" in rows["dashboard, analyst"]
    assert rows["kepler.gl"].endswith("| 3.82 | 1.00 |")
