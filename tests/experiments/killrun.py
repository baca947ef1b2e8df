"""Kill -9 harness for run promotion (issue #23 item 5): a run into a directory that already
holds a good run is killed with SIGKILL at one point; the directory must then hold one whole
run (the old one or the new one, never a mix), and the next run must leave no staging
directory behind.

Each trial runs the toy experiment of ``conftest.py`` in child processes (the parent never
imports hybridqnn, so the same harness measures any checkout: ``PYTHONPATH`` picks it):

1. a good run (``lr = 0.1``, 2 epochs) into ``out``;
2. the run under test (``lr = 0.5``, 6 epochs, 0.1 s per epoch), killed with SIGKILL either
   after a delay (timed) or exactly at the k-th call of a function (the child patches it to
   ``os.kill(os.getpid(), SIGKILL)``);
3. the coherence check of ``out`` (:func:`check_run`);
4. a clean run (``lr = 0.25``, 1 epoch): it must end ok, coherent, and no staging directory
   (hidden entries in ``out`` or ``.<name>.*`` beside it) may survive.

``python tests/experiments/killrun.py`` runs all :data:`TRIALS` and prints the table; the test
suite runs a few of them (``test_exp_runner.py``). A hook names alternatives (``alt``) for code
that lacks the first target, so main's runner can be measured with the same trials.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

HERE = Path(__file__).resolve().parent
TOY_TOML = 'experiment = "toy"\nseed = 7\n[params]\nbits = [4]\n'
OLD = {"lr": 0.1, "epochs": 2}
NEW = {"lr": 0.5, "epochs": 6}
CLEAN = {"lr": 0.25, "epochs": 1}
RUN_FILES = {"config.toml", "metrics.jsonl", "report.json", "report.md", "rows.csv", "loss.png", "error.log"}
KEPT_DIRS = ("failed", "interrupted")
#: Names under which main's runner (before whole-run promotion) kept a failed run's files beside
#: a good run (``report.failed.json``, ``models.interrupted``...): not counted as a mix.
_TAGGED = re.compile(r"\.(failed|interrupted)(\.|$)")

_EXCHANGE = "hybridqnn._files._exchange"
_REPLACE = "hybridqnn.experiments.runner.replace_directory"
_CLEAN = "hybridqnn.experiments.runner.clean_stale"
_PROMOTE = "hybridqnn.experiments.runner._promote"


def _hook(target: str, call: int, when: str = "before", armed_by: str | None = None,
          alt: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"target": target, "call": call, "when": when, "armed_by": armed_by, "alt": alt or []}


#: name -> trial. ``kill``: seconds after the run starts (timed) or a hook; ``pre``: trials
#: whose kill runs first (to leave a stale state behind); ``no_exchange``: the child makes the
#: exchange unavailable (the two-rename fallback); ``fail_at``: the run fails at that epoch.
TRIALS: dict[str, dict[str, Any]] = {
    "training, t=0.15 s": {"kill": 0.15},
    "training, t=0.35 s": {"kill": 0.35},
    "training, t=0.55 s": {"kill": 0.55},
    "after metrics line 3": {"kill": _hook("hybridqnn.experiments.context.RunContext.log", 3, "after")},
    "writing config.toml": {"kill": _hook("hybridqnn.experiments.runner.atomic_write_text", 1)},
    "after the figure": {"kill": _hook("hybridqnn.experiments.report.atomic_write_bytes", 1, "after")},
    "before report.json": {"kill": _hook("hybridqnn.experiments.report.atomic_write_text", 1)},
    "report.json written, report.md not": {
        "kill": _hook("hybridqnn.experiments.report.atomic_write_text", 2)},
    "just before the exchange": {"kill": _hook(_EXCHANGE, 1, alt=[_hook(_PROMOTE, 1)])},
    "just after the exchange": {
        "kill": _hook(_EXCHANGE, 1, "after", alt=[_hook("os.replace", 3, armed_by=_PROMOTE)])},
    "deleting the old tree": {
        "kill": _hook("os.unlink", 3, armed_by=_EXCHANGE, alt=[_hook("os.replace", 5, armed_by=_PROMOTE)])},
    "fallback: between the two renames": {
        "no_exchange": True,
        "kill": _hook("os.rename", 2, "after", armed_by=_REPLACE,
                      alt=[_hook("os.replace", 2, armed_by=_PROMOTE)])},
    "fallback: deleting the old tree": {
        "no_exchange": True,
        "kill": _hook("os.unlink", 2, armed_by=_REPLACE, alt=[_hook("os.replace", 4, "after", armed_by=_PROMOTE)])},
    "failed run: before keeping it": {
        "fail_at": 2, "kill": _hook(_REPLACE, 1, alt=[_hook("os.replace", 2, armed_by=_PROMOTE)])},
    "cleanup of a stale staging dir": {
        "pre": ["training, t=0.35 s"],
        "kill": _hook("os.unlink", 2, armed_by=_CLEAN, alt=[_hook("os.replace", 2, armed_by=_PROMOTE)])},
    "restore after the fallback's window": {
        "pre": ["fallback: between the two renames"], "kill": 0.35},
}


# --------------------------------------------------------------------------- child


def _resolve(dotted: str) -> tuple[Any, str] | None:
    """(owner, attribute) of ``pkg.mod.attr`` or ``pkg.mod.Class.attr``; None if missing."""
    import importlib

    parts = dotted.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        try:
            owner: Any = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for name in parts[cut:-1]:
            owner = getattr(owner, name, None)
        if owner is not None and hasattr(owner, parts[-1]):
            return owner, parts[-1]
        return None
    return None


def _patch(spec: dict[str, Any], found: tuple[Any, str], armer: tuple[Any, str] | None) -> None:
    """Make the ``spec["call"]``-th call of ``found`` (counted once ``armer`` was entered, if
    given) kill the process before or after it runs."""
    state = {"armed": armer is None, "calls": 0}
    if armer is not None:
        owner, name = armer
        arm_real = getattr(owner, name)

        def arming(*a: Any, **k: Any) -> Any:
            state["armed"] = True
            return arm_real(*a, **k)

        setattr(owner, name, arming)
    owner, name = found
    real = getattr(owner, name)

    def killing(*a: Any, **k: Any) -> Any:
        if state["armed"]:
            state["calls"] += 1
        hit = state["armed"] and state["calls"] == spec["call"]
        if hit and spec["when"] == "before":
            os.kill(os.getpid(), signal.SIGKILL)
        result = real(*a, **k)
        if hit:
            os.kill(os.getpid(), signal.SIGKILL)
        return result

    setattr(owner, name, killing)


def _install(hook: dict[str, Any]) -> str | None:
    """Patch the first resolvable target of ``hook`` (or its alternatives); the target used."""
    for spec in [hook, *hook["alt"]]:
        found = _resolve(spec["target"])
        armer = _resolve(spec["armed_by"]) if spec["armed_by"] else None
        if found is None or (spec["armed_by"] and armer is None):
            continue
        _patch(spec, found, armer)
        return spec["target"]
    return None


def child(spec: dict[str, Any]) -> None:
    """Run the toy experiment as ``spec`` says (the child process's entry point)."""
    sys.path.insert(0, str(HERE))
    from conftest import TOY
    from hybridqnn.experiments import context, load_config, registry, run_experiment

    registry.BUILTIN_MODULES = ()
    registry._REGISTRY.clear()
    registry.register(TOY)
    real_log = context.RunContext.log

    def slow_log(self: Any, **metrics: Any) -> None:
        real_log(self, **metrics)
        time.sleep(spec.get("sleep", 0.0))

    context.RunContext.log = slow_log
    if spec.get("no_exchange"):
        import hybridqnn._files as files

        if hasattr(files, "_exchange"):
            files._exchange = lambda a, b: False
    if spec.get("hook"):
        used = _install(spec["hook"])
        print(f"hook {used}", flush=True)
    overrides = [f"{k}={v}" for k, v in spec["params"].items()]
    config = load_config(spec["config"], overrides=overrides)
    print("start", flush=True)
    result = run_experiment(config, spec["out"], raise_on_error=False)
    print(f"status {result.status}", flush=True)


# --------------------------------------------------------------------------- parent


def _spawn(spec: dict[str, Any], kill_after: float | None = None, timeout: float = 120) -> tuple[int, str]:
    proc = subprocess.Popen(
        [sys.executable, __file__, "child", json.dumps(spec)], stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True, env={**os.environ, "MPLBACKEND": "Agg"},
    )
    lines = []
    assert proc.stdout is not None
    if kill_after is not None:
        for line in proc.stdout:
            lines.append(line)
            if line.startswith("start"):
                time.sleep(kill_after)
                proc.send_signal(signal.SIGKILL)
                break
    out, _ = proc.communicate(timeout=timeout)  # reaps the child: its PID is dead from now on
    return proc.returncode, "".join(lines) + out


def _params(run: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {**run, **{k: v for k, v in extra.items() if v is not None}}


def _run_in(out: Path, config: Path, params: dict[str, Any], trial: dict[str, Any] | None = None) -> tuple[int, str]:
    spec: dict[str, Any] = {"out": str(out), "config": str(config), "params": params}
    if trial is None:
        return _spawn(spec)
    spec.update(sleep=0.1, no_exchange=trial.get("no_exchange", False))
    if isinstance(trial["kill"], dict):
        return _spawn({**spec, "hook": trial["kill"]})
    return _spawn(spec, kill_after=trial["kill"])


def _drop_none(d: Any) -> Any:
    if isinstance(d, dict):
        return {k: _drop_none(v) for k, v in d.items() if v is not None}
    return d


def _check_one(run_dir: Path, statuses: tuple[str, ...], runs: list[dict[str, Any]]) -> str | None:
    """None if ``run_dir`` holds one whole run with a status in ``statuses`` whose params are
    one of ``runs``; else what is wrong."""
    try:
        report = json.loads((run_dir / "report.json").read_text())
        config = tomllib.loads((run_dir / "config.toml").read_text())
        metrics = (run_dir / "metrics.jsonl").read_text().splitlines()
    except (OSError, ValueError) as exc:
        return f"{run_dir.name}: unreadable run ({type(exc).__name__}: {exc})"
    if report.get("status") not in statuses:
        return f"{run_dir.name}: report status {report.get('status')!r}"
    if _drop_none(report["config"]) != config:
        return f"{run_dir.name}: report.json's config differs from config.toml (a mix of runs)"
    params = config["params"]
    run = next((r for r in runs if r["lr"] == params.get("lr")), None)
    if run is None:
        return f"{run_dir.name}: lr {params.get('lr')} belongs to no expected run"
    epochs = len(report["rows"]) if report["status"] != "ok" else params["epochs"]
    if len(metrics) != epochs or len(report["rows"]) != epochs:
        return f"{run_dir.name}: {len(metrics)} metrics lines, {len(report['rows'])} rows for {epochs} epochs"
    listed = list(report.get("figures") or []) + [m["path"] for m in report.get("models") or []]
    missing = [p for p in listed if not (run_dir / p).exists()]
    if missing:
        return f"{run_dir.name}: listed but missing: {missing}"
    names = {p.name for p in run_dir.iterdir() if not p.name.startswith(".")}
    stray = sorted(n for n in names - RUN_FILES - set(KEPT_DIRS) if not _TAGGED.search(n))
    if stray:
        return f"{run_dir.name}: entries of another run: {stray}"
    if (report["status"] == "ok") == (run_dir / "error.log").exists() and report["status"] != "interrupted":
        return f"{run_dir.name}: error.log does not match status {report['status']!r}"
    return None


def check_run(out: Path, runs: list[dict[str, Any]]) -> str | None:
    """None if ``out`` is coherent: one ok run of ``runs`` and, in ``failed/`` or
    ``interrupted/``, at most one whole run each; else what is wrong."""
    problem = _check_one(out, ("ok",), runs)
    if problem:
        return problem
    for kept in KEPT_DIRS:
        if (out / kept).exists():
            problem = _check_one(out / kept, (kept,), runs + [NEW])
            if problem:
                return problem
    return None


def _recoverable(out: Path) -> bool:
    """True if ``out`` is missing but the old run survives whole as ``.<name>.old-*`` beside
    it (the window of the two-rename fallback, which the next run repairs)."""
    if out.exists():
        return False
    olds = sorted(out.parent.glob(f".{out.name}.old-*"))
    return bool(olds) and check_run(olds[-1], [OLD]) is None


def leftovers(out: Path) -> list[str]:
    """Hidden entries in ``out`` and ``.<name>.*`` entries beside it (staging, old trees)."""
    inside = [p.name for p in out.iterdir() if p.name.startswith(".")] if out.is_dir() else []
    beside = [p.name for p in out.parent.iterdir() if p.name.startswith(f".{out.name}.")]
    return sorted(inside + beside)


def run_trial(name: str, root: Path) -> dict[str, Any]:
    """Run trial ``name`` in the empty directory ``root``; return its outcome."""
    config = root / "toy.toml"
    config.write_text(TOY_TOML)
    out = root / "out"
    code, log = _run_in(out, config, OLD)
    if code != 0:
        raise RuntimeError(f"the good run failed (exit {code}):\n{log}")
    trial = TRIALS[name]
    for pre in trial.get("pre", []):
        _run_in(out, config, NEW, TRIALS[pre])
    code, log = _run_in(out, config, _params(NEW, fail_at=trial.get("fail_at")), trial)
    hook = next((line.split(" ", 1)[1].strip() for line in log.splitlines() if line.startswith("hook ")), None)
    killed = code == -signal.SIGKILL
    after_kill = check_run(out, [OLD, NEW])
    recoverable = after_kill is None or _recoverable(out)
    stale = leftovers(out)
    code2, log2 = _run_in(out, config, CLEAN)
    after_next = check_run(out, [CLEAN]) if code2 == 0 else f"next run exited {code2}: {log2[-300:]}"
    left = leftovers(out)
    return {
        "trial": name, "hook": hook, "killed": killed, "coherent": after_kill is None,
        "recoverable": recoverable,
        "problem": after_kill, "stale_after_kill": stale, "next_ok": after_next is None,
        "next_problem": after_next, "stale_after_next": left,
    }


def concurrent_trial(root: Path, runs: int = 3) -> str | None:
    """Start ``runs`` runs (distinct ``lr``) at once into a directory holding a good run; None
    if all end ok and the directory then holds one whole run of them and no staging."""
    config = root / "toy.toml"
    config.write_text(TOY_TOML)
    out = root / "out"
    code, log = _run_in(out, config, OLD)
    if code != 0:
        return f"the good run failed (exit {code}): {log[-300:]}"
    params = [{"lr": 0.5 + i / 100, "epochs": 2} for i in range(runs)]
    env = {**os.environ, "MPLBACKEND": "Agg"}
    procs = [
        subprocess.Popen(
            [sys.executable, __file__, "child",
             json.dumps({"out": str(out), "config": str(config), "params": p, "sleep": 0.05})],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
        )
        for p in params
    ]
    logs = [proc.communicate(timeout=120)[0] for proc in procs]
    failed = [log[-300:] for proc, log in zip(procs, logs, strict=True) if proc.returncode != 0]
    if failed:
        return f"runs failed: {failed}"
    return check_run(out, params) or (f"left behind: {leftovers(out)}" if leftovers(out) else None)


def main(names: list[str] | None = None) -> int:
    rows = []
    for name in names or list(TRIALS):
        with tempfile.TemporaryDirectory(prefix="killrun-") as tmp:
            rows.append(run_trial(name, Path(tmp)))
        r = rows[-1]
        print(f"{r['trial']:40s} killed={r['killed']!s:5s} coherent={r['coherent']!s:5s} "
              f"recoverable={r['recoverable']!s:5s} "
              f"next_ok={r['next_ok']!s:5s} clean_after_next={not r['stale_after_next']!s:5s} "
              f"hook={r['hook']}" + (f"\n    {r['problem']}" if r["problem"] else "")
              + (f"\n    next: {r['next_problem']}" if r["next_problem"] else "")
              + (f"\n    left: {r['stale_after_next']}" if r["stale_after_next"] else ""),
              flush=True)
    n = len(rows)
    print(f"\nkilled as planned {sum(r['killed'] for r in rows)}/{n}; coherent after kill "
          f"{sum(r['coherent'] for r in rows)}/{n} (whole or recoverable by the next run "
          f"{sum(r['recoverable'] for r in rows)}/{n}); next run ok {sum(r['next_ok'] for r in rows)}/{n}; "
          f"no staging left after next run {sum(not r['stale_after_next'] for r in rows)}/{n}")
    with tempfile.TemporaryDirectory(prefix="killrun-") as tmp:
        problem = concurrent_trial(Path(tmp))
    print(f"3 concurrent runs into one directory: {problem or 'one whole run, no staging left'}")
    return 0 if problem is None and all(r["recoverable"] and r["next_ok"] and not r["stale_after_next"] for r in rows) else 1


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "child":
        child(json.loads(sys.argv[2]))
    else:
        sys.exit(main(sys.argv[1:] or None))
