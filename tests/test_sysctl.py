import pytest
from schedulers import boots_systemd, boots_sysvinit
from support import RootBuilder, collect_fact, evidence_lines, run_check

from hostaudit.facts import collect
from hostaudit.host import LiveHost
from hostaudit.model import Status
from hostaudit.registry import load_all

DOC_SYSCTL = """\
# protect against some DoS attacks
net.ipv4.icmp_echo_ignore_all = 1
net.ipv4.icmp_echo_ignore_broadcasts = 1
net.ipv4.tcp_syncookies = 1
net.ipv4.conf.all.accept_source_route = 0
net.ipv4.conf.all.accept_redirects = 0
net.ipv4.ip_always_defrag = 1
net.ipv4.conf.all.rp_filter = 1
net.ipv4.conf.all.log_martians = 1
"""
SYNCOOKIES = "sysctl.net.ipv4.tcp_syncookies"
DEFRAG = "sysctl.net.ipv4.ip_always_defrag"
SYSTEMD_PID1 = {"kind": "systemd", "program": "/usr/lib/systemd/systemd", "source": "/proc/1/exe",
                "text": "PID 1 is /usr/lib/systemd/systemd (systemd)", "boot_links": "systemd *.wants links"}
CONTAINER_PID1 = {"kind": "other", "program": None, "source": "/proc/1/comm",
                  "text": "PID 1 is 'tini' (/proc/1/exe unreadable)", "boot_links": None}


@pytest.fixture(autouse=True)
def _boots_systemd(tmp_root):
    """Fixture roots boot systemd, which applies sysctl.d (systemd-sysctl.service)."""
    boots_systemd(tmp_root)



def test_document_sysctl_conf_passes_through_debians_sysctl_d_link(tmp_root):
    tmp_root.write("/etc/sysctl.conf", DOC_SYSCTL)
    tmp_root.symlink("/etc/sysctl.d/99-sysctl.conf", "../sysctl.conf")
    result = run_check(SYNCOOKIES, root=tmp_root, params={"expected": "1"})
    assert result.status is Status.PASS
    assert evidence_lines(result) == ["/etc/sysctl.d/99-sysctl.conf:4: net.ipv4.tcp_syncookies = 1"]


def test_document_sysctl_conf_passes_under_sysvinit(tmp_root):
    _boots_sysvinit_instead(tmp_root)
    tmp_root.write("/etc/sysctl.conf", DOC_SYSCTL)
    result = run_check(SYNCOOKIES, root=tmp_root, params={"expected": "1"})
    assert result.status is Status.PASS
    assert evidence_lines(result) == ["/etc/sysctl.conf:4: net.ipv4.tcp_syncookies = 1"]


def test_etc_sysctl_conf_without_a_sysctl_d_link_is_not_read_under_systemd(tmp_root):
    # systemd 207 NEWS: systemd-sysctl no longer reads /etc/sysctl.conf; link it from /etc/sysctl.d.
    tmp_root.write("/etc/sysctl.conf", DOC_SYSCTL)
    result = run_check(SYNCOOKIES, root=tmp_root, params={"expected": "1"})
    assert result.status is Status.FAIL
    assert "not set persistently" in result.message
    assert evidence_lines(result)[-1] == ("/etc/sysctl.conf: not read at boot: systemd-sysctl does not read it "
                                          "(since systemd 207), and no /etc/sysctl.d/*.conf links to it "
                                          "(Debian's 99-sysctl.conf)")


def test_etc_sysctl_conf_linked_from_sysctl_d_yields_to_later_names_under_systemd(tmp_root):
    tmp_root.write("/etc/sysctl.conf", "net.ipv4.tcp_syncookies = 1\n")
    tmp_root.symlink("/etc/sysctl.d/99-sysctl.conf", "../sysctl.conf")
    tmp_root.write("/usr/lib/sysctl.d/99-zz-vendor.conf", "net.ipv4.tcp_syncookies = 0\n")
    result = run_check(SYNCOOKIES, root=tmp_root, params={"expected": "1"})
    assert result.status is Status.FAIL
    assert evidence_lines(result) == ["/usr/lib/sysctl.d/99-zz-vendor.conf:1: net.ipv4.tcp_syncookies = 0"]


def _boots_sysvinit_instead(root):
    (root.path / "sbin" / "init").unlink()
    boots_sysvinit(root)


