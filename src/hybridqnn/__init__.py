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

from hybridqnn._lazy import attach

__version__ = "0.1.0"

# name -> the subpackage that defines it (loaded on first access)
_API: dict[str, str] = {
    # solvers
    "get_sampler": "hybridqnn.solvers",
    # optimizers (QP-SBGD, arXiv 2310.15128, and its baselines)
    "QPSBGD": "hybridqnn.optim",
    "BinaryConnect": "hybridqnn.optim",
    "ProxQuant": "hybridqnn.optim",
    # layers and whole models
    "BinaryLinear": "hybridqnn.nn",
    "BinaryMLP": "hybridqnn.nn",
    "BinaryGCN": "hybridqnn.nn",
    "NaturalQuantizedMLP": "hybridqnn.nn",
    "RandomConvFeatures": "hybridqnn.nn",
    # training loops, fit functions and estimators
    "train_classifier": "hybridqnn.train",
    "train_gcn": "hybridqnn.train",
    "fit_natural": "hybridqnn.train",
    "fit_qubo_head": "hybridqnn.train",
    "fit_qcbo": "hybridqnn.train",
    "fit_qat": "hybridqnn.train",
    "QUBOHeadClassifier": "hybridqnn.train",
    "SGDHeadClassifier": "hybridqnn.train",
    "RandomConvTransformer": "hybridqnn.train",
    "QCBOClassifier": "hybridqnn.train",
    # trained models: keep, inspect, deploy
    "save_model": "hybridqnn.deploy.store",
    "load_model": "hybridqnn.deploy.store",
    "summary": "hybridqnn.deploy.summaries",
    "export_model": "hybridqnn.deploy.export",
    # data and experiments
    "load_dataset": "hybridqnn.data",
    "load_config": "hybridqnn.experiments",
    "run_experiment": "hybridqnn.experiments",
}

__all__ = ["__version__", *sorted(_API)]


__getattr__, __dir__ = attach(__name__, _API)
