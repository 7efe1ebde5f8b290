import os
import shutil
import subprocess

import pytest
from support import collect_fact, evidence_lines, run_check

from hostaudit.facts import collect
from hostaudit.host import LiveHost
from hostaudit.model import Status
from hostaudit.parsers.fstab import parse_fstab
from hostaudit.parsers.mountinfo import parse_mountinfo
from hostaudit.parsers.passwd import parse_passwd
from hostaudit.registry import load_all

# The document's /etc/fstab after "Modify the filesystem mount options" (Red Hat 7.3).
DOC_FSTAB = """\
LABEL=/          /          ext3    defaults                1 1
LABEL=/boot      /boot      ext3    defaults,nosuid,nodev   1 2
LABEL=/home      /home      ext3    nosuid,nodev,rw,exec,auto,nouser,async,usrquota 1 2
LABEL=/usr/local /usr/local ext3    defaults                1 2
LABEL=/var       /var       ext3    defaults,nosuid,nodev   1 2
none             /proc      proc    defaults                0 0
/dev/hda6        swap       swap    defaults                0 0
"""
ROOT = "27 1 8:3 / / rw,relatime - ext3 /dev/hda3 rw\n"
HOME_OPTS = ["nosuid", "nodev", "usrquota"]



def _fstab(text):
    return {"path": "/etc/fstab", "present": True, "entries": parse_fstab(text),
            "mount_units": [], "swap_units": []}


def _mountinfo(text):
    return {"available": True, "path": "/proc/self/mountinfo", "mounts": parse_mountinfo(text)}


# -- fs.partition.* ----------------------------------------------------------------------------

def test_partition_in_fstab_passes_on_image(tmp_root):
    tmp_root.write("/etc/fstab", DOC_FSTAB)
    result = run_check("fs.partition.usr-local", root=tmp_root, params={"mount_point": "/usr/local"})
    assert result.status is Status.PASS
    assert evidence_lines(result) == ["/etc/fstab:4: LABEL=/usr/local /usr/local ext3 defaults"]


def test_partition_missing_from_fstab_fails(tmp_root):
    tmp_root.write("/etc/fstab", "/dev/sda1 / ext4 defaults 0 1\n")
    result = run_check("fs.partition.var", root=tmp_root, params={"mount_point": "/var"})
    assert result.status is Status.FAIL
    assert evidence_lines(result)[0] == "/etc/fstab: no entry for /var"


def test_partition_without_fstab_fails_naming_it(tmp_root):
    tmp_root.mkdir("/etc")
    result = run_check("fs.partition.boot", root=tmp_root, params={"mount_point": "/boot"})
    assert result.status is Status.FAIL
    assert evidence_lines(result)[0] == "/etc/fstab: file does not exist"


HOME_UNIT = "[Mount]\nWhat=/dev/sda7\nWhere=/home\nType=ext4\nOptions=nosuid,nodev\n[Install]\nWantedBy=local-fs.target\n"


def test_enabled_systemd_mount_unit_counts_as_partition(tmp_root):
    tmp_root.write("/etc/fstab", "/dev/sda1 / ext4 defaults 0 1\n")
    tmp_root.write("/etc/systemd/system/home.mount", HOME_UNIT)
    tmp_root.symlink("/etc/systemd/system/local-fs.target.wants/home.mount", "../home.mount")
    result = run_check("fs.partition.home", root=tmp_root, params={"mount_point": "/home"})
    assert result.status is Status.PASS
    assert result.evidence[0].where == "/etc/systemd/system/home.mount"


def test_systemd_mount_unit_nothing_enables_is_not_mounted_at_boot(tmp_root):
    tmp_root.write("/etc/fstab", "/dev/sda1 / ext4 defaults 0 1\n")
    tmp_root.write("/etc/systemd/system/home.mount", HOME_UNIT)
    result = run_check("fs.partition.home", root=tmp_root, params={"mount_point": "/home"})
    assert result.status is Status.FAIL
    assert "/etc/systemd/system/home.mount:3: Where=/home, but no *.wants or *.requires link starts it at boot" \
        in evidence_lines(result)


