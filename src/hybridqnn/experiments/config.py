"""Experiment configs: TOML files validated against an experiment's params dataclass.

A config file looks like this::

    experiment = "qubo-head"   # a registered Experiment; its params dataclass validates [params]
    description = "..."        # optional
    seed = 0                   # optional, default 0
    name = "quickstart"        # optional, default: the file stem
    [params]
    dataset = "digits"
    bits = [10]
    [quick]                    # overrides applied by --quick (same keys as [params])
    epochs = 1

Shipped configs live in ``hybridqnn/experiments/configs/NAME.toml``. :func:`load_config`
resolves a shipped name or a path, applies ``[quick]`` (when asked), then ``--set key=value``
overrides, type-checks every value against the dataclass annotations, checks it against the
field's declared rule (:mod:`hybridqnn.experiments.params`; the message names the file, the table
or the ``--set`` item, and the key) and builds the params instance, whose ``__post_init__`` adds
the rules between fields (``sample_kwargs`` against the solver, ``best_effort`` overrides).

**Sampler keywords belong to their solver.** A config's ``sample_kwargs`` are written for the
solver the same table names (or the experiment's default solver). A layer that changes the
solver without setting its keywords, e.g. ``--set solver=exact`` on a config whose
``[params]`` tuned dense SA, gives the new solver its own defaults, the empty table (its
sampler's defaults); keywords the user sets in the same or a later layer are kept and checked
against the chosen solver. Layers, lowest first: the dataclass defaults, ``[params]``,
``[quick]`` (with ``--quick``), the ``--set`` items. The params class pairs each solver field
with its keywords (:func:`~hybridqnn.experiments.params.solver_field`).

**Limits.** A config file may hold at most 1 MiB (:data:`MAX_CONFIG_BYTES`; raise it for a
process with ``$HYBRIDQNN_MAX_CONFIG_BYTES``), must be UTF-8 (a leading byte-order mark is
skipped) and may nest tables and arrays at most 32 levels deep (:data:`MAX_CONFIG_DEPTH`; a
``--set`` value too). A file that breaks one raises :class:`~hybridqnn.errors.InputFileError`
naming the file, the rule and, for bad UTF-8, the byte offset.
"""

from __future__ import annotations

import dataclasses
import logging
import numbers
import os
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hybridqnn._checks import did_you_mean
from hybridqnn.errors import InputFileError
from hybridqnn.experiments.params import check_field, element_kind, field_rule, solver_kwargs_fields
from hybridqnn.experiments.registry import Experiment, get_experiment
from hybridqnn.experiments.schema import (
    accepts_str,
    coerce,
    field_hints,
    init_fields,
    is_required,
    type_name,
)

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

__all__ = [
    "ConfigInfo",
    "ParamInfo",
    "ResolvedConfig",
    "config_path",
    "list_configs",
    "load_config",
    "params_help",
    "shipped_config_names",
]

#: The most bytes a config file may hold by default (1 MiB; shipped configs are under 4 KiB).
MAX_CONFIG_BYTES = 2**20
#: The environment variable that raises :data:`MAX_CONFIG_BYTES` for a process.
CONFIG_BYTES_ENV = "HYBRIDQNN_MAX_CONFIG_BYTES"
#: The deepest nesting of tables and arrays a config may use (shipped configs use 3).
MAX_CONFIG_DEPTH = 32

logger = logging.getLogger(__name__)

TOP_LEVEL_KEYS: tuple[str, ...] = ("experiment", "name", "description", "seed", "params", "quick")
_SEED_MAX = 2**32 - 1
_MISSING = object()


# --------------------------------------------------------------------------- data classes


