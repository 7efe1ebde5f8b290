"""Without psutil, the listeners and processes facts are read from /proc through the Host.

Each test builds a small /proc in a temporary directory and reads it through a live Host
whose paths map into that directory, with psutil set to None as on a bare Python.
"""

import os

import pytest
from support import RootBuilder, evidence_lines, run_check

from hostaudit.errors import ProbeError
from hostaudit.host import LiveHost
from hostaudit.model import Status
from hostaudit.probes import sockets

TCP_HEADER = ("  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  "
              "timeout inode\n")
TCP6_HEADER = ("  sl  local_address                         remote_address                        st "
               "tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n")


def tcp_line(local: str, remote: str, state: str, inode: int) -> str:
    return (f"   0: {local} {remote} {state} 00000000:00000000 00:00000000 00000000     0        0 "
            f"{inode} 1 0000000000000000 100 0 0 10 0\n")


LISTEN_25 = tcp_line("00000000:0019", "00000000:0000", "0A", 100)  # 0.0.0.0:25


class FakeProc(LiveHost):
    """A live host whose /proc is a directory tree built by the test; ``denied`` paths raise
    PermissionError as /proc does for another user's fds."""

    def __init__(self, root: RootBuilder):
        super().__init__()
        self.tree = root
        self.denied: set[str] = set()
        for name, header in (("tcp", TCP_HEADER), ("udp", TCP_HEADER), ("tcp6", TCP6_HEADER),
                             ("udp6", TCP6_HEADER)):
            root.write(f"/proc/net/{name}", header)
        root.mkdir("/proc/self")

    def real_path(self, path: str) -> str:
        if path in self.denied:
            raise PermissionError(13, "Permission denied", path)
        return str(self.tree.path) + path

    def readlink(self, path: str) -> str:
        if path in self.denied:  # readlink resolves only the parent through real_path
            raise PermissionError(13, "Permission denied", path)
        return super().readlink(path)

    def table(self, name: str, *lines: str) -> None:
        header = TCP6_HEADER if name.endswith("6") else TCP_HEADER
        self.tree.write(f"/proc/net/{name}", header + "".join(lines))

    def process(self, pid: int, comm: str, argv: list[str], *, uid: int = 0, gid: int = 0,
                ppid: int = 1, state: str = "S (sleeping)", sockets: tuple = ()) -> None:
        self.tree.write(f"/proc/{pid}/status",
                        f"Name:\t{comm}\nUmask:\t0022\nState:\t{state}\nTgid:\t{pid}\nPid:\t{pid}\n"
                        f"PPid:\t{ppid}\nTracerPid:\t0\nUid:\t{uid}\t{uid + 1}\t{uid}\t{uid}\n"
                        f"Gid:\t{gid}\t{gid}\t{gid}\t{gid}\n")
        self.tree.write(f"/proc/{pid}/cmdline", "".join(a + "\x00" for a in argv))
        self.tree.mkdir(f"/proc/{pid}/fd")
        self.tree.symlink(f"/proc/{pid}/fd/0", "/dev/null")
        for fd, inode in enumerate(sockets, start=3):
            self.tree.symlink(f"/proc/{pid}/fd/{fd}", f"socket:[{inode}]")


@pytest.fixture
def proc(tmp_path, monkeypatch):
    monkeypatch.setattr(sockets, "psutil", None)
    return FakeProc(RootBuilder(tmp_path / "root"))


def _listeners(host):
    fact = sockets.listeners(host)
    assert fact["source"] == "socket table (/proc)"
    return fact["listeners"]


def test_without_psutil_a_listener_comes_from_proc_net_with_its_owner(proc):
    proc.table("tcp", LISTEN_25)
    proc.process(700, "tcpserver", ["/usr/bin/tcpserver", "-u", "7791", "0", "25", "qmail-smtpd"],
                 sockets=(100,))
    assert _listeners(proc) == [{
        "proto": "tcp", "family": "ipv4", "address": "0.0.0.0", "port": 25, "pid": 700,
        "process": "tcpserver", "user": "root", "program": "/usr/bin/tcpserver",
        "owner_known": True, "owner_note": None}]


def test_a_socket_shared_by_forked_workers_goes_to_the_highest_pid_as_psutil_gives_it(proc):
    proc.table("tcp", LISTEN_25)
    for pid in (7, 12, 9):  # /proc lists "12" before "7" and "9": the order is numeric
        proc.process(pid, f"worker{pid}", [f"/usr/sbin/worker{pid}"], sockets=(100,))
    [entry] = _listeners(proc)
    assert (entry["pid"], entry["process"]) == (12, "worker12")


