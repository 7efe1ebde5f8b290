"""Generic control kinds: a control written in YAML alone (``kind:`` and parameters) is
decided like a built-in check, with evidence naming path and line. Each kind: pass and fail,
in each mode it supports."""

import os

import pytest
from schedulers import boots_systemd
from support import evidence_lines, run_check

from hostaudit.model import Status

ROOT = "root:x:0:0:root:/root:/bin/bash\n"


# ------------------------------------------------------------------------ sysctl
def _sysctl_facts(persistent, in_force):
    return {
        "sysctl_persistent": {"looked_in": ["/etc/sysctl.conf"], "files": ["/etc/sysctl.conf"],
                              "settings": {"kernel.kptr_restrict": {
                                  "value": persistent, "path": "/etc/sysctl.conf", "line": 2,
                                  "ignore_failure": False}}},
        "sysctl_runtime": {"available": True, "values": {"kernel.kptr_restrict": {
            "path": "/proc/sys/kernel/kptr_restrict", "value": in_force}}},
        "kernels": {"running": "6.1.0", "running_version": [6, 1, 0], "installed": []},
        "init_system": {"kind": "systemd", "program": "/usr/lib/systemd/systemd", "source": "/proc/1/exe",
                        "text": "PID 1 is systemd", "boot_links": "systemd *.wants links"},
    }


KPTR = {"key": "kernel.kptr_restrict", "expected": "1", "compare": ">="}


def test_sysctl_kind_at_least_passes_on_image_with_path_and_line(tmp_root):
    boots_systemd(tmp_root)
    tmp_root.write("/etc/sysctl.d/60-site.conf", "# site\nkernel.kptr_restrict = 2\n")
    result = run_check("site.sysctl.kptr", kind="sysctl", root=tmp_root, params=KPTR)
    assert result.status is Status.PASS
    assert result.message == "kernel.kptr_restrict = 2 (>= 1)"
    assert evidence_lines(result) == ["/etc/sysctl.d/60-site.conf:2: kernel.kptr_restrict = 2"]


def test_sysctl_kind_below_minimum_fails_on_image(tmp_root):
    boots_systemd(tmp_root)
    tmp_root.write("/etc/sysctl.d/60-site.conf", "kernel.kptr_restrict = 0\n")
    result = run_check("site.sysctl.kptr", kind="sysctl", root=tmp_root, params=KPTR)
    assert result.status is Status.FAIL
    assert result.message == "kernel.kptr_restrict: set persistently to 0"
    assert result.expected == "kernel.kptr_restrict >= 1"


def test_sysctl_kind_live_value_in_force_decides_too():
    result = run_check("site.sysctl.kptr", kind="sysctl", mode="live", params=KPTR,
                       facts=_sysctl_facts("2", "0"))
    assert result.status is Status.FAIL
    assert result.message == "kernel.kptr_restrict: in force: 0"
    assert "/proc/sys/kernel/kptr_restrict: in force: 0" in evidence_lines(result)


def test_sysctl_kind_live_on_this_kernel_reads_the_requested_key():
    with open("/proc/sys/kernel/pid_max") as handle:
        in_force = handle.read().strip()
    result = run_check("site.sysctl.pid", kind="sysctl", live=True,
                       params={"key": "kernel.pid_max", "expected": in_force})
    assert f"/proc/sys/kernel/pid_max: in force: {in_force}" in evidence_lines(result)
    assert "in force" not in result.message  # the value in force holds; only persistence may fail


# ------------------------------------------------------------------------ file
def test_file_kind_owner_mode_and_required_line_pass(tmp_root):
    tmp_root.write("/etc/passwd", ROOT)
    tmp_root.write("/etc/cron.allow", "# who may use cron\nroot\n", mode=0o600)
    result = run_check("site.files.cron-allow", kind="file", root=tmp_root, params={
        "path": "/etc/cron.allow", "owner": "root", "mode_max": "0600", "must_match": ["^root$"]})
    assert result.status is Status.PASS
    assert evidence_lines(result) == ["/etc/cron.allow: regular file, owner root (0), mode 0600",
                                      "/etc/cron.allow:2: matches '^root$': root"]


