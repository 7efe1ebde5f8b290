#!/usr/bin/env python3
"""Benchmark drift runs against a plain scan of the same target, measured in the same run.

    sudo python3 bench/drift_bench.py [--runs 5] [--history 365]

Measures (median wall time of N runs after a warm-up, byte code on):
  * ``hostaudit scan``                          the peer: a plain live scan
  * ``hostaudit scan --state-dir D``            a drift run (target: at most 1.10x the plain scan)
  * ``hostaudit diff OLD NEW`` of two reports   (target: under 100 ms beyond start-up, which is
                                                 measured as ``hostaudit --version``)
  * finding the last run with 1 and with ``--history`` runs kept (target: flat)
Everything is written to a temporary directory; the host is only read.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

CHILD_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
HOSTAUDIT = [sys.executable, "-m", "hostaudit"]


def median_wall(argv: list[str], runs: int) -> float:
    """Median wall time of ``runs`` runs of ``argv`` after one untimed warm-up."""
    subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=CHILD_ENV, timeout=600)
    walls = []
    for _ in range(runs):
        started = time.perf_counter()
        done = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=CHILD_ENV,
                              timeout=600)
        walls.append(time.perf_counter() - started)
        if done.returncode not in (0, 1):
            raise SystemExit(f"{' '.join(argv)} exited {done.returncode}")
    return statistics.median(walls)


def time_previous(state_dir: str, key: str, repeat: int = 50) -> float:
    """Median time of StateDir.previous (finding and reading the last run)."""
    from hostaudit.state import StateDir

    state = StateDir(state_dir)
    walls = []
    for _ in range(repeat):
        started = time.perf_counter()
        state.previous(key)
        walls.append(time.perf_counter() - started)
    return statistics.median(walls)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--history", type=int, default=365)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="hostaudit-drift-bench-") as tmp:
        out, state = os.path.join(tmp, "out"), os.path.join(tmp, "state")
        os.mkdir(out)
        common = ["scan", "--format", "json", "--quiet", "-o", out]
        plain = median_wall([*HOSTAUDIT, *common], args.runs)
        drift = median_wall([*HOSTAUDIT, *common, "--state-dir", state, "--keep", str(args.history)], args.runs)
        old, new = os.path.join(tmp, "old.json"), os.path.join(tmp, "new.json")
        for path in (old, new):
            subprocess.run([*HOSTAUDIT, *common], env=CHILD_ENV, timeout=600, check=False)
            os.replace(os.path.join(out, "report.json"), path)
        startup = median_wall([*HOSTAUDIT, "--version"], args.runs)
        diff = median_wall([*HOSTAUDIT, "diff", old, new, "-o", tmp, "--format", "json"], args.runs)

        import json

        from hostaudit.state import StateDir
        report = json.load(open(new))
        few, many = os.path.join(tmp, "few"), os.path.join(tmp, "many")
        for path, count in ((few, 1), (many, args.history)):
            store = StateDir(path, keep=args.history)
            store.prepare()
            for _ in range(count):
                store.record("live-bench", report)
        last_few, last_many = time_previous(few, "live-bench"), time_previous(many, "live-bench")

    print(f"plain scan                    {plain:.3f} s")
    print(f"drift scan (--state-dir)      {drift:.3f} s   ratio {drift / plain:.3f} (target <= 1.10)")
    print(f"start-up (--version)          {startup:.3f} s")
    print(f"diff of two reports           {diff:.3f} s   "
          f"beyond start-up {1000 * (diff - startup):.0f} ms (target < 100)")
    print(f"last run, 1 kept              {1000 * last_few:.1f} ms")
    print(f"last run, {args.history} kept           {1000 * last_many:.1f} ms   "
          f"ratio {last_many / last_few:.2f} (target ~1)")


if __name__ == "__main__":
    main()
