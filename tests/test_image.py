"""Reading root filesystem tarballs: every member indexed with the image's own metadata, only
the files probes read written (under numbers) into ``dest``, nothing escapes it."""

import io
import os
import stat
import tarfile
import tempfile
from types import SimpleNamespace

import pytest
from support import run_check

from hostaudit.errors import InputError, NotMaterialised
from hostaudit.image import open_image, read_image
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


def unpack(tar, dest, **limits):
    """The image's Host and description, read into ``dest``."""
    return read_image(str(tar), str(dest), **limits)


@pytest.fixture
def normal(tmp_path, dest):
    host, described = unpack(build_tar(tmp_path / "image.tar", *NORMAL_IMAGE), dest)
    return dest, described, host


# -- a normal image ---------------------------------------------------------------------------
def test_normal_image_description_counts_members_bytes_and_kept_files(normal):
    _, described, _ = normal
    assert (described["format"], described["compression"]) == ("rootfs-tar", "none")
    assert (described["members"], described["bytes"]) == (11, 30 + 19 + 4 + 1)
    assert described["materialised"] == {"files": 2, "bytes": 30 + 19}  # /etc only
    assert described["carries"] == ["links", "modes", "owners"]
    assert described["digest"].startswith("sha256:")


def test_normal_image_keeps_the_contents_of_files_probes_read(normal):
    _, _, host = normal
    assert host.read_text("/etc/passwd") == "root:x:0:0:root:/root:/bin/sh\n"


def test_file_probes_do_not_read_is_not_materialised_not_absent(normal):
    _, _, host = normal
    assert host.exists("/srv/owned") and host.is_file("/srv/owned")
    with pytest.raises(NotMaterialised, match="/srv/owned: not materialised"):
        host.read_bytes("/srv/owned")
    assert host.not_materialised == ["/srv/owned"]


def test_only_numbered_read_only_files_land_on_disk(normal):
    dest, _, _ = normal
    entries = sorted(os.listdir(dest))
    assert entries == ["1", "2"]
    assert all(stat.S_IMODE(os.lstat(dest / e).st_mode) == 0o400 for e in entries)


def test_image_host_reports_the_images_setuid_sticky_and_private_modes(normal):
    _, _, host = normal
    assert stat.S_IMODE(host.lstat("/usr/bin/passwd").st_mode) == 0o4755
    assert stat.S_IMODE(host.stat("/tmp").st_mode) == 0o1777
    assert stat.S_IMODE(host.stat("/etc/shadow").st_mode) == 0o600


def test_image_host_keeps_the_file_type_of_each_member(normal):
    _, _, host = normal
    assert stat.S_ISREG(host.stat("/usr/bin/passwd").st_mode)
    assert stat.S_ISDIR(host.stat("/tmp").st_mode)
    assert stat.S_ISLNK(host.lstat("/usr/bin/sh").st_mode)


def test_image_host_keeps_size_and_times_of_each_member(normal):
    _, _, host = normal
    info = host.stat("/usr/bin/passwd")
    assert (info.st_size, info.st_mtime, info.st_mtime_ns) == (4, 1_000_000_000, 1_000_000_000 * 10**9)


def test_root_entry_mode_is_the_images(normal):
    _, _, host = normal
    assert stat.S_IMODE(host.stat("/").st_mode) == 0o755


def test_symlinks_keep_their_targets_as_written(normal):
    _, _, host = normal
    assert host.readlink("/etc/localtime") == "/usr/share/zoneinfo/UTC"
    assert host.readlink("/usr/bin/sh") == "dash"


def test_hard_link_shares_the_inode_of_its_target(normal):
    _, _, host = normal
    assert host.stat("/usr/bin/chfn").st_ino == host.stat("/usr/bin/passwd").st_ino
    assert host.stat("/usr/bin/passwd").st_nlink == 2


def test_missing_parent_directories_are_indexed(normal):
    _, _, host = normal
    assert host.is_dir("/srv") and host.listdir("/srv") == ["owned"]


def test_ownership_is_numeric_not_mapped_through_names(normal):
    _, _, host = normal
    info = host.stat("/srv/owned")
    assert (info.st_uid, info.st_gid) == (4242, 4343)


# -- unsafe members refuse the whole image ----------------------------------------------------
@pytest.mark.parametrize("name", ["../evil", "a/../../evil", "ABSOLUTE"])
def test_member_escaping_dest_is_refused_and_not_written(tmp_path, dest, name):
    would_be = tmp_path / "evil"
    name = str(would_be) if name == "ABSOLUTE" else name
    tar = build_tar(tmp_path / "evil.tar", regular("ok", b"ok"), regular(name, b"pwned"))
    with pytest.raises(InputError, match="unsafe member") as caught:
        unpack(tar, dest)
    assert name in str(caught.value) and caught.value.where == tar
    assert not would_be.exists()