def test_established_tcp_and_connected_udp_sockets_are_not_listeners(proc):
    proc.table("tcp", tcp_line("0200C0C0:0019", "0100C0C0:C350", "01", 101))
    proc.table("udp", tcp_line("0200C0C0:9C40", "350200C0:0035", "01", 102),
               tcp_line("00000000:14E9", "00000000:0000", "07", 103))
    assert [(e["proto"], e["address"], e["port"]) for e in _listeners(proc)] == [("udp", "0.0.0.0", 5353)]


def test_ipv6_listeners_are_read_from_tcp6_and_udp6(proc):
    proc.table("tcp6", tcp_line("00000000000000000000000001000000:1F90",
                                "00000000000000000000000000000000:0000", "0A", 104))
    proc.table("udp6", tcp_line("00000000000000000000000000000000:0035",
                                "00000000000000000000000000000000:0000", "07", 105))
    assert [(e["proto"], e["family"], e["address"], e["port"]) for e in _listeners(proc)] == [
        ("tcp", "ipv6", "::1", 8080), ("udp", "ipv6", "::", 53)]


def test_a_kernel_without_ipv6_has_no_tcp6_and_that_is_not_an_error(proc):
    os.unlink(proc.real_path("/proc/net/tcp6"))
    os.unlink(proc.real_path("/proc/net/udp6"))
    proc.table("tcp", LISTEN_25)
    assert [e["port"] for e in _listeners(proc)] == [25]


def test_a_missing_ipv4_table_is_an_error_not_an_empty_table(proc):
    os.unlink(proc.real_path("/proc/net/tcp"))
    with pytest.raises(ProbeError, match="/proc/net/tcp is missing"):
        sockets.listeners(proc)


def test_a_malformed_socket_line_makes_the_fact_an_error_naming_it(proc):
    proc.table("tcp", LISTEN_25, "   1: 00000000:zz19 00000000:0000 0A junk\n")
    with pytest.raises(ProbeError, match=r"/proc/net/tcp line 3 is not a socket line"):
        sockets.listeners(proc)


def test_a_socket_table_over_the_limit_is_an_error_never_a_part_of_it(proc, monkeypatch):
    proc.table("tcp", LISTEN_25 * 20)
    monkeypatch.setattr(sockets, "SOCKET_TABLE_LIMIT", 1000)
    with pytest.raises(ProbeError, match="/proc/net/tcp holds more than 1000 bytes"):
        sockets.listeners(proc)


def test_an_unowned_socket_names_the_processes_whose_fds_were_denied(proc):
    proc.table("tcp", LISTEN_25)
    proc.process(7, "hidden", ["/usr/sbin/hidden"], sockets=(100,))
    proc.process(8, "seen", ["/usr/sbin/seen"])
    proc.denied.add("/proc/7/fd")
    [entry] = _listeners(proc)
    assert entry["pid"] is None and entry["owner_known"] is False
    assert "listing the open files of 1 process(es) was denied" in entry["owner_note"]
    assert "(pid 7)" in entry["owner_note"]


def test_a_process_denied_on_one_fd_link_is_denied_as_a_whole(proc):
    proc.table("tcp", LISTEN_25)
    proc.process(7, "half", ["/usr/sbin/half"], sockets=(100,))
    proc.denied.add("/proc/7/fd/0")
    [entry] = _listeners(proc)
    assert entry["pid"] is None and "(pid 7)" in entry["owner_note"]


def test_an_unowned_socket_with_every_process_readable_is_held_elsewhere(proc):
    proc.table("tcp", LISTEN_25)
    proc.process(8, "seen", ["/usr/sbin/seen"])
    [entry] = _listeners(proc)
    assert entry["owner_note"].startswith("no process this auditor can see holds it")


def test_an_owner_that_exited_meanwhile_is_noted(proc):
    proc.table("tcp", LISTEN_25)
    proc.process(700, "gone", ["/usr/sbin/gone"], sockets=(100,))
    os.unlink(proc.real_path("/proc/700/status"))
    [entry] = _listeners(proc)
    assert (entry["pid"], entry["owner_known"], entry["owner_note"]) == (700, False, "process exited")


def test_an_owner_whose_details_are_denied_is_noted(proc):
    proc.table("tcp", LISTEN_25)
    proc.process(700, "secret", ["/usr/sbin/secret"], sockets=(100,))
    proc.denied.add("/proc/700/status")
    [entry] = _listeners(proc)
    assert entry["owner_note"] == f"process details not visible to uid {os.geteuid()}"


