"""Disk images (raw MBR/GPT, qcow2) audited on their own filesystems, mounted read-only.

The images are built once per module (tests/disk_images.py: sfdisk, mkfs.ext4 per partition,
fstab by UUID, usrquota on /home, chattr +i /etc/shadow). After every test no loop device
is attached to them and nothing stays mounted in the temporary directory.
"""

import os
import signal
import subprocess
import sys
import time

import pytest
from disk_images import (
    HOME_UUID,
    MBR_LAYOUT,
    ROOT_FILES,
    build_data_first_disk,
    build_disk,
    build_rootless_disk,
    loop_devices_of,
    mounts_under,
    partitions,
    require_tools,
    run,
)

from hostaudit.baseline import load as load_baseline
from hostaudit.disk_image import _inside, _Session, attached_disk, is_disk_image
from hostaudit.errors import InputError
from hostaudit.parsers.partition_table import parse_partition_table
from hostaudit.scan import TargetSpec, open_target, scan

DECIDED = ["fs.partition.", "fs.mount-options.", "fs.quota.enabled", "files.immutable."]


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    """gpt, mbr (with /var logical), qcow2 (of the gpt one) and rootless images."""
    require_tools()
    workdir = tmp_path_factory.mktemp("disks")
    gpt = build_disk(str(workdir))
    made = {"gpt": gpt, "mbr": build_disk(str(workdir), MBR_LAYOUT, "mbr.img"),
            "rootless": build_rootless_disk(str(workdir)), "dir": workdir}
    if subprocess.run(["which", "qemu-img"], capture_output=True).returncode == 0:
        made["qcow2"] = str(workdir / "disk.qcow2")
        run(["qemu-img", "convert", "-f", "raw", "-O", "qcow2", gpt, made["qcow2"]])
    yield made
    # Finalizer: whatever a failed test left attached to these images is detached.
    for path in (made["gpt"], made["mbr"], made["rootless"]):
        for loop in loop_devices_of(path):
            subprocess.run(["losetup", "-d", loop], capture_output=True, timeout=30)


@pytest.fixture
def private_tmp(tmp_path, monkeypatch):
    """TMPDIR of the test's own, so its mounts can be found and none may remain."""
    temp = tmp_path / "tmp"
    temp.mkdir()
    monkeypatch.setenv("TMPDIR", str(temp))
    monkeypatch.setattr("tempfile.tempdir", None)
    yield temp
    assert mounts_under(temp) == []
    assert list(temp.iterdir()) == []


def _image(images, name):
    if name not in images:
        pytest.skip("qemu-img is not installed (apt-get install qemu-utils)")
    return images[name]


def _scan(image):
    with open_target(TargetSpec(image=image)) as target:
        run_ = scan(target, load_baseline("gcux-qmail"), only=DECIDED)
    return target, {r["id"]: r for r in run_.report["results"]}


# -- what is a disk image ---------------------------------------------------------------------
def test_disk_images_are_recognised_by_content_not_name(images, tmp_path):
    renamed = tmp_path / "looks-like.tar.gz"
    os.link(images["gpt"], renamed)
    assert is_disk_image(str(renamed)) == "gpt"
    assert is_disk_image(images["mbr"]) == "mbr"
    assert is_disk_image(_image(images, "qcow2")) == "qcow2"


def test_a_tarball_is_not_a_disk_image(tmp_path):
    import tarfile
    path = tmp_path / "disk.img"
    with tarfile.open(path, "w"):
        pass
    assert is_disk_image(str(path)) is None


def test_partition_table_parser_agrees_with_sfdisk(images):
    for name in ("gpt", "mbr"):
        with open(images[name], "rb") as handle:
            def read(offset, length, handle=handle):
                handle.seek(offset)
                return handle.read(length)
            table = parse_partition_table(read, os.path.getsize(images[name]))
        assert [(p.start, p.size) for p in table.partitions] == partitions(images[name])


# -- verdicts from the real filesystems -------------------------------------------------------
@pytest.mark.parametrize("name", ["gpt", "mbr", "qcow2"])
def test_scan_decides_partitions_mount_options_quota_and_immutable_from_the_filesystems(
        images, private_tmp, name):
    _, results = _scan(_image(images, name))
    status = {cid: r["status"] for cid, r in results.items()}
    assert status["fs.partition.home"] == status["fs.partition.var"] == "pass"
    assert status["fs.mount-options.home"] == status["fs.mount-options.var"] == "pass"
    assert status["fs.partition.boot"] == status["fs.partition.usr-local"] == "fail"
    assert status["fs.quota.enabled"] == "pass"
    assert status["files.immutable.shadow"] == "pass"  # chattr +i survives on ext4
    assert status["files.immutable.passwd"] == "fail"
    assert any("aquota.user" in e["where"] for e in results["fs.quota.enabled"]["evidence"])


