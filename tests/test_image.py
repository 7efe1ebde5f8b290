"""Unpacking image tarballs: everything an audit needs is kept, nothing escapes ``dest``."""

import io
import os
import stat
import tarfile
import tempfile
from types import SimpleNamespace

import pytest
from support import run_check

from hostaudit.errors import InputError
from hostaudit.host import ImageHost
from hostaudit.image import unpack, unpacked_image
from hostaudit.model import Status


# -- building tarballs in the test ------------------------------------------------------------
def regular(name, data=b"", mode=0o644, **attrs):
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = len(data), mode, 1_000_000_000
    for key, value in attrs.items():
        setattr(info, key, value)
    return info, data


def directory(name, mode=0o755):
    info = tarfile.TarInfo(name)
    info.type, info.mode, info.mtime = tarfile.DIRTYPE, mode, 1_000_000_000
    return info, None


def link(name, target, kind=tarfile.SYMTYPE):
    info = tarfile.TarInfo(name)
    info.type, info.linkname, info.mode = kind, target, 0o777
    return info, None


def special(name, kind):
    info = tarfile.TarInfo(name)
    info.type, info.devmajor, info.devminor = kind, 1, 3
    return info, None


def build_tar(path, *members, mode="w"):
    with tarfile.open(path, mode) as archive:
        for info, data in members:
            archive.addfile(info, io.BytesIO(data) if data is not None else None)
    return str(path)


NORMAL_IMAGE = [
    directory("./", mode=0o755),
    directory("./etc"),
    regular("./etc/passwd", b"root:x:0:0:root:/root:/bin/sh\n"),
    regular("./etc/shadow", b"root:*:19000::::::\n", mode=0o600),
    directory("./usr/bin"),
    regular("./usr/bin/passwd", b"\x7fELF", mode=0o4755),
    regular("./srv/owned", b"x", uid=4242, gid=4343, uname="nosuchuser", gname="nosuchgroup"),
    directory("./tmp", mode=0o1777),
    link("./etc/localtime", "/usr/share/zoneinfo/UTC"),
    link("./usr/bin/sh", "dash"),
    link("./usr/bin/chfn", "usr/bin/passwd", kind=tarfile.LNKTYPE),
]


@pytest.fixture
def dest(tmp_path):
    path = tmp_path / "dest"
    path.mkdir()
    return path


@pytest.fixture
def normal(tmp_path, dest):
    summary, index = unpack(build_tar(tmp_path / "image.tar", *NORMAL_IMAGE), str(dest))
    return dest, summary, ImageHost(str(dest), index)


# -- a normal image ---------------------------------------------------------------------------
def test_normal_image_summary_counts_members_and_bytes(normal):
    _, summary, _ = normal
    assert summary == {"members": 11, "bytes": 30 + 19 + 4 + 1, "skipped": [], "skipped_count": 0}


def test_normal_image_keeps_file_contents(normal):
    dest, _, _ = normal
    assert (dest / "etc/passwd").read_bytes() == b"root:x:0:0:root:/root:/bin/sh\n"


def test_image_host_reports_the_images_setuid_sticky_and_private_modes(normal):
    _, _, host = normal
    assert stat.S_IMODE(host.lstat("/usr/bin/passwd").st_mode) == 0o4755
    assert stat.S_IMODE(host.stat("/tmp").st_mode) == 0o1777
    assert stat.S_IMODE(host.stat("/etc/shadow").st_mode) == 0o600


def test_image_host_keeps_the_file_type_of_the_disk(normal):
    _, _, host = normal
    assert stat.S_ISREG(host.stat("/usr/bin/passwd").st_mode)
    assert stat.S_ISDIR(host.stat("/tmp").st_mode)
    assert stat.S_ISLNK(host.lstat("/usr/bin/sh").st_mode)


def test_image_host_keeps_size_and_times_of_the_disk(normal):
    _, _, host = normal
    info = host.stat("/usr/bin/passwd")
    assert (info.st_size, info.st_mtime, info.st_mtime_ns) == (4, 1_000_000_000, 1_000_000_000 * 10**9)


def test_root_entry_mode_is_the_images_not_the_disks(normal):
    dest, _, host = normal
    assert stat.S_IMODE(host.stat("/").st_mode) == 0o755
    assert stat.S_IMODE(os.lstat(dest).st_mode) == 0o755  # the fixture's own dest, untouched