def test_file_kind_mode_wider_than_maximum_fails(tmp_root):
    tmp_root.write("/etc/passwd", ROOT)
    tmp_root.write("/etc/cron.allow", "root\n", mode=0o644)
    result = run_check("site.files.cron-allow", kind="file", root=tmp_root,
                       params={"path": "/etc/cron.allow", "mode_max": "0600"})
    assert result.status is Status.FAIL
    assert result.message == "/etc/cron.allow: mode 0644 exceeds 0600 (extra bits 0044)"
    assert evidence_lines(result) == ["/etc/cron.allow: regular file, mode 0644"]


def test_file_kind_forbidden_line_fails_citing_it(tmp_root):
    tmp_root.write("/etc/ssh/sshd_config", "Port 22\nPermitRootLogin yes\n")
    result = run_check("site.ssh.root", kind="file", root=tmp_root, params={
        "path": "/etc/ssh/sshd_config", "must_not_match": [r"^PermitRootLogin\s+yes"]})
    assert result.status is Status.FAIL
    assert result.message == r"/etc/ssh/sshd_config: 1 line(s) match '^PermitRootLogin\\s+yes'"
    assert evidence_lines(result)[1] == \
        r"/etc/ssh/sshd_config:2: matches '^PermitRootLogin\\s+yes': PermitRootLogin yes"


def test_file_kind_missing_required_line_fails(tmp_root):
    tmp_root.write("/etc/cron.allow", "operator\n")
    result = run_check("site.files.cron-allow", kind="file", root=tmp_root,
                       params={"path": "/etc/cron.allow", "must_match": ["^root$"]})
    assert result.status is Status.FAIL
    assert "/etc/cron.allow: no line matches '^root$'" in evidence_lines(result)


def test_file_kind_glob_fails_naming_the_one_file_too_open(tmp_root):
    tmp_root.write("/etc/cron.d/backup", "", mode=0o644)
    tmp_root.write("/etc/cron.d/rogue", "", mode=0o666)
    result = run_check("site.files.cron-d", kind="file", root=tmp_root,
                       params={"path": "/etc/cron.d/*", "mode_max": "0644"})
    assert result.status is Status.FAIL
    assert result.message == "/etc/cron.d/rogue: mode 0666 exceeds 0644 (extra bits 0022)"
    assert evidence_lines(result) == ["/etc/cron.d/backup: regular file, mode 0644",
                                      "/etc/cron.d/rogue: regular file, mode 0666"]


def test_file_kind_glob_matching_nothing_fails(tmp_root):
    tmp_root.mkdir("/etc/cron.d")
    result = run_check("site.files.cron-d", kind="file", root=tmp_root, params={"path": "/etc/cron.d/*"})
    assert result.status is Status.FAIL
    assert result.message == "no file matches /etc/cron.d/*"


def test_file_kind_absent_passes_and_present_fails(tmp_root):
    params = {"path": "/etc/hosts.equiv", "state": "absent"}
    assert run_check("site.files.equiv", kind="file", root=tmp_root, params=params).status is Status.PASS
    tmp_root.write("/etc/hosts.equiv", "+\n")
    result = run_check("site.files.equiv", kind="file", root=tmp_root, params=params)
    assert result.status is Status.FAIL
    assert evidence_lines(result) == ["/etc/hosts.equiv: exists (regular file)"]


def test_file_kind_wrong_owner_fails_naming_both(tmp_root, require_root):
    tmp_root.write("/etc/passwd", ROOT + "backup:x:34:34::/var/backups:/usr/sbin/nologin\n")
    tmp_root.write("/etc/cron.allow", "root\n", uid=34)
    result = run_check("site.files.cron-allow", kind="file", root=tmp_root,
                       params={"path": "/etc/cron.allow", "owner": "root"})
    assert result.status is Status.FAIL
    assert result.message == "/etc/cron.allow: owner is backup (34), not root"


