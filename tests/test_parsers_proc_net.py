"""parsers/proc_net: the kernel's socket and process tables as /proc prints them.

The tables under tests/data/proc_net were captured with ``cat /proc/net/...`` in a network
namespace holding known sockets (see tests/data/SOURCES.md).
"""

from pathlib import Path

import pytest

from hostaudit.parsers.proc_net import (
    TCP_LISTEN,
    decode_address,
    display_name,
    parse_cmdline,
    parse_socket_table,
    parse_status,
    socket_inode,
)

DATA = Path(__file__).parent / "data" / "proc_net"
HEADER = ("  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  "
          "timeout inode\n")
LISTEN_LINE = ("   0: 0100007F:09DD 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0"
               "        0 1867066 1 000000006015c2ac 100 0 0 10 0\n")


def _table(name, family):
    return parse_socket_table((DATA / name).read_text(), family=family)


def _endpoints(table):
    return [(s["local_address"], s["local_port"], s["remote_address"], s["remote_port"], s["state"])
            for s in table["sockets"]]


def test_captured_tcp_table_gives_the_listener_and_both_ends_of_a_connection():
    table = _table("tcp", "ipv4")
    assert table["errors"] == []
    assert _endpoints(table) == [("127.0.0.1", 2525, "0.0.0.0", 0, TCP_LISTEN),
                                 ("127.0.0.1", 36502, "127.0.0.1", 2525, 1),
                                 ("127.0.0.1", 2525, "127.0.0.1", 36502, 1)]
    assert [(s["inode"], s["uid"], s["line"]) for s in table["sockets"]][0] == (1867066, 0, 2)


def test_captured_tcp6_table_decodes_loopback_any_and_ipv4_mapped_addresses():
    table = _table("tcp6", "ipv6")
    assert table["errors"] == []
    assert _endpoints(table) == [("::ffff:192.0.2.5", 995, "::", 0, TCP_LISTEN),
                                 ("::1", 8080, "::", 0, TCP_LISTEN),
                                 ("::", 2112, "::", 0, TCP_LISTEN)]


def test_captured_udp_table_tells_a_bound_socket_from_a_connected_one():
    table = _table("udp", "ipv4")
    assert table["errors"] == []
    assert _endpoints(table) == [("127.0.0.1", 40000, "127.0.0.1", 53, 1),
                                 ("192.0.2.5", 53, "0.0.0.0", 0, 7)]


def test_captured_udp6_table_gives_the_bound_loopback_socket():
    assert _endpoints(_table("udp6", "ipv6")) == [("::1", 5353, "::", 0, 7)]


def test_addresses_are_words_in_host_byte_order():
    assert decode_address("0100007F") == "127.0.0.1"
    assert decode_address("7F000001", byteorder="big") == "127.0.0.1"
    assert decode_address("B80D01200000000000000000020000C0") == "2001:db8::c000:2"
    assert decode_address("20010DB8000000000000000000000001", byteorder="big") == "2001:db8::1"


def test_an_address_of_the_wrong_width_or_not_hex_is_refused():
    for bad in ("0100007", "0100007G", "", "0x00007F", "01 0007F"):
        with pytest.raises(ValueError):
            decode_address(bad)


def test_a_line_of_the_wrong_family_width_is_an_error():
    text = HEADER + LISTEN_LINE
    table = parse_socket_table(text, family="ipv6")
    assert table["sockets"] == []
    assert [e["line"] for e in table["errors"]] == [2]
    assert "32 hex digits" in table["errors"][0]["reason"]


@pytest.mark.parametrize("line, reason", [
    ("   0: 0100007F:09DD 00000000:0000 0A 00000000:00000000\n", "fields"),
    ("   x: 0100007F:09DD 00000000:0000 0A 0:0 00:0 0 0 0 1867066\n", "slot"),
    ("   0: 0100007F 00000000:0000 0A 0:0 00:0 0 0 0 1867066\n", "local endpoint"),
    ("   0: 0100007F:109DD 00000000:0000 0A 0:0 00:0 0 0 0 1867066\n", "local endpoint"),
    ("   0: 0100007F:0x1D 00000000:0000 0A 0:0 00:0 0 0 0 1867066\n", "local endpoint"),
    ("   0: 0100007F:09DD 00000000:-1 0A 0:0 00:0 0 0 0 1867066\n", "remote endpoint"),
    ("   0: 0100007F:09DD 00000000:0000 LISTEN 0:0 00:0 0 0 0 1867066\n", "state"),
    ("   0: 0100007F:09DD 00000000:0000 0A 0:0 00:0 0 root 0 1867066\n", "uid"),
    ("   0: 0100007F:09DD 00000000:0000 0A 0:0 00:0 0 0 0 \u0661\u0662\n", "inode"),
    ("   0: 0100007F:09DD 00000000:0000 0A 0:0 00:0 0 0 0 99999999999999999999999\n", "inode"),
])
def test_a_malformed_socket_line_is_kept_as_an_error_naming_its_line(line, reason):
    table = parse_socket_table(HEADER + LISTEN_LINE + line, family="ipv4")
    assert len(table["sockets"]) == 1
    [error] = table["errors"]
    assert error["line"] == 3 and reason in error["reason"]