@pytest.mark.parametrize("name", ["gpt", "mbr"])
def test_nothing_stays_attached_or_mounted_after_a_scan(images, private_tmp, name):
    _scan(images[name])
    assert loop_devices_of(images[name]) == []
    assert mounts_under(private_tmp) == []


def test_target_says_format_digest_partitions_and_where_each_was_mounted(images, private_tmp):
    target, _ = _scan(images["mbr"])
    disk = target.description["disk"]
    digest = run(["sha256sum", images["mbr"]]).split()[0]
    assert (disk["format"], disk["sha256"], disk["partitioning"], disk["root"]) == ("raw", digest, "mbr", 1)
    assert [(p["number"], p["fstype"], p.get("mounted_at")) for p in disk["partitions"]] == [
        (1, "ext4", "/"), (2, "ext4", "/home"), (5, "ext4", "/var")]
    assert disk["not_mounted"] == []
    assert "inode_flags" in disk["carries"]


def test_qcow2_target_says_it_was_read_through_a_raw_conversion(images, private_tmp):
    target, _ = _scan(_image(images, "qcow2"))
    disk = target.description["disk"]
    assert disk["format"] == "qcow2"
    assert disk["virtual_size"] == os.path.getsize(images["gpt"])
    assert "qemu-img convert" in disk["read_through"]


def test_home_is_its_own_filesystem_while_scanned_and_read_only(images, private_tmp):
    with attached_disk(images["gpt"]) as (root, disk):
        assert os.stat(os.path.join(root, "home")).st_dev != os.stat(root).st_dev
        assert os.path.isdir(os.path.join(root, "home/alice"))
        with pytest.raises(OSError):
            open(os.path.join(root, "home/new"), "w")
        options = [line.split()[5] for line in open("/proc/self/mountinfo")
                   if line.split()[4] == os.path.join(root, "home")]
        assert options and all(o in options[0].split(",") for o in ("ro", "nosuid", "nodev", "noexec"))
    assert loop_devices_of(images["gpt"]) == []


# -- bad input --------------------------------------------------------------------------------
def test_disk_without_a_linux_root_is_bad_input_naming_what_was_found(images, private_tmp, tmp_path):
    done = subprocess.run([sys.executable, "-m", "hostaudit", "scan", "--image", images["rootless"],
                           "-o", str(tmp_path), "--quiet"], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "TMPDIR": str(private_tmp)})
    assert done.returncode == 2
    assert "no Linux root" in done.stderr
    assert "partition 1" in done.stderr and "ext4" in done.stderr
    assert "partition 2" in done.stderr and "no filesystem blkid knows" in done.stderr
    assert loop_devices_of(images["rootless"]) == []


def test_qcow2_with_a_backing_file_is_refused_before_qemu_opens_it(images, private_tmp, tmp_path):
    overlay = tmp_path / "overlay.qcow2"
    run(["qemu-img", "create", "-q", "-f", "qcow2", "-b", images["gpt"], "-F", "raw", str(overlay)])
    with pytest.raises(InputError, match="backing file"):
        with attached_disk(str(overlay)):
            pass


def test_corrupt_partition_table_is_bad_input_and_attaches_nothing(images, private_tmp, tmp_path):
    broken = tmp_path / "broken.img"
    data = bytearray(open(images["gpt"], "rb").read(1024 * 1024))
    data[512 + 40] ^= 1  # GPT header changed behind its CRC
    broken.write_bytes(bytes(data))
    with pytest.raises(InputError, match="CRC32"):
        with attached_disk(str(broken)):
            pass
    assert loop_devices_of(broken) == []


# -- hostile fstab mount points (no mount needed to refuse them) ------------------------------
def _session(tmp_path):
    session = _Session("disk.img")
    session.workdir = str(tmp_path)
    return session


