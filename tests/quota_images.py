"""Real quota files: a small ext4 image loop-mounted in a temporary directory, initialised
by quotacheck and filled by setquota, as an administrator following the document would.

This kernel cannot switch quota on (quotaon: "Quota format not supported in kernel"), but
quotacheck and setquota write the quota file while quota is off, and repquota reads it.
Everything started here (loop device, mount) is removed on exit, also after a failure.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import time

import pytest

TOOLS = ("mkfs.ext4", "losetup", "mount", "umount", "quotacheck", "setquota", "repquota")


def _run(argv):
    done = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)}: {done.stderr.strip()}")
    return done


@contextlib.contextmanager
def quota_filesystem(workdir, mount_point, *, options="usrquota,nosuid,nodev", fmt="vfsv0",
                     limits=None, init=True):
    """Mount a fresh ext4 at ``mount_point`` with ``options``; with ``init``, run
    ``quotacheck -cu -F fmt`` and ``setquota`` for each ``uid: (bsoft, bhard, isoft, ihard)``.

    Skips the test (with the reason) when this machine lacks the tools, root or loop devices.
    """
    if os.geteuid() != 0:
        pytest.skip("needs root (loop devices, mount)")
    missing = [t for t in TOOLS if not shutil.which(t)]
    if missing:
        pytest.skip(f"missing tools: {', '.join(missing)}")
    image = os.path.join(workdir, "fs.img")
    with open(image, "wb") as handle:
        handle.truncate(16 * 1024 * 1024)
    _run(["mkfs.ext4", "-F", "-q", image])
    attach = subprocess.run(["losetup", "-f", "--show", image], capture_output=True, text=True, timeout=30)
    if attach.returncode != 0:
        pytest.skip(f"no loop device: {attach.stderr.strip()}")
    loop = attach.stdout.strip()
    os.makedirs(mount_point, exist_ok=True)
    mounted = False
    try:
        _run(["mount", "-o", options, loop, str(mount_point)])
        mounted = True
        if init:
            _run(["quotacheck", "-cu", "-F", fmt, str(mount_point)])
            for uid, (bsoft, bhard, isoft, ihard) in (limits or {}).items():
                _run(["setquota", "-F", fmt, "-u", str(uid), str(bsoft), str(bhard), str(isoft), str(ihard),
                      str(mount_point)])
        yield str(mount_point)
    finally:
        if mounted:
            _unmount(str(mount_point))
        # With the filesystem gone the kernel frees the device; if something still holds it,
        # -d leaves it set to clear itself on last close.
        subprocess.run(["losetup", "-d", loop], capture_output=True, timeout=30)


def _unmount(mount_point: str) -> None:
    """umount, retried for up to 5 s while busy (a concurrent walk of local filesystems can
    hold it), then detached lazily so nothing stays mounted after the test."""
    for _ in range(10):
        if subprocess.run(["umount", mount_point], capture_output=True, timeout=60).returncode == 0:
            return
        time.sleep(0.5)
    subprocess.run(["umount", "-l", mount_point], capture_output=True, timeout=60)


def quota_file_bytes(workdir, *, fmt="vfsv0", limits=None) -> bytes:
    """The aquota.user that quotacheck and setquota write for ``limits``."""
    with quota_filesystem(workdir, os.path.join(workdir, "mnt"), fmt=fmt, limits=limits) as mount_point:
        with open(os.path.join(mount_point, "aquota.user"), "rb") as handle:
            return handle.read()
