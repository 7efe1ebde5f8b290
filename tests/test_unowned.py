"""fs.unowned-files and the one filesystem walk behind it (Host.walk, the file_walk fact)."""

import json
import os
import shutil
import subprocess
import tempfile
import time

import pytest
from support import collect_fact, evidence_lines, run_check

from hostaudit import host as host_module
from hostaudit.facts import collect
from hostaudit.host import LiveHost, WalkNotes
from hostaudit.model import Status
from hostaudit.probes import filewalk
from hostaudit.probes.filewalk import display_path, plan_walk

PASSWD = "root:x:0:0:root:/root:/bin/bash\nqmaild:x:1001:1001::/var/qmail:/bin/false\n"
GROUP = "root:x:0:\nnofiles:x:1001:\n"
NSSWITCH_FILES = "passwd: files\ngroup: files\n"


@pytest.fixture
def image(tmp_root):
    """A small image whose files are all owned by root:root, the auditor's own default."""
    tmp_root.write("/etc/passwd", PASSWD)
    tmp_root.write("/etc/group", GROUP)
    tmp_root.write("/etc/nsswitch.conf", NSSWITCH_FILES)
    tmp_root.write("/usr/bin/true", "")
    return tmp_root


def _walk(host, top="/", **kwargs):
    return {path: st for path, st in host.walk(top, **kwargs)}


# -- Host.walk ---------------------------------------------------------------------------------

def test_walk_yields_target_paths_of_every_entry_once(image):
    seen = list(image.host.walk("/"))
    paths = [p for p, _ in seen]
    assert sorted(paths) == sorted(set(paths))
    assert {"/", "/etc", "/etc/passwd", "/usr/bin/true"} <= set(paths)
    assert not any(p.startswith(str(image.path)) for p in paths)


def test_walk_never_follows_symlinks_out_of_the_image(image, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret").write_text("")
    image.symlink("/srv/escape", str(outside))
    image.symlink("/srv/rootlink", "/")
    paths = _walk(image.host)
    assert "/srv/escape" in paths and "/srv/escape/secret" not in paths
    assert not any(p.startswith("/srv/rootlink/") for p in paths)


def test_walk_ends_on_a_symlink_loop(image):
    image.symlink("/loop/a", "b")
    image.symlink("/loop/b", "a")
    image.symlink("/loop/up", "..")
    paths = _walk(image.host, "/loop")
    assert sorted(paths) == ["/loop", "/loop/a", "/loop/b", "/loop/up"]


def test_walk_of_an_image_archive_reports_its_owners_and_setuid_bits_from_the_index(tmp_path):
    """On disk an archive's files are defanged; the walk must see the image's own metadata."""
    from test_image import directory, regular
    from test_image_formats import tar_bytes

    from hostaudit.image import open_image

    image = tmp_path / "img.tar"
    image.write_bytes(tar_bytes(
        directory("etc"), regular("etc/passwd", PASSWD.encode()), regular("etc/group", b"root:x:0:\n"),
        directory("usr"), directory("usr/bin"), regular("usr/bin/su", b"\x7fELF", mode=0o4755),
        regular("usr/bin/orphan", b"", uid=4242, gid=0)))
    with open_image(str(image)) as (host, _):
        paths = _walk(host)
    assert paths["/usr/bin/su"].st_mode & 0o4000
    assert paths["/usr/bin/orphan"].st_uid == 4242
    assert set(paths) == {"/", "/etc", "/etc/passwd", "/etc/group", "/usr", "/usr/bin", "/usr/bin/su",
                          "/usr/bin/orphan"}


def test_walk_notes_a_directory_it_cannot_list_and_goes_on(image, monkeypatch):
    image.write("/secret/inside", "")
    real_open = host_module._open_directory
    denied = str(image.path / "secret")

    def open_directory(path):
        if path == denied:
            raise PermissionError(13, "Permission denied", path)
        return real_open(path)

    monkeypatch.setattr(host_module, "_open_directory", open_directory)
    notes = WalkNotes()
    paths = _walk(image.host, notes=notes)
    assert notes.unreadable == [("/secret", "Permission denied")]
    assert "/secret" in paths and "/secret/inside" not in paths and "/usr/bin/true" in paths


def test_walk_does_not_list_a_directory_swapped_after_it_was_seen(image, tmp_path, monkeypatch):
    image.write("/srv/spool/mail", "")
    elsewhere = tmp_path / "elsewhere"
    (elsewhere / "etc").mkdir(parents=True)
    real_open = host_module._open_directory
    swapped = str(image.path / "srv" / "spool")

    def open_directory(path):  # as if /srv/spool became a link to another tree meanwhile
        return real_open(str(elsewhere) if path == swapped else path)

    monkeypatch.setattr(host_module, "_open_directory", open_directory)
    notes = WalkNotes()
    paths = _walk(image.host, notes=notes)
    assert notes.unreadable == [("/srv/spool", "replaced while the walk ran")]
    assert "/srv/spool/etc" not in paths and "/srv/spool/mail" not in paths


def test_walk_leaves_out_pruned_mount_points(tmp_path):
    (tmp_path / "data" / "inner").mkdir(parents=True)
    (tmp_path / "data" / "inner" / "file").write_text("")
    (tmp_path / "data" / "kept").write_text("")
    top = str(tmp_path / "data")
    paths = _walk(LiveHost(), top, prune=frozenset({top + "/inner"}))
    assert sorted(paths) == [top, top + "/kept"]


def test_walk_does_not_enter_another_filesystem(image, require_root):
    mnt = image.mkdir("/mnt/other")
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "hostaudit-test", str(mnt)],
                   check=True, timeout=10)
    try:
        (mnt / "hidden").write_text("")
        notes = WalkNotes()
        paths = _walk(image.host, notes=notes)
    finally:
        subprocess.run(["umount", str(mnt)], check=True, timeout=10)
    assert "/mnt/other" in paths and "/mnt/other/hidden" not in paths
    assert notes.other_device == ["/mnt/other"]