def test_setting_missing_everywhere_fails_naming_where_it_looked(tmp_root):
    tmp_root.write("/etc/sysctl.d/10-other.conf", "kernel.pid_max = 4194304\n")
    result = run_check(SYNCOOKIES, root=tmp_root, params={"expected": "1"})
    assert result.status is Status.FAIL
    assert "not set persistently" in result.message and "/usr/lib/sysctl.d/*.conf" in result.message
    assert evidence_lines(result) == ["/etc/sysctl.d/10-other.conf: no setting"]


def test_wrong_persistent_value_fails(tmp_root):
    tmp_root.write("/etc/sysctl.d/90-net.conf", "net/ipv4/tcp_syncookies = 0\n")
    result = run_check(SYNCOOKIES, root=tmp_root, params={"expected": "1"})
    assert result.status is Status.FAIL
    assert evidence_lines(result) == ["/etc/sysctl.d/90-net.conf:1: net.ipv4.tcp_syncookies = 0"]


def test_etc_sysctl_conf_overrides_sysctl_d_under_sysvinit(tmp_root):
    # procps' `sysctl --system` (Debian's /etc/init.d/procps) reads /etc/sysctl.conf last.
    _boots_sysvinit_instead(tmp_root)
    tmp_root.write("/etc/sysctl.d/99-late.conf", "net.ipv4.tcp_syncookies = 0\n")
    tmp_root.write("/etc/sysctl.conf", "net.ipv4.tcp_syncookies=1\n")
    result = run_check(SYNCOOKIES, root=tmp_root, params={"expected": "1"})
    assert result.status is Status.PASS
    assert result.evidence[0].where == "/etc/sysctl.conf"


def test_later_file_name_wins_across_directories(tmp_root):
    tmp_root.write("/etc/sysctl.d/10-admin.conf", "net.ipv4.tcp_syncookies = 1\n")
    tmp_root.write("/usr/lib/sysctl.d/50-vendor.conf", "net.ipv4.tcp_syncookies = 0\n")
    result = run_check(SYNCOOKIES, root=tmp_root, params={"expected": "1"})
    assert result.status is Status.FAIL
    assert evidence_lines(result) == ["/usr/lib/sysctl.d/50-vendor.conf:1: net.ipv4.tcp_syncookies = 0"]


def test_etc_file_masks_vendor_file_of_same_name(tmp_root):
    tmp_root.write("/usr/lib/sysctl.d/50-vendor.conf", "net.ipv4.tcp_syncookies = 0\n")
    tmp_root.write("/etc/sysctl.d/50-vendor.conf", "net.ipv4.tcp_syncookies = 1\n")
    result = run_check(SYNCOOKIES, root=tmp_root, params={"expected": "1"})
    assert result.status is Status.PASS
    assert result.evidence[0].where == "/etc/sysctl.d/50-vendor.conf"


def test_dev_null_link_masks_vendor_file(tmp_root):
    tmp_root.write("/usr/lib/sysctl.d/50-vendor.conf", "net.ipv4.tcp_syncookies = 0\n")
    tmp_root.symlink("/etc/sysctl.d/50-vendor.conf", "/dev/null")
    tmp_root.write("/etc/sysctl.conf", "kernel.sysrq = 0\n")
    result = run_check(SYNCOOKIES, root=tmp_root, params={"expected": "1"})
    assert result.status is Status.FAIL
    assert "not set persistently" in result.message


def test_explicit_key_beats_a_later_systemd_glob(tmp_root):
    # sysctl.d(5): "Keys for which an explicit pattern exists will be excluded from any glob
    # matching", whatever the file order.
    tmp_root.write("/etc/sysctl.d/10-hardening.conf", "net.ipv4.conf.all.rp_filter = 1\n")
    tmp_root.write("/usr/lib/sysctl.d/50-default.conf", "-net.ipv4.conf.*.rp_filter = 2\n")
    result = run_check("sysctl.net.ipv4.conf.all.rp_filter", root=tmp_root,
                       params={"expected": "1"})
    assert result.status is Status.PASS
    assert evidence_lines(result) == ["/etc/sysctl.d/10-hardening.conf:1: net.ipv4.conf.all.rp_filter = 1"]


