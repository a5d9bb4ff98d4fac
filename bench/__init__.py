"""KAM's benchmark harness: `make bench` (BENCH_SCALE=small|full).

Each scale has its own PostgreSQL database, built once with seed_demo and reused. Every case runs
in a fresh subprocess so its peak memory is its own; results print as a table and are written to
bench/results.json. Speed targets live here, never in the test suite.
"""