def test_a_filesystem_mounted_inside_an_image_leaves_the_verdict_undecided(image, require_root):
    mnt = image.mkdir("/home")
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "hostaudit-test", str(mnt)],
                   check=True, timeout=10)
    try:
        result = run_check("fs.unowned-files", root=image)
    finally:
        subprocess.run(["umount", str(mnt)], check=True, timeout=10)
    assert result.status is Status.ERROR
    assert evidence_lines(result) == ["/home: not entered: another filesystem"]


# -- which filesystems a live walk covers --------------------------------------------------------

def _mount(line, point, fstype, device="8:1", root="/"):
    return {"mount_id": line, "parent_id": 1, "device": device, "root": root,
            "mount_point": point, "mount_options": [], "fstype": fstype, "source": "x",
            "super_options": [], "line": line}


def test_plan_walks_each_local_filesystem_once_and_skips_kernel_memory_and_network():
    mounts = [_mount(1, "/", "overlay", "0:50"), _mount(2, "/proc", "proc", "0:5"),
              _mount(3, "/tmp", "tmpfs", "0:30"), _mount(4, "/home", "ext4", "8:2"),
              _mount(5, "/srv/home-again", "ext4", "8:2"),
              _mount(6, "/mnt/nfs", "nfs4", "0:60"), _mount(7, "/mnt/ssh", "fuse.sshfs", "0:61"),
              _mount(8, "/dev/shm", "tmpfs", "0:31"), _mount(9, "/boot", "ext4", "8:1")]
    walk, skipped = plan_walk(mounts)
    assert [m["mount_point"] for m in walk] == ["/", "/home", "/boot"]
    assert {s["mount_point"]: s["reason"] for s in skipped}["/srv/home-again"].startswith("bind")
    assert {s["mount_point"] for s in skipped} == {"/proc", "/tmp", "/srv/home-again",
                                                  "/mnt/nfs", "/mnt/ssh", "/dev/shm"}


def test_plan_walks_only_the_filesystem_visible_at_an_overmounted_point():
    mounts = [_mount(1, "/", "ext4", "8:1"), _mount(2, "/srv", "ext4", "8:2"),
              _mount(3, "/srv", "xfs", "8:3")]
    walk, skipped = plan_walk(mounts)
    assert [(m["mount_point"], m["fstype"]) for m in walk] == [("/", "ext4"), ("/srv", "xfs")]
    assert skipped == [{"mount_point": "/srv", "fstype": "ext4", "reason": "overmounted, hidden",
                        "duplicate": True}]


