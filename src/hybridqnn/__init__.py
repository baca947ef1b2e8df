"""hybridqnn: train quantized and binary neural networks with quantum and quantum-inspired
optimisation.

The public API, in one import::

    import hybridqnn as hq

    ds = hq.load_dataset("digits")                        # bundled with scikit-learn
    features = hq.RandomConvFeatures.for_images(ds.image_shape, seed=0)
    features.fit(ds.x_train)
    clf = hq.QUBOHeadClassifier(bits=10, sampler=hq.get_sampler("dense-sa"))
    clf.fit(features.transform(ds.x_train), ds.y_train)  # one QUBO per class and iteration
    clf.score(features.transform(ds.x_test), ds.y_test)

    result = hq.run_experiment(hq.load_config("quickstart", quick=True))

Solvers are ``dimod`` samplers, learning speaks PyTorch (modules and optimizers) and
scikit-learn (estimators). Everything else lives in the subpackages: ``hybridqnn.problems``
(QUBO/CQM builders), ``hybridqnn.solvers``, ``hybridqnn.nn``, ``hybridqnn.optim``,
``hybridqnn.train``, ``hybridqnn.deploy`` (saved models, summaries, bit-packed and ONNX
export), ``hybridqnn.data``, ``hybridqnn.experiments``, ``hybridqnn.quantum`` and
``hybridqnn.testing``. Names load on first use, so ``import hybridqnn`` does not import torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hybridqnn._lazy import attach, type_checking_imports

__version__ = "0.1.0"

if TYPE_CHECKING:  # the public API, loaded on first use (PEP 562): no torch at import
    from hybridqnn.data import load_dataset
    from hybridqnn.deploy.export import export_model
    from hybridqnn.deploy.store import load_model, save_model
    from hybridqnn.deploy.summaries import summary
    from hybridqnn.experiments import load_config, run_experiment
    from hybridqnn.nn import (
        BinaryGCN,
        BinaryLinear,
        BinaryMLP,
        NaturalQuantizedMLP,
        RandomConvFeatures,
    )
    from hybridqnn.optim import QPSBGD, BinaryConnect, ProxQuant
    from hybridqnn.solvers import get_sampler
    from hybridqnn.train import (
        QCBOClassifier,
        QUBOHeadClassifier,
        RandomConvTransformer,
        SGDHeadClassifier,
        fit_natural,
        fit_qat,
        fit_qcbo,
        fit_qubo_head,
        train_classifier,
        train_gcn,
    )

_API = type_checking_imports(__file__)

__all__ = [
    "__version__",
    "BinaryConnect",
    "BinaryGCN",
    "BinaryLinear",
    "BinaryMLP",
    "NaturalQuantizedMLP",
    "ProxQuant",
    "QCBOClassifier",
    "QPSBGD",
    "QUBOHeadClassifier",
    "RandomConvFeatures",
    "RandomConvTransformer",
    "SGDHeadClassifier",
    "export_model",
    "fit_natural",
    "fit_qat",
    "fit_qcbo",
    "fit_qubo_head",
    "get_sampler",
    "load_config",
    "load_dataset",
    "load_model",
    "run_experiment",
    "save_model",
    "summary",
    "train_classifier",
    "train_gcn",
]


__getattr__, __dir__ = attach(__name__, _API)
