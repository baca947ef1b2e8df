"""Start-up time of the ``hybridqnn`` commands that train nothing (issue 21, item 4).

Runs each command in a fresh Python process ``--repeats`` times (after one untimed warm-up run
that fills the file cache) and prints the median, min and max wall time, and whether the median
is under the target (1.5 s on 2 cores)::

    python scripts/bench_cli.py                 # the five commands, 5 repeats each
    python scripts/bench_cli.py --repeats 9 --command "validate qcbo-fmnist --quick"
    python scripts/bench_cli.py --command=--version   # arguments starting with '-' need the '='

Each process is ``python -m hybridqnn.cli ARGS`` with this interpreter and environment, so
``PYTHONPATH=/path/to/src`` measures that checkout. A benchmark, not a test: the numbers depend
on the machine and its load (the tests check the behaviour instead: these commands import no
torch, numba, dimod, scikit-learn or matplotlib).
"""

from __future__ import annotations

import argparse
import os
import shlex
import statistics
import subprocess
import sys
import time

COMMANDS: tuple[str, ...] = (
    "--help",
    "list",
    "validate quickstart",
    "run quickstart --dry-run",
    "bench solvers --dry-run",
)
TARGET_S = 1.5


def time_command(args: list[str], repeats: int) -> list[float]:
    """Wall seconds of ``repeats`` fresh runs of ``python -m hybridqnn.cli args`` (after one
    untimed run); raises ``RuntimeError`` with its stderr if a run fails."""
    argv = [sys.executable, "-m", "hybridqnn.cli", *args]
    times = []
    for i in range(repeats + 1):
        start = time.perf_counter()
        done = subprocess.run(argv, capture_output=True, text=True, env=os.environ.copy())
        elapsed = time.perf_counter() - start
        if done.returncode != 0:
            raise RuntimeError(f"'{shlex.join(args)}' exited {done.returncode}: {done.stderr.strip()}")
        if i:
            times.append(elapsed)
    return times


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="timed runs per command (default 5)")
    parser.add_argument("--command", dest="commands", action="append", metavar="ARGS",
                        help="hybridqnn arguments to time; repeatable (default: the five of the issue)")
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error(f"'--repeats' must be an integer >= 1, got {args.repeats}")
    commands = args.commands or list(COMMANDS)
    width = max(len(c) for c in commands) + len("hybridqnn ")
    print(f"{'command':<{width}}  median_s  min_s  max_s  under_{TARGET_S}s  (cores: {os.cpu_count()}, "
          f"repeats: {args.repeats}, load: {os.getloadavg()[0]:.2f})")
    slow = 0
    for command in commands:
        times = time_command(shlex.split(command), args.repeats)
        median = statistics.median(times)
        slow += median >= TARGET_S
        print(f"{'hybridqnn ' + command:<{width}}  {median:8.2f}  {min(times):5.2f}  {max(times):5.2f}  "
              f"{'yes' if median < TARGET_S else 'NO'}")
    return 1 if slow else 0


if __name__ == "__main__":
    sys.exit(main())