def test_plan_walks_a_volume_bind_mounted_into_a_container():
    mounts = [_mount(1, "/", "overlay", "0:50"),
              _mount(2, "/data", "ext4", "8:1", root="/var/lib/docker/volumes/d/_data"),
              _mount(3, "/etc/hosts", "ext4", "8:1", root="/var/lib/docker/containers/c/hosts")]
    walk, _ = plan_walk(mounts)
    assert [m["mount_point"] for m in walk] == ["/", "/data", "/etc/hosts"]


# -- fs.unowned-files on an image ---------------------------------------------------------------

def test_all_files_owned_passes_naming_what_was_walked(image):
    result = run_check("fs.unowned-files", root=image)
    assert result.status is Status.PASS
    assert "walked / (image)" in result.message
    assert evidence_lines(result)[0] == "/: walked (image)"


def test_file_of_unknown_uid_fails_with_path_and_ids(image, require_root):
    image.write("/srv/pkg/README", "", uid=4242)
    result = run_check("fs.unowned-files", root=image)
    assert result.status is Status.FAIL
    assert result.message.startswith("1 file without a valid owner or group")
    assert evidence_lines(result) == ["/srv/pkg/README: uid 4242 gid 0: no such user"]


def test_file_of_unknown_group_only_fails(image, require_root):
    image.write("/srv/data", "", uid=1001, gid=4243)
    result = run_check("fs.unowned-files", root=image)
    assert result.status is Status.FAIL
    assert evidence_lines(result) == ["/srv/data: uid 1001 gid 4243: no such group"]


def test_many_unowned_files_list_fifty_and_count_all(image, require_root):
    for n in range(60):
        image.write(f"/srv/untarred/f{n:02}", "", uid=4242, gid=4242)
    result = run_check("fs.unowned-files", root=image)
    assert result.status is Status.FAIL
    assert result.message.startswith("60 files without")
    lines = evidence_lines(result)
    assert len(lines) == 51 and lines[-1] == "...: 10 more not listed"
    assert lines[0] == "/srv/untarred/f00: uid 4242 gid 4242: no such user and group"


def test_hostile_names_are_listed_printably(image, require_root):
    raw = os.path.join(os.fsencode(image.path), b"srv", b"bad\xff\n\x1b[2Jname")
    os.makedirs(os.path.dirname(raw), exist_ok=True)
    with open(raw, "wb"):
        pass
    os.chown(raw, 4242, 0)
    result = run_check("fs.unowned-files", root=image)
    assert result.status is Status.FAIL
    assert evidence_lines(result) == ["/srv/bad\\xff\\x0a\\x1b[2Jname: uid 4242 gid 0: no such user"]
    fact = collect_fact("file_walk", image)
    json.dumps(fact, ensure_ascii=False).encode("utf-8")  # a report can carry it


def test_display_path_keeps_distinct_names_distinct():
    assert display_path("/a\\x41") != display_path("/aA")
    assert display_path("/bidi\u202etxt") == "/bidi\\u202etxt"
    assert display_path("/ok name") == "/ok name"


def test_missing_passwd_is_an_error(image):
    os.unlink(image.path / "etc" / "passwd")
    result = run_check("fs.unowned-files", root=image)
    assert result.status is Status.ERROR
    assert "/etc/passwd" in result.message


def test_walk_past_its_entry_limit_is_an_error(image, monkeypatch):
    monkeypatch.setattr(filewalk, "MAX_ENTRIES", 2)
    monkeypatch.setattr(filewalk, "_CLOCK_EVERY", 1)
    result = run_check("fs.unowned-files", root=image)
    assert result.status is Status.ERROR
    assert "walk stopped after 3 entries/" in result.message


def test_walk_past_its_time_budget_is_an_error(image, monkeypatch):
    monkeypatch.setattr(filewalk, "TIME_BUDGET_S", -1.0)  # spent before it starts
    monkeypatch.setattr(filewalk, "_CLOCK_EVERY", 1)
    result = run_check("fs.unowned-files", root=image)
    assert result.status is Status.ERROR
    assert "walk stopped after 1 entries/0 s" in result.message


# -- the facts recorded along the way -----------------------------------------------------------