def test_systemd_mount_unit_pulled_in_by_its_enabled_automount_counts(tmp_root):
    tmp_root.write("/etc/systemd/system/home.mount", HOME_UNIT)
    tmp_root.write("/etc/systemd/system/home.automount", "[Automount]\nWhere=/home\n")
    tmp_root.symlink("/etc/systemd/system/local-fs.target.wants/home.automount", "../home.automount")
    result = run_check("fs.partition.home", root=tmp_root, params={"mount_point": "/home"})
    assert result.status is Status.PASS


def test_systemd_mount_unit_named_unlike_its_where_is_refused(tmp_root):
    # systemd refuses a mount unit whose name is not the escaped Where= path.
    tmp_root.write("/etc/systemd/system/homedirs.mount", HOME_UNIT)
    tmp_root.symlink("/etc/systemd/system/local-fs.target.wants/homedirs.mount", "../homedirs.mount")
    result = run_check("fs.partition.home", root=tmp_root, params={"mount_point": "/home"})
    assert result.status is Status.FAIL
    assert "/etc/systemd/system/homedirs.mount:3: Where=/home, but systemd loads it only as home.mount" \
        in evidence_lines(result)


def test_systemd_mount_unit_overrides_the_fstab_entry_of_its_mount_point(tmp_root):
    # /etc/systemd/system/home.mount replaces the unit systemd-fstab-generator makes from fstab.
    tmp_root.write("/etc/fstab", "/dev/sda7 /home ext4 nosuid,nodev 0 2\n")
    tmp_root.write("/etc/systemd/system/home.mount", HOME_UNIT.replace("nosuid,nodev", "defaults"))
    result = run_check("fs.mount-options.home", root=tmp_root,
                       params={"mount_point": "/home", "required_options": ["nosuid", "nodev"]})
    assert result.status is Status.FAIL
    assert result.message == "/home: the persistent options lack nosuid,nodev"
    assert evidence_lines(result)[0] == "/etc/systemd/system/home.mount:3: Where=/home What=/dev/sda7 Options=defaults"


def test_fstab_entry_with_noauto_is_not_mounted_at_boot(tmp_root):
    tmp_root.write("/etc/fstab", "/dev/sda7 /home ext4 nosuid,nodev,noauto 0 2\n")
    result = run_check("fs.partition.home", root=tmp_root, params={"mount_point": "/home"})
    assert result.status is Status.FAIL
    assert "/etc/fstab:1: /dev/sda7 /home ext4 nosuid,nodev,noauto: noauto, so nothing mounts it at boot" \
        in evidence_lines(result)


def test_fstab_entry_with_noauto_and_automount_counts(tmp_root):
    tmp_root.write("/etc/fstab", "/dev/sda7 /home ext4 nosuid,nodev,noauto,x-systemd.automount 0 2\n")
    result = run_check("fs.partition.home", root=tmp_root, params={"mount_point": "/home"})
    assert result.status is Status.PASS


def test_live_partition_in_fstab_but_not_mounted_fails():
    facts = {"fstab": _fstab(DOC_FSTAB), "mountinfo": _mountinfo(ROOT)}
    result = run_check("fs.partition.home", facts=facts, mode="live", params={"mount_point": "/home"})
    assert result.status is Status.FAIL
    assert "/home is not a mount point" in result.message


def test_live_bind_mount_of_root_is_not_a_partition():
    mounts = ROOT + "40 27 8:3 /srv/home /home rw,relatime - ext3 /dev/hda3 rw\n"
    facts = {"fstab": _fstab(DOC_FSTAB), "mountinfo": _mountinfo(mounts)}
    result = run_check("fs.partition.home", facts=facts, mode="live", params={"mount_point": "/home"})
    assert result.status is Status.FAIL
    assert "bind mount of the root filesystem" in result.message


def test_live_partition_mounted_passes_with_mountinfo_line():
    mounts = ROOT + "41 27 8:7 / /home rw,nosuid,nodev - ext3 /dev/hda7 rw,usrquota\n"
    facts = {"fstab": _fstab(DOC_FSTAB), "mountinfo": _mountinfo(mounts)}
    result = run_check("fs.partition.home", facts=facts, mode="live", params={"mount_point": "/home"})
    assert result.status is Status.PASS
    assert evidence_lines(result)[1] == "/proc/self/mountinfo:2: /home ext3 /dev/hda7 rw,nosuid,nodev,rw,usrquota"