def test_systemd_glob_sets_a_key_no_line_names(tmp_root):
    tmp_root.write("/usr/lib/sysctl.d/50-default.conf", "net.ipv4.conf.*.rp_filter = 2\n")
    result = run_check("sysctl.net.ipv4.conf.all.rp_filter", root=tmp_root,
                       params={"expected": "1"})
    assert result.status is Status.FAIL
    assert evidence_lines(result) == ["/usr/lib/sysctl.d/50-default.conf:1: net.ipv4.conf.*.rp_filter = 2"]


def test_key_excluded_from_a_glob_is_not_set_by_it(tmp_root):
    # systemd's own 50-default.conf: the glob sets every interface but "all".
    tmp_root.write("/usr/lib/sysctl.d/50-default.conf",
                   "net.ipv4.conf.*.rp_filter = 2\n-net.ipv4.conf.all.rp_filter\n")
    result = run_check("sysctl.net.ipv4.conf.all.rp_filter", root=tmp_root,
                       params={"expected": "1"})
    assert result.status is Status.FAIL
    assert "not set persistently" in result.message


def test_later_dash_line_without_value_cancels_an_earlier_setting(tmp_root):
    # systemd-sysctl keeps one entry per key, the last: "-key" has no value, so nothing is written.
    tmp_root.write("/etc/sysctl.d/10-hardening.conf", "net.ipv4.conf.all.rp_filter = 1\n")
    tmp_root.write("/usr/lib/sysctl.d/50-default.conf",
                   "net.ipv4.conf.*.rp_filter = 2\n-net.ipv4.conf.all.rp_filter\n")
    result = run_check("sysctl.net.ipv4.conf.all.rp_filter", root=tmp_root,
                       params={"expected": "1"})
    assert result.status is Status.FAIL
    assert "not set persistently" in result.message


def test_always_defrag_not_applicable_on_image_with_modern_kernel(tmp_root):
    tmp_root.write("/etc/sysctl.conf", DOC_SYSCTL)
    tmp_root.mkdir("/lib/modules/6.1.0-18-amd64")
    result = run_check(DEFRAG, root=tmp_root, params={"expected": "1", "removed_in_kernel": "2.4"})
    assert result.status is Status.NOT_APPLICABLE
    assert "6.1.0-18-amd64" in result.message and "2.4" in result.message


def test_always_defrag_not_applicable_on_image_without_kernel(tmp_root):
    tmp_root.write("/etc/sysctl.conf", DOC_SYSCTL)
    result = run_check(DEFRAG, root=tmp_root, params={"expected": "1", "removed_in_kernel": "2.4"})
    assert result.status is Status.NOT_APPLICABLE
    assert "holds no kernel" in result.message


def test_always_defrag_is_checked_on_image_with_2_2_kernel(tmp_root):
    tmp_root.write("/etc/sysctl.conf", "net.ipv4.tcp_syncookies = 1\n")
    tmp_root.write("/boot/vmlinuz-2.2.19-6.2.1", "")
    result = run_check(DEFRAG, root=tmp_root, params={"expected": "1", "removed_in_kernel": "2.4"})
    assert result.status is Status.FAIL
    assert "not set persistently" in result.message


def _live_facts(persistent_value, runtime, init=SYSTEMD_PID1):
    settings = {}
    if persistent_value is not None:
        settings["net.ipv4.tcp_syncookies"] = {"value": persistent_value, "path": "/etc/sysctl.conf",
                                               "line": 3, "ignore_failure": False}
    return {
        "sysctl_persistent": {"looked_in": ["/etc/sysctl.conf"], "files": ["/etc/sysctl.conf"],
                              "settings": settings},
        "sysctl_runtime": {"available": True, "values": {
            "net.ipv4.tcp_syncookies": {"path": "/proc/sys/net/ipv4/tcp_syncookies", **runtime}}},
        "kernels": {"running": "6.1.0-18-amd64", "running_version": [6, 1, 0], "installed": []},
        "init_system": init,
    }


def test_live_value_in_force_differs_fails():
    result = run_check(SYNCOOKIES, facts=_live_facts("1", {"value": "0"}), mode="live",
                       params={"expected": "1"})
    assert result.status is Status.FAIL
    assert result.message == "net.ipv4.tcp_syncookies: in force: 0"
    assert "/proc/sys/net/ipv4/tcp_syncookies: in force: 0" in evidence_lines(result)


