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
the median wall and CPU time of each is printed with the ratios (CPU time, user + system,
is the figure that other load on a shared machine disturbs least). Nothing is written.
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


def run_once(argv: list[str]) -> tuple[float, float, str]:
    """Wall time and CPU time (user + system, the command's and its reaped children's) of
    one run, and the first line of its output (hostaudit's counts). CPU time is what the
    command costs whatever else the machine runs; wall time is what a user waits."""
    started = time.perf_counter()
    child = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL)
    first = child.stdout.readline()
    for _ in iter(lambda: child.stdout.read(1 << 16), b""):
        pass
    child.stdout.close()
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - started
    if child.returncode not in (0, 1):
        raise SystemExit(f"{argv[:3]} exited {child.returncode}")
    return wall, usage.ru_utime + usage.ru_stime, first.decode("utf-8", "replace").strip()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("warning: not root; unreadable directories make every command's work smaller",
              file=sys.stderr)
    env_note = subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip()
    walls: dict[str, list[float]] = {name: [] for name in COMMANDS}
    cpus: dict[str, list[float]] = {name: [] for name in COMMANDS}
    counts = ""
    for name, argv in COMMANDS.items():  # warm-up, untimed
        _, _, out = run_once(argv)
        if name == "hostaudit walk /":
            counts = out
    for _ in range(args.runs):
        for name, argv in COMMANDS.items():
            wall, cpu, _ = run_once(argv)
            walls[name].append(wall)
            cpus[name].append(cpu)
    med = {name: statistics.median(w) for name, w in walls.items()}
    cpu = {name: statistics.median(c) for name, c in cpus.items()}
    entries, unowned, setid, unreadable = (counts.split() + ["?"] * 4)[:4]
    print(f"root filesystem: {entries} entries, {unowned} unowned, {setid} set-id, "
          f"{unreadable} unreadable; {args.runs} runs, {env_note} CPUs, load {os.getloadavg()[0]:.2f}")
    print(f"{'command':28} {'median s':>9} {'min s':>8} {'max s':>8} {'median CPU s':>13}")
    for name, w in walls.items():
        print(f"{name:28} {med[name]:9.3f} {min(w):8.3f} {max(w):8.3f} {cpu[name]:13.3f}")
    walk, walk_cpu = med["hostaudit walk /"], cpu["hostaudit walk /"]
    for label, peer, target in (("find -nouser -o -nogroup", "find -nouser -o -nogroup", "<= 0.25x"),
                                ("bare find traversal", "find | wc -l (bare)", "<= 2x"),
                                ("find with one stat each", "find -printf %U %G (stat)", "reference")):
        print(f"walk / {label:25} = {walk / med[peer]:.2f}x wall, "
              f"{walk_cpu / cpu[peer]:.2f}x CPU  ({target})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
