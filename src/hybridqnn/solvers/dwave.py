"""D-Wave access: QPU and Leap hybrid samplers from the standard configuration, and a size check.

Needs the ``dwave`` extra (``pip install 'hybridqnn[dwave]'``); importing this module does not,
only calling a factory does.

Configuration is dwave-cloud-client's, unchanged: the keyword arguments given here, then the
environment (``DWAVE_API_TOKEN``, ``DWAVE_API_SOLVER``, ``DWAVE_CONFIG_FILE``,
``DWAVE_PROFILE``, ...), then the configuration file written by ``dwave config create``.
Before anything connects, the factories check (offline) that some token is configured and
otherwise raise :class:`DWaveConfigError` saying how to configure one.

The token: this module never logs, prints or stores it, and removes it from the text of any
error it raises. (dwave-cloud-client's own DEBUG/TRACE log records include its full
configuration; its own log handler masks tokens. Do not forward that library's DEBUG records
to a shared log.)
"""

from __future__ import annotations

import functools
import logging
import os
from collections.abc import Mapping
from typing import Any

import dimod

from hybridqnn._checks import check_finite_model
from hybridqnn.solvers.hardware import ADVANTAGE_LIMITS, fits_logically

__all__ = [
    "CheckedEmbeddingComposite",  # noqa: F822 - built on first access by __getattr__ below
    "DWaveConfigError",
    "check_fits",
    "hybrid_sampler",
    "qpu_sampler",
    "token_configured",
]

logger = logging.getLogger(__name__)

_INSTALL_HINT = "pip install 'hybridqnn[dwave]'"
_HOW_TO_CONFIGURE = (
    "no D-Wave API token is configured; run 'dwave config create' (or 'dwave setup'), "
    "or set the DWAVE_API_TOKEN environment variable, or pass token=..."
)


class DWaveConfigError(ValueError):
    """The D-Wave configuration is missing a token or cannot be read."""


def _dwave_system() -> Any:
    try:
        import dwave.system as system
    except ImportError as exc:
        raise ImportError(
            f"D-Wave access needs dwave-system; install it with {_INSTALL_HINT}"
        ) from exc
    return system


def _redact(text: str, secret: str | None) -> str:
    return text.replace(secret, "***") if secret else text


def _configured_token(
    *, token: str | None, config_file: Any = None, profile: str | None = None
) -> str | None:
    """The token the D-Wave client would use, found without network access and without logging.

    Follows ``dwave.cloud.config.load_config``: explicit ``token``, else the environment, else
    the profile of the configuration file. (``load_config`` itself logs the configuration,
    token included, at TRACE level, so it is not called here.)
    """
    if token:
        return token
    from dwave.cloud.config import loaders

    if not hasattr(loaders, "update_config_from_environment"):  # another dwave-cloud-client layout
        from dwave.cloud.config import load_config

        return load_config(config_file=config_file, profile=profile).get("token") or None
    if profile is None:
        profile = os.getenv("DWAVE_PROFILE") or None
    if config_file is False:
        section: dict[str, Any] = {}
    else:
        if config_file is True:
            filenames = None
        else:
            chosen = config_file or os.getenv("DWAVE_CONFIG_FILE") or None
            filenames = [chosen] if isinstance(chosen, str) else chosen
        section = dict(loaders.load_profile_from_files(filenames, profile))
    loaders.update_config_from_environment(section)
    return section.get("token") or None


def token_configured(
    *, token: str | None = None, config_file: Any = None, profile: str | None = None
) -> bool:
    """Whether a D-Wave API token is configured (checked offline; the token is not returned)."""
    _dwave_system()
    try:
        return _configured_token(token=token, config_file=config_file, profile=profile) is not None
    except Exception as exc:  # a config file that cannot be read or parsed (names only the file)
        message = " ".join(_redact(str(exc), token).split())
        raise DWaveConfigError(
            f"could not read the D-Wave configuration: {type(exc).__name__}: {message}"
        ) from None


def _require_token(token: str | None, config: Mapping[str, Any]) -> str:
    try:
        found = _configured_token(
            token=token, config_file=config.get("config_file"), profile=config.get("profile")
        )
    except Exception as exc:
        message = _redact(str(exc), token)
        raise DWaveConfigError(
            f"could not read the D-Wave configuration: {type(exc).__name__}: {message}"
        ) from None
    if not found:
        raise DWaveConfigError(_HOW_TO_CONFIGURE)
    return found


