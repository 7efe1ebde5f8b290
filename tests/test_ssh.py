import pytest
from schedulers import boots_systemd, boots_sysvinit
from support import collect_fact, evidence_lines, run_check

from hostaudit.facts import Facts
from hostaudit.model import Status
from hostaudit.registry import CHECKS
from hostaudit.runner import evaluate

SSHD_RH73 = "#Port 22\n#Protocol 2,1\nPort 2112\nProtocol 2\n"
DPKG_OPENSSH = "Package: openssh-server\nStatus: install ok installed\nVersion: 1:9.2p1-2+deb12u3\n\n"
DPKG_OLD_OPENSSH = "Package: openssh-server\nStatus: install ok installed\nVersion: 1:7.2p2-4\n\n"
PASSWD = "root:x:0:0:root:/root:/bin/bash\n"



# ssh.privsep-dir

def test_privsep_dir_root_owned_0755_passes(tmp_root):
    tmp_root.mkdir("/var/empty", mode=0o755, uid=0, gid=3)
    result = run_check("ssh.privsep-dir", root=tmp_root)
    assert result.status is Status.PASS
    assert evidence_lines(result) == ["/var/empty: uid 0 gid 3 mode 0755"]


def test_privsep_dir_group_writable_fails(tmp_root):
    tmp_root.mkdir("/var/empty", mode=0o775, uid=0, gid=0)
    result = run_check("ssh.privsep-dir", root=tmp_root)
    assert result.status is Status.FAIL
    assert evidence_lines(result) == ["/var/empty: uid 0 gid 0 mode 0775"]


def test_privsep_dir_owned_by_user_fails(tmp_root):
    tmp_root.mkdir("/run/sshd", mode=0o755, uid=1000, gid=0)
    result = run_check("ssh.privsep-dir", root=tmp_root)
    assert result.status is Status.FAIL
    assert "/run/sshd" in result.message


def test_debian_image_without_run_sshd_is_not_applicable(tmp_root):
    tmp_root.write("/lib/systemd/system/ssh.service", "[Service]\nExecStart=/usr/sbin/sshd -D\nRuntimeDirectory=sshd\n")
    result = run_check("ssh.privsep-dir", root=tmp_root)
    assert result.status is Status.NOT_APPLICABLE
    assert evidence_lines(result) == ["/lib/systemd/system/ssh.service:3: sshd"]


def test_no_privsep_dir_for_an_sshd_built_from_source_fails_naming_where_it_looked(tmp_root):
    tmp_root.write("/var/lib/dpkg/status", "")
    tmp_root.write("/usr/local/sbin/sshd", "OpenSSH_9.6p1\0")
    result = run_check("ssh.privsep-dir", root=tmp_root)
    assert result.status is Status.FAIL
    assert "/var/empty: absent" in evidence_lines(result) and "/run/sshd: absent" in evidence_lines(result)


@pytest.mark.parametrize("control_id", ["ssh.privsep-dir", "ssh.sshd-user", "ssh.protocol", "ssh.version"])
def test_an_image_without_sshd_installed_has_no_sshd_to_judge(tmp_root, control_id):
    tmp_root.write("/var/lib/dpkg/status", "Package: bash\nStatus: install ok installed\nVersion: 5.2\n\n")
    tmp_root.write("/etc/passwd", PASSWD)
    result = run_check(control_id, root=tmp_root)
    assert result.status is Status.NOT_APPLICABLE
    assert result.message == "sshd is not installed (ssh.enabled fails for it)"
    assert evidence_lines(result) == ["/var/lib/dpkg/status: openssh-server or openssh: not installed",
                                      "/usr/sbin/sshd: absent", "/usr/local/sbin/sshd: absent"]


def test_the_port_of_an_sshd_not_yet_installed_is_still_judged(tmp_root):
    tmp_root.write("/var/lib/dpkg/status", "Package: bash\nStatus: install ok installed\nVersion: 5.2\n\n")
    result = run_check("ssh.port", root=tmp_root, params={"ssh_port": 2112})
    assert result.status is Status.FAIL
    assert result.message == "no sshd_config: sshd would use its default port 22"


def test_without_a_package_database_sshd_is_not_taken_for_absent(tmp_root):
    result = run_check("ssh.version", root=tmp_root)
    assert result.status is Status.ERROR