# -- fs.swap -----------------------------------------------------------------------------------

def test_swap_entry_in_fstab_passes(tmp_root):
    tmp_root.write("/etc/fstab", DOC_FSTAB)
    result = run_check("fs.swap", root=tmp_root)
    assert result.status is Status.PASS
    assert evidence_lines(result) == ["/etc/fstab:7: swap /dev/hda6"]


def test_no_swap_anywhere_fails(tmp_root):
    tmp_root.write("/etc/fstab", "/dev/sda1 / ext4 defaults 0 1\n")
    result = run_check("fs.swap", root=tmp_root)
    assert result.status is Status.FAIL
    assert "/etc/fstab: no swap entry" in evidence_lines(result)


def test_swap_entry_with_noauto_is_not_turned_on_at_boot_and_fails(tmp_root):
    # swapon -a and systemd-fstab-generator both leave noauto swap entries off.
    tmp_root.write("/etc/fstab", "/dev/sda1 / ext4 defaults 0 1\n/dev/sda2 none swap sw,noauto 0 0\n")
    result = run_check("fs.swap", root=tmp_root)
    assert result.status is Status.FAIL
    assert "/etc/fstab:2: swap /dev/sda2: noauto, so nothing turns it on at boot" in evidence_lines(result)


def test_swap_unit_nothing_enables_fails(tmp_root):
    tmp_root.write("/etc/fstab", "/dev/sda1 / ext4 defaults 0 1\n")
    tmp_root.write("/etc/systemd/system/dev-sda2.swap", "[Swap]\nWhat=/dev/sda2\n")
    result = run_check("fs.swap", root=tmp_root)
    assert result.status is Status.FAIL
    assert ("/etc/systemd/system/dev-sda2.swap:2: What=/dev/sda2, but no *.wants or *.requires link starts it at boot"
            in evidence_lines(result))


def test_live_active_swap_passes_without_fstab_entry():
    swaps = {"available": True, "path": "/proc/swaps",
             "areas": [{"filename": "/swapfile", "type": "file", "line": 2}]}
    facts = {"fstab": _fstab("/dev/sda1 / ext4 defaults 0 1\n"), "swaps": swaps}
    result = run_check("fs.swap", facts=facts, mode="live")
    assert result.status is Status.PASS
    assert evidence_lines(result) == ["/proc/swaps:2: active file /swapfile"]


# -- fs.mount-options.* ------------------------------------------------------------------------

def test_document_home_options_pass_on_image(tmp_root):
    tmp_root.write("/etc/fstab", DOC_FSTAB)
    result = run_check("fs.mount-options.home", root=tmp_root,
                       params={"mount_point": "/home", "required_options": HOME_OPTS})
    assert result.status is Status.PASS
    assert result.evidence[0].line == 3


def test_defaults_only_fails_naming_missing_options(tmp_root):
    tmp_root.write("/etc/fstab", DOC_FSTAB)
    result = run_check("fs.mount-options.var", root=tmp_root,
                       params={"mount_point": "/usr/local", "required_options": ["nosuid", "nodev"]})
    assert result.status is Status.FAIL
    assert result.message == "/usr/local: the persistent options lack nosuid,nodev"


def test_mount_options_without_own_filesystem_fail(tmp_root):
    tmp_root.write("/etc/fstab", "/dev/sda1 / ext4 defaults 0 1\n")
    result = run_check("fs.mount-options.boot", root=tmp_root,
                       params={"mount_point": "/boot", "required_options": ["nosuid", "nodev"]})
    assert result.status is Status.FAIL
    assert "not a filesystem of its own" in result.message


def test_live_options_in_force_must_hold_too():
    mounts = ROOT + "41 27 8:7 / /home rw,nodev - ext3 /dev/hda7 rw\n"
    facts = {"fstab": _fstab(DOC_FSTAB), "mountinfo": _mountinfo(mounts)}
    result = run_check("fs.mount-options.home", facts=facts, mode="live",
                       params={"mount_point": "/home", "required_options": HOME_OPTS})
    assert result.status is Status.FAIL
    assert result.message == "/home: the options in force lack nosuid,usrquota"


