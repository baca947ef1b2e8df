"""PyTorch modules: random feature extractors (and, in later issues, binary and quantum layers)."""

from hybridqnn.nn.features import RandomConvFeatures

__all__ = ["RandomConvFeatures"]
