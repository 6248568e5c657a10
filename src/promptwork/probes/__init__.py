"""Probes (issue 21): derive cells from a suite's own tests, run them with the originals in one
ordinary run, and measure robustness, consistency, bias, off-topic answers and injection."""
