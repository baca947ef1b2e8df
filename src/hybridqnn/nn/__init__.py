"""PyTorch modules: binary layers, qubit-neuron (natural quantization) layers, random feature
extractors, spline activations."""

from hybridqnn.nn.binary import BinaryConv2d, BinaryLayer, BinaryLinear, SignActivation, binarize
from hybridqnn.nn.binary_graph import BinaryGCNConv, aggregate
from hybridqnn.nn.features import RandomConvFeatures
from hybridqnn.nn.models import BinaryGCN, BinaryLogisticRegression, BinaryMLP, RealGCNConv, Scale
from hybridqnn.nn.natural import (
    NaturalActivation,
    NaturalQuantizedMLP,
    QubitRotation,
    SignMLP,
    WeakMeasurement,
)
from hybridqnn.nn.splines import SplineActivation

__all__ = [
    "BinaryConv2d",
    "BinaryGCN",
    "BinaryGCNConv",
    "BinaryLayer",
    "BinaryLinear",
    "BinaryLogisticRegression",
    "BinaryMLP",
    "NaturalActivation",
    "NaturalQuantizedMLP",
    "QubitRotation",
    "RandomConvFeatures",
    "RealGCNConv",
    "Scale",
    "SignActivation",
    "SignMLP",
    "SplineActivation",
    "WeakMeasurement",
    "aggregate",
    "binarize",
]
