"""Benchmarks: measurements against the limits in DESIGN.md, run as `python -m bench.<name>`."""