def _open(factory: Any, what: str, secret: str, kwargs: dict[str, Any]) -> Any:
    """Call ``factory(**kwargs)``; an error comes back as one line without the token."""
    try:
        return factory(**kwargs)
    except Exception as exc:
        message = " ".join(_redact(str(exc), secret).split())
        error = ConnectionError(
            f"could not open the D-Wave {what}: {type(exc).__name__}: {message}"
        )
        chain: BaseException | None = exc
        leaked = False
        while chain is not None and not leaked:
            leaked = secret in str(chain) or secret in repr(chain)
            chain = chain.__cause__ or chain.__context__
        if leaked:
            raise error from None
        raise error from exc


def _target_size(target: Any) -> tuple[int, int, str]:
    """(qubits, couplers, name) of a structured sampler, composite, graph or limits mapping."""
    if isinstance(target, Mapping):
        try:
            return (
                int(target["num_qubits"]),
                int(target["num_couplers"]),
                str(target.get("name", "the QPU")),
            )
        except KeyError:
            raise TypeError(
                "a mapping given as the QPU must have 'num_qubits' and 'num_couplers'"
            ) from None
    if hasattr(target, "number_of_nodes") and hasattr(target, "number_of_edges"):
        return int(target.number_of_nodes()), int(target.number_of_edges()), "the target graph"
    if hasattr(target, "nodelist") and hasattr(target, "edgelist"):
        props = getattr(target, "properties", {}) or {}
        name = props.get("chip_id") or type(target).__name__
        return len(target.nodelist), len(target.edgelist), str(name)
    children = getattr(target, "children", None)
    if children:
        return _target_size(children[0])
    raise TypeError(
        "'sampler_or_graph' must be a structured dimod sampler (or a composite of one), a networkx "
        f"graph or a mapping with 'num_qubits' and 'num_couplers', got {type(target).__name__}"
    )


def check_fits(bqm: dimod.BinaryQuadraticModel, sampler_or_graph: Any = ADVANTAGE_LIMITS) -> None:
    """Raise ValueError if ``bqm`` cannot fit on the QPU even before minor-embedding.

    The logical test: n variables need at least n qubits and m couplers (interactions with a
    nonzero bias) need at least m couplers. Passing does not mean an embedding exists; see
    :func:`hybridqnn.solvers.hardware.embedding_estimate` for that.

    Args:
        bqm: The problem.
        sampler_or_graph: A structured sampler (``DWaveSampler``, ``MockDWaveSampler``), a
            composite whose child is one, a networkx graph, or a mapping with ``num_qubits``
            and ``num_couplers`` (default: ``ADVANTAGE_LIMITS``, the P16 fabric).

    Raises:
        ValueError: One line naming both counts and both limits.
    """
    if not isinstance(bqm, dimod.BinaryQuadraticModel):
        raise TypeError(f"'bqm' must be a dimod.BinaryQuadraticModel, got {type(bqm).__name__}")
    qubits, couplers, name = _target_size(sampler_or_graph)
    n = bqm.num_variables
    _, (_, _, quad), _ = bqm.to_numpy_vectors()
    m = int((quad != 0).sum())
    if not fits_logically(n, m, {"num_qubits": qubits, "num_couplers": couplers}):
        raise ValueError(
            f"the problem is too large for {name}: {n} variables and {m} couplers, "
            f"but it has {qubits} qubits and {couplers} couplers"
        )


@functools.lru_cache(maxsize=1)
def _embedding_composite_class() -> type:
    system = _dwave_system()

    class CheckedEmbeddingComposite(system.EmbeddingComposite):
        """``EmbeddingComposite`` that first rejects non-finite coefficients
        (:func:`hybridqnn._checks.check_finite_model`) and runs :func:`check_fits` against its
        child."""

        def sample(self, bqm: dimod.BinaryQuadraticModel, **parameters: Any) -> dimod.SampleSet:
            check_finite_model("bqm", bqm)
            check_fits(bqm, self.child)
            return super().sample(bqm, **parameters)

    CheckedEmbeddingComposite.__module__ = __name__
    CheckedEmbeddingComposite.__qualname__ = "CheckedEmbeddingComposite"
    return CheckedEmbeddingComposite


