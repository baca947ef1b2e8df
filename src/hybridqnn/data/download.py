"""Downloading and unpacking data files, atomically and with checksum verification.

A file is downloaded into a temporary file in its destination folder, its checksum is checked
while it is written, and only a verified file is moved into place with :func:`os.replace`; on
any failure the temporary file is removed, so no partial file is ever left under the final name.

Mirrors: :data:`MIRRORS` lists the canonical base URLs of each data set folder, tried in order.
For tests and local mirrors, either pass ``mirrors=`` (base URLs that hold the files directly) or
set the environment variable ``HYBRIDQNN_MIRROR`` to one base URL laid out like the data root,
i.e. holding one folder per data set (``<base>/mnist/train-images-idx3-ubyte.gz``,
``<base>/libsvm/a1a``, ...). ``file://`` URLs work, e.g.
``HYBRIDQNN_MIRROR=file:///work/shared/data/``. When set, it replaces the canonical mirrors.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import http.client
import logging
import os
import shutil
import tarfile
import tempfile
import urllib.parse
import urllib.request
import zipfile
import zlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from types import MappingProxyType
from typing import IO, NoReturn

from hybridqnn._checks import check_float
from hybridqnn.data.checksums import (
    DataIntegrityError,
    digest_algorithm,
    expected_checksums,
    verify_file,
)
from hybridqnn.data.limits import DataLimits, check_limit, resolve_limits

logger = logging.getLogger(__name__)

__all__ = [
    "DEFAULT_TIMEOUT",
    "MIRRORS",
    "MIRROR_ENV_VAR",
    "DownloadError",
    "candidate_urls",
    "download_file",
    "ensure_archive_files",
    "ensure_files",
    "extract_tar_members",
    "extract_zip_members",
    "missing_files",
    "raise_missing",
]

MIRROR_ENV_VAR = "HYBRIDQNN_MIRROR"
"""Environment variable with one base URL that replaces the canonical mirrors (see module doc)."""

DEFAULT_TIMEOUT = 60.0
"""Seconds to wait for a server to answer (per connection attempt and per read)."""

MIRRORS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "mnist": (
            "https://ossci-datasets.s3.amazonaws.com/mnist/",
            "http://yann.lecun.com/exdb/mnist/",
        ),
        "fashion-mnist": ("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",),
        "kmnist": ("http://codh.rois.ac.jp/kmnist/dataset/kmnist/",),
        "emnist": ("https://biometrics.nist.gov/cs_links/EMNIST/",),
        "cifar-10": ("https://www.cs.toronto.edu/~kriz/",),
        "libsvm": ("https://www.csie.ntu.edu.tw/~cjlin/libsvmtools/datasets/binary/",),
    }
)
"""Canonical base URLs per data set folder, tried in order."""

_CHUNK = 1 << 20
_USER_AGENT = "hybridqnn-data/0.1 (+https://pypi.org/project/hybridqnn/)"


class DownloadError(OSError):
    """Every mirror of a file failed (network error, HTTP error, unreachable host)."""


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _join(base: str, name: str) -> str:
    return base.rstrip("/") + "/" + name


def candidate_urls(
    key: str, filename: str, mirrors: Sequence[str] | None = None
) -> tuple[str, ...]:
    """Return the URLs to try, in order, for ``filename`` of the data set folder ``key``.

    Args:
        key: Data set folder, e.g. ``"mnist"``.
        filename: File name inside that folder.
        mirrors: Base URLs that hold the file directly; if ``None``, the environment variable
            ``HYBRIDQNN_MIRROR`` (a base laid out like the data root) or else :data:`MIRRORS`.

    Returns:
        The full URLs.
    """
    if mirrors is not None:
        if isinstance(mirrors, str):
            raise TypeError(f"'mirrors' must be a sequence of base URLs, got the str {mirrors!r}")
        return tuple(_join(base, filename) for base in mirrors)
    override = os.environ.get(MIRROR_ENV_VAR, "")
    if override:
        return (_join(_join(override, key), filename),)
    return tuple(_join(base, filename) for base in MIRRORS.get(key, ()))


@contextlib.contextmanager
def _atomic_file(target: Path) -> Iterator[IO[bytes]]:
    """Write ``target`` through a temporary file in its folder, moved into place only when the
    block ends without error; on any error (Ctrl-C included) the temporary file is removed."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            yield out
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise


def _fetch(url: str, target: Path, expected: str | None, timeout: float) -> None:
    request = urllib.request.Request(url, headers={"User-Agent": _USER_AGENT})
    digest = hashlib.new(digest_algorithm(expected)) if expected else None
    with _atomic_file(target) as out, urllib.request.urlopen(request, timeout=timeout) as resp:
        while chunk := resp.read(_CHUNK):
            out.write(chunk)
            if digest is not None:
                digest.update(chunk)
        if digest is not None and digest.hexdigest() != expected.lower():
            raise DataIntegrityError(
                f"checksum mismatch for {target.name} downloaded from {url}: expected "
                f"{digest.name} {expected.lower()}, got {digest.hexdigest()}"
            )


def download_file(
    filename: str,
    directory: str | os.PathLike[str],
    *,
    urls: Iterable[str],
    expected: str | None,
    timeout: float = DEFAULT_TIMEOUT,
) -> Path:
    """Download ``directory/filename`` from the first URL that works, verifying its checksum.

    Args:
        filename: Name of the file to create in ``directory``.
        directory: Destination folder, created if needed.
        urls: Full URLs to try in order.
        expected: Expected MD5 (32 hex digits) or SHA-256 (64), or ``None`` to skip the check.
        timeout: Seconds to wait for a server.

    Returns:
        The path of the downloaded file.

    Raises:
        DataIntegrityError: If a mirror delivered the file but with the wrong checksum and no
            later mirror delivered a correct one.
        DownloadError: If every URL failed to deliver the file (or none was given).
    """
    timeout = check_float("timeout", timeout, 0.0, low_open=True)
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / filename
    failures: list[tuple[str, str]] = []
    mismatch: DataIntegrityError | None = None
    for url in urls:
        logger.info("downloading %s from %s", filename, url)
        try:
            _fetch(url, target, expected, timeout)
        except DataIntegrityError as exc:
            logger.warning("%s", exc)
            mismatch = exc
        except (OSError, ValueError, http.client.HTTPException) as exc:
            # URLError, HTTPError, timeouts and connection errors are OSErrors; an
            # unsupported URL scheme is a ValueError.
            # INFO, not WARNING: the DownloadError below names every failure in its one line
            logger.info("could not download %s from %s: %s", filename, url, _one_line(exc))
            failures.append((url, _one_line(exc)))
        else:
            logger.info("saved %s", target)
            return target
    if mismatch is not None:
        raise mismatch
    if not failures:
        raise DownloadError(f"no download URL is known for {filename}")
    raise DownloadError(_failures_line(failures))


def _failures_line(failures: Sequence[tuple[str, str]]) -> str:
    """``url: reason; url: reason``, or ``scheme://host, scheme://host: reason`` when every URL failed alike (as
    every mirror does offline; the message must stay short enough to be read in one line)."""
    reasons = {reason for _, reason in failures}
    if len(reasons) == 1:
        hosts = dict.fromkeys(_site(url) for url, _ in failures)
        return f"{', '.join(hosts)}: {reasons.pop()}"
    return "; ".join(f"{url}: {reason}" for url, reason in failures)


def _site(url: str) -> str:
    """``scheme://host`` of ``url`` (the whole URL when it names no host, as ``file:`` ones)."""
    parts = urllib.parse.urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.netloc else url


def missing_files(directory: str | os.PathLike[str], filenames: Iterable[str]) -> list[str]:
    """Return the names in ``filenames`` that are not regular files in ``directory``."""
    directory = Path(directory)
    return [name for name in filenames if not (directory / name).is_file()]


def raise_missing(
    dataset: str, directory: Path, missing: Sequence[str], reason: str, hint: str = ""
) -> NoReturn:
    """Raise the one-line :class:`FileNotFoundError` for data files that are not there.

    Args:
        dataset: Data set name for the message.
        directory: The folder the files belong in.
        missing: The missing file names.
        reason: Why they were not obtained, e.g. ``"download=False"`` or the download error.
        hint: Optional extra advice appended to the message.
    """
    message = (
        f"{dataset} data files not found in {directory}: missing {', '.join(missing)} "
        f"({reason}); put the files there"
    )
    if hint:
        message += f" {hint}"
    raise FileNotFoundError(message)


