"""One benchmark case, run in a fresh process so its peak memory is its own.

    python -m bench.measure {ours,naive,naive-window} {tracks,claims} FILE [--steps K] [--view V]

ours:          what the app does: geo.render.layers.build_deck with the frozen basemap and place
               layers and the prepared claims (both built once, in prepare_s), plus
               geo.render.tracks.track_layers (tracks), or the same over the synthetic claims
               (claims); CompactDeck JSON.
naive:         the same bundled layers plus the raw frame handed to pydeck as it is: a
               PathLayer per track and a ScatterplotLayer of every point (or every claim),
               serialised by pdk.Deck.to_json().
naive-window:  naive, but the frame cut to the date window first with pandas.

Each date step is timed from state to JSON string. st.cache_data hands every rerun a fresh
unpickled copy of what it caches, so that cost is timed too (cache_hit_s) but kept out of
rerun_s. Both builds share the bundled layers, so each step also serialises those alone,
untimed in rerun_s: tracks_only_s = building the track layers plus the part of the JSON
time they add. One step warms up and is not counted. Prints one JSON line per step as it goes (so
a parent that times it out still sees how far it got), then a summary line.
"""
from __future__ import annotations

import argparse
import json
import pickle
import resource
import statistics
import time

import pandas as pd
import pydeck as pdk

from bench import synthetic
from geo.view import records
from geo import style
from geo.data import dataset
from geo.render import layers, tracks
from geo.model import timeline
from geo.model.evidence import Filters

MONTHS = ["2024-01", "2024-02", "2024-03", "2024-04", "2024-05", "2024-06", "2024-07", "2024-08", "2024-09"]
WINDOW_DAYS = 31


def peak_rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)  # Linux reports KiB


def state_for(month: str, view: str) -> records.MapState:
    return records.MapState(date=timeline.month_end(month + "-01"), view=view)


def naive_track_layers(points: pd.DataFrame) -> list[pdk.Layer]:
    paths = pd.DataFrame([{"track_id": k, "path": g[["lon", "lat"]].to_numpy().tolist()}
                          for k, g in points.sort_values(["track_id", "t"]).groupby("track_id")],
                         columns=["track_id", "path"])
    return [pdk.Layer("PathLayer", id="tracks-path", data=paths, get_path="path", pickable=True),
            pdk.Layer("ScatterplotLayer", id="tracks", data=points, get_position=["lon", "lat"], pickable=True)]


def naive_claim_layers(claims: pd.DataFrame) -> list[pdk.Layer]:
    frame = pd.DataFrame(claims.drop(columns="geometry"))
    frame["lon"], frame["lat"] = claims.geometry.x, claims.geometry.y
    return [pdk.Layer("ScatterplotLayer", id="claims", data=frame.dropna(subset=["lon"]),
                      get_position=["lon", "lat"], pickable=True)]