# ssh.sshd-user

def test_sshd_user_with_bin_false_passes(tmp_root):
    tmp_root.write("/etc/passwd", PASSWD + "sshd:x:74:74::/var/empty:/bin/false\n")
    result = run_check("ssh.sshd-user", root=tmp_root)
    assert result.status is Status.PASS
    assert evidence_lines(result) == ["/etc/passwd:2: sshd shell /bin/false"]


def test_sshd_user_with_login_shell_fails(tmp_root):
    tmp_root.write("/etc/passwd", PASSWD + "sshd:x:74:74::/var/empty:/bin/bash\n")
    result = run_check("ssh.sshd-user", root=tmp_root)
    assert result.status is Status.FAIL
    assert evidence_lines(result) == ["/etc/passwd:2: sshd shell /bin/bash"]


def test_missing_sshd_user_fails(tmp_root):
    tmp_root.write("/etc/passwd", PASSWD)
    result = run_check("ssh.sshd-user", root=tmp_root)
    assert result.status is Status.FAIL
    assert evidence_lines(result) == ["/etc/passwd: no sshd or _sshd user"]


# ssh.protocol

def test_protocol_2_in_2002_usr_local_config_passes(tmp_root):
    tmp_root.write("/usr/local/etc/sshd_config", SSHD_RH73)
    result = run_check("ssh.protocol", root=tmp_root)
    assert result.status is Status.PASS
    assert evidence_lines(result) == ["/usr/local/etc/sshd_config:4: 2"]


def test_protocol_2_1_fails(tmp_root):
    tmp_root.write("/etc/ssh/sshd_config", "Protocol 2,1\n")
    result = run_check("ssh.protocol", root=tmp_root)
    assert result.status is Status.FAIL
    assert "Protocol 2,1" in result.message


def test_protocol_2_1_on_modern_openssh_is_ignored_and_passes_saying_why(tmp_root):
    # OpenSSH 7.4 removed protocol 1 and 7.6 the Protocol keyword: sshd -t accepts the line and ignores it.
    tmp_root.write("/etc/ssh/sshd_config", "Protocol 2,1\n")
    tmp_root.write("/var/lib/dpkg/status", DPKG_OPENSSH)
    result = run_check("ssh.protocol", root=tmp_root)
    assert result.status is Status.PASS
    assert result.message == ("Protocol 2,1 is ignored: OpenSSH 1:9.2p1-2+deb12u3 (>= 7.4) speaks only protocol 2")


def test_protocol_2_1_on_old_openssh_fails(tmp_root):
    tmp_root.write("/etc/ssh/sshd_config", "Protocol 2,1\n")
    tmp_root.write("/var/lib/dpkg/status", DPKG_OLD_OPENSSH)
    assert run_check("ssh.protocol", root=tmp_root).status is Status.FAIL


def test_include_file_setting_comes_first_as_sshd_reads_it(tmp_root):
    tmp_root.write("/etc/ssh/sshd_config", "Include /etc/ssh/sshd_config.d/*.conf\nProtocol 2\n")
    tmp_root.write("/etc/ssh/sshd_config.d/10-legacy.conf", "Protocol 1\n")
    result = run_check("ssh.protocol", root=tmp_root)
    assert result.status is Status.FAIL
    assert evidence_lines(result) == ["/etc/ssh/sshd_config.d/10-legacy.conf:1: 1"]


def test_no_protocol_line_with_modern_openssh_passes_saying_why(tmp_root):
    tmp_root.write("/etc/ssh/sshd_config", "UsePAM yes\n")
    tmp_root.write("/var/lib/dpkg/status", DPKG_OPENSSH)
    result = run_check("ssh.protocol", root=tmp_root)
    assert result.status is Status.PASS
    assert ">= 7.4" in result.message
    assert "/var/lib/dpkg/status:1: package openssh-server 1:9.2p1-2+deb12u3" in evidence_lines(result)


def test_no_protocol_line_with_old_openssh_fails(tmp_root):
    tmp_root.write("/etc/ssh/sshd_config", "UsePAM yes\n")
    tmp_root.write("/var/lib/dpkg/status", DPKG_OLD_OPENSSH)
    result = run_check("ssh.protocol", root=tmp_root)
    assert result.status is Status.FAIL
    assert "1:7.2p2-4" in result.message


