"""Real disk images, built as an installer would: ``truncate`` + ``sfdisk`` + ``mkfs.ext4`` on
each partition through a loop device at its offset (no partition scan, as without udev),
then the root, /home and /var filled through their mounts.

The layout follows the document: separate /, /home (nosuid,nodev,usrquota, with a quota file
written by quotacheck) and /var (nosuid,nodev), an /etc/fstab by UUID, and /etc/shadow
immutable (chattr +i). Every loop device and mount made here is removed before returning,
also after a failure.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess

import pytest
from quota_images import _unmount

TOOLS = ("sfdisk", "mkfs.ext4", "losetup", "mount", "umount", "chattr", "quotacheck", "blkid")
MIB = 1024 * 1024
ROOT_UUID = "11111111-2222-4333-8444-000000000001"
HOME_UUID = "11111111-2222-4333-8444-000000000002"
VAR_UUID = "11111111-2222-4333-8444-000000000003"

GPT_LAYOUT = """label: gpt
size=24MiB, type=linux
size=16MiB, type=linux
size=16MiB, type=linux
"""
# /var as a logical partition (5) inside an extended one, as the document's hda5-hda7.
MBR_LAYOUT = """label: dos
size=24MiB, type=83
size=16MiB, type=83
type=5
size=16MiB, type=83
"""
FSTAB = f"""# <file system> <mount point> <type> <options> <dump> <pass>
UUID={ROOT_UUID} / ext4 defaults 0 1
UUID={HOME_UUID} /home ext4 nosuid,nodev,rw,exec,auto,nouser,async,usrquota 0 2
UUID={VAR_UUID} /var ext4 defaults,nosuid,nodev 0 2
"""
ROOT_FILES = {
    "etc/fstab": FSTAB,
    "etc/os-release": 'NAME="Debian GNU/Linux"\nID=debian\nVERSION_ID="12"\nPRETTY_NAME="Debian GNU/Linux 12"\n',
    "etc/passwd": "root:x:0:0:root:/root:/bin/bash\nalice:x:1000:1000::/home/alice:/bin/bash\n",
    "etc/shadow": "root:*:19000:0:99999:7:::\nalice:!:19000:0:99999:7:::\n",
    "etc/group": "root:x:0:\nalice:x:1000:\n",
    # The quota package: its programs and the unit that checks and switches quota on at boot.
    "usr/sbin/quotacheck": "\x7fELF",
    "usr/sbin/quotaon": "\x7fELF",
    "lib/systemd/system/quotaon.service": "[Service]\nExecStart=/sbin/quotaon -aug\n",
}


def require_tools() -> None:
    """Skip (with the reason) without root or the tools."""
    if os.geteuid() != 0:
        pytest.skip("needs root (loop devices, mount)")
    missing = [t for t in TOOLS if not shutil.which(t)]
    if missing:
        pytest.skip(f"missing tools: {', '.join(missing)} (apt-get install fdisk e2fsprogs quota)")


def run(argv, **kwargs):
    done = subprocess.run(argv, capture_output=True, text=True, timeout=120, **kwargs)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)}: {done.stderr.strip()}")
    return done.stdout


def partitions(image) -> list[tuple[int, int]]:
    """(start, size) in bytes of each data partition, as sfdisk reads the table."""
    table = json.loads(run(["sfdisk", "--json", str(image)]))["partitiontable"]
    sector = table.get("sectorsize", 512)
    return [(p["start"] * sector, p["size"] * sector) for p in table["partitions"]
            if p["type"] not in ("5", "f", "85")]


@contextlib.contextmanager
def attached(image, start, size):
    """A read-write loop device over one partition; detached afterwards."""
    loop = run(["losetup", "--find", "--show", "--offset", str(start), "--sizelimit", str(size),
                str(image)]).strip()
    try:
        yield loop
    finally:
        subprocess.run(["losetup", "-d", loop], capture_output=True, timeout=30)


@contextlib.contextmanager
def mounted(loop, mount_point, options="defaults"):
    os.makedirs(mount_point, exist_ok=True)
    run(["mount", "-o", options, loop, str(mount_point)])
    try:
        yield str(mount_point)
    finally:
        _unmount(str(mount_point))


def build_disk(workdir, layout=GPT_LAYOUT, name="disk.img") -> str:
    """A 64 MiB raw disk with the document's layout (see the module docstring)."""
    image = os.path.join(workdir, name)
    with open(image, "wb") as handle:
        handle.truncate(64 * MIB)
    run(["sfdisk", "-q", image], input=layout)
    (root, home, var) = partitions(image)
    for (start, size), uuid, label in ((root, ROOT_UUID, "root"), (home, HOME_UUID, "home"),
                                       (var, VAR_UUID, "var")):
        with attached(image, start, size) as loop:
            run(["mkfs.ext4", "-F", "-q", "-U", uuid, "-L", label, loop])
    mnt = os.path.join(workdir, "build-mnt")
    with attached(image, *root) as loop, mounted(loop, mnt):
        for path, text in ROOT_FILES.items():
            os.makedirs(os.path.join(mnt, os.path.dirname(path)), exist_ok=True)
            with open(os.path.join(mnt, path), "w") as handle:
                handle.write(text)
        os.chmod(os.path.join(mnt, "etc/shadow"), 0o640)
        for directory in ("home", "var", "boot", "usr/local", "tmp"):
            os.makedirs(os.path.join(mnt, directory), exist_ok=True)
        run(["chattr", "+i", os.path.join(mnt, "etc/shadow")])
    with attached(image, *home) as loop, mounted(loop, mnt, "usrquota,nosuid,nodev"):
        os.makedirs(os.path.join(mnt, "alice"))
        run(["quotacheck", "-cu", "-F", "vfsv0", mnt])
    with attached(image, *var) as loop, mounted(loop, mnt):
        os.makedirs(os.path.join(mnt, "log"))
    os.rmdir(mnt)
    return image


