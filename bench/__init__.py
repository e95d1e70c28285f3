"""Benchmarks: history generator and measurements (not shipped in the package)."""