def test_setuid_and_setgid_files_are_recorded(image):
    image.write("/usr/bin/su", "", mode=0o4755)
    image.write("/usr/bin/wall", "", mode=0o2755)
    image.mkdir("/var/mail", mode=0o2775)  # a setgid directory only passes its group on
    setid = collect_fact("file_walk", image)["setid"]
    assert setid["count"] == 2
    assert [(f["path"], f["mode"], f["setuid"], f["setgid"]) for f in setid["files"]] == [
        ("/usr/bin/su", "4755", True, False), ("/usr/bin/wall", "2755", False, True)]


def test_world_writable_files_are_recorded_but_not_sticky_directories(image):
    image.write("/etc/qmail-hosts", "", mode=0o666)
    image.mkdir("/var/spool/drop", mode=0o777)
    image.mkdir("/var/tmp", mode=0o1777)
    image.symlink("/etc/link", "qmail-hosts")
    writable = collect_fact("file_walk", image)["world_writable"]
    assert [(f["path"], f["type"]) for f in writable["files"]] == [
        ("/etc/qmail-hosts", "file"), ("/var/spool/drop", "directory")]


# -- verdicts from facts ------------------------------------------------------------------------

def _walk_fact(**overrides):
    fact = {"mode": "live", "filesystems": [{"mount_point": "/", "fstype": "ext4",
                                             "source": "/dev/sda1", "entries": 10}],
            "skipped": [{"mount_point": "/tmp", "fstype": "tmpfs", "reason": "memory",
                         "duplicate": False},
                        {"mount_point": "/srv", "fstype": "xfs", "reason": "overmounted, hidden",
                         "duplicate": True}],
            "entries": 10, "owners_unknown": None,
            "unowned": {"count": 0, "files": []}, "unknown_ids": [], "unknown_ids_total": 0,
            "setid": {"count": 0, "files": []}, "world_writable": {"count": 0, "files": []},
            "unreadable": {"count": 0, "paths": []}, "other_device": {"count": 0, "paths": []}}
    fact.update(overrides)
    return fact


def _nsswitch(text):
    from hostaudit.parsers.nsswitch import parse_nsswitch
    return {"path": "/etc/nsswitch.conf", "present": True, "entries": parse_nsswitch(text)}


DYNAMIC = {"unowned": {"count": 1, "files": [{"path": "/var/lib/private/x", "uid": 61200,
                                              "gid": 61200, "no_user": True, "no_group": True}]},
           "unknown_ids": [{"kind": "uid", "id": 61200, "files": 1},
                           {"kind": "gid", "id": 61200, "files": 1}],
           "unknown_ids_total": 2}


def test_unreadable_directory_without_findings_is_an_error():
    fact = _walk_fact(unreadable={"count": 1, "paths": [{"path": "/home/x", "reason": "Permission denied"}]})
    result = run_check("fs.unowned-files", facts={"file_walk": fact,
                                                  "nsswitch": _nsswitch(NSSWITCH_FILES)})
    assert result.status is Status.ERROR
    assert evidence_lines(result) == ["/home/x: not read: Permission denied"]


def test_pass_names_the_filesystems_left_out():
    result = run_check("fs.unowned-files", facts={"file_walk": _walk_fact(),
                                                  "nsswitch": _nsswitch(NSSWITCH_FILES)})
    assert result.status is Status.PASS
    assert result.message.endswith("walked / (ext4); not walked: tmpfs")


def test_a_walk_meeting_more_files_gives_the_same_words():
    # A live host gains log lines and temporary files every night; a drift run must not
    # report that as a changed reason.
    def verdict(entries):
        walk = _walk_fact(entries=entries, filesystems=[{"mount_point": "/", "fstype": "ext4",
                                                         "source": "/dev/sda1", "entries": entries}])
        result = run_check("fs.unowned-files", facts={"file_walk": walk, "nsswitch": _nsswitch(NSSWITCH_FILES)})
        return result.status, result.message, evidence_lines(result)

    assert verdict(10) == verdict(514072)


def test_dynamic_user_ids_with_nss_systemd_are_undecided():
    result = run_check("fs.unowned-files", facts={
        "file_walk": _walk_fact(**DYNAMIC),
        "nsswitch": _nsswitch("passwd: files systemd\ngroup: files systemd\n")})
    assert result.status is Status.ERROR
    assert "also consults systemd" in result.message