def naive_deck(layer_list, view) -> pdk.Deck:
    return pdk.Deck(layers=layer_list, map_provider=None, tooltip=layers.tooltip(style.ANALYST),
                    initial_view_state=pdk.ViewState(longitude=view.longitude, latitude=view.latitude,
                                                     zoom=view.zoom))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.measure")
    ap.add_argument("mode", choices=["ours", "naive", "naive-window"])
    ap.add_argument("kind", choices=["tracks", "claims"])
    ap.add_argument("file")
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--view", default="sea")
    a = ap.parse_args(argv)
    months = MONTHS[: a.steps + 1]
    view = style.VIEWS[a.view]

    t0 = time.perf_counter()
    data = dataset.load()
    if a.kind == "tracks":
        raw = pd.read_parquet(a.file)
    else:
        raw = pd.read_pickle(a.file)
        data = synthetic.with_claims(data, raw)
    load_s = time.perf_counter() - t0
    basemap = layers.basemap_features(data.countries, data.countries_detail if view.detailed else None,
                                      style.ANALYST)
    t0 = time.perf_counter()
    prepared = tracks.prepare_tracks(raw) if (a.mode == "ours" and a.kind == "tracks") else None
    if a.mode == "ours":  # as the app's st.cache_resource entries: once per view, palette and filters
        static = layers.static_layers(data, a.view, False, basemap)
        ranked = records.prepare(data, Filters())
    prepare_s = time.perf_counter() - t0
    # What the app would hold in st.cache_data: the prepared tracks, the raw frame, or (claims) the dataset.
    held = data if a.kind == "claims" else prepared if prepared is not None else raw
    cached = pickle.dumps(held, protocol=pickle.HIGHEST_PROTOCOL)

    steps = []
    for i, month in enumerate(months):
        state = state_for(month, a.view)
        t0 = time.perf_counter()
        copy = pickle.loads(cached)
        t1 = time.perf_counter()
        if a.kind == "claims":
            data, copy = copy, copy.claims
        if a.mode == "ours":
            deck = layers.build_deck(data, state, basemap, static, ranked)
            base = list(deck.layers)
            t2 = time.perf_counter()
            extra = tracks.track_layers(copy, state.date, a.view, window_days=WINDOW_DAYS) if prepared else []
            deck.layers.extend(extra)
            t3 = time.perf_counter()
            text = deck.to_json()
        else:
            frame = copy
            if a.mode == "naive-window":
                column = "t" if a.kind == "tracks" else "reported_date"
                frame = frame[(frame[column] > state.date - pd.Timedelta(days=WINDOW_DAYS))
                              & (frame[column] <= state.date)]
            base = layers.build_layers(data, state, basemap)
            t2 = time.perf_counter()
            extra = naive_track_layers(frame) if a.kind == "tracks" else naive_claim_layers(frame)
            t3 = time.perf_counter()
            deck = naive_deck(base + extra, view)
            text = deck.to_json()
        t4 = time.perf_counter()
        alone = (layers.CompactDeck if a.mode == "ours" else pdk.Deck)(layers=base, map_provider=None)
        t5 = time.perf_counter()
        alone.to_json()
        base_json_s = time.perf_counter() - t5
        step = {"month": month, "rerun_s": t4 - t1, "cache_hit_s": t1 - t0, "base_s": t2 - t1,
                "tracks_s": t3 - t2, "json_s": t4 - t3, "base_json_s": base_json_s,
                "tracks_only_s": t3 - t2 + max(0.0, t4 - t3 - base_json_s), "deck_bytes": len(text.encode())}
        if prepared is not None:
            step["track_bytes"] = len(layers.CompactDeck(layers=extra, map_provider=None).to_json()) - len(
                layers.CompactDeck(layers=[], map_provider=None).to_json())
            step["density_cells"] = len(extra[0].data)
            step["trails"] = len(extra[2].data)
        print(json.dumps({"step": i, **{k: round(v, 4) if isinstance(v, float) else v for k, v in step.items()}}),
              flush=True)
        if i:  # the first step warms caches and is not counted
            steps.append(step)

    def median(key):
        return round(statistics.median(s[key] for s in steps), 4)

    summary = {"mode": a.mode, "kind": a.kind, "view": a.view, "rows": len(raw), "steps": len(steps),
               "load_s": round(load_s, 3), "prepare_s": round(prepare_s, 3),
               "load_and_prepare_s": round(load_s + prepare_s, 3),
               "rerun_s": median("rerun_s"), "rerun_s_each": [round(s["rerun_s"], 4) for s in steps],
               "cache_hit_s": median("cache_hit_s"), "base_s": median("base_s"), "tracks_s": median("tracks_s"),
               "json_s": median("json_s"), "tracks_only_s": median("tracks_only_s"),
               "deck_bytes": int(median("deck_bytes")),
               "deck_bytes_max": max(s["deck_bytes"] for s in steps), "cache_bytes": len(cached),
               "peak_rss_mb": peak_rss_mb()}
    if prepared is not None:
        summary.update(track_bytes=int(median("track_bytes")),
                       track_bytes_max=max(s["track_bytes"] for s in steps),
                       density_steps=sum(1 for s in steps if s["density_cells"]),
                       trails=int(median("trails")))
    print(json.dumps(summary), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
