"""Package databases are read from their files, so image mode works too."""

import sqlite3
import struct

import pytest
from support import collect_fact

from hostaudit.parsers.packages import parse_dpkg_status, parse_rpm_header

DPKG = """\
Package: sendmail-bin
Status: install ok installed
Version: 8.17.1.9-2
Description: powerful, efficient, and scalable Mail Transport Agent
 continuation line
 Package: not-a-package

Package: nis
Status: deinstall ok config-files
Version: 4.4

Package: openssh-server
Status: install ok installed
Version: 1:9.2p1-2+deb12u3
"""


def _rpm_header(tags: dict[int, str]) -> bytes:
    """A header blob as rpmdb.sqlite stores it: index count, data size, entries, data."""
    store, index = b"", b""
    for tag, value in tags.items():
        index += struct.pack(">IIII", tag, 6, len(store), 1)
        store += value.encode() + b"\0"
    return struct.pack(">II", len(tags), len(store)) + index + store


def test_dpkg_installed_packages_with_stanza_line():
    installed = parse_dpkg_status(DPKG)
    assert installed["sendmail-bin"] == {"version": "8.17.1.9-2", "line": 1}
    assert installed["openssh-server"]["line"] == 12


def test_dpkg_removed_but_configured_package_is_not_installed():
    assert "nis" not in parse_dpkg_status(DPKG)


def test_dpkg_continuation_lines_are_not_stanzas():
    assert "not-a-package" not in parse_dpkg_status(DPKG)


def test_rpm_header_gives_name_version_release():
    blob = _rpm_header({1000: "sendmail", 1001: "8.16.1", 1002: "3.el9"})
    assert parse_rpm_header(blob) == {"name": "sendmail", "version": "8.16.1", "release": "3.el9"}


@pytest.mark.parametrize("blob", [b"", b"\0\0\0\5\0\0\0\1", struct.pack(">II", 1, 0) + b"\0" * 16])
def test_malformed_rpm_header_is_a_value_error(blob):
    with pytest.raises(ValueError):
        parse_rpm_header(blob)


def test_rpm_sqlite_database_in_an_image_is_read(tmp_root):
    tmp_root.mkdir("/var/lib/rpm")
    db = sqlite3.connect(tmp_root.path / "var/lib/rpm/rpmdb.sqlite")
    db.execute("CREATE TABLE Packages (hnum INTEGER PRIMARY KEY, blob BLOB)")
    db.execute("INSERT INTO Packages (blob) VALUES (?)", (_rpm_header({1000: "ypbind", 1001: "2.7.2", 1002: "1"}),))
    db.commit()
    db.close()
    fact = collect_fact("packages", tmp_root)
    assert fact["installed"]["ypbind"]["version"] == "2.7.2-1"
    assert fact["databases"] == ["/var/lib/rpm/rpmdb.sqlite"]


def test_no_package_database_is_an_error_not_an_empty_list(tmp_root):
    from hostaudit.facts import collect

    tmp_root.mkdir("/etc")
    facts = collect(tmp_root.host, ["packages"], mode="image")
    assert "no package database found" in facts.error_of("packages")


def test_berkeley_db_rpm_database_is_named_as_unreadable(tmp_root):
    from hostaudit.facts import collect

    tmp_root.write("/var/lib/rpm/Packages", "\0" * 64)
    facts = collect(tmp_root.host, ["packages"], mode="image")
    assert "Berkeley DB" in facts.error_of("packages")


@pytest.mark.parametrize("state", ["unpacked", "half-configured", "half-installed", "triggers-awaited",
                                   "triggers-pending"])
def test_dpkg_package_whose_files_are_on_disk_counts_as_installed(state):
    assert "nfs-common" in parse_dpkg_status(f"Package: nfs-common\nStatus: install ok {state}\nVersion: 1\n")


@pytest.mark.parametrize("state", ["config-files", "not-installed"])
def test_dpkg_package_without_its_files_does_not_count(state):
    assert parse_dpkg_status(f"Package: nis\nStatus: deinstall ok {state}\nVersion: 1\n") == {}