def test_normal_image_keeps_mtimes_of_files_and_directories(normal):
    dest, _, _ = normal
    assert os.lstat(dest / "etc/passwd").st_mtime == 1_000_000_000
    assert os.lstat(dest / "etc").st_mtime == 1_000_000_000


def test_absolute_symlink_is_created_unchanged(normal):
    dest, _, _ = normal
    assert os.readlink(dest / "etc/localtime") == "/usr/share/zoneinfo/UTC"


def test_relative_symlink_is_created_unchanged(normal):
    dest, _, _ = normal
    assert os.readlink(dest / "usr/bin/sh") == "dash"


def test_hard_link_shares_the_inode_of_its_target(normal):
    dest, _, _ = normal
    assert os.lstat(dest / "usr/bin/chfn").st_ino == os.lstat(dest / "usr/bin/passwd").st_ino


def test_missing_parent_directories_are_created(normal):
    dest, _, _ = normal
    assert (dest / "srv").is_dir()


def test_ownership_is_numeric_not_mapped_through_names(normal):
    _, _, host = normal
    info = host.stat("/srv/owned")
    assert (info.st_uid, info.st_gid) == (4242, 4343)


def test_nothing_is_chowned_on_disk(normal):
    dest, _, _ = normal
    info = os.lstat(dest / "srv/owned")
    assert (info.st_uid, info.st_gid) == (os.geteuid(), os.getegid())


# -- unsafe members refuse the whole image ----------------------------------------------------
@pytest.mark.parametrize("name", ["../evil", "a/../../evil", "ABSOLUTE"])
def test_member_escaping_dest_is_refused_and_not_written(tmp_path, dest, name):
    would_be = tmp_path / "evil"
    name = str(would_be) if name == "ABSOLUTE" else name
    tar = build_tar(tmp_path / "evil.tar", regular("ok", b"ok"), regular(name, b"pwned"))
    with pytest.raises(InputError, match="unsafe member") as caught:
        unpack(tar, str(dest))
    assert name in str(caught.value) and caught.value.where == tar
    assert not would_be.exists()


def test_write_through_symlinked_parent_is_refused(tmp_path, dest):
    outside = tmp_path / "outside"
    outside.mkdir()
    tar = build_tar(tmp_path / "evil.tar", link("etc", str(outside)), regular("etc/passwd", b"x"))
    with pytest.raises(InputError, match="parent 'etc' is a symlink"):
        unpack(tar, str(dest))
    assert not (outside / "passwd").exists()


def test_existing_symlink_at_member_path_is_replaced_not_followed(tmp_path, dest):
    victim = tmp_path / "victim"
    victim.write_text("original")
    tar = build_tar(tmp_path / "t.tar", link("x", str(victim)), regular("x", b"replaced"))
    unpack(tar, str(dest))
    assert victim.read_text() == "original"
    assert not (dest / "x").is_symlink() and (dest / "x").read_bytes() == b"replaced"


def test_hard_link_to_a_file_outside_the_archive_is_refused(tmp_path, dest):
    victim = tmp_path / "victim"
    victim.write_text("secret")
    tar = build_tar(tmp_path / "t.tar", link("x", str(victim), kind=tarfile.LNKTYPE))
    with pytest.raises(InputError, match="unsafe member 'x'"):
        unpack(tar, str(dest))
    assert not (dest / "x").exists()


def test_hard_link_to_a_name_not_unpacked_before_is_refused(tmp_path, dest):
    tar = build_tar(tmp_path / "t.tar", link("x", "etc/later", kind=tarfile.LNKTYPE),
                    regular("etc/later", b"x"))
    with pytest.raises(InputError, match="not a regular file unpacked earlier"):
        unpack(tar, str(dest))


# -- skipped members --------------------------------------------------------------------------
def test_char_device_is_skipped_and_listed(tmp_path, dest):
    tar = build_tar(tmp_path / "t.tar", special("dev/null", tarfile.CHRTYPE), regular("etc/x"))
    summary, _ = unpack(tar, str(dest))
    assert summary["skipped"] == [{"name": "dev/null", "reason": "character device not created"}]
    assert summary["skipped_count"] == 1
    assert not os.path.lexists(dest / "dev/null")