def test_a_listener_keeps_its_program_but_never_its_arguments(proc):
    proc.table("tcp", tcp_line("00000000:18EB", "00000000:0000", "0A", 106))
    proc.process(4242, "redis-server", ["/usr/bin/redis-server", "--requirepass", "hunter2"],
                 uid=4242, sockets=(106,))
    [entry] = _listeners(proc)
    assert entry["program"] == "/usr/bin/redis-server" and entry["user"] == "4242"
    assert "hunter2" not in repr(entry)


def _processes(host):
    fact = sockets.processes(host)
    assert fact["source"] == "process table (/proc)"
    return fact["processes"]


def test_without_psutil_the_audited_daemons_come_from_proc_with_real_and_effective_ids(proc):
    proc.process(300, "qmail-send", ["qmail-send"], uid=7796, gid=2108, ppid=299)
    proc.process(20, "tcpserver", ["/usr/bin/tcpserver", "-u", "7791", "0", "25"])
    proc.process(21, "bash", ["-bash"])
    assert _processes(proc) == [
        {"pid": 20, "ppid": 1, "name": "tcpserver", "user": "root", "uid_real": 0, "uid_effective": 1,
         "gid_real": 0, "gid_effective": 0, "cmdline": "/usr/bin/tcpserver -u 7791 0 25"},
        {"pid": 300, "ppid": 299, "name": "qmail-send", "user": "7796", "uid_real": 7796,
         "uid_effective": 7797, "gid_real": 2108, "gid_effective": 2108, "cmdline": "qmail-send"}]


def test_a_cut_comm_is_completed_from_argv0_as_psutil_names_it(proc):
    proc.process(40, "qmail-smtpd-wra", ["/var/qmail/bin/qmail-smtpd-wrapper"])
    proc.process(41, "qmail-lookalike", ["/usr/bin/other"])
    assert [p["name"] for p in _processes(proc)] == ["qmail-smtpd-wrapper", "qmail-lookalike"]


def test_a_zombie_daemon_is_listed_without_its_command_line(proc):
    proc.process(50, "sshd", [], state="Z (zombie)")
    assert [(p["name"], p["cmdline"]) for p in _processes(proc)] == [("sshd", "")]


def test_a_process_whose_status_is_denied_is_not_listed(proc):
    proc.process(60, "sshd", ["/usr/sbin/sshd"])
    proc.denied.add("/proc/60/status")
    assert _processes(proc) == []


def test_a_daemon_whose_command_line_is_denied_is_listed_without_it(proc):
    proc.process(61, "sshd", ["/usr/sbin/sshd", "-D"])
    proc.denied.add("/proc/61/cmdline")
    assert [(p["name"], p["cmdline"]) for p in _processes(proc)] == [("sshd", "")]


def test_a_status_without_ids_is_an_error(proc):
    proc.process(62, "sshd", ["/usr/sbin/sshd"])
    proc.tree.write("/proc/62/status", "Name:\tsshd\nState:\tS (sleeping)\n")
    with pytest.raises(ProbeError, match="/proc/62/status has no Name:, Uid: or Gid: line"):
        sockets.processes(proc)


def test_a_hostile_daemon_name_is_kept_as_the_kernel_holds_it(proc):
    proc.process(63, "qmail-\\\\x\\n\t0", ["qmail-"])
    assert [p["name"] for p in _processes(proc)] == ["qmail-\\x\n\t0"]


# -- evidence names the reader -------------------------------------------------------------------

def test_tcp_ports_evidence_from_proc_names_proc_as_its_source(proc):
    proc.table("tcp", tcp_line("00000000:270F", "00000000:0000", "0A", 107))
    proc.process(4242, "python3", ["/usr/bin/python3", "-m", "http.server"], uid=4242, sockets=(107,))
    facts = {"listeners": sockets.listeners(proc)}
    result = run_check("net.tcp-ports", facts=facts, mode="live", params={"allowed_tcp": [25]})
    assert result.status is Status.FAIL
    assert evidence_lines(result) == [
        "socket table (/proc): 9999/tcp open on 0.0.0.0, python3 (pid 4242, user 4242)",
        "socket table (/proc): allowed TCP ports listening: none"]


def test_smtpd_process_evidence_from_proc_names_proc_as_its_source(proc):
    proc.process(700, "tcpserver", ["tcpserver", "-u", "0", "0", "smtp", "/var/qmail/bin/qmail-smtpd"])
    facts = {"processes": sockets.processes(proc),
             "passwd": {"path": "/etc/passwd", "users": [{"name": "qmaild", "uid": 501, "gid": 502, "line": 3}]}}
    result = run_check("mail.smtpd-unprivileged", facts=facts, mode="live")
    assert result.status is Status.FAIL
    assert evidence_lines(result)[0].startswith("process table (/proc): tcpserver pid 700 runs as uid 0/1 gid 0/0")