def test_live_quota_super_option_counts_as_in_force():
    mounts = ROOT + "41 27 8:7 / /home rw,nosuid,nodev - ext3 /dev/hda7 rw,quota,usrquota\n"
    facts = {"fstab": _fstab(DOC_FSTAB), "mountinfo": _mountinfo(mounts)}
    result = run_check("fs.mount-options.home", facts=facts, mode="live",
                       params={"mount_point": "/home", "required_options": HOME_OPTS})
    assert result.status is Status.PASS


def test_live_mount_options_on_root_filesystem_directory_fail():
    facts = {"fstab": _fstab(DOC_FSTAB), "mountinfo": _mountinfo(ROOT)}
    result = run_check("fs.mount-options.boot", facts=facts, mode="live",
                       params={"mount_point": "/boot", "required_options": ["nosuid", "nodev"]})
    assert result.status is Status.FAIL
    assert "/boot is not a mount point" in result.message


# -- fs.quota.enabled --------------------------------------------------------------------------

def _quota_tools(root, *, hook="/lib/systemd/system/quotaon.service"):
    """What the quota package installs: the programs and what runs them at boot."""
    root.write("/usr/sbin/quotacheck", "\x7fELF", mode=0o755)
    root.write("/usr/sbin/quotaon", "\x7fELF", mode=0o755)
    if hook:
        root.write(hook, "[Service]\nExecStart=/sbin/quotaon -aug\n")


def test_quota_requested_and_initialised_passes_on_image(tmp_root):
    tmp_root.write("/etc/fstab", DOC_FSTAB)
    tmp_root.write("/home/aquota.user", "", mode=0o600)
    _quota_tools(tmp_root)
    result = run_check("fs.quota.enabled", root=tmp_root, params={"mount_point": "/home"})
    assert result.status is Status.PASS
    assert "/home/aquota.user: quota file present" in evidence_lines(result)


def test_quota_file_without_usrquota_option_fails(tmp_root):
    tmp_root.write("/etc/fstab", DOC_FSTAB.replace(",usrquota", ""))
    tmp_root.write("/home/quota.user", "", mode=0o600)
    _quota_tools(tmp_root)
    result = run_check("fs.quota.enabled", root=tmp_root, params={"mount_point": "/home"})
    assert result.status is Status.FAIL
    assert "do not ask for user quota" in result.message


def test_usrquota_and_boot_tools_without_quota_file_pass_on_image(tmp_root):
    tmp_root.write("/etc/fstab", DOC_FSTAB)
    tmp_root.mkdir("/home")
    _quota_tools(tmp_root)
    result = run_check("fs.quota.enabled", root=tmp_root, params={"mount_point": "/home"})
    assert result.status is Status.PASS
    assert "/home: no aquota.user yet (quotacheck creates it at boot)" in evidence_lines(result)
    assert "/lib/systemd/system/quotaon.service: runs at boot" in evidence_lines(result)


def test_usrquota_without_quota_tools_fails_on_image(tmp_root):
    tmp_root.write("/etc/fstab", DOC_FSTAB)
    tmp_root.write("/home/aquota.user", "", mode=0o600)
    result = run_check("fs.quota.enabled", root=tmp_root, params={"mount_point": "/home"})
    assert result.status is Status.FAIL
    assert "quotacheck and quotaon not installed" in result.message


def test_quota_tools_that_nothing_runs_at_boot_fail_on_image(tmp_root):
    tmp_root.write("/etc/fstab", DOC_FSTAB)
    _quota_tools(tmp_root, hook=None)
    result = run_check("fs.quota.enabled", root=tmp_root, params={"mount_point": "/home"})
    assert result.status is Status.FAIL
    assert "nothing runs quotacheck/quotaon at boot" in result.message


def _quota_facts(state):
    return {"fstab": _fstab(DOC_FSTAB),
            "quota": {"mount_points": {"/home": {"files": ["/home/aquota.user"], "state": state}}}}


def test_live_quota_on_passes():
    state = {"command": "quotaon -pu /home", "on": True,
             "text": "user quota on /home (/dev/hda7) is on"}
    result = run_check("fs.quota.enabled", facts=_quota_facts(state), mode="live",
                       params={"mount_point": "/home"})
    assert result.status is Status.PASS
    assert "quotaon -pu /home: user quota on /home (/dev/hda7) is on" in evidence_lines(result)


