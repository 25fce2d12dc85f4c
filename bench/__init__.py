"""Benchmarks of bassi-tui: run bench/bench.py."""
