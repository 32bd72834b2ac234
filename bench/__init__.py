"""Benchmarks: `make bench` prints figures with their baselines measured in the same run."""