def test_skipped_list_is_capped_but_counted(tmp_path, dest):
    fifos = [special(f"run/fifo{n}", tarfile.FIFOTYPE) for n in range(60)]
    summary, _ = unpack(build_tar(tmp_path / "t.tar", *fifos), str(dest))
    assert len(summary["skipped"]) == 50 and summary["skipped_count"] == 60
    assert summary["skipped"][0] == {"name": "run/fifo0", "reason": "FIFO not created"}


# -- compression and bad input ----------------------------------------------------------------
@pytest.mark.parametrize("suffix,mode", [(".tar.gz", "w:gz"), (".tar.xz", "w:xz"),
                                         (".tar.bz2", "w:bz2")])
def test_compressed_tarballs_unpack(tmp_path, dest, suffix, mode):
    tar = build_tar(tmp_path / f"image{suffix}", regular("etc/issue", b"Debian\n"), mode=mode)
    assert unpack(tar, str(dest)).summary["members"] == 1
    assert (dest / "etc/issue").read_bytes() == b"Debian\n"


def test_text_file_named_tar_is_not_a_readable_archive(tmp_path, dest):
    fake = tmp_path / "image.tar"
    fake.write_text("this is not a tarball\n" * 100)
    with pytest.raises(InputError, match="not a readable tar archive") as caught:
        unpack(str(fake), str(dest))
    assert caught.value.where == str(fake)


