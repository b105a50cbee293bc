"""Benchmarks of ProcScope's speed targets (not tests: pytest collects nothing here): ``tests/bench/run.py``."""