def test_file_kind_unreadable_account_database_is_an_error_not_a_pass(tmp_root):
    tmp_root.write("/etc/cron.allow", "root\n")
    result = run_check("site.files.cron-allow", kind="file", root=tmp_root,
                       params={"path": "/etc/cron.allow", "owner": "root"})
    assert result.status is Status.ERROR
    assert "/etc/passwd" in result.message


# ------------------------------------------------------------------------ package
def test_package_kind_absent_fails_when_installed_with_stanza_line(tmp_root):
    tmp_root.installed("bash", "telnetd", version="0.17-41")
    result = run_check("site.packages.telnetd", kind="package", root=tmp_root,
                       params={"name": "telnetd", "state": "absent"})
    assert result.status is Status.FAIL
    assert evidence_lines(result) == ["/var/lib/dpkg/status:5: telnetd 0.17-41 installed"]


def test_package_kind_absent_passes_when_not_installed(tmp_root):
    tmp_root.installed("bash")
    result = run_check("site.packages.telnetd", kind="package", root=tmp_root,
                       params={"name": "telnetd", "state": "absent"})
    assert result.status is Status.PASS
    assert evidence_lines(result) == ["/var/lib/dpkg/status: telnetd: not installed"]


@pytest.mark.parametrize(("installed", "status"), [("3.0.11-1~deb12u2", Status.PASS),
                                                   ("3.0.9-1", Status.FAIL),
                                                   ("1:1.0-1", Status.PASS)])
def test_package_kind_version_at_least(tmp_root, installed, status):
    tmp_root.installed("openssl", version=installed)
    result = run_check("site.packages.openssl", kind="package", root=tmp_root,
                       params={"name": "openssl", "version": "3.0.11"})
    assert result.status is status
    assert evidence_lines(result) == [f"/var/lib/dpkg/status:1: openssl {installed} installed"]


def test_package_kind_without_a_package_database_is_an_error(tmp_root):
    result = run_check("site.packages.openssl", kind="package", root=tmp_root, params={"name": "openssl"})
    assert result.status is Status.ERROR


# ------------------------------------------------------------------------ service
def test_service_kind_masked_unit_passes(tmp_root):
    tmp_root.symlink("/etc/systemd/system/rpcbind.service", "/dev/null")
    result = run_check("site.svc.rpcbind", kind="service", root=tmp_root,
                       params={"name": "rpcbind", "state": "masked"})
    assert result.status is Status.PASS
    assert evidence_lines(result) == ["/etc/systemd/system/rpcbind.service: -> /dev/null (masked)"]


def test_service_kind_enabled_unit_fails_disabled_naming_the_wants_link(tmp_root):
    tmp_root.symlink("/etc/systemd/system/multi-user.target.wants/rpcbind.service",
                     "/lib/systemd/system/rpcbind.service")
    result = run_check("site.svc.rpcbind", kind="service", root=tmp_root,
                       params={"name": "rpcbind", "state": "disabled"})
    assert result.status is Status.FAIL
    assert evidence_lines(result) == [
        "/etc/systemd/system/multi-user.target.wants/rpcbind.service: -> /lib/systemd/system/rpcbind.service"]


def test_service_kind_sysv_start_link_counts_as_enabled(tmp_root):
    tmp_root.symlink("/etc/rc2.d/S20telnetd", "../init.d/telnetd")
    result = run_check("site.svc.telnetd", kind="service", root=tmp_root,
                       params={"name": "telnetd", "state": "enabled"})
    assert result.status is Status.PASS
    assert evidence_lines(result) == ["/etc/rc2.d/S20telnetd: runlevel 2: -> ../init.d/telnetd"]