def test_live_quota_off_fails():
    state = {"command": "quotaon -pu /home", "on": False,
             "text": "user quota on /home (/dev/hda7) is off"}
    result = run_check("fs.quota.enabled", facts=_quota_facts(state), mode="live",
                       params={"mount_point": "/home"})
    assert result.status is Status.FAIL
    assert result.message == "/home: user quota is off"


def test_live_quota_state_unknown_is_an_error():
    state = {"command": "quotaon -pu /home", "error": "quotaon is not installed"}
    result = run_check("fs.quota.enabled", facts=_quota_facts(state), mode="live",
                       params={"mount_point": "/home"})
    assert result.status is Status.ERROR
    assert "quotaon is not installed" in result.message


@pytest.fixture
def quota_mount(require_root, tmp_path):
    """A 16 MiB ext4 image loop-mounted with usrquota and initialised by quotacheck."""
    if not all(shutil.which(t) for t in ("mkfs.ext4", "losetup", "quotacheck", "quotaon")):
        pytest.skip("quota tools or loop tools missing")
    image, mount_point = tmp_path / "home.img", tmp_path / "home"
    mount_point.mkdir()
    with open(image, "wb") as handle:
        handle.truncate(16 * 1024 * 1024)
    subprocess.run(["mkfs.ext4", "-F", "-q", str(image)], check=True)
    attach = subprocess.run(["losetup", "-f", "--show", str(image)], capture_output=True, text=True)
    if attach.returncode != 0:
        pytest.skip(f"no loop device: {attach.stderr.strip()}")
    loop = attach.stdout.strip()
    mounted = False
    try:
        subprocess.run(["mount", "-o", "usrquota,nosuid,nodev", loop, str(mount_point)], check=True)
        mounted = True
        subprocess.run(["quotacheck", "-cu", str(mount_point)], check=True, capture_output=True)
        yield str(mount_point)
    finally:
        if mounted:
            subprocess.run(["quotaoff", "-u", str(mount_point)], capture_output=True)
            subprocess.run(["umount", str(mount_point)], check=False)
        subprocess.run(["losetup", "-d", loop], check=False)


def _live_quota(mount_point):
    load_all()
    return collect(LiveHost(), ["quota"], mode="live")["quota"]["mount_points"][mount_point]


def test_live_probe_sees_quota_file_and_off_state_on_real_mount(quota_mount):
    state = _live_quota(quota_mount)
    assert state["files"] == [os.path.join(quota_mount, "aquota.user")]
    assert state["state"]["command"] == f"quotaon -pu {quota_mount}"
    assert state["state"]["on"] is False
    assert state["state"]["text"].endswith("is off")


def test_live_probe_sees_quota_on_on_real_mount(quota_mount):
    done = subprocess.run(["quotaon", "-u", quota_mount], capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"this kernel cannot switch quota on: {done.stderr.strip()}")
    state = _live_quota(quota_mount)["state"]
    assert state["on"] is True and state["text"].endswith("is on")


# -- fs.rc-permissions -------------------------------------------------------------------------

def test_redhat_rc_d_after_chmod_700_passes(tmp_root):
    tmp_root.write("/etc/rc.d/init.d/sshd", "#!/bin/sh\n", mode=0o700)
    tmp_root.write("/etc/rc.d/rc.local", "#!/bin/sh\n", mode=0o700)
    tmp_root.symlink("/etc/rc.d/rc3.d/S55sshd", "../init.d/sshd")
    tmp_root.symlink("/etc/init.d", "rc.d/init.d")
    result = run_check("fs.rc-permissions", root=tmp_root)
    assert result.status is Status.PASS
    assert result.message == "all 2 run-control scripts are closed to group and other"


def test_debian_0755_init_scripts_fail_listing_them(tmp_root):
    tmp_root.write("/etc/init.d/ssh", "#!/bin/sh\n", mode=0o755)
    tmp_root.symlink("/etc/rc2.d/S01ssh", "../init.d/ssh")
    result = run_check("fs.rc-permissions", root=tmp_root)
    assert result.status is Status.FAIL
    assert evidence_lines(result) == ["/etc/init.d/ssh: mode 0755, readable/executable by group/other"]