def __getattr__(name: str) -> Any:
    # CheckedEmbeddingComposite subclasses dwave-system's class, which is optional: build it on
    # first use so importing this module never needs dwave-system.
    if name == "CheckedEmbeddingComposite":
        return _embedding_composite_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def qpu_sampler(
    *,
    solver: str | Mapping[str, Any] | None = None,
    token: str | None = None,
    child: dimod.Sampler | None = None,
    embedding_parameters: Mapping[str, Any] | None = None,
    **config: Any,
) -> dimod.Sampler:
    """``EmbeddingComposite(DWaveSampler(...))``: a QPU sampler for any BQM.

    The composite is :class:`CheckedEmbeddingComposite`, an ``EmbeddingComposite`` that raises
    a one-line ValueError naming the counts (:func:`check_fits`) for a problem with more
    variables or couplers than the QPU has, instead of failing inside the embedder.

    Args:
        solver: Solver name or feature filter (dwave-cloud-client's ``solver``); default from
            the configuration (any QPU).
        token: API token; default from ``DWAVE_API_TOKEN`` or the configuration file.
        child: An already-built structured sampler to wrap instead of a ``DWaveSampler``
            (e.g. ``dwave.system.testing.MockDWaveSampler()`` for offline use); no
            configuration is read then, and ``solver``, ``token`` and ``config`` must be unset.
        embedding_parameters: Passed to ``minorminer.find_embedding`` (e.g. ``{"timeout": 30}``).
        **config: Other dwave-cloud-client options (``config_file``, ``profile``, ``region``,
            ``endpoint``, ...).

    Raises:
        ImportError: dwave-system is not installed (the message gives the pip command).
        DWaveConfigError: No token is configured (checked before connecting).
        ConnectionError: The solver could not be reached or selected (message without token).
    """
    composite = _embedding_composite_class()
    kwargs = {"embedding_parameters": dict(embedding_parameters)} if embedding_parameters else {}
    if child is not None:
        if solver is not None or token is not None or config:
            raise ValueError(
                "'child' is a built sampler; 'solver', 'token' and other configuration must be unset"
            )
        if not (
            hasattr(child, "nodelist") and hasattr(child, "edgelist") and hasattr(child, "sample")
        ):
            raise TypeError(
                f"'child' must be a structured dimod sampler, got {type(child).__name__}"
            )
        return composite(child, **kwargs)
    logger.info("opening a D-Wave QPU sampler (solver=%r)", solver)
    return composite(_open_configured("DWaveSampler", "QPU sampler", solver, token, config), **kwargs)


def hybrid_sampler(
    *,
    solver: str | Mapping[str, Any] | None = None,
    token: str | None = None,
    **config: Any,
) -> dimod.Sampler:
    """``LeapHybridSampler(...)``: Leap's quantum-classical hybrid BQM solver, whose ``sample``
    first rejects non-finite coefficients (one line naming the variable or interaction).

    Args:
        solver: Solver name or feature filter; default: the newest online hybrid BQM solver.
        token: API token; default from ``DWAVE_API_TOKEN`` or the configuration file.
        **config: Other dwave-cloud-client options (``config_file``, ``profile``, ...).

    Raises:
        ImportError: dwave-system is not installed (the message gives the pip command).
        DWaveConfigError: No token is configured (checked before connecting).
        ConnectionError: The solver could not be reached or selected (message without token).
    """
    logger.info("opening the Leap hybrid BQM sampler (solver=%r)", solver)
    return _open_configured("LeapHybridSampler", "hybrid sampler", solver, token, config, finite_checked=True)


def _finite_checked(cls: type) -> type:
    """A subclass of ``cls`` whose ``sample`` first rejects non-finite coefficients
    (:func:`hybridqnn._checks.check_finite_model`), so nothing NaN or infinite is uploaded."""

    class Checked(cls):  # type: ignore[misc, valid-type]
        def sample(self, bqm: dimod.BinaryQuadraticModel, **parameters: Any) -> dimod.SampleSet:
            check_finite_model("bqm", bqm)
            return super().sample(bqm, **parameters)

    Checked.__name__ = Checked.__qualname__ = f"Checked{cls.__name__}"
    Checked.__module__ = __name__
    return Checked


def _open_configured(
    cls_name: str,
    what: str,
    solver: str | Mapping[str, Any] | None,
    token: str | None,
    config: Mapping[str, Any],
    finite_checked: bool = False,
) -> dimod.Sampler:
    """Check that a token is configured (offline), then build ``dwave.system.<cls_name>``
    (its :func:`_finite_checked` subclass if ``finite_checked``)."""
    system = _dwave_system()
    secret = _require_token(token, config)
    options = dict(config)
    if token is not None:
        options["token"] = token
    if solver is not None:
        options["solver"] = solver
    factory = getattr(system, cls_name)
    if finite_checked and isinstance(factory, type):
        factory = _finite_checked(factory)
    return _open(factory, what, secret, options)
