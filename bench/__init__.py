"""Side-by-side benchmark of flexprice-mock against Stoplight Prism (issue 6).

`python -m bench` starts each server afresh per run, warms it up, drives it with `wrk`, and prints
req/s, latency percentiles, non-2xx counts, start-up time and RSS with the mock/Prism ratio;
`python -m bench --smoke` checks the same plumbing with a handful of httpx requests, and
`python -m bench --growth` measures how request cost and memory grow with the store.
`--store memory,redis` (and `--workers N`) runs the mock on each store side by side (issue 13).
"""