def test_no_protocol_line_and_unknown_version_is_error(tmp_root):
    tmp_root.write("/etc/ssh/sshd_config", "UsePAM yes\n")
    result = run_check("ssh.protocol", root=tmp_root)
    assert result.status is Status.ERROR


# ssh.port

def test_port_2112_only_passes(tmp_root):
    tmp_root.write("/usr/local/etc/sshd_config", SSHD_RH73)
    result = run_check("ssh.port", root=tmp_root, params={"ssh_port": 2112})
    assert result.status is Status.PASS
    assert evidence_lines(result) == ["/usr/local/etc/sshd_config:3: 2112"]


def test_no_port_line_means_22_and_fails(tmp_root):
    tmp_root.write("/etc/ssh/sshd_config", "#Port 22\n")
    result = run_check("ssh.port", root=tmp_root, params={"ssh_port": 2112})
    assert result.status is Status.FAIL
    assert result.message == "sshd is configured for port(s) 22"
    assert evidence_lines(result) == ["/etc/ssh/sshd_config: no Port line: sshd's default is 22"]


def test_second_port_line_still_listens_and_fails(tmp_root):
    tmp_root.write("/etc/ssh/sshd_config", "Port 2112\nPort 22\n")
    result = run_check("ssh.port", root=tmp_root, params={"ssh_port": 2112})
    assert result.status is Status.FAIL
    assert "/etc/ssh/sshd_config:2: 22" in evidence_lines(result)


def test_listen_address_with_its_own_port_counts(tmp_root):
    tmp_root.write("/etc/ssh/sshd_config", "Port 2112\nListenAddress 0.0.0.0:22\n")
    result = run_check("ssh.port", root=tmp_root, params={"ssh_port": 2112})
    assert result.status is Status.FAIL
    assert evidence_lines(result) == ["/etc/ssh/sshd_config:2: 0.0.0.0:22"]


def test_enabled_ssh_socket_override_decides_the_port(tmp_root):
    tmp_root.write("/etc/ssh/sshd_config", "Port 2112\n")
    tmp_root.write("/lib/systemd/system/ssh.socket", "[Socket]\nListenStream=22\n")
    tmp_root.write("/etc/systemd/system/ssh.socket.d/port.conf", "[Socket]\nListenStream=\nListenStream=2112\n")
    tmp_root.symlink("/etc/systemd/system/sockets.target.wants/ssh.socket", "/lib/systemd/system/ssh.socket")
    result = run_check("ssh.port", root=tmp_root, params={"ssh_port": 2112})
    assert result.status is Status.PASS
    assert "/etc/systemd/system/ssh.socket.d/port.conf:3: 2112" in evidence_lines(result)


def test_missing_ssh_port_parameter_is_error(tmp_root):
    tmp_root.write("/etc/ssh/sshd_config", "Port 2112\n")
    facts = Facts(mode="image", values={"sshd_config": collect_fact("sshd_config", tmp_root)})
    assert evaluate(CHECKS["ssh.port"], facts, {}).message == "the baseline gives no value for parameter(s) ssh_port"


# ssh.version

def test_package_version_above_minimum_passes(tmp_root):
    tmp_root.write("/var/lib/dpkg/status", DPKG_OPENSSH)
    result = run_check("ssh.version", root=tmp_root, params={"ssh_min_version": "3.4"})
    assert result.status is Status.PASS
    assert evidence_lines(result) == ["/var/lib/dpkg/status:1: package openssh-server 1:9.2p1-2+deb12u3"]


def test_2002_source_build_binary_3_1_fails_against_3_4(tmp_root):
    tmp_root.write("/usr/local/sbin/sshd", "\x7fELF junk\x00OpenSSH_3.1p1\x00more", mode=0o755)
    result = run_check("ssh.version", root=tmp_root, params={"ssh_min_version": "3.4"})
    assert result.status is Status.FAIL
    assert evidence_lines(result) == ["/usr/local/sbin/sshd: version string OpenSSH_3.1p1"]


def test_binary_3_4p1_meets_3_4(tmp_root):
    tmp_root.write("/usr/local/sbin/sshd", "\x00OpenSSH_3.4p1\x00", mode=0o755)
    result = run_check("ssh.version", root=tmp_root, params={"ssh_min_version": "3.4"})
    assert result.status is Status.PASS


