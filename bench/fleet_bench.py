#!/usr/bin/env python3
"""Benchmark central evaluation of a fleet: N fact bundles evaluated and summed up by ``hostaudit fleet``.

    sudo python3 bench/fleet_bench.py [--hosts 1000] [--workers N] [--html]

The bundles are copies of a real one (this host, live, the shipped baseline, collected once
here) with varied facts: databytes (absent, under and over the limit, taken from real
collections of small trees), extra accounts in passwd (some of them ones the baseline wants
removed), and every seventh host with one fact that could not be read. Each is written
gzip-compressed to ``DIR/host-NNNN/facts.json.gz`` as the Ansible playbook fetches it.

Measures:
  * the bundle's size per host, compressed and not
  * ``hostaudit fleet DIR --host-format json`` (and ``json,html`` with --html): wall time
    and the peak resident memory of the whole process tree (parent + workers, summed,
    sampled every 50 ms). Targets: 1,000 hosts under 60 s and 256 MiB.
Everything is written to a temporary directory; the host is only read.
"""

from __future__ import annotations

import argparse
import copy
import gzip
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

import psutil

from hostaudit import bundle as bundles
from hostaudit.baseline import load_checked
from hostaudit.scan import TargetSpec, collect, open_target

CHILD_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
ERROR_FACTS = ("packages", "sshd_config", "firewall_rules", "tripwire", "schedules", "fstab")
REMOVED_USERS = ("games", "news", "uucp", "gopher")


def real_bundle(baseline) -> dict:
    """A bundle of this host, live, for the whole baseline."""
    with open_target(TargetSpec()) as target:
        return collect(target, baseline)


def databytes_variants(baseline, workdir: str) -> list[dict]:
    """``qmail_control`` as collected from small trees: databytes absent, under, over."""
    variants = []
    for value in (None, "5000000", "50000000"):
        root = tempfile.mkdtemp(dir=workdir)
        if value is not None:
            os.makedirs(os.path.join(root, "var/qmail/control"))
            with open(os.path.join(root, "var/qmail/control/databytes"), "w") as handle:
                handle.write(value + "\n")
        with open_target(TargetSpec(root=root)) as target:
            variants.append(collect(target, baseline, only=["mail.databytes"])["facts"]["qmail_control"])
        shutil.rmtree(root)
    return variants


def varied(base: dict, index: int, qmail: list[dict]) -> dict:
    """Host ``index``'s bundle: ``base`` with its own name, databytes, accounts, errors."""
    bundle = copy.deepcopy(base)
    bundle["target"]["hostname"] = f"host-{index:04d}"
    facts = bundle["facts"]
    facts["qmail_control"] = qmail[index % len(qmail)]
    if isinstance(facts.get("passwd"), dict) and "users" in facts["passwd"]:
        users = facts["passwd"]["users"]
        template = dict(users[-1])
        for extra in range(index % 4):
            name = REMOVED_USERS[extra] if index % 3 == 0 else f"user{index}x{extra}"
            users.append({**template, "name": name, "uid": 20000 + extra, "line": len(users) + 1})
    if index % 7 == 0:
        name = ERROR_FACTS[index // 7 % len(ERROR_FACTS)]
        if name in facts:
            facts[name] = {"error": f"cannot read /etc/{name}: Permission denied (bench)"}
    return bundle


def run_measured(argv: list[str]) -> tuple[float, float, int]:
    """Wall seconds, peak summed RSS (MiB) of the process tree, and exit code of ``argv``."""
    started = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=CHILD_ENV)
    peak = 0
    parent = psutil.Process(proc.pid)
    while proc.poll() is None:
        try:
            tree = [parent, *parent.children(recursive=True)]
            total = 0
            for p in tree:
                try:
                    total += p.memory_info().rss
                except psutil.NoSuchProcess:
                    pass
            peak = max(peak, total)
        except psutil.NoSuchProcess:
            pass
        time.sleep(0.05)
    wall = time.perf_counter() - started
    err = proc.stderr.read().decode(errors="replace")
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} exited {proc.returncode}: {err[-2000:]}")
    return wall, peak / 2**20, proc.returncode


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--hosts", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--html", action="store_true", help="also measure with each host's report.html")
    parser.add_argument("--keep", metavar="DIR", help="build the fleet in DIR and keep it")
    args = parser.parse_args()

    baseline = load_checked("gcux-qmail")
    workdir = args.keep or tempfile.mkdtemp(prefix="hostaudit-fleet-bench-")
    os.makedirs(workdir, exist_ok=True)
    try:
        t0 = time.perf_counter()
        base = real_bundle(baseline)
        collect_s = time.perf_counter() - t0
        qmail = databytes_variants(baseline, workdir)
        fleet_dir = os.path.join(workdir, "fetched")
        sizes = []
        for index in range(args.hosts):
            host_dir = os.path.join(fleet_dir, f"host-{index:04d}")
            os.makedirs(host_dir, exist_ok=True)
            text = bundles.render(varied(base, index, qmail)).encode("utf-8")
            data = gzip.compress(text, compresslevel=6, mtime=0)
            with open(os.path.join(host_dir, "facts.json.gz"), "wb") as handle:
                handle.write(data)
            sizes.append((len(data), len(text)))
        bundles.load(os.path.join(fleet_dir, "host-0000", "facts.json.gz"))  # a valid bundle
        gz = sorted(s[0] for s in sizes)
        raw = sorted(s[1] for s in sizes)
        print(f"hostaudit fleet bench: {args.hosts} hosts, {os.cpu_count()} cores, python {sys.version.split()[0]}")
        print(f"  collect (this host, live, whole baseline): {collect_s:.2f} s")
        print(f"  bundle per host: {gz[len(gz) // 2] / 1024:.1f} KiB gzip (min {gz[0] / 1024:.1f}, "
              f"max {gz[-1] / 1024:.1f}); {raw[len(raw) // 2] / 1024:.1f} KiB as JSON")
        runs = [("json", "json")] + ([("json,html", "json,html")] if args.html else [])
        for label, host_format in runs:
            out = os.path.join(workdir, f"out-{label.replace(',', '-')}")
            shutil.rmtree(out, ignore_errors=True)
            os.makedirs(out)
            argv = [sys.executable, "-m", "hostaudit", "fleet", fleet_dir, "-o", out, "--format", "json,html",
                    "--host-format", host_format]
            if args.workers:
                argv += ["--workers", str(args.workers)]
            wall, peak, _ = run_measured(argv)
            fleet = json.load(open(os.path.join(out, "fleet.json")))
            assert fleet["summary"]["audited"] == args.hosts, fleet["summary"]
            per_host = sum(os.path.getsize(os.path.join(root, f)) for root, _, files in
                           os.walk(os.path.join(out, "hosts")) for f in files) / args.hosts
            verdict = "ok" if wall < 60 * args.hosts / 1000 and peak < 256 else "OVER TARGET"
            print(f"  fleet --host-format {label}: {wall:.1f} s wall ({wall / args.hosts * 1000:.1f} ms/host), "
                  f"peak RSS {peak:.0f} MiB (tree), host reports {per_host / 1024:.0f} KiB/host, "
                  f"fleet.json {os.path.getsize(os.path.join(out, 'fleet.json')) / 1024:.0f} KiB, "
                  f"fleet.html {os.path.getsize(os.path.join(out, 'fleet.html')) / 1024:.0f} KiB [{verdict}]")
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