def test_group_writable_script_is_listed_first_as_writable(tmp_root):
    tmp_root.write("/etc/init.d/aaa", "#!/bin/sh\n", mode=0o755)
    tmp_root.write("/etc/init.d/zzz", "#!/bin/sh\n", mode=0o775)
    result = run_check("fs.rc-permissions", root=tmp_root)
    assert result.status is Status.FAIL
    assert "(1 writable)" in result.message
    assert evidence_lines(result)[0] == "/etc/init.d/zzz: mode 0775, writable by group/other"


def test_offender_list_is_capped_with_count(tmp_root):
    for n in range(25):
        tmp_root.write(f"/etc/init.d/s{n:02d}", "#!/bin/sh\n", mode=0o755)
    result = run_check("fs.rc-permissions", root=tmp_root)
    assert len(result.evidence) == 21
    assert str(result.evidence[-1]) == "...: 5 more not listed"


def test_pure_systemd_image_is_not_applicable(tmp_root):
    tmp_root.write("/etc/systemd/system/multi-user.target.wants/.keep", "")
    result = run_check("fs.rc-permissions", root=tmp_root)
    assert result.status is Status.NOT_APPLICABLE
    assert "/etc/rc.d" in result.message


# -- fs.disk-usage -----------------------------------------------------------------------------

def _usage(percent):
    return {"disk_usage": {"available": True, "path": "/proc/self/mountinfo", "filesystems": [
        {"mount_point": "/", "fstype": "ext4", "source": "/dev/sda1", "used_percent": 40},
        {"mount_point": "/var", "fstype": "ext4", "source": "/dev/sda2", "used_percent": percent},
    ]}}


def test_filesystem_over_threshold_fails():
    result = run_check("fs.disk-usage", facts=_usage(95), mode="live",
                       params={"disk_usage_max_percent": 90})
    assert result.status is Status.FAIL
    assert evidence_lines(result) == ["/var: 95% used (ext4 /dev/sda2)"]


def test_filesystems_under_threshold_pass():
    result = run_check("fs.disk-usage", facts=_usage(90), mode="live",
                       params={"disk_usage_max_percent": 90})
    assert result.status is Status.PASS
    assert "/var: 90% used (ext4 /dev/sda2)" in evidence_lines(result)


def test_live_disk_usage_probe_measures_root_and_skips_pseudo_filesystems():
    load_all()
    usage = collect(LiveHost(), ["disk_usage"], mode="live")["disk_usage"]
    by_point = {fs["mount_point"]: fs for fs in usage["filesystems"]}
    st = os.statvfs("/")
    used = st.f_blocks - st.f_bfree
    assert abs(by_point["/"]["used_percent"] - 100 * used / (used + st.f_bavail)) <= 1
    assert "/proc" not in by_point and "/sys" not in by_point


def test_disk_usage_on_image_is_not_applicable(tmp_root):
    tmp_root.write("/etc/fstab", DOC_FSTAB)
    assert collect_fact("disk_usage", tmp_root)["available"] is False
    result = run_check("fs.disk-usage", root=tmp_root, params={"disk_usage_max_percent": 90})
    assert result.status is Status.NOT_APPLICABLE


# -- fs.quota.users ------------------------------------------------------------------------------

from quota_images import quota_file_bytes, quota_filesystem  # noqa: E402

PASSWD = ("root:x:0:0:root:/root:/bin/bash\nqmaild:x:502:502::/var/qmail:/bin/false\n"
          "tony:x:1000:1000::/home/tony:/bin/bash\nalice:x:1001:1001::/home/alice:/bin/bash\n"
          "nobody:x:65534:65534::/nonexistent:/usr/sbin/nologin\n")
DOC = (20, 25, 20, 25)


def _users_image(tmp_root, fstab=DOC_FSTAB):
    tmp_root.write("/etc/fstab", fstab)
    tmp_root.write("/etc/passwd", PASSWD)
    tmp_root.write("/etc/login.defs", "UID_MIN 1000\n")
    return tmp_root