def test_service_kind_vendor_static_link_counts_as_enabled(tmp_root):
    tmp_root.symlink("/usr/lib/systemd/system/sockets.target.wants/rpcbind.socket", "../rpcbind.socket")
    result = run_check("site.svc.rpcbind", kind="service", root=tmp_root,
                       params={"name": "rpcbind.socket", "state": "disabled"})
    assert result.status is Status.FAIL
    assert evidence_lines(result) == ["/usr/lib/systemd/system/sockets.target.wants/rpcbind.socket: -> ../rpcbind.socket"]


def test_service_kind_masked_unit_is_not_enabled_even_with_a_link(tmp_root):
    tmp_root.symlink("/etc/systemd/system/multi-user.target.wants/rpcbind.service",
                     "/lib/systemd/system/rpcbind.service")
    tmp_root.symlink("/etc/systemd/system/rpcbind.service", "/dev/null")
    result = run_check("site.svc.rpcbind", kind="service", root=tmp_root,
                       params={"name": "rpcbind", "state": "disabled"})
    assert result.status is Status.PASS
    assert evidence_lines(result) == ["/etc/systemd/system/rpcbind.service: -> /dev/null (masked)"]


def test_service_kind_without_any_link_passes_disabled_naming_where_it_looked(tmp_root):
    tmp_root.mkdir("/etc/systemd/system")
    result = run_check("site.svc.rpcbind", kind="service", root=tmp_root,
                       params={"name": "rpcbind", "state": "disabled"})
    assert result.status is Status.PASS
    assert "/usr/lib/systemd/system/*.wants" in result.evidence[0].where
    assert result.evidence[0].text == "no start link for rpcbind"


def test_service_kind_not_masked_fails(tmp_root):
    tmp_root.mkdir("/etc/systemd/system")
    result = run_check("site.svc.rpcbind", kind="service", root=tmp_root,
                       params={"name": "rpcbind", "state": "masked"})
    assert result.status is Status.FAIL
    assert result.message == "rpcbind.service is not masked"


# ------------------------------------------------------------------------ mount
TMP_OPTIONS = {"mount_point": "/tmp", "required_options": ["nosuid", "nodev", "noexec"],
               "forbidden_options": ["usrquota"]}


def test_mount_kind_required_options_pass_on_image(tmp_root):
    tmp_root.write("/etc/fstab", "# fs\ntmpfs /tmp tmpfs nosuid,nodev,noexec 0 0\n")
    result = run_check("site.fs.tmp", kind="mount", root=tmp_root, params=TMP_OPTIONS)
    assert result.status is Status.PASS
    assert evidence_lines(result) == ["/etc/fstab:2: tmpfs /tmp tmpfs nosuid,nodev,noexec"]


def test_mount_kind_missing_and_forbidden_options_fail(tmp_root):
    tmp_root.write("/etc/fstab", "tmpfs /tmp tmpfs nosuid,usrquota 0 0\n")
    result = run_check("site.fs.tmp", kind="mount", root=tmp_root, params=TMP_OPTIONS)
    assert result.status is Status.FAIL
    assert result.message == ("/tmp: the persistent options lack nodev,noexec; "
                              "the persistent options include usrquota")


def test_mount_kind_live_options_in_force_decide_too():
    facts = {
        "fstab": {"path": "/etc/fstab", "present": True, "mount_units": [], "swap_units": [],
                  "entries": [{"spec": "tmpfs", "mount_point": "/tmp", "fstype": "tmpfs",
                               "options": ["nosuid", "nodev", "noexec"], "line": 1}]},
        "mountinfo": {"available": True, "path": "/proc/self/mountinfo", "mounts": [
            {"mount_point": "/", "device": "8:1", "fstype": "ext4", "source": "/dev/sda1",
             "mount_options": ["rw"], "super_options": [], "line": 1},
            {"mount_point": "/tmp", "device": "0:40", "fstype": "tmpfs", "source": "tmpfs",
             "mount_options": ["rw", "nosuid", "nodev"], "super_options": [], "line": 7}]},
    }
    result = run_check("site.fs.tmp", kind="mount", mode="live", facts=facts, params=TMP_OPTIONS)
    assert result.status is Status.FAIL
    assert result.message == "/tmp: the options in force lack noexec"
    assert evidence_lines(result)[1] == "/proc/self/mountinfo:7: /tmp tmpfs tmpfs rw,nosuid,nodev"


