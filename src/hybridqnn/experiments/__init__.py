"""Experiments: a registry of runners, TOML configs, run directories and reports.

Typical use::

    from hybridqnn.experiments import load_config, run_experiment

    config = load_config("quickstart", overrides=["epochs=2"], quick=True)
    result = run_experiment(config)
    print(result.out_dir, result.rows)

Experiment modules register themselves with :func:`register`; see
:class:`~hybridqnn.experiments.registry.Experiment` and
:class:`~hybridqnn.experiments.context.RunContext` for what an experiment gets.
"""

from __future__ import annotations

from hybridqnn.experiments.config import (
    ConfigInfo,
    ParamInfo,
    ResolvedConfig,
    list_configs,
    load_config,
    params_help,
)
from hybridqnn.experiments.context import RunContext
from hybridqnn.experiments.registry import (
    BUILTIN_MODULES,
    Experiment,
    get_experiment,
    list_experiments,
    load_builtin_experiments,
    register,
)
from hybridqnn.experiments.report import read_report, render_markdown, render_table, write_report
from hybridqnn.experiments.runner import RunResult, run_experiment

__all__ = [
    "BUILTIN_MODULES",
    "ConfigInfo",
    "Experiment",
    "ParamInfo",
    "ResolvedConfig",
    "RunContext",
    "RunResult",
    "get_experiment",
    "list_configs",
    "list_experiments",
    "load_builtin_experiments",
    "load_config",
    "params_help",
    "read_report",
    "register",
    "render_markdown",
    "render_table",
    "run_experiment",
    "write_report",
]
