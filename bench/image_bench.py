"""Benchmark: ``hostaudit scan --image`` of a Debian 12 minbase tree, as a gzip tarball and as
a ``docker save`` archive, against ``gzip -dc`` and ``tar -x`` of the same files in the same run.

Targets (issue 7): at most 1.3x ``gzip -dc``, peak memory under 128 MiB, temporary disk use
under 10% of the unpacked tree. Each command runs ``--runs`` times; the median wall time and
the fastest, and the CPU time (user+sys, children included) are shown, since a shared
machine's wall time says as much about the neighbours as about hostaudit. Temporary disk
use is polled every 10 ms in a private TMPDIR. Peak RSS is the child's ru_maxrss, which
starts at this script's own size when it forks (about 20 MiB: the floor of the column).

    python bench/image_bench.py [--runs 3] [--image-root /var/tmp/hostaudit-bench/bookworm-minbase]
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from audit_bench import CHILD_ENV, MINBASE, ensure_minbase  # noqa: E402

KIB = 1024


def _tree_bytes(path: str) -> int:
    total = 0
    for dirpath, dirnames, filenames in os.walk(path):
        for name in dirnames + filenames:
            total += os.lstat(os.path.join(dirpath, name)).st_size
    return total


def _watch_disk(directory: str, stop: threading.Event, peak: list[int]) -> None:
    while not stop.is_set():
        with_errors = 0
        for dirpath, _, filenames in os.walk(directory):
            for name in filenames:
                try:
                    with_errors += os.lstat(os.path.join(dirpath, name)).st_size
                except OSError:
                    pass
        peak[0] = max(peak[0], with_errors)
        stop.wait(0.01)


def measure(argv: list[str], *, runs: int, stdout=subprocess.DEVNULL) -> dict:
    """Median wall seconds, median CPU seconds (children included), peak RSS and peak bytes
    in a private TMPDIR over ``runs`` runs of ``argv``."""
    walls, cpus, rss, disk = [], [], 0, 0
    for _ in range(runs):
        with tempfile.TemporaryDirectory(prefix="image-bench-tmp-") as tmp:
            env = {**CHILD_ENV, "TMPDIR": tmp}
            stop, peak = threading.Event(), [0]
            watcher = threading.Thread(target=_watch_disk, args=(tmp, stop, peak), daemon=True)
            watcher.start()
            started = time.perf_counter()
            proc = subprocess.Popen(argv, stdout=stdout, stderr=subprocess.DEVNULL, env=env)
            _, status, usage = os.wait4(proc.pid, 0)
            walls.append(time.perf_counter() - started)
            stop.set()
            watcher.join()
            proc.returncode = os.waitstatus_to_exitcode(status)
            if proc.returncode not in (0, 1):
                raise SystemExit(f"{' '.join(argv)} exited {proc.returncode}")
            cpus.append(usage.ru_utime + usage.ru_stime)
            rss = max(rss, usage.ru_maxrss * KIB)
            disk = max(disk, peak[0])
    return {"wall_s": round(statistics.median(walls), 3), "min_wall_s": round(min(walls), 3),
            "cpu_s": round(statistics.median(cpus), 3),
            "peak_rss_mib": round(rss / KIB / KIB, 1), "peak_tmp_bytes": disk}


def _add(archive: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mode = len(data), 0o644
    archive.addfile(info, io.BytesIO(data))


def build_images(root: str, work: str) -> tuple[str, str]:
    """(gzip tarball, docker-save archive) of ``root``, cached in ``work``."""
    flat = os.path.join(work, "minbase.tar.gz")
    layer = os.path.join(work, "layer.tar")
    saved = os.path.join(work, "minbase-docker.tar")
    if not os.path.exists(flat):
        subprocess.run(["tar", "-C", root, "--numeric-owner", "-czf", flat + ".part", "."], check=True)
        os.rename(flat + ".part", flat)
    if not os.path.exists(saved):
        subprocess.run(["tar", "-C", root, "--numeric-owner", "-cf", layer, "."], check=True)
        digest = hashlib.sha256()
        with open(layer, "rb") as f:
            while chunk := f.read(1 << 20):
                digest.update(chunk)
        config = json.dumps({"architecture": "amd64", "os": "linux",
                             "rootfs": {"type": "layers", "diff_ids": [f"sha256:{digest.hexdigest()}"]}}).encode()
        config_name = hashlib.sha256(config).hexdigest() + ".json"
        with tarfile.open(saved + ".part", "w") as archive:
            archive.add(layer, arcname=f"{digest.hexdigest()}/layer.tar")
            _add(archive, config_name, config)
            _add(archive, "manifest.json", json.dumps([{"Config": config_name, "RepoTags": ["minbase:12"],
                                                         "Layers": [f"{digest.hexdigest()}/layer.tar"]}]).encode())
        os.rename(saved + ".part", saved)
        os.unlink(layer)
    return flat, saved


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--image-root", default=MINBASE)
    parser.add_argument("--work", default=os.path.join(os.path.dirname(MINBASE), "image-bench"))
    args = parser.parse_args()
    root = ensure_minbase(args.image_root)
    if root is None:
        print("no Debian minbase tree (needs debootstrap and root)", file=sys.stderr)
        return 1
    os.makedirs(args.work, exist_ok=True)
    flat, saved = build_images(root, args.work)
    unpacked = _tree_bytes(root)
    hostaudit = [sys.executable, "-m", "hostaudit"]
    out = tempfile.mkdtemp(prefix="image-bench-out-")
    untar = tempfile.mkdtemp(prefix="image-bench-x-", dir=args.work)
    try:
        rows = {
            "gzip -dc minbase.tar.gz": measure(["gzip", "-dc", flat], runs=args.runs),
            "tar -xzf minbase.tar.gz": measure(["tar", "-C", untar, "-xzf", flat], runs=args.runs),
            "tar -xf minbase-docker.tar": measure(["tar", "-C", untar, "-xf", saved], runs=args.runs),
            "hostaudit scan --root (unpacked: fixed cost)": measure(
                hostaudit + ["scan", "--root", root, "-o", out, "--format", "json", "--quiet"], runs=args.runs),
            "hostaudit scan --image minbase.tar.gz": measure(
                hostaudit + ["scan", "--image", flat, "-o", out, "--format", "json", "--quiet"], runs=args.runs),
            "hostaudit scan --image minbase-docker.tar": measure(
                hostaudit + ["scan", "--image", saved, "-o", out, "--format", "json", "--quiet"], runs=args.runs),
        }
    finally:
        shutil.rmtree(out, ignore_errors=True)
        shutil.rmtree(untar, ignore_errors=True)
    base = rows["gzip -dc minbase.tar.gz"]
    print(f"tree: {unpacked / 1e6:.1f} MB unpacked; gzip tarball {os.path.getsize(flat) / 1e6:.1f} MB; "
          f"docker-save archive {os.path.getsize(saved) / 1e6:.1f} MB; "
          f"load {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(f"{'command':45} {'wall s':>7} {'x gzip':>7} {'min s':>7} {'x gzip':>7} {'cpu s':>7} "
          f"{'rss MiB':>8} {'tmp % tree':>10}")
    for name, row in rows.items():
        print(f"{name:45} {row['wall_s']:7.2f} {row['wall_s'] / base['wall_s']:7.2f} "
              f"{row['min_wall_s']:7.2f} {row['min_wall_s'] / base['min_wall_s']:7.2f} {row['cpu_s']:7.2f} "
              f"{row['peak_rss_mib']:8.1f} {100 * row['peak_tmp_bytes'] / unpacked:10.2f}")
    print(json.dumps(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