@dataclass(frozen=True)
class ResolvedConfig:
    """A fully resolved, validated config.

    Attributes:
        name: Config name (the shipped name, the file's ``name`` key or the file stem).
        experiment: The registered :class:`~hybridqnn.experiments.registry.Experiment`.
        params: Instance of ``experiment.params`` with ``[quick]`` and overrides applied.
        seed: Master seed of the run.
        quick: Whether the ``[quick]`` overrides were applied.
        description: The config's description (falls back to the experiment's); a quick run's
            starts with its [quick] settings (:func:`_quick_description`).
        source: File the config was read from, or None.
        overrides: The ``key=value`` overrides that were applied, in order.
    """

    name: str
    experiment: Experiment
    params: Any
    seed: int
    quick: bool = False
    description: str = ""
    source: Path | None = None
    overrides: tuple[str, ...] = ()

    def params_dict(self) -> dict[str, Any]:
        """Return the params as a dict of plain values (tuples become lists)."""
        return {
            f.name: _plain(getattr(self.params, f.name))
            for f in dataclasses.fields(self.params)
            if f.init
        }

    def to_dict(self) -> dict[str, Any]:
        """Return the resolved config as a dict that :func:`load_config` accepts back.

        ``[quick]`` and the overrides are already merged into ``params``, so the dict has no
        ``quick`` table.
        """
        return {
            "name": self.name,
            "experiment": self.experiment.name,
            "description": self.description,
            "seed": self.seed,
            "params": self.params_dict(),
        }

    def to_toml(self) -> str:
        """Return :meth:`to_dict` as TOML. Params whose value is None are omitted (TOML has no
        null), so they take their dataclass default when the file is loaded again."""
        import tomli_w

        data = self.to_dict()
        data["params"] = _drop_none(data["params"])
        return tomli_w.dumps(data)


@dataclass(frozen=True)
class ConfigInfo:
    """A shipped config, as listed by :func:`list_configs`."""

    name: str
    experiment: str
    kind: str
    description: str


@dataclass(frozen=True)
class ParamInfo:
    """One key of an experiment's params dataclass, as listed by :func:`params_help`."""

    name: str
    type: str
    default: Any
    help: str
    required: bool = False
    rule: str = ""


# --------------------------------------------------------------------------- locating configs


def _config_root() -> Any:
    """Return the directory (an importlib Traversable) holding the shipped configs."""
    from importlib.resources import files

    return files("hybridqnn.experiments").joinpath("configs")


def _shipped() -> dict[str, Any]:
    root = _config_root()
    if not root.is_dir():
        return {}
    return {
        entry.name[: -len(".toml")]: entry
        for entry in root.iterdir()
        if entry.name.endswith(".toml") and entry.is_file()
    }


def shipped_config_names() -> list[str]:
    """Return the names of the shipped configs, sorted."""
    return sorted(_shipped())


def _looks_like_path(name: str) -> bool:
    return name.endswith(".toml") or "/" in name or "\\" in name or Path(name).exists()


def config_path(name_or_path: str | Path) -> Any:
    """Resolve a shipped config name or a path to the file to read.

    A directory holding ``config.toml`` (a run directory) resolves to that file.

    Raises:
        FileNotFoundError: If a path does not exist.
        ValueError: If a name is not a shipped config; the message lists the shipped names.
    """
    return _resolve(name_or_path)[0]


def _resolve(name_or_path: str | Path) -> tuple[Any, str | None]:
    """Return ``(file, shipped name or None)``."""
    if isinstance(name_or_path, Path) or _looks_like_path(str(name_or_path)):
        path = Path(name_or_path).expanduser()
        if path.is_dir() and (path / "config.toml").is_file():
            return path / "config.toml", None
        if not path.is_file():
            raise FileNotFoundError(f"config file {str(path)!r} does not exist")
        return path, None
    shipped = _shipped()
    if name_or_path in shipped:
        return shipped[name_or_path], str(name_or_path)
    valid = sorted(shipped)
    raise ValueError(
        f"unknown config {name_or_path!r}{did_you_mean(name_or_path, valid)}"
        + f"; shipped configs: {', '.join(valid) or '(none)'}; or pass a path to a .toml file"
    )


def max_config_bytes() -> int:
    """The most bytes a config file may hold: :data:`MAX_CONFIG_BYTES`, or the positive integer
    in ``$HYBRIDQNN_MAX_CONFIG_BYTES`` (read at each call)."""
    text = os.environ.get(CONFIG_BYTES_ENV, "").strip()
    if not text:
        return MAX_CONFIG_BYTES
    if not text.isdigit() or int(text) < 1:
        raise ValueError(f"{CONFIG_BYTES_ENV!r} must be a positive integer, got {text!r}")
    return int(text)


def _read_toml(source: Any, label: str) -> dict[str, Any]:
    """Parse a config file (a Path or a Traversable) within the limits of the module docstring:
    at most :func:`max_config_bytes` bytes, UTF-8 (a leading byte-order mark is skipped), tables
    and arrays nested at most :data:`MAX_CONFIG_DEPTH` deep. Every message names the file."""
    limit = max_config_bytes()
    try:
        with source.open("rb") as fh:
            raw = fh.read(limit + 1)
    except OSError as exc:
        raise FileNotFoundError(f"cannot read config {label}: {exc.strerror or exc}") from None
    if len(raw) > limit:
        raise InputFileError(
            f"config {label} is larger than {limit} bytes (the limit; raise it with ${CONFIG_BYTES_ENV})"
        )
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputFileError(
            f"config {label} is not UTF-8: byte 0x{raw[exc.start]:02x} at offset {exc.start} is invalid"
        ) from None
    return _parse_toml(text.removeprefix("\ufeff"), f"config {label}")


