import errno
import subprocess

import pytest
from support import RootBuilder, evidence_lines, run_check

from hostaudit.host import ImageHost
from hostaudit.model import Status
from hostaudit.probes.attrs import file_attrs_probe
from hostaudit.probes.boot import BOOT_PACKAGES


@pytest.fixture
def immutable(require_root):
    """Set the immutable bit with real chattr; always cleared again, even on failure."""
    flagged = []

    def set_immutable(path):
        done = subprocess.run(["chattr", "+i", str(path)], capture_output=True, text=True)
        if done.returncode != 0:
            pytest.skip(f"this filesystem keeps no attributes: {done.stderr.strip()}")
        flagged.append(path)

    yield set_immutable
    for path in flagged:
        subprocess.run(["chattr", "-i", str(path)], check=False)


def _accounts(root: RootBuilder) -> dict:
    return {name: root.write(f"/etc/{name}", "root:x:0:\n", mode=0o644)
            for name in ("passwd", "shadow", "group", "gshadow")}


def test_immutable_passwd_passes(tmp_root, immutable):
    immutable(_accounts(tmp_root)["passwd"])
    result = run_check("files.immutable.passwd", root=tmp_root)
    assert result.status is Status.PASS
    assert [str(e) for e in result.evidence] == ["/etc/passwd: flags: immutable"]


def test_mutable_shadow_fails(tmp_root, immutable):
    immutable(_accounts(tmp_root)["passwd"])
    result = run_check("files.immutable.shadow", root=tmp_root)
    assert result.status is Status.FAIL
    assert [str(e) for e in result.evidence] == ["/etc/shadow: flags: not immutable"]
    assert "image mode reads the flag of the image's own files" in result.message


def test_missing_gshadow_fails_naming_it(tmp_root):
    tmp_root.write("/etc/group", "root:x:0:\n")
    result = run_check("files.immutable.gshadow", root=tmp_root)
    assert result.status is Status.FAIL
    assert result.message == "/etc/gshadow does not exist"


def test_filesystem_without_attributes_is_an_error(tmp_root):
    class NoAttributes(ImageHost):
        def attr_flags(self, path):
            raise OSError(errno.ENOTTY, "Inappropriate ioctl for device", path)

    _accounts(tmp_root)
    facts = {"file_attrs": file_attrs_probe(NoAttributes(str(tmp_root.path)), request={"paths": ["/etc/group"]})}
    result = run_check("files.immutable.group", facts=facts)
    assert result.status is Status.ERROR
    assert "keeps no inode attributes" in result.message


def test_immutable_grub_conf_through_redhat_link_names_both(tmp_root, immutable):
    immutable(tmp_root.write("/boot/grub/grub.conf", "default=0\n"))
    tmp_root.symlink("/etc/grub.conf", "../boot/grub/grub.conf")
    result = run_check("files.immutable.bootloader", root=tmp_root)
    assert result.status is Status.PASS
    assert [str(e) for e in result.evidence] == [
        "/etc/grub.conf -> /boot/grub/grub.conf: flags: immutable"]


def test_mutable_grub2_cfg_fails(tmp_root):
    tmp_root.write("/boot/grub2/grub.cfg", "set default=0\n")
    result = run_check("files.immutable.bootloader", root=tmp_root)
    assert result.status is Status.FAIL
    assert result.evidence[0].where == "/boot/grub2/grub.cfg"


def test_no_bootloader_config_is_an_error_naming_where_it_looked(tmp_root):
    tmp_root.write("/etc/passwd", "root:x:0:0::/root:/bin/sh\n")
    result = run_check("files.immutable.bootloader", root=tmp_root)
    assert result.status is Status.ERROR
    assert "/etc/grub.conf, /boot/grub/grub.conf" in result.message


def test_bootloader_immutability_is_not_applicable_without_loader_or_kernel(tmp_root):
    tmp_root.installed("bash")
    result = run_check("files.immutable.bootloader", root=tmp_root)
    assert result.status is Status.NOT_APPLICABLE
    assert evidence_lines(result) == ["/var/lib/dpkg/status: no package matching " + " ".join(BOOT_PACKAGES),
                                      "/boot: absent"]


def test_bootloader_immutability_with_a_kernel_package_but_no_config_is_an_error(tmp_root):
    tmp_root.installed("linux-image-6.1.0-18-amd64")
    result = run_check("files.immutable.bootloader", root=tmp_root)
    assert result.status is Status.ERROR
    assert "though the host has a boot loader or kernel" in result.message
