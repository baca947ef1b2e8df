"""Benchmarks: implementations compared in the same process (``hybridqnn bench NAME``)."""
