"""hybridqnn: train quantized and binary neural networks with quantum and quantum-inspired optimisation."""

from __future__ import annotations

__version__ = "0.1.0"