def build_rootless_disk(workdir) -> str:
    """A disk whose only filesystem is data (no /etc/fstab, no os-release) beside an empty
    partition: nothing to audit as a root."""
    image = os.path.join(workdir, "rootless.img")
    with open(image, "wb") as handle:
        handle.truncate(40 * MIB)
    run(["sfdisk", "-q", image], input="label: gpt\nsize=16MiB, type=linux\nsize=16MiB, type=linux\n")
    (data, _empty) = partitions(image)
    with attached(image, *data) as loop:
        run(["mkfs.ext4", "-F", "-q", "-L", "data", loop])
    return image


def loop_devices_of(path) -> list[str]:
    """The loop devices backed by ``path`` (losetup -j)."""
    out = subprocess.run(["losetup", "-j", str(path)], capture_output=True, text=True, timeout=30).stdout
    return [line.split(":", 1)[0] for line in out.splitlines() if line.strip()]


def mounts_under(prefix) -> list[str]:
    with open("/proc/self/mountinfo") as handle:
        return [line.split()[4] for line in handle if line.split()[4].startswith(str(prefix))]


def build_data_first_disk(workdir) -> str:
    """Partition 1 an ext4 data filesystem, partition 2 the root (fstab names only /)."""
    image = os.path.join(workdir, "data-first.img")
    with open(image, "wb") as handle:
        handle.truncate(40 * MIB)
    run(["sfdisk", "-q", image], input="label: gpt\nsize=16MiB, type=linux\nsize=16MiB, type=linux\n")
    (data, root) = partitions(image)
    with attached(image, *data) as loop:
        run(["mkfs.ext4", "-F", "-q", "-L", "data", loop])
    tree = os.path.join(workdir, "data-first-tree")
    for path, text in {**ROOT_FILES, "etc/fstab": "LABEL=root / ext4 defaults 0 1\n"}.items():
        os.makedirs(os.path.join(tree, os.path.dirname(path)), exist_ok=True)
        with open(os.path.join(tree, path), "w") as handle:
            handle.write(text)
    with attached(image, *root) as loop:
        run(["mkfs.ext4", "-F", "-q", "-L", "root", "-d", tree, loop])
    return image