# ------------------------------------------------------------------------ port
def _listener(port, proto="tcp"):
    return {"proto": proto, "family": "ipv4", "address": "0.0.0.0", "port": port, "pid": 88,
            "process": "inetd", "user": "root", "program": "inetd", "owner_known": True}


def _table(*entries):
    return {"source": "socket table (psutil)", "as_uid": 0, "listeners": list(entries)}


SWEEP = "nmap -oX - -p 1-65535 -sS -Pn -n 192.0.2.2"


def _sweep(open_port):
    return {"target": "192.0.2.2", "sweep": "tcp", "command": SWEEP, "covered": "TCP ports 1-65535",
            "duration_s": 1.0, "host_status": "up",
            "open": [{"port": p, "proto": "tcp", "state": "open", "reason": "syn-ack", "service": ""}
                     for p in [open_port]],
            "states": {"closed": {"count": 65534, "reasons": {"reset": 65534},
                                  "ports": f"1-{open_port - 1},{open_port + 1}-65535"}}}


def test_port_kind_listener_fails_closed_live_naming_its_owner():
    result = run_check("site.net.telnet", kind="port", mode="live",
                       facts={"listeners": _table(_listener(23))}, params={"port": 23})
    assert result.status is Status.FAIL
    assert evidence_lines(result) == ["socket table (psutil): 23/tcp open on 0.0.0.0, inetd (pid 88, user root)"]


def test_port_kind_no_listener_passes_closed_live():
    result = run_check("site.net.telnet", kind="port", mode="live",
                       facts={"listeners": _table(_listener(25))}, params={"port": 23})
    assert result.status is Status.PASS
    assert evidence_lines(result) == ["socket table (psutil): 23/tcp not open"]


def test_port_kind_listening_port_missing_fails_live():
    result = run_check("site.net.smtp", kind="port", mode="live", facts={"listeners": _table()},
                       params={"port": 25, "state": "listening"})
    assert result.status is Status.FAIL
    assert result.message == "25/tcp is not open"


def test_port_kind_from_the_wire_names_what_the_sweep_saw():
    closed = run_check("site.net.telnet", kind="port", mode="net", modes={"net"},
                       facts={"nmap_tcp": _sweep(25)}, params={"port": 23})
    assert closed.status is Status.PASS
    assert evidence_lines(closed) == [f"{SWEEP}: 23/tcp closed"]
    opened = run_check("site.net.telnet", kind="port", mode="net", modes={"net"},
                       facts={"nmap_tcp": _sweep(23)}, params={"port": 23})
    assert opened.status is Status.FAIL
    assert evidence_lines(opened) == [f"{SWEEP}: 23/tcp open (syn-ack)"]


def test_port_kind_udp_needs_only_the_udp_sweep():
    from hostaudit.registry import KINDS, load_all

    load_all()
    assert KINDS["port"].needs_for({"port": 161, "proto": "udp"}, {"net"}) == ("nmap_udp",)


# ------------------------------------------------------------------------ account
def test_account_kind_second_uid_0_fails_with_its_line(tmp_root):
    tmp_root.write("/etc/passwd", ROOT + "toor:x:0:0::/root:/bin/sh\n")
    result = run_check("site.acct.uid0", kind="account", root=tmp_root, params={"uid0_only_root": True})
    assert result.status is Status.FAIL
    assert evidence_lines(result) == ["/etc/passwd:2: toor uid 0"]