@pytest.fixture
def home_with(tmp_root, tmp_path):
    """``home_with(limits, fmt=...)``: the image's /home is a real loop-mounted ext4 whose
    aquota.user quotacheck and setquota wrote; unmounted after the test."""
    stack = []

    def make(limits, **kwargs):
        _users_image(tmp_root)
        mount = quota_filesystem(str(tmp_path), tmp_root.path / "home", limits=limits, **kwargs)
        stack.append(mount)
        return mount.__enter__()

    yield make
    for mount in stack:
        mount.__exit__(None, None, None)


@pytest.mark.parametrize("fmt", ["vfsv0", "vfsv1"])
def test_every_user_with_the_documents_limits_passes_on_image(tmp_root, home_with, fmt):
    home_with({1000: DOC, 1001: DOC}, fmt=fmt)
    result = run_check("fs.quota.users", root=tmp_root)
    assert result.status is Status.PASS, result.message
    assert result.message == "all 2 regular users have block and inode limits on /home"
    assert evidence_lines(result)[:2] == ["/home/aquota.user: tony (uid 1000): blocks 20/25 KiB, inodes 20/25",
                                          "/home/aquota.user: alice (uid 1001): blocks 20/25 KiB, inodes 20/25"]


def test_user_without_a_quota_entry_fails_naming_him(tmp_root, home_with):
    home_with({1000: DOC})
    result = run_check("fs.quota.users", root=tmp_root)
    assert result.status is Status.FAIL
    assert result.message == "1 of 2 regular users lack quota limits on /home"
    assert evidence_lines(result)[0] == "/home/aquota.user: alice (uid 1001): no quota entry"


def test_zero_inode_limits_fail_naming_them(tmp_root, home_with):
    home_with({1000: DOC, 1001: (20, 25, 0, 0)})
    result = run_check("fs.quota.users", root=tmp_root)
    assert result.status is Status.FAIL
    assert evidence_lines(result)[0] == "/home/aquota.user: alice (uid 1001): inode soft limit 0, inode hard limit 0"


def test_system_accounts_and_nobody_need_no_limits(tmp_root, home_with):
    home_with({1000: DOC, 1001: DOC})  # nothing for root, qmaild (uid 502) or nobody
    assert run_check("fs.quota.users", root=tmp_root).status is Status.PASS


def test_usrquota_without_a_quota_file_is_not_applicable_on_image(tmp_root, home_with):
    home_with({}, init=False)
    result = run_check("fs.quota.users", root=tmp_root)
    assert result.status is Status.NOT_APPLICABLE
    assert "no aquota.user at /home (user quota asked for in /etc/fstab)" in result.message


def test_quota_off_entirely_is_not_applicable_on_image_and_says_so(tmp_root):
    _users_image(tmp_root, DOC_FSTAB.replace(",usrquota", ""))
    result = run_check("fs.quota.users", root=tmp_root)
    assert result.status is Status.NOT_APPLICABLE
    assert "user quota not asked for (no usrquota)" in result.message
    assert evidence_lines(result) == [
        "/etc/fstab:3: LABEL=/home /home ext3 nosuid,nodev,rw,exec,auto,nouser,async"]


def test_home_on_the_root_filesystem_reads_the_roots_quota_file(tmp_root, tmp_path):
    _users_image(tmp_root, "/dev/sda1 / ext4 defaults,usrquota 0 1\n")
    data = quota_file_bytes(str(tmp_path), limits={1000: DOC, 1001: DOC})
    (tmp_root.path / "aquota.user").write_bytes(data)
    tmp_root.mkdir("/home/tony")
    result = run_check("fs.quota.users", root=tmp_root)
    assert result.status is Status.PASS
    assert evidence_lines(result)[0].startswith("/aquota.user: tony (uid 1000)")


@pytest.mark.parametrize("damage", ["truncated", "garbage", "fifo"])
def test_unreadable_quota_file_is_an_error_never_a_pass(tmp_root, tmp_path, damage):
    _users_image(tmp_root)
    target = tmp_root.path / "home/aquota.user"
    target.parent.mkdir(parents=True)
    data = quota_file_bytes(str(tmp_path), limits={1000: DOC, 1001: DOC})
    if damage == "truncated":
        target.write_bytes(data[:3000])
    elif damage == "garbage":
        target.write_bytes(b"\x11\x1f\xc0\xd9" + b"\xff" * 4092)
    else:
        os.mkfifo(target)
    result = run_check("fs.quota.users", root=tmp_root)
    assert result.status is Status.ERROR
    assert result.message.startswith("cannot read the quota limits: ")