def test_binary_without_version_and_no_package_is_error(tmp_root):
    tmp_root.write("/usr/sbin/sshd", "\x00not a version\x00", mode=0o755)
    result = run_check("ssh.version", root=tmp_root, params={"ssh_min_version": "3.4"})
    assert result.status is Status.ERROR
    assert evidence_lines(result) == ["/usr/sbin/sshd: no OpenSSH_ version string"]


# ssh.enabled

def test_2002_chkconfig_links_pass(tmp_root):
    boots_sysvinit(tmp_root)
    tmp_root.write("/etc/rc.d/init.d/ssh", "#!/bin/bash\n")
    tmp_root.symlink("/etc/rc.d/rc3.d/S55ssh", "../init.d/ssh")
    tmp_root.symlink("/etc/rc3.d", "rc.d/rc3.d")
    result = run_check("ssh.enabled", root=tmp_root)
    assert result.status is Status.PASS
    assert evidence_lines(result) == ["/etc/rc.d/rc3.d/S55ssh: -> ../init.d/ssh"]


def test_systemd_wants_link_passes(tmp_root):
    boots_systemd(tmp_root)
    tmp_root.symlink("/etc/systemd/system/multi-user.target.wants/ssh.service", "/lib/systemd/system/ssh.service")
    result = run_check("ssh.enabled", root=tmp_root)
    assert result.status is Status.PASS
    assert evidence_lines(result) == ["/etc/systemd/system/multi-user.target.wants/ssh.service: -> /lib/systemd/system/ssh.service"]


def test_rc_link_of_a_disabled_native_unit_under_systemd_fails(tmp_root):
    # systemd-sysv-generator skips an init script that has a unit of its own: only *.wants starts ssh.service.
    boots_systemd(tmp_root)
    tmp_root.write("/lib/systemd/system/ssh.service", "[Service]\nExecStart=/usr/sbin/sshd -D\n")
    tmp_root.write("/etc/init.d/ssh", "#!/bin/sh\n", mode=0o755)
    tmp_root.symlink("/etc/rc2.d/S01ssh", "../init.d/ssh")
    result = run_check("ssh.enabled", root=tmp_root)
    assert result.status is Status.FAIL
    assert ("/etc/rc2.d/S01ssh: -> ../init.d/ssh (ignored: systemd runs /lib/systemd/system/ssh.service "
            "instead, and no *.wants link enables it)") in evidence_lines(result)


def test_rc_link_without_a_native_unit_under_systemd_passes(tmp_root):
    boots_systemd(tmp_root)
    tmp_root.write("/etc/init.d/ssh", "#!/bin/sh\n", mode=0o755)
    tmp_root.symlink("/etc/rc2.d/S01ssh", "../init.d/ssh")
    assert run_check("ssh.enabled", root=tmp_root).status is Status.PASS


def test_enabled_links_under_an_init_that_reads_none_pass_but_say_so(tmp_root):
    tmp_root.symlink("/etc/systemd/system/multi-user.target.wants/ssh.service", "/lib/systemd/system/ssh.service")
    tmp_root.symlink("/sbin/init", "/usr/bin/tini")
    tmp_root.write("/usr/bin/tini", "\x7fELF", mode=0o755)
    result = run_check("ssh.enabled", root=tmp_root)
    assert result.status is Status.PASS
    assert "boot links take no effect under this init" in result.message
    assert evidence_lines(result)[-1] == ("/sbin/init: /sbin/init -> /usr/bin/tini: no rc links, systemd *.wants "
                                          "links or sysctl.d are read at its start; what starts it decides")


def test_kill_links_only_fail(tmp_root):
    tmp_root.symlink("/etc/rc3.d/K25ssh", "../init.d/ssh")
    result = run_check("ssh.enabled", root=tmp_root)
    assert result.status is Status.FAIL


def test_masked_ssh_service_fails(tmp_root):
    tmp_root.symlink("/etc/systemd/system/ssh.service", "/dev/null")
    tmp_root.symlink("/etc/rc3.d/S01ssh", "../init.d/ssh")
    result = run_check("ssh.enabled", root=tmp_root)
    assert result.status is Status.FAIL
    assert "/etc/systemd/system/ssh.service: masked (-> /dev/null)" in evidence_lines(result)