def test_truncated_compressed_tarball_is_not_readable(tmp_path, dest):
    tar = build_tar(tmp_path / "image.tar.gz", regular("big", os.urandom(200_000)), mode="w:gz")
    data = open(tar, "rb").read()
    open(tar, "wb").write(data[: len(data) // 2])
    with pytest.raises(InputError, match="not a readable tar archive"):
        unpack(tar, str(dest))


def test_missing_tarball_is_input_error(tmp_path, dest):
    with pytest.raises(InputError, match="No such file"):
        unpack(str(tmp_path / "nope.tar"), str(dest))


def test_unpacked_size_over_max_bytes_is_refused(tmp_path, dest):
    tar = build_tar(tmp_path / "t.tar", regular("a", b"x" * 600), regular("b", b"x" * 600))
    with pytest.raises(InputError, match="exceeds 1000 bytes .* 'b'"):
        unpack(tar, str(dest), max_bytes=1000)
    assert not (dest / "b").exists()


def test_member_count_over_max_members_is_refused(tmp_path, dest):
    tar = build_tar(tmp_path / "t.tar", *[regular(f"f{n}") for n in range(4)])
    with pytest.raises(InputError, match="more than 3 members"):
        unpack(tar, str(dest), max_members=3)


# -- the temporary directory ------------------------------------------------------------------
def test_unpacked_image_yields_the_tree_and_removes_it_afterwards(tmp_path):
    tar = build_tar(tmp_path / "t.tar", regular("etc/issue", b"Debian\n"),
                    directory("readonly", mode=0o555))
    with unpacked_image(tar) as (root, summary, _):
        assert os.path.basename(root).startswith("hostaudit-image-")
        assert open(os.path.join(root, "etc/issue")).read() == "Debian\n"
        assert summary["members"] == 2
    assert not os.path.exists(root)


def test_unpacked_image_removes_its_directory_when_unpack_fails(tmp_path, monkeypatch):
    created = []

    def recording_mkdtemp(**kwargs):
        created.append(real_mkdtemp(**kwargs))
        return created[-1]

    real_mkdtemp = tempfile.mkdtemp
    monkeypatch.setattr(tempfile, "mkdtemp", recording_mkdtemp)
    tar = build_tar(tmp_path / "t.tar", regular("ok", b"ok"), regular("../evil", b"x"))
    with pytest.raises(InputError):
        with unpacked_image(tar):
            pass
    assert len(created) == 1 and not os.path.exists(created[0])


# -- what lands on disk is defanged; the image's modes live in the index ----------------------
HOSTILE_IMAGE = [
    directory("./", mode=0o777),
    directory("./etc", mode=0o777),
    regular("./etc/world-writable", b"x", mode=0o666),
    directory("./usr/bin"),
    regular("./usr/bin/su", b"\x7fELF", mode=0o4755, uid=0, gid=0),
    regular("./usr/bin/wall", b"\x7fELF", mode=0o2755, uid=0, gid=5),
    link("./usr/bin/newgrp", "usr/bin/su", kind=tarfile.LNKTYPE),
    link("./bin", "usr/bin"),
    link("./usr/bin/sudo", "/usr/bin/su"),
    directory("./tmp", mode=0o1777),
    regular("./orphan/dir/file", b"x"),
]


@pytest.fixture
def hostile(tmp_path):
    tar = build_tar(tmp_path / "hostile.tar", *HOSTILE_IMAGE)
    with unpacked_image(tar) as image:
        yield image


@pytest.mark.parametrize("root_mode", [0o755, 0o777])
def test_temporary_root_is_0700_whatever_the_root_entry_says(tmp_path, root_mode):
    tar = build_tar(tmp_path / "t.tar", directory("./", mode=root_mode), regular("./etc/x"))
    with unpacked_image(tar) as (root, _, _):
        assert stat.S_IMODE(os.lstat(root).st_mode) == 0o700
        assert os.lstat(root).st_uid == os.geteuid()


def test_nothing_on_disk_keeps_setuid_setgid_sticky_or_group_world_write(hostile):
    unsafe = []
    for dirpath, dirnames, filenames in os.walk(hostile.root):
        for name in dirnames + filenames:
            info = os.lstat(os.path.join(dirpath, name))
            if not stat.S_ISLNK(info.st_mode) and stat.S_IMODE(info.st_mode) & 0o7022:
                unsafe.append((os.path.join(dirpath, name), oct(info.st_mode)))
    assert unsafe == []


def test_image_host_reports_the_images_setuid_and_setgid_modes(hostile):
    host = ImageHost(hostile.root, hostile.index)
    su, wall = host.stat("/usr/bin/su"), host.stat("/usr/bin/wall")
    assert (stat.S_IMODE(su.st_mode), su.st_uid, su.st_gid) == (0o4755, 0, 0)
    assert (stat.S_IMODE(wall.st_mode), wall.st_gid) == (0o2755, 5)


def test_image_host_reports_the_root_entrys_mode_for_slash(hostile):
    assert stat.S_IMODE(ImageHost(hostile.root, hostile.index).stat("/").st_mode) == 0o777


def test_image_host_reports_group_world_write_and_sticky_bits(hostile):
    host = ImageHost(hostile.root, hostile.index)
    assert stat.S_IMODE(host.stat("/etc").st_mode) == 0o777
    assert stat.S_IMODE(host.stat("/etc/world-writable").st_mode) == 0o666
    assert stat.S_IMODE(host.stat("/tmp").st_mode) == 0o1777


def test_hard_link_shares_the_record_of_its_target(hostile):
    assert stat.S_IMODE(ImageHost(hostile.root, hostile.index).stat("/usr/bin/newgrp").st_mode) == 0o4755


def test_stat_through_symlinks_gives_the_targets_image_mode(hostile):
    host = ImageHost(hostile.root, hostile.index)
    # /bin -> usr/bin (a directory link), then /usr/bin/sudo -> /usr/bin/su (absolute)
    assert stat.S_IMODE(host.stat("/bin/sudo").st_mode) == 0o4755
    assert stat.S_ISLNK(host.lstat("/bin/sudo").st_mode)
    assert stat.S_IMODE(host.lstat("/bin/sudo").st_mode) == 0o777


def test_directory_the_image_does_not_list_is_answered_by_disk(hostile):
    info = ImageHost(hostile.root, hostile.index).stat("/orphan/dir")
    assert (stat.S_IMODE(info.st_mode), info.st_uid) == (0o755, os.geteuid())


def test_root_tree_without_index_is_answered_by_disk(tmp_root):
    tmp_root.write("/usr/bin/su", "x", mode=0o4755)
    assert stat.S_IMODE(tmp_root.host.stat("/usr/bin/su").st_mode) == 0o4755


# -- names the filesystem cannot hold are bad input -------------------------------------------
def test_name_component_longer_than_name_max_is_bad_input(tmp_path, dest):
    name = "etc/" + "n" * 256
    tar = build_tar(tmp_path / "t.tar", regular(name, b"x"))
    with pytest.raises(InputError, match=r"longer than NAME_MAX") as caught:
        unpack(tar, str(dest))
    assert "'etc/nnnn" in str(caught.value)


def test_path_longer_than_path_max_is_bad_input(tmp_path, dest):
    name = "/".join(["d" * 200] * 25)
    tar = build_tar(tmp_path / "t.tar", regular(name, b"x"))
    with pytest.raises(InputError, match=r"longer than PATH_MAX") as caught:
        unpack(tar, str(dest))
    assert "'dddd" in str(caught.value) and f"({len(name)} bytes)" in str(caught.value)


def test_symlink_target_longer_than_path_max_is_bad_input(tmp_path, dest):
    tar = build_tar(tmp_path / "t.tar", link("etc/far", "x/" * 2100))
    with pytest.raises(InputError, match=r"'etc/far': symlink target is longer than PATH_MAX"):
        unpack(tar, str(dest))


def test_member_under_a_regular_file_is_bad_input(tmp_path, dest):
    tar = build_tar(tmp_path / "t.tar", regular("etc", b"x"), regular("etc/passwd", b"x"))
    with pytest.raises(InputError, match=r"'etc/passwd': its parent 'etc' is not a directory"):
        unpack(tar, str(dest))


def test_hard_link_to_a_file_a_later_member_removed_is_bad_input(tmp_path, dest):
    tar = build_tar(tmp_path / "t.tar", regular("d/f", b"x"), regular("d", b"now a file"),
                    link("g", "d/f", kind=tarfile.LNKTYPE))
    with pytest.raises(InputError, match="'g'"):
        unpack(tar, str(dest))


# -- checks judge the image, not the defanged copy ------------------------------------------
def _verdicts_from_tree_and_tarball(tmp_path, root, control_id):
    """The check's (status, message, evidence) on the --root tree and on its tarball, made
    as `tar -C rootfs -cf img.tar .` makes it (a './' member first)."""
    tar = tmp_path / "img.tar"
    with tarfile.open(tar, "w") as archive:
        archive.add(str(root.path), arcname=".")
    from_tree = run_check(control_id, root=root)
    with unpacked_image(str(tar)) as image:
        from_tar = run_check(control_id, root=SimpleNamespace(host=ImageHost(image.root, image.index)))
    return [(r.status, r.message, [str(e) for e in r.evidence]) for r in (from_tree, from_tar)]


def test_rc_script_open_to_others_fails_alike_from_tree_and_tarball(tmp_path, tmp_root):
    tmp_root.write("/etc/init.d/qmail", "#!/bin/sh\n", mode=0o777)
    tmp_root.write("/etc/init.d/ssh", "#!/bin/sh\n", mode=0o700)
    tree, tarball = _verdicts_from_tree_and_tarball(tmp_path, tmp_root, "fs.rc-permissions")
    assert tree == tarball
    assert tree[0] is Status.FAIL and "mode 0777, writable" in " ".join(tree[2])


def test_rc_scripts_closed_to_others_pass_alike_from_tree_and_tarball(tmp_path, tmp_root):
    tmp_root.write("/etc/init.d/qmail", "#!/bin/sh\n", mode=0o700)
    tree, tarball = _verdicts_from_tree_and_tarball(tmp_path, tmp_root, "fs.rc-permissions")
    assert tree == tarball and tree[0] is Status.PASS


@pytest.mark.parametrize("mode,uid,status", [(0o755, 0, Status.PASS), (0o1777, 0, Status.FAIL),
                                             (0o755, 4242, Status.FAIL)],
                         ids=["root-0755", "world-writable-sticky", "not-root-owned"])
def test_privsep_dir_verdict_is_alike_from_tree_and_tarball(tmp_path, tmp_root, require_root,
                                                              mode, uid, status):
    tmp_root.mkdir("/var/empty", mode=mode, uid=uid, gid=0)
    tree, tarball = _verdicts_from_tree_and_tarball(tmp_path, tmp_root, "ssh.privsep-dir")
    assert tree == tarball
    assert tree[0] is status and f"uid {uid} gid 0 mode {mode:04o}" in " ".join(tree[2])
