"""Benchmarks: implementations compared with their fair baseline in the same process."""