def test_fstab_mount_point_with_dotdot_is_refused(tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    entry = {"mount_point": "/home/../../etc", "spec": f"UUID={HOME_UUID}", "options": ["defaults"]}
    reason = _session(tmp_path).mount_entry("disk.img", [], str(root), entry)
    assert reason == "mount point is not an absolute path without '..'"


def test_fstab_mount_point_through_a_symlink_resolves_inside_the_root(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    root = tmp_path / "root"
    root.mkdir()
    (root / "home").symlink_to("../../../outside")
    assert _inside(str(root), "/home") == str(root / "outside")
    part = {"number": 2, "fstype": "ext4", "uuid": HOME_UUID}
    entry = {"mount_point": "/home", "spec": f"UUID={HOME_UUID}", "options": ["defaults"]}
    reason = _session(tmp_path).mount_entry("disk.img", [part], str(root), entry)
    assert reason == "mount point does not exist in the image"


# -- signals ----------------------------------------------------------------------------------
SCAN = """
import os, sys, time
import hostaudit.disk_image as disk
import hostaudit.probes
from hostaudit.registry import PROBES, ProbeSpec

def started():
    open(os.environ["STARTED"], "w").close()

def stuck(host):
    started()
    time.sleep(3600)

if os.environ["WHERE"] == "probe":
    PROBES["passwd"] = ProbeSpec("passwd", stuck, (), 600.0)
elif os.environ["WHERE"] == "assembling":
    original = disk._Session.mount_entry
    def mount_entry(self, raw, parts, root, entry):
        reason = original(self, raw, parts, root, entry)
        if entry["mount_point"] == "/home":
            stuck(None)
        return reason
    disk._Session.mount_entry = mount_entry
elif os.environ["WHERE"] == "losetup":
    command = disk._command
    def slow_losetup(argv, timeout=60.0):
        done = command(argv, timeout)
        if argv[0] == "losetup" and "--find" in argv:
            started()
            time.sleep(2)  # the signal arrives here, after the device exists
        return done
    disk._command = slow_losetup
from hostaudit.cli import main
sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.parametrize("where", ["probe", "assembling", "losetup"])
def test_sigterm_mid_scan_unmounts_and_detaches_everything(images, tmp_path, where):
    temp = tmp_path / "tmp"
    temp.mkdir()
    flag = tmp_path / "started"
    env = {**os.environ, "TMPDIR": str(temp), "STARTED": str(flag), "WHERE": where}
    proc = subprocess.Popen([sys.executable, "-c", SCAN, "scan", "--image", images["gpt"], "-o", str(tmp_path),
                             "--quiet", "--only", "accounts."], env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while not flag.exists():
            assert proc.poll() is None, proc.stderr.read()
            assert time.monotonic() < deadline, "the scan never reached the point to interrupt"
            time.sleep(0.02)
        assert loop_devices_of(images["gpt"]) != []
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 128 + signal.SIGTERM
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
    assert loop_devices_of(images["gpt"]) == []
    assert mounts_under(temp) == []
    assert list(temp.iterdir()) == []


# -- a bare filesystem ------------------------------------------------------------------------
def test_bare_ext4_filesystem_image_is_audited_as_its_root(images, private_tmp, tmp_path):
    tree = tmp_path / "tree"
    for path, text in ROOT_FILES.items():
        (tree / path).parent.mkdir(parents=True, exist_ok=True)
        (tree / path).write_text(text)
    (tree / "home").mkdir()
    image = tmp_path / "rootfs.ext4"
    with open(image, "wb") as handle:
        handle.truncate(16 * 1024 * 1024)
    run(["mkfs.ext4", "-F", "-q", "-d", str(tree), str(image)])
    assert is_disk_image(str(image)) == "ext"
    target, results = _scan(str(image))
    disk = target.description["disk"]
    assert disk["partitioning"] == "none (one bare filesystem)"
    assert [e["mount_point"] for e in disk["not_mounted"]] == ["/home", "/var"]
    assert all(e["reason"] == "no partition of the image has this identity" for e in disk["not_mounted"])
    assert results["files.immutable.shadow"]["status"] == "fail"  # mkfs -d copies no flags
    assert loop_devices_of(image) == []



def test_a_filesystem_tried_as_root_and_found_not_to_be_gives_its_loop_device_back(images, private_tmp):
    image = build_data_first_disk(str(images["dir"]))
    try:
        with attached_disk(image) as (_root, disk):
            assert disk["root"] == 2
            assert "not the root" in disk["partitions"][0]["note"]
            assert len(loop_devices_of(image)) == 1
    finally:
        for loop in loop_devices_of(image):
            subprocess.run(["losetup", "-d", loop], capture_output=True, timeout=30)


def test_a_fifo_given_as_image_is_not_taken_for_a_disk_and_does_not_hang(tmp_path):
    fifo = tmp_path / "disk.img"
    os.mkfifo(fifo)
    assert is_disk_image(str(fifo)) is None
