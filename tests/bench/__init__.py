"""Benchmarks of DESIGN §8 (not tests: pytest collects nothing here). Run ``python tests/bench/run.py``."""