def test_hostile_bytes_never_crash_the_parser():
    junk = ("\x00\x1b[2J\udcff" * 50 + "\n" + ":" * 5000 + "\n" + "\t0: ::::\n"
            + "0: " + "F" * 10000 + ":0 " * 20 + "\n")
    table = parse_socket_table(junk, family="ipv4")
    assert table["sockets"] == []
    assert [e["line"] for e in table["errors"]] == [1, 2, 3, 4]
    assert all(len(e["text"]) <= 123 for e in table["errors"])


def test_a_table_without_its_header_line_says_so():
    table = parse_socket_table("garbage header\n" + LISTEN_LINE, family="ipv4")
    assert [e["line"] for e in table["errors"]] == [1]
    assert len(table["sockets"]) == 1


def test_socket_inode_reads_only_socket_links():
    assert socket_inode("socket:[1867066]") == 1867066
    for other in ("/dev/null", "pipe:[1867066]", "socket:[]", "socket:[12]x", "socket:[-1]",
                  "anon_inode:[eventpoll]", "/tmp/socket:[5]"):
        assert socket_inode(other) is None


def test_captured_status_gives_name_ppid_and_ids_with_the_name_unescaped():
    status = parse_status((DATA / "status").read_text())
    # The comm was set to 'ev\\il<newline>) x<tab>q'; status escapes the backslash and newline.
    assert status["name"] == "ev\\il\n) x\tq"
    assert status["state"] == "R"
    assert status["ppid"] == 25025
    assert status["uids"] == (0, 0, 0, 0) and status["gids"] == (0, 0, 0, 0)


def test_a_process_name_cannot_forge_the_uid_line():
    text = "Name:\tUid:\t0\t0\t0\nState:\tS (sleeping)\nPPid:\t1\nUid:\t1000\t1001\t1000\t1000\nGid:\t5\t6\t5\t5\n"
    status = parse_status(text)
    assert status["name"] == "Uid:\t0\t0\t0"
    assert status["uids"] == (1000, 1001, 1000, 1000) and status["gids"] == (5, 6, 5, 5)


def test_status_keeps_the_first_of_each_line_and_says_none_for_malformed_ids():
    text = "Name:\tsshd\nName:\tother\nUid:\t0\tzero\t0\t0\nUid:\t7\t7\t7\t7\nPPid:\t-1\n"
    status = parse_status(text)
    assert status["name"] == "sshd"
    assert status["uids"] is None and status["gids"] is None and status["ppid"] is None


def test_status_of_hostile_bytes_has_nothing_to_say():
    assert parse_status("\x00\udcff\n:\t\nName\tx\n" * 100) == {
        "name": None, "state": None, "ppid": None, "uids": None, "gids": None}


def test_captured_cmdline_splits_on_nul():
    assert parse_cmdline((DATA / "cmdline").read_text()) == ["sleep", "7"]


def test_cmdline_keeps_empty_and_spaced_arguments_between_nuls():
    assert parse_cmdline("/usr/bin/tcpserver\x00-x\x00\x00a b\x00") == ["/usr/bin/tcpserver", "-x", "", "a b"]


def test_cmdline_rewritten_with_spaces_splits_on_spaces_as_psutil_does():
    assert parse_cmdline("qmail-send: idle") == ["qmail-send:", "idle"]
    assert parse_cmdline("nginx: master process\x00") == ["nginx:", "master", "process"]


def test_empty_cmdline_is_no_argument():
    assert parse_cmdline("") == []


def test_display_name_extends_a_cut_comm_from_argv0_only_when_it_is_its_beginning():
    assert display_name("gnome-keyring-d", ["/usr/bin/gnome-keyring-daemon", "-f"]) == "gnome-keyring-daemon"
    assert display_name("gnome-keyring-d", ["/usr/bin/other"]) == "gnome-keyring-d"
    assert display_name("gnome-keyring-d", []) == "gnome-keyring-d"
    assert display_name("sshd", ["/usr/sbin/sshd-extended"]) == "sshd"
