"""Benchmarks (``hybridqnn bench NAME``): rows that compare implementations measured in the same
process, one module per benchmark."""