def ensure_files(
    dataset: str,
    key: str,
    directory: str | os.PathLike[str],
    filenames: Sequence[str],
    *,
    download: bool,
    checksums: Mapping[str, str | None] | None = None,
    mirrors: Sequence[str] | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> list[Path]:
    """Make sure the files are present (downloading the missing ones) and verify them all.

    Args:
        dataset: Data set name for messages.
        key: Data set folder name, used for mirrors and the default checksum table.
        directory: The folder that holds (or will hold) the files.
        filenames: The files needed.
        download: Whether missing files may be downloaded.
        checksums: File name → expected digest; defaults to
            :func:`~hybridqnn.data.checksums.expected_checksums` of ``key``.
        mirrors: Base URLs overriding the default mirrors (see :func:`candidate_urls`).
        timeout: Seconds to wait for a server.

    Returns:
        The paths of the files, in the order of ``filenames``.

    Raises:
        FileNotFoundError: If files are missing and ``download`` is false or the download
            failed; the message names the files and the folder to put them in.
        DataIntegrityError: If a file has the wrong checksum.
    """
    directory = Path(directory)
    table = expected_checksums(key) if checksums is None else checksums
    missing = missing_files(directory, filenames)
    if missing and not download:
        raise_missing(dataset, directory, missing, "download=False")
    for name in list(missing):
        failure = _try_download(name, directory, key, mirrors, table.get(name), timeout)
        if failure:
            raise_missing(dataset, directory, missing, f"download failed: {failure}")
        missing.remove(name)
    paths = [directory / name for name in filenames]
    for path in paths:
        verify_file(path, table.get(path.name))
    return paths


def _try_download(
    name: str, directory: Path, key: str, mirrors: Sequence[str] | None, expected: str | None, timeout: float
) -> str:
    """Download one file from the mirrors; "" on success, else the one-line reason."""
    try:
        download_file(name, directory, urls=candidate_urls(key, name, mirrors), expected=expected, timeout=timeout)
    except DownloadError as exc:
        return str(exc)
    return ""


def _write_atomically(source: IO[bytes], target: Path) -> None:
    with _atomic_file(target) as out:
        shutil.copyfileobj(source, out, _CHUNK)


def extract_zip_members(
    archive: str | os.PathLike[str],
    members: Mapping[str, Path],
    *,
    limits: DataLimits | None = None,
) -> None:
    """Extract chosen members of a zip archive to chosen paths.

    Only the listed members are read, and each is written to the path given for it (never to a
    path derived from the archive), so the archive cannot write anywhere else.

    Args:
        archive: The zip file.
        members: Member name inside the archive → destination path.
        limits: Size limits: a member's declared size must fit ``max_file_bytes`` (zipfile
            stops reading at the declared size).

    Raises:
        DataIntegrityError: If the archive is corrupt or lacks a member; names the archive.
        InputFileError: If a member is larger than ``max_file_bytes``.
    """
    archive = Path(archive)
    limits = resolve_limits(limits)
    try:
        with zipfile.ZipFile(archive) as zf:
            names = set(zf.namelist())
            absent = [name for name in members if name not in names]
            if absent:
                raise DataIntegrityError(
                    f"zip archive {archive} lacks the members {', '.join(absent)}"
                )
            for name, target in members.items():
                where = f"zip archive {archive} member {name}"
                check_limit(where, "the size in bytes", zf.getinfo(name).file_size, limits, "max_file_bytes")
                logger.info("extracting %s from %s", name, archive)
                with zf.open(name) as source:
                    _write_atomically(source, target)
    except (zipfile.BadZipFile, gzip.BadGzipFile, zlib.error, EOFError) as exc:
        raise DataIntegrityError(f"zip archive {archive} is corrupt: {_one_line(exc)}") from None


def extract_tar_members(
    archive: str | os.PathLike[str],
    members: Mapping[str, Path],
    *,
    limits: DataLimits | None = None,
) -> None:
    """Extract chosen regular-file members of a (possibly compressed) tar archive.

    Members are matched by their exact name; links, devices, folders and every member not
    listed are skipped, and each match is written to the path given for it, so no path in the
    archive (``..``, absolute paths, links) can make it write elsewhere.

    Args:
        archive: The tar file (``.tar``, ``.tar.gz``, ...).
        members: Member name inside the archive → destination path.
        limits: Size limits: a member's declared size must fit ``max_file_bytes``.

    Raises:
        DataIntegrityError: If the archive is corrupt or lacks a member; names the archive.
        InputFileError: If a member is larger than ``max_file_bytes``.
    """
    archive = Path(archive)
    limits = resolve_limits(limits)
    found: set[str] = set()
    try:
        with tarfile.open(archive, mode="r:*") as tar:
            for info in tar:
                if info.name not in members or info.name in found:
                    continue
                if not info.isfile():
                    logger.warning("skipping %s in %s: not a regular file", info.name, archive)
                    continue
                where = f"tar archive {archive} member {info.name}"
                check_limit(where, "the size in bytes", info.size, limits, "max_file_bytes")
                source = tar.extractfile(info)
                if source is None:  # pragma: no cover - isfile() members always have data
                    continue
                logger.info("extracting %s from %s", info.name, archive)
                with source:
                    _write_atomically(source, members[info.name])
                found.add(info.name)
    except (tarfile.TarError, gzip.BadGzipFile, zlib.error, EOFError) as exc:
        raise DataIntegrityError(f"tar archive {archive} is corrupt: {_one_line(exc)}") from None
    absent = [name for name in members if name not in found]
    if absent:
        raise DataIntegrityError(
            f"tar archive {archive} lacks the regular-file members {', '.join(absent)}"
        )


def ensure_archive_files(
    dataset: str,
    key: str,
    archive_dir: str | os.PathLike[str],
    archive_name: str,
    members: Mapping[str, Path],
    *,
    download: bool,
    checksums: Mapping[str, str | None] | None = None,
    mirrors: Sequence[str] | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> None:
    """Make sure files that ship inside an archive are present, then verify them all.

    Missing files are extracted from ``archive_dir/archive_name`` (a ``.zip`` or a tar
    archive); if the archive is not there either, it is downloaded first (when ``download``),
    verified, and kept for later use. An archive already present is extracted even when
    ``download`` is false.

    Args:
        dataset: Data set name for messages.
        key: Data set folder name, used for mirrors and the default checksum table.
        archive_dir: Folder that holds (or will hold) the archive.
        archive_name: File name of the archive, also its name on the mirrors.
        members: Member name inside the archive → destination path; all destinations must
            share one folder.
        download: Whether the archive may be downloaded.
        checksums: File name → expected digest, for the archive and the extracted files;
            defaults to :func:`~hybridqnn.data.checksums.expected_checksums` of ``key``.
        mirrors: Base URLs overriding the default mirrors (see :func:`candidate_urls`).
        timeout: Seconds to wait for a server.

    Raises:
        FileNotFoundError: If files are missing and cannot be obtained; the message names the
            files and the folder to put them in.
        DataIntegrityError: If the archive or a file has the wrong checksum or the archive is
            corrupt.
    """
    archive_dir = Path(archive_dir)
    table = expected_checksums(key) if checksums is None else checksums
    targets = list(members.values())
    directory = targets[0].parent
    missing = [member for member, target in members.items() if not target.is_file()]
    if missing:
        missing_names = [members[m].name for m in missing]
        hint = f"(or put {archive_name} in {archive_dir})"
        archive = archive_dir / archive_name
        if archive.is_file():
            verify_file(archive, table.get(archive_name))
        elif not download:
            raise_missing(dataset, directory, missing_names, "download=False", hint)
        else:
            failure = _try_download(archive_name, archive_dir, key, mirrors, table.get(archive_name), timeout)
            if failure:
                raise_missing(
                    dataset,
                    directory,
                    missing_names,
                    f"download of {archive_name} failed: {failure}",
                    hint,
                )
        wanted = {m: members[m] for m in missing}
        if archive_name.endswith(".zip"):
            extract_zip_members(archive, wanted)
        else:
            extract_tar_members(archive, wanted)
    for target in targets:
        verify_file(target, table.get(target.name))
