"""D-Wave access, offline: factories on dwave-system's MockDWaveSampler, token handling, check_fits."""

from __future__ import annotations

import socket
import sys
from pathlib import Path
from typing import Any

import dimod
import dimod.testing
import networkx as nx
import pytest

pytest.importorskip("dwave.system", reason="needs the dwave extra: pip install 'hybridqnn[dwave]'")

import dwave.system  # noqa: E402
from dwave.system.testing import MockDWaveSampler  # noqa: E402

from hybridqnn.solvers import dwave as hq_dwave  # noqa: E402
from hybridqnn.solvers.dwave import (  # noqa: E402
    DWaveConfigError,
    check_fits,
    hybrid_sampler,
    qpu_sampler,
    token_configured,
)
from hybridqnn.solvers.hardware import ADVANTAGE_LIMITS  # noqa: E402

FAKE_TOKEN = "DEV-0123456789abcdef0123456789abcdef01234567"


def _no_network(*args: object, **kwargs: object) -> None:
    raise OSError("network access is disabled in the hybridqnn.solvers.dwave tests")


@pytest.fixture(autouse=True)
def _isolate(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No network, and no D-Wave configuration from this machine's environment or files."""
    monkeypatch.setattr(socket, "getaddrinfo", _no_network)
    monkeypatch.setattr(socket, "create_connection", _no_network)
    monkeypatch.setattr(socket.socket, "connect", _no_network)
    for name in (
        "DWAVE_API_TOKEN",
        "DWAVE_CONFIG_FILE",
        "DWAVE_PROFILE",
        "DWAVE_API_SOLVER",
        "DWAVE_API_ENDPOINT",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("XDG_CONFIG_DIRS", str(tmp_path / "etc"))
    monkeypatch.chdir(tmp_path)


class RecordingMock(MockDWaveSampler):
    """Stands in for DWaveSampler: records the configuration it is given, stays offline."""

    seen: dict[str, Any] = {}

    def __init__(self, **config: Any) -> None:
        RecordingMock.seen = dict(config)
        super().__init__()


class RecordingHybrid(dimod.ExactSolver):
    seen: dict[str, Any] = {}

    def __init__(self, **config: Any) -> None:
        RecordingHybrid.seen = dict(config)
        super().__init__()


class LeakyFailure(MockDWaveSampler):
    """A solver that fails with the token in its message (worst case for a third-party error)."""

    def __init__(self, **config: Any) -> None:
        token = hq_dwave._configured_token(
            token=config.get("token"),
            config_file=config.get("config_file"),
            profile=config.get("profile"),
        )
        assert token == FAKE_TOKEN
        raise RuntimeError(f"solver rejected token {token}\nsecond line")


def small_bqm() -> dimod.BinaryQuadraticModel:
    return dimod.generators.gnm_random_bqm(6, 10, "SPIN", random_state=0)


# ------------------------------------------------------------------------------ factories on the mock


def test_qpu_sampler_with_mock_child_samples_end_to_end() -> None:
    sampler = qpu_sampler(child=MockDWaveSampler())
    assert isinstance(sampler, dwave.system.EmbeddingComposite)
    assert isinstance(sampler, hq_dwave.CheckedEmbeddingComposite)
    dimod.testing.assert_composite_api(sampler)
    bqm = small_bqm()
    ss = sampler.sample(bqm, num_reads=5)
    dimod.testing.assert_sampleset_energies(ss, bqm)
    exact = dimod.ExactSolver().sample(bqm).first.energy
    assert ss.first.energy >= exact - 1e-9


def test_qpu_sampler_with_mock_rejects_too_large_problem_naming_counts() -> None:
    sampler = qpu_sampler(child=MockDWaveSampler())  # Chimera C4: 128 qubits, 352 couplers
    big = dimod.BinaryQuadraticModel({i: 1.0 for i in range(200)}, {}, 0.0, "SPIN")
    with pytest.raises(ValueError) as info:
        sampler.sample(big)
    message = str(info.value)
    assert "200 variables" in message and "128 qubits" in message and "\n" not in message


def test_qpu_sampler_child_rules() -> None:
    with pytest.raises(ValueError, match="'child' is a built sampler"):
        qpu_sampler(child=MockDWaveSampler(), token=FAKE_TOKEN)
    with pytest.raises(TypeError, match="'child' must be a structured dimod sampler"):
        qpu_sampler(child=dimod.ExactSolver())


def test_qpu_sampler_passes_configuration(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dwave.system, "DWaveSampler", RecordingMock)
    sampler = qpu_sampler(solver="Advantage_system4.1", token=FAKE_TOKEN, region="eu-central-1")
    assert RecordingMock.seen == {
        "solver": "Advantage_system4.1",
        "token": FAKE_TOKEN,
        "region": "eu-central-1",
    }
    ss = sampler.sample(small_bqm(), num_reads=3)
    assert ss.record.num_occurrences.sum() == 3  # the mock aggregates equal reads


def test_qpu_sampler_token_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dwave.system, "DWaveSampler", RecordingMock)
    monkeypatch.setenv("DWAVE_API_TOKEN", FAKE_TOKEN)
    qpu_sampler()
    assert RecordingMock.seen == {}  # the client reads the environment itself
    assert token_configured()


def test_token_from_config_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    conf = tmp_path / "dwave.conf"
    conf.write_text(f"[defaults]\ntoken = {FAKE_TOKEN}\n\n[prod]\nsolver = Advantage_system4.1\n")
    assert token_configured(config_file=str(conf))
    monkeypatch.setenv("DWAVE_CONFIG_FILE", str(conf))
    assert token_configured()
    monkeypatch.setattr(dwave.system, "LeapHybridSampler", RecordingHybrid)
    hybrid_sampler(profile="prod")
    assert RecordingHybrid.seen == {"profile": "prod"}


def test_hybrid_sampler_passes_configuration(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dwave.system, "LeapHybridSampler", RecordingHybrid)
    sampler = hybrid_sampler(token=FAKE_TOKEN, solver="hybrid_binary_quadratic_model_version2")
    assert isinstance(sampler, RecordingHybrid)
    assert RecordingHybrid.seen == {
        "token": FAKE_TOKEN,
        "solver": "hybrid_binary_quadratic_model_version2",
    }


# ------------------------------------------------------------------------------ no token, and no leaks


@pytest.mark.parametrize("factory", [qpu_sampler, hybrid_sampler])
def test_no_token_is_a_clear_one_line_error_before_connecting(
    factory: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    def must_not_connect(**config: Any) -> None:
        raise AssertionError("tried to connect without a token")

    monkeypatch.setattr(dwave.system, "DWaveSampler", must_not_connect)
    monkeypatch.setattr(dwave.system, "LeapHybridSampler", must_not_connect)
    assert not token_configured()
    with pytest.raises(DWaveConfigError) as info:
        factory()
    message = str(info.value)
    assert "no D-Wave API token is configured" in message
    assert "dwave config create" in message and "DWAVE_API_TOKEN" in message
    assert "\n" not in message
    assert isinstance(info.value, ValueError)


def test_unreadable_config_file_is_a_config_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("DWAVE_CONFIG_FILE", str(tmp_path / "missing.conf"))
    with pytest.raises(DWaveConfigError, match="could not read the D-Wave configuration"):
        qpu_sampler()
    bad = tmp_path / "bad.conf"
    bad.write_text(f"token = {FAKE_TOKEN}\n[broken\n")
    monkeypatch.setenv("DWAVE_CONFIG_FILE", str(bad))
    with pytest.raises(DWaveConfigError) as info:
        qpu_sampler()
    assert FAKE_TOKEN not in str(info.value) and info.value.__cause__ is None


@pytest.mark.parametrize("where", ["argument", "environment", "file"])
@pytest.mark.parametrize("factory_name", ["qpu_sampler", "hybrid_sampler"])
def test_token_never_in_errors_or_logs(
    where: str,
    factory_name: str,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    tmp_path: Path,
) -> None:
    monkeypatch.setattr(dwave.system, "DWaveSampler", LeakyFailure)
    monkeypatch.setattr(dwave.system, "LeapHybridSampler", LeakyFailure)
    kwargs: dict[str, Any] = {}
    if where == "argument":
        kwargs["token"] = FAKE_TOKEN
    elif where == "environment":
        monkeypatch.setenv("DWAVE_API_TOKEN", FAKE_TOKEN)
    else:
        conf = tmp_path / "dwave.conf"
        conf.write_text(f"[defaults]\ntoken = {FAKE_TOKEN}\n")
        monkeypatch.setenv("DWAVE_CONFIG_FILE", str(conf))
    caplog.set_level(1)  # everything, TRACE included
    factory = getattr(hq_dwave, factory_name)
    with pytest.raises(ConnectionError) as info:
        factory(**kwargs)
    texts = [str(info.value), repr(info.value)]
    chained: BaseException | None = info.value
    while chained is not None:
        texts += [str(chained), repr(chained)]
        chained = chained.__cause__ or (
            None if chained.__suppress_context__ else chained.__context__
        )
    assert "***" in str(info.value) and "\n" not in str(info.value)
    assert caplog.records  # the factory logged something, and it holds no token
    texts += [record.getMessage() for record in caplog.records] + [caplog.text]
    for text in texts:
        assert FAKE_TOKEN not in text


def test_token_not_in_built_sampler(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(dwave.system, "DWaveSampler", RecordingMock)
    caplog.set_level(1)
    sampler = qpu_sampler(token=FAKE_TOKEN)
    for text in (repr(sampler), str(sampler.properties), str(sampler.parameters), caplog.text):
        assert FAKE_TOKEN not in text


def test_missing_dwave_system_gives_install_hint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "dwave.system", None)
    for call in (qpu_sampler, hybrid_sampler, token_configured):
        with pytest.raises(ImportError, match=r"pip install 'hybridqnn\[dwave\]'"):
            call()


# ------------------------------------------------------------------------------ check_fits


def test_check_fits_against_mock_sampler() -> None:
    mock = MockDWaveSampler()  # Chimera C4 (the mock's default): 128 qubits, 352 couplers
    qubits, couplers = len(mock.nodelist), len(mock.edgelist)
    check_fits(small_bqm(), mock)  # fits: no error
    too_many_vars = dimod.BinaryQuadraticModel(
        {i: 1.0 for i in range(qubits + 1)}, {}, 0.0, "BINARY"
    )
    with pytest.raises(ValueError) as info:
        check_fits(too_many_vars, mock)
    assert f"{qubits + 1} variables" in str(info.value) and f"{qubits} qubits" in str(info.value)
    dense = dimod.BinaryQuadraticModel(
        {}, {(i, j): 1.0 for i in range(40) for j in range(i)}, 0.0, "SPIN"
    )
    with pytest.raises(ValueError) as info:
        check_fits(dense, mock)
    message = str(info.value)
    assert "780 couplers" in message and f"{couplers} couplers" in message and "\n" not in message
    # through a composite, against a graph, against published limits
    with pytest.raises(ValueError, match="780 couplers"):
        check_fits(dense, dwave.system.EmbeddingComposite(mock))
    with pytest.raises(ValueError, match="780 couplers"):
        check_fits(dense, nx.path_graph(100))
    check_fits(dense, ADVANTAGE_LIMITS)
    huge = dimod.BinaryQuadraticModel({i: 1.0 for i in range(6000)}, {}, 0.0, "SPIN")
    with pytest.raises(ValueError, match="6000 variables.*5640 qubits"):
        check_fits(huge)


def test_check_fits_ignores_zero_couplers_and_checks_types() -> None:
    mock = MockDWaveSampler()
    zeros = dimod.BinaryQuadraticModel(
        {}, {(i, j): 0.0 for i in range(40) for j in range(i)}, 0.0, "SPIN"
    )
    check_fits(zeros, mock)
    with pytest.raises(TypeError, match="'sampler_or_graph'"):
        check_fits(small_bqm(), object())
    with pytest.raises(TypeError, match="'bqm'"):
        check_fits({"a": 1.0}, mock)  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), 1.5e308])
def test_qpu_sampler_rejects_non_finite_or_overflowing_biases_before_embedding(bad: float) -> None:
    bqm = dimod.BinaryQuadraticModel({"a": 1.0, "b": bad, "c": bad}, {("a", "b"): 1.0}, 0.0, "SPIN")
    with pytest.raises(ValueError, match="'bqm' must have (finite coefficients|coefficients whose magnitudes).*variable 'b'"):
        qpu_sampler(child=MockDWaveSampler()).sample(bqm)


def test_hybrid_sampler_rejects_non_finite_biases_before_uploading(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dwave.system, "LeapHybridSampler", RecordingHybrid)
    sampler = hybrid_sampler(token=FAKE_TOKEN)
    assert isinstance(sampler, RecordingHybrid)
    bqm = dimod.BinaryQuadraticModel({"a": 1.0, "b": -1.0}, {("a", "b"): 0.5}, 0.0, "SPIN")
    assert sampler.sample(bqm).first.energy == pytest.approx(-2.5)
    bqm.set_quadratic("a", "b", float("-inf"))
    with pytest.raises(ValueError, match=r"^'bqm' must have finite coefficients, got NaN or infinite: the quadratic bias"):
        sampler.sample(bqm)
