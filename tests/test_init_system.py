"""init_system: which init runs (live: PID 1) or would boot (image: /sbin/init inside the image)."""

from schedulers import boots_systemd, boots_sysvinit
from support import collect_fact


def test_image_init_is_systemd_through_usrmerge_links_resolved_inside_the_image(tmp_root):
    tmp_root.write("/usr/lib/systemd/systemd", "\x7fELF", mode=0o755)
    tmp_root.symlink("/lib", "usr/lib")
    tmp_root.symlink("/sbin", "usr/sbin")
    tmp_root.symlink("/usr/sbin/init", "/lib/systemd/systemd")
    fact = collect_fact("init_system", tmp_root)
    assert (fact["kind"], fact["text"]) == ("systemd", "/sbin/init -> /usr/lib/systemd/systemd")
    assert fact["boot_links"] == "systemd *.wants links"


def test_image_init_link_to_the_auditors_own_systemd_is_dangling_not_systemd(tmp_root):
    # /lib/systemd/systemd exists on the auditing machine, not in the image.
    tmp_root.symlink("/sbin/init", "/lib/systemd/systemd")
    fact = collect_fact("init_system", tmp_root)
    assert fact["kind"] == "none"
    assert fact["boot_links"] is None


def test_image_sysvinit_binary_reads_rc_links(tmp_root):
    boots_sysvinit(tmp_root)
    fact = collect_fact("init_system", tmp_root)
    assert (fact["kind"], fact["boot_links"]) == ("sysvinit", "rc?.d links")


def test_image_without_init_names_an_installed_systemd_nothing_boots(tmp_root):
    boots_systemd(tmp_root)
    (tmp_root.path / "sbin/init").unlink()
    fact = collect_fact("init_system", tmp_root)
    assert fact["kind"] == "none"
    assert fact["text"] == "absent (systemd is installed at /lib/systemd/systemd, but nothing boots it)"


def test_image_busybox_init_reads_no_boot_links(tmp_root):
    tmp_root.write("/bin/busybox", "\x7fELF", mode=0o755)
    tmp_root.symlink("/sbin/init", "/bin/busybox")
    fact = collect_fact("init_system", tmp_root)
    assert (fact["kind"], fact["boot_links"]) == ("busybox", None)


def test_live_init_is_read_from_pid_1():
    from hostaudit.facts import collect
    from hostaudit.host import LiveHost
    from hostaudit.registry import load_all

    load_all()
    fact = collect(LiveHost(), ["init_system"], mode="live")["init_system"]
    with open("/proc/1/comm") as handle:
        comm = handle.read().strip()
    assert comm in fact["text"]
    assert fact["source"] in ("/proc/1/exe", "/proc/1/comm")