def test_account_kind_only_root_uid_0_passes(tmp_root):
    tmp_root.write("/etc/passwd", ROOT)
    result = run_check("site.acct.uid0", kind="account", root=tmp_root, params={"uid0_only_root": True})
    assert result.status is Status.PASS
    assert evidence_lines(result) == ["/etc/passwd:1: root uid 0"]


def test_account_kind_user_that_must_be_absent_fails(tmp_root):
    tmp_root.write("/etc/passwd", ROOT + "games:x:5:60:games:/usr/games:/usr/sbin/nologin\n")
    result = run_check("site.acct.games", kind="account", root=tmp_root,
                       params={"user": "games", "state": "absent"})
    assert result.status is Status.FAIL
    assert evidence_lines(result) == ["/etc/passwd:2: games shell /usr/sbin/nologin"]


def test_account_kind_wrong_shell_fails(tmp_root):
    tmp_root.write("/etc/passwd", ROOT + "qmaild:x:64:65:qmail:/var/qmail:/bin/bash\n")
    result = run_check("site.acct.qmaild", kind="account", root=tmp_root,
                       params={"user": "qmaild", "shell": "/usr/sbin/nologin"})
    assert result.status is Status.FAIL
    assert result.message == "user qmaild has shell /bin/bash, not /usr/sbin/nologin"


def test_account_kind_group_present_passes(tmp_root):
    tmp_root.write("/etc/group", "root:x:0:\nwheel:x:10:root\n")
    result = run_check("site.acct.wheel", kind="account", root=tmp_root, params={"group": "wheel"})
    assert result.status is Status.PASS
    assert evidence_lines(result) == ["/etc/group:2: wheel gid 10"]


# ------------------------------------------------------------------------ probes driven by requests
def test_sysctl_runtime_asked_for_n_keys_reads_exactly_those(monkeypatch):
    from hostaudit.host import LiveHost
    from hostaudit.probes.sysctl import sysctl_runtime

    host, read = LiveHost(), []
    original = host.read_text

    def recording(path, **kw):
        read.append(path)
        return original(path, **kw)

    monkeypatch.setattr(host, "read_text", recording)
    monkeypatch.setattr(host, "listdir", lambda path: pytest.fail(f"listed {path}"))
    keys = ["kernel.pid_max", "net.ipv4.tcp_syncookies", "vm.swappiness"]
    fact = sysctl_runtime(host, request={"keys": keys})
    assert read == ["/proc/sys/kernel/pid_max", "/proc/sys/net/ipv4/tcp_syncookies", "/proc/sys/vm/swappiness"]
    assert list(fact["values"]) == keys


def test_sysctl_persistent_keeps_only_the_requested_keys(tmp_root):
    from support import collect_fact

    tmp_root.write("/etc/sysctl.conf", "kernel.sysrq = 0\nvm.swappiness = 10\nkernel.pid_max = 9\n")
    fact = collect_fact("sysctl_persistent", tmp_root, request={"keys": ["vm.swappiness"]})
    assert list(fact["settings"]) == ["vm.swappiness"]


def test_attribute_probe_looks_at_exactly_the_requested_paths(tmp_root, monkeypatch):
    from hostaudit.probes.attrs import file_attrs_probe

    tmp_root.write("/etc/passwd", ROOT)
    host, looked = tmp_root.host, []
    original = host.canonical
    monkeypatch.setattr(host, "canonical", lambda path: looked.append(path) or original(path))
    fact = file_attrs_probe(host, request={"paths": ["/etc/passwd", "/etc/nothing"]})
    assert looked == ["/etc/passwd", "/etc/nothing"]
    assert fact["/etc/nothing"]["exists"] is False


