"""Plot and tabulate a benchmark file written by `python -m bench --out FILE`.

    python -m bench.report FILE [FILE ...] [--png docs/performance.png]

Draws rerun time and deck payload against N (log-log, ours against naive) and prints the
Markdown tables that docs/performance.md quotes.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

STYLE = {"ours": ("#0072B2", "o", "-", "ours"), "naive": ("#D55E00", "s", "-", "naive (all points)"),
         "naive_window": ("#E69F00", "^", "--", "naive, cut to the window")}


def mb(n) -> str:
    return f"{n / 1e6:.2f} MB" if n >= 100_000 else f"{n / 1e3:.0f} KB"


def fmt_s(v) -> str:
    return "timeout" if v == "timeout" else f"{v * 1000:.0f} ms" if v < 10 else f"{v:.1f} s"


def plot(cases: list[dict], png: Path, timeout: float) -> None:
    tracks = [c for c in cases if c["case"] == "tracks"]
    claims = [c for c in cases if c["case"] == "claims"]
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 6.2), dpi=120)
    for key, (colour, marker, line, label) in STYLE.items():
        done = [(c["n"], c[key]) for c in tracks if isinstance(c[key], dict)]
        if done:
            left.plot([n for n, _ in done], [r["rerun_s"] for _, r in done], marker=marker, ls=line, color=colour,
                      label=label)
            right.plot([n for n, _ in done], [r["deck_bytes"] for _, r in done], marker=marker, ls=line,
                       color=colour, label=label)
        cut = [c["n"] for c in tracks if c[key] == "timeout"]
        if cut:
            left.scatter(cut, [timeout] * len(cut), marker="x", s=80, color=colour, zorder=5,
                         label=f"{label}: timeout (> {timeout:.0f} s)")
    ours = [c for c in tracks if isinstance(c["ours"], dict)]
    if ours:
        left.plot([c["n"] for c in ours], [c["ours"]["base_s"] for c in ours], ls=":", color="#555555",
                  label="ours: bundled deck alone (no tracks)")
        left.plot([c["n"] for c in ours], [c["ours"]["tracks_only_s"] for c in ours], ls=":", marker=".",
                  color="#0072B2", label="ours: track layers alone")
        naive = [c for c in tracks if isinstance(c["naive"], dict)]
        left.plot([c["n"] for c in naive], [c["naive"]["tracks_only_s"] for c in naive], ls=":", marker=".",
                  color="#D55E00", label="naive: track layers alone")
        right.plot([c["n"] for c in ours], [c["ours"]["track_bytes"] for c in ours], ls=":", marker=".",
                   color="#0072B2", label="ours: track layers alone")
    for c in claims:
        for key, (colour, _, _, label) in STYLE.items():
            if isinstance(c.get(key), dict):
                left.scatter([c["n"]], [c[key]["rerun_s"]], marker="*", s=140, color=colour, edgecolor="black",
                             zorder=6, label=f"{label}: {c['n']:,} claims")
                right.scatter([c["n"]], [c[key]["deck_bytes"]], marker="*", s=140, color=colour,
                              edgecolor="black", zorder=6)
    left.axhline(0.150, color="#009E73", lw=1, label="target at 10⁶: 150 ms")
    right.axhline(1e6, color="#009E73", lw=1, label="target at 10⁶: 1 MB")
    for ax, title, unit in ((left, "Deck rebuild per date step (median)", "seconds"),
                            (right, "Deck JSON per rerun", "bytes")):
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("N (track points; stars: claims)")
        ax.set_ylabel(unit)
        ax.set_title(title, fontsize=11)
        ax.grid(True, which="both", alpha=0.25)
    for ax in (left, right):
        ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=2, frameon=False)
    fig.tight_layout()
    fig.savefig(png)


def field(result, key, fmt) -> str:
    return fmt(result[key]) if isinstance(result, dict) else "timeout"


def times(v) -> str:
    return f"{v}×" if v is not None else "–"


def table(cases: list[dict]) -> str:
    rows = ["| case | N | load + prepare | rerun, ours | rerun, naive | speed-up | rerun, naive cut to window "
            "| speed-up | payload, ours | payload, naive | peak RSS, ours | peak RSS, naive |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for c in cases:
        if c["case"] not in ("tracks", "claims"):
            continue
        o, nv, nw = c["ours"], c["naive"], c["naive_window"]
        rows.append(f"| {c['case']} | {c['n']:,} | {o['load_and_prepare_s']:.2f} s | {fmt_s(o['rerun_s'])} "
                    f"| {field(nv, 'rerun_s', fmt_s)} | {times(c['speedup_rerun'])} "
                    f"| {field(nw, 'rerun_s', fmt_s)} | {times(c['speedup_rerun_window'])} "
                    f"| {mb(o['deck_bytes'])} | {field(nv, 'deck_bytes', mb)} "
                    f"| {o['peak_rss_mb']:.0f} MB | {field(nv, 'peak_rss_mb', lambda v: f'{v:.0f} MB')} |")
    rows += ["", "| tracks, N | bundled deck alone (ours) | tracks only, ours | tracks only, naive | speed-up "
             "| tracks only, naive cut to window | speed-up | track layers JSON | date steps in density mode "
             "| trails drawn | cache hit (unpickle) |", "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for c in cases:
        if c["case"] != "tracks":
            continue
        o, nv, nw = c["ours"], c["naive"], c["naive_window"]
        rows.append(f"| {c['n']:,} | {fmt_s(o['base_s'])} | {fmt_s(o['tracks_only_s'])} "
                    f"| {field(nv, 'tracks_only_s', fmt_s)} | {times(c.get('speedup_tracks_only'))} "
                    f"| {field(nw, 'tracks_only_s', fmt_s)} | {times(c.get('speedup_tracks_only_window'))} "
                    f"| {mb(o['track_bytes'])} | {o['density_steps']} of {o['steps']} | {o['trails']} "
                    f"| {fmt_s(o['cache_hit_s'])} |")
    browser = [c for c in cases if c["case"] == "browser"]
    if browser:
        rows += ["", "| view | N tracks | load avg | page open → map drawn | date step → deck arrived "
                 "| date step → map redrawn | each step (ms) | deck message |",
                 "|---|---:|---:|---:|---:|---:|---|---:|"]
        for c in browser:
            load = f"{c['loadavg_before']}–{c['loadavg_after']}"
            each = ", ".join("–" if v is None else str(v) for v in c["step_ms"])
            rows.append(f"| {c['view']} | {c['n']:,} | {load} | {c['open_median_ms']} ms "
                        f"| {c['step_deck_arrived_median_ms']} ms | {c['step_median_ms']} ms | {each} "
                        f"| {mb(c['deck_message_bytes'])} |")
    return "\n".join(rows)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.report")
    ap.add_argument("files", nargs="+", help="result files; their cases are shown together")
    ap.add_argument("--png", default="docs/performance.png")
    ap.add_argument("--timeout", type=float, default=60.0)
    a = ap.parse_args(argv)
    docs = [json.loads(Path(f).read_text()) for f in a.files]
    cases = [c for doc in docs for c in doc["cases"]]
    plot(cases, Path(a.png), a.timeout)
    print(table(cases))
    for doc in docs:
        print()
        print(json.dumps(doc["machine"], indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
