#!/usr/bin/env python3
"""Benchmark a site baseline of 500 generic controls (no Python per control).

    python3 bench/generic_bench.py [--controls 500] [--runs 5] [--live]

Generates a fixture root and a baseline of ``--controls`` controls spread over the kinds
(sysctl, file with owner/mode/lines, package, service, mount, account), then times the
``hostaudit scan --root ROOT --baseline SITE`` command end to end (median of ``--runs``,
after one warm-up) and, in process, loading + validating the baseline and the audit
itself. Target: the command under 1 s. ``--live`` audits this host instead (sysctl keys
are read from /proc/sys; port controls are added). Everything lives in a temporary
directory, removed afterwards.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SYSCTL_KEYS = ("kernel.pid_max", "kernel.kptr_restrict", "vm.swappiness", "net.ipv4.tcp_syncookies",
               "kernel.dmesg_restrict", "net.ipv4.ip_forward", "fs.protected_symlinks",
               "net.ipv4.conf.all.rp_filter")


def build_root(root: Path, files: int) -> None:
    """A small tree: account files, sysctl.d, dpkg status, fstab, services, and ``files``
    configuration files the file controls look at."""
    def write(rel: str, text: str, mode: int = 0o644) -> None:
        path = root / rel.lstrip("/")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        os.chmod(path, mode)

    write("/etc/passwd", "root:x:0:0:root:/root:/bin/bash\n"
          + "".join(f"user{i}:x:{1000 + i}:{1000 + i}::/home/user{i}:/bin/sh\n" for i in range(50)))
    write("/etc/group", "root:x:0:\n" + "".join(f"grp{i}:x:{2000 + i}:\n" for i in range(50)))
    write("/etc/sysctl.d/60-site.conf", "".join(f"{k} = 1\n" for k in SYSCTL_KEYS))
    write("/var/lib/dpkg/status", "\n".join(
        f"Package: pkg{i}\nStatus: install ok installed\nVersion: 1.{i}-1\n" for i in range(200)))
    write("/etc/fstab", "".join(f"tmpfs /mnt/m{i} tmpfs nosuid,nodev 0 0\n" for i in range(20)))
    for i in range(20):
        wants = root / "etc/systemd/system/multi-user.target.wants"
        wants.mkdir(parents=True, exist_ok=True)
        (wants / f"svc{i}.service").symlink_to(f"/lib/systemd/system/svc{i}.service")
    for i in range(files):
        write(f"/etc/site/conf{i}.conf", "".join(f"option{j} = {j}\n" for j in range(40)), 0o640)


def control(index: int, kind: str, params: str, modes: str = "[live, image]") -> str:
    return (f"  - id: site.gen.c{index}\n    kind: {kind}\n    title: generated {index}\n"
            f"    section: site\n    severity: low\n    modes: {modes}\n    rationale: generated\n"
            f"    parameters: {params}\n")


def build_baseline(path: Path, count: int, live: bool) -> None:
    makers = [
        lambda i: control(i, "sysctl", f"{{key: {SYSCTL_KEYS[i % len(SYSCTL_KEYS)]}, expected: '1', "
                                         f"compare: '>='}}"),
        lambda i: control(i, "file", f"{{path: /etc/site/conf{i % 100}.conf, owner: root, "
                                       f"mode_max: '0640', must_match: ['^option{i % 40} = '], "
                                       f"must_not_match: ['^debug = 1']}}"),
        lambda i: control(i, "package", f"{{name: pkg{i % 300}, version: '1.{i % 50}', compare: '>='}}"),
        lambda i: control(i, "service", f"{{name: svc{i % 40}, state: {'enabled' if i % 2 else 'disabled'}}}"),
        lambda i: control(i, "mount", f"{{mount_point: /mnt/m{i % 25}, required_options: [nosuid], "
                                        f"forbidden_options: [exec]}}"),
        lambda i: control(i, "account", f"{{user: user{i % 70}, shell: /bin/sh}}"),
    ]
    if live:
        makers.append(lambda i: control(i, "port", f"{{port: {1 + i % 1000}}}", "[live, net]"))
    body = "".join(makers[i % len(makers)](i) for i in range(count))
    path.write_text(f"name: generated\ncontrols:\n{body}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--controls", type=int, default=500)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--live", action="store_true")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="hostaudit-generic-bench-") as tmp:
        root, site, out = Path(tmp) / "root", Path(tmp) / "site.yaml", Path(tmp) / "out"
        build_root(root, 100)
        build_baseline(site, args.controls, args.live)
        target = [] if args.live else ["--root", str(root)]
        argv = [sys.executable, "-m", "hostaudit", "scan", *target, "--baseline", str(site),
                "-o", str(out), "--format", "json"]
        subprocess.run(argv, capture_output=True, check=False, timeout=120)  # warm-up
        walls, cpus = [], []
        for _ in range(args.runs):
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            started = time.perf_counter()
            done = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=120)
            walls.append(time.perf_counter() - started)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            # CPU time as well: on a shared machine the wall time mostly measures the others.
            cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
            if done.returncode not in (0, 1):
                raise SystemExit(f"scan exited {done.returncode}: {done.stderr[-2000:]}")

        from hostaudit.baseline import load_checked
        from hostaudit.registry import load_all
        from hostaudit.scan import TargetSpec, open_target, scan

        load_all()

        started = time.process_time()
        baseline = load_checked(str(site))
        loaded = time.process_time()
        with open_target(TargetSpec(root=None if args.live else str(root))) as opened:
            run = scan(opened, baseline)
        audited = time.process_time()
        statuses: dict[str, int] = {}
        for result in run.results:
            statuses[result.status.value] = statuses.get(result.status.value, 0) + 1
        timing = run.report.get("timing", {})
        print(f"controls: {len(run.results)} generic ({'live' if args.live else 'image'} mode); statuses {statuses}")
        print(f"hostaudit scan (whole command, median of {args.runs}): wall {statistics.median(walls):.3f} s "
              f"(min {min(walls):.3f} s), CPU {statistics.median(cpus):.3f} s (min {min(cpus):.3f} s); "
              f"target < 1 s; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
        print(f"in process (CPU): load+validate {loaded - started:.3f} s, audit and report model "
              f"{audited - loaded:.3f} s (wall: collect {timing.get('collect_s', '?')} s, "
              f"evaluate {timing.get('evaluate_s', '?')} s)")


if __name__ == "__main__":
    main()