def test_a_probe_nothing_asks_of_reads_nothing():
    from hostaudit.host import LiveHost
    from hostaudit.probes.sysctl import sysctl_runtime

    assert sysctl_runtime(LiveHost(), request={}) == {"available": True, "values": {}}


def test_the_plan_merges_what_every_selected_control_asks_of_a_probe():
    from hostaudit.baseline import load_checked
    from hostaudit.runner import plan_audit

    baseline = load_checked("gcux-qmail")
    plan = plan_audit([c for c in baseline.controls if c.id.startswith(("sysctl.", "files."))],
                      frozenset({"live"}))
    assert plan.requests["sysctl_runtime"]["keys"] == [
        c.parameters["key"] for c in baseline.controls if c.id.startswith("sysctl.")]
    assert plan.requests["file_attrs"]["paths"][:4] == ["/etc/passwd", "/etc/shadow", "/etc/group", "/etc/gshadow"]
    assert "file_state" not in plan.facts  # immutable-only file controls ask the attribute probe alone


def test_file_kind_live_reads_this_host():
    mode = os.stat("/etc/passwd").st_mode & 0o7777
    result = run_check("site.files.passwd", kind="file", live=True, params={
        "path": "/etc/passwd", "owner": "root", "mode_max": "0644", "must_match": ["^root:"]})
    assert result.status is Status.PASS
    assert evidence_lines(result)[0] == f"/etc/passwd: regular file, owner root (0), mode {mode:04o}"


def test_account_kind_live_finds_root():
    result = run_check("site.acct.root", kind="account", live=True, params={"user": "root"})
    assert result.status is Status.PASS
    assert evidence_lines(result)[0].startswith("/etc/passwd:1: root shell ")


def test_file_kind_too_large_to_search_is_an_error_not_a_failure(tmp_root):
    tmp_root.write("/etc/big.conf", "x" * (4 * 1024 * 1024 + 1))
    result = run_check("site.files.big", kind="file", root=tmp_root,
                       params={"path": "/etc/big.conf", "must_not_match": ["^secret"]})
    assert result.status is Status.ERROR
    assert result.message.startswith("/etc/big.conf: cannot search for '^secret': ")


def test_file_kind_fifo_where_a_file_should_be_is_not_read(tmp_root):
    os.mkfifo(tmp_root.path / "issue.net")
    tmp_root.mkdir("/etc")
    os.rename(tmp_root.path / "issue.net", tmp_root.path / "etc" / "issue.net")
    result = run_check("site.files.issue", kind="file", root=tmp_root,
                       params={"path": "/etc/issue.net", "must_not_match": ["Debian"]})
    assert result.status is Status.ERROR
    assert evidence_lines(result) == ["/etc/issue.net: FIFO",
                                      "/etc/issue.net: cannot search: a FIFO, not a regular file"]


def test_file_kind_numeric_owner_needs_no_account_file(tmp_root):
    tmp_root.write("/etc/cron.allow", "root\n")
    result = run_check("site.files.cron-allow", kind="file", root=tmp_root,
                       params={"path": "/etc/cron.allow", "owner": os.getuid()})
    assert result.status is Status.PASS
    assert evidence_lines(result) == [f"/etc/cron.allow: regular file, owner {os.getuid()}"]


def test_a_fact_collected_without_the_controls_request_is_no_verdict(tmp_root):
    from hostaudit.facts import collect
    from hostaudit.registry import KINDS
    from hostaudit.runner import evaluate

    tmp_root.write("/etc/sysctl.conf", "kernel.kptr_restrict = 2\n")
    facts = collect(tmp_root.host, ["sysctl_persistent", "sysctl_runtime", "kernels", "init_system"],
                    mode="image")  # no requests: a caller that bypassed the plan
    result = evaluate(KINDS["sysctl"], facts, dict(KPTR))
    assert result.status is Status.ERROR
    assert result.message == ("cannot decide: fact sysctl_persistent was collected without this "
                              "control's request (keys: ['kernel.kptr_restrict'])")