def test_dynamic_user_ids_without_nss_systemd_fail():
    result = run_check("fs.unowned-files", facts={"file_walk": _walk_fact(**DYNAMIC),
                                                  "nsswitch": _nsswitch(NSSWITCH_FILES)})
    assert result.status is Status.FAIL
    assert evidence_lines(result) == ["/var/lib/private/x: uid 61200 gid 61200: no such user and group"]


def test_ids_outside_systemd_ranges_fail_even_with_nss_systemd():
    fact = _walk_fact(**DYNAMIC)
    fact["unknown_ids"] = fact["unknown_ids"] + [{"kind": "uid", "id": 4242, "files": 1}]
    fact["unknown_ids_total"] = 3
    result = run_check("fs.unowned-files", facts={
        "file_walk": fact, "nsswitch": _nsswitch("passwd: files systemd\ngroup: files systemd\n")})
    assert result.status is Status.FAIL
    assert "it may define uid 61200, gid 61200, not the others" in result.message


def test_a_directory_service_leaves_unknown_ids_undecided():
    fact = _walk_fact(**DYNAMIC)
    fact["unknown_ids"], fact["unknown_ids_total"] = [{"kind": "uid", "id": 4242, "files": 1}], 1
    result = run_check("fs.unowned-files", facts={
        "file_walk": fact, "nsswitch": _nsswitch("passwd: files sss\ngroup: files sss\n")})
    assert result.status is Status.ERROR
    assert "also consults sss" in result.message


# -- live ---------------------------------------------------------------------------------------

def test_live_walk_covers_the_root_filesystem_not_a_tmpfs_and_decides_in_bounded_time(
        monkeypatch, require_root):
    monkeypatch.setattr(filewalk, "TIME_BUDGET_S", 120.0)
    base = tempfile.mkdtemp(prefix="hostaudit-walk-", dir="/var/tmp")
    memory = os.path.join(base, "memory")
    try:
        os.chown(_touch(os.path.join(base, "on-disk")), 3999101, 0)
        os.mkdir(memory)
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "hostaudit-test", memory],
                       check=True, timeout=10)
        try:
            os.chown(_touch(os.path.join(memory, "in-memory")), 3999102, 0)
            started = time.monotonic()
            facts = collect(LiveHost(), ["file_walk", "nsswitch"], mode="live")
            seconds = time.monotonic() - started
        finally:
            subprocess.run(["umount", memory], check=True, timeout=10)
    finally:
        shutil.rmtree(base)
    assert seconds < 150
    if facts.error_of("file_walk"):
        assert "walk stopped after" in facts.error_of("file_walk")
        return
    walk = facts["file_walk"]
    assert walk["filesystems"][0]["mount_point"] == "/"
    assert {"mount_point": memory, "fstype": "tmpfs", "reason": "memory, emptied at boot",
            "duplicate": False} in walk["skipped"]
    unknown = {(i["kind"], i["id"]) for i in walk["unknown_ids"]}
    assert ("uid", 3999101) in unknown and ("uid", 3999102) not in unknown
    result = run_check("fs.unowned-files", facts=dict(facts.values), mode="live")
    assert result.status in (Status.FAIL, Status.ERROR)
    assert "walked / (" in result.message


def _touch(path):
    with open(path, "w"):
        pass
    return path


def test_a_walk_shared_by_worker_processes_finds_what_one_process_finds(tmp_root, monkeypatch):
    for top in ("usr", "var", "srv"):
        for sub in range(4):
            for n in range(30):
                tmp_root.write(f"/{top}/d{sub}/f{n}", "")
            os.chown(tmp_root.path / top / f"d{sub}" / "f7", 4242, 4243)
            os.chmod(tmp_root.path / top / f"d{sub}" / "f9", 0o4755)
            os.chmod(tmp_root.path / top / f"d{sub}" / "f11", 0o666)
    host = tmp_root.host
    assert len(filewalk._subtrees(host, "/", frozenset())) >= 2

    def walked(workers):
        monkeypatch.setattr(filewalk, "_workers", lambda _host: workers)
        return filewalk.walk_filesystems(host, ["/"], frozenset(), {0}, {0})

    serial, shared = walked(1), walked(2)
    assert shared == serial
    assert serial["unowned"]["count"] == 12 and serial["setid"]["count"] == 12