def _parse_toml(text: str, where: str) -> dict[str, Any]:
    """:func:`_loads_bounded`; errors are one line starting with ``where``."""
    try:
        data = _loads_bounded(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputFileError(f"{where} is not valid TOML: {' '.join(str(exc).split())}") from None
    if data is None:
        raise InputFileError(_too_deep(where))
    return data


def _loads_bounded(text: str) -> dict[str, Any] | None:
    """``tomllib.loads``, or None if the document nests deeper than :data:`MAX_CONFIG_DEPTH`
    (tomllib recurses once per level, so a deep one would raise ``RecursionError``)."""
    try:
        data = tomllib.loads(text)
    except RecursionError:
        return None
    return None if _depth(data) > MAX_CONFIG_DEPTH else data


def _too_deep(where: str) -> str:
    return f"{where} nests tables or arrays deeper than {MAX_CONFIG_DEPTH} levels (the limit)"


def _depth(value: Any, level: int = 0) -> int:
    """The nesting depth of parsed TOML (a scalar is 0), stopping past the limit."""
    if level > MAX_CONFIG_DEPTH or not isinstance(value, (dict, list)):
        return level
    items = value.values() if isinstance(value, dict) else value
    return max((_depth(v, level + 1) for v in items), default=level + 1)


def list_configs() -> list[ConfigInfo]:
    """Return the shipped configs sorted by name, with their experiment and its kind.

    Raises:
        ValueError: If a shipped config is malformed or names an unknown experiment.
    """
    infos = []
    for name, entry in sorted(_shipped().items()):
        label = repr(name)
        data = _read_toml(entry, label)
        exp_name = data.get("experiment")
        if not isinstance(exp_name, str):
            raise ValueError(f"config {label}: 'experiment' must be a str, got {exp_name!r}")
        exp = get_experiment(exp_name)
        description = data.get("description", exp.description)
        infos.append(ConfigInfo(name, exp.name, exp.kind, str(description)))
    return infos


# --------------------------------------------------------------------------- loading


def _source(name_or_path: Any) -> tuple[dict[str, Any], str, str, Path | None]:
    """The parsed config, its default name, its label in messages and its file (if any)."""
    if isinstance(name_or_path, Mapping):
        data = dict(name_or_path)
        default_name = str(data.get("name", "config"))
        return data, default_name, f"{default_name!r}", None
    entry, shipped_name = _resolve(name_or_path)
    if shipped_name is None:
        return _read_toml(entry, repr(str(entry))), entry.stem, repr(str(entry)), entry
    label = repr(shipped_name)
    source = Path(str(entry)) if isinstance(entry, Path) else None
    return _read_toml(entry, label), shipped_name, label, source


def _checked(where: str, cls: type, key: str, value: Any, hint: Any) -> Any:
    """``value`` coerced to ``hint`` and checked against the declared rule of field ``key``
    (:func:`~hybridqnn.experiments.params.check_field`); errors start with ``where``."""
    value = coerce(f"{where} {key!r}", value, hint)
    try:
        check_field(cls, key, value)
    except (TypeError, ValueError) as exc:
        raise type(exc)(f"{where} {_one_line(exc)}") from None
    return value


def _table_values(where: str, data: Mapping[str, Any], cls: type, quick: bool) -> dict[str, Any]:
    """``[params]``, then ``[quick]`` when asked, each key checked against the dataclass (both
    tables are always checked, so a typo in ``[quick]`` fails a normal run too)."""
    hints = field_hints(cls)
    values: dict[str, Any] = {}
    for table in ("params", "quick"):
        section = data.get(table, {})
        if not isinstance(section, dict):
            raise TypeError(f"{where}: [{table}] must be a table, got {section!r}")
        _check_keys(where, f"[{table}]", section, hints)
        checked = {
            key: _checked(f"{where}: [{table}]", cls, key, value, hints[key])
            for key, value in section.items()
        }
        if table == "params" or quick:
            values.update(checked)
    return values


def _apply_overrides(
    where: str, overrides: Sequence[str], cls: type, values: dict[str, Any]
) -> tuple[int | None, dict[str, Any]]:
    """Apply ``--set key=value`` items to ``values``; return the seed they set (if any) and the
    params they set. Errors read ``<where>: --set key=value: ...``."""
    hints = field_hints(cls)
    run_seed = None
    keys = []
    for item in overrides:
        key, parsed, raw = _parse_override(where, item)
        owhere = f"{where}: --set {item}"
        if key == "seed":
            run_seed = _check_seed(f"{owhere}: 'seed'", parsed)
            continue
        if key.startswith("params."):
            key = key[len("params.") :]
        _check_keys(owhere, "[params]", {key: None}, ("seed", *hints))
        keys.append(key)
        try:
            values[key] = _checked(f"{owhere}:", cls, key, parsed, hints[key])
        except TypeError:
            if parsed is raw or not accepts_str(hints[key]):
                raise
            values[key] = _checked(f"{owhere}:", cls, key, raw, hints[key])
    return run_seed, {key: values[key] for key in keys}


def _solver_defaults(where: str, cls: type, layers: Sequence[tuple[str, Mapping[str, Any]]], values: dict[str, Any]) -> None:
    """A solver's ``sample_kwargs`` belong to it: where a layer (dataclass defaults,
    ``[params]``, ``[quick]``, the ``--set`` items) changes a :func:`~hybridqnn.experiments.params.solver_field`
    and neither it nor a later layer sets that solver's keywords, they become the new solver's
    defaults, ``{}`` (its sampler's own), instead of keywords written for another solver."""
    for solver_key, kwargs_key in solver_kwargs_fields(cls).items():
        solver, switched, kwargs_at = _MISSING, -1, -1
        for i, (_, layer) in enumerate(layers):
            if solver_key in layer and layer[solver_key] != solver:
                switched = -1 if solver is _MISSING else i
                solver = layer[solver_key]
            if kwargs_key in layer:
                kwargs_at = i
        if switched <= kwargs_at:
            continue
        if values.get(kwargs_key, layers[0][1].get(kwargs_key)):
            logger.info(
                "%s: %r reset to {} (the defaults of %s %r, set by %s; the keywords given were for another solver)",
                where, kwargs_key, solver_key, solver, layers[switched][0],
            )
        values[kwargs_key] = {}


def _build_params(where: str, experiment: Experiment, values: dict[str, Any], quick: bool) -> Any:
    missing = [k for k, f in init_fields(experiment.params).items() if is_required(f) and k not in values]
    if missing:
        raise ValueError(
            f"{where}: missing required key(s) {', '.join(map(repr, missing))} in [params]"
        )
    try:
        return experiment.params(**values)
    except (TypeError, ValueError) as exc:
        raise type(exc)(
            f"{where} (experiment {experiment.name!r}): invalid [params]"
            f"{' with --quick' if quick else ''}: {_one_line(exc)}"
        ) from None


def load_config(
    name_or_path: str | Path | Mapping[str, Any],
    overrides: Iterable[str] = (),
    quick: bool = False,
    seed: int | None = None,
) -> ResolvedConfig:
    """Load, merge and validate a config.

    Precedence, lowest first: dataclass defaults, ``[params]``, ``[quick]`` (if ``quick``),
    ``overrides``; for the seed: ``seed`` in the file (default 0), ``--set seed=N``, ``seed``.

    Args:
        name_or_path: A shipped config name, a path to a ``.toml`` file (or a run directory
            holding ``config.toml``), or an already parsed config dict.
        overrides: ``"key=value"`` strings. ``value`` uses TOML value syntax (``3``, ``1e-3``,
            ``[5, 10]``, ``"x"``, ``true``) and falls back to the bare string (``mnist``).
            ``key`` is a params key (optionally written ``params.key``) or ``seed``.
        quick: Apply the ``[quick]`` table.
        seed: Master seed, overriding the file and the overrides.

    Returns:
        The :class:`ResolvedConfig`.

    Raises:
        FileNotFoundError: If a config path does not exist.
        ValueError: For unknown names or keys (the message lists the valid ones), and for
            values the params dataclass rejects.
        TypeError: For values of the wrong type.
    """
    if isinstance(overrides, str):
        raise TypeError(f"'overrides' must be a list of 'key=value' strings, got {overrides!r}")
    overrides = tuple(overrides)
    data, default_name, label, source = _source(name_or_path)
    where = f"config {label}"
    _check_keys(where, "top level", data, TOP_LEVEL_KEYS)
    if "experiment" not in data:
        raise ValueError(f"{where}: missing required key 'experiment' (the experiment to run)")
    exp_name = data["experiment"]
    if not isinstance(exp_name, str):
        raise TypeError(f"{where}: 'experiment' must be a str, got {exp_name!r}")
    experiment = get_experiment(exp_name)

    name = data.get("name", default_name)
    if not isinstance(name, str) or not name:
        raise TypeError(f"{where}: 'name' must be a non-empty str, got {name!r}")
    description = data.get("description", experiment.description)
    if not isinstance(description, str):
        raise TypeError(f"{where}: 'description' must be a str, got {description!r}")
    run_seed = _check_seed(f"{where}: 'seed'", data.get("seed", 0))

    values = _table_values(where, data, experiment.params, quick)
    override_seed, overridden = _apply_overrides(where, overrides, experiment.params, values)
    layers = [
        ("the defaults", {k: _default(f) for k, f in init_fields(experiment.params).items()}),
        ("[params]", data.get("params", {})),
        ("[quick]", data.get("quick", {}) if quick else {}),
        ("--set", overridden),
    ]
    _solver_defaults(where, experiment.params, layers, values)
    if override_seed is not None:
        run_seed = override_seed
    if seed is not None:
        run_seed = _check_seed("'seed'", seed)
    params = _build_params(where, experiment, values, quick)
    if quick and data.get("quick"):
        description = _quick_description(description, data["quick"])

    return ResolvedConfig(
        name=name,
        experiment=experiment,
        params=params,
        seed=run_seed,
        quick=bool(quick),
        description=description,
        source=source,
        overrides=overrides,
    )


def _quick_description(description: str, quick: Mapping[str, Any]) -> str:
    """The description of a quick run: its ``[quick]`` settings first, so that it never claims
    the full run's settings (say "100 epochs") as its own, then the full run's description."""
    shown = ", ".join(f"{key}={value!r}" for key, value in quick.items())
    return f"Quick run: the [quick] settings {shown} replace the full run's. Full run: {description}"


def params_help(experiment: Experiment) -> list[ParamInfo]:
    """Describe the config keys of ``experiment``: name, type, default, help text and the
    declared rule (range or choices, :class:`~hybridqnn.experiments.params.Rule`)."""
    hints = field_hints(experiment.params)
    out = []
    for name, f in init_fields(experiment.params).items():
        default = _default(f)
        rule = field_rule(f)
        out.append(
            ParamInfo(
                name=name,
                type=type_name(hints[name]),
                default=_plain(default),
                help=str(f.metadata.get("help", "")),
                required=is_required(f),
                rule=rule.describe(element_kind(hints[name])[1]) if rule else "",
            )
        )
    return out


# --------------------------------------------------------------------------- helpers


def _default(f: dataclasses.Field) -> Any:
    """A field's default value (a fresh one from ``default_factory``), or None if required."""
    if f.default is not dataclasses.MISSING:
        return f.default
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return None


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text or type(exc).__name__


def _check_keys(where: str, table: str, data: Mapping[str, Any], valid: Iterable[str]) -> None:
    valid = list(valid)
    for key in data:
        if key not in valid:
            raise ValueError(
                f"{where}: unknown key {key!r} in {table}{did_you_mean(key, valid)}"
                + f"; valid keys: {', '.join(valid) or '(none)'}"
            )


def _check_seed(where: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{where} must be an integer in [0, {_SEED_MAX}], got {value!r}")
    if not 0 <= int(value) <= _SEED_MAX:
        raise ValueError(f"{where} must be an integer in [0, {_SEED_MAX}], got {value!r}")
    return int(value)


def _parse_override(where: str, item: Any) -> tuple[str, Any, str]:
    if not isinstance(item, str) or "=" not in item:
        raise ValueError(f"--set expects key=value, got {item!r}")
    key, raw = item.split("=", 1)
    key = key.strip()
    if not key:
        raise ValueError(f"--set expects key=value with a non-empty key, got {item!r}")
    try:
        data = _loads_bounded(f"v = {raw}")
    except tomllib.TOMLDecodeError:
        return key, raw, raw
    if data is None:
        raise ValueError(_too_deep(f"{where}: --set {key}: the value"))
    return key, data["v"], raw


def _plain(value: Any) -> Any:
    """Convert tuples to lists and Paths to str, recursively, for TOML/JSON output."""
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "item") and getattr(value, "ndim", None) == 0:  # numpy scalar
        return value.item()
    return value


def _drop_none(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _drop_none(v) for k, v in value.items() if v is not None}
    return value