def test_live_persistent_and_in_force_pass():
    result = run_check(SYNCOOKIES, facts=_live_facts("1", {"value": "1"}), mode="live",
                       params={"expected": "1"})
    assert result.status is Status.PASS
    assert evidence_lines(result) == ["/etc/sysctl.conf:3: net.ipv4.tcp_syncookies = 1",
                                 "/proc/sys/net/ipv4/tcp_syncookies: in force: 1"]


def test_live_key_missing_from_kernel_is_not_applicable_and_flags_dead_setting():
    result = run_check(SYNCOOKIES, facts=_live_facts("1", {"missing": True}), mode="live",
                       params={"expected": "1"})
    assert result.status is Status.NOT_APPLICABLE
    assert "6.1.0-18-amd64" in result.message
    assert "ignored: the kernel has no such key" in evidence_lines(result)[1]


def test_live_runtime_probe_reads_this_kernel():
    load_all()
    keys = ["net.ipv4.tcp_syncookies", "net.ipv4.ip_always_defrag"]
    values = collect(LiveHost(), ["sysctl_runtime"], mode="live",
                     requests={"sysctl_runtime": {"keys": keys}})["sysctl_runtime"]["values"]
    with open("/proc/sys/net/ipv4/tcp_syncookies") as handle:
        assert values["net.ipv4.tcp_syncookies"]["value"] == handle.read().strip()
    assert values["net.ipv4.ip_always_defrag"]["missing"] is True


def test_live_ip_always_defrag_is_not_applicable_on_this_kernel():
    result = run_check(DEFRAG, live=True, params={"expected": "1"})
    assert result.status is Status.NOT_APPLICABLE
    assert evidence_lines(result)[0] == "/proc/sys/net/ipv4/ip_always_defrag: does not exist"


def test_missing_expected_parameter_is_an_error(tmp_root):
    tmp_root.write("/etc/sysctl.conf", DOC_SYSCTL)
    result = run_check(SYNCOOKIES, root=tmp_root, params={"expected": None})
    assert result.status is Status.ERROR
    assert "expected" in result.message


def test_persistent_fact_keeps_only_audited_keys(tmp_root):
    tmp_root.write("/etc/sysctl.d/60-net.conf", "kernel.sysrq = 0\nnet.ipv4.tcp_syncookies = 1\n")
    fact = collect_fact("sysctl_persistent", tmp_root)
    assert list(fact["settings"]) == ["net.ipv4.tcp_syncookies"]
    assert fact["files"] == ["/etc/sysctl.d/60-net.conf"]


def test_image_without_an_init_says_no_init_boots_it(tmp_root):
    (tmp_root.path / "sbin" / "init").unlink()   # a container image: its runtime starts it
    tmp_root.write("/etc/sysctl.d/60-net.conf", "net.ipv4.tcp_syncookies = 1\n")
    result = run_check(SYNCOOKIES, root=tmp_root, params={"expected": "1"})
    assert result.status is Status.PASS
    assert result.message.endswith("(persistent settings take no effect: no init boots the image: no /sbin/init "
                                   "or /usr/sbin/init (systemd is installed at /lib/systemd/systemd, "
                                   "but nothing boots it))")


def test_live_pass_under_an_init_that_ignores_sysctl_d_says_so():
    result = run_check(SYNCOOKIES, facts=_live_facts("1", {"value": "1"}, init=CONTAINER_PID1), mode="live",
                       params={"expected": "1"})
    assert result.status is Status.PASS
    assert "persistent settings take no effect under this init" in result.message
    assert evidence_lines(result)[-1] == ("/proc/1/comm: PID 1 is 'tini' (/proc/1/exe unreadable): no rc links, "
                                          "systemd *.wants links or sysctl.d are read at its start; what starts "
                                          "it decides")


def test_image_without_an_init_notes_that_nothing_applies_sysctl_d(tmp_path):
    root = RootBuilder(tmp_path / "bare")
    root.write("/etc/sysctl.conf", "net.ipv4.tcp_syncookies = 0\n")
    result = run_check(SYNCOOKIES, root=root, params={"expected": "1"})
    assert result.status is Status.FAIL
    assert evidence_lines(result)[-1].startswith("/sbin/init /usr/sbin/init: init: absent: no rc links")
