#!/usr/bin/env python3
"""Benchmark the one-shot audit against peers measured in the same run.

    sudo python3 bench/audit_bench.py [--runs 5] [--skip-lynis] [--image-root DIR]

Measures wall time and peak memory (max RSS of the child) of:
  * ``hostaudit --help``                      (target: < 150 ms; imports are lazy)
  * ``hostaudit scan`` live, shipped baseline (target: < 0.5 s, >= 80x faster than Lynis)
  * ``hostaudit scan --root`` of a debootstrap'ed Debian 12 minbase tree (target: < 0.5 s)
  * ``lynis audit system --quick``            (the peer; about 40 s here)
  * ``find / -xdev -nouser -o -nogroup``      (the peer of a filesystem walk)
and prints the figures and ratios. Reports go to a temporary directory; nothing in the
repository or on the audited host is changed (the minbase tree is cached under /var/tmp).
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

MINBASE = "/var/tmp/hostaudit-bench/bookworm-minbase"
MIRROR = "http://deb.debian.org/debian"


# Byte-compiled modules, as a normal `pip install` leaves them: some environments set
# PYTHONDONTWRITEBYTECODE, which would time the compiler instead of hostaudit.
CHILD_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def measure(argv: list[str], *, runs: int, timeout: float = 600) -> dict:
    """Median wall time and the largest max-RSS over ``runs`` runs of ``argv`` (after one
    untimed warm-up run when ``runs`` > 1, so caches and byte code are warm for every peer)."""
    walls, rss = [], 0
    if runs > 1:
        subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       stdin=subprocess.DEVNULL, timeout=timeout, check=False, env=CHILD_ENV)
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        started = time.perf_counter()
        done = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              stdin=subprocess.DEVNULL, timeout=timeout, check=False, env=CHILD_ENV)
        walls.append(time.perf_counter() - started)
        # ru_maxrss of children is the max over all waited-for children so far: measure each
        # command in a fresh helper process to attribute it (see _isolated).
        rss = max(rss, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, before)
        if done.returncode not in (0, 1):
            raise SystemExit(f"{' '.join(argv)} exited {done.returncode}")
    return {"wall_s": statistics.median(walls), "min_s": min(walls), "maxrss_kib": rss}


def isolated(argv: list[str], *, runs: int, timeout: float = 600) -> dict:
    """Run ``measure`` in a fresh interpreter so the max RSS belongs to ``argv`` alone."""
    here = os.path.dirname(os.path.abspath(__file__))
    code = (
        f"import json,sys; sys.path.insert(0, {here!r}); from audit_bench import measure; "
        f"print(json.dumps(measure({argv!r}, runs={runs:d}, timeout={timeout!r})))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=timeout * runs + 60, check=True)
    import json

    return json.loads(out.stdout.strip().splitlines()[-1])


def ensure_minbase(path: str) -> str | None:
    """A Debian 12 minbase tree for the image benchmark (debootstrap once, then cached)."""
    if os.path.isfile(os.path.join(path, "etc/debian_version")):
        return path
    if not shutil.which("debootstrap") or os.geteuid() != 0:
        return None
    print(f"debootstrap --variant=minbase bookworm {path} (once; takes a few minutes)", file=sys.stderr)
    subprocess.run(["debootstrap", "--variant=minbase", "bookworm", path, MIRROR],
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=1800, check=True)
    return path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--skip-lynis", action="store_true")
    parser.add_argument("--image-root", default=MINBASE)
    args = parser.parse_args()

    hostaudit = [sys.executable, "-m", "hostaudit"]
    out = tempfile.mkdtemp(prefix="hostaudit-bench-")
    rows: list[tuple[str, dict]] = []
    try:
        rows.append(("hostaudit --help", isolated(hostaudit + ["--help"], runs=args.runs)))
        live = isolated(hostaudit + ["scan", "-o", out, "--quiet"], runs=args.runs)
        rows.append(("hostaudit scan (live)", live))
        image_root = ensure_minbase(args.image_root)
        if image_root:
            rows.append(("hostaudit scan --root minbase",
                         isolated(hostaudit + ["scan", "--root", image_root, "-o", out, "--quiet"],
                                  runs=args.runs)))
        find = isolated(["find", "/", "-xdev", "-nouser", "-o", "-nogroup"], runs=1)
        rows.append(("find / -xdev -nouser -o -nogroup", find))
        lynis = None
        if not args.skip_lynis and shutil.which("lynis"):
            lynis = isolated(["lynis", "audit", "system", "--quick", "--no-colors",
                              "--logfile", os.path.join(out, "lynis.log"),
                              "--report-file", os.path.join(out, "lynis.dat")], runs=1)
            rows.append(("lynis audit system --quick", lynis))
    finally:
        shutil.rmtree(out, ignore_errors=True)

    print(f"{'command':40} {'median s':>9} {'min s':>8} {'max RSS MiB':>12}")
    for name, r in rows:
        print(f"{name:40} {r['wall_s']:9.3f} {r['min_s']:8.3f} {r['maxrss_kib'] / 1024:12.1f}")
    if lynis:
        print(f"\nlive audit is {lynis['wall_s'] / live['wall_s']:.0f}x faster than lynis --quick, "
              f"using {live['maxrss_kib'] / max(lynis['maxrss_kib'], 1):.2f}x its peak memory")
    return 0


if __name__ == "__main__":
    sys.exit(main())