def test_member_under_a_symlinked_parent_is_refused(tmp_path, dest):
    outside = tmp_path / "outside"
    outside.mkdir()
    tar = build_tar(tmp_path / "evil.tar", link("etc", str(outside)), regular("etc/passwd", b"x"))
    with pytest.raises(InputError, match="parent 'etc' is a symlink"):
        unpack(tar, dest)
    assert not (outside / "passwd").exists()


def test_later_member_replaces_a_symlink_at_its_path(tmp_path, dest):
    victim = tmp_path / "victim"
    victim.write_text("original")
    tar = build_tar(tmp_path / "t.tar", link("etc/x", str(victim)), regular("etc/x", b"replaced"))
    host, _ = unpack(tar, dest)
    assert victim.read_text() == "original"
    assert host.read_bytes("/etc/x") == b"replaced" and host.link_target("/etc/x") is None


def test_symlink_out_of_the_root_resolves_inside_it(tmp_path, dest):
    tar = build_tar(tmp_path / "t.tar", regular("etc/hostname", b"inside\n"),
                    link("etc/up", "../../../../etc/hostname"))
    host, _ = unpack(tar, dest)
    assert host.read_text("/etc/up") == "inside\n"


def test_hard_link_to_a_file_outside_the_archive_is_refused(tmp_path, dest):
    victim = tmp_path / "victim"
    victim.write_text("secret")
    tar = build_tar(tmp_path / "t.tar", link("x", str(victim), kind=tarfile.LNKTYPE))
    with pytest.raises(InputError, match="unsafe member 'x'"):
        unpack(tar, dest)


def test_hard_link_to_a_name_not_in_the_image_yet_is_refused(tmp_path, dest):
    tar = build_tar(tmp_path / "t.tar", link("x", "etc/later", kind=tarfile.LNKTYPE),
                    regular("etc/later", b"x"))
    with pytest.raises(InputError, match="not a regular file in the image"):
        unpack(tar, dest)


def test_hard_link_to_a_file_a_later_member_removed_is_bad_input(tmp_path, dest):
    tar = build_tar(tmp_path / "t.tar", regular("d/f", b"x"), regular("d", b"now a file"),
                    link("g", "d/f", kind=tarfile.LNKTYPE))
    with pytest.raises(InputError, match="'g'"):
        unpack(tar, dest)


# -- special files ----------------------------------------------------------------------------
def test_device_is_indexed_as_a_device_and_never_created(tmp_path, dest):
    tar = build_tar(tmp_path / "t.tar", special("etc/null", tarfile.CHRTYPE), regular("etc/x"))
    host, described = unpack(tar, dest)
    assert described["special_files"] == 1
    assert host.file_type("/etc/null") == "character device"
    assert sorted(os.listdir(dest)) == ["1"]  # etc/x only


def test_fifo_where_a_config_file_should_be_is_never_opened(tmp_path, dest):
    tar = build_tar(tmp_path / "t.tar", special("etc/fstab", tarfile.FIFOTYPE))
    host, _ = unpack(tar, dest)
    with pytest.raises(OSError, match="is a FIFO, not a regular file"):
        host.read_text("/etc/fstab")


# -- compression and bad input ----------------------------------------------------------------
@pytest.mark.parametrize("compression", ["gz", "xz", "bz2", "zst"])
def test_compressed_tarballs_are_read_whatever_their_name(tmp_path, dest, compression):
    plain = build_tar(tmp_path / "plain.tar", regular("etc/issue", b"Debian\n"))
    data = open(plain, "rb").read()
    if compression == "zst":
        import zstandard
        packed = zstandard.ZstdCompressor().compress(data)
    else:
        import bz2
        import gzip
        import lzma
        packed = {"gz": gzip.compress, "xz": lzma.compress, "bz2": bz2.compress}[compression](data)
    image = tmp_path / "image.bin"  # the name says nothing: the content decides
    image.write_bytes(packed)
    host, described = unpack(image, dest)
    assert described["compression"] == {"gz": "gzip", "xz": "xz", "bz2": "bzip2", "zst": "zstd"}[compression]
    assert host.read_text("/etc/issue") == "Debian\n"


def test_text_file_named_tar_is_not_an_image(tmp_path, dest):
    fake = tmp_path / "image.tar"
    fake.write_text("this is not a tarball\n" * 100)
    with pytest.raises(InputError, match="not an image: data starting b'this is not a ta'") as caught:
        unpack(fake, dest)
    assert caught.value.where == str(fake)


