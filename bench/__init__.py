"""Benchmarks: synthetic tracks and claims at 10^3..10^6 rows, our deck against a naive one.

`python -m bench` prints one JSON line per case; see bench/run.py and docs/performance.md.
"""
