"""Benchmarks that produce the figures in docs/benchmarks.md; run them with ``python -m benchmarks.<name>``."""
