"""A ``--root`` tree may be writable by someone else (a build user) while root audits it: a
directory swapped for a symlink between the auditor resolving a path and opening it must
not lead the read outside the tree, to the auditor's own files."""

from __future__ import annotations

import os

import pytest

from hostaudit.host import ImageHost

SECRET = "S3CRETMARK"


@pytest.fixture
def swapped(tmp_path):
    """A tree whose /etc is replaced by a link to a directory outside it just after the
    Host resolved a path (the race an attacker runs in a loop, won every time)."""
    root = tmp_path / "root"
    (root / "etc").mkdir(parents=True)
    (root / "etc" / "shadow").write_text("root:*:19000::::::\n")
    (root / "etc" / "cron.d").mkdir()
    outside = tmp_path / "auditor-etc"
    (outside / "cron.d").mkdir(parents=True)
    (outside / "shadow").write_text(f"root:{SECRET}:19000::::::\n")
    (outside / "cron.d" / SECRET).write_text("")
    host = ImageHost(str(root))
    resolve = host.real_path

    def real_path_then_swap(path):
        real = resolve(path)
        if not (root / "etc").is_symlink():
            os.rename(root / "etc", root / "etc.image")
            os.symlink(outside, root / "etc")
        return real

    host.real_path = real_path_then_swap
    return host


def test_a_file_read_through_a_directory_swapped_for_a_link_is_refused(swapped):
    with pytest.raises(OSError, match="outside the root"):
        swapped.read_text("/etc/shadow")


def test_a_directory_listed_after_being_swapped_for_a_link_is_refused(swapped):
    with pytest.raises(OSError, match="outside the root"):
        swapped.listdir("/etc/cron.d")


def test_an_untouched_tree_reads_as_before(tmp_path):
    root = tmp_path / "root"
    (root / "etc").mkdir(parents=True)
    (root / "etc" / "hostname").write_text("mail\n")
    (root / "etc" / "alias").symlink_to("/etc/hostname")
    host = ImageHost(str(root))
    assert host.read_text("/etc/alias") == "mail\n"
    assert host.listdir("/etc") == ["alias", "hostname"]