def test_truncated_compressed_tarball_is_not_readable(tmp_path, dest):
    tar = build_tar(tmp_path / "image.tar.gz", regular("big", os.urandom(200_000)), mode="w:gz")
    data = open(tar, "rb").read()
    open(tar, "wb").write(data[: len(data) // 2])
    with pytest.raises(InputError, match="not a readable tar archive"):
        unpack(tar, dest)


def test_missing_tarball_is_input_error(tmp_path, dest):
    with pytest.raises(InputError, match="No such file"):
        unpack(tmp_path / "nope.tar", dest)


def test_unpacked_size_over_max_bytes_is_refused(tmp_path, dest):
    tar = build_tar(tmp_path / "t.tar", regular("a", b"x" * 600), regular("b", b"x" * 600))
    with pytest.raises(InputError, match="exceeds 1000 bytes .* 'b'"):
        unpack(tar, dest, max_bytes=1000)


def test_member_count_over_max_members_is_refused(tmp_path, dest):
    tar = build_tar(tmp_path / "t.tar", *[regular(f"f{n}") for n in range(4)])
    with pytest.raises(InputError, match="more than 3 members"):
        unpack(tar, dest, max_members=3)


# -- the temporary directory ------------------------------------------------------------------
def test_open_image_yields_a_0700_directory_and_removes_it_afterwards(tmp_path):
    tar = build_tar(tmp_path / "t.tar", directory("./", mode=0o777), regular("etc/issue", b"Debian\n"))
    with open_image(tar) as (host, _):
        root = host.root
        assert os.path.basename(root).startswith("hostaudit-image-")
        assert stat.S_IMODE(os.lstat(root).st_mode) == 0o700
        assert host.read_text("/etc/issue") == "Debian\n"
        assert stat.S_IMODE(host.stat("/").st_mode) == 0o777
    assert not os.path.exists(root)


def test_open_image_removes_its_directory_when_reading_fails(tmp_path, monkeypatch):
    created = []

    def recording_mkdtemp(**kwargs):
        created.append(real_mkdtemp(**kwargs))
        return created[-1]

    real_mkdtemp = tempfile.mkdtemp
    monkeypatch.setattr(tempfile, "mkdtemp", recording_mkdtemp)
    tar = build_tar(tmp_path / "t.tar", regular("etc/ok", b"ok"), regular("../evil", b"x"))
    with pytest.raises(InputError):
        with open_image(tar):
            pass
    assert len(created) == 1 and not os.path.exists(created[0])


# -- the image's metadata, whatever it says ---------------------------------------------------
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
]


@pytest.fixture
def hostile(tmp_path, dest):
    host, _ = unpack(build_tar(tmp_path / "hostile.tar", *HOSTILE_IMAGE), dest)
    return host


def test_image_host_reports_the_images_setuid_and_setgid_modes(hostile):
    su, wall = hostile.stat("/usr/bin/su"), hostile.stat("/usr/bin/wall")
    assert (stat.S_IMODE(su.st_mode), su.st_uid, su.st_gid) == (0o4755, 0, 0)
    assert (stat.S_IMODE(wall.st_mode), wall.st_gid) == (0o2755, 5)


def test_image_host_reports_group_world_write_and_sticky_bits(hostile):
    assert stat.S_IMODE(hostile.stat("/etc").st_mode) == 0o777
    assert stat.S_IMODE(hostile.stat("/etc/world-writable").st_mode) == 0o666
    assert stat.S_IMODE(hostile.stat("/tmp").st_mode) == 0o1777


def test_hard_link_shares_the_mode_of_its_target(hostile):
    assert stat.S_IMODE(hostile.stat("/usr/bin/newgrp").st_mode) == 0o4755


def test_stat_through_symlinks_gives_the_targets_image_mode(hostile):
    # /bin -> usr/bin (a directory link), then /usr/bin/sudo -> /usr/bin/su (absolute)
    assert stat.S_IMODE(hostile.stat("/bin/sudo").st_mode) == 0o4755
    assert stat.S_ISLNK(hostile.lstat("/bin/sudo").st_mode)
    assert stat.S_IMODE(hostile.lstat("/bin/sudo").st_mode) == 0o777


def test_root_tree_is_answered_by_disk(tmp_root):
    tmp_root.write("/usr/bin/su", "x", mode=0o4755)
    assert stat.S_IMODE(tmp_root.host.stat("/usr/bin/su").st_mode) == 0o4755


# -- names Linux cannot hold are bad input ----------------------------------------------------
def test_name_component_longer_than_name_max_is_bad_input(tmp_path, dest):
    name = "etc/" + "n" * 256
    tar = build_tar(tmp_path / "t.tar", regular(name, b"x"))
    with pytest.raises(InputError, match=r"longer than NAME_MAX") as caught:
        unpack(tar, dest)
    assert "'etc/nnnn" in str(caught.value)


def test_path_longer_than_path_max_is_bad_input(tmp_path, dest):
    name = "/".join(["d" * 200] * 25)
    tar = build_tar(tmp_path / "t.tar", regular(name, b"x"))
    with pytest.raises(InputError, match=r"longer than PATH_MAX") as caught:
        unpack(tar, dest)
    assert "'dddd" in str(caught.value) and f"({len(name)} bytes)" in str(caught.value)


def test_symlink_target_longer_than_path_max_is_bad_input(tmp_path, dest):
    tar = build_tar(tmp_path / "t.tar", link("etc/far", "x/" * 2100))
    with pytest.raises(InputError, match=r"'etc/far': symlink target is longer than PATH_MAX"):
        unpack(tar, dest)


def test_member_under_a_regular_file_is_bad_input(tmp_path, dest):
    tar = build_tar(tmp_path / "t.tar", regular("etc", b"x"), regular("etc/passwd", b"x"))
    with pytest.raises(InputError, match=r"'etc/passwd': its parent 'etc' is not a directory"):
        unpack(tar, dest)


# -- checks judge the image's metadata --------------------------------------------------------
def _verdicts_from_tree_and_tarball(tmp_path, root, control_id):
    """The check's (status, message, evidence) on the --root tree and on its tarball, made
    as `tar -C rootfs -cf img.tar .` makes it (a './' member first)."""
    tar = tmp_path / "img.tar"
    with tarfile.open(tar, "w") as archive:
        archive.add(str(root.path), arcname=".")
    from_tree = run_check(control_id, root=root)
    with open_image(str(tar)) as (host, _):
        from_tar = run_check(control_id, root=SimpleNamespace(host=host))
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


@pytest.mark.parametrize("compression", ["gz", "xz", "bz2"])
def test_compressed_tarballs_are_read_in_process_without_the_programs(tmp_path, dest, monkeypatch,
                                                                       compression):
    import hostaudit.image
    monkeypatch.setattr(hostaudit.image, "_PROGRAMS", {k: (("no-such-program-here", "-d"),)
                                                       for k in ("gzip", "xz", "bzip2", "zstd")})
    tar = build_tar(tmp_path / "image.tar", regular("etc/issue", b"Debian\n"),
                    mode=f"w:{compression}")
    host, _ = unpack(tar, dest)
    assert host.read_text("/etc/issue") == "Debian\n"


def test_truncated_tarball_read_in_process_is_not_readable(tmp_path, dest, monkeypatch):
    import hostaudit.image
    monkeypatch.setattr(hostaudit.image, "_PROGRAMS", {"gzip": (("no-such-program-here", "-d"),)})
    tar = build_tar(tmp_path / "image.tar.gz", regular("big", os.urandom(200_000)), mode="w:gz")
    data = open(tar, "rb").read()
    open(tar, "wb").write(data[: len(data) // 2])
    with pytest.raises(InputError, match="not a readable tar archive"):
        unpack(tar, dest)


# -- what an image may make the auditor hold ----------------------------------------------------
def test_pax_header_larger_than_the_bound_is_not_readable(tmp_path, dest):
    info, data = regular("etc/issue", b"x")
    info.pax_headers = {"comment": "x" * (1024 * 1024 + 1)}
    tar = tmp_path / "t.tar"
    with tarfile.open(tar, "w", format=tarfile.PAX_FORMAT) as archive:
        archive.addfile(info, io.BytesIO(data))
    with pytest.raises(InputError, match=r"extended header of \d+ bytes \(over 1048576\)"):
        unpack(tar, dest)


def test_file_probes_read_that_is_too_large_to_keep_is_too_large_not_absent(tmp_path, dest, monkeypatch):
    import hostaudit.image
    monkeypatch.setattr(hostaudit.image, "MAX_KEPT_FILE", 10)
    host, described = unpack(build_tar(tmp_path / "t.tar", regular("etc/big", b"x" * 11)), dest)
    assert host.is_file("/etc/big") and described["materialised"]["files"] == 0
    with pytest.raises(OSError, match=r"/etc/big: too large \(11 bytes"):
        host.read_bytes("/etc/big")


def test_files_probes_read_over_the_total_bound_are_bad_input(tmp_path, dest, monkeypatch):
    import hostaudit.image
    monkeypatch.setattr(hostaudit.image, "MAX_KEPT_TOTAL", 15)
    tar = build_tar(tmp_path / "t.tar", regular("etc/a", b"x" * 10), regular("etc/b", b"x" * 10))
    with pytest.raises(InputError, match="the files probes read exceed 15 bytes at member 'etc/b'"):
        unpack(tar, dest)