def test_old_format_quota_file_is_an_error_naming_it(tmp_root):
    _users_image(tmp_root)
    tmp_root.write("/home/quota.user", "\x00" * 64)
    result = run_check("fs.quota.users", root=tmp_root)
    assert result.status is Status.ERROR
    assert "vfsold" in result.message


def test_no_regular_users_is_not_applicable(tmp_root, home_with):
    home_with({1000: DOC})
    tmp_root.write("/etc/passwd", "root:x:0:0:root:/root:/bin/bash\n")
    assert run_check("fs.quota.users", root=tmp_root).status is Status.NOT_APPLICABLE


def _live_limits_facts(limits):
    return {"passwd": {"path": "/etc/passwd", "users": parse_passwd(PASSWD)},
            "login_defs": {"path": "/etc/login.defs", "present": False, "settings": {}},
            "quota_limits": {"/home": limits}}


def test_live_quota_off_fails_saying_so():
    limits = {"mount_point": "/home", "source": "repquota -u -n -v /home", "entries": None, "error": None,
              "quota_off": True, "reason": "repquota: Mountpoint (or device) /home not found or has no quota enabled."}
    result = run_check("fs.quota.users", facts=_live_limits_facts(limits), mode="live")
    assert result.status is Status.FAIL
    assert result.message.startswith("user quota is not enabled for /home, so no user has limits on /home")


def test_live_repquota_failure_is_an_error():
    limits = {"mount_point": "/home", "source": "repquota -u -n -v /home", "entries": None,
              "error": "repquota is not installed", "quota_off": False, "reason": None}
    result = run_check("fs.quota.users", facts=_live_limits_facts(limits), mode="live")
    assert result.status is Status.ERROR and "repquota is not installed" in result.message


def _live_limits_of(mount_point):
    from hostaudit.probes.disk import _live_limits

    mounts = _mountinfo(open("/proc/self/mountinfo").read())
    return _live_limits(LiveHost(), mounts, mount_point)


def test_live_repquota_reads_limits_setquota_wrote_on_a_real_mount(tmp_path):
    with quota_filesystem(str(tmp_path), tmp_path / "home", limits={1000: DOC, 1001: (20, 25, 0, 0)}) as home:
        limits = _live_limits_of(home)
    assert limits["error"] is None and limits["source"] == f"repquota -u -n -v {home}"
    by_id = {e["id"]: e for e in limits["entries"]}
    assert (by_id[1000]["block_soft"], by_id[1000]["inode_hard"]) == (20, 25)
    assert by_id[1001]["inode_soft"] == 0


def test_live_mount_without_usrquota_is_reported_as_quota_off(tmp_path):
    with quota_filesystem(str(tmp_path), tmp_path / "home", options="nosuid,nodev", init=False) as home:
        limits = _live_limits_of(home)
    assert limits["quota_off"] is True and limits["entries"] is None and limits["error"] is None
    assert "has no quota enabled" in limits["reason"]


def test_live_repquota_reads_the_kernels_limits_while_quota_is_on(tmp_path):
    with quota_filesystem(str(tmp_path), tmp_path / "home", limits={1000: DOC}) as home:
        done = subprocess.run(["quotaon", "-u", home], capture_output=True, text=True, timeout=30)
        if done.returncode != 0:
            # This kernel lacks CONFIG_QFMT_V2: "quotaon: Quota format not supported in kernel".
            pytest.skip(f"this kernel cannot switch quota on: {done.stderr.strip().splitlines()[-1]}")
        try:
            subprocess.run(["setquota", "-u", "1001", "30", "35", "30", "35", home], check=True, timeout=30)
            limits = _live_limits_of(home)
        finally:
            subprocess.run(["quotaoff", "-u", home], capture_output=True, timeout=30)
    by_id = {e["id"]: e for e in limits["entries"]}
    assert by_id[1000]["block_hard"] == 25 and by_id[1001]["inode_soft"] == 30
