#!/usr/bin/env python3
"""Benchmark hostaudit's filesystem walk (fs.unowned-files) against find, in the same run.

    sudo .venv/bin/python bench/walk_bench.py [--runs 5]

Times, as separate processes, over this machine's root filesystem only:
  * hostaudit's walk of ``/`` (Host.walk + the file_walk bookkeeping, interpreter start and
    imports included; other mount points pruned as the probe prunes them)
  * ``find / -xdev ( -nouser -o -nogroup )``   target: the walk takes <= 0.25x this
  * ``find / -xdev | wc -l``                    target: the walk takes <= 2x this (bare
                                                traversal: names only, no stat per entry)
  * ``find / -xdev -printf '%U %G\\n'``         reference: find with one stat per entry, the
                                                floor for any walk that must read owners
One untimed warm-up run of each first (page cache and dentry cache warm), then the commands
take turns for ``--runs`` rounds, so a load change on the machine hits all of them alike;
the median wall time of each is printed with the ratios. Nothing is written anywhere.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))

# The child that walks: the probe's own code, judging owners against this host's files.
WALK_CHILD = r"""
import posixpath, sys
from hostaudit.host import LiveHost
from hostaudit.parsers.mountinfo import parse_mountinfo
from hostaudit.parsers.passwd import parse_group, parse_passwd
from hostaudit.probes.filewalk import walk_filesystems
host = LiveHost()
mounts = [m for m in parse_mountinfo(host.read_text("/proc/self/mountinfo")) if not m.get("malformed")]
prune = frozenset(posixpath.normpath(m["mount_point"]) for m in mounts)
uids = {u["uid"] for u in parse_passwd(host.read_text("/etc/passwd")) if "uid" in u}
gids = {g["gid"] for g in parse_group(host.read_text("/etc/group")) if "gid" in g}
fact = walk_filesystems(host, ["/"], prune, uids, gids)
print(fact["entries"], fact["unowned"]["count"], fact["setid"]["count"], fact["unreadable"]["count"])
"""

COMMANDS = {
    "hostaudit walk /": [sys.executable, "-c", WALK_CHILD],
    "find -nouser -o -nogroup": ["find", "/", "-xdev", "(", "-nouser", "-o", "-nogroup", ")"],
    "find | wc -l (bare)": ["sh", "-c", "find / -xdev | wc -l"],
    "find -printf %U %G (stat)": ["find", "/", "-xdev", "-printf", "%U %G\\n"],
}


def run_once(argv: list[str]) -> tuple[float, str]:
    """Wall time of one run and the first line of its output (hostaudit's counts)."""
    started = time.perf_counter()
    done = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                          stderr=subprocess.DEVNULL, timeout=900, check=False)
    wall = time.perf_counter() - started
    if done.returncode not in (0, 1):
        raise SystemExit(f"{argv[:3]} exited {done.returncode}")
    first = done.stdout.split(b"\n", 1)[0].decode("utf-8", "replace")
    return wall, first


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("warning: not root; unreadable directories make every command's work smaller",
              file=sys.stderr)
    env_note = subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip()
    walls: dict[str, list[float]] = {name: [] for name in COMMANDS}
    counts = ""
    for name, argv in COMMANDS.items():  # warm-up, untimed
        _, out = run_once(argv)
        if name == "hostaudit walk /":
            counts = out
    for _ in range(args.runs):
        for name, argv in COMMANDS.items():
            walls[name].append(run_once(argv)[0])
    med = {name: statistics.median(w) for name, w in walls.items()}
    entries, unowned, setid, unreadable = (counts.split() + ["?"] * 4)[:4]
    print(f"root filesystem: {entries} entries, {unowned} unowned, {setid} set-id, "
          f"{unreadable} unreadable; {args.runs} runs, {env_note} CPUs, load {os.getloadavg()[0]:.2f}")
    print(f"{'command':28} {'median s':>9} {'min s':>8} {'max s':>8}")
    for name, w in walls.items():
        print(f"{name:28} {med[name]:9.3f} {min(w):8.3f} {max(w):8.3f}")
    walk = med["hostaudit walk /"]
    print(f"\nwalk / find -nouser -o -nogroup = {walk / med['find -nouser -o -nogroup']:.2f}x"
          f"  (target <= 0.25x)")
    print(f"walk / bare find traversal      = {walk / med['find | wc -l (bare)']:.2f}x"
          f"  (target <= 2x)")
    print(f"walk / find with one stat each  = {walk / med['find -printf %U %G (stat)']:.2f}x"
          f"  (reference)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
