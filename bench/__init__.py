"""Benchmarks: each script measures one target of docs/benchmarks.md beside its baseline in the
same run."""
