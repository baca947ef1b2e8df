"""Where the data files live.

The data root holds one folder per data set::

    <root>/mnist/           train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz,
                            t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz
    <root>/fashion-mnist/   the same four file names
    <root>/kmnist/          the same four file names
    <root>/emnist/          emnist-<split>-{train,test}-{images-idx3,labels-idx1}-ubyte.gz
                            (and gzip.zip, the NIST archive, once downloaded)
    <root>/cifar-10/        cifar-10-batches-py/{data_batch_1..5,test_batch,batches.meta}
    <root>/libsvm/          a1a, a1a.t
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType

__all__ = ["DATA_ENV_VAR", "DATASET_DIRS", "resolve_data_root"]

DATA_ENV_VAR = "HYBRIDQNN_DATA"
"""Environment variable that names the data root when no ``data_dir`` is given."""

DATASET_DIRS: Mapping[str, str] = MappingProxyType(
    {
        "mnist": "mnist",
        "fashion-mnist": "fashion-mnist",
        "kmnist": "kmnist",
        "emnist": "emnist",
        "cifar10": "cifar-10",
        "a1a": "libsvm",
    }
)
"""Folder under the data root for each data set that is read from files."""


def resolve_data_root(data_dir: str | os.PathLike[str] | None = None) -> Path:
    """Return the data root folder; the folder is not created.

    The first of these that is set wins:

    1. ``data_dir``, when given;
    2. the environment variable ``HYBRIDQNN_DATA``, when set and not empty;
    3. ``$XDG_CACHE_HOME/hybridqnn/data`` when ``XDG_CACHE_HOME`` is set to an absolute path,
       otherwise ``~/.cache/hybridqnn/data``.

    Args:
        data_dir: An explicit data root.

    Returns:
        The data root, with ``~`` expanded.

    Raises:
        TypeError: If ``data_dir`` is neither ``None``, a string nor a path.
        ValueError: If ``data_dir`` is an empty string.
    """
    if data_dir is not None:
        if not isinstance(data_dir, (str, os.PathLike)):
            raise TypeError(
                f"'data_dir' must be a str, an os.PathLike or None, got {type(data_dir).__name__}"
            )
        text = os.fspath(data_dir)
        if not isinstance(text, str) or text == "":
            raise ValueError(f"'data_dir' must be a non-empty path, got {data_dir!r}")
        return Path(text).expanduser()
    env = os.environ.get(DATA_ENV_VAR, "")
    if env:
        return Path(env).expanduser()
    cache = os.environ.get("XDG_CACHE_HOME", "")
    # The XDG spec says relative values are invalid and must be ignored.
    base = Path(cache) if cache and os.path.isabs(cache) else Path.home() / ".cache"
    return base / "hybridqnn" / "data"
