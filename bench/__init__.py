"""Benchmarks: each script measures a DESIGN.md §7 target beside its baseline in the same run."""
