"""Published checksums of the data files, and the helpers that verify them.

:data:`CHECKSUMS` maps a data set's folder (see :data:`hybridqnn.data.paths.DATASET_DIRS`) to a
mapping from file name to its expected hex digest. A 32-character digest is an MD5, a
64-character one a SHA-256; ``None`` means that no published checksum is known and the file is
not verified. The table is read at call time through :func:`expected_checksums`, so tests can
replace it with ``monkeypatch.setattr(checksums, "CHECKSUMS", {...})``.

Sources: torchvision's published MD5s (MNIST, Fashion-MNIST, KMNIST, the EMNIST zip and
CIFAR-10), and ``shared/data/MANIFEST.md`` for LIBSVM a1a.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType

from hybridqnn.errors import InputFileError

logger = logging.getLogger(__name__)

__all__ = [
    "CHECKSUMS",
    "DataIntegrityError",
    "digest_algorithm",
    "expected_checksums",
    "file_digest",
    "verify_file",
]

_CHUNK = 1 << 20


class DataIntegrityError(InputFileError):
    """A data file is corrupt: wrong checksum, truncated, or not in the expected format.

    It is the project's :class:`~hybridqnn.errors.InputFileError` (a ``ValueError``) for data
    files: one line naming the file, the rule and what was found."""


def _frozen(table: dict[str, dict[str, str | None]]) -> Mapping[str, Mapping[str, str | None]]:
    return MappingProxyType({key: MappingProxyType(dict(files)) for key, files in table.items()})


CHECKSUMS: Mapping[str, Mapping[str, str | None]] = _frozen(
    {
        "mnist": {
            "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
            "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
            "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
            "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
        },
        "fashion-mnist": {
            "train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
            "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
            "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
            "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310",
        },
        "kmnist": {
            "train-images-idx3-ubyte.gz": "bdb82020997e1d708af4cf47b453dcf7",
            "train-labels-idx1-ubyte.gz": "e144d726b3acfaa3e44228e80efcd344",
            "t10k-images-idx3-ubyte.gz": "5c965bf0a639b31b8f53240b1b52f4d7",
            "t10k-labels-idx1-ubyte.gz": "7320c461ea6c1c855c0b718fb2a4b134",
        },
        # Only the NIST archive has a published checksum; the split files extracted from it
        # are not verified one by one (a missing key means "no checksum known").
        "emnist": {
            "gzip.zip": "58c8d27c78d21e728a6bc7b3cc06412e",
        },
        "cifar-10": {
            "cifar-10-python.tar.gz": "c58f30108f718f92721af3b95e74349a",
            "data_batch_1": "c99cafc152244af753f735de768cd75f",
            "data_batch_2": "d4bba439e000b95fd0a9bffe97cbabec",
            "data_batch_3": "54ebc095f3ab1f0389bbae665268c751",
            "data_batch_4": "634d18415352ddfa80567beed471001a",
            "data_batch_5": "482c414d41f54cd18b22e5b47cb7c3cb",
            "test_batch": "40351d587109b95175f43aff81a1287e",
            "batches.meta": "5ff9c542aee3614f3951f8cda6e48888",
        },
        "libsvm": {
            "a1a": "b62d93d768db2423dd06fadb24ea0c1f",
            "a1a.t": "4408b51b14837fb378b236462c2e4a5c",
        },
    }
)


def expected_checksums(key: str) -> Mapping[str, str | None]:
    """Return the file-name → digest table of the data set folder ``key`` (empty if unknown).

    Args:
        key: A data set folder name such as ``"mnist"`` or ``"cifar-10"``.

    Returns:
        A read-only mapping; files that are not listed have no known checksum.
    """
    return CHECKSUMS.get(key, MappingProxyType({}))


def digest_algorithm(expected: str) -> str:
    """Return ``"md5"`` or ``"sha256"`` for a 32- or 64-digit hex digest.

    Raises:
        ValueError: If ``expected`` has another length.
    """
    if len(expected) == 32:
        return "md5"
    if len(expected) == 64:
        return "sha256"
    raise ValueError(
        f"expected checksum must be a 32-digit MD5 or a 64-digit SHA-256 hex string, got {expected!r}"
    )


def file_digest(path: str | os.PathLike[str], algorithm: str = "md5") -> str:
    """Return the hex digest of a file, read in 1 MiB chunks.

    Args:
        path: The file to hash.
        algorithm: A :mod:`hashlib` algorithm name, ``"md5"`` or ``"sha256"``.

    Returns:
        The lower-case hex digest.
    """
    digest = hashlib.new(algorithm)
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def verify_file(path: str | os.PathLike[str], expected: str | None) -> None:
    """Check a file against its expected MD5 or SHA-256 digest.

    Args:
        path: The file to check.
        expected: The expected hex digest (32 digits: MD5, 64 digits: SHA-256), or ``None`` to
            skip the check.

    Raises:
        DataIntegrityError: If the digest differs; the message names the file.
    """
    path = Path(path)
    if expected is None:
        logger.debug("no published checksum for %s; not verified", path)
        return
    algorithm = digest_algorithm(expected)
    actual = file_digest(path, algorithm)
    if actual != expected.lower():
        raise DataIntegrityError(
            f"checksum mismatch for {path}: expected {algorithm} {expected.lower()}, got {actual} "
            "(the file is corrupt or not the published one; delete it and download it again)"
        )
    logger.debug("verified %s (%s)", path, algorithm)