# the wire (net mode) and the socket table (live)

def _greetings(*banners):
    return {"target": "192.0.2.2", "timeout_s": 2.0,
            "ports": [{"port": port, "result": "greeting", "first_line": line} for port, line in banners]}


def test_banner_offering_protocol_1_fails_protocol_from_the_wire():
    result = run_check("ssh.protocol", facts={"greetings": _greetings((2112, "SSH-1.99-OpenSSH_3.4p1"))},
                       mode="net")
    assert result.status is Status.FAIL
    assert "192.0.2.2:2112" in [e.where for e in result.evidence]


def test_ssh_2_banner_on_the_site_port_passes_port_from_the_wire():
    result = run_check("ssh.port", facts={"greetings": _greetings((2112, "SSH-2.0-OpenSSH_9.2p1"))},
                       mode="net", params={"ssh_port": 2112})
    assert result.status is Status.PASS


def test_ssh_answering_on_22_fails_port_from_the_wire():
    facts = {"greetings": _greetings((22, "SSH-2.0-OpenSSH_9.2p1"), (25, "220 mail ESMTP"))}
    result = run_check("ssh.port", facts=facts, mode="net", params={"ssh_port": 2112})
    assert result.status is Status.FAIL
    assert "22" in result.message


def test_old_openssh_banner_fails_version_from_the_wire():
    result = run_check("ssh.version", facts={"greetings": _greetings((2112, "SSH-2.0-OpenSSH_3.1p1"))},
                       mode="net", params={"ssh_min_version": "3.4"})
    assert result.status is Status.FAIL
    assert "OpenSSH_3.1p1" in result.message


def test_no_ssh_banner_from_the_vantage_point_is_not_applicable():
    result = run_check("ssh.version", facts={"greetings": _greetings((25, "220 mail ESMTP"))}, mode="net")
    assert result.status is Status.NOT_APPLICABLE


def test_live_sshd_listening_on_22_fails_port_even_when_the_config_says_2112(tmp_root):
    tmp_root.write("/etc/ssh/sshd_config", "Port 2112\n")
    listeners = {"source": "psutil", "as_uid": 0, "listeners": [
        {"proto": "tcp", "family": "ipv4", "address": "0.0.0.0", "port": 22, "pid": 812, "process": "sshd",
         "user": "root", "program": "/usr/sbin/sshd", "owner_known": True, "owner_note": None}]}
    facts = {"sshd_config": collect_fact("sshd_config", tmp_root), "listeners": listeners}
    result = run_check("ssh.port", facts=facts, mode="live", params={"ssh_port": 2112})
    assert result.status is Status.FAIL
    assert any("0.0.0.0:22/tcp sshd (pid 812)" in e.text for e in result.evidence)


def test_live_port_with_no_sshd_listening_says_so_and_keeps_the_config_verdict(tmp_root):
    tmp_root.write("/etc/ssh/sshd_config", "#Port 22\n")
    listeners = {"source": "psutil", "as_uid": 0, "listeners": []}
    facts = {"sshd_config": collect_fact("sshd_config", tmp_root), "listeners": listeners}
    result = run_check("ssh.port", facts=facts, mode="live", params={"ssh_port": 2112})
    assert result.status is Status.FAIL
    assert result.message == "sshd is configured for port(s) 22; no sshd process listens now (socket table)"
    assert "socket table: no socket owned by sshd" in evidence_lines(result)


def test_live_port_with_a_socket_on_22_whose_owner_is_unknown_is_an_error(tmp_root):
    tmp_root.write("/etc/ssh/sshd_config", "Port 2112\n")
    listeners = {"source": "psutil", "as_uid": 0, "listeners": [
        {"proto": "tcp", "family": "ipv4", "address": "0.0.0.0", "port": 22, "pid": None, "process": None,
         "user": None, "program": None, "owner_known": False, "owner_note": "reading its owner was denied"}]}
    facts = {"sshd_config": collect_fact("sshd_config", tmp_root), "listeners": listeners}
    result = run_check("ssh.port", facts=facts, mode="live", params={"ssh_port": 2112})
    assert result.status is Status.ERROR
    assert "socket table: 0.0.0.0:22/tcp owner unknown (reading its owner was denied)" in evidence_lines(result)
